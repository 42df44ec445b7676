"""Checking a controller's local policy before it may run beside the baseline.

A local permit is refused if any request it would permit is one the baseline forbids. The
check is exhaustive over the schema's finite domain: every requester of the registry (grouped
by kind and functions, which is all a policy can see of them, except those it names by id),
every capacity, category, purpose, direction and consent flag, for the controller's own data.
A forbid only narrows what is disclosed, so forbids are always accepted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from itertools import product
from typing import Any

import cedarpy

from safereport.errors import LocalPolicyRejected, PolicyError
from safereport.model import Capacity, Category, Direction, Organisation, Purpose
from safereport.orgs import registry
from safereport.policy.engine import Baseline, LocalPolicy, PolicyEngine, load_baseline, policy_ids


@dataclass(frozen=True, slots=True)
class Counterexample:
    requester: str
    capacity: Capacity
    category: Category
    purpose: Purpose
    direction: Direction
    consent: bool

    def __str__(self) -> str:
        return (
            f"requester={self.requester} capacity={self.capacity} category={self.category} "
            f"purpose={self.purpose} direction={self.direction} consent={str(self.consent).lower()}"
        )


def _representatives(named: set[str]) -> list[Organisation]:
    """One organisation per (kind, functions), plus every organisation the policy names."""
    chosen: dict[Any, Organisation] = {}
    extra: list[Organisation] = []
    for org in registry().values():
        if org.id in named:
            extra.append(org)
        else:
            chosen.setdefault((org.kind, org.functions), org)
    return list(chosen.values()) + extra


def _domain(orgs: list[Organisation]) -> list[Counterexample]:
    return [
        Counterexample(org.id, cap, cat, purpose, direction, consent)
        for org, cap, cat, purpose, direction, consent in product(
            orgs, Capacity, Category, Purpose, Direction, (False, True)
        )
    ]


def _requests(domain: list[Counterexample]) -> list[dict[str, Any]]:
    return [
        PolicyEngine.cedar_request(d.requester, d.capacity, d.category, d.purpose, d.direction, d.consent)
        for d in domain
    ]


@cache
def _forbidden_by_baseline(
    baseline: Baseline, controller: str, requesters: tuple[str, ...]
) -> frozenset[int]:
    """Positions in the domain where a baseline forbid fires."""
    orgs = [registry()[r] for r in requesters]
    domain = _domain(orgs)
    forbids_only = (
        _only(baseline.policies, "forbid")
        + '\n@id("check-permit-all")\npermit (principal, action, resource);\n'
    )
    engine = PolicyEngine(controller, baseline=_with_policies(baseline, forbids_only))
    verdicts = engine.authorise_many(_requests(domain))
    return frozenset(i for i, v in enumerate(verdicts) if not v.allowed)


def _with_policies(baseline: Baseline, text: str) -> Baseline:
    return Baseline(baseline.name, baseline.version, text, baseline.schema, baseline.sha256)


def _only(text: str, effect: str) -> str:
    parsed = json.loads(cedarpy.policies_to_json_str(text))
    kept = {k: v for k, v in parsed["staticPolicies"].items() if v["effect"] == effect}
    return str(
        cedarpy.policies_from_json_str(
            json.dumps({"staticPolicies": kept, "templates": {}, "templateLinks": []})
        )
    )


def _split(text: str) -> list[tuple[str, str, str]]:
    """(id, effect, text) for every policy in `text`."""
    parsed = json.loads(cedarpy.policies_to_json_str(text))
    out = []
    for policy in parsed["staticPolicies"].values():
        single = json.dumps({"staticPolicies": {"p": policy}, "templates": {}, "templateLinks": []})
        out.append(
            (policy["annotations"]["id"], policy["effect"], str(cedarpy.policies_from_json_str(single)))
        )
    return out


def check_local_policy(policy: LocalPolicy, baseline: Baseline | None = None) -> None:
    """Raise LocalPolicyRejected, naming the policy, if it could weaken the baseline."""
    baseline = baseline or load_baseline()
    try:
        policy_ids(policy.text)  # every policy carries an @id
        PolicyEngine(policy.controller, [policy], baseline=baseline)  # parses, validates, ids unique
    except PolicyError as exc:
        raise LocalPolicyRejected(
            f"local policy {policy.policy_id!r} is invalid: {exc.message}", field=policy.policy_id
        ) from None
    for pid, effect, text in _split(policy.text):
        if effect != "permit":
            continue
        # The controller itself is always tried on its own: `principal == resource.controller`
        # singles it out without naming it.
        named = {org_id for org_id in registry() if f'"{org_id}"' in text} | {policy.controller}
        orgs = _representatives(named)
        domain = _domain(orgs)
        forbidden = _forbidden_by_baseline(baseline, policy.controller, tuple(o.id for o in orgs))
        alone = PolicyEngine(policy.controller, baseline=_with_policies(baseline, text))
        # Only the requests the baseline forbids can show a weakening: ask about those alone.
        positions = sorted(forbidden)
        verdicts = alone.authorise_many(_requests([domain[i] for i in positions]))
        for position, verdict in zip(positions, verdicts, strict=True):
            if verdict.allowed:
                raise LocalPolicyRejected(
                    f"local policy {pid!r} would permit what the national baseline forbids, "
                    f"for example {domain[position]}; a local policy may add lawful flows, never weaken the firewall",
                    field=pid,
                )
