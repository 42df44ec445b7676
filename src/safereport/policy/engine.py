"""Loading the national baseline and local policies, and authorising one datum at a time.

This module touches no store and no clock: a verdict is a pure function of the policy set
and the request's attributes, so verdicts are memoised per policy set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

import cedarpy

from safereport.errors import PolicyError
from safereport.model import Capacity, Category, Direction, Organisation, Purpose
from safereport.orgs import Registry, registry

ACTION = 'Action::"disclose"'
DEFAULT_DENY = "default-deny"
EVALUATION_ERROR = "evaluation-error"


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    # The @id of every policy that determined the verdict; DEFAULT_DENY when none did.
    policies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Baseline:
    name: str
    version: str
    policies: str
    schema: str
    sha256: str


@dataclass(frozen=True, slots=True)
class LocalPolicy:
    """A controller's own policy, added on top of the baseline. Must carry an @id."""

    controller: str
    policy_id: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def digest_baseline(policies: str, schema: str, name: str, version: str) -> str:
    """The content hash of a baseline: its name, version, policies and schema."""
    h = hashlib.sha256()
    h.update(b"safereport-baseline-v1\x00")
    h.update(name.encode("utf-8") + b"\x00" + version.encode("utf-8") + b"\x00")
    h.update(policies.encode("utf-8"))
    h.update(b"\x00")
    h.update(schema.encode("utf-8"))
    return h.hexdigest()


@cache
def load_baseline() -> Baseline:
    """The shipped baseline, refused if its text does not match its manifest's hash."""
    folder = resources.files("safereport.policy").joinpath("baseline")
    manifest = json.loads(folder.joinpath("manifest.json").read_text("utf-8"))
    policies = folder.joinpath("national-baseline.cedar").read_text("utf-8")
    schema = folder.joinpath("safereport.cedarschema").read_text("utf-8")
    actual = digest_baseline(policies, schema, manifest["name"], manifest["version"])
    if actual != manifest["sha256"]:
        raise PolicyError(
            f"the national baseline does not match its manifest: expected sha256 {manifest['sha256']}, "
            f"got {actual}; the installed baseline has been changed and will not be used"
        )
    baseline = Baseline(manifest["name"], manifest["version"], policies, schema, actual)
    _validate(baseline.policies, _schema(baseline.schema), what="the national baseline")
    return baseline


@cache
def _schema(text: str) -> Any:
    try:
        return cedarpy.Schema.from_str(text)
    except ValueError as exc:
        raise PolicyError(f"the Cedar schema does not parse: {exc}") from None


def _validate(policies: str, schema: Any, *, what: str) -> None:
    try:
        result = cedarpy.validate_policies(policies, schema)
    except ValueError as exc:
        raise PolicyError(f"{what} does not parse: {exc}") from None
    if not result.validation_passed:
        names = result.id_annotations_by_policy_id
        problems = "; ".join(f"{names.get(e.policy_id, e.policy_id)}: {e.error}" for e in result.errors[:5])
        raise PolicyError(f"{what} does not validate against the schema: {problems}")


_SHARED_MEMOS: dict[
    tuple[str, int, object], dict[tuple[object, Capacity, Category, Purpose, Direction, bool], Verdict]
] = {}


@cache
def _policy_ids(text: str) -> tuple[str, ...]:
    return tuple(_parse_policy_ids(text))


def policy_ids(text: str) -> list[str]:
    """The @id of every policy in `text`, in order; a policy without one is an error."""
    return list(_policy_ids(text))


def _parse_policy_ids(text: str) -> list[str]:
    """The @id of every policy in `text`, in order; a policy without one is an error."""
    try:
        parsed = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as exc:
        raise PolicyError(f"the policy text does not parse: {exc}") from None
    ids: list[str] = []
    for generated, policy in parsed.get("staticPolicies", {}).items():
        annotated = policy.get("annotations", {}).get("id")
        if not annotated:
            raise PolicyError(f'every policy needs an @id("...") annotation; {generated} has none')
        ids.append(annotated)
    if parsed.get("templates"):
        raise PolicyError("policy templates are not supported; write static policies")
    return ids


def _entity(kind: str, key: str) -> dict[str, dict[str, str]]:
    return {"__entity": {"type": kind, "id": key}}


def org_entities(orgs: Registry) -> list[dict[str, Any]]:
    return [
        {
            "uid": {"type": "Org", "id": org.id},
            "attrs": {
                "kind": _entity("OrgKind", org.kind.value),
                "functions": [_entity("Function", f.value) for f in sorted(org.functions)],
            },
            "parents": [],
        }
        for org in orgs.values()
    ]


def datum_id(capacity: Capacity, category: Category) -> str:
    return f"{capacity.value}/{category.value}"


class PolicyEngine:
    """The baseline plus one controller's local policies, ready to authorise."""

    def __init__(
        self,
        controller: str,
        local: Sequence[LocalPolicy] = (),
        *,
        baseline: Baseline | None = None,
        orgs: Registry | None = None,
    ) -> None:
        self.baseline = baseline or load_baseline()
        self.controller = controller
        self.local = tuple(sorted(local, key=lambda p: p.policy_id))
        self._orgs = orgs or registry()
        self._schema = _schema(self.baseline.schema)
        text = self.baseline.policies + "".join("\n" + p.text for p in self.local)
        seen = policy_ids(self.baseline.policies)
        for policy in self.local:
            for pid in policy_ids(policy.text):
                if pid in seen:
                    raise PolicyError(f"policy id {pid!r} is used twice; every @id must be unique")
                seen.append(pid)
        if self.local:
            _validate(text, self._schema, what=f"the policies of {controller}")
        self.text = text
        try:
            self._policies = cedarpy.PolicySet.from_str(text)
        except ValueError as exc:
            raise PolicyError(f"the policy set of {controller} does not parse: {exc}") from None
        self._entities = self._build_entities()
        # With no local policy, the policies see the controller only through its kind and functions:
        # engines of controllers alike in both share one memo (for the same policy text).
        owner = self._orgs[controller]
        shared_key = (self.baseline.sha256, hash(self.baseline.policies), (owner.kind, owner.functions))
        self._memo: dict[tuple[object, Capacity, Category, Purpose, Direction, bool], Verdict] = (
            {} if self.local else _SHARED_MEMOS.setdefault(shared_key, {})
        )
        # The baseline sees an organisation only through its kind and functions, so verdicts are
        # shared between organisations alike in both, unless a local policy names one by id or
        # is the controller's own (`principal == resource.controller` singles it out unnamed).
        self._named = {org_id for org_id in self._orgs if any(f'"{org_id}"' in p.text for p in self.local)}
        if self.local:
            self._named.add(controller)

    @cached_property
    def version(self) -> str:
        """A hash naming exactly this policy set (baseline and local policies)."""
        h = hashlib.sha256(b"safereport-policy-set-v1\x00" + self.baseline.sha256.encode())
        for policy in self.local:
            h.update(b"\x00" + policy.policy_id.encode() + b"\x00" + policy.sha256.encode())
        return h.hexdigest()

    def _build_entities(self) -> Any:
        controller = self._orgs.require(self.controller, field="controller")
        entities = org_entities(self._orgs)
        for capacity in Capacity:
            for category in Category:
                entities.append(
                    {
                        "uid": {"type": "Datum", "id": datum_id(capacity, category)},
                        "attrs": {
                            "capacity": _entity("Capacity", capacity.value),
                            "category": _entity("Category", category.value),
                            "controller": _entity("Org", controller.id),
                        },
                        "parents": [],
                    }
                )
        try:
            return cedarpy.Entities.from_json_str(json.dumps(entities), schema=self._schema)
        except ValueError as exc:
            raise PolicyError(f"the entities do not conform to the schema: {exc}") from None

    @staticmethod
    def cedar_request(
        requester: str,
        capacity: Capacity,
        category: Category,
        purpose: Purpose,
        direction: Direction,
        consent: bool,
    ) -> dict[str, Any]:
        return {
            "principal": {"type": "Org", "id": requester},
            "action": ACTION,
            "resource": {"type": "Datum", "id": datum_id(capacity, category)},
            "context": {
                "purpose": _entity("Purpose", purpose.value),
                "direction": _entity("Direction", direction.value),
                "consent": consent,
            },
        }

    def authorise(
        self,
        requester: Organisation,
        capacity: Capacity,
        category: Category,
        purpose: Purpose,
        direction: Direction,
        consent: bool,
    ) -> Verdict:
        who: object = requester.id if requester.id in self._named else (requester.kind, requester.functions)
        key = (who, capacity, category, purpose, direction, consent)
        verdict = self._memo.get(key)
        if verdict is None:
            request = self.cedar_request(requester.id, capacity, category, purpose, direction, consent)
            verdict = self._verdict(self._evaluate([request])[0])
            self._memo[key] = verdict
        return verdict

    def _evaluate(self, requests: list[dict[str, Any]]) -> list[Any]:
        return list(
            cedarpy.is_authorized_batch(requests, self._policies, self._entities, schema=self._schema)
        )

    @staticmethod
    def _verdict(result: Any) -> Verdict:
        # Fail closed: only a clean Allow allows. Cedar skips a policy whose evaluation errors,
        # which could switch a forbid off, so any error at all is a deny.
        errors = result.diagnostics.errors
        if errors:
            return Verdict(False, (EVALUATION_ERROR,))
        names = result.diagnostics.id_annotations_by_reason
        fired = tuple(sorted(names.get(r, r) for r in result.diagnostics.reasons))
        if result.decision is cedarpy.Decision.Allow:
            return Verdict(True, fired)
        return Verdict(False, fired or (DEFAULT_DENY,))

    def authorise_many(self, requests: list[dict[str, Any]]) -> list[Verdict]:
        """Raw Cedar requests in one batch (used by checks and benchmarks); not memoised."""
        return [self._verdict(r) for r in self._evaluate(requests)]
