"""The store's tables, in SQLAlchemy Core, portable between SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect


class AwareDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes in, UTC-aware datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(
                "naive datetime given to the store; safereport uses timezone-aware datetimes only"
            )
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)


metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

records = Table(
    "records",
    metadata,
    Column("record_id", String(200), primary_key=True),
    Column("controller", String(200), nullable=False),
    Column("kind", String(100), nullable=False),
    Column("created", AwareDateTime, nullable=False),
    Column("narrative", Text, nullable=False),
    # The capacity the narrative is treated as collected in: the most protective of every
    # person in the record and every source it was derived from.
    Column("narrative_capacity", String(20), nullable=False),
    Column("ingested_at", AwareDateTime, nullable=False),
    Index("ix_records_controller", "controller"),
)

persons = Table(
    "persons",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(200), ForeignKey("records.record_id", ondelete="CASCADE"), nullable=False),
    Column("controller", String(200), nullable=False),
    Column("person_id", String(200), nullable=False),
    # `role` is the capacity given in this record; `capacity` is the resolved provenance.
    Column("role", String(20), nullable=False),
    Column("capacity", String(20), nullable=False),
    Column("name_norm", String(500), nullable=True),
    Column("date_of_birth", String(10), nullable=True),
    Column("data", Text, nullable=False),
    Index("ix_persons_controller_person", "controller", "person_id"),
    Index("ix_persons_controller_name_dob", "controller", "name_norm", "date_of_birth"),
    Index("ix_persons_record", "record_id"),
)

derivations = Table(
    "derivations",
    metadata,
    Column("record_id", String(200), ForeignKey("records.record_id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", String(200), primary_key=True),
    Column("position", Integer, nullable=False),
    Index("ix_derivations_source", "source_id"),
)

consents = Table(
    "consents",
    metadata,
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

local_policies = Table(
    "local_policies",
    metadata,
    Column("controller", String(200), primary_key=True),
    Column("policy_id", String(200), primary_key=True),
    Column("text", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("added_at", AwareDateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("idx", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("entry", Text, nullable=False),
    Column("leaf_hash", String(64), nullable=False),
)

# The audit log's Merkle tree as C2SP tlog-tiles: tile (level, idx) holds the hashes of tree
# level 8*level, nodes idx*256 onwards; a partial right-edge tile is rewritten as it grows.
log_tiles = Table(
    "log_tiles",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("hashes", LargeBinary, nullable=False),
    # The tile's tree levels 1..7 (merkle.inner_levels): proofs read them instead of rehashing.
    Column("inner", LargeBinary, nullable=True),
)

log_checkpoints = Table(
    "log_checkpoints",
    metadata,
    Column("size", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("root", String(64), nullable=False),
    Column("note", Text, nullable=False),
    Column("issued_at", AwareDateTime, nullable=False),
)

log_cosignatures = Table(
    "log_cosignatures",
    metadata,
    Column("size", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("witness", String(200), primary_key=True),
    Column("line", Text, nullable=False),
    Column("cosigned_at", AwareDateTime, nullable=False),
)

# The service (migration v3). An API key is stored only as the SHA-256 of its secret part.
api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("org", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("label", String(200), nullable=False),
    Column("created_at", AwareDateTime, nullable=False),
    Column("revoked_at", AwareDateTime, nullable=True),
    Index("ix_api_keys_org", "org"),
)

# A subject's access to their own request history: the reference and access code a controller
# gave them. The person appears only as the audit log's keyed person hash; the code only hashed.
subject_access = Table(
    "subject_access",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("controller", String(200), nullable=False),
    Column("person_key", String(64), nullable=False),
    Column("code_sha256", String(64), nullable=False),
    Column("created_at", AwareDateTime, nullable=False),
    Column("revoked_at", AwareDateTime, nullable=True),
    Index("ix_subject_access_person", "controller", "person_key"),
)
