"""The store: migrations, schema, URLs, AwareDateTime, transactions. Real SQLite files throughout."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, inspect, select
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import StatementError

from safereport import Category, Consent, ConsentError, Firewall, Purpose, parse_record
from safereport.errors import StoreError
from safereport.store import Store, auditlog, migrations, tables
from safereport.store import consents as consent_store
from safereport.store.tables import AwareDateTime
from tests.conftest import both_backends
from tests.dbtools import INTEGRITY_ERRORS, is_postgres, sql
from tests.pgserver import PostgresServer


def _path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _schema(url: str) -> dict[str, Any]:
    """Every table with its columns, primary key, indexes and foreign keys, as reflected."""
    engine = create_engine(url)
    try:
        insp = inspect(engine)
        out: dict[str, Any] = {}
        for name in sorted(insp.get_table_names()):
            out[name] = {
                "columns": [
                    (c["name"], str(c["type"]), bool(c["nullable"]), c.get("default"))
                    for c in insp.get_columns(name)
                ],
                "pk": tuple(insp.get_pk_constraint(name)["constrained_columns"]),
                "indexes": sorted(
                    (ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                    for ix in insp.get_indexes(name)
                ),
                "fks": sorted(
                    (
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        tuple(fk["referred_columns"]),
                        tuple(sorted((fk.get("options") or {}).items())),
                    )
                    for fk in insp.get_foreign_keys(name)
                ),
                "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(name)),
            }
        return out
    finally:
        engine.dispose()


def _meta(url: str, key: str) -> str | None:
    rows = sql(url, "SELECT value FROM meta WHERE key = ?", key)
    return str(rows[0][0]) if rows else None


@pytest.fixture
def reference_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second empty store on the same backend as `db_url`."""
    if not is_postgres(db_url):
        yield f"sqlite:///{tmp_path / 'reference.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


# ---------------------------------------------------------------------------- migrations


@both_backends
def test_migrations_on_empty_file_give_exactly_the_declared_schema(db_url: str, reference_url: str) -> None:
    store = Store.open(db_url)
    store.close()
    engine = create_engine(reference_url)
    tables.metadata.create_all(engine)
    engine.dispose()

    migrated = _schema(db_url)
    assert migrated == _schema(reference_url)
    # and, by name, exactly what tables.py declares
    assert set(migrated) == set(tables.metadata.tables)
    for name, table in tables.metadata.tables.items():
        assert [c[0] for c in migrated[name]["columns"]] == [c.name for c in table.columns], name
        assert {ix[0] for ix in migrated[name]["indexes"]} == {ix.name for ix in table.indexes}, name
        assert migrated[name]["pk"] == tuple(c.name for c in table.primary_key.columns), name


@both_backends
def test_schema_version_is_recorded_as_latest(db_url: str) -> None:
    Store.open(db_url).close()
    assert _meta(db_url, "schema_version") == str(migrations.LATEST)
    assert max(number for number, _, _ in migrations.MIGRATIONS) == migrations.LATEST
    numbers = [number for number, _, _ in migrations.MIGRATIONS]
    assert numbers == list(range(1, len(numbers) + 1)), "migration steps are numbered 1, 2, 3... in order"


@both_backends
def test_migrate_applies_every_step_once_then_nothing(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            assert migrations.current_version(conn) == 0
            assert migrations.migrate(conn) == [n for n, _, _ in migrations.MIGRATIONS]
            assert migrations.current_version(conn) == migrations.LATEST
        with engine.begin() as conn:
            assert migrations.migrate(conn) == []
    finally:
        engine.dispose()


@both_backends
def test_reopening_applies_nothing_and_keeps_data(db_url: str) -> None:
    store = Store.open(db_url)
    deployment = store.meta("deployment_id")
    assert deployment
    with store.write() as conn:
        conn.execute(tables.meta.insert().values(key="probe", value="kept"))
    store.close()
    before = _schema(db_url)

    again = Store.open(db_url)
    try:
        assert again.migrate() == []
        assert again.meta("deployment_id") == deployment
        assert again.meta("probe") == "kept"
        assert again.meta("schema_version") == str(migrations.LATEST)
    finally:
        again.close()
    assert _schema(db_url) == before


@both_backends
def test_store_with_newer_schema_version_is_refused(db_url: str) -> None:
    Store.open(db_url).close()
    sql(db_url, "UPDATE meta SET value = ? WHERE key = 'schema_version'", str(migrations.LATEST + 1))
    with pytest.raises(StoreError) as info:
        Store.open(db_url)
    assert str(migrations.LATEST + 1) in str(info.value)
    assert info.value.code == "store_error"
    with pytest.raises(StoreError):
        Firewall.open(db_url)
    # refusing changed nothing
    assert _meta(db_url, "schema_version") == str(migrations.LATEST + 1)


@both_backends
def test_indexes_for_lookups_exist(db_url: str) -> None:
    Store.open(db_url).close()
    persons = {ix[1] for ix in _schema(db_url)["persons"]["indexes"]}
    assert ("controller", "person_id") in persons
    assert ("controller", "name_norm", "date_of_birth") in persons
    assert ("record_id",) in persons
    derivations = {ix[1] for ix in _schema(db_url)["derivations"]["indexes"]}
    assert ("source_id",) in derivations


def test_lookups_use_the_indexes(db_url: str) -> None:
    Store.open(db_url).close()
    with sqlite3.connect(_path(db_url)) as conn:

        def plan(sql: str) -> str:
            return " ".join(
                str(row[-1]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql, ("a", "b", "c"))
            )

        assert "ix_persons_controller_person" in plan(
            "SELECT * FROM persons WHERE controller = ? AND person_id = ? AND ? IS NOT NULL"
        )
        assert "ix_persons_controller_name_dob" in plan(
            "SELECT * FROM persons WHERE controller = ? AND name_norm = ? AND date_of_birth = ?"
        )
        assert "ix_persons_record" in plan(
            "SELECT * FROM persons WHERE record_id = ? AND ? IS NOT NULL AND ? IS NOT NULL"
        )


@both_backends
def test_audit_log_index_is_the_primary_key(db_url: str) -> None:
    Store.open(db_url).close()
    assert _schema(db_url)["audit_log"]["pk"] == ("idx",)
    sql(db_url, "INSERT INTO audit_log (idx, entry, leaf_hash) VALUES (0, 'e', 'l')")
    with pytest.raises(INTEGRITY_ERRORS):
        sql(db_url, "INSERT INTO audit_log (idx, entry, leaf_hash) VALUES (0, 'x', 'y')")
    assert sql(db_url, "SELECT idx, entry FROM audit_log") == [(0, "e")]


# ---------------------------------------------------------------------------- URLs and opening


@pytest.mark.parametrize(
    "url",
    ["not a url", "", "mysql://user@localhost/db", "oracle://user@host/db", "http://example.com/store.db"],
)
def test_bad_urls_are_store_errors(url: str) -> None:
    with pytest.raises(StoreError):
        Store.open(url)


def test_unparsable_url_message_does_not_echo_it() -> None:
    with pytest.raises(StoreError) as info:
        Store.open("::secret-password@@@")
    assert "secret-password" not in str(info.value)


def test_postgresql_url_that_cannot_be_reached_is_a_store_error() -> None:
    with pytest.raises(StoreError):
        Store.open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")


def test_missing_store_without_create_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "store.db"
    with pytest.raises(StoreError):
        Store.open(f"sqlite:///{path}", create=False)
    assert not path.exists()


def test_open_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "store.db"
    Store.open(f"sqlite:///{path}").close()
    assert path.is_file()


def test_store_path_that_is_a_directory_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError):
        Store.open(f"sqlite:///{tmp_path / 'dir.db'}")


def test_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a sqlite database file at all" * 200)
    with pytest.raises(StoreError):
        Store.open(f"sqlite:///{path}")


def test_sqlite_pragmas(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        with store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        store.close()
    extra = Store.open(db_url, sqlite_synchronous="EXTRA")
    try:
        with extra.read() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 3
    finally:
        extra.close()


# ---------------------------------------------------------------------------- AwareDateTime

_probe_meta = MetaData()
_probe = Table("probe", _probe_meta, Column("id", Integer, primary_key=True), Column("at", AwareDateTime))


@pytest.fixture
def probe_engine(db_url: str) -> Any:
    engine = create_engine(db_url)
    _probe_meta.create_all(engine)
    yield engine
    engine.dispose()


@both_backends
def test_aware_datetime_round_trips_as_utc(probe_engine: Any) -> None:
    at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    with probe_engine.begin() as conn:
        conn.execute(_probe.insert().values(id=1, at=at))
    with probe_engine.connect() as conn:
        back = conn.execute(select(_probe.c.at)).scalar_one()
    assert back == at
    assert back.tzinfo is UTC
    assert (back.hour, back.minute) == (10, 30)


@both_backends
def test_aware_datetime_refuses_naive(probe_engine: Any) -> None:
    with pytest.raises((ValueError, StatementError)) as info, probe_engine.begin() as conn:
        conn.execute(_probe.insert().values(id=1, at=datetime(2026, 3, 1, 12, 0)))  # noqa: DTZ001
    cause = info.value if isinstance(info.value, ValueError) else info.value.orig
    assert isinstance(cause, ValueError)
    assert "naive" in str(cause)
    with probe_engine.connect() as conn:
        assert conn.execute(select(_probe)).all() == []


def test_aware_datetime_reads_naive_stored_values_as_utc() -> None:
    decorator = AwareDateTime()
    dialect = sqlite_dialect.dialect()
    value = decorator.process_result_value(datetime(2026, 1, 2, 3, 4, 5), dialect)  # noqa: DTZ001
    assert value == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert value is not None and value.tzinfo is UTC
    text = decorator.process_result_value("2026-01-02 03:04:05.000006", dialect)
    assert text == datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert decorator.process_result_value(None, dialect) is None
    assert decorator.process_bind_param(None, dialect) is None


_offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@both_backends
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.datetimes(min_value=datetime(1901, 1, 2), max_value=datetime(2199, 12, 30), timezones=_offsets)  # noqa: DTZ001
)
def test_aware_datetime_property(probe_engine: Any, at: datetime) -> None:
    with probe_engine.begin() as conn:
        conn.execute(_probe.delete())
        conn.execute(_probe.insert().values(id=1, at=at))
    with probe_engine.connect() as conn:
        back = conn.execute(select(_probe.c.at)).scalar_one()
    assert back == at
    assert back.utcoffset() == timedelta(0)


@both_backends
def test_record_created_is_stored_in_utc(firewall: Firewall) -> None:
    firewall.ingest(
        [
            parse_record(
                {
                    "controller": "kent-police",
                    "record_id": "K-1",
                    "kind": "crime_report",
                    "created": "2026-03-01T12:00:00+02:00",
                    "persons": [],
                }
            )
        ]
    )
    with firewall.store.read() as conn:
        created, ingested = conn.execute(select(tables.records.c.created, tables.records.c.ingested_at)).one()
    assert created == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert created.tzinfo is UTC
    assert ingested.tzinfo is UTC


# ---------------------------------------------------------------------------- transactions


@both_backends
def test_write_rolls_back_on_exception(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        with pytest.raises(RuntimeError, match="boom"), store.write() as conn:
            conn.execute(tables.meta.insert().values(key="half", value="done"))
            assert store.meta("half") is None  # not visible outside the transaction
            raise RuntimeError("boom")
        assert store.meta("half") is None
        # and a fresh connection on the file agrees
        assert _meta(db_url, "half") is None
        with store.write() as conn:
            conn.execute(tables.meta.insert().values(key="whole", value="done"))
        assert _meta(db_url, "whole") == "done"
    finally:
        store.close()


def test_write_holds_the_write_lock_from_the_start(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        with store.write() as conn:
            conn.execute(select(tables.meta.c.key)).all()  # a read only, yet the lock is held
            other = sqlite3.connect(_path(db_url), timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
        other = sqlite3.connect(_path(db_url), timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()
    finally:
        store.close()


def test_read_does_not_take_the_write_lock(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        with store.read() as conn:
            conn.execute(select(tables.meta.c.key)).all()
            other = sqlite3.connect(_path(db_url), timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            finally:
                other.close()
    finally:
        store.close()


@both_backends
def test_ensure_meta_sets_once(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        assert store.ensure_meta("k", "first") == "first"
        assert store.ensure_meta("k", "second") == "first"
        assert store.meta("k") == "first"
    finally:
        store.close()


@both_backends
def test_a_reader_sees_one_snapshot_while_a_writer_commits(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        with store.write() as conn:
            auditlog.append_entries(conn, 0, ["e0"], ["00" * 32])
        with store.read() as conn:
            assert auditlog.size(conn) == 1
            with store.write() as other:  # another connection commits meanwhile
                auditlog.append_entries(other, 1, ["e1", "e2"], ["11" * 32, "22" * 32])
            assert auditlog.size(conn) == 1  # still the snapshot of its first read
            assert [row.index for row in auditlog.scan(conn)] == [0]
        with store.read() as conn:
            assert auditlog.size(conn) == 3
            assert [(row.index, row.entry) for row in auditlog.scan(conn)] == [
                (0, "e0"),
                (1, "e1"),
                (2, "e2"),
            ]
    finally:
        store.close()


# ---------------------------------------------------------------------------- consents


@both_backends
def test_consent_lifecycle_in_the_store(db_url: str) -> None:
    store = Store.open(db_url)
    granted_at = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    consent = Consent(
        consent_id="C-1",
        controller="kent-police",
        person_id="K-P-1",
        recipient="home-office-uk-visas-immigration",
        purpose=Purpose.VICTIM_IMMIGRATION_APPLICATION,
        categories=frozenset({Category.IDENTITY, Category.NARRATIVE}),
        expires=datetime(2027, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5))),
    )
    try:
        with store.write() as conn:
            assert consent_store.grant(conn, consent, granted_at) is True
            assert consent_store.grant(conn, consent, granted_at) is False  # the same again: a no-op
            with pytest.raises(ConsentError):
                consent_store.grant(conn, replace(consent, person_id="K-P-2"), granted_at)
        with store.read() as conn:
            stored = consent_store.get_consent(conn, "C-1")
            assert stored == consent
            assert stored is not None and stored.expires.tzinfo is UTC and stored.expires.hour == 5
            assert consent_store.get_consent(conn, "C-2") is None
            assert consent_store.list_consents(conn, "kent-police") == [consent]
            assert consent_store.list_consents(conn, "metropolitan-police-service") == []
        revoked_at = granted_at + timedelta(days=3)
        with store.write() as conn:
            assert consent_store.revoke(conn, "C-1", revoked_at) is True
            assert consent_store.revoke(conn, "C-1", revoked_at) is False
            with pytest.raises(ConsentError):
                consent_store.revoke(conn, "C-2", revoked_at)
        with store.write() as conn, pytest.raises(ConsentError):
            consent_store.grant(conn, consent, granted_at)  # a revoked id is never granted again
        with store.read() as conn:
            stored = consent_store.get_consent(conn, "C-1")
        assert stored is not None and stored.revoked_at == revoked_at and stored.revoked_at.tzinfo is UTC
    finally:
        store.close()
