"""A CLI that composes (#16 item 9): fast to start, JSON for programs, `-` for stdin/stdout,
nothing cut or decorated when piped, and hints that name commands that exist.

Most of these run the CLI as a real process (``python -m trilink``), because what matters is
what a shell pipeline sees: a pipe, not a terminal.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from trilink.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "trilink"
DATA = ROOT / "tests" / "data" / "maritime"
NMEA = DATA / "nmea"
HEAVY = ("numpy", "shapely", "pyproj", "fastapi", "polars", "scipy", "matplotlib", "pyais",
         "numba", "pyarrow", "uvicorn", "httpx", "psycopg")  # fmt: skip


def trilink(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[bytes]:
    environ = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run(
        [sys.executable, "-m", "trilink", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env={**environ, **env},
        timeout=300,
    )


def commands() -> dict[str, Any]:
    """Every leaf command of the Typer app by its full name ('maritime decode')."""
    found: dict[str, Any] = {}

    def walk(cmd: Any, path: list[str]) -> None:
        ctx = cmd.context_class(cmd, info_name=path[-1] if path else "trilink")
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), [*path, name])
        else:
            found[" ".join(path)] = cmd

    walk(typer.main.get_command(app), [])
    return found


def options(cmd: Any) -> set[str]:
    return {o for p in cmd.params for o in getattr(p, "opts", [])}


# -- start-up ------------------------------------------------------------------------------


def test_importing_the_cli_imports_no_engine_library() -> None:
    probe = (
        f"import sys, trilink.cli.app; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"imported at `trilink --help`: {done.stdout.strip()}"


def test_help_lists_every_command_group() -> None:
    done = trilink("--help")
    assert done.returncode == 0
    for group in ("maritime", "sanctions", "missile", "report", "export", "net", "audit"):
        assert group.encode() in done.stdout


def test_help_texts_written_out_for_speed_agree_with_their_source() -> None:
    from trilink.cli.export import FORMAT_HELP
    from trilink.cli.token import TAXII_ROLE, TOKEN_ROLES
    from trilink.interop.formats import FORMATS
    from trilink.store.tokens import TAXII_ROLE as STORE_TAXII_ROLE
    from trilink.store.tokens import TOKEN_ROLES as STORE_ROLES

    assert FORMAT_HELP == "; ".join(f"{f.name}: {f.describe}" for f in FORMATS.values())
    assert TOKEN_ROLES == STORE_ROLES and TAXII_ROLE == STORE_TAXII_ROLE


# -- hints name commands that exist ---------------------------------------------------------

HINT = re.compile(r"(?:[`'/]|\brun )trilink((?: [a-z][a-z0-9-]*)+)")


def hints() -> list[tuple[str, str]]:
    found = []
    for path in [*sorted(SRC.rglob("*.py")), ROOT / "README.md"]:
        text = path.read_text("utf-8")
        for match in HINT.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{path.relative_to(ROOT)}:{line}", match.group(1).split()))
    return found  # type: ignore[return-value]


def test_every_hint_names_a_command_that_exists() -> None:
    root = typer.main.get_command(app)
    found = hints()
    assert len(found) > 30  # the pattern still finds the hints
    wrong = []
    for where, words in found:
        cmd: Any = root
        for word in words:
            if not hasattr(cmd, "list_commands"):
                break  # a command: the rest are its arguments
            ctx = cmd.context_class(cmd, info_name="trilink")
            sub = cmd.get_command(ctx, word)
            if sub is None:
                wrong.append(f"{where}: trilink {' '.join(words)}")
                break
            cmd = sub
    assert not wrong, "hints naming commands that do not exist:\n" + "\n".join(wrong)


def test_the_hint_check_catches_a_command_that_does_not_exist() -> None:
    assert [m.group(1).split() for m in HINT.finditer("run 'trilink node init --dir D'")] == [
        ["node", "init", "--dir"][:2]
    ]
    root = typer.main.get_command(app)
    node = root.get_command(root.context_class(root), "node")  # type: ignore[attr-defined]
    assert node.get_command(node.context_class(node), "init") is None


# -- JSON for programs -----------------------------------------------------------------------

# Commands whose output a program reads: each has --json (a command added later that prints
# data belongs here too). Left out: commands that print a secret or one id (token create),
# long-running servers and interactive ones.
JSON_COMMANDS = {
    "net up", "net status", "node check", "report publish", "report list", "report show",
    "report edit", "report delete", "token list", "user list", "audit verify", "audit show",
    "maritime events", "maritime decode", "maritime cpa", "maritime listen",
    "sanctions screen", "sanctions update", "sanctions lists", "missile simulate",
    "missile sites", "missile reconstruct", "missile track", "missile scenario run",
    "sim maritime", "sim missile",
}  # fmt: skip


def test_every_command_a_program_reads_has_json() -> None:
    found = commands()
    assert JSON_COMMANDS <= set(found), JSON_COMMANDS - set(found)
    missing = sorted(name for name in JSON_COMMANDS if "--json" not in options(found[name]))
    assert not missing, f"no --json: {missing}"


def test_sanctions_lists_json_is_one_document() -> None:
    done = trilink("sanctions", "lists", "--json", "--anomalies")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert {row["list"] for row in doc["lists"]} >= {"OFAC-SDN", "UN-1718"} or doc["lists"]
    assert doc["vessels_in_force"] > 0
    assert all(len(row["sha256"]) == 64 for row in doc["lists"])
    assert isinstance(doc["anomaly_list"], list)


def test_maritime_cpa_json() -> None:
    csv = str(DATA / "dk_gothenburg_2017_cpa_wgs84.csv")
    done = trilink("maritime", "cpa", "265410000", "265550210", csv, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["distance_m"] >= 0 and doc["time"].endswith("Z")


def test_sim_maritime_json(tmp_path: Path) -> None:
    done = trilink(
        "sim", "maritime", "--out", str(tmp_path / "sim"), "--hours", "1", "--vessels", "20",
        "--no-check", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["vessels"] >= 20 and doc["positions"] > 0
    assert all(Path(p).exists() for p in doc["files"].values())


# -- piped output is never cut ---------------------------------------------------------------


def test_a_table_piped_to_a_program_is_not_cut_to_80_columns(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "lists"
    done = trilink("sanctions", "lists", "--data-dir", str(deep))
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert "…" not in text and "..." not in text
    assert str(deep) in text
    assert "\x1b[" not in text  # no colour codes for a program


# -- progress on stderr, only on a terminal --------------------------------------------------


def test_no_progress_and_no_escape_codes_when_piped(tmp_path: Path) -> None:
    files = [str(p) for p in sorted(NMEA.iterdir())[:6]]
    done = trilink("maritime", "decode", *files, "--out", str(tmp_path / "p.csv"))
    assert done.returncode == 0, done.stderr
    assert b"decoding AIS" not in done.stderr and b"\x1b[" not in done.stderr
    assert b"positions" in done.stdout


def test_progress_is_shown_on_a_terminal(tmp_path: Path) -> None:
    big = tmp_path / "big.nmea"
    lines = b"".join(p.read_bytes() for p in sorted(NMEA.iterdir()))
    big.write_bytes(lines * 40)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "trilink", "maritime", "decode", str(big), "--out",
             str(tmp_path / "p.parquet")],
            stdout=subprocess.DEVNULL, stderr=slave,
        )  # fmt: skip
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        proc.wait(timeout=300)
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert b"decoding AIS" in seen


# -- `-` for stdin and stdout ----------------------------------------------------------------


def test_decode_reads_stdin_and_writes_stdout() -> None:
    nmea = (NMEA / "pyais__tests_nmea_data_sample.txt").read_bytes()
    done = trilink("maritime", "decode", "-", "--out", "-", stdin=nmea)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.decode().splitlines()
    assert rows[0].startswith("mmsi,timestamp,lat,lon")
    assert len(rows) > 10
    assert b"positions" in done.stderr  # the summary is not mixed into the data


def test_decode_csv_from_stdin_matches_the_file(tmp_path: Path) -> None:
    csv = DATA / "dk_gothenburg_2017_cpa_wgs84.csv"
    piped = trilink("maritime", "decode", "-", "--out", "-", stdin=csv.read_bytes())
    direct = trilink("maritime", "decode", str(csv), "--out", "-")
    assert piped.returncode == 0 and direct.returncode == 0, piped.stderr
    # the same rows; the source column names standard input "stdin"
    assert piped.stdout.replace(b",stdin,", b"," + csv.name.encode() + b",") == direct.stdout
    assert piped.stdout.count(b"\n") == 258


def test_a_stdin_that_is_not_ais_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "positions.parquet"
    done = trilink("maritime", "decode", "-", "--out", str(out), stdin=os.urandom(5000))
    assert done.returncode == 2
    assert b"error:" in done.stderr and b"Traceback" not in done.stderr
    assert b"layout" in done.stderr or b"cannot read" in done.stderr
    assert list(tmp_path.iterdir()) == []
    empty = trilink("maritime", "decode", "-", "--out", str(out), stdin=b"")
    assert empty.returncode == 2 and b"standard input is empty" in empty.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_leaves_the_previous_output_whole(tmp_path: Path) -> None:
    out = tmp_path / "positions.csv"
    ok = trilink("maritime", "decode", str(DATA / "dk_gothenburg_2017_cpa_wgs84.csv"),
                 "--out", str(out))  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    before = out.read_bytes()
    bad = trilink("maritime", "decode", "-", "--out", str(out), stdin=b"a,b\n1,2\n")
    assert bad.returncode == 2
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["positions.csv",
                                                          "positions.statics.csv"]  # fmt: skip


def test_output_file_is_atomic(tmp_path: Path) -> None:
    from trilink.cli.common import output_file

    target = tmp_path / "x.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), output_file(target) as fh:
        fh.write(b"half")
        raise RuntimeError("stopped")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["x.bin"]
    with output_file(target) as fh:
        fh.write(b"new")
    assert target.read_bytes() == b"new"


def test_sanctions_screen_csv_from_stdin_to_stdout() -> None:
    vessels = b"name,imo,mmsi,flag\nJI SONG 6,8898740,,\nNOT LISTED,,,\n"
    done = trilink("sanctions", "screen", "--csv", "-", "--out", "-", stdin=vessels)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.decode().splitlines()
    assert rows[0].startswith("row,matched,list")
    assert len(rows) == 3 and rows[1].split(",")[1] == "true" and rows[2].split(",")[1] == "false"
    assert b"screened 2 of 2 rows" in done.stderr


def test_sanctions_screen_refuses_binary_stdin() -> None:
    done = trilink("sanctions", "screen", "--csv", "-", "--out", "-", stdin=b"\x00\x01" * 100)
    assert done.returncode == 2 and b"not a CSV file" in done.stderr
    assert done.stdout == b""


def test_pki_bundle_through_a_pipe(tmp_path: Path) -> None:
    usa, jpn = tmp_path / "USA", tmp_path / "JPN"
    assert trilink("pki", "init", "--dir", str(usa), "--nation", "USA").returncode == 0
    assert trilink("pki", "init", "--dir", str(jpn), "--nation", "JPN").returncode == 0
    exported = trilink("pki", "export", "--dir", str(usa), "--out", "-")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)  # the bundle, and nothing else, on stdout
    fingerprint = exported.stderr.decode().split("fingerprint (SHA-256):")[1].split()[0]
    trusted = trilink(
        "pki", "trust", "-", "--dir", str(jpn), "--partner", "USA",
        "--url", "https://127.0.0.1:9", "--fingerprint", fingerprint, stdin=exported.stdout,
    )  # fmt: skip
    assert trusted.returncode == 0, trusted.stderr
    assert "[partners.USA]" in (jpn / "node.toml").read_text()
    garbage = trilink(
        "pki", "trust", "-", "--dir", str(jpn), "--partner", "USA", "--url", "https://x:1",
        stdin=b"not a bundle",
    )  # fmt: skip
    assert garbage.returncode == 2 and b"error:" in garbage.stderr


def test_a_reader_that_stops_early_ends_the_command_quietly() -> None:
    csv = DATA / "dk_gothenburg_2017_cpa_wgs84.csv"
    script = (
        f'"{sys.executable}" -m trilink maritime decode "{csv}" "{csv}" "{csv}" "{csv}" '
        "--out - | head -c 100 >/dev/null"
    )
    done = subprocess.run(["bash", "-c", script], capture_output=True, timeout=300)
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr
