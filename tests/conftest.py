from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safereport import Firewall, parse_consent, parse_record
from tests.pgserver import PostgresServer, server_or_fail

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
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new store: a SQLite file, or (under `both_backends`) also a PostgreSQL database."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
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


# ---------------------------------------------------------------------------- PostgreSQL

BACKENDS = ("sqlite", "postgresql")
# Runs a test once per backend: `db_url` (and so `firewall`, `core_firewall`) is a SQLite file,
# then a fresh PostgreSQL database. Test ids end in [sqlite] / [postgresql].
both_backends = pytest.mark.parametrize("db_url", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """SAFEREPORT_TEST_POSTGRES_URL's server if set, else a throwaway one (started with
    scripts/postgres-test-server, stopped and deleted at the end of the session). A server that
    cannot be started fails the test, unless SAFEREPORT_TEST_POSTGRES=skip."""
    server = server_or_fail(os.environ.get("SAFEREPORT_TEST_POSTGRES_URL"))
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database of its own: `postgresql+psycopg://postgres@127.0.0.1:PORT/sr_test_...`."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)
