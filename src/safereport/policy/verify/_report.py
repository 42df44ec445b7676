"""What a proof reports: per property, proven or a concrete counterexample; over which hashes."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass, field
from typing import Any

from safereport.model import Capacity, Category, Direction, Function, Organisation, OrgKind, Purpose

HYPOTHETICAL_REQUESTER = "hypothetical-requester"
HYPOTHETICAL_CONTROLLER = "hypothetical-controller"


@dataclass(frozen=True, slots=True)
class Party:
    """An organisation in a counterexample: one of the registry, or a hypothetical one (id None)
    that the registry does not hold, with the kind and functions the solver chose."""

    id: str | None
    kind: OrgKind
    functions: frozenset[Function]

    @property
    def label(self) -> str:
        if self.id is not None:
            return self.id
        return f"any-{self.kind.value}-with[{','.join(sorted(f.value for f in self.functions))}]"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind.value, "functions": sorted(f.value for f in self.functions)}

    @staticmethod
    def from_dict(raw: dict[str, Any]) -> Party:
        return Party(raw["id"], OrgKind(raw["kind"]), frozenset(Function(f) for f in raw["functions"]))


@dataclass(frozen=True, slots=True)
class Counterexample:
    """A concrete request on which a property fails."""

    requester: Party
    controller: Party
    same_org: bool  # requester and controller are one organisation
    capacity: Capacity
    category: Category
    purpose: Purpose
    direction: Direction
    consent: bool

    def __str__(self) -> str:
        return (
            f"requester={self.requester.label} capacity={self.capacity} category={self.category} "
            f"purpose={self.purpose} direction={self.direction} consent={str(self.consent).lower()}"
        )

    def describe(self) -> str:
        controller = "the requester itself" if self.same_org else self.controller.label
        return f"{self} controller={controller.replace(' ', '-')}"

    def cedar_ids(self) -> tuple[str, str]:
        """(requester, controller) ids to ask Cedar with; hypothetical parties get fixed ids."""
        controller = self.controller.id or HYPOTHETICAL_CONTROLLER
        requester = self.requester.id or (controller if self.same_org else HYPOTHETICAL_REQUESTER)
        return requester, controller

    def hypothetical_organisations(self) -> list[Organisation]:
        """The organisations to add to the registry so that Cedar can be asked this request."""
        requester, controller = self.cedar_ids()
        out: dict[str, Organisation] = {}
        for party, org_id in ((self.controller, controller), (self.requester, requester)):
            if party.id is None:
                out.setdefault(org_id, Organisation(org_id, org_id, party.kind, party.functions))
        return list(out.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "requester": self.requester.as_dict(),
            "controller": self.controller.as_dict(),
            "same_org": self.same_org,
            "capacity": self.capacity.value,
            "category": self.category.value,
            "purpose": self.purpose.value,
            "direction": self.direction.value,
            "consent": self.consent,
        }

    @staticmethod
    def from_dict(raw: dict[str, Any]) -> Counterexample:
        return Counterexample(
            Party.from_dict(raw["requester"]),
            Party.from_dict(raw["controller"]),
            bool(raw["same_org"]),
            Capacity(raw["capacity"]),
            Category(raw["category"]),
            Purpose(raw["purpose"]),
            Direction(raw["direction"]),
            bool(raw["consent"]),
        )


@dataclass(frozen=True, slots=True)
class PropertyResult:
    property: str
    semantics: str  # "engine" (any error denies), "cedar" (an erroring policy is skipped) or "both"
    proven: bool
    statement: str
    policy: str | None = None  # the local permit a local-adds-only result is about
    counterexample: Counterexample | None = None
    detail: str = ""

    @builtins.property
    def name(self) -> str:
        return self.property + (f"[{self.policy}]" if self.policy else "") + f" ({self.semantics})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "property": self.property,
            "semantics": self.semantics,
            "policy": self.policy,
            "proven": self.proven,
            "statement": self.statement,
            "counterexample": self.counterexample.as_dict() if self.counterexample else None,
            "detail": self.detail,
        }

    @staticmethod
    def from_dict(raw: dict[str, Any]) -> PropertyResult:
        cx = raw.get("counterexample")
        return PropertyResult(
            raw["property"],
            raw["semantics"],
            bool(raw["proven"]),
            raw["statement"],
            raw.get("policy"),
            Counterexample.from_dict(cx) if cx else None,
            raw.get("detail", ""),
        )


@dataclass(frozen=True, slots=True)
class ProofReport:
    """The outcome of proving one policy set: the baseline alone (controller None: any
    controller) or the baseline plus one controller's local policies."""

    controller: str | None
    baseline: str  # name and version
    baseline_sha256: str
    local: tuple[tuple[str, str], ...]  # (policy id, sha256), by id
    policy_version: str  # PolicyEngine.version of the set
    results: tuple[PropertyResult, ...]
    elapsed_seconds: float
    key: str  # the proof cache's key for this set
    cached: bool = field(default=False, compare=False)

    @property
    def proven(self) -> bool:
        return bool(self.results) and all(r.proven for r in self.results)

    @property
    def failures(self) -> tuple[PropertyResult, ...]:
        return tuple(r for r in self.results if not r.proven)

    def as_dict(self) -> dict[str, Any]:
        return {
            "controller": self.controller,
            "proven": self.proven,
            "baseline": self.baseline,
            "baseline_sha256": self.baseline_sha256,
            "local": [{"policy_id": pid, "sha256": sha} for pid, sha in self.local],
            "policy_version": self.policy_version,
            "results": [r.as_dict() for r in self.results],
            "elapsed_seconds": self.elapsed_seconds,
            "key": self.key,
            "cached": self.cached,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    @staticmethod
    def from_dict(raw: dict[str, Any]) -> ProofReport:
        return ProofReport(
            raw["controller"],
            raw["baseline"],
            raw["baseline_sha256"],
            tuple((p["policy_id"], p["sha256"]) for p in raw["local"]),
            raw["policy_version"],
            tuple(PropertyResult.from_dict(r) for r in raw["results"]),
            float(raw["elapsed_seconds"]),
            raw["key"],
            bool(raw.get("cached", False)),
        )

    def summary(self) -> str:
        """Human-readable: what was proven (or not), over which hashes, in how long."""
        who = self.controller or "every controller"
        lines = [
            f"policy set of {who}: {'PROVEN' if self.proven else 'NOT PROVEN'} "
            f"in {self.elapsed_seconds * 1000:.1f} ms{' (cached proof)' if self.cached else ''}",
            f"  baseline {self.baseline} sha256 {self.baseline_sha256}",
        ]
        lines += [f"  local {pid} sha256 {sha}" for pid, sha in self.local]
        lines.append(f"  policy version {self.policy_version}")
        for r in self.results:
            lines.append(f"  {'proven' if r.proven else 'FAILS '}  {r.name}: {r.statement}")
            if r.counterexample is not None:
                lines.append(f"          counterexample: {r.counterexample.describe()}")
            if r.detail:
                lines.append(f"          {r.detail}")
        return "\n".join(lines)
