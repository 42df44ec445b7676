"""The store on a real PostgreSQL server: URLs, the write lock and isolation levels, query plans,
time zones, several processes on one database, the command line, and faults (an unreachable
server, a server stopped mid-run) that must fail closed.

The suites shared with SQLite run here too, through `both_backends` (see docs/postgresql.md).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from safereport import (
    Decision,
    DisclosureRequest,
    Firewall,
    StoreError,
    parse_consent,
    parse_record,
    parse_request,
)
from safereport.audit import merkle
from safereport.audit.checkpoint import open_signed
from safereport.store import Store, migrations, tables
from safereport.store import records as record_store
from safereport.store.engine import WRITE_LOCK
from tests.dbtools import run_workers, sql
from tests.logtools import CPS, IE, MPS, mth
from tests.pgserver import PostgresServer, free_port, libpq_url, server_or_fail

UKVI = "home-office-uk-visas-immigration"
NEVER = 10**9
SAFEREPORT = [sys.executable, "-m", "safereport.cli"]


def request(request_id: str, person_id: str = "MPS-P-1", **changes: Any) -> DisclosureRequest:
    document = {
        "request_id": request_id,
        "requester": CPS,
        "controller": MPS,
        "direction": "inbound",
        "purpose": "prosecution",
        "legal_basis": "charging decision",
        "justification": "file for charging",
        "subject": {"person_id": person_id},
        "record_id": None,
        "categories": ["identity"],
        "consent_id": None,
    }
    return parse_request(document | changes)


def logged_request_ids(url: str) -> list[str]:
    return [
        json.loads(entry)["request_id"] for (entry,) in sql(url, "SELECT entry FROM audit_log ORDER BY idx")
    ]


def core_store(url: str, core: dict[str, Any], **settings: Any) -> Firewall:
    fw = Firewall.open(url, **settings)
    fw.ingest(parse_record(r) for r in core["records"])
    for consent in core["consents"]:
        fw.grant_consent(parse_consent(consent))
    return fw


def database_of(url: str) -> str:
    name = make_url(url).database
    assert name
    return name


# ---------------------------------------------------------------------------- URLs


def test_both_url_forms_open_the_same_store(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://")
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    first, second = Store.open(postgres_url), Store.open(plain)
    try:
        assert first.dialect == second.dialect == "postgresql"
        assert first.engine.dialect.driver == second.engine.dialect.driver == "psycopg"
        assert first.meta("deployment_id") == second.meta("deployment_id") is not None
        assert second.migrate() == []
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("driver", ["postgresql+psycopg2", "postgresql+asyncpg", "postgresql+pg8000"])
def test_other_postgresql_drivers_are_refused(driver: str) -> None:
    with pytest.raises(StoreError) as info:
        Store.open(f"{driver}://postgres@127.0.0.1:1/none")
    assert "psycopg" in info.value.message and driver in info.value.message


@pytest.mark.parametrize("password", ["s3cret-Pa55word", "p@ss:w/rd %x"])
def test_unreachable_server_is_a_store_error_that_never_shows_the_password(password: str) -> None:
    encoded = quote(password, safe="")
    url = f"postgresql://safereport:{encoded}@127.0.0.1:{free_port()}/nowhere?connect_timeout=2"
    for opening in (Store.open, Firewall.open):
        with pytest.raises(StoreError) as info:
            opening(url)
        shown = f"{info.value} {info.value.as_dict()} {info.value!r}"
        assert info.value.code == "store_error"
        assert "cannot be opened" in info.value.message
        assert password not in shown and encoded not in shown
        assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_password_quoted_back_by_the_server_is_blanked(postgres_server: PostgresServer) -> None:
    # The server names the database it does not have; here that name is the password itself.
    secret = "sr_secret_7f3a"
    url = make_url(postgres_server.url).set(password=secret, database=secret)
    with pytest.raises(StoreError) as info:
        Store.open(url.render_as_string(hide_password=False))
    assert secret not in str(info.value)
    assert "***" in info.value.message and "does not exist" in info.value.message


# ---------------------------------------------------------------------------- lock and isolation


def test_write_holds_the_lock_and_read_does_not(postgres_url: str) -> None:
    store = Store.open(postgres_url)

    def lock_is_free() -> bool:
        with psycopg.connect(libpq_url(postgres_url)) as other:
            row = other.execute("SELECT pg_try_advisory_xact_lock(%s)", (WRITE_LOCK,)).fetchone()
            assert row is not None
            return bool(row[0])

    try:
        with store.write() as conn:
            conn.execute(select(tables.meta.c.key)).all()
            assert not lock_is_free()
        assert lock_is_free()
        with store.read() as conn:
            conn.execute(select(tables.meta.c.key)).all()
            assert lock_is_free()
    finally:
        store.close()


@pytest.mark.parametrize("default", ["serializable", "repeatable read", "read committed"])
def test_isolation_levels_do_not_depend_on_the_server_default(postgres_url: str, default: str) -> None:
    sql(
        postgres_url,
        f"ALTER DATABASE {database_of(postgres_url)} SET default_transaction_isolation = '{default}'",
    )
    store = Store.open(postgres_url)
    try:
        with store.write() as conn:
            assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
        with store.read() as conn:
            assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "repeatable read"
        assert store.ensure_meta("probe", default) == default
    finally:
        store.close()


def test_a_writer_waits_at_most_the_lock_timeout(postgres_url: str) -> None:
    store = Store.open(postgres_url)
    try:
        with store.read() as conn:
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "1min"
    finally:
        store.close()


def test_lookups_use_the_indexes(postgres_url: str) -> None:
    with Firewall.open(postgres_url) as fw:
        fw.ingest(
            parse_record(
                {
                    "controller": MPS,
                    "record_id": f"IX-{i}",
                    "kind": "crime_report",
                    "created": "2026-03-01T10:00:00Z",
                    "persons": [
                        {
                            "person_id": f"IX-P{i % 40}",
                            "role": "victim",
                            "data": {"name": f"Person {i}", "date_of_birth": "1990-01-01"},
                        }
                    ],
                }
            )
            for i in range(200)
        )
    sql(postgres_url, "ANALYZE")
    engine = create_engine(postgres_url)
    dialect = engine.dialect
    engine.dispose()
    params = {"controller": MPS, "person_id": "P", "name_norm": "n", "dob": "1990-01-01", "record_id": "R"}
    with psycopg.connect(libpq_url(postgres_url)) as conn:
        conn.execute("SET enable_seqscan = off")

        def plan(statement: str) -> str:
            return " ".join(str(row[0]) for row in conn.execute("EXPLAIN " + statement, params).fetchall())

        # the statements decide runs, as compiled for psycopg
        by_id, _ = record_store._compiled(dialect, True, False)
        by_name, _ = record_store._compiled(dialect, False, False)
        assert "ix_persons_controller_person" in plan(by_id)
        assert "ix_persons_controller_name_dob" in plan(by_name)
        assert "audit_log_pkey" in plan("SELECT max(idx) FROM audit_log")
        assert "ix_derivations_source" in plan(
            "SELECT record_id FROM derivations WHERE source_id = %(record_id)s"
        )


# ---------------------------------------------------------------------------- types


def test_datetimes_are_utc_whatever_the_session_time_zone(postgres_url: str) -> None:
    sql(postgres_url, f"ALTER DATABASE {database_of(postgres_url)} SET timezone = 'Asia/Kathmandu'")
    fw = Firewall.open(postgres_url)
    try:
        fw.ingest(
            [
                parse_record(
                    {
                        "controller": MPS,
                        "record_id": "TZ-1",
                        "kind": "crime_report",
                        "created": "2026-03-01T12:00:00+02:00",
                        "persons": [{"person_id": "TZ-P", "role": "victim", "data": {"name": "A B"}}],
                    }
                )
            ]
        )
        with fw.store.read() as conn:
            created = conn.execute(select(tables.records.c.created)).scalar_one()
            shown = conn.exec_driver_sql("SELECT created::text FROM records").scalar_one()
        assert created == datetime(2026, 3, 1, 10, 0, tzinfo=UTC) and created.tzinfo is UTC
        assert shown == "2026-03-01 15:45:00+05:45"  # the session's zone really is another one
        fw.grant_consent(
            parse_consent(
                {
                    "consent_id": "TZ-C",
                    "controller": MPS,
                    "person_id": "TZ-P",
                    "recipient": UKVI,
                    "purpose": "victim_immigration_application",
                    "categories": ["identity"],
                    "expires": "2099-01-01T00:00:00-05:00",
                }
            )
        )
        (consent,) = fw.consents()
        assert consent.expires == datetime(2099, 1, 1, 5, 0, tzinfo=UTC) and consent.expires.tzinfo is UTC
        response = fw.decide(
            request(
                "TZ-R",
                "TZ-P",
                requester=UKVI,
                purpose="victim_immigration_application",
                consent_id="TZ-C",
            )
        )
        assert response.decision is Decision.PERMIT
    finally:
        fw.close()


# ---------------------------------------------------------------------------- several processes

WORKERS, ROUNDS, GROUP, BATCH, EVERY = 4, 10, 5, 4, 16


def _mixed_worker(url: str, home: str, worker: int, barrier: Any, results: Any) -> None:
    os.environ["SAFEREPORT_HOME"] = home
    os.environ.pop("SAFEREPORT_DB", None)
    from safereport import Firewall as Fw

    try:
        barrier.wait(timeout=120)  # every process opens the empty database at once: migrations race
        fw = Fw.open(url, commit_batch=BATCH, checkpoint_every=EVERY, checkpoint_ms=NEVER)
    except BaseException as exc:
        results.put((worker, f"open failed: {exc!r}"))
        raise
    try:
        receipts = []
        for i in range(ROUNDS):
            person = f"W{worker}-P{i}"
            fw.ingest(
                [
                    parse_record(
                        {
                            "controller": MPS,
                            "record_id": f"W{worker}-R{i}",
                            "kind": "crime_report",
                            "created": "2026-03-01T10:00:00Z",
                            "persons": [{"person_id": person, "role": "victim", "data": {"name": f"N {i}"}}],
                        }
                    )
                ]
            )
            consent = f"W{worker}-C{i}" if i % 3 == 0 else None
            if consent:
                fw.grant_consent(
                    parse_consent(
                        {
                            "consent_id": consent,
                            "controller": MPS,
                            "person_id": person,
                            "recipient": UKVI,
                            "purpose": "victim_immigration_application",
                            "categories": ["identity"],
                            "expires": "2099-01-01T00:00:00Z",
                        }
                    )
                )
            asks = [
                request(
                    f"W{worker}-{i}-{k}",
                    person,
                    requester=UKVI,
                    purpose="victim_immigration_application",
                    consent_id=consent,
                )
                for k in range(1 + GROUP)
            ]
            responses = [fw.decide(asks[0]), *fw.decide_many(asks[1:])]
            if i % 4 == 0:
                fw.log.checkpoint()
            receipts += [
                (r.request_id, r.receipt.index, r.receipt.leaf_hash, r.decision.value) for r in responses
            ]
        results.put((worker, receipts))
    except BaseException as exc:
        results.put((worker, f"failed: {exc!r}"))
        raise
    finally:
        fw.close()


def test_processes_ingesting_and_deciding_on_one_database_keep_one_log(
    postgres_url: str, isolated_home: Path
) -> None:
    results = run_workers(_mixed_worker, (postgres_url, str(isolated_home)), WORKERS, timeout=300)
    total = WORKERS * ROUNDS * (1 + GROUP)

    rows = sql(postgres_url, "SELECT idx, entry, leaf_hash FROM audit_log ORDER BY idx")
    assert [idx for idx, _, _ in rows] == list(range(total))  # no gap, no duplicate
    by_index = {idx: (json.loads(entry)["request_id"], leaf) for idx, entry, leaf in rows}
    for worker, receipts in results.items():
        assert [rid for rid, *_ in receipts] == [
            f"W{worker}-{i}-{k}" for i in range(ROUNDS) for k in range(1 + GROUP)
        ]
        indices = [index for _, index, _, _ in receipts]
        assert indices == sorted(indices)  # each process's decisions in its own order
        for request_id, index, leaf, decision in receipts:
            assert by_index[index] == (request_id, leaf)
            # a victim's identity goes to UKVI only under the consent granted just before
            round_ = int(request_id.split("-")[1])
            assert decision == ("permit" if round_ % 3 == 0 else "deny"), request_id
        for start in range(0, len(receipts), 1 + GROUP):  # decide_many: groups of BATCH, one append each
            for group in (
                indices[start + 1 : start + 1 + BATCH],
                indices[start + 1 + BATCH : start + 1 + GROUP],
            ):
                assert group == list(range(group[0], group[0] + len(group)))

    assert sql(postgres_url, "SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(migrations.LATEST),)
    ]
    assert sql(postgres_url, "SELECT COUNT(*) FROM records") == [(WORKERS * ROUNDS,)]
    with Firewall.open(postgres_url) as fw:
        assert len(fw.consents()) == WORKERS * len(range(0, ROUNDS, 3))
        report = fw.verify_audit()
        assert report.ok, report.detail
        assert report.entries == total
        leaves = [bytes.fromhex(leaf) for _, _, leaf in rows]
        assert report.head == mth(leaves).hex()
        checkpoints = sql(postgres_url, "SELECT size, root, note FROM log_checkpoints ORDER BY size")
        assert len(checkpoints) >= total // (EVERY + BATCH)
        for size, root, note in checkpoints:
            assert open_signed(note, fw.log.verifier, origin=fw.log.origin).size == size
            assert root == mth(leaves[:size]).hex()
        for (old, old_root, _), (new, new_root, _) in itertools.pairwise(checkpoints):
            proof = fw.log.consistency_proof(old, new)
            assert merkle.verify_consistency(
                old, new, bytes.fromhex(old_root), bytes.fromhex(new_root), proof
            )


# ---------------------------------------------------------------------------- command line


def test_command_line_on_postgresql(postgres_url: str, core: dict[str, Any], tmp_path: Path) -> None:
    core_store(postgres_url, core).close()
    env = dict(os.environ, SAFEREPORT_DB=postgres_url.replace("postgresql+psycopg://", "postgresql://", 1))
    decided = subprocess.run(
        [*SAFEREPORT, "decide", "-"],
        input=json.dumps(core["cases"][0]["request"]),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert decided.returncode == 0, decided.stderr
    response = json.loads(decided.stdout)
    assert response["receipt"]["index"] == 0
    verified = subprocess.run(
        [*SAFEREPORT, "audit", "verify"], capture_output=True, text=True, env=env, timeout=120
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["ok"] is True and json.loads(verified.stdout)["entries"] == 1
    assert logged_request_ids(postgres_url) == [response["request_id"]]


# ---------------------------------------------------------------------------- faults


@pytest.fixture(scope="module")
def own_server() -> Iterator[PostgresServer]:
    """A throwaway server of these tests' own, which they may stop (and must start again)."""
    server = server_or_fail()
    try:
        yield server
    finally:
        server.destroy()


def test_server_stopped_mid_run_fails_closed_then_recovers(
    own_server: PostgresServer, core: dict[str, Any]
) -> None:
    url = own_server.create_database()
    fw = core_store(url, core)
    try:
        assert fw.decide(request("S-1")).receipt.index == 0
        own_server.stop()
        for attempt in (
            lambda: fw.decide(request("S-2")),
            lambda: list(fw.decide_many([request("S-3"), request("S-4")])),
            lambda: fw.grant_consent(parse_consent(core["consents"][0])),
            fw.verify_audit,
            fw.log.checkpoint,
        ):
            with pytest.raises(StoreError) as info:
                attempt()
            assert info.value.code == "store_error"
        own_server.start()
        # the pool reconnects: the next decision is logged right after the last one logged
        assert fw.decide(request("S-5")).receipt.index == 1
        report = fw.verify_audit()
        assert report.ok and report.entries == 2, report.detail
    finally:
        fw.close()
    assert logged_request_ids(url) == ["S-1", "S-5"]


def test_server_lost_between_deciding_and_logging_releases_nothing(
    own_server: PostgresServer, core: dict[str, Any]
) -> None:
    url = own_server.create_database()
    fw = core_store(url, core)
    try:
        fw.decide(request("L-0"))

        def requests() -> Iterator[DisclosureRequest]:
            yield request("L-1", requester=IE, purpose="immigration_enforcement")
            yield request("L-2")
            own_server.stop()  # the group is decided; its entries are not yet logged

        released = []
        with pytest.raises(StoreError):
            released.extend(fw.decide_many(requests()))
        assert released == []
        own_server.start()
        report = fw.verify_audit()
        assert report.ok and report.entries == 1, report.detail
    finally:
        fw.close()
    assert logged_request_ids(url) == ["L-0"]
