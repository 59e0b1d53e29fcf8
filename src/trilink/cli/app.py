"""Entry point: ``trilink`` and its sub-commands."""

from __future__ import annotations

import sys

import typer

from trilink.cli import (
    audit,
    check,
    crisis,
    cyber,
    demo,
    export,
    maritime,
    missile,
    net,
    report,
    sanctions,
    sim,
    token,
    web,
)
from trilink.errors import TrilinkError

app = typer.Typer(
    help="trilink: sovereign nodes sharing signed, labelled reports (USA, JPN, KOR).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo.demo)
app.add_typer(net.net_app, name="net")
app.add_typer(net.node_app, name="node")
net.node_app.command("check")(check.node_check)
app.add_typer(net.pki_app, name="pki")
app.add_typer(report.app, name="report")
app.add_typer(token.app, name="token")
app.add_typer(web.app, name="user")
app.add_typer(web.web_app, name="web")
app.add_typer(audit.app, name="audit")
app.add_typer(maritime.app, name="maritime")
app.add_typer(sanctions.app, name="sanctions")
app.add_typer(missile.app, name="missile")
app.add_typer(sim.app, name="sim")
app.add_typer(crisis.app, name="crisis")
app.add_typer(cyber.app, name="cyber")
app.command("export")(export.export)


def _broken_pipe(err: OSError) -> bool:
    # Python raises BrokenPipeError; polars and pyarrow raise OSError("Broken pipe (os error 32)")
    return isinstance(err, BrokenPipeError) or "os error 32" in str(err)


def main() -> None:
    """Run the CLI; a ``TrilinkError``, or a database driver's error that escaped the store,
    becomes a one-line message and exit status 2. A reader that stops early (``| head``) ends
    the command quietly, as it ends any Unix tool (status 141, no traceback)."""
    try:
        app()
    except OSError as err:
        if not _broken_pipe(err):
            raise
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(141) from None
    except TrilinkError as err:
        sys.stderr.write(f"error: {err}\n")
        raise SystemExit(2) from None
    except Exception as err:
        from trilink.store.base import driver_error

        store_error = driver_error(err)
        if store_error is None:
            raise
        sys.stderr.write(f"error: {store_error}\n")
        raise SystemExit(2) from None
