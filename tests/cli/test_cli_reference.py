"""docs/cli.md is the CLI as it is: regenerated from the Typer app and compared."""

from __future__ import annotations

from pathlib import Path

from trilink.cli.reference import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_is_current() -> None:
    assert DOC.read_text("utf-8") == render(), (
        "docs/cli.md is out of date: run '.venv/bin/python -m trilink.cli.reference > docs/cli.md'"
    )


def test_every_command_is_in_the_reference() -> None:
    text = render()
    commands = [
        "pki init", "pki export", "pki trust", "token create", "node backup", "node restore",
        "node check", "missile track", "sim missile", "report publish",
    ]  # fmt: skip
    for command in commands:
        assert f"`trilink {command}`" in text, command
