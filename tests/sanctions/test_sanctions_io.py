"""The active list directory: updates, diffs, refusal of damaged files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from helpers_sanctions import NEW_IMO, newer_ofac

from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.io import ActiveLists, default_data_dir, detect_list, parse_list_bytes
from trilink.sanctions.listset import diff_lists
from trilink.sanctions.records import OFAC_SDN, UN_1718, UN_CONSOLIDATED, SanctionsList
from trilink.sanctions.screen import Query, Screener


def test_detect_list_from_content(ofac_raw: bytes, un1718_raw: bytes, unxml_raw: bytes) -> None:
    assert detect_list(ofac_raw) == OFAC_SDN
    assert detect_list(un1718_raw) == UN_1718
    assert detect_list(unxml_raw) == UN_CONSOLIDATED
    with pytest.raises(ListFormatError, match="not a list"):
        detect_list(b"hello,world\n")


def test_gzip_input_and_damaged_gzip(ofac_raw: bytes) -> None:
    sl = parse_list_bytes(gzip.compress(ofac_raw), "sdn-2024-05-03.csv.gz")
    assert len(sl.vessels) == 851 and sl.published == "2024-05-03"
    with pytest.raises(ListFormatError, match="gzip"):
        parse_list_bytes(gzip.compress(ofac_raw)[:5000], "sdn.csv.gz")


def test_default_dir_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRILINK_SANCTIONS_DIR", str(tmp_path / "x"))
    assert default_data_dir() == tmp_path / "x"
    monkeypatch.delenv("TRILINK_SANCTIONS_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "trilink" / "sanctions"


def test_diff(lists: dict[str, SanctionsList], ofac_raw: bytes) -> None:
    new = parse_list_bytes(newer_ofac(ofac_raw), "sdn.csv")
    d = diff_lists(lists[OFAC_SDN], new)
    assert (d.count("added"), d.count("removed"), d.count("renamed")) == (1, 1, 1)
    by = {c.change: c for c in d.changes}
    assert by["added"].key == f"IMO {NEW_IMO}" and by["added"].name == "NEW TANKER 1"
    assert by["removed"].name == "JI SONG 8"
    assert by["renamed"].name == "KUM SONG" and by["renamed"].old_name == "CHON MA SAN"
    assert diff_lists(lists[OFAC_SDN], lists[OFAC_SDN]).changes == ()


def test_update_then_refuse_damaged_keeps_previous(tmp_path: Path, ofac_raw: bytes) -> None:
    store = ActiveLists(tmp_path / "lists")
    assert store.manifest() == {}
    newer = tmp_path / "sdn.csv"
    newer.write_bytes(newer_ofac(ofac_raw))
    sl, diff = store.install(newer, published="2024-06-01")
    assert sl.published == "2024-06-01" and diff.count("added") == 1
    manifest = store.manifest()
    assert manifest[OFAC_SDN]["sha256"] == sl.sha256
    before = (tmp_path / "lists" / "manifest.json").read_bytes()
    stored = sorted(p.name for p in (tmp_path / "lists").iterdir())

    truncated = tmp_path / "sdn-truncated.csv"
    truncated.write_bytes(ofac_raw[: len(ofac_raw) // 3])
    with pytest.raises(ListFormatError, match="truncated"):
        store.install(truncated)
    assert (tmp_path / "lists" / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "lists").iterdir()) == stored

    screener = Screener(store.load().vessels)
    assert screener.screen(Query(name="NEW TANKER 1")).matched  # the newer list is in force
    res = screener.screen(Query(name="JI SONG 8", imo="8503228"))
    listed = {m.vessel.uid for m in res.candidates} | {
        u for m in res.candidates for u in m.also_listed
    }
    # gone from OFAC, still on the UN list and in the EU annexes
    assert listed == {"UN-1718:8503228", "EU-DPRK:XIV.A/14"}


def test_update_refuses_a_list_that_lost_most_vessels(tmp_path: Path, ofac_raw: bytes) -> None:
    lines = ofac_raw.split(b"\r\n")
    kept = [ln for ln in lines if b'"vessel"' not in ln or b"DPRK" in ln]
    small = tmp_path / "small.csv"
    small.write_bytes(b"\r\n".join(kept))
    store = ActiveLists(tmp_path / "lists")
    with pytest.raises(ListFormatError, match="looks truncated"):
        store.install(small)
    assert store.manifest() == {}
    sl, diff = store.install(small, force=True)
    assert len(sl.vessels) == 105 and diff.count("removed") == 851 - 105


def test_corrupted_manifest_is_reported(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ListFormatError, match="manifest"):
        ActiveLists(tmp_path).load()
