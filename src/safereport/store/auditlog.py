"""Persistence of the audit log: the append-only table of entries and their hashes.

The entry format and the hashing live in `safereport.audit`; this module only stores rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from safereport.store.tables import audit_log


@dataclass(frozen=True, slots=True)
class LogRow:
    index: int
    entry: str
    leaf_hash: str
    chain_hash: str


def tail(conn: Connection) -> LogRow | None:
    row = conn.execute(select(audit_log).order_by(audit_log.c.idx.desc()).limit(1)).first()
    return LogRow(row.idx, row.entry, row.leaf_hash, row.chain_hash) if row else None


def append(conn: Connection, rows: Sequence[LogRow]) -> None:
    if rows:
        conn.execute(
            audit_log.insert(),
            [
                {"idx": r.index, "entry": r.entry, "leaf_hash": r.leaf_hash, "chain_hash": r.chain_hash}
                for r in rows
            ],
        )


def size(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def scan(conn: Connection, start: int = 0, batch: int = 10_000) -> Iterator[LogRow]:
    """Every row from `start`, in index order, read in batches."""
    position = start
    while True:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.idx >= position).order_by(audit_log.c.idx).limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield LogRow(row.idx, row.entry, row.leaf_hash, row.chain_hash)
        position = rows[-1].idx + 1
