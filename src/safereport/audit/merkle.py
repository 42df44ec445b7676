"""The audit log's Merkle tree (RFC 9162 §2.1), stored as C2SP tlog-tiles.

Pure functions: no database, no I/O. The tree lives in *tiles*: a tile at tile-level L holds up
to 256 consecutive node hashes of tree level 8·L (level 0: the leaf hashes; level 1: the roots of
full level-0 tiles, and so on). Only complete subtrees are stored, so a stored hash never changes
once written: a partial right-edge tile only grows, and every historical root and proof can be
computed from the current tiles. Whatever reads the tiles (a database, a dict) implements
`TileReader`; every function here reads O(log n) tiles, in one `read_tiles` call.

Hashes are 32-byte SHA-256 digests: leaf hash SHA-256(0x00 || entry), interior node hash
SHA-256(0x01 || left || right), and the empty tree's root SHA-256("").

References: RFC 9162 §2.1 (MTH, PATH, PROOF and the verification algorithms),
https://c2sp.org/tlog-tiles (tile layout and paths).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

HASH_SIZE = 32
TILE_HEIGHT = 8
TILE_WIDTH = 256  # 2**TILE_HEIGHT hashes in a full tile
MAX_TILE_LEVEL = 63  # the highest tile level C2SP tlog-tiles allows in a path

_TILE_BYTES = TILE_WIDTH * HASH_SIZE
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256


def leaf_hash(entry: bytes) -> bytes:
    """The RFC 9162 leaf hash: SHA-256(0x00 || entry)."""
    return _sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


EMPTY_ROOT: bytes = _sha256(b"").digest()


@dataclass(frozen=True, slots=True)
class TileKey:
    """A tile: tile-level `level` holds the hashes of tree level 8·level; tile `index` holds
    the nodes index·256 .. index·256+255 of that tree level."""

    level: int
    index: int


class TileReader(Protocol):
    def read_tiles(self, keys: Sequence[TileKey]) -> Mapping[TileKey, bytes]:
        """Each requested tile that is stored, as its concatenated hashes (32·width bytes, width
        1..256; a partial right-edge tile is shorter). Tiles not stored are absent."""
        ...


def inner_levels(tile: bytes) -> bytes:
    """The interior of a tile: its tree levels 1..7 (room for 128, 64, ..., 2 hashes), each the
    complete nodes the tile's hashes make, zero-padded to that room, concatenated.

    Not part of C2SP tlog-tiles, which stores only every eighth level: a store may keep it beside
    each tile so that a subtree hash inside a tile is read, not recomputed from up to 128 hashes.
    """
    if not tile or len(tile) > _TILE_BYTES or len(tile) % HASH_SIZE:
        raise ValueError(f"expected a tile of 1 to {TILE_WIDTH} hashes, got {len(tile)} bytes")
    out: list[bytes] = []
    level = tile
    for height in range(1, TILE_HEIGHT):
        pairs = len(level) // (2 * HASH_SIZE)
        level = _hash_level(level[: pairs * 2 * HASH_SIZE]) if pairs else b""
        out.append(level + bytes(((TILE_WIDTH >> height) - pairs) * HASH_SIZE))
    return b"".join(out)


# Where level h (1..7) of a tile's interior starts in `inner_levels`, in hashes.
_INNER_OFFSET = {h: sum(TILE_WIDTH >> j for j in range(1, h)) for h in range(1, TILE_HEIGHT)}


class InnerTileReader(TileReader, Protocol):
    def read_inner(self, keys: Sequence[TileKey]) -> Mapping[TileKey, bytes]:
        """For each requested full tile whose interior is stored, `inner_levels(tile)`."""
        ...


class MemoryTiles:
    """A dict-backed `TileReader`, for tests, benchmarks and rebuilding a tree to check it."""

    def __init__(self, tiles: Mapping[TileKey, bytes] | None = None) -> None:
        self._tiles: dict[TileKey, bytes] = dict(tiles) if tiles else {}

    def read_tiles(self, keys: Sequence[TileKey]) -> Mapping[TileKey, bytes]:
        stored = self._tiles
        return {key: stored[key] for key in keys if key in stored}

    def apply(self, tiles: Mapping[TileKey, bytes]) -> None:
        """Store tiles, replacing a partial tile that has grown."""
        self._tiles.update(tiles)

    def tiles(self) -> dict[TileKey, bytes]:
        """A copy of every stored tile."""
        return dict(self._tiles)

    def __len__(self) -> int:
        return len(self._tiles)


# ---------------------------------------------------------------------------- appending


def tiles_for_append(
    reader: TileReader, old_size: int, new_leaf_hashes: Sequence[bytes]
) -> tuple[dict[TileKey, bytes], int]:
    """The tiles that change when `new_leaf_hashes` are appended to the stored tree of
    `old_size` leaves, with their complete new content, and the new tree size.

    The changed tiles are, at every tile level that gains hashes, the tile that was partial
    (now longer or full), the full tiles in between and the new partial right-edge tile. Reads
    only the old partial right-edge tiles of those levels, in one `read_tiles` call; hashes each
    newly full tile once, level by level (never leaf by leaf).
    """
    if old_size < 0:
        raise ValueError(f"expected a tree size of 0 or more, got {old_size}")
    for position, h in enumerate(new_leaf_hashes):
        if len(h) != HASH_SIZE:
            raise ValueError(
                f"expected {HASH_SIZE}-byte leaf hashes, got {len(h)} bytes at position {position}"
            )
    new_size = old_size + len(new_leaf_hashes)
    if new_size == old_size:
        return {}, old_size

    # Tile level L changes exactly when tree level 8·L gains nodes.
    levels: list[int] = []
    while (new_size >> (TILE_HEIGHT * len(levels))) > (old_size >> (TILE_HEIGHT * len(levels))):
        levels.append(len(levels))
    partial = {
        level: TileKey(level, (old_size >> (TILE_HEIGHT * level)) // TILE_WIDTH)
        for level in levels
        if (old_size >> (TILE_HEIGHT * level)) % TILE_WIDTH
    }
    found = reader.read_tiles(list(partial.values())) if partial else {}

    changed: dict[TileKey, bytes] = {}
    incoming = b"".join(new_leaf_hashes)  # the new node hashes of the current tree level
    for level in levels:
        old_nodes = old_size >> (TILE_HEIGHT * level)
        first_tile, old_width = divmod(old_nodes, TILE_WIDTH)
        if old_width:
            key = partial[level]
            stored = found.get(key)
            if stored is None:
                raise ValueError(
                    f"expected tile {level}/{key.index} (the partial right edge of a tree of "
                    f"{old_size} leaves) in the store, got none: the tile is missing"
                )
            if len(stored) != old_width * HASH_SIZE:
                raise ValueError(
                    f"expected tile {level}/{key.index} to hold {old_width} hashes for a tree of "
                    f"{old_size} leaves, got {len(stored) / HASH_SIZE:g}: old_size does not match "
                    "the stored tree"
                )
            data = stored + incoming
        else:
            data = incoming
        roots: list[bytes] = []
        for offset in range(0, len(data), _TILE_BYTES):
            chunk = data[offset : offset + _TILE_BYTES]
            changed[TileKey(level, first_tile + offset // _TILE_BYTES)] = chunk
            if len(chunk) == _TILE_BYTES:
                roots.append(_hash_up(chunk))
        incoming = b"".join(roots)
    return changed, new_size


# ---------------------------------------------------------------------------- reading


def subtree_hash(reader: TileReader, level: int, index: int) -> bytes:
    """The hash of the complete subtree of 2**level leaves starting at leaf index·2**level,
    computed from the one tile holding its descendants at tree level 8·floor(level/8)."""
    return _subtree_hashes(reader, [(level, index)])[0]


def root_hash(reader: TileReader, size: int) -> bytes:
    """MTH of the first `size` leaves: the current root, or a historical one for a smaller size.
    Folds the O(log n) complete subtrees that make up the first `size` leaves."""
    if size < 0:
        raise ValueError(f"expected a tree size of 0 or more, got {size}")
    if size == 0:
        return EMPTY_ROOT
    return _range_hashes(reader, [(0, size)])[0]


def inclusion_proof(reader: TileReader, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) (RFC 9162 §2.1.3.1): the audit path of leaf `index` in the tree of
    the first `size` leaves, from the leaf's sibling up to the root's children."""
    if size < 1:
        raise ValueError(f"expected a tree size of 1 or more for an inclusion proof, got {size}")
    if not 0 <= index < size:
        raise ValueError(f"expected a leaf index from 0 to {size - 1} (tree size {size}), got {index}")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return _range_hashes(reader, ranges)


def consistency_proof(reader: TileReader, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1). RFC 9162 defines it for
    0 < old_size < new_size; for old_size == new_size, or old_size == 0 (every tree extends the
    empty tree), there is nothing to prove and the proof is empty."""
    if old_size < 0:
        raise ValueError(f"expected an old tree size of 0 or more, got {old_size}")
    if old_size > new_size:
        raise ValueError(f"expected an old tree size of at most the new size {new_size}, got {old_size}")
    if new_size == 0:
        return []
    if old_size in (0, new_size):
        _require_size(reader, new_size)
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, new_size
    whole = True  # SUBPROOF's b: this subtree's root is the old root, which the verifier holds
    while old_size != hi:
        k = _split(hi - lo)
        if old_size <= lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            whole = False
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return _range_hashes(reader, ranges)


# ---------------------------------------------------------------------------- verifying


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` show that the leaf hash `leaf` is leaf `index` of the
    tree of `size` leaves whose root is `root`? False (never an exception) for anything wrong.

    `leaf` is the 32-byte leaf hash (`leaf_hash(entry)`), as the RFC's algorithm takes it.
    """
    if not 0 <= index < size or len(leaf) != HASH_SIZE or len(root) != HASH_SIZE:
        return False
    if any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does `proof` show that the tree of `new_size` leaves with root
    `new_root` extends the tree of `old_size` leaves with root `old_root`? False (never an
    exception) for anything wrong.

    Outside the RFC's 0 < old_size < new_size: equal sizes are consistent with an empty proof and
    equal roots; the empty tree (old_root must be the empty root) with an empty proof is
    consistent with every tree.
    """
    if not 0 <= old_size <= new_size or len(old_root) != HASH_SIZE or len(new_root) != HASH_SIZE:
        return False
    if any(len(p) != HASH_SIZE for p in proof):
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT and (new_size > 0 or new_root == EMPTY_ROOT)
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# ---------------------------------------------------------------------------- publishing


def tile_path(key: TileKey, width: int) -> str:
    """The C2SP tlog-tiles path of a tile, "tile/<L>/<N>[.p/<W>]": N in zero-padded groups of
    three digits, all but the last prefixed with "x" (1234067 -> "x001/x234/067"); the ".p/<W>"
    suffix only for a partial tile (width 1..255)."""
    if not 0 <= key.level <= MAX_TILE_LEVEL:
        raise ValueError(f"expected a tile level from 0 to {MAX_TILE_LEVEL}, got {key.level}")
    if key.index < 0:
        raise ValueError(f"expected a tile index of 0 or more, got {key.index}")
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"expected a tile width from 1 to {TILE_WIDTH}, got {width}")
    groups: list[str] = []
    rest = key.index
    while True:
        rest, group = divmod(rest, 1000)
        groups.append(f"{group:03d}")
        if not rest:
            break
    groups.reverse()
    number = "/".join([f"x{g}" for g in groups[:-1]] + groups[-1:])
    suffix = f".p/{width}" if width < TILE_WIDTH else ""
    return f"tile/{key.level}/{number}{suffix}"


# ---------------------------------------------------------------------------- internals


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2): where MTH splits D[n]."""
    return 1 << ((n - 1).bit_length() - 1)


def _hash_level(hashes: bytes) -> bytes:
    """One tree level up: each pair of adjacent hashes becomes its parent."""
    step = 2 * HASH_SIZE
    return b"".join(
        [_sha256(_NODE_PREFIX + hashes[i : i + step]).digest() for i in range(0, len(hashes), step)]
    )


def _hash_up(hashes: bytes) -> bytes:
    """The root of a complete subtree given its 2**k hashes at one tree level."""
    while len(hashes) > HASH_SIZE:
        hashes = _hash_level(hashes)
    return hashes


def _decompose(lo: int, hi: int) -> list[tuple[int, int]]:
    """The complete subtrees (level, index) that make up leaves [lo, hi), largest first: one per
    set bit of hi - lo. Only for the ranges MTH recurses into, whose start is a multiple of the
    largest of them; MTH(D[lo:hi]) is then their right fold."""
    nodes: list[tuple[int, int]] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        nodes.append((level, lo >> level))
        lo += 1 << level
    return nodes


def _fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of consecutive complete subtrees that shrink left to right: fold from the right."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def _range_hashes(reader: TileReader, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """MTH(D[lo:hi]) for each range, with one `read_tiles` call for all of them."""
    parts = [_decompose(lo, hi) for lo, hi in ranges]
    hashes = _subtree_hashes(reader, [node for nodes in parts for node in nodes])
    result: list[bytes] = []
    start = 0
    for nodes in parts:
        result.append(_fold(hashes[start : start + len(nodes)]))
        start += len(nodes)
    return result


def _subtree_hashes(reader: TileReader, nodes: Sequence[tuple[int, int]]) -> list[bytes]:
    """The hashes of complete subtrees (level, index), each from the one tile that holds its
    descendants at tree level 8·floor(level/8), with one `read_tiles` call for all of them."""
    spans: list[tuple[TileKey, int, int]] = []
    for level, index in nodes:
        if level < 0 or index < 0:
            raise ValueError(
                f"expected a subtree level and index of 0 or more, got level {level}, index {index}"
            )
        tile_level, height = divmod(level, TILE_HEIGHT)
        first = index << height  # the subtree's first node at tree level 8·tile_level
        tile_index, start = divmod(first, TILE_WIDTH)
        spans.append((TileKey(tile_level, tile_index), start, start + (1 << height)))
    keys = list(dict.fromkeys(key for key, _, _ in spans))
    tiles = reader.read_tiles(keys) if spans else {}
    wanted_inner = [key for key, start, end in spans if end - start > 1]
    inner = (
        reader.read_inner(list(dict.fromkeys(wanted_inner)))
        if wanted_inner and hasattr(reader, "read_inner")
        else {}
    )
    hashes: list[bytes] = []
    for key, start, end in spans:
        width = end - start
        interior = inner.get(key)
        if width > 1 and interior is not None:
            height = width.bit_length() - 1
            position = (_INNER_OFFSET[height] + (start >> height)) * HASH_SIZE
            hashes.append(interior[position : position + HASH_SIZE])
            continue
        data = tiles.get(key)
        if data is None:
            raise ValueError(
                f"expected tile {key.level}/{key.index} in the store, got none: the tree is "
                "smaller than the size asked for, or the tile is missing"
            )
        if len(data) < end * HASH_SIZE:
            raise ValueError(
                f"expected tile {key.level}/{key.index} to hold at least {end} hashes, got "
                f"{len(data) / HASH_SIZE:g}: the tree is smaller than the size asked for"
            )
        hashes.append(_hash_up(data[start * HASH_SIZE : end * HASH_SIZE]))
    return hashes


def _require_size(reader: TileReader, size: int) -> None:
    """Raise ValueError unless the stored tree holds at least `size` leaves (size >= 1)."""
    _subtree_hashes(reader, [(0, size - 1)])
