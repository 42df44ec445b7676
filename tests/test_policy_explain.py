"""`policy explain`: what the policy says about a request or a single-datum question, and why.

The verdict must be the engine's, every condition's truth must be Cedar's, and nothing about the
data may be looked up or shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import cedarpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safereport import Firewall
from safereport.errors import BadInput
from safereport.model import Capacity, Category, Direction, Purpose
from safereport.orgs import registry
from safereport.policy.engine import (
    DEFAULT_DENY,
    EVALUATION_ERROR,
    LocalPolicy,
    PolicyEngine,
    load_baseline,
    policy_ids,
)
from safereport.policy.explain import (
    Condition,
    DatumExplanation,
    Question,
    Truth,
    explain_datum,
    explain_request,
    parse_question,
)
from safereport.wire import parse_request

SAFEREPORT = [sys.executable, "-m", "safereport.cli"]
MET = "metropolitan-police-service"
IE = "home-office-immigration-enforcement"
UKVI = "home-office-uk-visas-immigration"
BODIES = "firewall-immigration-bodies"
PURPOSE = "firewall-immigration-purpose"


def request_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "request_id": "REQ-1",
        "requester": IE,
        "controller": MET,
        "direction": "inbound",
        "purpose": "immigration_enforcement",
        "legal_basis": "free text",
        "justification": "free text",
        "subject": {"person_id": "MPS-P-1"},
        "record_id": None,
        "categories": ["identity", "contact"],
        "consent_id": None,
    }
    doc.update(changes)
    return doc


def descriptions() -> dict[str, str]:
    """@description of every baseline policy, read straight from Cedar's syntax tree."""
    parsed = json.loads(cedarpy.policies_to_json_str(load_baseline().policies))
    return {
        p["annotations"]["id"]: p["annotations"]["description"] for p in parsed["staticPolicies"].values()
    }


def check(item: DatumExplanation, policy_id: str) -> Any:
    (found,) = [p for p in item.policies if p.policy_id == policy_id]
    return found


# ---------------------------------------------------------------- a single-datum question


def test_immigration_enforcement_asking_for_a_victims_contact_is_explained() -> None:
    engine = PolicyEngine(MET)
    ex = explain_request(
        engine, Question(IE, Capacity.VICTIM, Category.CONTACT, Purpose.IMMIGRATION_ENFORCEMENT)
    )
    (item,) = ex.items
    assert not item.allowed
    assert [f.policy_id for f in item.fired] == [BODIES, PURPOSE]
    assert [f.description for f in item.fired] == [descriptions()[BODIES], descriptions()[PURPOSE]]
    bodies = check(item, BODIES)
    assert (bodies.effect, bodies.origin, bodies.applies) == ("forbid", "baseline", Truth.YES)
    kinds = [(c.kind, c.condition.truth) for c in bodies.clauses]
    assert kinds == [("scope", Truth.YES), ("when", Truth.YES), ("unless", Truth.NO)]
    when = bodies.clauses[1].condition
    assert when.joiner == "any"
    assert [(p.text, p.truth) for p in when.parts] == [
        ("the requester has the function immigration_enforcement", Truth.YES),
        ("the requester has the function immigration_casework", Truth.NO),
    ]
    unless = bodies.clauses[2].condition
    assert [(p.text, p.truth) for p in unless.parts] == [
        ("the capacity the datum was collected in is one of suspect, offender", Truth.NO),
        ("the subject's consent covers this datum", Truth.NO),
    ]
    status = check(item, "firewall-status-and-nationality")
    assert status.applies is Truth.NO
    # Every baseline policy is judged, permits included.
    assert {p.policy_id for p in item.policies} == set(policy_ids(load_baseline().policies))
    consent = check(item, "lawful-subject-consent")
    assert (consent.effect, consent.applies) == ("permit", Truth.NO)
    text = ex.to_text()
    assert "victim / contact / no consent: DENY (withheld)" in text
    assert "[yes] the requester has the function immigration_enforcement" in text
    assert descriptions()[BODIES] in text


def test_a_permitted_datum_names_its_permit_and_a_default_deny_says_so() -> None:
    engine = PolicyEngine(MET)
    allowed = explain_datum(
        engine, "west-midlands-police", Capacity.VICTIM, Category.IDENTITY,
        Purpose.CRIMINAL_INVESTIGATION, Direction.INBOUND, False,
    )  # fmt: skip
    assert allowed.allowed
    assert [f.policy_id for f in allowed.fired] == ["lawful-police-investigation"]
    investigation = check(allowed, "lawful-police-investigation")
    assert investigation.applies is Truth.YES
    assert all(p.truth is Truth.YES for p in investigation.clauses[1].condition.parts)
    denied = explain_datum(
        engine, "department-for-work-pensions", Capacity.OFFENDER, Category.IDENTITY,
        Purpose.BENEFITS_ADMINISTRATION, Direction.INBOUND, False,
    )  # fmt: skip
    assert not denied.allowed
    assert [f.policy_id for f in denied.fired] == [DEFAULT_DENY]
    assert "denies by default" in denied.fired[0].description
    assert all(p.applies is Truth.NO for p in denied.policies)


def test_consent_is_shown_lifting_the_firewall() -> None:
    item = explain_datum(
        PolicyEngine(MET), UKVI, Capacity.VICTIM, Category.IMMIGRATION_STATUS,
        Purpose.VICTIM_IMMIGRATION_APPLICATION, Direction.INBOUND, True,
    )  # fmt: skip
    assert item.allowed
    assert [f.policy_id for f in item.fired] == ["lawful-subject-consent"]
    for forbid in (BODIES, "firewall-status-and-nationality"):
        policy = check(item, forbid)
        assert policy.applies is Truth.NO
        assert [c.condition.truth for c in policy.clauses] == [Truth.YES, Truth.YES, Truth.YES]


# ---------------------------------------------------------------- a disclosure request


def test_a_request_is_explained_for_every_capacity_and_requested_category() -> None:
    ex = explain_request(PolicyEngine(MET), parse_request(request_doc()))
    assert ex.request_id == "REQ-1"
    assert [(i.capacity, i.category, i.consent) for i in ex.items] == [
        (cap, cat, False) for cat in (Category.IDENTITY, Category.CONTACT) for cap in Capacity
    ]
    allowed = {(i.capacity.value, i.category.value) for i in ex.items if i.allowed}
    assert allowed == {
        ("suspect", "identity"),
        ("offender", "identity"),
        ("suspect", "contact"),
        ("offender", "contact"),
    }
    assert any("no record was looked up" in note for note in ex.notes)
    text = ex.to_text()
    assert "identity (no consent): may be disclosed for suspect, offender; withheld for victim" in text
    # Capacities the policy treats alike are grouped in the text.
    assert "victim, witness, reporter, patient, pupil, service_user / identity / no consent: DENY" in text


def test_a_request_naming_a_consent_is_shown_without_and_with_it() -> None:
    ex = explain_request(
        PolicyEngine(MET),
        parse_request(
            request_doc(requester=UKVI, purpose="victim_immigration_application", consent_id="C-1")
        ),
    )
    assert len(ex.items) == 2 * 2 * len(Capacity)
    victim = {
        i.consent: i.allowed
        for i in ex.items
        if i.capacity is Capacity.VICTIM and i.category is Category.IDENTITY
    }
    assert victim == {False: False, True: True}
    assert any("names a consent" in note for note in ex.notes)


def test_an_outbound_check_and_a_narrative_carry_their_notes() -> None:
    ex = explain_request(
        PolicyEngine(MET),
        parse_request(
            request_doc(direction="outbound", record_id="MPS-CR-0001", categories=["identity", "narrative"])
        ),
    )
    assert any(note.startswith("Outbound") for note in ex.notes)
    assert any("narrative" in note for note in ex.notes)
    suspect_identity = [
        i for i in ex.items if i.capacity is Capacity.SUSPECT and i.category is Category.IDENTITY
    ]
    assert [f.policy_id for f in suspect_identity[0].fired] == ["lawful-status-check-outbound"]


def test_a_request_to_another_controller_is_refused() -> None:
    with pytest.raises(BadInput) as caught:
        explain_request(PolicyEngine("kent-police"), parse_request(request_doc()))
    assert caught.value.field == "controller"


def test_explaining_looks_up_no_record(core_firewall: Firewall) -> None:
    """A subject the controller holds and one it does not get the same explanation, free of their data."""
    engine = core_firewall.engine_for(MET)
    held = explain_request(engine, parse_request(request_doc(subject={"person_id": "MPS-P-1"})))
    unknown = explain_request(engine, parse_request(request_doc(subject={"person_id": "NOBODY"})))
    by_name = explain_request(
        engine, parse_request(request_doc(subject={"name": "Maria Silva", "date_of_birth": "1991-04-12"}))
    )
    assert held == unknown == by_name
    for ex in (held, by_name):
        shown = json.dumps(ex.to_json()) + ex.to_text()
        for personal in ("MPS-P-1", "Maria Silva", "1991-04-12", "Acre Lane", "07700", "Brazilian"):
            assert personal not in shown


# ---------------------------------------------------------------- local policies and errors


def test_local_policies_are_explained_and_unknown_constructs_shown_as_cedar() -> None:
    local = LocalPolicy(
        MET,
        "dwp",
        '@id("local-dwp")\n@description("DWP, for benefits, gets offender identities.")\n'
        'permit (principal == Org::"department-for-work-pensions", action == Action::"disclose", resource)\n'
        'when { context.purpose == Purpose::"benefits_administration" && '
        '(if resource.capacity == Capacity::"offender" then true else false) };',
    )
    engine = PolicyEngine(MET, [local])
    item = explain_datum(
        engine, "department-for-work-pensions", Capacity.OFFENDER, Category.IDENTITY,
        Purpose.BENEFITS_ADMINISTRATION, Direction.INBOUND, False,
    )  # fmt: skip
    assert item.allowed and [f.policy_id for f in item.fired] == ["local-dwp"]
    assert item.fired[0].description == "DWP, for benefits, gets offender identities."
    dwp = check(item, "local-dwp")
    assert dwp.origin == "local"
    scope, when = dwp.clauses
    assert scope.condition.text == "the requester is department-for-work-pensions and the action is disclose"
    assert [p.text for p in when.condition.parts][1].startswith("(Cedar) if ")
    other = explain_datum(
        engine, "hm-revenue-customs", Capacity.OFFENDER, Category.IDENTITY,
        Purpose.BENEFITS_ADMINISTRATION, Direction.INBOUND, False,
    )  # fmt: skip
    assert check(other, "local-dwp").clauses[0].condition.truth is Truth.NO


def test_an_evaluation_error_is_explained_as_a_deny() -> None:
    overflow = LocalPolicy(
        MET,
        "broken",
        '@id("local-broken")\nforbid (principal, action, resource) '
        "when { context.consent || 9223372036854775807 + 1 > 0 };",
    )
    engine = PolicyEngine(MET, [overflow])
    item = explain_datum(
        engine, "west-midlands-police", Capacity.SUSPECT, Category.IDENTITY,
        Purpose.CRIMINAL_INVESTIGATION, Direction.INBOUND, False,
    )  # fmt: skip
    assert not item.allowed
    assert [f.policy_id for f in item.fired] == [EVALUATION_ERROR]
    broken = check(item, "local-broken")
    assert broken.applies is Truth.ERROR
    assert [p.truth for p in broken.clauses[1].condition.parts] == [Truth.NO, Truth.ERROR]
    # The other policies are still judged one by one.
    assert check(item, "lawful-police-investigation").applies is Truth.YES


# ---------------------------------------------------------------- invariants

REQUESTERS = sorted(registry())
CONTROLLERS = [MET, "nhs-gp-practice-example", "london-borough-of-lambeth"]
LOCAL = [
    LocalPolicy(
        MET,
        "councils",
        '@id("local-councils")\nforbid (principal, action, resource) when '
        '{ principal.kind == OrgKind::"local_authority" && resource.category == Category::"narrative" };',
    ),
    LocalPolicy(
        MET,
        "dwp",
        '@id("local-dwp")\npermit (principal, action, resource) when { principal.functions.contains(Function::"benefits") '
        '&& !(resource.capacity in [Capacity::"victim", Capacity::"witness"]) && context.purpose != Purpose::"other" };',
    ),
]


@cache
def _engine(controller: str, with_local: bool) -> PolicyEngine:
    return PolicyEngine(controller, LOCAL if with_local else ())


def _consistent(condition: Condition) -> None:
    """An all/any/not group holds exactly as its parts say it should."""
    if not condition.parts or any(p.truth is Truth.ERROR for p in condition.parts):
        return
    held = [p.truth is Truth.YES for p in condition.parts]
    expected = {"all": all(held), "any": any(held), "not": not held[0]}[condition.joiner]
    assert (condition.truth is Truth.YES) == expected, condition
    for part in condition.parts:
        _consistent(part)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(REQUESTERS),
    st.sampled_from(CONTROLLERS),
    st.sampled_from(list(Capacity)),
    st.sampled_from(list(Category)),
    st.sampled_from(list(Purpose)),
    st.sampled_from(list(Direction)),
    st.booleans(),
    st.booleans(),
)
def test_explain_agrees_with_the_engine_and_with_itself(
    requester: str,
    controller: str,
    capacity: Capacity,
    category: Category,
    purpose: Purpose,
    direction: Direction,
    consent: bool,
    with_local: bool,
) -> None:
    engine = _engine(controller, with_local)
    item = explain_datum(engine, requester, capacity, category, purpose, direction, consent)
    verdict = engine.authorise(registry()[requester], capacity, category, purpose, direction, consent)
    assert item.allowed == verdict.allowed
    assert sorted(f.policy_id for f in item.fired) == sorted(verdict.policies)
    for policy in item.policies:
        truths: dict[str, list[Truth]] = {c.kind: [] for c in policy.clauses}
        for clause in policy.clauses:
            truths[clause.kind].append(clause.condition.truth)
            _consistent(clause.condition)
        applies = all(t is Truth.YES for t in truths["scope"] + truths.get("when", [])) and all(
            t is Truth.NO for t in truths.get("unless", [])
        )
        assert (policy.applies is Truth.YES) == applies, policy.policy_id


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(REQUESTERS),
    st.sampled_from(list(Purpose)),
    st.lists(st.sampled_from(list(Category)), min_size=1, max_size=3, unique=True),
)
def test_a_requests_explanation_is_the_engines_verdict_for_every_datum(
    requester: str, purpose: Purpose, categories: list[Category]
) -> None:
    engine = PolicyEngine(MET)
    ex = explain_request(
        engine, parse_request(request_doc(requester=requester, purpose=purpose.value, categories=categories))
    )
    org = registry()[requester]
    for item in ex.items:
        verdict = engine.authorise(
            org, item.capacity, item.category, purpose, Direction.INBOUND, item.consent
        )
        assert item.verdict.allowed == verdict.allowed
        assert set(item.verdict.policies) == set(verdict.policies)


# ---------------------------------------------------------------- questions from documents


def test_parse_question_names_the_bad_field() -> None:
    question = parse_question(
        {"requester": IE, "capacity": "victim", "category": "contact", "purpose": "immigration_enforcement"}
    )
    assert question == Question(IE, Capacity.VICTIM, Category.CONTACT, Purpose.IMMIGRATION_ENFORCEMENT)
    for document, field in [
        ({"requester": IE, "capacity": "vicitm", "category": "contact", "purpose": "other"}, "capacity"),
        ({"requester": IE, "capacity": "victim", "purpose": "other"}, "category"),
        (
            {"requester": "nobody", "capacity": "victim", "category": "contact", "purpose": "other"},
            "requester",
        ),
        (
            {
                "requester": IE,
                "capacity": "victim",
                "category": "contact",
                "purpose": "other",
                "consent": "yes",
            },
            "consent",
        ),
    ]:
        with pytest.raises(BadInput) as caught:
            parse_question(document)
        assert caught.value.field == field


# ---------------------------------------------------------------- the command line


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return dict(
        os.environ, SAFEREPORT_DB=f"sqlite:///{tmp_path / 'cli.db'}", SAFEREPORT_HOME=str(tmp_path / "home")
    )


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(SAFEREPORT + args, capture_output=True, text=True, env=env, timeout=120)


QUESTION = [
    "--requester",
    IE,
    "--capacity",
    "victim",
    "--category",
    "contact",
    "--purpose",
    "immigration_enforcement",
]


def test_cli_flag_form(env: dict[str, str]) -> None:
    proc = run(["policy", "explain", *QUESTION, "--controller", MET], env)
    assert proc.returncode == 0, proc.stderr
    assert "victim / contact / no consent: DENY (withheld)" in proc.stdout
    assert f"{BODIES}: {descriptions()[BODIES]}" in proc.stdout
    as_json = run(["policy", "explain", *QUESTION, "--controller", MET, "--consent", "--json"], env)
    assert as_json.returncode == 0
    (datum,) = json.loads(as_json.stdout)["data"]
    assert (datum["consent"], datum["verdict"]) == (True, "allow")
    assert [d["id"] for d in datum["decided_by"]] == ["lawful-subject-consent"]


def test_cli_request_form_and_controller_override(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request_doc(requester="crown-prosecution-service", purpose="prosecution")))
    proc = run(["policy", "explain", str(path), "--json"], env)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["controller"] == MET and document["request_id"] == "REQ-1"
    assert {d["verdict"] for d in document["data"]} == {"allow"}
    # Asked of a GP practice instead, the prosecution flow (police records only) does not apply.
    gp = run(["policy", "explain", str(path), "--controller", "nhs-gp-practice-example", "--json"], env)
    assert gp.returncode == 0, gp.stderr
    assert {d["verdict"] for d in json.loads(gp.stdout)["data"]} == {"deny"}
    text = run(["policy", "explain", str(path)], env)
    assert text.returncode == 0 and "What the policy says about request REQ-1" in text.stdout


def test_cli_explains_the_controllers_installed_local_policies(env: dict[str, str], tmp_path: Path) -> None:
    policy = tmp_path / "councils.cedar"
    policy.write_text(LOCAL[0].text)
    assert run(["policy", "add", MET, str(policy)], env).returncode == 0
    question = ["--requester", "london-borough-of-lambeth", "--capacity", "victim", "--category", "narrative"]
    proc = run(
        ["policy", "explain", *question, "--purpose", "safeguarding", "--controller", MET, "--json"], env
    )
    assert proc.returncode == 0, proc.stderr
    (datum,) = json.loads(proc.stdout)["data"]
    assert datum["verdict"] == "deny"
    assert [d["id"] for d in datum["decided_by"]] == ["local-councils"]
    assert json.loads(proc.stdout)["local_policies"] == ["councils"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (QUESTION, "--controller"),
        (
            [
                "--requester",
                IE,
                "--capacity",
                "vicitm",
                "--category",
                "contact",
                "--purpose",
                "other",
                "--controller",
                MET,
            ],
            "--capacity",
        ),
        (
            ["--requester", IE, "--category", "contact", "--purpose", "other", "--controller", MET],
            "--capacity",
        ),
        (
            [
                "--requester",
                "nobody",
                "--capacity",
                "victim",
                "--category",
                "contact",
                "--purpose",
                "other",
                "--controller",
                MET,
            ],
            "--requester",
        ),
        ([*QUESTION, "--controller", "nowhere"], "--controller"),
    ],
)
def test_cli_bad_questions_exit_2_naming_the_flag(env: dict[str, str], args: list[str], field: str) -> None:
    proc = run(["policy", "explain", *args], env)
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert f"bad_input: {field}:" in line or f"unknown_organisation: {field}:" in line


def test_cli_bad_requests_exit_2(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request_doc(purpose="deportation")))
    proc = run(["policy", "explain", str(path)], env)
    assert proc.returncode == 2 and proc.stdout == "" and "purpose" in proc.stderr
    path.write_text(json.dumps(request_doc()))
    both = run(["policy", "explain", str(path), "--capacity", "victim"], env)
    assert both.returncode == 2 and "REQUEST" in both.stderr
