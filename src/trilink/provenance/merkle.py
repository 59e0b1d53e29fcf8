"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing and inclusion proofs."""

from __future__ import annotations

import hashlib

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def tree_with_proofs(leaves: list[bytes]) -> tuple[bytes, list[list[str]]]:
    """Root of the tree over ``leaves`` (leaf hashes) and the inclusion proof of each leaf,
    in hex as signatures carry it (each node is written out once, not once per leaf)."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    paths: list[list[str]] = [[] for _ in leaves]

    def build(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaves[lo]
        mid = lo + _split(hi - lo)
        left, right = build(lo, mid), build(mid, hi)
        right_hex, left_hex = right.hex(), left.hex()
        for i in range(lo, mid):
            paths[i].append(right_hex)
        for i in range(mid, hi):
            paths[i].append(left_hex)
        return node_hash(left, right)

    return build(0, len(leaves)), paths


def root_from_proof(leaf: bytes, index: int, size: int, proof: list[bytes]) -> bytes | None:
    """The root implied by an inclusion proof (RFC 9162 §2.1.3.2), or None if malformed."""
    if index < 0 or index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None
