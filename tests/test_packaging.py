"""`pip install .` ships the COP's map library: the wheel's build hook (hatch_build.py) builds
it when it is missing, or stops with a message saying how to get it."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("hatchling")


def hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fresh_copy(dest: Path) -> Path:
    """The files of a clone (what git tracks, and new files not ignored)."""
    from tests.conftest import clone_files

    return clone_files(ROOT, dest)


def no_npm_path(tmp_path: Path) -> str:
    """A PATH with bash and git but without npm."""
    bin_dir = tmp_path / "bin-without-npm"
    bin_dir.mkdir()
    for tool in ("bash", "git", "sh"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def build_wheel(repo: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_hook_builds_nothing_when_the_library_is_there(tmp_path: Path) -> None:
    build = hook()
    vendor = tmp_path / build.VENDOR
    vendor.mkdir(parents=True)
    for name in build.NEEDED:
        (vendor / name).write_text("//")
    assert build.ensure_map_library(tmp_path, environ={"PATH": ""}) == "map library present"


def test_without_npm_the_message_says_how_to_get_it(tmp_path: Path) -> None:
    build = hook()
    with pytest.raises(build.MapLibraryMissing) as err:
        build.ensure_map_library(tmp_path, environ={"PATH": no_npm_path(tmp_path)})
    message = str(err.value)
    assert "maplibre-gl.js" in message and "npm" in message
    assert "TRILINK_SKIP_WEB_BUILD=1" in message and "scripts/build-web.sh" in message
    skipped = build.ensure_map_library(tmp_path, environ={"TRILINK_SKIP_WEB_BUILD": "1"})
    assert "without the map library" in skipped


def test_the_wheel_ships_the_map_library(tmp_path: Path) -> None:
    repo = fresh_copy(tmp_path / "clone")
    vendor = repo / "src/trilink/web/static/vendor"
    assert not vendor.exists()  # gitignored: a clone does not have it
    env = {**os.environ, "PATH": no_npm_path(tmp_path)}
    refused = build_wheel(repo, tmp_path / "dist", env)
    assert refused.returncode != 0
    assert "npm is not available" in refused.stdout + refused.stderr
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").iterdir())
    # what scripts/build-web.sh leaves (stand-ins: the test does not reach the npm registry)
    vendor.mkdir(parents=True)
    for name in ("maplibre-gl.js", "maplibre-gl.css", "milsymbol.js", "maplibre-gl.VERSION"):
        (vendor / name).write_text(f"/* {name} */")
    built = build_wheel(repo, tmp_path / "dist", env)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("trilink-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert {"trilink/web/static/vendor/maplibre-gl.js", "trilink/web/static/vendor/milsymbol.js",
            "trilink/web/templates/map.html"} <= names  # fmt: skip
