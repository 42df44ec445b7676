"""The policy verbs: the national baseline and controllers' local policies."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from safereport.cli._io import dump
from safereport.errors import BadInput
from safereport.firewall import Firewall
from safereport.orgs import registry
from safereport.policy import LocalPolicy, load_baseline
from safereport.policy.verify import ProofReport, verify_policy_dir
from safereport.policy.verify.fleet import verify_all
from safereport.policy.verify.gate import prove_cached


def cmd_verify(args: argparse.Namespace) -> int:
    """Prove the baseline and controllers' policy sets; exit 0 only if every one is proven."""
    started = time.perf_counter()
    if args.policies:
        reports = [verify_policy_dir(Path(args.policies), controller=args.controller)]
    else:
        if args.controller:
            registry().require(args.controller, field="--controller")
        with Firewall.open() as fw:
            controllers = [args.controller] if args.controller else (list(registry()) if args.all else None)
            reports = [
                prove_cached(fw.baseline, (), None, fw.proofs, fresh=True),
                *verify_all(fw, controllers, fresh=True),
            ]
    elapsed = time.perf_counter() - started
    proven = all(r.proven for r in reports)
    if args.json:
        out = {
            "proven": proven,
            "elapsed_seconds": round(elapsed, 6),
            "reports": [r.as_dict() for r in reports],
        }
        print(json.dumps(out, indent=2, sort_keys=True))
    else:
        print(_verify_text(reports, elapsed))
    if not proven:
        failed = [r.controller or "the baseline" for r in reports if not r.proven]
        print(
            f"safereport: policy_unproven: {len(failed)} policy set(s) not proven: {', '.join(failed[:5])}",
            file=sys.stderr,
        )
    return 0 if proven else 1


def _verify_text(reports: list[ProofReport], elapsed: float) -> str:
    head, rest = reports[0], reports[1:]
    lines = [head.summary()]
    if rest:
        lines += ["", f"Policy sets of {len(rest)} controller(s), each for the controller's own data:"]
        for r in rest:
            state = "proven" if r.proven else "NOT PROVEN"
            lines.append(
                f"  {state:<10} {r.controller:<44} local policies {len(r.local):>2}  "
                f"version {r.policy_version[:16]}  {r.elapsed_seconds * 1000:7.1f} ms"
            )
        lines += ["", *(r.summary() for r in rest if not r.proven or r.local)]
    total = sum(r.proven for r in reports)
    lines.append(f"{total} of {len(reports)} policy sets proven in {elapsed:.2f} s.")
    return "\n".join(lines)


def cmd_policy(args: argparse.Namespace) -> int:
    if args.policy_cmd == "verify":
        return cmd_verify(args)
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
    sub = p.add_subparsers(
        dest="policy_cmd", required=True, metavar="show|list|add|remove|test|explain|verify"
    )
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
    register_tools(sub)
    register_verify(sub)
    p.set_defaults(func=cmd_policy)


def register_verify(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    v = sub.add_parser(
        "verify",
        help="prove the firewall for the baseline and controllers' policy sets (exit 0 only if all are proven)",
    )
    which = v.add_mutually_exclusive_group()
    which.add_argument("--controller", default=None, metavar="ID", help="this controller's policy set only")
    which.add_argument(
        "--all", action="store_true", help="every organisation's policy set, not just the forces'"
    )
    v.add_argument(
        "--policies",
        default=None,
        metavar="DIR",
        help="a draft policy directory instead of the store (a baseline with its schema or manifest, "
        "or local .cedar files with --controller)",
    )
    v.add_argument("--json", action="store_true", help="the reports as JSON")


# ---------------------------------------------------------------- policy test, policy explain


def cmd_policy_test(args: argparse.Namespace) -> int:
    """Run a directory of policy test tables; exit 0 only when every case passes."""
    from safereport.policy.testing import run_policy_tests

    report = run_policy_tests(Path(args.dir))
    if args.json:
        print(dump(report.to_json()))
        return 0 if report.passed else 1
    for result in report.results:
        print(("PASS  " if result.passed else "FAIL  ") + result.message)
    failed = len(report.failures)
    files = f"{len(report.files)} file" + ("s" if len(report.files) != 1 else "")
    print(f"{len(report.results)} cases in {files}: {len(report.results) - failed} passed, {failed} failed")
    if report.drafts:
        print(f"draft local policies loaded: {', '.join(report.drafts)}")
    if report.never_fired:
        print(f"policies that decided no case (untested): {', '.join(report.never_fired)}")
    return 0 if report.passed else 1


_QUESTION_FLAGS = ("requester", "capacity", "category", "purpose", "direction", "consent")


def cmd_policy_explain(args: argparse.Namespace) -> int:
    """Explain what a controller's policy set says about a request or a single-datum question."""
    import dataclasses

    from safereport.cli._io import read_document
    from safereport.model import DisclosureRequest
    from safereport.policy.explain import Question, explain_request, parse_question
    from safereport.wire import parse_request

    flags = {k: getattr(args, k) for k in _QUESTION_FLAGS if getattr(args, k) not in (None, False)}
    question: DisclosureRequest | Question
    if args.request is not None:
        if flags:
            raise BadInput(
                f"expected either REQUEST.json or the question flags, got both (--{next(iter(flags))})",
                field="REQUEST",
            )
        request = parse_request(read_document(args.request, what="REQUEST"))
        controller = args.controller or request.controller
        registry().require(controller, field="--controller")
        question = dataclasses.replace(request, controller=controller)
    else:
        if args.controller is None:
            raise BadInput(
                "expected --controller ID (whose policy set and data the question is about), got none",
                field="--controller",
            )
        registry().require(args.controller, field="--controller")
        controller = args.controller
        try:
            question = parse_question(flags)
        except BadInput as exc:
            raise BadInput(exc.message, field=f"--{exc.field}") from None
    with Firewall.open() as fw:
        engine = fw.engine_for(controller)
    explanation = explain_request(engine, question)
    if args.json:
        print(dump(explanation.to_json()))
    else:
        print(explanation.to_text(), end="")
    return 0


def register_tools(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    t = sub.add_parser("test", help="run table-driven policy tests (TOML) against the baseline and drafts")
    t.add_argument("dir", metavar="DIR", help="a directory of *.toml test tables and optional *.cedar drafts")
    t.add_argument("--json", action="store_true", help="print the report as JSON")
    t.set_defaults(func=cmd_policy_test)
    e = sub.add_parser(
        "explain",
        help="which policies fire for a request or question, and why (looks up no record)",
        description="Explain a disclosure request (REQUEST.json, or - for standard input), or a "
        "single-datum question given by flags, against a controller's policy set.",
    )
    e.add_argument("request", metavar="REQUEST.json", nargs="?", default=None)
    e.add_argument(
        "--controller", default=None, help="whose policy set to explain with (default: the request's)"
    )
    e.add_argument("--requester", default=None, help="question: the requesting or receiving body")
    e.add_argument("--capacity", default=None, help="question: the capacity the datum was collected in")
    e.add_argument("--category", default=None, help="question: the category of the datum")
    e.add_argument("--purpose", default=None, help="question: the stated purpose")
    e.add_argument("--direction", default=None, help="question: inbound (default) or outbound")
    e.add_argument("--consent", action="store_true", help="question: the subject's consent covers it")
    e.add_argument("--json", action="store_true", help="print the explanation as JSON")
    e.set_defaults(func=cmd_policy_explain)
