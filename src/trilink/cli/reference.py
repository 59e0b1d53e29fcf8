"""The CLI reference (docs/cli.md), written from the Typer app itself.

    .venv/bin/python -m trilink.cli.reference > docs/cli.md

A test regenerates it and fails when docs/cli.md differs, so the page is never out of date.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from trilink.cli.app import app


def _section(command: Any, path: list[str], out: list[str]) -> None:
    # typer vendors its own click: commands are duck-typed here, not imported
    name = " ".join(path)
    depth = min(len(path) + 1, 4)
    out.append(f"{'#' * depth} `{name}`\n")
    help_text = (command.help or "").strip()
    if help_text:
        out.append(help_text.replace("\b\n", "") + "\n")
    ctx = command.context_class(command, info_name=name)
    params = [p for p in command.get_params(ctx) if p.name != "help"]
    if hasattr(command, "list_commands"):
        subs = command.list_commands(ctx)
        if subs:
            out.append("Commands: " + ", ".join(f"`{s}`" for s in subs) + "\n")
        for sub in subs:
            child = command.get_command(ctx, sub)
            if child is not None and not child.hidden:
                _section(child, [*path, sub], out)
        return
    usage = " ".join(command.collect_usage_pieces(ctx))
    out.append(f"```\n{name} {usage}\n```\n")
    rows = []
    for param in params:
        record = param.get_help_record(ctx)
        if record is None:
            if param.param_type_name == "argument":
                rows.append((param.human_readable_name, ""))
            continue
        rows.append(record)
    if rows:
        out.append("| option | meaning |\n|---|---|")
        for flag, meaning in rows:
            cell = meaning.replace("|", "\\|").replace("\n", " ")
            out.append(f"| `{flag}` | {cell} |")
        out.append("")


def render() -> str:
    command = typer.main.get_command(app)
    out = [
        "# trilink command reference",
        "",
        "Written from the CLI itself by `python -m trilink.cli.reference`; a test keeps it "
        "current. Every command also answers `--help`.",
        "",
    ]
    _section(command, ["trilink"], out)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
