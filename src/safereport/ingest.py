"""Ingest: records into the store, atomically per call, idempotent by record id, with provenance.

Records are written in batches inside one transaction; derived records (and stored records
derived from any record being replaced) have their provenance resolved at the end, so a
source may come later in the same file. Any error rolls the whole call back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from safereport.errors import IngestError, ProvenanceError
from safereport.model import Record
from safereport.orgs import registry
from safereport.provenance import Resolved, node_of, resolve, resolve_standalone
from safereport.store import Store
from safereport.store import records as stored

BATCH = 2_000


@dataclass(frozen=True, slots=True)
class IngestReport:
    records: int
    persons: int
    replaced: int
    derived: int


def ingest(store: Store, records: Iterable[tuple[int, Record]], now: datetime) -> IngestReport:
    """Store `(line, record)` pairs; all or nothing. `line` is used in error messages."""
    with store.write() as conn:
        return _Ingest(conn, now).run(records)


class _Ingest:
    def __init__(self, conn: Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now
        self.lines: dict[str, int] = {}
        self.derived: set[str] = set()
        self.replaced: set[str] = set()
        self.batch: dict[str, tuple[int, Record]] = {}
        self.person_counts: dict[str, int] = {}
        self.controllers: dict[str, str] = {}
        self.flushed: set[str] = set()

    def run(self, records: Iterable[tuple[int, Record]]) -> IngestReport:
        orgs = registry()
        for line, record in records:
            if record.controller not in orgs:
                raise IngestError(
                    "expected a known organisation id as controller", line=line, field="controller"
                )
            if record.created.tzinfo is None or record.created.utcoffset() is None:
                raise IngestError(
                    "expected a timezone-aware datetime, got a naive one", line=line, field="created"
                )
            earlier = self.controllers.setdefault(record.record_id, record.controller)
            if earlier != record.controller:
                raise IngestError(
                    "this record_id appears earlier in the same input under another controller",
                    line=line,
                    field="record_id",
                )
            # A record_id given again replaces the earlier one: the later line wins.
            self.person_counts[record.record_id] = len(record.persons)
            self.batch[record.record_id] = (line, record)
            self.lines[record.record_id] = line
            if record.derived_from:
                self.derived.add(record.record_id)
            else:
                self.derived.discard(record.record_id)
            if len(self.batch) >= BATCH:
                self._flush()
        self._flush()
        resolved = self._resolve_provenance()
        return IngestReport(len(self.lines), sum(self.person_counts.values()), len(self.replaced), resolved)

    def _flush(self) -> None:
        if not self.batch:
            return
        ids = list(self.batch)
        existing = stored.owners(self.conn, ids)
        for record_id, controller in existing.items():
            line, record = self.batch[record_id]
            if controller != record.controller:
                raise IngestError(
                    "this record_id is already held by another controller; record ids are unique across the deployment",
                    line=line,
                    field="record_id",
                )
        # A record stored by an earlier batch of this same call is not a replacement of stored data.
        self.replaced.update(rid for rid in existing if rid not in self.flushed)
        stored.delete_records(self.conn, list(existing))
        rows: list[tuple[Record, Resolved]] = []
        for _, record in self.batch.values():
            node = node_of(record)
            if node.derived_from:
                # Provisional: the roles as given; resolved once every source is in.
                node = type(node)(node.record_id, node.controller, (), node.persons)
            rows.append((record, resolve_standalone(node)))
        stored.insert_records(self.conn, rows, self.now)
        self.flushed.update(ids)
        self.batch = {}

    def _resolve_provenance(self) -> int:
        targets = set(self.derived)
        if self.replaced:
            targets |= stored.descendants(self.conn, self.replaced)
        if not targets:
            return 0
        ordered = sorted(targets)
        # Every ancestor is loaded and resolved again: protection found anywhere up the chain
        # must reach the targets, even through records that do not list the person.
        nodes = {rid: node for rid, (node, _) in stored.load_nodes(self.conn, ordered).items()}
        frontier = sorted({s for node in nodes.values() for s in node.derived_from if s not in nodes})
        while frontier:
            loaded = stored.load_nodes(self.conn, frontier)
            nodes.update((rid, node) for rid, (node, _) in loaded.items())
            frontier = sorted({s for rid in loaded for s in nodes[rid].derived_from if s not in nodes})
        try:
            resolved = resolve(ordered, nodes, {})
        except ProvenanceError as exc:
            record_id = (exc.field or "").rsplit(".derived_from", 1)[0]
            raise ProvenanceError(
                f"record {record_id!r}: {exc.message}", line=self.lines.get(record_id), field="derived_from"
            ) from None
        stored.store_resolution(self.conn, resolved.values())
        return len(resolved)
