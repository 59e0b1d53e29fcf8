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

BBOX = (115.0, 20.0, 155.0, 50.0)  # lon0, lat0, lon1, lat1: the East Asia theatre
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
    return BBOX[0] <= lon <= BBOX[2] and BBOX[1] <= lat <= BBOX[3]


def main(src: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    land = _slim(src / "east_asia_land_10m.geojson", ("ne_layer",))
    coast = _slim(src / "east_asia_coastline_10m.geojson", ())
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
    ):
        (OUT / name).write_text(json.dumps(doc, separators=(",", ":")), "utf-8")
        sys.stdout.write(f"{name}: {len(doc['features'])} features\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
