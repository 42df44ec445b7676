"""The transparency log end to end (issue 3): receipts that verify offline, tampering caught by
`verify()` or by a witness, witnessing over growth, checkpoint issuance, nothing personal in what
is published, migration from the version-1 hash chain, concurrent writers, and the command line.

The unit-level checks of the tree, the notes and the bundles are in test_merkle.py,
test_notes.py and test_checkpoint.py; here the pieces run together on a real store.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from safereport import (
    AuditError,
    DisclosureRequest,
    Firewall,
    Response,
    load_settings,
    parse_consent,
    parse_record,
    parse_request,
)
from safereport.audit import merkle
from safereport.audit.checkpoint import (
    Checkpoint,
    ProofBundle,
    open_signed,
    verify_bundle,
    verify_cosignature,
)
from safereport.audit.notes import Signer, Verifier
from safereport.audit.witness import Witness, WitnessRefused
from safereport.store import Store, migrations, tables
from tests.conftest import both_backends
from tests.dbtools import rebuild_tiles, run_workers, sql, stored_leaves
from tests.logtools import CPS, IE, MPS, PERSONAL_FIELDS, mth, path_of

ORIGIN = "transparency.example.org/safereport"
NEVER = 10**9  # checkpoint_ms that no test waits for: checkpoints come from the entry count only
SAFEREPORT = [sys.executable, "-m", "safereport.cli"]

_ids = itertools.count()


# ---------------------------------------------------------------------------- helpers


def make_request(n: int, prefix: str = "T") -> DisclosureRequest:
    return parse_request(
        {
            "request_id": f"{prefix}-{n}",
            "requester": IE if n % 2 else CPS,
            "controller": MPS,
            "direction": "inbound",
            "purpose": "immigration_enforcement" if n % 2 else "prosecution",
            "legal_basis": "DPA 2018 s.31",
            "justification": "case review",
            "subject": {"person_id": f"MPS-P-{1 + n % 2}"},
            "record_id": None,
            "categories": ["identity"],
            "consent_id": None,
        }
    )


def grow(fw: Firewall, count: int) -> list[Response]:
    """`count` decisions through decide_many (grouped appends)."""
    return list(fw.decide_many(make_request(next(_ids)) for _ in range(count)))


def step(fw: Firewall, count: int) -> list[Response]:
    """`count` decisions one at a time (one append each)."""
    return [fw.decide(make_request(next(_ids))) for _ in range(count)]


def entry_texts(url: str) -> list[str]:
    return [entry for (entry,) in sql(url, "SELECT entry FROM audit_log ORDER BY idx")]


def truncate(url: str, size: int) -> None:
    """Roll the whole store back to `size` entries, consistently: entries, tiles, checkpoints and
    cosignatures. Nothing the store holds contradicts itself afterwards."""
    sql(url, "DELETE FROM audit_log WHERE idx >= ?", size)
    sql(url, "DELETE FROM log_checkpoints WHERE size > ?", size)
    sql(url, "DELETE FROM log_cosignatures WHERE size > ?", size)
    rebuild_tiles(url)


def rewrite_entry(url: str, index: int) -> None:
    """Change an entry and recompute its leaf hash."""
    (entry,) = sql(url, "SELECT entry FROM audit_log WHERE idx = ?", index)[0]
    document = json.loads(entry)
    document["justification"] = "nothing to see here"
    edited = json.dumps(document)
    sql(
        url,
        "UPDATE audit_log SET entry = ?, leaf_hash = ? WHERE idx = ?",
        edited,
        merkle.leaf_hash(edited.encode()).hex(),
        index,
    )


def copy_store(source: str, target: str) -> None:
    with closing(sqlite3.connect(path_of(source))) as src, closing(sqlite3.connect(path_of(target))) as dst:
        src.backup(dst)


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of a folder with its content and modification time."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


def checkpoint_rows(url: str) -> list[tuple[int, str, str]]:
    return sql(url, "SELECT size, root, note FROM log_checkpoints ORDER BY size")


def assert_checkpoints_commit_to_the_entries(fw: Firewall, url: str) -> list[int]:
    """Every stored checkpoint is signed by the log, names its origin and size, has the root of
    the entries at its size (recomputed from the entries themselves), and extends the one before."""
    leaves = [merkle.leaf_hash(e.encode()) for e in entry_texts(url)]
    rows = checkpoint_rows(url)
    assert rows, "expected at least one checkpoint"
    for size, root, note in rows:
        checkpoint = open_signed(
            note, Verifier.from_vkey(fw.store.meta("log_key") or ""), origin=fw.log.origin
        )
        assert checkpoint.size == size <= len(leaves)
        assert checkpoint.root == bytes.fromhex(root) == mth(leaves[:size]), f"checkpoint of size {size}"
    for (old, old_root, _), (new, new_root, _) in itertools.pairwise(rows):
        proof = fw.log.consistency_proof(old, new)
        assert merkle.verify_consistency(old, new, bytes.fromhex(old_root), bytes.fromhex(new_root), proof)
    return [size for size, _, _ in rows]


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(SAFEREPORT + args, capture_output=True, text=True, env=env, timeout=120)


def ingest_core(fw: Firewall, core: dict[str, Any]) -> Firewall:
    fw.ingest(parse_record(r) for r in core["records"])
    for consent in core["consents"]:
        fw.grant_consent(parse_consent(consent))
    return fw


@pytest.fixture
def log_fw(db_url: str, core: dict[str, Any]) -> Iterator[Firewall]:
    """The core store with a checkpoint every 10 entries (and never by time)."""
    fw = ingest_core(Firewall.open(db_url, checkpoint_every=10, checkpoint_ms=NEVER), core)
    yield fw
    fw.close()


@pytest.fixture
def checkpointed(log_fw: Firewall, db_url: str) -> Firewall:
    """45 single decisions: checkpoints of sizes 1, 11, 21, 31, 41, and 45 on demand."""
    step(log_fw, 45)
    log_fw.log.checkpoint()
    assert assert_checkpoints_commit_to_the_entries(log_fw, db_url) == [1, 11, 21, 31, 41, 45]
    assert log_fw.verify_audit().ok
    return log_fw


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    return Witness(tmp_path / "witness", "witness.example")


def log_vkey(fw: Firewall) -> str:
    return fw.log.signer.verifier_key()


def assert_refused(
    witness: Witness, fw: Firewall, reason: str, *, state: dict[str, tuple[bytes, int]] | None = None
) -> None:
    """The witness refuses with `reason`, cosigns nothing, and its state is as it was."""
    before = state if state is not None else snapshot(witness.state_dir)
    cosignatures = sql(fw.settings.database_url, "SELECT size, witness, line FROM log_cosignatures")
    with pytest.raises(WitnessRefused) as info:
        witness.witness(fw.log, log_vkey(fw))
    assert str(info.value).startswith(reason), str(info.value)
    assert info.value.code == "witness_refused"
    assert snapshot(witness.state_dir) == before
    assert sql(fw.settings.database_url, "SELECT size, witness, line FROM log_cosignatures") == cosignatures


# ---------------------------------------------------------------------------- (a) receipts offline


@both_backends
def test_receipts_verify_offline_after_many_appends(log_fw: Firewall, db_url: str) -> None:
    responses = grow(log_fw, 300)
    early = {i: log_fw.log.proof(i) for i in (0, 3, 299)}  # bundles against the tree of 300
    responses += grow(log_fw, 400)
    assert [r.receipt.index for r in responses] == list(range(700))
    vkey = log_vkey(log_fw)
    assert vkey == log_fw.store.meta("log_key")
    texts = entry_texts(db_url)
    all_leaves = [merkle.leaf_hash(t.encode()) for t in texts]
    indices = (0, 1, 2, 7, 255, 256, 257, 511, 512, 600, 698, 699)
    bundles = {i: log_fw.log.proof(i) for i in indices}
    grown = log_fw.log.consistency_proof(300, 700)
    log_fw.close()
    for suffix in ("", "-wal", "-shm"):  # the store is gone: what follows is offline
        Path(str(path_of(db_url)) + suffix).unlink(missing_ok=True)

    for index in indices:
        receipt = responses[index].receipt
        entry = texts[index].encode("utf-8")
        assert receipt.index == index
        assert receipt.leaf_hash == hashlib.sha256(b"\x00" + entry).hexdigest()
        checkpoint = verify_bundle(
            bundles[index],
            vkey,
            bytes.fromhex(receipt.leaf_hash),
            merkle.verify_inclusion,
            origin=receipt.log,
        )
        assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (receipt.log, 700, mth(all_leaves))
        parsed = ProofBundle.parse(bundles[index])
        assert (parsed.index, parsed.leaf_hash.hex()) == (index, receipt.leaf_hash)
        # another entry does not verify with this bundle
        other = all_leaves[(index + 1) % 700]
        with pytest.raises(AuditError):
            verify_bundle(bundles[index], vkey, other, merkle.verify_inclusion)
    # bundles against an earlier tree stay valid as the log grows, and the trees are consistent
    for index, bundle in early.items():
        checkpoint = verify_bundle(bundle, vkey, all_leaves[index], merkle.verify_inclusion)
        assert checkpoint.size == 300 and checkpoint.root == mth(all_leaves[:300])
    assert merkle.verify_consistency(300, 700, mth(all_leaves[:300]), mth(all_leaves), grown)
    # and none verifies under another key with the same name
    impostor = Signer.generate(responses[0].receipt.log).verifier_key()
    with pytest.raises(AuditError):
        verify_bundle(bundles[0], impostor, all_leaves[0], merkle.verify_inclusion)


def test_cli_check_proof_needs_no_store(log_fw: Firewall, db_url: str, tmp_path: Path) -> None:
    responses = grow(log_fw, 300)
    receipt, other = responses[257].receipt, responses[3].receipt
    bundle = tmp_path / "receipt-257.proof"
    bundle.write_text(log_fw.log.proof(257))
    key = tmp_path / "log.vkey"
    key.write_text(log_vkey(log_fw) + "\n")
    entry = tmp_path / "entry-257.json"
    entry.write_text(entry_texts(db_url)[257] + "\n")
    root = mth(stored_leaves(db_url)).hex()
    log_fw.close()

    nowhere = tmp_path / "nowhere"
    offline = dict(os.environ, SAFEREPORT_DB=f"sqlite:///{nowhere}/store.db", SAFEREPORT_HOME=str(nowhere))
    by_hash = cli(
        ["audit", "check-proof", str(bundle), "--log-key", str(key), "--leaf-hash", receipt.leaf_hash],
        offline,
    )
    assert by_hash.returncode == 0, by_hash.stderr
    assert json.loads(by_hash.stdout) == {"ok": True, "origin": receipt.log, "size": 300, "root": root}
    # a store URL that could not even be opened, the key inline, the entry itself instead of its hash
    unopenable = dict(offline, SAFEREPORT_DB="mysql://nowhere.invalid/db")
    by_entry = cli(
        ["audit", "check-proof", str(bundle), "--log-key", key.read_text().strip(), "--entry", str(entry)],
        unopenable,
    )
    assert by_entry.returncode == 0, by_entry.stderr
    assert json.loads(by_entry.stdout)["ok"] is True
    wrong = cli(
        ["audit", "check-proof", str(bundle), "--log-key", str(key), "--leaf-hash", other.leaf_hash], offline
    )
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert "audit_error" in wrong.stderr
    assert not nowhere.exists()  # no store and no key directory was created


# ---------------------------------------------------------------------------- (b) tampering


def assert_detected(fw: Firewall, *, index: int | None = None, says: str | None = None) -> None:
    report = fw.verify_audit()
    assert not report.ok, report.detail
    if index is not None:
        assert report.first_bad_index == index
        assert str(index) in report.detail
    if says is not None:
        assert says in report.detail


@both_backends
def test_edited_entry_is_detected(checkpointed: Firewall, db_url: str) -> None:
    (entry,) = sql(db_url, "SELECT entry FROM audit_log WHERE idx = 20")[0]
    sql(db_url, "UPDATE audit_log SET entry = ? WHERE idx = 20", entry.replace("case review", "case reviev"))
    assert_detected(checkpointed, index=20, says="changed")


def test_edited_entry_with_its_leaf_hash_recomputed_is_detected(checkpointed: Firewall, db_url: str) -> None:
    rewrite_entry(db_url, 20)
    assert_detected(checkpointed, says="tiles")


@both_backends
def test_edited_entry_with_leaf_hash_and_tiles_recomputed_is_detected(
    checkpointed: Firewall, db_url: str
) -> None:
    rewrite_entry(db_url, 20)
    rebuild_tiles(db_url)
    assert_detected(checkpointed, says="checkpoint of size 21 does not match the entries")


@pytest.mark.parametrize(
    ("index", "db_url"),
    [(0, "sqlite"), (20, "sqlite"), (44, "sqlite"), (20, "postgresql")],
    indirect=["db_url"],
)
def test_deleted_entry_is_detected(checkpointed: Firewall, db_url: str, index: int) -> None:
    sql(db_url, "DELETE FROM audit_log WHERE idx = ?", index)
    if index == 44:  # the last one: no gap in the indices, but the tree and the checkpoint hold it
        assert_detected(checkpointed)
        assert checkpointed.verify_audit().entries == 44
    else:
        assert_detected(checkpointed, index=index, says="missing")


@both_backends
def test_reordered_entries_are_detected(checkpointed: Firewall, db_url: str) -> None:
    rows = sql(db_url, "SELECT idx, entry, leaf_hash FROM audit_log WHERE idx IN (5, 30) ORDER BY idx")
    for (target, _, _), (_, entry, leaf) in zip(rows, reversed(rows), strict=True):
        sql(db_url, "UPDATE audit_log SET entry = ?, leaf_hash = ? WHERE idx = ?", entry, leaf, target)
    assert_detected(checkpointed, says="tiles")
    rebuild_tiles(db_url)  # and with the tiles rebuilt in the new order, the checkpoints differ
    assert_detected(checkpointed, says="does not match the entries")


@pytest.mark.parametrize(
    ("count", "db_url"), [(1, "sqlite"), (5, "sqlite"), (5, "postgresql")], indirect=["db_url"]
)
def test_truncated_tail_is_detected_and_refused_by_the_witness(
    checkpointed: Firewall, db_url: str, witness: Witness, count: int
) -> None:
    assert witness.witness(checkpointed.log, log_vkey(checkpointed)).size == 45
    sql(db_url, "DELETE FROM audit_log WHERE idx >= ?", 45 - count)
    assert_detected(checkpointed)
    assert checkpointed.verify_audit().entries == 45 - count
    rebuild_tiles(db_url)  # even with the tiles made to match, the signed checkpoint of 45 remains
    assert_detected(checkpointed, says="covers more entries than the log holds")
    assert_refused(witness, checkpointed, "rollback")


@both_backends
def test_decide_fails_closed_on_a_truncated_log(checkpointed: Firewall, db_url: str) -> None:
    sql(db_url, "DELETE FROM audit_log WHERE idx >= 40")
    # the stored tree no longer matches the entries: the append is refused, nothing is answered
    with pytest.raises((ValueError, AuditError)):
        checkpointed.decide(make_request(next(_ids)))
    assert sql(db_url, "SELECT COUNT(*) FROM audit_log") == [(40,)]


@pytest.mark.parametrize(  # 21: back to the size of an old checkpoint, replayed
    ("size", "db_url"), [(25, "sqlite"), (21, "sqlite"), (21, "postgresql")], indirect=["db_url"]
)
def test_consistent_rollback_passes_verify_but_not_the_witness(
    checkpointed: Firewall, db_url: str, witness: Witness, size: int
) -> None:
    old_note = checkpoint_rows(db_url)[2][2]
    assert witness.witness(checkpointed.log, log_vkey(checkpointed)).size == 45
    truncate(db_url, size)
    report = checkpointed.verify_audit()
    assert report.ok and report.entries == size  # nothing in the store contradicts itself...
    if size == 21:
        assert checkpointed.log.latest_checkpoint() == old_note  # the log serves its old checkpoint
    assert_refused(witness, checkpointed, "rollback")  # ...but the witness remembers 45
    accepted = witness.accepted(checkpointed.log.verifier)
    assert accepted is not None and accepted.size == 45


def test_replayed_old_checkpoint_is_refused(checkpointed: Firewall, db_url: str, witness: Witness) -> None:
    notes = {size: note for size, _, note in checkpoint_rows(db_url)}
    assert witness.witness(checkpointed.log, log_vkey(checkpointed)).size == 45

    # Deleting the newer checkpoints does not roll the log back: it signs the tree it holds again
    # (Ed25519 is deterministic: the very same note), and the witness accepts it as before.
    sql(db_url, "DELETE FROM log_checkpoints WHERE size > 21")
    assert checkpointed.log.latest_checkpoint() == notes[45]
    assert witness.witness(checkpointed.log, log_vkey(checkpointed)).previous_size == 45

    # A log (or a mirror of it) that serves an older checkpoint is refused.
    class Replaying:
        def latest_checkpoint(self) -> str:
            return notes[21]

        def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
            return checkpointed.log.consistency_proof(old_size, new_size)

        def add_cosignature(self, size: int, witness: str, line: str) -> None:
            raise AssertionError("a refused checkpoint must not be cosigned")

    before = snapshot(witness.state_dir)
    with pytest.raises(WitnessRefused, match=r"^rollback"):
        witness.witness(Replaying(), log_vkey(checkpointed))
    assert snapshot(witness.state_dir) == before


Tiles = dict[tuple[int, int], bytes]
TILE_TAMPERING: dict[str, Callable[[Tiles], dict[tuple[int, int], bytes | None]]] = {
    "byte of a full tile": lambda h: {(0, 0): bytes([h[(0, 0)][0] ^ 1]) + h[(0, 0)][1:]},
    "byte of the partial tile": lambda h: {(0, 2): h[(0, 2)][:-1] + bytes([h[(0, 2)][-1] ^ 1])},
    "byte of a level-1 tile": lambda h: {(1, 0): bytes([h[(1, 0)][0] ^ 1]) + h[(1, 0)][1:]},
    "two tiles swapped": lambda h: {(0, 0): h[(0, 1)], (0, 1): h[(0, 0)]},
    "two hashes of a tile swapped": lambda h: {(0, 1): h[(0, 1)][32:64] + h[(0, 1)][:32] + h[(0, 1)][64:]},
    "partial tile shortened": lambda h: {(0, 2): h[(0, 2)][:-32]},
    "full tile deleted": lambda h: {(0, 1): None},
    "level-1 tile deleted": lambda h: {(1, 0): None},
    "partial tile deleted": lambda h: {(0, 2): None},
    "tile added": lambda h: {(0, 3): h[(0, 0)]},
}


TILE_CASES = [(t, "sqlite") for t in sorted(TILE_TAMPERING)] + [
    (t, "postgresql")
    for t in ("byte of a full tile", "full tile deleted", "partial tile shortened", "tile added")
]


@pytest.mark.parametrize(("tampering", "db_url"), TILE_CASES, indirect=["db_url"])
def test_tampered_tiles_are_detected(log_fw: Firewall, db_url: str, tampering: str) -> None:
    grow(log_fw, 600)  # tiles 0/0, 0/1 (full), 0/2 (partial, 88 hashes), 1/0 (2 hashes)
    log_fw.log.checkpoint()
    vkey, leaves = log_vkey(log_fw), stored_leaves(db_url)
    tiles = {
        (level, idx): bytes(h) for level, idx, h in sql(db_url, "SELECT level, idx, hashes FROM log_tiles")
    }
    assert {k: len(v) // 32 for k, v in tiles.items()} == {(0, 0): 256, (0, 1): 256, (0, 2): 88, (1, 0): 2}
    for (level, idx), hashes in TILE_TAMPERING[tampering](tiles).items():
        sql(db_url, "DELETE FROM log_tiles WHERE level = ? AND idx = ?", level, idx)
        if hashes is not None:
            sql(
                db_url,
                'INSERT INTO log_tiles (level, idx, hashes, "inner") VALUES (?, ?, ?, ?)',
                level,
                idx,
                hashes,
                merkle.inner_levels(hashes) if hashes else None,
            )
    assert_detected(log_fw, says="stored tiles do not match the entries")
    if tampering == "byte of a full tile":
        # a proof built from the altered tile no longer leads to the signed root
        with pytest.raises(AuditError):
            verify_bundle(log_fw.log.proof(1), vkey, leaves[1], merkle.verify_inclusion)


def test_fork_with_the_same_key_is_refused(
    db_url: str, tmp_path: Path, core: dict[str, Any], witness: Witness
) -> None:
    # Two stores, one signing key and one origin: what an operator holding the key could show.
    first = ingest_core(Firewall.open(db_url, log_origin=ORIGIN, checkpoint_ms=NEVER), core)
    second_url = f"sqlite:///{tmp_path / 'fork.db'}"
    second = ingest_core(Firewall.open(second_url, log_origin=ORIGIN, checkpoint_ms=NEVER), core)
    try:
        assert log_vkey(first) == log_vkey(second) and first.log.origin == second.log.origin == ORIGIN
        grow(first, 30)
        assert witness.witness(first.log, log_vkey(first)).size == 30
        grow(second, 30)  # other entries, the same size
        assert second.verify_audit().ok
        assert_refused(witness, second, "fork")
        grow(second, 10)  # other entries, a larger tree
        assert second.verify_audit().ok
        assert_refused(witness, second, "fork")
        # and the honest log still grows and is witnessed
        grow(first, 5)
        assert witness.witness(first.log, log_vkey(first)).previous_size == 30
    finally:
        first.close()
        second.close()


def test_history_rewritten_from_a_shared_prefix_is_refused(
    checkpointed: Firewall, db_url: str, tmp_path: Path, witness: Witness
) -> None:
    assert witness.witness(checkpointed.log, log_vkey(checkpointed)).size == 45
    fork_url = f"sqlite:///{tmp_path / 'rewritten.db'}"
    copy_store(db_url, fork_url)
    truncate(fork_url, 12)  # keep the first 12 entries, then write another history
    rewritten = Firewall.open(fork_url, checkpoint_every=10, checkpoint_ms=NEVER)
    try:
        assert log_vkey(rewritten) == log_vkey(checkpointed)
        step(rewritten, 40)
        assert rewritten.verify_audit().ok  # self-consistent, signed by the real key
        assert_refused(witness, rewritten, "fork")
    finally:
        rewritten.close()


def test_fork_under_another_origin_line_is_refused(checkpointed: Firewall, witness: Witness) -> None:
    log = checkpointed.log
    assert witness.witness(log, log_vkey(checkpointed)).size == 45

    class Elsewhere:
        """The same key signing a two-entry history under another origin line."""

        def latest_checkpoint(self) -> str:
            leaves = [merkle.leaf_hash(b"forged 0"), merkle.leaf_hash(b"forged 1")]
            return Checkpoint(log.origin + "-v2", 2, mth(leaves)).sign(log.signer)

        def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
            return []

        def add_cosignature(self, size: int, witness: str, line: str) -> None:
            pass

    before = snapshot(witness.state_dir)
    with pytest.raises(AuditError):
        witness.witness(Elsewhere(), log_vkey(checkpointed))
    assert snapshot(witness.state_dir) == before


def test_unsigned_tail_rewritten_after_deleting_checkpoints_is_caught_by_the_witness(
    checkpointed: Firewall, db_url: str, witness: Witness
) -> None:
    # Without the key one can delete the newest checkpoints and rewrite what only they covered:
    # verify() sees a consistent store (it cannot know checkpoints are missing) and the log signs
    # the rewritten tree. This is what witnesses are for.
    assert witness.witness(checkpointed.log, log_vkey(checkpointed)).size == 45
    sql(db_url, "DELETE FROM log_checkpoints WHERE size > 21")
    sql(db_url, "DELETE FROM log_cosignatures WHERE size > 21")
    rewrite_entry(db_url, 30)
    rebuild_tiles(db_url)
    assert checkpointed.verify_audit().ok
    assert_refused(witness, checkpointed, "fork")


def test_checkpoint_signed_by_another_key_is_detected(
    checkpointed: Firewall, db_url: str, witness: Witness
) -> None:
    assert witness.witness(checkpointed.log, log_vkey(checkpointed)).size == 45
    impostor = Signer.generate(checkpointed.log.origin)  # same name, another key
    for size in (21, 45):
        (note,) = sql(db_url, "SELECT note FROM log_checkpoints WHERE size = ?", size)[0]
        forged = Checkpoint.parse(Verifier.from_vkey(log_vkey(checkpointed)).verify(note)).sign(impostor)
        assert forged != note
        sql(db_url, "UPDATE log_checkpoints SET note = ? WHERE size = ?", forged, size)
    assert_detected(checkpointed, says="checkpoint of size 21 is not signed by this log's key")
    # the witness does not cosign it either
    before = snapshot(witness.state_dir)
    with pytest.raises(AuditError):
        witness.witness(checkpointed.log, log_vkey(checkpointed))
    assert snapshot(witness.state_dir) == before


def test_checkpoint_of_another_size_in_a_row_is_detected(checkpointed: Firewall, db_url: str) -> None:
    (note,) = sql(db_url, "SELECT note FROM log_checkpoints WHERE size = 11")[0]
    sql(db_url, "UPDATE log_checkpoints SET note = ? WHERE size = 21", note)
    assert_detected(checkpointed, says="another size or origin")


@both_backends
def test_altered_cosignatures_are_detected(checkpointed: Firewall, db_url: str, witness: Witness) -> None:
    vkey = log_vkey(checkpointed)
    witness.witness(checkpointed.log, vkey)
    step(checkpointed, 10)
    witness.witness(checkpointed.log, vkey)
    wkey = witness.verifier_key()
    assert checkpointed.verify_audit([wkey]).ok
    assert sql(db_url, "SELECT size, witness FROM log_cosignatures ORDER BY size") == [
        (45, "witness.example"),
        (55, "witness.example"),
    ]

    (line,) = sql(db_url, "SELECT line FROM log_cosignatures WHERE size = 55")[0]
    position = len(line) - 10  # inside the Ed25519 signature's base64
    altered = line[:position] + ("B" if line[position] == "A" else "A") + line[position + 1 :]
    sql(db_url, "UPDATE log_cosignatures SET line = ? WHERE size = 55", altered)
    report = checkpointed.verify_audit([wkey])
    assert not report.ok and "does not verify" in report.detail
    assert checkpointed.verify_audit().ok  # without witness keys cosignatures are not checked

    # a genuine cosignature moved onto another checkpoint
    sql(db_url, "UPDATE log_cosignatures SET line = ? WHERE size = 55", line)
    assert checkpointed.verify_audit([wkey]).ok
    sql(db_url, "UPDATE log_cosignatures SET size = 21 WHERE size = 45")
    assert not checkpointed.verify_audit([wkey]).ok


def test_witness_key_without_cosignatures_fails_verify(
    checkpointed: Firewall, witness: Witness, tmp_path: Path
) -> None:
    witness.witness(checkpointed.log, log_vkey(checkpointed))
    silent = Witness(tmp_path / "silent", "silent.example")
    report = checkpointed.verify_audit([witness.verifier_key(), silent.verifier_key()])
    assert not report.ok
    assert "no cosignature by witness silent.example" in report.detail
    # the same name with another key: its cosignatures are not this key's
    impostor = Witness(tmp_path / "impostor", "witness.example")
    assert not checkpointed.verify_audit([impostor.verifier_key()]).ok


def test_another_log_key_is_refused_on_the_same_store(checkpointed: Firewall, db_url: str) -> None:
    keys = sorted(p.name for p in checkpointed.settings.keys_path.glob("log-*.key"))
    assert len(keys) == 1
    key_file = checkpointed.settings.keys_path / keys[0]
    assert key_file.stat().st_mode & 0o777 == 0o600
    secret = key_file.read_text().strip()
    assert secret.startswith("PRIVATE+KEY+")
    assert not any(secret in str(value) for row in sql(db_url, "SELECT * FROM meta") for value in row)
    checkpointed.close()
    with pytest.raises(AuditError, match="log signing key"):
        Firewall.open(db_url, log_origin=ORIGIN)  # another origin: another key file, another key
    key_file.unlink()
    with pytest.raises(AuditError, match="log signing key"):
        Firewall.open(db_url)  # the key lost: a new one is not accepted in its place


# ---------------------------------------------------------------------------- (c) witnessing


@both_backends
def test_witness_cosigns_every_growth_step(log_fw: Firewall, db_url: str, witness: Witness) -> None:
    vkey = log_vkey(log_fw)
    verifier = Verifier.from_vkey(vkey)
    wkey = witness.verifier_key()
    previous: int | None = None
    sizes = []
    for count in (1, 2, 5, 30, 250, 3, 300, 1):
        grow(log_fw, count)
        result = witness.witness(log_fw.log, vkey)
        size = (previous or 0) + count
        leaves = stored_leaves(db_url)
        assert (result.origin, result.previous_size, result.size) == (log_fw.log.origin, previous, size)
        assert result.root == mth(leaves).hex()
        (state,) = witness.state_dir.glob("*.checkpoint")
        assert state.read_text() == log_fw.log.latest_checkpoint()
        accepted = witness.accepted(verifier)
        assert accepted is not None and accepted.size == size
        cosigned = log_fw.log.cosigned_checkpoint(size)
        assert open_signed(cosigned, verifier).root == mth(leaves)
        assert verify_cosignature(cosigned, wkey) <= datetime.now(UTC)
        assert cosigned.endswith(result.cosignature)
        previous = size
        sizes.append(size)
    # witnessing again without growth: the same tree, cosigned again
    again = witness.witness(log_fw.log, vkey)
    assert again.previous_size == again.size == sizes[-1]
    assert [s for (s,) in sql(db_url, "SELECT size FROM log_cosignatures ORDER BY size")] == sizes
    # a second, independent witness; verify checks both
    second = Witness(witness.state_dir.parent / "second", "second.example")
    assert second.witness(log_fw.log, vkey).previous_size is None
    assert log_fw.verify_audit([wkey, second.verifier_key()]).ok
    assert assert_checkpoints_commit_to_the_entries(log_fw, db_url)


def test_witness_state_is_untouched_by_a_refusal(
    checkpointed: Firewall, db_url: str, witness: Witness
) -> None:
    witness.witness(checkpointed.log, log_vkey(checkpointed))
    before = snapshot(witness.state_dir)
    truncate(db_url, 30)
    assert_refused(witness, checkpointed, "rollback", state=before)
    assert_refused(witness, checkpointed, "rollback", state=before)  # and again: nothing learnt
    # the log grows past the accepted size without its lost entries: a fork, still refused
    step(checkpointed, 20)
    assert_refused(witness, checkpointed, "fork", state=before)


# ---------------------------------------------------------------------------- (d) checkpoints


@both_backends
def test_checkpoints_every_n_entries_and_on_demand(db_url: str) -> None:
    every = 5
    fw = Firewall.open(db_url, checkpoint_every=every, checkpoint_ms=NEVER, commit_batch=3)
    try:
        assert fw.verify_audit().ok
        empty = open_signed(fw.log.checkpoint(), fw.log.verifier)  # on demand, even when empty
        assert (empty.size, empty.root) == (0, merkle.EMPTY_ROOT)

        # the rule: at an append, a checkpoint once `every` entries follow the last one
        expected, last, size = [0], 0, 0
        for group in [1] * 23 + [3] * 4 + [1]:
            if group == 1:
                step(fw, 1)
            else:
                grow(fw, group)  # decide_many in groups of 3 (and the last of 2)
            size += group
            if size - last >= every:
                expected.append(size)
                last = size
        assert size == 36
        assert assert_checkpoints_commit_to_the_entries(fw, db_url) == expected == [0, 5, 10, 15, 20, 26, 32]

        note = fw.log.checkpoint()  # on demand: the tree has grown past the last one
        assert open_signed(note, fw.log.verifier).size == 36
        assert fw.log.checkpoint() == note  # nothing new to sign: the same note
        assert assert_checkpoints_commit_to_the_entries(fw, db_url) == [*expected, 36]
        assert fw.verify_audit().ok
        issued = [at for (at,) in sql(db_url, "SELECT issued_at FROM log_checkpoints ORDER BY size")]
        assert issued == sorted(issued)
    finally:
        fw.close()


@both_backends
def test_checkpoints_by_time(db_url: str) -> None:
    now = [datetime(2026, 6, 1, 8, 0, tzinfo=UTC)]
    settings = load_settings(db=db_url, checkpoint_every=1_000, checkpoint_ms=1_000)
    fw = Firewall(Store.open(db_url), settings, clock=lambda: now[0])
    try:
        sizes = []
        for advance_ms in (0, 400, 400, 300, 999, 1, 5_000):
            now[0] += timedelta(milliseconds=advance_ms)
            step(fw, 1)
            sizes = [s for s, _, _ in checkpoint_rows(db_url)]
        # the first append; then the first append 1 s or more after the last checkpoint
        assert sizes == [1, 4, 6, 7]
        assert assert_checkpoints_commit_to_the_entries(fw, db_url) == sizes
    finally:
        fw.close()


@both_backends
def test_proof_issues_a_checkpoint_covering_the_entry(log_fw: Firewall, db_url: str) -> None:
    step(log_fw, 13)  # checkpoints 1 and 11; entries 11 and 12 not yet signed
    bundle = log_fw.log.proof(12)
    checkpoint = verify_bundle(bundle, log_vkey(log_fw), stored_leaves(db_url)[12], merkle.verify_inclusion)
    assert checkpoint.size == 13
    assert [s for s, _, _ in checkpoint_rows(db_url)] == [1, 11, 13]
    with pytest.raises(AuditError):
        log_fw.log.proof(13)


# ---------------------------------------------------------------------------- (e) nothing personal


def _personal_values(core: dict[str, Any]) -> set[str]:
    return {
        person["data"][key]
        for record in core["records"]
        for person in record["persons"]
        for key in PERSONAL_FIELDS
        if key in person["data"]
    }


@both_backends
def test_the_log_publishes_no_personal_data(
    log_fw: Firewall, db_url: str, core: dict[str, Any], witness: Witness
) -> None:
    for case in core["cases"]:
        if case["expect"].get("error"):
            continue
        for action in case.get("before", []):
            assert action[:2] == ["consent", "revoke"]
            log_fw.revoke_consent(action[2])
        log_fw.decide(parse_request(case["request"]))
    document = core["cases"][0]["request"]
    log_fw.decide(
        parse_request(
            dict(
                document,
                request_id="P-1",
                justification="Locate Maria Silva, born 1991-04-12, of 12 Acre Lane, London SW2 5SG",
            )
        )
    )
    size = len(entry_texts(db_url))
    witness.witness(log_fw.log, log_vkey(log_fw))
    bundles = [log_fw.log.proof(i) for i in range(size)]

    tiles = b"".join(bytes(h) for (h,) in sql(db_url, "SELECT hashes FROM log_tiles"))
    texts = [note for _, _, note in checkpoint_rows(db_url)]
    texts += [line for (line,) in sql(db_url, "SELECT line FROM log_cosignatures")]
    texts += [log_fw.log.cosigned_checkpoint(size), *bundles]
    texts += [p.read_text() for p in witness.state_dir.glob("*.checkpoint")]
    text = "\n".join(texts)
    # what is hidden in base64 (hashes, signatures, anything else) is checked decoded, as bytes
    words = text.split()
    blobs = {w for w in words if len(w) % 4 == 0 and re.fullmatch(r"[A-Za-z0-9+/]{16,}={0,2}", w)}
    assert len(blobs) > size  # the leaf hashes, proof hashes, signatures and roots
    binary = tiles + b"".join(base64.b64decode(blob, validate=True) for blob in sorted(blobs))
    published = " ".join(w for w in words if w not in blobs).lower()
    assert "c2sp.org/tlog-proof@v1" in published and log_fw.log.origin in published
    values = _personal_values(core)
    assert {"Maria Silva", "1991-04-12", "07700 900123", "visa expired 2024"} <= values
    for value in values:
        raw = value.encode("utf-8")
        assert value.lower() not in published, value
        assert raw not in binary and raw.lower() not in binary, value
        # nor an unsalted hash of it, which anyone could confirm by guessing
        for digest in (hashlib.sha256(raw).digest(), merkle.leaf_hash(raw)):
            assert digest not in binary, value
            assert digest.hex() not in published, value
    assert size < 256 and len(tiles) == 32 * size  # one partial tile: the leaf hashes, nothing else


# ---------------------------------------------------------------------------- (f) migration


V1_DEPLOYMENT = "0123456789abcdef"


def _make_v1_store(url: str, entries: Sequence[str]) -> list[str]:
    """A store as version 1 left it: the hash chain, no tiles, no checkpoints."""
    engine = create_engine(url)
    leaf_hashes = []
    with engine.begin() as conn:
        migrations._v1_initial(conn)
        tables.metadata.create_all(conn, tables=[tables.meta])
        conn.execute(
            tables.meta.insert(),
            [{"key": "schema_version", "value": "1"}, {"key": "deployment_id", "value": V1_DEPLOYMENT}],
        )
        chain = hashlib.sha256(f"safereport/{V1_DEPLOYMENT}".encode()).digest()
        for index, entry in enumerate(entries):
            leaf = hashlib.sha256(b"\x00" + entry.encode()).digest()
            chain = hashlib.sha256(chain + leaf).digest()
            conn.execute(
                text("INSERT INTO audit_log (idx, entry, leaf_hash, chain_hash) VALUES (:i, :e, :l, :c)"),
                {"i": index, "e": entry, "l": leaf.hex(), "c": chain.hex()},
            )
            leaf_hashes.append(leaf.hex())
    engine.dispose()
    return leaf_hashes


def _log_columns(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns("audit_log")}
    finally:
        engine.dispose()


def _v1_entries(tmp_path: Path, core: dict[str, Any], count: int) -> list[str]:
    donor_url = f"sqlite:///{tmp_path / 'donor.db'}"
    with Firewall.open(donor_url) as donor:
        ingest_core(donor, core)
        grow(donor, count)
    return entry_texts(donor_url)


@both_backends
def test_v1_store_migrates_to_the_tree(db_url: str, tmp_path: Path, core: dict[str, Any]) -> None:
    entries = _v1_entries(tmp_path, core, 300)
    v1_receipts = _make_v1_store(db_url, entries)
    assert _log_columns(db_url) >= {"chain_hash"}

    fw = ingest_core(Firewall.open(db_url), core)
    try:
        assert fw.store.meta("schema_version") == str(migrations.LATEST)
        assert _log_columns(db_url) == {"idx", "entry", "leaf_hash"}
        assert entry_texts(db_url) == entries
        expected_tiles, _ = merkle.tiles_for_append(
            merkle.MemoryTiles(), 0, [bytes.fromhex(h) for h in v1_receipts]
        )
        stored = {
            merkle.TileKey(lv, ix): bytes(h)
            for lv, ix, h in sql(db_url, "SELECT level, idx, hashes FROM log_tiles")
        }
        assert stored == expected_tiles and len(stored) == 3

        response = fw.decide(make_request(next(_ids)))
        assert response.receipt.index == 300
        assert response.receipt.log == f"safereport.localhost/{V1_DEPLOYMENT}"
        report = fw.verify_audit()
        assert report.ok, report.detail
        assert report.entries == 301
        assert report.head == mth(stored_leaves(db_url)).hex()
        # the first open after the migration signed the migrated tree; the decision came after
        assert assert_checkpoints_commit_to_the_entries(fw, db_url)[0] == 300
        # a receipt handed out under version 1 (its leaf hash) proves inclusion in the tree
        for index in (0, 255, 299):
            checkpoint = verify_bundle(
                fw.log.proof(index), log_vkey(fw), bytes.fromhex(v1_receipts[index]), merkle.verify_inclusion
            )
            assert checkpoint.size == 301
    finally:
        fw.close()
    with Firewall.open(db_url) as again:  # reopening migrates nothing more
        assert again.store.meta("schema_version") == str(migrations.LATEST)
        assert again.verify_audit().ok


def test_v1_store_verifies_right_after_migration(db_url: str, tmp_path: Path, core: dict[str, Any]) -> None:
    _make_v1_store(db_url, _v1_entries(tmp_path, core, 5))
    with Firewall.open(db_url) as fw:
        report = fw.verify_audit()
        assert report.ok, report.detail


# ---------------------------------------------------------------------------- (g) concurrency

WORKERS, PER_WORKER, BATCH, EVERY = 4, 50, 8, 16


def _batch_worker(db_url: str, home: str, worker: int, barrier: Any, results: Any) -> None:
    os.environ["SAFEREPORT_HOME"] = home
    os.environ.pop("SAFEREPORT_DB", None)
    from safereport import Firewall as Fw

    try:
        fw = Fw.open(db_url, commit_batch=BATCH, checkpoint_every=EVERY, checkpoint_ms=NEVER)
    except BaseException as exc:
        results.put((worker, f"open failed: {exc!r}"))
        barrier.abort()
        raise
    try:
        requests = [make_request(i, prefix=f"W{worker}") for i in range(PER_WORKER)]
        barrier.wait(timeout=60)
        responses = fw.decide_many(requests)
        results.put((worker, [(r.request_id, r.receipt.index, r.receipt.leaf_hash) for r in responses]))
    except BaseException as exc:
        results.put((worker, f"failed: {exc!r}"))
        raise
    finally:
        fw.close()


@both_backends
def test_concurrent_batch_writers_make_one_tree(
    log_fw: Firewall, db_url: str, isolated_home: Path, witness: Witness
) -> None:
    results = run_workers(_batch_worker, (db_url, str(isolated_home)), WORKERS, timeout=120)
    total = WORKERS * PER_WORKER

    rows = sql(db_url, "SELECT idx, entry, leaf_hash FROM audit_log ORDER BY idx")
    assert [idx for idx, _, _ in rows] == list(range(total))  # no gap, no duplicate
    by_index = {idx: (json.loads(entry)["request_id"], leaf) for idx, entry, leaf in rows}
    for worker, receipts in results.items():
        assert [rid for rid, _, _ in receipts] == [f"W{worker}-{i}" for i in range(PER_WORKER)]
        for request_id, index, leaf in receipts:
            assert by_index[index] == (request_id, leaf)
        # each group of BATCH decisions was one append: consecutive indices
        indices = [index for _, index, _ in receipts]
        for start in range(0, PER_WORKER, BATCH):
            group = indices[start : start + BATCH]
            assert group == list(range(group[0], group[0] + len(group)))

    report = log_fw.verify_audit()
    assert report.ok, report.detail
    assert report.entries == total
    sizes = assert_checkpoints_commit_to_the_entries(log_fw, db_url)
    assert sizes[0] == BATCH
    assert all(EVERY <= new - old < EVERY + BATCH for old, new in itertools.pairwise(sizes))

    result = witness.witness(log_fw.log, log_vkey(log_fw))
    assert result.size == total and result.root == report.head
    assert log_fw.verify_audit([witness.verifier_key()]).ok
    leaves = stored_leaves(db_url)
    for _, index, leaf in results[2][::10]:
        verify_bundle(log_fw.log.proof(index), log_vkey(log_fw), bytes.fromhex(leaf), merkle.verify_inclusion)
        assert leaves[index].hex() == leaf


# ---------------------------------------------------------------------------- (h) command line


def test_cli_audit_and_witness(log_fw: Firewall, db_url: str, tmp_path: Path) -> None:
    grow(log_fw, 20)
    log_fw.close()
    env = dict(os.environ, SAFEREPORT_DB=db_url)

    key = cli(["audit", "key"], env)
    assert key.returncode == 0, key.stderr
    vkey = key.stdout.strip()
    with Firewall.open(db_url) as fw:
        assert vkey == fw.store.meta("log_key") == log_vkey(fw)
    verifier = Verifier.from_vkey(vkey)

    checkpoint = cli(["audit", "checkpoint"], env)
    assert checkpoint.returncode == 0, checkpoint.stderr
    leaves = stored_leaves(db_url)
    assert open_signed(checkpoint.stdout, verifier).size == 20

    proof = cli(["audit", "proof", "7"], env)
    assert proof.returncode == 0, proof.stderr
    assert verify_bundle(proof.stdout, vkey, leaves[7], merkle.verify_inclusion).root == mth(leaves)
    beyond = cli(["audit", "proof", "20"], env)
    assert beyond.returncode == 1 and beyond.stdout == ""

    state = tmp_path / "witness"
    show = cli(["witness", "--state", str(state), "--show-key"], env)
    assert show.returncode == 0, show.stderr
    wkey_file = tmp_path / "witness.vkey"
    wkey_file.write_text(show.stdout)
    assert show.stdout.startswith("witness.example+")

    first = cli(["witness", "--state", str(state), "--log-key", vkey], env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {
        "ok": True,
        "origin": verifier.name,
        "previous_size": None,
        "size": 20,
        "root": mth(leaves).hex(),
        "cosigned": True,
    }
    with Firewall.open(db_url) as fw:
        grow(fw, 15)
    second = cli(["witness", "--state", str(state)], env)
    assert second.returncode == 0, second.stderr
    assert (json.loads(second.stdout)["previous_size"], json.loads(second.stdout)["size"]) == (20, 35)

    verify = cli(["audit", "verify", "--witness-key", str(wkey_file)], env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    report = json.loads(verify.stdout)
    assert report["ok"] is True and report["entries"] == 35
    assert report["root"] == mth(stored_leaves(db_url)).hex()

    # a rollback: the store agrees with itself, the witness does not cosign
    truncate(db_url, 30)
    assert cli(["audit", "verify"], env).returncode == 0
    refused = cli(["witness", "--state", str(state)], env)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "witness_refused" in refused.stderr and "rollback" in refused.stderr

    # an edited entry
    (entry,) = sql(db_url, "SELECT entry FROM audit_log WHERE idx = 3")[0]
    sql(db_url, "UPDATE audit_log SET entry = ? WHERE idx = 3", entry.replace("case review", "case reviev"))
    tampered = cli(["audit", "verify"], env)
    assert tampered.returncode == 1
    assert json.loads(tampered.stdout)["ok"] is False


@pytest.mark.parametrize("problem", ["missing bundle file", "short leaf hash"])
def test_cli_check_proof_bad_input_exits_2(
    log_fw: Firewall, tmp_path: Path, capsys: pytest.CaptureFixture[str], problem: str
) -> None:
    from safereport.cli import main

    responses = step(log_fw, 3)
    bundle = tmp_path / "receipt.proof"
    if problem != "missing bundle file":
        bundle.write_text(log_fw.log.proof(1))
    leaf = responses[1].receipt.leaf_hash
    status = main(
        [
            "audit",
            "check-proof",
            str(bundle),
            "--log-key",
            log_vkey(log_fw),
            "--leaf-hash",
            leaf[:8] if problem == "short leaf hash" else leaf,
        ]
    )
    assert capsys.readouterr().out == ""
    assert status == 2


@both_backends
def test_full_tiles_keep_their_interior_and_proofs_use_it(log_fw: Firewall, db_url: str) -> None:
    step(log_fw, 300)
    (inner,) = sql(db_url, 'SELECT "inner" FROM log_tiles WHERE level = 0 AND idx = 0')[0]
    (hashes,) = sql(db_url, "SELECT hashes FROM log_tiles WHERE level = 0 AND idx = 0")[0]
    assert bytes(inner) == merkle.inner_levels(bytes(hashes))
    (partial, partial_inner) = sql(
        db_url, 'SELECT hashes, "inner" FROM log_tiles WHERE level = 0 AND idx = 1'
    )[0]
    assert len(partial) == 44 * 32 and bytes(partial_inner) == merkle.inner_levels(bytes(partial))
    memory = merkle.MemoryTiles(
        {
            merkle.TileKey(lv, ix): bytes(h)
            for lv, ix, h in sql(db_url, "SELECT level, idx, hashes FROM log_tiles")
        }
    )
    with log_fw.store.read() as conn:
        from safereport.store.auditlog import ConnectionTiles

        stored = ConnectionTiles(conn)
        for index in (0, 7, 200, 255, 256, 299):
            assert merkle.inclusion_proof(stored, index, 300) == merkle.inclusion_proof(memory, index, 300)
        for old in (1, 100, 256, 299):
            assert merkle.consistency_proof(stored, old, 300) == merkle.consistency_proof(memory, old, 300)


def test_a_tampered_tile_interior_is_detected(log_fw: Firewall, db_url: str) -> None:
    step(log_fw, 260)
    assert log_fw.verify_audit().ok
    (inner,) = sql(db_url, 'SELECT "inner" FROM log_tiles WHERE level = 0 AND idx = 0')[0]
    altered = bytes(inner)[:40] + bytes([inner[40] ^ 1]) + bytes(inner)[41:]
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE log_tiles SET inner = ? WHERE level = 0 AND idx = 0", (altered,))
    report = log_fw.verify_audit()
    assert not report.ok and "interior" in report.detail
