"""The oversight pages' session: a signed cookie holding an API key's id and an expiry.

`<key id>.<expiry, unix seconds>.<HMAC-SHA256 hex>`, keyed with a secret kept beside the
deployment's other keys (never in the database). The cookie carries no secret of the key
itself; every page load re-checks that the key still exists, is not revoked and still has
an oversight or admin role, so revoking the key ends its sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from safereport.apikeys import Caller, Role
from safereport.audit.keys import load_or_create_secret
from safereport.errors import ConfigError
from safereport.store import Store, tables

COOKIE = "sr_oversight"
LIFETIME = timedelta(hours=2)
SECRET_FILE = "oversight-session.key"
ROLES = frozenset({Role.OVERSIGHT, Role.ADMIN})

_VALUE = re.compile(r"^([0-9a-f]{16})\.([0-9]{1,12})\.([0-9a-f]{64})$")
_secrets: dict[Path, bytes] = {}
_secrets_lock = threading.Lock()


def session_secret(key_dir: Path) -> bytes:
    """The HMAC secret, created on first use (mode 0600) and shared by every worker."""
    path = key_dir / SECRET_FILE
    with _secrets_lock:
        known = _secrets.get(path)
        if known is not None:
            return known
        try:
            secret = load_or_create_secret(path, what="session secret")
        except ValueError as exc:
            raise ConfigError(str(exc), field="SAFEREPORT_KEY_DIR") from None
        _secrets[path] = secret
        return secret


def _signature(secret: bytes, key_id: str, expires: int) -> str:
    message = f"safereport-oversight-session-v1\x00{key_id}\x00{expires}".encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def issue(secret: bytes, key_id: str, now: datetime) -> tuple[str, int]:
    """The cookie value for `key_id`, and its lifetime in seconds."""
    expires = int((now + LIFETIME).timestamp())
    return f"{key_id}.{expires}.{_signature(secret, key_id, expires)}", int(LIFETIME.total_seconds())


def opened(secret: bytes, value: str | None, now: datetime) -> str | None:
    """The key id in a genuine, unexpired cookie value; None for anything else."""
    if not value or len(value) > 200:
        return None
    match = _VALUE.match(value)
    if match is None:
        return None
    key_id, expires_text, signature = match.groups()
    expires = int(expires_text)
    if not hmac.compare_digest(signature, _signature(secret, key_id, expires)):
        return None
    remaining = expires - now.timestamp()
    if remaining <= 0 or remaining > LIFETIME.total_seconds() + 60:
        return None
    return key_id


def caller_for(store: Store, key_id: str) -> Caller | None:
    """The caller a session stands for, if its key is still live and may see oversight pages."""
    keys = tables.api_keys
    with store.read() as conn:
        row = conn.execute(
            select(keys.c.org, keys.c.role, keys.c.revoked_at).where(keys.c.key_id == key_id)
        ).first()
    if row is None or row.revoked_at is not None:
        return None
    try:
        role = Role(row.role)
    except ValueError:
        return None
    return Caller(str(row.org), role, key_id) if role in ROLES else None
