"""Build hook: the wheel ships the COP's map library (MapLibre GL JS and milsymbol).

They come from the npm registry at build time (scripts/build-web.sh, pinned by
web/package-lock.json), are gitignored, and are copied into src/trilink/web/static/vendor/.
A wheel built from a fresh clone therefore runs that script first. Without npm the build
stops with a message saying how to get it; ``TRILINK_SKIP_WEB_BUILD=1`` builds a wheel
without the library instead (its COP then says how to add it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

VENDOR = Path("src/trilink/web/static/vendor")
NEEDED = ("maplibre-gl.js", "maplibre-gl.css", "milsymbol.js")
SKIP = "TRILINK_SKIP_WEB_BUILD"


class MapLibraryMissing(RuntimeError):
    """The map library is not built and cannot be built here."""


def missing(root: Path) -> list[str]:
    return [name for name in NEEDED if not (root / VENDOR / name).is_file()]


def ensure_map_library(root: Path, *, environ: dict[str, str] | None = None) -> str:
    """Build the map library into the package if it is missing; returns what was done.
    Raises ``MapLibraryMissing`` with the way out when it cannot be built."""
    env = dict(os.environ if environ is None else environ)
    absent = missing(root)
    if not absent:
        return "map library present"
    if env.get(SKIP) == "1":
        return f"{SKIP}=1: wheel built without the map library ({', '.join(absent)})"
    how = (
        "Install npm (e.g. apt-get install -y npm) and build again: the build runs "
        "scripts/build-web.sh, which fetches the pinned MapLibre GL JS and milsymbol from "
        f"the npm registry. Or set {SKIP}=1 to build without it (the COP then has no map)."
    )
    script = root / "scripts" / "build-web.sh"
    if shutil.which("npm", path=env.get("PATH")) is None or not script.is_file():
        raise MapLibraryMissing(
            f"trilink: the COP's map library is not built ({', '.join(absent)} missing from "
            f"{VENDOR}) and npm is not available to build it. {how}"
        )
    done = subprocess.run(["bash", str(script)], cwd=root, env=env, capture_output=True,
                          text=True)  # fmt: skip
    if done.returncode != 0 or missing(root):
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise MapLibraryMissing(
            "trilink: scripts/build-web.sh could not build the COP's map library"
            + (": " + " / ".join(tail) if tail else "")
            + f". {how}"
        )
    return "map library built by scripts/build-web.sh"


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        self.app.display_info(ensure_map_library(Path(self.root)))
