"""Cedar policies to Z3, for the subset of Cedar that safereport's policies use.

Every expression compiles to a value and an error condition with Cedar's semantics: `&&`,
`||` and `if` short-circuit, a type error or a missing attribute is an error, `==` between
values of different types is false. Entities have no parents (the engine builds none), so
`in` is equality. A construct outside the subset raises `UnsupportedPolicy`, naming the
construct and the policy: nothing is approximated. The request the policies are compiled over
is `_domain.RequestTerms`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cedarpy
import z3
from cedarpy import pst

from safereport.errors import PolicyError
from safereport.policy.verify._domain import (
    ACTION_ID,
    ENUMS,
    FALSE,
    FUNCTIONS,
    TRUE,
    Z3_LOCK,
    OrgTerms,
    RequestTerms,
    and_,
    boolean,
    bv,
    eq_,
    implies_,
    ite_,
    not_,
    or_,
)


class UnsupportedPolicy(PolicyError):
    """A policy uses a construct outside the subset the verifier encodes exactly."""

    code = "policy_unsupported"
    exit_status = 2


# ---------------------------------------------------------------- symbolic values


@dataclass(frozen=True, slots=True)
class BoolV:
    val: z3.BoolRef
    err: z3.BoolRef


@dataclass(frozen=True, slots=True)
class EntV:
    etype: str
    code: z3.BitVecRef
    attrs: Mapping[str, Value]
    err: z3.BoolRef


@dataclass(frozen=True, slots=True)
class SetV:
    elem: str | None  # the entity type of the elements; None for the empty literal
    members: Mapping[str, z3.BoolRef]  # entity id -> is a member
    err: z3.BoolRef


@dataclass(frozen=True, slots=True)
class RecV:
    fields: Mapping[str, Value]
    err: z3.BoolRef


Value = BoolV | EntV | SetV | RecV


def _with_err(v: Value, err: z3.BoolRef) -> Value:
    e = or_(err, v.err)
    if isinstance(v, BoolV):
        return BoolV(v.val, e)
    if isinstance(v, EntV):
        return EntV(v.etype, v.code, v.attrs, e)
    if isinstance(v, SetV):
        return SetV(v.elem, v.members, e)
    return RecV(v.fields, e)


def _error() -> BoolV:
    return BoolV(FALSE, TRUE)


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    policy_id: str
    effect: str  # "permit" or "forbid"
    sat: z3.BoolRef  # the policy applies: its condition is true and evaluating it raised no error
    err: z3.BoolRef  # evaluating it raises an error (Cedar then skips it)
    source: pst.Template


_UNARY = frozenset({"not", "is_empty"})
_BINARY = frozenset({"eq", "not_eq", "in", "contains", "contains_all", "contains_any"})


class _Compiler:
    def __init__(self, r: RequestTerms, policy_id: str) -> None:
        self.r = r
        self.u = r.universe
        self.policy_id = policy_id

    def unsupported(self, what: str) -> UnsupportedPolicy:
        return UnsupportedPolicy(
            f"policy {self.policy_id!r} uses {what}, which is outside the Cedar subset the verifier "
            "proves exactly; expected comparisons of entities, sets of entities, attributes of the "
            "schema, booleans, &&, ||, !, if-then-else, in, is, has, contains, containsAll, containsAny, isEmpty",
            field=self.policy_id,
        )

    # ---- values of the request

    def org(self, terms: OrgTerms) -> EntV:
        functions = SetV(
            "Function", {f.value: t for f, t in zip(FUNCTIONS, terms.functions, strict=True)}, FALSE
        )
        kind = EntV("OrgKind", terms.kind, {}, FALSE)
        return EntV("Org", terms.id, {"kind": kind, "functions": functions}, FALSE)

    def var(self, name: str) -> Value:
        r = self.r
        if name == "principal":
            return self.org(r.principal)
        if name == "resource":
            attrs: dict[str, Value] = {
                "capacity": EntV("Capacity", r.capacity, {}, FALSE),
                "category": EntV("Category", r.category, {}, FALSE),
                "controller": self.org(r.controller),
            }
            return EntV("Datum", bv(0), attrs, FALSE)
        if name == "action":
            return EntV("Action", bv(self.u.code("Action", ACTION_ID)), {}, FALSE)
        if name == "context":
            fields: dict[str, Value] = {
                "purpose": EntV("Purpose", r.purpose, {}, FALSE),
                "direction": EntV("Direction", r.direction, {}, FALSE),
                "consent": BoolV(r.consent, FALSE),
            }
            return RecV(fields, FALSE)
        raise self.unsupported(f"the variable {name!r}")

    def entity(self, uid: pst.EntityUid) -> EntV:
        etype = uid.type
        if etype.namespace:
            raise self.unsupported(f"the namespaced entity type {etype}")
        name = etype.basename
        if name in ENUMS or name == "Action":
            return EntV(name, bv(self.u.code(name, uid.id)), {}, FALSE)
        if name == "Org":
            if uid.id not in self.u.orgs:
                raise UnsupportedPolicy(
                    f"policy {self.policy_id!r} names Org::{uid.id!r}, expected an organisation of the "
                    "registry (see `safereport orgs`); an unknown id would silently never match",
                    field=self.policy_id,
                )
            known = self.u.orgs[uid.id]
            functions = SetV("Function", {f.value: TRUE for f in known.functions}, FALSE)
            kind = EntV("OrgKind", bv(self.u.code("OrgKind", known.kind.value)), {}, FALSE)
            return EntV("Org", bv(self.u.code("Org", uid.id)), {"kind": kind, "functions": functions}, FALSE)
        raise self.unsupported(f"an entity literal of type {name}")

    # ---- operations with Cedar's semantics

    def equal(self, a: Value, b: Value) -> z3.BoolRef:
        if isinstance(a, BoolV) and isinstance(b, BoolV):
            return eq_(a.val, b.val)
        if isinstance(a, EntV) and isinstance(b, EntV):
            return eq_(a.code, b.code) if a.etype == b.etype else FALSE
        if isinstance(a, SetV) and isinstance(b, SetV):
            if a.elem is not None and b.elem is not None and a.elem != b.elem:
                return and_(self.is_empty(a), self.is_empty(b))
            keys = set(a.members) | set(b.members)
            return and_(*(eq_(a.members.get(k, FALSE), b.members.get(k, FALSE)) for k in sorted(keys)))
        if isinstance(a, RecV) or isinstance(b, RecV):
            raise self.unsupported("a comparison of records")
        return FALSE

    def member(self, s: SetV, x: Value) -> z3.BoolRef:
        if not isinstance(x, EntV) or x.etype != s.elem:
            return FALSE
        return or_(*(and_(m, eq_(x.code, bv(self.u.code(x.etype, k)))) for k, m in s.members.items()))

    @staticmethod
    def is_empty(s: SetV) -> z3.BoolRef:
        return and_(*(not_(m) for m in s.members.values()))

    def subset(self, small: SetV, big: SetV) -> z3.BoolRef:
        if small.elem is not None and big.elem is not None and small.elem != big.elem:
            return self.is_empty(small)
        return and_(*(implies_(m, big.members.get(k, FALSE)) for k, m in small.members.items()))

    def overlap(self, a: SetV, b: SetV) -> z3.BoolRef:
        if a.elem != b.elem:
            return FALSE
        return or_(*(and_(m, b.members[k]) for k, m in a.members.items() if k in b.members))

    def set_literal(self, elements: Sequence[Value]) -> SetV:
        errs = [e.err for e in elements]
        if not elements:
            return SetV(None, {}, FALSE)
        if not all(isinstance(e, EntV) for e in elements):
            raise self.unsupported("a set whose elements are not entities")
        ents = [e for e in elements if isinstance(e, EntV)]
        types = {e.etype for e in ents}
        if len(types) != 1:
            raise self.unsupported(f"a set mixing entity types {sorted(types)}")
        etype = types.pop()
        members = {k: or_(*(eq_(e.code, bv(self.u.code(etype, k))) for e in ents)) for k in self.u.ids(etype)}
        return SetV(etype, {k: m for k, m in members.items() if m is not FALSE}, or_(*errs))

    def merge(self, c: z3.BoolRef, t: Value, e: Value) -> Value:
        if isinstance(t, BoolV) and isinstance(e, BoolV):
            return BoolV(ite_(c, t.val, e.val), FALSE)
        if (
            isinstance(t, EntV)
            and isinstance(e, EntV)
            and t.etype == e.etype
            and set(t.attrs) == set(e.attrs)
        ):
            attrs = {k: self.merge(c, t.attrs[k], e.attrs[k]) for k in t.attrs}
            return EntV(t.etype, ite_(c, t.code, e.code), attrs, FALSE)
        if isinstance(t, SetV) and isinstance(e, SetV) and (t.elem == e.elem or None in (t.elem, e.elem)):
            keys = sorted(set(t.members) | set(e.members))
            members = {k: ite_(c, t.members.get(k, FALSE), e.members.get(k, FALSE)) for k in keys}
            return SetV(t.elem or e.elem, members, FALSE)
        raise self.unsupported("an if-then-else whose branches have different types")

    # ---- expressions

    def expr(self, node: pst.Expr) -> Value:
        match node:
            case pst.Var(name=name):
                return self.var(name)
            case pst.BoolLit(value=value):
                return BoolV(boolean(value), FALSE)
            case pst.EntityLit(value=uid):
                return self.entity(uid)
            case pst.Set(elements=elements):
                return self.set_literal([self.expr(e) for e in elements])
            case pst.GetAttr(base=base, attr=attr):
                return self.get_attr(self.expr(base), attr)
            case pst.HasAttr(base=base, attrs=attrs):
                return self.has_attr(self.expr(base), attrs)
            case pst.UnaryOp(op=op, arg=arg):
                if op not in _UNARY:
                    raise self.unsupported(f"the operator {op!r}")
                return self.unary(op, self.expr(arg))
            case pst.BinaryOp(op="and" | "or" as op, left=left, right=right):
                return self.logical(op, self.expr(left), self.expr(right))
            case pst.BinaryOp(op=op, left=left, right=right):
                if op not in _BINARY:
                    raise self.unsupported(f"the operator {op!r}")
                return self.binary(op, self.expr(left), self.expr(right))
            case pst.IfThenElse(cond=cond, then_expr=then_expr, else_expr=else_expr):
                c, t, e = self.expr(cond), self.expr(then_expr), self.expr(else_expr)
                if not isinstance(c, BoolV):
                    return _error()
                err = or_(c.err, and_(c.val, t.err), and_(not_(c.val), e.err))
                return _with_err(self.merge(c.val, t, e), err)
            case pst.Is(base=base, entity_type=etype, in_expr=in_expr):
                v = self.expr(base)
                if not isinstance(v, EntV):
                    return _error()
                same = boolean(not etype.namespace and etype.basename == v.etype)
                result = BoolV(same, v.err)
                if in_expr is None:
                    return result
                return self.logical("and", result, self.binary("in", v, self.expr(in_expr)))
            case pst.LongLit() | pst.StringLit():
                raise self.unsupported("a number or string literal (the schema has no such attributes)")
            case pst.Like():
                raise self.unsupported("`like`")
            case pst.Record():
                raise self.unsupported("a record literal")
            case pst.Slot():
                raise self.unsupported("a template slot")
        raise self.unsupported(f"the expression {type(node).__name__}")

    def get_attr(self, v: Value, attr: str) -> Value:
        if isinstance(v, EntV):
            found = v.attrs.get(attr)
            return _error() if found is None else _with_err(found, v.err)
        if isinstance(v, RecV):
            field = v.fields.get(attr)
            return _error() if field is None else _with_err(field, v.err)
        return _error()

    def has_attr(self, v: Value, attrs: tuple[str, ...]) -> Value:
        present = True
        current: Value | None = v
        if not isinstance(v, EntV | RecV):
            return _error()
        for attr in attrs:
            if isinstance(current, EntV):
                current = current.attrs.get(attr)
            elif isinstance(current, RecV):
                current = current.fields.get(attr)
            else:
                present = False
                break
            if current is None:
                present = False
                break
        return BoolV(boolean(present), v.err)

    def unary(self, op: str, v: Value) -> Value:
        if op == "not":
            return BoolV(not_(v.val), v.err) if isinstance(v, BoolV) else _error()
        if op == "is_empty":
            return BoolV(self.is_empty(v), v.err) if isinstance(v, SetV) else _error()
        raise self.unsupported(f"the operator {op!r}")

    @staticmethod
    def logical(op: str, a: Value, b: Value) -> BoolV:
        if not isinstance(a, BoolV):
            return _error()
        # Short-circuit: the right operand is evaluated only when the left does not decide.
        reached = a.val if op == "and" else not_(a.val)
        if not isinstance(b, BoolV):
            return BoolV(FALSE, or_(a.err, reached))
        val = and_(a.val, b.val) if op == "and" else or_(a.val, b.val)
        return BoolV(val, or_(a.err, and_(reached, b.err)))

    def binary(self, op: str, a: Value, b: Value) -> Value:
        err = or_(a.err, b.err)
        if op in ("eq", "not_eq"):
            same = self.equal(a, b)
            return BoolV(same if op == "eq" else not_(same), err)
        if op == "in":
            if not isinstance(a, EntV):
                return _error()
            if isinstance(b, EntV):
                return BoolV(self.equal(a, b), err)
            if isinstance(b, SetV):
                return BoolV(self.member(b, a), err)
            return _error()
        if op in ("contains", "contains_all", "contains_any"):
            if not isinstance(a, SetV):
                return _error()
            if op == "contains":
                return BoolV(self.member(a, b), err)
            if not isinstance(b, SetV):
                return _error()
            return BoolV(self.subset(b, a) if op == "contains_all" else self.overlap(a, b), err)
        raise self.unsupported(f"the operator {op!r}")

    # ---- policies

    def scope(self, var: str, constraint: object) -> z3.BoolRef:
        v = self.var(var)
        match constraint:
            case pst.ScopeAny():
                return TRUE
            case pst.ScopeEq(entity=pst.EntityUid() as uid) | pst.ScopeIn(entity=pst.EntityUid() as uid):
                if uid.type.basename == "Datum":
                    raise self.unsupported(
                        "a Datum entity literal (datum ids are the engine's, not policy's)"
                    )
                return self.equal(v, self.entity(uid))
            case pst.ScopeIs(entity_type=etype):
                return boolean(isinstance(v, EntV) and not etype.namespace and etype.basename == v.etype)
            case pst.ScopeIsIn(entity_type=etype, entity=pst.EntityUid() as uid):
                same = isinstance(v, EntV) and not etype.namespace and etype.basename == v.etype
                return and_(boolean(same), self.equal(v, self.entity(uid)))
            case pst.ActionEq(entity=uid):
                return self.equal(v, self.entity(uid))
            case pst.ActionIn(entities=uids):
                return or_(*(self.equal(v, self.entity(uid)) for uid in uids))
        raise self.unsupported(f"the scope constraint {type(constraint).__name__}")

    def policy(self, template: pst.Template) -> CompiledPolicy:
        cond: Value = BoolV(
            and_(
                self.scope("principal", template.principal),
                self.scope("action", template.action),
                self.scope("resource", template.resource),
            ),
            FALSE,
        )
        for clause in template.clauses:
            if isinstance(clause, pst.When):
                cond = self.logical("and", cond, self.expr(clause.expr))
            else:
                cond = self.logical("and", cond, self.unary("not", self.expr(clause.expr)))
        assert isinstance(cond, BoolV)
        sat = and_(not_(cond.err), cond.val)
        return CompiledPolicy(self.policy_id, template.effect, sat, cond.err, template)


def parse(text: str, *, what: str) -> list[pst.Template]:
    """The static policies of `text`, in order; templates and unparsable text are refused."""
    try:
        tree = cedarpy.policies_to_pst(text)
    except ValueError as exc:
        raise PolicyError(f"{what} does not parse: {exc}") from None
    if tree.templates or tree.template_links:
        raise UnsupportedPolicy(f"{what} holds policy templates; expected static policies only")
    return list(tree.static_policies.values())


def compile_policies(r: RequestTerms, text: str, *, what: str) -> tuple[CompiledPolicy, ...]:
    """Compile every policy of `text` over the symbolic request `r`."""
    out = []
    with Z3_LOCK:
        for template in parse(text, what=what):
            policy_id = template.annotations.get("id") or template.id
            out.append(_Compiler(r, policy_id).policy(template))
    return tuple(out)
