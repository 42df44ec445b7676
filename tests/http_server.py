"""A real `safereport serve` for tests: a subprocess on 127.0.0.1 and a free port.

    server = start_server(db_url, home)              # waits until /healthz answers
    key = make_key(db_url, "metropolitan-police-service", "controller")
    httpx.get(server.base_url + "/v1/consents", headers=auth(key))
    server.stop()                                     # or server.kill() for a SIGKILL

Used by the HTTP tests and by the browser tests.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from safereport import apikeys
from safereport.store import Store

SERVE = [sys.executable, "-m", "safereport.cli", "serve"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(repr=False)

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to the server and its workers; SIGKILL if they do not stop in time."""
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(timeout)
        self._signal(signal.SIGKILL)  # any worker left behind

    def kill(self) -> None:
        """SIGKILL to the server and every worker at once: no shutdown code runs."""
        self._signal(signal.SIGKILL)
        self.process.wait(20)

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_server(
    db_url: str,
    home: Path,
    env: dict[str, str] | None = None,
    *,
    workers: int = 1,
    timeout: float = 60.0,
) -> RunningServer:
    """Start `safereport serve` on the store `db_url` with data directory `home`; returns once
    /healthz answers. `env` adds or overrides variables (SAFEREPORT_RATE_LIMIT=..., say)."""
    home.mkdir(parents=True, exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SAFEREPORT_")}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    environment.update(SAFEREPORT_DB=db_url, SAFEREPORT_HOME=str(home))
    environment.update(env or {})
    last = ""
    for _attempt in range(3):
        port = free_port()
        log_path = home / f"serve-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*SERVE, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,
            )
        server = RunningServer(f"http://127.0.0.1:{port}", process, log_path, environment)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(server.base_url + "/healthz", timeout=2).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        last = server.log()
        server.stop()
        if "address already in use" not in last.lower():
            break
    raise RuntimeError(f"safereport serve did not start: {last[-2000:]}")


def make_key(db_url: str, org: str, role: str, *, label: str = "test") -> str:
    """A new API key for `org` in `role`, made directly on the store; returns the token."""
    store = Store.open(db_url)
    try:
        return apikeys.create_key(store, org, role, label=label).token
    finally:
        store.close()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------------- a seeded deployment

TEST_ENV = {
    "SAFEREPORT_RATE_LIMIT": "0",
    "SAFEREPORT_SUBJECT_RATE_LIMIT": "0",
    "SAFEREPORT_KEY_CACHE_SECONDS": "0",
}


@dataclass
class Deployment:
    """A running server, its store, and API keys made on demand ("org/role" -> token)."""

    server: RunningServer
    db_url: str
    home: Path
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def key(self, org: str, role: str) -> str:
        name = f"{org}/{role}"
        if name not in self.keys:
            self.keys[name] = make_key(self.db_url, org, role)
        return self.keys[name]

    def client(self, org: str | None = None, role: str | None = None) -> httpx.Client:
        """An httpx client on the server, sending `org`'s `role` key when both are given."""
        headers = auth(self.key(org, role)) if org and role else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def seed(self, records: list[dict[str, object]], consents: list[dict[str, object]]) -> None:
        """Ingest each controller's records and grant its consents, over HTTP with its own key."""
        controllers = sorted({str(r["controller"]) for r in records})
        for controller in controllers:
            mine = [r for r in records if r["controller"] == controller]
            with self.client(controller, "controller") as client:
                response = client.post("/v1/records", json=mine)
                assert response.status_code == 200, response.text
        for consent in consents:
            with self.client(str(consent["controller"]), "controller") as client:
                response = client.post("/v1/consents", json=consent)
                assert response.status_code == 200, response.text

    def stop(self) -> None:
        self.server.stop()


def deploy(
    folder: Path, env: dict[str, str] | None = None, *, db_url: str | None = None, workers: int = 1
) -> Deployment:
    """A new store in `folder` (or `db_url`) and a server on it, with TEST_ENV unless overridden."""
    folder.mkdir(parents=True, exist_ok=True)
    url = db_url or f"sqlite:///{folder / 'store.db'}"
    server = start_server(url, folder / "home", {**TEST_ENV, **(env or {})}, workers=workers)
    return Deployment(server, url, folder / "home")
