"""The deployment's secret for keyed subject hashes, kept in a file outside the database.

Created on first use (mode 0600). A database administrator who can read every table still
cannot tell which person an audit entry is about without this key.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from safereport.errors import AuditError

SUBJECT_KEY_FILE = "subject-hmac.key"


def load_or_create_subject_key(key_dir: Path) -> bytes:
    path = key_dir / SUBJECT_KEY_FILE
    try:
        return bytes.fromhex(path.read_text("ascii").strip())
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        raise AuditError(
            f"the subject key at {path} is unreadable: expected 64 hex digits ({exc.__class__.__name__})"
        ) from None
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process created it first: use theirs.
        return bytes.fromhex(path.read_text("ascii").strip())
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def key_id(key: bytes) -> str:
    """A public fingerprint of the key, so a store can tell it is being used with another key."""
    return hashlib.sha256(b"safereport-subject-key-id\x00" + key).hexdigest()[:16]
