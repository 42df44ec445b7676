"""The gate: a policy set is used only once it is proven, and a proof is looked up by hashes."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Sequence

from safereport.errors import PolicyError, PolicyUnproven
from safereport.policy.engine import Baseline, LocalPolicy
from safereport.policy.verify._report import ProofReport
from safereport.policy.verify.cache import ProofCache, proof_key
from safereport.policy.verify.prove import verify_policy_set

# Proven reports of this process, by key: a second Firewall in the same process proves nothing again.
_PROVEN: dict[str, ProofReport] = {}
_LOCK = threading.Lock()


def prove_cached(
    baseline: Baseline,
    local: Sequence[LocalPolicy],
    controller: str | None,
    cache: ProofCache | None,
    *,
    fresh: bool = False,
) -> ProofReport:
    """The proof of this set: from the cache if it holds one (unless `fresh`), else proven now
    and, if proven, stored. Raises what `verify_policy_set` raises for an unprovable set."""
    key = proof_key(baseline, local, controller)
    if not fresh:
        with _LOCK:
            known = _PROVEN.get(key)
        on_disk = cache.get(key) if cache is not None else None
        if known is None:
            known = on_disk
        if known is not None:
            if cache is not None and on_disk is None:
                _store(cache, known)
            with _LOCK:
                _PROVEN[key] = known
            return dataclasses.replace(known, cached=True)
    report = verify_policy_set(baseline, local, controller=controller)
    if report.proven:
        if cache is not None:
            _store(cache, report)
        with _LOCK:
            _PROVEN[key] = report
    return report


def _store(cache: ProofCache, report: ProofReport) -> None:
    with contextlib.suppress(OSError):  # an unwritable cache costs a proof next time, nothing else
        cache.put(report)


def require_proven(
    baseline: Baseline, local: Sequence[LocalPolicy], controller: str | None, cache: ProofCache | None
) -> ProofReport:
    """The set's proof, or PolicyUnproven: the set may not decide anything."""
    who = f"the policy set of {controller}" if local else "the national baseline"
    try:
        report = prove_cached(baseline, local, controller if local else None, cache)
    except PolicyUnproven:
        raise
    except PolicyError as exc:
        raise PolicyUnproven(
            f"{who} cannot be proven, so it will not be used: {exc.message}", field=exc.field
        ) from None
    if not report.proven:
        failure = report.failures[0]
        example = f", for example {failure.counterexample.describe()}" if failure.counterexample else ""
        raise PolicyUnproven(
            f"{who} (policy version {report.policy_version}) fails {failure.name}{example}; "
            "expected every property proven, so it will not be used",
            field=failure.policy,
        )
    return report
