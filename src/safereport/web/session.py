"""The oversight pages' session: a signed cookie holding an API key's id and an expiry.

`<key id>.<expiry, unix seconds>.<HMAC-SHA256 hex>`, keyed with a secret kept beside the
deployment's other keys (never in the database). The cookie carries no secret of the key
itself; every page load re-checks that the key still exists, is not revoked and still has
an oversight or admin role, so revoking the key ends its sessions at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from safereport.apikeys import Caller, Role
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
        if not path.exists():
            key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Written whole to a private file, then linked into place: the first link wins.
            fd, temporary = tempfile.mkstemp(dir=key_dir, prefix=".session-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="ascii") as handle:
                    handle.write(secrets.token_bytes(32).hex() + "\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                with contextlib.suppress(FileExistsError):
                    os.link(temporary, path)
            finally:
                os.unlink(temporary)
        try:
            secret = bytes.fromhex(path.read_text("ascii").strip())
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"the session secret at {path} is unreadable: expected 64 hex digits ({exc.__class__.__name__})",
                field="SAFEREPORT_KEY_DIR",
            ) from None
        if len(secret) != 32:
            raise ConfigError(
                f"the session secret at {path} is damaged: expected 32 bytes, got {len(secret)}",
                field="SAFEREPORT_KEY_DIR",
            )
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
