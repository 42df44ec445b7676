"""Versioned schema migrations. The store records its version in `meta.schema_version`.

Each step runs once, in order, inside the transaction that records its version. A released step
is never edited: a change to the tables is a new step, and each step carries a frozen copy of
the tables as they were when it was written. `test_store` checks that the steps applied to an
empty database give exactly the tables of `tables.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.engine import Connection

from safereport.store import tables
from safereport.store.tables import AwareDateTime

Step = Callable[[Connection], None]


def _v1_initial(conn: Connection) -> None:
    frozen = MetaData()
    Table(
        "records",
        frozen,
        Column("record_id", String(200), primary_key=True),
        Column("controller", String(200), nullable=False),
        Column("kind", String(100), nullable=False),
        Column("created", AwareDateTime, nullable=False),
        Column("narrative", Text, nullable=False),
        Column("narrative_capacity", String(20), nullable=False),
        Column("ingested_at", AwareDateTime, nullable=False),
        Index("ix_records_controller", "controller"),
    )
    Table(
        "persons",
        frozen,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("record_id", String(200), ForeignKey("records.record_id", ondelete="CASCADE"), nullable=False),
        Column("controller", String(200), nullable=False),
        Column("person_id", String(200), nullable=False),
        Column("role", String(20), nullable=False),
        Column("capacity", String(20), nullable=False),
        Column("name_norm", String(500), nullable=True),
        Column("date_of_birth", String(10), nullable=True),
        Column("data", Text, nullable=False),
        Index("ix_persons_controller_person", "controller", "person_id"),
        Index("ix_persons_controller_name_dob", "controller", "name_norm", "date_of_birth"),
        Index("ix_persons_record", "record_id"),
    )
    Table(
        "derivations",
        frozen,
        Column(
            "record_id", String(200), ForeignKey("records.record_id", ondelete="CASCADE"), primary_key=True
        ),
        Column("source_id", String(200), primary_key=True),
        Column("position", Integer, nullable=False),
        Index("ix_derivations_source", "source_id"),
    )
    Table(
        "consents",
        frozen,
        Column("consent_id", String(200), primary_key=True),
        Column("controller", String(200), nullable=False),
        Column("person_id", String(200), nullable=False),
        Column("recipient", String(200), nullable=False),
        Column("purpose", String(50), nullable=False),
        Column("categories", Text, nullable=False),
        Column("expires", AwareDateTime, nullable=False),
        Column("granted_at", AwareDateTime, nullable=False),
        Column("revoked_at", AwareDateTime, nullable=True),
        Index("ix_consents_controller_person", "controller", "person_id"),
    )
    Table(
        "local_policies",
        frozen,
        Column("controller", String(200), primary_key=True),
        Column("policy_id", String(200), primary_key=True),
        Column("text", Text, nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("added_at", AwareDateTime, nullable=False),
    )
    Table(
        "audit_log",
        frozen,
        Column("idx", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
        Column("entry", Text, nullable=False),
        Column("leaf_hash", String(64), nullable=False),
        Column("chain_hash", String(64), nullable=False),
    )
    frozen.create_all(conn)


def _v2_transparency_log(conn: Connection) -> None:
    """The Merkle tree (tiles), signed checkpoints and witness cosignatures; the chain retires."""
    frozen = MetaData()
    Table(
        "log_tiles",
        frozen,
        Column("level", SmallInteger, primary_key=True, autoincrement=False),
        Column("idx", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
        Column("hashes", LargeBinary, nullable=False),
        Column("inner", LargeBinary, nullable=True),
    )
    Table(
        "log_checkpoints",
        frozen,
        Column("size", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
        Column("root", String(64), nullable=False),
        Column("note", Text, nullable=False),
        Column("issued_at", AwareDateTime, nullable=False),
    )
    Table(
        "log_cosignatures",
        frozen,
        Column("size", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
        Column("witness", String(200), primary_key=True),
        Column("line", Text, nullable=False),
        Column("cosigned_at", AwareDateTime, nullable=False),
    )
    frozen.create_all(conn)
    conn.exec_driver_sql("ALTER TABLE audit_log DROP COLUMN chain_hash")
    _backfill_tiles(conn)


def _backfill_tiles(conn: Connection) -> None:
    """Build the tree over the entries a version-1 store already holds."""
    from safereport.audit import merkle
    from safereport.store import auditlog

    store_tiles = auditlog.ConnectionTiles(conn)
    size = 0
    for batch in auditlog.leaf_hash_batches(conn, 50_000):
        changed, size = merkle.tiles_for_append(store_tiles, size, batch)
        auditlog.put_tiles(conn, changed)
    if size:
        # Signing needs the key, which the store never holds: the next open signs a checkpoint.
        conn.execute(tables.meta.insert().values(key="checkpoint_due", value="1"))


def _v3_service(conn: Connection) -> None:
    """API keys for the HTTP service, and subjects' access to their own request history."""
    frozen = MetaData()
    Table(
        "api_keys",
        frozen,
        Column("key_id", String(32), primary_key=True),
        Column("org", String(200), nullable=False),
        Column("role", String(20), nullable=False),
        Column("secret_sha256", String(64), nullable=False),
        Column("label", String(200), nullable=False),
        Column("created_at", AwareDateTime, nullable=False),
        Column("revoked_at", AwareDateTime, nullable=True),
        Index("ix_api_keys_org", "org"),
    )
    Table(
        "subject_access",
        frozen,
        Column("reference", String(40), primary_key=True),
        Column("controller", String(200), nullable=False),
        Column("person_key", String(64), nullable=False),
        Column("code_sha256", String(64), nullable=False),
        Column("created_at", AwareDateTime, nullable=False),
        Column("revoked_at", AwareDateTime, nullable=True),
        Index("ix_subject_access_person", "controller", "person_key"),
    )
    frozen.create_all(conn)


MIGRATIONS: tuple[tuple[int, str, Step], ...] = (
    (1, "records, persons, derivations, consents, policies, audit log", _v1_initial),
    (2, "transparency log: tiles, checkpoints, cosignatures", _v2_transparency_log),
    (3, "service: API keys, subject access", _v3_service),
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
