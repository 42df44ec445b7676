"""Deliberately broken baselines: each must be caught, with a counterexample that cedarpy allows.

The property is restated here in plain Python (contract §5 and docs/design.md), independently
of `property.py`, and every counterexample is checked against it and asked of cedarpy: through
`PolicyEngine` (the engine's semantics: any error denies) or, for Cedar's own semantics (an
erroring policy is skipped), through cedarpy's raw decision.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from safereport.model import Category, Function, Purpose
from safereport.orgs import Registry, registry
from safereport.policy.engine import Baseline, LocalPolicy, PolicyEngine, load_baseline
from safereport.policy.verify import Counterexample, PolicyInvalid, replay, verify_policy_set

MET = "metropolitan-police-service"
UNPROTECTED = {"suspect", "offender"}
IMMIGRATION_FUNCTIONS = {Function.IMMIGRATION_ENFORCEMENT, Function.IMMIGRATION_CASEWORK}

BODIES_WHEN = (
    '  principal.functions.contains(Function::"immigration_enforcement") ||\n'
    '  principal.functions.contains(Function::"immigration_casework")\n'
)
ALLOWLIST = '[Capacity::"suspect", Capacity::"offender"].contains(resource.capacity)'
BODIES_UNLESS = f'unless {{\n  {ALLOWLIST} || context.consent\n}};\n\n@id("firewall-immigration-purpose")'
STATUS_WHEN = '[Category::"immigration_status", Category::"nationality"].contains(resource.category)'
PURPOSE_FORBID = (
    '@id("firewall-immigration-purpose")\n'
    '@description("No datum collected in a protected capacity is disclosed to anyone for immigration '
    'enforcement, unless the subject consented.")\n'
    'forbid (principal, action == Action::"disclose", resource)\n'
    'when { context.purpose == Purpose::"immigration_enforcement" }\n'
    f"unless {{\n  {ALLOWLIST} || context.consent\n}};\n"
)
STATUS_FORBID_HEAD = '@id("firewall-status-and-nationality")'
POLICE_IDENTITY = (
    '@id("police-identity")\npermit (principal, action, resource)\n'
    'when { principal.functions.contains(Function::"policing") && resource.category == Category::"identity" };\n'
)


@dataclass(frozen=True)
class Mutant:
    name: str
    edits: tuple[tuple[str, str], ...]
    fails: frozenset[str]  # properties expected to fail (property id, or id:semantics)
    local: tuple[str, ...] = ()  # local policies of MET run beside it
    valid: bool = True  # False: the schema's validation refuses it (and must, first)

    def baseline(self) -> Baseline:
        text = load_baseline().policies
        for old, new in self.edits:
            assert old in text, (self.name, old)
            text = text.replace(old, new, 1)
        return dataclasses.replace(load_baseline(), policies=text)

    def locals(self) -> list[LocalPolicy]:
        return [LocalPolicy(MET, f"local-{i}", t) for i, t in enumerate(self.local)]


MUTANTS = [
    Mutant("typo-in-a-function", (('Function::"immigration_enforcement") ||', 'Function::"immigration_enforcment") ||'),),
           frozenset({"firewall-immigration"}), valid=False),
    Mutant("typo-in-a-capacity-of-a-denylist",
           ((ALLOWLIST + " || context.consent\n};\n\n@id(\"firewall-immigration-purpose\")",
             '![Capacity::"victim", Capacity::"witnes", Capacity::"reporter", Capacity::"patient", Capacity::"pupil", '
             'Capacity::"service_user"].contains(resource.capacity) || context.consent\n};\n\n'
             '@id("firewall-immigration-purpose")'),),
           frozenset({"firewall-immigration"}), valid=False),
    Mutant("dropped-casework", ((BODIES_WHEN, '  principal.functions.contains(Function::"immigration_enforcement")\n'),),
           frozenset({"firewall-immigration"})),
    Mutant("dropped-enforcement", ((BODIES_WHEN, '  principal.functions.contains(Function::"immigration_casework")\n'),),
           frozenset({"firewall-immigration"})),
    Mutant("or-became-and", ((BODIES_WHEN, BODIES_WHEN.replace("||", "&&")),), frozenset({"firewall-immigration"})),
    Mutant("unless-became-when", ((BODIES_UNLESS, BODIES_UNLESS.replace("unless", "when", 1)),),
           frozenset({"firewall-immigration"})),
    Mutant("consent-guard-inverted", ((BODIES_UNLESS, BODIES_UNLESS.replace("|| context.consent", "|| !context.consent")),),
           frozenset({"firewall-immigration"})),
    Mutant("victim-unprotected", tuple((ALLOWLIST, ALLOWLIST.replace('"offender"]', '"offender", Capacity::"victim"]'))
                                       for _ in range(3)),
           frozenset({"firewall-immigration", "firewall-status-nationality"})),
    Mutant("reporter-unprotected", ((ALLOWLIST, ALLOWLIST.replace('"offender"]', '"offender", Capacity::"reporter"]')),),
           frozenset({"firewall-immigration"})),
    Mutant("nationality-dropped", ((STATUS_WHEN, '[Category::"immigration_status"].contains(resource.category)'),),
           frozenset({"firewall-status-nationality"})),
    Mutant("purpose-forbid-deleted-under-a-local-permit", ((PURPOSE_FORBID, ""),), frozenset({"firewall-immigration"}),
           local=(POLICE_IDENTITY,)),
    Mutant("forbid-removed-and-broad-permit", ((STATUS_FORBID_HEAD, '@id("police-anything")\npermit (principal, action, '
               'resource) when { principal.functions.contains(Function::"policing") };\n@id("x")'),
               ('forbid (principal, action == Action::"disclose", resource)\nwhen {\n  ' + STATUS_WHEN,
                'forbid (principal, action == Action::"disclose", resource)\nwhen {\n  false && ' + STATUS_WHEN)),
           frozenset({"firewall-status-nationality"})),
    Mutant("forbid-that-errors", (("  principal.functions.contains(Function::\"immigration_casework\")\n",
                                   "  principal.functionz.contains(Function::\"immigration_casework\")\n"),),
           frozenset({"firewall-immigration:cedar", "no-evaluation-errors"}), valid=False),
    Mutant("forbid-on-another-action", (('@description("No datum collected in a protected capacity goes to a body with '
                                         'immigration functions, whatever purpose it states, unless the subject '
                                         'consented.")\nforbid (principal, action == Action::"disclose"',
                                         '@description("x")\nforbid (principal, action == Action::"share"'),),
           frozenset({"firewall-immigration"}), valid=False),
    Mutant("forbid-scoped-to-one-body", (('@description("No datum collected in a protected capacity goes to a body with '
                                          'immigration functions, whatever purpose it states, unless the subject '
                                          'consented.")\nforbid (principal, action',
                                          '@description("x")\nforbid (principal == Org::"home-office-immigration-'
                                          'enforcement", action'),),
           frozenset({"firewall-immigration"})),
]  # fmt: skip


def breaches(cx: Counterexample) -> set[str]:
    """§5, restated: which parts of the firewall would releasing this datum breach?"""
    if cx.consent or cx.capacity.value in UNPROTECTED:
        return set()
    out = set()
    if cx.requester.functions & IMMIGRATION_FUNCTIONS or cx.purpose is Purpose.IMMIGRATION_ENFORCEMENT:
        out.add("firewall-immigration")
    if cx.category in (Category.NATIONALITY, Category.IMMIGRATION_STATUS):
        out.add("firewall-status-nationality")
    return out


def engine_allows(cx: Counterexample, baseline: Baseline, local: list[LocalPolicy]) -> bool:
    """The engine's own answer (any evaluation error denies), with hypothetical parties added."""
    requester, controller = cx.cedar_ids()
    orgs = Registry([*registry().values(), *cx.hypothetical_organisations()])
    engine = PolicyEngine(controller, local, baseline=baseline, orgs=orgs)
    request = PolicyEngine.cedar_request(
        requester, cx.capacity, cx.category, cx.purpose, cx.direction, cx.consent
    )
    return engine.authorise_many([request])[0].allowed


def test_there_are_at_least_a_dozen_mutants_and_each_changes_the_text() -> None:
    assert len(MUTANTS) >= 12 and len({m.name for m in MUTANTS}) == len(MUTANTS)
    for m in MUTANTS:
        assert m.baseline().policies != load_baseline().policies, m.name


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_each_mutant_is_caught_with_a_counterexample_cedar_allows(mutant: Mutant) -> None:
    baseline, local = mutant.baseline(), mutant.locals()
    if not mutant.valid:
        # The schema refuses it before any proof; the proof, shown the text anyway, also catches it.
        with pytest.raises(PolicyInvalid):
            verify_policy_set(baseline, local, controller=MET if local else None)
    report = verify_policy_set(baseline, local, controller=MET if local else None, validate=mutant.valid)
    assert not report.proven
    failed = {r.property for r in report.failures} | {f"{r.property}:{r.semantics}" for r in report.failures}
    assert mutant.fails <= failed, report.summary()
    templates = _templates(baseline.policies + "".join("\n" + p.text for p in local))
    for failure in report.failures:
        cx = failure.counterexample
        assert cx is not None, failure
        if local:
            assert cx.controller.id == MET
        if failure.property == "no-evaluation-errors":
            assert replay(cx, templates, baseline.schema).errors
            continue
        assert failure.property in breaches(cx), (failure.property, str(cx))
        if failure.semantics == "engine":
            assert engine_allows(cx, baseline, local), str(cx)
        else:
            assert replay(cx, templates, baseline.schema).decision == "Allow", str(cx)
        # the shipped baseline (with the same local policies) denies the very same request
        assert not engine_allows(cx, load_baseline(), local)


def _templates(text: str):  # type: ignore[no-untyped-def]
    import cedarpy

    return list(cedarpy.policies_to_pst(text).static_policies.values())


def test_a_broad_permit_beside_the_forbids_is_not_a_mutant() -> None:
    # Forbid overrides permit: "permit everything" added to an intact baseline cannot open the
    # firewall, and the proof says so (it does not flag every change).
    baseline = load_baseline()
    opened = dataclasses.replace(
        baseline, policies=baseline.policies + '\n@id("open-door")\npermit (principal, action, resource);\n'
    )
    assert verify_policy_set(opened).proven
    # ...while the same permit as a local policy is refused for its text: it claims to permit
    # what the baseline forbids.
    open_door = LocalPolicy(MET, "open-door", '@id("open-door")\npermit (principal, action, resource);')
    report = verify_policy_set(baseline, [open_door])
    assert [(r.property, r.policy) for r in report.failures] == [("local-adds-only", "open-door")]


def test_the_purpose_forbid_alone_is_redundant_today() -> None:
    # Defence in depth, measured: without local permits no baseline permit reaches immigration
    # enforcement for protected data, so deleting the purpose forbid alone breaks nothing yet...
    deleted = dataclasses.replace(
        load_baseline(), policies=load_baseline().policies.replace(PURPOSE_FORBID, "")
    )
    assert verify_policy_set(deleted).proven
    # ...and a local permit that the intact baseline contains is what it guards against.
    police = LocalPolicy(MET, "police-identity", POLICE_IDENTITY)
    assert not verify_policy_set(deleted, [police]).proven
    intact = verify_policy_set(load_baseline(), [police])
    assert {r.property for r in intact.failures} == {"local-adds-only"}
