"""Policy: the Cedar national baseline, local policies, and per-datum authorisation."""

from safereport.policy.engine import (
    Baseline,
    LocalPolicy,
    PolicyEngine,
    Verdict,
    load_baseline,
)

__all__ = ["Baseline", "LocalPolicy", "PolicyEngine", "Verdict", "load_baseline"]
