"""The proof's model of Cedar against cedarpy, request by request, over the whole finite domain.

`DecisionModel` evaluates the very Z3 terms the solver proves things about (translated to a
Python function, no solver involved); `PolicyEngine.authorise_many` asks cedarpy. Any
disagreement, in the decision or in the policies that decided it, fails.
"""

from __future__ import annotations

import dataclasses
from itertools import product

import pytest

from safereport.model import Capacity, Category, Direction, Function, Organisation, OrgKind, Purpose
from safereport.orgs import Registry, registry
from safereport.policy.engine import PolicyEngine, Verdict, load_baseline
from safereport.policy.verify import DecisionModel

# Every requester of the registry, capacity, category, purpose, direction and consent flag:
# 100,224 requests per controller with the 58 organisations of the contract, more as it grows.
DOMAIN_SIZE = len(registry()) * 8 * 6 * 9 * 2 * 2


def one_controller_per_kind() -> dict[OrgKind, str]:
    chosen: dict[OrgKind, str] = {}
    for org in registry().values():
        chosen.setdefault(org.kind, org.id)
    return chosen


CONTROLLERS = one_controller_per_kind()


def disagreements(
    model: DecisionModel, engine: PolicyEngine, orgs: list[Organisation]
) -> tuple[int, list[str], dict[bool, int]]:
    domain = list(product(orgs, Capacity, Category, Purpose, Direction, (False, True)))
    cedar = engine.authorise_many([PolicyEngine.cedar_request(o.id, *rest) for o, *rest in domain])
    problems: list[str] = []
    outcomes = {True: 0, False: 0}
    for request, verdict in zip(domain, cedar, strict=True):
        mine = model.decide(*request)
        outcomes[verdict.allowed] += 1
        if mine.verdict() != verdict or mine.engine_allowed != verdict.allowed:
            org, *rest = request
            problems.append(f"{org.id} {[str(x) for x in rest]}: model {mine} cedar {verdict}")
    return len(domain), problems, outcomes


def check_controller(controller: str) -> None:
    baseline = load_baseline()
    checked, problems, outcomes = disagreements(
        DecisionModel(baseline, controller=controller), PolicyEngine(controller), list(registry().values())
    )
    assert checked == DOMAIN_SIZE >= 100_224
    assert not problems, f"{len(problems)} disagreements, e.g.\n" + "\n".join(problems[:10])
    assert outcomes[True] > 0 and outcomes[False] > 0  # both decisions were compared


def test_the_kinds_of_controller_in_the_registry() -> None:
    assert set(CONTROLLERS) >= {
        OrgKind.POLICE_FORCE, OrgKind.LOCAL_AUTHORITY, OrgKind.GP_PRACTICE, OrgKind.HOME_OFFICE,
        OrgKind.PROSECUTOR, OrgKind.COURTS, OrgKind.GOVERNMENT_DEPARTMENT,
    }  # fmt: skip


def test_the_model_agrees_with_cedar_on_every_request_to_a_police_force() -> None:
    check_controller("metropolitan-police-service")


@pytest.mark.slow
@pytest.mark.parametrize("kind", [k for k in CONTROLLERS if k is not OrgKind.POLICE_FORCE], ids=str)
def test_the_model_agrees_with_cedar_on_every_request_to_each_kind_of_controller(kind: OrgKind) -> None:
    check_controller(CONTROLLERS[kind])


# ---------------------------------------------------------------- every construct of the subset

# Policies using every construct the compiler accepts, and the evaluation errors it models
# (a missing attribute, a non-boolean operand of && or of an if, reached or short-circuited).
# Several do not validate against the schema, so they are run as part of a baseline, which
# the engine does not validate when it is handed one.
ZOO = """
@id("z-scope")
permit (principal == Org::"kent-police", action in [Action::"disclose"], resource is Datum)
when { resource.capacity != Capacity::"victim" && context.purpose == Purpose::"other" };
@id("z-self")
permit (principal, action == Action::"disclose", resource)
when { principal == resource.controller && resource.capacity in [Capacity::"suspect", Capacity::"witness"] };
@id("z-ite")
permit (principal is Org, action, resource)
when { if principal.kind == OrgKind::"local_authority" then resource.category == Category::"contact"
       else (principal.functions.containsAny([Function::"tax", Function::"benefits"]) && !context.consent) };
@id("z-has")
forbid (principal in Org::"department-for-work-pensions", action, resource)
when { principal has kind && !(context has nope) && resource.category in Category::"health" };
@id("z-all")
permit (principal, action, resource)
when { [Function::"courts"].containsAll(principal.functions) && !principal.functions.isEmpty() &&
       context.direction == Direction::"outbound" };
@id("z-lit")
permit (principal, action, resource)
when { Org::"hm-revenue-customs".kind == principal.kind && resource.controller.functions.contains(Function::"policing") &&
       [principal.kind, OrgKind::"courts"].contains(OrgKind::"government_department") };
@id("z-err")
forbid (principal, action, resource)
when { context.purpose == Purpose::"tax_administration" && principal.colour == Capacity::"victim" };
@id("z-err2")
forbid (principal, action, resource)
unless { context.purpose != Purpose::"benefits_administration" || (resource.capacity && true) };
@id("z-ite-err")
permit (principal, action, resource)
when { context.purpose == Purpose::"healthcare" &&
       (if context.direction == Direction::"inbound" then false else (if resource.capacity then true else false)) };
@id("z-seteq")
permit (principal, action, resource)
when { principal.functions == [Function::"safeguarding"] && resource.category != Category::"health" &&
       context.purpose == Purpose::"safeguarding" };
@id("z-is")
permit (principal, action, resource)
when { resource.controller is Org in principal && context.purpose == Purpose::"prosecution" };
@id("z-empty")
forbid (principal, action, resource)
when { [] == principal.functions ||
       (principal.functions.contains(Capacity::"victim") && Capacity::"victim" in [Category::"identity"]) };
"""

HYPOTHETICAL = [
    Organisation("hypothetical-requester", "x", OrgKind.SCHOOL, frozenset()),
    Organisation("hypothetical-requester", "x", OrgKind.NHS_TRUST, frozenset({Function.HEALTHCARE})),
    Organisation(
        "hypothetical-requester",
        "x",
        OrgKind.POLICE_FORCE,
        frozenset({Function.POLICING, Function.IMMIGRATION_ENFORCEMENT}),
    ),
    Organisation("hypothetical-requester", "x", OrgKind.GOVERNMENT_DEPARTMENT, frozenset({Function.TAX})),
    Organisation("hypothetical-requester", "x", OrgKind.COURTS, frozenset({Function.COURTS})),
    Organisation("hypothetical-requester", "x", OrgKind.LOCAL_AUTHORITY, frozenset(Function)),
]


def representatives(named: set[str]) -> list[Organisation]:
    chosen: dict[object, Organisation] = {}
    extra = []
    for org in registry().values():
        if org.id in named:
            extra.append(org)
        else:
            chosen.setdefault((org.kind, org.functions), org)
    return [*chosen.values(), *extra]


@pytest.mark.parametrize("controller", ["metropolitan-police-service", "london-borough-of-lambeth"])
def test_the_model_agrees_with_cedar_on_every_construct_and_error(controller: str) -> None:
    zoo = dataclasses.replace(load_baseline(), policies=load_baseline().policies + ZOO)
    named = {"kent-police", "department-for-work-pensions", "hm-revenue-customs", controller}
    model = DecisionModel(zoo, controller=controller)
    checked, problems, outcomes = disagreements(
        model, PolicyEngine(controller, baseline=zoo), representatives(named)
    )
    assert not problems, f"{len(problems)} disagreements, e.g.\n" + "\n".join(problems[:10])
    assert checked > 15_000 and outcomes[True] > 0
    fired: set[str] = set()
    errors: set[str] = set()
    for org, *rest in product(representatives(named), Capacity, Category, Purpose, Direction, (False, True)):
        verdict = model.decide(org, *rest)
        fired |= set(verdict.applies)
        errors |= set(verdict.errors)
    # every zoo policy was exercised: it applied somewhere, or it errored somewhere
    zoo_ids = {line.split('"')[1] for line in ZOO.splitlines() if line.startswith("@id")}
    unreachable = {"z-empty"} | (
        {"z-lit"} if registry()[controller].kind is not OrgKind.POLICE_FORCE else set()
    )
    assert zoo_ids - unreachable <= fired | errors
    assert {"z-err", "z-err2", "z-ite-err"} <= errors

    # requesters outside the registry: the hypothetical organisations of the proof
    for hypothetical in HYPOTHETICAL:
        orgs = Registry([*registry().values(), hypothetical])
        engine = PolicyEngine(controller, baseline=zoo, orgs=orgs)
        _, problems, _ = disagreements(model, engine, [hypothetical])
        assert not problems, f"{hypothetical}: " + "\n".join(problems[:10])


def test_a_model_verdict_is_the_engines_verdict_shape() -> None:
    model = DecisionModel(load_baseline(), controller="kent-police")
    ie = registry()["home-office-immigration-enforcement"]
    args = (Category.NATIONALITY, Purpose.IMMIGRATION_ENFORCEMENT, Direction.INBOUND, False)
    assert model.decide(ie, Capacity.VICTIM, *args).verdict() == Verdict(
        False,
        ("firewall-immigration-bodies", "firewall-immigration-purpose", "firewall-status-and-nationality"),
    )
    assert model.decide(ie, Capacity.SUSPECT, *args).verdict() == Verdict(
        True, ("lawful-status-check-inbound",)
    )
