"""The Z3 terms of a policy set as a plain function of a concrete request.

The very terms the solver proves things about are evaluated, without the solver, on concrete
requests: the differential check compares them with cedarpy on the whole domain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from safereport.model import Capacity, Category, Direction, Function, Organisation, OrgKind, Purpose
from safereport.orgs import registry
from safereport.policy.engine import DEFAULT_DENY, EVALUATION_ERROR, Baseline, LocalPolicy, Verdict
from safereport.policy.verify._domain import FUNCTIONS, HYPOTHETICAL, Z3_LOCK, and_, not_, or_, request_terms
from safereport.policy.verify._evaluate import compile_terms
from safereport.policy.verify.prove import compiled


@dataclass(frozen=True, slots=True)
class ModelVerdict:
    """The Z3 model's decision on one concrete request."""

    engine_allowed: bool
    cedar_allowed: bool
    applies: tuple[str, ...]  # ids of the policies whose condition holds without error
    errors: tuple[str, ...]  # ids of the policies whose evaluation errors
    forbids: tuple[str, ...]  # the subset of `applies` that are forbids

    def verdict(self) -> Verdict:
        """As `PolicyEngine` reports it."""
        if self.errors:
            return Verdict(False, (EVALUATION_ERROR,))
        if self.forbids:
            return Verdict(False, tuple(sorted(self.forbids)))
        if self.applies:
            return Verdict(True, tuple(sorted(self.applies)))
        return Verdict(False, (DEFAULT_DENY,))


class DecisionModel:
    """The Z3 terms of a policy set, evaluated on concrete requests without the solver."""

    def __init__(self, baseline: Baseline, local: Sequence[LocalPolicy] = (), *, controller: str) -> None:
        self.r = request_terms()
        local = sorted(local, key=lambda p: p.policy_id)
        self.policies = [
            *compiled(baseline.policies, "the baseline"),
            *(c for p in local for c in compiled(p.text, f"local policy {p.policy_id!r}")),
        ]
        registry().require(controller, field="controller")
        self.controller = controller
        with Z3_LOCK:
            permit = or_(*(p.sat for p in self.policies if p.effect == "permit"))
            forbid = or_(*(p.sat for p in self.policies if p.effect == "forbid"))
            errors = or_(*(p.err for p in self.policies))
            cedar_allow = and_(permit, not_(forbid))
            terms = [and_(cedar_allow, not_(errors)), cedar_allow]
            terms += [p.sat for p in self.policies] + [p.err for p in self.policies]
            self._evaluate = compile_terms(self.r.variables(), terms)
        self._controller_args = self._org_args(registry()[controller], 0)

    def _org_args(self, org: Organisation, hypothetical: int) -> list[int | bool]:
        u = self.r.universe
        code = u.code("Org", org.id) if org.id in u.orgs else u.code("Org", HYPOTHETICAL[hypothetical])
        return [code, u.code("OrgKind", org.kind.value), *(f in org.functions for f in FUNCTIONS)]

    def args(
        self,
        requester: Organisation,
        capacity: Capacity,
        category: Category,
        purpose: Purpose,
        direction: Direction,
        consent: bool,
    ) -> list[int | bool]:
        """The evaluator's arguments; a requester outside the registry is a hypothetical one."""
        u = self.r.universe
        return [
            *self._org_args(requester, 0),
            *self._controller_args,
            u.code("Capacity", capacity.value),
            u.code("Category", category.value),
            u.code("Purpose", purpose.value),
            u.code("Direction", direction.value),
            consent,
        ]

    def decide_args(self, args: Sequence[int | bool]) -> ModelVerdict:
        values = self._evaluate(args)
        n = len(self.policies)
        sat, err = values[2 : 2 + n], values[2 + n :]
        applies = tuple(p.policy_id for p, v in zip(self.policies, sat, strict=True) if v)
        forbids = tuple(
            p.policy_id for p, v in zip(self.policies, sat, strict=True) if v and p.effect == "forbid"
        )
        errors = tuple(p.policy_id for p, v in zip(self.policies, err, strict=True) if v)
        return ModelVerdict(bool(values[0]), bool(values[1]), applies, errors, forbids)

    def decide(
        self,
        requester: Organisation,
        capacity: Capacity,
        category: Category,
        purpose: Purpose,
        direction: Direction,
        consent: bool,
    ) -> ModelVerdict:
        return self.decide_args(self.args(requester, capacity, category, purpose, direction, consent))


def hypothetical_org(
    kind: OrgKind, functions: Iterable[Function], org_id: str = "hypothetical-requester"
) -> Organisation:
    return Organisation(org_id, org_id, kind, frozenset(functions))
