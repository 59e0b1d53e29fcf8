"""Run by test_sanctions_grams.py in a fresh interpreter, where screening may fork (a
pytest-xdist worker has threads, so there it screens in-process).

``same``: the parent and a forked child give exactly what the parent alone gives.
``failing``: a child that raises is reported by the parent, which does not wait forever.
"""

from __future__ import annotations

import csv
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from trilink.sanctions import entity_screen
from trilink.sanctions.entities import entities_of
from trilink.sanctions.entity_screen import PARALLEL_MIN, EntityQuery, EntityScreener
from trilink.sanctions.io import bundled_lists

DATA = Path(__file__).resolve().parents[1] / "data" / "sanctions"


def same() -> None:
    with (DATA / "entity_eval_set.csv").open(newline="", encoding="utf-8") as fh:
        cases = list(csv.DictReader(fh))
    rng = random.Random(3)
    queries = [
        EntityQuery(name=c["name"], country=c["country"], schema=c["schema"],
                    identifier=c["identifier"])
        for c in (rng.choice(cases) for _ in range(PARALLEL_MIN + 100))
    ]  # fmt: skip
    screener = EntityScreener(e for sl in bundled_lists() for e in entities_of(sl))
    serial = screener.screen_many(queries, keep_candidates=True)
    assert entity_screen._can_fork(), "this interpreter must be able to fork"
    forked = screener.screen_many(queries, keep_candidates=True, workers=2)
    assert len(forked) == len(serial)
    for a, b in zip(serial, forked, strict=True):
        assert b.query is a.query and b.matched == a.matched and b.issues == a.issues
        assert b.best == a.best and b.candidates == a.candidates
    assert sum(r.matched for r in forked) > 1000


def failing() -> None:
    screener = EntityScreener(e for sl in bundled_lists()[:2] for e in entities_of(sl))
    parent = os.getpid()
    real = EntityScreener._ranked

    def failing_in_children(self: EntityScreener, q: EntityQuery, keep: bool) -> Any:
        if os.getpid() != parent:
            raise ValueError("disk full in the child")
        time.sleep(0.002)  # the parent is slow, so the child surely claims a chunk
        return real(self, q, keep)

    EntityScreener._ranked = failing_in_children  # type: ignore[method-assign]
    queries = [EntityQuery(name=f"NAME {i}") for i in range(PARALLEL_MIN * 2)]
    assert entity_screen._can_fork(), "this interpreter must be able to fork"
    try:
        screener.screen_many(queries, workers=2)
    except RuntimeError as exc:
        assert "ValueError: disk full in the child" in str(exc), exc
    else:
        raise AssertionError("the child's error was not reported")


if __name__ == "__main__":
    {"same": same, "failing": failing}[sys.argv[1]]()
    sys.stdout.write(f"{sys.argv[1]}: ok\n")
