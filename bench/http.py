"""Benchmark of the HTTP service (issue 5): decisions per second and latency over loopback.

Starts `safereport serve --workers 2` on 127.0.0.1 against a fresh SQLite store (and a
PostgreSQL one with --postgres URL, or a throwaway server from scripts/postgres-test-server
with --postgres auto), ingests the demo's synthetic records, makes an API key for every
requester and controller, then drives POST /v1/decisions at fixed concurrency from raw asyncio
HTTP/1.1 keep-alive connections (pre-encoded requests, one connection per concurrent caller),
each request sent with the key of the organisation it speaks for. Every decision is durable in
the audit log before its response; after the run the log is verified and must hold one entry
per answered request. The peer, in the same run and on the same store: the same requests decided
in-process with `Firewall.decide_many` (no HTTP). The load generator shares the machine's cores
with the server. Target: at least 1,500 decisions/s with p99 under 50 ms.

Usage: python bench/http.py [--seconds 5] [--concurrency 32 64] [--records 3000]
                            [--workers 2] [--postgres URL|auto]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from itertools import count
from pathlib import Path

from safereport import Firewall, apikeys, parse_request
from safereport.audit.entry import request_document
from safereport.demo.generate import generate_workload
from safereport.model import Direction
from safereport.redact import minimise

ROOT = Path(__file__).resolve().parents[1]
PG_SCRIPT = ROOT / "scripts" / "postgres-test-server"


@dataclass(frozen=True, slots=True)
class Run:
    backend: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float
    client_cpu_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def encode(path: str, host: str, token: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def acting(document: dict[str, object]) -> str:
    """The key a request is sent with: its requester's (inbound) or its controller's (outbound)."""
    if document["direction"] == "inbound":
        return f"{document['requester']}/requester"
    return f"{document['controller']}/controller"


class Source:
    """Requests of the workload, cycled, each with a fresh request id, encoded with its key."""

    def __init__(
        self,
        documents: list[dict[str, object]],
        keys: dict[str, str],
        host: str,
        tag: str,
        limit: int | None = None,
    ) -> None:
        self.documents = documents
        self.keys = keys
        self.host = host
        self.tag = tag
        self.limit = limit
        self.serial = count()

    def next(self) -> bytes | None:
        n = next(self.serial)
        if self.limit is not None and n >= self.limit:
            return None
        document = dict(self.documents[n % len(self.documents)])
        document["request_id"] = f"{self.tag}-{n}"
        return encode("/v1/decisions", self.host, self.keys[acting(document)], json.dumps(document).encode())


async def _connection(
    host: str, port: int, source: Source, stop_at: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            payload = source.next()
            if payload is None:
                return
            started = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if head[9:12] != b"200":
                errors.append(int(head[9:12]))
    finally:
        writer.close()


async def _load(
    host: str, port: int, source: Source, concurrency: int, seconds: float
) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(
        *(_connection(host, port, source, stop_at, latencies, errors) for _ in range(concurrency))
    )
    return latencies, errors, time.perf_counter() - started


def drive(
    host: str, port: int, source: Source, concurrency: int, seconds: float
) -> tuple[list[float], list[int], float]:
    try:
        import uvloop

        return uvloop.run(_load(host, port, source, concurrency, seconds))
    except ImportError:
        return asyncio.run(_load(host, port, source, concurrency, seconds))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def serve(db: str, home: Path, workers: int, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEREPORT_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(SAFEREPORT_DB=db, SAFEREPORT_HOME=str(home), SAFEREPORT_RATE_LIMIT="0")
    process = subprocess.Popen(
        [sys.executable, "-m", "safereport.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(200):
                    return process
        except OSError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"serve exited with {process.returncode}")
        time.sleep(0.2)
    raise SystemExit("serve did not become ready")


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) of every live process in the group: the server and its workers."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def bench_backend(
    backend: str,
    db: str,
    home: Path,
    args: argparse.Namespace,
    documents: list[dict[str, object]],
    records: list[object],
) -> tuple[list[Run], float]:
    os.environ["SAFEREPORT_HOME"] = str(home)
    with Firewall.open(db) as fw:
        fw.ingest(records)  # type: ignore[arg-type]
        keys = {
            who: apikeys.create_key(fw.store, *who.split("/")).token for who in {acting(d) for d in documents}
        }
        before = fw.verify_audit().entries
    port = free_port()
    runs: list[Run] = []
    process = serve(db, home, args.workers, port)
    answered = 0
    try:
        # Every controller's policy engine is built on first use, in each worker: warm them all.
        firsts = list({(d["controller"], acting(d)): d for d in documents}.values())
        # Connections, not requests, are shared out between workers: warm with as many as the runs use.
        warm = Source(firsts, keys, f"127.0.0.1:{port}", "warm", limit=12 * len(firsts))
        lat, errs, _ = drive("127.0.0.1", port, warm, max(args.concurrency), 120.0)
        answered += len(lat) - len(errs)
        if errs:
            print(f"  warm-up errors by status: {sorted(set(errs))}", flush=True)
        for concurrency in args.concurrency:
            source = Source(documents, keys, f"127.0.0.1:{port}", f"c{concurrency}")
            server_before, client_before = group_cpu_seconds(process.pid), time.process_time()
            latencies, errors, seconds = drive("127.0.0.1", port, source, concurrency, args.seconds)
            server_cpu = group_cpu_seconds(process.pid) - server_before
            client_cpu = time.process_time() - client_before
            answered += len(latencies) - len(errors)
            if errors:
                print(f"  errors by status at {concurrency}: {sorted(set(errors))}", flush=True)
            runs.append(
                Run(
                    backend,
                    concurrency,
                    len(latencies),
                    len(errors),
                    seconds,
                    percentile(latencies, 0.5),
                    percentile(latencies, 0.99),
                    server_cpu * 1000 / max(1, len(latencies)),
                    client_cpu * 1000 / max(1, len(latencies)),
                )
            )
    finally:
        stop(process)
    with Firewall.open(db) as fw:
        report = fw.verify_audit()
        if not report.ok or report.entries - before < answered:
            raise SystemExit(f"audit log after the run: {report.detail}; expected {answered} new entries")
        parsed = [parse_request(dict(d, request_id=f"peer-{i}")) for i, d in enumerate(documents)]
        for _ in fw.decide_many(
            [parse_request(dict(d, request_id=f"peer-warm-{i}")) for i, d in enumerate(firsts)]
        ):
            pass  # the same warm start as the server's workers had: engines built, ...
        minimise("A witness, Jo Bloggs, said that her visa had expired.")  # ... the minimiser loaded
        started, cpu = time.perf_counter(), time.process_time()
        decided = sum(1 for _ in fw.decide_many(parsed))
        peer = decided / (time.perf_counter() - started)
        print(f"  peer: {1000 * (time.process_time() - cpu) / decided:.2f} ms CPU per decision", flush=True)
    print(f"  audit log verified after the HTTP runs: {report.entries:,} entries", flush=True)
    return runs, peer


def postgres_url(option: str, workdir: Path) -> tuple[str | None, Path | None]:
    if option != "auto":
        return option, None
    if not PG_SCRIPT.exists():
        return None, None
    folder = Path(tempfile.mkdtemp(prefix="srpg-bench-"))
    done = subprocess.run(
        [str(PG_SCRIPT), "start", str(folder), str(free_port())], capture_output=True, text=True
    )
    if done.returncode != 0:
        print(f"  (no PostgreSQL: {done.stderr.strip()[:200]})")
        shutil.rmtree(folder, ignore_errors=True)
        return None, None
    return done.stdout.strip(), folder


def main() -> int:
    # This file is named like the standard library's `http`: run as a script, its folder heads
    # sys.path and would shadow `http.client` for everything imported later (Presidio's loaders).
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds of load per concurrency (default 5)")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--records", type=int, default=3_000)
    ap.add_argument("--requests", type=int, default=3_000, help="distinct requests, cycled")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--postgres", metavar="URL|auto", default=None, help="also on PostgreSQL")
    args = ap.parse_args()

    print(
        f"safereport HTTP benchmark: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    workload = generate_workload(seed=5, n_records=args.records, n_requests=args.requests)
    documents = [request_document(r.request) for r in workload.requests]
    gc.freeze()  # the workload is long-lived: keep the collector from rescanning it during the runs
    outbound = sum(1 for r in workload.requests if r.request.direction is Direction.OUTBOUND)
    print(
        f"  {len(workload.records):,} records, {len(documents):,} distinct requests ({outbound:,} outbound checks), "
        f"{args.workers} workers, {args.seconds:g} s per concurrency"
    )
    results: list[tuple[list[Run], float]] = []
    with tempfile.TemporaryDirectory(prefix="srbench-http-") as tmp:
        workdir = Path(tmp)
        results.append(
            bench_backend(
                "sqlite",
                f"sqlite:///{workdir / 'http.db'}",
                workdir / "home-sqlite",
                args,
                documents,
                list(workload.records),
            )
        )
        if args.postgres:
            url, folder = postgres_url(args.postgres, workdir)
            if url:
                try:
                    results.append(
                        bench_backend(
                            "postgresql", url, workdir / "home-pg", args, documents, list(workload.records)
                        )
                    )
                finally:
                    if folder is not None:
                        subprocess.run([str(PG_SCRIPT), "stop", str(folder)], capture_output=True)
                        shutil.rmtree(folder, ignore_errors=True)
    print()
    print(
        "| backend | concurrency | decisions/s | p50 ms | p99 ms | errors | server CPU ms/decision "
        "| client CPU ms/request | in-process decide_many (peer) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for runs, peer in results:
        for run in runs:
            print(
                f"| {run.backend} | {run.concurrency} | {run.rate:,.0f} | {run.p50_ms:.1f} | {run.p99_ms:.1f} | "
                f"{run.errors} | {run.server_cpu_ms:.2f} | {run.client_cpu_ms:.2f} | {peer:,.0f} /s |"
            )
    met = all(run.rate >= 1_500 and run.p99_ms < 50 and not run.errors for runs, _ in results for run in runs)
    print(f"\ntarget (>= 1,500 decisions/s, p99 < 50 ms, no errors): {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
