"""Signed notes and their keys: published vectors, round trips, tampering, strict parsing, key files."""

from __future__ import annotations

import base64
import hashlib
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safereport.audit.notes import (
    CosignatureVerifier,
    Cosigner,
    Note,
    Signer,
    Verifier,
    cosignature_message,
    decode_base64,
    key_id,
    load_or_create_cosigner,
    load_or_create_signer,
)
from safereport.errors import AuditError

# The published vectors of golang.org/x/mod/sumdb/note (note_test.go and the package example).
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
# A cosignature/v1 witness key as published in transparency-dev/formats' tests (type 0x04).
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
# An ordinary Ed25519 note key (type 0x01) from the same tests.
TEST_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"


def _flip(note: str, line_index: int, byte_index: int) -> str:
    """The note with one byte of one signature line's decoded signature flipped."""
    lines = note.split("\n")
    prefix, encoded = lines[line_index].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[byte_index] ^= 0x01
    lines[line_index] = f"{prefix} {base64.b64encode(bytes(raw)).decode()}"
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- vectors


def test_go_signer_key_reproduces_its_verifier_key_and_key_id() -> None:
    signer = Signer.from_skey(PETER_SKEY)
    assert signer.name == "PeterNeumann"
    assert signer.key_hash.hex() == "c74f20a3"
    assert signer.verifier_key() == PETER_VKEY
    assert signer.to_skey() == PETER_SKEY


def test_go_signed_note_is_reproduced_byte_for_byte() -> None:
    # Ed25519 is deterministic, so our note must equal Go's exactly: text, blank line, em dash line.
    assert Signer.from_skey(PETER_SKEY).sign(TEXT) == TEXT + "\n" + PETER_SIG


def test_go_signed_note_verifies_and_returns_the_text() -> None:
    assert Verifier.from_vkey(PETER_VKEY).verify(TEXT + "\n" + PETER_SIG) == TEXT


def test_each_of_two_signers_is_found_and_the_other_ignored() -> None:
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert Verifier.from_vkey(PETER_VKEY).verify(note) == TEXT
    assert Verifier.from_vkey(ENOCH_VKEY).verify(note) == TEXT


def test_key_id_is_sha256_of_name_newline_type_and_key() -> None:
    verifier = Verifier.from_vkey(PETER_VKEY)
    raw = hashlib.sha256(b"PeterNeumann\n\x01" + verifier.public_key).digest()[:4]
    assert key_id("PeterNeumann", 0x01, verifier.public_key) == raw == verifier.key_hash


def test_published_cosignature_key_parses_as_a_witness_key_only() -> None:
    witness = CosignatureVerifier.from_vkey(REMORA_VKEY)
    assert witness.key_hash.hex() == "da77ade7"
    assert witness.vkey() == REMORA_VKEY
    with pytest.raises(AuditError, match=r"expected an Ed25519 note key \(signature type 0x01\), got .*0x04"):
        Verifier.from_vkey(REMORA_VKEY)


def test_published_note_key_is_not_a_witness_key() -> None:
    assert Verifier.from_vkey(TEST_VKEY).vkey() == TEST_VKEY
    with pytest.raises(AuditError, match=r"expected a cosignature/v1 witness key \(signature type 0x04\)"):
        CosignatureVerifier.from_vkey(TEST_VKEY)


# ---------------------------------------------------------------------------------- verifier keys


def _manglings(key: str) -> set[str]:
    """Every proper substring, and every single-character increment (as Go's tests do)."""
    out = {key[i:j] for i in range(len(key) + 1) for j in range(i + 1, len(key) + 1)} - {key}
    out |= {key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :] for i in range(len(key))}
    return out


def test_every_mangled_verifier_key_is_rejected() -> None:
    accepted = []
    for mangled in _manglings(PETER_VKEY):
        try:
            Verifier.from_vkey(mangled)
        except AuditError:
            continue
        accepted.append(mangled)
    assert accepted == []


def test_every_mangled_signer_key_is_rejected() -> None:
    accepted = []
    for mangled in _manglings(PETER_SKEY):
        try:
            Signer.from_skey(mangled)
        except AuditError:
            continue
        accepted.append(mangled)
    assert accepted == []


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        # Go's own bad keys: a 36-byte key (its base64 is also not canonical) and an unknown
        # algorithm, each with a matching key ID.
        ("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", "padded base64"),
        ("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEQ==", "32-byte"),
        ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "signature type 0x65"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "expected key ID c74f20a3"),
        ("PeterNeumann+c74f20a3", "got 2 part"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "without spaces"),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "non-empty key name"),
        ("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 hexadecimal digits"),
        ("PeterNeumann+ c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 hexadecimal digits"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n", "base64"),
    ],
)
def test_bad_verifier_keys_say_what_was_expected(vkey: str, message: str) -> None:
    with pytest.raises(AuditError, match=message) as caught:
        Verifier.from_vkey(vkey)
    assert caught.value.field == "vkey"
    assert "expected" in caught.value.message


def test_uppercase_key_id_is_accepted_as_go_does() -> None:
    assert Verifier.from_vkey(PETER_VKEY.replace("c74f20a3", "C74F20A3")).vkey() == PETER_VKEY


# ---------------------------------------------------------------------------------- tampering


def test_changed_text_does_not_verify() -> None:
    note = TEXT.replace("answer", "Answer") + "\n" + PETER_SIG
    with pytest.raises(AuditError, match="does not verify"):
        Verifier.from_vkey(PETER_VKEY).verify(note)


@pytest.mark.parametrize("byte_index", [4, 30, 67])
def test_changed_signature_byte_does_not_verify(byte_index: int) -> None:
    note = _flip(TEXT + "\n" + PETER_SIG, 3, byte_index)
    with pytest.raises(AuditError, match="does not verify"):
        Verifier.from_vkey(PETER_VKEY).verify(note)


def test_changed_key_id_makes_the_signature_unknown() -> None:
    note = _flip(TEXT + "\n" + PETER_SIG, 3, 0)
    with pytest.raises(
        AuditError, match=r"expected a signature by PeterNeumann\+c74f20a3, got signatures by"
    ):
        Verifier.from_vkey(PETER_VKEY).verify(note)


def test_go_invalid_signature_vector_is_rejected() -> None:
    # Go's TestOpen: "ABCD" spliced into the signature; the key ID still matches.
    note = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(AuditError, match="does not verify"):
        Verifier.from_vkey(PETER_VKEY).verify(note)


def test_other_key_does_not_verify() -> None:
    with pytest.raises(AuditError, match=r"expected a signature by other\.example/log\+"):
        Signer.generate("other.example/log").verifier().verify(TEXT + "\n" + PETER_SIG)


def test_same_name_other_key_is_ignored_not_trusted() -> None:
    impostor = Signer.generate("PeterNeumann")
    note = TEXT + "\n" + impostor.signature_line(TEXT)
    with pytest.raises(AuditError, match="expected a signature by PeterNeumann"):
        Verifier.from_vkey(PETER_VKEY).verify(note)
    # ...and tolerated next to the real signature.
    assert Verifier.from_vkey(PETER_VKEY).verify(note + PETER_SIG) == TEXT


def test_unknown_signatures_are_tolerated_in_any_position() -> None:
    other = Signer.generate("witness.example/w1")
    note = TEXT + "\n" + other.signature_line(TEXT) + PETER_SIG + ENOCH_SIG
    assert Verifier.from_vkey(PETER_VKEY).verify(note) == TEXT


def test_a_bad_signature_by_the_known_key_rejects_the_note_even_beside_a_good_one() -> None:
    bad = _flip(TEXT + "\n" + PETER_SIG, 3, 40).split("\n")[3] + "\n"
    with pytest.raises(AuditError, match="does not verify"):
        Verifier.from_vkey(PETER_VKEY).verify(TEXT + "\n" + PETER_SIG + bad)


def test_missing_signature_is_rejected() -> None:
    with pytest.raises(AuditError, match="signature lines after the blank line, got none"):
        Verifier.from_vkey(PETER_VKEY).verify(TEXT + "\n")
    with pytest.raises(AuditError, match="no blank line"):
        Verifier.from_vkey(PETER_VKEY).verify(TEXT)


def test_cosigner_line_is_not_a_note_signature() -> None:
    # Same name and private key, other signature type: another key ID, so not this key's signature.
    signer = Signer.generate("log.example")
    cosigner = Cosigner("log.example", signer.private_key)
    assert cosigner.key_hash != signer.key_hash
    note = TEXT + "\n" + cosigner.cosignature_line(TEXT, 1)
    with pytest.raises(AuditError, match=r"expected a signature by log.example"):
        signer.verifier().verify(note)


# ---------------------------------------------------------------------------------- strict parsing


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (TEXT + "\n" + PETER_SIG[:-1], "end in a newline"),
        ("\x01" + TEXT + "\n" + PETER_SIG, "U\\+0001 on line 1"),
        ("\udcff" + TEXT + "\n" + PETER_SIG, "unpaired surrogate"),
        (TEXT + "\r\n" + PETER_SIG, "U\\+000D"),
        (TEXT + "\n" + PETER_SIG.replace("—", "-"), "em dash"),
        (TEXT + "\n" + PETER_SIG.replace("— ", "—"), "em dash"),
        (
            TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"),
            "'<key name> <base64 signature>'|base64",
        ),
        (TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter+Neumann"), "plus signs"),
        (TEXT + "\n" + PETER_SIG + "Unexpected line.\n", "em dash"),
        (TEXT + "\n" + PETER_SIG.replace("AM=", "AM"), "base64"),
        (TEXT + "\n" + "— PeterNeumann x08gow==\n", "at least one signature byte"),
        (TEXT + "\n" + "— PeterNeumann\n", "no space after the name"),
        (TEXT + "\n" + PETER_SIG * 101, "at most 100 signature lines"),
    ],
)
def test_malformed_notes_are_rejected_with_a_reason(note: str, message: str) -> None:
    with pytest.raises(AuditError, match=message) as caught:
        Verifier.from_vkey(PETER_VKEY).verify(note)
    assert "expected" in caught.value.message


def test_sixteen_signatures_are_accepted() -> None:
    others = "".join(Signer.generate(f"w{i}.example").signature_line(TEXT) for i in range(15))
    assert Verifier.from_vkey(PETER_VKEY).verify(TEXT + "\n" + others + PETER_SIG) == TEXT


def test_text_is_separated_at_the_last_blank_line() -> None:
    # The C2SP signed-note example text has an empty line of its own.
    text = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    signer = Signer.generate("quasimodo.example/salvatore")
    note = signer.sign(text)
    assert Note.parse(note).text == text
    assert signer.verifier().verify(note) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "non-empty"), ("no newline", "end in a newline"), ("tab\there\n", "U\\+0009")],
)
def test_signer_refuses_text_that_is_not_a_note_text(text: str, message: str) -> None:
    with pytest.raises(AuditError, match=message):
        Signer.generate("log.example").sign(text)


@pytest.mark.parametrize("name", ["", "with space", "with+plus", "nbsp\u00a0", "line\u2028sep", "tab\t"])
def test_key_names_follow_the_spec(name: str) -> None:
    with pytest.raises(AuditError, match=r"expected a (non-empty )?key name"):
        Signer.generate(name)


def test_decode_base64_is_strict() -> None:
    assert decode_base64("AA==") == b"\x00"
    assert decode_base64("AB==") is None  # non-canonical trailing bits
    assert decode_base64("AA") is None  # no padding
    assert decode_base64("A A=") is None
    assert decode_base64("AA==\n") is None
    assert decode_base64("") is None
    assert decode_base64("-_8=") is None  # URL-safe alphabet


def test_repr_never_shows_the_private_key() -> None:
    signer = Signer.from_skey(PETER_SKEY)
    assert repr(signer) == "Signer('PeterNeumann+c74f20a3')"
    assert "AYEKFALV" not in repr(signer) and "AYEKFALV" not in str(signer)


# ---------------------------------------------------------------------------------- cosigner keys


def test_cosigner_key_id_uses_type_0x04_and_its_vkey_round_trips() -> None:
    cosigner = Cosigner.generate("witness.example/w1")
    assert cosigner.key_hash == hashlib.sha256(b"witness.example/w1\n\x04" + cosigner.public_key).digest()[:4]
    vkey = cosigner.verifier_key()
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x04
    assert CosignatureVerifier.from_vkey(vkey) == cosigner.verifier()
    assert Cosigner.from_skey(cosigner.to_skey()).verifier_key() == vkey


def test_cosignature_line_payload_is_key_id_time_signature() -> None:
    cosigner = Cosigner.generate("witness.example/w1")
    line = cosigner.cosignature_line(TEXT, 1_679_315_147)
    name, encoded = line.removeprefix("— ").removesuffix("\n").split(" ")
    raw = base64.b64decode(encoded)
    assert name == "witness.example/w1"
    assert len(raw) == 4 + 8 + 64
    assert raw[:4] == cosigner.key_hash
    assert int.from_bytes(raw[4:12], "big") == 1_679_315_147
    # The signed message is exactly the spec's, checked with the public key directly.
    message = b"cosignature/v1\ntime 1679315147\n" + TEXT.encode()
    assert cosignature_message(TEXT, 1_679_315_147) == message
    cosigner.private_key.public_key().verify(raw[12:], message)
    assert cosigner.verifier().verify(TEXT + "\n" + line) == (TEXT, 1_679_315_147)


@pytest.mark.parametrize("timestamp", [-1, 2**63, True])
def test_cosignature_time_out_of_range_is_refused(timestamp: int) -> None:
    with pytest.raises(AuditError, match="expected a Unix time from 0 to 2\\^63-1"):
        Cosigner.generate("w.example").cosignature_line(TEXT, timestamp)


# ---------------------------------------------------------------------------------- key files


def test_key_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "log.key"
    first = load_or_create_signer(path, "log.example/audit")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text("ascii") == first.to_skey() + "\n"
    assert path.read_text("ascii").startswith("PRIVATE+KEY+log.example/audit+" + first.key_hash.hex() + "+")
    second = load_or_create_signer(path, "log.example/audit")
    assert second.verifier_key() == first.verifier_key()
    assert [p.name for p in path.parent.iterdir()] == ["log.key"]  # no temporary file left


def test_key_file_for_another_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.key"
    load_or_create_signer(path, "log.example/a")
    with pytest.raises(AuditError, match=r"expected the key file .* to hold the key of 'log.example/b'"):
        load_or_create_signer(path, "log.example/b")


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.key"
    load_or_create_signer(path, "log.example")
    path.chmod(0o644)
    with pytest.raises(AuditError, match=r"mode 0600.*got mode 0644"):
        load_or_create_signer(path, "log.example")


def test_corrupt_key_file_is_refused_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "log.key"
    key = load_or_create_signer(path, "log.example")
    path.write_text(key.to_skey().replace("+", "-", 3) + "\n", "ascii")
    with pytest.raises(AuditError, match="is not a valid private key"):
        load_or_create_signer(path, "log.example")
    assert path.read_text("ascii").startswith("PRIVATE-KEY-")


def test_key_file_of_another_key_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "witness.key"
    load_or_create_signer(path, "w.example")
    with pytest.raises(AuditError, match="cosignature/v1 witness key"):
        load_or_create_cosigner(path, "w.example")


def test_cosigner_key_file_is_created_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "witness.key"
    first = load_or_create_cosigner(path, "w.example")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_cosigner(path, "w.example").verifier_key() == first.verifier_key()


def test_concurrent_first_use_yields_one_key(tmp_path: Path) -> None:
    path = tmp_path / "log.key"
    results: list[str] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        results.append(load_or_create_signer(path, "log.example").verifier_key())

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert set(results) == {Signer.from_skey(path.read_text("ascii").strip()).verifier_key()}


# ---------------------------------------------------------------------------------- properties

_NAME_CHARS = st.characters(
    codec="utf-8", exclude_categories=["Zs", "Zl", "Zp", "Cc"], exclude_characters="+\u0085\u180e"
)
names = st.text(_NAME_CHARS, min_size=1, max_size=30)
_TEXT_CHARS = st.characters(codec="utf-8", exclude_characters="".join(map(chr, range(32))))
texts = st.lists(st.text(_TEXT_CHARS, max_size=40), min_size=1, max_size=6).map(
    lambda lines: "".join(line + "\n" for line in lines)
)


@given(names, texts)
def test_sign_then_verify_returns_the_text(name: str, text: str) -> None:
    signer = Signer.generate(name)
    verifier = Verifier.from_vkey(signer.verifier_key())
    assert verifier == signer.verifier()
    assert verifier.verify(signer.sign(text)) == text
    assert Note.parse(signer.sign(text)).to_text() == signer.sign(text)


@given(names)
def test_keys_round_trip_through_their_encodings(name: str) -> None:
    signer = Signer.generate(name)
    again = Signer.from_skey(signer.to_skey())
    assert again.verifier_key() == signer.verifier_key()
    assert Verifier.from_vkey(signer.verifier_key()).vkey() == signer.verifier_key()
    cosigner = Cosigner.generate(name)
    assert CosignatureVerifier.from_vkey(cosigner.verifier_key()).vkey() == cosigner.verifier_key()


@given(texts, st.integers(0, 2**63 - 1))
def test_cosign_then_verify_returns_text_and_time(text: str, timestamp: int) -> None:
    cosigner = Cosigner.generate("witness.example")
    note = text + "\n" + cosigner.cosignature_line(text, timestamp)
    assert cosigner.verifier().verify(note) == (text, timestamp)
