"""Helpers shared by the audit-log tests: direct access to the SQLite file, as someone with
access to it could have, and a reference Merkle root independent of `safereport.audit.merkle`."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from safereport.audit import merkle

MPS = "metropolitan-police-service"
IE = "home-office-immigration-enforcement"
CPS = "crown-prosecution-service"
PERSONAL_FIELDS = ("name", "date_of_birth", "address", "phone", "nationality", "immigration_status")


def path_of(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def sql(url: str, statement: str, *params: Any) -> list[Any]:
    """Run one statement directly on the SQLite file."""
    with closing(sqlite3.connect(path_of(url))) as conn, conn:
        return conn.execute(statement, params).fetchall()


def stored_leaves(url: str) -> list[bytes]:
    return [bytes.fromhex(h) for (h,) in sql(url, "SELECT leaf_hash FROM audit_log ORDER BY idx")]


def mth(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 MTH over leaf hashes, naively and recursively: independent of merkle.py."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def rebuild_tiles(url: str) -> None:
    """Recompute every tile (and its interior) from the stored leaf hashes: public arithmetic,
    no key needed, which is what an attacker rewriting the log would do."""
    tiles, _ = merkle.tiles_for_append(merkle.MemoryTiles(), 0, stored_leaves(url))
    with closing(sqlite3.connect(path_of(url))) as conn, conn:
        conn.execute("DELETE FROM log_tiles")
        conn.executemany(
            "INSERT INTO log_tiles (level, idx, hashes, inner) VALUES (?, ?, ?, ?)",
            [(k.level, k.index, v, merkle.inner_levels(v)) for k, v in tiles.items()],
        )
