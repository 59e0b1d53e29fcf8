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

import msgspec

from trilink.sanctions.entities import entities_of
from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.eu_dprk import parse_eu_dprk
from trilink.sanctions.ftm import looks_like_ftm, parse_ftm
from trilink.sanctions.jp_meti import parse_jp_meti
from trilink.sanctions.jp_mof import parse_jp_mof
from trilink.sanctions.listset import ListDiff, ListSet, diff_lists
from trilink.sanctions.ofac import parse_ofac_sdn
from trilink.sanctions.ofac_xml import list_id_for, parse_ofac_xml
from trilink.sanctions.records import (
    EU_DPRK,
    JP_METI,
    JP_MOF,
    LIST_IDS,
    OFAC_NON_SDN,
    OFAC_SDN,
    UK_OFSI,
    UN_1718,
    UN_CONSOLIDATED,
    SanctionsList,
)
from trilink.sanctions.uk_ofsi import parse_uk_ofsi
from trilink.sanctions.un1718 import parse_un_1718
from trilink.sanctions.unxml import parse_un_consolidated
from trilink.sanctions.xlsx import sheet_names

ENV_DIR = "TRILINK_SANCTIONS_DIR"
MANIFEST = "manifest.json"
# The lists in force when none was installed: the three nations' own lists (Japan's MOF and
# METI lists; the US OFAC lists; South Korea's designations were not available as a file),
# the UN lists all three enforce, and the EU DPRK annexes. The UK OFSI list (2.2 MB xlsx) is
# not bundled: install it with `trilink sanctions update ConList.xlsx`.
BUNDLED = {
    OFAC_SDN: ("ofac_sdn_2024-05-03.csv.gz", "2024-05-03"),
    UN_1718: ("un_1718_designated_vessels_2020-06-04.html.gz", None),
    UN_CONSOLIDATED: ("un_consolidated_2026-02-27.xml.gz", None),
    OFAC_NON_SDN: ("ofac_consolidated_non_sdn_2026-01-08.xml.gz", None),
    JP_MOF: ("jp_mof_asset_freeze_list_2026-03-05.xlsx.gz", "2026-03-05"),
    JP_METI: ("jp_meti_end_user_list_2025-09-29.xlsx.gz", "2025-09-29"),
    EU_DPRK: ("eu_reg_2017-1509_dprk_annexes_2025-12-17.csv.gz", "2025-12-17"),
}
# Kept in the package for the parser tests: the edition the UN list had before.
UN_CONSOLIDATED_2020 = "un_consolidated_2020-11-30.xml.gz"
_EXT = {
    OFAC_SDN: "csv",
    UN_1718: "html",
    UN_CONSOLIDATED: "xml",
    OFAC_NON_SDN: "xml",
    UK_OFSI: "xlsx",
    JP_MOF: "xlsx",
    JP_METI: "xlsx",
    EU_DPRK: "csv",
}
FTM = "FTM"  # what detect_list says of FollowTheMoney JSON lines (the list id comes later)
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


def detect_list(data: bytes, source_name: str = "") -> str:
    """Which list a file holds, from its content (OFAC XML: SDN or non-SDN from its name)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \r\n\t")
    if head[:4] == b"PK\x03\x04":
        names = [n.strip() for n in sheet_names(data)]
        if "一覧" in names:
            return JP_MOF
        if "ユーザーリスト" in names:
            return JP_METI
        if names == ["Data"]:
            return UK_OFSI
        raise ListFormatError(
            f"a workbook with sheets {names[:5]} is not a list trilink knows: expected the UK"
            " OFSI ConList.xlsx (sheet 'Data'), Japan MOF's list (sheet '一覧') or METI's End"
            " User List (sheet 'ユーザーリスト')"
        )
    if b"<CONSOLIDATED_LIST" in head:
        return UN_CONSOLIDATED
    if b"<sdnList" in head:
        return list_id_for(source_name)
    if head.startswith(b"celex,recordId,programKey"):
        return EU_DPRK
    if b"1718 Designated Vessels List" in data[:20000]:
        return UN_1718
    if re.match(rb'^\d+,"', head):
        return OFAC_SDN
    if looks_like_ftm(head):
        return FTM
    if head[:2] in (b"\xfe\xff", b"\xff\xfe"):
        raise ListFormatError("the file is UTF-16; save it as UTF-8")
    raise ListFormatError(
        "not a list trilink knows: expected OFAC sdn.csv or XML, the UN 1718 Designated"
        " Vessels List (HTML), the UN Consolidated List (XML), UK OFSI ConList.xlsx, Japan"
        " MOF or METI xlsx, the EU 2017/1509 annexes CSV, or FollowTheMoney JSON lines"
    )


# Parsed lists by content hash: the same file is parsed once per process.
_PARSED: dict[tuple[str, str, str | None, str | None], SanctionsList] = {}


def parse_list_bytes(
    data: bytes, source_name: str, *, published: str | None = None, list_id: str | None = None
) -> SanctionsList:
    """Parse one list file's bytes (gzip allowed). Raises ``ListFormatError`` when damaged.
    ``list_id`` names a FollowTheMoney file's list (other formats name their own)."""
    raw = _decompress(data, source_name)
    key = (hashlib.sha256(raw).hexdigest(), source_name, published, list_id)
    cached = _PARSED.get(key)
    if cached is None:
        cached = _parse(raw, source_name, published, list_id)
        if len(_PARSED) > 16:
            _PARSED.clear()
        _PARSED[key] = cached
    return cached


def _parse(
    raw: bytes, source_name: str, published: str | None, named: str | None = None
) -> SanctionsList:
    try:
        list_id = detect_list(raw, Path(source_name).name)
    except ListFormatError as err:
        raise ListFormatError(str(err), path=source_name) from None
    if list_id == FTM:
        return parse_ftm(raw, source_name=source_name, list_id=named, published=published)
    if list_id in (OFAC_SDN, OFAC_NON_SDN) and raw.lstrip(b"\xef\xbb\xbf \r\n\t")[:1] == b"<":
        return parse_ofac_xml(raw, source_name=source_name, list_id=list_id)
    if list_id == OFAC_SDN:
        if published is None:
            m = _DATE_IN_NAME.search(Path(source_name).name)
            published = f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None
        return parse_ofac_sdn(raw, source_name=source_name, published=published)
    if list_id == UN_1718:
        return parse_un_1718(raw, source_name=source_name)
    if list_id == UN_CONSOLIDATED:
        return parse_un_consolidated(raw, source_name=source_name)
    parser = {
        UK_OFSI: parse_uk_ofsi,
        JP_MOF: parse_jp_mof,
        JP_METI: parse_jp_meti,
        EU_DPRK: parse_eu_dprk,
    }[list_id]
    sl = parser(raw, source_name=source_name)
    if published and not sl.published:
        sl = msgspec.structs.replace(sl, published=published)
    return sl


def read_list_file(
    path: Path, *, published: str | None = None, list_id: str | None = None
) -> SanctionsList:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ListFormatError(f"cannot read the file: {err.strerror}", path=str(path)) from None
    return parse_list_bytes(data, str(path), published=published, list_id=list_id)


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
            lists[list_id] = read_list_file(
                path, published=str(published) if published else None, list_id=list_id
            )
        for sl in bundled_lists():
            lists.setdefault(sl.list_id, sl)
        # The lists read before the entity model first: a tie between equal matches goes to
        # OFAC, then the UN, as it always did.
        order = {k: i for i, k in enumerate(LIST_IDS)}
        return [lists[k] for k in sorted(lists, key=lambda k: (order.get(k, 99), k))]

    def install(
        self,
        path: Path,
        *,
        published: str | None = None,
        force: bool = False,
        list_id: str | None = None,
    ) -> tuple[SanctionsList, ListDiff]:
        """Parse, check and put a newer list in force. Nothing changes if it is refused.
        ``list_id`` names a FollowTheMoney file's list (default: its dataset)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        # One update at a time: the manifest is read, changed and replaced under this lock.
        with (self.directory / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._install(path, published=published, force=force, list_id=list_id)

    def _install(
        self, path: Path, *, published: str | None, force: bool, list_id: str | None
    ) -> tuple[SanctionsList, ListDiff]:
        new = read_list_file(path, published=published, list_id=list_id)
        if list_id is not None and new.list_id != list_id:
            raise ListFormatError(
                f"the file is the {new.list_id} list; --list-id names only FollowTheMoney files",
                path=str(path),
            )
        current = {sl.list_id: sl for sl in self.load_lists()}
        old = current.get(new.list_id)
        if old is not None and not force:
            old_n, new_n = len(entities_of(old)), len(entities_of(new))
            if new_n < MAX_SHRINK * old_n:
                raise ListFormatError(
                    f"the new {new.list_id} list has {new_n} entries, the one in force"
                    f" {old_n}: it looks truncated. Check the file; use --force if the"
                    " authority really removed them",
                    path=str(path),
                )
            if old.published and new.published and new.published < old.published:
                raise ListFormatError(
                    f"the new {new.list_id} list is dated {new.published}, older than the one"
                    f" in force ({old.published}); use --force to go back to it",
                    path=str(path),
                )
        if old is not None and not force and len(new.vessels) < MAX_SHRINK * len(old.vessels):
            raise ListFormatError(
                f"the new {new.list_id} list has {len(new.vessels)} vessels, the one in force"
                f" {len(old.vessels)}: it looks truncated. Check the file; use --force if the"
                " authority really removed them",
                path=str(path),
            )
        diff = diff_lists(old, new)
        target = f"{new.list_id.lower()}.{_EXT.get(new.list_id, 'ftm.json')}.gz"
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
            "entities": len(entities_of(new)),
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
