"""The deployment's secret for keyed subject hashes, kept in a file outside the database.

Created on first use (mode 0600). A database administrator who can read every table still
cannot tell which person an audit entry is about without this key.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
from pathlib import Path

from safereport.errors import AuditError

SUBJECT_KEY_FILE = "subject-hmac.key"


def load_or_create_secret(path: Path, *, what: str) -> bytes:
    """A 32-byte secret kept in `path` (hex), created on first use, private to the owner.

    Raises ValueError naming `what` if the file is unreadable or damaged."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written in full to a private temporary file, then linked into place: a concurrent
        # reader sees no file or a whole key, never a half-written one; the first link wins.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
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
        key = bytes.fromhex(path.read_text("ascii").strip())
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"the {what} at {path} is unreadable: expected 64 hex digits ({exc.__class__.__name__})"
        ) from None
    if len(key) != 32:
        raise ValueError(f"the {what} at {path} is damaged: expected 32 bytes, got {len(key)}")
    return key


def load_or_create_subject_key(key_dir: Path) -> bytes:
    try:
        return load_or_create_secret(key_dir / SUBJECT_KEY_FILE, what="subject key")
    except ValueError as exc:
        raise AuditError(str(exc)) from None


def key_id(key: bytes) -> str:
    """A public fingerprint of the key, so a store can tell it is being used with another key."""
    return hashlib.sha256(b"safereport-subject-key-id\x00" + key).hexdigest()[:16]
