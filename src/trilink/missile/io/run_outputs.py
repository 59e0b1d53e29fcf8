"""File edge of the offline scenario run: CSV, GeoJSON, PNG and JSON of a ``ScenarioRun``.

``write_outputs`` writes what a watch officer or analyst opens after a run (see
docs/missile.md, "Scenarios"); ``summary`` is what the CLI prints.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from pyproj import Geod

from trilink.missile.frames import ecef_to_geodetic
from trilink.missile.fuse.share import from_payload
from trilink.missile.io.geojson import (
    ellipse_ring,
    feature,
    line_geometry,
    point_geometry,
    truth_features,
)
from trilink.missile.io.trajectory import bundled_land, draw_geometry
from trilink.missile.run import ScenarioRun
from trilink.missile.sim.estimates import estimate
from trilink.missile.sim.scenario import Scenario, Truth
from trilink.missile.types import NATIONS, TrackState
from trilink.missile.warn.zones import JapanZones

GEOD = Geod(ellps="WGS84")


# ------------------------------------------------------------------------------ rows


def _utc(sc: Scenario, t_s: float) -> str:
    return (sc.epoch_utc + dt.timedelta(seconds=t_s)).isoformat()


def _nearest_truth(truths: list[Truth], t_s: float, pos: np.ndarray) -> tuple[float | None, str]:
    best: tuple[float, str] | None = None
    for tr in truths:
        p = tr.position_at(t_s)
        if p is not None:
            d = float(np.linalg.norm(pos - p))
            if best is None or d < best[0]:
                best = (d, tr.spec.launch_id)
    return (None, "") if best is None else best


def _track_row(
    run: ScenarioRun, t_s: float, nation: str, picture: str, s: TrackState
) -> dict[str, Any]:
    lat, lon, alt = ecef_to_geodetic(s.x[:3])
    err, truth_id = _nearest_truth(run.truths, s.t_s, s.x[:3])
    return {
        "t_s": t_s,
        "time_utc": _utc(run.scenario, t_s),
        "nation": nation,
        "picture": picture,
        "track_id": s.track_id,
        "nations": " ".join(s.nations or (s.nation,)),
        "status": s.status.value,
        "n_updates": s.n_updates,
        "lat": round(float(lat), 5),
        "lon": round(float(lon), 5),
        "alt_m": round(float(alt), 1),
        "sigma_pos_m": round(math.sqrt(max(float(np.trace(s.P[:3, :3])), 0.0)), 1),
        "error_m": None if err is None else round(err, 1),
        "truth_id": truth_id,
        "label": s.label or "",
    }


def track_rows(run: ScenarioRun) -> list[dict[str, Any]]:
    """One row per track per cycle: national (as shared), fused picture, centralised."""
    rows: list[dict[str, Any]] = []
    for c in run.cycles:
        for n, nc in c.nations.items():
            for p in nc.tracks:
                rows.append(_track_row(run, c.t_s, n, "national", from_payload(p, label=nc.label)))
            for s in nc.states:
                rows.append(_track_row(run, c.t_s, n, "fused", s))
        for s in c.central:
            rows.append(_track_row(run, c.t_s, "ALL", "central", s))
    return rows


def estimate_rows(run: ScenarioRun) -> list[dict[str, Any]]:
    truth_impact = {t.spec.launch_id: _truth_impact(t) for t in run.truths}
    rows: list[dict[str, Any]] = []
    for c in run.cycles:
        for n, nc in c.nations.items():
            for a, s in zip(nc.assessments, nc.states, strict=True):
                imp, la = a.impact, a.launch
                _, truth_id = _nearest_truth(run.truths, s.t_s, s.x[:3])
                miss = None
                if imp is not None and truth_id:
                    tlat, tlon = truth_impact[truth_id]
                    miss = GEOD.inv(imp.lon_deg, imp.lat_deg, tlon, tlat)[2] / 1e3
                rows.append(
                    {
                        "t_s": c.t_s,
                        "nation": n,
                        "track_id": a.track_id,
                        "nations": " ".join(a.nations),
                        "truth_id": truth_id,
                        "impact_lat": None if imp is None else round(imp.lat_deg, 5),
                        "impact_lon": None if imp is None else round(imp.lon_deg, 5),
                        "semi_major_km": None if imp is None else round(imp.semi_major_m / 1e3, 2),
                        "semi_minor_km": None if imp is None else round(imp.semi_minor_m / 1e3, 2),
                        "orientation_deg": None
                        if imp is None
                        else round(imp.major_azimuth_deg, 1),
                        "impact_t_s": None if imp is None else round(imp.t_s, 1),
                        "time_to_impact_s": None
                        if a.time_to_impact_s is None
                        else round(a.time_to_impact_s, 1),
                        "impact_error_km": None if miss is None else round(float(miss), 2),
                        "launch_lat": None if la is None else round(la.lat_deg, 5),
                        "launch_lon": None if la is None else round(la.lon_deg, 5),
                        "launch_t_s": None if la is None else round(la.t_s, 1),
                        "apogee_km": None if a.apogee_km is None else round(a.apogee_km, 1),
                        "class": a.missile_class,
                        "lofted": a.lofted,
                        "in_boost": a.in_boost,
                        "p_impact_in_japan_eez": round(a.p_impact_in_japan_eez, 4),
                        "p_overflies_japan": round(a.p_overflies_japan, 4),
                    }
                )
    return rows


def warning_rows(run: ScenarioRun) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for c in run.cycles:
        for n, nc in c.nations.items():
            for w in nc.warnings:
                d = {"t_s": c.t_s, "nation": n, "label": w.label or ""}
                for k, v in _payload_dict(w.payload).items():
                    d[k] = " ".join(v) if isinstance(v, list) else v
                rows.append(d)
    return rows


def _payload_dict(p: Any) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(p)
    return out


def _truth_impact(t: Truth) -> tuple[float, float]:
    lat, lon, _ = ecef_to_geodetic(t.obj.trajectory.pos_ecef_m[-1])
    return float(lat), float(lon)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        if not rows:
            fh.write("")
            return
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


# ------------------------------------------------------------------------------ GeoJSON


def tracks_geojson(run: ScenarioRun, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Tracks as LineStrings (per-vertex time and 1-sigma position uncertainty) + truth."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["nation"], r["picture"], r["track_id"]), []).append(r)
    feats = []
    for (nation, picture, tid), rs in groups.items():
        if len(rs) < 2:
            continue
        feats.append(
            feature(
                line_geometry([[r["lon"], r["lat"], r["alt_m"]] for r in rs]),
                {
                    "kind": "track",
                    "nation": nation,
                    "picture": picture,
                    "track_id": tid,
                    "label": rs[-1]["label"],
                    "exercise": run.scenario.exercise,
                    "t_s": [r["t_s"] for r in rs],
                    "sigma_pos_m": [r["sigma_pos_m"] for r in rs],
                    "final_sigma_pos_m": rs[-1]["sigma_pos_m"],
                },
            )
        )
    feats += truth_features(run.truths)
    return {"type": "FeatureCollection", "features": feats}


def estimates_geojson(run: ScenarioRun) -> dict[str, Any]:
    """Each nation's last impact ellipse (Polygon) and launch point per track, truth impacts."""
    last: dict[tuple[str, str], Any] = {}
    for c in run.cycles:
        for n, nc in c.nations.items():
            for a in nc.assessments:
                if a.impact is not None:
                    last[(n, a.track_id)] = (c.t_s, a)
    feats = []
    for (n, tid), (t_s, a) in last.items():
        imp = a.impact
        props = {
            "kind": "impact_ellipse_95",
            "nation": n,
            "track_id": tid,
            "t_s": t_s,
            "label": a.label or "",
            "semi_major_m": round(imp.semi_major_m, 1),
            "semi_minor_m": round(imp.semi_minor_m, 1),
            "p_impact_in_japan_eez": a.p_impact_in_japan_eez,
            "p_overflies_japan": a.p_overflies_japan,
            "class": a.missile_class,
        }
        ring = ellipse_ring(
            imp.lat_deg, imp.lon_deg, imp.semi_major_m, imp.semi_minor_m, imp.major_azimuth_deg
        )
        feats.append(feature({"type": "Polygon", "coordinates": [ring]}, props))
        if a.launch is not None:
            feats.append(
                feature(
                    point_geometry(a.launch.lon_deg, a.launch.lat_deg),
                    {"kind": "launch_estimate", "nation": n, "track_id": tid, "t_s": t_s},
                )
            )
    for t in run.truths:
        lat, lon = _truth_impact(t)
        feats.append(
            feature(
                point_geometry(lon, lat),
                {"kind": "truth_impact", "launch_id": t.spec.launch_id},
            )
        )
    return {"type": "FeatureCollection", "features": feats}


def warnings_geojson(run: ScenarioRun) -> dict[str, Any]:
    feats = []
    for c in run.cycles:
        for n, nc in c.nations.items():
            for w in nc.warnings:
                p = w.payload
                props = {"nation": n, "label": w.label or "", **_payload_dict(p)}
                ring = ellipse_ring(
                    p.impact_lat,
                    p.impact_lon,
                    p.ellipse_semi_major_m,
                    p.ellipse_semi_minor_m,
                    p.ellipse_orientation_deg,
                )
                feats.append(feature({"type": "Polygon", "coordinates": [ring]}, props))
                if p.launch_lat is not None and p.launch_lon is not None:
                    feats.append(
                        feature(
                            point_geometry(p.launch_lon, p.launch_lat),
                            {"kind": "launch_point", "nation": n, "warning_id": p.warning_id,
                             "status": p.status, "label": w.label or ""},
                        )
                    )  # fmt: skip
    return {"type": "FeatureCollection", "features": feats}


# ------------------------------------------------------------------------------ summary


def summary(run: ScenarioRun, zones: JapanZones | None, zones_note: str = "") -> dict[str, Any]:
    """What happened, in numbers: truth, per-nation counters and rejections, warnings, errors."""
    sc = run.scenario
    launches = []
    for t in run.truths:
        est = estimate(
            t.obj.trajectory,
            japan_eez=None if zones is None else zones.eez,
            japan_territory=None if zones is None else zones.territory,
        )
        launches.append(
            {
                "id": t.spec.launch_id,
                "site": t.spec.site,
                "t_launch_s": t.spec.t_launch_s,
                "flight_time_s": round(est.flight_time_s, 1),
                "apogee_km": round(est.apogee_km, 1),
                "range_km": round(est.range_km, 1),
                "impact": [round(est.impact_lat_deg, 4), round(est.impact_lon_deg, 4)],
                "class": est.missile_class,
                "impact_in_japan_eez": est.impact_in_japan_eez,
                "overflies_japan": est.overflies_japan,
            }
        )
    warnings: dict[str, Counter[str]] = {n: Counter() for n in NATIONS}
    first_issue: dict[str, float] = {}
    for c in run.cycles:
        for n, nc in c.nations.items():
            for w in nc.warnings:
                warnings[n][w.status] += 1
                if w.status == "issue":
                    first_issue.setdefault(n, c.t_s)
    rms: dict[str, float] = {}
    errs: dict[str, list[float]] = {}
    for r in track_rows(run):
        if r["error_m"] is not None and r["error_m"] < 50_000.0:
            key = f"{r['nation']} {r['picture']}" if r["picture"] != "central" else "central"
            errs.setdefault(key, []).append(r["error_m"])
    for k, v in sorted(errs.items()):
        rms[k] = round(float(np.sqrt(np.mean(np.square(v)))), 1)
    rejected = {
        n: {k: v for k, v in c.items() if k.startswith("rejected")}
        for n, c in run.counters.items()
    }
    return {
        "scenario": sc.name,
        "source": sc.source,
        "exercise": sc.exercise,
        "labels": sc.labels,
        "seed": sc.seed,
        "duration_s": sc.duration_s,
        "cycle_s": sc.cycle_s,
        "epoch_utc": sc.epoch_utc.isoformat(),
        "japan_zones": "trilink.geo view=" + sc.view if zones is not None else zones_note,
        "launches": launches,
        "sensors": {n: [s.sensor_id for s in sc.nation_sensors(n)] for n in NATIONS},
        "faults_injected": run.faults_injected,
        "track_releases": run.releases,
        "measurements_rejected": rejected,
        "tracker_counters": run.counters,
        "warnings": {n: dict(c) for n, c in warnings.items()},
        "first_warning_t_s": first_issue,
        "position_rms_m": rms,
    }


# ------------------------------------------------------------------------------ plots


def _plots(run: ScenarioRun, rows: list[dict[str, Any]], zones: JapanZones | None,
           out: Path) -> list[Path]:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shapely

    colours = {"USA": "tab:blue", "JPN": "tab:red", "KOR": "tab:green", "ALL": "black"}
    paths: list[Path] = []
    name = run.scenario.name
    title = name if not run.scenario.exercise or "EXERCISE" in name else "EXERCISE — " + name
    # ground track + ellipses
    fig, ax = plt.subplots(figsize=(10, 7.5))
    lons: list[float] = []
    lats: list[float] = []
    for t in run.truths:
        lat, lon, _ = ecef_to_geodetic(t.obj.trajectory.pos_ecef_m)
        ax.plot(lon, lat, color="0.2", lw=2.0, alpha=0.5)
        ax.plot(lon[0], lat[0], "k^")
        ax.plot(lon[-1], lat[-1], "kx", ms=10, mew=2)
        lons += [float(lon.min()), float(lon.max())]
        lats += [float(lat.min()), float(lat.max())]
    for n in NATIONS:
        fused = [r for r in rows if r["nation"] == n and r["picture"] == "fused"]
        ax.plot([r["lon"] for r in fused], [r["lat"] for r in fused], ".", ms=2,
                color=colours[n], label=f"{n} fused picture")  # fmt: skip
    for c in run.cycles:
        for n, nc in c.nations.items():
            for w in nc.warnings:
                p = w.payload
                ring = np.array(
                    ellipse_ring(
                        p.impact_lat, p.impact_lon, p.ellipse_semi_major_m,
                        p.ellipse_semi_minor_m, p.ellipse_orientation_deg,
                    )
                )  # fmt: skip
                style = "--" if p.status == "cancel" else "-"
                ax.plot(ring[:, 0], ring[:, 1], style, color=colours[n], lw=0.7, alpha=0.6)
    pad = 2.0
    x0, x1 = min(lons) - pad, max(lons) + pad
    y0, y1 = min(lats) - pad, max(lats) + pad
    window = shapely.box(x0, y0, x1, y1)
    land = bundled_land()
    if land is not None:
        draw_geometry(ax, shapely.intersection(land, window), color="0.45", lw=0.6)
    if zones is not None:
        draw_geometry(ax, shapely.intersection(zones.eez.boundary, window), color="tab:cyan",
                       lw=0.8, ls="--")  # fmt: skip
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1.0 / math.cos(math.radians(0.5 * (y0 + y1))))
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    ax.set_title(title + "\ntruth (grey), fused tracks, warning ellipses (95 %; dashed: cancel), "
                 "Japan EEZ limit (cyan)", fontsize=9)  # fmt: skip
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    paths.append(out / "ground_track.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    # altitude profile
    fig, ax = plt.subplots(figsize=(10, 5))
    for t in run.truths:
        _, _, alt = ecef_to_geodetic(t.obj.trajectory.pos_ecef_m)
        ax.plot((t.obj.trajectory.t_s + t.spec.t_launch_s) / 60.0, alt / 1e3, color="0.2",
                lw=2, alpha=0.5)  # fmt: skip
    for n in NATIONS:
        fused = [r for r in rows if r["nation"] == n and r["picture"] == "fused"]
        ax.plot([r["t_s"] / 60.0 for r in fused], [r["alt_m"] / 1e3 for r in fused], ".", ms=2,
                color=colours[n], label=f"{n} fused")  # fmt: skip
    ax.set_xlabel("time since scenario start (min)")
    ax.set_ylabel("altitude (km)")
    ax.set_title(title + ": altitude (grey: truth)", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    paths.append(out / "altitude.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    # error vs time
    fig, ax = plt.subplots(figsize=(10, 5))
    for n in (*NATIONS, "ALL"):
        for picture, style in (("national", ":"), ("fused", "-"), ("central", "-")):
            rs = [r for r in rows if r["nation"] == n and r["picture"] == picture
                  and r["error_m"] is not None and r["error_m"] < 50_000.0]  # fmt: skip
            if not rs:
                continue
            by_t: dict[float, list[float]] = {}
            for r in rs:
                by_t.setdefault(r["t_s"], []).append(r["error_m"])
            ts = sorted(by_t)
            name = "centralised (all plots)" if n == "ALL" else f"{n} {picture}"
            ax.plot([t / 60.0 for t in ts], [float(np.median(by_t[t])) for t in ts], style,
                    color=colours[n], lw=1.0, label=name)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("time since scenario start (min)")
    ax.set_ylabel("position error (m, median over tracks)")
    ax.set_title(title + ": track error vs truth", fontsize=9)
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    paths.append(out / "errors.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def write_outputs(
    run: ScenarioRun, out: Path, zones: JapanZones | None, zones_note: str = "",
    *, plots: bool = True,
) -> list[Path]:  # fmt: skip
    """Write CSV, GeoJSON, summary JSON and (``plots``) PNG files of a run into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    rows = track_rows(run)
    written: list[Path] = []
    for name, data in (
        ("tracks.csv", rows),
        ("estimates.csv", estimate_rows(run)),
        ("warnings.csv", warning_rows(run)),
    ):
        _write_csv(out / name, data)
        written.append(out / name)
    for name, gj in (
        ("tracks.geojson", tracks_geojson(run, rows)),
        ("estimates.geojson", estimates_geojson(run)),
        ("warnings.geojson", warnings_geojson(run)),
    ):
        (out / name).write_text(json.dumps(gj), "utf-8")
        written.append(out / name)
    (out / "summary.json").write_text(json.dumps(summary(run, zones, zones_note), indent=2))
    written.append(out / "summary.json")
    if plots:
        written += _plots(run, rows, zones, out)
    return written
