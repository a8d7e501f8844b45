"""RFC 9162-style Merkle trees: the hashing every LLM record here commits to (corpora, online checkpoints).

Why RFC 9162 (Certificate Transparency v2) and not an ad-hoc tree: its leaf and node hashes are domain
separated (``leaf = sha256(0x00 ‖ data)``, ``node = sha256(0x01 ‖ left ‖ right)``), so a node can never be
passed off as a leaf (the second-preimage attack on naive trees), and its split rule (the left subtree holds
the largest power of two below n leaves) gives every tree size one shape, so proofs from any tool that
follows the RFC check here. Pure: bytes in, bytes out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ValidationError

_EMPTY = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf: ``sha256(0x00 ‖ data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node: ``sha256(0x01 ‖ left ‖ right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of_hashes(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of leaves already hashed with ``leaf_hash`` (RFC 9162 2.1.1); the hash of the
    empty string for no leaves. Computed bottom-up level by level, which gives the same tree as the RFC's
    recursive split (an odd node is carried up unchanged) without recursion."""
    if not leaves:
        return _EMPTY
    level = list(leaves)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def root(data: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of raw leaf data."""
    return root_of_hashes([leaf_hash(d) for d in data])


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """That leaf ``index`` of a tree of ``size`` leaves is in the tree with root ``root``: the audit path
    (sibling hashes, bottom up), as RFC 9162 2.1.3 defines it."""

    index: int
    size: int
    leaf: bytes
    path: tuple[bytes, ...]
    root: bytes

    def verify(self) -> bool:
        """Recompute the root from the leaf and the path (RFC 9162 2.1.3.2)."""
        return verify_inclusion(self.leaf, self.index, self.size, self.path, self.root)

    def to_json(self) -> dict[str, object]:
        return {"index": self.index, "size": self.size, "leaf_hash": self.leaf.hex(),
                "path": [p.hex() for p in self.path], "root": self.root.hex()}


def inclusion_path(leaves: Sequence[bytes], index: int) -> tuple[bytes, ...]:
    """The audit path of leaf ``index`` among hashed ``leaves`` (RFC 9162 2.1.3.1, iteratively: the
    level-by-level tree above is the same tree, so its siblings are the RFC's path)."""
    if not 0 <= index < len(leaves):
        raise ValidationError("index", f"leaf {index} is outside a tree of {len(leaves)} leaves")
    path: list[bytes] = []
    level, i = list(leaves), index
    while len(level) > 1:
        sibling = i ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        nxt = [node_hash(level[j], level[j + 1]) for j in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level, i = nxt, i // 2
    return tuple(path)


def prove(leaves: Sequence[bytes], index: int) -> InclusionProof:
    """An inclusion proof for leaf ``index`` of hashed ``leaves``."""
    return InclusionProof(index, len(leaves), leaves[index], inclusion_path(leaves, index),
                          root_of_hashes(leaves))


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], expected: bytes) -> bool:
    """RFC 9162 2.1.3.2: whether ``path`` leads from hashed ``leaf`` at ``index`` to ``expected``."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected
