"""Rebuild the COP's bundled basemap (src/trilink/web/static/basemap/) from the Natural Earth
and NGA World Port Index copies in ../shared/data/geo. Run once by a developer, not at build
or run time:  .venv/bin/python web/make_basemap.py /work/shared/data/geo
Coordinates are rounded to 3 decimals (~100 m), well below Natural Earth 10m's resolution."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

# lon0, lat0, lon1, lat1 of each region the shared copies were clipped to: the East Asia
# theatre, and the Suez Canal and the Solent, where the real AIS data is.
REGIONS = {
    "east_asia": (115.0, 20.0, 155.0, 50.0),
    "suez": (31.0, 29.0, 34.0, 32.0),
    "solent": (-1.8, 50.5, -0.7, 51.0),
}
OUT = Path(__file__).resolve().parents[1] / "src/trilink/web/static/basemap"


def _round(coords: Any) -> Any:
    if isinstance(coords, (int, float)):
        return round(float(coords), 3)
    return [_round(c) for c in coords]


def _slim(path: Path, keep: tuple[str, ...]) -> dict[str, Any]:
    doc = json.loads(path.read_text("utf-8"))
    feats = []
    for f in doc["features"]:
        geom = f["geometry"]
        feats.append(
            {
                "type": "Feature",
                "properties": {k: f["properties"].get(k) for k in keep},
                "geometry": {"type": geom["type"], "coordinates": _round(geom["coordinates"])},
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def _inside(lon: float, lat: float) -> bool:
    return any(b[0] <= lon <= b[2] and b[1] <= lat <= b[3] for b in REGIONS.values())


def _joined(src: Path, suffix: str, keep: tuple[str, ...]) -> dict[str, Any]:
    features = []
    for region in REGIONS:
        features += _slim(src / f"{region}_{suffix}.geojson", keep)["features"]
    return {"type": "FeatureCollection", "features": features}


def _coverage() -> dict[str, Any]:
    """The boxes the basemap has data for: the COP hatches the rest as 'no basemap data'."""
    features = [
        {
            "type": "Feature",
            "properties": {"region": name},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
            },
        }
        for name, (x0, y0, x1, y1) in REGIONS.items()
    ]
    return {"type": "FeatureCollection", "features": features}


def main(src: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    land = _joined(src, "land_10m", ("ne_layer",))
    coast = _joined(src, "coastline_10m", ())
    ports: list[dict[str, Any]] = []
    with (src / "wpi_ports_gfw.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            lon, lat = float(row["longitude"]), float(row["latitude"])
            if _inside(lon, lat):
                ports.append(
                    {
                        "type": "Feature",
                        "properties": {"name": row["label"].title(), "iso3": row["iso3"]},
                        "geometry": {
                            "type": "Point",
                            "coordinates": [round(lon, 4), round(lat, 4)],
                        },
                    }
                )
    for name, doc in (
        ("land.geojson", land),
        ("coastline.geojson", coast),
        ("ports.geojson", {"type": "FeatureCollection", "features": ports}),
        ("coverage.geojson", _coverage()),
    ):
        (OUT / name).write_text(json.dumps(doc, separators=(",", ":")), "utf-8")
        sys.stdout.write(f"{name}: {len(doc['features'])} features\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
