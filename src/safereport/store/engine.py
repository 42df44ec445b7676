"""Opening the store: engine, pragmas, migrations, and transactions that take the write lock."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from safereport.errors import StoreError
from safereport.store import migrations, tables


class Store:
    """One database: SQLite (the embedded default) or PostgreSQL.

    `read()` gives a connection for lookups; `write()` a transaction that holds the write
    lock from its first statement, so concurrent writers (several processes) queue instead of
    interleaving.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @classmethod
    def open(cls, url: str, *, sqlite_synchronous: str = "FULL", create: bool = True) -> Store:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StoreError(
                "expected a database URL such as sqlite:///PATH or postgresql://..., got an unparsable value"
            ) from None
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                path = Path(database)
                if not path.exists() and not create:
                    raise StoreError(f"no store at {path}")
                path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, future=True)
            _configure_sqlite(engine, sqlite_synchronous)
        elif backend == "postgresql":
            try:
                import psycopg  # noqa: F401
            except ImportError:
                raise StoreError(
                    "a postgresql:// store needs the psycopg package: pip install 'safereport[postgresql]'"
                ) from None
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            engine = create_engine(parsed, future=True, pool_pre_ping=True)
        else:
            raise StoreError(f"expected a sqlite:// or postgresql:// database URL, got a {backend}:// URL")
        store = cls(engine)
        store.migrate()
        return store

    def migrate(self) -> list[int]:
        try:
            with self.write() as conn:
                applied = migrations.migrate(conn)
                if not self._meta(conn, "deployment_id"):
                    self._set_meta(conn, "deployment_id", secrets.token_hex(8))
                return applied
        except SQLAlchemyError as exc:
            raise StoreError(f"the store cannot be opened: {_reason(exc)}") from None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"the store cannot be read: {_reason(exc)}") from None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction holding the write lock; committed (durably) when the block ends."""
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(safereport_write=True)
                with conn.begin():
                    if self.dialect == "postgresql":
                        # One writer at a time for the audit log's tail; readers are not blocked.
                        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7341729)")
                    yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"the store cannot be written: {_reason(exc)}") from None

    def meta(self, key: str) -> str | None:
        with self.read() as conn:
            return self._meta(conn, key)

    @staticmethod
    def _meta(conn: Connection, key: str) -> str | None:
        row = conn.execute(select(tables.meta.c.value).where(tables.meta.c.key == key)).first()
        return str(row[0]) if row else None

    @staticmethod
    def _set_meta(conn: Connection, key: str, value: str) -> None:
        if Store._meta(conn, key) is None:
            conn.execute(tables.meta.insert().values(key=key, value=value))
        else:
            conn.execute(tables.meta.update().where(tables.meta.c.key == key).values(value=value))

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as conn:
            self._set_meta(conn, key, value)

    def ensure_meta(self, key: str, value: str) -> str:
        """Set `key` to `value` unless it is already set; returns the stored value."""
        with self.write() as conn:
            existing = self._meta(conn, key)
            if existing is not None:
                return existing
            self._set_meta(conn, key, value)
            return value

    def close(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's `begin` event issue BEGIN itself, so a write can take the lock first.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("safereport_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    return str(original if original is not None else exc).splitlines()[0][:200]
