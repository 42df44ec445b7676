"""Explaining the policy, not the data, to a controller's data protection officer.

For a disclosure request, or a single-datum question, and for every (capacity, category) it
could touch: the verdict, the policies that decided it (with their descriptions), and for every
policy of the set whether its scope, `when` and `unless` conditions held, in plain words.

No record is looked up: a request's subject is never resolved, every capacity is enumerated
whether or not the controller holds such data, and a named consent is shown both as covering
and as not covering each datum. Like the engine, this touches no store and no clock.

Each condition is judged by Cedar itself: every policy, clause and sub-condition becomes a
probe policy of one probe set, evaluated once per datum, so the words can never disagree with
the evaluator. The verdict is the engine's own, and the probes must agree with it or nothing
is explained.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import cedarpy
from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError

from safereport.errors import BadInput, PolicyError
from safereport.model import Capacity, Category, Direction, DisclosureRequest, Purpose
from safereport.orgs import registry
from safereport.policy.engine import (
    DEFAULT_DENY,
    EVALUATION_ERROR,
    PolicyEngine,
    Verdict,
    datum_id,
    org_entities,
    policy_ids,
)
from safereport.policy.explain_words import scope_words, words

MARKER_WORDS = {
    DEFAULT_DENY: "no policy permits this datum, and Cedar denies by default",
    EVALUATION_ERROR: "a policy could not be evaluated, and any evaluation error denies (fail closed)",
}


@dataclass(frozen=True, slots=True)
class Question:
    """A single-datum question: what would the policy say about this datum for this requester?"""

    requester: str
    capacity: Capacity
    category: Category
    purpose: Purpose
    direction: Direction = Direction.INBOUND
    consent: bool = False


class _QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    requester: str
    capacity: Capacity
    category: Category
    purpose: Purpose
    direction: Direction = Direction.INBOUND
    consent: StrictBool = False


def parse_question(document: Any) -> Question:
    """A Question from a JSON object; an error names the field and says expected and got."""
    if not isinstance(document, dict):
        raise BadInput(f"expected a JSON object, got {type(document).__name__}", field="(question)")
    try:
        parsed = _QuestionIn.model_validate(document)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"]) or "(question)"
        message = str(err["msg"]).replace("Input should be ", "expected ")
        if err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] == "extra_forbidden":
            message = (
                "unknown field; a question takes requester, capacity, category, purpose, direction, consent"
            )
        elif isinstance(err.get("input"), str | bool | int):
            message += f", got {str(err['input'])[:80]!r}"
        raise BadInput(message, field=field) from None
    registry().require(parsed.requester, field="requester")
    return Question(
        parsed.requester, parsed.capacity, parsed.category, parsed.purpose, parsed.direction, parsed.consent
    )


class Truth(enum.StrEnum):
    YES = "yes"
    NO = "no"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition in plain words and whether it held; `all`/`any`/`not` group their parts."""

    text: str
    truth: Truth
    joiner: str = ""
    parts: tuple[Condition, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "held": self.truth.value}
        if self.joiner:
            out["joiner"] = self.joiner
            out["parts"] = [p.to_json() for p in self.parts]
        return out


@dataclass(frozen=True, slots=True)
class Clause:
    kind: str  # "scope", "when" or "unless"
    condition: Condition


@dataclass(frozen=True, slots=True)
class PolicyCheck:
    """One policy of the set, judged against one datum."""

    policy_id: str
    effect: str
    origin: str  # "baseline" or "local"
    description: str
    # Whether the policy applies: its scope and every `when` held, and no `unless` did.
    applies: Truth
    clauses: tuple[Clause, ...]


@dataclass(frozen=True, slots=True)
class FiredPolicy:
    policy_id: str
    description: str


@dataclass(frozen=True, slots=True)
class DatumExplanation:
    capacity: Capacity
    category: Category
    consent: bool
    allowed: bool
    fired: tuple[FiredPolicy, ...]
    policies: tuple[PolicyCheck, ...]

    @property
    def verdict(self) -> Verdict:
        return Verdict(self.allowed, tuple(f.policy_id for f in self.fired))


@dataclass(frozen=True, slots=True)
class Explanation:
    """What the policy says about a request or question, datum by datum. Holds no personal data."""

    requester: str
    controller: str
    purpose: Purpose
    direction: Direction
    request_id: str | None
    categories: tuple[Category, ...]
    policy_version: str
    baseline_sha256: str
    local_policies: tuple[str, ...]
    items: tuple[DatumExplanation, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "requester": self.requester,
            "controller": self.controller,
            "purpose": self.purpose.value,
            "direction": self.direction.value,
            "categories": [c.value for c in self.categories],
            "policy_version": self.policy_version,
            "baseline_sha256": self.baseline_sha256,
            "local_policies": list(self.local_policies),
            "notes": list(self.notes),
            "data": [
                {
                    "capacity": item.capacity.value,
                    "category": item.category.value,
                    "consent": item.consent,
                    "verdict": "allow" if item.allowed else "deny",
                    "decided_by": [{"id": f.policy_id, "description": f.description} for f in item.fired],
                    "policies": [
                        {
                            "id": p.policy_id,
                            "effect": p.effect,
                            "origin": p.origin,
                            "description": p.description,
                            "applies": p.applies.value,
                            "conditions": [{"kind": c.kind, **c.condition.to_json()} for c in p.clauses],
                        }
                        for p in item.policies
                    ],
                }
                for item in self.items
            ],
        }

    def to_text(self) -> str:
        return "\n".join(_text_lines(self)) + "\n"


# ---------------------------------------------------------------- the probe set


@dataclass(frozen=True, slots=True)
class _Node:
    text: str
    probe: int
    joiner: str = ""
    parts: tuple[_Node, ...] = ()


@dataclass(frozen=True, slots=True)
class _PolicyShape:
    policy_id: str
    effect: str
    origin: str
    description: str
    whole: int
    clauses: tuple[tuple[str, _Node], ...]


@dataclass(frozen=True, slots=True)
class _ProbeSet:
    shapes: tuple[_PolicyShape, ...]
    texts: tuple[str, ...]
    policies: Any  # cedarpy.PolicySet of every probe


_ALL = {"op": "All"}


def _probe_policy(pid: int, scope: dict[str, Any], conditions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "effect": "permit",
        "principal": scope["principal"],
        "action": scope["action"],
        "resource": scope["resource"],
        "conditions": conditions,
        "annotations": {"id": f"probe-{pid}"},
    }


def _to_text(policies: dict[str, dict[str, Any]]) -> str:
    document = {"staticPolicies": policies, "templates": {}, "templateLinks": []}
    return str(cedarpy.policies_from_json_str(json.dumps(document)))


@lru_cache(maxsize=64)
def _probe_set(text: str, baseline_text: str) -> _ProbeSet:
    """Every policy of `text`, each clause and each sub-condition, as a probe permit."""
    try:
        parsed = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as exc:
        raise PolicyError(f"the policy set does not parse: {exc}") from None
    baseline_ids = set(policy_ids(baseline_text))
    probes: list[dict[str, Any]] = []
    no_scope = {"principal": _ALL, "action": _ALL, "resource": _ALL}

    def add(scope: dict[str, Any], conditions: list[dict[str, Any]]) -> int:
        probes.append(_probe_policy(len(probes), scope, conditions))
        return len(probes) - 1

    def node(body: dict[str, Any]) -> _Node:
        probe = add(no_scope, [{"kind": "when", "body": body}])
        for op, joiner in (("&&", "all"), ("||", "any")):
            if op in body:
                parts = tuple(node(p) for p in _flatten(body, op))
                return _Node(f"{joiner} of", probe, joiner, parts)
        if "!" in body:
            return _Node("not", probe, "not", (node(body["!"]["arg"]),))
        return _Node(words(body), probe)

    shapes = []
    static = parsed.get("staticPolicies", {})
    # Cedar numbers the policies in text order (policy0, policy1, ...); show them in that order.
    for key in sorted(static, key=lambda k: (len(k), k)):
        policy = static[key]
        annotations = policy.get("annotations", {})
        pid = annotations.get("id") or "(no id)"
        scope = {k: policy[k] for k in ("principal", "action", "resource")}
        whole = add(scope, policy.get("conditions", []))
        clauses = [("scope", _Node(scope_words(scope), add(scope, [])))]
        clauses += [(c["kind"], node(c["body"])) for c in policy.get("conditions", [])]
        shapes.append(
            _PolicyShape(
                pid,
                policy["effect"],
                "baseline" if pid in baseline_ids else "local",
                annotations.get("description", ""),
                whole,
                tuple(clauses),
            )
        )
    texts = tuple(_to_text({f"p{i}": p}) for i, p in enumerate(probes))
    try:
        policies = cedarpy.PolicySet.from_str("\n".join(texts))
    except ValueError as exc:
        raise PolicyError(f"the probe policies do not parse: {exc}") from None
    return _ProbeSet(tuple(shapes), texts, policies)


def _flatten(body: dict[str, Any], op: str) -> Iterator[dict[str, Any]]:
    for side in (body[op]["left"], body[op]["right"]):
        if op in side:
            yield from _flatten(side, op)
        else:
            yield side


@cache
def _schema(text: str) -> Any:
    return cedarpy.Schema.from_str(text)


@lru_cache(maxsize=256)
def _entities(controller: str, schema_text: str) -> Any:
    """The engine's entities, rebuilt from public parts; the agreement check guards any drift."""
    entities = org_entities(registry())
    for capacity in Capacity:
        for category in Category:
            entities.append(
                {
                    "uid": {"type": "Datum", "id": datum_id(capacity, category)},
                    "attrs": {
                        "capacity": {"__entity": {"type": "Capacity", "id": capacity.value}},
                        "category": {"__entity": {"type": "Category", "id": category.value}},
                        "controller": {"__entity": {"type": "Org", "id": controller}},
                    },
                    "parents": [],
                }
            )
    return cedarpy.Entities.from_json_str(json.dumps(entities), schema=_schema(schema_text))


def _judge(engine: PolicyEngine, probes: _ProbeSet, request: dict[str, Any]) -> list[Truth]:
    """Whether each probe held for `request`: one evaluation, or one per probe if any errs."""
    schema = _schema(engine.baseline.schema)
    entities = _entities(engine.controller, engine.baseline.schema)
    result = cedarpy.is_authorized(request, probes.policies, entities, schema=schema)
    if not result.diagnostics.errors:
        names = result.diagnostics.id_annotations_by_reason
        held = {names.get(r, r) for r in result.diagnostics.reasons}
        return [Truth.YES if f"probe-{i}" in held else Truth.NO for i in range(len(probes.texts))]
    truths = []
    for text in probes.texts:
        single = cedarpy.is_authorized(request, text, entities, schema=schema)
        if single.diagnostics.errors:
            truths.append(Truth.ERROR)
        else:
            truths.append(Truth.YES if single.decision is cedarpy.Decision.Allow else Truth.NO)
    return truths


def _condition(node: _Node, truths: Sequence[Truth]) -> Condition:
    return Condition(
        node.text, truths[node.probe], node.joiner, tuple(_condition(p, truths) for p in node.parts)
    )


def _derived(checks: Sequence[PolicyCheck]) -> Verdict:
    """The verdict the probes imply, by Cedar's rules and the engine's fail-closed reading."""
    if any(c.applies is Truth.ERROR for c in checks):
        return Verdict(False, (EVALUATION_ERROR,))
    forbids = sorted(c.policy_id for c in checks if c.effect == "forbid" and c.applies is Truth.YES)
    if forbids:
        return Verdict(False, tuple(forbids))
    permits = sorted(c.policy_id for c in checks if c.effect == "permit" and c.applies is Truth.YES)
    if permits:
        return Verdict(True, tuple(permits))
    return Verdict(False, (DEFAULT_DENY,))


def explain_datum(
    engine: PolicyEngine,
    requester: str,
    capacity: Capacity,
    category: Category,
    purpose: Purpose,
    direction: Direction,
    consent: bool,
) -> DatumExplanation:
    """The engine's verdict on one datum, and every policy's conditions, judged by Cedar."""
    org = registry().require(requester, field="requester")
    verdict = engine.authorise(org, capacity, category, purpose, direction, consent)
    probes = _probe_set(engine.text, engine.baseline.policies)
    request = PolicyEngine.cedar_request(requester, capacity, category, purpose, direction, consent)
    truths = _judge(engine, probes, request)
    checks = tuple(
        PolicyCheck(
            shape.policy_id,
            shape.effect,
            shape.origin,
            shape.description,
            truths[shape.whole],
            tuple(Clause(kind, _condition(node, truths)) for kind, node in shape.clauses),
        )
        for shape in probes.shapes
    )
    implied = _derived(checks)
    if implied.allowed != verdict.allowed or sorted(implied.policies) != sorted(verdict.policies):
        raise PolicyError(
            f"the explanation of {datum_id(capacity, category)} disagrees with the engine "
            f"(expected {sorted(verdict.policies)}, got {sorted(implied.policies)}); nothing is explained"
        )
    descriptions = {c.policy_id: c.description for c in checks} | MARKER_WORDS
    fired = tuple(FiredPolicy(pid, descriptions.get(pid, "")) for pid in sorted(verdict.policies))
    return DatumExplanation(capacity, category, consent, verdict.allowed, fired, checks)


def explain_request(engine: PolicyEngine, request: DisclosureRequest | Question) -> Explanation:
    """Explain what `engine`'s policy set says about `request`, looking up no record.

    A disclosure request is explained for every capacity (the subject is not resolved) and each
    category it asks for; if it names a consent, each datum is shown without and with one.
    """
    notes: list[str] = []
    if isinstance(request, Question):
        registry().require(request.requester, field="requester")
        rows = [(request.capacity, request.category, request.consent)]
        categories: tuple[Category, ...] = (request.category,)
        request_id = None
    else:
        if request.controller != engine.controller:
            raise BadInput(
                f"expected the controller whose policy set explains it ({engine.controller}), "
                f"got {request.controller!r}",
                field="controller",
            )
        registry().require(request.requester, field="requester")
        categories = request.categories
        request_id = request.request_id
        consents = (False, True) if request.consent_id is not None else (False,)
        rows = [(cap, cat, c) for cat in categories for c in consents for cap in Capacity]
        notes.append(
            "This explains the policy, not the data: no record was looked up, so every capacity the "
            "request could touch is shown, whether or not the controller holds such data."
        )
        if request.consent_id is not None:
            notes.append(
                "The request names a consent. Whether it covers a datum (its person, recipient, purpose, "
                "categories, expiry and revocation) is settled only at decision time, so each datum is "
                "shown both without and with a covering consent."
            )
    if Category.NARRATIVE in categories:
        notes.append(
            "A narrative carries the most protective capacity of everyone in its record and of every "
            "record it was copied from; a released narrative is still cleaned of immigration status, "
            "nationality and immigration-related vulnerability unless consent covers it."
        )
    if request.direction is Direction.OUTBOUND:
        notes.append(
            "Outbound: the requester is the body that would receive the subject's details from the check."
        )
    items = tuple(
        explain_datum(engine, request.requester, cap, cat, request.purpose, request.direction, consent)
        for cap, cat, consent in rows
    )
    return Explanation(
        requester=request.requester,
        controller=engine.controller,
        purpose=request.purpose,
        direction=request.direction,
        request_id=request_id,
        categories=categories,
        policy_version=engine.version,
        baseline_sha256=engine.baseline.sha256,
        local_policies=tuple(p.policy_id for p in engine.local),
        items=items,
        notes=tuple(notes),
    )


# ---------------------------------------------------------------- text


def _verdict_word(allowed: bool) -> str:
    return "ALLOW (may be disclosed)" if allowed else "DENY (withheld)"


def _consent_word(consent: bool) -> str:
    return "with a covering consent" if consent else "no consent"


def _text_lines(ex: Explanation) -> Iterator[str]:
    orgs = registry()
    requester = orgs[ex.requester]
    controller = orgs[ex.controller]
    title = f"request {ex.request_id}" if ex.request_id is not None else "a single-datum question"
    yield f"What the policy says about {title}"
    functions = ", ".join(sorted(f.value for f in requester.functions)) or "none"
    yield f"  requester   {ex.requester} (kind {requester.kind}; functions {functions})"
    yield f"  controller  {ex.controller} (kind {controller.kind})"
    yield f"  purpose     {ex.purpose}"
    yield f"  direction   {ex.direction}"
    local = ", ".join(ex.local_policies) or "none"
    yield f"  policy set  {ex.policy_version} (baseline {ex.baseline_sha256[:16]}; local: {local})"
    for note in ex.notes:
        yield f"  note: {note}"
    yield "  [yes] / [no]: whether a condition held for the datum; a policy applies when its scope and"
    yield "  every `when` held and no `unless` did. A forbid that applies overrides every permit."
    if ex.request_id is not None:
        yield ""
        yield "Summary (capacity in which the data was collected)"
        consents = sorted({item.consent for item in ex.items})
        for category in ex.categories:
            for consent in consents:
                rows = [i for i in ex.items if i.category is category and i.consent is consent]
                allowed = ", ".join(i.capacity.value for i in rows if i.allowed) or "none"
                denied = ", ".join(i.capacity.value for i in rows if not i.allowed) or "none"
                yield f"  {category} ({_consent_word(consent)}): may be disclosed for {allowed}; withheld for {denied}"
    # Capacities the policy treats alike are shown once: their conditions all came out the same.
    groups: dict[tuple[object, ...], list[DatumExplanation]] = {}
    for item in ex.items:
        groups.setdefault((item.category, item.consent, item.allowed, item.fired, item.policies), []).append(
            item
        )
    for group in groups.values():
        item = group[0]
        capacities = ", ".join(i.capacity.value for i in group)
        yield ""
        yield f"{capacities} / {item.category} / {_consent_word(item.consent)}: {_verdict_word(item.allowed)}"
        yield "  decided by:"
        for fired in item.fired:
            yield f"    {fired.policy_id}: {fired.description}"
        for check in item.policies:
            applies = {
                Truth.YES: "applies",
                Truth.NO: "does not apply",
                Truth.ERROR: "could not be evaluated",
            }
            yield f"  {check.effect} {check.policy_id} ({check.origin}): {applies[check.applies]}"
            for clause in check.clauses:
                yield from _condition_lines(clause.kind, clause.condition, 4)


def _condition_lines(label: str, condition: Condition, indent: int) -> Iterator[str]:
    pad = " " * indent
    mark = f"[{condition.truth}]"
    if condition.joiner in ("all", "any"):
        yield f"{pad}{label} {mark} {condition.joiner} of:"
    elif condition.joiner == "not":
        yield f"{pad}{label} {mark} it is not so that:"
    else:
        yield f"{pad}{label} {mark} {condition.text}"
        return
    for part in condition.parts:
        yield from _condition_lines("-", part, indent + 2)


__all__ = [
    "Clause",
    "Condition",
    "DatumExplanation",
    "Explanation",
    "FiredPolicy",
    "PolicyCheck",
    "Question",
    "Truth",
    "explain_datum",
    "explain_request",
    "parse_question",
]
