"""`trilink token`: API tokens for the node API (an offline admin command: it opens the
node's store directly, so the first token can be made before anyone has one)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from trilink.cli.common import console, is_stdio, nation_code, node_dir
from trilink.errors import ConfigError

if TYPE_CHECKING:
    from trilink.store.tokens import TokenRepository

# trilink.store.tokens.TOKEN_ROLES and TAXII_ROLE, written out so that `trilink --help` need
# not open the store package (a test checks they agree).
TOKEN_ROLES = ("reader", "publisher", "admin")
TAXII_ROLE = "taxii"

app = typer.Typer(help="API tokens of a node's API.", no_args_is_help=True)

DirArg = typer.Option(
    ...,
    "--dir",
    help="The node's directory (its node.toml), or a network directory with --nation.",
)
NationArg = typer.Option(None, "--nation", help="With a network directory: which nation's node.")


def _repository(directory: Path, nation: str | None) -> tuple[TokenRepository, str]:
    from trilink.node.config import load_node_config
    from trilink.store import open_store
    from trilink.store.tokens import TokenRepository

    node = node_dir(directory, nation_code(nation)) if nation else directory
    config = load_node_config(node / "node.toml")
    return TokenRepository(open_store(config.db_url)), config.nation


@app.command("create")
def create(
    directory: Path = DirArg,
    role: str = typer.Option(
        ..., "--role", help=f"One of {', '.join((*TOKEN_ROLES, TAXII_ROLE))}."
    ),
    name: str = typer.Option(None, "--name", help="Who or what uses it (default: the role)."),
    out: Path = typer.Option(
        None,
        "--out",
        help="Write the token to this file (mode 0600) instead of printing it; - prints it.",
    ),
    nation: str = NationArg,
    partner: str = typer.Option(
        None,
        "--partner",
        help="With --role taxii: the partner nation whose TAXII API root the token reads "
        "(its CERT logs in with user = that nation code, password = the token).",
    ),
) -> None:
    """Create an API token. It is shown once: the node keeps only its hash."""
    repo, code = _repository(directory, nation)
    if partner is not None:
        partner = nation_code(partner)
        if partner == code:
            repo.store.close()
            raise ConfigError(f"--partner {partner} is this node's own nation: use --role reader")
    default_name = f"{role}-{partner}" if partner else role
    try:
        token = repo.create(name or default_name, role, partner=partner)
    finally:
        repo.store.close()
    if out is None or is_stdio(out):
        typer.echo(token)
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    console.print(f"{role} token {name or default_name!r} for {code}'s node written to {out}")


@app.command("list")
def list_tokens(
    directory: Path = DirArg,
    nation: str = NationArg,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per token (JSON lines)."),
) -> None:
    """The node's API tokens (names and roles; never the tokens themselves)."""
    from rich.table import Table

    repo, code = _repository(directory, nation)
    try:
        tokens = repo.all()
    finally:
        repo.store.close()
    if as_json:
        for t in tokens:
            record = {"name": t.name, "role": t.role, "created": t.created_at,
                      "revoked": bool(t.revoked)}  # fmt: skip
            typer.echo(json.dumps(record, ensure_ascii=False))
        return
    table = Table(title=f"API tokens of {code}'s node")
    for col in ("name", "role", "created", "revoked"):
        table.add_column(col)
    for t in tokens:
        table.add_row(t.name, t.role, t.created_at, "yes" if t.revoked else "")
    console.print(table)


@app.command("revoke")
def revoke(
    directory: Path = DirArg,
    name: str = typer.Option(..., "--name", help="The token's name."),
    nation: str = NationArg,
) -> None:
    """Revoke a token: the node refuses it from the next request on."""
    repo, _ = _repository(directory, nation)
    try:
        found = repo.revoke(name)
    finally:
        repo.store.close()
    if not found:
        console.print(f"no token named {name!r}")
        raise typer.Exit(2)
    console.print(f"token {name!r} revoked")
