"""Fixtures of the cyber tests and the strict STIX validator they check output with.

tests/data/cyber/lazarus-bundle.json and misp-event.json are hand-made (no public STIX or MISP
sample is under /work/shared/data): MITRE ATT&CK ids (G0032 Lazarus Group, S0584 AppleJeus,
T1566.001/.002 spearphishing, CVE-2023-38831), addresses from the documentation ranges
(RFC 5737) and ``.example`` domains (RFC 2606), so nothing in them points at a real host.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stix2validator import ValidationOptions, validate_string

DATA = Path(__file__).resolve().parents[1] / "data" / "cyber"
BUNDLE = DATA / "lazarus-bundle.json"
MISP = DATA / "misp-event.json"


def fixture_ids(path: Path = BUNDLE) -> set[str]:
    return {o["id"] for o in json.loads(path.read_text())["objects"]}


def strict_problems(bundle: dict[str, Any]) -> list[str]:
    """What ``stix2-validator --strict`` says about a bundle (empty: valid)."""
    result = validate_string(
        json.dumps(bundle), ValidationOptions(strict=True, version="2.1", verbose=False)
    )
    results = result if isinstance(result, list) else [result]
    return [f"{e}" for r in results for e in (*r.errors, *r.warnings)]
