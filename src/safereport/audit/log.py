"""The audit log as a transparency log: an RFC 9162 Merkle tree over the entries, stored as
C2SP tlog-tiles, with signed checkpoints (C2SP tlog-checkpoint) that witnesses cosign.

Appends are grouped: many entries, one transaction, one tree update; nothing is answered before
the transaction commits. The tree, the tiles and the checkpoints are what the log publishes;
they commit to the entries through salted leaf hashes and hold no personal data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import Connection

from safereport.audit import merkle
from safereport.audit.checkpoint import Checkpoint, ProofBundle, open_signed, verify_cosignature
from safereport.audit.entry import REQUIRED_FIELDS
from safereport.audit.notes import Signer, Verifier
from safereport.errors import AuditError
from safereport.model import Receipt
from safereport.store import Store
from safereport.store import auditlog as rows


def leaf_hash(entry: bytes) -> str:
    """The RFC 9162 leaf hash of an entry, as hex: what a receipt carries."""
    return merkle.leaf_hash(entry).hex()


@dataclass(frozen=True, slots=True)
class AuditReport:
    ok: bool
    entries: int
    head: str
    detail: str
    first_bad_index: int | None = None


class AuditLog:
    def __init__(
        self,
        store: Store,
        origin: str,
        signer: Signer,
        *,
        checkpoint_every: int = 1_000,
        checkpoint_ms: int = 1_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.origin = origin
        self.signer = signer
        self.verifier = Verifier.from_vkey(signer.verifier_key())
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval = timedelta(milliseconds=checkpoint_ms)
        self.clock = clock

    # ---------------------------------------------------------------- appending

    def append(self, entries: Sequence[bytes]) -> list[Receipt]:
        """Append in one transaction and one tree update; returns once the entries are durable."""
        with self.store.write() as conn:
            return self.append_in(conn, entries)

    def append_in(self, conn: Connection, entries: Sequence[bytes]) -> list[Receipt]:
        old_size = rows.size(conn)
        leaves = [merkle.leaf_hash(e) for e in entries]
        hexes = [h.hex() for h in leaves]
        rows.append_entries(conn, old_size, [e.decode("utf-8") for e in entries], hexes)
        try:
            tiles, new_size = merkle.tiles_for_append(rows.ConnectionTiles(conn), old_size, leaves)
        except ValueError as exc:
            raise AuditError(
                f"the log's tiles do not match its entries, so nothing is appended: {exc}"
            ) from None
        rows.put_tiles(conn, tiles)
        latest = rows.latest_checkpoint(conn)
        now = self.clock()
        if (
            latest is None
            or new_size - latest.size >= self.checkpoint_every
            or now - latest.issued_at >= self.checkpoint_interval
        ):
            self._checkpoint_in(conn, new_size, now)
        origin = self.origin
        return [Receipt(origin, index, h) for index, h in enumerate(hexes, start=old_size)]

    def _checkpoint_in(self, conn: Connection, size: int, now: datetime) -> rows.StoredCheckpoint:
        root = merkle.root_hash(rows.ConnectionTiles(conn), size) if size else merkle.EMPTY_ROOT
        note = Checkpoint(self.origin, size, root).sign(self.signer)
        stored = rows.StoredCheckpoint(size, root.hex(), note, now)
        rows.put_checkpoint(conn, stored)
        return stored

    # ---------------------------------------------------------------- publishing

    def checkpoint(self) -> str:
        """The latest signed checkpoint, issuing one first if the tree has grown past it."""
        with self.store.read() as conn:
            latest = rows.latest_checkpoint(conn)
            size = rows.size(conn)
        if latest is not None and latest.size == size:
            return latest.note
        with self.store.write() as conn:
            size = rows.size(conn)
            latest = rows.checkpoint_at(conn, size) or self._checkpoint_in(conn, size, self.clock())
            return latest.note

    def proof(self, index: int) -> str:
        """An offline proof bundle (C2SP tlog-proof) that entry `index` is in the log."""
        self.checkpoint()
        with self.store.read() as conn:
            latest = rows.latest_checkpoint(conn)
            row = rows.entry_at(conn, index)
            if latest is None or row is None or index >= latest.size:
                raise AuditError(f"expected the index of an entry in the log, got {index}")
            path = merkle.inclusion_proof(rows.ConnectionTiles(conn), index, latest.size)
        return ProofBundle(index, bytes.fromhex(row.leaf_hash), tuple(path), latest.note).to_text()

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        with self.store.read() as conn:
            return merkle.consistency_proof(rows.ConnectionTiles(conn), old_size, new_size)

    def latest_checkpoint(self) -> str:
        return self.checkpoint()

    def ensure_checkpoint(self) -> None:
        """Sign a checkpoint if the log holds entries none covers yet (a store just migrated)."""
        with self.store.read() as conn:
            missing = rows.size(conn) > 0 and rows.latest_checkpoint(conn) is None
        if missing:
            self.checkpoint()

    def add_cosignature(self, size: int, witness: str, line: str) -> None:
        with self.store.write() as conn:
            if rows.checkpoint_at(conn, size) is None:
                raise AuditError(f"expected the size of a checkpoint this log issued, got {size}")
            rows.put_cosignature(conn, size, witness, line, self.clock())

    def cosigned_checkpoint(self, size: int) -> str:
        """The checkpoint of `size` with every witness's cosignature line appended."""
        with self.store.read() as conn:
            stored = rows.checkpoint_at(conn, size)
            if stored is None:
                raise AuditError(f"expected the size of a checkpoint this log issued, got {size}")
            lines = [line for _, _, line in rows.cosignatures(conn, size)]
        return stored.note + "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    # ---------------------------------------------------------------- verifying

    def verify(self, witness_keys: Sequence[str] = ()) -> AuditReport:
        """Check the whole log from scratch: every entry and leaf, every tile, every checkpoint's
        signature and root, and (given witness keys) the witnesses' cosignatures."""
        tree = merkle.MemoryTiles()
        expected = 0
        batch: list[bytes] = []

        def flush() -> None:
            nonlocal batch
            if batch:
                tree.apply(merkle.tiles_for_append(tree, expected - len(batch), batch)[0])
                batch = []

        with self.store.read() as conn:
            for row in rows.scan(conn):
                problem = _entry_problem(row, expected)
                if problem:
                    return AuditReport(False, expected, "", problem, first_bad_index=expected)
                batch.append(bytes.fromhex(row.leaf_hash))
                expected += 1
                if len(batch) >= 65_536:
                    flush()
            flush()
            stored_tiles: dict[merkle.TileKey, bytes] = {}
            bad_interior: merkle.TileKey | None = None
            for level, idx, hashes, inner in rows.all_tiles(conn):
                key = merkle.TileKey(level, idx)
                stored_tiles[key] = hashes
                expected_inner = merkle.inner_levels(hashes)
                if bad_interior is None and inner != expected_inner:
                    bad_interior = key
            checkpoints = rows.checkpoints(conn)
            cosigned = rows.cosignatures(conn)
        built = tree.tiles()
        if stored_tiles != built:
            first = _first_differing_leaf(stored_tiles, built)
            bad = sorted(
                set(stored_tiles) ^ set(built) | {k for k in built if stored_tiles.get(k) != built[k]},
                key=lambda k: (k.level, k.index),
            )
            return AuditReport(
                False,
                expected,
                "",
                (f"entry {first} does not match the tree: " if first is not None else "")
                + f"stored tiles do not match the entries (first: level {bad[0].level}, tile {bad[0].index}): "
                "tiles were changed, or entries rewritten or removed",
                first_bad_index=first,
            )
        if bad_interior is not None:
            return AuditReport(
                False,
                expected,
                "",
                f"the stored interior of tile {bad_interior.level}/{bad_interior.index} does not match the "
                "tile: proofs served from it would be wrong",
            )
        head = (merkle.root_hash(tree, expected) if expected else merkle.EMPTY_ROOT).hex()
        for stored in checkpoints:
            try:
                checkpoint = open_signed(stored.note, self.verifier)
            except AuditError as exc:
                return AuditReport(
                    False,
                    expected,
                    head,
                    f"checkpoint of size {stored.size} is not signed by this log's key: {exc.message}",
                )
            if checkpoint.size != stored.size or checkpoint.origin != self.origin:
                return AuditReport(
                    False, expected, head, f"checkpoint of size {stored.size} names another size or origin"
                )
            if checkpoint.size > expected:
                return AuditReport(
                    False,
                    expected,
                    head,
                    f"checkpoint of size {checkpoint.size} covers more entries than the log holds ({expected}): entries were removed",
                )
            root = merkle.root_hash(tree, checkpoint.size) if checkpoint.size else merkle.EMPTY_ROOT
            if root != checkpoint.root:
                return AuditReport(
                    False,
                    expected,
                    head,
                    f"checkpoint of size {checkpoint.size} does not match the entries: the log was rewritten",
                )
        if expected and not checkpoints:
            return AuditReport(False, expected, head, "the log holds entries but no signed checkpoint")
        by_size = {c.size: c.note for c in checkpoints}
        for vkey in witness_keys:
            name = vkey.split("+", 1)[0]
            mine = [(size, line) for size, witness, line in cosigned if witness == name]
            if not mine:
                return AuditReport(False, expected, head, f"no cosignature by witness {name}")
            for size, line in mine:
                try:
                    verify_cosignature(by_size[size] + (line if line.endswith("\n") else line + "\n"), vkey)
                except (AuditError, KeyError) as exc:
                    return AuditReport(
                        False, expected, head, f"cosignature by {name} on size {size} does not verify: {exc}"
                    )
        latest = checkpoints[-1].size if checkpoints else 0
        return AuditReport(
            True,
            expected,
            head,
            f"{expected} entries, {len(built)} tiles and {len(checkpoints)} signed checkpoints verified "
            f"(latest size {latest}); root {head}",
        )


def _entry_problem(row: rows.LogRow, expected: int) -> str | None:
    if row.index != expected:
        return f"expected entry {expected}, found entry {row.index}: entries are missing"
    if leaf_hash(row.entry.encode("utf-8")) != row.leaf_hash:
        return f"entry {row.index} does not match its leaf hash: it was changed"
    try:
        document = orjson.loads(row.entry)
        missing = set() if document.keys() >= REQUIRED_FIELDS else set(REQUIRED_FIELDS - document.keys())
    except (orjson.JSONDecodeError, TypeError, AttributeError):
        missing = {"(not a JSON object)"}
    if missing:
        return f"entry {row.index} lacks {', '.join(sorted(missing))}"
    return None


def _first_differing_leaf(
    stored: dict[merkle.TileKey, bytes], built: dict[merkle.TileKey, bytes]
) -> int | None:
    """The first leaf whose stored hash differs from the one rebuilt from the entries."""
    level0 = sorted({k for k in (*stored, *built) if k.level == 0}, key=lambda k: k.index)
    for key in level0:
        a, b = stored.get(key, b""), built.get(key, b"")
        if a == b:
            continue
        for offset in range(0, max(len(a), len(b)), merkle.HASH_SIZE):
            if a[offset : offset + merkle.HASH_SIZE] != b[offset : offset + merkle.HASH_SIZE]:
                return key.index * merkle.TILE_WIDTH + offset // merkle.HASH_SIZE
    return None
