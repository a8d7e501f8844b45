"""The Merkle tree against a direct transcription of RFC 9162's recursive definitions, for every size
up to 33 and every leaf: roots agree, every proof verifies, and a proof moved to another leaf, index
or root fails."""

from __future__ import annotations

import hashlib

import pytest

from mlineage.llm import merkle


def _mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return merkle.leaf_hash(leaves[0])
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return _path(m, leaves[:k]) + [_mth(leaves[k:])]
    return _path(m - k, leaves[k:]) + [_mth(leaves[:k])]


@pytest.mark.parametrize("n", range(34))
def test_root_and_proofs_match_rfc_9162(n: int) -> None:
    data = [f"leaf {i}".encode() for i in range(n)]
    assert merkle.root(data) == _mth(data)
    hashed = [merkle.leaf_hash(d) for d in data]
    for i in range(n):
        proof = merkle.prove(hashed, i)
        assert list(proof.path) == _path(i, data)
        assert proof.verify()
        other = (i + 1) % n
        if other != i:
            assert not merkle.verify_inclusion(hashed[other], i, n, proof.path, proof.root)
            assert not merkle.verify_inclusion(hashed[i], other, n, proof.path, proof.root)
        assert not merkle.verify_inclusion(hashed[i], i, n, proof.path, hashlib.sha256(b"x").digest())


def test_a_node_is_not_a_leaf() -> None:
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.root([a + b]) != merkle.root([b"a", b"b"])  # domain separation


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 100])
def test_a_proof_read_from_the_packed_tree_is_the_computed_one(n: int) -> None:
    from mlineage.errors import NotFoundError
    from mlineage.llm import online

    digests = [hashlib.sha256(f"packet {i}".encode()).digest() for i in range(n)]
    leaves, tree = "".join(d.hex() for d in digests), online.packed_tree(digests)
    for i, d in enumerate(digests):
        assert online.prove_from_tree(leaves, tree, d) == online.prove_packet(digests, d)
    with pytest.raises(NotFoundError):
        online.prove_from_tree(leaves, tree, hashlib.sha256(b"other").digest())
