"""The demo verb: the synthetic national workload, and (with --serve) the service on its store."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from safereport.firewall import Firewall

OVERSIGHT_BODY = "hmicfrs"


def cmd_demo(args: argparse.Namespace) -> int:
    from safereport.demo import main as demo_main

    status = demo_main(seed=args.seed, n_records=args.records, n_requests=args.requests)
    if not args.serve:
        return status
    if status != 0:
        print("safereport: the demo did not hold; not serving its store", file=sys.stderr)
        return status
    return _serve_demo(args)


def _serve_demo(args: argparse.Namespace) -> int:
    """Sign-in material for the views, printed once, then `safereport serve` on the demo's store."""
    from safereport.apikeys import create_key
    from safereport.cli.service import cmd_serve
    from safereport.firewall import Firewall

    with Firewall.open() as fw:
        created = create_key(fw.store, OVERSIGHT_BODY, "oversight", label="demo")
        subject = _subject_with_history(fw)
    base = f"http://{args.host}:{args.port}"
    print()
    print("7. The service on the demo's store (Ctrl-C to stop)")
    print(
        f"   oversight view  {base}/oversight   sign in with the key below ({OVERSIGHT_BODY}, oversight role)"
    )
    print(f"                   {created.token}")
    if subject is not None:
        print(f"   subject view    {base}/subject     reference {subject[0]}  access code {subject[1]}")
    print(f"   HTTP API        {base}/docs        (OpenAPI at /openapi.json)")
    sys.stdout.flush()
    serve_args = argparse.Namespace(host=args.host, port=args.port, workers=args.workers, log_level="warning")
    return cmd_serve(serve_args)


def _subject_with_history(fw: Firewall) -> tuple[str, str] | None:
    """A reference and access code for one person of the demo whom recent requests were about."""
    import json

    from sqlalchemy import select

    from safereport.audit import person_key
    from safereport.audit.keys import load_or_create_subject_key
    from safereport.store import tables
    from safereport.subjects import issue_access

    with fw.store.read() as conn:
        entries = conn.execute(
            select(tables.audit_log.c.entry).order_by(tables.audit_log.c.idx.desc()).limit(500)
        ).scalars()
        wanted = {key for text in entries for key in json.loads(text).get("subject_persons", [])}
        persons = conn.execute(select(tables.persons.c.controller, tables.persons.c.person_id).distinct())
        subject_key = load_or_create_subject_key(fw.settings.keys_path)
        for controller, person_id in persons:
            if person_key(subject_key, controller, person_id) in wanted:
                issued = issue_access(fw, controller, person_id)
                return issued.reference, issued.code
    return None


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser("demo", help="run the synthetic national workload and show the firewall's figures")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--requests", type=int, default=20_000)
    p.add_argument(
        "--serve", action="store_true", help="then serve the demo's store: API, oversight and subject views"
    )
    p.add_argument("--host", default="127.0.0.1", help="with --serve: address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="with --serve: port (default 8080)")
    p.add_argument("--workers", type=int, default=2, help="with --serve: worker processes (default 2)")
    p.set_defaults(func=cmd_demo)
