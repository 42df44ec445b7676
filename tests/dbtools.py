"""Direct SQL on a store, bypassing safereport, as someone with access to the database could:
the same statement on a SQLite file or a PostgreSQL database (`?` placeholders on both)."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Callable
from contextlib import closing
from typing import Any

import psycopg

from safereport.audit import merkle
from tests.pgserver import libpq_url

# What a constraint violation raises, on either backend.
INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgresql+psycopg://"))


def sql(url: str, statement: str, *params: Any) -> list[Any]:
    """Run one statement in its own committed transaction; the rows it returns, as tuples."""
    if is_postgres(url):
        text = statement.replace("%", "%%").replace("?", "%s")
        with psycopg.connect(libpq_url(url), connect_timeout=10) as conn, conn.cursor() as cursor:
            cursor.execute(text, params)  # type: ignore[arg-type]
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn, conn:
        return conn.execute(statement, params).fetchall()


def stored_leaves(url: str) -> list[bytes]:
    return [bytes.fromhex(h) for (h,) in sql(url, "SELECT leaf_hash FROM audit_log ORDER BY idx")]


def rebuild_tiles(url: str) -> None:
    """Recompute every tile (and its interior) from the stored leaf hashes: public arithmetic,
    no key needed, which is what an attacker rewriting the log would do."""
    tiles, _ = merkle.tiles_for_append(merkle.MemoryTiles(), 0, stored_leaves(url))
    rows = [(k.level, k.index, v, merkle.inner_levels(v)) for k, v in tiles.items()]
    if is_postgres(url):
        with psycopg.connect(libpq_url(url), connect_timeout=10) as conn, conn.cursor() as cursor:
            cursor.execute("DELETE FROM log_tiles")
            cursor.executemany(
                'INSERT INTO log_tiles (level, idx, hashes, "inner") VALUES (%s, %s, %s, %s)', rows
            )
        return
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn, conn:
        conn.execute("DELETE FROM log_tiles")
        conn.executemany('INSERT INTO log_tiles (level, idx, hashes, "inner") VALUES (?, ?, ?, ?)', rows)


def run_workers(
    target: Callable[..., None], leading: tuple[Any, ...], workers: int, timeout: float
) -> dict[int, Any]:
    """Run `target(*leading, worker, barrier, queue)` in `workers` fresh processes that start
    together; each puts `(worker, result)` on the queue, a string result being its failure.
    Returns the results once every process has exited cleanly."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    queue = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*leading, w, barrier, queue)) for w in range(workers)]
    for proc in procs:
        proc.start()
    try:
        results = dict(queue.get(timeout=timeout) for _ in procs)
    finally:
        for proc in procs:
            proc.join(timeout=60)
    assert not {w: v for w, v in results.items() if isinstance(v, str)}
    assert [proc.exitcode for proc in procs] == [0] * workers
    assert sorted(results) == list(range(workers))
    return results
