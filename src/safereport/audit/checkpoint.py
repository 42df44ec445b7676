"""Checkpoints (C2SP tlog-checkpoint), witness cosignatures (C2SP tlog-cosignature, cosignature/v1)
and offline proof bundles (C2SP tlog-proof).

A checkpoint is the note text

    <origin>\\n
    <tree size, decimal, no leading zeros>\\n
    <base64 RFC 9162 root hash>\\n
    [extension lines]

signed by the log (`Checkpoint.sign`, `open_signed`) and cosigned by witnesses (`cosign`,
`verify_cosignature`).

A proof bundle lets anyone check, offline and without the store, that a leaf is in the tree a
signed checkpoint commits to:

    c2sp.org/tlog-proof@v1\\n
    extra <base64 of the 32-byte RFC 9162 leaf hash>\\n
    index <zero-based index, decimal>\\n
    <base64 inclusion proof hash>\\n      (zero or more, from the leaf's sibling up)
    \\n
    <the signed checkpoint, verbatim, with any cosignatures>

The tlog-proof format has no field for the leaf hash; it allows one optional `extra` line of
opaque application data, and this is where our bundles carry the leaf hash. The extra data is
not authenticated: `verify_bundle` checks the inclusion of the leaf hash the *caller* computed
from the entry it holds, and only uses the carried hash to say clearly when a bundle belongs to
another entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from safereport.audit.notes import (
    CosignatureVerifier,
    Cosigner,
    Note,
    Signer,
    Verifier,
    check_note_text,
    decode_base64,
    encode_base64,
)
from safereport.errors import AuditError

__all__ = [
    "HASH_SIZE",
    "MAX_TREE_SIZE",
    "PROOF_HEADER",
    "Checkpoint",
    "Cosigner",
    "InclusionVerifier",
    "ProofBundle",
    "cosign",
    "open_signed",
    "verify_bundle",
    "verify_cosignature",
]

HASH_SIZE = 32
MAX_TREE_SIZE = 2**64 - 1
MAX_PROOF_HASHES = 64
"""An inclusion proof in a tree of at most 2^64-1 leaves has at most 64 hashes."""

PROOF_HEADER = "c2sp.org/tlog-proof@v1"

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_LINE_CONTROL = re.compile(r"[\x00-\x1f]")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

InclusionVerifier = Callable[[bytes, int, int, tuple[bytes, ...], bytes], bool]
"""`(leaf_hash, index, tree_size, proof, root) -> bool`: an RFC 9162 inclusion proof check."""


def _check_line(value: object, what: str, *, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise AuditError(f"expected a non-empty {what}, got an empty one", field=field)
    if bad := _LINE_CONTROL.search(value):
        raise AuditError(
            f"expected a {what} without newlines or control characters, got U+{ord(bad.group()):04X}",
            field=field,
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise AuditError(
            f"expected a {what} in valid UTF-8, got an unpaired surrogate", field=field
        ) from None
    return value


def _parse_decimal(value: str, what: str, *, field: str) -> int:
    if not _DECIMAL.fullmatch(value):
        shown = value if len(value) <= 24 else value[:24] + "..."
        raise AuditError(
            f"expected the {what} in ASCII decimal without leading zeros, got {shown!r}", field=field
        )
    number = int(value)
    if number > MAX_TREE_SIZE:
        raise AuditError(f"expected a {what} of at most 2^64-1, got a {len(value)}-digit number", field=field)
    return number


def _check_count(value: object, what: str, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TREE_SIZE:
        raise AuditError(f"expected a {what} from 0 to 2^64-1, got {value!r}", field=field)
    return value


def _check_hash(value: object, what: str, *, field: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        got = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise AuditError(f"expected a {HASH_SIZE}-byte SHA-256 {what}, got {got}", field=field)
    return value


def _decode_hash(value: str, what: str, *, field: str) -> bytes:
    raw = decode_base64(value)
    if raw is None:
        raise AuditError(f"expected the {what} in standard padded base64, got something else", field=field)
    if len(raw) != HASH_SIZE:
        raise AuditError(f"expected a {HASH_SIZE}-byte {what}, got {len(raw)} bytes", field=field)
    return raw


# ---------------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: origin, tree size, RFC 9162 root hash, and optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin", field="origin")
        _check_count(self.size, "tree size", field="size")
        _check_hash(self.root, "root hash", field="root")
        if not isinstance(self.extensions, tuple):
            raise AuditError(
                f"expected the extension lines as a tuple, got {type(self.extensions).__name__}",
                field="extensions",
            )
        for number, line in enumerate(self.extensions, 1):
            _check_line(line, "extension line", field=f"extension line {number}")

    def body(self) -> str:
        """The note text: origin, size, base64 root, extension lines, each ending in a newline."""
        lines = [self.origin, str(self.size), encode_base64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: object) -> Checkpoint:
        """Parse a checkpoint's note text (not a signed note: see `open_signed`)."""
        if not isinstance(text, str):
            raise AuditError(f"expected a checkpoint as text, got {type(text).__name__}", field="checkpoint")
        if not text.endswith("\n"):
            raise AuditError("expected the checkpoint to end in a newline, got none", field="checkpoint")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise AuditError(
                f"expected at least 3 lines (origin, tree size, root hash), got {len(lines)}",
                field="checkpoint",
            )
        origin, size, root, *extensions = lines
        for number, line in enumerate(extensions, 4):
            if not line:
                raise AuditError(
                    "expected a non-empty extension line, got an empty one", field=f"checkpoint line {number}"
                )
        return cls(
            _check_line(origin, "origin", field="origin"),
            _parse_decimal(size, "tree size", field="size"),
            _decode_hash(root, "root hash", field="root"),
            tuple(extensions),
        )

    def sign(self, signer: Signer) -> str:
        """The signed checkpoint note."""
        return signer.sign(self.body())

    @classmethod
    def open_signed(cls, note: str, verifier: Verifier, *, origin: str | None = None) -> Checkpoint:
        """The checkpoint of a signed note, if `verifier`'s key signed it (and, if given, of `origin`)."""
        checkpoint = cls.parse(verifier.verify(note))
        if origin is not None and checkpoint.origin != origin:
            raise AuditError(
                f"expected a checkpoint of the log {origin!r}, got one of {checkpoint.origin!r}",
                field="origin",
            )
        return checkpoint


def open_signed(note: str, verifier: Verifier, *, origin: str | None = None) -> Checkpoint:
    """The checkpoint of a signed note, if `verifier`'s key signed it (and, if given, of `origin`)."""
    return Checkpoint.open_signed(note, verifier, origin=origin)


# ---------------------------------------------------------------------------------- cosignatures


def _unix_seconds(at: datetime) -> int:
    if not isinstance(at, datetime) or at.utcoffset() is None:
        raise AuditError("expected a timezone-aware time, got a naive one", field="at")
    seconds = (at - _EPOCH) // timedelta(seconds=1)
    if seconds < 0:
        raise AuditError(f"expected a time after 1970-01-01, got {at.isoformat()}", field="at")
    return seconds


def cosign(checkpoint: Checkpoint, cosigner: Cosigner, at: datetime) -> str:
    """A witness's cosignature/v1 line (ending in a newline) for `checkpoint`, dated `at`.

    Append it to the signed checkpoint note. Only cosign a checkpoint after checking that it is
    consistent with every checkpoint of the same log cosigned before.
    """
    return cosigner.cosignature_line(checkpoint.body(), _unix_seconds(at))


def verify_cosignature(signed_note: str, witness_vkey: str) -> datetime:
    """When the witness of `witness_vkey` cosigned the checkpoint of `signed_note` (the latest time,
    if it cosigned more than once); AuditError if it did not, or if its cosignature does not verify.

    This checks the witness's cosignature only: check the log's own signature with `open_signed`.
    """
    verifier = CosignatureVerifier.from_vkey(witness_vkey)
    text, timestamp = verifier.verify(signed_note)
    Checkpoint.parse(text)
    try:
        return _EPOCH + timedelta(seconds=timestamp)
    except OverflowError:
        raise AuditError(
            f"expected a cosignature time before the year 10000, got {timestamp}", field="note"
        ) from None


# ---------------------------------------------------------------------------------- proof bundles


@dataclass(frozen=True, slots=True)
class ProofBundle:
    """An offline inclusion proof (C2SP tlog-proof) for the leaf at `index`, with its leaf hash."""

    index: int
    leaf_hash: bytes
    proof: tuple[bytes, ...]
    signed_checkpoint: str

    def __post_init__(self) -> None:
        _check_count(self.index, "leaf index", field="index")
        _check_hash(self.leaf_hash, "leaf hash", field="leaf_hash")
        if not isinstance(self.proof, tuple):
            raise AuditError(
                f"expected the proof hashes as a tuple, got {type(self.proof).__name__}", field="proof"
            )
        if len(self.proof) > MAX_PROOF_HASHES:
            raise AuditError(
                f"expected at most {MAX_PROOF_HASHES} proof hashes, got {len(self.proof)}", field="proof"
            )
        for number, node in enumerate(self.proof, 1):
            _check_hash(node, "proof hash", field=f"proof hash {number}")
        check_note_text(self.signed_checkpoint, field="signed_checkpoint")
        Checkpoint.parse(Note.parse(self.signed_checkpoint).text)

    def to_text(self) -> str:
        lines = [
            PROOF_HEADER,
            f"extra {encode_base64(self.leaf_hash)}",
            f"index {self.index}",
            *(encode_base64(node) for node in self.proof),
        ]
        return "".join(line + "\n" for line in lines) + "\n" + self.signed_checkpoint

    @classmethod
    def parse(cls, text: object) -> ProofBundle:
        if not isinstance(text, str):
            raise AuditError(f"expected a proof bundle as text, got {type(text).__name__}", field="bundle")
        split = text.find("\n\n")
        if split < 0:
            raise AuditError(
                "expected a blank line between the inclusion proof and the checkpoint, got none",
                field="bundle",
            )
        head, signed_checkpoint = text[:split].split("\n"), text[split + 2 :]
        if head[0] != PROOF_HEADER:
            shown = head[0] if len(head[0]) <= 40 else head[0][:40] + "..."
            raise AuditError(
                f"expected {PROOF_HEADER!r} on the first line, got {shown!r}", field="bundle line 1"
            )
        if len(head) < 2 or not head[1].startswith("extra "):
            raise AuditError(
                "expected an 'extra' line carrying the base64 leaf hash on line 2, got none",
                field="bundle line 2",
            )
        leaf_hash = _decode_hash(head[1].removeprefix("extra "), "leaf hash", field="bundle line 2")
        if len(head) < 3 or not head[2].startswith("index "):
            raise AuditError("expected an 'index <number>' line on line 3, got none", field="bundle line 3")
        index = _parse_decimal(head[2].removeprefix("index "), "leaf index", field="bundle line 3")
        proof = tuple(
            _decode_hash(line, "proof hash", field=f"bundle line {number}")
            for number, line in enumerate(head[3:], 4)
        )
        if not signed_checkpoint:
            raise AuditError(
                "expected the signed checkpoint after the blank line, got nothing", field="bundle"
            )
        return cls(index, leaf_hash, proof, signed_checkpoint)


def verify_bundle(
    text: str,
    log_vkey: str,
    leaf_hash: bytes,
    verify_inclusion: InclusionVerifier,
    *,
    origin: str | None = None,
) -> Checkpoint:
    """Check offline that `leaf_hash` is at the bundle's index in the tree of the bundle's checkpoint,
    and that the log of `log_vkey` signed that checkpoint (for the log `origin`, if given).

    `leaf_hash` is the RFC 9162 leaf hash the caller computed from the entry it holds; the hash
    the bundle carries is not trusted. Returns the verified checkpoint; raises AuditError.
    Witness cosignatures are not checked here: use `verify_cosignature` on
    `ProofBundle.parse(text).signed_checkpoint` with each witness key the policy requires.
    """
    leaf_hash = _check_hash(leaf_hash, "leaf hash", field="leaf_hash")
    bundle = ProofBundle.parse(text)
    if bundle.leaf_hash != leaf_hash:
        raise AuditError(
            f"expected a bundle for leaf hash {leaf_hash.hex()}, got one for {bundle.leaf_hash.hex()}",
            field="leaf_hash",
        )
    checkpoint = open_signed(bundle.signed_checkpoint, Verifier.from_vkey(log_vkey), origin=origin)
    if bundle.index >= checkpoint.size:
        raise AuditError(
            f"expected a leaf index below the tree size {checkpoint.size}, got {bundle.index}", field="index"
        )
    if not verify_inclusion(leaf_hash, bundle.index, checkpoint.size, bundle.proof, checkpoint.root):
        raise AuditError(
            f"expected the inclusion proof to lead from leaf {bundle.index} to the root of the "
            f"checkpoint of size {checkpoint.size}, got another root: the entry is not at that index",
            field="proof",
        )
    return checkpoint
