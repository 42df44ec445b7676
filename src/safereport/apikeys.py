"""API keys: every caller of the HTTP service is one organisation in one role.

A key is shown once, when it is created: `sr_<key id>_<secret>`. The store keeps the key id,
the organisation, the role and the SHA-256 of the secret (the secret is 32 random bytes, so a
fast hash is enough; there is nothing to brute-force). Revoking is permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select, update

from safereport.errors import BadInput, NotAuthenticated
from safereport.orgs import registry
from safereport.store import Store, tables

__all__ = ["ApiKey", "Caller", "CreatedKey", "Role", "authenticate", "create_key", "list_keys", "revoke_key"]

_PREFIX = "sr"


class Role(StrEnum):
    CONTROLLER = "controller"
    REQUESTER = "requester"
    DPO = "dpo"
    OVERSIGHT = "oversight"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: established by their key, never by anything they send."""

    org: str
    role: Role
    key_id: str


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    org: str
    role: Role
    label: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: ApiKey
    token: str  # shown once; only its hash is kept


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise BadInput(
            f"expected one of {', '.join(r.value for r in Role)}, got {value!r}", field="role"
        ) from None


def create_key(
    store: Store, org: str, role: str, *, label: str = "", clock: Callable[[], datetime] = _utcnow
) -> CreatedKey:
    registry().require(org, field="org")
    checked = _role(role)
    if len(label) > 200:
        raise BadInput(f"expected at most 200 characters, got {len(label)}", field="label")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    now = clock()
    with store.write() as conn:
        conn.execute(
            tables.api_keys.insert().values(
                key_id=key_id,
                org=org,
                role=checked.value,
                secret_sha256=_digest(secret),
                label=label,
                created_at=now,
                revoked_at=None,
            )
        )
    return CreatedKey(ApiKey(key_id, org, checked, label, now, None), f"{_PREFIX}_{key_id}_{secret}")


def list_keys(store: Store, org: str | None = None) -> list[ApiKey]:
    query = select(tables.api_keys).order_by(tables.api_keys.c.created_at, tables.api_keys.c.key_id)
    if org is not None:
        query = query.where(tables.api_keys.c.org == org)
    with store.read() as conn:
        rows = conn.execute(query).all()
    return [ApiKey(r.key_id, r.org, Role(r.role), r.label, r.created_at, r.revoked_at) for r in rows]


def revoke_key(store: Store, key_id: str, *, clock: Callable[[], datetime] = _utcnow) -> bool:
    """Revoke a key; False if it was already revoked. An unknown id is bad input."""
    with store.write() as conn:
        row = conn.execute(
            select(tables.api_keys.c.revoked_at).where(tables.api_keys.c.key_id == key_id)
        ).first()
        if row is None:
            raise BadInput("expected the id of an existing key (see `safereport keys list`)", field="key_id")
        if row.revoked_at is not None:
            return False
        conn.execute(
            update(tables.api_keys).where(tables.api_keys.c.key_id == key_id).values(revoked_at=clock())
        )
    return True


def authenticate(store: Store, token: str | None) -> Caller:
    """The caller a presented token stands for. Unknown, malformed and revoked keys all fail alike."""
    refused = NotAuthenticated("expected a valid API key in the Authorization header (Bearer sr_...)")
    if not token:
        raise refused
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX or len(parts[1]) != 16:
        raise refused
    _, key_id, secret = parts
    with store.read() as conn:
        row = conn.execute(select(tables.api_keys).where(tables.api_keys.c.key_id == key_id)).first()
    try:
        presented = _digest(secret)
    except UnicodeEncodeError:
        raise refused from None
    if row is None or row.revoked_at is not None or not hmac.compare_digest(presented, row.secret_sha256):
        raise refused
    return Caller(row.org, Role(row.role), key_id)
