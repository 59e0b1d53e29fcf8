"""Quick-look PNG map of cleaned tracks and events (matplotlib, offline land polygons)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import shapely  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402

# Drawn in this order: the common, routine types first, the rare ones on top.
STYLE = {
    "port_visit": ("s", "#2ca02c"),
    "incursion": ("^", "#e377c2"),
    "loitering": ("o", "#ff7f0e"),
    "identity_change": ("P", "#17becf"),
    "gap": ("x", "#9467bd"),
    "foreign_fishing": ("v", "#8c564b"),
    "dark_vessel": ("D", "#000000"),
    "encounter": ("*", "#d62728"),
}


def render_map(
    positions: pl.DataFrame,
    events: pl.DataFrame,
    path: Path,
    land: Sequence[Any] = (),
    zones: Sequence[Any] = (),
    title: str = "",
) -> Path:
    fig, ax = plt.subplots(figsize=(10, 8), dpi=110)
    lon = positions.get_column("lon").to_numpy() if positions.height else np.empty(0)
    lat = positions.get_column("lat").to_numpy() if positions.height else np.empty(0)
    elon = events.get_column("lon").drop_nulls().to_numpy() if events.height else np.empty(0)
    elat = events.get_column("lat").drop_nulls().to_numpy() if events.height else np.empty(0)
    all_lon, all_lat = np.concatenate((lon, elon)), np.concatenate((lat, elat))
    if all_lon.size:
        x0, x1 = float(all_lon.min()), float(all_lon.max())
        y0, y1 = float(all_lat.min()), float(all_lat.max())
    else:
        x0, x1, y0, y1 = -1.0, 1.0, -1.0, 1.0
    pad = max(x1 - x0, y1 - y0, 0.02) * 0.08
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    view = shapely.box(x0, y0, x1, y1)
    for geom in land:
        part = shapely.clip_by_rect(geom, x0, y0, x1, y1)
        for poly in getattr(part, "geoms", [part]):
            if poly.geom_type == "Polygon" and not poly.is_empty:
                xs, ys = poly.exterior.xy
                ax.fill(xs, ys, color="#e8e4d8", edgecolor="#b0a890", linewidth=0.4, zorder=1)
    for zone in zones:
        geom = getattr(zone, "geometry", zone)
        if not geom.intersects(view):
            continue
        for poly in getattr(geom, "geoms", [geom]):
            if poly.geom_type == "Polygon":
                xs, ys = poly.exterior.xy
                ax.plot(xs, ys, color="#1f77b4", linewidth=0.6, linestyle="--", zorder=2)
    if positions.height:
        mmsi = positions.get_column("mmsi").to_numpy()
        starts = np.flatnonzero(np.concatenate(([True], mmsi[1:] != mmsi[:-1])))
        ends = np.append(starts[1:], mmsi.size)
        segs = []
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            step = max(1, (b - a) // 3000)
            segs.append(np.column_stack((lon[a:b:step], lat[a:b:step])))
        ax.add_collection(
            LineCollection(segs, linewidths=0.5, colors="#4c72b0", alpha=0.6, zorder=3)
        )
    if events.height:
        for etype, (marker, color) in STYLE.items():
            sub = events.filter((pl.col("type") == etype) & pl.col("lat").is_not_null())
            if sub.height:
                ax.scatter(
                    sub.get_column("lon").to_numpy(),
                    sub.get_column("lat").to_numpy(),
                    marker=marker,
                    c=color,
                    s=90 if etype == "encounter" else 40,
                    label=f"{etype} ({sub.height})",
                    zorder=5,
                    edgecolors="white",
                    linewidths=0.4,
                )
        ax.legend(loc="best", fontsize=8, framealpha=0.9)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1.0 / max(np.cos(np.radians((y0 + y1) / 2)), 0.05))
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_title(
        title
        or f"{positions.get_column('mmsi').n_unique() if positions.height else 0}"
        f" vessels, {events.height} events"
    )
    ax.grid(True, linewidth=0.3, alpha=0.5)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
