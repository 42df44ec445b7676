"""Checking a controller's local policy before it may run beside the baseline.

A local permit is refused if any request it permits, on its own, is one a baseline forbid
forbids. This is proven with Z3 (`safereport.policy.verify`) over the schema's whole domain:
every requester of the registry, every capacity, category, purpose, direction and consent flag,
for the controller's own data. A policy that can fail to evaluate is refused too (an error
denies the whole request, so it would silently close lawful flows), as is one that uses Cedar
outside the verified subset. A forbid only narrows what is disclosed.
"""

from __future__ import annotations

from safereport.errors import LocalPolicyRejected, PolicyError, PolicyUnproven
from safereport.policy.engine import Baseline, LocalPolicy, PolicyEngine, load_baseline, policy_ids
from safereport.policy.verify.prove import LOCAL_ADDS_ONLY, NO_ERRORS, verify_policy_set


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
    try:
        report = verify_policy_set(baseline, [policy], controller=policy.controller)
    except PolicyError as exc:
        raise LocalPolicyRejected(
            f"local policy {policy.policy_id!r} cannot be verified: {exc.message}", field=policy.policy_id
        ) from None
    failures = sorted(report.failures, key=lambda r: r.property != LOCAL_ADDS_ONLY)
    for failure in failures:
        pid = failure.policy or policy.policy_id
        if failure.property == LOCAL_ADDS_ONLY:
            raise LocalPolicyRejected(
                f"local policy {pid!r} would permit what the national baseline forbids, "
                f"for example {failure.counterexample}; a local policy may add lawful flows, never weaken the firewall",
                field=pid,
            )
        if failure.property == NO_ERRORS:
            raise LocalPolicyRejected(
                f"local policy {pid!r} can fail to evaluate, for example {failure.counterexample}; "
                "an evaluation error denies the whole request, expected a policy that always evaluates",
                field=pid,
            )
        raise PolicyUnproven(
            f"the national baseline fails {failure.name}, so no local policy can be checked against it"
        )
