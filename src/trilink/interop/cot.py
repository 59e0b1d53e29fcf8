"""Cursor-on-Target 2.0 events for TAK (ATAK, WinTAK, TAK Server), and TAK data packages.

One ``<event>`` per object: a track (one ``uid`` per track, so every update replaces the
previous one in place, whether the update is a new version of the report or a new report with
the same track id) or a one-off report (its report id). From the kind registry:

* ``type``: the 2525-derived atom type with the object's affiliation (``a-h-A-W-M`` a hostile
  missile in flight, ``a-u-S-X-M-C`` an unknown cargo ship, ``a-s-S-X`` a suspect vessel);
  a place that is no 2525 object (an event, a warning's impact point) is a point of interest
  (``b-m-p-s-p-i``); a report that is only a line or an area is a drawing (``u-d-f``);
* ``time`` and ``start``: when the content was observed, not when it was exported;
* ``stale``: the end of what was observed (or the observation) plus the kind's ``stale_s``;
  a cancelled warning or deleted track is stale at once, so TAK drops it;
* ``how``: machine (m), fused (m-f), GPS/AIS (m-g), imagery (m-i), predicted (m-p), human (h-e);
* ``point``: ``hae`` the height above the ellipsoid, ``ce``/``le`` the one-sigma errors when the
  data has them (9999999 = unknown, as CoT defines);
* ``opex``: ``e`` for exercise content, ``o`` for live; ``access``: the report's label;
* ``detail``: the title as ``contact`` callsign, the label first in ``remarks``, course and
  speed in ``track``, the uncertainty or impact ellipse as ``shape``/``ellipse`` (semi-axes in
  metres, angle of the major axis clockwise from north), and a ``trilink`` element naming the
  report, its version and label.

Every event validates against the public CoT Event 2.0 schema (tests/interop). A data package
is a zip with ``MANIFEST/manifest.xml`` and one ``.cot`` file per event, as TAK imports them.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import IO

from trilink.interop.items import Item
from trilink.interop.marking import Marking
from trilink.interop.xmltext import xml_attr, xml_comment, xml_text
from trilink.model.kindspec import POINT_OF_INTEREST, Ellipse

UNKNOWN = 9999999.0  # CoT's "not known" for hae, ce and le
DRAWING = "u-d-f"
DELETE = "t-x-d-d"
CALLSIGN_CHARS = 60
_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def uid_of(item: Item) -> str:
    """The CoT uid: one per track (origin, kind and track id), else one per report."""
    return f"trilink:{item.track_key}" if item.track_key else f"trilink:{item.id}"


def _cot_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@lru_cache(maxsize=8192)
def _times(observed: str, until: str | None, stale_s: float, ended: bool) -> tuple[str, str]:
    """(time, stale) of CoT: many objects share their observation times."""
    moment = datetime.fromisoformat(observed)
    if ended:
        return _cot_time(moment), _cot_time(moment)
    stale = datetime.fromisoformat(until or observed) + timedelta(seconds=stale_s)
    return _cot_time(moment), _cot_time(max(stale, moment))


def _decimal(value: float | None) -> str:
    """xs:decimal text (never an exponent)."""
    return f"{UNKNOWN if value is None else value:.1f}"


def _ellipse(item: Item) -> Ellipse | None:
    for shape in item.shapes:
        if isinstance(shape, Ellipse):
            return shape
    return None


def event_type(item: Item) -> str:
    if item.symbol is not None:
        return item.symbol.cot_type(item.affiliation)
    if any(f["geometry"]["type"] == "Point" for f in item.features) or _ellipse(item):
        return POINT_OF_INTEREST
    return DRAWING


def cot_event(item: Item) -> str:
    """One CoT event (an XML element, no declaration) of ``item``."""
    time, stale = _times(item.observed, item.until, item.spec.stale_s, item.ended)
    etype = event_type(item)
    where = item.point()
    assert where is not None, "only items with a position become events"
    lon, lat = where
    ce, le = item.spec.accuracy(item.payload)
    detail = [
        f'<contact callsign="{xml_attr(item.title[:CALLSIGN_CHARS])}"/>',
        f"<remarks>{xml_text(f'{item.label} | {item.kind} from {item.origin} | {item.title}')}"
        "</remarks>",
    ]
    motion = item.spec.motion(item.payload)
    if motion is not None:
        detail.append(f'<track course="{motion[0]:.1f}" speed="{motion[1]:.2f}"/>')
    ellipse = _ellipse(item)
    if ellipse is not None:
        detail.append(
            f'<shape><ellipse major="{ellipse.semi_major_m:.1f}" '
            f'minor="{ellipse.semi_minor_m:.1f}" angle="{round(ellipse.orientation_deg) % 360}"/>'
            "</shape>"
        )
    if etype == DRAWING:
        line = item.features[0]["geometry"]
        coords = line["coordinates"][0] if line["type"] == "Polygon" else line["coordinates"]
        detail.extend(f'<link point="{c[1]},{c[0]}"/>' for c in coords)
    detail.append(
        f'<trilink label="{xml_attr(item.label)}" classification="{item.classification}" '
        f'report="{item.id}" version="{item.version}" kind="{item.kind}" '
        f'origin="{item.origin}"'
        + (f' status="{xml_attr(item.status)}"' if item.status else "")
        + "/>"
    )
    return (
        f'<event version="2.0" uid="{xml_attr(uid_of(item))}" type="{etype}" '
        f'time="{time}" start="{time}" stale="{stale}" '
        f'how="{item.spec.how(item.payload)}" opex="{"e" if item.exercise else "o"}" '
        f'access="{xml_attr(item.label)}">'
        f'<point lat="{lat:.6f}" lon="{lon:.6f}" hae="{_decimal(item.alt_m)}" '
        f'ce="{_decimal(ce)}" le="{_decimal(le)}"/>'
        f"<detail>{''.join(detail)}</detail></event>"
    )


def delete_event(uid: str, when: datetime, label: str) -> str:
    """TAK's "delete this object" event (a tombstoned report), stale at once."""
    now = _cot_time(when)
    return (
        f'<event version="2.0" uid="{xml_attr(uid)}.delete" type="{DELETE}" time="{now}" '
        f'start="{now}" stale="{now}" how="m-g" access="{xml_attr(label)}">'
        f'<point lat="0.0" lon="0.0" hae="{UNKNOWN}" ce="{UNKNOWN}" le="{UNKNOWN}"/>'
        f'<detail><link uid="{xml_attr(uid)}" relation="none" type="none"/>'
        "<__forcedelete/></detail></event>"
    )


def events_of(items: Iterable[Item], *, include_ended: bool = False) -> Iterator[tuple[str, str]]:
    """(uid, event XML) of every object with a position: the newest state of each track
    (by observation time, then version), in the items' order."""
    newest: dict[str, Item] = {}
    for item in items:
        if not item.features or (item.ended and not include_ended):
            continue
        uid = uid_of(item)
        known = newest.get(uid)
        if known is None or (item.observed, item.seq) >= (known.observed, known.seq):
            newest[uid] = item
    for uid, item in newest.items():
        yield uid, cot_event(item)


def _file_name(uid: str) -> str:
    return _FILE_CHARS.sub("_", uid)[:120] + ".cot"


def write_data_package(
    items: Sequence[Item], marking: Marking, nation: str, out: IO[bytes]
) -> int:
    """A TAK data package (zip): one event per ``.cot`` file, ``MANIFEST/manifest.xml``
    listing them, ``MARKING.txt`` with the overall marking. Returns how many events."""
    name = f"{marking.text} | trilink {nation}"
    contents: list[str] = []
    count = 0
    # stored, not deflated: events are a few hundred bytes each, and compressing each file on
    # its own costs more time than it saves space
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for uid, event in events_of(items):
            entry = f"{_file_name(uid)}"
            zf.writestr(
                entry, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + event + "\n"
            )
            contents.append(
                f'<Content ignore="false" zipEntry="{xml_attr(entry)}">'
                f'<Parameter name="uid" value="{xml_attr(uid)}"/></Content>'
            )
            count += 1
        zf.writestr("MARKING.txt", f"{marking.text}\n")
        zf.writestr(
            "MANIFEST/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<!-- {xml_comment(marking.text)} -->\n"
            '<MissionPackageManifest version="2"><Configuration>'
            f'<Parameter name="uid" value="trilink-{nation}-{_export_stamp()}"/>'
            f'<Parameter name="name" value="{xml_attr(name)}"/>'
            "</Configuration><Contents>" + "".join(contents) + "</Contents>"
            "</MissionPackageManifest>\n",
        )
    return count


def _export_stamp() -> str:
    return datetime.now().strftime("%Y%m%dT%H%M%S")


def events_bytes(items: Sequence[Item]) -> bytes:
    """The events one after another, as a TAK server's streaming input takes them."""
    buf = io.StringIO()
    for _, event in events_of(items):
        buf.write(event)
        buf.write("\n")
    return buf.getvalue().encode()
