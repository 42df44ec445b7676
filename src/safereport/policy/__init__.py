"""Policy: the Cedar national baseline, local policies, per-datum authorisation, and the Z3
proof that a policy set keeps the firewall (`safereport.policy.verify`)."""

from safereport.policy.engine import (
    Baseline,
    LocalPolicy,
    PolicyEngine,
    Verdict,
    load_baseline,
)
from safereport.policy.verify import ProofReport, verify_policy_dir, verify_policy_set

__all__ = [
    "Baseline",
    "LocalPolicy",
    "PolicyEngine",
    "ProofReport",
    "Verdict",
    "load_baseline",
    "verify_policy_dir",
    "verify_policy_set",
]
