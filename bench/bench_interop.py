"""Export benchmark (issue 16 "Speed"): 100,000 map features in each format.

Targets: >= 100,000 features/s for GeoJSON, CSV and GeoParquet, >= 20,000/s for KML and CoT,
peak memory of the writer <= 3x the size of what it writes.

The picture is built once as the COP's index holds it (items with their features: events,
vessel tracks, missile tracks with uncertainty ellipses, sanctions hits, impact warnings), and
each writer is timed writing it to a file, best of ``--repeat`` runs. Memory is what the write
adds to the process's peak resident memory (Python, Arrow, numpy and shapely alike), measured
in a fresh process that has built the same items: the kernel's peak (VmHWM) is reset through
/proc/self/clear_refs just before the write (after a write of ten items, so the modules it
imports are loaded). Building the items from signed envelopes (what ``trilink export`` adds
before writing) is timed too.

Baseline, in the same run: GDAL's ``ogr2ogr`` converting the GeoJSON export to KML (and to
Parquet where its GDAL has that driver), geopandas converting it to GeoParquet, and the same
conversions written with ``json`` + shapely + pyarrow and ``xml.etree.ElementTree``.

Run: .venv/bin/python bench/bench_interop.py [--quick] [--repeat N]
Writes docs/benchmarks/interop.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line, proc_status_kb  # noqa: E402
from trilink.interop.formats import FORMATS, write_file  # noqa: E402
from trilink.interop.items import Item, build_item  # noqa: E402
from trilink.interop.marking import marking_of  # noqa: E402
from trilink.model.label import parse_label  # noqa: E402
from trilink.model.report import build_envelope  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "benchmarks" / "interop.md"
TARGETS = {"geojson": 100_000, "csv": 100_000, "geoparquet": 100_000, "kml": 20_000, "cot": 20_000}
LIVE = "SECRET//REL TO USA, JPN, KOR"
DRILL = "EXERCISE//CONFIDENTIAL//REL TO USA, JPN, KOR"


def _ecef(lon: float, lat: float, alt: float) -> list[float]:
    a, e2 = 6_378_137.0, 6.69437999014e-3
    la, lo = math.radians(lat), math.radians(lon)
    n = a / math.sqrt(1 - e2 * math.sin(la) ** 2)
    return [
        (n + alt) * math.cos(la) * math.cos(lo),
        (n + alt) * math.cos(la) * math.sin(lo),
        (n * (1 - e2) + alt) * math.sin(la),
    ]


def payloads(scale: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, label, payload) giving about 100,000 features at scale 10,000."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    cov = [[250_000.0 if i == j else 0.0 for j in range(6)] for i in range(6)]
    for k in range(3 * scale):  # events: one point each
        lon, lat = 120 + (k % 300) / 10, 25 + (k // 300 % 200) / 10
        out.append(
            (
                "maritime.event",
                LIVE if k % 4 else DRILL,
                {
                    "type": "encounter",
                    "start": "2026-11-23T05:00:00Z",
                    "end": "2026-11-23T05:40:00Z",
                    "mmsi": 412000000 + k if k % 10 else None,
                    "other_mmsi": 413000000 + k,
                    "lat": lat,
                    "lon": lon,
                    "name": f"VESSEL {k}",
                    "duration_h": 0.7,
                },
            )
        )
    for k in range(scale):  # vessel tracks: a point and a 20-point line
        lon, lat = 125 + (k % 100) / 10, 30 + (k // 100) / 20
        out.append(
            (
                "maritime.track",
                LIVE,
                {
                    "mmsi": 440000000 + k,
                    "imo": str(9000000 + k),
                    "name": f"SHIP {k}",
                    "ship_type": 70,
                    "start": "2026-11-23T04:00:00Z",
                    "end": "2026-11-23T05:00:00Z",
                    "lat": lat,
                    "lon": lon,
                    "track": [(lon - 0.01 * i, lat - 0.005 * i) for i in range(20)][::-1],
                    "positions_total": 20,
                    "sog_kn": 11.0,
                    "cog_deg": 45.0,
                },
            )
        )
    for k in range(scale):  # missile tracks: a point at altitude and its uncertainty ellipse
        lon, lat, alt = 126 + (k % 100) / 20, 38 + (k // 100) / 50, 100_000.0
        out.append(
            (
                "missile.track",
                LIVE,
                {
                    "track_id": f"T{k}",
                    "nation": "USA",
                    "nations": ["USA", "JPN"],
                    "time": "2026-11-23T06:00:10Z",
                    "t_s": 10.0,
                    "lat": lat,
                    "lon": lon,
                    "alt_m": alt,
                    "position_ecef_m": _ecef(lon, lat, alt),
                    "velocity_ecef_mps": [-1500.0, 2500.0, 800.0],
                    "covariance": cov,
                    "sensors": ["USA-TPY2-1", "JPN-FPS5-1"],
                },
            )
        )
    for k in range(scale):  # sanctions hits: one point
        out.append(
            (
                "sanctions.hit",
                LIVE,
                {
                    "summary": f"hit {k}",
                    "source": "encounter",
                    "lat": 29.5 + k / 1e4,
                    "lon": 124.8,
                    "hits": [],
                },
            )
        )
    for k in range(2 * scale // 3):  # warnings: impact point, impact ellipse, launch point
        out.append(
            (
                "missile.warning",
                LIVE,
                {
                    "warning_id": f"W{k}",
                    "status": "issue",
                    "time": "2026-11-23T06:00:30Z",
                    "track_ids": [f"T{k}"],
                    "nations": ["USA"],
                    "impact_lat": 40.3,
                    "impact_lon": 137.4,
                    "ellipse_semi_major_m": 50_000.0,
                    "ellipse_semi_minor_m": 20_000.0,
                    "ellipse_orientation_deg": 75.0,
                    "impact_time": "2026-11-23T06:09:00Z",
                    "time_to_impact_s": 510.0,
                    "p_impact_in_japan_eez": 0.9,
                    "p_overflies_japan": 0.0,
                    "launch_lat": 39.0,
                    "launch_lon": 125.6,
                    "confidence": 0.95,
                },
            )
        )
    return out


def build(scale: int) -> tuple[list[Item], float]:
    envelopes = []
    labels = {text: parse_label(text) for text in (LIVE, DRILL)}
    for n, (kind, label, payload) in enumerate(payloads(scale), start=1):
        env = build_envelope(
            origin="USA", origin_seq=n, kind=kind, label=labels[label], payload=payload
        )
        envelopes.append((env, labels[label], n))
    start = time.perf_counter()
    items = [build_item(env, label, seq) for env, label, seq in envelopes]
    return items, time.perf_counter() - start


def measure(write: Callable[[], int], repeat: int) -> tuple[float, int]:
    """(best seconds, count) of ``repeat`` runs."""
    best, count = math.inf, 0
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        count = write()
        best = min(best, time.perf_counter() - start)
    return best, count


def write_peak(fmt_name: str, scale: int) -> tuple[int, int]:
    """(peak bytes allocated, bytes added to the peak resident memory) by the write of
    ``fmt_name``, in a fresh process (``--memory-of``): nothing big written before, so no
    allocator cache hides the cost. Allocated: Python's peak (tracemalloc, numpy and shapely
    included) plus Arrow's pool peak; resident also counts what the allocators keep."""
    done = subprocess.run(
        [sys.executable, __file__, "--memory-of", fmt_name, "--scale", str(scale)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return int(found["allocated"]), int(found["rss"])


def _memory_of(fmt_name: str, scale: int) -> None:
    items, _ = build(scale)
    fmt = FORMATS[fmt_name]
    portions = fmt.portions(items)
    marking = marking_of([i.label for i in items], "USA")
    with tempfile.TemporaryDirectory() as tmp:
        # the modules a first export imports are the process's, not this write's
        write_file(Path(tmp) / f"small.{fmt.extension}", fmt, portions[:10], marking, "USA")
        gc.collect()
        pool = pa.default_memory_pool()
        arrow_before = pool.max_memory() or 0
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        before = proc_status_kb("VmRSS")
        tracemalloc.start()
        write_file(Path(tmp) / f"export.{fmt.extension}", fmt, portions, marking, "USA")
        _, python_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak = proc_status_kb("VmHWM")
    arrow_peak = max(0, (pool.max_memory() or 0) - arrow_before)
    allocated = python_peak + arrow_peak
    print(json.dumps({"rss": (peak - before) * 1024, "allocated": allocated}))


def baseline_parquet(source: Path, target: Path) -> int:
    doc = json.loads(source.read_bytes())
    features = doc["features"]
    geometries = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    columns: dict[str, list[Any]] = {}
    for f in features:
        for key in f["properties"]:
            columns.setdefault(key, [])
    for f in features:
        for key, values in columns.items():
            value = f["properties"].get(key)
            values.append(value if not isinstance(value, (list, dict)) else json.dumps(value))
    arrays = {
        k: pa.array([None if v is None else str(v) for v in vs]) for k, vs in columns.items()
    }
    arrays["geometry"] = pa.array(shapely.to_wkb(geometries).tolist(), type=pa.binary())
    pq.write_table(pa.table(arrays), target, compression="zstd")
    return len(features)


def baseline_kml(source: Path, target: Path) -> int:
    ns = "http://www.opengis.net/kml/2.2"
    ET.register_namespace("", ns)
    doc = json.loads(source.read_bytes())
    root = ET.Element(f"{{{ns}}}kml")
    document = ET.SubElement(root, f"{{{ns}}}Document")
    for feature in doc["features"]:
        placemark = ET.SubElement(document, f"{{{ns}}}Placemark")
        ET.SubElement(placemark, f"{{{ns}}}name").text = str(feature["properties"].get("title"))
        data = ET.SubElement(placemark, f"{{{ns}}}ExtendedData")
        for key, value in feature["properties"].items():
            item = ET.SubElement(data, f"{{{ns}}}Data", name=key)
            ET.SubElement(item, f"{{{ns}}}value").text = str(value)
        geometry = feature["geometry"]
        coords = geometry["coordinates"]
        if geometry["type"] == "Point":
            point = ET.SubElement(placemark, f"{{{ns}}}Point")
            ET.SubElement(point, f"{{{ns}}}coordinates").text = ",".join(map(str, coords))
        elif geometry["type"] == "LineString":
            line = ET.SubElement(placemark, f"{{{ns}}}LineString")
            ET.SubElement(line, f"{{{ns}}}coordinates").text = " ".join(
                ",".join(map(str, c)) for c in coords
            )
        else:
            poly = ET.SubElement(placemark, f"{{{ns}}}Polygon")
            outer = ET.SubElement(
                ET.SubElement(poly, f"{{{ns}}}outerBoundaryIs"), f"{{{ns}}}LinearRing"
            )
            ET.SubElement(outer, f"{{{ns}}}coordinates").text = " ".join(
                ",".join(map(str, c)) for c in coords[0]
            )
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
    return len(doc["features"])


def baselines(source: Path, work: Path, repeat: int) -> list[tuple[str, str, float, int]]:
    """(tool, conversion, seconds, features) of the yardstick conversions."""
    rows = []
    ogr = shutil.which("ogr2ogr")
    drivers = ""
    if ogr:
        drivers = subprocess.run([ogr, "--formats"], capture_output=True, text=True).stdout
    for driver, name in (("KML", "kml"), ("Parquet", "parquet")):
        if f" {driver} -" not in drivers:
            continue  # Debian's GDAL 3.6 has no Parquet driver
        target = work / f"ogr.{name}"
        best = math.inf
        for _ in range(repeat):
            target.unlink(missing_ok=True)
            start = time.perf_counter()
            subprocess.run(
                [ogr, "-f", driver, str(target), str(source)], check=True, capture_output=True
            )
            best = min(best, time.perf_counter() - start)
        rows.append(("GDAL ogr2ogr", f"GeoJSON -> {name}", best, 0))
    import geopandas  # GDAL (pyogrio) reads, pyarrow writes: what a Python user runs

    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        frame = geopandas.read_file(source)
        frame.to_parquet(work / "gpd.parquet")
        best = min(best, time.perf_counter() - start)
    rows.append(("geopandas (GDAL read)", "GeoJSON -> GeoParquet", best, len(frame)))
    for tool, name, convert in (
        ("json + shapely + pyarrow", "GeoJSON -> Parquet (WKB)", baseline_parquet),
        ("json + xml.etree.ElementTree", "GeoJSON -> KML", baseline_kml),
    ):
        best, count = math.inf, 0
        for _ in range(repeat):
            start = time.perf_counter()
            count = convert(source, work / f"baseline.{name[-4:].strip('()')}")
            best = min(best, time.perf_counter() - start)
        rows.append((tool, name, best, count))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10,000 features instead")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-of", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    scale = args.scale or (1_000 if args.quick else 10_000)
    if args.memory_of:
        _memory_of(args.memory_of, scale)
        return
    items, build_s = build(scale)
    features = sum(len(i.features) for i in items)
    marking = marking_of([i.label for i in items], "USA")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for fmt in FORMATS.values():
            portions = fmt.portions(items)
            target = work / f"export.{fmt.extension}"
            seconds, count = measure(
                lambda fmt=fmt, portions=portions, target=target: write_file(
                    target, fmt, portions, marking, "USA"
                ),
                args.repeat,
            )
            peak, rss = write_peak(fmt.name, scale)
            size = target.stat().st_size
            covered = sum(len(i.features) for i in portions)
            rows.append((fmt.name, count, fmt.unit, covered, seconds, size, peak, rss))
            print(
                f"{fmt.name:10} {count:>7} {fmt.unit:10} {covered / seconds:>10,.0f} features/s "
                f"{size / 1e6:7.1f} MB  peak {peak / 1e6:7.1f} MB",
                flush=True,
            )
        base = baselines(work / "export.geojson", work, args.repeat)
        for tool, name, seconds, _ in base:
            print(f"{tool}: {name} {seconds:.2f} s", flush=True)
    write_report(rows, base, features, len(items), build_s)


def write_report(
    rows: list[Any], base: list[Any], features: int, items: int, build_s: float
) -> None:
    lines = [
        "# Export benchmark (`bench/bench_interop.py`)",
        "",
        f"Machine: {machine_line()}. Shared with other jobs (1-minute load average "
        f"{os.getloadavg()[0]:.1f} on 2 cores when the run ended); best of 3 runs per format.",
        "",
        f"The picture: {items:,} reports with {features:,} map features (maritime events, "
        "vessel tracks with 20-point lines, missile tracks at altitude with uncertainty "
        "ellipses, sanctions hits, impact warnings with their ellipses), built as the COP's "
        f"index holds it. Building these items from signed envelopes took {build_s:.2f} s "
        f"({items / build_s:,.0f} reports/s, {features / build_s:,.0f} features/s; what "
        "`trilink export` adds before writing).",
        "",
        "| format | written | features covered | seconds | features/s | target | output | "
        "peak allocated while writing | peak / output | resident memory added |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, count, unit, covered, seconds, size, peak, rss in rows:
        rate = covered / seconds
        ok = "met" if rate >= TARGETS[name] else "MISSED"
        ratio = peak / size
        lines.append(
            f"| {name} | {count:,} {unit} | {covered:,} | {seconds:.3f} | {rate:,.0f} | "
            f"{TARGETS[name]:,} ({ok}) | {size / 1e6:.1f} MB | {peak / 1e6:.1f} MB | "
            f"{ratio:.2f}x{'' if ratio <= 3 else ' (over 3x)'} | {rss / 1e6:.1f} MB |"
        )
    lines += [
        "",
        "Memory is the writer's own, in a fresh process that holds the items (the COP's "
        "index) already: the peak allocated (Python's tracemalloc peak, numpy and shapely "
        "included, plus Arrow's memory pool peak) and what the write added to the peak "
        "resident memory (VmHWM reset through /proc/self/clear_refs before the write; it also "
        "counts what the allocators keep after freeing). "
        "KML and CoT write one placemark or event per report (its features in one "
        "MultiGeometry, or its point with the ellipse as a shape), so their counts are lower "
        "than the features they cover; CoT writes one event per track (uid).",
        "",
        "## Baseline in the same run",
        "",
    ]
    lines += [
        "GDAL's `ogr2ogr` (Debian's gdal-bin, `make bench` installs it) converts the GeoJSON "
        "export to KML; Debian's GDAL has no Parquet driver, so for GeoParquet the yardstick is "
        "geopandas (GDAL through pyogrio reads the GeoJSON, pyarrow writes). The `json` + "
        "shapely + pyarrow and `xml.etree.ElementTree` rows write less than trilink does (no "
        "styles, folders or time).",
        "",
    ]
    lines += ["| tool | conversion | seconds | features/s |", "|---|---|---:|---:|"]
    for tool, name, seconds, count in base:
        rate = f"{count / seconds:,.0f}" if count else "-"
        lines.append(f"| {tool} | {name} | {seconds:.3f} | {rate} |")
    OUT.write_text("\n".join(lines) + "\n", "utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
