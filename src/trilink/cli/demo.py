"""`trilink demo`: start the three-nation network and play the scripted exchange."""

from __future__ import annotations

from pathlib import Path

import typer

from trilink.cli.common import console
from trilink.demo import NATIONS, ensure_demo_users, run_demo
from trilink.federation import localnet
from trilink.node.config import LOCAL_COP_PORTS


def demo(
    root: Path = typer.Option(Path("demo-net"), "--dir", help="Where the demo network lives."),
    pause: float = typer.Option(1.5, "--pause", help="Seconds between scripted steps."),
) -> None:
    """Start USA, JPN and KOR nodes and show reports flowing between them under policy."""

    localnet.ensure_network(root)
    logins = ensure_demo_users(root)

    def started(urls: dict[str, str]) -> None:
        for nation, url in urls.items():
            console.print(f"node {nation} up at {url} (partners, mutual TLS)")
        console.print("\n[bold]Common operational picture[/bold] (one per nation):")
        for nation in NATIONS:
            user, password = logins[nation]
            console.print(
                f"  {nation}  http://127.0.0.1:{LOCAL_COP_PORTS[nation]}/   "
                f"login [bold]{user}[/bold] / {password}"
            )
        console.print()

    run_demo(root, console, pause_s=pause, on_start=started)
    console.print(
        f"\nThe nodes keep running. Try:\n"
        f"  .venv/bin/trilink report list --dir {root} --nation KOR\n"
        f"  .venv/bin/trilink audit show --dir {root} --nation USA\n"
        f"  .venv/bin/trilink net status --dir {root}\n"
        f"Stop them with: .venv/bin/trilink net down --dir {root}"
    )
