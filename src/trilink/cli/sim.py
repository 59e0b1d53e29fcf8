"""`trilink sim ...`: scenario generators for exercises and tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from trilink.errors import InputError, TrilinkError
from trilink.model.label import ALLIANCE

app = typer.Typer(help="Generate exercise scenarios (synthetic data).", no_args_is_help=True)
console = Console(stderr=True)


def _parse_start(text: str) -> datetime:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--start {text!r} is not an ISO-8601 time; use e.g. 2026-05-01T00:00:00Z",
            field="start",
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


@app.command("maritime")
def maritime(
    out: Path = typer.Option(..., "--out", help="Directory to write the scenario files into."),
    seed: int = typer.Option(1, "--seed", help="Random seed; the same seed gives the same files."),
    hours: float = typer.Option(24.0, "--hours", min=1.0, max=336.0, help="Length of the run."),
    vessels: int = typer.Option(
        200, "--vessels", min=0, help="Background vessels (planted event vessels come on top)."
    ),
    start: str = typer.Option("2026-05-01T00:00:00Z", "--start", help="Start time, ISO-8601 UTC."),
    nmea: bool = typer.Option(True, "--nmea/--no-nmea", help="Write ais.nmea (!AIVDM)."),
    parquet: bool = typer.Option(True, "--parquet/--no-parquet", help="Write positions.parquet."),
    check: bool = typer.Option(
        True, "--check/--no-check", help="Run the reference detectors on the result."
    ),
) -> None:
    """Generate East Asian waters AIS traffic with planted events.

    For drills and tests; all vessels and positions are synthetic.

    Files written into --out:

    - positions.csv, positions.parquet: received AIS position reports
    - ais.nmea: !AIVDM types 1/2/3 and 5 with \\c:<unix> tag blocks
    - sar_detections.csv: time,lat,lon,length_m of one SAR pass
    - zones_neutral.geojson: approximate JPN/KOR zones (for --zones)
    - ports.csv: the port berths the ships use
    - ground_truth.json: planted events and the self-check result

    Planted: an STS transfer with an OFAC-listed DPRK vessel (East
    China Sea); a ship going dark east of Japan, seen by SAR in the
    gap; Chinese fishing vessels at Yamato Bank in Japan's EEZ; an
    incursion into Japan's territorial sea off the Oki Islands.
    """
    from trilink.sim.check import check_all, compare
    from trilink.sim.io import write_outputs
    from trilink.sim.scenario import ScenarioConfig, generate

    t0 = time.perf_counter()
    try:
        config = ScenarioConfig(seed=seed, hours=hours, vessels=vessels, start=_parse_start(start))
    except ValueError as err:
        raise InputError(str(err)) from None
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("routes and tracks", total=vessels + 1)
        scen = generate(config, progress=lambda done, total: progress.update(task, completed=done))
        wtask = progress.add_task("writing", total=None)

        def step(name: str) -> None:
            progress.update(wtask, description=f"writing {name}")

        if check:
            step("(checking planted events)")
            result = compare(check_all(scen.positions), scen.truth["events"])  # type: ignore[arg-type]
            scen.truth["self_check"] = {
                "method": "trilink.sim.check reference detectors (GFW definitions)",
                **result,
            }
        files = write_outputs(scen, out, nmea=nmea, parquet=parquet, step=step)
        progress.update(wtask, description="written", total=1, completed=1)
    table = Table(title=f"scenario seed {seed}: {out}")
    table.add_column("item")
    table.add_column("value", justify="right")
    table.add_row("vessels", str(len(scen.identities)))
    table.add_row("position reports", f"{len(scen.positions):,}")
    table.add_row("static reports (type 5)", f"{scen.static_t.size:,}")
    table.add_row("SAR detections", str(len(scen.sar)))
    events = scen.truth["events"]
    assert isinstance(events, list)
    table.add_row("planted events", ", ".join(sorted({str(e["type"]) for e in events})))
    skipped = scen.truth.get("skipped", [])
    assert isinstance(skipped, list)
    for why in skipped:
        table.add_row("skipped", str(why))
    if check:
        sc = scen.truth["self_check"]
        assert isinstance(sc, dict)
        table.add_row("self-check missing", str(len(sc["missing"])))
        table.add_row("self-check unexpected", str(len(sc["unexpected"])))
    for name, path in files.items():
        table.add_row(name, str(path))
    table.add_row("seconds", f"{time.perf_counter() - t0:.1f}")
    Console().print(table)
    if check and (scen.truth["self_check"]["missing"] or scen.truth["self_check"]["unexpected"]):  # type: ignore[index]
        console.print(
            "[yellow]warning: reference detectors disagree with the planted set; "
            "see self_check in ground_truth.json[/yellow]"
        )


@app.command("missile")
def missile(
    scenario_file: Path = typer.Argument(
        ..., help="Missile scenario file (TOML), e.g. examples/missile/srbm_salvo.toml."
    ),
    out: Path = typer.Option(..., "--out", help="Directory to write the feeds and truth into."),
) -> None:
    """Simulate a missile scenario's radars and write one plot feed per nation, plus the truth.

    Each nation's tracker is fed only its own radars' plots: run it with
    `trilink missile track --plots DIR/<NATION>.plots.jsonl`. All launches and measurements are
    synthetic (exercise scenarios).

    Files written into --out:

    - USA.plots.jsonl, JPN.plots.jsonl, KOR.plots.jsonl: first line a header (nation,
      scenario, epoch, cycle length, sensors, tracker settings), then one plot per line in the
      order the radars deliver them, with the scenario's injected faults (NaN range written
      as null, late plots)
    - truth.jsonl: launches, true states every second, and which launch each feed line saw
    - truth.geojson: the true flights, launch and impact points (RFC 7946)
    """
    from trilink.missile.io.feeds import write_feeds
    from trilink.missile.io.scenario_file import load_scenario
    from trilink.missile.sim.scenario import deliver_plots, fly_truth

    t0 = time.perf_counter()
    try:
        sc = load_scenario(scenario_file)
        with console.status(f"flying {len(sc.launches)} launch(es) and simulating the radars"):
            truths = fly_truth(sc)
            delivered = deliver_plots(sc, truths)
            files = write_feeds(sc, out, truths=truths, delivered=delivered)
    except TrilinkError as err:
        console.print(f"[bold red]error:[/] {err}", highlight=False)
        raise typer.Exit(2) from None
    except OSError as err:
        console.print(
            f"[bold red]error:[/] cannot write into {out}: {err.strerror}", highlight=False
        )
        raise typer.Exit(2) from None
    per_nation = {n: 0 for n in ALLIANCE}
    for p in delivered.plots:
        per_nation[p.nation] += 1
    table = Table(title=f"{sc.name}: {out}")
    table.add_column("item")
    table.add_column("value", justify="right")
    table.add_row("launches", ", ".join(la.launch_id for la in sc.launches))
    for nation, n in per_nation.items():
        sensors = ", ".join(s.sensor_id for s in sc.nation_sensors(nation)) or "none"
        table.add_row(f"{nation} plots ({sensors})", f"{n:,}")
    table.add_row(
        "faults injected", ", ".join(f"{k} {v}" for k, v in delivered.faults_injected.items())
    )
    for name, path in files.items():
        table.add_row(name, str(path))
    table.add_row("seconds", f"{time.perf_counter() - t0:.1f}")
    Console().print(table)
