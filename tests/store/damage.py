"""Damage a real node database the way a failing disk or a stray write does: random bytes
over a whole page, or over a few bytes inside one stored value."""

from __future__ import annotations

import random
from pathlib import Path

from trilink.node.service import NodeService

MARKER = "marker-0f5c-middle-report"


def publish_with_marker(node: NodeService, count: int = 300) -> str:
    """``count`` reports on ``node``; the middle one's payload holds ``MARKER``. Returns its
    id."""
    titles = [f"report {i}" for i in range(count)]
    titles[count // 2] = MARKER
    reports = node.publish_many(
        "note", "SECRET//REL TO USA, JPN", [{"title": t} for t in titles], actor="test"
    )
    return reports[count // 2].envelope.id


def overwrite(path: Path, *, whole_page: bool, seed: int = 15) -> int:
    """Write random bytes over the page of SQLite file ``path`` that holds ``MARKER``
    (``whole_page``) or over the marker's own bytes inside it. The file must be closed (no
    WAL left). Returns the byte offset written at."""
    assert not path.with_name(path.name + "-wal").exists(), "close every store first"
    data = path.read_bytes()
    at = data.find(MARKER.encode())
    assert at > 0 and data.find(MARKER.encode(), at + 1) == -1
    page_size = int.from_bytes(data[16:18], "big")
    rnd = random.Random(seed)
    with path.open("r+b") as f:
        if whole_page:
            at = at // page_size * page_size
            f.seek(at)
            f.write(rnd.randbytes(page_size))
        else:
            f.seek(at)
            # not JSON whatever else it is: a NUL cannot appear raw in a JSON document
            f.write(b"\x00" + rnd.randbytes(len(MARKER) - 1))
    return at
