"""`trilink sim ...`: scenario generators for exercises and tests."""

from __future__ import annotations

import typer

app = typer.Typer(help="Generate exercise scenarios (synthetic data).", no_args_is_help=True)
