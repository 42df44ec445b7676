"""A deterministic synthetic national workload: records, consents and labelled requests.

Pure: no I/O and no clock; everything comes from `random.Random(seed)`. The generator keeps its
own knowledge of which (record_id, person_id) pairs hold data first collected in a protected
capacity (`Workload.truth`), computed independently of the policy engine so that the demo can
check the firewall against it.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

from safereport.demo.requests import SCENARIOS, LabelledRequest, make_requests
from safereport.demo.world import World
from safereport.model import Consent, Record

__all__ = ["SCENARIOS", "LabelledRequest", "Workload", "generate_workload"]


@dataclass(frozen=True, slots=True)
class Workload:
    seed: int
    records: tuple[Record, ...]
    consents: tuple[Consent, ...]
    revocations: tuple[str, ...]
    requests: tuple[LabelledRequest, ...]
    # (record_id, person_id) pairs whose data was first collected in a protected capacity,
    # directly or through any chain of `derived_from`.
    truth: frozenset[tuple[str, str]]


def generate_workload(seed: int, n_records: int = 100_000, n_requests: int = 20_000) -> Workload:
    """The synthetic national workload for `seed`: the same seed always gives the same workload.

    Records come in creation order (every `derived_from` points at an earlier record), so they
    can be ingested in one pass. At least one record per controller once `n_records` reaches the
    number of controllers; every scenario label once `n_requests` reaches `len(SCENARIOS)` and
    the records give each scenario something to aim at.
    """
    if n_records < 1:
        raise ValueError(f"n_records: expected at least 1, got {n_records}")
    if n_requests < 0:
        raise ValueError(f"n_requests: expected 0 or more, got {n_requests}")
    # Hundreds of thousands of small dicts and dataclasses and not one reference cycle among
    # them: the cyclic collector would only rescan them, again and again (it nearly doubles
    # the time), so it rests while they are made.
    collecting = gc.isenabled()
    gc.disable()
    try:
        gen = World(seed)
        gen.records_phase(n_records)
        consents, revocations, kinds = gen.consents_phase()
        requests = make_requests(gen, n_requests, kinds)
    finally:
        if collecting:
            gc.enable()
    return Workload(
        seed=seed,
        records=tuple(gen.records),
        consents=tuple(consents),
        revocations=tuple(revocations),
        requests=tuple(requests),
        truth=frozenset(gen.truth),
    )
