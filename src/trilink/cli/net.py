"""`trilink net`, `trilink node`, `trilink pki`: running nodes and their keys."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from trilink.cli.common import (
    DbOption,
    DirOption,
    console,
    err_console,
    input_path,
    is_stdio,
    nation_code,
    node_dir,
    working,
    write_output,
)

net_app = typer.Typer(
    help="The local three-nation network (USA, JPN, KOR on 127.0.0.1).", no_args_is_help=True
)
node_app = typer.Typer(help="Run one node, check its store.", no_args_is_help=True)
pki_app = typer.Typer(
    help="This nation's own CA, node certificate and signing key; partners' trust bundles; "
    "CA rollover.",
    no_args_is_help=True,
)


@net_app.command("up")
def net_up(
    root: Path = DirOption,
    db: str = typer.Option(
        None,
        "--db",
        help="Database per node for new configs, with {nation}, e.g. "
        "'postgresql://127.0.0.1/test?schema=trilink_{nation}'. Default: SQLite in DIR.",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object: each node's URL, COP URL and pid."
    ),
    transport: str = typer.Option(
        None,
        "--transport",
        help="How the nodes replicate: 'https' (mutual TLS between nodes) or 'nats' (through "
        "a local NATS JetStream server on 127.0.0.1:4300, started with the nodes; its config "
        "is DIR/nats/nats.conf). Default: as the node.toml files say (https for new ones).",
    ),
) -> None:
    """Start the USA, JPN and KOR nodes in the background (ports 8101-8103)."""
    from trilink.federation import localnet
    from trilink.node.config import load_node_config

    if transport is not None and transport not in ("https", "nats"):
        raise typer.BadParameter(f"--transport must be https or nats, not {transport!r}")
    say = err_console if as_json else console
    for path in localnet.ensure_network(root, db_template=db, transport=transport):
        say.print(f"created {path}")
    urls = localnet.net_up(root)
    if as_json:
        nodes = {}
        for nation, url in urls.items():
            config = load_node_config(root / nation / "node.toml")
            cop = f"http://{config.cop_host}:{config.cop_port}/" if config.cop_port else None
            nodes[nation] = {"url": url, "cop": cop, "pid": localnet.pid_of(root, nation)}
        typer.echo(json.dumps({"network": str(root), "nodes": nodes}))
        return
    for nation, url in urls.items():
        config = load_node_config(root / nation / "node.toml")
        cop = f"  COP http://{config.cop_host}:{config.cop_port}/" if config.cop_port else ""
        console.print(f"{nation}  {url}{cop}  (pid {localnet.pid_of(root, nation)})")
    console.print("all three nodes are healthy")


@net_app.command("down")
def net_down(root: Path = DirOption) -> None:
    """Stop the nodes started by 'trilink net up' (and its NATS server, if it runs one),
    and the crisis cells 'trilink demo' started there."""
    from trilink.demo.crisis import stop_crisis_cells
    from trilink.federation import localnet

    cells = [f"{n} crisis cell" for n in stop_crisis_cells(root)]
    stopped = cells + localnet.net_down(root)
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@net_app.command("status")
def net_status(
    root: Path = DirOption,
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print one JSON object: each node's health and its partner links as the node "
        "reports them.",
    ),
) -> None:
    """Health of each node and replication lag per partner. Exit 1 if a node is down."""
    from rich.table import Table

    from trilink.federation import localnet

    statuses = localnet.net_status(root)
    if as_json:
        nodes = [
            {
                "nation": s.nation,
                "url": s.url,
                "running": s.running,
                "healthy": s.healthy,
                "detail": s.detail,
            }
            for s in statuses
        ]
        typer.echo(json.dumps({"network": str(root), "nodes": nodes}, ensure_ascii=False))
        if not all(s.healthy for s in statuses):
            raise typer.Exit(1)
        return
    table = Table(title=f"trilink network {root}")
    for col in (
        "node",
        "health",
        "reports",
        "partner",
        "link",
        "queued to partner",
        "received from partner",
        "partner's backlog for us",
        "last error",
    ):
        table.add_column(col)
    any_down = False
    for status in statuses:
        if not status.healthy:
            any_down = True
            table.add_row(
                status.nation,
                "[red]down[/red]" if not status.running else "[yellow]not answering[/yellow]",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            )
            continue
        first = True
        for partner, link in status.detail.get("partners", {}).items():
            backlog = max(0, int(link.get("partner_head", 0)) - int(link["inbound_cursor"]))
            table.add_row(
                status.nation if first else "",
                "[green]ok[/green]" if first else "",
                str(status.detail.get("reports", "")) if first else "",
                partner,
                link.get("link", "?"),
                str(link["queued"]),
                str(link["inbound_cursor"]),
                str(backlog),
                link.get("last_error", "")[:60],
            )
            first = False
    console.print(table)
    if any_down:
        raise typer.Exit(1)


@node_app.command("run")
def node_run(
    config: Path = typer.Option(..., "--config", help="The node's node.toml.", exists=False),
    db: str = DbOption,
    log_level: str = typer.Option(
        "",
        "--log-level",
        help="DEBUG, INFO, WARNING or ERROR (default: [log] level in node.toml, else INFO).",
    ),
) -> None:
    """Serve one node in the foreground (partners over HTTPS with mutual TLS). Logs are
    JSON lines on stderr, or the file of node.toml's [log] table (rotated)."""
    from dataclasses import replace

    from trilink.daemon import run_node
    from trilink.logs import level_number, setup_logging
    from trilink.node.config import load_node_config

    node_config = load_node_config(config)
    options = node_config.log
    level = log_level or options.level
    try:
        level_number(level)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--log-level") from None
    setup_logging(
        level,
        file=options.file,
        max_bytes=options.max_bytes,
        backups=options.backups,
        fmt=options.format,
    )
    if db:
        node_config = replace(node_config, db_url=db)
    run_node(node_config)


@node_app.command("backup")
def node_backup(
    config: Path = typer.Option(..., "--config", help="The node's node.toml."),
    out: Path = typer.Option(
        ..., "--out", help="The backup file to write (SQLite); - writes it to stdout."
    ),
) -> None:
    """Copy the node's whole store to one file, consistently, while the node runs."""
    import shutil
    import sys
    import tempfile

    from trilink.node.config import load_node_config
    from trilink.store import open_store
    from trilink.store.backup import backup

    node_config = load_node_config(config)
    store = open_store(node_config.db_url)
    try:
        if is_stdio(out):
            with tempfile.TemporaryDirectory(prefix="trilink-backup-") as tmp:
                with working(f"backing up {node_config.nation}'s store"):
                    info = backup(store, node_config.nation, Path(tmp) / "backup.db")
                with (Path(tmp) / "backup.db").open("rb") as fh:
                    shutil.copyfileobj(fh, sys.stdout.buffer)
                sys.stdout.buffer.flush()
        else:
            with working(f"backing up {node_config.nation}'s store"):
                info = backup(store, node_config.nation, out)
    finally:
        store.close()
    (err_console if is_stdio(out) else console).print(
        f"wrote {'stdout' if is_stdio(out) else out}: {info.describe()}"
    )


@node_app.command("restore")
def node_restore(
    backup_file: Path = typer.Argument(
        ..., help="A file written by 'trilink node backup'; - reads it from stdin."
    ),
    config: Path = typer.Option(..., "--config", help="The node's node.toml."),
) -> None:
    """Replace the node's store by a backup (the node must be stopped). When the node
    starts again its partners notice that its history went back and send it again what it
    lost: reports they published, and the node's own reports published after the backup."""
    from trilink.daemon import check_stopped
    from trilink.node.anchors import own_signer, sign_restore
    from trilink.node.config import load_node_config
    from trilink.store import open_store
    from trilink.store.audit import AuditEntry
    from trilink.store.backup import restore

    node_config = load_node_config(config)
    check_stopped(node_config)
    signer = own_signer(node_config)  # before anything is replaced: the restore is signed
    with input_path(backup_file, suffix=".db", what="backup") as path:
        info = restore(path, node_config.db_url, node_config.nation)
    store = open_store(node_config.db_url)
    try:
        with store.durable_transaction():
            name = "stdin" if is_stdio(backup_file) else backup_file.name
            what = f"store replaced by {name}: {info.describe()}"
            store.audit(
                [
                    AuditEntry(
                        event="node",
                        outcome="restored",
                        origin=node_config.nation,
                        actor="cli",
                        reason=what,
                    )
                ]
            )
            started = sign_restore(
                node_config, store, signer, what, (info.audit_seq, info.audit_hash)
            )
    finally:
        store.close()
    console.print(f"restored {info.describe()}")
    console.print(
        f"signed the restore (audit row {started.seq}): partners record it as a restore, "
        "not as a rewritten audit log"
    )
    console.print("start the node: its partners resend what it lost")


NodeDirOption = typer.Option(
    ...,
    "--dir",
    help="This nation's node directory (its CA, keys and node.toml), e.g. /etc/trilink/JPN.",
    file_okay=False,
)


OptionalNation = typer.Option(
    None,
    "--nation",
    help="With a network directory made by 'trilink net up': which nation's node in it.",
)


def node_directory(directory: Path, nation: str | None) -> Path:
    """A node's directory: DIR itself, or DIR/NATION for a local network directory."""
    if nation is None:
        return directory
    return node_dir(directory, nation_code(nation))


@pki_app.command("init")
def pki_init(
    directory: Path = NodeDirOption,
    nation: str = typer.Option(..., "--nation", help="This node's nation: USA, JPN or KOR."),
    host: list[str] = typer.Option(
        [],
        "--host",
        help="A name or address partners reach this node by (repeatable; default 127.0.0.1 "
        "and localhost): it goes into the TLS certificate.",
    ),
    listen: str = typer.Option(
        "127.0.0.1:8100", "--listen", help="HOST:PORT the node serves partners on."
    ),
    api: str = typer.Option(
        "127.0.0.1:8200",
        "--api",
        help="HOST:PORT of the node API for this nation's people and programs (HTTPS).",
    ),
    cop: str = typer.Option(None, "--cop", help="HOST:PORT of the COP web page (optional)."),
    db: str = typer.Option("node.db", "--db", help="SQLite file in DIR, or postgresql://..."),
) -> None:
    """Create this nation's own CA, its node TLS certificate, its Ed25519 signing key and a
    node.toml with no partner yet, in DIR (only what is missing; nothing of any other
    nation)."""
    from trilink.node.setup import init_node

    code = nation_code(nation)
    created = init_node(
        directory, code, listen=listen, hosts=host or None, api=api, cop=cop, db=db
    )
    for path in created:
        console.print(f"created {path}")
    if not created:
        console.print(f"nothing to do: {directory} already holds {code}'s CA, keys and node.toml")
    console.print(
        f"next: 'trilink pki export --dir {directory} --out {code}.bundle.json' and send the "
        "bundle and its fingerprint to each partner"
    )


@pki_app.command("export")
def pki_export(
    directory: Path = NodeDirOption,
    nation: str | None = OptionalNation,
    out: Path = typer.Option(
        ..., "--out", help="Where to write the public trust bundle; - writes it to stdout."
    ),
) -> None:
    """Write this nation's public trust bundle (CA and signing certificates, revocations; no
    private key) and print its SHA-256 fingerprint, which partners check before trusting it."""
    directory = node_directory(directory, nation)
    from trilink.provenance.trust import export_bundle

    data, fingerprint = export_bundle(directory)
    write_output(out, data)
    if is_stdio(out):
        err_console.print(f"fingerprint (SHA-256): {fingerprint}", highlight=False)
        return
    console.print(f"wrote {out}")
    typer.echo(f"fingerprint (SHA-256): {fingerprint}")


@pki_app.command("trust")
def pki_trust(
    bundle: Path = typer.Argument(
        ..., help="The partner's trust bundle ('pki export'); - reads it from stdin."
    ),
    directory: Path = NodeDirOption,
    partner: str = typer.Option(..., "--partner", help="The partner nation: USA, JPN or KOR."),
    url: str = typer.Option(..., "--url", help="https://HOST:PORT of the partner's node."),
    fingerprint: str = typer.Option(
        None,
        "--fingerprint",
        help="The fingerprint the partner read to you: a bundle that does not match is refused.",
    ),
    ceiling: str = typer.Option(
        "SECRET", "--ceiling", help="Highest classification this node releases to the partner."
    ),
    kind: list[str] = typer.Option(
        [], "--kind", help="A report kind released to the partner (repeatable; default: all)."
    ),
) -> None:
    """Make PARTNER a partner of this node: its bundle is checked and kept in DIR/partners/,
    and node.toml gets [partners.PARTNER] with the URL, ceiling and kinds (edit them there).
    Restart the node to use it."""
    from trilink.node.setup import trust_partner

    code = nation_code(partner)
    with input_path(bundle, suffix=".bundle.json", what="trust bundle") as path:
        trusted = trust_partner(
            directory,
            code,
            url,
            path,
            fingerprint=fingerprint,
            ceiling=ceiling,
            kinds=list(kind) or None,
        )
    if fingerprint is None:
        console.print(
            f"[yellow]no --fingerprint given: compare {trusted.fingerprint} with {code}'s site "
            "before starting the node[/yellow]"
        )
    console.print(f"{code} is now a partner of this node (ceiling {ceiling}); see node.toml")


@pki_app.command("rotate")
def pki_rotate(
    directory: Path = NodeDirOption,
    nation: str | None = OptionalNation,
) -> None:
    """Give this node a new signing key and revoke the old one from now: reports the old key
    signed until now stay valid everywhere; partners learn the new key and the revocation
    from the next batch. A running node takes the new key up by itself."""
    directory = node_directory(directory, nation)
    from trilink.provenance.pki import issue_signing_key, load_signing_key
    from trilink.provenance.trust import issue_revocation

    old = load_signing_key(directory)[1]
    key_id = issue_signing_key(directory, old.nation)
    issue_revocation(directory, old.key_id, reason="superseded")
    console.print(
        f"{old.nation} now signs with key {key_id}; key {old.key_id} is revoked from now"
    )


@pki_app.command("revoke")
def pki_revoke(
    directory: Path = NodeDirOption,
    nation: str | None = OptionalNation,
    key: str = typer.Option(..., "--key", help="Id of one of this node's signing keys."),
    at: str = typer.Option(
        None,
        "--at",
        help="From when (ISO 8601 UTC, e.g. 2026-12-01T08:00:00Z) the key signs nothing "
        "valid: the time it was compromised. Default: now.",
    ),
    reason: str = typer.Option(
        "compromised", "--reason", help="compromised, superseded, retired."
    ),
) -> None:
    """Revoke one of this nation's signing keys: partners refuse (and audit) every report it
    signed after --at, and keep verifying the earlier ones. Rotate first if it is the
    current key."""
    directory = node_directory(directory, nation)
    from datetime import UTC, datetime

    from trilink.errors import InputError
    from trilink.provenance.trust import issue_revocation

    when = None
    if at is not None:
        try:
            when = datetime.fromisoformat(at).astimezone(UTC)
        except ValueError:
            raise InputError(f"--at {at!r} is not an ISO 8601 time") from None
    path = issue_revocation(directory, key, at=when, reason=reason)
    console.print(f"wrote {path}: partners learn it from this node's next batch")


@pki_app.command("renew")
def pki_renew(
    directory: Path = NodeDirOption,
    nation: str | None = OptionalNation,
    host: list[str] = typer.Option(
        [], "--host", help="Names or addresses for the new certificate (default: as before)."
    ),
) -> None:
    """Issue a new TLS certificate for this node from its own CA (before the old one expires,
    or when its address changes). Restart the node to serve it."""
    directory = node_directory(directory, nation)
    from trilink.node.config import load_node_config
    from trilink.provenance.pki import issue_node_tls, tls_hosts_of

    config = load_node_config(directory / "node.toml")
    hosts = list(host) or tls_hosts_of(config.tls_cert)
    issue_node_tls(directory, config.nation, hosts)
    console.print(
        f"new TLS certificate for {config.nation} ({', '.join(hosts)}); restart the node"
    )


@pki_app.command("rollover")
def pki_rollover(
    directory: Path = NodeDirOption,
    nation: str | None = OptionalNation,
    activate: bool = typer.Option(
        False,
        "--activate",
        help="Second step: make the prepared CA current, with a new TLS certificate and "
        "signing key from it.",
    ),
    host: list[str] = typer.Option(
        [],
        "--host",
        help="With --activate: names or addresses for the new TLS certificate "
        "(default: as before).",
    ),
) -> None:
    """Replace this nation's CA in two steps, without a partner ever meeting a certificate
    it cannot check. First: create the next CA and a link certificate (the next CA, signed
    by the current one); every batch the node sends carries both, and partners trust the
    next CA because the CA they hold vouches for it (audited there). Then, once each partner
    has received a batch from this node: --activate issues the node's TLS certificate and
    signing key from the new CA; restart the node to serve the new TLS certificate. The old
    CA certificate is kept, so everything signed before stays verifiable."""
    directory = node_directory(directory, nation)
    from trilink.node.config import load_node_config
    from trilink.provenance.pki import activate_ca_rollover, prepare_ca_rollover, tls_hosts_of

    config = load_node_config(directory / "node.toml")
    if not activate:
        upcoming, link = prepare_ca_rollover(directory)
        console.print(
            f"{config.nation}'s next CA is ready ({upcoming.subject.rfc4514_string()}); link "
            f"certificate {link}. A running node sends both with its next batch. When every "
            f"partner has received one, run 'trilink pki rollover --dir {directory} --activate'"
        )
        return
    from trilink.provenance.pki import load_signing_key
    from trilink.provenance.trust import issue_revocation

    hosts = list(host) or tls_hosts_of(config.tls_cert)
    old = load_signing_key(directory)[1]
    generation, key_id = activate_ca_rollover(directory, hosts)
    issue_revocation(directory, old.key_id, reason="superseded")
    console.print(
        f"{config.nation}'s CA generation {generation} is current: new TLS certificate "
        f"({', '.join(hosts)}) and signing key {key_id}. A running node signs with the new key "
        "at once; restart it to serve the new TLS certificate. 'trilink pki export' now gives "
        "a bundle with both CA certificates"
    )
