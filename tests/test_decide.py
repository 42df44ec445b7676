"""Every contract scenario through the library, and decide's own rules."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from safereport import (
    BadInput,
    Category,
    Consent,
    Decision,
    Firewall,
    Purpose,
    parse_record,
    parse_request,
    response_to_json,
)
from tests.conftest import both_backends, load_scenario

CORE = load_scenario()
VOLATILE = {"request_id", "receipt"}


def _decide_case(fw: Firewall, case: dict[str, Any]) -> dict[str, Any]:
    for step in case.get("before", []):
        if step[:2] == ["consent", "revoke"]:
            fw.revoke_consent(step[2])
    return response_to_json(fw.decide(parse_request(case["request"])))


@both_backends
def test_every_core_scenario_through_the_library(core_firewall: Firewall) -> None:
    responses: dict[str, dict[str, Any]] = {}
    for case in CORE["cases"]:
        expect = case["expect"]
        if expect.get("error"):
            with pytest.raises(BadInput):
                parse_request(case["request"])
            continue
        response = _decide_case(core_firewall, case)
        responses[case["name"]] = response
        text = json.dumps(response).lower()
        assert response["decision"] == expect["decision"], case["name"]
        if "disclosed_count" in expect:
            assert len(response["disclosed"]) == expect["disclosed_count"], case["name"]
        for needle in expect.get("must_contain", []):
            assert needle.lower() in text, (case["name"], needle)
        for needle in expect.get("must_not_contain", []):
            assert needle.lower() not in text, (case["name"], needle)
        if other := expect.get("same_response_as"):
            mine = {k: v for k, v in response.items() if k not in VOLATILE}
            theirs = {k: v for k, v in responses[other].items() if k not in VOLATILE}
            assert mine == theirs, case["name"]
        assert "explanation" not in response


def _request(**changes: Any) -> Any:
    base = {
        "request_id": "T-1",
        "requester": "crown-prosecution-service",
        "controller": "metropolitan-police-service",
        "direction": "inbound",
        "purpose": "prosecution",
        "legal_basis": "charging decision",
        "justification": "file for charging",
        "subject": {"person_id": "MPS-P-1"},
        "record_id": None,
        "categories": ["identity"],
        "consent_id": None,
    }
    base.update(changes)
    return parse_request(base)


def test_record_scope_limits_what_is_released(core_firewall: Firewall) -> None:
    everything = core_firewall.decide(_request(categories=["identity", "contact"]))
    assert {i.record_id for i in everything.disclosed} == {"MPS-CR-0001", "MPS-INT-0007"}
    scoped = core_firewall.decide(_request(categories=["identity"], record_id="MPS-INT-0007"))
    assert [i.record_id for i in scoped.disclosed] == ["MPS-INT-0007"]
    elsewhere = core_firewall.decide(_request(record_id="KENT-CR-0100"))
    assert elsewhere.decision is Decision.DENY and elsewhere.disclosed == ()


def test_minimisation_releases_only_requested_and_permitted_fields(core_firewall: Firewall) -> None:
    response = core_firewall.decide(_request(categories=["contact"], record_id="MPS-CR-0001"))
    (item,) = response.disclosed
    assert set(item.data) == {"address", "phone"}
    assert item.narrative is None


@both_backends
def test_a_name_lookup_matches_case_and_white_space_insensitively(core_firewall: Firewall) -> None:
    by_name = core_firewall.decide(
        _request(
            subject={"name": "  daniel   HUGHES", "date_of_birth": "1988-09-30"}, record_id="MPS-CR-0001"
        )
    )
    assert [i.person_id for i in by_name.disclosed] == ["MPS-P-2"]
    wrong_dob = core_firewall.decide(
        _request(subject={"name": "Daniel Hughes", "date_of_birth": "1988-09-29"})
    )
    assert wrong_dob.decision is Decision.DENY


@both_backends
def test_expired_consent_is_as_if_none(core_firewall: Firewall) -> None:
    expired = Consent(
        consent_id="C-old",
        controller="metropolitan-police-service",
        person_id="MPS-P-1",
        recipient="home-office-uk-visas-immigration",
        purpose=Purpose.VICTIM_IMMIGRATION_APPLICATION,
        categories=frozenset({Category.IDENTITY}),
        expires=datetime.now(UTC) - timedelta(days=1),
    )
    core_firewall.grant_consent(expired)
    request = _request(
        requester="home-office-uk-visas-immigration",
        purpose="victim_immigration_application",
        consent_id="C-old",
        record_id="MPS-CR-0001",
    )
    assert core_firewall.decide(request).decision is Decision.DENY
    fresh = replace(expired, consent_id="C-new", expires=datetime.now(UTC) + timedelta(days=30))
    core_firewall.grant_consent(fresh)
    permitted = core_firewall.decide(replace(request, consent_id="C-new"))
    assert permitted.decision is Decision.PERMIT
    assert set(permitted.disclosed[0].data) == {"name", "date_of_birth"}


@both_backends
def test_consent_covers_only_its_person(core_firewall: Firewall) -> None:
    request = _request(
        requester="home-office-uk-visas-immigration",
        purpose="victim_immigration_application",
        subject={"person_id": "MPS-P-2"},
        consent_id="C-1",
    )
    assert core_firewall.decide(request).decision is Decision.DENY


def test_consent_releases_the_narrative_uncleaned_but_not_to_others(core_firewall: Firewall) -> None:
    consented = core_firewall.decide(
        _request(
            requester="home-office-uk-visas-immigration",
            purpose="victim_immigration_application",
            categories=["narrative"],
            consent_id="C-1",
            record_id="MPS-CR-0001",
        )
    )
    assert "visa" in (consented.disclosed[0].narrative or "")
    prosecution = core_firewall.decide(_request(categories=["narrative"], record_id="MPS-CR-0001"))
    assert "visa" not in (prosecution.disclosed[0].narrative or "").lower()


def test_explanation_is_for_the_controller_only(core_firewall: Firewall) -> None:
    plain = core_firewall.decide(_request(categories=["identity", "nationality"], record_id="MPS-CR-0001"))
    assert plain.explanation is None
    explained = core_firewall.decide(
        _request(categories=["identity", "nationality"], record_id="MPS-CR-0001"), explain=True
    )
    assert explained.explanation is not None
    assert explained.explanation.withheld == (Category.NATIONALITY,)
    assert "firewall-status-and-nationality" in explained.explanation.policies
    assert (
        explained.explanation.policy_version
        == core_firewall.engine_for("metropolitan-police-service").version
    )
    assert response_to_json(explained)["explanation"]["withheld"] == ["nationality"]


@both_backends
def test_decide_many_answers_in_order_and_logs_each(core_firewall: Firewall) -> None:
    requests = [_request(request_id=f"B-{i}", categories=["identity"]) for i in range(600)]
    responses = list(core_firewall.decide_many(requests))
    assert [r.request_id for r in responses] == [f"B-{i}" for i in range(600)]
    indices = [r.receipt.index for r in responses]
    assert indices == list(range(indices[0], indices[0] + 600))
    assert core_firewall.verify_audit().ok


def test_a_narrative_cleaned_to_nothing_is_not_released(firewall: Firewall) -> None:
    record = parse_record(
        {
            "controller": "kent-police",
            "record_id": "K-1",
            "kind": "crime_report",
            "created": "2026-01-01T00:00:00Z",
            "persons": [{"person_id": "K-P", "role": "victim", "data": {"name": "A B"}}],
            "narrative": "She said her visa had expired.",
        }
    )
    firewall.ingest([record])
    response = firewall.decide(
        _request(controller="kent-police", subject={"person_id": "K-P"}, categories=["narrative"])
    )
    assert response.decision is Decision.DENY
    assert response.disclosed == ()


@both_backends
def test_unknown_and_protected_subjects_give_equal_responses(core_firewall: Firewall) -> None:
    ie = {"requester": "home-office-immigration-enforcement", "purpose": "immigration_enforcement"}
    known = response_to_json(core_firewall.decide(_request(**ie, categories=["identity", "contact"])))
    unknown = response_to_json(
        core_firewall.decide(
            _request(**ie, subject={"person_id": "nobody"}, categories=["identity", "contact"])
        )
    )
    for response in (known, unknown):
        for key in VOLATILE:
            response.pop(key)
    assert known == unknown == {"decision": "deny", "disclosed": []}
