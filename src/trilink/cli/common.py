"""Options and helpers shared by the CLI commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from trilink.errors import ConfigError
from trilink.model.label import PARTNER_NATIONS

if TYPE_CHECKING:
    from trilink.client import NodeClient

console = Console(soft_wrap=True)  # piped output is never wrapped or cut at 80 columns
err_console = Console(stderr=True, soft_wrap=True)

DirOption = typer.Option(
    Path("demo-net"),
    "--dir",
    help="Network directory made by 'trilink net up'.",
    file_okay=False,
)
NationOption = typer.Option(..., "--nation", help="Which nation's node: USA, JPN or KOR.")
DbOption = typer.Option(
    None,
    "--db",
    help="Use this database instead of the node's configured one "
    "(a SQLite path or postgresql://host/db?schema=name).",
)


def nation_code(text: str) -> str:
    code = text.strip().upper()
    if code not in PARTNER_NATIONS:
        raise ConfigError(f"unknown nation {text!r}: use one of USA, JPN, KOR")
    return code


def node_dir(root: Path, nation: str) -> Path:
    path = root / nation
    if not (path / "node.toml").exists():
        raise ConfigError(
            f"{path / 'node.toml'} does not exist: run 'trilink net up --dir {root}' first"
        )
    return path


def client_for(root: Path, nation: str) -> NodeClient:
    """The node API client of NATION's node in a network directory (see
    ``trilink.federation.localnet.client_for``)."""
    from trilink.federation import localnet

    return localnet.client_for(root, nation_code(nation))
