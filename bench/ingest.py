"""Benchmark of ingest (issue: firewall core: "one million records must ingest in minutes").

In one run: `safereport ingest FILE` on a JSON Lines file of N synthetic records (the demo's
generator), through the whole path (parse, validate, provenance, batched writes, one atomic
transaction), beside the physical floor: the same rows written with raw sqlite3 `executemany`
in one transaction, no validation and no provenance.

Usage: python bench/ingest.py [--records N]   (default 1,000,000)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from safereport.demo.generate import generate_workload

SAFEREPORT = [sys.executable, "-m", "safereport.cli"]


def record_document(record: object) -> dict[str, object]:
    from safereport.model import Record

    assert isinstance(record, Record)
    return {
        "controller": record.controller,
        "record_id": record.record_id,
        "kind": record.kind,
        "created": record.created.isoformat().replace("+00:00", "Z"),
        "persons": [
            {"person_id": p.person_id, "role": p.role.value, "data": dict(p.data)} for p in record.persons
        ],
        "narrative": record.narrative,
        "derived_from": list(record.derived_from),
    }


def raw_floor(path: Path, db: Path) -> float:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE records (record_id TEXT PRIMARY KEY, controller TEXT, kind TEXT, created TEXT, narrative TEXT)"
    )
    conn.execute(
        "CREATE TABLE persons (id INTEGER PRIMARY KEY, record_id TEXT, person_id TEXT, role TEXT, data TEXT)"
    )
    start = time.perf_counter()
    conn.execute("BEGIN")
    records, persons = [], []
    with path.open() as stream:
        for line in stream:
            d = json.loads(line)
            records.append((d["record_id"], d["controller"], d["kind"], d["created"], d["narrative"]))
            persons.extend(
                (d["record_id"], p["person_id"], p["role"], json.dumps(p["data"])) for p in d["persons"]
            )
            if len(records) >= 2000:
                conn.executemany("INSERT INTO records VALUES (?,?,?,?,?)", records)
                conn.executemany(
                    "INSERT INTO persons (record_id, person_id, role, data) VALUES (?,?,?,?)", persons
                )
                records, persons = [], []
    conn.executemany("INSERT INTO records VALUES (?,?,?,?,?)", records)
    conn.executemany("INSERT INTO persons (record_id, person_id, role, data) VALUES (?,?,?,?)", persons)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        workload = generate_workload(seed=3, n_records=args.records, n_requests=0)
        path = work / "records.jsonl"
        with path.open("w") as out:
            for record in workload.records:
                out.write(json.dumps(record_document(record)) + "\n")
        n = len(workload.records)
        derived = sum(1 for r in workload.records if r.derived_from)
        del workload
        gc.collect()
        print(f"generated {n:,} records ({derived:,} derived) in {time.perf_counter() - start:.0f} s; "
              f"file {path.stat().st_size / 1e6:,.0f} MB")  # fmt: skip
        env = dict(
            os.environ, SAFEREPORT_HOME=str(work / "home"), SAFEREPORT_DB=f"sqlite:///{work / 'store.db'}"
        )
        start = time.perf_counter()
        proc = subprocess.run([*SAFEREPORT, "ingest", str(path)], env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"ingest failed: {proc.stderr[:300]}")
        floor = raw_floor(path, work / "floor.db")
        print(f"  {'safereport ingest (validate, provenance, indexes, one transaction)':<68} "
              f"{n / elapsed:>10,.0f} records/s  {elapsed:>7.1f} s")  # fmt: skip
        print(f"  {'raw sqlite3 executemany, same rows, no checks (the floor)':<68} "
              f"{n / floor:>10,.0f} records/s  {floor:>7.1f} s")  # fmt: skip
        print(f"  result: {proc.stdout.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
