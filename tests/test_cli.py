"""The command line, run as a user runs it: a real process on a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SCENARIOS, load_scenario

SAFEREPORT = [sys.executable, "-m", "safereport.cli"]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "scenarios" / "check.py"


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        SAFEREPORT + args, input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return dict(
        os.environ, SAFEREPORT_DB=f"sqlite:///{tmp_path / 'cli.db'}", SAFEREPORT_HOME=str(tmp_path / "home")
    )


@pytest.fixture
def loaded(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    core = load_scenario()
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in core["records"]))
    assert run(["ingest", str(records)], env).returncode == 0
    for consent in core["consents"]:
        assert run(["consent", "grant", "-"], env, json.dumps(consent)).returncode == 0
    return env


def _checker(script: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SAFEREPORT_HOME=str(tmp_path / "home"))
    command = f"{sys.executable} -m safereport.cli"
    return subprocess.run(
        [sys.executable, str(script), "--cmd", command, *sorted(str(p) for p in SCENARIOS.glob("*.json"))],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_project_copy_of_the_contract_scenarios_passes(tmp_path: Path) -> None:
    proc = _checker(SCENARIOS / "check.py", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1].endswith(" 0 failed")


@pytest.mark.skipif(not SHARED.exists(), reason="../shared is not beside this checkout")
def test_shared_checker_passes_every_shared_scenario(tmp_path: Path) -> None:
    env = dict(os.environ, SAFEREPORT_HOME=str(tmp_path / "home"))
    proc = subprocess.run(
        [sys.executable, str(SHARED), "--cmd", f"{sys.executable} -m safereport.cli"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_project_scenarios_match_the_shared_ones() -> None:
    shared = SHARED.parent
    if not shared.exists():
        pytest.skip("../shared is not beside this checkout")
    for path in shared.glob("*.json"):
        assert (SCENARIOS / path.name).read_text() == path.read_text(), (
            f"tests/scenarios/{path.name} is stale"
        )


def test_orgs_lists_every_force(env: dict[str, str]) -> None:
    proc = run(["orgs", "--json"], env)
    orgs = json.loads(proc.stdout)
    assert sum(1 for o in orgs if o["kind"] == "police_force") == 44
    assert {"id": "devon-cornwall-police", "name": "Devon & Cornwall Police", "kind": "police_force",
            "functions": ["policing"]} in orgs  # fmt: skip


def test_bad_request_exits_2_with_one_line_naming_the_field(loaded: dict[str, str]) -> None:
    proc = run(["decide", "-"], loaded, json.dumps({"request_id": "R", "requester": "kent-police"}))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "controller" in proc.stderr


def test_bad_json_exits_2(loaded: dict[str, str]) -> None:
    proc = run(["decide", "-"], loaded, "{not json")
    assert proc.returncode == 2 and proc.stdout == "" and "JSON" in proc.stderr


def test_ingest_error_names_the_line_and_keeps_the_store(loaded: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    good = load_scenario()["records"][0] | {"record_id": "NEW-1"}
    broken = dict(
        good, record_id="NEW-2", persons=[{"person_id": "x", "role": "victim", "data": {"ethnicity": "y"}}]
    )
    bad.write_text(json.dumps(good) + "\n" + json.dumps(broken) + "\n")
    proc = run(["ingest", str(bad)], loaded)
    assert proc.returncode == 2
    assert "line 2" in proc.stderr and "persons.0.data" in proc.stderr
    assert "NEW" not in proc.stdout
    probe = {"request_id": "P", "requester": "crown-prosecution-service", "controller": "metropolitan-police-service",
             "direction": "inbound", "purpose": "prosecution", "legal_basis": "x", "justification": "y",
             "subject": {"person_id": "MPS-P-1"}, "record_id": "NEW-1", "categories": ["identity"]}  # fmt: skip
    assert json.loads(run(["decide", "-"], loaded, json.dumps(probe)).stdout)["decision"] == "deny"


def test_batch_gives_one_line_per_request_and_marks_bad_lines(loaded: dict[str, str], tmp_path: Path) -> None:
    cases = [c for c in load_scenario()["cases"] if not c["expect"].get("error") and not c.get("before")]
    lines = [json.dumps(c["request"]) for c in cases]
    lines.insert(3, '{"request_id": "broken"}')
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(lines) + "\n")
    proc = run(["decide", "--batch", str(batch)], loaded)
    assert proc.returncode == 2
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == len(lines)
    assert out[3]["line"] == 4 and out[3]["error"]["field"]
    answered: list[dict[str, Any]] = [o for o in out if "error" not in o]
    for case, response in zip(cases, answered, strict=True):
        assert response["request_id"] == case["request"]["request_id"]
        assert response["decision"] == case["expect"]["decision"]


def test_explain_and_audit_verify(loaded: dict[str, str]) -> None:
    case = next(
        c for c in load_scenario()["cases"] if c["name"] == "cps-prosecution-gets-victim-without-status"
    )
    proc = run(["decide", "-", "--explain"], loaded, json.dumps(case["request"]))
    response = json.loads(proc.stdout)
    assert set(response["explanation"]["withheld"]) == {"nationality", "immigration_status"}
    verify = run(["audit", "verify"], loaded)
    assert verify.returncode == 0
    assert json.loads(verify.stdout)["ok"] is True


def test_consent_revoke_and_list(loaded: dict[str, str]) -> None:
    listed = [json.loads(line) for line in run(["consent", "list"], loaded).stdout.splitlines()]
    assert [c["consent_id"] for c in listed] == ["C-1"] and listed[0]["revoked"] is False
    assert run(["consent", "revoke", "C-1"], loaded).returncode == 0
    listed = [json.loads(line) for line in run(["consent", "list"], loaded).stdout.splitlines()]
    assert listed[0]["revoked"] is True
    unknown = run(["consent", "revoke", "C-404"], loaded)
    assert unknown.returncode == 2 and "consent_id" in unknown.stderr


def test_unreachable_store_fails_closed(tmp_path: Path) -> None:
    env = dict(os.environ, SAFEREPORT_DB="mysql://nowhere/db", SAFEREPORT_HOME=str(tmp_path / "h"))
    case = load_scenario()["cases"][0]
    proc = run(["decide", "-"], env, json.dumps(case["request"]))
    assert proc.returncode == 1 and proc.stdout == ""
    assert "database URL" in proc.stderr
