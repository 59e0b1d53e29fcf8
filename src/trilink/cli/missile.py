"""`trilink missile ...`: command-line edge of `trilink.missile`.

Commands: ``simulate`` (rebuild a reported launch from launch point, impact point and apogee),
``sites`` (the sensors the simulator knows), ``reconstruct`` (the real launch record),
``scenario run`` (a whole exercise scenario: sensors, trackers, fusion, estimates, warnings;
optionally published on the three nodes via ``trilink.missile.live``). Each command lives in
its own function.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from trilink.cli.common import console, err_console, is_stdio, progress, write_output
from trilink.errors import InputError, TrilinkError

app = typer.Typer(
    help="Missile warning: rebuild reported launches, list sensors, run scenarios.",
    no_args_is_help=True,
)
_out = console
_err = err_console


def _lat_lon(text: str, option: str) -> tuple[float, float]:
    try:
        lat_s, lon_s = text.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise typer.BadParameter(
            f"expected LAT,LON in degrees, e.g. 39.1,125.9; got {text!r}", param_hint=option
        ) from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 360):
        raise typer.BadParameter(f"{text!r} is not a valid latitude,longitude", param_hint=option)
    return lat, lon


def _fail(err: Exception) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {err}", highlight=False)
    return typer.Exit(2)


@app.command("simulate")
def simulate(
    launch: str = typer.Option(..., "--launch", help="Launch point LAT,LON (degrees)."),
    impact: str = typer.Option(..., "--impact", help="Reported impact point LAT,LON (degrees)."),
    apogee_km: float = typer.Option(..., "--apogee-km", help="Reported apogee in km."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead."),
    out: Path | None = typer.Option(
        None, "--out", help="Also write trajectory.png, trajectory.geojson, trajectory.czml here."
    ),
    view: str = typer.Option(
        "administering",
        "--view",
        help="How disputed islands count for Japan's zones (geodata view: administering, "
        "neutral, JPN, ...).",
    ),
    launch_time: str | None = typer.Option(
        None, "--launch-time", help="Launch time (ISO 8601 UTC) used to time-tag the CZML."
    ),
) -> None:
    """Rebuild a reported launch: flight time, range, maximum range, Japan EEZ and overflight.

    Fits a ballistic flight (WGS-84, rotating Earth, J2, drag, boost of a generic vehicle) that
    lands at the reported impact point with the reported apogee. Apogees that no ballistic
    flight of that range can have are refused with the feasible interval.
    """
    from trilink.missile.sim.estimates import estimate
    from trilink.missile.sim.shaping import solve_launch
    from trilink.missile.warn.zones import japan_geometries

    p0 = _lat_lon(launch, "--launch")
    p1 = _lat_lon(impact, "--impact")
    epoch = datetime.now(UTC)
    if launch_time:
        try:
            epoch = datetime.fromisoformat(launch_time.replace("Z", "+00:00"))
        except ValueError:
            raise typer.BadParameter(
                "expected ISO 8601, e.g. 2017-11-28T18:18:00Z", param_hint="--launch-time"
            ) from None
        if epoch.tzinfo is None:
            raise typer.BadParameter("give a timezone (Z for UTC)", param_hint="--launch-time")
        epoch = epoch.astimezone(UTC)
    try:
        shot = solve_launch(p0, p1, apogee_km)
    except TrilinkError as err:
        raise _fail(err) from None
    zones_note = ""
    eez = territory = None
    try:
        jp = japan_geometries(view)
        eez, territory = jp.eez, jp.territory
    except TrilinkError as err:
        zones_note = str(err)
    est = estimate(shot.trajectory, japan_eez=eez, japan_territory=territory)
    files: list[str] = []
    if out is not None:
        from trilink.missile.io.trajectory import write_outputs

        paths = write_outputs(
            out,
            shot.trajectory,
            est,
            epoch_utc=epoch,
            eez=eez,
            title=f"launch {p0[0]:.2f},{p0[1]:.2f} → impact "
            f"{p1[0]:.2f},{p1[1]:.2f}, apogee {apogee_km:,.0f} km",
        )
        files = [str(p) for p in paths]
    result: dict[str, Any] = {
        "flight_time_s": round(est.flight_time_s, 1),
        "apogee_km": round(est.apogee_km, 1),
        "range_km": round(est.range_km, 1),
        "max_range_km": round(est.max_range_km, 0),
        "impact_in_japan_eez": est.impact_in_japan_eez,
        "overflies_japan": est.overflies_japan,
        "class": est.missile_class,
        "shape": est.shape,
        "launch": {"lat": p0[0], "lon": p0[1]},
        "impact": {"lat": round(est.impact_lat_deg, 5), "lon": round(est.impact_lon_deg, 5)},
        "impact_miss_km": round(shot.miss_km, 3),
        "burnout_t_s": round(est.burnout_t_s, 1),
        "burnout_alt_km": round(est.burnout_alt_km, 1),
        "burnout_speed_mps": round(est.burnout_speed_mps, 0),
        "launch_azimuth_deg": round(shot.params.azimuth_deg, 2),
        "vehicle": shot.vehicle.name,
        "japan_zones": f"trilink.geo view={view}" if not zones_note else None,
        "japan_zones_error": zones_note or None,
        "files": files,
    }
    if as_json:
        typer.echo(json.dumps(result))
        return
    _print_simulation(result)


def _yes_no(v: bool | None) -> str:
    return "unknown (zones unavailable)" if v is None else ("YES" if v else "no")


def _print_simulation(r: dict[str, Any]) -> None:
    t = Table(title="Reconstructed ballistic flight", show_header=False)
    t.add_column("item")
    t.add_column("value")
    t.add_row("flight time", f"{r['flight_time_s'] / 60:.1f} min ({r['flight_time_s']:.0f} s)")
    t.add_row("apogee", f"{r['apogee_km']:,.0f} km")
    t.add_row("range (launch to impact)", f"{r['range_km']:,.0f} km")
    t.add_row("max range (same energy, min-energy path)", f"{r['max_range_km']:,.0f} km")
    t.add_row("class / shape", f"{r['class']} / {r['shape']}")
    t.add_row("impact inside Japan's EEZ", _yes_no(r["impact_in_japan_eez"]))
    t.add_row("overflies Japan", _yes_no(r["overflies_japan"]))
    t.add_row(
        "burnout",
        f"{r['burnout_t_s']:.0f} s, {r['burnout_alt_km']:.0f} km, "
        f"{r['burnout_speed_mps']:,.0f} m/s",
    )
    t.add_row("model vehicle", r["vehicle"])
    _out.print(t)
    if r["japan_zones_error"]:
        _err.print(f"[yellow]warning:[/] {r['japan_zones_error']}", highlight=False)
    for f in r["files"]:
        _out.print(f"wrote {f}")


@app.command("sites")
def sites(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the radars the simulator models: site, nation, type, position and assumed reach.

    Fixed sites come from public sources (coordinates approximate; Korean Green Pine rows are
    province/city centroids). Ship stations are notional. Ranges are assumptions.
    """
    from trilink.missile.sim.sensors import default_sensors

    rows: list[dict[str, Any]] = [
        {
            "sensor_id": s.sensor_id,
            "nation": s.nation,
            "type": s.radar.name,
            "lat": s.lat_deg,
            "lon": s.lon_deg,
            "alt_m": s.alt_m,
            "max_range_km": s.radar.max_range_m / 1e3,
            "azimuth_sector_deg": [s.az_min_deg, s.az_max_deg],
            "update_s": s.radar.update_s,
            "range_rate": s.radar.sigma_range_rate_mps is not None,
            "position": "notional"
            if s.notional
            else ("approximate (province/city centroid)" if s.approximate_site else "public site"),
        }
        for s in default_sensors()
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    t = Table(title="Missile-warning sensors (performance figures are assumptions)")
    for col in ("sensor", "nation", "type", "lat", "lon", "range km", "sector deg", "position"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["sensor_id"],
            r["nation"],
            r["type"],
            f"{r['lat']:.3f}",
            f"{r['lon']:.3f}",
            f"{r['max_range_km']:,.0f}",
            "360"
            if r["azimuth_sector_deg"] == [0.0, 360.0]
            else f"{r['azimuth_sector_deg'][0]:.0f}-{r['azimuth_sector_deg'][1]:.0f}",
            r["position"],
        )
    _out.print(t)


@app.command("reconstruct")
def reconstruct_cmd(
    data_dir: Path = typer.Argument(
        ...,
        help="Folder of the nk-missile-tests data (test.en.json, facility.en.json, "
        "missile.en.json).",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write one CSV row per launch here; - writes the CSV to stdout."
    ),
    since: str = typer.Option("", "--since", help="Only launches on or after YYYY-MM-DD."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
    view: str = typer.Option("administering", "--view", help="Geodata view for Japan's zones."),
) -> None:
    """Rebuild every real launch that has apogee, range and a known site; compare flight times.

    For each record: fits a ballistic flight to the reported apogee and range (impact point
    along the recorded bearing), then reports flight time (and the one the record quotes, if
    any), class, shape, Japan EEZ impact and overflight. Manoeuvring flights that no ballistic
    trajectory can match are listed as not reconstructed, with the reason.
    """
    import csv
    import io

    from trilink.missile.sim.reconstruct import as_row, load_records, reconstruct
    from trilink.missile.warn.zones import japan_geometries

    if is_stdio(out) and as_json:
        raise InputError("--json and --out - would both print to stdout", field="out")
    try:
        summary = load_records(data_dir)
    except TrilinkError as err:
        raise _fail(err) from None
    records = [r for r in summary.records if r.date >= since]
    eez = territory = None
    try:
        jp = japan_geometries(view)
        eez, territory = jp.eez, jp.territory
    except TrilinkError as err:
        _err.print(f"[yellow]warning:[/] {err}", highlight=False)
    rows: list[dict[str, Any]] = []
    with progress() as bar:
        task = bar.add_task("reconstructing launches", total=len(records))
        for rec in records:
            rows.append(as_row(reconstruct(rec, japan_eez=eez, japan_territory=territory)))
            bar.advance(task)
    if out is not None:
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=list(rows[0]) if rows else ["date"])
        writer.writeheader()
        writer.writerows(rows)
        write_output(out, text.getvalue())
        if is_stdio(out):
            return
    if as_json:
        typer.echo(json.dumps(rows))
        return
    ok = [r for r in rows if r["ok"]]
    _out.print(
        f"{summary.total} records, {len(summary.records)} with apogee, range and site "
        f"(skipped: {summary.skipped}); {len(records)} selected, {len(ok)} reconstructed"
    )
    t = Table(title="Launches with a reported flight time")
    for col in ("date", "missile", "apogee km", "range km", "model min", "reported min"):
        t.add_column(col)
    for r in rows:
        if r["reported_flight_time_s"] and r["flight_time_s"]:
            t.add_row(
                r["date"],
                r["missile"],
                f"{r['apogee_km']:,.0f}",
                f"{r['distance_km']:,.0f}",
                f"{r['flight_time_s'] / 60:.1f}",
                f"{r['reported_flight_time_s'] / 60:.1f}",
            )
    _out.print(t)
    if out is not None:
        _out.print(f"wrote {out}")


@app.command("track")
def track(
    config: Path = typer.Option(
        ..., "--config", help="This nation's node.toml: the engine acts for its node only."
    ),
    plots: Path = typer.Option(
        ..., "--plots", help="This nation's plot feed ('trilink sim missile' writes one each)."
    ),
    pace: str = typer.Option(
        "realtime", "--pace", help="realtime: one cycle per cycle time; fast: no waiting."
    ),
    speed: float = typer.Option(
        1.0, "--speed", help="With --pace realtime: play this many times faster."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run's counts as JSON."),
    timeline: Path = typer.Option(
        None,
        "--timeline",
        help="Write one JSON line per cycle that warned: when its plots entered the tracker "
        "and the warning report versions published (for latency measurements); - for stdout.",
    ),
) -> None:
    """Run this nation's tracker, fusion and warnings against its own node: its own radars'
    plots, and the partner tracks its node has received through federation. Tracks and
    warnings are published through the node (tracks and warnings updated in place as new
    versions); the node decides what each partner receives."""
    from trilink.federation.localnet import client_for_config
    from trilink.missile.io.feeds import PlotFeedReader
    from trilink.node.config import load_node_config
    from trilink.runners.missile import MissileRunner

    if pace not in ("realtime", "fast"):
        raise typer.BadParameter("realtime or fast", param_hint="--pace")
    if not speed > 0:
        raise typer.BadParameter("must be > 0", param_hint="--speed")
    if is_stdio(timeline) and as_json:
        raise InputError("--json and --timeline - would both print to stdout", field="timeline")
    nation = load_node_config(config).nation
    with PlotFeedReader(plots) as reader, client_for_config(config) as client:
        runner = MissileRunner(client, nation, reader)
        _err.print(
            f"{nation}: tracking {reader.header.scenario} ({len(reader.header.sensors)} radars) "
            f"against node {client.url}"
        )
        stats = runner.run(speed=speed if pace == "realtime" else None)
        problems = reader.problems
    if timeline is not None:
        if is_stdio(timeline) and as_json:
            raise InputError(
                "--json and --timeline - would both print to stdout", field="timeline"
            )
        write_output(timeline, "".join(json.dumps(e) + "\n" for e in runner.timeline))
        if is_stdio(timeline):
            return
    summary = {
        "nation": nation,
        "cycles": stats.cycles,
        "published": stats.published,
        "partner_tracks_seen": stats.partner_tracks_seen,
        "refused": stats.refused,
        "last_refusal": stats.last_refusal,
        "bad_plot_lines": len(problems),
    }
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        _out.print(
            f"{nation}: {stats.cycles} cycles; published {stats.published['track']} track, "
            f"{stats.published['fused']} fused track, {stats.published['warning']} warning "
            f"versions; {stats.partner_tracks_seen} partner track versions received"
        )
    if stats.refused:
        _err.print(f"[yellow]{stats.refused} refused by the node: {stats.last_refusal}[/yellow]")


scenario_app = typer.Typer(
    help="Exercise scenarios: simulate launches, every nation's radars, trackers, shared-track "
    "fusion, impact estimates and warnings.",
    no_args_is_help=True,
)
app.add_typer(scenario_app, name="scenario")


@scenario_app.command("run")
def scenario_run(
    file: Path = typer.Argument(..., help="Scenario file (TOML), e.g. examples/missile/*.toml."),
    out: Path = typer.Option(
        Path("scenario-out"),
        "--out",
        help="Folder for tracks/estimates/warnings (CSV, GeoJSON), summary.json and PNG plots.",
    ),
    publish: bool = typer.Option(
        False,
        "--publish",
        help="Also play it on the running local network (see --dir): one plot feed per nation "
        "and each nation's 'trilink missile track' process against its own node.",
    ),
    net_dir: Path | None = typer.Option(
        None, "--dir", help="Local network directory ('trilink net up --dir DIR')."
    ),
    speed: float = typer.Option(
        0.0, "--speed", help="With --publish: times real time (0: as fast as it computes)."
    ),
    no_plots: bool = typer.Option(False, "--no-plots", help="Skip the PNG plots (faster)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run a missile-warning scenario end to end and write what each nation saw and warned.

    For each nation: its radars' plots, its tracker, the partner tracks its labels let it
    receive, covariance-intersection fusion, impact/launch estimates with the Japan EEZ and
    overflight probabilities, and its warnings (issue, update, cancel). A centralised tracker
    fed every plot runs alongside for comparison. Exercise scenarios mark every label
    EXERCISE//. Rejected measurements (NaN, out of time order) are counted in the summary.
    """
    from trilink.missile.io.run_outputs import summary, write_outputs
    from trilink.missile.io.scenario_file import load_scenario
    from trilink.missile.run import ScenarioRun, iter_cycles
    from trilink.missile.sim.scenario import fly_truth
    from trilink.missile.warn.zones import japan_zones

    if publish and net_dir is None:
        raise typer.BadParameter("--publish needs --dir (the local network directory)")
    try:
        sc = load_scenario(file)
        zones, zones_note = japan_zones(sc.view)
        if zones is None:
            _err.print(f"[yellow]warning:[/] {zones_note}", highlight=False)
        truths = fly_truth(sc)
    except TrilinkError as err:
        raise _fail(err) from None
    run = ScenarioRun(scenario=sc, truths=truths)
    try:
        with progress() as bar:
            task = bar.add_task(f"running {sc.name}", total=sc.duration_s)
            for cycle in iter_cycles(sc, zones, truths=truths, run=run):
                bar.update(task, completed=cycle.t_s)
        files = write_outputs(run, out, zones, zones_note, plots=not no_plots)
    except TrilinkError as err:
        raise _fail(err) from None
    result = summary(run, zones, zones_note)
    result["files"] = [str(f) for f in files]
    if publish:
        assert net_dir is not None
        from trilink.demo.missile import run_trackers, write_scenario_feeds

        # the real procedure: each nation's tracker a process of its own, at its own node
        write_scenario_feeds(file, out / "feeds")
        played = run_trackers(net_dir, out / "feeds", speed or None)
        failed = {n: r["error"] for n, r in played.items() if "error" in r}
        if failed:
            raise _fail(TrilinkError(f"tracker stopped: {failed}"))
        result["published"] = {n: r["published"] for n, r in played.items()}
    if as_json:
        typer.echo(json.dumps(result))
        return
    _print_scenario(result)


def _print_scenario(r: dict[str, Any]) -> None:
    head = "EXERCISE — " if r["exercise"] and "EXERCISE" not in r["scenario"] else ""
    t = Table(title=f"{head}{r['scenario']}")
    for col in ("launch", "site", "flight", "apogee km", "range km", "class", "in JPN EEZ",
                "overflies JPN"):  # fmt: skip
        t.add_column(col)
    for la in r["launches"]:
        t.add_row(
            la["id"], la["site"], f"{la['flight_time_s'] / 60:.1f} min", f"{la['apogee_km']:,.0f}",
            f"{la['range_km']:,.0f}", la["class"], _yes_no(la["impact_in_japan_eez"]),
            _yes_no(la["overflies_japan"]),
        )  # fmt: skip
    _out.print(t)
    w = Table(title="Per nation")
    for col in ("nation", "label", "warnings (issue/update/cancel)", "first warning",
                "rejected plots", "published"):  # fmt: skip
        w.add_column(col)
    for n, counts in r["warnings"].items():
        first = r["first_warning_t_s"].get(n)
        rej = r["measurements_rejected"].get(n, {})
        pub = r.get("published", {}).get(n)
        w.add_row(
            n, r["labels"][n],
            f"{counts.get('issue', 0)}/{counts.get('update', 0)}/{counts.get('cancel', 0)}",
            "none" if first is None else f"T+{first:.0f} s",
            ", ".join(f"{k.removeprefix('rejected_')} {v}" for k, v in rej.items()) or "0",
            "" if pub is None else ", ".join(f"{k} {v}" for k, v in pub.items()),
        )  # fmt: skip
    _out.print(w)
    for f in r["files"]:
        _out.print(f"wrote {f}")
