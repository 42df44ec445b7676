"""Signed notes (C2SP signed-note) and the Ed25519 keys that sign them.

A signed note is a text ending in a newline, a blank line, and one or more signature lines:

    <text>\\n
    \\n
    — <key name> <base64(4-byte key ID || signature)>\\n

The key ID is the first four bytes of SHA-256(key name || 0x0A || signature type || public key).
Two signature types are used here:

* 0x01, plain Ed25519 over the note text: what the log signs its checkpoints with (`Signer`,
  `Verifier`);
* 0x04, the timestamped Ed25519 witness cosignature of C2SP tlog-cosignature (`Cosigner`,
  `CosignatureVerifier`): Ed25519 over "cosignature/v1\\ntime <seconds>\\n" + note text, and
  the signature carries the 8-byte big-endian time before the 64-byte Ed25519 signature.

Public keys are exchanged as verifier keys ("vkeys"), `<name>+<hex key ID>+<base64(type ||
public key)>`, the encoding of golang.org/x/mod/sumdb/note. A private key is kept in a file of
its own (mode 0600), never in the database, as `PRIVATE+KEY+<name>+<hex key ID>+<base64(type ||
Ed25519 seed)>`, the same package's signer key encoding.

Verification follows the specification: signatures by keys the verifier does not know are
ignored; a signature by the known key (same name *and* key ID) that does not verify rejects the
whole note; a note with no verifying signature by the known key is rejected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Self, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from safereport.errors import AuditError

ED25519 = 0x01
"""Signature type of a plain Ed25519 note signature (C2SP signed-note)."""

COSIGNATURE_V1 = 0x04
"""Signature type of a timestamped Ed25519 witness cosignature (C2SP tlog-cosignature)."""

EM_DASH = "\u2014"
SIGNATURE_PREFIX = EM_DASH + " "
MAX_SIGNATURES = 100
"""Notes with more signature lines are refused (the spec asks verifiers to accept at least 16)."""

MAX_TIMESTAMP = 2**63 - 1
COSIGNATURE_HEADER = "cosignature/v1\n"
_ED25519_SIGNATURE_SIZE = 64
_KEY_SIZE = 32
_PRIVATE_PREFIX = "PRIVATE+KEY+"

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_K = TypeVar("_K", bound="_PrivateKey")
_TYPE_NAMES = {ED25519: "an Ed25519 note key", COSIGNATURE_V1: "a cosignature/v1 witness key"}


# ---------------------------------------------------------------------------------- helpers


def decode_base64(value: str) -> bytes | None:
    """Strict standard base64 (RFC 4648 section 4): padded, canonical, nothing else; None if not."""
    if not value or not value.isascii():
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == value else None


def encode_base64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || signature type || public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([signature_type]) + public_key).digest()[:4]


def check_key_name(name: object, *, field: str = "key name") -> str:
    """A key name is non-empty UTF-8 with no Unicode spaces, no plus sign and no control characters."""
    if not isinstance(name, str) or not name:
        raise AuditError("expected a non-empty key name, got an empty one", field=field)
    if _SURROGATE.search(name):
        raise AuditError("expected a key name in valid UTF-8, got an unpaired surrogate", field=field)
    for char in name:
        if char == "+" or char.isspace() or char < " ":
            raise AuditError(
                f"expected a key name without spaces, plus signs or control characters, got U+{ord(char):04X}",
                field=field,
            )
    return name


def check_note_text(text: object, *, field: str = "text") -> str:
    """The text of a note: non-empty, ends in a newline, valid UTF-8, no control characters but newline."""
    if not isinstance(text, str) or not text:
        raise AuditError("expected a non-empty note text ending in a newline, got an empty one", field=field)
    if not text.endswith("\n"):
        raise AuditError("expected the note text to end in a newline, got none at the end", field=field)
    _check_characters(text, field=field)
    return text


def _check_characters(value: str, *, field: str) -> None:
    if bad := _CONTROL.search(value):
        line = value.count("\n", 0, bad.start()) + 1
        raise AuditError(
            f"expected no control characters other than newline, got U+{ord(bad.group()):04X} on line {line}",
            field=field,
        )
    if bad := _SURROGATE.search(value):
        line = value.count("\n", 0, bad.start()) + 1
        raise AuditError(f"expected valid UTF-8, got an unpaired surrogate on line {line}", field=field)


def _describe_type(signature_type: int) -> str:
    return _TYPE_NAMES.get(signature_type, "an unknown key type")


def _key_label(name: str, key_hash: bytes) -> str:
    return f"{name}+{key_hash.hex()}"


# ---------------------------------------------------------------------------------- notes


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: the key name, the 4-byte key ID, and the signature bytes after it."""

    name: str
    key_hash: bytes
    signature: bytes

    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {encode_base64(self.key_hash + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed (not verified) signed note."""

    text: str
    signatures: tuple[NoteSignature, ...]

    @classmethod
    def parse(cls, note: object) -> Note:
        """Split a signed note into its text and its signature lines; check the syntax only."""
        if not isinstance(note, str):
            raise AuditError(f"expected a signed note as text, got {type(note).__name__}", field="note")
        _check_characters(note, field="note")
        split = note.rfind("\n\n")
        if split < 0:
            raise AuditError(
                "expected a text, a blank line and signature lines, got no blank line", field="note"
            )
        text, block = note[: split + 1], note[split + 2 :]
        if not block:
            raise AuditError("expected signature lines after the blank line, got none", field="note")
        if not block.endswith("\n"):
            raise AuditError("expected the last signature line to end in a newline, got none", field="note")
        lines = block[:-1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise AuditError(
                f"expected at most {MAX_SIGNATURES} signature lines, got {len(lines)}", field="note"
            )
        return cls(text, tuple(_parse_signature_line(line, number) for number, line in enumerate(lines, 1)))

    def to_text(self) -> str:
        return self.text + "\n" + "".join(signature.line() for signature in self.signatures)

    def by(self, name: str, key_hash: bytes) -> list[NoteSignature]:
        """The signatures whose key name and key ID both match."""
        return [s for s in self.signatures if s.name == name and s.key_hash == key_hash]

    def signers(self) -> str:
        """Who signed, for messages: `name+keyid` of each signature line, or "none"."""
        return ", ".join(_key_label(s.name, s.key_hash) for s in self.signatures) or "none"


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    where = f"signature line {number}"
    if not line.startswith(SIGNATURE_PREFIX):
        raise AuditError(
            f"expected an em dash (U+2014) and a space at the start, got {line[:2]!r}", field=where
        )
    name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not space:
        raise AuditError("expected '<key name> <base64 signature>', got no space after the name", field=where)
    check_key_name(name, field=where)
    raw = decode_base64(encoded)
    if raw is None:
        raise AuditError("expected the signature in standard padded base64, got something else", field=where)
    if len(raw) < 5:
        raise AuditError(
            f"expected a 4-byte key ID and at least one signature byte, got {len(raw)} bytes", field=where
        )
    return NoteSignature(name, raw[:4], raw[4:])


def cosignature_message(text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 cosigner signs: the header line, the time line, the whole note text."""
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{text}".encode()


# ---------------------------------------------------------------------------------- keys


def _parse_vkey(vkey: object, signature_type: int) -> tuple[str, bytes]:
    if not isinstance(vkey, str):
        raise AuditError(f"expected a verifier key as text, got {type(vkey).__name__}", field="vkey")
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise AuditError(
            f"expected '<name>+<8 hex digits>+<base64 key>', got {len(parts)} part(s) separated by '+'",
            field="vkey",
        )
    name, hash_hex, encoded = parts
    check_key_name(name, field="vkey")
    if not _HEX8.fullmatch(hash_hex):
        raise AuditError("expected the key ID as 8 hexadecimal digits, got something else", field="vkey")
    raw = decode_base64(encoded)
    if raw is None or not raw:
        raise AuditError("expected the key in standard padded base64, got something else", field="vkey")
    if raw[0] != signature_type:
        raise AuditError(
            f"expected {_describe_type(signature_type)} (signature type 0x{signature_type:02x}), "
            f"got signature type 0x{raw[0]:02x} ({_describe_type(raw[0])})",
            field="vkey",
        )
    public_key = raw[1:]
    if len(public_key) != _KEY_SIZE:
        raise AuditError(
            f"expected a {_KEY_SIZE}-byte Ed25519 public key, got {len(public_key)} bytes", field="vkey"
        )
    expected = key_id(name, signature_type, public_key)
    if bytes.fromhex(hash_hex) != expected:
        raise AuditError(
            f"expected key ID {expected.hex()} for this name and key, got {hash_hex.lower()}", field="vkey"
        )
    return name, public_key


def _parse_skey(skey: str, signature_type: int) -> tuple[str, Ed25519PrivateKey]:
    if not skey.startswith(_PRIVATE_PREFIX):
        raise AuditError(
            f"expected a private key starting {_PRIVATE_PREFIX!r}, got something else", field="skey"
        )
    parts = skey[len(_PRIVATE_PREFIX) :].split("+", 2)
    if len(parts) != 3:
        raise AuditError(
            f"expected '{_PRIVATE_PREFIX}<name>+<8 hex digits>+<base64 key>', got {len(parts)} part(s)",
            field="skey",
        )
    name, hash_hex, encoded = parts
    check_key_name(name, field="skey")
    raw = decode_base64(encoded)
    if not _HEX8.fullmatch(hash_hex) or raw is None or not raw:
        raise AuditError("expected 8 hexadecimal digits and a base64 key, got something else", field="skey")
    if raw[0] != signature_type:
        raise AuditError(
            f"expected {_describe_type(signature_type)} (signature type 0x{signature_type:02x}), "
            f"got signature type 0x{raw[0]:02x}",
            field="skey",
        )
    if len(raw) - 1 != _KEY_SIZE:
        raise AuditError(f"expected a {_KEY_SIZE}-byte Ed25519 seed, got {len(raw) - 1} bytes", field="skey")
    private_key = Ed25519PrivateKey.from_private_bytes(raw[1:])
    expected = key_id(name, signature_type, _public_bytes(private_key))
    if bytes.fromhex(hash_hex) != expected:
        raise AuditError(
            f"expected key ID {expected.hex()} for this name and key, got {hash_hex.lower()}", field="skey"
        )
    return name, private_key


def _public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _seed(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


@dataclass(frozen=True, eq=False)
class _PrivateKey:
    """A named Ed25519 private key for one signature type. Compared by identity; never printed."""

    TYPE: ClassVar[int]

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)
    public_key: bytes = field(init=False, repr=False)
    key_hash: bytes = field(init=False)

    def __post_init__(self) -> None:
        check_key_name(self.name, field="name")
        if not isinstance(self.private_key, Ed25519PrivateKey):
            raise AuditError(
                f"expected an Ed25519 private key, got {type(self.private_key).__name__}", field="private_key"
            )
        public_key = _public_bytes(self.private_key)
        object.__setattr__(self, "public_key", public_key)
        object.__setattr__(self, "key_hash", key_id(self.name, self.TYPE, public_key))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_key_label(self.name, self.key_hash)!r})"

    @classmethod
    def generate(cls, name: str) -> Self:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Self:
        """Parse `PRIVATE+KEY+<name>+<hex key ID>+<base64(type || seed)>`, checking the key ID."""
        return cls(*_parse_skey(skey, cls.TYPE))

    def to_skey(self) -> str:
        """The private key encoding. Anyone holding it can sign as this key: keep it secret."""
        encoded = encode_base64(bytes([self.TYPE]) + _seed(self.private_key))
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_hash.hex()}+{encoded}"

    def verifier_key(self) -> str:
        """The public verifier key: `<name>+<hex key ID>+<base64(type || public key)>`."""
        return f"{self.name}+{self.key_hash.hex()}+{encode_base64(bytes([self.TYPE]) + self.public_key)}"


@dataclass(frozen=True, eq=False)
class _PublicKey:
    TYPE: ClassVar[int]

    name: str
    public_key: bytes
    key_hash: bytes = field(init=False)
    _key: Ed25519PublicKey = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name, field="name")
        if not isinstance(self.public_key, bytes) or len(self.public_key) != _KEY_SIZE:
            raise AuditError(f"expected a {_KEY_SIZE}-byte Ed25519 public key", field="public_key")
        try:
            key = Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError:
            raise AuditError(
                "expected an Ed25519 public key, got bytes that are not one", field="public_key"
            ) from None
        object.__setattr__(self, "key_hash", key_id(self.name, self.TYPE, self.public_key))
        object.__setattr__(self, "_key", key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _PublicKey) or type(other) is not type(self):
            return NotImplemented
        return (self.name, self.public_key) == (other.name, other.public_key)

    def __hash__(self) -> int:
        return hash((type(self), self.name, self.public_key))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vkey()!r})"

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        """Parse a verifier key, checking the name rules, the key type, the size and the key ID."""
        return cls(*_parse_vkey(vkey, cls.TYPE))

    def vkey(self) -> str:
        return f"{self.name}+{self.key_hash.hex()}+{encode_base64(bytes([self.TYPE]) + self.public_key)}"

    def _valid(self, signature: bytes, message: bytes) -> bool:
        if len(signature) != _ED25519_SIGNATURE_SIZE:
            return False
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def _mine(self, note: Note, what: str) -> list[NoteSignature]:
        mine = note.by(self.name, self.key_hash)
        if not mine:
            raise AuditError(
                f"expected {what} by {_key_label(self.name, self.key_hash)}, got signatures by: {note.signers()}",
                field="note",
            )
        return mine


class Signer(_PrivateKey):
    """The log's key: plain Ed25519 note signatures (type 0x01)."""

    TYPE = ED25519

    def signature_line(self, text: str) -> str:
        """The signature line (ending in a newline) for `text`, to add to a note of that text."""
        check_note_text(text)
        signature = self.private_key.sign(text.encode("utf-8"))
        return NoteSignature(self.name, self.key_hash, signature).line()

    def sign(self, text: str) -> str:
        """The signed note: the text, a blank line, this key's signature line."""
        return text + "\n" + self.signature_line(text)

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.public_key)


class Verifier(_PublicKey):
    """Checks plain Ed25519 note signatures (type 0x01) by one key."""

    TYPE = ED25519

    def verify(self, note: str) -> str:
        """The note's text, if this key signed it; AuditError otherwise.

        Signatures by other keys are ignored. Every signature line by this key must verify.
        """
        parsed = Note.parse(note)
        data = parsed.text.encode("utf-8")
        for signature in self._mine(parsed, "a signature"):
            if not self._valid(signature.signature, data):
                raise AuditError(
                    f"expected a valid signature by {_key_label(self.name, self.key_hash)}, got one that "
                    "does not verify: the note text or the signature was changed",
                    field="note",
                )
        return parsed.text


class Cosigner(_PrivateKey):
    """A witness's key: timestamped Ed25519 cosignatures (cosignature/v1, type 0x04)."""

    TYPE = COSIGNATURE_V1

    def cosignature_line(self, text: str, timestamp: int) -> str:
        """The cosignature line (ending in a newline) for a note text, at `timestamp` (Unix seconds)."""
        check_note_text(text)
        if (
            isinstance(timestamp, bool)
            or not isinstance(timestamp, int)
            or not 0 <= timestamp <= MAX_TIMESTAMP
        ):
            raise AuditError(f"expected a Unix time from 0 to 2^63-1, got {timestamp!r}", field="timestamp")
        signature = self.private_key.sign(cosignature_message(text, timestamp))
        return NoteSignature(self.name, self.key_hash, timestamp.to_bytes(8, "big") + signature).line()

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, self.public_key)


class CosignatureVerifier(_PublicKey):
    """Checks cosignature/v1 cosignatures (type 0x04) by one witness key."""

    TYPE = COSIGNATURE_V1

    def verify(self, note: str) -> tuple[str, int]:
        """The note's text and the latest time this witness cosigned it at; AuditError otherwise.

        Every cosignature line by this key must verify.
        """
        parsed = Note.parse(note)
        label = _key_label(self.name, self.key_hash)
        latest = -1
        for signature in self._mine(parsed, "a cosignature"):
            payload = signature.signature
            if len(payload) != 8 + _ED25519_SIGNATURE_SIZE:
                raise AuditError(
                    f"expected {8 + _ED25519_SIGNATURE_SIZE} bytes (8-byte time, Ed25519 signature) after "
                    f"the key ID in the cosignature by {label}, got {len(payload)}",
                    field="note",
                )
            timestamp = int.from_bytes(payload[:8], "big")
            if timestamp > MAX_TIMESTAMP:
                raise AuditError(
                    f"expected a cosignature time of at most 2^63-1, got {timestamp}", field="note"
                )
            if not self._valid(payload[8:], cosignature_message(parsed.text, timestamp)):
                raise AuditError(
                    f"expected a valid cosignature by {label}, got one that does not verify: the "
                    "checkpoint, the time or the signature was changed",
                    field="note",
                )
            latest = max(latest, timestamp)
        return parsed.text, latest


# ---------------------------------------------------------------------------------- key files


def load_or_create_signer(path: Path, name: str) -> Signer:
    """The log's signing key, kept in its own file (mode 0600) and created on first use."""
    return _load_or_create(path, name, Signer)


def load_or_create_cosigner(path: Path, name: str) -> Cosigner:
    """A witness's cosigning key, kept in its own file (mode 0600) and created on first use."""
    return _load_or_create(path, name, Cosigner)


def _load_or_create(path: Path, name: str, kind: type[_K]) -> _K:
    check_key_name(name, field="name")
    existing = _read_key_file(path, name, kind)
    if existing is not None:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = kind.generate(name)
    content = (key.to_skey() + "\n").encode("ascii")
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        _write_new(temporary, content)
        try:
            # Publishes the complete file under its name, and fails if one is already there.
            os.link(temporary, path)
        except FileExistsError:
            # Another process created it first: use theirs.
            return _require_key_file(path, name, kind)
        except OSError:
            # No hard links here (some network or FUSE file systems): create it in place.
            try:
                _write_new(path, content)
            except FileExistsError:
                return _require_key_file(path, name, kind)
    except OSError as exc:
        raise AuditError(f"could not create the key file {path}: {exc.strerror or exc}") from None
    finally:
        temporary.unlink(missing_ok=True)
    _sync_directory(path.parent)
    return key


def _write_new(path: Path, content: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _require_key_file(path: Path, name: str, kind: type[_K]) -> _K:
    key = _read_key_file(path, name, kind)
    if key is None:
        raise AuditError(f"expected the key file {path} to exist, got none")
    return key


def _read_key_file(path: Path, name: str, kind: type[_K]) -> _K | None:
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditError(f"the key file {path} is unreadable: {exc.strerror or exc}") from None
    if mode & 0o077:
        raise AuditError(
            f"expected the key file {path} to be readable by its owner only (mode 0600), "
            f"got mode {mode & 0o777:04o}"
        )
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise AuditError(f"expected an ASCII private key in {path}, got other bytes") from None
    try:
        key = kind.from_skey(text.removesuffix("\n"))
    except AuditError as exc:
        raise AuditError(f"the key file {path} is not a valid private key: {exc}") from None
    if key.name != name:
        raise AuditError(
            f"expected the key file {path} to hold the key of {name!r}, got the key of {key.name!r}"
        )
    return key
