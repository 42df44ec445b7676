"""The symbolic request domain: entity codes, the request's Z3 variables, well-formed requests.

The principal and the datum's controller are each either an organisation of the registry (its
kind and functions pinned) or a hypothetical organisation (any kind, any set of functions), so
a proof also covers organisations added to the registry later. Capacity, category, purpose and
direction range over the schema's enumerations, consent over both truth values.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import z3

from safereport.model import Capacity, Category, Direction, Function, OrgKind, Purpose
from safereport.orgs import Registry, registry

WIDTH = 16
ACTION_ID = "disclose"
HYPOTHETICAL = ("<hypothetical-1>", "<hypothetical-2>")

ENUMS: Mapping[str, type[StrEnum]] = {
    "Capacity": Capacity,
    "Category": Category,
    "Purpose": Purpose,
    "Function": Function,
    "OrgKind": OrgKind,
    "Direction": Direction,
}
FUNCTIONS: tuple[Function, ...] = tuple(Function)

# z3's Python API shares one context per process; every use of it goes through this lock.
Z3_LOCK = threading.RLock()


# ---------------------------------------------------------------- entity codes


class Universe:
    """Codes for entity ids, per entity type: the domain's values first, then ids that only
    policies name (a misspelt enum value, when validation is skipped), which no request takes."""

    def __init__(self, orgs: Registry) -> None:
        self.orgs = orgs
        self._values: dict[str, list[str]] = {name: [v.value for v in enum] for name, enum in ENUMS.items()}
        self._values["Org"] = [*orgs, *HYPOTHETICAL]
        self._values["Action"] = [ACTION_ID]
        self.domain_size = {name: len(values) for name, values in self._values.items()}
        self._codes = {name: {v: i for i, v in enumerate(values)} for name, values in self._values.items()}

    def code(self, etype: str, eid: str) -> int:
        codes = self._codes[etype]
        found = codes.get(eid)
        if found is None:
            found = codes[eid] = len(self._values[etype])
            self._values[etype].append(eid)
        return found

    def ids(self, etype: str) -> list[str]:
        return list(self._values[etype])

    def name(self, etype: str, code: int) -> str:
        return self._values[etype][code]

    @property
    def registry_size(self) -> int:
        return len(self.orgs)


# Constants are built once and recognised by identity: asking z3 what a term is costs far more
# than building it, and these checks run for every node of every policy.
_BV: dict[int, z3.BitVecRef] = {}
_BV_VALUE: dict[int, int] = {}


def bv(n: int) -> z3.BitVecRef:
    found = _BV.get(n)
    if found is None:
        found = _BV[n] = z3.BitVecVal(n, WIDTH)
        _BV_VALUE[id(found)] = n
    return found


# ---------------------------------------------------------------- smart constructors

TRUE = z3.BoolVal(True)
FALSE = z3.BoolVal(False)


def boolean(value: bool) -> z3.BoolRef:
    return TRUE if value else FALSE


def and_(*xs: z3.BoolRef) -> z3.BoolRef:
    kept = []
    for x in xs:
        if x is FALSE:
            return FALSE
        if x is not TRUE:
            kept.append(x)
    return kept[0] if len(kept) == 1 else (z3.And(*kept) if kept else TRUE)


def or_(*xs: z3.BoolRef) -> z3.BoolRef:
    kept = []
    for x in xs:
        if x is TRUE:
            return TRUE
        if x is not FALSE:
            kept.append(x)
    return kept[0] if len(kept) == 1 else (z3.Or(*kept) if kept else FALSE)


def not_(x: z3.BoolRef) -> z3.BoolRef:
    if x is TRUE:
        return FALSE
    if x is FALSE:
        return TRUE
    return z3.Not(x)


def eq_(a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
    va, vb = _BV_VALUE.get(id(a)), _BV_VALUE.get(id(b))
    if va is not None and vb is not None:
        return boolean(va == vb)
    if a is TRUE or a is FALSE:
        return b if a is TRUE else not_(b)
    if b is TRUE or b is FALSE:
        return a if b is TRUE else not_(a)
    return a == b


def ite_(c: z3.BoolRef, t: z3.ExprRef, e: z3.ExprRef) -> z3.ExprRef:
    if c is TRUE:
        return t
    if c is FALSE:
        return e
    return z3.If(c, t, e)


def implies_(a: z3.BoolRef, b: z3.BoolRef) -> z3.BoolRef:
    return or_(not_(a), b)


# ---------------------------------------------------------------- the symbolic request


@dataclass(frozen=True, slots=True)
class OrgTerms:
    id: z3.BitVecRef
    kind: z3.BitVecRef
    functions: tuple[z3.BoolRef, ...]  # in FUNCTIONS order

    @staticmethod
    def named(prefix: str) -> OrgTerms:
        return OrgTerms(
            z3.BitVec(f"{prefix}.id", WIDTH),
            z3.BitVec(f"{prefix}.kind", WIDTH),
            tuple(z3.Bool(f"{prefix}.function.{f.value}") for f in FUNCTIONS),
        )


@dataclass(frozen=True, slots=True)
class RequestTerms:
    """The symbolic request: what the property and the policies are stated over."""

    universe: Universe
    principal: OrgTerms
    controller: OrgTerms
    capacity: z3.BitVecRef
    category: z3.BitVecRef
    purpose: z3.BitVecRef
    direction: z3.BitVecRef
    consent: z3.BoolRef

    def _is(self, term: z3.BitVecRef, etype: str, values: Iterable[StrEnum]) -> z3.BoolRef:
        return or_(*(eq_(term, bv(self.universe.code(etype, v.value))) for v in values))

    def capacity_in(self, values: Iterable[Capacity]) -> z3.BoolRef:
        return self._is(self.capacity, "Capacity", values)

    def category_in(self, values: Iterable[Category]) -> z3.BoolRef:
        return self._is(self.category, "Category", values)

    def purpose_in(self, values: Iterable[Purpose]) -> z3.BoolRef:
        return self._is(self.purpose, "Purpose", values)

    def principal_has_function(self, function: Function) -> z3.BoolRef:
        return self.principal.functions[FUNCTIONS.index(function)]

    def variables(self) -> list[z3.ExprRef]:
        """Every free variable, in a fixed order (the evaluator's argument order)."""
        out: list[z3.ExprRef] = []
        for org in (self.principal, self.controller):
            out += [org.id, org.kind, *org.functions]
        out += [self.capacity, self.category, self.purpose, self.direction, self.consent]
        return out


@cache
def request_terms() -> RequestTerms:
    """The one symbolic request of this process, over the shipped registry."""
    with Z3_LOCK:
        return RequestTerms(
            Universe(registry()),
            OrgTerms.named("principal"),
            OrgTerms.named("controller"),
            z3.BitVec("resource.capacity", WIDTH),
            z3.BitVec("resource.category", WIDTH),
            z3.BitVec("context.purpose", WIDTH),
            z3.BitVec("context.direction", WIDTH),
            z3.Bool("context.consent"),
        )


def _org_pinned(u: Universe, org: OrgTerms, org_id: str) -> z3.BoolRef:
    known = u.orgs[org_id]
    return and_(
        eq_(org.kind, bv(u.code("OrgKind", known.kind.value))),
        *(
            org.functions[i] if f in known.functions else not_(org.functions[i])
            for i, f in enumerate(FUNCTIONS)
        ),
    )


def _org_domain(u: Universe, org: OrgTerms) -> list[z3.BoolRef]:
    out = [z3.ULT(org.id, bv(u.domain_size["Org"])), z3.ULT(org.kind, bv(u.domain_size["OrgKind"]))]
    for org_id in u.orgs:
        out.append(implies_(eq_(org.id, bv(u.code("Org", org_id))), _org_pinned(u, org, org_id)))
    return out


@cache
def _well_formed(r: RequestTerms) -> tuple[z3.BoolRef, ...]:
    u = r.universe
    with Z3_LOCK:
        return (
            z3.ULT(r.capacity, bv(u.domain_size["Capacity"])),
            z3.ULT(r.category, bv(u.domain_size["Category"])),
            z3.ULT(r.purpose, bv(u.domain_size["Purpose"])),
            z3.ULT(r.direction, bv(u.domain_size["Direction"])),
            *_org_domain(u, r.principal),
            *_org_domain(u, r.controller),
            # One identity, one organisation: a principal that is the controller has its attributes.
            implies_(
                eq_(r.principal.id, r.controller.id),
                and_(
                    eq_(r.principal.kind, r.controller.kind),
                    *(eq_(a, b) for a, b in zip(r.principal.functions, r.controller.functions, strict=True)),
                ),
            ),
        )


def domain(r: RequestTerms, *, controller: str | None, registry_only: bool) -> list[z3.BoolRef]:
    """Well-formed requests: enum values of the schema, organisations consistent by identity.

    `controller` fixes the datum's controller (the engine's is always its owner); None leaves it
    symbolic. `registry_only` keeps the principal (and a symbolic controller) in the registry.
    """
    u = r.universe
    out = list(_well_formed(r))
    if controller is not None:
        out.append(eq_(r.controller.id, bv(u.code("Org", controller))))
    if registry_only:
        out.append(z3.ULT(r.principal.id, bv(u.registry_size)))
        if controller is None:
            out.append(z3.ULT(r.controller.id, bv(u.registry_size)))
    return out
