"""The synthetic national workload behind `safereport demo`: a deterministic generator
(`generate_workload`) and a runner that drives a firewall with it (`run_demo`)."""

from __future__ import annotations

import sys

from safereport.demo.generate import SCENARIOS, LabelledRequest, Workload, generate_workload
from safereport.demo.run import (
    DemoSummary,
    FirewallLike,
    ReleaseCounter,
    ScenarioTally,
    generate_and_run,
    run_demo,
)
from safereport.errors import BadInput

__all__ = [
    "SCENARIOS",
    "DemoSummary",
    "FirewallLike",
    "LabelledRequest",
    "ReleaseCounter",
    "ScenarioTally",
    "Workload",
    "generate_and_run",
    "generate_workload",
    "main",
    "run_demo",
]


def main(*, seed: int, n_records: int = 100_000, n_requests: int = 20_000, db: str | None = None) -> int:
    """`safereport demo`: run the workload on the store that SAFEREPORT_DB (or `db`) names.

    The report goes to standard output, progress to standard error. Exit status 0 when the
    firewall held (nothing protected released, every request answered, the audit log
    verifies), 1 when it did not.
    """
    if n_records < 1:
        raise BadInput(f"expected at least 1 record, got {n_records}", field="--records")
    if n_requests < 0:
        raise BadInput(f"expected 0 or more requests, got {n_requests}", field="--requests")
    from safereport.firewall import Firewall  # the demo's only tie to the store

    with Firewall.open(db) as firewall:
        summary = generate_and_run(
            firewall,
            sys.stdout,
            seed=seed,
            n_records=n_records,
            n_requests=n_requests,
            progress_to=sys.stderr,
        )
    return 0 if summary.held else 1
