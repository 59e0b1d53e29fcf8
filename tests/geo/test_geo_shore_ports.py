"""trilink.geo: distance to shore against geodesic spot checks, ports and anchorages."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from trilink.geo import (
    NM_M,
    CoordinateError,
    distance_to_shore_approx_m,
    distance_to_shore_m,
    far_from_shore,
    geodesic_m,
    load_anchorages,
    load_land,
    load_ports,
)
from trilink.geo.proj import GEOD


def _brute_force_m(lat: float, lon: float) -> float:
    """Geodesic distance to the nearest of ~all coast vertices within 3 degrees (slow, exact)."""
    land = load_land(None)
    window = shapely.box(lon - 3, lat - 3, lon + 3, lat + 3)
    coast = shapely.intersection(land.boundary, window)
    xy = shapely.get_coordinates(shapely.segmentize(coast, 0.002))
    d = geodesic_m(np.full(len(xy), lat), np.full(len(xy), lon), xy[:, 1], xy[:, 0])
    return float(d.min())


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(39.5, 135.0), (34.0, 129.4), (37.0, 124.0), (30.6, 124.3), (41.0, 131.0), (33.0, 140.0)],
)
def test_distance_to_shore_matches_brute_force_geodesic(lat: float, lon: float) -> None:
    got = float(distance_to_shore_m([lat], [lon])[0])
    want = _brute_force_m(lat, lon)
    # Brute force samples the coast every ~200 m, so it can only be longer by that much.
    assert want - 250 <= got <= want + 1.0, (got, want)


def test_distance_to_shore_known_offset() -> None:
    # A point placed 30 nm east of the Boso peninsula's east coast, pointing out to sea.
    lon2, lat2, _ = GEOD.fwd(140.87, 35.70, 90.0, 30 * NM_M)
    d = float(distance_to_shore_m([lat2], [lon2])[0])
    assert 25 * NM_M < d <= 30 * NM_M + 500


def test_distance_to_shore_vectorised_and_regions() -> None:
    rng = np.random.default_rng(11)
    lat = rng.uniform(25, 45, 2000)
    lon = rng.uniform(120, 150, 2000)
    d = distance_to_shore_m(lat, lon)
    assert d.shape == (2000,) and np.all(np.isfinite(d)) and np.all(d >= 0)
    # Suez and Solent have their own coast; far away there is no data.
    far = distance_to_shore_m([30.0, 50.8, -40.0], [32.5, -1.3, -120.0])
    assert np.isfinite(far[0]) and np.isfinite(far[1]) and np.isnan(far[2])


def test_distance_to_shore_rejects_bad_coordinates() -> None:
    with pytest.raises(CoordinateError, match="index 1"):
        distance_to_shore_m([35.0, 91.0], [135.0, 181.0])
    with pytest.raises(CoordinateError, match="equal-length"):
        distance_to_shore_m([35.0, 36.0], [135.0])


def test_ports_and_anchorages_have_korean_ports() -> None:
    ports = load_ports()
    names = {p.name for p in ports}
    assert "PUSAN" in names and "INCHON" in names
    assert all(-90 <= p.lat <= 90 and -180 <= p.lon <= 180 for p in ports)
    anch = load_anchorages()
    by_iso = {a.country for a in anch}
    assert {"KOR", "JPN", "CHN", "RUS", "TWN"} <= by_iso


@pytest.mark.parametrize("threshold_nm", [20.0, 50.0])
def test_far_from_shore_agrees_with_exact_distance(threshold_nm: float) -> None:
    rng = np.random.default_rng(5)
    lat = rng.uniform(20, 50, 20_000)
    lon = rng.uniform(115, 155, 20_000)
    # plus points placed just inside and outside the threshold off a real coast
    lons2, lats2, _ = GEOD.fwd(
        np.full(40, 140.87),
        np.full(40, 35.70),
        np.full(40, 90.0),
        threshold_nm * NM_M + np.linspace(-400, 400, 40),
    )
    lat = np.concatenate([lat, lats2])
    lon = np.concatenate([lon, lons2])
    exact = distance_to_shore_m(lat, lon) >= threshold_nm * NM_M
    assert np.array_equal(far_from_shore(lat, lon, threshold_nm * NM_M), exact)


def test_distance_to_shore_approx_is_close() -> None:
    rng = np.random.default_rng(6)
    lat = rng.uniform(25, 45, 5_000)
    lon = rng.uniform(120, 150, 5_000)
    err = np.abs(distance_to_shore_approx_m(lat, lon) - distance_to_shore_m(lat, lon))
    assert np.percentile(err, 99) < 5_000 and err.max() < 15_000


def test_distance_to_port_finds_busan_and_matches_geodesic() -> None:
    from trilink.geo import Port, distance_to_port_m

    lat, lon = 35.05, 129.10  # Busan harbour approach
    d, near = distance_to_port_m([lat], [lon])
    assert d[0] < 10_000
    ref = geodesic_m(lat, lon, near[0].lat, near[0].lon)[0]
    assert abs(d[0] - ref) <= 0.005 * ref + 1.0
    # a user port closer than anything in the bundled lists wins
    d2, near2 = distance_to_port_m([30.55], [124.35], extra=[Port("X", 30.56, 124.35, "ZZZ", "t")])
    assert near2[0].name == "X" and 1_000 < d2[0] < 1_200
