"""The node's keys: its own signing key, and the partner signing keys it has verified.

A partner's signing certificate travels in every batch it sends; the node checks it against
the trust anchor it holds for that partner, remembers it in the store (audited), and from then
on verifies that partner's reports with it. Keys learned inside a transaction that rolls back
are forgotten again, so the verifier never trusts a key the store does not record.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from cryptography import x509

from trilink.errors import ConfigError, ProvenanceError
from trilink.node.config import NodeConfig
from trilink.provenance.pki import (
    CertifiedKey,
    load_certified_key,
    load_signing_key,
    verify_certified_key,
)
from trilink.provenance.signing import Signer, Verifier
from trilink.store import Store
from trilink.store.audit import AuditEntry


class KeyRing:
    """Own signer plus the verifier of every key this node trusts."""

    def __init__(self, config: NodeConfig, store: Store):
        self.nation = config.nation
        self.store = store
        key, certified = load_signing_key(config.dir, at=datetime.now(UTC))
        self.signer = Signer(key, certified)
        try:
            self.ca_cert = x509.load_pem_x509_certificate(config.ca_cert.read_bytes())
        except FileNotFoundError:
            raise ConfigError(f"CA certificate {config.ca_cert} not found") from None
        own_keys = [certified] + [
            load_certified_key(p.read_bytes()) for p in sorted(config.dir.glob("signing-*.crt"))
        ]
        self.verifier = Verifier(store.keys())
        self._learned_this_tx: list[str] = []
        self._cert_key_ids: dict[str, str] = {}  # certificate PEM -> key id, once verified
        with store.transaction():
            for key_record in own_keys:
                self.remember(key_record, actor="local")

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

    def own_certs(self) -> list[str]:
        return [k.cert_pem for k in self.verifier.keys() if k.nation == self.nation]

    @contextmanager
    def rolled_back_with_transaction(self) -> Iterator[None]:
        """Wrap a store transaction that may learn keys: if it rolls back, forget them."""
        self._learned_this_tx = []
        try:
            yield
        except BaseException:
            for key_id in self._learned_this_tx:
                self.verifier.forget(key_id)
            raise
        finally:
            self._learned_this_tx = []

    def has_new(self, certs: list[str]) -> bool:
        """Whether any of these certificate texts has not been verified here yet."""
        return any(
            (key_id := self._cert_key_ids.get(pem)) is None or not self.verifier.knows(key_id)
            for pem in certs
        )

    def learn_certs(self, sender: str, certs: list[str]) -> None:
        """Verify and remember the signing certificates a partner's batch carries. Refusals
        are audited as one row per batch, whatever the batch holds."""
        refused: list[str] = []
        for pem in certs:
            # every batch carries its signer's certificate: verify each text once
            known = self._cert_key_ids.get(pem)
            if known is not None and self.verifier.knows(known):
                continue
            try:
                key = verify_certified_key(pem, self.ca_cert)
            except (ProvenanceError, ValueError) as err:
                refused.append(f"certificate refused: {err}")
                continue
            if self.verifier.knows(key.key_id):
                self._cert_key_ids[pem] = key.key_id
                continue
            if key.nation != sender:
                refused.append(f"{sender} sent a signing certificate of {key.nation}")
                continue
            self.remember(key, actor=sender)
            self._cert_key_ids[pem] = key.key_id
        if refused:
            reason = f"{len(refused)} of {len(certs)} certificates refused: " + "; ".join(
                sorted(set(refused))[:3]
            )
            self.store.audit(
                [AuditEntry(event="key", outcome="rejected", partner=sender, reason=reason[:1000])]
            )
