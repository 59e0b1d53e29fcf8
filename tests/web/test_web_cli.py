"""`trilink user ...` commands (the Typer app in trilink.cli.web) on a real node directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from trilink.cli.web import app
from trilink.node.config import load_node_config
from trilink.store.base import open_store
from trilink.web.auth import authenticate, get_user


@pytest.fixture
def node_root(deployment: Path, tmp_path: Path) -> Path:
    """A copy of the session deployment's USA config pointing at a fresh database."""
    root = tmp_path / "net"
    (root / "USA").mkdir(parents=True)
    text = (deployment / "USA" / "node.toml").read_text("utf-8")
    (root / "USA" / "node.toml").write_text(text, "utf-8")
    return root


def test_user_add_list_passwd_disable(node_root: Path) -> None:
    runner = CliRunner()
    args = ["--dir", str(node_root), "--nation", "usa"]
    added = runner.invoke(
        app, ["add", "cdr.lee", *args, "--role", "analyst", "--password", "a very long pass"]
    )
    assert added.exit_code == 0, added.output
    assert "cdr.lee" in added.output and "analyst" in added.output
    prompted = runner.invoke(
        app, ["add", "watch2", *args], input="typed secret 1\ntyped secret 1\n"
    )
    assert prompted.exit_code == 0, prompted.output
    listed = runner.invoke(app, ["list", *args])
    assert "cdr.lee" in listed.output and "watch2" in listed.output and "viewer" in listed.output
    db = load_node_config(node_root / "USA" / "node.toml").db_url
    store = open_store(db)
    try:
        assert authenticate(store, "cdr.lee", "a very long pass") is not None
        assert authenticate(store, "watch2", "typed secret 1") is not None
        assert (
            runner.invoke(
                app, ["passwd", "watch2", *args, "--password", "new secret 22"]
            ).exit_code
            == 0
        )
        assert authenticate(store, "watch2", "new secret 22") is not None
        assert runner.invoke(app, ["disable", "cdr.lee", *args]).exit_code == 0
        user = get_user(store, "cdr.lee")
        assert user is not None and user.disabled
        assert authenticate(store, "cdr.lee", "a very long pass") is None
    finally:
        store.close()


def test_user_add_refuses_bad_role_and_duplicates(node_root: Path) -> None:
    runner = CliRunner()
    args = ["--dir", str(node_root), "--nation", "USA"]
    bad = runner.invoke(
        app, ["add", "x1", *args, "--role", "general", "--password", "a very long pass"]
    )
    assert bad.exit_code != 0 and "viewer, analyst, admin" in bad.output
    assert (
        runner.invoke(app, ["add", "dup", *args, "--password", "a very long pass"]).exit_code == 0
    )
    again = runner.invoke(app, ["add", "dup", *args, "--password", "a very long pass"])
    assert again.exit_code != 0
    assert "already exists" in str(again.exception)


def test_registered_names_work_under_a_parent_cli(node_root: Path) -> None:
    """As the main CLI will register them: `trilink user ...` and `trilink web serve`."""
    import typer

    from trilink.cli.web import web_app

    parent = typer.Typer()
    parent.add_typer(app, name="user")
    parent.add_typer(web_app, name="web")
    runner = CliRunner()
    args = ["--dir", str(node_root), "--nation", "USA"]
    added = runner.invoke(
        parent, ["user", "add", "lt.park", *args, "--password", "a very long pass"]
    )
    assert added.exit_code == 0, added.output
    helped = runner.invoke(parent, ["web", "serve", "--help"])
    assert helped.exit_code == 0 and "COP port" in helped.output
