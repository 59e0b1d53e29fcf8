"""Batch signing (Ed25519 over a Merkle root) and per-report verification."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from trilink.errors import ProvenanceError
from trilink.model.ids import parse_utc_timestamp
from trilink.model.report import Envelope, Report, Signature, envelope_bytes
from trilink.provenance.merkle import leaf_hash, root_from_proof, tree_with_proofs
from trilink.provenance.pki import CertifiedKey

ALG = "ed25519+rfc9162-sha256"
MAX_BATCH = 2**32  # far above any real batch; keeps the signed size field in 8 bytes
_DOMAIN = b"trilink/report-batch/v1\x00"


def batch_message(origin: str, key_id: str, size: int, root: bytes) -> bytes:
    """The exact bytes an origin signs for a batch: domain, origin, key, size and root."""
    return b"".join(
        (
            _DOMAIN,
            origin.encode("ascii"),
            b"\x00",
            key_id.encode("ascii"),
            b"\x00",
            size.to_bytes(8, "big"),
            root,
        )
    )


class Signer:
    """Signs batches of a node's own envelopes with its current key."""

    def __init__(self, private_key: ed25519.Ed25519PrivateKey, certified: CertifiedKey):
        self._key = private_key
        self.certified = certified

    @property
    def key_id(self) -> str:
        return self.certified.key_id

    def sign_statement(self, domain: bytes, body: bytes) -> str:
        """Sign ``domain + body`` (base64 signature): a statement other than a report batch,
        such as a signed audit head. ``domain`` names the statement's format and version and
        ends with NUL, so no statement can ever be read as a batch message or as another
        kind of statement."""
        _check_statement_domain(domain)
        return base64.b64encode(self._key.sign(domain + body)).decode("ascii")

    def sign(self, envelopes: Sequence[Envelope]) -> list[Report]:
        if not envelopes:
            return []
        origin = envelopes[0].origin
        if any(e.origin != origin for e in envelopes) or origin != self.certified.nation:
            raise ProvenanceError(
                f"this key signs only for {self.certified.nation}; batch has other origins"
            )
        signed = [envelope_bytes(e) for e in envelopes]
        root, proofs = tree_with_proofs([leaf_hash(b) for b in signed])
        sig = self._key.sign(batch_message(origin, self.key_id, len(signed), root))
        sig_text = base64.b64encode(sig).decode("ascii")
        root_hex = root.hex()
        return [
            Report(
                envelope=env,
                signed=data,
                signature=Signature(
                    alg=ALG,
                    key_id=self.key_id,
                    root=root_hex,
                    size=len(signed),
                    index=i,
                    proof=proofs[i],
                    sig=sig_text,
                ),
            )
            for i, (env, data) in enumerate(zip(envelopes, signed, strict=True))
        ]


def _check_statement_domain(domain: bytes) -> None:
    if not domain.startswith(b"trilink/") or domain.find(b"\x00") != len(domain) - 1:
        raise ProvenanceError(f"{domain!r} is not a statement domain (trilink/...NUL)")
    if domain == _DOMAIN:
        raise ProvenanceError("report batches are not signed as statements")


def verify_statement(key: CertifiedKey, domain: bytes, body: bytes, sig: str) -> None:
    """``ProvenanceError`` unless ``sig`` is ``key``'s signature of ``domain + body``."""
    _check_statement_domain(domain)
    try:
        key.public_key.verify(base64.b64decode(sig, validate=True), domain + body)
    except (InvalidSignature, ValueError):
        raise ProvenanceError(f"signature by key {key.key_id} does not verify") from None


class Verifier:
    """Checks a report's signature against the keys it trusts.

    Verified batch roots are cached, so a batch of N reports costs one Ed25519 verification
    plus N inclusion proofs (log2 N hashes each).
    """

    def __init__(self, keys: Iterable[CertifiedKey] = ()):
        self._keys: dict[str, CertifiedKey] = {}
        self._good_roots: dict[tuple[str, str, int], None] = {}
        self._revoked: dict[str, tuple[dt.datetime, str]] = {}
        for key in keys:
            self.add_key(key)

    def revoke(self, key_id: str, at: dt.datetime, reason: str) -> None:
        """Reports signed by ``key_id`` and created after ``at`` no longer verify; earlier
        ones still do. The earliest revocation time of a key wins."""
        known = self._revoked.get(key_id)
        if known is None or at < known[0]:
            self._revoked[key_id] = (at, reason)

    def revoked_at(self, key_id: str) -> dt.datetime | None:
        found = self._revoked.get(key_id)
        return found[0] if found else None

    def add_key(self, key: CertifiedKey) -> None:
        self._keys[key.key_id] = key

    def forget(self, key_id: str) -> None:
        self._keys.pop(key_id, None)
        self._good_roots = {k: v for k, v in self._good_roots.items() if k[0] != key_id}

    def knows(self, key_id: str) -> bool:
        return key_id in self._keys

    def keys(self) -> list[CertifiedKey]:
        return list(self._keys.values())

    def proven_leaves(self, items: Sequence[tuple[bytes, Signature]]) -> set[int]:
        """Positions in ``items`` (signed bytes, signature) whose inclusion proof is proven by
        rebuilding their batch's whole tree: where ``items`` hold every leaf of a signed batch
        (the usual case, as a partner's feed carries whole publish batches), one tree of N-1
        hashes replaces N proofs of log2 N hashes each. A position is proven only if the
        rebuilt root is the signed root and its proof is the one the tree gives; the others
        are left to ``verify``'s own proof check (which says what is wrong)."""
        groups: dict[tuple[str, str, int], dict[int, int]] = {}
        counts: dict[tuple[str, str, int], int] = {}
        for pos, (_, signature) in enumerate(items):
            if not 1 < signature.size <= len(items) or not 0 <= signature.index < signature.size:
                continue
            key = (signature.key_id, signature.root, signature.size)
            groups.setdefault(key, {})[signature.index] = pos
            counts[key] = counts.get(key, 0) + 1
        proven: set[int] = set()
        for key, where in groups.items():
            size = key[2]
            if len(where) != size or counts[key] != size:
                continue  # part of the batch, or an index given twice: proofs one by one
            root, proofs = tree_with_proofs([leaf_hash(items[where[i]][0]) for i in range(size)])
            if root.hex() != key[1]:
                continue
            proven.update(pos for i, pos in where.items() if items[pos][1].proof == proofs[i])
        return proven

    def verify(
        self, signed: bytes, envelope: Envelope, signature: Signature, *, proven: bool = False
    ) -> CertifiedKey:
        """Raise ``ProvenanceError`` saying why, unless ``signed`` is authentic. ``proven``:
        ``proven_leaves`` has shown that ``signed`` is the leaf its proof places under the
        signed root, so only the root's signature remains to check."""
        if signature.alg != ALG:
            raise ProvenanceError(f"unsupported signature algorithm {signature.alg!r}")
        key = self._keys.get(signature.key_id)
        if key is None:
            raise ProvenanceError(f"unknown signing key {signature.key_id}")
        if key.nation != envelope.origin:
            raise ProvenanceError(
                f"key {signature.key_id} belongs to {key.nation}, not to origin {envelope.origin}"
            )
        if not 0 <= signature.index < signature.size <= MAX_BATCH or len(signature.proof) > 64:
            raise ProvenanceError("signature batch size, index or proof length out of range")
        try:
            created = parse_utc_timestamp(envelope.created)
        except ValueError:
            raise ProvenanceError(f"created {envelope.created!r} is not a valid time") from None
        if not key.valid_at(created):
            raise ProvenanceError(
                f"report created {envelope.created} outside key {key.key_id}'s validity "
                f"({key.not_before:%Y-%m-%d} to {key.not_after:%Y-%m-%d})"
            )
        revoked = self._revoked.get(key.key_id)
        if revoked is not None and created > revoked[0]:
            raise ProvenanceError(
                f"report created {envelope.created} is signed by key {key.key_id}, which "
                f"{key.nation} revoked ({revoked[1]}) from {revoked[0]:%Y-%m-%d %H:%M:%S} UTC"
            )
        if not proven:
            self._check_proof(signed, signature)
        cache_key = (signature.key_id, signature.root, signature.size)
        if cache_key not in self._good_roots:
            try:
                sig = base64.b64decode(signature.sig, validate=True)
                root = bytes.fromhex(signature.root)
                key.public_key.verify(
                    sig, batch_message(envelope.origin, key.key_id, signature.size, root)
                )
            except (InvalidSignature, ValueError):
                raise ProvenanceError("batch signature does not verify (forged)") from None
            if len(self._good_roots) > 100_000:
                self._good_roots.clear()
            self._good_roots[cache_key] = None
        return key

    @staticmethod
    def _check_proof(signed: bytes, signature: Signature) -> None:
        try:
            root = bytes.fromhex(signature.root)
            proof = [bytes.fromhex(p) for p in signature.proof]
        except ValueError:
            raise ProvenanceError("signature root or proof is not hex") from None
        if len(root) != 32 or any(len(p) != 32 for p in proof):
            raise ProvenanceError("signature root or proof has the wrong length")
        implied = root_from_proof(leaf_hash(signed), signature.index, signature.size, proof)
        if implied != root:
            raise ProvenanceError("report is not in the signed batch (content was altered)")
