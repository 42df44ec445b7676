"""Proving the policy sets a deployment runs: every force's, and every controller's with local policies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from safereport.model import OrgKind
from safereport.orgs import registry
from safereport.policy.engine import Baseline, LocalPolicy
from safereport.policy.verify._report import ProofReport
from safereport.policy.verify.cache import ProofCache
from safereport.policy.verify.gate import prove_cached

NOT_TERRITORIAL = frozenset({"british-transport-police"})


class PolicyHolder(Protocol):
    """What a proof of a deployment needs of it (a `Firewall` is one)."""

    baseline: Baseline
    proofs: ProofCache

    def local_policies(self, controller: str) -> list[LocalPolicy]: ...


def territorial_forces() -> list[str]:
    """The 43 territorial police forces of England and Wales."""
    return [
        o.id for o in registry().values() if o.kind is OrgKind.POLICE_FORCE and o.id not in NOT_TERRITORIAL
    ]


def verify_all(
    fw: PolicyHolder, controllers: Iterable[str] | None = None, *, fresh: bool = False
) -> list[ProofReport]:
    """One proof per controller's policy set (baseline plus its local policies, its own data).

    By default: the 43 territorial forces, then every other organisation that has local
    policies. Proofs come from the cache unless `fresh`; proven ones are stored in it. A set
    that fails is reported, not raised (the gate refuses it when it is used).
    """
    if controllers is None:
        forces = territorial_forces()
        others = [c for c in registry() if c not in forces and fw.local_policies(c)]
        controllers = [*forces, *others]
    return [prove_cached(fw.baseline, fw.local_policies(c), c, fw.proofs, fresh=fresh) for c in controllers]


def proof_lines(reports: Sequence[ProofReport]) -> list[str]:
    """A few lines for a report (the demo's): how many sets were proven, of what, in how long."""
    if not reports:
        return ["   no policy set was proven"]
    proven = [r for r in reports if r.proven]
    seconds = sum(r.elapsed_seconds for r in reports)
    properties = sorted({r.property for report in reports for r in report.results})
    with_local = sum(1 for r in reports if r.local)
    lines = [
        f"   {len(proven)} of {len(reports)} policy sets proven with Z3 in {seconds:.2f} s "
        f"({with_local} with local policies; baseline sha256 {reports[0].baseline_sha256[:16]}...).",
        f"   Proven for every request of the schema's domain: {', '.join(properties)}.",
        "   Any requester: the registry's and any organisation it could hold (any kind, any functions).",
    ]
    for report in reports:
        if not report.proven:
            failure = report.failures[0]
            example = f", e.g. {failure.counterexample.describe()}" if failure.counterexample else ""
            lines.append(f"   !!! NOT PROVEN: {report.controller}: {failure.name}{example}")
    return lines
