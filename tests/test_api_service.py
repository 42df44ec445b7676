"""The service end to end over real HTTP: neither confirm nor deny, durable before answered
(SIGKILL right after the responses), the store going away (503, nothing disclosed), the
published log (tiles, proofs, a witness on the other side of HTTP), metrics without personal
data, and the DPO's explanations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from safereport import Firewall, load_settings
from safereport.audit import merkle
from safereport.audit.checkpoint import Checkpoint, open_signed, verify_bundle
from safereport.audit.notes import Verifier
from safereport.cli.audit import HttpLog
from tests.conftest import load_scenario
from tests.http_server import Deployment, auth, deploy

MPS = "metropolitan-police-service"
IE = "home-office-immigration-enforcement"
CPS = "crown-prosecution-service"
SAFEREPORT = [sys.executable, "-m", "safereport.cli"]


def personal_values(core: dict[str, Any]) -> set[str]:
    """Every personal value of the scenario (names, dates, addresses, ids), and the free texts."""
    values: set[str] = set()
    for record in core["records"]:
        values.add(record["record_id"])
        for person in record["persons"]:
            values.add(person["person_id"])
            values.update(v for v in person["data"].values() if len(v) > 3)
    for case in core["cases"]:
        request = case["request"]
        values.add(request["request_id"])
        values.update(str(v) for v in request["subject"].values())
        values.update({request["legal_basis"], request["justification"]} - {"x"})
    return {v for v in values if v and v not in ("British",)}


@pytest.fixture(scope="module")
def dep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    deployment = deploy(tmp_path_factory.mktemp("service"))
    try:
        core = load_scenario()
        deployment.seed(core["records"], core["consents"])
        yield deployment
    finally:
        deployment.stop()


def _case(name: str) -> dict[str, Any]:
    return dict(next(c for c in load_scenario()["cases"] if c["name"] == name)["request"])


def _acting_client(dep: Deployment, request: dict[str, Any]) -> httpx.Client:
    if request["direction"] == "inbound":
        return dep.client(request["requester"], "requester")
    return dep.client(request["controller"], "controller")


def test_neither_confirm_nor_deny_over_http(dep: Deployment) -> None:
    protected = _case("ie-asks-victim-address")
    unknown = _case("ie-asks-unknown-person")
    with dep.client(IE, "requester") as client:
        a = client.post("/v1/decisions", json=protected)
        b = client.post("/v1/decisions", json=unknown)
    assert a.status_code == b.status_code == 200
    volatile = {"request_id", "receipt"}
    assert {k: v for k, v in a.json().items() if k not in volatile} == {
        k: v for k, v in b.json().items() if k not in volatile
    }
    assert set(a.json()) == set(b.json()) == {"request_id", "decision", "disclosed", "receipt"}
    headers = {"content-length", "date"}
    assert {k: v for k, v in a.headers.items() if k not in headers} == {
        k: v for k, v in b.headers.items() if k not in headers
    }


def test_a_lawful_request_discloses_only_what_is_permitted(dep: Deployment) -> None:
    request = _case("cps-prosecution-gets-victim-without-status")
    with dep.client(CPS, "requester") as client:
        body = client.post("/v1/decisions", json=request).json()
    assert body["decision"] == "permit"
    text = json.dumps(body)
    assert "Maria Silva" in text and "visa expired" not in text and "Brazilian" not in text


def test_concurrent_decisions_each_get_their_own_durable_receipt(dep: Deployment) -> None:
    base = _case("ie-asks-victim-address")
    with dep.client(IE, "requester") as client, ThreadPoolExecutor(16) as pool:
        responses = list(
            pool.map(
                lambda n: client.post("/v1/decisions", json=dict(base, request_id=f"CONC-{n}")), range(48)
            )
        )
    assert {r.status_code for r in responses} == {200}
    receipts = [r.json()["receipt"] for r in responses]
    assert len({r["index"] for r in receipts}) == 48
    with Firewall.open(dep.db_url, settings=load_settings(db=dep.db_url, home=dep.home)) as fw:
        for response, receipt in zip(responses, receipts, strict=True):
            entry = fw.log.proof(receipt["index"])  # the entry exists and is in a checkpoint
            assert entry
            with fw.store.read() as conn:
                row = conn.exec_driver_sql(
                    "SELECT entry, leaf_hash FROM audit_log WHERE idx = ?", (receipt["index"],)
                ).one()
            assert json.loads(row.entry)["request_id"] == response.json()["request_id"]
            assert row.leaf_hash == receipt["leaf_hash"]


def test_the_published_log_proves_a_receipt_offline(dep: Deployment) -> None:
    with dep.client(IE, "requester") as client:
        receipt = client.post(
            "/v1/decisions", json=dict(_case("ie-asks-about-witness"), request_id="PROOF-1")
        ).json()["receipt"]
        bundle = client.get(f"/v1/log/proof/{receipt['index']}")
    with dep.client() as public:
        log_key = public.get("/v1/log/key").text.strip()
        note = public.get("/v1/log/checkpoint").text
        assert public.get(f"/v1/log/proof/{receipt['index']}").status_code == 401
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("text/plain")
    checkpoint = verify_bundle(
        bundle.text,
        log_key,
        bytes.fromhex(receipt["leaf_hash"]),
        merkle.verify_inclusion,
        origin=receipt["log"],
    )
    assert checkpoint.size > receipt["index"]
    latest = open_signed(note, Verifier.from_vkey(log_key), origin=receipt["log"])
    # The tiles served at C2SP paths rebuild the root the signed checkpoint commits to.
    reader = HttpLog(dep.base_url, "unused")
    reader._size = latest.size
    assert merkle.root_hash(reader, latest.size) == latest.root


def test_full_tiles_are_immutable_and_partial_ones_are_prefixes(dep: Deployment) -> None:
    base = _case("ie-asks-victim-address")
    with dep.client(IE, "requester") as client:
        for n in range(0, 300, 50):
            batch = [dict(base, request_id=f"TILE-{n + i}") for i in range(50)]
            assert client.post("/v1/decisions/batch", json=batch).status_code == 200
    with dep.client() as public:
        size = Checkpoint.parse(public.get("/v1/log/checkpoint").text.split("\n\n")[0] + "\n").size
        assert size >= 256
        full = public.get("/v1/log/tile/0/000")
        assert full.status_code == 200 and len(full.content) == 256 * 32
        assert "immutable" in full.headers["cache-control"]
        partial = public.get("/v1/log/tile/0/000.p/7")
        assert partial.content == full.content[: 7 * 32]
        assert public.get(f"/v1/log/tile/0/{(size // 256) + 1:03d}").status_code == 404
        assert public.get("/v1/log/tile/entries/000").status_code in (400, 404)  # entries are not published


def test_a_witness_follows_the_log_over_http(dep: Deployment, tmp_path: Path) -> None:
    key_file = tmp_path / "oversight.key"
    key_file.write_text(dep.key("information-commissioners-office", "oversight"))
    with dep.client() as public:
        log_key = public.get("/v1/log/key").text.strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEREPORT_")}
    env["SAFEREPORT_HOME"] = str(tmp_path / "witness-home")  # nothing of the log's store
    command = [*SAFEREPORT, "witness", "--state", str(tmp_path / "w"), "--url", dep.base_url]
    command += ["--log-key", log_key, "--key-file", str(key_file)]
    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    with dep.client(IE, "requester") as client:
        for n in range(3):
            client.post("/v1/decisions", json=dict(_case("ie-asks-victim-address"), request_id=f"W-{n}"))
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert second.returncode == 0, second.stderr
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    assert two["previous_size"] == one["size"] and two["size"] >= one["size"] + 3
    witness_key = subprocess.run(
        [*SAFEREPORT, "witness", "--state", str(tmp_path / "w"), "--show-key"],
        capture_output=True, text=True, env=env, timeout=60,
    ).stdout.strip()  # fmt: skip
    verify_env = dict(env, SAFEREPORT_DB=dep.db_url, SAFEREPORT_HOME=str(dep.home))
    verified = subprocess.run(
        [*SAFEREPORT, "audit", "verify", "--witness-key", witness_key],
        capture_output=True, text=True, env=verify_env, timeout=120,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    with dep.client(IE, "requester") as not_oversight:
        refused = not_oversight.post(
            "/v1/log/cosignatures", json={"size": two["size"], "witness": "x", "line": "x"}
        )
    assert refused.status_code == 403


def test_a_witness_needs_its_key_file_with_a_url(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*SAFEREPORT, "witness", "--state", str(tmp_path / "w"), "--url", "http://127.0.0.1:9"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "--url" in proc.stderr and not proc.stdout


def test_a_dpo_reads_the_explanation_which_holds_no_personal_data(dep: Deployment) -> None:
    request = dict(_case("ie-asks-victim-by-name-variant"), request_id="EXPLAIN-ME")
    with dep.client(IE, "requester") as client:
        receipt = client.post("/v1/decisions", json=request).json()["receipt"]
    with dep.client(MPS, "dpo") as dpo:
        found = dpo.get("/v1/explanations/EXPLAIN-ME").json()["entries"]
        by_index = dpo.get(f"/v1/audit/entries/{receipt['index']}").json()
    assert [e["index"] for e in found] == [receipt["index"]] and by_index == found[0]
    entry = found[0]["entry"]
    assert entry["decision"] == "deny" and entry["requester"] == IE
    assert any("immigration" in p for p in entry["policies"])
    text = json.dumps(entry)
    for value in ("Maria", "SILVA", "1991-04-12", "Acre Lane", "MPS-P-1"):
        assert value.lower() not in text.lower()


def test_health_readiness_and_metrics_without_personal_data(dep: Deployment) -> None:
    core = load_scenario()
    for case in core["cases"]:
        if not case["expect"].get("error"):
            with _acting_client(dep, case["request"]) as client:
                client.post("/v1/decisions", json=case["request"])
    with dep.client(MPS, "dpo") as dpo:
        dpo.get("/v1/explanations/REQ-01")
        dpo.get("/v1/explanations/Maria Silva")
    with dep.client() as public:
        assert public.get("/healthz").json() == {"status": "ok"}
        assert public.get("/readyz").json() == {"status": "ready"}
        metrics = public.get("/metrics")
    assert metrics.status_code == 200
    text = metrics.text
    assert (
        'safereport_decisions_total{decision="deny",direction="inbound",purpose="immigration_enforcement"'
        in text
    )
    assert 'endpoint="/v1/explanations/{request_id}"' in text
    for value in personal_values(core):
        assert value.lower() not in text.lower(), value


# ---------------------------------------------------------------------------- faults


def test_durable_before_answered_even_when_killed_right_after(tmp_path: Path) -> None:
    dep = deploy(tmp_path / "kill", workers=2)
    try:
        core = load_scenario()
        dep.seed(core["records"], core["consents"])
        base = _case("ie-asks-victim-address")
        with dep.client(IE, "requester") as client, ThreadPoolExecutor(12) as pool:
            responses = list(
                pool.map(
                    lambda n: client.post("/v1/decisions", json=dict(base, request_id=f"K-{n}")), range(36)
                )
            )
            dep.server.kill()  # SIGKILL to the server and both workers, the moment the last answer is in
    finally:
        dep.stop()
    assert {r.status_code for r in responses} == {200}
    with Firewall.open(dep.db_url, settings=load_settings(db=dep.db_url, home=dep.home)) as fw:
        with fw.store.read() as conn:
            logged = {
                row.idx: (json.loads(row.entry)["request_id"], row.leaf_hash)
                for row in conn.exec_driver_sql("SELECT idx, entry, leaf_hash FROM audit_log")
            }
        for response in responses:
            body = response.json()
            assert logged[body["receipt"]["index"]] == (body["request_id"], body["receipt"]["leaf_hash"])
        assert fw.verify_audit().ok


def _corrupt(path: Path) -> None:
    for name in (path.name, path.name + "-wal"):
        target = path.with_name(name)
        if target.exists():
            with target.open("r+b") as handle:
                handle.write(b"\xff" * target.stat().st_size)


def _assert_nothing_disclosed(response: httpx.Response, values: set[str]) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["field"] is None
    assert set(response.json()) == {"error"}
    for value in values:
        assert value.lower() not in response.text.lower()


def test_a_broken_store_means_503_and_nothing_disclosed(tmp_path: Path) -> None:
    dep = deploy(tmp_path / "broken")
    try:
        core = load_scenario()
        dep.seed(core["records"], core["consents"])
        lawful = _case("cps-prosecution-gets-victim-without-status")
        with dep.client(CPS, "requester") as client:
            assert client.post("/v1/decisions", json=lawful).json()["decision"] == "permit"
            _corrupt(tmp_path / "broken" / "store.db")
            values = personal_values(core)
            for n in range(3):
                _assert_nothing_disclosed(
                    client.post("/v1/decisions", json=dict(lawful, request_id=f"B-{n}")), values
                )
        with dep.client() as public:
            assert public.get("/healthz").status_code == 200
            _assert_nothing_disclosed(public.get("/readyz"), values)
    finally:
        dep.stop()


def test_postgresql_stopped_mid_run_means_503_then_recovery(
    tmp_path: Path, postgres_server: Any, postgres_url: str
) -> None:
    dep = deploy(tmp_path / "pg", db_url=postgres_url)
    try:
        core = load_scenario()
        dep.seed(core["records"], core["consents"])
        lawful = _case("cps-prosecution-gets-victim-without-status")
        values = personal_values(core)
        with dep.client(CPS, "requester") as client:
            before = client.post("/v1/decisions", json=dict(lawful, request_id="PG-1"))
            assert before.json()["decision"] == "permit"
            postgres_server.stop()
            try:
                for n in range(3):
                    _assert_nothing_disclosed(
                        client.post("/v1/decisions", json=dict(lawful, request_id=f"PG-DOWN-{n}")), values
                    )
                with dep.client() as public:
                    _assert_nothing_disclosed(public.get("/readyz"), values)
            finally:
                postgres_server.start()
            after = client.post("/v1/decisions", json=dict(lawful, request_id="PG-2"))
            assert after.status_code == 200 and after.json()["decision"] == "permit"
            assert after.json()["receipt"]["index"] == before.json()["receipt"]["index"] + 1
    finally:
        dep.stop()
    with Firewall.open(postgres_url, settings=load_settings(db=postgres_url, home=dep.home)) as fw:
        report = fw.verify_audit()
        assert report.ok and report.entries == 2, report.detail


def test_serve_refuses_bad_options_and_an_unopenable_store(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEREPORT_")}
    env["SAFEREPORT_HOME"] = str(tmp_path / "h")
    bad = subprocess.run(
        [*SAFEREPORT, "serve", "--workers", "0"], capture_output=True, text=True, env=env, timeout=60
    )
    assert bad.returncode == 2 and "--workers" in bad.stderr
    env["SAFEREPORT_DB"] = "mysql://nowhere/db"
    unopenable = subprocess.run([*SAFEREPORT, "serve"], capture_output=True, text=True, env=env, timeout=60)
    assert unopenable.returncode == 1 and "store_error" in unopenable.stderr


def test_keys_cli_creates_lists_and_revokes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEREPORT_")}
    env.update(SAFEREPORT_HOME=str(tmp_path / "h"), SAFEREPORT_DB=f"sqlite:///{tmp_path / 'k.db'}")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SAFEREPORT, "keys", *args], capture_output=True, text=True, env=env, timeout=60
        )

    made = run("create", MPS, "--role", "dpo", "--label", "the DPO")
    assert made.returncode == 0 and "shown this once" in made.stderr
    key = json.loads(made.stdout)
    assert key["token"].startswith(f"sr_{key['key_id']}_") and key["role"] == "dpo"
    listed = [json.loads(line) for line in run("list", "--org", MPS).stdout.splitlines()]
    assert [k["key_id"] for k in listed] == [key["key_id"]] and "token" not in listed[0]
    assert json.loads(run("revoke", key["key_id"]).stdout)["changed"] is True
    assert json.loads(run("revoke", key["key_id"]).stdout)["changed"] is False
    assert run("create", MPS, "--role", "root").returncode == 2
    assert run("create", "acme", "--role", "dpo").returncode == 2
    assert run("revoke", "0000000000000000").returncode == 2
    assert auth(key["token"])["Authorization"].startswith("Bearer sr_")
