"""`trilink net`, `trilink node`, `trilink pki`: running nodes and their keys."""

from __future__ import annotations

import logging
from pathlib import Path

import typer
from rich.table import Table

from trilink.cli.common import DbOption, DirOption, NationOption, console, nation_code, node_dir
from trilink.federation import localnet
from trilink.node.config import load_node_config
from trilink.provenance.pki import init_deployment, issue_signing_key

net_app = typer.Typer(
    help="The local three-nation network (USA, JPN, KOR on 127.0.0.1).", no_args_is_help=True
)
node_app = typer.Typer(help="Run one node.", no_args_is_help=True)
pki_app = typer.Typer(
    help="Deployment CA, node certificates and signing keys.", no_args_is_help=True
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
) -> None:
    """Start the USA, JPN and KOR nodes in the background (ports 8101-8103)."""
    for path in localnet.ensure_network(root, db_template=db):
        console.print(f"created {path}")
    urls = localnet.net_up(root)
    for nation, url in urls.items():
        config = load_node_config(root / nation / "node.toml")
        cop = f"  COP http://{config.cop_host}:{config.cop_port}/" if config.cop_port else ""
        console.print(f"{nation}  {url}{cop}  (pid {localnet.pid_of(root, nation)})")
    console.print("all three nodes are healthy")


@net_app.command("down")
def net_down(root: Path = DirOption) -> None:
    """Stop the nodes started by 'trilink net up'."""
    stopped = localnet.net_down(root)
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@net_app.command("status")
def net_status(root: Path = DirOption) -> None:
    """Health of each node and replication lag per partner."""
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
    for status in localnet.net_status(root):
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
) -> None:
    """Serve one node in the foreground (partners over HTTPS with mutual TLS)."""
    from dataclasses import replace

    from trilink.daemon import run_node

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    node_config = load_node_config(config)
    if db:
        node_config = replace(node_config, db_url=db)
    run_node(node_config)


@node_app.command("backup")
def node_backup(
    config: Path = typer.Option(..., "--config", help="The node's node.toml."),
    out: Path = typer.Option(..., "--out", help="The backup file to write (SQLite)."),
) -> None:
    """Copy the node's whole store to one file, consistently, while the node runs."""
    from trilink.store import open_store
    from trilink.store.backup import backup

    node_config = load_node_config(config)
    store = open_store(node_config.db_url)
    try:
        info = backup(store, node_config.nation, out)
    finally:
        store.close()
    console.print(f"wrote {out}: {info.describe()}")


@node_app.command("restore")
def node_restore(
    backup_file: Path = typer.Argument(..., help="A file written by 'trilink node backup'."),
    config: Path = typer.Option(..., "--config", help="The node's node.toml."),
) -> None:
    """Replace the node's store by a backup (the node must be stopped). When the node
    starts again its partners notice that its history went back and send it again what it
    lost: reports they published, and the node's own reports published after the backup."""
    from trilink.daemon import check_stopped
    from trilink.store import open_store
    from trilink.store.audit import AuditEntry
    from trilink.store.backup import restore

    node_config = load_node_config(config)
    check_stopped(node_config)
    info = restore(backup_file, node_config.db_url, node_config.nation)
    store = open_store(node_config.db_url)
    try:
        with store.transaction():
            store.audit(
                [
                    AuditEntry(
                        event="node",
                        outcome="restored",
                        origin=node_config.nation,
                        actor="cli",
                        reason=f"store replaced by {backup_file.name}: {info.describe()}",
                    )
                ]
            )
    finally:
        store.close()
    console.print(f"restored {info.describe()}")
    console.print("start the node: its partners resend what it lost")


@pki_app.command("init")
def pki_init(
    root: Path = DirOption,
    nation: list[str] = typer.Option(
        ["USA", "JPN", "KOR"], "--nation", help="Nations to issue for (repeatable)."
    ),
) -> None:
    """Create the deployment CA and each nation's TLS certificate and Ed25519 signing key
    (only what is missing)."""
    created = init_deployment(root, [nation_code(n) for n in nation])
    for path in created:
        console.print(f"created {path}")
    if not created:
        console.print("nothing to do: the CA and every requested nation's keys exist")


@pki_app.command("rotate")
def pki_rotate(root: Path = DirOption, nation: str = NationOption) -> None:
    """Give a nation a new signing key. The old key stays valid for reports it signed; the
    node must be restarted to sign with the new one; partners learn it from the next batch."""
    code = nation_code(nation)
    key_id = issue_signing_key(root / "pki", node_dir(root, code), code)
    console.print(f"{code} now signs with key {key_id}; restart its node to use it")
