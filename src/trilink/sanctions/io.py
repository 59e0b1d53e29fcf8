"""File edge of `trilink.sanctions`: reading list files and keeping the active list set.

The active set lives in a directory (default ``~/.local/share/trilink/sanctions``, or
``$TRILINK_SANCTIONS_DIR``): one gzip copy of each list file in force plus ``manifest.json``.
An update parses and checks the new file completely *before* anything in the directory is
touched, then swaps it in with an atomic rename, so a corrupted or truncated file is refused
and the previous list stays in force. With an empty directory the lists bundled in
``trilink/sanctions/data`` are used.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import re
import tempfile
import zlib
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.listset import ListDiff, ListSet, diff_lists
from trilink.sanctions.ofac import parse_ofac_sdn
from trilink.sanctions.records import OFAC_SDN, UN_1718, UN_CONSOLIDATED, SanctionsList
from trilink.sanctions.un1718 import parse_un_1718
from trilink.sanctions.unxml import parse_un_consolidated

ENV_DIR = "TRILINK_SANCTIONS_DIR"
MANIFEST = "manifest.json"
BUNDLED = {
    OFAC_SDN: ("ofac_sdn_2024-05-03.csv.gz", "2024-05-03"),
    UN_1718: ("un_1718_designated_vessels_2020-06-04.html.gz", None),
    UN_CONSOLIDATED: ("un_consolidated_2020-11-30.xml.gz", None),
}
_EXT = {OFAC_SDN: "csv", UN_1718: "html", UN_CONSOLIDATED: "xml"}
_DATE_IN_NAME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
# An update that loses more than this share of a list's vessels is refused unless forced.
MAX_SHRINK = 0.5


def default_data_dir() -> Path:
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "trilink" / "sanctions"


def _decompress(data: bytes, name: str) -> bytes:
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        raise ListFormatError(
            f"gzip data is damaged or truncated ({err}); obtain the file again", path=name
        ) from None


def detect_list(data: bytes) -> str:
    """Which list a file holds, from its content (never from its name)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \r\n\t")
    if b"<CONSOLIDATED_LIST" in head:
        return UN_CONSOLIDATED
    if b"1718 Designated Vessels List" in data[:20000]:
        return UN_1718
    if re.match(rb'^\d+,"', head):
        return OFAC_SDN
    raise ListFormatError(
        "not a list trilink knows: expected OFAC sdn.csv, the UN 1718 Designated Vessels List"
        " (HTML) or the UN Consolidated List (XML)"
    )


# Parsed lists by content hash: the same file is parsed once per process.
_PARSED: dict[tuple[str, str, str | None], SanctionsList] = {}


def parse_list_bytes(
    data: bytes, source_name: str, *, published: str | None = None
) -> SanctionsList:
    """Parse one list file's bytes (gzip allowed). Raises ``ListFormatError`` when damaged."""
    raw = _decompress(data, source_name)
    key = (hashlib.sha256(raw).hexdigest(), source_name, published)
    cached = _PARSED.get(key)
    if cached is None:
        cached = _parse(raw, source_name, published)
        if len(_PARSED) > 16:
            _PARSED.clear()
        _PARSED[key] = cached
    return cached


def _parse(raw: bytes, source_name: str, published: str | None) -> SanctionsList:
    try:
        list_id = detect_list(raw)
    except ListFormatError as err:
        raise ListFormatError(str(err), path=source_name) from None
    if list_id == OFAC_SDN:
        if published is None:
            m = _DATE_IN_NAME.search(Path(source_name).name)
            published = f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None
        return parse_ofac_sdn(raw, source_name=source_name, published=published)
    if list_id == UN_1718:
        return parse_un_1718(raw, source_name=source_name)
    return parse_un_consolidated(raw, source_name=source_name)


def read_list_file(path: Path, *, published: str | None = None) -> SanctionsList:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ListFormatError(f"cannot read the file: {err.strerror}", path=str(path)) from None
    return parse_list_bytes(data, str(path), published=published)


def bundled_lists() -> list[SanctionsList]:
    """The lists shipped with trilink (see data/SOURCES.md)."""
    base = resources.files("trilink.sanctions").joinpath("data")
    out = []
    for _list_id, (fname, published) in BUNDLED.items():
        out.append(parse_list_bytes(base.joinpath(fname).read_bytes(), fname, published=published))
    return out


class ActiveLists:
    """The directory holding the lists in force."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_data_dir()

    def manifest(self) -> dict[str, dict[str, object]]:
        path = self.directory / MANIFEST
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as err:
            raise ListFormatError(
                f"the manifest of the active lists is unreadable ({err}); remove the directory"
                " to fall back to the bundled lists",
                path=str(path),
            ) from None
        if not isinstance(data, dict):
            raise ListFormatError("the manifest is not a JSON object", path=str(path))
        return data

    def load(self) -> ListSet:
        """Lists in force: those installed in the directory, bundled ones for the rest."""
        return ListSet(self.load_lists())

    def load_lists(self) -> list[SanctionsList]:
        manifest = self.manifest()
        lists: dict[str, SanctionsList] = {}
        for list_id, entry in manifest.items():
            path = self.directory / str(entry["file"])
            published = entry.get("published")
            lists[list_id] = read_list_file(path, published=str(published) if published else None)
        for sl in bundled_lists():
            lists.setdefault(sl.list_id, sl)
        return [lists[k] for k in sorted(lists)]

    def install(
        self, path: Path, *, published: str | None = None, force: bool = False
    ) -> tuple[SanctionsList, ListDiff]:
        """Parse, check and put a newer list in force. Nothing changes if it is refused."""
        self.directory.mkdir(parents=True, exist_ok=True)
        # One update at a time: the manifest is read, changed and replaced under this lock.
        with (self.directory / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._install(path, published=published, force=force)

    def _install(
        self, path: Path, *, published: str | None, force: bool
    ) -> tuple[SanctionsList, ListDiff]:
        new = read_list_file(path, published=published)
        current = {sl.list_id: sl for sl in self.load_lists()}
        old = current.get(new.list_id)
        if old is not None and not force and len(new.vessels) < MAX_SHRINK * len(old.vessels):
            raise ListFormatError(
                f"the new {new.list_id} list has {len(new.vessels)} vessels, the one in force"
                f" {len(old.vessels)}: it looks truncated. Check the file; use --force if the"
                " authority really removed them",
                path=str(path),
            )
        diff = diff_lists(old, new)
        target = f"{new.list_id.lower()}.{_EXT[new.list_id]}.gz"
        raw = _decompress(path.read_bytes(), str(path))
        _atomic_write(self.directory / target, gzip.compress(raw, mtime=0))
        manifest = self.manifest()
        manifest[new.list_id] = {
            "file": target,
            "source_name": Path(new.source_name).name,
            "sha256": new.sha256,
            "published": new.published,
            "installed_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "vessels": len(new.vessels),
            "entries": new.total_entries,
        }
        _atomic_write(
            self.directory / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode()
        )
        return new, diff


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
