"""Persistence of the audit log: entries, the Merkle tree's tiles, checkpoints, cosignatures.

The entry format, the tree arithmetic and the signatures live in `safereport.audit`; this module
only stores and reads rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, delete, func, select

from safereport.store.tables import audit_log, log_checkpoints, log_cosignatures, log_tiles

if TYPE_CHECKING:
    from safereport.audit.merkle import TileKey


@dataclass(frozen=True, slots=True)
class LogRow:
    index: int
    entry: str
    leaf_hash: str


def size(conn: Connection) -> int:
    """Entries in the log: one more than the last index (gaps are for `verify` to find)."""
    last = conn.execute(select(func.max(audit_log.c.idx))).scalar_one()
    return 0 if last is None else int(last) + 1


def append_entries(
    conn: Connection, first_index: int, entries: Sequence[str], leaf_hashes: Sequence[str]
) -> None:
    """Insert entries at first_index, first_index + 1, ...: the append path, on the DBAPI cursor."""
    if not entries:
        return
    paramstyle = conn.dialect.paramstyle
    if paramstyle == "qmark":
        sql = "INSERT INTO audit_log (idx, entry, leaf_hash) VALUES (?, ?, ?)"
    else:
        sql = "INSERT INTO audit_log (idx, entry, leaf_hash) VALUES (%s, %s, %s)"
    params = list(zip(range(first_index, first_index + len(entries)), entries, leaf_hashes, strict=True))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, params)
    finally:
        cursor.close()


def scan(conn: Connection, start: int = 0, batch: int = 10_000) -> Iterator[LogRow]:
    """Every row from `start`, in index order, read in batches on the DBAPI cursor."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"SELECT idx, entry, leaf_hash FROM audit_log WHERE idx >= {mark} ORDER BY idx LIMIT {int(batch)}"
    position = start
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        while True:
            cursor.execute(sql, (position,))
            fetched = cursor.fetchall()
            if not fetched:
                return
            for index, entry, leaf in fetched:
                yield LogRow(int(index), entry, leaf)
            position = int(fetched[-1][0]) + 1
    finally:
        cursor.close()


def entry_at(conn: Connection, index: int) -> LogRow | None:
    row = conn.execute(select(audit_log).where(audit_log.c.idx == index)).first()
    return LogRow(row.idx, row.entry, row.leaf_hash) if row else None


def leaf_hash_batches(conn: Connection, batch: int) -> Iterator[list[bytes]]:
    """The stored leaf hashes, in index order, as bytes, `batch` at a time."""
    position = 0
    while True:
        rows = conn.execute(
            select(audit_log.c.idx, audit_log.c.leaf_hash)
            .where(audit_log.c.idx >= position)
            .order_by(audit_log.c.idx)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield [bytes.fromhex(r.leaf_hash) for r in rows]
        position = rows[-1].idx + 1


class ConnectionTiles:
    """The tree's tiles as stored, read inside the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._inner: dict[TileKey, bytes] = {}

    def read_tiles(self, keys: Sequence[TileKey]) -> Mapping[TileKey, bytes]:
        """One query per 100 tiles, on the DBAPI cursor: a proof reads a handful of tiles and
        must cost well under a millisecond."""
        from safereport.audit.merkle import TileKey

        wanted = list(dict.fromkeys(keys))
        found: dict[TileKey, bytes] = {}
        positional = self.conn.dialect.paramstyle in ("qmark", "format", "numeric")
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for start in range(0, len(wanted), 100):
                chunk = wanted[start : start + 100]
                if positional:
                    mark = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
                    where = " OR ".join(f"(level = {mark} AND idx = {mark})" for _ in chunk)
                    params: Any = tuple(v for k in chunk for v in (k.level, k.index))
                else:
                    where = " OR ".join(f"(level = %(l{i})s AND idx = %(i{i})s)" for i in range(len(chunk)))
                    params = {
                        name: value
                        for i, k in enumerate(chunk)
                        for name, value in ((f"l{i}", k.level), (f"i{i}", k.index))
                    }
                cursor.execute(f'SELECT level, idx, hashes, "inner" FROM log_tiles WHERE {where}', params)
                for level, idx, hashes, inner in cursor.fetchall():
                    key = TileKey(int(level), int(idx))
                    found[key] = bytes(hashes)
                    if inner is not None:
                        self._inner[key] = bytes(inner)
        finally:
            cursor.close()
        return found

    def read_inner(self, keys: Sequence[TileKey]) -> Mapping[TileKey, bytes]:
        """The stored interiors of full tiles, as read alongside them by `read_tiles`."""
        missing = [k for k in keys if k not in self._inner]
        if missing:
            self.read_tiles(missing)
        return {k: self._inner[k] for k in keys if k in self._inner}


def put_tiles(conn: Connection, tiles: Mapping[TileKey, bytes]) -> None:
    """Write tiles, replacing a partial tile that has grown."""
    if not tiles:
        return
    keys = [{"level": k.level, "idx": k.index} for k in tiles]
    conn.execute(
        delete(log_tiles).where(log_tiles.c.level == bindparam("level"), log_tiles.c.idx == bindparam("idx")),
        keys,
    )
    from safereport.audit.merkle import inner_levels

    conn.execute(
        log_tiles.insert(),
        [
            {
                "level": k.level,
                "idx": k.index,
                "hashes": v,
                "inner": inner_levels(v),
            }
            for k, v in tiles.items()
        ],
    )


def all_tiles(conn: Connection) -> Iterator[tuple[int, int, bytes, bytes | None]]:
    query = select(log_tiles.c.level, log_tiles.c.idx, log_tiles.c.hashes, log_tiles.c.inner)
    for level, idx, hashes, inner in conn.execute(query.order_by(log_tiles.c.level, log_tiles.c.idx)):
        yield int(level), int(idx), bytes(hashes), (bytes(inner) if inner is not None else None)


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    root: str
    note: str
    issued_at: datetime


def latest_checkpoint(conn: Connection) -> StoredCheckpoint | None:
    row = conn.execute(select(log_checkpoints).order_by(log_checkpoints.c.size.desc()).limit(1)).first()
    return StoredCheckpoint(row.size, row.root, row.note, row.issued_at) if row else None


def checkpoints(conn: Connection) -> list[StoredCheckpoint]:
    rows = conn.execute(select(log_checkpoints).order_by(log_checkpoints.c.size))
    return [StoredCheckpoint(r.size, r.root, r.note, r.issued_at) for r in rows]


def checkpoint_at(conn: Connection, tree_size: int) -> StoredCheckpoint | None:
    row = conn.execute(select(log_checkpoints).where(log_checkpoints.c.size == tree_size)).first()
    return StoredCheckpoint(row.size, row.root, row.note, row.issued_at) if row else None


def put_checkpoint(conn: Connection, checkpoint: StoredCheckpoint) -> None:
    if checkpoint_at(conn, checkpoint.size) is None:
        conn.execute(
            log_checkpoints.insert().values(
                size=checkpoint.size,
                root=checkpoint.root,
                note=checkpoint.note,
                issued_at=checkpoint.issued_at,
            )
        )


def put_cosignature(conn: Connection, tree_size: int, witness: str, line: str, at: datetime) -> None:
    conn.execute(
        delete(log_cosignatures).where(
            log_cosignatures.c.size == tree_size, log_cosignatures.c.witness == witness
        )
    )
    conn.execute(log_cosignatures.insert().values(size=tree_size, witness=witness, line=line, cosigned_at=at))


def cosignatures(conn: Connection, tree_size: int | None = None) -> list[tuple[int, str, str]]:
    query = select(log_cosignatures.c.size, log_cosignatures.c.witness, log_cosignatures.c.line)
    if tree_size is not None:
        query = query.where(log_cosignatures.c.size == tree_size)
    return [(int(r.size), r.witness, r.line) for r in conn.execute(query.order_by(log_cosignatures.c.size))]
