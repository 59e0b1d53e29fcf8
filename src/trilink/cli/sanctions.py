"""`trilink sanctions ...`: command-line edge of `trilink.sanctions`."""

from __future__ import annotations

import typer

app = typer.Typer(help="sanctions engine", no_args_is_help=True)
