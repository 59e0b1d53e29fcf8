"""File edge of the scenario parser: read a scenario TOML file into a ``Scenario``."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from trilink.missile.sim.scenario import Scenario, ScenarioError, parse_scenario


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario file."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ScenarioError("file not found", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"cannot read the file ({err})", path=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        # Python 3.11's error has no lineno attribute, only "(at line N, column M)"
        found = re.search(r"at line (\d+)", str(err))
        line = int(found.group(1)) if found else None
        raise ScenarioError(f"not valid TOML: {err}", path=str(path), line=line) from None
    return parse_scenario(data, str(path))
