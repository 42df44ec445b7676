"""Versioned schema migrations. The store records its version in `meta.schema_version`.

Each step runs once, in order, inside the transaction that records its version. A step, once
released, is never edited: a change to the tables is a new step. `test_store` checks that the
steps applied to an empty database give exactly the tables of `tables.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, select

from safereport.store import tables

Step = Callable[[Connection], None]


def _v1_initial(conn: Connection) -> None:
    tables.metadata.create_all(
        conn,
        tables=[
            tables.records,
            tables.persons,
            tables.derivations,
            tables.consents,
            tables.local_policies,
            tables.audit_log,
        ],
    )


MIGRATIONS: tuple[tuple[int, str, Step], ...] = (
    (1, "records, persons, derivations, consents, policies, audit log", _v1_initial),
)
LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    tables.metadata.create_all(conn, tables=[tables.meta])
    row = conn.execute(select(tables.meta.c.value).where(tables.meta.c.key == "schema_version")).first()
    return int(row[0]) if row else 0


def migrate(conn: Connection) -> list[int]:
    """Apply every step newer than the store's version; returns the versions applied."""
    from safereport.errors import StoreError

    version = current_version(conn)
    if version > LATEST:
        raise StoreError(
            f"the store is at schema version {version}, this safereport knows versions up to {LATEST}; "
            "upgrade safereport"
        )
    applied = []
    for number, _, step in MIGRATIONS:
        if number <= version:
            continue
        step(conn)
        applied.append(number)
    if applied:
        if version == 0:
            conn.execute(tables.meta.insert().values(key="schema_version", value=str(LATEST)))
        else:
            conn.execute(
                tables.meta.update().where(tables.meta.c.key == "schema_version").values(value=str(LATEST))
            )
    return applied
