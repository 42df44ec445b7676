"""Persistence of records, their persons and derivations, and the lookups decide needs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Table, and_, bindparam, delete, func, select, update

from safereport.model import Capacity, Record
from safereport.provenance import PersonNode, RecordNode, Resolved
from safereport.store.tables import derivations, persons, records

CHUNK = 500  # ids per IN (...) list: under every backend's parameter limit


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def owners(conn: Connection, record_ids: Sequence[str]) -> dict[str, str]:
    """record_id -> controller, for those of `record_ids` already stored."""
    found: dict[str, str] = {}
    for chunk in _chunks(record_ids):
        rows = conn.execute(
            select(records.c.record_id, records.c.controller).where(records.c.record_id.in_(chunk))
        )
        found.update({r.record_id: r.controller for r in rows})
    return found


def delete_records(conn: Connection, record_ids: Sequence[str]) -> None:
    for chunk in _chunks(record_ids):
        conn.execute(delete(persons).where(persons.c.record_id.in_(chunk)))
        conn.execute(delete(derivations).where(derivations.c.record_id.in_(chunk)))
        conn.execute(delete(records).where(records.c.record_id.in_(chunk)))


def insert_records(conn: Connection, batch: Sequence[tuple[Record, Resolved]], now: datetime) -> None:
    record_rows: list[dict[str, Any]] = []
    person_rows: list[dict[str, Any]] = []
    derivation_rows: list[dict[str, Any]] = []
    for record, resolved in batch:
        record_rows.append(
            {
                "record_id": record.record_id,
                "controller": record.controller,
                "kind": record.kind,
                "created": record.created,
                "narrative": record.narrative,
                "narrative_capacity": resolved.narrative_capacity.value,
                "ingested_at": now,
            }
        )
        for person, node, capacity in zip(record.persons, resolved.persons, resolved.capacities, strict=True):
            person_rows.append(
                {
                    "record_id": record.record_id,
                    "controller": record.controller,
                    "person_id": person.person_id,
                    "role": person.role.value,
                    "capacity": capacity.value,
                    "name_norm": node.name_norm,
                    "date_of_birth": node.date_of_birth,
                    "data": json.dumps(dict(person.data), ensure_ascii=False, separators=(",", ":")),
                }
            )
        for position, source in enumerate(record.derived_from):
            derivation_rows.append({"record_id": record.record_id, "source_id": source, "position": position})
    bulk_insert(conn, records, record_rows)
    bulk_insert(conn, persons, person_rows)
    bulk_insert(conn, derivations, derivation_rows)


_INSERTS: dict[tuple[str, str, tuple[str, ...]], tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows through the DBAPI cursor of this connection's transaction.

    The statement is compiled once per dialect and the columns' own bind processors are applied,
    so values are stored exactly as SQLAlchemy would store them, at a fraction of the cost.
    """
    if not rows:
        return
    columns = tuple(rows[0])
    key = (conn.dialect.name, table.name, columns)
    prepared = _INSERTS.get(key)
    if prepared is None:
        # for_executemany: no RETURNING of generated keys (PostgreSQL would add one for `persons.id`).
        compiled = table.insert().compile(
            dialect=conn.dialect, column_keys=list(columns), for_executemany=True
        )
        order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        processors = {
            name: processor
            for name in columns
            if (processor := table.c[name].type.bind_processor(conn.dialect)) is not None
        }
        prepared = _INSERTS[key] = (str(compiled), order, processors)
    sql, order, processors = prepared
    if processors:
        rows = [{k: (processors[k](v) if k in processors else v) for k, v in row.items()} for row in rows]
    params: list[Any] = [tuple(row[name] for name in order) for row in rows] if order else list(rows)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, params)
    finally:
        cursor.close()


def descendants(conn: Connection, record_ids: Iterable[str]) -> set[str]:
    """Every stored record derived, directly or through others, from any of `record_ids`."""
    found: set[str] = set()
    frontier = list(dict.fromkeys(record_ids))
    while frontier:
        next_frontier: list[str] = []
        for chunk in _chunks(frontier):
            rows = conn.execute(select(derivations.c.record_id).where(derivations.c.source_id.in_(chunk)))
            for (child,) in rows:
                if child not in found:
                    found.add(child)
                    next_frontier.append(child)
        frontier = next_frontier
    return found


def load_nodes(conn: Connection, record_ids: Sequence[str]) -> dict[str, tuple[RecordNode, Resolved]]:
    """The provenance node of each stored record, with its currently stored capacities."""
    out: dict[str, tuple[RecordNode, Resolved]] = {}
    for chunk in _chunks(record_ids):
        heads = {
            r.record_id: r
            for r in conn.execute(
                select(records.c.record_id, records.c.controller, records.c.narrative_capacity).where(
                    records.c.record_id.in_(chunk)
                )
            )
        }
        sources: dict[str, list[str]] = {rid: [] for rid in heads}
        for link in conn.execute(
            select(derivations.c.record_id, derivations.c.source_id)
            .where(derivations.c.record_id.in_(chunk))
            .order_by(derivations.c.record_id, derivations.c.position)
        ):
            sources[link.record_id].append(link.source_id)
        people: dict[str, list[Any]] = {rid: [] for rid in heads}
        for row in conn.execute(
            select(
                persons.c.record_id,
                persons.c.person_id,
                persons.c.role,
                persons.c.capacity,
                persons.c.name_norm,
                persons.c.date_of_birth,
            )
            .where(persons.c.record_id.in_(chunk))
            .order_by(persons.c.id)
        ):
            people[row.record_id].append(row)
        for rid, head in heads.items():
            nodes = tuple(
                PersonNode(p.person_id, Capacity(p.role), p.name_norm, p.date_of_birth) for p in people[rid]
            )
            node = RecordNode(rid, head.controller, tuple(sources[rid]), nodes)
            resolved = Resolved(
                rid,
                head.controller,
                nodes,
                tuple(Capacity(p.capacity) for p in people[rid]),
                Capacity(head.narrative_capacity),
            )
            out[rid] = (node, resolved)
    return out


def store_resolution(conn: Connection, resolved: Iterable[Resolved]) -> None:
    """Write resolved capacities back (persons matched by record and person id)."""
    person_updates: list[dict[str, Any]] = []
    record_updates: list[dict[str, Any]] = []
    for item in resolved:
        record_updates.append({"rid": item.record_id, "cap": item.narrative_capacity.value})
        for node, capacity in zip(item.persons, item.capacities, strict=True):
            person_updates.append({"rid": item.record_id, "pid": node.person_id, "cap": capacity.value})
    if record_updates:
        conn.execute(
            update(records)
            .where(records.c.record_id == bindparam("rid"))
            .values(narrative_capacity=bindparam("cap")),
            record_updates,
        )
    if person_updates:
        conn.execute(
            update(persons)
            .where(and_(persons.c.record_id == bindparam("rid"), persons.c.person_id == bindparam("pid")))
            .values(capacity=bindparam("cap")),
            person_updates,
        )


@dataclass(frozen=True, slots=True)
class SubjectRow:
    """One appearance of the subject in one record, with what decide needs of it."""

    record_id: str
    person_id: str
    capacity: Capacity
    data: dict[str, str]
    narrative: str
    narrative_capacity: Capacity


def _subject_query(by_id: bool, scoped: bool) -> Select[Any]:
    query = (
        select(
            persons.c.record_id,
            persons.c.person_id,
            persons.c.capacity,
            persons.c.data,
            records.c.narrative,
            records.c.narrative_capacity,
        )
        .join(records, records.c.record_id == persons.c.record_id)
        .where(persons.c.controller == bindparam("controller"))
    )
    if by_id:
        query = query.where(persons.c.person_id == bindparam("person_id"))
    else:
        query = query.where(
            persons.c.name_norm == bindparam("name_norm"), persons.c.date_of_birth == bindparam("dob")
        )
    if scoped:
        query = query.where(persons.c.record_id == bindparam("record_id"))
    return query.order_by(persons.c.record_id, persons.c.person_id)


# Built once: constructing a statement costs more than running it on an indexed lookup.
_SUBJECT_QUERIES = {
    (by_id, scoped): _subject_query(by_id, scoped) for by_id in (True, False) for scoped in (True, False)
}
_COMPILED: dict[tuple[str, bool, bool], tuple[str, tuple[str, ...] | None]] = {}


def _compiled(dialect: Any, by_id: bool, scoped: bool) -> tuple[str, tuple[str, ...] | None]:
    """The lookup as the driver's own SQL, with its parameter order when positional."""
    key = (dialect.name, by_id, scoped)
    found = _COMPILED.get(key)
    if found is None:
        compiled = _SUBJECT_QUERIES[(by_id, scoped)].compile(dialect=dialect)
        order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        found = _COMPILED[key] = (str(compiled), order)
    return found


def find_subject(
    conn: Connection,
    controller: str,
    *,
    person_id: str | None = None,
    name_norm: str | None = None,
    date_of_birth: str | None = None,
    record_id: str | None = None,
) -> list[SubjectRow]:
    """Every appearance of the subject in the controller's records (optionally in one record)."""
    by_id = person_id is not None
    params: dict[str, Any] = {"controller": controller}
    if by_id:
        params["person_id"] = person_id
    else:
        params["name_norm"] = name_norm
        params["dob"] = date_of_birth
    if record_id is not None:
        params["record_id"] = record_id
    # The hottest query of a decision: the driver's own SQL on a DBAPI cursor of this same
    # connection (and transaction), skipping per-call compilation and result processing.
    sql, order = _compiled(conn.dialect, by_id, record_id is not None)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params[name] for name in order) if order else params)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return [
        SubjectRow(rid, pid, Capacity(capacity), json.loads(data), narrative, Capacity(narrative_capacity))
        for rid, pid, capacity, data, narrative, narrative_capacity in rows
    ]


def count(conn: Connection) -> tuple[int, int]:
    """(records, person appearances) in the store."""
    n_records = conn.execute(select(func.count()).select_from(records)).scalar_one()
    n_persons = conn.execute(select(func.count()).select_from(persons)).scalar_one()
    return int(n_records), int(n_persons)
