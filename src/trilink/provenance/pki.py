"""Each nation's own PKI: its CA, its node's TLS certificate and its report-signing key.

``trilink pki init --dir DIR --nation JPN`` writes, for JPN alone::

    DIR/ca.crt, ca.key                  JPN's certificate authority (ECDSA P-256)
    DIR/tls.crt, tls.key                the node's TLS certificate (server + client auth)
    DIR/signing.crt, signing.key        Ed25519 report-signing key, certified by JPN's CA

No file of one nation is ever needed by another: partners exchange public trust bundles
(``trust.py``) and check them by fingerprint. The nation is each certificate's common name;
private keys are written with mode 0600. Retired keys and CA certificates are kept
(``signing-<key id>.*``, ``ca-<generation>.crt``) so what they signed stays verifiable.

CA rollover comes in two steps, as a DNSSEC key rollover does, so that no partner ever meets
a certificate it cannot check: ``prepare_ca_rollover`` creates the next CA
(``next-ca.crt/.key``) and a *link certificate* (``links/link-<generation>.crt``: the next
CA's name and key, certified by the current CA). Every batch the node sends carries both;
a partner accepts the next CA because the CA it already trusts vouches for it. Once partners
have it, ``activate_ca_rollover`` makes it current and issues the node's TLS certificate and
signing key from it; the retired CA certificate stays, so older reports stay verifiable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from collections.abc import Sequence
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
CA_UNIT = "certificate authority"
DEFAULT_HOSTS = ["127.0.0.1", "localhost"]


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


def _ca_name(nation: str, generation: int) -> x509.Name:
    # Each generation its own name, so a certificate's issuer says which CA signed it.
    attributes = [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "trilink"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, CA_UNIT),
        x509.NameAttribute(NameOID.COMMON_NAME, nation),
    ]
    if generation > 1:
        attributes.append(x509.NameAttribute(NameOID.GENERATION_QUALIFIER, str(generation)))
    return x509.Name(attributes)


def ca_generation(cert: x509.Certificate) -> int:
    """1 for a nation's first CA, then 2, 3... after each rollover."""
    values = cert.subject.get_attributes_for_oid(NameOID.GENERATION_QUALIFIER)
    try:
        return int(str(values[0].value)) if values else 1
    except ValueError:
        raise ProvenanceError(
            f"{cert.subject.rfc4514_string()}: generation is not a number"
        ) from None


def _ca_builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def create_ca(
    node_dir: Path, nation: str, *, years: int = 10, generation: int = 1, stem: str = "ca"
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """``nation``'s certificate authority: ``<stem>.crt`` and ``<stem>.key`` in ``node_dir``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _ca_name(nation, generation)
    now = _now()
    cert = _ca_builder(
        name,
        name,
        key.public_key(),
        now - dt.timedelta(minutes=5),
        now + dt.timedelta(days=365 * years),
    ).sign(key, hashes.SHA256())
    node_dir.mkdir(parents=True, exist_ok=True)
    _write_private(node_dir / f"{stem}.key", _pem_key(key))
    (node_dir / f"{stem}.crt").write_bytes(_pem_cert(cert))
    return cert, key


def next_ca_path(node_dir: Path) -> Path:
    return node_dir / "next-ca.crt"


def prepare_ca_rollover(node_dir: Path) -> tuple[x509.Certificate, Path]:
    """Create the next CA and its link certificate (signed by the current CA); partners
    learn both from the node's next batch. Returns the next CA and the link's path."""
    if next_ca_path(node_dir).exists():
        raise ConfigError(
            f"{node_dir} already holds a next CA ({next_ca_path(node_dir)}): activate it with "
            f"'trilink pki rollover --dir {node_dir} --activate'"
        )
    current, current_key = load_ca(node_dir)
    nation = nation_of(current)
    generation = ca_generation(current) + 1
    next_cert, next_key = create_ca(node_dir, nation, generation=generation, stem="next-ca")
    link = _ca_builder(
        next_cert.subject,
        current.subject,
        next_key.public_key(),
        next_cert.not_valid_before_utc,
        min(next_cert.not_valid_after_utc, current.not_valid_after_utc),
    ).sign(current_key, hashes.SHA256())
    links = node_dir / "links"
    links.mkdir(exist_ok=True)
    path = links / f"link-{generation}.crt"
    path.write_bytes(_pem_cert(link))
    return next_cert, path


def activate_ca_rollover(node_dir: Path, hosts: list[str]) -> tuple[int, str]:
    """Make the next CA current: the current CA certificate is kept as ``ca-<generation>.crt``
    (what it certified stays verifiable), its private key is deleted, and the node gets a
    new TLS certificate (``hosts``) and signing key from the new CA. Returns the new
    generation and signing key id."""
    if not next_ca_path(node_dir).exists():
        raise ConfigError(
            f"{node_dir} has no next CA to activate: run 'trilink pki rollover --dir "
            f"{node_dir}' first, and let partners learn it"
        )
    current, _key = load_ca(node_dir)
    upcoming = x509.load_pem_x509_certificate(next_ca_path(node_dir).read_bytes())
    (node_dir / "ca.crt").rename(node_dir / f"ca-{ca_generation(current)}.crt")
    (node_dir / "next-ca.key").rename(node_dir / "ca.key")
    next_ca_path(node_dir).rename(node_dir / "ca.crt")
    nation = nation_of(upcoming)
    issue_node_tls(node_dir, nation, hosts)
    key_id = issue_signing_key(node_dir, nation)
    return ca_generation(upcoming), key_id


def ca_links(node_dir: Path) -> list[str]:
    """PEM texts every batch carries so partners can follow this nation's CA rollovers: the
    next CA (while one is prepared), each link certificate and, once there are links, every
    CA this node had and has. A partner that received no batch between the rollover being
    prepared and activated (it was away, or the node had not yet looked at its files when
    it sent) still finds the new CA and the link that vouches for it, however many
    rollovers it missed."""
    links = sorted((node_dir / "links").glob("link-*.crt"))
    cas = [*sorted(node_dir.glob("ca-*.crt")), node_dir / "ca.crt"] if links else []
    paths = [next_ca_path(node_dir), *cas, *links]
    return [p.read_text("ascii") for p in paths if p.exists()]


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def follow_links(
    candidates: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate]
) -> list[x509.Certificate]:
    """The self-signed CA certificates among ``candidates`` that ``anchors`` (one nation's
    trusted CAs) vouch for through link certificates among ``candidates``, following
    several rollovers in turn. Anything else is ignored: a CA no link from a trusted CA
    names is never trusted."""
    trusted = list(anchors)
    learned: list[x509.Certificate] = []
    known = {cert_fingerprint(c) for c in trusted}
    progress = True
    while progress:
        progress = False
        for ca in candidates:
            if cert_fingerprint(ca) in known or ca.issuer != ca.subject or not is_ca(ca):
                continue
            try:
                ca.verify_directly_issued_by(ca)
            except (InvalidSignature, ValueError, TypeError):
                continue
            for link in candidates:
                if (
                    link.subject != ca.subject
                    or link.issuer == link.subject
                    or not is_ca(link)
                    or link.public_key() != ca.public_key()
                ):
                    continue
                try:
                    verify_issued_by(link, trusted)
                except ProvenanceError:
                    continue
                trusted.append(ca)
                learned.append(ca)
                known.add(cert_fingerprint(ca))
                progress = True
                break
    return learned


def load_ca(node_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """This nation's CA certificate and key (only the commands that issue need the key)."""
    try:
        cert = x509.load_pem_x509_certificate((node_dir / "ca.crt").read_bytes())
        key = serialization.load_pem_private_key((node_dir / "ca.key").read_bytes(), None)
    except FileNotFoundError as err:
        raise ConfigError(
            f"no CA in {node_dir}: run 'trilink pki init --dir {node_dir} --nation ...' "
            "(or copy back ca.key if it is kept offline)"
        ) from err
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{node_dir / 'ca.key'} is not an ECDSA key")
    return cert, key


def own_ca_certs(node_dir: Path) -> list[x509.Certificate]:
    """This nation's CA certificates: the current one first, then retired ones."""
    paths = [node_dir / "ca.crt", *sorted(node_dir.glob("ca-*.crt"))]
    try:
        return [x509.load_pem_x509_certificate(p.read_bytes()) for p in paths]
    except FileNotFoundError:
        raise ConfigError(
            f"no CA certificate in {node_dir}: run 'trilink pki init --dir {node_dir} "
            "--nation ...'"
        ) from None


def cert_fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


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


def issue_node_tls(node_dir: Path, nation: str, hosts: list[str] | None = None) -> None:
    """A new TLS certificate for the node (also how it is renewed), from its nation's CA;
    ``hosts`` are the names and addresses partners reach it by."""
    ca_cert, ca_key = load_ca(node_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(
        ca_cert,
        ca_key,
        key.public_key(),
        nation,
        TLS_UNIT,
        days=730,
        tls_hosts=hosts or DEFAULT_HOSTS,
    )
    _write_private(node_dir / "tls.key", _pem_key(key))
    (node_dir / "tls.crt").write_bytes(_pem_cert(cert))


def tls_hosts_of(cert_path: Path) -> list[str]:
    """The names and addresses a TLS certificate was issued for."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return DEFAULT_HOSTS
    return [str(n.value) for n in names if isinstance(n, x509.DNSName | x509.IPAddress)]


def issue_signing_key(
    node_dir: Path,
    nation: str,
    *,
    days: int = 365,
    not_before: dt.datetime | None = None,
) -> str:
    """Create a new Ed25519 signing key for ``nation``; returns its key id. Any previous key
    is kept as ``signing-<keyid>.key/.crt`` so reports it signed stay verifiable."""
    ca_cert, ca_key = load_ca(node_dir)
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


def verify_issued_by(cert: x509.Certificate, cas: Sequence[x509.Certificate]) -> None:
    """Raise ``ProvenanceError`` unless ``cert`` was signed by one of ``cas`` (one nation's
    CA certificates) and names that nation."""
    for ca_cert in cas:
        if cert.issuer != ca_cert.subject:
            continue
        try:
            cert.verify_directly_issued_by(ca_cert)
        except (InvalidSignature, ValueError, TypeError):
            continue
        if nation_of(cert) != nation_of(ca_cert):
            raise ProvenanceError(
                f"certificate names {nation_of(cert)} but was issued by {nation_of(ca_cert)}'s CA"
            )
        return
    nations = sorted({nation_of(c) for c in cas})
    raise ProvenanceError(f"certificate was not issued by {', '.join(nations) or 'a trusted'} CA")


def verify_certified_key(cert_pem: bytes | str, cas: Sequence[x509.Certificate]) -> CertifiedKey:
    """A signing certificate's key, if one of ``cas`` issued it for its nation."""
    data = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError as err:
        raise ProvenanceError(f"not a PEM certificate: {err}") from None
    verify_issued_by(cert, cas)
    if unit_of(cert) != SIGNING_UNIT:
        raise ProvenanceError("certificate is not a report-signing certificate")
    return load_certified_key(data)


def init_nation(node_dir: Path, nation: str, hosts: list[str] | None = None) -> list[str]:
    """Create whatever is missing of ``nation``'s CA, node TLS certificate and signing key
    in ``node_dir``, and nothing of any other nation. Returns what was created."""
    created: list[str] = []
    node_dir.mkdir(parents=True, exist_ok=True)
    if (node_dir / "ca.crt").exists():
        existing = nation_of(own_ca_certs(node_dir)[0])
        if existing != nation:
            raise ConfigError(f"{node_dir} holds {existing}'s CA, not {nation}'s")
    else:
        create_ca(node_dir, nation)
        created.append(str(node_dir / "ca.crt"))
    if not (node_dir / "tls.crt").exists():
        issue_node_tls(node_dir, nation, hosts)
        created.append(str(node_dir / "tls.crt"))
    if not (node_dir / "signing.crt").exists():
        issue_signing_key(node_dir, nation)
        created.append(str(node_dir / "signing.crt"))
    return created
