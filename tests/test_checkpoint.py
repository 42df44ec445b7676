"""Checkpoints, witness cosignatures and offline proof bundles (C2SP tlog-checkpoint,
tlog-cosignature, tlog-proof), checked against a naive RFC 9162 tree written here."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safereport.audit.checkpoint import (
    PROOF_HEADER,
    Checkpoint,
    ProofBundle,
    cosign,
    open_signed,
    verify_bundle,
    verify_cosignature,
)
from safereport.audit.notes import Cosigner, Signer, Verifier
from safereport.errors import AuditError

ORIGIN = "audit.safereport.example/log"
# The example checkpoint of C2SP tlog-checkpoint and tlog-cosignature.
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
AT = datetime(2023, 3, 20, 12, 25, 47, tzinfo=UTC)  # 1679315147, the spec's example time


# ---------------------------------------------------------------------------------- naive RFC 9162


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.1 MTH over leaf hashes (n >= 1)."""
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 section 2.1.3.1 PATH(m, D[n])."""
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: tuple[bytes, ...], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2, step by step."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def test_the_naive_tree_is_right_for_one_and_two_leaves() -> None:
    a, b = leaf(b"a"), leaf(b"b")
    assert mth([a]) == a and path(0, [a]) == []
    assert mth([a, b]) == hashlib.sha256(b"\x01" + a + b).digest()
    assert path(0, [a, b]) == [b] and path(1, [a, b]) == [a]
    assert verify_inclusion(a, 0, 1, (), a)
    assert verify_inclusion(b, 1, 2, (a,), mth([a, b]))
    assert not verify_inclusion(b, 0, 2, (a,), mth([a, b]))
    assert not verify_inclusion(a, 1, 1, (), a)


@pytest.mark.parametrize("size", range(1, 18))
def test_the_naive_verifier_accepts_exactly_the_right_paths(size: int) -> None:
    leaves = [leaf(bytes([i])) for i in range(size)]
    root = mth(leaves)
    for index in range(size):
        proof = tuple(path(index, leaves))
        assert verify_inclusion(leaves[index], index, size, proof, root)
        other = (index + 1) % size
        assert size == 1 or not verify_inclusion(leaves[other], index, size, proof, root)
        assert not verify_inclusion(leaves[index], index, size, proof, mth([*leaves, leaf(b"more")]))


# ---------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def log_key() -> Signer:
    return Signer.generate(ORIGIN)


@pytest.fixture(scope="module")
def witness() -> Cosigner:
    return Cosigner.generate("witness.oversight.example/w1")


def checkpoint_of(leaves: list[bytes]) -> Checkpoint:
    return Checkpoint(ORIGIN, len(leaves), mth(leaves))


LEAVES = [leaf(f"entry {i}".encode()) for i in range(7)]


# ---------------------------------------------------------------------------------- checkpoints


def test_body_is_exactly_origin_size_root() -> None:
    root = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert Checkpoint("example.com/behind-the-sofa", 20852163, root).body() == SPEC_BODY


def test_body_has_extension_lines_after_the_root() -> None:
    checkpoint = Checkpoint("o", 0, bytes(32), ("ext one", "ext-two"))
    assert checkpoint.body() == "o\n0\n" + "A" * 43 + "=\next one\next-two\n"
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


def test_spec_example_parses() -> None:
    checkpoint = Checkpoint.parse(SPEC_BODY)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root.hex().startswith("0ac5186a")
    assert checkpoint.extensions == ()


def test_origin_with_spaces_parses_as_the_spec_allows() -> None:
    # The Go checksum database's origin is "go.sum database tree".
    text = "go.sum database tree\n1\n" + base64.b64encode(bytes(32)).decode() + "\n"
    assert Checkpoint.parse(text).origin == "go.sum database tree"


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("\n1\n" + "A" * 43 + "=\n", "origin", "non-empty origin"),
        ("o\x7f\tx\n1\n" + "A" * 43 + "=\n", "origin", "U\\+0009"),
        ("o\n01\n" + "A" * 43 + "=\n", "size", "without leading zeros, got '01'"),
        ("o\n00\n" + "A" * 43 + "=\n", "size", "without leading zeros"),
        ("o\n-1\n" + "A" * 43 + "=\n", "size", "ASCII decimal"),
        ("o\n+1\n" + "A" * 43 + "=\n", "size", "ASCII decimal"),
        ("o\n 1\n" + "A" * 43 + "=\n", "size", "ASCII decimal"),
        ("o\n1.0\n" + "A" * 43 + "=\n", "size", "ASCII decimal"),
        ("o\n1_000\n" + "A" * 43 + "=\n", "size", "ASCII decimal"),
        ("o\n\u0661\n" + "A" * 43 + "=\n", "size", "ASCII decimal"),  # Arabic-Indic one
        ("o\n\n" + "A" * 43 + "=\n", "size", "ASCII decimal"),
        ("o\n18446744073709551616\n" + "A" * 43 + "=\n", "size", "at most 2\\^64-1"),
        ("o\n1\n" + "A" * 42 + "==\n", "root", "32-byte root hash, got 31 bytes"),
        ("o\n1\n" + "A" * 43 + "\n", "root", "padded base64"),
        ("o\n1\n" + "A" * 42 + "B=\n", "root", "padded base64"),  # non-canonical last character
        ("o\n1\n" + "A" * 43 + "=\r\n", "root", "padded base64"),
        ("o\n1\n" + "-" * 43 + "=\n", "root", "padded base64"),
        ("o\n1\n" + "A" * 43 + "=", "checkpoint", "end in a newline"),
        ("o\n1\n", "checkpoint", "at least 3 lines"),
        ("o\n1\n" + "A" * 43 + "=\n\n", "checkpoint line 4", "non-empty extension line"),
        ("o\n1\n" + "A" * 43 + "=\nok\n\n", "checkpoint line 5", "non-empty extension line"),
    ],
)
def test_strict_parsing_says_what_was_expected(text: str, field: str, message: str) -> None:
    with pytest.raises(AuditError, match=message) as caught:
        Checkpoint.parse(text)
    assert caught.value.field == field
    assert caught.value.message.startswith("expected")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"origin": ""}, "origin"),
        ({"origin": "a\nb"}, "origin"),
        ({"size": -1}, "size"),
        ({"size": 2**64}, "size"),
        ({"size": True}, "size"),
        ({"root": bytes(31)}, "root"),
        ({"root": "00" * 32}, "root"),
        ({"extensions": ("",)}, "extension line 1"),
        ({"extensions": ("a\nb",)}, "extension line 1"),
    ],
)
def test_construction_is_validated(kwargs: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"origin": "o", "size": 1, "root": bytes(32), **kwargs}
    with pytest.raises(AuditError) as caught:
        Checkpoint(**values)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_signed_checkpoint_round_trips(log_key: Signer) -> None:
    checkpoint = checkpoint_of(LEAVES)
    note = checkpoint.sign(log_key)
    assert note.startswith(checkpoint.body() + "\n— " + ORIGIN + " ")
    assert open_signed(note, log_key.verifier()) == checkpoint
    assert Checkpoint.open_signed(note, Verifier.from_vkey(log_key.verifier_key())) == checkpoint


@pytest.mark.parametrize(
    "change",
    [
        lambda body: body.replace("\n7\n", "\n8\n"),  # another size
        lambda body: body.replace(body.split("\n")[2], base64.b64encode(bytes(32)).decode()),  # another root
        lambda body: body.replace(ORIGIN, ORIGIN + "2"),  # another origin
        lambda body: body + "extension\n",  # an added extension line
    ],
)
def test_checkpoint_with_another_size_root_or_origin_does_not_verify(log_key: Signer, change: object) -> None:
    checkpoint = checkpoint_of(LEAVES)
    note = checkpoint.sign(log_key)
    assert callable(change)
    forged = change(checkpoint.body()) + note[len(checkpoint.body()) :]
    assert forged != note
    with pytest.raises(AuditError, match="does not verify"):
        open_signed(forged, log_key.verifier())


def test_checkpoint_signed_by_another_key_does_not_open(log_key: Signer) -> None:
    note = checkpoint_of(LEAVES).sign(Signer.generate(ORIGIN))
    with pytest.raises(AuditError, match="expected a signature by"):
        open_signed(note, log_key.verifier())


def test_open_signed_checks_the_origin_when_asked(log_key: Signer) -> None:
    note = Checkpoint("other.example/log", 1, LEAVES[0]).sign(log_key)
    assert open_signed(note, log_key.verifier()).origin == "other.example/log"
    with pytest.raises(AuditError, match="expected a checkpoint of the log"):
        open_signed(note, log_key.verifier(), origin=ORIGIN)


def test_signed_note_that_is_not_a_checkpoint_is_refused(log_key: Signer) -> None:
    with pytest.raises(AuditError, match="at least 3 lines"):
        open_signed(log_key.sign("hello\n"), log_key.verifier())


# ---------------------------------------------------------------------------------- cosignatures


def test_cosignature_verifies_and_gives_its_time(log_key: Signer, witness: Cosigner) -> None:
    checkpoint = checkpoint_of(LEAVES)
    note = checkpoint.sign(log_key) + cosign(checkpoint, witness, AT)
    assert verify_cosignature(note, witness.verifier_key()) == AT
    # The log's signature still opens next to the cosignature, and vice versa.
    assert open_signed(note, log_key.verifier()) == checkpoint


def test_cosignature_line_has_the_spec_layout(witness: Cosigner) -> None:
    checkpoint = Checkpoint.parse(SPEC_BODY)
    line = cosign(checkpoint, witness, AT)
    assert line.startswith("— witness.oversight.example/w1 ") and line.endswith("\n")
    raw = base64.b64decode(line.split(" ")[-1])
    assert raw[:4] == hashlib.sha256(b"witness.oversight.example/w1\n\x04" + witness.public_key).digest()[:4]
    assert raw[4:12] == (1679315147).to_bytes(8, "big")
    message = ("cosignature/v1\ntime 1679315147\n" + SPEC_BODY).encode()
    witness.private_key.public_key().verify(raw[12:], message)  # raises if the message differs


def test_cosignature_time_is_whole_seconds_in_utc(log_key: Signer, witness: Cosigner) -> None:
    checkpoint = checkpoint_of(LEAVES)
    at = datetime(2024, 1, 2, 3, 4, 5, 999_999, tzinfo=timezone(timedelta(hours=2)))
    note = checkpoint.sign(log_key) + cosign(checkpoint, witness, at)
    got = verify_cosignature(note, witness.verifier_key())
    assert got == at.replace(microsecond=0)
    assert got.tzinfo == UTC


def test_cosignature_needs_an_aware_time_after_1970(witness: Cosigner) -> None:
    checkpoint = checkpoint_of(LEAVES)
    with pytest.raises(AuditError, match="timezone-aware"):
        cosign(checkpoint, witness, datetime(2024, 1, 1))  # noqa: DTZ001
    with pytest.raises(AuditError, match="after 1970"):
        cosign(checkpoint, witness, datetime(1969, 12, 31, tzinfo=UTC))


def test_replayed_cosignature_on_another_checkpoint_fails(log_key: Signer, witness: Cosigner) -> None:
    old = checkpoint_of(LEAVES[:6])
    new = checkpoint_of(LEAVES)
    replayed = new.sign(log_key) + cosign(old, witness, AT)
    with pytest.raises(AuditError, match="does not verify"):
        verify_cosignature(replayed, witness.verifier_key())


def test_cosignature_with_a_changed_time_fails(log_key: Signer, witness: Cosigner) -> None:
    checkpoint = checkpoint_of(LEAVES)
    line = cosign(checkpoint, witness, AT)
    prefix, encoded = line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[4:12] = (1679315147 + 1).to_bytes(8, "big")
    forged = f"{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(AuditError, match="does not verify"):
        verify_cosignature(checkpoint.sign(log_key) + forged, witness.verifier_key())


def test_cosignature_with_a_changed_signature_byte_fails(log_key: Signer, witness: Cosigner) -> None:
    checkpoint = checkpoint_of(LEAVES)
    prefix, encoded = cosign(checkpoint, witness, AT).rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[40] ^= 0x80
    forged = f"{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(AuditError, match="does not verify"):
        verify_cosignature(checkpoint.sign(log_key) + forged, witness.verifier_key())


def test_cosignature_of_the_wrong_length_is_refused(log_key: Signer, witness: Cosigner) -> None:
    checkpoint = checkpoint_of(LEAVES)
    short = base64.b64encode(witness.key_hash + bytes(8) + bytes(63)).decode()
    note = checkpoint.sign(log_key) + f"— {witness.name} {short}\n"
    with pytest.raises(AuditError, match=r"expected 72 bytes .* got 71"):
        verify_cosignature(note, witness.verifier_key())


def test_missing_cosignature_is_reported(log_key: Signer, witness: Cosigner) -> None:
    checkpoint = checkpoint_of(LEAVES)
    other = Cosigner.generate(witness.name)  # same name, another key: not this witness
    note = checkpoint.sign(log_key) + cosign(checkpoint, other, AT)
    with pytest.raises(AuditError, match=r"expected a cosignature by witness.oversight.example/w1\+"):
        verify_cosignature(note, witness.verifier_key())


def test_log_signature_is_not_a_cosignature(log_key: Signer) -> None:
    # The log's own key, offered as a witness key of type 0x04, finds no cosignature.
    checkpoint = checkpoint_of(LEAVES)
    as_witness = Cosigner(log_key.name, log_key.private_key)
    with pytest.raises(AuditError, match="expected a cosignature by"):
        verify_cosignature(checkpoint.sign(log_key), as_witness.verifier_key())


def test_cosignature_covers_extension_lines(log_key: Signer, witness: Cosigner) -> None:
    checkpoint = Checkpoint(ORIGIN, 1, LEAVES[0], ("note one",))
    line = cosign(checkpoint, witness, AT)
    changed = Checkpoint(ORIGIN, 1, LEAVES[0], ("note two",))
    with pytest.raises(AuditError, match="does not verify"):
        verify_cosignature(changed.sign(log_key) + line, witness.verifier_key())


def test_witness_key_of_the_wrong_type_is_refused(log_key: Signer, witness: Cosigner) -> None:
    checkpoint = checkpoint_of(LEAVES)
    note = checkpoint.sign(log_key) + cosign(checkpoint, witness, AT)
    with pytest.raises(AuditError, match="expected a cosignature/v1 witness key"):
        verify_cosignature(note, log_key.verifier_key())


# ---------------------------------------------------------------------------------- proof bundles


def bundle_for(log_key: Signer, leaves: list[bytes], index: int, extra: str = "") -> str:
    checkpoint = checkpoint_of(leaves)
    note = checkpoint.sign(log_key) + extra
    return ProofBundle(index, leaves[index], tuple(path(index, leaves)), note).to_text()


def test_bundle_text_has_the_tlog_proof_layout(log_key: Signer) -> None:
    a, b = leaf(b"a"), leaf(b"b")
    note = checkpoint_of([a, b]).sign(log_key)
    text = ProofBundle(1, b, (a,), note).to_text()
    b64 = base64.b64encode
    assert text == (f"{PROOF_HEADER}\nextra {b64(b).decode()}\nindex 1\n{b64(a).decode()}\n\n{note}")
    assert PROOF_HEADER == "c2sp.org/tlog-proof@v1"
    assert ProofBundle.parse(text) == ProofBundle(1, b, (a,), note)


def test_bundle_of_a_one_leaf_tree_has_no_proof_lines(log_key: Signer) -> None:
    text = bundle_for(log_key, LEAVES[:1], 0)
    assert "\nindex 0\n\n" in text
    assert verify_bundle(text, log_key.verifier_key(), LEAVES[0], verify_inclusion).size == 1


def test_bundle_with_cosignatures_verifies_offline(log_key: Signer, witness: Cosigner) -> None:
    checkpoint = checkpoint_of(LEAVES)
    text = bundle_for(log_key, LEAVES, 3, extra=cosign(checkpoint, witness, AT))
    assert (
        verify_bundle(text, log_key.verifier_key(), LEAVES[3], verify_inclusion, origin=ORIGIN) == checkpoint
    )
    assert verify_cosignature(ProofBundle.parse(text).signed_checkpoint, witness.verifier_key()) == AT


def test_bundle_for_another_leaf_hash_is_refused(log_key: Signer) -> None:
    text = bundle_for(log_key, LEAVES, 3)
    with pytest.raises(AuditError, match="expected a bundle for leaf hash") as caught:
        verify_bundle(text, log_key.verifier_key(), LEAVES[4], verify_inclusion)
    assert caught.value.field == "leaf_hash"


def test_bundle_whose_carried_hash_was_swapped_still_fails_inclusion(log_key: Signer) -> None:
    # The extra line is not trusted: swapping it for the hash the verifier asks about is not enough.
    text = bundle_for(log_key, LEAVES, 3)
    b64 = base64.b64encode
    swapped = text.replace(f"extra {b64(LEAVES[3]).decode()}", f"extra {b64(LEAVES[4]).decode()}")
    assert swapped != text
    with pytest.raises(AuditError, match="inclusion proof") as caught:
        verify_bundle(swapped, log_key.verifier_key(), LEAVES[4], verify_inclusion)
    assert caught.value.field == "proof"


def test_bundle_with_another_index_fails(log_key: Signer) -> None:
    text = bundle_for(log_key, LEAVES, 3).replace("\nindex 3\n", "\nindex 2\n")
    with pytest.raises(AuditError, match="inclusion proof"):
        verify_bundle(text, log_key.verifier_key(), LEAVES[3], verify_inclusion)


def test_bundle_with_a_changed_proof_hash_fails(log_key: Signer) -> None:
    bundle = ProofBundle.parse(bundle_for(log_key, LEAVES, 3))
    broken = bytearray(bundle.proof[1])
    broken[0] ^= 1
    forged = ProofBundle(
        3, bundle.leaf_hash, (bundle.proof[0], bytes(broken), *bundle.proof[2:]), bundle.signed_checkpoint
    )
    with pytest.raises(AuditError, match="inclusion proof"):
        verify_bundle(forged.to_text(), log_key.verifier_key(), LEAVES[3], verify_inclusion)


def test_bundle_with_a_checkpoint_of_another_tree_fails(log_key: Signer) -> None:
    # A validly signed checkpoint of a different tree of the same size.
    other = [leaf(b"x"), *LEAVES[1:]]
    bundle = ProofBundle.parse(bundle_for(log_key, LEAVES, 3))
    forged = ProofBundle(3, bundle.leaf_hash, bundle.proof, checkpoint_of(other).sign(log_key))
    with pytest.raises(AuditError, match="inclusion proof"):
        verify_bundle(forged.to_text(), log_key.verifier_key(), LEAVES[3], verify_inclusion)


def test_bundle_signed_by_another_log_fails(log_key: Signer) -> None:
    text = bundle_for(Signer.generate(ORIGIN), LEAVES, 3)
    with pytest.raises(AuditError, match="expected a signature by"):
        verify_bundle(text, log_key.verifier_key(), LEAVES[3], verify_inclusion)


def test_bundle_of_another_origin_fails_when_the_origin_is_given(log_key: Signer) -> None:
    text = bundle_for(log_key, LEAVES, 3)
    with pytest.raises(AuditError, match=r"expected a checkpoint of the log 'elsewhere.example'"):
        verify_bundle(text, log_key.verifier_key(), LEAVES[3], verify_inclusion, origin="elsewhere.example")


def test_bundle_index_beyond_the_tree_is_refused(log_key: Signer) -> None:
    note = checkpoint_of(LEAVES[:2]).sign(log_key)
    text = ProofBundle(2, LEAVES[2], (LEAVES[0],), note).to_text()
    with pytest.raises(AuditError, match="expected a leaf index below the tree size 2, got 2"):
        verify_bundle(text, log_key.verifier_key(), LEAVES[2], lambda *args: True)


def test_verify_bundle_passes_the_checkpoint_values_to_the_inclusion_check(log_key: Signer) -> None:
    seen: list[tuple[bytes, int, int, tuple[bytes, ...], bytes]] = []

    def record(leaf_hash: bytes, index: int, size: int, proof: tuple[bytes, ...], root: bytes) -> bool:
        seen.append((leaf_hash, index, size, proof, root))
        return True

    verify_bundle(bundle_for(log_key, LEAVES, 5), log_key.verifier_key(), LEAVES[5], record)
    assert seen == [(LEAVES[5], 5, 7, tuple(path(5, LEAVES)), mth(LEAVES))]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda t: t.replace(PROOF_HEADER, "c2sp.org/tlog-proof@v2"), "bundle line 1", "on the first line"),
        (lambda t: t.split("\n", 2)[0] + "\n" + t.split("\n", 2)[2], "bundle line 2", "'extra' line"),
        (lambda t: t.replace("\nindex 3\n", "\nindex 03\n"), "bundle line 3", "without leading zeros"),
        (lambda t: t.replace("\nindex 3\n", "\nindex -3\n"), "bundle line 3", "ASCII decimal"),
        (lambda t: t.replace("\nindex 3\n", "\nindex: 3\n"), "bundle line 3", "'index <number>'"),
        (lambda t: t.replace("\nindex 3\n", "\n"), "bundle line 3", "'index <number>'"),
        (lambda t: t.replace("\nextra ", "\nextra  "), "bundle line 2", "padded base64"),
        (lambda t: t.replace("\nextra ", "\nextra AAAA"), "bundle line 2", "32-byte leaf hash"),
        (lambda t: t.replace("\nindex 3\n", "\nindex 3\nAAAA\n"), "bundle line 4", "32-byte proof hash"),
        (lambda t: t.replace("\nindex 3\n", "\nindex 3\nnot base64!\n"), "bundle line 4", "padded base64"),
        (lambda t: t.replace("\n\n", "\n"), "bundle", "blank line"),
        (lambda t: t.replace("\n\n", "\n", 1), "bundle line 7", "proof hash in standard padded base64"),
        (lambda t: t[: t.index("\n\n") + 2], "bundle", "signed checkpoint after the blank line"),
        (lambda t: t[: t.rindex("\n— ") + 1], "note", "signature lines after the blank line|no blank line"),
    ],
)
def test_bundle_parsing_is_strict(log_key: Signer, change: object, field: str, message: str) -> None:
    text = bundle_for(log_key, LEAVES, 3)
    assert callable(change)
    changed = change(text)
    assert changed != text
    with pytest.raises(AuditError, match=message) as caught:
        ProofBundle.parse(changed)
    assert caught.value.field == field
    assert caught.value.message.startswith("expected")


def test_bundle_construction_is_validated(log_key: Signer) -> None:
    note = checkpoint_of(LEAVES).sign(log_key)
    with pytest.raises(AuditError, match="leaf hash"):
        ProofBundle(0, bytes(31), (), note)
    with pytest.raises(AuditError, match="proof hash"):
        ProofBundle(0, bytes(32), (bytes(33),), note)
    with pytest.raises(AuditError, match="at most 64 proof hashes"):
        ProofBundle(0, bytes(32), (bytes(32),) * 65, note)
    with pytest.raises(AuditError, match="leaf index"):
        ProofBundle(-1, bytes(32), (), note)
    with pytest.raises(AuditError, match="at least 3 lines"):
        ProofBundle(0, bytes(32), (), log_key.sign("not a checkpoint\n"))


# ---------------------------------------------------------------------------------- properties

_LINE_CHARS = st.characters(codec="utf-8", exclude_characters="".join(map(chr, range(32))))
origins = st.text(_LINE_CHARS, min_size=1, max_size=40)
sizes = st.integers(0, 2**64 - 1)
roots = st.binary(min_size=32, max_size=32)
extensions = st.lists(st.text(_LINE_CHARS, min_size=1, max_size=20), max_size=3).map(tuple)


@given(origins, sizes, roots, extensions)
def test_checkpoint_body_round_trips(origin: str, size: int, root: bytes, ext: tuple[str, ...]) -> None:
    checkpoint = Checkpoint(origin, size, root, ext)
    body = checkpoint.body()
    assert Checkpoint.parse(body) == checkpoint
    assert body.split("\n")[:3] == [origin, str(size), base64.b64encode(root).decode()]


@settings(max_examples=25)
@given(origins, sizes, roots)
def test_signed_and_cosigned_checkpoints_round_trip(origin: str, size: int, root: bytes) -> None:
    log_key = Signer.generate("log.example")
    witness = Cosigner.generate("w.example")
    checkpoint = Checkpoint(origin, size, root)
    note = checkpoint.sign(log_key) + cosign(checkpoint, witness, AT)
    assert open_signed(note, log_key.verifier()) == checkpoint
    assert verify_cosignature(note, witness.verifier_key()) == AT


@settings(max_examples=50)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_bundles_verify_for_every_leaf_and_fail_for_others(size_index: tuple[int, int]) -> None:
    size, index = size_index
    log_key = Signer.generate("log.example")
    leaves = [leaf(i.to_bytes(4, "big")) for i in range(size)]
    checkpoint = Checkpoint("log.example", size, mth(leaves))
    text = ProofBundle(index, leaves[index], tuple(path(index, leaves)), checkpoint.sign(log_key)).to_text()
    assert ProofBundle.parse(text).to_text() == text
    assert verify_bundle(text, log_key.verifier_key(), leaves[index], verify_inclusion) == checkpoint
    if size > 1:
        wrong = (index + 1) % size
        forged = ProofBundle(wrong, leaves[index], tuple(path(index, leaves)), checkpoint.sign(log_key))
        with pytest.raises(AuditError, match="inclusion proof"):
            verify_bundle(forged.to_text(), log_key.verifier_key(), leaves[index], verify_inclusion)
