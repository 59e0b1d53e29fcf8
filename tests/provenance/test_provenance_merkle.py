"""RFC 9162 Merkle trees: known roots, every inclusion proof, and tamper detection."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from trilink.provenance.merkle import leaf_hash, node_hash, root_from_proof, tree_with_proofs

# The RFC 6962 reference test vectors (certificate-transparency merkle tree tests): the data
# of 8 leaves and the root of the tree over the first n of them.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
SIZES = range(1, 71)


def _tree(hashes: list[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """``tree_with_proofs`` with its (hex) proofs as bytes, as ``root_from_proof`` takes them."""
    root, proofs = tree_with_proofs(hashes)
    return root, [[bytes.fromhex(p) for p in proof] for proof in proofs]


def reference_root(hashes: list[bytes]) -> bytes:
    """MTH from RFC 9162 §2.1.1, written straight from the definition."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return hashlib.sha256(
        b"\x01" + reference_root(hashes[:k]) + reference_root(hashes[k:])
    ).digest()


def leaves_of(size: int) -> list[bytes]:
    return [f"report {i} of {size}".encode() for i in range(size)]


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert leaf_hash(b"\x01ab") != node_hash(b"a", b"b")


@pytest.mark.parametrize("n", range(1, 9))
def test_rfc6962_reference_roots(n: int) -> None:
    root, _ = _tree([leaf_hash(d) for d in CT_LEAVES[:n]])
    assert root.hex() == CT_ROOTS[n - 1]


def test_empty_tree_is_refused() -> None:
    with pytest.raises(ValueError):
        _tree([])


def test_every_proof_of_every_size_verifies() -> None:
    checked = 0
    for size in SIZES:
        hashes = [leaf_hash(d) for d in leaves_of(size)]
        root, proofs = _tree(hashes)
        assert root == reference_root(hashes)
        assert len(proofs) == size
        for index in range(size):
            assert len(proofs[index]) <= max(1, (size - 1).bit_length())
            assert root_from_proof(hashes[index], index, size, proofs[index]) == root
            checked += 1
    assert checked == sum(SIZES)


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_a_flipped_bit_anywhere_breaks_the_proof() -> None:
    rng = np.random.default_rng(20261123)
    for size in SIZES:
        data = leaves_of(size)
        hashes = [leaf_hash(d) for d in data]
        root, proofs = _tree(hashes)
        for index in range(size):
            proof = proofs[index]
            # in the data
            bad_data = _flip(data[index], int(rng.integers(len(data[index]) * 8)))
            assert root_from_proof(leaf_hash(bad_data), index, size, proof) != root
            # in the root
            bad_root = _flip(root, int(rng.integers(256)))
            assert root_from_proof(hashes[index], index, size, proof) != bad_root
            # in one element of the proof
            if proof:
                k = int(rng.integers(len(proof)))
                bad_proof = [*proof]
                bad_proof[k] = _flip(proof[k], int(rng.integers(256)))
                assert root_from_proof(hashes[index], index, size, bad_proof) != root


def test_proof_for_another_index_does_not_verify() -> None:
    """(A proof alone does not pin the tree size: the batch signature covers the size, see
    test_provenance_signing.py.)"""
    for size in range(2, 71):
        hashes = [leaf_hash(d) for d in leaves_of(size)]
        root, proofs = _tree(hashes)
        for index in range(size):
            other = (index + 1) % size
            assert root_from_proof(hashes[index], other, size, proofs[index]) != root
            assert root_from_proof(hashes[other], index, size, proofs[index]) != root


@pytest.mark.parametrize(
    ("index", "size", "proof_change"),
    [(-1, 5, 0), (5, 5, 0), (0, 0, 0), (2, 5, +1), (2, 5, -1)],
)
def test_malformed_proofs_give_none(index: int, size: int, proof_change: int) -> None:
    hashes = [leaf_hash(d) for d in leaves_of(5)]
    _root, proofs = _tree(hashes)
    proof = proofs[2]
    if proof_change > 0:
        proof = [*proof, b"\x00" * 32]
    elif proof_change < 0:
        proof = proof[:-1]
    assert root_from_proof(hashes[2], index, size, proof) is None
