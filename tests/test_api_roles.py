"""Who may do what over HTTP: every role (and no key, a revoked key, a forged key) against every
endpoint, then the cross-organisation attempts: another controller's data, impersonation
(refused and in the transparency log before the refusal is sent), another DPO's audit detail."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from safereport.store import Store
from safereport.store import auditlog as log_rows
from tests.conftest import load_scenario
from tests.http_server import Deployment, auth, deploy, make_key

MPS = "metropolitan-police-service"
KENT = "kent-police"
CPS = "crown-prosecution-service"
IE = "home-office-immigration-enforcement"
ROLES = ("controller", "requester", "dpo", "oversight", "admin")
CALLERS = (*ROLES, "none")
# The organisation each role's key belongs to in the matrix.
ICO = "information-commissioners-office"
ORG_OF = {"controller": MPS, "requester": CPS, "dpo": MPS, "oversight": ICO, "admin": MPS}
PUBLIC = frozenset(CALLERS)
ANY_KEY = frozenset(ROLES)
serial = itertools.count()


@pytest.fixture(scope="module")
def dep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    deployment = deploy(tmp_path_factory.mktemp("roles"))
    try:
        core = load_scenario()
        deployment.seed(core["records"], core["consents"])
        with deployment.client(CPS, "requester") as client:  # entry 0 is about the MPS's data
            first = client.post("/v1/decisions", json=_inbound(CPS, "REQ-SEED"))
            assert first.status_code == 200 and first.json()["receipt"]["index"] == 0, first.text
        yield deployment
    finally:
        deployment.stop()


def _inbound(requester: str, request_id: str, controller: str = MPS) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "requester": requester,
        "controller": controller,
        "direction": "inbound",
        "purpose": "prosecution",
        "legal_basis": "charging decision",
        "justification": "file for charging",
        "subject": {"person_id": "MPS-P-2"},
        "record_id": "MPS-CR-0001",
        "categories": ["identity"],
    }


def _outbound(controller: str, request_id: str) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "requester": IE,
        "controller": controller,
        "direction": "outbound",
        "purpose": "criminal_investigation",
        "legal_basis": "status check",
        "justification": "suspect status check",
        "subject": {"person_id": "MPS-P-2"},
        "record_id": "MPS-CR-0001",
        "categories": ["identity"],
    }


def _decision_for(role: str, org: str) -> dict[str, Any]:
    n = next(serial)
    return _outbound(org, f"M-{n}") if role == "controller" else _inbound(org, f"M-{n}")


def _record(org: str) -> dict[str, Any]:
    return {
        "controller": org,
        "record_id": f"MATRIX-{next(serial)}",
        "kind": "crime_report",
        "created": "2026-03-01T10:00:00Z",
        "persons": [],
        "narrative": "",
    }


def _consent(org: str) -> dict[str, Any]:
    return {
        "consent_id": f"C-MATRIX-{next(serial)}",
        "controller": org,
        "person_id": "MPS-P-1",
        "recipient": "home-office-uk-visas-immigration",
        "purpose": "victim_immigration_application",
        "categories": ["identity"],
        "expires": "2030-01-01T00:00:00Z",
    }


def _checkpoint_size(client: httpx.Client) -> int:
    return int(client.get("/v1/log/checkpoint").text.split("\n")[1])


LOCAL = '@id("matrix-no-hmrc")\nforbid (principal == Org::"hm-revenue-customs", action, resource);\n'

Call = Callable[[httpx.Client, str, str, Deployment], httpx.Response]


@dataclass(frozen=True)
class Endpoint:
    name: str
    call: Call
    allowed: frozenset[str]


ENDPOINTS = [
    Endpoint("POST /v1/records", lambda c, r, o, d: c.post("/v1/records", json=[_record(o)]), frozenset({"controller"})),
    Endpoint("POST /v1/consents", lambda c, r, o, d: c.post("/v1/consents", json=_consent(o)), frozenset({"controller"})),
    Endpoint("DELETE /v1/consents/{consent_id}", lambda c, r, o, d: c.delete("/v1/consents/C-NONE"), frozenset({"controller"})),
    Endpoint("GET /v1/consents", lambda c, r, o, d: c.get("/v1/consents"), frozenset({"controller"})),
    Endpoint(
        "POST /v1/decisions",
        lambda c, r, o, d: c.post("/v1/decisions", json=_decision_for(r, o)),
        frozenset({"controller", "requester"}),
    ),
    Endpoint(
        "POST /v1/decisions/batch",
        lambda c, r, o, d: c.post("/v1/decisions/batch", json=[_decision_for(r, o), _decision_for(r, o)]),
        frozenset({"controller", "requester"}),
    ),
    Endpoint("GET /v1/explanations/{request_id}", lambda c, r, o, d: c.get("/v1/explanations/REQ-SEED"), frozenset({"dpo"})),
    Endpoint("GET /v1/audit/entries/{index}", lambda c, r, o, d: c.get("/v1/audit/entries/0"), frozenset({"dpo"})),
    Endpoint("GET /v1/log/checkpoint", lambda c, r, o, d: c.get("/v1/log/checkpoint"), PUBLIC),
    Endpoint("GET /v1/log/key", lambda c, r, o, d: c.get("/v1/log/key"), PUBLIC),
    Endpoint("GET /v1/log/tile/{path}", lambda c, r, o, d: c.get("/v1/log/tile/0/000.p/1"), PUBLIC),
    Endpoint("GET /v1/log/proof/{index}", lambda c, r, o, d: c.get("/v1/log/proof/0"), ANY_KEY),
    Endpoint(
        "POST /v1/log/cosignatures",
        lambda c, r, o, d: c.post(
            "/v1/log/cosignatures",
            json={"size": _checkpoint_size(c), "witness": "witness.example", "line": "— witness.example AAAA"},
        ),
        frozenset({"oversight"}),
    ),
    Endpoint(
        "POST /v1/keys", lambda c, r, o, d: c.post("/v1/keys", json={"org": KENT, "role": "requester"}), frozenset({"admin"})
    ),
    Endpoint("GET /v1/keys", lambda c, r, o, d: c.get("/v1/keys"), frozenset({"admin"})),
    Endpoint(
        "DELETE /v1/keys/{key_id}",
        lambda c, r, o, d: c.delete(f"/v1/keys/{make_key(d.db_url, KENT, 'requester').split('_')[1]}"),
        frozenset({"admin"}),
    ),
    Endpoint("GET /v1/policy/baseline", lambda c, r, o, d: c.get("/v1/policy/baseline"), ANY_KEY),
    Endpoint(
        "GET /v1/policies/{controller}",
        lambda c, r, o, d: c.get(f"/v1/policies/{MPS}"),
        frozenset({"admin", "dpo", "controller"}),
    ),
    Endpoint(
        "PUT /v1/policies/{controller}/{policy_id}",
        lambda c, r, o, d: c.put(f"/v1/policies/{MPS}/matrix-no-hmrc", json={"text": LOCAL}),
        frozenset({"admin"}),
    ),
    Endpoint(
        "DELETE /v1/policies/{controller}/{policy_id}",
        lambda c, r, o, d: c.delete(f"/v1/policies/{MPS}/matrix-no-hmrc"),
        frozenset({"admin"}),
    ),
    Endpoint(
        "GET /v1/oversight/statistics", lambda c, r, o, d: c.get("/v1/oversight/statistics"), frozenset({"oversight", "admin"})
    ),
    Endpoint("GET /healthz", lambda c, r, o, d: c.get("/healthz"), PUBLIC),
    Endpoint("GET /readyz", lambda c, r, o, d: c.get("/readyz"), PUBLIC),
    Endpoint("GET /metrics", lambda c, r, o, d: c.get("/metrics"), PUBLIC),
    Endpoint("GET /openapi.json", lambda c, r, o, d: c.get("/openapi.json"), PUBLIC),
]  # fmt: skip


def _client(dep: Deployment, caller: str) -> httpx.Client:
    if caller == "none":
        return dep.client()
    return dep.client(ORG_OF[caller], caller)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
@pytest.mark.parametrize("caller", CALLERS)
def test_role_matrix(dep: Deployment, endpoint: Endpoint, caller: str) -> None:
    with _client(dep, caller) as client:
        response = endpoint.call(client, caller, ORG_OF.get(caller, CPS), dep)
    if caller in endpoint.allowed:
        assert response.status_code < 400, (caller, endpoint.name, response.status_code, response.text)
        return
    expected = (401, "not_authenticated") if caller == "none" else (403, "not_permitted")
    assert (response.status_code, response.json()["error"]["code"]) == expected, response.text


def test_the_matrix_covers_every_route_the_service_documents(dep: Deployment) -> None:
    with dep.client() as client:
        paths = client.get("/openapi.json").json()["paths"]
    documented = {
        f"{method.upper()} {path}"
        for path, item in paths.items()
        for method in item
        if path.startswith("/v1/") or path in ("/healthz", "/readyz", "/metrics")
    }
    covered = {e.name for e in ENDPOINTS} | {"POST /v1/subject/history"}  # (below: the same for all)
    assert documented - covered == set()


def test_subject_history_needs_no_key_and_ignores_one(dep: Deployment) -> None:
    body = {"reference": "SR-NOPE", "code": "wrong-code"}
    statuses = set()
    for caller in CALLERS:
        with _client(dep, caller) as client:
            statuses.add(client.post("/v1/subject/history", json=body).status_code)
    assert len(statuses) == 1 and statuses != {403}, statuses


@pytest.mark.parametrize(
    "token",
    ["sr_0123456789abcdef_forged", "not-a-key", "sr_short_x", "Bearer", "sr_" + "x" * 500],
)
def test_forged_and_malformed_keys_are_refused_alike(dep: Deployment, token: str) -> None:
    with httpx.Client(base_url=dep.base_url, headers=auth(token)) as client:
        response = client.get("/v1/consents")
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "expected a valid API key in the Authorization header (Bearer sr_...)",
            "field": None,
        }
    }
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_key_stops_working(dep: Deployment) -> None:
    token = make_key(dep.db_url, KENT, "controller")
    with httpx.Client(base_url=dep.base_url, headers=auth(token)) as client:
        assert client.get("/v1/consents").status_code == 200
        with dep.client(MPS, "admin") as admin:
            revoked = admin.delete(f"/v1/keys/{token.split('_')[1]}")
        assert revoked.json() == {"key_id": token.split("_")[1], "revoked": True, "changed": True}
        assert client.get("/v1/consents").status_code == 401


def test_admin_creates_a_key_that_is_shown_once_and_works(dep: Deployment) -> None:
    with dep.client(MPS, "admin") as admin:
        made = admin.post("/v1/keys", json={"org": KENT, "role": "dpo", "label": "kent dpo"})
        listed = admin.get("/v1/keys", params={"org": KENT}).json()["keys"]
    assert made.status_code == 201
    body = made.json()
    assert body["token"].startswith(f"sr_{body['key_id']}_")
    assert all("token" not in k and "secret" not in json.dumps(k) for k in listed)
    assert any(k["key_id"] == body["key_id"] and k["role"] == "dpo" for k in listed)
    with httpx.Client(base_url=dep.base_url, headers=auth(body["token"])) as kent_dpo:
        assert kent_dpo.get("/v1/explanations/anything").json() == {"request_id": "anything", "entries": []}


# ---------------------------------------------------------------------------- other organisations' data


def _store(dep: Deployment) -> Store:
    return Store.open(dep.db_url, create=False)


def test_a_controller_cannot_ingest_for_another_and_nothing_is_stored(dep: Deployment) -> None:
    mine, theirs = _record(MPS), _record(KENT)
    with dep.client(MPS, "controller") as client:
        response = client.post("/v1/records", json=[mine, theirs])
    assert response.status_code == 403
    assert response.json()["error"]["field"] == "record 2: controller"
    store = _store(dep)
    try:
        with store.read() as conn:
            held = conn.exec_driver_sql(
                "SELECT count(*) FROM records WHERE record_id IN (?, ?)",
                (mine["record_id"], theirs["record_id"]),
            ).scalar()
    finally:
        store.close()
    assert held == 0


def test_a_controller_cannot_grant_list_or_revoke_another_controllers_consents(dep: Deployment) -> None:
    kents = _consent(KENT)
    kents["person_id"] = "KENT-P-9"
    with dep.client(MPS, "controller") as mps, dep.client(KENT, "controller") as kent:
        assert mps.post("/v1/consents", json=kents).status_code == 403
        assert kent.post("/v1/consents", json=kents).status_code == 200
        assert kents["consent_id"] not in {
            c["consent_id"] for c in mps.get("/v1/consents").json()["consents"]
        }
        # Revoking another controller's consent is answered as for a consent nobody holds.
        attempt = mps.delete(f"/v1/consents/{kents['consent_id']}")
        nobody = mps.delete("/v1/consents/C-NOBODY-HOLDS")
        assert attempt.status_code == nobody.status_code == 200
        assert {**attempt.json(), "consent_id": None} == {**nobody.json(), "consent_id": None}
        assert attempt.json()["revoked"] is False
        held = {c["consent_id"]: c for c in kent.get("/v1/consents").json()["consents"]}
        assert held[kents["consent_id"]]["revoked"] is False


def _log_entries(dep: Deployment) -> list[dict[str, Any]]:
    store = _store(dep)
    try:
        with store.read() as conn:
            return [json.loads(row.entry) for row in log_rows.scan(conn)]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("org", "role", "document", "policy", "field"),
    [
        (CPS, "requester", _inbound(IE, "IMP-1"), "authn-requester-mismatch", "requester"),
        (IE, "requester", _inbound(CPS, "IMP-2"), "authn-requester-mismatch", "requester"),
        (MPS, "controller", _outbound(KENT, "IMP-3"), "authn-controller-mismatch", "controller"),
        (MPS, "controller", _inbound(CPS, "IMP-4"), "authn-requester-mismatch", "requester"),
    ],
)
def test_impersonation_is_refused_and_logged_before_the_refusal(
    dep: Deployment, org: str, role: str, document: dict[str, Any], policy: str, field: str
) -> None:
    with dep.client(org, role) as client:
        response = client.post("/v1/decisions", json=document)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_permitted"
    assert response.json()["error"]["field"] == field
    logged = [e for e in _log_entries(dep) if e["request_id"] == document["request_id"]]
    assert len(logged) == 1
    entry = logged[0]
    assert entry["decision"] == "deny" and entry["policies"] == [policy]
    assert entry["authenticated_org"] == org and entry["authenticated_role"] == role
    assert entry["released"] == {} and entry["records_released"] == []
    assert "MPS-P-2" not in json.dumps(entry)  # the subject only as a keyed hash


def test_impersonation_inside_a_batch_refuses_the_whole_batch(dep: Deployment) -> None:
    good, bad = _inbound(CPS, "BATCH-OK"), _inbound(IE, "BATCH-IMP")
    with dep.client(CPS, "requester") as client:
        response = client.post("/v1/decisions/batch", json=[good, bad])
    assert response.status_code == 403
    assert response.json()["error"]["field"] == "[1].requester"
    ids = {e["request_id"]: e for e in _log_entries(dep)}
    assert "BATCH-OK" not in ids
    assert ids["BATCH-IMP"]["policies"] == ["authn-requester-mismatch"]


def test_a_requester_may_not_ask_for_the_controllers_explanation(dep: Deployment) -> None:
    with dep.client(CPS, "requester") as client:
        response = client.post("/v1/decisions", params={"explain": "true"}, json=_inbound(CPS, "EXPL-1"))
    assert response.status_code == 403 and response.json()["error"]["field"] == "explain"
    with dep.client(MPS, "controller") as client:
        own = client.post("/v1/decisions", params={"explain": "true"}, json=_outbound(MPS, "EXPL-2"))
    assert own.status_code == 200 and "policy_version" in own.json()["explanation"]


def test_a_dpo_sees_only_its_own_controllers_audit_detail(dep: Deployment) -> None:
    kent_request = _inbound(CPS, "KENT-ONLY-1", controller=KENT)
    kent_request["subject"] = {"person_id": "KENT-P-9"}
    kent_request["record_id"] = None
    with dep.client(CPS, "requester") as client:
        index = client.post("/v1/decisions", json=kent_request).json()["receipt"]["index"]
    with dep.client(MPS, "dpo") as mps_dpo, dep.client(KENT, "dpo") as kent_dpo:
        assert mps_dpo.get("/v1/explanations/KENT-ONLY-1").json()["entries"] == []
        kents = kent_dpo.get("/v1/explanations/KENT-ONLY-1").json()["entries"]
        assert [e["index"] for e in kents] == [index] and kents[0]["entry"]["controller"] == KENT
        foreign = mps_dpo.get(f"/v1/audit/entries/{index}")
        missing = mps_dpo.get(f"/v1/audit/entries/{10**9}")
        assert foreign.status_code == missing.status_code == 404
        assert foreign.json() == missing.json()
        assert kent_dpo.get(f"/v1/audit/entries/{index}").json()["entry"]["request_id"] == "KENT-ONLY-1"
        assert mps_dpo.get(f"/v1/policies/{KENT}").status_code == 403


def test_no_route_changes_or_disables_the_baseline(dep: Deployment) -> None:
    with dep.client(MPS, "admin") as admin:
        for method in ("PUT", "POST", "DELETE", "PATCH"):
            response = admin.request(
                method, "/v1/policy/baseline", json={"text": "permit (principal, action, resource);"}
            )
            assert response.status_code == 405, (method, response.text)
            assert response.json()["error"]["code"] == "method_not_allowed"
        for path in (
            "/v1/policies/baseline",
            "/v1/policies/national-baseline/x",
            "/v1/policy/baseline/disable",
        ):
            response = admin.put(path, json={"text": "permit (principal, action, resource);"})
            assert response.status_code in (400, 404, 405), (path, response.text)
        baseline_id = (
            Path(__file__).resolve().parents[1] / "src/safereport/policy/baseline/national-baseline.cedar"
        )
        first_id = baseline_id.read_text().split('@id("', 1)[1].split('"', 1)[0]
        clash = admin.put(
            f"/v1/policies/{MPS}/clash",
            json={"text": f'@id("{first_id}")\nforbid (principal, action, resource);'},
        )
        assert clash.status_code == 422 and clash.json()["error"]["code"] == "local_policy_rejected"
        weakening = admin.put(
            f"/v1/policies/{MPS}/open-door",
            json={
                "text": '@id("open-door")\npermit (principal == Org::"home-office-immigration-enforcement", action, resource);'
            },
        )
        assert weakening.status_code == 422 and weakening.json()["error"]["code"] == "local_policy_rejected"
        assert [p["policy_id"] for p in admin.get(f"/v1/policies/{MPS}").json()["local"]] == []
    with dep.client(IE, "requester") as ie:
        victim = ie.post(
            "/v1/decisions",
            json={**_inbound(IE, "AFTER-ADMIN"), "purpose": "immigration_enforcement", "subject": {"person_id": "MPS-P-1"},
                  "categories": ["identity", "contact", "immigration_status"]},
        )  # fmt: skip
    assert victim.json()["decision"] == "deny" and victim.json()["disclosed"] == []
