"""Setting up a node: the procedure two real sites follow, one step per ``trilink pki`` command.

1. ``init_node``   (``pki init``)   each nation, on its own: its CA, TLS certificate, signing
                                   key and a node.toml with no partner yet;
2. ``export_trust`` (``pki export``) each nation writes its public trust bundle and reads its
                                   fingerprint to the other sites by a channel they trust;
3. ``trust_partner`` (``pki trust``) each nation adds each partner from the partner's bundle,
                                   refusing it unless the fingerprint matches.

Nothing here ever reads or writes another nation's private key.
"""

from __future__ import annotations

from pathlib import Path

from trilink.errors import ConfigError
from trilink.model.kinds import known_kinds
from trilink.model.label import Classification
from trilink.node.config import add_partner, write_node_config
from trilink.provenance.pki import init_nation
from trilink.provenance.trust import TrustBundle, export_bundle, parse_bundle

DEFAULT_PARTNER_CEILING = "SECRET"


def init_node(
    node_dir: Path,
    nation: str,
    *,
    listen: str,
    hosts: list[str] | None = None,
    api: str | None = None,
    cop: str | None = None,
    db: str = "node.db",
    accept_ceiling: str = "SECRET",
) -> list[str]:
    """Create what is missing of ``nation``'s PKI and node.toml in ``node_dir``."""
    created = init_nation(node_dir, nation, hosts)
    if not (node_dir / "node.toml").exists():
        path = write_node_config(
            node_dir,
            nation,
            listen=listen,
            api=api,
            cop=cop,
            db=db,
            accept_ceiling=accept_ceiling,
        )
        created.append(str(path))
    return created


def export_trust(node_dir: Path, out: Path) -> str:
    """Write this nation's public trust bundle to ``out``; returns its fingerprint."""
    data, fingerprint = export_bundle(node_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return fingerprint


def trust_partner(
    node_dir: Path,
    partner: str,
    url: str,
    bundle_file: Path,
    *,
    fingerprint: str | None = None,
    ceiling: str = DEFAULT_PARTNER_CEILING,
    kinds: list[str] | None = None,
    accepts_exercise: bool = True,
) -> TrustBundle:
    """Make ``partner`` a partner of the node in ``node_dir`` from its trust bundle: the
    bundle is checked (and its fingerprint, when given), kept in ``partners/`` and named in
    node.toml with the release ceiling and the kinds released to it."""
    try:
        data = bundle_file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"trust bundle {bundle_file} not found") from None
    bundle = parse_bundle(data, str(bundle_file))
    if bundle.nation != partner:
        raise ConfigError(f"{bundle_file} is {bundle.nation}'s trust bundle, not {partner}'s")
    if fingerprint is not None and fingerprint.lower().replace(":", "") != bundle.fingerprint:
        raise ConfigError(
            f"{bundle_file}: fingerprint {bundle.fingerprint} does not match the one given "
            f"({fingerprint}): do not trust this bundle; get {partner}'s bundle again and "
            "compare the fingerprint with its site by a channel you trust"
        )
    Classification.from_text(ceiling)
    chosen = kinds if kinds is not None else known_kinds()
    target = node_dir / "partners" / f"{partner}.bundle.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    add_partner(
        node_dir / "node.toml",
        partner,
        url=url,
        bundle=f"partners/{partner}.bundle.json",
        ceiling=ceiling,
        kinds=chosen,
        accepts_exercise=accepts_exercise,
    )
    return bundle
