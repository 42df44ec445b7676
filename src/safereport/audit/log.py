"""The audit log: entries appended durably, each leaf hashed as in RFC 9162 and chained.

leaf_hash = SHA-256(0x00 || entry), the RFC 9162 leaf hash, so that receipts stay valid when
the chain becomes a Merkle tree. chain_hash(i) = SHA-256(chain_hash(i-1) || leaf_hash(i)),
starting from a hash of the log's id. Anyone holding the head can check every entry before it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from safereport.audit.entry import REQUIRED_FIELDS
from safereport.model import Receipt
from safereport.store import Store
from safereport.store import auditlog as rows

LEAF_PREFIX = b"\x00"


def leaf_hash(entry: bytes) -> str:
    return hashlib.sha256(LEAF_PREFIX + entry).hexdigest()


def genesis(log_id: str) -> str:
    return hashlib.sha256(b"safereport-audit-chain-v1\x00" + log_id.encode("utf-8")).hexdigest()


def chain_hash(previous: str, leaf: str) -> str:
    return hashlib.sha256(bytes.fromhex(previous) + bytes.fromhex(leaf)).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditReport:
    ok: bool
    entries: int
    head: str
    detail: str
    first_bad_index: int | None = None


class AuditLog:
    def __init__(self, store: Store, log_id: str) -> None:
        self.store = store
        self.log_id = log_id

    def append(self, entries: Sequence[bytes]) -> list[Receipt]:
        """Append in one transaction; returns once the entries are durable (committed)."""
        with self.store.write() as conn:
            return self.append_in(conn, entries)

    def append_in(self, conn: object, entries: Sequence[bytes]) -> list[Receipt]:
        from sqlalchemy import Connection

        assert isinstance(conn, Connection)
        last = rows.tail(conn)
        index = 0 if last is None else last.index + 1
        previous = genesis(self.log_id) if last is None else last.chain_hash
        new_rows: list[rows.LogRow] = []
        receipts: list[Receipt] = []
        for entry in entries:
            leaf = leaf_hash(entry)
            previous = chain_hash(previous, leaf)
            new_rows.append(rows.LogRow(index, entry.decode("utf-8"), leaf, previous))
            receipts.append(Receipt(self.log_id, index, leaf))
            index += 1
        rows.append(conn, new_rows)
        return receipts

    def verify(self) -> AuditReport:
        """Re-check every entry from the first: index sequence, leaf hashes, chain, format."""
        previous = genesis(self.log_id)
        expected = 0
        with self.store.read() as conn:
            for row in rows.scan(conn):
                problem = None
                if row.index != expected:
                    problem = f"expected entry {expected}, found entry {row.index}: entries are missing"
                elif leaf_hash(row.entry.encode("utf-8")) != row.leaf_hash:
                    problem = f"entry {row.index} does not match its leaf hash: it was changed"
                elif chain_hash(previous, row.leaf_hash) != row.chain_hash:
                    problem = f"entry {row.index} breaks the chain: an entry before it was changed, removed or reordered"
                else:
                    try:
                        document = json.loads(row.entry)
                        missing = set(REQUIRED_FIELDS - set(document))
                    except (json.JSONDecodeError, TypeError):
                        missing = {"(not JSON)"}
                    if missing:
                        problem = f"entry {row.index} lacks {', '.join(sorted(missing))}"
                if problem:
                    return AuditReport(False, expected, previous, problem, first_bad_index=expected)
                previous = row.chain_hash
                expected += 1
        return AuditReport(
            True, expected, previous, f"{expected} entries verified; head chain hash {previous}"
        )
