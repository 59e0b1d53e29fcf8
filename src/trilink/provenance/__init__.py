"""Provenance: who said it, and proof it was not changed (ARCHITECTURE §4).

Reports are signed in batches: the origin builds an RFC 9162 Merkle tree over the canonical
bytes of a batch of envelopes and signs the root once with its Ed25519 key; each report keeps
its own inclusion proof, so it stays independently verifiable after storage and forwarding
(as Certificate Transparency does). Signing keys are certified by the deployment CA; partners
learn new keys (rotation) from certificates sent with each batch.
"""
