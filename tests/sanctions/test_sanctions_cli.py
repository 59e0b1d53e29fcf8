"""`trilink sanctions screen | update | lists` through the real CLI app."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from helpers_sanctions import newer_ofac
from typer.testing import CliRunner

from trilink.cli.app import app

runner = CliRunner()


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "sanctions"
    monkeypatch.setenv("TRILINK_SANCTIONS_DIR", str(d))
    monkeypatch.setenv("COLUMNS", "200")
    return d


def _write_input(path: Path) -> int:
    rows = [
        b"name,imo,mmsi,flag",
        b"Chon Ma San,,,KP",  # 1 romanised/spaced name
        b"EVER GIVEN,9811000,353136000,PA",  # 2 well-known, not sanctioned
        b"JI SONG 6,9811000,,",  # 3 sanctioned name, other valid IMO -> never a match
        b"OCEAN BREEZE,IMO 8503228,,",  # 4 renamed: listed IMO
        b"GHOST,1234,44511400,",  # 5 invalid identifiers only
        b"a,b,c,d,e,f",  # 6 garbage: too many fields
        b"BAD\x01NAME,,,",  # 7 garbage: control character
        b",,,",  # 8 empty row
        b"\xff\xfe broken,,,",  # 9 garbage: not UTF-8
        b"" + b"X" * 300 + b",,,",  # 10 garbage: absurdly long
        b"JI SONG NO.8,,,",  # 11 numbering
        b",,445114000,",  # 12 MMSI only (shared by two listed ships)
    ]
    path.write_bytes(b"\n".join(rows) + b"\n")
    return len(rows) - 1


def test_screen_csv_contract(tmp_path: Path, data_dir: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    n = _write_input(src)
    res = runner.invoke(app, ["sanctions", "screen", "--csv", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
        header = list(rows[0].keys())
    assert header == ["row", "matched", "list", "list_id", "matched_name", "matched_imo",
                      "score", "reason"]  # fmt: skip
    assert [r["row"] for r in rows] == [str(i) for i in range(1, n + 1)]
    by = {int(r["row"]): r for r in rows}
    assert by[1]["matched"] == "true" and by[1]["matched_imo"] == "8660313"
    assert by[1]["matched_name"] == "CHON MA SAN" and "rule name-exact" in by[1]["reason"]
    assert by[2]["matched"] == "false"
    assert by[3]["matched"] == "false"
    assert by[4]["matched"] == "true" and by[4]["matched_imo"] == "8503228"
    assert by[4]["reason"].startswith("rule imo-exact") and float(by[4]["score"]) == 100.0
    assert by[5]["matched"] == "false" and "IMO '1234' not used" in by[5]["reason"]
    assert "MMSI '44511400' not used" in by[5]["reason"]
    for garbage in (6, 7, 9, 10):
        assert by[garbage]["matched"] == "false"
        assert by[garbage]["reason"].startswith(f"not screened: row {garbage} ")
    assert by[8]["matched"] == "false"
    assert by[11]["matched_imo"] == "8503228"
    assert by[12]["matched"] == "true" and "AMBIGUOUS" in by[12]["reason"]
    assert "4 garbage rows" in res.output
    for garbage in (6, 7, 9, 10):
        assert f"row {garbage} (line {garbage + 1})" in res.output


def test_screen_csv_bad_files(tmp_path: Path, data_dir: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    res = runner.invoke(app, ["sanctions", "screen", "--csv", str(empty), "--out",
                              str(tmp_path / "o.csv")])  # fmt: skip
    assert res.exit_code != 0 and "empty" in str(res.exception)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    res = runner.invoke(app, ["sanctions", "screen", "--csv", str(wrong), "--out",
                              str(tmp_path / "o.csv")])  # fmt: skip
    assert res.exit_code != 0 and "name,imo,mmsi,flag" in str(res.exception)
    res = runner.invoke(app, ["sanctions", "screen", "--csv", str(wrong)])
    assert res.exit_code != 0 and "--out" in str(res.exception)


def test_screen_one_vessel_explains(data_dir: Path) -> None:
    res = runner.invoke(app, ["sanctions", "screen", "--name", "Jeon Ma San", "--flag", "KP"])
    assert res.exit_code == 0, res.output
    assert "MATCH" in res.output and "CHON MA SAN" in res.output
    assert "name-romanisation" in res.output and "KOREA ACHIM SHIPPING CO" in res.output
    res = runner.invoke(app, ["sanctions", "screen", "--name", "JI SONG 6", "--imo", "9811000"])
    assert "NO MATCH" in res.output and "imo-conflict" in res.output
    res = runner.invoke(app, ["sanctions", "screen", "--imo", "IMO 8606173", "--json"])
    data = json.loads(res.output)
    assert data["matched"] and data["best"]["rule"] == "imo-exact"
    assert data["best"]["listed_name"] == "RYONG GUN BONG"
    res = runner.invoke(app, ["sanctions", "screen", "--imo", "12345"])
    assert "NO MATCH" in res.output and "7 digits" in res.output
    res = runner.invoke(app, ["sanctions", "screen"])
    assert res.exit_code != 0


def test_update_diff_refusal_and_lists(tmp_path: Path, data_dir: Path, ofac_raw: bytes) -> None:
    newer = tmp_path / "sdn.csv"
    newer.write_bytes(newer_ofac(ofac_raw))
    diff_json = tmp_path / "diff.json"
    res = runner.invoke(app, ["sanctions", "update", str(newer), "--published", "2024-06-01",
                              "--diff-json", str(diff_json)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "1 added, 1 removed, 1 renamed" in res.output
    assert "NEW TANKER 1" in res.output and "CHON MA SAN" in res.output
    diff = json.loads(diff_json.read_text())
    assert diff[0]["list_id"] == "OFAC-SDN" and len(diff[0]["changes"]) >= 3

    broken = tmp_path / "sdn-broken.csv"
    broken.write_bytes(ofac_raw[:200000])
    res = runner.invoke(app, ["sanctions", "update", str(broken)])
    assert res.exit_code == 2
    assert "refused" in res.output and "truncated" in res.output
    assert "list in force is unchanged" in res.output

    res = runner.invoke(app, ["sanctions", "lists"])
    assert res.exit_code == 0, res.output
    assert "2024-06-01" in res.output and "installed" in res.output
    ofac_line = res.output.split("OFAC-SDN")[1].split("\n")[0]
    assert hashlib.sha256(newer.read_bytes()).hexdigest()[:12] in ofac_line
    assert "sdn.csv (installed" in ofac_line
    res = runner.invoke(app, ["sanctions", "screen", "--name", "NEW TANKER 1"])
    assert "MATCH" in res.output and "NO MATCH" not in res.output


def test_lists_bundled(data_dir: Path) -> None:
    res = runner.invoke(app, ["sanctions", "lists", "--anomalies"])
    assert res.exit_code == 0, res.output
    assert "bundled" in res.output and "851" in res.output and "1003" in res.output
    for list_id in ("OFAC-NON-SDN", "JP-MOF", "JP-METI-EUL", "EU-DPRK"):
        assert list_id in res.output
    assert "imo-prefix-missing" in res.output and "mmsi-shared" in res.output


def test_publish_hits_to_a_node(tmp_path: Path, data_dir: Path) -> None:
    from tests.conftest import running

    from trilink.node.service import NodeService

    root = tmp_path / "net"
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("name,imo,mmsi,flag\nCHON MA SAN,,,\nEVER GIVEN,9811000,,\nJI SONG 8,,,\n")
    with running(root, "JPN"):
        res = runner.invoke(app, ["sanctions", "screen", "--csv", str(src), "--out", str(out),
                                  "--publish", "--dir", str(root), "--nation", "JPN"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "published 2 sanctions.hit reports" in res.output
    with NodeService.open_local(root, "JPN") as node:
        stored = node.store.reports(kind="sanctions.hit")
    assert len(stored) == 2
    payloads = [r.report.envelope.payload_obj() for r in stored]
    assert {p["hits"][0]["listed"]["imo"] for p in payloads} == {"8660313", "8503228"}
    assert all(p["priority"] == "high" and p["source"] == "screening" for p in payloads)


def test_update_publishes_list_change(tmp_path: Path, data_dir: Path, ofac_raw: bytes) -> None:
    from tests.conftest import running

    from trilink.node.service import NodeService

    root = tmp_path / "net"
    newer = tmp_path / "sdn-2024-06-01.csv"
    newer.write_bytes(newer_ofac(ofac_raw))
    with running(root, "KOR"):
        res = runner.invoke(app, ["sanctions", "update", str(newer), "--publish", "--dir",
                                  str(root), "--nation", "KOR"])  # fmt: skip
    assert res.exit_code == 0, res.output
    with NodeService.open_local(root, "KOR") as node:
        stored = node.store.reports(kind="sanctions.list-change")
    assert len(stored) == 1
    p = stored[0].report.envelope.payload_obj()
    assert (p["added"], p["removed"], p["renamed"]) == (1, 1, 1)
    assert p["new_published"] == "2024-06-01" and p["old_published"] == "2024-05-03"


def test_csv_call_sign_column(tmp_path: Path, data_dir: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("name,imo,mmsi,flag,call_sign\nChong Bong,,,,HMXW\n")
    res = runner.invoke(app, ["sanctions", "screen", "--csv", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    with out.open(newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row["matched_imo"] == "8909575" and "call-sign+name" in row["reason"]


def test_update_reads_a_list_from_stdin_and_answers_in_json(
    tmp_path: Path, data_dir: Path, ofac_raw: bytes
) -> None:
    res = runner.invoke(app, ["sanctions", "update", "-", "--published", "2024-06-01", "--json"],
                        input=newer_ofac(ofac_raw))  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["refused"] == [] and doc["installed"][0]["list_id"] == "OFAC-SDN"
    assert doc["installed"][0]["new_published"] == "2024-06-01"
    garbage = runner.invoke(app, ["sanctions", "update", "-", "--json"], input=b"\x00garbage")
    assert garbage.exit_code == 2
    refused = json.loads(garbage.stdout)["refused"]
    assert len(refused) == 1 and "not a list trilink knows" in refused[0]
    lists = runner.invoke(app, ["sanctions", "lists", "--json"])
    ofac = next(r for r in json.loads(lists.stdout)["lists"] if r["list"] == "OFAC-SDN")
    assert ofac["published"] == "2024-06-01" and not ofac["bundled"]
