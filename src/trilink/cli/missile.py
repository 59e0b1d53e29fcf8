"""`trilink missile ...`: command-line edge of `trilink.missile`."""

from __future__ import annotations

import typer

app = typer.Typer(help="missile engine", no_args_is_help=True)
