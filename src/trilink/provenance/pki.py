"""The deployment PKI: one CA, and per nation a TLS certificate and an Ed25519 signing key.

``trilink pki init`` writes::

    DIR/pki/ca.crt, ca.key                      deployment CA (ECDSA P-256)
    DIR/<NATION>/tls.crt, tls.key               node TLS certificate (server + client auth)
    DIR/<NATION>/signing.crt, signing.key       Ed25519 report-signing key, certified by the CA

The nation is the certificate's common name. Private keys are written with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trilink.errors import ConfigError, ProvenanceError

SIGNING_UNIT = "report signing"
TLS_UNIT = "node"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _pem_key(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_id_of(public_key: ed25519.Ed25519PublicKey) -> str:
    """Stable short identifier of a signing key: SHA-256 of its raw bytes, 32 hex chars."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]


@dataclass(frozen=True)
class CertifiedKey:
    """A partner's (or our own) signing public key, as certified by the deployment CA."""

    nation: str
    key_id: str
    public_key: ed25519.Ed25519PublicKey
    not_before: dt.datetime
    not_after: dt.datetime
    cert_pem: str

    def valid_at(self, moment: dt.datetime) -> bool:
        return self.not_before <= moment <= self.not_after


def create_ca(pki_dir: Path, *, years: int = 10) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "trilink"),
            x509.NameAttribute(NameOID.COMMON_NAME, "trilink deployment CA"),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    pki_dir.mkdir(parents=True, exist_ok=True)
    _write_private(pki_dir / "ca.key", _pem_key(key))
    (pki_dir / "ca.crt").write_bytes(_pem_cert(cert))


def load_ca(pki_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate((pki_dir / "ca.crt").read_bytes())
        key = serialization.load_pem_private_key((pki_dir / "ca.key").read_bytes(), None)
    except FileNotFoundError as err:
        raise ConfigError(
            f"no deployment CA in {pki_dir}: run 'trilink pki init --dir {pki_dir.parent}'"
        ) from err
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{pki_dir / 'ca.key'} is not an ECDSA key")
    return cert, key


def _issue(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    subject_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    nation: str,
    unit: str,
    *,
    days: int,
    not_before: dt.datetime | None = None,
    tls_hosts: list[str] | None = None,
) -> x509.Certificate:
    start = not_before or _now() - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "trilink"),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
                    x509.NameAttribute(NameOID.COMMON_NAME, nation),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(subject_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if tls_hosts is not None:
        names: list[x509.GeneralName] = []
        for host in tls_hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    return builder.sign(ca_key, hashes.SHA256())


def issue_node_tls(
    pki_dir: Path, node_dir: Path, nation: str, hosts: list[str] | None = None
) -> None:
    ca_cert, ca_key = load_ca(pki_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(
        ca_cert,
        ca_key,
        key.public_key(),
        nation,
        TLS_UNIT,
        days=730,
        tls_hosts=hosts or ["127.0.0.1", "localhost"],
    )
    _write_private(node_dir / "tls.key", _pem_key(key))
    (node_dir / "tls.crt").write_bytes(_pem_cert(cert))


def issue_signing_key(
    pki_dir: Path,
    node_dir: Path,
    nation: str,
    *,
    days: int = 365,
    not_before: dt.datetime | None = None,
) -> str:
    """Create a new Ed25519 signing key for ``nation``; returns its key id. Any previous key
    is kept as ``signing-<keyid>.key/.crt`` so reports it signed stay verifiable."""
    ca_cert, ca_key = load_ca(pki_dir)
    current = node_dir / "signing.crt"
    if current.exists():
        old = load_certified_key(current.read_bytes())
        current.rename(node_dir / f"signing-{old.key_id}.crt")
        (node_dir / "signing.key").rename(node_dir / f"signing-{old.key_id}.key")
    key = ed25519.Ed25519PrivateKey.generate()
    cert = _issue(
        ca_cert, ca_key, key.public_key(), nation, SIGNING_UNIT, days=days, not_before=not_before
    )
    _write_private(node_dir / "signing.key", _pem_key(key))
    current.write_bytes(_pem_cert(cert))
    return key_id_of(key.public_key())


def load_signing_key(
    node_dir: Path, at: dt.datetime | None = None
) -> tuple[ed25519.Ed25519PrivateKey, CertifiedKey]:
    """The node's signing key. With ``at``: if the current key is not valid then (a rotation
    staged for later, or an expiry), the newest archived key valid at ``at`` is used."""
    current = _load_key_pair(node_dir / "signing.key", node_dir / "signing.crt", node_dir)
    if at is None or current[1].valid_at(at):
        return current
    archived = [
        _load_key_pair(crt.with_suffix(".key"), crt, node_dir)
        for crt in node_dir.glob("signing-*.crt")
        if crt.with_suffix(".key").exists()
    ]
    usable = [pair for pair in archived if pair[1].valid_at(at)]
    if not usable:
        return current  # publishing will refuse, saying why
    return max(usable, key=lambda pair: pair[1].not_before)


def _load_key_pair(
    key_path: Path, cert_path: Path, node_dir: Path
) -> tuple[ed25519.Ed25519PrivateKey, CertifiedKey]:
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        cert_pem = cert_path.read_bytes()
    except FileNotFoundError as err:
        raise ConfigError(
            f"no signing key in {node_dir}: run 'trilink pki init' for this deployment"
        ) from err
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ConfigError(f"{key_path} is not an Ed25519 key")
    certified = load_certified_key(cert_pem)
    if key_id_of(key.public_key()) != certified.key_id:
        raise ConfigError(f"{key_path} does not match {cert_path.name}")
    return key, certified


def load_certified_key(cert_pem: bytes | str) -> CertifiedKey:
    """Parse a signing certificate (no trust decision: see ``verify_certified_key``)."""
    data = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError as err:
        raise ProvenanceError(f"signing certificate is not valid PEM: {err}") from None
    public = cert.public_key()
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise ProvenanceError("signing certificate does not hold an Ed25519 key")
    return CertifiedKey(
        nation=nation_of(cert),
        key_id=key_id_of(public),
        public_key=public,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        cert_pem=data.decode("ascii"),
    )


def nation_of(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        raise ProvenanceError("certificate has no single common name (the nation)")
    return str(names[0].value)


def unit_of(cert: x509.Certificate) -> str:
    units = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return str(units[0].value) if units else ""


def verify_issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> None:
    """Raise ``ProvenanceError`` unless ``cert`` was signed by the deployment CA."""
    if cert.issuer != ca_cert.subject:
        raise ProvenanceError("certificate was not issued by this deployment's CA")
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError) as err:
        raise ProvenanceError(
            f"certificate signature does not verify against the CA: {err}"
        ) from None


def verify_certified_key(cert_pem: bytes | str, ca_cert: x509.Certificate) -> CertifiedKey:
    data = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    cert = x509.load_pem_x509_certificate(data)
    verify_issued_by(cert, ca_cert)
    if unit_of(cert) != SIGNING_UNIT:
        raise ProvenanceError("certificate is not a report-signing certificate")
    return load_certified_key(data)


def init_deployment(root: Path, nations: list[str]) -> list[str]:
    """Create whatever is missing of the CA and each nation's TLS and signing material.
    Returns a list of what was created."""
    created: list[str] = []
    pki_dir = root / "pki"
    if not (pki_dir / "ca.crt").exists():
        create_ca(pki_dir)
        created.append(str(pki_dir / "ca.crt"))
    for nation in nations:
        node_dir = root / nation
        node_dir.mkdir(parents=True, exist_ok=True)
        if not (node_dir / "tls.crt").exists():
            issue_node_tls(pki_dir, node_dir, nation)
            created.append(str(node_dir / "tls.crt"))
        if not (node_dir / "signing.crt").exists():
            issue_signing_key(pki_dir, node_dir, nation)
            created.append(str(node_dir / "signing.crt"))
    return created
