"""Persistence of consents and of controllers' local policies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from safereport.errors import ConsentError
from safereport.model import Category, Consent, Purpose
from safereport.policy.engine import LocalPolicy
from safereport.store.tables import consents, local_policies


def _consent_from(m: Mapping[str, Any]) -> Consent:
    return Consent(
        consent_id=m["consent_id"],
        controller=m["controller"],
        person_id=m["person_id"],
        recipient=m["recipient"],
        purpose=Purpose(m["purpose"]),
        categories=frozenset(Category(c) for c in json.loads(m["categories"])),
        expires=m["expires"],
        revoked_at=m["revoked_at"],
    )


def _consent(row: Row[tuple[object, ...]]) -> Consent:
    return _consent_from(dict(row._mapping))


_COLUMNS = (
    "consent_id",
    "controller",
    "person_id",
    "recipient",
    "purpose",
    "categories",
    "expires",
    "revoked_at",
)


def get_consent(conn: Connection, consent_id: str) -> Consent | None:
    """One consent by id, on the DBAPI cursor (a decision naming a consent reads it), with the
    datetime columns converted by their own result processors."""
    dialect = conn.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"SELECT {', '.join(_COLUMNS)} FROM consents WHERE consent_id = {mark}", (consent_id,))
        row = cursor.fetchone()
    finally:
        cursor.close()
    if row is None:
        return None
    values = dict(zip(_COLUMNS, row, strict=True))
    for name in ("expires", "revoked_at"):
        processor = consents.c[name].type.result_processor(dialect, None)
        if processor is not None:
            values[name] = processor(values[name])
    return _consent_from(values)


def grant(conn: Connection, consent: Consent, now: datetime) -> bool:
    """Store a consent; False if the very same consent is already stored (granting is idempotent)."""
    existing = get_consent(conn, consent.consent_id)
    if existing is not None:
        if existing.revoked_at is not None:
            raise ConsentError(
                "this consent was revoked and cannot be granted again; grant it under a new consent_id",
                field="consent_id",
            )
        if existing == consent:
            return False
        raise ConsentError(
            "a different consent already has this consent_id; revoke it and grant under a new id",
            field="consent_id",
        )
    conn.execute(
        consents.insert().values(
            consent_id=consent.consent_id,
            controller=consent.controller,
            person_id=consent.person_id,
            recipient=consent.recipient,
            purpose=consent.purpose.value,
            categories=json.dumps(sorted(c.value for c in consent.categories)),
            expires=consent.expires,
            granted_at=now,
            revoked_at=None,
        )
    )
    return True


def revoke(conn: Connection, consent_id: str, now: datetime) -> bool:
    """Revoke; False if it was already revoked. An unknown id is an error."""
    existing = get_consent(conn, consent_id)
    if existing is None:
        raise ConsentError(f"no consent has the id {consent_id!r}", field="consent_id")
    if existing.revoked_at is not None:
        return False
    conn.execute(consents.update().where(consents.c.consent_id == consent_id).values(revoked_at=now))
    return True


def list_consents(conn: Connection, controller: str | None = None) -> list[Consent]:
    query = select(consents).order_by(consents.c.consent_id)
    if controller is not None:
        query = query.where(consents.c.controller == controller)
    return [_consent(r) for r in conn.execute(query)]


def local_policies_of(conn: Connection, controller: str) -> list[LocalPolicy]:
    rows = conn.execute(
        select(local_policies.c.policy_id, local_policies.c.text)
        .where(local_policies.c.controller == controller)
        .order_by(local_policies.c.policy_id)
    )
    return [LocalPolicy(controller, r.policy_id, r.text) for r in rows]


def controllers_with_local_policies(conn: Connection) -> list[str]:
    rows = conn.execute(select(local_policies.c.controller).distinct().order_by(local_policies.c.controller))
    return [r[0] for r in rows]


def put_local_policy(conn: Connection, policy: LocalPolicy, now: datetime) -> None:
    conn.execute(
        local_policies.delete().where(
            local_policies.c.controller == policy.controller, local_policies.c.policy_id == policy.policy_id
        )
    )
    conn.execute(
        local_policies.insert().values(
            controller=policy.controller,
            policy_id=policy.policy_id,
            text=policy.text,
            sha256=policy.sha256,
            added_at=now,
        )
    )


def remove_local_policy(conn: Connection, controller: str, policy_id: str) -> bool:
    result = conn.execute(
        local_policies.delete().where(
            local_policies.c.controller == controller, local_policies.c.policy_id == policy_id
        )
    )
    return bool(result.rowcount)
