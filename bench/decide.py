"""Benchmark of the decision path (issue: firewall core).

In one run, on this machine:
  (a) authorisations per second through cedarpy for the national baseline: one call per
      request (the peer), one batch call, and safereport's memoised engine;
  (b) whole requests per second through `safereport decide --batch`, every decision durable
      in the audit log before its response line is written: with group commit (the default)
      beside one durable commit per request (the peer);
  (c) the wall time of `safereport demo` at its default size.

Usage: python bench/decide.py [--requests N] [--records N] [--skip-demo] [--db URL]

--db URL runs (b) on that store (postgresql://... say) instead of a new SQLite file per run;
both runs then append to its one log.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cedarpy

from safereport import Firewall
from safereport.audit.entry import request_document
from safereport.demo.generate import generate_workload
from safereport.model import Capacity, Category, Direction, Purpose
from safereport.orgs import registry
from safereport.policy import PolicyEngine

SAFEREPORT = [sys.executable, "-m", "safereport.cli"]

# Run as `python bench/decide.py`, this folder leads sys.path and its http.py would stand in for
# the standard library's http module, which the minimiser's libraries import when first used.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def authorisations(n: int) -> list[tuple[str, float]]:
    engine = PolicyEngine("metropolitan-police-service")
    rng = random.Random(7)
    orgs = list(registry().values())
    domain = [
        (rng.choice(orgs), rng.choice(list(Capacity)), rng.choice(list(Category)), rng.choice(list(Purpose)),
         rng.choice(list(Direction)), rng.random() < 0.1)
        for _ in range(n)
    ]  # fmt: skip
    requests = [PolicyEngine.cedar_request(o.id, c, k, p, d, x) for o, c, k, p, d, x in domain]
    policies, entities, schema = engine._policies, engine._entities, engine._schema

    start = time.perf_counter()
    for request in requests[: n // 5]:
        cedarpy.is_authorized(request, policies, entities, schema=schema)
    single = (n // 5) / (time.perf_counter() - start)

    start = time.perf_counter()
    cedarpy.is_authorized_batch(requests, policies, entities, schema=schema)
    batch = n / (time.perf_counter() - start)

    start = time.perf_counter()
    for o, c, k, p, d, x in domain:
        engine.authorise(o, c, k, p, d, x)
    cold = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for o, c, k, p, d, x in domain:
        engine.authorise(o, c, k, p, d, x)
    warm = n / (time.perf_counter() - start)
    return [
        ("cedarpy is_authorized, one call each (peer)", single),
        ("cedarpy is_authorized_batch", batch),
        ("safereport PolicyEngine.authorise, first pass (memo filling)", cold),
        ("safereport PolicyEngine.authorise, memo warm", warm),
    ]


def batch_decide(
    n_records: int, n_requests: int, workdir: Path, db_url: str | None = None
) -> list[tuple[str, float, float]]:
    workload = generate_workload(seed=11, n_records=n_records, n_requests=n_requests)
    # One data directory (and so one subject key) for this process and the CLI it runs.
    os.environ["SAFEREPORT_HOME"] = str(workdir / "home")
    env = dict(os.environ)
    results = []
    requests_file = workdir / "requests.jsonl"
    with requests_file.open("w") as out:
        for labelled in workload.requests:
            out.write(json.dumps(request_document(labelled.request)) + "\n")
    for label, commit_batch in (("decide --batch, group commit of 256 (default)", "256"),
                                ("decide --batch, one durable commit per request (peer)", "1")):  # fmt: skip
        db = db_url or f"sqlite:///{workdir / f'store-{commit_batch}.db'}"
        with Firewall.open(db) as fw:
            fw.ingest(workload.records)
            for consent in workload.consents:
                fw.grant_consent(consent)
            logged_before = fw.verify_audit().entries
        run_env = dict(env, SAFEREPORT_DB=db, SAFEREPORT_COMMIT_BATCH=commit_batch)
        start = time.perf_counter()
        proc = subprocess.run(
            [*SAFEREPORT, "decide", "--batch", str(requests_file)],
            env=run_env,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - start
        lines = proc.stdout.count("\n")
        if proc.returncode != 0 or lines != len(workload.requests):
            raise SystemExit(f"decide --batch failed ({proc.returncode}): {proc.stderr[:300]}")
        with Firewall.open(db) as fw:
            report = fw.verify_audit()
            assert report.ok and report.entries == logged_before + lines, report.detail
        results.append((label, lines / elapsed, elapsed))
    return results


def demo_time(workdir: Path) -> tuple[float, str]:
    env = dict(
        os.environ, SAFEREPORT_HOME=str(workdir / "home"), SAFEREPORT_DB=f"sqlite:///{workdir / 'demo.db'}"
    )
    start = time.perf_counter()
    proc = subprocess.run([*SAFEREPORT, "demo"], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"demo failed ({proc.returncode}): {proc.stderr[-500:]}")
    return elapsed, proc.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--authorisations", type=int, default=50_000)
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--db", help="run (b) on this store URL instead of new SQLite files")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"cedarpy {getattr(cedarpy, '__version__', '4.x')}")  # fmt: skip
    print("\n(a) authorisations per second, national baseline")
    for label, rate in authorisations(args.authorisations):
        print(f"  {label:<72} {rate:>12,.0f} /s")
    with tempfile.TemporaryDirectory() as tmp:
        print(
            f"\n(b) whole requests through `decide --batch` ({args.requests:,} requests, {args.records:,} records)"
            + (f" on {args.db.split('://', 1)[0]}" if args.db else "")
        )
        for label, rate, elapsed in batch_decide(args.records, args.requests, Path(tmp), args.db):
            print(f"  {label:<72} {rate:>12,.0f} /s  ({elapsed:.1f} s)")
        print("  target: at least 2,000 requests/s on one core, every decision durable before its response")
        if not args.skip_demo:
            elapsed, _ = demo_time(Path(tmp))
            print("\n(c) `safereport demo` at its default size (100,000 records, 20,000 requests)")
            print(f"  {'wall time':<72} {elapsed:>12.1f} s   (target: under 60 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
