"""Invariants of the proof, tested on generated policies against brute force with cedarpy."""

from __future__ import annotations

import dataclasses
from functools import cache
from itertools import product

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safereport.model import Capacity, Category, Direction, Function, Organisation, OrgKind, Purpose
from safereport.orgs import Registry, registry
from safereport.policy.engine import LocalPolicy, PolicyEngine, load_baseline
from safereport.policy.verify import DecisionModel, verify_policy_set

MET = "metropolitan-police-service"
NAMEABLE = ["kent-police", "home-office-immigration-enforcement", "department-for-work-pensions", MET]


def _set(kind: str, values: list[str]) -> str:
    return "[" + ", ".join(f'{kind}::"{v}"' for v in values) + "]"


@st.composite
def conditions(draw: st.DrawFn) -> str:
    """A condition over the vocabulary, as a controller might write one."""
    atoms = [
        st.lists(st.sampled_from([c.value for c in Capacity]), min_size=1, max_size=3, unique=True).map(
            lambda v: f"{_set('Capacity', v)}.contains(resource.capacity)"
        ),
        st.lists(st.sampled_from([c.value for c in Category]), min_size=1, max_size=3, unique=True).map(
            lambda v: f"{_set('Category', v)}.contains(resource.category)"
        ),
        st.lists(st.sampled_from([p.value for p in Purpose]), min_size=1, max_size=3, unique=True).map(
            lambda v: f"{_set('Purpose', v)}.contains(context.purpose)"
        ),
        st.lists(st.sampled_from([f.value for f in Function]), min_size=1, max_size=2, unique=True).map(
            lambda v: f"principal.functions.containsAny({_set('Function', v)})"
        ),
        st.sampled_from([k.value for k in OrgKind]).map(lambda k: f'principal.kind == OrgKind::"{k}"'),
        st.sampled_from(NAMEABLE).map(lambda o: f'principal == Org::"{o}"'),
        st.sampled_from(["inbound", "outbound"]).map(lambda d: f'context.direction == Direction::"{d}"'),
        st.sampled_from(["context.consent", "!context.consent", "principal == resource.controller"]),
    ]
    parts = draw(st.lists(st.one_of(*atoms), min_size=1, max_size=4))
    negate = draw(st.lists(st.booleans(), min_size=len(parts), max_size=len(parts)))
    joiner = draw(st.sampled_from([" && ", " && ", " || "]))
    return joiner.join(f"!({p})" if n else p for p, n in zip(parts, negate, strict=True))


def representatives(text: str) -> list[Organisation]:
    """One requester per (kind, functions), plus every organisation the text names and MET itself
    (`principal == resource.controller` singles it out): all a policy can tell apart."""
    named = {o for o in registry() if f'"{o}"' in text} | {MET}
    chosen: dict[object, Organisation] = {}
    extra = []
    for org in registry().values():
        if org.id in named:
            extra.append(org)
        else:
            chosen.setdefault((org.kind, org.functions), org)
    return [*chosen.values(), *extra]


@cache
def forbidden_by_baseline() -> frozenset[tuple[str, Capacity, Category, Purpose, Direction, bool]]:
    """Every request (of any requester a generated policy can tell apart) that a baseline forbid
    forbids, by brute force."""
    engine = PolicyEngine(MET)
    every_named = " ".join(f'"{o}"' for o in NAMEABLE)
    domain = list(
        product(representatives(every_named), Capacity, Category, Purpose, Direction, (False, True))
    )
    verdicts = engine.authorise_many([PolicyEngine.cedar_request(o.id, *rest) for o, *rest in domain])
    return frozenset(
        (o.id, *rest)  # type: ignore[misc]
        for (o, *rest), v in zip(domain, verdicts, strict=True)
        if any(p.startswith("firewall-") for p in v.policies)
    )


def brute_force_weakens(policy: LocalPolicy) -> bool:
    """Does the permit, alone, allow some request a baseline forbid forbids? Asked of cedarpy."""
    alone = PolicyEngine(MET, baseline=dataclasses.replace(load_baseline(), policies=policy.text))
    orgs = {o.id for o in representatives(policy.text)}
    candidates = [key for key in forbidden_by_baseline() if key[0] in orgs]
    verdicts = alone.authorise_many([PolicyEngine.cedar_request(*key) for key in candidates])
    return any(v.allowed for v in verdicts)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions())
def test_local_adds_only_agrees_with_brute_force(condition: str) -> None:
    policy = LocalPolicy(
        MET, "generated", f'@id("generated")\npermit (principal, action, resource)\nwhen {{ {condition} }};'
    )
    report = verify_policy_set(load_baseline(), [policy])
    [adds_only] = [r for r in report.results if r.property == "local-adds-only"]
    assert adds_only.proven is not brute_force_weakens(policy), (condition, adds_only)
    if not adds_only.proven:
        cx = adds_only.counterexample
        assert cx is not None and cx.requester.id is not None  # a requester of the registry
        request = PolicyEngine.cedar_request(
            cx.requester.id, cx.capacity, cx.category, cx.purpose, cx.direction, cx.consent
        )
        [verdict] = PolicyEngine(MET).authorise_many([request])
        assert any(p.startswith("firewall-") for p in verdict.policies), (str(cx), verdict)
    # whatever the permit, the set keeps the firewall: forbid overrides permit
    assert {r.property for r in report.failures} <= {"local-adds-only"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions(), st.booleans())
def test_any_forbid_is_proven_harmless(condition: str, unless: bool) -> None:
    clause = "unless" if unless else "when"
    policy = LocalPolicy(
        MET, "f", f'@id("f")\nforbid (principal, action, resource)\n{clause} {{ {condition} }};'
    )
    assert verify_policy_set(load_baseline(), [policy]).proven


hypothetical_orgs = st.builds(
    lambda kind, functions: Organisation("hypothetical-requester", "h", kind, frozenset(functions)),
    st.sampled_from(list(OrgKind)),
    st.sets(st.sampled_from(list(Function))),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hypothetical_orgs,
    st.sampled_from(list(Capacity)),
    st.sampled_from(list(Category)),
    st.sampled_from(list(Purpose)),
    st.sampled_from(list(Direction)),
    st.booleans(),
    st.sampled_from([MET, "nhs-gp-practice-example", "home-office-uk-visas-immigration"]),
)
def test_the_model_agrees_with_cedar_for_organisations_outside_the_registry(
    org: Organisation,
    capacity: Capacity,
    category: Category,
    purpose: Purpose,
    direction: Direction,
    consent: bool,
    controller: str,
) -> None:
    engine = PolicyEngine(controller, orgs=Registry([*registry().values(), org]))
    request = PolicyEngine.cedar_request(org.id, capacity, category, purpose, direction, consent)
    [verdict] = engine.authorise_many([request])
    mine = DecisionModel(load_baseline(), controller=controller).decide(
        org, capacity, category, purpose, direction, consent
    )
    assert mine.verdict() == verdict


@st.composite
def weakened_baselines(draw: st.DrawFn) -> str:
    """The baseline with one element dropped from one list of one forbid (or one clause emptied)."""
    text = load_baseline().policies
    edits = [
        ('principal.functions.contains(Function::"immigration_enforcement") ||\n  ', ""),
        (' ||\n  principal.functions.contains(Function::"immigration_casework")', ""),
        ('Category::"immigration_status", ', ""),
        (', Category::"nationality"', ""),
        ('when { context.purpose == Purpose::"immigration_enforcement" }', "when { false }"),
        (
            '[Capacity::"suspect", Capacity::"offender"]',
            '[Capacity::"suspect", Capacity::"offender", Capacity::"witness"]',
        ),
    ]
    chosen = draw(st.lists(st.sampled_from(edits), min_size=1, max_size=2, unique=True))
    for old, new in chosen:
        text = text.replace(old, new, 1)
    return text


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weakened_baselines())
def test_a_proven_baseline_has_no_violation_among_registry_requests(policies: str) -> None:
    baseline = dataclasses.replace(load_baseline(), policies=policies)
    report = verify_policy_set(baseline)
    if not report.proven:
        return  # counterexamples are confirmed with cedarpy inside the proof, and in the mutation tests
    engine = PolicyEngine(MET, baseline=baseline)
    protected = [c for c in Capacity if c.protected]
    # the baseline (mutated or not) names no organisation: requesters alike in kind and functions
    # are alike to it
    assert "Org::" not in policies
    domain = list(product(representatives(""), protected, Category, Purpose, Direction))
    verdicts = engine.authorise_many([PolicyEngine.cedar_request(o.id, *rest, False) for o, *rest in domain])
    for (org, _capacity, category, purpose, _direction), verdict in zip(domain, verdicts, strict=True):
        if not verdict.allowed:
            continue
        assert not org.functions & {Function.IMMIGRATION_ENFORCEMENT, Function.IMMIGRATION_CASEWORK}
        assert purpose is not Purpose.IMMIGRATION_ENFORCEMENT
        assert category not in (Category.NATIONALITY, Category.IMMIGRATION_STATUS)
