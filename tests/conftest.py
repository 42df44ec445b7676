from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safereport import Firewall, parse_consent, parse_record

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory (keys, default store) and no inherited store."""
    home = tmp_path / "home"
    monkeypatch.setenv("SAFEREPORT_HOME", str(home))
    monkeypatch.delenv("SAFEREPORT_DB", raising=False)
    monkeypatch.delenv("SAFEREPORT_KEY_DIR", raising=False)
    return home


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def firewall(db_url: str) -> Iterator[Firewall]:
    fw = Firewall.open(db_url)
    yield fw
    fw.close()


def load_scenario(name: str = "core.json") -> dict[str, Any]:
    return json.loads((SCENARIOS / name).read_text("utf-8"))


@pytest.fixture
def core() -> dict[str, Any]:
    return load_scenario()


@pytest.fixture
def core_firewall(firewall: Firewall, core: dict[str, Any]) -> Firewall:
    """A store holding the core scenario's records and consents."""
    firewall.ingest(parse_record(r) for r in core["records"])
    for consent in core["consents"]:
        firewall.grant_consent(parse_consent(consent))
    return firewall
