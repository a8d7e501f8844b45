"""Online learning checkpoints: many packet digests batched into one Merkle root (pure, no I/O).

A model updated every few seconds on new data packets would write a run (or an edge) per packet and bury
the ledger. Instead packets are batched: a checkpoint holds the packets' SHA-256 digests, packed as one hex
string, and their RFC 9162 Merkle root, which is the checkpoint's identity. "Was packet P used by model
version V?" is answered by an inclusion proof from the checkpoint's leaves, at one ledger event per batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import NotFoundError, ValidationError
from . import merkle


def packet_digest(packet: bytes | str) -> bytes:
    """The 32-byte digest of a packet: its bytes hashed, or a ``sha256:...``/64-hex digest taken as given."""
    if isinstance(packet, bytes):
        return hashlib.sha256(packet).digest()
    text = packet.removeprefix("sha256:")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ValidationError("packet", f"{packet!r} is not a sha256 digest",
                              "pass the packet's bytes instead")
    return raw


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One batch of packets: ``leaves`` are the packets' digests in arrival order."""

    model: str
    number: int
    leaves: tuple[bytes, ...]

    @property
    def root(self) -> bytes:
        return merkle.root_of_hashes([merkle.leaf_hash(d) for d in self.leaves])

    @property
    def digest(self) -> str:
        return "sha256:" + self.root.hex()

    def packed(self) -> str:
        return "".join(d.hex() for d in self.leaves)


def unpack(packed: str) -> list[bytes]:
    """The packet digests of a packed leaves string."""
    if len(packed) % 64:
        raise ValidationError("leaves", "must be whole 64-hex-character digests")
    try:
        return [bytes.fromhex(packed[i:i + 64]) for i in range(0, len(packed), 64)]
    except ValueError:
        raise ValidationError("leaves", "must be hex digits") from None


def prove_packet(leaves: Sequence[bytes], packet: bytes) -> merkle.InclusionProof:
    """The inclusion proof of a packet digest among a checkpoint's leaves."""
    try:
        index = list(leaves).index(packet)
    except ValueError:
        raise NotFoundError(f"packet sha256:{packet.hex()} is not in this checkpoint") from None
    return merkle.prove([merkle.leaf_hash(d) for d in leaves], index)


def _level_sizes(n: int) -> list[int]:
    sizes = [n]
    while sizes[-1] > 1:
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


def packed_tree(leaves: Sequence[bytes]) -> str:
    """Every level of a checkpoint's tree, leaf hashes first, packed as one hex string: the projection keeps
    it so that a proof is a few slices rather than rehashing the whole checkpoint."""
    level = [merkle.leaf_hash(d) for d in leaves]
    out = [b"".join(level)]
    while len(level) > 1:
        nxt = [merkle.node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        out.append(b"".join(nxt))
        level = nxt
    return b"".join(out).hex()


def prove_from_tree(leaves: str, tree: str, packet: bytes) -> merkle.InclusionProof:
    """The inclusion proof of ``packet`` from a checkpoint's packed leaves and packed tree (see
    ``packed_tree``): the RFC 9162 audit path, read rather than recomputed."""
    target, at = packet.hex(), 0
    while True:
        at = leaves.find(target, at)
        if at < 0:
            raise NotFoundError(f"packet sha256:{target} is not in this checkpoint")
        if at % 64 == 0:
            break
        at += 1
    index, sizes = at // 64, _level_sizes(len(leaves) // 64)

    def node(level: int, i: int) -> bytes:
        offset = (sum(sizes[:level]) + i) * 64
        return bytes.fromhex(tree[offset:offset + 64])

    path, i = [], index
    for level, size in enumerate(sizes[:-1]):
        if (i ^ 1) < size:
            path.append(node(level, i ^ 1))
        i //= 2
    return merkle.InclusionProof(index, sizes[0], node(0, index), tuple(path), node(len(sizes) - 1, 0))
