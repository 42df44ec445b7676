"""The policy verbs: the national baseline and controllers' local policies."""

from __future__ import annotations

import argparse
from pathlib import Path

from safereport.cli._io import dump
from safereport.errors import BadInput
from safereport.firewall import Firewall
from safereport.orgs import registry
from safereport.policy import LocalPolicy, load_baseline


def cmd_policy(args: argparse.Namespace) -> int:
    if args.policy_cmd == "show":
        baseline = load_baseline()
        print(dump({"name": baseline.name, "version": baseline.version, "sha256": baseline.sha256}))
        if args.text:
            print(baseline.policies)
        return 0
    with Firewall.open() as fw:
        if args.policy_cmd == "add":
            registry().require(args.controller, field="CONTROLLER")
            try:
                text = Path(args.file).read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise BadInput(
                    f"expected a readable Cedar policy file, got {exc.__class__.__name__}", field=args.file
                ) from None
            policy = LocalPolicy(args.controller, args.policy_id or Path(args.file).stem, text)
            fw.add_local_policy(policy)
            print(
                dump(
                    {
                        "controller": policy.controller,
                        "policy_id": policy.policy_id,
                        "sha256": policy.sha256,
                        "added": True,
                    }
                )
            )
        elif args.policy_cmd == "remove":
            removed = fw.remove_local_policy(args.controller, args.policy_id)
            print(dump({"controller": args.controller, "policy_id": args.policy_id, "removed": removed}))
        else:
            registry().require(args.controller, field="CONTROLLER")
            engine = fw.engine_for(args.controller)
            print(
                dump(
                    {
                        "controller": args.controller,
                        "policy_version": engine.version,
                        "baseline": engine.baseline.sha256,
                        "local": [{"policy_id": p.policy_id, "sha256": p.sha256} for p in engine.local],
                    }
                )
            )
    return 0


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser("policy", help="the national baseline and controllers' local policies")
    sub = p.add_subparsers(dest="policy_cmd", required=True, metavar="show|list|add|remove")
    s = sub.add_parser("show", help="the national baseline's name, version and hash")
    s.add_argument("--text", action="store_true", help="print the policies too")
    ls = sub.add_parser("list", help="the policy set one controller runs")
    ls.add_argument("controller", metavar="CONTROLLER")
    a = sub.add_parser("add", help="add a local policy (refused if it could weaken the baseline)")
    a.add_argument("controller", metavar="CONTROLLER")
    a.add_argument("file", metavar="FILE")
    a.add_argument(
        "--id", dest="policy_id", default=None, help="name of the policy file entry (default: file stem)"
    )
    rm = sub.add_parser("remove", help="remove a local policy")
    rm.add_argument("controller", metavar="CONTROLLER")
    rm.add_argument("policy_id", metavar="ID")
    p.set_defaults(func=cmd_policy)
