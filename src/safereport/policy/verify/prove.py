"""Proving a policy set: the firewall property, no evaluation errors, local policies only add.

`verify_policy_set` proves, for every request of the schema's domain:

- firewall-immigration and firewall-status-nationality (`property.py`), under the engine's
  semantics (any evaluation error denies) and under Cedar's (an erroring policy is skipped),
  for any requester (any kind, any functions: organisations not yet in the registry too);
- no-evaluation-errors: no policy of the set ever raises an evaluation error (for the
  baseline alone, issue 4's (b));
- local-adds-only, for each local permit: nothing it permits, on its own, is forbidden by a
  baseline forbid (or would make one error), for any requester of the registry.

A counterexample is confirmed with cedarpy before it is reported: if cedarpy disagrees, the
encoding is wrong and the set is refused (fail closed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import cedarpy
import z3
from cedarpy import pst

from safereport.errors import BadInput, PolicyError
from safereport.model import Capacity, Category, Direction, OrgKind, Purpose
from safereport.orgs import Registry, registry
from safereport.policy.engine import (
    ACTION,
    Baseline,
    LocalPolicy,
    PolicyEngine,
    datum_id,
    digest_baseline,
    load_baseline,
    org_entities,
    policy_ids,
)
from safereport.policy.verify._compile import CompiledPolicy, compile_policies
from safereport.policy.verify._domain import (
    FUNCTIONS,
    Z3_LOCK,
    RequestTerms,
    and_,
    bv,
    domain,
    not_,
    or_,
    request_terms,
)
from safereport.policy.verify._report import Counterexample, Party, ProofReport, PropertyResult
from safereport.policy.verify.cache import content_digest, proof_key
from safereport.policy.verify.property import PROPERTIES

NO_ERRORS = "no-evaluation-errors"
LOCAL_ADDS_ONLY = "local-adds-only"


class PolicyInvalid(PolicyError):
    """A policy set does not parse or validate against its schema; it cannot be proven."""

    code = "policy_invalid"
    exit_status = 2


# ---------------------------------------------------------------- checks before the proof


@cache
def _schema(text: str) -> Any:
    try:
        schema = cedarpy.Schema.from_str(text)
    except ValueError as exc:
        raise PolicyInvalid(f"the Cedar schema does not parse: {exc}") from None
    # The encoding models exactly the entities and context the engine builds: refuse a schema
    # that does not describe them.
    try:
        entities = cedarpy.Entities.from_json_str(
            json.dumps(_entities(registry(), next(iter(registry())))), schema=schema
        )
        request = PolicyEngine.cedar_request(
            next(iter(registry())),
            Capacity.VICTIM,
            Category.IDENTITY,
            Purpose.OTHER,
            Direction.INBOUND,
            False,
        )
        cedarpy.is_authorized_batch([request], cedarpy.PolicySet.from_str(""), entities, schema=schema)
    except ValueError as exc:
        raise PolicyInvalid(
            f"the schema does not describe the entities and context the engine builds: {exc}"
        ) from None
    return schema


def _entities(orgs: Registry, controller: str) -> list[dict[str, Any]]:
    out = org_entities(orgs)
    for capacity in Capacity:
        for category in Category:
            attrs = {
                "capacity": {"__entity": {"type": "Capacity", "id": capacity.value}},
                "category": {"__entity": {"type": "Category", "id": category.value}},
                "controller": {"__entity": {"type": "Org", "id": controller}},
            }
            out.append(
                {"uid": {"type": "Datum", "id": datum_id(capacity, category)}, "attrs": attrs, "parents": []}
            )
    return out


def _check_ids(baseline: Baseline, local: Sequence[LocalPolicy]) -> None:
    try:
        seen = list(policy_ids(baseline.policies))
        for policy in local:
            seen += policy_ids(policy.text)
    except PolicyError as exc:
        raise PolicyInvalid(exc.message) from None
    duplicates = sorted({pid for pid in seen if seen.count(pid) > 1})
    if duplicates:
        raise PolicyInvalid(
            f"policy ids must be unique, got {', '.join(map(repr, duplicates))} more than once"
        )


def _validate(text: str, schema: Any, what: str) -> None:
    try:
        result = cedarpy.validate_policies(text, schema)
    except ValueError as exc:
        raise PolicyInvalid(f"{what} does not parse: {exc}") from None
    if not result.validation_passed:
        names = result.id_annotations_by_policy_id
        problems = "; ".join(f"{names.get(e.policy_id, e.policy_id)}: {e.error}" for e in result.errors[:5])
        raise PolicyInvalid(f"{what} does not validate against the schema, expected none, got: {problems}")


@lru_cache(maxsize=512)
def compiled(text: str, what: str) -> tuple[CompiledPolicy, ...]:
    return compile_policies(request_terms(), text, what=what)


def policy_set_version(baseline_sha256: str, local: Iterable[LocalPolicy]) -> str:
    """The same hash as `PolicyEngine.version`, without building an engine."""
    h = hashlib.sha256(b"safereport-policy-set-v1\x00" + baseline_sha256.encode())
    for policy in sorted(local, key=lambda p: p.policy_id):
        h.update(b"\x00" + policy.policy_id.encode() + b"\x00" + policy.sha256.encode())
    return h.hexdigest()


# ---------------------------------------------------------------- counterexamples


def _party(r: RequestTerms, model: z3.ModelRef, which: str) -> Party:
    terms = r.principal if which == "principal" else r.controller
    u = r.universe
    code = model.eval(terms.id, model_completion=True).as_long()
    org_id = u.name("Org", code)
    if org_id in u.orgs:
        known = u.orgs[org_id]
        return Party(org_id, known.kind, known.functions)
    kind = OrgKind(u.name("OrgKind", model.eval(terms.kind, model_completion=True).as_long()))
    functions = frozenset(
        f
        for f, t in zip(FUNCTIONS, terms.functions, strict=True)
        if z3.is_true(model.eval(t, model_completion=True))
    )
    return Party(None, kind, functions)


def _counterexample(r: RequestTerms, model: z3.ModelRef) -> Counterexample:
    def pick(term: z3.BitVecRef, etype: str) -> str:
        return r.universe.name(etype, model.eval(term, model_completion=True).as_long())

    same = model.eval(r.principal.id == r.controller.id, model_completion=True)
    return Counterexample(
        _party(r, model, "principal"),
        _party(r, model, "controller"),
        z3.is_true(same),
        Capacity(pick(r.capacity, "Capacity")),
        Category(pick(r.category, "Category")),
        Purpose(pick(r.purpose, "Purpose")),
        Direction(pick(r.direction, "Direction")),
        z3.is_true(model.eval(r.consent, model_completion=True)),
    )


def _registry_only(r: RequestTerms) -> list[z3.BoolRef]:
    n = bv(r.universe.registry_size)
    return [z3.ULT(r.principal.id, n), z3.ULT(r.controller.id, n)]


def _preferences(r: RequestTerms) -> list[z3.BoolRef]:
    """What makes a counterexample easy to read, most wanted first: organisations of the
    registry, then hypothetical ones with as few functions as will do."""
    n = bv(r.universe.registry_size)
    in_registry = [z3.ULT(r.principal.id, n), z3.ULT(r.controller.id, n)]
    return [
        and_(*in_registry),
        in_registry[1],
        in_registry[0],
        *(not_(f) for f in r.principal.functions),
        *(not_(f) for f in r.controller.functions),
    ]


def _search(s: z3.Solver, r: RequestTerms, goal: z3.BoolRef, *, registry_only: bool) -> z3.ModelRef | None:
    """A model of `goal` within the solver's domain, or None if there is none (proven)."""
    s.push()
    depth = 1
    try:
        s.add(goal)
        if registry_only:
            s.add(*_registry_only(r))
        found = s.check()
        if found == z3.unsat:
            return None
        if found != z3.sat:
            raise PolicyError(f"the solver could not decide ({s.reason_unknown()}); nothing is proven")
        model = s.model()
        for preference in _preferences(r):
            s.push()
            s.add(preference)
            if z3.is_true(model.eval(preference, model_completion=True)):
                depth += 1  # already holds: kept, so that later preferences cannot undo it
            elif s.check() == z3.sat:
                depth += 1
                model = s.model()
            else:
                s.pop()
        return model
    finally:
        s.pop(depth)


# ---------------------------------------------------------------- cedarpy, for confirmation


@dataclass(frozen=True, slots=True)
class Replay:
    """What cedarpy says about one request."""

    decision: str  # Allow, Deny or NoDecision
    reasons: tuple[str, ...]  # the @id of each determining policy
    errors: tuple[str, ...]

    @property
    def engine_allowed(self) -> bool:
        return self.decision == "Allow" and not self.errors


def replay(cx: Counterexample, templates: Sequence[pst.Template], schema_text: str) -> Replay:
    """Ask cedarpy the counterexample's request, with its hypothetical organisations added."""
    orgs = Registry([*registry().values(), *cx.hypothetical_organisations()])
    requester, controller = cx.cedar_ids()
    schema = _schema(schema_text)
    keyed = {f"p{i}": dataclasses.replace(t, id=f"p{i}") for i, t in enumerate(templates)}
    policies = cedarpy.PolicySet.from_pst(
        pst.PolicySet(templates={}, static_policies=keyed, template_links=())
    )
    entities = cedarpy.Entities.from_json_str(json.dumps(_entities(orgs, controller)), schema=schema)
    request = PolicyEngine.cedar_request(
        requester, cx.capacity, cx.category, cx.purpose, cx.direction, cx.consent
    )
    assert request["action"] == ACTION
    result = cedarpy.is_authorized_batch([request], policies, entities, schema=schema)[0]
    names = {k: t.annotations.get("id", k) for k, t in keyed.items()}
    return Replay(
        result.decision.value,
        tuple(sorted(names.get(r, r) for r in result.diagnostics.reasons)),
        tuple(result.diagnostics.errors),
    )


def _confirm(ok: bool, result: PropertyResult) -> PropertyResult:
    if not ok:
        raise PolicyError(
            f"the verifier's counterexample to {result.name} is not confirmed by cedarpy "
            f"({result.counterexample}); the encoding is wrong, so nothing is proven"
        )
    return result


# ---------------------------------------------------------------- the proof


def _prove(
    r: RequestTerms,
    base: Sequence[CompiledPolicy],
    local: Sequence[CompiledPolicy],
    controller: str | None,
    schema_text: str,
) -> list[PropertyResult]:
    policies = [*base, *local]
    templates = [p.source for p in policies]
    permit = or_(*(p.sat for p in policies if p.effect == "permit"))
    forbid = or_(*(p.sat for p in policies if p.effect == "forbid"))
    errors = or_(*(p.err for p in policies))
    cedar_allow = and_(permit, not_(forbid))
    engine_allow = and_(cedar_allow, not_(errors))

    s = z3.Solver()
    s.add(*domain(r, controller=controller, registry_only=False))
    if s.check() != z3.sat:
        raise PolicyError("the request domain is empty; a proof over it would be vacuous")

    results: list[PropertyResult] = []
    for prop in PROPERTIES:
        for semantics, allow in (("engine", engine_allow), ("cedar", cedar_allow)):
            model = _search(s, r, and_(prop.must_deny(r), allow), registry_only=False)
            if model is None:
                results.append(PropertyResult(prop.id, semantics, True, prop.statement))
                continue
            cx = _counterexample(r, model)
            fired = [p.policy_id for p in policies if z3.is_true(model.eval(p.sat, model_completion=True))]
            result = PropertyResult(
                prop.id,
                semantics,
                False,
                prop.statement,
                None,
                cx,
                f"policies that apply: {', '.join(fired)}",
            )
            seen = replay(cx, templates, schema_text)
            results.append(
                _confirm(seen.engine_allowed if semantics == "engine" else seen.decision == "Allow", result)
            )

    statement = "no policy of the set raises an evaluation error on any request of the schema's domain"
    model = _search(s, r, errors, registry_only=False)
    if model is None:
        results.append(PropertyResult(NO_ERRORS, "both", True, statement))
    else:
        cx = _counterexample(r, model)
        failing = [p.policy_id for p in policies if z3.is_true(model.eval(p.err, model_completion=True))]
        result = PropertyResult(
            NO_ERRORS, "both", False, statement, failing[0], cx, f"policies that error: {', '.join(failing)}"
        )
        results.append(_confirm(bool(replay(cx, templates, schema_text).errors), result))

    base_forbids = [p for p in base if p.effect == "forbid"]
    forbidden = or_(*(or_(p.sat, p.err) for p in base_forbids))
    for p in local:
        if p.effect != "permit":
            continue
        statement = (
            f"nothing local permit {p.policy_id!r} permits, on its own, is forbidden by the baseline, "
            "for any requester of the registry"
        )
        model = _search(s, r, and_(p.sat, forbidden), registry_only=True)
        if model is None:
            results.append(PropertyResult(LOCAL_ADDS_ONLY, "engine", True, statement, p.policy_id))
            continue
        cx = _counterexample(r, model)
        hit = [
            f.policy_id
            for f in base_forbids
            if z3.is_true(model.eval(or_(f.sat, f.err), model_completion=True))
        ]
        result = PropertyResult(
            LOCAL_ADDS_ONLY,
            "engine",
            False,
            statement,
            p.policy_id,
            cx,
            f"baseline forbids: {', '.join(hit)}",
        )
        alone = replay(cx, [p.source], schema_text)
        under = replay(cx, [f.source for f in base_forbids], schema_text)
        results.append(
            _confirm(
                alone.engine_allowed and (bool(set(under.reasons) & set(hit)) or bool(under.errors)), result
            )
        )
    return results


def verify_policy_set(
    baseline: Baseline,
    local: Sequence[LocalPolicy] = (),
    *,
    controller: str | None = None,
    validate: bool = True,
) -> ProofReport:
    """Prove the baseline plus `local` (one controller's policies) for `controller`'s data.

    With no local policy and no controller, the proof covers every controller at once. Raises
    PolicyInvalid if the set does not parse or validate, UnsupportedPolicy if it uses Cedar
    outside the verified subset; otherwise returns the report, proven or with counterexamples.
    `validate=False` skips schema validation (to show what a misspelt policy would do).
    """
    started = time.perf_counter()
    local = tuple(sorted(local, key=lambda p: p.policy_id))
    owners = {p.controller for p in local}
    if len(owners) > 1 or (owners and controller is not None and owners != {controller}):
        raise PolicyInvalid(
            f"a policy set holds one controller's local policies, got policies of {sorted(owners)}",
            field="controller",
        )
    controller = controller or (owners.pop() if owners else None)
    if controller is not None:
        registry().require(controller, field="controller")
    _check_ids(baseline, local)
    schema = _schema(baseline.schema)
    if validate:
        _validate(baseline.policies, schema, "the baseline")
        if local:
            combined = baseline.policies + "".join("\n" + p.text for p in local)
            _validate(combined, schema, f"the policy set of {controller}")
    base = compiled(baseline.policies, "the baseline")
    compiled_local = [c for p in local for c in compiled(p.text, f"local policy {p.policy_id!r}")]
    with Z3_LOCK:
        results = _prove(request_terms(), base, compiled_local, controller, baseline.schema)
    return ProofReport(
        controller,
        f"{baseline.name} {baseline.version}",
        content_digest(baseline),
        tuple((p.policy_id, p.sha256) for p in local),
        policy_set_version(baseline.sha256, local),
        tuple(results),
        time.perf_counter() - started,
        proof_key(baseline, local, controller),
    )


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(
            f"expected a readable UTF-8 file, got {exc.__class__.__name__}", field=str(path)
        ) from None


def load_policy_dir(path: Path, *, controller: str | None = None) -> tuple[Baseline, list[LocalPolicy]]:
    """A draft policy directory, as a baseline and local policies.

    A directory holding a `*.cedarschema` or `manifest.json` is a draft baseline (its `*.cedar`
    files, in name order, are the baseline; the schema is the shipped one if it has none), and
    its `local/*.cedar` files, if any, are `controller`'s local policies. A directory of
    `*.cedar` files alone holds local policies of `controller`, beside the shipped baseline.
    """
    if not path.is_dir():
        raise BadInput("expected a directory of .cedar files", field=str(path))
    files = sorted(path.glob("*.cedar"))
    schemas = sorted(path.glob("*.cedarschema"))
    manifest_path = path / "manifest.json"
    if len(schemas) > 1:
        raise BadInput(f"expected at most one .cedarschema, got {len(schemas)}", field=str(path))
    if not files:
        raise BadInput("expected at least one .cedar file", field=str(path))

    def locals_from(files: Sequence[Path]) -> list[LocalPolicy]:
        if files and controller is None:
            raise BadInput(
                "local policies need the controller they are for (--controller ID)", field="controller"
            )
        return [LocalPolicy(str(controller), f.stem, _read(f)) for f in files]

    if not schemas and not manifest_path.exists():
        return load_baseline(), locals_from(files)
    shipped = load_baseline()
    name, version = "draft", "0"
    if manifest_path.exists():
        try:
            manifest = json.loads(_read(manifest_path))
            name, version = str(manifest["name"]), str(manifest["version"])
        except (ValueError, KeyError, TypeError):
            raise BadInput(
                "expected a manifest with a name and a version", field=str(manifest_path)
            ) from None
    policies = "\n".join(_read(f) for f in files)
    schema = _read(schemas[0]) if schemas else shipped.schema
    baseline = Baseline(name, version, policies, schema, digest_baseline(policies, schema, name, version))
    return baseline, locals_from(sorted((path / "local").glob("*.cedar")))


def verify_policy_dir(path: Path, *, controller: str | None = None) -> ProofReport:
    """Prove a draft policy directory (see `load_policy_dir`) before it is deployed."""
    baseline, local = load_policy_dir(path, controller=controller)
    return verify_policy_set(baseline, local, controller=controller)
