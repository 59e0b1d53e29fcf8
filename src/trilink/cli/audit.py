"""`trilink audit`: read and verify a node's hash-chained audit log."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import typer
from rich.table import Table

from trilink.cli.common import (
    DbOption,
    DirOption,
    NationOption,
    client_for,
    console,
    nation_code,
    node_dir,
)
from trilink.federation.https import ask_witnesses
from trilink.node.anchors import AuditVerification, epoch_name, verify_log
from trilink.node.config import load_node_config
from trilink.store import open_store

app = typer.Typer(help="The node's audit log.", no_args_is_help=True)

BROKEN_EXIT = 1


@app.command("verify")
def verify(
    root: Path = DirOption,
    nation: str = NationOption,
    db: str = DbOption,
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print one JSON object: intact, problems, what each partner witnessed, restores.",
    ),
) -> None:
    """Check the node's audit log: the hash chain row by row, the node's own signed audit
    heads, and the heads its partners witnessed (each partner is asked over mutual TLS
    with this node's key). Names every edited, inserted or deleted row, and a log that was
    rewritten, truncated or replaced by another database. Exit 0 intact, 1 broken. A
    partner that cannot be asked is named on a line of its own ('could not ask ...'):
    the log is then checked locally, and against the other partners. Read-only; safe
    while the node runs."""
    code = nation_code(nation)
    config = load_node_config(node_dir(root, code) / "node.toml")
    if db:
        config = replace(config, db_url=db)
    answers = ask_witnesses(config)  # first: what a partner holds, this store already held
    store = open_store(config.db_url)
    try:
        result = verify_log(store, config, answers)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(result.as_json_obj(), ensure_ascii=False))
    else:
        _print(result)
    if not result.intact:
        raise typer.Exit(BROKEN_EXIT)


def _print(result: AuditVerification) -> None:
    # plain lines (a reason may hold brackets that rich would read as markup)
    head = result.head[1][:16] if result.head else "-"
    for problem in result.problems:
        typer.echo(f"row {problem.seq}: {_one_line(problem.message)}")
    for partner in result.partners:
        if partner.status in ("differs", "forged") and partner.head is not None:
            line = f"this log does not hold the head it witnessed (row {partner.head.seq}, above)"
        else:
            line = partner.message
        typer.echo(f"partner {partner.partner}: {_one_line(line)}")
    for restore in result.restores:
        if restore.restore is not None:
            typer.echo(
                f"restored: {epoch_name(restore.epoch)} began at row {restore.seq} (signed "
                f"{restore.at}); the log went back to row {restore.restore.seq} of the backup "
                f"{_one_line(restore.restore.backup)}"
            )
    if not result.intact:
        typer.echo(
            f"audit log of {result.nation} BROKEN: {_count(len(result.problems), 'problem')} "
            f"(above); {result.rows} rows, head {head}. What each line means: README, "
            "'What audit verify checks'"
        )
        return
    typer.echo(
        f"audit log of {result.nation} intact: {result.rows} rows, head {head}, "
        f"{_count(result.checkpoints, 'signed head')}"
    )
    confirmed = [p.partner for p in result.partners if p.status == "matches"]
    if result.unasked:
        typer.echo(
            f"not confirmed by {', '.join(result.unasked)} (could not ask): checked locally"
            + (f" and against {', '.join(confirmed)}" if confirmed else " only")
        )


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


@app.command("show")
def show(
    root: Path = DirOption,
    nation: str = NationOption,
    report: str = typer.Option(None, "--report", help="Only rows about this report id."),
    limit: int = typer.Option(50, "--limit", help="Newest N rows."),
    db: str = DbOption,
) -> None:
    """The newest audit rows: releases (allow/deny), inbound accept/reject, key changes.
    Asks the running node (an admin token: the one 'trilink net up' writes is); with --db,
    reads that database instead, for a node that is stopped."""
    code = nation_code(nation)
    if db:
        store = open_store(db, migrate=False)
        try:
            rows = [r.as_dict() for r in store.audit_rows(report_id=report)][-limit:]
        finally:
            store.close()
    else:
        with client_for(root, code) as client:
            rows = client.audit(report_id=report, newest=limit)
    table = Table(title=f"audit log of {code}")
    for col in ("seq", "at", "event", "outcome", "partner", "report", "v", "reason"):
        table.add_column(col)
    for row in rows[-limit:]:
        table.add_row(
            str(row["seq"]),
            row["at"],
            row["event"],
            row["outcome"],
            row["partner"],
            row["report_id"][:13],
            str(row["version"] or ""),
            row["reason"],
        )
    console.print(table)
