"""`trilink audit`: read and verify a node's hash-chained audit log."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from trilink.cli.common import DbOption, DirOption, NationOption, console, nation_code
from trilink.node.service import NodeService
from trilink.store.audit import verify_chain

app = typer.Typer(help="The node's audit log.", no_args_is_help=True)


@app.command("verify")
def verify(root: Path = DirOption, nation: str = NationOption, db: str = DbOption) -> None:
    """Check the hash chain; name every edited, inserted or deleted row. Exit 1 if broken."""
    with NodeService.open_local(root, nation_code(nation), db_url=db) as node:
        rows = node.store.audit_rows()
        head = node.store.audit_head()
    problems = verify_chain(rows, head)
    if not problems:
        console.print(
            f"audit log of {nation_code(nation)} intact: {len(rows)} rows, "
            f"head {head[1][:16] if head else '-'}"
        )
        return
    for problem in problems:
        console.print(f"[red]row {problem.seq}[/red]: {problem.message}")
    raise typer.Exit(1)


@app.command("show")
def show(
    root: Path = DirOption,
    nation: str = NationOption,
    report: str = typer.Option(None, "--report", help="Only rows about this report id."),
    limit: int = typer.Option(50, "--limit", help="Newest N rows."),
    db: str = DbOption,
) -> None:
    """The newest audit rows: releases (allow/deny), inbound accept/reject, key changes."""
    with NodeService.open_local(root, nation_code(nation), db_url=db) as node:
        rows = node.store.audit_rows(report_id=report)
    table = Table(title=f"audit log of {nation_code(nation)}")
    for col in ("seq", "at", "event", "outcome", "partner", "report", "v", "reason"):
        table.add_column(col)
    for row in rows[-limit:]:
        e = row.entry
        table.add_row(
            str(row.seq),
            row.at,
            e.event,
            e.outcome,
            e.partner,
            e.report_id[:13],
            str(e.version or ""),
            e.reason,
        )
    console.print(table)
