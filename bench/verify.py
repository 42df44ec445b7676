"""Benchmark of the Z3 proof of the firewall (issue 4).

In one run, on this machine, with no proof cache:
  (a) the proof of the national baseline for every controller (the first one in the process,
      which builds the Z3 terms, and a second);
  (b) the proofs of the 43 territorial forces' policy sets, each the baseline plus 10
      generated local policies (lawful permits and forbids, different for every force);
  (c) the peer, the "exhaustive test" alternative: the same properties checked by asking
      cedarpy every request of the finite domain, for one of those sets. It covers only the
      organisations of the registry; the proof also covers every organisation the registry
      could hold (any kind, any set of functions), which by enumeration would be
      9 kinds x 1,024 function sets x 1,728 requests.

Target: all 43 sets proven in under 10 s.

Usage: python bench/verify.py [--forces N] [--local N] [--seed N] [--skip-peer | --full-peer]
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from itertools import product

from safereport.model import Capacity, Category, Direction, Function, Purpose
from safereport.orgs import registry
from safereport.policy.engine import LocalPolicy, PolicyEngine, load_baseline
from safereport.policy.verify import verify_policy_set
from safereport.policy.verify.fleet import territorial_forces

TARGET_SECONDS = 10.0
LAWFUL_FUNCTIONS = [
    Function.POLICING,
    Function.SAFEGUARDING,
    Function.HEALTHCARE,
    Function.BENEFITS,
    Function.TAX,
]
ORDINARY = [Category.IDENTITY, Category.CONTACT, Category.NARRATIVE, Category.HEALTH]


def _set(kind: str, values: list[str]) -> str:
    return "[" + ", ".join(f'{kind}::"{v}"' for v in values) + "]"


def local_policies(controller: str, n: int, rng: random.Random) -> list[LocalPolicy]:
    """`n` local policies a force might write: lawful permits (suspects and offenders only, or
    ordinary data to bodies without immigration functions) and forbids of anything."""
    out = []
    for i in range(n):
        pid = f"{controller}-local-{i}"
        purposes = _set(
            "Purpose",
            [p.value for p in rng.sample([p for p in Purpose if p.value != "immigration_enforcement"], 2)],
        )
        if i % 3 == 0:
            capacities = _set("Capacity", rng.sample(["suspect", "offender"], rng.randint(1, 2)))
            body = (
                f"permit (principal, action, resource)\nwhen {{ {capacities}.contains(resource.capacity) && "
                f"{purposes}.contains(context.purpose) && "
                f'context.direction == Direction::"{rng.choice(["inbound", "outbound"])}" }};'
            )
        elif i % 3 == 1:
            function = rng.choice(LAWFUL_FUNCTIONS).value
            categories = _set("Category", [c.value for c in rng.sample(ORDINARY, 2)])
            body = (
                f'permit (principal, action, resource)\nwhen {{ principal.functions.contains(Function::"{function}") && '
                f"{categories}.contains(resource.category) && {purposes}.contains(context.purpose) }};"
            )
        else:
            categories = _set("Category", [c.value for c in rng.sample(list(Category), 3)])
            body = f"forbid (principal, action, resource)\nwhen {{ {categories}.contains(resource.category) && !context.consent }};"
        out.append(LocalPolicy(controller, pid, f'@id("{pid}")\n{body}\n'))
    return out


def brute_force(controller: str, local: list[LocalPolicy], *, permits: bool) -> tuple[int, float, bool]:
    """The peer: every request of the registry's domain asked of cedarpy, for the firewall
    property and (with `permits`) for each local permit against the baseline's forbids."""
    start = time.perf_counter()
    domain = list(product(registry().values(), Capacity, Category, Purpose, Direction, (False, True)))
    requests = [PolicyEngine.cedar_request(o.id, *rest) for o, *rest in domain]
    verdicts = PolicyEngine(controller, local).authorise_many(requests)
    asked = len(requests)
    holds = True
    for (org, capacity, category, purpose, _direction, consent), verdict in zip(
        domain, verdicts, strict=True
    ):
        if not verdict.allowed or consent or not capacity.protected:
            continue
        immigration = org.functions & {Function.IMMIGRATION_ENFORCEMENT, Function.IMMIGRATION_CASEWORK}
        if (
            immigration
            or purpose is Purpose.IMMIGRATION_ENFORCEMENT
            or category
            in (
                Category.NATIONALITY,
                Category.IMMIGRATION_STATUS,
            )
        ):
            holds = False
    # Forbids override permits and Cedar names every forbid that applies: the baseline's forbids
    # that fired are among the deciding policies of the same answers.
    forbidden = [
        r
        for r, v in zip(requests, verdicts, strict=True)
        if any(p.startswith("firewall-") for p in v.policies)
    ]
    baseline = load_baseline()
    for policy in local if permits else []:
        if "permit" not in policy.text.split("\n")[1]:
            continue
        alone = PolicyEngine(controller, baseline=type(baseline)(baseline.name, baseline.version, policy.text,
                                                                  baseline.schema, baseline.sha256))  # fmt: skip
        asked += len(forbidden)
        if any(v.allowed for v in alone.authorise_many(forbidden)):
            holds = False
    return asked, time.perf_counter() - start, holds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--forces", type=int, default=43)
    parser.add_argument("--local", type=int, default=10)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument(
        "--full-peer", action="store_true", help="the peer checks each local permit too (about twice as long)"
    )
    args = parser.parse_args()
    print(f"safereport proof benchmark: python {platform.python_version()} on {platform.machine()}")

    baseline = load_baseline()
    start = time.perf_counter()
    first = verify_policy_set(baseline)
    first_seconds = time.perf_counter() - start
    start = time.perf_counter()
    again = verify_policy_set(baseline)
    again_seconds = time.perf_counter() - start
    assert first.proven and again.proven
    print(f"(a) baseline, every controller: first proof {first_seconds * 1000:.0f} ms "
          f"(builds the Z3 terms), again {again_seconds * 1000:.0f} ms; {len(first.results)} properties")  # fmt: skip

    rng = random.Random(args.seed)
    forces = territorial_forces()[: args.forces]
    sets = {force: local_policies(force, args.local, rng) for force in forces}
    times = []
    start = time.perf_counter()
    reports = []
    for force, local in sets.items():
        t = time.perf_counter()
        reports.append(verify_policy_set(baseline, local, controller=force))
        times.append(time.perf_counter() - t)
    total = time.perf_counter() - start
    proven = sum(r.proven for r in reports)
    checks = sum(len(r.results) for r in reports)
    print(f"(b) {len(forces)} forces x {args.local} local policies: {proven}/{len(forces)} proven, {checks} properties, "
          f"{total:.2f} s in all (median {sorted(times)[len(times) // 2] * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
          f"a set); target under {TARGET_SECONDS:.0f} s: {'met' if total < TARGET_SECONDS and proven == len(forces) else 'NOT MET'}")  # fmt: skip
    for report in reports:
        if not report.proven:
            print(report.summary())

    if not args.skip_peer:
        force = forces[0]
        asked, seconds, holds = brute_force(force, sets[force], permits=args.full_peer)
        proof = times[0]
        what = (
            "firewall and local permits" if args.full_peer else "the firewall; --full-peer adds the permits"
        )
        print(f"(c) peer, exhaustive enumeration through cedarpy for {force} ({what}): {asked:,} authorisations "
              f"in {seconds:.2f} s ({'holds' if holds else 'VIOLATED'}, registry organisations only); the proof of "
              f"the same set took {proof * 1000:.0f} ms ({seconds / proof:.0f}x less) and covers any organisation")  # fmt: skip


if __name__ == "__main__":
    main()
