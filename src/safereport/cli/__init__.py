"""The `safereport` command: a thin face over the library.

Exit status: 0 done, 2 bad input (one line on standard error naming the problem), 1 any
other failure. Nothing is printed on standard output unless the command succeeded.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from safereport.cli import audit, demo, policy, records, redact, service, subjects
from safereport.errors import SafereportError

# Each module adds its verbs, in the order `safereport --help` lists them.
_VERB_MODULES = (records, audit, policy, redact, service, subjects, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safereport",
        description="A data-sharing firewall for public services. The store is SAFEREPORT_DB "
        "(a database URL); without it, safereport.db in the data directory.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for module in _VERB_MODULES:
        module.register(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
        return status
    except SafereportError as exc:
        print(f"safereport: {exc.code}: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("safereport: interrupted; nothing further was disclosed", file=sys.stderr)
        return 1
    except Exception as exc:  # fail closed: no traceback, no data, nothing on stdout
        print(
            f"safereport: internal error ({exc.__class__.__name__}); nothing was disclosed", file=sys.stderr
        )
        return 1
