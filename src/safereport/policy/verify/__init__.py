"""Proofs, with Z3, that a policy set keeps the firewall for every request of the domain."""

from safereport.policy.verify._compile import UnsupportedPolicy
from safereport.policy.verify._report import Counterexample, Party, ProofReport, PropertyResult
from safereport.policy.verify.cache import ProofCache, proof_key
from safereport.policy.verify.decision import DecisionModel, ModelVerdict
from safereport.policy.verify.prove import (
    PolicyInvalid,
    load_policy_dir,
    policy_set_version,
    replay,
    verify_policy_dir,
    verify_policy_set,
)

__all__ = [
    "Counterexample",
    "DecisionModel",
    "ModelVerdict",
    "Party",
    "PolicyInvalid",
    "ProofCache",
    "ProofReport",
    "PropertyResult",
    "UnsupportedPolicy",
    "load_policy_dir",
    "policy_set_version",
    "proof_key",
    "replay",
    "verify_policy_dir",
    "verify_policy_set",
]
