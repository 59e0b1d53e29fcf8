"""The node's keys: its own signing key, the trust anchors of each nation it deals with, and
the signing keys and revocations it has verified against them.

Each nation is its own trust root. The node trusts its own CA (``ca.crt`` and retired ones)
and, for each partner, only the CA certificates of the bundle it was given with
``trilink pki trust`` (checked by fingerprint then). A partner's signing certificate and its
revocation statements travel in every batch it sends: the node checks them against *that
partner's* CA, remembers them in the store (audited), and from then on verifies that
partner's reports with them. So do a partner's CA rollovers: its next CA, with a link
certificate from the CA trusted here (``trilink.provenance.pki.follow_links``), becomes a
trust anchor for that partner (stored, audited, and added to the running TLS contexts
through ``anchor_listeners``). Keys learned inside a transaction that rolls back are
forgotten again, so the verifier never trusts a key the store does not record.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from trilink.errors import ConfigError, ProvenanceError
from trilink.node.config import NodeConfig
from trilink.provenance.pki import (
    TLS_UNIT,
    CertifiedKey,
    ca_links,
    cert_fingerprint,
    follow_links,
    is_ca,
    load_certified_key,
    load_signing_key,
    nation_of,
    own_ca_certs,
    unit_of,
    verify_certified_key,
    verify_issued_by,
)
from trilink.provenance.signing import Signer, Verifier
from trilink.provenance.trust import load_revocations, read_bundle, verify_revocation
from trilink.store import Store
from trilink.store.audit import AuditEntry

REFRESH_S = 0.5  # how often, at most, the node looks for a rotated key or a new revocation


class KeyRing:
    """Own signer, the trust anchors per nation, and the verifier of every trusted key."""

    def __init__(self, config: NodeConfig, store: Store):
        self.config = config
        self.nation = config.nation
        self.store = store
        self.anchors: dict[str, list[x509.Certificate]] = {self.nation: own_ca_certs(config.dir)}
        if nation_of(self.anchors[self.nation][0]) != self.nation:
            raise ConfigError(
                f"{config.dir / 'ca.crt'} is {nation_of(self.anchors[self.nation][0])}'s CA, "
                f"not {self.nation}'s: this directory belongs to another nation's node"
            )
        for partner, path in sorted(config.partner_bundles.items()):
            bundle = read_bundle(path)
            if bundle.nation != partner:
                raise ConfigError(f"{path} is {bundle.nation}'s trust bundle, not {partner}'s")
            self.anchors[partner] = list(bundle.cas)
        for nation, pem in store.learned_anchors():
            if nation in self.anchors and nation != self.nation:
                self.anchors[nation].append(x509.load_pem_x509_certificate(pem.encode("ascii")))
        # called with (nation, CA certificate) when a partner's next CA is learned
        self.anchor_listeners: list[Callable[[str, x509.Certificate], None]] = []
        self._ca_pems_done: set[str] = set()
        self._learned_anchors_this_tx: list[tuple[str, x509.Certificate]] = []
        self._own_links: list[str] = ca_links(config.dir)
        self.verifier = Verifier(store.keys())
        self._learned_this_tx: list[str] = []
        self._cert_key_ids: dict[str, str] = {}  # certificate PEM -> key id, once verified
        self._seen_revocations: set[str] = set()
        self._own_revocations: list[str] = []
        self._signing_stamp: tuple[float, ...] = ()
        self._checked_at = 0.0
        self._refresh_lock = threading.Lock()
        self.signer = self._load_signer()
        with store.transaction():
            for key in self._own_certified():
                self.remember(key, actor="local")
            for nation, text in store.revocations():
                self._apply_revocation(nation, text, actor="", store=False)
            self._load_own_revocations()

    # -- own key ----------------------------------------------------------------------------
    def _load_signer(self) -> Signer:
        key, certified = load_signing_key(self.config.dir, at=datetime.now(UTC))
        self._signing_stamp = self._stamp()
        return Signer(key, certified)

    def _stamp(self) -> tuple[float, ...]:
        """Modification times of what a rotation or revocation changes on disk."""
        times = []
        for path in (
            self.config.dir / "signing.crt",
            self.config.dir / "revocations",
            self.config.dir / "links",
            self.config.dir / "ca.crt",
        ):
            try:
                times.append(os.stat(path).st_mtime)
            except FileNotFoundError:
                times.append(0.0)
        return tuple(times)

    def _own_certified(self) -> list[CertifiedKey]:
        paths = [self.config.dir / "signing.crt", *sorted(self.config.dir.glob("signing-*.crt"))]
        return [load_certified_key(p.read_bytes()) for p in paths]

    def refresh(self) -> None:
        """Take up a key rotated or a revocation issued (``trilink pki``) while running.
        Cheap: two stat calls, at most every ``REFRESH_S``."""
        now = time.monotonic()
        if now - self._checked_at < REFRESH_S:
            return
        with self._refresh_lock:
            self._checked_at = now
            if self._stamp() == self._signing_stamp:
                return
            try:
                signer = self._load_signer()
            except (ConfigError, ProvenanceError, ValueError):
                return  # files being rewritten: try again next time
            self.anchors[self.nation] = own_ca_certs(self.config.dir)  # after a CA rollover
            self._own_links = ca_links(self.config.dir)
            with self.store.transaction():
                for key in self._own_certified():
                    self.remember(key, actor="local")
                self._load_own_revocations()
            self.signer = signer

    def check_can_sign(self, at: datetime) -> None:
        """``ProvenanceError`` saying what to do if our current key may not sign at ``at``."""
        key = self.signer.certified
        if not key.valid_at(at):
            raise ProvenanceError(
                f"signing key {key.key_id} is valid from {key.not_before:%Y-%m-%d %H:%M} "
                f"to {key.not_after:%Y-%m-%d %H:%M} UTC, not now: partners would reject "
                f"everything it signs. Run 'trilink pki rotate --dir {self.config.dir}'"
            )
        revoked = self.verifier.revoked_at(key.key_id)
        if revoked is not None and at > revoked:
            raise ProvenanceError(
                f"signing key {key.key_id} was revoked from {revoked:%Y-%m-%d %H:%M:%S} UTC: "
                f"partners refuse what it signs. Run 'trilink pki rotate --dir {self.config.dir}'"
            )

    def own_certs(self) -> list[str]:
        """What every batch we send carries: our signing certificates and, after a CA
        rollover was prepared, our next CA and its link certificates."""
        return [k.cert_pem for k in self.verifier.keys() if k.nation == self.nation] + list(
            self._own_links
        )

    def own_revocations(self) -> list[str]:
        """Our revocation statements: every batch we send carries them."""
        return self._own_revocations

    def _load_own_revocations(self) -> None:
        self._own_revocations = load_revocations(self.config.dir)
        for text in self._own_revocations:
            self._apply_revocation(self.nation, text, actor="local")

    # -- partners ---------------------------------------------------------------------------
    def check_tls_peer(self, cert: x509.Certificate) -> str:
        """The nation of a TLS client certificate, if that nation's own CA issued it for a
        node; ``ProvenanceError`` otherwise (TLS accepted it from *some* trusted CA)."""
        nation = nation_of(cert)
        cas = self.anchors.get(nation)
        if cas is None:
            raise ProvenanceError(f"{nation} is not a nation this node trusts")
        verify_issued_by(cert, cas)
        if unit_of(cert) != TLS_UNIT:
            raise ProvenanceError("certificate is not a node TLS certificate")
        return nation

    def remember(self, key: CertifiedKey, *, actor: str) -> None:
        """Trust ``key`` from now on; audited the first time the store sees it."""
        if not self.verifier.knows(key.key_id):
            self._learned_this_tx.append(key.key_id)
        self.verifier.add_key(key)
        if self.store.add_key(key):
            self.store.audit(
                [
                    AuditEntry(
                        event="key",
                        outcome="added",
                        origin=key.nation,
                        actor=actor,
                        reason=f"signing key {key.key_id} valid {key.not_before:%Y-%m-%d} "
                        f"to {key.not_after:%Y-%m-%d}",
                    )
                ]
            )

    @contextmanager
    def rolled_back_with_transaction(self) -> Iterator[None]:
        """Wrap a store transaction that may learn keys: if it rolls back, forget them."""
        self._learned_this_tx = []
        self._learned_anchors_this_tx = []
        try:
            yield
        except BaseException:
            for key_id in self._learned_this_tx:
                self.verifier.forget(key_id)
            for nation, ca in self._learned_anchors_this_tx:
                self.anchors[nation].remove(ca)
                self._ca_pems_done.discard(ca.public_bytes(serialization.Encoding.PEM).decode())
            raise
        finally:
            self._learned_this_tx = []
            self._learned_anchors_this_tx = []

    def has_new(self, certs: Sequence[str], revocations: Sequence[str] = ()) -> bool:
        """Whether a batch carries a certificate or revocation not verified here yet."""
        return any(text not in self._seen_revocations for text in revocations) or any(
            pem not in self._ca_pems_done
            and (
                (key_id := self._cert_key_ids.get(pem)) is None or not self.verifier.knows(key_id)
            )
            for pem in certs
        )

    def learn(self, sender: str, certs: Sequence[str], revocations: Sequence[str]) -> None:
        """Verify and remember the signing certificates and revocations a partner's batch
        carries, against that partner's CA. Refusals: one audit row per batch."""
        refused: list[str] = []
        certs = self._learn_cas(sender, certs, refused)
        cas = self.anchors.get(sender, [])
        for pem in certs:
            # every batch carries its signer's certificate: verify each text once
            known = self._cert_key_ids.get(pem)
            if known is not None and self.verifier.knows(known):
                continue
            try:
                key = verify_certified_key(pem, cas)
            except (ProvenanceError, ValueError) as err:
                refused.append(f"certificate refused: {err}")
                continue
            self.remember(key, actor=sender)
            self._cert_key_ids[pem] = key.key_id
        for text in revocations:
            if text not in self._seen_revocations:
                try:
                    self._apply_revocation(sender, text, actor=sender)
                except ProvenanceError as err:
                    refused.append(f"revocation refused: {err}")
        if refused:
            reason = (
                f"refused {len(refused)} of the {len(certs)} certificates and "
                f"{len(revocations)} revocations {sender} sent: "
                + "; ".join(sorted(set(refused))[:3])
            )
            self.store.audit(
                [AuditEntry(event="key", outcome="rejected", partner=sender, reason=reason[:1000])]
            )

    def _learn_cas(self, sender: str, certs: Sequence[str], refused: list[str]) -> list[str]:
        """Take up the next CA ``sender`` announces, if a CA trusted for it vouches for it
        (link certificate). Returns the certificates that are not CA certificates."""
        others: list[str] = []
        offered: list[tuple[str, x509.Certificate]] = []
        for pem in certs:
            if pem in self._ca_pems_done:
                continue
            try:
                cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
            except (ValueError, UnicodeEncodeError):
                others.append(pem)  # refused, with its reason, as a signing certificate
                continue
            if is_ca(cert):
                offered.append((pem, cert))
            else:
                others.append(pem)
        if not offered or sender not in self.anchors or sender == self.nation:
            return others
        trusted = self.anchors[sender]
        learned = follow_links([c for _pem, c in offered], trusted)
        for ca in learned:
            trusted.append(ca)
            self._learned_anchors_this_tx.append((sender, ca))
            pem = ca.public_bytes(serialization.Encoding.PEM).decode("ascii")
            if self.store.add_anchor(sender, cert_fingerprint(ca), pem):
                self.store.audit(
                    [
                        AuditEntry(
                            event="key",
                            outcome="added",
                            origin=sender,
                            actor=sender,
                            reason=f"CA certificate {ca.subject.rfc4514_string()} "
                            f"(sha256 {cert_fingerprint(ca)[:16]}), vouched for by a link "
                            f"certificate from {sender}'s CA trusted here",
                        )
                    ]
                )
            for listener in self.anchor_listeners:
                listener(sender, ca)
        known = {cert_fingerprint(c) for c in trusted}
        for pem, cert in offered:
            if cert_fingerprint(cert) in known:
                self._ca_pems_done.add(pem)
            elif any(
                cert.subject == c.subject and cert.public_key() == c.public_key() for c in trusted
            ):
                self._ca_pems_done.add(pem)  # the link to a CA trusted here: it did its job
            else:
                refused.append(
                    f"CA certificate {cert.subject.rfc4514_string()} refused: no CA trusted "
                    f"here for {sender} vouches for it"
                )
        return others

    def _apply_revocation(self, nation: str, text: str, *, actor: str, store: bool = True) -> None:
        rev = verify_revocation(text, self.anchors.get(nation, []))
        if rev.nation != nation:
            raise ProvenanceError(f"{nation} sent a revocation of {rev.nation}'s key")
        self.verifier.revoke(rev.key_id, rev.revoked_time, rev.reason)
        self._seen_revocations.add(text)
        if store and self.store.add_revocation(rev.key_id, rev.nation, rev.revoked_at, text):
            self.store.audit(
                [
                    AuditEntry(
                        event="key",
                        outcome="revoked",
                        origin=rev.nation,
                        actor=actor or "local",
                        reason=f"signing key {rev.key_id} revoked ({rev.reason}) from "
                        f"{rev.revoked_at}: what it signs after that is refused",
                    )
                ]
            )
