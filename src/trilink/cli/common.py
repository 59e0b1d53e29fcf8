"""Options and helpers shared by the CLI commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from trilink.errors import ConfigError
from trilink.model.label import ALLIANCE, NATION_CODE

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
    """A nation's code as typed (any case); which nations exist is the network's business
    (its directories and node.toml files), not this function's."""
    code = text.strip().upper()
    if not NATION_CODE.match(code):
        raise ConfigError(
            f"{text[:20]!r} is not a nation code: use an ISO 3166-1 alpha-3 code such as "
            f"{', '.join(ALLIANCE)}"
        )
    return code


def node_dir(root: Path, nation: str) -> Path:
    """NATION's node directory in the network directory ``root``."""
    from trilink.federation import localnet

    return localnet.node_dir(root, nation)


def client_for(root: Path, nation: str) -> NodeClient:
    """The node API client of NATION's node in a network directory (see
    ``trilink.federation.localnet.client_for``)."""
    from trilink.federation import localnet

    return localnet.client_for(root, nation_code(nation))
