"""Verbs over the transparency log: audit, witness."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from safereport.cli._io import dump, read_key
from safereport.errors import BadInput
from safereport.firewall import Firewall


def cmd_audit(args: argparse.Namespace) -> int:
    if args.audit_cmd == "check-proof":
        return _check_proof(args)
    with Firewall.open() as fw:
        if args.audit_cmd == "verify":
            report = fw.verify_audit([read_key(k) for k in args.witness_key])
            print(
                dump(
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
    log_key = read_key(args.log_key)
    origin = log_key.split("+", 1)[0]
    checkpoint = verify_bundle(text, log_key, leaf, merkle.verify_inclusion, origin=origin)
    print(
        dump(
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
            fw.log, read_key(args.log_key) if args.log_key else fw.log.signer.verifier_key()
        )
    print(
        dump(
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


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
