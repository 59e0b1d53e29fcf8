"""`trilink report`: publish, list, edit, delete and show reports, through the node API.

Every command here talks to the running node of ``--nation`` in ``--dir`` with its API token
(``trilink.client``); the node validates, signs, decides what each partner may receive and
pushes it at once. Nothing here opens a node's store or holds a key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from trilink.cli.common import (
    DirOption,
    NationOption,
    client_for,
    console,
    err_console,
    nation_code,
)
from trilink.errors import InputError

app = typer.Typer(
    help="Publish and read reports on a node (through its API).", no_args_is_help=True
)


MAX_PAYLOAD_FILE = 16 * 1024 * 1024


def read_payload_file(path: Path) -> Any:
    """The JSON object (or list of objects) in ``path``; ``-`` reads standard input."""
    try:
        if str(path) == "-":
            text = sys.stdin.buffer.read(MAX_PAYLOAD_FILE + 1).decode("utf-8")
        elif path.stat().st_size > MAX_PAYLOAD_FILE:
            raise InputError(f"larger than {MAX_PAYLOAD_FILE} bytes", path=str(path))
        else:
            text = path.read_text("utf-8")
        if len(text) > MAX_PAYLOAD_FILE:
            raise InputError(f"larger than {MAX_PAYLOAD_FILE} bytes", path=str(path))
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
        ..., "--payload-file", help="JSON object (or list of objects) to publish; - for stdin."
    ),
    derived_from: list[str] = typer.Option(
        [], "--derived-from", help="Id of a report this one derives from."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the node's answer as JSON."),
) -> None:
    """Sign and store a report as NATION's node and queue it for the partners its label and
    the node's policy allow. Prints the new report id (one per payload)."""
    from trilink.client import item

    payload = read_payload_file(payload_file)
    payloads = payload if isinstance(payload, list) else [payload]
    with client_for(root, nation) as client:
        result = client.publish(
            [item(kind, label, p, derived_from=derived_from) for p in payloads]
        )
    if as_json:
        typer.echo(json.dumps({"reports": result.reports, "warnings": result.warnings}))
    else:
        for report in result.reports:
            typer.echo(report["id"])
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}")


@app.command("list")
def list_reports(
    root: Path = DirOption,
    nation: str = NationOption,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    kind: str = typer.Option(None, "--kind", help="Only this kind."),
    all_versions: bool = typer.Option(
        False, "--all-versions", help="Every stored version, not only the newest."
    ),
    db: str = typer.Option(
        None,
        "--db",
        help="Read this database directly instead of asking the running node (offline: a "
        "stopped node, a backup).",
    ),
) -> None:
    """Every report this node holds (its own and what partners shared with it)."""
    if db is not None:
        reports = _offline_reports(db, kind, all_versions)
    else:
        with client_for(root, nation) as client:
            reports = client.reports(kind=kind, all_versions=all_versions)
    if as_json:
        for report in reports:
            report = {k: v for k, v in report.items() if k not in ("seq", "received_from")}
            sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        return
    from rich.table import Table

    table = Table(title=f"reports held by {nation_code(nation)}")
    for col in ("id", "origin", "v", "kind", "label", "created", "deleted"):
        table.add_column(col)
    for r in reports:
        table.add_row(
            r["id"], r["origin"], str(r["version"]), r["kind"], r["label"], r["created"],
            "yes" if r["tombstone"] else "",
        )  # fmt: skip
    console.print(table)


def _offline_reports(db: str, kind: str | None, all_versions: bool) -> list[dict[str, Any]]:
    from trilink.model.report import report_json
    from trilink.store import open_store

    store = open_store(db, migrate=False)
    try:
        stored = store.reports(kind=kind)
    finally:
        store.close()
    rows = [{"seq": s.seq, **report_json(s.report)} for s in stored]
    if all_versions:
        return rows
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        newest[row["id"]] = row
    return sorted(newest.values(), key=lambda r: r["seq"])


@app.command("delete")
def delete(
    report_id: str = typer.Argument(..., help="Id of one of this node's reports."),
    root: Path = DirOption,
    nation: str = NationOption,
    reason: str = typer.Option("", "--reason", help="Why it is withdrawn."),
    as_json: bool = typer.Option(False, "--json", help="Print the tombstone as JSON."),
) -> None:
    """Withdraw a report: a signed tombstone replaces it on every node that holds it."""
    with client_for(root, nation) as client:
        tomb = client.delete(report_id, reason)
    if as_json:
        typer.echo(json.dumps(tomb, ensure_ascii=False))
        return
    typer.echo(f"{tomb['id']} deleted (tombstone version {tomb['version']})")


@app.command("edit")
def edit(
    report_id: str = typer.Argument(..., help="Id of one of this node's reports."),
    root: Path = DirOption,
    nation: str = NationOption,
    payload_file: Path = typer.Option(
        ..., "--payload-file", help="The new payload (JSON); - for stdin."
    ),
    label: str = typer.Option(None, "--label", help="A new label (default: keep)."),
    as_json: bool = typer.Option(False, "--json", help="Print the new version as JSON."),
) -> None:
    """Publish a new version of a report (earlier versions are kept)."""
    payload = read_payload_file(payload_file)
    if not isinstance(payload, dict):
        raise InputError("edit takes one JSON object", path=str(payload_file))
    with client_for(root, nation) as client:
        report = client.edit(report_id, payload, label=label)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    typer.echo(f"{report['id']} version {report['version']}")


@app.command("show")
def show(
    report_id: str = typer.Argument(..., help="Report id."),
    root: Path = DirOption,
    nation: str = NationOption,
    as_json: bool = typer.Option(False, "--json", help="The node's answer as JSON."),
) -> None:
    """Every version this node holds of a report, whether each signature verifies, and the
    audit rows about it."""
    with client_for(root, nation) as client:
        detail = client.report(report_id)
    if as_json:
        typer.echo(json.dumps(detail, ensure_ascii=False))
        return
    for v in detail["versions"]:
        verdict = (
            "[green]signature verified[/green]"
            if v["signature_verified"]
            else f"[red]signature does NOT verify: {v['signature_problem']}[/red]"
        )
        source = f"from {v['received_from']}" if v["received_from"] else "published here"
        console.print(
            f"[bold]{v['id']} v{v['version']}[/bold] {v['kind']} from {v['origin']} "
            f"({source}) created {v['created']}\n  label {v['label']}\n  {verdict}"
        )
        if v["derived_from"]:
            console.print(f"  derived from {', '.join(v['derived_from'])}")
        console.print_json(data=v["payload"])
    from rich.table import Table

    table = Table(title="audit")
    for col in ("seq", "at", "event", "outcome", "partner", "v", "reason"):
        table.add_column(col)
    for row in detail["audit"]:
        table.add_row(
            str(row["seq"]), row["at"], row["event"], row["outcome"], row["partner"],
            str(row["version"] or ""), row["reason"],
        )  # fmt: skip
    console.print(table)
