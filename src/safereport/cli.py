"""The `safereport` command: a thin face over the library.

Exit status: 0 done, 2 bad input (one line on standard error naming the problem), 1 any
other failure. Nothing is printed on standard output unless the command succeeded.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from itertools import islice
from pathlib import Path
from typing import IO, Any

from safereport.errors import BadInput, SafereportError
from safereport.firewall import Firewall
from safereport.orgs import registry
from safereport.policy import LocalPolicy, load_baseline
from safereport.wire import parse_consent, parse_json, parse_request, response_to_json


def _dump(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(", ", ": "))


def _read_document(source: str, *, what: str) -> Any:
    if source == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(
                f"expected a readable UTF-8 JSON file, got {exc.__class__.__name__}", field=source
            ) from None
    return parse_json(text, what=what)


def cmd_orgs(args: argparse.Namespace) -> int:
    orgs = sorted(registry().values(), key=lambda o: (o.kind.value, o.id))
    if args.json:
        print(
            _dump(
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
        _dump(
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
            consent = parse_consent(_read_document(args.file, what="consent"))
            created = fw.grant_consent(consent)
            print(_dump({"consent_id": consent.consent_id, "granted": True, "new": created}))
        elif args.consent_cmd == "revoke":
            changed = fw.revoke_consent(args.consent_id)
            print(_dump({"consent_id": args.consent_id, "revoked": True, "changed": changed}))
        else:
            for c in fw.consents(args.controller):
                print(
                    _dump(
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
    request = parse_request(_read_document(args.file, what="request"))
    with Firewall.open() as fw:
        response = fw.decide(request, explain=args.explain)
    print(_dump(response_to_json(response)))
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
                    out.write(_dump({"line": number, "error": item.as_dict()}) + "\n")
                else:
                    out.write(_dump(response_to_json(next(responses))) + "\n")
            out.flush()
    return bad


def cmd_audit(args: argparse.Namespace) -> int:
    if args.audit_cmd == "check-proof":
        return _check_proof(args)
    with Firewall.open() as fw:
        if args.audit_cmd == "verify":
            report = fw.verify_audit([_read_key(k) for k in args.witness_key])
            print(
                _dump(
                    {"ok": report.ok, "entries": report.entries, "root": report.head, "detail": report.detail}
                )
            )
            return 0 if report.ok else 1
        if args.audit_cmd == "proof":
            sys.stdout.write(fw.log.proof(args.index))
        elif args.audit_cmd == "checkpoint":
            sys.stdout.write(fw.log.checkpoint())
        else:
            print(fw.log.signer.verifier_key())
    return 0


def _read_key(value: str) -> str:
    """A verifier key given inline (name+hash+key) or as a file holding one."""
    path = Path(value)
    if "+" not in value and path.exists():
        return path.read_text("utf-8").strip()
    return value.strip()


def _check_proof(args: argparse.Namespace) -> int:
    """Verify a proof bundle offline: no store is opened."""
    from safereport.audit import merkle
    from safereport.audit.checkpoint import verify_bundle
    from safereport.audit.log import leaf_hash

    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(
            f"expected a readable proof bundle, got {exc.__class__.__name__}", field=args.file
        ) from None
    if args.entry is not None:
        entry = Path(args.entry).read_bytes().rstrip(b"\n")
        leaf = bytes.fromhex(leaf_hash(entry))
    elif args.leaf_hash is not None:
        try:
            leaf = bytes.fromhex(args.leaf_hash)
        except ValueError:
            leaf = b""
        if len(leaf) != 32:
            raise BadInput("expected 64 hex digits (the receipt's leaf_hash)", field="--leaf-hash")
    else:
        raise BadInput("expected --leaf-hash HEX (from the receipt) or --entry FILE", field="--leaf-hash")
    log_key = _read_key(args.log_key)
    origin = log_key.split("+", 1)[0]
    checkpoint = verify_bundle(text, log_key, leaf, merkle.verify_inclusion, origin=origin)
    print(
        _dump(
            {"ok": True, "origin": checkpoint.origin, "size": checkpoint.size, "root": checkpoint.root.hex()}
        )
    )
    return 0


def cmd_witness(args: argparse.Namespace) -> int:
    from safereport.audit.witness import Witness

    witness = Witness(Path(args.state), args.name)
    if args.show_key:
        print(witness.verifier_key())
        return 0
    with Firewall.open() as fw:
        result = witness.witness(
            fw.log, _read_key(args.log_key) if args.log_key else fw.log.signer.verifier_key()
        )
    print(
        _dump(
            {
                "ok": True,
                "origin": result.origin,
                "previous_size": result.previous_size,
                "size": result.size,
                "root": result.root,
                "cosigned": True,
            }
        )
    )
    return 0


def cmd_policy(args: argparse.Namespace) -> int:
    if args.policy_cmd == "show":
        baseline = load_baseline()
        print(_dump({"name": baseline.name, "version": baseline.version, "sha256": baseline.sha256}))
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
                _dump(
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
            print(_dump({"controller": args.controller, "policy_id": args.policy_id, "removed": removed}))
        else:
            registry().require(args.controller, field="CONTROLLER")
            engine = fw.engine_for(args.controller)
            print(
                _dump(
                    {
                        "controller": args.controller,
                        "policy_version": engine.version,
                        "baseline": engine.baseline.sha256,
                        "local": [{"policy_id": p.policy_id, "sha256": p.sha256} for p in engine.local],
                    }
                )
            )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from safereport.demo import main as demo_main

    return demo_main(seed=args.seed, n_records=args.records, n_requests=args.requests)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safereport",
        description="A data-sharing firewall for public services. The store is SAFEREPORT_DB "
        "(a database URL); without it, safereport.db in the data directory.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

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

    p = verbs.add_parser("audit", help="the transparency log: verify, checkpoints, proofs")
    sub = p.add_subparsers(dest="audit_cmd", required=True, metavar="verify|checkpoint|proof|check-proof|key")
    v = sub.add_parser("verify", help="re-check every entry, leaf, tile and signed checkpoint of the log")
    v.add_argument(
        "--witness-key",
        action="append",
        default=[],
        metavar="VKEY",
        help="also check this witness's cosignatures (a key or a file holding one; repeatable)",
    )
    sub.add_parser("checkpoint", help="the latest signed checkpoint (C2SP tlog-checkpoint)")
    pr = sub.add_parser("proof", help="an offline proof bundle (C2SP tlog-proof) for one entry")
    pr.add_argument("index", type=int, metavar="INDEX")
    cp = sub.add_parser("check-proof", help="verify a proof bundle offline, without the store")
    cp.add_argument("file", metavar="FILE", help="the bundle ('-' for standard input)")
    cp.add_argument(
        "--log-key", required=True, metavar="VKEY", help="the log's public key (or a file holding it)"
    )
    cp.add_argument("--leaf-hash", metavar="HEX", help="the leaf hash from the receipt")
    cp.add_argument("--entry", metavar="FILE", help="or the entry itself, to hash")
    sub.add_parser("key", help="the log's public key, to give to oversight bodies and witnesses")
    p.set_defaults(func=cmd_audit)

    p = verbs.add_parser(
        "witness", help="verify the log's newest checkpoint against the last one accepted, and cosign"
    )
    p.add_argument(
        "--state",
        required=True,
        metavar="DIR",
        help="the witness's own folder: its key and the last checkpoint it accepted",
    )
    p.add_argument(
        "--name", default="witness.example", help="the witness's key name (default witness.example)"
    )
    p.add_argument(
        "--log-key",
        metavar="VKEY",
        help="the log's public key as published (or a file); default: the key the store names",
    )
    p.add_argument("--show-key", action="store_true", help="print the witness's public key and stop")
    p.set_defaults(func=cmd_witness)

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

    p = verbs.add_parser("demo", help="run the synthetic national workload and show the firewall's figures")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--requests", type=int, default=20_000)
    p.set_defaults(func=cmd_demo)
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


if __name__ == "__main__":
    sys.exit(main())
