"""Benchmark of the transparency log (issue: a transparency log that oversight bodies can verify).

In one run, on the same N entries of ~200 bytes (default 1,000,000):
  - safereport: durable appends per second (batches of B entries, one transaction and one
    tree update per batch, SQLite with synchronous=FULL), inclusion and consistency proof latency
    (p50, p99) at N from the stored tiles, and the time of a full `verify()` from scratch;
  - pymerkle 7 (the peer), in-memory and SQLite backends: appends per second and proof latency;
  - hashlib: the raw speed of hashing the same leaves (the physical floor).

Usage: python bench/log.py [--entries N] [--batch B] [--proofs K]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from safereport.audit import merkle
from safereport.audit.entry import REQUIRED_FIELDS, canonical
from safereport.audit.log import AuditLog
from safereport.audit.notes import load_or_create_signer
from safereport.store import Store
from safereport.store import auditlog as rows


def make_entries(n: int) -> list[bytes]:
    """Entries of the real shape (every field `verify` requires), with short values."""
    rng = random.Random(1)
    template = {field: "" for field in REQUIRED_FIELDS} | {
        "v": 1,
        "released": {},
        "policies": ["default-deny"],
    }
    out = []
    for i in range(n):
        document = dict(template, salt=rng.randbytes(8).hex(), request_id=f"R{i}", decision="deny")
        out.append(canonical(document))
    return out


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1e3:7.3f} ms   p99 {p99 * 1e3:7.3f} ms"


def timed(call: Callable[[int], object], arguments: list[int]) -> list[float]:
    """The wall time of `call(a)` for each argument."""
    out = []
    for argument in arguments:
        start = time.perf_counter()
        call(argument)
        out.append(time.perf_counter() - start)
    return out


def ours(entries: list[bytes], batch: int, proofs: int, work: Path) -> None:
    store = Store.open(f"sqlite:///{work / 'log.db'}")
    signer = load_or_create_signer(work / "log.key", "bench.example/log")
    log = AuditLog(store, "bench.example/log", signer, checkpoint_every=100_000, checkpoint_ms=10**9)
    start = time.perf_counter()
    for i in range(0, len(entries), batch):
        log.append(entries[i : i + batch])
    elapsed = time.perf_counter() - start
    n = len(entries)
    print(
        f"  {'safereport, durable appends (batches of ' + str(batch) + ')':<58} {n / elapsed:>12,.0f} /s  ({elapsed:.1f} s)"
    )
    rng = random.Random(2)
    with store.read() as conn:
        tiles = rows.ConnectionTiles(conn)
        inclusion = timed(
            lambda i: merkle.inclusion_proof(tiles, i, n), [rng.randrange(n) for _ in range(proofs)]
        )
        consistency = timed(
            lambda m: merkle.consistency_proof(tiles, m, n), [rng.randrange(1, n) for _ in range(proofs)]
        )
    print(f"  {'safereport, inclusion proof at N (from stored tiles)':<58} {percentiles(inclusion)}")
    print(f"  {'safereport, consistency proof to N':<58} {percentiles(consistency)}")
    bundles = timed(log.proof, [rng.randrange(n) for _ in range(min(proofs, 200))])
    print(f"  {'safereport, whole offline proof bundle (audit proof)':<58} {percentiles(bundles)}")
    start = time.perf_counter()
    report = log.verify()
    elapsed = time.perf_counter() - start
    assert report.ok and report.entries == n, report.detail
    print(f"  {'safereport, full verification from scratch':<58} {elapsed:>12.1f} s")
    store.close()


def peer(entries: list[bytes], proofs: int, work: Path) -> None:
    try:
        from pymerkle import InmemoryTree, SqliteTree
    except ImportError:
        print("  pymerkle is not installed (pip install '.[bench]'): peer figures skipped")
        return
    n = len(entries)
    rng = random.Random(3)
    one_by_one = min(n, 20_000)
    durable = SqliteTree(str(work / "pymerkle-one.db"))
    start = time.perf_counter()
    for entry in entries[:one_by_one]:
        durable.append_entry(entry)
    elapsed = time.perf_counter() - start
    label = f"pymerkle SqliteTree, append_entry one at a time ({one_by_one:,})"
    print(f"  {label:<58} {one_by_one / elapsed:>12,.0f} /s")
    durable.close()
    for label, tree in (
        ("pymerkle InmemoryTree", InmemoryTree()),
        ("pymerkle SqliteTree", SqliteTree(str(work / "pymerkle.db"))),
    ):
        start = time.perf_counter()
        if isinstance(tree, SqliteTree):
            tree.append_entries(entries)
            how = ", append_entries bulk (one commit per 100k)"
        else:
            for entry in entries:
                tree.append_entry(entry)
            how = ", appends"
        elapsed = time.perf_counter() - start
        print(f"  {label + how:<58} {n / elapsed:>12,.0f} /s  ({elapsed:.1f} s)")
        count = max(20, proofs // 10)
        inclusion = timed(
            lambda i, t=tree: t.prove_inclusion(i + 1, n), [rng.randrange(n) for _ in range(count)]
        )
        print(f"  {label + ', inclusion proof at N':<58} {percentiles(inclusion)}")
        consistency = timed(
            lambda m, t=tree: t.prove_consistency(m, n), [rng.randrange(1, n) for _ in range(count)]
        )
        print(f"  {label + ', consistency proof to N':<58} {percentiles(consistency)}")
        if isinstance(tree, SqliteTree):
            tree.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=4_096)
    ap.add_argument("--proofs", type=int, default=2_000)
    ap.add_argument("--skip-peer", action="store_true")
    args = ap.parse_args()
    entries = make_entries(args.entries)
    size = sum(len(e) for e in entries) / len(entries)
    print(f"{len(entries):,} entries of {size:.0f} bytes on average; {os.cpu_count()} cores")
    start = time.perf_counter()
    for entry in entries:
        hashlib.sha256(b"\x00" + entry).digest()
    elapsed = time.perf_counter() - start
    print(f"  {'hashlib SHA-256 leaf hashes only (the floor)':<58} {len(entries) / elapsed:>12,.0f} /s")
    with tempfile.TemporaryDirectory() as tmp:
        ours(entries, args.batch, args.proofs, Path(tmp))
        if not args.skip_peer:
            peer(entries, args.proofs, Path(tmp))
    print(
        "targets: >= 50,000 durable appends/s batched (>= 10x pymerkle SQLite), inclusion p99 < 1 ms at 1M,"
    )
    print("         full verification of 1M < 20 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
