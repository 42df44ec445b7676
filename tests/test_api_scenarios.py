"""Every contract scenario over HTTP, compared as the shared checker (`check.py`) compares the
CLI's output: a fresh store per scenario file, records ingested and consents granted by each
controller with its own key, each request sent with the key of the party it speaks for
(the requester's for inbound requests, the controller's for outbound checks)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from safereport.orgs import registry
from tests.conftest import SCENARIOS
from tests.http_server import Deployment, deploy

SHARED = Path(__file__).resolve().parents[2] / "shared" / "scenarios"
VOLATILE = {"request_id", "receipt"}


def scenario_files() -> list[Path]:
    """The shared scenarios (when beside this checkout) and the project's copies, once each."""
    seen: set[str] = set()
    files: list[Path] = []
    for folder in (SHARED, SCENARIOS):
        for path in sorted(folder.glob("*.json")) if folder.exists() else []:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                files.append(path)
    return files


def _sender(dep: Deployment, request: dict[str, Any]) -> httpx.Client:
    """The key the request is sent with; a request naming an unknown party goes with a valid key
    of another, and must fail as malformed (400) before anyone's identity is considered."""
    inbound = request.get("direction") != "outbound"
    org = request.get("requester") if inbound else request.get("controller")
    if not isinstance(org, str) or org not in registry():
        org = request.get("controller") if isinstance(request.get("controller"), str) else None
        if org not in registry():
            org = "metropolitan-police-service"
    return dep.client(str(org), "requester" if inbound else "controller")


def _before(dep: Deployment, spec: dict[str, Any], case: dict[str, Any], step: list[str]) -> None:
    """A case's `before` steps are CLI verbs; each has its HTTP equivalent here."""
    if step[:2] == ["consent", "revoke"] and len(step) == 3:
        owner = next(
            (c["controller"] for c in spec.get("consents", []) if c["consent_id"] == step[2]),
            case["request"]["controller"],
        )
        with dep.client(owner, "controller") as client:
            assert client.delete(f"/v1/consents/{step[2]}").status_code == 200
        return
    raise AssertionError(f"no HTTP equivalent for the step {step!r} of {case['name']}")


def check_case(case: dict[str, Any], response: httpx.Response, responses: dict[str, Any]) -> list[str]:
    """check.py's comparison, with an HTTP response in place of the CLI's exit status and output."""
    expect = case["expect"]
    problems: list[str] = []
    whole = response.text
    for needle in expect.get("must_not_contain", []):
        if needle.lower() in whole.lower():
            problems.append(f"output contains {needle!r}")
    if expect.get("error"):
        if response.status_code != 400:
            problems.append(f"expected status 400 for a malformed request, got {response.status_code}")
        elif not response.json().get("error", {}).get("field"):
            problems.append("expected an error naming the field")
        return problems
    if response.status_code != 200:
        return [*problems, f"status {response.status_code}: {response.text[:300]}"]
    try:
        resp = response.json()
    except json.JSONDecodeError:
        return [*problems, f"body is not one JSON object: {response.text[:200]!r}"]
    responses[case["name"]] = resp
    if resp.get("decision") != expect["decision"]:
        problems.append(f"decision {resp.get('decision')!r}, expected {expect['decision']!r}")
    if resp.get("request_id") != case["request"]["request_id"]:
        problems.append("request_id not echoed")
    receipt = resp.get("receipt")
    if (
        not isinstance(receipt, dict)
        or not isinstance(receipt.get("index"), int)
        or not receipt.get("leaf_hash")
    ):
        problems.append("no audit receipt with an integer index and a leaf_hash")
    if "disclosed_count" in expect and len(resp.get("disclosed") or []) != expect["disclosed_count"]:
        problems.append(
            f"disclosed {len(resp.get('disclosed') or [])} items, expected {expect['disclosed_count']}"
        )
    for needle in expect.get("must_contain", []):
        if needle.lower() not in whole.lower():
            problems.append(f"output lacks {needle!r}")
    if "explanation" in resp:
        problems.append("requester-facing response carries 'explanation' without ?explain=true")
    other = expect.get("same_response_as")
    if other:
        if other not in responses:
            problems.append(f"no response recorded for {other!r}")
        else:
            a = {k: v for k, v in resp.items() if k not in VOLATILE}
            b = {k: v for k, v in responses[other].items() if k not in VOLATILE}
            if a != b:
                problems.append(f"response differs from {other!r} (neither confirm nor deny): {a} vs {b}")
    return problems


@pytest.mark.parametrize("path", scenario_files(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_scenario_passes_over_http(path: Path, tmp_path: Path) -> None:
    spec = json.loads(path.read_text("utf-8"))
    dep = deploy(tmp_path / "scenario")
    failures: list[str] = []
    try:
        dep.seed(spec["records"], spec.get("consents", []))
        responses: dict[str, Any] = {}
        for case in spec["cases"]:
            for step in case.get("before", []):
                _before(dep, spec, case, step)
            with _sender(dep, case["request"]) as client:
                response = client.post("/v1/decisions", json=case["request"])
            problems = check_case(case, response, responses)
            if problems:
                failures.append(f"{path.name}::{case['name']}: " + "; ".join(problems))
    finally:
        dep.stop()
    assert not failures, "\n".join(failures)
    assert spec["cases"], "a scenario file without cases"


def test_the_http_checker_can_fail() -> None:
    case = {
        "name": "x",
        "request": {"request_id": "R"},
        "expect": {"decision": "deny", "must_not_contain": ["Maria"]},
    }
    leaked = httpx.Response(
        200, json={"request_id": "R", "decision": "permit", "disclosed": [{"n": "Maria"}]}
    )
    problems = check_case(case, leaked, {})
    assert any("Maria" in p for p in problems) and any("decision" in p for p in problems)
    assert any("receipt" in p for p in problems)
    malformed = {"name": "y", "request": {}, "expect": {"error": True}}
    assert check_case(malformed, httpx.Response(200, json={}), {}) == [
        "expected status 400 for a malformed request, got 200"
    ]
