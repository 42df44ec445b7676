"""The redact verb: try the narrative minimiser on your own text.

    safereport redact [--mode sentence|mask|tag] [--subject NAME ...] [--explain] < narrative.txt

Prints the minimised text on standard output; with `--explain`, the removals (category,
offsets into the input, action; never the removed words) as JSON on standard error. Reads no
store and logs nothing: nothing is disclosed to anyone but the person running it.
"""

from __future__ import annotations

import argparse
import sys

from safereport.cli._io import dump
from safereport.errors import BadInput


def cmd_redact(args: argparse.Namespace) -> int:
    from safereport.redact import Mode, minimise

    try:
        text = sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(
            "expected UTF-8 text on standard input, got bytes that are not", field="stdin"
        ) from None
    result = minimise(text, mode=Mode(args.mode), subject_names=args.subject or ())
    sys.stdout.write(result.text)
    if result.text and not result.text.endswith("\n"):
        sys.stdout.write("\n")
    sys.stdout.flush()
    if args.explain:
        removals = [
            {"category": r.category, "start": r.start, "end": r.end, "action": r.action}
            for r in result.removals
        ]
        print(dump({"mode": args.mode, "removals": removals}), file=sys.stderr)
    return 0


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser(
        "redact",
        help="minimise a narrative read on standard input: immigration information removed, "
        "other people's identifiers masked",
    )
    p.add_argument(
        "--mode",
        choices=["sentence", "mask", "tag"],
        default="sentence",
        help="remove whole sentences (default, as the firewall does), mask the span, or tag it with its category",
    )
    p.add_argument(
        "--subject",
        action="append",
        metavar="NAME",
        help="the subject's name, left unmasked (repeat for aliases)",
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="print the removals (category and offsets) as JSON on standard error",
    )
    p.set_defaults(func=cmd_redact)
