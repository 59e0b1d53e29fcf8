"""`trilink report`: publish, list, edit and delete reports on a node."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from trilink.cli.common import DbOption, DirOption, NationOption, console, nation_code
from trilink.errors import InputError
from trilink.federation import localnet
from trilink.model.report import report_json
from trilink.node.service import NodeService

app = typer.Typer(help="Publish and read reports on a node.", no_args_is_help=True)


def _open(root: Path, nation: str, db: str | None) -> NodeService:
    return NodeService.open_local(root, nation_code(nation), db_url=db)


def read_payload_file(path: Path) -> Any:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise InputError("payload file not found", path=str(path)) from None
    except UnicodeDecodeError as err:
        raise InputError(f"payload file is not UTF-8 ({err.reason})", path=str(path)) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(
            f"not valid JSON: {err.msg} (column {err.colno})", path=str(path), line=err.lineno
        ) from None
    if isinstance(value, dict) or (
        isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
    ):
        return value
    raise InputError("payload must be a JSON object (or a list of objects)", path=str(path))


@app.command("publish")
def publish(
    root: Path = DirOption,
    nation: str = NationOption,
    kind: str = typer.Option(..., "--kind", help="Report kind, e.g. note, maritime.event."),
    label: str = typer.Option(
        ..., "--label", help='Security label, e.g. "SECRET//REL TO USA, JPN".'
    ),
    payload_file: Path = typer.Option(
        ..., "--payload-file", help="JSON object (or list of objects) to publish."
    ),
    derived_from: list[str] = typer.Option(
        [], "--derived-from", help="Id of a report this one derives from."
    ),
    db: str = DbOption,
) -> None:
    """Sign and store a report as NATION's node and queue it for the partners its label and
    the node's policy allow. Prints the new report id."""
    payload = read_payload_file(payload_file)
    payloads = payload if isinstance(payload, list) else [payload]
    with _open(root, nation, db) as node:
        reports = node.publish_many(
            kind, label, payloads, derived_from=[list(derived_from)] * len(payloads), actor="cli"
        )
        localnet.wake(node.config)
    for report in reports:
        typer.echo(report.envelope.id)


@app.command("list")
def list_reports(
    root: Path = DirOption,
    nation: str = NationOption,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    kind: str = typer.Option(None, "--kind", help="Only this kind."),
    all_versions: bool = typer.Option(
        False, "--all-versions", help="Every stored version, not only the newest."
    ),
    db: str = DbOption,
) -> None:
    """Every report this node holds (its own and what partners shared with it)."""
    with _open(root, nation, db) as node:
        stored = node.store.reports(kind=kind)
    if not all_versions:
        newest: dict[tuple[str, str], Any] = {}
        for item in stored:
            env = item.report.envelope
            key = (env.origin, env.id)
            if key not in newest or newest[key].report.envelope.version < env.version:
                newest[key] = item
        stored = sorted(newest.values(), key=lambda s: s.seq)
    if as_json:
        for item in stored:
            sys.stdout.write(json.dumps(report_json(item.report), ensure_ascii=False) + "\n")
        return
    table = Table(title=f"reports held by {nation_code(nation)}")
    for col in ("id", "origin", "v", "kind", "label", "created", "deleted"):
        table.add_column(col)
    for item in stored:
        env = item.report.envelope
        table.add_row(
            env.id,
            env.origin,
            str(env.version),
            env.kind,
            env.label,
            env.created,
            "yes" if env.is_tombstone else "",
        )
    console.print(table)


@app.command("delete")
def delete(
    report_id: str = typer.Argument(..., help="Id of one of this node's reports."),
    root: Path = DirOption,
    nation: str = NationOption,
    reason: str = typer.Option("", "--reason", help="Why it is withdrawn."),
    db: str = DbOption,
) -> None:
    """Withdraw a report: a signed tombstone replaces it on every node that holds it."""
    with _open(root, nation, db) as node:
        tomb = node.delete(report_id, reason, actor="cli")
        localnet.wake(node.config)
    typer.echo(f"{tomb.envelope.id} deleted (tombstone version {tomb.envelope.version})")


@app.command("edit")
def edit(
    report_id: str = typer.Argument(..., help="Id of one of this node's reports."),
    root: Path = DirOption,
    nation: str = NationOption,
    payload_file: Path = typer.Option(..., "--payload-file", help="The new payload (JSON)."),
    label: str = typer.Option(None, "--label", help="A new label (default: keep)."),
    db: str = DbOption,
) -> None:
    """Publish a new version of a report (earlier versions are kept)."""
    payload = read_payload_file(payload_file)
    if not isinstance(payload, dict):
        raise InputError("edit takes one JSON object", path=str(payload_file))
    with _open(root, nation, db) as node:
        report = node.edit(report_id, payload, label=label, actor="cli")
        localnet.wake(node.config)
    typer.echo(f"{report.envelope.id} version {report.envelope.version}")


@app.command("show")
def show(
    report_id: str = typer.Argument(..., help="Report id."),
    root: Path = DirOption,
    nation: str = NationOption,
    db: str = DbOption,
) -> None:
    """Every version this node holds of a report, whether each signature verifies, and the
    audit rows about it."""
    from trilink.errors import ProvenanceError

    with _open(root, nation, db) as node:
        versions = node.store.versions(report_id)
        if not versions:
            raise InputError(f"node {node.nation} holds no report {report_id}")
        rows = node.store.audit_rows(report_id=report_id)
        for stored in versions:
            env = stored.report.envelope
            try:
                key = node.verifier.verify(stored.report.signed, env, stored.report.signature)
                verdict = f"[green]signature verified[/green] (key {key.key_id[:12]})"
            except ProvenanceError as err:
                verdict = f"[red]signature does NOT verify: {err}[/red]"
            source = f"from {stored.received_from}" if stored.received_from else "published here"
            console.print(
                f"[bold]{env.id} v{env.version}[/bold] {env.kind} from {env.origin} "
                f"({source}) created {env.created}\n  label {env.label}\n  {verdict}"
            )
            if env.derived_from:
                console.print(f"  derived from {', '.join(env.derived_from)}")
            console.print_json(data=env.payload_obj())
    table = Table(title="audit")
    for col in ("seq", "at", "event", "outcome", "partner", "v", "reason"):
        table.add_column(col)
    for row in rows:
        e = row.entry
        table.add_row(
            str(row.seq), row.at, e.event, e.outcome, e.partner, str(e.version or ""), e.reason
        )
    console.print(table)
