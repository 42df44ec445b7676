"""The subject-access verbs: issue and revoke a subject's reference and code, read a history."""

from __future__ import annotations

import argparse
import sys

from safereport.cli._io import dump


def cmd_issue(args: argparse.Namespace) -> int:
    from safereport import Firewall
    from safereport.subjects import issue_access

    with Firewall.open() as fw:
        issued = issue_access(fw, args.controller, args.person_id)
    print(dump({"reference": issued.reference, "code": issued.code, "controller": issued.controller}))
    print(
        "safereport: give the subject the reference and the code; the code is shown only this once",
        file=sys.stderr,
    )
    if not issued.person_held:
        print(
            "safereport: note: the controller holds no record of this person id yet; "
            "the history stays empty until a request names a record of theirs",
            file=sys.stderr,
        )
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from safereport import Firewall
    from safereport.subjects import normalise_reference, revoke_access

    with Firewall.open() as fw:
        revoked = revoke_access(fw, args.reference)
    print(dump({"reference": normalise_reference(args.reference), "revoked": revoked}))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from safereport import Firewall
    from safereport.subjects import subject_history

    code = sys.stdin.readline().strip()
    with Firewall.open() as fw:
        history = subject_history(fw, args.reference, code)
    print(dump(history.to_document()))
    return 0


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser(
        "subject-access",
        help="give a data subject a reference and code to see every request about their data",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    issue = actions.add_parser("issue", help="issue a reference and access code (the code is shown once)")
    issue.add_argument("controller", metavar="CONTROLLER")
    issue.add_argument("person_id", metavar="PERSON_ID")
    issue.set_defaults(func=cmd_issue)
    revoke = actions.add_parser("revoke", help="revoke a reference for good")
    revoke.add_argument("reference", metavar="REFERENCE")
    revoke.set_defaults(func=cmd_revoke)
    history = actions.add_parser(
        "history", help="the requests about a subject's data; reads the access code from standard input"
    )
    history.add_argument("reference", metavar="REFERENCE")
    history.set_defaults(func=cmd_history)
