"""Verbs over the transparency log: audit, witness."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from safereport.audit import merkle
from safereport.cli._io import dump, read_key
from safereport.errors import AuditError, BadInput
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


class HttpLog:
    """A log served by `safereport serve`, as a witness sees it: the signed checkpoint and the
    tiles it publishes (the consistency proof is computed here, from the tiles), and a place to
    post the cosignature (an oversight key)."""

    def __init__(self, url: str, token: str) -> None:
        if not url.startswith(("http://", "https://")):
            raise BadInput("expected an http:// or https:// URL", field="--url")
        self.url = url.rstrip("/")
        self.token = token
        self._size = 0

    def _get(self, path: str) -> bytes | None:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as answer:
                return bytes(answer.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise AuditError(
                f"expected the log at {self.url} to answer {path}, got status {exc.code}"
            ) from None
        except (OSError, ValueError) as exc:
            raise AuditError(
                f"expected the log at {self.url} to answer, got {exc.__class__.__name__}"
            ) from None

    def latest_checkpoint(self) -> str:
        note = self._get("/v1/log/checkpoint")
        if note is None:
            raise AuditError(f"expected a checkpoint at {self.url}/v1/log/checkpoint, got none")
        return note.decode("utf-8")

    def read_tiles(self, keys: Sequence[merkle.TileKey]) -> dict[merkle.TileKey, bytes]:
        found = {}
        for key in keys:
            width = min(
                merkle.TILE_WIDTH,
                (self._size >> (merkle.TILE_HEIGHT * key.level)) - key.index * merkle.TILE_WIDTH,
            )
            if width > 0 and (data := self._get("/v1/log/" + merkle.tile_path(key, width))) is not None:
                found[key] = data
        return found

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        self._size = new_size
        try:
            return merkle.consistency_proof(self, old_size, new_size)
        except ValueError as exc:
            raise AuditError(f"the log's tiles do not give a consistency proof: {exc}") from None

    def add_cosignature(self, size: int, witness: str, line: str) -> None:
        body = json.dumps({"size": size, "witness": witness, "line": line}).encode()
        request = urllib.request.Request(
            self.url + "/v1/log/cosignatures",
            data=body,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30):
                return
        except urllib.error.HTTPError as exc:
            raise AuditError(f"expected the log to take the cosignature, got status {exc.code}") from None
        except OSError as exc:
            raise AuditError(
                f"expected the log to take the cosignature, got {exc.__class__.__name__}"
            ) from None


def cmd_witness(args: argparse.Namespace) -> int:
    from safereport.audit.witness import Witness

    witness = Witness(Path(args.state), args.name)
    if args.show_key:
        print(witness.verifier_key())
        return 0
    if args.url:
        if not args.log_key or not args.key_file:
            raise BadInput("expected --log-key and --key-file (an oversight key) with --url", field="--url")
        try:
            token = Path(args.key_file).read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(
                f"expected a readable key file, got {exc.__class__.__name__}", field="--key-file"
            ) from None
        result = witness.witness(HttpLog(args.url, token), read_key(args.log_key))
    else:
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
    p.add_argument(
        "--url",
        metavar="URL",
        help="witness a log served by `safereport serve` at URL (with --log-key and --key-file)",
    )
    p.add_argument("--key-file", metavar="FILE", help="with --url: a file holding an oversight API key")
    p.add_argument("--show-key", action="store_true", help="print the witness's public key and stop")
    p.set_defaults(func=cmd_witness)
