"""Reconstruction of real launches from the CNS/NTI-derived record (nk-missile-tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trilink.missile.errors import SiteDataError
from trilink.missile.sim.reconstruct import as_row, load_records, reconstruct, reported_flight_time

DATA = Path(__file__).resolve().parents[1] / "data" / "missile"


def test_load_counts_match_the_source_notes() -> None:
    summary = load_records(DATA)
    assert summary.total == 339
    # SOURCES.md: both apogee and distance numeric in 216 records.
    assert len(summary.records) == 216
    assert sum(summary.skipped.values()) == 339 - 216
    hs15 = [r for r in summary.records if r.date == "2017-11-28"]
    assert len(hs15) == 1 and hs15[0].missile_name == "Hwasong-15"
    assert hs15[0].apogee_km == 4475.0 and hs15[0].distance_km == 950.0


def test_reported_flight_time_parser() -> None:
    assert reported_flight_time("The missile flew for 69 minutes, reaching")[0] == 69 * 60
    assert reported_flight_time("with a flight time of nearly 71 minutes")[0] == 71 * 60
    assert reported_flight_time("apogee during a 4491 second flight")[0] == 4491
    assert reported_flight_time("launched within 30 seconds of each other") == (None, None)


@pytest.mark.parametrize("date", ["2022-11-18", "2024-10-30", "2023-02-18"])
def test_lofted_icbm_flight_times_within_five_percent(date: str) -> None:
    rec = next(r for r in load_records(DATA).records if r.date == date)
    assert rec.reported_flight_time_s is not None
    result = reconstruct(rec)
    assert result.ok
    assert result.flight_time_ratio is not None
    assert abs(result.flight_time_ratio - 1.0) < 0.05
    assert result.missile_class == "ICBM" and result.shape == "lofted"
    row = as_row(result)
    assert row["ok"] and row["error"] == ""


def test_glide_vehicle_flight_is_reported_not_reconstructed() -> None:
    rec = next(
        r
        for r in load_records(DATA).records
        if r.date == "2024-01-14" and r.missile_key == "hwasong-16a"
    )
    result = reconstruct(rec)
    assert not result.ok
    assert "too low" in (result.error or "")


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SiteDataError, match="test.en.json"):
        load_records(tmp_path)


def test_overflights_described_in_the_record_are_detected_with_geodata_zones() -> None:
    from trilink.missile.warn.zones import japan_geometries

    jp = japan_geometries("administering")
    records = load_records(DATA).records
    # The record's narrative says these flew over Japan (3) or were lofted to avoid it (2).
    cases = {
        "2017-08-28": True,
        "2017-09-14": True,
        "2022-10-03": True,
        "2016-06-21": False,
        "2017-07-04": False,
    }
    for date, over in cases.items():
        rec = next(r for r in records if r.date == date)
        result = reconstruct(rec, japan_eez=jp.eez, japan_territory=jp.territory)
        assert result.ok
        assert result.overflies_japan is over, date
