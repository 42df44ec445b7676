"""The demo verb: the synthetic national workload."""

from __future__ import annotations

import argparse


def cmd_demo(args: argparse.Namespace) -> int:
    from safereport.demo import main as demo_main

    return demo_main(seed=args.seed, n_records=args.records, n_requests=args.requests)


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser("demo", help="run the synthetic national workload and show the firewall's figures")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--requests", type=int, default=20_000)
    p.set_defaults(func=cmd_demo)
