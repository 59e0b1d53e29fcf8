"""`trilink user` (COP logins) and `trilink web` (serve a node's COP on its own).

``app`` holds the user commands, ``web_app`` the server command; the main CLI registers them
as ``trilink user ...`` and ``trilink web ...``.
"""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from trilink.cli.common import DirOption, NationOption, console, nation_code, node_dir

if TYPE_CHECKING:
    from trilink.store.base import Store

app = typer.Typer(
    help="Manage who may log in to a node's common operational picture (COP).",
    no_args_is_help=True,
)
web_app = typer.Typer(
    help="Serve a node's common operational picture (COP) web map.", no_args_is_help=True
)


@web_app.callback()
def _web() -> None:
    """Serve a node's common operational picture (COP) web map."""


RoleOption = typer.Option(
    "viewer",
    "--role",
    help="viewer: sees the map; analyst: may also publish notes; admin: everything.",
)
PasswordOption = typer.Option(
    None,
    "--password",
    help="The password (at least 10 characters). Leave out to be asked without echo.",
)


def _store(root: Path, nation: str) -> Store:
    from trilink.node.config import load_node_config
    from trilink.store.base import open_store

    config = load_node_config(node_dir(root, nation_code(nation)) / "node.toml")
    return open_store(config.db_url)


def _password(given: str | None) -> str:
    if given is not None:
        return given
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@app.command("add")
def add(
    username: str = typer.Argument(..., help="Login name: 2-32 of a-z 0-9 . _ -"),
    root: Path = DirOption,
    nation: str = NationOption,
    role: str = RoleOption,
    password: str | None = PasswordOption,
) -> None:
    """Create a COP login on NATION's node."""
    from trilink.store.users import ROLES
    from trilink.web.auth import create_user

    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}", param_hint="--role")
    secret = _password(password)
    with closing(_store(root, nation)) as store:
        user = create_user(store, username, secret, role)
    console.print(f"added [bold]{user.username}[/] ({user.role}) to the {nation.upper()} COP")


@app.command("list")
def list_(
    root: Path = DirOption,
    nation: str = NationOption,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per login (JSON lines)."),
) -> None:
    """Show the COP logins of NATION's node."""
    from rich.table import Table

    from trilink.store.users import UserRepository

    with closing(_store(root, nation)) as store:
        users = UserRepository(store).all()
    if as_json:
        for user in users:
            record = {
                "username": user.username,
                "role": user.role,
                "created": user.created_at,
                "disabled": bool(user.disabled),
            }
            typer.echo(json.dumps(record, ensure_ascii=False))
        return
    table = Table("username", "role", "created", "status")
    for user in users:
        table.add_row(
            user.username, user.role, user.created_at[:19], "disabled" if user.disabled else "ok"
        )
    console.print(table)


@app.command("passwd")
def passwd(
    username: str = typer.Argument(..., help="Existing login name."),
    root: Path = DirOption,
    nation: str = NationOption,
    password: str | None = PasswordOption,
) -> None:
    """Set a new password (and end that user's open sessions)."""
    from trilink.web.auth import set_password

    secret = _password(password)
    with closing(_store(root, nation)) as store:
        set_password(store, username, secret)
    console.print(f"password of {username} changed; their sessions were ended")


@app.command("disable")
def disable(
    username: str = typer.Argument(..., help="Existing login name."),
    root: Path = DirOption,
    nation: str = NationOption,
    enable: bool = typer.Option(False, "--enable", help="Re-enable instead of disabling."),
) -> None:
    """Stop a user logging in (ends their sessions at once); --enable undoes it."""
    from trilink.web.auth import set_disabled

    with closing(_store(root, nation)) as store:
        set_disabled(store, username, not enable)
    console.print(f"{username} {'enabled' if enable else 'disabled; sessions ended'}")


@web_app.command("serve")
def serve(
    root: Path = DirOption,
    nation: str = NationOption,
    port: int | None = typer.Option(
        None, "--port", help="COP port (default: USA 8000, JPN 8001, KOR 8002)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    secure_cookies: bool = typer.Option(
        False,
        "--secure-cookies",
        help="Mark cookies Secure (when users reach it over TLS); also set by "
        "secure_cookies = true in the [cop] table of node.toml.",
    ),
) -> None:
    """Serve NATION's COP map from its node's database until Ctrl-C. The [cop] table of
    node.toml sets trusted_proxies (whose X-Forwarded-For is believed) and secure_cookies."""
    import uvicorn

    from trilink.node.service import NodeService
    from trilink.web import COP_PORTS, CopSettings, create_cop_app
    from trilink.web.app import cop_server_config

    code = nation_code(nation)
    with NodeService.open_local(root, code) as service:
        options = service.config.cop_options
        settings = CopSettings.from_node(
            options, secure_cookies=secure_cookies or options.secure_cookies
        )
        cop = create_cop_app(service, settings=settings)
        bind = port or COP_PORTS[code]
        console.print(f"{code} COP on http://{host}:{bind}/  (Ctrl-C to stop)")
        uvicorn.Server(cop_server_config(cop, host, bind)).run()
