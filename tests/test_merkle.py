"""Tests of the audit log's Merkle tree: RFC 9162 §2.1 over C2SP tlog-tiles.

Three independent sources of truth:
- the known-answer vectors of the certificate-transparency implementations (the 8-leaf
  reference tree), copied from google/certificate-transparency cpp/merkletree/merkle_tree_test.cc,
  google/certificate-transparency-go merkletree/merkle_verifier_test.go and transparency-dev/merkle
  testonly/constants.go, testonly/reference_test.go and proof/verify_test.go;
- a naive recursive implementation of RFC 9162 §2.1 (MTH, PATH, PROOF/SUBPROOF) written here
  over the entries themselves, with hashlib and nothing from safereport;
- the C2SP tlog-tiles spec's own examples (tile paths, which tiles a tree of a given size has).
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safereport.audit import merkle
from safereport.audit.merkle import EMPTY_ROOT, MemoryTiles, TileKey

# ---------------------------------------------------------------------------- known answers

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

# NODE_HASHES[level][i]: the complete subtree of 2**level leaves starting at leaf i * 2**level.
NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]

# ROOTS[size]: the root of the first `size` leaves.
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# (index, size, PATH(index, D[size])), 0-based indices. The cpp and Go verifier vectors number
# leaves from 1: their (leaf 1, 8), (6, 8), (3, 3), (2, 5) are (0, 8), (5, 8), (2, 3), (1, 5) here.
INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 2, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"]),
    (1, 2, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

# (old size, new size, PROOF(old, D[new])).
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def hexes(values: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


# ---------------------------------------------------------------------------- RFC 9162 §2.1, naively


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over the entries themselves."""
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = split_point(n)
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n])."""
    n = len(d)
    if n == 1:
        return []
    k = split_point(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b)."""
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = split_point(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true), defined for 0 < m < n; empty otherwise."""
    return ref_subproof(m, d, True) if 0 < m < len(d) else []


def path_shape(m: int, n: int) -> tuple[str, ...]:
    """Where each PATH(m, D[n]) hash sits, leaf upward: a verifier folds a proof by this alone,
    so a proof verifies for another (index, size) exactly when that has the same shape."""
    if n == 1:
        return ()
    k = split_point(n)
    if m < k:
        return (*path_shape(m, k), "right")
    return (*path_shape(m - k, n - k), "left")


def proof_shape(m: int, n: int, b: bool = True) -> tuple[str, ...]:
    """The same for PROOF(m, D[n]): which hashes are old (left) or new (right), and whether the
    proof starts from a subtree hash (seed) or from the old root the verifier holds."""
    if m == n:
        return () if b else ("seed",)
    k = split_point(n)
    if m <= k:
        return (*proof_shape(m, k, b), "new right")
    return (*proof_shape(m - k, n - k, False), "old left")


# ---------------------------------------------------------------------------- helpers


def build(leaf_hashes: Sequence[bytes], batches: Sequence[int] | None = None) -> MemoryTiles:
    """A tree of these leaves, appended in batches of the given sizes (default: all at once)."""
    tree = MemoryTiles()
    size = 0
    for count in batches if batches is not None else [len(leaf_hashes)]:
        tiles, new_size = merkle.tiles_for_append(tree, size, leaf_hashes[size : size + count])
        assert new_size == size + count
        tree.apply(tiles)
        size = new_size
    assert size == len(leaf_hashes)
    return tree


def random_batches(rng: random.Random, total: int, largest: int) -> list[int]:
    """Batch sizes of 1..largest that add up to total."""
    batches: list[int] = []
    left = total
    while left:
        batches.append(min(rng.randint(1, largest), left))
        left -= batches[-1]
    return batches


def flip(value: bytes, position: int, mask: int = 0x01) -> bytes:
    """The value with one byte changed."""
    position %= len(value)
    return value[:position] + bytes([value[position] ^ mask]) + value[position + 1 :]


class CountingTiles:
    """A TileReader that records what is read."""

    def __init__(self, inner: MemoryTiles) -> None:
        self.inner = inner
        self.calls = 0
        self.keys: list[TileKey] = []

    def read_tiles(self, keys: Sequence[TileKey]) -> Mapping[TileKey, bytes]:
        self.calls += 1
        self.keys.extend(keys)
        return self.inner.read_tiles(keys)

    def per_level(self) -> dict[int, int]:
        return dict(collections.Counter(key.level for key in self.keys))


def expected_layout(size: int) -> dict[TileKey, int]:
    """C2SP tlog-tiles: at level l, floor(s / 256**l) hashes in full tiles and a partial tile of
    floor(s / 256**l) mod 256 hashes (no empty tiles)."""
    layout: dict[TileKey, int] = {}
    level = 0
    while size // 256**level:
        full, width = divmod(size // 256**level, 256)
        layout.update({TileKey(level, i): 256 for i in range(full)})
        if width:
            layout[TileKey(level, full)] = width
        level += 1
    return layout


def reference_tree() -> MemoryTiles:
    return build([merkle.leaf_hash(e) for e in LEAF_INPUTS])


HYPOTHESIS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ---------------------------------------------------------------------------- (1) known answers


def test_the_reference_implementation_gives_the_known_answers() -> None:
    for size in range(9):
        assert ref_mth(LEAF_INPUTS[:size]).hex() == ROOTS[size]
    for index, size, path in INCLUSION_VECTORS:
        assert ref_path(index, LEAF_INPUTS[:size]) == hexes(path)
    for old, new, proof in CONSISTENCY_VECTORS:
        assert ref_proof(old, LEAF_INPUTS[:new]) == hexes(proof)


def test_leaf_and_node_hashes_match_the_vectors() -> None:
    assert EMPTY_ROOT.hex() == ROOTS[0]
    assert [merkle.leaf_hash(e).hex() for e in LEAF_INPUTS] == NODE_HASHES[0]
    for level in range(1, 4):
        below = hexes(NODE_HASHES[level - 1])
        assert [
            merkle.node_hash(below[i], below[i + 1]).hex() for i in range(0, len(below), 2)
        ] == NODE_HASHES[level]
    assert merkle.HASH_SIZE == 32 and merkle.TILE_HEIGHT == 8 and merkle.TILE_WIDTH == 2**merkle.TILE_HEIGHT


@pytest.mark.parametrize("batches", [[8], [1] * 8, [3, 5], [2, 1, 4, 1]], ids=str)
def test_roots_match_the_vectors_however_the_tree_was_appended(batches: list[int]) -> None:
    leaves = [merkle.leaf_hash(e) for e in LEAF_INPUTS]
    tree = MemoryTiles()
    size = 0
    for count in batches:
        tiles, size = merkle.tiles_for_append(tree, size, leaves[size : size + count])
        tree.apply(tiles)
        # The current root and every historical one.
        for s in range(size + 1):
            assert merkle.root_hash(tree, s).hex() == ROOTS[s]
        if size < 8:
            with pytest.raises(ValueError, match="expected"):
                merkle.root_hash(tree, size + 1)
    assert tree.tiles() == reference_tree().tiles()


def test_subtree_hashes_match_the_vectors() -> None:
    tree = reference_tree()
    for level, row in enumerate(NODE_HASHES):
        for index, expected in enumerate(row):
            assert merkle.subtree_hash(tree, level, index).hex() == expected
    with pytest.raises(ValueError, match="expected tile 0/0 to hold at least 16 hashes, got 8"):
        merkle.subtree_hash(tree, 3, 1)


def inclusion_probes(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> list[tuple[str, bytes, int, int, list[bytes], bytes]]:
    """Wrong variants of a good inclusion proof (after transparency-dev/merkle's verify_test.go)."""
    probes = [
        ("index - 1", leaf, index - 1, size, proof, root),
        ("index + 1", leaf, index + 1, size, proof, root),
        ("index ^ 2", leaf, index ^ 2, size, proof, root),
        ("size * 2", leaf, index, size * 2, proof, root),
        ("size // 2", leaf, index, size // 2, proof, root),
        ("unhashed leaf", b"WrongLeaf", index, size, proof, root),
        ("another leaf", merkle.leaf_hash(b"WrongLeaf"), index, size, proof, root),
        ("leaf one byte off", flip(leaf, 31), index, size, proof, root),
        ("empty root", leaf, index, size, proof, EMPTY_ROOT),
        ("random root", leaf, index, size, proof, SOME_HASH),
        ("root one byte off", leaf, index, size, proof, flip(root, 0, 0x80)),
        ("short root", leaf, index, size, proof, root[:31]),
        ("trailing garbage", leaf, index, size, [*proof, b""], root),
        ("trailing root", leaf, index, size, [*proof, root], root),
        ("preceding garbage", leaf, index, size, [b"", *proof], root),
        ("preceding root", leaf, index, size, [root, *proof], root),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = flip(wrong[i], 0, 8)
        probes.append((f"proof[{i}] bit 3 flipped", leaf, index, size, wrong, root))
    if proof:
        probes.append(("last hash removed", leaf, index, size, proof[:-1], root))
    if len(proof) > 1:
        probes.append(("hash inserted", leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root))
    return probes


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS, ids=lambda v: str(v)[:12])
def test_inclusion_proofs_match_the_vectors(index: int, size: int, path: list[str]) -> None:
    tree = reference_tree()
    proof = merkle.inclusion_proof(tree, index, size)
    assert proof == hexes(path)
    leaf, root = merkle.leaf_hash(LEAF_INPUTS[index]), bytes.fromhex(ROOTS[size])
    assert merkle.verify_inclusion(leaf, index, size, proof, root)
    wrongly_verified = [
        p[0] for p in inclusion_probes(leaf, index, size, proof, root) if merkle.verify_inclusion(*p[1:])
    ]
    assert wrongly_verified == []


def consistency_probes(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> list[tuple[str, int, int, bytes, bytes, list[bytes]]]:
    """Wrong variants of a good, non-empty consistency proof (after verify_test.go)."""
    probes = [
        ("old - 1", old - 1, new, old_root, new_root, proof),
        ("old + 1", old + 1, new, old_root, new_root, proof),
        ("old ^ 2", old ^ 2, new, old_root, new_root, proof),
        ("new * 2", old, new * 2, old_root, new_root, proof),
        ("new // 2", old, new // 2, old_root, new_root, proof),
        ("wrong old root", old, new, b"WrongRoot", new_root, proof),
        ("wrong new root", old, new, old_root, b"WrongRoot", proof),
        ("old root one byte off", old, new, flip(old_root, 7), new_root, proof),
        ("new root one byte off", old, new, old_root, flip(new_root, 7), proof),
        ("swapped roots", old, new, new_root, old_root, proof),
        ("empty proof", old, new, old_root, new_root, []),
        ("trailing garbage", old, new, old_root, new_root, [*proof, b""]),
        ("trailing old root", old, new, old_root, new_root, [*proof, old_root]),
        ("trailing new root", old, new, old_root, new_root, [*proof, new_root]),
        ("preceding garbage", old, new, old_root, new_root, [b"", *proof]),
        ("preceding old root", old, new, old_root, new_root, [old_root, *proof]),
        ("preceding new root", old, new, old_root, new_root, [new_root, *proof]),
        ("preceding proof[0]", old, new, old_root, new_root, [proof[0], *proof]),
        ("truncated", old, new, old_root, new_root, proof[:-1]),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = flip(wrong[i], 0, 16)
        probes.append((f"proof[{i}] bit 4 flipped", old, new, old_root, new_root, wrong))
    return probes


@pytest.mark.parametrize(("old", "new", "expected"), CONSISTENCY_VECTORS, ids=lambda v: str(v)[:12])
def test_consistency_proofs_match_the_vectors(old: int, new: int, expected: list[str]) -> None:
    tree = reference_tree()
    proof = merkle.consistency_proof(tree, old, new)
    assert proof == hexes(expected)
    old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)
    if proof:
        probes = consistency_probes(old, new, old_root, new_root, proof)
        assert [p[0] for p in probes if merkle.verify_consistency(*p[1:])] == []


def test_every_consistency_proof_of_the_reference_tree() -> None:
    tree = reference_tree()
    for new in range(9):
        for old in range(new + 1):
            proof = merkle.consistency_proof(tree, old, new)
            assert proof == ref_proof(old, LEAF_INPUTS[:new])
            assert merkle.verify_consistency(
                old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), proof
            )
        for index in range(new):
            proof = merkle.inclusion_proof(tree, index, new)
            assert proof == ref_path(index, LEAF_INPUTS[:new])


def test_inclusion_verification_of_degenerate_arguments() -> None:
    # transparency-dev/merkle TestVerifyInclusion and TestVerifyInclusionSingleEntry.
    for index, size in [(0, 0), (0, 1), (1, 0), (2, 1)]:
        assert not merkle.verify_inclusion(SOME_HASH, index, size, [], b"")
        assert not merkle.verify_inclusion(b"", index, size, [], EMPTY_ROOT)
        assert not merkle.verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)
    single = merkle.leaf_hash(b"data")  # a one-leaf tree's root is its leaf hash
    assert merkle.verify_inclusion(single, 0, 1, [], single)
    assert not merkle.verify_inclusion(single, 0, 1, [], b"")
    assert not merkle.verify_inclusion(b"", 0, 1, [], single)
    assert not merkle.verify_inclusion(b"", 0, 1, [], b"")
    assert not merkle.verify_inclusion(b"data", 0, 1, [], single)  # the entry, not its leaf hash


def test_consistency_verification_outside_the_rfc_range() -> None:
    # After transparency-dev/merkle TestVerifyConsistency, but stricter on the empty tree: its
    # root must be the empty root (any 32-byte new root then extends it, with an empty proof).
    r1, r2 = bytes.fromhex(ROOTS[1]), bytes.fromhex(ROOTS[2])
    cases = [
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [], True),
        (0, 1, EMPTY_ROOT, r1, [], True),
        (0, 8, EMPTY_ROOT, SOME_HASH, [], True),
        (1, 1, r1, r1, [], True),
        (0, 0, r1, r1, [], False),  # a non-empty root for the empty tree
        (0, 1, r1, r2, [], False),
        (0, 0, EMPTY_ROOT, r1, [], False),
        (1, 1, r1, r2, [], False),  # roots differ
        (1, 1, EMPTY_ROOT, r2, [], False),
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),  # proof not empty
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (1, 1, r1, r1, [EMPTY_ROOT], False),
        (1, 0, r1, r2, [], False),  # time travel
        (2, 1, r2, r1, [], False),
        (-1, 1, EMPTY_ROOT, r1, [], False),
        (1, 2, r1, r2, [], False),  # empty proof
        (0, 1, b"don't care 1", b"don't care 2", [], False),  # not hashes
        (1, 1, b"don't care", b"don't care", [], False),
    ]
    for old, new, old_root, new_root, proof, expected in cases:
        assert merkle.verify_consistency(old, new, old_root, new_root, proof) is expected, (old, new)


def test_a_proof_does_not_bind_the_tree_size_the_checkpoint_does() -> None:
    """Inherent to RFC 9162: a proof verifies for any (index, size) of the same shape, against
    the root it was made for. What binds size and root together is the signed checkpoint."""
    tree = reference_tree()
    leaf, root8 = merkle.leaf_hash(LEAF_INPUTS[0]), bytes.fromhex(ROOTS[8])
    assert path_shape(0, 7) == path_shape(0, 8)
    assert merkle.verify_inclusion(leaf, 0, 7, merkle.inclusion_proof(tree, 0, 8), root8)
    assert proof_shape(4, 7) == proof_shape(4, 8)
    assert merkle.verify_consistency(
        4, 7, bytes.fromhex(ROOTS[4]), root8, merkle.consistency_proof(tree, 4, 8)
    )


# ---------------------------------------------------------------------------- (2) against the reference


@dataclass(frozen=True)
class Case:
    entries: list[bytes]
    batches: list[int]

    @property
    def leaf_hashes(self) -> list[bytes]:
        return [merkle.leaf_hash(e) for e in self.entries]


BOUNDARY_SIZES = [1, 2, 255, 256, 257, 511, 512, 513, 767, 768, 1023, 1024, 1025, 1535, 1536, 1537]


@st.composite
def cases(draw: st.DrawFn, max_size: int = 2_000) -> Case:
    size = draw(st.one_of(st.integers(1, max_size), st.sampled_from(BOUNDARY_SIZES)), label="size")
    salt = draw(st.binary(max_size=4), label="salt")
    cuts = draw(st.lists(st.integers(1, size), max_size=8), label="cuts")
    bounds = sorted({0, size, *cuts})
    return Case(
        [salt + i.to_bytes(4, "big") for i in range(size)],
        [b - a for a, b in itertools.pairwise(bounds)],
    )


@HYPOTHESIS
@given(case=cases(), data=st.data())
def test_roots_and_proofs_equal_the_reference(case: Case, data: st.DataObject) -> None:
    tree = build(case.leaf_hashes, case.batches)
    stored = len(case.entries)
    new = data.draw(st.integers(1, stored), label="new size")
    old = data.draw(st.integers(0, new), label="old size")
    index = data.draw(st.integers(0, new - 1), label="index")
    entries = case.entries[:new]

    new_root, old_root = merkle.root_hash(tree, new), merkle.root_hash(tree, old)
    assert new_root == ref_mth(entries)
    assert old_root == ref_mth(case.entries[:old])  # historical roots too

    path = merkle.inclusion_proof(tree, index, new)
    assert path == ref_path(index, entries)
    assert merkle.verify_inclusion(merkle.leaf_hash(entries[index]), index, new, path, new_root)

    proof = merkle.consistency_proof(tree, old, new)
    assert proof == ref_proof(old, entries)
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)


@HYPOTHESIS
@given(case=cases(), data=st.data())
def test_any_change_to_an_inclusion_proof_fails(case: Case, data: st.DataObject) -> None:
    tree = build(case.leaf_hashes, case.batches)
    size = data.draw(st.integers(1, len(case.entries)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    leaf, root = case.leaf_hashes[index], merkle.root_hash(tree, size)
    proof = merkle.inclusion_proof(tree, index, size)
    byte = st.integers(0, 31)
    mask = st.integers(1, 255)

    if proof:
        i = data.draw(st.integers(0, len(proof) - 1), label="proof hash")
        wrong = list(proof)
        wrong[i] = flip(wrong[i], data.draw(byte), data.draw(mask))
        assert not merkle.verify_inclusion(leaf, index, size, wrong, root)
        assert not merkle.verify_inclusion(leaf, index, size, proof[:-1], root)
    assert not merkle.verify_inclusion(flip(leaf, data.draw(byte), data.draw(mask)), index, size, proof, root)
    assert not merkle.verify_inclusion(leaf, index, size, proof, flip(root, data.draw(byte), data.draw(mask)))
    assert not merkle.verify_inclusion(leaf, index, size, [*proof, root], root)

    other_index = data.draw(st.integers(-2, size + 2).filter(lambda i: i != index), label="other index")
    assert not merkle.verify_inclusion(leaf, other_index, size, proof, root)
    # Another size verifies exactly when the proof has the same shape there (see
    # test_a_proof_does_not_bind_the_tree_size_the_checkpoint_does).
    other_size = data.draw(st.integers(0, 2 * size + 2).filter(lambda s: s != size), label="other size")
    same_shape = index < other_size and path_shape(index, other_size) == path_shape(index, size)
    assert merkle.verify_inclusion(leaf, index, other_size, proof, root) is same_shape


@HYPOTHESIS
@given(case=cases(), data=st.data())
def test_any_change_to_a_consistency_proof_fails(case: Case, data: st.DataObject) -> None:
    tree = build(case.leaf_hashes, case.batches)
    new = data.draw(st.integers(1, len(case.entries)), label="new size")
    old = data.draw(st.integers(0, new), label="old size")
    old_root, new_root = merkle.root_hash(tree, old), merkle.root_hash(tree, new)
    proof = merkle.consistency_proof(tree, old, new)
    byte = st.integers(0, 31)
    mask = st.integers(1, 255)

    assert not merkle.verify_consistency(
        old, new, flip(old_root, data.draw(byte), data.draw(mask)), new_root, proof
    )
    assert not merkle.verify_consistency(old, new, old_root, new_root, [*proof, new_root])
    if old == 0:
        return  # every tree extends the empty tree: only its root and the empty proof are checked
    assert not merkle.verify_consistency(
        old, new, old_root, flip(new_root, data.draw(byte), data.draw(mask)), proof
    )
    if old == new:
        return
    i = data.draw(st.integers(0, len(proof) - 1), label="proof hash")
    wrong = list(proof)
    wrong[i] = flip(wrong[i], data.draw(byte), data.draw(mask))
    assert not merkle.verify_consistency(old, new, old_root, new_root, wrong)
    assert not merkle.verify_consistency(old, new, old_root, new_root, proof[:-1])
    assert not merkle.verify_consistency(old, new, old_root, new_root, proof[1:])

    other_old = data.draw(st.integers(-1, new + 1).filter(lambda s: s != old), label="other old size")
    same_shape = 0 < other_old < new and proof_shape(other_old, new) == proof_shape(old, new)
    assert merkle.verify_consistency(other_old, new, old_root, new_root, proof) is same_shape
    other_new = data.draw(st.integers(0, 2 * new + 2).filter(lambda s: s != new), label="other new size")
    same_shape = old < other_new and proof_shape(old, other_new) == proof_shape(old, new)
    assert merkle.verify_consistency(old, other_new, old_root, new_root, proof) is same_shape


@HYPOTHESIS
@given(case=cases())
def test_one_append_or_many_give_the_same_tiles(case: Case) -> None:
    leaves = case.leaf_hashes
    at_once = build(leaves).tiles()
    assert build(leaves, case.batches).tiles() == at_once
    singles = min(len(leaves), 300)  # one leaf a call, then the rest in one call
    rest = [len(leaves) - singles] if len(leaves) > singles else []
    assert build(leaves, [1] * singles + rest).tiles() == at_once
    assert {key: len(hashes) // 32 for key, hashes in at_once.items()} == expected_layout(len(leaves))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    old_size=st.integers(-(2**70), 2**70),
    new_size=st.integers(-(2**70), 2**70),
    a=st.binary(max_size=40),
    b=st.binary(max_size=40),
    proof=st.lists(st.binary(max_size=40), max_size=70),
)
def test_verification_never_raises(
    old_size: int, new_size: int, a: bytes, b: bytes, proof: list[bytes]
) -> None:
    assert merkle.verify_consistency(old_size, new_size, a, b, proof) in (True, False)
    assert merkle.verify_inclusion(a, old_size, new_size, proof, b) in (True, False)


def test_historical_roots_at_every_size() -> None:
    entries = [b"audit entry %d" % i for i in range(520)]
    tree = build([merkle.leaf_hash(e) for e in entries], random_batches(random.Random(7), 520, 90))
    for size in range(521):
        assert merkle.root_hash(tree, size) == ref_mth(entries[:size]), size


@pytest.fixture(scope="module")
def big_tree() -> tuple[list[bytes], MemoryTiles]:
    """65,537 leaves (three tile levels), appended in random batches."""
    entries = [b"entry %d" % i for i in range(65_537)]
    rng = random.Random(65_537)
    tree = build([merkle.leaf_hash(e) for e in entries], random_batches(rng, len(entries), 5_000))
    assert tree.tiles() == build([merkle.leaf_hash(e) for e in entries]).tiles()
    return entries, tree


@pytest.mark.parametrize("size", [255, 256, 257, 511, 512, 65_535, 65_536, 65_537])
def test_tile_boundaries_against_the_reference(size: int, big_tree: tuple[list[bytes], MemoryTiles]) -> None:
    entries, tree = big_tree
    root = merkle.root_hash(tree, size)
    assert root == ref_mth(entries[:size])
    for index in sorted({0, 1, 254, 255, 256, size // 2, size - 2, size - 1}):
        if index < size:
            path = merkle.inclusion_proof(tree, index, size)
            assert path == ref_path(index, entries[:size]), index
            assert merkle.verify_inclusion(merkle.leaf_hash(entries[index]), index, size, path, root)
    for old in sorted({1, 255, 256, 257, 512, size - 1}):
        if old < size:
            proof = merkle.consistency_proof(tree, old, size)
            assert proof == ref_proof(old, entries[:size]), old
            assert merkle.verify_consistency(old, size, merkle.root_hash(tree, old), root, proof)


def test_tile_contents_are_the_c2sp_hashes(big_tree: tuple[list[bytes], MemoryTiles]) -> None:
    """The n-th tile at level l holds MTH(D[(n*256 + i) * 256**l : (n*256 + i + 1) * 256**l])."""
    entries, tree = big_tree
    tiles = tree.tiles()
    assert {key: len(h) // 32 for key, h in tiles.items()} == expected_layout(65_537)
    for key, i in [
        (TileKey(0, 0), 0),
        (TileKey(0, 3), 17),
        (TileKey(0, 256), 0),
        (TileKey(1, 0), 0),
        (TileKey(1, 0), 255),
        (TileKey(2, 0), 0),
    ]:
        span = 256**key.level
        start = (key.index * 256 + i) * span
        assert tiles[key][32 * i : 32 * i + 32] == ref_mth(entries[start : start + span]), key


def test_the_spec_example_tree_of_70000() -> None:
    """C2SP: 273 full level-0 tiles and one of width 112, one full level-1 tile and one of width
    17, and a level-2 tile of width 1; a tree of 256: a full level-0 tile and a level-1 tile of 1."""
    leaves = [hashlib.sha256(b"%d" % i).digest() for i in range(70_000)]
    tiles = build(leaves, [30_000, 1, 39_999]).tiles()
    widths = collections.Counter((key.level, len(h) // 32) for key, h in tiles.items())
    assert widths == {(0, 256): 273, (0, 112): 1, (1, 256): 1, (1, 17): 1, (2, 1): 1}
    assert {key: len(h) // 32 for key, h in build(leaves[:256]).tiles().items()} == {
        TileKey(0, 0): 256,
        TileKey(1, 0): 1,
    }


# ---------------------------------------------------------------------------- errors


BAD_CALLS: list[tuple[str, Callable[[MemoryTiles], object], str]] = [
    (
        "index = size",
        lambda t: merkle.inclusion_proof(t, 8, 8),
        "expected a leaf index from 0 to 7 (tree size 8), got 8",
    ),
    ("negative index", lambda t: merkle.inclusion_proof(t, -1, 8), "got -1"),
    ("empty tree", lambda t: merkle.inclusion_proof(t, 0, 0), "expected a tree size of 1 or more"),
    ("size > stored", lambda t: merkle.inclusion_proof(t, 3, 9), "smaller than the size asked for"),
    (
        "old > new",
        lambda t: merkle.consistency_proof(t, 5, 4),
        "expected an old tree size of at most the new size 4, got 5",
    ),
    ("negative old", lambda t: merkle.consistency_proof(t, -1, 4), "got -1"),
    ("new > stored", lambda t: merkle.consistency_proof(t, 3, 9), "smaller than the size asked for"),
    ("0 to new > stored", lambda t: merkle.consistency_proof(t, 0, 9), "smaller than the size asked for"),
    ("equal > stored", lambda t: merkle.consistency_proof(t, 9, 9), "smaller than the size asked for"),
    ("root > stored", lambda t: merkle.root_hash(t, 9), "expected tile 0/0 to hold at least 9 hashes, got 8"),
    ("negative root", lambda t: merkle.root_hash(t, -1), "expected a tree size of 0 or more, got -1"),
    (
        "negative level",
        lambda t: merkle.subtree_hash(t, -1, 0),
        "expected a subtree level and index of 0 or more",
    ),
    ("no such subtree", lambda t: merkle.subtree_hash(t, 8, 0), "expected tile 1/0 in the store, got none"),
    (
        "negative old size",
        lambda t: merkle.tiles_for_append(t, -1, []),
        "expected a tree size of 0 or more, got -1",
    ),
    (
        "not a hash",
        lambda t: merkle.tiles_for_append(t, 8, [b"short"]),
        "expected 32-byte leaf hashes, got 5 bytes at position 0",
    ),
]


@pytest.mark.parametrize(("call", "message"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_out_of_range_arguments_raise(call: Callable[[MemoryTiles], object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call(reference_tree())


def test_empty_cases_do_not_raise() -> None:
    tree = reference_tree()
    assert merkle.consistency_proof(tree, 0, 0) == []
    assert merkle.consistency_proof(MemoryTiles(), 0, 0) == []
    assert merkle.consistency_proof(tree, 0, 8) == merkle.consistency_proof(tree, 8, 8) == []
    assert merkle.root_hash(MemoryTiles(), 0) == EMPTY_ROOT
    assert merkle.tiles_for_append(tree, 8, []) == ({}, 8)


def test_missing_or_mismatched_tiles_raise() -> None:
    leaves = [hashlib.sha256(b"%d" % i).digest() for i in range(600)]
    tree = build(leaves)
    without = MemoryTiles({k: v for k, v in tree.tiles().items() if k != TileKey(0, 1)})
    with pytest.raises(ValueError, match=re.escape("expected tile 0/1 in the store, got none")):
        merkle.inclusion_proof(without, 300, 600)
    # Leaf 599's proof does not need tile 0/1 (only its hash, from tile 1/0).
    assert merkle.inclusion_proof(without, 599, 600) == merkle.inclusion_proof(tree, 599, 600)

    no_edge = MemoryTiles({k: v for k, v in tree.tiles().items() if k != TileKey(0, 2)})
    message = "expected tile 0/2 (the partial right edge of a tree of 600 leaves) in the store, got none"
    with pytest.raises(ValueError, match=re.escape(message)):
        merkle.tiles_for_append(no_edge, 600, leaves[:1])
    # The caller's old size does not match the stored tree.
    for old_size, width in [(601, 89), (599, 87)]:
        message = f"expected tile 0/2 to hold {width} hashes for a tree of {old_size} leaves, got 88"
        with pytest.raises(ValueError, match=re.escape(message)):
            merkle.tiles_for_append(tree, old_size, leaves[:1])


# ---------------------------------------------------------------------------- (3) tile paths


def test_tile_paths_follow_c2sp() -> None:
    assert merkle.tile_path(TileKey(0, 1_234_067), 256) == "tile/0/x001/x234/067"
    assert merkle.tile_path(TileKey(0, 1_234_067), 8) == "tile/0/x001/x234/067.p/8"
    assert merkle.tile_path(TileKey(0, 0), 256) == "tile/0/000"
    assert merkle.tile_path(TileKey(2, 0), 1) == "tile/2/000.p/1"
    assert merkle.tile_path(TileKey(1, 7), 255) == "tile/1/007.p/255"
    assert merkle.tile_path(TileKey(1, 999), 256) == "tile/1/999"
    assert merkle.tile_path(TileKey(1, 1000), 17) == "tile/1/x001/000.p/17"
    assert merkle.tile_path(TileKey(63, 1_000_000_000), 256) == "tile/63/x001/x000/x000/000"
    for key, width in [
        (TileKey(0, 0), 0),
        (TileKey(0, 0), 257),
        (TileKey(0, -1), 256),
        (TileKey(64, 0), 256),
        (TileKey(-1, 0), 1),
    ]:
        with pytest.raises(ValueError, match="expected"):
            merkle.tile_path(key, width)


# ---------------------------------------------------------------------------- (4) O(log n) reads


MILLION = 1_000_000


@pytest.fixture(scope="module")
def million() -> tuple[list[bytes], MemoryTiles]:
    leaves = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(MILLION)]
    return leaves, build(leaves, [100_000] * 10)


def test_proofs_at_a_million_read_few_tiles(million: tuple[list[bytes], MemoryTiles]) -> None:
    leaves, tree = million
    levels = 3  # tile levels 0, 1, 2 hold tree levels 0, 8, 16 of a 2**20-leaf tree
    root = merkle.root_hash(tree, MILLION)
    rng = random.Random(1)
    for index in [0, 1, 255, 256, 65_535, 65_536, 999_935, 999_999, *rng.sample(range(MILLION), 20)]:
        reads = CountingTiles(tree)
        proof = merkle.inclusion_proof(reads, index, MILLION)
        assert merkle.verify_inclusion(leaves[index], index, MILLION, proof, root)
        assert reads.calls == 1 and len(set(reads.keys)) == len(reads.keys)
        assert set(reads.per_level()) <= set(range(levels))
        assert max(reads.per_level().values()) <= 3, (index, reads.keys)

    for old in [1, 256, 65_536, 700_001, 999_999, *rng.sample(range(1, MILLION), 10)]:
        reads = CountingTiles(tree)
        proof = merkle.consistency_proof(reads, old, MILLION)
        assert reads.calls == 1 and max(reads.per_level().values()) <= 3, (old, reads.keys)
        assert merkle.verify_consistency(old, MILLION, merkle.root_hash(tree, old), root, proof)

    reads = CountingTiles(tree)
    historical = merkle.root_hash(reads, 700_001)
    assert reads.calls == 1 and max(reads.per_level().values()) == 1
    proof = merkle.inclusion_proof(tree, 123_456, 700_001)
    assert merkle.verify_inclusion(leaves[123_456], 123_456, 700_001, proof, historical)


def test_appending_reads_only_the_right_edge(million: tuple[list[bytes], MemoryTiles]) -> None:
    leaves, tree = million
    reads = CountingTiles(tree)
    tiles, size = merkle.tiles_for_append(reads, MILLION, leaves[:1])
    # 1,000,000 = 3906 * 256 + 64: only the partial level-0 tile changes.
    assert (size, reads.keys, list(tiles)) == (MILLION + 1, [TileKey(0, 3906)], [TileKey(0, 3906)])
    assert tiles[TileKey(0, 3906)] == tree.tiles()[TileKey(0, 3906)] + leaves[0]

    reads = CountingTiles(tree)
    tiles, size = merkle.tiles_for_append(reads, MILLION, leaves[:70_000])
    assert reads.calls == 1 and sorted(reads.keys, key=lambda k: k.level) == [
        TileKey(0, 3906),
        TileKey(1, 15),
        TileKey(2, 0),
    ]
    grown = MemoryTiles(tree.tiles())
    grown.apply(tiles)
    grown_root = merkle.root_hash(grown, size)
    proof = merkle.consistency_proof(grown, MILLION, size)
    assert merkle.verify_consistency(MILLION, size, merkle.root_hash(tree, MILLION), grown_root, proof)
    assert {k: len(h) // 32 for k, h in grown.tiles().items()} == expected_layout(size)
