"""`trilink maritime ...`: command-line edge of `trilink.maritime`."""

from __future__ import annotations

import typer

app = typer.Typer(help="maritime engine", no_args_is_help=True)
