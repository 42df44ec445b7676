"""The oversight statistics: numbers from a known workload, suppression, caching, policy sets
and the checkpoint panel, on real SQLite stores."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safereport import Firewall, parse_consent, parse_record, parse_request
from safereport.config import load_settings
from safereport.model import Function
from safereport.orgs import registry
from safereport.oversight import SUPPRESSED, national_statistics, publish_count
from safereport.policy import LocalPolicy
from safereport.store import Store
from tests.conftest import load_scenario
from tests.logtools import sql

CORE = load_scenario()
# The core cases whose outcome does not depend on consent state: (request, expected decision).
CASES = [
    (case["request"], case["expect"]["decision"])
    for case in CORE["cases"]
    if "decision" in case.get("expect", {}) and not case["request"].get("consent_id")
]
IE_FUNCTION = {o.id for o in registry().with_function(Function.IMMIGRATION_ENFORCEMENT)}
DAY0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def open_firewall(folder: Path, clock: Clock) -> Firewall:
    url = f"sqlite:///{folder / 'store.db'}"
    settings = load_settings(db=url, home=folder / "home")
    return Firewall(Store.open(url), settings, clock=clock)


@pytest.fixture
def clock() -> Clock:
    return Clock(DAY0)


@pytest.fixture
def fw(tmp_path: Path, clock: Clock) -> Iterator[Firewall]:
    firewall = open_firewall(tmp_path, clock)
    firewall.ingest(parse_record(r) for r in CORE["records"])
    for consent in CORE["consents"]:
        firewall.grant_consent(parse_consent(consent))
    yield firewall
    firewall.close()


def replay(fw: Firewall, clock: Clock, plan: list[tuple[int, int]]) -> list[tuple[str, dict[str, Any], str]]:
    """Decide case `i` on day `d` for each (d, i); returns (day, request, expected decision)."""
    done = []
    for n, (day, case) in enumerate(plan):
        request, expected = CASES[case]
        clock.at = DAY0 + timedelta(days=day, minutes=n)
        response = fw.decide(parse_request({**request, "request_id": f"R-{n}"}))
        assert response.decision.value == expected  # the scenario's own expectation
        done.append(((DAY0 + timedelta(days=day)).date().isoformat(), request, expected))
    return done


def function_of(org_id: str) -> str:
    return "+".join(sorted(f.value for f in registry()[org_id].functions))


def is_ie_attempt(request: dict[str, Any]) -> bool:
    return request["direction"] == "inbound" and (
        request["requester"] in IE_FUNCTION or request["purpose"] == "immigration_enforcement"
    )


# ---------------------------------------------------------------------------------- numbers


def test_counts_equal_a_known_workload(fw: Firewall, clock: Clock) -> None:
    # Days 0 and 2 only: day 1 must still appear, as a row of zeros.
    plan = [(0 if i % 2 else 2, i % len(CASES)) for i in range(3 * len(CASES))]
    done = replay(fw, clock, plan)
    stats = national_statistics(fw)

    by_day_purpose = Counter((day, r["purpose"], d) for day, r, d in done)
    by_day_function = Counter((day, function_of(r["requester"]), d) for day, r, d in done)
    by_function_purpose = Counter((function_of(r["requester"]), r["purpose"], d) for _, r, d in done)
    ie = Counter((r["controller"], d) for _, r, d in done if is_ie_attempt(r))
    outbound = Counter((r["controller"], d) for _, r, d in done if r["direction"] == "outbound")

    days = ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert (stats.first_day, stats.last_day) == (date(2026, 3, 1), date(2026, 3, 3))
    for name, expected in [
        ("requests_by_day_purpose_decision", by_day_purpose),
        ("requests_by_day_function_decision", by_day_function),
        ("requests_by_function_purpose_decision", by_function_purpose),
        ("immigration_enforcement_attempts", ie),
        ("outbound_checks", outbound),
    ]:
        table = stats.table(name)
        got = {keys: n for keys, n in table.rows if n}
        assert got == dict(expected), name
        assert sum(n for _, n in table.rows) == sum(expected.values())
    grid_days = {keys[0] for keys, _ in stats.table("requests_by_day_purpose_decision").rows}
    assert sorted(grid_days) == days
    assert stats.total("requests") == len(done) == stats.log_size
    assert stats.total("refused") == sum(1 for *_, d in done if d == "deny")
    assert stats.total("immigration_enforcement_refused") == ie_refused(ie)
    assert stats.total("outbound_refused") == sum(n for (_, d), n in outbound.items() if d == "deny")


def ie_refused(ie: Counter[tuple[str, str]]) -> int:
    return sum(n for (_, d), n in ie.items() if d == "deny")


def test_every_force_is_listed_even_without_decisions(fw: Firewall, clock: Clock) -> None:
    replay(fw, clock, [(0, 0)])
    stats = national_statistics(fw)
    listed = {c.controller for c in stats.controllers}
    forces = {o.id for o in registry().values() if o.kind.value == "police_force"}
    assert forces <= listed
    assert len(forces) >= 43
    ie_rows = {keys[0] for keys, _ in stats.table("immigration_enforcement_attempts").rows}
    assert ie_rows == listed


# ---------------------------------------------------------------------------------- suppression


def published_counts(document: dict[str, Any]) -> list[object]:
    counts: list[object] = list(document["totals"].values())
    for table in document["tables"].values():
        counts.extend(row["count"] for row in table["rows"])
    counts.extend(c["decisions"] for c in document["controllers"])
    return counts


def assert_suppressed(document: dict[str, Any], csv_text: str) -> None:
    for value in published_counts(document):
        assert value == SUPPRESSED or (isinstance(value, int) and value >= 10), value
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert rows
    for row in rows:
        assert row["count"] == SUPPRESSED or int(row["count"]) >= 10, row


def test_published_document_suppresses_small_counts_and_zero(fw: Firewall, clock: Clock) -> None:
    plan = [(0, 0)] * 12 + [(0, 7)] * 3  # 12 of one case, 3 of another, 0 of everything else
    replay(fw, clock, plan)
    stats = national_statistics(fw)
    published = stats.to_document()
    exact = stats.to_document(published=False)
    assert published["published"] is True and exact["published"] is False
    assert_suppressed(published, stats.to_csv())
    rows = published["tables"]["requests_by_day_purpose_decision"]["rows"]
    shown = {(r["day"], r["purpose"], r["decision"]): r["count"] for r in rows}
    purpose_a, purpose_b = CASES[0][0]["purpose"], CASES[7][0]["purpose"]
    assert purpose_a != purpose_b
    assert shown[("2026-03-01", purpose_a, CASES[0][1])] == 12
    assert shown[("2026-03-01", purpose_b, CASES[7][1])] == SUPPRESSED  # 3
    assert shown[("2026-03-01", "tax_administration", "permit")] == SUPPRESSED  # 0
    exact_rows = exact["tables"]["requests_by_day_purpose_decision"]["rows"]
    exact_shown = {(r["day"], r["purpose"], r["decision"]): r["count"] for r in exact_rows}
    assert exact_shown[("2026-03-01", purpose_b, CASES[7][1])] == 3
    assert exact_shown[("2026-03-01", "tax_administration", "permit")] == 0
    assert published["totals"]["requests"] == 15


@given(st.integers(min_value=-5, max_value=10_000))
def test_publish_count_never_shows_one_to_nine(n: int) -> None:
    shown = publish_count(n)
    assert shown == SUPPRESSED if n < 10 else shown == n


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, len(CASES) - 1)), min_size=0, max_size=40))
def test_no_published_count_is_under_ten(plan: list[tuple[int, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        clock = Clock(DAY0)
        fw = open_firewall(Path(folder), clock)
        try:
            fw.ingest(parse_record(r) for r in CORE["records"])
            for day in sorted({d for d, _ in plan}):
                clock.at = DAY0 + timedelta(days=day)
                group = [(n, case) for n, (d, case) in enumerate(plan) if d == day]
                list(fw.decide_many(parse_request({**CASES[c][0], "request_id": f"R-{n}"}) for n, c in group))
            stats = national_statistics(fw)
            assert stats.total("requests") == len(plan)
            published = stats.to_document(published=True)
            assert_suppressed(published, stats.to_csv())
            exact = published_counts(stats.to_document(published=False))
            for shown, count in zip(published_counts(published), exact, strict=True):
                assert isinstance(count, int)
                assert shown == (count if count >= 10 else SUPPRESSED)
        finally:
            fw.close()


# ---------------------------------------------------------------------------------- the CSV


def test_csv_holds_every_published_cell(fw: Firewall, clock: Clock) -> None:
    replay(fw, clock, [(0, i % len(CASES)) for i in range(40)])
    stats = national_statistics(fw)
    document = stats.to_document()
    rows = list(csv.DictReader(io.StringIO(stats.to_csv())))
    cells = [r for r in rows if not r["table"].startswith("total:")]
    assert len(cells) == sum(len(t["rows"]) for t in document["tables"].values())
    for row in cells:
        table = document["tables"][row["table"]]
        matches = [
            r for r in table["rows"] if all(str(r[c]) == row[c] for c in table["columns"] if c != "count")
        ]
        assert len(matches) == 1
        assert str(matches[0]["count"]) == row["count"]
    totals = {r["table"].removeprefix("total:"): r["count"] for r in rows if r["table"].startswith("total:")}
    assert totals == {k: str(v) for k, v in document["totals"].items()}


# ---------------------------------------------------------------------------------- incremental


def test_same_object_while_nothing_changes_and_incremental_after(fw: Firewall, clock: Clock) -> None:
    replay(fw, clock, [(0, i % len(CASES)) for i in range(20)])
    first = national_statistics(fw)
    assert national_statistics(fw) is first
    replay(fw, clock, [(1, 0)])
    second = national_statistics(fw)
    assert second is not first
    assert second.total("requests") == first.total("requests") + 1
    # A fresh store handle counts everything from scratch: the increments add up to the same.
    with Firewall(Store.open(fw.settings.database_url), fw.settings, clock=clock) as again:
        fresh = national_statistics(again)
    assert fresh.tables == second.tables
    assert fresh.totals == second.totals


def test_log_rewritten_under_the_cache_is_counted_afresh(fw: Firewall, clock: Clock) -> None:
    replay(fw, clock, [(0, 0)] * 11)  # 11 immigration-enforcement refusals
    url = fw.settings.database_url
    before = national_statistics(fw)
    assert before.total("immigration_enforcement_refused") == 11
    (entry,) = sql(url, "SELECT entry FROM audit_log WHERE idx = 10")[0]
    forged = json.loads(entry) | {"purpose": "prosecution", "requester": "crown-prosecution-service"}
    sql(url, "UPDATE audit_log SET entry = ?, leaf_hash = ? WHERE idx = 10", json.dumps(forged), "00" * 32)
    after = national_statistics(fw)
    assert after.total("immigration_enforcement_refused") == 10
    # The cheap check reads the signed checkpoint and the tree, which were not touched;
    # the full check reads every entry and finds the forgery.
    assert after.checkpoint is not None and after.checkpoint.verified
    full = national_statistics(fw, full_verify=True)
    assert full.checkpoint is not None and not full.checkpoint.verified
    assert "entry 10" in full.checkpoint.detail


def test_unreadable_entries_are_not_counted(fw: Firewall, clock: Clock) -> None:
    replay(fw, clock, [(0, 0)])
    fw.log.append([b'{"v": 1, "note": "not a decision"}'])
    stats = national_statistics(fw)
    assert stats.unreadable_entries == 1
    assert stats.total("requests") == 1
    assert stats.log_size == 2


def test_refused_impersonations_are_counted(fw: Firewall, clock: Clock) -> None:
    replay(fw, clock, [(0, 0)])
    entry = json.loads(sql(fw.settings.database_url, "SELECT entry FROM audit_log WHERE idx = 0")[0][0])
    entry |= {"policies": ["authn-requester-mismatch"], "authenticated_org": "kent-police"}
    fw.log.append([json.dumps(entry).encode()])
    assert national_statistics(fw).total("impersonations_refused") == 1


# ---------------------------------------------------------------------------------- policy sets


FORBID = """@id("mps-no-tax")
forbid (principal, action, resource) when { context.purpose == Purpose::"tax_administration" };
"""


def test_policy_sets_per_controller_and_consistency(fw: Firewall, clock: Clock) -> None:
    mps = "metropolitan-police-service"
    replay(fw, clock, [(0, 0), (0, 9)])  # one decision at MPS, one at West Midlands
    stats = national_statistics(fw)
    national = stats.national_baseline.sha256
    rows = {c.controller: c for c in stats.controllers}
    assert all(c.baseline is not None and c.baseline.sha256 == national for c in stats.controllers)
    assert all(c.consistent for c in stats.controllers)
    assert rows[mps].policy_set_version == fw.engine_for(mps).version
    assert rows[mps].latest_decision_policy_version == rows[mps].policy_set_version
    assert rows["kent-police"].latest_decision_policy_version is None
    assert rows["kent-police"].latest_decision_matches is None

    fw.add_local_policy(LocalPolicy(mps, "mps-no-tax", FORBID))
    changed = national_statistics(fw)
    mps_row = {c.controller: c for c in changed.controllers}[mps]
    assert mps_row.local_policies == 1
    assert mps_row.policy_set_version == fw.engine_for(mps).version != rows[mps].policy_set_version
    assert mps_row.baseline_matches_national
    assert mps_row.latest_decision_matches is False and not mps_row.consistent
    assert [c.controller for c in changed.controllers if not c.consistent] == [mps]

    replay(fw, clock, [(1, 0)])  # MPS decides under its new policy set
    assert all(c.consistent for c in national_statistics(fw).controllers)


def test_checkpoint_panel(fw: Firewall, clock: Clock) -> None:
    replay(fw, clock, [(0, i) for i in range(5)])
    note = fw.log.checkpoint()
    stats = national_statistics(fw)
    cp = stats.checkpoint
    assert cp is not None
    assert cp.verified and cp.size == 5 and cp.entries_after == 0
    assert f"\n{cp.size}\n" in note
    assert cp.issued_at.tzinfo is not None
    # A stored tile rewritten without the log's key: the root no longer matches the signature.
    sql(
        fw.settings.database_url,
        "UPDATE log_tiles SET hashes = zeroblob(length(hashes)), inner = zeroblob(length(inner)) WHERE level = 0",
    )
    tampered = national_statistics(fw)
    assert tampered.checkpoint is not None and not tampered.checkpoint.verified


def test_no_personal_data_in_statistics(fw: Firewall, clock: Clock) -> None:
    replay(fw, clock, [(0, i % len(CASES)) for i in range(30)])
    stats = national_statistics(fw)
    text = json.dumps(stats.to_document(published=False)) + stats.to_csv()
    for record in CORE["records"]:
        for person in record["persons"]:
            assert person["person_id"] not in text
            for value in person["data"].values():
                if not any(value in org.name for org in registry().values()):  # "British" Transport Police
                    assert value not in text
    for request, _ in CASES:
        assert request["justification"] not in text
