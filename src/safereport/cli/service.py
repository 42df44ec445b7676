"""The service verbs: `serve` (the HTTP API) and `keys` (its API keys)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

from safereport.cli._io import dump
from safereport.errors import BadInput


def cmd_keys(args: argparse.Namespace) -> int:
    from safereport import apikeys
    from safereport.firewall import Firewall

    with Firewall.open() as fw:
        if args.keys_cmd == "create":
            made = apikeys.create_key(fw.store, args.org, args.role, label=args.label)
            print(
                dump(
                    {
                        "key_id": made.key.key_id,
                        "org": made.key.org,
                        "role": made.key.role.value,
                        "label": made.key.label,
                        "token": made.token,
                    }
                )
            )
            print("safereport: the token is shown this once; only its hash is kept", file=sys.stderr)
        elif args.keys_cmd == "list":
            for key in apikeys.list_keys(fw.store, args.org):
                print(
                    dump(
                        {
                            "key_id": key.key_id,
                            "org": key.org,
                            "role": key.role.value,
                            "label": key.label,
                            "created_at": key.created_at.isoformat().replace("+00:00", "Z"),
                            "revoked": key.revoked_at is not None,
                        }
                    )
                )
        else:
            changed = apikeys.revoke_key(fw.store, args.key_id)
            print(dump({"key_id": args.key_id, "revoked": True, "changed": changed}))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from safereport.firewall import Firewall

    if not 1 <= args.workers <= 64:
        raise BadInput(f"expected 1 to 64 workers, got {args.workers}", field="--workers")
    if not 0 <= args.port <= 65_535:
        raise BadInput(f"expected a port from 0 to 65535, got {args.port}", field="--port")
    # Open (migrate, create keys) once here, so workers never race to do it, and fail fast.
    Firewall.open().close()
    made_metrics_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        made_metrics_dir = tempfile.mkdtemp(prefix="safereport-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made_metrics_dir
    print(
        f"safereport: serving on http://{args.host}:{args.port} with {args.workers} worker(s)",
        file=sys.stderr,
        flush=True,
    )
    try:
        uvicorn.run(
            "safereport.api:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            access_log=False,  # paths can hold request and consent ids: counted in /metrics instead
            log_level=args.log_level,
            server_header=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        if made_metrics_dir is not None:
            shutil.rmtree(made_metrics_dir, ignore_errors=True)
    return 0


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser("serve", help="run the HTTP API (see docs/http.md)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p.add_argument("--workers", type=int, default=1, help="worker processes, one Firewall each (default 1)")
    p.add_argument(
        "--log-level",
        default="warning",
        choices=("critical", "error", "warning", "info"),
        help="server log level (default warning); requests are never logged, only counted",
    )
    p.set_defaults(func=cmd_serve)

    p = verbs.add_parser("keys", help="API keys for the HTTP API: create, list, revoke")
    sub = p.add_subparsers(dest="keys_cmd", required=True, metavar="create|list|revoke")
    c = sub.add_parser("create", help="create a key for ORG in ROLE; prints the key once")
    c.add_argument("org", metavar="ORG")
    c.add_argument(
        "--role", required=True, metavar="ROLE", help="controller, requester, dpo, oversight or admin"
    )
    c.add_argument("--label", default="", help="a note to tell keys apart (no personal data)")
    ls = sub.add_parser("list", help="list keys (never their secrets)")
    ls.add_argument("--org", default=None, metavar="ORG")
    r = sub.add_parser("revoke", help="revoke a key by id (permanent)")
    r.add_argument("key_id", metavar="KEY_ID")
    p.set_defaults(func=cmd_keys)
