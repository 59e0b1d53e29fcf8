"""`trilink demo`: start the three-nation network and play the scripted exchange."""

from __future__ import annotations

from pathlib import Path

import typer

from trilink.cli.common import console


def demo(
    root: Path = typer.Option(Path("demo-net"), "--dir", help="Where the demo network lives."),
    pause: float = typer.Option(1.0, "--pause", help="Seconds between scripted steps."),
    maritime: bool = typer.Option(
        True,
        "--maritime/--no-maritime",
        help="Play the maritime scenes (East Asian exercise, real AIS replay).",
    ),
    missile: bool = typer.Option(
        True,
        "--missile/--no-missile",
        help="Play the exercise launches (tracks, fused tracks, warnings).",
    ),
) -> None:
    """Start USA, JPN and KOR nodes, open their COPs and play a scenario: analysts' notes
    under different labels, exercise missile launches seen by all three nations' radars
    (fused tracks, impact warnings) that open a joint crisis incident at the three crisis
    cells, a maritime exercise with a sanctioned vessel's
    ship-to-ship transfer and foreign fishing in Japan's EEZ, and a replay of real AIS.
    Run again in the same --dir, it starts over from empty stores (the nodes keep their
    keys) rather than publishing everything twice."""
    from trilink.demo import NATIONS, ensure_demo_users, reset_played_demo, run_demo
    from trilink.federation import localnet

    if reset_played_demo(root):
        console.print(f"the demo played in {root} before: its nodes start again from empty stores")
    localnet.ensure_network(root)
    logins = ensure_demo_users(root)

    def started(urls: dict[str, str]) -> None:
        for nation, url in urls.items():
            console.print(f"node {nation} up at {url} (partners, mutual TLS)")
        console.print("\n[bold]Common operational picture[/bold] (one per nation):")
        for nation in NATIONS:
            user, password = logins[nation]
            console.print(
                f"  {nation}  http://127.0.0.1:{localnet.LOCAL_COP_PORTS[nation]}/   "
                f"login [bold]{user}[/bold] / {password}"
            )
        console.print()

    run_demo(root, console, pause_s=pause, on_start=started)
    missile_scenes = None
    if missile:
        from trilink.demo.crisis import start_crisis_cells
        from trilink.demo.missile import start_missile_scenes

        start_crisis_cells(root, lambda text: console.print(f"[magenta]crisis[/magenta] {text}"))

        missile_scenes = start_missile_scenes(
            root, lambda text: console.print(f"[red]missile[/red] {text}")
        )
    if maritime:
        from trilink.demo.maritime import east_asia_exercise, suez_replay

        def say(text: str) -> None:
            console.print(f"[cyan]maritime[/cyan] {text}")

        east_asia_exercise(root, say)
        suez_replay(root, say)
    if missile_scenes is not None:
        missile_scenes.join()
        from trilink.demo.crisis import acknowledge

        acknowledge(root, lambda text: console.print(f"[magenta]crisis[/magenta] {text}"))
    console.print(
        f"\nThe nodes keep running. Try:\n"
        f"  .venv/bin/trilink report list --dir {root} --nation KOR\n"
        f"  .venv/bin/trilink audit show --dir {root} --nation USA\n"
        f"  .venv/bin/trilink net status --dir {root}\n"
        f"Stop them with: .venv/bin/trilink net down --dir {root}"
    )
