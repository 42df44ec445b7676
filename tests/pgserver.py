"""A real PostgreSQL server for the tests: started with `scripts/postgres-test-server` on a free
port (or taken from SAFEREPORT_TEST_POSTGRES_URL), and a fresh database per test."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "postgres-test-server"


class ServerUnavailable(Exception):
    """The test server could not be started or reached; the message says why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def libpq_url(url: str) -> str:
    """The URL as libpq takes it: `postgresql+psycopg://` becomes `postgresql://`."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _script(*args: str) -> str:
    try:
        done = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServerUnavailable(f"{SCRIPT.name} {args[0]} could not run: {exc}") from None
    if done.returncode != 0:
        raise ServerUnavailable(f"{SCRIPT.name} {args[0]} failed: {done.stderr.strip() or done.returncode}")
    return done.stdout.strip()


@dataclass
class PostgresServer:
    """One server; `directory` is None when it is not ours to stop (given by URL)."""

    url: str
    directory: Path | None = None
    port: int | None = None

    @classmethod
    def start_new(cls, attempts: int = 3) -> PostgresServer:
        """A throwaway server in a new folder under the system temporary folder (reachable by the
        `postgres` user, unlike pytest's private tmp folders) on a free port."""
        directory = Path(tempfile.mkdtemp(prefix="srpg-"))
        last: ServerUnavailable | None = None
        for _ in range(attempts):
            port = free_port()
            try:
                url = _script("start", str(directory), str(port))
            except ServerUnavailable as exc:  # the port may have been taken meanwhile
                last = exc
                continue
            return cls(url, directory, port)
        shutil.rmtree(directory, ignore_errors=True)
        assert last is not None
        raise last

    def stop(self) -> None:
        if self.directory is None:
            raise ServerUnavailable(
                "this server was given by SAFEREPORT_TEST_POSTGRES_URL; it is not ours to stop"
            )
        _script("stop", str(self.directory))

    def start(self) -> None:
        """Start again after `stop`, on the same port, with the same data."""
        if self.directory is None or self.port is None:
            raise ServerUnavailable(
                "this server was given by SAFEREPORT_TEST_POSTGRES_URL; it is not ours to start"
            )
        _script("start", str(self.directory), str(self.port))

    def destroy(self) -> None:
        if self.directory is not None:
            try:
                self.stop()
            finally:
                shutil.rmtree(self.directory, ignore_errors=True)

    def check(self) -> None:
        try:
            with psycopg.connect(libpq_url(self.url), connect_timeout=10) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise ServerUnavailable(f"the PostgreSQL server does not answer: {exc}") from None

    def create_database(self) -> str:
        """A new, empty database; returns its `postgresql+psycopg://` URL."""
        name = f"sr_test_{secrets.token_hex(6)}"
        with psycopg.connect(libpq_url(self.url), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        parsed = make_url(self.url).set(drivername="postgresql+psycopg", database=name)
        return parsed.render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        """Drop a database made by `create_database`, ending any session still connected to it."""
        name = make_url(url).database
        assert name and name.startswith("sr_test_"), name
        with psycopg.connect(libpq_url(self.url), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def server_or_fail(given_url: str | None = None) -> PostgresServer:
    """The server at `given_url`, else a new throwaway one. One that cannot be started or reached
    fails the test with the reason, unless SAFEREPORT_TEST_POSTGRES=skip."""
    server: PostgresServer | None = None
    try:
        server = PostgresServer(given_url) if given_url else PostgresServer.start_new()
        server.check()
    except ServerUnavailable as exc:
        if server is not None:
            server.destroy()
        if os.environ.get("SAFEREPORT_TEST_POSTGRES") == "skip":
            pytest.skip(f"PostgreSQL tests skipped (SAFEREPORT_TEST_POSTGRES=skip): {exc}")
        pytest.fail(f"no PostgreSQL server for the tests: {exc} (set SAFEREPORT_TEST_POSTGRES=skip to skip)")
    return server
