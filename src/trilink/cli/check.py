"""`trilink node check`: is this node's database intact, and if not, what is damaged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from trilink.cli.common import working
from trilink.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from trilink.store.check import CheckResult

DAMAGED_EXIT = 2


def node_check(
    config: Path = typer.Option(None, "--config", help="The node's node.toml."),
    db: str = typer.Option(
        None,
        "--db",
        help="Check this database instead (a SQLite path or postgresql://host/db?schema=name).",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object: healthy, problems, notes, counts."
    ),
) -> None:
    """Check a node's whole database: the engine's own check (SQLite integrity_check,
    PostgreSQL amcheck if installed), the schema, every report (envelope, columns, payload
    hash, signature), the signing keys, the outbox and the audit hash chain. One line per
    problem. Exit 0 healthy, 2 damaged or unreadable. Changes nothing; safe while the node
    runs. A damaged database is restored from a backup: see docs/store.md."""
    from trilink.node.config import load_node_config
    from trilink.store import open_store
    from trilink.store.check import CheckResult, check_store

    if db is None:
        if config is None:
            raise ConfigError("say which database: --config DIR/node.toml or --db PATH_OR_URL")
        db = load_node_config(config).db_url
    try:
        store = open_store(db, migrate=False)
    except StoreError as err:
        result = CheckResult(database=db, full=True)
        result.add("open", err)
    else:
        try:
            with working(f"checking {db}"):
                result = check_store(store, full=True)
        finally:
            store.close()
    if as_json:
        typer.echo(json.dumps(result.as_json_obj(), ensure_ascii=False))
    else:
        _print(result)
    if not result.healthy:
        raise typer.Exit(DAMAGED_EXIT)


def _print(result: CheckResult) -> None:
    # plain lines, never wrapped or marked up: one problem per line, for grep and for people
    for note in result.notes:
        typer.echo(f"note: {_one_line(note)}")
    counts = ", ".join(f"{name} {value:,}" for name, value in result.counts.items())
    if result.healthy:
        typer.echo(f"healthy: {result.database} ({counts})")
        return
    for problem in result.problems:
        typer.echo(f"damaged: {_one_line(problem.line())}")
    unlisted = sum(n for name, n in result.counts.items() if name.endswith("not listed"))
    total = len(result.problems) + unlisted
    typer.echo(
        f"{result.database}: {total:,} problem{'s' if total != 1 else ''}"
        f"{f' ({unlisted:,} not listed)' if unlisted else ''}. Stop the node and restore the "
        "database from a backup (docs/store.md)"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())
