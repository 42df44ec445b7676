"""Opening the store: engine, pragmas, migrations, and transactions that take the write lock."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from safereport.errors import StoreError
from safereport.store import migrations, tables

# The PostgreSQL advisory lock every write transaction takes first (released at its end).
WRITE_LOCK = 7341729


class Store:
    """One database: SQLite (the embedded default) or PostgreSQL.

    `read()` gives a connection for lookups; `write()` a transaction that holds the write
    lock from its first statement, so concurrent writers (several processes) queue instead of
    interleaving.
    """

    def __init__(self, engine: Engine, *, redact: tuple[str, ...] = ()) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # Never echoed in an error: the password of the URL, in every form a message could hold.
        self._redact = redact
        # The fast paths use the driver's own cursors, whose errors SQLAlchemy does not wrap.
        self._errors: tuple[type[Exception], ...] = (SQLAlchemyError, engine.dialect.loaded_dbapi.Error)

    @classmethod
    def open(cls, url: str, *, sqlite_synchronous: str = "FULL", create: bool = True) -> Store:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StoreError(
                "expected a database URL such as sqlite:///PATH or postgresql://..., got an unparsable value"
            ) from None
        backend = parsed.get_backend_name()
        secrets_in_url: tuple[str, ...] = ()
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
            if parsed.drivername not in ("postgresql", "postgresql+psycopg"):
                raise StoreError(
                    "expected a postgresql:// or postgresql+psycopg:// database URL (psycopg 3), "
                    f"got a {parsed.drivername}:// URL"
                )
            try:
                import psycopg  # noqa: F401
            except ImportError:
                raise StoreError(
                    "a postgresql:// store needs the psycopg package: pip install 'safereport[postgresql]'"
                ) from None
            # Writes run in READ COMMITTED so that, once a writer holds the write lock, its next
            # statement sees everything the writer before it committed. A writer waits for the lock
            # at most 60 s (SQLite's busy timeout), then fails.
            connect_args: dict[str, Any] = {}
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = 10
            if "options" not in parsed.query:
                connect_args["options"] = "-c lock_timeout=60000"
            engine = create_engine(
                parsed.set(drivername="postgresql+psycopg"),
                pool_pre_ping=True,
                isolation_level="READ COMMITTED",
                connect_args=connect_args,
            )
            secrets_in_url = _secret_forms(parsed.password)
        else:
            raise StoreError(f"expected a sqlite:// or postgresql:// database URL, got a {backend}:// URL")
        store = cls(engine, redact=secrets_in_url)
        store.migrate()
        return store

    def migrate(self) -> list[int]:
        with self._transaction("opened") as conn:
            applied = migrations.migrate(conn)
            if not self._meta(conn, "deployment_id"):
                self._set_meta(conn, "deployment_id", secrets.token_hex(8))
            return applied

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for lookups. Its statements see one snapshot of the store, as on SQLite
        (REPEATABLE READ on PostgreSQL), so a reader never sees half of a concurrent append."""
        try:
            with self.engine.connect() as conn:
                if self.dialect == "postgresql":
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                yield conn
        except self._errors as exc:
            raise StoreError(f"the store cannot be read: {self._reason(exc)}") from None

    def write(self) -> AbstractContextManager[Connection]:
        """A transaction holding the write lock; committed (durably) when the block ends."""
        return self._transaction("written")

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(safereport_write=True)
                with conn.begin():
                    if self.dialect == "postgresql":
                        # One writer at a time, as BEGIN IMMEDIATE on SQLite; readers are not blocked.
                        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
                    yield conn
        except self._errors as exc:
            raise StoreError(f"the store cannot be {doing}: {self._reason(exc)}") from None

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

    def _reason(self, exc: Exception) -> str:
        """The driver's first line, shortened, with the URL's password taken out."""
        original = getattr(exc, "orig", None)
        reason = str(original if original is not None else exc).splitlines()[0]
        for secret in self._redact:
            reason = reason.replace(secret, "***")
        return reason[:200]


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


def _secret_forms(password: str | None) -> tuple[str, ...]:
    if not password:
        return ()
    return tuple({password, quote(password, safe=""), quote_plus(password)})
