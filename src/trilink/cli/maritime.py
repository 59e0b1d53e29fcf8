"""`trilink maritime ...`: command-line edge of `trilink.maritime`.

For watch officers and analysts: read AIS files (NMEA, CSV, Parquet) or a live feed, find
encounters, loitering, AIS gaps, port visits, zone incursions, foreign fishing, dark vessels
and identity changes, write files you can open, and optionally publish each event as a
``maritime.event`` report on your node.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

import typer

from trilink.cli.common import (
    client_for,
    console,
    err_console,
    input_path,
    is_stdio,
    nation_code,
    output_file,
    progress,
)
from trilink.errors import ConfigError, InputError

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

    from trilink.maritime.ingest import Ingested
    from trilink.maritime.nmea import ProblemLog

app = typer.Typer(
    help="Maritime awareness: AIS ingest, vessel events, dark vessels; publish as reports.",
    no_args_is_help=True,
)

InputsArg = typer.Argument(
    ...,
    help="AIS files: NMEA (.nmea/.ais/.log/.txt, .gz ok), CSV (any layout whose columns "
    "are recognised, e.g. trilink, MarineCadastre, Danish Maritime Authority; others "
    "through --columns) or Parquet; - reads one from stdin.",
)
ColumnsOpt = typer.Option(
    None,
    "--columns",
    help="Which CSV/Parquet column holds each field, for a table whose columns are not "
    "recognised: FIELD=COLUMN,... e.g. mmsi=MMSI,timestamp=Time,lat=Latitude_degrees,"
    "lon=Longitude_degrees (fields: mmsi, timestamp, lat, lon, sog_kn, cog_deg, heading_deg, "
    "name, imo, callsign, ship_type, length_m, beam_m, flag). Fields not named are still "
    "recognised by their usual spellings.",
)


@contextmanager
def _input_files(inputs: list[Path]) -> Iterator[list[Path]]:
    """The input files, standard input (``-``, at most once) spooled to a temporary file."""
    if sum(1 for p in inputs if is_stdio(p)) > 1:
        raise InputError("- (standard input) can be given only once")
    with ExitStack() as stack:
        yield [stack.enter_context(input_path(p, what="AIS input")) for p in inputs]


def _read(files: list[Path], columns: str | None, what: str = "reading AIS") -> Ingested:
    """Read the AIS inputs with a progress bar (on a terminal): files done of all, by size,
    and the NMEA lines read so far."""
    from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeElapsedColumn

    from trilink.maritime.csvlayout import parse_column_mapping
    from trilink.maritime.ingest import read_inputs

    mapping = parse_column_mapping(columns) if columns else None
    sizes = {p: p.stat().st_size if p.is_file() else 0 for p in files}
    lines = 0
    with progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn()
    ) as bar:
        task = bar.add_task(what, total=sum(sizes.values()) or None)

        def on_lines(n: int) -> None:
            nonlocal lines
            lines += n
            bar.update(task, description=f"{what}: {lines:,} lines")

        def on_file(path: Path) -> None:
            bar.advance(task, sizes.get(path, 0))

        return read_inputs(files, progress=on_lines, columns=mapping, on_file=on_file)


PublishOpt = typer.Option(
    False,
    "--publish",
    help="Publish each event as a maritime.event "
    "report on the node (needs --dir, --nation, --label).",
)
DirOpt = typer.Option(
    None, "--dir", help="Network directory made by 'trilink net up'.", file_okay=False
)
NationOpt = typer.Option(None, "--nation", help="Your node: USA, JPN or KOR.")
LabelOpt = typer.Option(
    None, "--label", help='Label of the published events, e.g. "SECRET//REL TO USA, JPN, KOR".'
)


def publish_events(
    events: pl.DataFrame,
    root: Path | None,
    nation: str | None,
    label: str | None,
    *,
    tracks: pl.DataFrame | None = None,
    screen: bool = True,
    say: Console | None = None,
) -> list[str]:
    """Publish events (and the sanctions hits derived from them, and vessel tracks) on a
    node; prints what was published and returns the event report ids."""
    if root is None or nation is None or label is None:
        raise ConfigError("--publish needs --dir, --nation and --label")
    from trilink.maritime.share import event_payloads
    from trilink.runners.maritime import publish_maritime

    payloads = event_payloads(events)
    with client_for(root, nation) as client:
        done = publish_maritime(client, label, payloads, tracks=tracks, screen=screen)
    (say or console).print(
        f"published on {nation_code(nation)}: {len(done.events)} maritime.event, "
        f"{len(done.hits)} sanctions.hit, {len(done.tracks)} maritime.track reports"
    )
    return done.events


def _print_malformed(
    problems: ProblemLog, shown: int = 20, *, totals: bool = True, say: Console | None = None
) -> None:
    """Malformed input records by reason, then the first few with file and line."""
    console = say or _stdout
    counts = problems.counts
    total = sum(counts.values())
    reasons = ", ".join(f"{k} {v}" for k, v in counts.most_common())
    if totals:
        console.print(
            f"malformed records {total}" + (f" ({reasons})" if reasons else ""), soft_wrap=True
        )
    for p in problems.items[:shown]:
        console.print(f"  {p.source}:{p.line}: {p.reason}: {p.text}", markup=False, soft_wrap=True)
    if total > shown:
        console.print(f"  ... {total - min(shown, len(problems.items))} more")


_stdout = console


def _bbox(df: pl.DataFrame) -> tuple[float, float, float, float] | None:
    from trilink.maritime.tables import bbox_of

    return bbox_of(df)


ArchiveInputsArg = typer.Argument(
    ...,
    help="AIS files: NMEA (.nmea/.ais/.log/.txt, .gz ok), CSV (any layout whose columns "
    "are recognised; others through --columns) or Parquet; - reads one from stdin; or a "
    "directory of them (an archive: run on Dask).",
)


@app.command("events")
def events_cmd(
    inputs: list[Path] = ArchiveInputsArg,
    out: Path = typer.Option(
        ..., "--out", help="Output directory (created if missing).", file_okay=False
    ),
    columns: str = ColumnsOpt,
    zones: Path = typer.Option(
        None,
        "--zones",
        help="Zones GeoJSON (- for stdin): polygons with owner, "
        "zone_type (territorial_sea, contiguous_zone, eez, exercise_area,"
        " custom), optional allowed_flags and name.",
    ),
    detections: Path = typer.Option(
        None,
        "--detections",
        help="SAR/radar detections CSV: time, lat, lon[, length][, id]; - for stdin.",
    ),
    config: Path = typer.Option(
        None,
        "--config",
        help="TOML file overriding thresholds; - for stdin.",
    ),
    ports: Path = typer.Option(
        None,
        "--ports",
        help="Extra ports CSV: name, lat, lon[, iso3]; - for stdin.",
    ),
    aoi: Path = typer.Option(
        None,
        "--aoi",
        help="Areas of interest GeoJSON: shorter AIS-gap threshold inside; - for stdin.",
    ),
    no_bundled: bool = typer.Option(
        False,
        "--no-bundled-geo",
        help="Do not use the bundled ports/anchorages, coastline and zones.",
    ),
    zone_view: str = typer.Option(
        "neutral",
        "--zone-view",
        help="Disputed islands in the bundled zones: neutral, "
        "administering, or a nation code (that nation's claims).",
    ),
    no_default_zones: bool = typer.Option(
        False, "--no-default-zones", help="Without --zones, do not load the bundled zones."
    ),
    no_map: bool = typer.Option(False, "--no-map", help="Skip the PNG map."),
    publish: bool = PublishOpt,
    root: Path = DirOpt,
    nation: str = NationOpt,
    label: str = LabelOpt,
    screen: bool = typer.Option(
        True,
        "--screen/--no-screen",
        help="With --publish: screen the vessels of each event against the sanctions lists "
        "in force and publish a sanctions.hit (derived from the event) for each match.",
    ),
    publish_tracks: bool = typer.Option(
        False, "--publish-tracks", help="With --publish: also one maritime.track per vessel."
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print the summary as one JSON object: inputs, counts, events by type, malformed "
        "records by reason, files written.",
    ),
    dask: bool = typer.Option(
        None,
        "--dask/--single",
        help="Run on Dask distributed, partitioned by vessel (the default when an input is a "
        "directory), or in this process (the default for files).",
    ),
    scheduler: str = typer.Option(
        None,
        "--scheduler",
        help="With Dask: address of a running scheduler (tcp://host:8786); inputs, OUT and "
        "--work must be on a filesystem every worker sees. Default: a local cluster.",
    ),
    workers: int = typer.Option(
        2, "--workers", min=1, help="With Dask and no --scheduler: local worker processes."
    ),
    memory_limit: str = typer.Option(
        "2GB", "--memory-limit", help="With Dask and no --scheduler: memory limit per worker."
    ),
    partitions: int = typer.Option(
        None,
        "--partitions",
        min=1,
        help="With Dask: vessel partitions (default: one per million positions).",
    ),
    work: Path = typer.Option(
        None,
        "--work",
        help="With Dask: scratch directory for the partitions (default OUT/_work, removed "
        "at the end).",
        file_okay=False,
    ),
) -> None:
    """Find vessel events in AIS files and write events.csv/.geojson/.parquet, cleaned
    tracks, a quality report and a PNG map to OUT.

    A directory runs as an archive on Dask: tracks go to OUT/tracks/part-*.parquet
    (no tracks.geojson, no map), with the same events as a single-process run."""
    missing = [p for p in inputs if not is_stdio(p) and not p.exists()]
    if missing:
        raise InputError(f"{missing[0]}: no such file or directory")
    if dask is None:
        dask = any(p.is_dir() for p in inputs)
    if dask:
        if publish_tracks:
            raise ConfigError(
                "--publish-tracks is for single runs: an archive's cleaned tracks are "
                f"written to {out}/tracks/part-*.parquet, too many to publish as reports"
            )
        if any(is_stdio(p) for p in (*inputs, zones, detections, config, ports, aoi)):
            raise InputError("an archive run on Dask reads files, not standard input (-)")
        _events_dask(
            inputs,
            out,
            zones=zones,
            detections=detections,
            config=config,
            ports=ports,
            aoi=aoi,
            bundled=not no_bundled,
            zone_view=zone_view,
            default_zones=not no_default_zones,
            scheduler=scheduler,
            workers=workers,
            memory_limit=memory_limit,
            partitions=partitions,
            work=work,
        )
        if publish:
            import polars as pl

            publish_events(
                pl.read_parquet(out / "events.parquet"), root, nation, label, screen=screen
            )
        return
    if any(p.is_dir() for p in inputs):
        raise ConfigError("--single reads files, not directories: list the files")
    from trilink.maritime.config import load_config
    from trilink.maritime.geoio import build_geography
    from trilink.maritime.io import read_detections, write_events, write_quality, write_tracks
    from trilink.maritime.pipeline import run_batch
    from trilink.maritime.plot import render_map

    extras = {"--zones": zones, "--detections": detections, "--config": config,
              "--ports": ports, "--aoi": aoi}  # fmt: skip
    dashes = [name for name, path in extras.items() if is_stdio(path)]
    dashes += ["AIS input"] * sum(1 for p in inputs if is_stdio(p))
    if len(dashes) > 1:
        raise InputError(f"- (standard input) can be read only once: {', '.join(dashes)}")
    suffix = {"--zones": ".geojson", "--aoi": ".geojson", "--config": ".toml"}
    with ExitStack() as stack:
        given = {
            name: None
            if path is None
            else stack.enter_context(input_path(path, suffix=suffix.get(name, ".csv"), what=name))
            for name, path in extras.items()
        }
        zones, detections, config = given["--zones"], given["--detections"], given["--config"]
        ports, aoi = given["--ports"], given["--aoi"]
        cfg = load_config(config)
        files = [stack.enter_context(input_path(p, what="AIS input")) for p in inputs]
        sizes = sum(p.stat().st_size for p in files)
        data = _read(files, columns)
        with progress() as bar:
            task = bar.add_task("loading geography", total=4)
            dets = read_detections(detections) if detections else None
            geo, land = build_geography(
                _bbox(data.positions),
                zones_path=zones,
                ports_path=ports,
                aoi_path=aoi,
                bundled=not no_bundled,
                default_zones=not no_default_zones,
                zone_view=zone_view,
            )
            bar.update(task, advance=1, description="cleaning and detecting events")
            result = run_batch(data, geo, cfg, now_ms=int(time.time() * 1000), detections=dets)
            bar.update(task, advance=1, description="writing files")
            write_events(result.events, out)
            write_tracks(result.tracks, out, result.vessels)
            write_quality(result.quality, out)
            bar.update(task, advance=1, description="drawing map")
            if not no_map:
                render_map(
                    result.tracks, result.events, out / "map.png", land=land, zones=geo.zones
                )
            bar.update(task, advance=1)
        q = result.quality
        if as_json:
            typer.echo(json.dumps(_events_summary(inputs, sizes, data, result, out, no_map)))
            if publish:
                publish_events(result.events, root, nation, label, screen=screen,
                               tracks=result.tracks if publish_tracks else None,
                               say=err_console)  # fmt: skip
            return
        console.print(
            f"read {len(inputs)} file(s), {sizes / 1e6:.1f} MB: {q.input_rows} positions, "
            f"kept {q.output_rows} of {q.vessels} vessels"
        )
        _print_malformed(data.problems, shown=5)
        counts = result.events.group_by("type").len().sort("type").iter_rows()
        console.print("events: " + (", ".join(f"{t} {n}" for t, n in counts) or "none"))
        console.print(
            f"wrote {out}/events.csv, events.geojson, events.parquet, tracks.parquet, "
            f"tracks.geojson, quality.json, quality.txt" + ("" if no_map else ", map.png")
        )
        if publish:
            publish_events(
                result.events,
                root,
                nation,
                label,
                screen=screen,
                tracks=result.tracks if publish_tracks else None,
            )


def _events_dask(
    inputs: list[Path],
    out: Path,
    *,
    zones: Path | None,
    detections: Path | None,
    config: Path | None,
    ports: Path | None,
    aoi: Path | None,
    bundled: bool,
    zone_view: str,
    default_zones: bool,
    scheduler: str | None,
    workers: int,
    memory_limit: str,
    partitions: int | None,
    work: Path | None,
) -> None:
    import contextlib
    import logging

    from distributed import Client, LocalCluster

    from trilink.maritime.archive import GeoSpec, archive_files, run_archive
    from trilink.maritime.config import load_config
    from trilink.maritime.io import read_detections, write_events, write_quality

    cfg = load_config(config)
    paths: list[Path] = []
    for p in inputs:
        paths += archive_files(p) if p.is_dir() else [p]
    if not paths:
        raise ConfigError(
            f"no AIS files (.parquet, .csv, .nmea, ...) in {', '.join(map(str, inputs))}"
        )
    dets = read_detections(detections) if detections else None
    spec = GeoSpec(
        None,
        zones_path=zones,
        ports_path=ports,
        aoi_path=aoi,
        bundled=bundled,
        default_zones=default_zones,
        zone_view=zone_view,
    )
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        target: str | LocalCluster = scheduler or stack.enter_context(
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers,
                threads_per_worker=1,
                memory_limit=memory_limit,
                dashboard_address=":0",
                silence_logs=logging.CRITICAL,
            )
        )
        client = stack.enter_context(Client(target))  # type: ignore[no-untyped-call]
        console.print(f"Dask scheduler {client.scheduler.address}", soft_wrap=True)
        result = run_archive(
            paths,
            out,
            client,
            spec=spec,
            config=cfg,
            now_ms=int(time.time() * 1000),
            detections=dets,
            partitions=partitions,
            work=work,
            progress=lambda msg: console.print(msg, soft_wrap=True),
        )
    write_events(result.events, out)
    write_quality(result.quality, out)
    q = result.quality
    console.print(
        f"read {result.files} file(s) in {result.partitions} partitions: {q.input_rows} "
        f"positions, kept {q.output_rows} of {q.vessels} vessels in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    counts = result.events.group_by("type").len().sort("type").iter_rows()
    console.print("events: " + (", ".join(f"{t} {n}" for t, n in counts) or "none"))
    peak = max(result.worker_peak_rss.values(), default=0)
    console.print(f"peak worker memory {peak / 1e6:.0f} MB")
    console.print(
        f"wrote {out}/events.csv, events.geojson, events.parquet, tracks/part-*.parquet, "
        "quality.json, quality.txt",
        soft_wrap=True,
    )


@app.command("decode")
def decode_cmd(
    inputs: list[Path] = InputsArg,
    out: Path = typer.Option(
        ...,
        "--out",
        help="Output .parquet or .csv of positions; statics go next to it (<name>.statics.<ext>). "
        "- writes the positions to stdout (CSV unless --format parquet; no statics).",
    ),
    fmt: str = typer.Option(
        None, "--format", help="csv or parquet (default: from the --out suffix; csv for -)."
    ),
    columns: str = ColumnsOpt,
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print the summary as JSON: counts, malformed records by reason, and the first "
        "1000 with file, line and reason.",
    ),
) -> None:
    """Decode/convert AIS files to one positions table (Parquet or CSV), uncleaned, with
    the static data beside it. Malformed lines are counted with file, line and reason,
    never fatal: every good line is still decoded. Files are written whole or not at all."""
    to_stdout = is_stdio(out)
    kind = (fmt or ("csv" if to_stdout else out.suffix.lstrip(".") or "parquet")).lower()
    if kind not in ("csv", "parquet"):
        raise InputError(f"unknown output format {kind!r}: use csv or parquet", field="format")
    if to_stdout and as_json:
        raise InputError("--json prints to stdout, where --out - writes the positions: "
                         "give --out a file", field="json")  # fmt: skip
    with _input_files(list(inputs)) as files:
        data = _read(files, columns, "decoding AIS")
    say = err_console if to_stdout else console
    if to_stdout:
        with output_file(out) as fh:
            _write_table(data.positions, fh, kind)
    else:
        stem = out.with_suffix("")
        static_path = stem.with_name(stem.name + ".statics" + (out.suffix or f".{kind}"))
        with output_file(out) as fh, output_file(static_path) as sfh:
            _write_table(data.positions, fh, kind)
            _write_table(data.statics, sfh, kind)
    if as_json:
        summary = {
            "positions": data.positions.height,
            "statics": data.statics.height,
            "messages": data.messages,
            "layouts": data.layouts,
            "malformed": dict(data.problems.counts.most_common()),
            "problems": [
                {"source": p.source, "line": p.line, "reason": p.reason, "text": p.text}
                for p in data.problems.items
            ],
        }
        typer.echo(json.dumps(summary))
        return
    say.print(f"{data.positions.height} positions, {data.statics.height} static reports")
    _print_malformed(data.problems, say=say)


def _write_table(table: pl.DataFrame, fh: IO[bytes], kind: str) -> None:
    if kind == "csv":
        table.write_csv(fh)
    else:
        table.write_parquet(fh)


@app.command("cpa")
def cpa_cmd(
    mmsi_a: int = typer.Argument(..., help="First vessel MMSI."),
    mmsi_b: int = typer.Argument(..., help="Second vessel MMSI."),
    inputs: list[Path] = InputsArg,
    columns: str = ColumnsOpt,
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object: mmsi_a, mmsi_b, distance_m, time."
    ),
) -> None:
    """Closest point of approach of two vessels (metres, UTC time) over their common time."""
    import polars as pl

    from trilink.maritime.events import closest_approach
    from trilink.maritime.tables import epoch_ms

    with _input_files(list(inputs)) as files:
        data = _read(files, columns)
    df = data.positions.drop_nulls(["timestamp", "lat", "lon"]).sort("timestamp")
    a = df.filter(pl.col("mmsi") == mmsi_a)
    b = df.filter(pl.col("mmsi") == mmsi_b)
    if not a.height or not b.height:
        raise ConfigError(f"no positions for MMSI {mmsi_a if not a.height else mmsi_b}")
    dist, t_ms = closest_approach(
        epoch_ms(a),
        a["lon"].to_numpy(),
        a["lat"].to_numpy(),
        epoch_ms(b),
        b["lon"].to_numpy(),
        b["lat"].to_numpy(),
    )
    when = pl.Series([t_ms]).cast(pl.Datetime("ms", "UTC"))[0] if t_ms >= 0 else None
    if as_json:
        iso = when.isoformat().replace("+00:00", "Z") if when is not None else None
        record = {"mmsi_a": mmsi_a, "mmsi_b": mmsi_b, "distance_m": round(float(dist), 3),
                  "time": iso}  # fmt: skip
        typer.echo(json.dumps(record))
        return
    console.print(f"closest approach {dist:.3f} m at {when}")


def _append_events(out: Path, events: pl.DataFrame) -> None:
    import polars as pl

    from trilink.maritime.share import event_payloads

    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "events.csv"
    table = events.with_columns(
        pl.col("start").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
        pl.col("end").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
    )
    with csv_path.open("a", encoding="utf-8") as fh:
        table.write_csv(fh, include_header=fh.tell() == 0)
    with (out / "events.jsonl").open("a", encoding="utf-8") as fh:
        for payload in event_payloads(events):
            fh.write(json.dumps(payload) + "\n")


@app.command("listen")
def listen_cmd(
    udp: int = typer.Option(
        None,
        "--udp",
        help="Listen for NMEA datagrams on this UDP port "
        "(AIS-catcher, rtl-ais and most receivers send to 10110).",
    ),
    tcp: str = typer.Option(None, "--tcp", help="Connect to an NMEA TCP server HOST:PORT."),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to bind for --udp. The default, 127.0.0.1, takes datagrams from this "
        "machine only. For a receiver on the network give this machine's address on that "
        "network (or 0.0.0.0 for every interface): anyone who can reach the port can then "
        "feed the listener, so firewall it to the receiver.",
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        help="Directory: events.csv and events.jsonl are "
        "appended as events are found; quality.json at the end.",
        file_okay=False,
    ),
    zones: Path = typer.Option(None, "--zones", help="Zones GeoJSON (see 'events').", exists=True),
    config: Path = typer.Option(None, "--config", help="TOML thresholds.", exists=True),
    ports: Path = typer.Option(None, "--ports", help="Extra ports CSV.", exists=True),
    aoi: Path = typer.Option(None, "--aoi", help="Areas of interest GeoJSON.", exists=True),
    no_bundled: bool = typer.Option(False, "--no-bundled-geo", help="Skip bundled geography."),
    window_h: float = typer.Option(
        24.0, "--window-h", help="Hours of history kept and searched (message time)."
    ),
    interval: float = typer.Option(0.5, "--interval", help="Seconds between detection runs."),
    duration: float = typer.Option(
        None, "--duration", help="Stop after this many seconds (default: run until Ctrl-C)."
    ),
    status: float = typer.Option(
        60.0,
        "--status",
        help="Seconds between status lines (lines, messages, positions, events, malformed "
        "records by reason); 0 for none.",
    ),
    publish: bool = PublishOpt,
    root: Path = DirOpt,
    nation: str = NationOpt,
    label: str = LabelOpt,
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print each event as one JSON object per line (JSON lines, as in events.jsonl) "
        "on stdout; status lines go to stderr.",
    ),
) -> None:
    """Watch a live AIS feed and write (and optionally publish) each event as soon as its
    rule is met. Malformed records are counted by reason and never stop the listener."""
    from trilink.maritime.config import load_config
    from trilink.maritime.geoio import build_geography
    from trilink.maritime.io import write_quality
    from trilink.maritime.live import LiveProcessor
    from trilink.maritime.live_io import open_tcp, open_udp, run

    if (udp is None) == (tcp is None):
        raise ConfigError("give exactly one of --udp PORT or --tcp HOST:PORT")
    if publish and (root is None or nation is None or label is None):
        raise ConfigError("--publish needs --dir, --nation and --label")
    cfg = load_config(config)
    geo, _ = build_geography(
        None, zones_path=zones, ports_path=ports, aoi_path=aoi, bundled=not no_bundled
    )
    source = f"udp:{udp}" if udp is not None else f"tcp:{tcp}"
    processor = LiveProcessor(geo=geo, config=cfg, source=source, window_h=window_h)
    sock = open_udp(host, udp) if udp is not None else open_tcp(tcp)
    where = "UDP {}:{}".format(*sock.getsockname()[:2]) if udp is not None else f"TCP {tcp}"
    say = err_console if as_json else console
    say.print(f"listening on {where}; events go to {out}/events.csv", soft_wrap=True)

    def on_events(events: pl.DataFrame) -> None:
        _append_events(out, events)
        if as_json:
            from trilink.maritime.share import event_payloads

            for payload in event_payloads(events):
                typer.echo(json.dumps(payload))
            if publish:
                publish_events(events, root, nation, label, say=err_console)
            return
        for r in events.iter_rows(named=True):
            console.print(
                f"{r['type']:<16} {r['start']}  mmsi {r['mmsi']}  "
                f"other {r['other_mmsi']}  {r['lat']}, {r['lon']}",
                markup=False,
            )
        if publish:
            publish_events(events, root, nation, label)

    def on_status(proc: LiveProcessor) -> None:
        say.print("status: " + proc.status_line(), markup=False, soft_wrap=True)

    try:
        run(
            sock,
            processor,
            on_events,
            interval_s=interval,
            duration_s=duration,
            on_status=on_status if status > 0 else None,
            status_s=status,
        )
    except KeyboardInterrupt:
        say.print("stopped")
    finally:
        sock.close()
    if processor.last_quality is not None:
        write_quality(processor.last_quality, out)
    say.print(processor.status_line(), markup=False, soft_wrap=True)
    _print_malformed(processor.parser.problems, shown=5, totals=False, say=say)


def _events_summary(
    inputs: list[Path], size: int, data: Ingested, result: object, out: Path, no_map: bool
) -> dict[str, object]:
    q = result.quality  # type: ignore[attr-defined]
    events = result.events  # type: ignore[attr-defined]
    counts = {t: n for t, n in events.group_by("type").len().sort("type").iter_rows()}
    files = ["events.csv", "events.geojson", "events.parquet", "tracks.parquet",
             "tracks.geojson", "quality.json", "quality.txt"]  # fmt: skip
    files += [] if no_map else ["map.png"]
    return {
        "inputs": [str(p) for p in inputs],
        "bytes": size,
        "layouts": data.layouts,
        "positions": q.input_rows,
        "kept": q.output_rows,
        "vessels": q.vessels,
        "events": counts,
        "malformed": dict(data.problems.counts.most_common()),
        "out": str(out),
        "files": files,
    }
