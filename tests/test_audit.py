"""The audit log: receipts, verification, tamper evidence, batching, no plaintext, keys, concurrency.

The log is a transparency log (an RFC 9162 Merkle tree stored as tiles, with signed checkpoints);
proofs, witnesses, forks and rollbacks are tested in test_translog.py.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safereport import (
    AuditError,
    Category,
    Decision,
    Direction,
    DisclosureRequest,
    Firewall,
    Purpose,
    StoreError,
    SubjectById,
    SubjectByName,
    parse_record,
    parse_request,
)
from safereport.audit import merkle
from safereport.audit.checkpoint import open_signed
from safereport.audit.entry import REQUIRED_FIELDS, person_key, scrub
from safereport.audit.keys import SUBJECT_KEY_FILE, load_or_create_subject_key
from safereport.audit.log import leaf_hash
from tests.conftest import both_backends
from tests.dbtools import rebuild_tiles, run_workers, sql
from tests.logtools import CPS, IE, MPS, PERSONAL_FIELDS, mth


def rows(db_url: str) -> list[tuple[int, str, str]]:
    return sql(db_url, "SELECT idx, entry, leaf_hash FROM audit_log ORDER BY idx")


def entries(db_url: str) -> list[dict[str, Any]]:
    return [json.loads(entry) for _, entry, _ in rows(db_url)]


def tamper(db_url: str, statement: str, *params: Any) -> None:
    sql(db_url, statement, *params)


def request(
    request_id: str = "REQ-A",
    *,
    requester: str = IE,
    purpose: Purpose = Purpose.IMMIGRATION_ENFORCEMENT,
    subject: SubjectById | SubjectByName | None = None,
    record_id: str | None = None,
    categories: tuple[Category, ...] = (Category.IDENTITY, Category.CONTACT),
    justification: str = "Locate immigration offender",
    legal_basis: str = "DPA 2018 Sch 2 para 4",
    controller: str = MPS,
    consent_id: str | None = None,
) -> DisclosureRequest:
    return DisclosureRequest(
        request_id=request_id,
        requester=requester,
        controller=controller,
        direction=Direction.INBOUND,
        purpose=purpose,
        legal_basis=legal_basis,
        justification=justification,
        subject=subject or SubjectById("MPS-P-1"),
        record_id=record_id,
        categories=categories,
        consent_id=consent_id,
    )


def core_requests(core: dict[str, Any]) -> Iterator[tuple[dict[str, Any], DisclosureRequest]]:
    for case in core["cases"]:
        if case["expect"].get("error"):
            continue
        yield case, parse_request(case["request"])


def run_core_cases(fw: Firewall, core: dict[str, Any]) -> list[Any]:
    responses = []
    for case, req in core_requests(core):
        for step in case.get("before", []):
            assert step[:2] == ["consent", "revoke"]
            fw.revoke_consent(step[2])
        responses.append(fw.decide(req))
    return responses


@pytest.fixture
def logged(core_firewall: Firewall, db_url: str) -> Firewall:
    """The core store with six decisions logged."""
    for i in range(6):
        core_firewall.decide(request(f"REQ-{i}", subject=SubjectById(f"MPS-P-{1 + i % 2}")))
    assert len(rows(db_url)) == 6
    return core_firewall


# ---------------------------------------------------------------------------- hashing


@given(st.binary(max_size=2_000))
def test_leaf_hash_is_rfc9162(entry: bytes) -> None:
    assert leaf_hash(entry) == hashlib.sha256(b"\x00" + entry).hexdigest()


def test_leaf_hash_known_value() -> None:
    # RFC 9162 leaf of the empty entry: SHA-256 of the single byte 0x00
    assert leaf_hash(b"") == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"


# ---------------------------------------------------------------------------- receipts and verify


@both_backends
def test_every_decide_appends_one_entry_matching_its_receipt(core_firewall: Firewall, db_url: str) -> None:
    fw = core_firewall
    deployment = fw.store.meta("deployment_id")
    reqs = [
        request("R-0"),
        request("R-1", subject=SubjectByName("Nobody Known", "1990-01-01")),
        request("R-2", requester=CPS, purpose=Purpose.PROSECUTION, record_id="MPS-CR-0001"),
        request("R-3", subject=SubjectById("MPS-P-2")),
    ]
    for n, req in enumerate(reqs):
        response = fw.decide(req)
        stored = rows(db_url)
        assert len(stored) == n + 1
        idx, entry, leaf = stored[-1]
        assert response.receipt.index == idx == n
        assert response.receipt.leaf_hash == leaf == leaf_hash(entry.encode("utf-8"))
        assert leaf == hashlib.sha256(b"\x00" + entry.encode("utf-8")).hexdigest()
        assert response.receipt.log == f"safereport.localhost/{deployment}" == fw.log.origin
        document = json.loads(entry)
        assert document["request_id"] == req.request_id
        assert document["decision"] == response.decision.value
    decisions = [json.loads(e)["decision"] for _, e, _ in rows(db_url)]
    assert decisions[2] == "permit"
    assert decisions[0] == "deny"


def test_malformed_request_appends_nothing(core_firewall: Firewall, db_url: str) -> None:
    from safereport import BadInput

    with pytest.raises(BadInput):
        core_firewall.decide(request("R-X", requester="acme-data-brokers"))
    assert rows(db_url) == []


@both_backends
def test_decide_fails_closed_when_the_log_cannot_be_written(core_firewall: Firewall, db_url: str) -> None:
    tamper(db_url, "ALTER TABLE audit_log RENAME TO audit_log_gone")
    with pytest.raises(StoreError):
        core_firewall.decide(request("R-0", requester=CPS, purpose=Purpose.PROSECUTION))


def test_verify_ok_on_untouched_log(logged: Firewall, db_url: str) -> None:
    report = logged.verify_audit()
    assert report.ok
    assert report.entries == 6
    assert report.first_bad_index is None
    assert report.head == mth([bytes.fromhex(leaf) for _, _, leaf in rows(db_url)]).hex()
    assert report.head in report.detail


def test_verify_ok_on_empty_log(firewall: Firewall) -> None:
    report = firewall.verify_audit()
    assert report.ok and report.entries == 0
    assert report.head == hashlib.sha256(b"").hexdigest()  # the empty tree's root


def test_receipts_name_an_origin_set_by_the_settings(core: dict[str, Any], db_url: str) -> None:
    fw = Firewall.open(db_url, log_origin="reports.example.org/log")
    try:
        fw.ingest(parse_record(doc) for doc in core["records"])
        response = fw.decide(request("O-1"))
    finally:
        fw.close()
    assert response.receipt.log == "reports.example.org/log"


def _assert_bad(fw: Firewall, index: int | None) -> None:
    report = fw.verify_audit()
    assert not report.ok
    assert report.first_bad_index == index
    if index is not None:
        assert str(index) in report.detail


def test_tamper_edit_entry_text(logged: Firewall, db_url: str) -> None:
    idx, entry, _ = rows(db_url)[3]
    edited = entry.replace('"REQ-3"', '"REQ-9"')
    assert edited != entry
    tamper(db_url, "UPDATE audit_log SET entry = ? WHERE idx = ?", edited, idx)
    _assert_bad(logged, 3)


def _edit_entry_and_leaf(db_url: str, index: int) -> None:
    idx, entry, _ = rows(db_url)[index]
    edited = entry.replace("Locate", "Locat3")
    assert edited != entry
    tamper(
        db_url,
        "UPDATE audit_log SET entry = ?, leaf_hash = ? WHERE idx = ?",
        edited,
        leaf_hash(edited.encode()),
        idx,
    )


def test_tamper_edit_entry_and_its_leaf_hash(logged: Firewall, db_url: str) -> None:
    # The entry matches its leaf hash again; the tree's stored tiles still hold the old leaf.
    _edit_entry_and_leaf(db_url, 2)
    report = logged.verify_audit()
    assert not report.ok
    assert "tiles" in report.detail


def test_tamper_edit_entry_leaf_hash_and_tiles(logged: Firewall, db_url: str) -> None:
    # Everything anyone can recompute without the log's key: the signed checkpoint still differs.
    # (Entries after the latest checkpoint are not yet signed: checkpoint first, as a witness would.)
    logged.log.checkpoint()
    _edit_entry_and_leaf(db_url, 2)
    rebuild_tiles(db_url)
    report = logged.verify_audit()
    assert not report.ok
    assert "rewritten" in report.detail


def _swap_whole_rows(db_url: str, a: int, b: int) -> None:
    stored = rows(db_url)
    for target, source in ((a, b), (b, a)):
        _, entry, leaf = stored[source]
        tamper(db_url, "UPDATE audit_log SET entry = ?, leaf_hash = ? WHERE idx = ?", entry, leaf, target)


@pytest.mark.parametrize("tampering", ["edit-and-rehash", "swap-rows"])
def test_verify_names_the_first_rewritten_leaf(logged: Firewall, db_url: str, tampering: str) -> None:
    if tampering == "edit-and-rehash":
        _edit_entry_and_leaf(db_url, 2)
        expected = 2
    else:
        _swap_whole_rows(db_url, 1, 4)
        expected = 1
    _assert_bad(logged, expected)


def test_tamper_change_leaf_hash(logged: Firewall, db_url: str) -> None:
    tamper(db_url, "UPDATE audit_log SET leaf_hash = ? WHERE idx = 4", "00" * 32)
    _assert_bad(logged, 4)


def test_tamper_delete_middle_row(logged: Firewall, db_url: str) -> None:
    tamper(db_url, "DELETE FROM audit_log WHERE idx = 2")
    _assert_bad(logged, 2)


def test_tamper_delete_first_row(logged: Firewall, db_url: str) -> None:
    tamper(db_url, "DELETE FROM audit_log WHERE idx = 0")
    _assert_bad(logged, 0)


def test_tamper_swap_two_rows_entries(logged: Firewall, db_url: str) -> None:
    stored = rows(db_url)
    tamper(db_url, "UPDATE audit_log SET entry = ? WHERE idx = 1", stored[4][1])
    tamper(db_url, "UPDATE audit_log SET entry = ? WHERE idx = 4", stored[1][1])
    _assert_bad(logged, 1)


def test_tamper_swap_two_whole_rows(logged: Firewall, db_url: str) -> None:
    # each row still matches its own leaf hash; the tree holds them in the other order
    _swap_whole_rows(db_url, 1, 4)
    report = logged.verify_audit()
    assert not report.ok
    assert "tiles" in report.detail


def test_tamper_delete_last_row(logged: Firewall, db_url: str) -> None:
    # the hash chain could not see this without an anchor; the tree and the checkpoint do
    logged.log.checkpoint()
    tamper(db_url, "DELETE FROM audit_log WHERE idx = 5")
    report = logged.verify_audit()
    assert not report.ok
    assert report.entries == 5


@both_backends
def test_tamper_drop_a_required_field_with_rehashed_tree(logged: Firewall, db_url: str) -> None:
    # Even a rewrite that recomputes every leaf hash and tile must keep the s.62 fields.
    _, entry, _ = rows(db_url)[3]
    document = json.loads(entry)
    del document["justification"]
    edited = json.dumps(document)
    tamper(
        db_url,
        "UPDATE audit_log SET entry = ?, leaf_hash = ? WHERE idx = 3",
        edited,
        leaf_hash(edited.encode()),
    )
    rebuild_tiles(db_url)
    report = logged.verify_audit()
    assert not report.ok
    assert report.first_bad_index == 3
    assert "justification" in report.detail


def test_appending_after_verify_keeps_the_tree(logged: Firewall, db_url: str) -> None:
    logged.decide(request("R-more"))
    report = logged.verify_audit()
    assert report.ok and report.entries == 7
    assert report.head == mth([bytes.fromhex(leaf) for _, _, leaf in rows(db_url)]).hex()


# ---------------------------------------------------------------------------- decide_many


@both_backends
def test_decide_many_commits_in_groups_before_yielding(core: dict[str, Any], db_url: str) -> None:
    fw = Firewall.open(db_url, commit_batch=4)
    try:
        fw.ingest(parse_record(doc) for doc in core["records"])
        reqs = [request(f"B-{i}", subject=SubjectById(f"MPS-P-{1 + i % 2}")) for i in range(10)]
        seen_counts = []
        for n, response in enumerate(fw.decide_many(reqs)):  # observed from another connection
            ((count,),) = sql(db_url, "SELECT COUNT(*) FROM audit_log")
            found = sql(
                db_url, "SELECT leaf_hash, entry FROM audit_log WHERE idx = ?", response.receipt.index
            )
            assert found, f"response {n} yielded before its entry was committed"
            assert found[0][0] == response.receipt.leaf_hash
            assert json.loads(found[0][1])["request_id"] == response.request_id == f"B-{n}"
            seen_counts.append(count)
        # groups of 4: the whole group is durable when its first response is yielded, and not more
        assert seen_counts == [4, 4, 4, 4, 8, 8, 8, 8, 10, 10]
        assert fw.verify_audit().ok
    finally:
        fw.close()


@both_backends
def test_decide_many_is_lazy(core_firewall: Firewall, db_url: str) -> None:
    responses = core_firewall.decide_many([request("L-1"), request("L-2")])
    assert rows(db_url) == []
    assert [r.receipt.index for r in responses] == [0, 1]
    assert len(rows(db_url)) == 2


# ---------------------------------------------------------------------------- no plaintext


def _personal_values(core: dict[str, Any]) -> set[str]:
    values = set()
    for record in core["records"]:
        for person in record["persons"]:
            for key in PERSONAL_FIELDS:
                if key in person["data"]:
                    values.add(person["data"][key])
    return values


def _assert_no_plaintext(db_url: str, values: set[str]) -> None:
    assert values
    for idx, entry, _ in rows(db_url):
        lowered = entry.lower()
        for value in values:
            assert value.lower() not in lowered, f"entry {idx} holds personal data {value!r}"
            # also as the subject's name in another case, or with white space collapsed
            assert " ".join(value.lower().split()) not in " ".join(lowered.split()), (idx, value)


@both_backends
def test_no_plaintext_personal_data_after_core_scenarios(
    core_firewall: Firewall, core: dict[str, Any], db_url: str
) -> None:
    responses = run_core_cases(core_firewall, core)
    extra = [
        request(
            "X-1",
            justification="Locate Maria Silva, born 1991-04-12, last seen at 12 Acre Lane, London SW2 5SG",
        ),
        request("X-2", justification="tel 07700 900123 for  MARIA   silva", legal_basis="re: maria silva"),
        request(
            "X-3",
            subject=SubjectByName("  maria   SILVA ", "1991-04-12"),
            justification="Trace maria silva",
        ),
        request(
            "X-4",
            controller="west-midlands-police",
            subject=SubjectById("WMP-P-2"),
            justification="Ahmed Nouri",
        ),
    ]
    responses += [core_firewall.decide(req) for req in extra]
    stored = entries(db_url)
    assert len(stored) == len(responses)
    _assert_no_plaintext(db_url, _personal_values(core))
    by_id = {e["request_id"]: e for e in stored}
    assert by_id["X-1"]["justification"] == "Locate [subject], born [subject], last seen at [subject]"
    assert by_id["X-2"]["justification"] == "tel [subject] for  [subject]"
    assert by_id["X-2"]["legal_basis"] == "re: [subject]"
    assert by_id["X-3"]["justification"] == "Trace [subject]"
    assert by_id["X-4"]["justification"] == "[subject]"
    # and person ids of the subject are not in the free texts either
    assert all("MPS-P-1" not in e["justification"] for e in stored)


def test_justification_quoting_immigration_status_is_scrubbed(core_firewall: Firewall, db_url: str) -> None:
    core_firewall.decide(request("X-5", justification="Brazilian national, visa expired 2024"))
    (entry,) = entries(db_url)
    assert "visa expired 2024" not in entry["justification"]
    assert "brazilian" not in entry["justification"].lower()


def test_scrub_unit() -> None:
    assert scrub("Find MARIA\n silva now", ["Maria Silva"]) == "Find [subject] now"
    assert scrub("a.b+c", ["a.b+c"]) == "[subject]"  # identifiers are literal, not patterns
    assert scrub("ab is short", ["ab"]) == "ab is short"  # too short to scrub safely


# ---------------------------------------------------------------------------- keyed subject hashes


def test_subject_hashes_are_keyed_and_stable(
    core_firewall: Firewall, db_url: str, isolated_home: Path
) -> None:
    fw = core_firewall
    fw.decide(request("K-1"))
    fw.decide(request("K-2", subject=SubjectByName("MARIA SILVA", "1991-04-12")))
    fw.decide(request("K-3", requester=CPS, purpose=Purpose.PROSECUTION, record_id="MPS-CR-0001"))
    fw.decide(request("K-4", subject=SubjectById("MPS-P-2")))
    fw.decide(request("K-5", subject=SubjectByName("Nobody Known", "1990-01-01")))
    by_id = {e["request_id"]: e for e in entries(db_url)}

    key = load_or_create_subject_key(fw.settings.keys_path)
    assert (fw.settings.keys_path / SUBJECT_KEY_FILE).is_file()
    maria = person_key(key, MPS, "MPS-P-1")
    assert by_id["K-1"]["subject_persons"] == [maria]
    assert by_id["K-2"]["subject_persons"] == [maria]
    assert by_id["K-3"]["subject_persons"] == [maria]
    assert by_id["K-4"]["subject_persons"] == [person_key(key, MPS, "MPS-P-2")]
    assert by_id["K-4"]["subject_persons"] != [maria]
    assert by_id["K-5"]["subject_persons"] == []
    # keyed: not a plain hash of the id, and another key gives another hash
    assert maria != hashlib.sha256(b"MPS-P-1").hexdigest()
    assert maria != person_key(b"\x00" * 32, MPS, "MPS-P-1")
    # the query hash is the same for the same subject asked the same way
    assert by_id["K-1"]["subject"] == by_id["K-3"]["subject"]
    assert by_id["K-1"]["subject"] != by_id["K-4"]["subject"]


def test_subject_key_file_is_private(firewall: Firewall) -> None:
    mode = (firewall.settings.keys_path / SUBJECT_KEY_FILE).stat().st_mode & 0o777
    assert mode == 0o600


def test_another_key_is_refused_on_the_same_store(
    firewall: Firewall, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    firewall.decide(request("K-1"))
    firewall.close()
    Firewall.open(db_url).close()  # the same key reopens
    monkeypatch.setenv("SAFEREPORT_HOME", str(tmp_path / "other-home"))
    with pytest.raises(AuditError) as info:
        Firewall.open(db_url)
    assert "key" in str(info.value)
    assert len(rows(db_url)) == 1


def test_unreadable_key_is_an_audit_error(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / SUBJECT_KEY_FILE).write_text("not hex at all")
    with pytest.raises(AuditError):
        load_or_create_subject_key(keys)


@pytest.mark.parametrize("content", ["", "ab\n"])
def test_empty_or_short_subject_key_is_refused(tmp_path: Path, content: str) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / SUBJECT_KEY_FILE).write_text(content)
    with pytest.raises(AuditError):
        load_or_create_subject_key(keys)


# ---------------------------------------------------------------------------- s.62 fields


def test_entry_holds_the_s62_fields(core_firewall: Firewall, db_url: str) -> None:
    req = request(
        "S62-1",
        requester="home-office-uk-visas-immigration",
        purpose=Purpose.VICTIM_IMMIGRATION_APPLICATION,
        record_id="MPS-CR-0001",
        categories=(Category.IDENTITY, Category.CONTACT),
        justification="Migrant victims of domestic abuse concession",
        legal_basis="subject consent",
        consent_id="C-1",
    )
    response = core_firewall.decide(req, explain=True)
    (entry,) = entries(db_url)
    assert set(entry) >= REQUIRED_FIELDS
    assert entry["requester"] == "home-office-uk-visas-immigration"
    assert entry["controller"] == MPS
    assert entry["purpose"] == "victim_immigration_application"
    assert entry["legal_basis"] == "subject consent"
    assert entry["justification"] == "Migrant victims of domestic abuse concession"
    assert entry["decision"] == response.decision.value == "permit"
    assert entry["time"].endswith("Z")
    assert entry["consent_id"] == "C-1"
    assert entry["consent_applied"] is True
    assert entry["direction"] == "inbound"
    assert entry["record_scope"] == "MPS-CR-0001"
    assert entry["categories_requested"] == ["identity", "contact"]
    assert isinstance(entry["policies"], list) and entry["policies"]
    assert entry["released"] == {"identity": 1}
    assert entry["withheld"] == ["contact"]
    assert entry["records_released"] == ["MPS-CR-0001"]
    assert response.explanation is not None
    assert entry["policy_version"] == response.explanation.policy_version
    assert entry["policies"] == list(response.explanation.policies)
    assert len(entry["salt"]) == 32


@both_backends
def test_entry_time_comes_from_the_clock(db_url: str) -> None:
    from datetime import UTC, datetime

    from safereport import load_settings
    from safereport.store import Store

    fixed = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
    fw = Firewall(Store.open(db_url), load_settings(db=db_url), clock=lambda: fixed)
    try:
        fw.decide(request("T-1"))
    finally:
        fw.close()
    assert entries(db_url)[0]["time"] == "2026-06-01T08:30:00Z"


def test_denied_and_unknown_subject_entries_differ_only_in_hashes_not_plaintext(
    core_firewall: Firewall, db_url: str
) -> None:
    core_firewall.decide(request("N-1"))
    core_firewall.decide(request("N-2", subject=SubjectByName("Nobody Known", "1990-01-01")))
    a, b = entries(db_url)
    assert a["decision"] == b["decision"] == "deny"
    assert a["released"] == b["released"] == {}


# ---------------------------------------------------------------------------- concurrency


CHECKPOINT_EVERY = 16


def _worker(db_url: str, home: str, count: int, worker: int, barrier: Any, results: Any) -> None:
    import os

    os.environ["SAFEREPORT_HOME"] = home
    os.environ["SAFEREPORT_CHECKPOINT_EVERY"] = str(CHECKPOINT_EVERY)
    os.environ["SAFEREPORT_CHECKPOINT_MS"] = str(10**9)
    os.environ.pop("SAFEREPORT_DB", None)
    from safereport import Firewall as Fw
    from safereport import parse_request as parse

    try:
        fw = Fw.open(db_url)
    except BaseException as exc:
        results.put((worker, f"open failed: {exc!r}"))
        barrier.abort()
        raise
    try:
        barrier.wait(timeout=60)
        indices = []
        for i in range(count):
            req = parse(
                {
                    "request_id": f"W{worker}-{i}",
                    "requester": "home-office-immigration-enforcement"
                    if i % 2
                    else "crown-prosecution-service",
                    "controller": "metropolitan-police-service",
                    "direction": "inbound",
                    "purpose": "immigration_enforcement" if i % 2 else "prosecution",
                    "legal_basis": "x",
                    "justification": "y",
                    "subject": {"person_id": f"MPS-P-{1 + i % 2}"},
                    "record_id": None,
                    "categories": ["identity"],
                    "consent_id": None,
                }
            )
            indices.append(fw.decide(req).receipt.index)
        results.put((worker, indices))
    except BaseException as exc:
        results.put((worker, f"failed: {exc!r}"))
        raise
    finally:
        fw.close()


def test_parallel_processes_append_without_gaps_or_duplicates(
    core_firewall: Firewall, db_url: str, isolated_home: Path
) -> None:
    workers, per_worker = 4, 50
    results = run_workers(_worker, (db_url, str(isolated_home), per_worker), workers, timeout=120)
    receipts = sorted(i for indices in results.values() for i in indices)
    assert receipts == list(range(workers * per_worker))
    stored = rows(db_url)
    assert [r[0] for r in stored] == list(range(workers * per_worker))
    ids = [json.loads(r[1])["request_id"] for r in stored]
    assert len(set(ids)) == workers * per_worker
    # each worker's own entries are in its own order
    for w in range(workers):
        mine = [int(i.split("-")[1]) for i in ids if i.startswith(f"W{w}-")]
        assert mine == list(range(per_worker))
    report = core_firewall.verify_audit()
    assert report.ok, report.detail
    assert report.entries == workers * per_worker
    # the tree: one checkpoint every CHECKPOINT_EVERY single appends, whoever appended, each
    # committing to the entries before it, and each extending the one before
    leaves = [bytes.fromhex(leaf) for _, _, leaf in stored]
    assert report.head == mth(leaves).hex()
    checkpoints = sql(db_url, "SELECT size, root, note FROM log_checkpoints ORDER BY size")
    assert [size for size, _, _ in checkpoints] == list(range(1, workers * per_worker + 1, CHECKPOINT_EVERY))
    for size, root, note in checkpoints:
        checkpoint = open_signed(note, core_firewall.log.verifier, origin=core_firewall.log.origin)
        assert checkpoint.size == size
        assert checkpoint.root.hex() == root == mth(leaves[:size]).hex()
    for (old, old_root, _), (new, new_root, _) in itertools.pairwise(checkpoints):
        proof = core_firewall.log.consistency_proof(old, new)
        assert merkle.verify_consistency(old, new, bytes.fromhex(old_root), bytes.fromhex(new_root), proof)


@both_backends
def test_decisions_match_their_entries(core_firewall: Firewall, core: dict[str, Any], db_url: str) -> None:
    responses = run_core_cases(core_firewall, core)
    stored = entries(db_url)
    for response, entry in zip(responses, stored, strict=True):
        assert entry["request_id"] == response.request_id
        assert entry["decision"] == response.decision.value
        assert sorted(entry["records_released"]) == sorted({d.record_id for d in response.disclosed})
        if response.decision is Decision.DENY:
            assert entry["released"] == {}
    assert core_firewall.verify_audit().ok
