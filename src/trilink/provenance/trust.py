"""What nations exchange to trust each other, and how a nation withdraws a key.

**Trust bundle** (``trilink pki export``): one nation's public material, no private key::

    {"format": "trilink-trust-bundle/1", "nation": "JPN",
     "cas": ["-----BEGIN CERTIFICATE-----...", ...],        CA certificates, current first
     "signing": ["-----BEGIN CERTIFICATE-----...", ...],    signing certificates
     "revocations": ["{...}", ...]}                         revocation statements

Its **fingerprint** is the SHA-256 of the DER of its CA certificates in order: the two sites
compare it by a channel they trust (phone, courier) before ``trilink pki trust``.

**Revocation statement** (``trilink pki revoke``, and ``pki rotate`` for the key it
replaces): signed by the nation's CA, it says that reports signed by a key after a given
time are not the nation's. It travels with every batch the nation sends, so it replicates
to every partner; a partner refuses (and audits) reports signed by the key after that time
and keeps verifying the earlier ones.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from trilink.errors import ConfigError, ProvenanceError
from trilink.provenance.pki import (
    CA_UNIT,
    load_ca,
    load_certified_key,
    nation_of,
    own_ca_certs,
    unit_of,
    verify_certified_key,
)

BUNDLE_FORMAT = "trilink-trust-bundle/1"
MAX_BUNDLE_BYTES = 1024 * 1024
MAX_REVOCATION_BYTES = 4096
REVOCATION_REASONS = ("superseded", "compromised", "retired")


@dataclass(frozen=True)
class TrustBundle:
    nation: str
    cas: list[x509.Certificate]
    signing: list[str]
    revocations: list[str]

    @property
    def fingerprint(self) -> str:
        return bundle_fingerprint(self.cas)


def bundle_fingerprint(cas: Sequence[x509.Certificate]) -> str:
    digest = hashlib.sha256()
    for cert in cas:
        digest.update(cert.public_bytes(serialization.Encoding.DER))
    return digest.hexdigest()


def export_bundle(node_dir: Path) -> tuple[bytes, str]:
    """This nation's trust bundle (JSON bytes) and its fingerprint."""
    cas = own_ca_certs(node_dir)
    signing = [p.read_text("ascii") for p in _signing_certs(node_dir)]
    revocations = load_revocations(node_dir)
    doc = {
        "format": BUNDLE_FORMAT,
        "nation": nation_of(cas[0]),
        "cas": [c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in cas],
        "signing": signing,
        "revocations": revocations,
    }
    return json.dumps(doc, indent=1).encode("utf-8") + b"\n", bundle_fingerprint(cas)


def _signing_certs(node_dir: Path) -> list[Path]:
    return [node_dir / "signing.crt", *sorted(node_dir.glob("signing-*.crt"))]


class _BundleDoc(msgspec.Struct, forbid_unknown_fields=True):
    format: str
    nation: str
    cas: list[str]
    signing: list[str] = []
    revocations: list[str] = []


def parse_bundle(data: bytes, source: str) -> TrustBundle:
    """A trust bundle, checked: every certificate parses, the CA certificates are CA
    certificates of the bundle's nation, every signing certificate was issued by one of
    them, every revocation is signed by one of them. ``ConfigError`` naming the problem."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise ConfigError(f"{source}: {len(data)} bytes is too large for a trust bundle")
    try:
        doc = msgspec.json.decode(data, type=_BundleDoc)
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        raise ConfigError(f"{source}: not a trilink trust bundle: {err}") from None
    if doc.format != BUNDLE_FORMAT:
        raise ConfigError(f"{source}: format {doc.format!r}, expected {BUNDLE_FORMAT!r}")
    if not doc.cas:
        raise ConfigError(f"{source}: the bundle has no CA certificate")
    try:
        cas = [x509.load_pem_x509_certificate(pem.encode("ascii")) for pem in doc.cas]
    except (ValueError, UnicodeEncodeError) as err:
        raise ConfigError(f"{source}: a CA certificate does not parse: {err}") from None
    for ca in cas:
        if unit_of(ca) != CA_UNIT or nation_of(ca) != doc.nation:
            raise ConfigError(
                f"{source}: {ca.subject.rfc4514_string()} is not {doc.nation}'s CA certificate"
            )
    try:
        for pem in doc.signing:
            verify_certified_key(pem, cas)
        for text in doc.revocations:
            verify_revocation(text, cas)
    except ProvenanceError as err:
        raise ConfigError(f"{source}: {err}") from None
    return TrustBundle(doc.nation, cas, doc.signing, doc.revocations)


def read_bundle(path: Path) -> TrustBundle:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"trust bundle {path} not found") from None
    return parse_bundle(data, str(path))


# -- revocation ------------------------------------------------------------------------


class Revocation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    nation: str
    key_id: str
    revoked_at: str
    reason: str
    issued_at: str
    ca: str  # fingerprint of the CA certificate that signs the statement
    sig: str = ""

    @property
    def revoked_time(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.revoked_at)


def _signed_part(rev: Revocation) -> bytes:
    body = msgspec.structs.asdict(rev)
    body.pop("sig")
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


def issue_revocation(
    node_dir: Path, key_id: str, *, at: dt.datetime | None = None, reason: str = "compromised"
) -> Path:
    """Sign a statement that ``key_id`` (one of this nation's signing keys) signs nothing
    after ``at`` (default now), and keep it in ``node_dir/revocations/``."""
    if reason not in REVOCATION_REASONS:
        raise ConfigError(f"reason must be one of {', '.join(REVOCATION_REASONS)}")
    known = {load_certified_key(p.read_bytes()).key_id for p in _signing_certs(node_dir)}
    if key_id not in known:
        raise ConfigError(
            f"{node_dir} has no signing key {key_id}; its keys: {', '.join(sorted(known))}"
        )
    ca_cert, ca_key = load_ca(node_dir)
    now = dt.datetime.now(dt.UTC)  # to the microsecond: reports signed just before stay valid
    rev = Revocation(
        nation=nation_of(ca_cert),
        key_id=key_id,
        revoked_at=(at or now).astimezone(dt.UTC).isoformat(),
        reason=reason,
        issued_at=now.isoformat(),
        ca=ca_cert.fingerprint(hashes.SHA256()).hex(),
    )
    signature = ca_key.sign(_signed_part(rev), ec.ECDSA(hashes.SHA256()))
    rev = msgspec.structs.replace(rev, sig=base64.b64encode(signature).decode("ascii"))
    folder = node_dir / "revocations"
    folder.mkdir(exist_ok=True)
    path = folder / f"{key_id}.json"
    path.write_bytes(msgspec.json.encode(rev) + b"\n")
    return path


def load_revocations(node_dir: Path) -> list[str]:
    """This nation's revocation statements, as the texts that travel."""
    folder = node_dir / "revocations"
    return [p.read_text("ascii").strip() for p in sorted(folder.glob("*.json"))]


def verify_revocation(text: str, cas: Sequence[x509.Certificate]) -> Revocation:
    """A revocation statement, if one of ``cas`` (one nation's CAs) signed it."""
    if len(text) > MAX_REVOCATION_BYTES:
        raise ProvenanceError("revocation statement too large")
    try:
        rev = msgspec.json.decode(text, type=Revocation)
        rev.revoked_time  # noqa: B018 - parses, or ValueError
        signature = base64.b64decode(rev.sig, validate=True)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as err:
        raise ProvenanceError(f"revocation statement is malformed: {err}") from None
    for ca in cas:
        if ca.fingerprint(hashes.SHA256()).hex() != rev.ca:
            continue
        if nation_of(ca) != rev.nation:
            break
        public = ca.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey):
            break
        try:
            public.verify(signature, _signed_part(rev), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise ProvenanceError(
                f"revocation of {rev.key_id} is not signed by {rev.nation}'s CA (forged)"
            ) from None
        return rev
    raise ProvenanceError(f"revocation of {rev.key_id} names a CA {rev.nation} is not trusted for")
