"""Bad input and limits over HTTP: one error shape for every status, size limits enforced as the
body streams in, per-key and per-address rate limits."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import load_scenario
from tests.http_server import Deployment, auth, deploy

MPS = "metropolitan-police-service"
CPS = "crown-prosecution-service"
LIMIT = 65_536
ENV = {
    "SAFEREPORT_MAX_BODY_BYTES": str(LIMIT),
    "SAFEREPORT_RATE_LIMIT": "5",
    "SAFEREPORT_RATE_BURST": "15",
    "SAFEREPORT_SUBJECT_RATE_LIMIT": "0.01",
    "SAFEREPORT_SUBJECT_RATE_BURST": "2",
}


@pytest.fixture(scope="module")
def dep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    deployment = deploy(tmp_path_factory.mktemp("errors"), ENV)
    try:
        core = load_scenario()
        deployment.seed(core["records"], core["consents"])
        yield deployment
    finally:
        deployment.stop()


def assert_error(
    response: httpx.Response, status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    """The one error shape, exactly: {"error": {"code", "message", "field"}}, as JSON."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["error"]["field"] is None or isinstance(body["error"]["field"], str)
    assert body["error"]["code"] == code
    if field is not None:
        assert body["error"]["field"] == field
    assert "Traceback" not in response.text
    return dict(body["error"])


def _request(**changes: Any) -> dict[str, Any]:
    document = {
        "request_id": "ERR-1",
        "requester": CPS,
        "controller": MPS,
        "direction": "inbound",
        "purpose": "prosecution",
        "legal_basis": "x",
        "justification": "x",
        "subject": {"person_id": "MPS-P-1"},
        "record_id": None,
        "categories": ["identity"],
    }
    document.update(changes)
    return document


def test_bad_json_unknown_vocabulary_and_missing_fields_name_the_field(dep: Deployment) -> None:
    with dep.client(CPS, "requester") as client:
        assert_error(client.post("/v1/decisions", content=b"{not json"), 400, "bad_input", "(request)")
        assert_error(client.post("/v1/decisions", content=b""), 400, "bad_input", "(request)")
        assert_error(client.post("/v1/decisions", json=[1, 2]), 400, "bad_input", "(request)")
        error = assert_error(
            client.post("/v1/decisions", json=_request(purpose="deportation")), 400, "bad_input", "purpose"
        )
        assert "deportation" in error["message"]
        assert_error(
            client.post("/v1/decisions", json=_request(requester="acme-data-brokers")),
            400,
            "unknown_organisation",
            "requester",
        )
        document = _request()
        del document["justification"]
        assert_error(client.post("/v1/decisions", json=document), 400, "bad_input", "justification")
        assert_error(client.post("/v1/decisions", json=_request(extra=1)), 400, "bad_input", "extra")
        assert_error(
            client.post("/v1/decisions/batch", json=[_request(), _request(categories=[])]),
            400,
            "bad_input",
            "[1].categories",
        )
        assert_error(client.post("/v1/decisions/batch", json=[]), 400, "bad_input", "(batch)")


def test_error_messages_never_echo_personal_data(dep: Deployment) -> None:
    with dep.client(CPS, "requester") as client:
        named = _request(subject={"name": "Maria Silva", "date_of_birth": "12 April 1991"})
        error = assert_error(
            client.post("/v1/decisions", json=named), 400, "bad_input", "subject.date_of_birth"
        )
        assert "Maria" not in json.dumps(error) and "April" not in json.dumps(error)
    record = load_scenario()["records"][0] | {
        "persons": [{"person_id": "X-1", "role": "victim", "data": {"phone": 12345}}]
    }
    with dep.client(MPS, "controller") as client:
        error = assert_error(
            client.post("/v1/records", json=[record]), 400, "ingest_error", "[0].persons.0.data.phone"
        )
        assert "12345" not in json.dumps(error)


def test_ingest_errors_name_the_line_and_store_nothing(dep: Deployment) -> None:
    good = {
        "controller": MPS,
        "record_id": "ERR-REC-1",
        "kind": "crime_report",
        "created": "2026-03-01T10:00:00Z",
        "persons": [],
    }
    bad = dict(good, record_id="ERR-REC-2", created="2026-03-01")
    with dep.client(MPS, "controller") as client:
        lines = (json.dumps(good) + "\n" + json.dumps(bad) + "\n").encode()
        error = assert_error(client.post("/v1/records", content=lines), 400, "ingest_error", "created")
        assert error["message"].startswith("line 2: ")
        again = client.post("/v1/records", json=[good])
    assert again.json()["replaced"] == 0  # the first attempt stored nothing


def test_the_decision_route_checks_its_query_and_method_like_every_route(dep: Deployment) -> None:
    with dep.client(CPS, "requester") as client:
        assert_error(client.post("/v1/decisions?explain=maybe", json=_request()), 422, "bad_input", "explain")
        assert_error(client.get("/v1/decisions"), 405, "method_not_allowed")
        assert client.post("/v1/decisions?explain=no", json=_request(request_id="Q-1")).status_code == 200
    with dep.client(MPS, "controller") as controller:
        outbound = _request(
            request_id="Q-2", requester="home-office-immigration-enforcement", direction="outbound",
            purpose="criminal_investigation", record_id="MPS-CR-0001", subject={"person_id": "MPS-P-2"},
        )  # fmt: skip
        for value in ("1", "TRUE", "yes", "on"):
            explained = controller.post(f"/v1/decisions?explain={value}", json=outbound)
            assert "explanation" in explained.json(), value
    with dep.client(MPS, "dpo") as dpo:  # the role is checked before the query
        assert_error(dpo.post("/v1/decisions?explain=maybe", json=_request()), 403, "not_permitted")


def test_authentication_and_permission_errors(dep: Deployment) -> None:
    with dep.client() as anonymous:
        assert_error(anonymous.get("/v1/consents"), 401, "not_authenticated")
    with httpx.Client(base_url=dep.base_url, headers={"Authorization": "Basic abc"}) as basic:
        assert_error(basic.get("/v1/consents"), 401, "not_authenticated")
    with dep.client(CPS, "requester") as client:
        assert_error(client.get("/v1/consents"), 403, "not_permitted", "Authorization")


def test_unknown_paths_methods_and_parameters(dep: Deployment) -> None:
    with dep.client(MPS, "dpo") as client:
        assert_error(client.get("/v1/nothing-here"), 404, "not_found")
        assert_error(client.get("/"), 404, "not_found")
        response = client.delete("/v1/log/checkpoint")
        assert_error(response, 405, "method_not_allowed")
        assert "GET" in response.headers["allow"]
        assert_error(client.get("/v1/audit/entries/not-a-number"), 422, "bad_input", "index")
        assert_error(client.get("/v1/audit/entries/-1"), 422, "bad_input", "index")
        assert_error(client.get("/v1/log/tile/0/1"), 400, "bad_input", "path")
        assert_error(client.get("/v1/log/tile/0/x000/001"), 400, "bad_input", "path")
        assert_error(client.get("/v1/log/tile/0/999"), 404, "not_found", "path")
    with dep.client(MPS, "admin") as admin:
        assert_error(admin.post("/v1/keys", json={"org": MPS, "role": "superuser"}), 422, "bad_input", "role")
        assert_error(
            admin.post("/v1/keys", json={"org": "acme", "role": "dpo"}), 400, "unknown_organisation", "org"
        )
        assert_error(admin.delete("/v1/keys/0000000000000000"), 404, "not_found", "key_id")
        assert_error(
            admin.put(f"/v1/policies/{MPS}/x", json={"text": "this is not cedar"}),
            422,
            "local_policy_rejected",
        )


def test_a_body_over_the_limit_is_refused_with_or_without_content_length(dep: Deployment) -> None:
    with dep.client(MPS, "controller") as client:
        declared = client.post("/v1/records", content=b"[" + b" " * LIMIT + b"]")
        assert_error(declared, 413, "payload_too_large")

        def chunks() -> Iterator[bytes]:
            yield b"["
            for _ in range(8):
                yield b" " * (LIMIT // 4)
            yield b"]"

        streamed = client.post("/v1/records", content=chunks())
        assert "content-length" not in streamed.request.headers
        assert_error(streamed, 413, "payload_too_large")
        at_limit = client.post("/v1/records", content=b"[" + b" " * (LIMIT - 2) + b"]")
        assert_error(at_limit, 400, "bad_input")  # read in full: an empty array is bad input, not too large


def test_a_lying_content_length_is_no_way_round_the_limit(dep: Deployment) -> None:
    token = dep.key(MPS, "controller")
    host, port = dep.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as raw:
        raw.sendall(
            (
                f"POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
            ).encode()
        )
        piece = b" " * 16_384
        try:
            for _ in range(8):
                raw.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            raw.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may close the connection once it has refused the body
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = raw.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_rate_limit_per_key(dep: Deployment) -> None:
    with dep.client("kent-police", "controller") as client:
        statuses = [client.get("/v1/consents") for _ in range(40)]
    limited = [r for r in statuses if r.status_code == 429]
    assert statuses[0].status_code == 200 and limited
    error = assert_error(limited[0], 429, "rate_limited")
    assert "5 requests a second" in error["message"]
    assert int(limited[0].headers["retry-after"]) >= 1
    with dep.client("kent-police", "dpo") as other:  # another key has its own bucket
        assert other.get("/v1/explanations/x").status_code == 200


def test_subject_history_is_rate_limited_per_address(dep: Deployment) -> None:
    body = {"reference": "SR-0000", "code": "guess"}
    with dep.client() as client:
        statuses = [client.post("/v1/subject/history", json=body).status_code for _ in range(4)]
        assert statuses[-1] == 429, statuses
        assert_error(client.post("/v1/subject/history", json=body), 429, "rate_limited")


def test_an_unauthenticated_request_is_refused_before_its_body_is_read(dep: Deployment) -> None:
    with httpx.Client(base_url=dep.base_url, headers=auth("sr_0000000000000000_x")) as client:
        assert_error(client.post("/v1/decisions", content=b"{"), 401, "not_authenticated")
