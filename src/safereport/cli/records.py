"""Verbs over records, consents and decisions: orgs, ingest, consent, decide."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from itertools import islice
from pathlib import Path
from typing import IO, Any

from safereport.cli._io import dump, read_document
from safereport.errors import BadInput, SafereportError
from safereport.firewall import Firewall
from safereport.orgs import registry
from safereport.wire import parse_consent, parse_json, parse_request, response_to_json


def cmd_orgs(args: argparse.Namespace) -> int:
    orgs = sorted(registry().values(), key=lambda o: (o.kind.value, o.id))
    if args.json:
        print(
            dump(
                [
                    {
                        "id": o.id,
                        "name": o.name,
                        "kind": o.kind.value,
                        "functions": sorted(f.value for f in o.functions),
                    }
                    for o in orgs
                ]
            )
        )
        return 0
    width = max(len(o.id) for o in orgs)
    for o in orgs:
        print(f"{o.id:<{width}}  {o.kind.value:<22}  {','.join(sorted(o.functions))}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    with Firewall.open() as fw:
        report = fw.ingest_file(Path(args.file))
    print(
        dump(
            {
                "records": report.records,
                "persons": report.persons,
                "replaced": report.replaced,
                "derived_resolved": report.derived,
            }
        )
    )
    return 0


def cmd_consent(args: argparse.Namespace) -> int:
    with Firewall.open() as fw:
        if args.consent_cmd == "grant":
            consent = parse_consent(read_document(args.file, what="consent"))
            created = fw.grant_consent(consent)
            print(dump({"consent_id": consent.consent_id, "granted": True, "new": created}))
        elif args.consent_cmd == "revoke":
            changed = fw.revoke_consent(args.consent_id)
            print(dump({"consent_id": args.consent_id, "revoked": True, "changed": changed}))
        else:
            for c in fw.consents(args.controller):
                print(
                    dump(
                        {
                            "consent_id": c.consent_id,
                            "controller": c.controller,
                            "recipient": c.recipient,
                            "purpose": c.purpose.value,
                            "categories": sorted(c.categories),
                            "expires": c.expires.isoformat().replace("+00:00", "Z"),
                            "revoked": c.revoked_at is not None,
                        }
                    )
                )
    return 0


def _batch_lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


def cmd_decide(args: argparse.Namespace) -> int:
    if args.batch is not None:
        return _decide_batch(args)
    if args.file is None:
        raise BadInput("expected a request file, '-' for standard input, or --batch FILE", field="FILE")
    request = parse_request(read_document(args.file, what="request"))
    with Firewall.open() as fw:
        response = fw.decide(request, explain=args.explain)
    print(dump(response_to_json(response)))
    return 0


def _decide_batch(args: argparse.Namespace) -> int:
    source = args.batch
    with ExitStack() as stack:
        if source == "-":
            stream: IO[str] = sys.stdin
        else:
            try:
                stream = stack.enter_context(Path(source).open(encoding="utf-8"))
            except OSError as exc:
                raise BadInput(
                    f"expected a readable JSON Lines file, got {exc.strerror}", field=source
                ) from None
        bad = _decide_stream(stream, explain=args.explain)
    if bad:
        print(f"safereport: {bad} malformed request(s) in the batch; see the error lines", file=sys.stderr)
        return 2
    return 0


def _decide_stream(stream: IO[str], *, explain: bool) -> int:
    """Decide one request a line, writing one response a line; returns the malformed count."""
    bad = 0
    out = sys.stdout
    with Firewall.open() as fw:
        lines = _batch_lines(stream)
        chunk_size = fw.settings.commit_batch
        while chunk := list(islice(lines, chunk_size)):
            parsed: list[tuple[int, Any]] = []
            for number, line in chunk:
                try:
                    parsed.append((number, parse_request(parse_json(line, what="request"))))
                except SafereportError as exc:
                    parsed.append((number, exc))
            requests = [r for _, r in parsed if not isinstance(r, SafereportError)]
            responses = iter(fw.decide_many(requests, explain=explain))
            for number, item in parsed:
                if isinstance(item, SafereportError):
                    bad += 1
                    out.write(dump({"line": number, "error": item.as_dict()}) + "\n")
                else:
                    out.write(dump(response_to_json(next(responses))) + "\n")
            out.flush()
    return bad


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser("orgs", help="list the organisations safereport knows")
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(func=cmd_orgs)

    p = verbs.add_parser("ingest", help="ingest records from a JSON Lines file (atomic, idempotent)")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=cmd_ingest)

    p = verbs.add_parser("consent", help="grant, revoke or list consents")
    sub = p.add_subparsers(dest="consent_cmd", required=True, metavar="grant|revoke|list")
    g = sub.add_parser("grant", help="grant the consent in FILE ('-' for standard input)")
    g.add_argument("file", metavar="FILE")
    r = sub.add_parser("revoke", help="revoke a consent by id")
    r.add_argument("consent_id", metavar="ID")
    ls = sub.add_parser("list", help="list consents")
    ls.add_argument("--controller", default=None)
    p.set_defaults(func=cmd_consent)

    p = verbs.add_parser("decide", help="decide a disclosure request or outbound check")
    p.add_argument("file", nargs="?", metavar="FILE", help="the request ('-' for standard input)")
    p.add_argument("--explain", action="store_true", help="add the controller-only explanation")
    p.add_argument("--batch", metavar="FILE.jsonl", help="decide one request a line, one response a line")
    p.set_defaults(func=cmd_decide)
