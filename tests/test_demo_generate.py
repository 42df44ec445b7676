"""The synthetic national workload: determinism, shape, provenance truth, scenario coverage, and
the demo's independent count of protected items released to immigration enforcement."""

from __future__ import annotations

import io
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from safereport.demo import SCENARIOS, ReleaseCounter, Workload, generate_workload, run_demo
from safereport.model import (
    FIELD_CATEGORIES,
    Capacity,
    Category,
    Consent,
    Decision,
    Direction,
    DisclosedItem,
    DisclosureRequest,
    Function,
    OrgKind,
    Purpose,
    Receipt,
    Record,
    Response,
    SubjectById,
    SubjectByName,
)
from safereport.orgs import registry
from safereport.policy import LocalPolicy, load_baseline
from safereport.policy.verify import ProofCache

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def workload() -> Workload:
    return generate_workload(seed=2026, n_records=2_000, n_requests=500)


def _protected_pairs(records: Iterable[Record]) -> set[tuple[str, str]]:
    """The test's own reading of contract §2: a person keeps the capacity in which any source
    first collected their data, through any number of copies."""
    by_id: dict[str, Record] = {}
    protected: set[tuple[str, str]] = set()
    for record in records:
        by_id[record.record_id] = record
        for person in record.persons:
            if person.role.protected or any(
                (source, person.person_id) in protected for source in record.derived_from
            ):
                protected.add((record.record_id, person.person_id))
    return protected


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


# ---- determinism and size ---------------------------------------------------------------------


def test_same_seed_gives_the_same_workload_and_another_seed_does_not() -> None:
    first = generate_workload(5, n_records=600, n_requests=150)
    again = generate_workload(5, n_records=600, n_requests=150)
    other = generate_workload(6, n_records=600, n_requests=150)
    assert first == again
    assert first.records != other.records
    assert first.requests != other.requests


def test_sizes_are_honoured_and_ids_unique(workload: Workload) -> None:
    assert len(workload.records) == 2_000
    assert len(workload.requests) == 500
    record_ids = [r.record_id for r in workload.records]
    assert len(set(record_ids)) == len(record_ids)
    request_ids = [lr.request.request_id for lr in workload.requests]
    assert len(set(request_ids)) == len(request_ids)
    consent_ids = [c.consent_id for c in workload.consents]
    assert len(set(consent_ids)) == len(consent_ids)


def test_person_ids_belong_to_one_controller(workload: Workload) -> None:
    owner: dict[str, str] = {}
    for record in workload.records:
        prefix = record.record_id.split("-")[0]
        for person in record.persons:
            assert person.person_id.startswith(prefix + "-P-")
            assert owner.setdefault(person.person_id, record.controller) == record.controller


def test_rejects_nonsense_sizes() -> None:
    with pytest.raises(ValueError, match="n_records"):
        generate_workload(1, n_records=0)
    with pytest.raises(ValueError, match="n_requests"):
        generate_workload(1, n_records=10, n_requests=-1)


# ---- organisations ----------------------------------------------------------------------------


def test_every_party_is_a_registered_organisation(workload: Workload) -> None:
    reg = registry()
    assert {r.controller for r in workload.records} <= set(reg)
    for lr in workload.requests:
        assert lr.request.requester in reg
        assert lr.request.controller in reg
    for consent in workload.consents:
        assert consent.controller in reg and consent.recipient in reg


def test_all_43_forces_btp_gps_and_councils_hold_records(workload: Workload) -> None:
    reg = registry()
    controllers = {r.controller for r in workload.records}
    forces = {o.id for o in reg.of_kind(OrgKind.POLICE_FORCE)} - {"british-transport-police"}
    assert len(forces) == 43
    assert forces <= controllers
    assert "british-transport-police" in controllers
    assert {o.id for o in reg.of_kind(OrgKind.GP_PRACTICE)} <= controllers
    assert {o.id for o in reg.of_kind(OrgKind.LOCAL_AUTHORITY)} <= controllers


def test_record_kinds_match_their_controllers(workload: Workload) -> None:
    reg = registry()
    roles_by_kind: dict[OrgKind, set[Capacity]] = defaultdict(set)
    for record in workload.records:
        kind = reg[record.controller].kind
        roles_by_kind[kind] |= {p.role for p in record.persons}
        expected = {
            OrgKind.POLICE_FORCE: {"crime_report", "intelligence_entry"},
            OrgKind.GP_PRACTICE: {"patient_record"},
            OrgKind.LOCAL_AUTHORITY: {"case_note"},
        }[kind]
        assert record.kind in expected
    assert roles_by_kind[OrgKind.GP_PRACTICE] == {Capacity.PATIENT}
    assert roles_by_kind[OrgKind.LOCAL_AUTHORITY] == {Capacity.SERVICE_USER, Capacity.PUPIL}
    assert {Capacity.VICTIM, Capacity.WITNESS, Capacity.SUSPECT, Capacity.REPORTER} <= roles_by_kind[
        OrgKind.POLICE_FORCE
    ]


# ---- provenance --------------------------------------------------------------------------------


def test_derived_records_point_back_in_time_within_their_controller_and_chain_deep(
    workload: Workload,
) -> None:
    index = {r.record_id: i for i, r in enumerate(workload.records)}
    depth: dict[str, int] = {}
    for i, record in enumerate(workload.records):
        for source in record.derived_from:
            assert index[source] < i, "a source must be generated before the record derived from it"
            assert workload.records[index[source]].controller == record.controller
            assert workload.records[index[source]].created < record.created
        depth[record.record_id] = 1 + max((depth[s] for s in record.derived_from), default=-1)
        if record.derived_from:
            assert record.kind == "intelligence_entry"
    assert max(depth.values()) >= 3
    assert max(depth.values()) <= 4


def test_truth_is_exactly_the_protected_pairs_through_every_copy(workload: Workload) -> None:
    assert workload.truth == _protected_pairs(workload.records)


def test_a_victim_copied_into_intelligence_as_a_suspect_stays_protected(workload: Workload) -> None:
    by_id = {r.record_id: r for r in workload.records}
    found = 0
    for record in workload.records:
        for person in record.persons:
            if person.role is not Capacity.SUSPECT or not record.derived_from:
                continue
            sources = [by_id[s] for s in record.derived_from]
            was_victim = any(
                p.person_id == person.person_id and p.role is Capacity.VICTIM
                for s in sources
                for p in s.persons
            )
            if was_victim:
                assert (record.record_id, person.person_id) in workload.truth
                found += 1
    assert found > 0


def test_dual_roles_exist_within_one_controller(workload: Workload) -> None:
    roles: dict[tuple[str, str], set[Capacity]] = defaultdict(set)
    for record in workload.records:
        if record.derived_from:
            continue
        for person in record.persons:
            roles[(record.controller, person.person_id)].add(person.role)
    dual = [k for k, r in roles.items() if Capacity.SUSPECT in r and r & {Capacity.VICTIM, Capacity.WITNESS}]
    assert len(dual) >= 5


# ---- data --------------------------------------------------------------------------------------


def test_only_contract_data_keys_and_well_formed_values(workload: Workload) -> None:
    dob = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    for record in workload.records:
        assert len(record.persons) >= 1
        assert 1 <= len(re.findall(r"[.!?](?:\s|$)", record.narrative)) <= 4
        for person in record.persons:
            assert set(person.data) <= set(FIELD_CATEGORIES)
            assert "name" in person.data
            if "date_of_birth" in person.data:
                assert dob.match(person.data["date_of_birth"])
                date.fromisoformat(person.data["date_of_birth"])  # a real date


def test_people_and_narratives_are_varied(workload: Workload) -> None:
    people = [p for r in workload.records for p in r.persons]
    nationalities = {p.data.get("nationality") for p in people} - {None}
    assert "British" in nationalities and len(nationalities) >= 10
    assert len({p.data.get("immigration_status") for p in people} - {None}) >= 5
    assert any("health" in p.data for p in people)
    narratives = [r.narrative for r in workload.records]
    assert any("visa had expired" in n or "Home Office" in n for n in narratives)
    assert sum("Home Office" not in n and "visa" not in n for n in narratives) > len(narratives) // 2
    assert len({p.data["name"] for p in people}) > 200


def test_every_datetime_is_timezone_aware(workload: Workload) -> None:
    for record in workload.records:
        assert record.created.tzinfo is not None and record.created.utcoffset() == UTC.utcoffset(None)
        assert 2025 <= record.created.year <= 2026
    for consent in workload.consents:
        assert consent.expires.tzinfo is not None
        assert consent.revoked_at is None


# ---- consents and requests ---------------------------------------------------------------------


def test_consents_are_victims_own_to_ukvi_some_revoked_some_expired(workload: Workload) -> None:
    victims = {
        (r.controller, p.person_id) for r in workload.records for p in r.persons if p.role is Capacity.VICTIM
    }
    ids = {c.consent_id for c in workload.consents}
    assert set(workload.revocations) and set(workload.revocations) <= ids
    assert any(c.expires.year == 2025 for c in workload.consents)
    assert any(c.expires.year >= 2027 and c.consent_id not in workload.revocations for c in workload.consents)
    for consent in workload.consents:
        assert (consent.controller, consent.person_id) in victims
        assert consent.recipient == "home-office-uk-visas-immigration"
        assert consent.purpose is Purpose.VICTIM_IMMIGRATION_APPLICATION
        assert {Category.IDENTITY, Category.NARRATIVE} <= consent.categories


def test_every_scenario_label_appears(workload: Workload) -> None:
    assert {lr.scenario for lr in workload.requests} == set(SCENARIOS)


def test_scenarios_are_what_they_say(workload: Workload) -> None:
    reg = registry()
    records = {r.record_id: r for r in workload.records}
    consents = {c.consent_id: c for c in workload.consents}
    held = {(r.controller, p.person_id) for r in workload.records for p in r.persons}
    names = {
        (r.controller, _norm(p.data["name"]), p.data.get("date_of_birth"))
        for r in workload.records
        for p in r.persons
    }
    for lr in workload.requests:
        q, label = lr.request, lr.scenario
        requester = reg[q.requester]
        if label.startswith("ie_direct") or label in (
            "ie_disguised_purpose",
            "ie_derived_copy",
            "unknown_subject",
        ):
            assert Function.IMMIGRATION_ENFORCEMENT in requester.functions
        if label in ("ie_direct", "ie_relayed_via_force", "ie_derived_copy", "name_dob_lookup"):
            assert q.purpose is Purpose.IMMIGRATION_ENFORCEMENT
        if label == "ie_relayed_via_force":
            assert requester.kind is OrgKind.POLICE_FORCE and q.requester != q.controller
        if label == "ie_disguised_purpose":
            assert q.purpose is not Purpose.IMMIGRATION_ENFORCEMENT
        if label.startswith("outbound_"):
            assert q.direction is Direction.OUTBOUND
            assert q.requester == "home-office-immigration-enforcement"
            assert q.purpose is Purpose.CRIMINAL_INVESTIGATION
            assert q.record_id is not None and isinstance(q.subject, SubjectById)
            record = records[q.record_id]
            assert record.controller == q.controller
            pair = (q.record_id, q.subject.person_id)
            assert any(p.person_id == q.subject.person_id for p in record.persons)
            assert (pair in workload.truth) is (label != "outbound_status_check_suspect")
        else:
            assert q.direction is Direction.INBOUND
        if label == "ie_derived_copy" or label == "outbound_status_check_derived_victim":
            assert q.record_id is not None and records[q.record_id].derived_from
        if label == "unknown_subject":
            assert isinstance(q.subject, SubjectById)
            assert (q.controller, q.subject.person_id) not in held
        elif isinstance(q.subject, SubjectById):
            assert (q.controller, q.subject.person_id) in held
        if label.startswith("name_dob_lookup"):
            assert isinstance(q.subject, SubjectByName)
            assert (q.controller, _norm(q.subject.name), q.subject.date_of_birth) in names
        if label.startswith("consent_"):
            assert q.consent_id in consents
            consent = consents[q.consent_id]
            assert (consent.controller, consent.person_id) == (
                q.controller,
                getattr(q.subject, "person_id", None),
            )
        if label == "consent_valid":
            consent = consents[q.consent_id or ""]
            assert q.consent_id not in workload.revocations and consent.expires > NOW
            assert q.requester == consent.recipient and q.purpose is consent.purpose
            assert set(q.categories) <= consent.categories
        if label == "consent_revoked":
            assert q.consent_id in workload.revocations
        if label == "consent_expired":
            assert consents[q.consent_id or ""].expires < NOW
        if label == "consent_misuse":
            consent = consents[q.consent_id or ""]
            assert q.requester != consent.recipient or q.purpose is not consent.purpose
        if label == "consent_beyond_scope":
            assert not set(q.categories) & consents[q.consent_id or ""].categories
        assert q.legal_basis and q.justification and len(q.justification) < 120
    typed = [
        lr.request.subject.name for lr in workload.requests if isinstance(lr.request.subject, SubjectByName)
    ]
    assert any(name != _norm(name).title() for name in typed)  # varied case and spacing


# ---- the runner and its independent count ------------------------------------------------------


@dataclass
class _Audit:
    ok: bool
    entries: int
    detail: str


@dataclass
class _Ingested:
    records: int


class _FakeFirewall:
    """Releases everything it holds about the subject (`permit_all`) or nothing at all."""

    def __init__(self, permit_all: bool, proofs: ProofCache) -> None:
        self.permit_all = permit_all
        # The shipped policies, proven as the real firewall proves them: the demo reports it.
        self.baseline = load_baseline()
        self.proofs = proofs
        self.records: list[Record] = []
        self.decided = 0
        self.granted: list[str] = []
        self.revoked: list[str] = []

    def ingest(self, records: Iterable[Record]) -> _Ingested:
        self.records = list(records)
        return _Ingested(len(self.records))

    def grant_consent(self, consent: Consent) -> None:
        self.granted.append(consent.consent_id)

    def local_policies(self, controller: str) -> list[LocalPolicy]:
        return []

    def revoke_consent(self, consent_id: str) -> None:
        self.revoked.append(consent_id)

    def _matches(self, request: DisclosureRequest) -> list[DisclosedItem]:
        items = []
        for record in self.records:
            if record.controller != request.controller or request.record_id not in (None, record.record_id):
                continue
            for person in record.persons:
                subject = request.subject
                if isinstance(subject, SubjectById):
                    hit = person.person_id == subject.person_id
                else:
                    hit = (
                        _norm(person.data["name"]) == _norm(subject.name)
                        and person.data.get("date_of_birth") == subject.date_of_birth
                    )
                if hit:
                    items.append(
                        DisclosedItem(record.record_id, person.person_id, dict(person.data), record.narrative)
                    )
        return items

    def decide_many(self, requests: Iterable[DisclosureRequest]) -> Iterator[Response]:
        for request in requests:
            self.decided += 1
            items = tuple(self._matches(request)) if self.permit_all else ()
            decision = Decision.PERMIT if items else Decision.DENY
            yield Response(request.request_id, decision, items, Receipt("fake", self.decided, "0" * 64))

    def verify_audit(self) -> _Audit:
        return _Audit(True, self.decided, "fake log")


@pytest.fixture(scope="module")
def small() -> Workload:
    return generate_workload(seed=99, n_records=800, n_requests=300)


def test_a_firewall_that_releases_everything_is_caught(small: Workload, tmp_path: Path) -> None:
    out = io.StringIO()
    summary = run_demo(
        _FakeFirewall(permit_all=True, proofs=ProofCache(tmp_path)), small, out, progress=False, now=NOW
    )
    assert summary.protected_released_to_ie > 0
    assert summary.protected_status_released > 0
    assert not summary.held
    by_label = {t.scenario: t for t in summary.scenarios}
    assert by_label["ie_direct"].protected_released_to_ie > 0
    assert by_label["outbound_status_check_derived_victim"].protected_released_to_ie > 0
    assert by_label["consent_valid"].protected_released_to_ie == 0  # UKVI within a valid consent
    assert by_label["lawful_force_to_force"].protected_released_to_ie == 0
    assert by_label["unknown_subject"].permits == 0
    text = out.getvalue()
    assert f"RELEASED TO IMMIGRATION ENFORCEMENT: {summary.protected_released_to_ie:,}" in text
    assert "THE FIREWALL LEAKED" in text


def test_a_firewall_that_releases_nothing_scores_zero(small: Workload, tmp_path: Path) -> None:
    out = io.StringIO()
    fake = _FakeFirewall(permit_all=False, proofs=ProofCache(tmp_path))
    summary = run_demo(fake, small, out, progress=True, now=NOW)
    assert summary.decisions == summary.denies == len(small.requests)
    assert summary.permits == 0
    assert summary.protected_released_to_ie == 0
    assert summary.protected_status_released == 0
    assert summary.audit_ok and summary.audit_entries == len(small.requests)
    assert summary.records_ingested == len(small.records) and summary.held
    assert fake.granted == [c.consent_id for c in small.consents] and fake.revoked == list(small.revocations)
    text = out.getvalue()
    assert "RELEASED TO IMMIGRATION ENFORCEMENT: 0 (none: the firewall held)" in text
    assert summary.policy_sets == summary.policy_sets_proven == 43
    assert "43 of 43 policy sets proven with Z3" in text
    assert "ingest: 800 / 800 records read" in text and "decide: 300 / 300 requests" in text
    assert "immigration_enforcement" in text and "verified: 300 entries" in text


def test_the_counter_honours_a_valid_consent_and_nothing_else(small: Workload) -> None:
    record = next(r for r in small.records if r.kind == "crime_report" and len(r.persons) >= 2)
    victim = next(p for p in record.persons if p.role is Capacity.VICTIM)
    other = next(p for p in record.persons if p.person_id != victim.person_id)
    ukvi, ie = "home-office-uk-visas-immigration", "home-office-immigration-enforcement"
    consent = Consent(
        "C-TEST",
        record.controller,
        victim.person_id,
        ukvi,
        Purpose.VICTIM_IMMIGRATION_APPLICATION,
        frozenset({Category.IDENTITY, Category.NARRATIVE, Category.IMMIGRATION_STATUS}),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    base = replace(small, consents=(consent,), revocations=())
    item = DisclosedItem(record.record_id, victim.person_id, {"name": "n", "address": "a"}, record.narrative)
    status = DisclosedItem(
        record.record_id, victim.person_id, {"immigration_status": "s", "nationality": "n"}
    )

    def ask(
        requester: str,
        purpose: Purpose,
        disclosed: DisclosedItem,
        consent_id: str | None = "C-TEST",
        workload: Workload = base,
        at: datetime = NOW,
    ) -> tuple[int, int]:
        request = DisclosureRequest(
            "R",
            requester,
            record.controller,
            Direction.INBOUND,
            purpose,
            "b",
            "j",
            SubjectById(disclosed.person_id),
            None,
            (Category.IDENTITY,),
            consent_id,
        )
        response = Response("R", Decision.PERMIT, (disclosed,), Receipt("l", 0, "h"))
        return ReleaseCounter(workload, at).count(request, response)

    via = Purpose.VICTIM_IMMIGRATION_APPLICATION
    assert ask(ukvi, via, item) == (0, 0)
    assert ask(ukvi, via, status) == (0, 1)  # immigration_status is consented, nationality is not
    assert ask(ie, Purpose.IMMIGRATION_ENFORCEMENT, item) == (3, 0)  # name, address, narrative
    assert ask(ie, via, item) == (3, 0)  # the consent names UKVI, not Immigration Enforcement
    assert ask(ukvi, Purpose.IMMIGRATION_ENFORCEMENT, item) == (3, 0)
    assert ask(ie, Purpose.SAFEGUARDING, item, None) == (3, 0)
    assert ask("metropolitan-police-service", Purpose.CRIMINAL_INVESTIGATION, status, None) == (0, 2)
    assert ask(ukvi, via, status, workload=replace(base, revocations=("C-TEST",))) == (0, 2)
    assert ask(ukvi, via, status, at=datetime(2027, 1, 1, tzinfo=UTC)) == (0, 2)  # expired
    moved = replace(status, person_id=other.person_id)
    expected = 2 if (record.record_id, other.person_id) in small.truth else 0
    assert ask(ukvi, via, moved) == (0, expected)  # the consent is the victim's alone
    suspect = next(
        (r.record_id, p.person_id)
        for r in small.records
        for p in r.persons
        if (r.record_id, p.person_id) not in small.truth
    )
    assert ask(ie, Purpose.IMMIGRATION_ENFORCEMENT, DisclosedItem(*suspect, {"name": "n"}, "x")) == (0, 0)
    assert ask(
        ie, Purpose.IMMIGRATION_ENFORCEMENT, replace(item, data={"unheard_of": "x"}, narrative=None)
    ) == (1, 0)
