"""`trilink report` and `trilink audit` against a running local network: every report
command goes through the node's API (its token found in the directory), and bad input is
explained, audited by the node and stores nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trilink.cli.app import app
from trilink.errors import TrilinkError
from trilink.federation import localnet
from trilink.node.service import NodeService

runner = CliRunner()


@pytest.fixture(scope="module")
def netdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("cli") / "net"
    localnet.net_up(root)
    try:
        yield root
    finally:
        for nation in localnet.NATIONS:
            localnet.stop_node(root, nation, kill=True)


def run(*args: str) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output, result.exception


def payload(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.json"
    path.write_text(text, "utf-8")
    return path


def test_publish_list_edit_show_delete(netdir: Path, tmp_path: Path) -> None:
    p = payload(tmp_path, json.dumps({"title": "Sado FPS-5 track", "tags": ["bm"]}))
    code, out, _ = run(
        "report",
        "publish",
        "--dir",
        str(netdir),
        "--nation",
        "jpn",
        "--kind",
        "note",
        "--label",
        "secret//rel to jpn,usa",
        "--payload-file",
        str(p),
    )
    assert code == 0, out
    report_id = out.strip()
    code, out, _ = run("report", "list", "--dir", str(netdir), "--nation", "JPN", "--json")
    line = json.loads(out.strip())
    assert line["id"] == report_id and line["label"] == "SECRET//REL TO USA, JPN"
    assert line["payload"] == {"title": "Sado FPS-5 track", "tags": ["bm"]}

    p2 = payload(tmp_path, json.dumps({"title": "Sado FPS-5 track (corrected)"}))
    code, out, _ = run(
        "report",
        "edit",
        report_id,
        "--dir",
        str(netdir),
        "--nation",
        "JPN",
        "--payload-file",
        str(p2),
    )
    assert code == 0 and "version 2" in out
    code, out, _ = run("report", "show", report_id, "--dir", str(netdir), "--nation", "JPN")
    assert code == 0 and out.count("signature verified") == 2 and "release" in out

    code, out, _ = run(
        "report",
        "delete",
        report_id,
        "--dir",
        str(netdir),
        "--nation",
        "JPN",
        "--reason",
        "superseded",
    )
    assert code == 0 and "tombstone version 3" in out
    code, out, _ = run("report", "list", "--dir", str(netdir), "--nation", "JPN", "--json")
    assert json.loads(out.strip())["tombstone"] is True
    code, out, _ = run(
        "report", "list", "--dir", str(netdir), "--nation", "JPN", "--json", "--all-versions"
    )
    assert [json.loads(x)["version"] for x in out.strip().splitlines()] == [1, 2, 3]
    code, out, _ = run("audit", "verify", "--dir", str(netdir), "--nation", "JPN")
    assert code == 0 and "intact" in out


@pytest.mark.parametrize(
    ("kind", "label", "text", "expected"),
    [
        ("note", "SECRET//REL TO USA, JPN", '{"title": 1}', "payload does not fit kind 'note'"),
        ("nonsense", "SECRET//REL TO USA, JPN", '{"title": "x"}', "unknown report kind"),
        ("note", "SECRET//REL TO USA, XYZ", '{"title": "x"}', "unknown nation 'XYZ'"),
        ("note", "SEKRIT", '{"title": "x"}', "unknown classification 'SEKRIT'"),
        ("note", "SECRET", '{"title": "x",\n "body": }', "p.json:2"),
        ("note", "SECRET", "[1, 2]", "JSON object"),
    ],
)
def test_bad_publish_is_explained_audited_and_stores_nothing(
    netdir: Path, tmp_path: Path, kind: str, label: str, text: str, expected: str
) -> None:
    p = payload(tmp_path, text)
    with NodeService.open_local(netdir, "KOR") as node:
        before = node.store.report_count()
        rows_before = node.store.audit_head()
    code, _, exc = run(
        "report",
        "publish",
        "--dir",
        str(netdir),
        "--nation",
        "KOR",
        "--kind",
        kind,
        "--label",
        label,
        "--payload-file",
        str(p),
    )
    assert code != 0
    assert isinstance(exc, TrilinkError) and expected in str(exc)
    with NodeService.open_local(netdir, "KOR") as node:
        assert node.store.report_count() == before
        head = node.store.audit_head()
        after = rows_before[0] if rows_before else 0
        refused = [
            r.entry for r in node.store.audit_rows(after=after) if r.entry.event == "publish"
        ]
    if "p.json" not in expected and "JSON object" not in expected:  # file errors: no node work
        assert [e.outcome for e in refused] == ["rejected"] and expected in refused[0].reason
    else:
        assert head == rows_before


def test_unknown_nation_and_missing_network(tmp_path: Path) -> None:
    code, _, exc = run("report", "list", "--dir", str(tmp_path / "nowhere"), "--nation", "JPN")
    assert code != 0 and "trilink net up" in str(exc)
    (tmp_path / "JPN").mkdir()
    (tmp_path / "JPN" / "node.toml").write_text('nation = "JPN"\n')
    code, _, exc = run("report", "list", "--dir", str(tmp_path), "--nation", "FRA")
    assert code != 0 and "unknown nation 'FRA'" in str(exc) and "nodes for JPN" in str(exc)
    code, _, exc = run("report", "list", "--dir", str(tmp_path), "--nation", "France")
    assert code != 0 and "not a nation code" in str(exc)


def test_main_turns_errors_into_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trilink.cli.app import main

    (tmp_path / "JPN").mkdir()
    (tmp_path / "JPN" / "node.toml").write_text('nation = "JPN"\n')
    monkeypatch.setattr(
        "sys.argv", ["trilink", "report", "list", "--dir", str(tmp_path), "--nation", "FRA"]
    )
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith("error: unknown nation 'FRA'")


def test_audit_show_asks_the_running_node(
    netdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`audit show` reads through the node API (admin token); --db reads a stopped node's
    database; a token of a lower role is refused with the role it lacks."""
    with localnet.client_for(netdir, "KOR") as client:
        report_id = client.publish_payloads(
            "note", "SECRET//REL TO USA, KOR", [{"title": "audited"}]
        ).ids[0]
    code, out, exc = run(
        "audit", "show", "--dir", str(netdir), "--nation", "KOR", "--report", report_id
    )
    assert code == 0, (out, exc)
    assert "publish" in out and "release" in out and "USA" in out
    db = str(netdir / "KOR" / "node.db")
    code, offline, _ = run("audit", "show", "--dir", str(netdir), "--nation", "KOR", "--db", db)
    assert code == 0 and "release" in offline
    token_file = tmp_path / "reader-token"
    code, out, _ = run(
        "token",
        "create",
        "--dir",
        str(netdir),
        "--nation",
        "KOR",
        "--role",
        "reader",
        "--name",
        "audit-reader",
        "--out",
        str(token_file),
    )
    assert code == 0, out
    monkeypatch.setenv("TRILINK_API_TOKEN", token_file.read_text().strip())
    code, _, exc = run("audit", "show", "--dir", str(netdir), "--nation", "KOR")
    assert code != 0 and "admin" in str(exc)
