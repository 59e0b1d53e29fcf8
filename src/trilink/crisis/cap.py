"""Public alerts as OASIS CAP 1.2 messages: the incident's ``Alert``, ``Update`` and
``Cancel``, each with ``info`` blocks in English, Japanese and Korean written in advance in
the playbook, and the area drawn from the warning's impact ellipse (polygon and circle).

Release rules: a public alert is UNCLASSIFIED. It carries only the trigger's fields the
playbook's ``[release] fields`` lists (every other field is redacted and named in
``redacted``), and only a person holding the playbook's release role may release it (the
caller checks the roster; ``release_check`` says why not). ``sent`` is local time with its
offset and no fractions (``2026-11-23T15:15:00+09:00``; UTC is ``-00:00`` as CAP requires).
The cancel is built with the alert, before the alert goes out.

Pure: values in, XML text out (the Atom feed of released alerts too).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from trilink.crisis.playbook import Playbook
from trilink.geo.ellipse import ellipse_ring
from trilink.model.payloads.crisis import IncidentPayload

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
LANGUAGE_TAGS = {"en": "en-US", "ja": "ja-JP", "ko": "ko-KR"}
ZONES = {"USA": "UTC", "JPN": "Asia/Tokyo", "KOR": "Asia/Seoul"}
EVENT_NAMES = {"en": "Missile launch", "ja": "弾道ミサイル発射", "ko": "탄도미사일 발사"}
SENDER_NAMES = {
    "USA": {"en": "US crisis cell", "ja": "米国危機管理室", "ko": "미국 위기관리실"},
    "JPN": {"en": "Japan crisis cell", "ja": "日本国危機管理室", "ko": "일본 위기관리실"},
    "KOR": {"en": "Korea crisis cell", "ja": "韓国危機管理室", "ko": "한국 위기관리실"},
}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_CAP_ID = re.compile(r"[^A-Za-z0-9_.:-]")


@dataclass(frozen=True)
class CapMessage:
    msg_type: str  # Alert, Update, Cancel
    message: str  # the playbook message used: alert, update, correction, cancel
    identifier: str
    sender: str
    sent: str
    xml: str
    references: tuple[str, ...]
    headline: str
    area: list[tuple[float, float]]
    redacted: tuple[str, ...]

    @property
    def reference(self) -> str:
        """This message as others reference it: sender,identifier,sent."""
        return f"{self.sender},{self.identifier},{self.sent}"


def cap_time(t: datetime, zone: ZoneInfo) -> str:
    """CAP dateTime: local time, seconds, numeric offset; UTC as -00:00."""
    text = t.astimezone(zone).replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def released_fields(
    book: Playbook, trigger: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The trigger's fields a public message may carry, and the names of those redacted."""
    keep = {k: trigger[k] for k in book.release_fields if k in trigger}
    return keep, sorted(set(trigger) - set(keep))


def release_check(book: Playbook, person: str, roles_of_person: Sequence[str]) -> str | None:
    """Why ``person`` may not release a public alert of ``book``; None when they may."""
    if not book.release_role:
        return f"playbook {book.id} names no [release] role: no one may release its alerts"
    if book.release_role not in roles_of_person:
        return (
            f"{person or 'nobody'} does not hold the release role {book.release_role!r} on "
            f"the roster (their roles: {', '.join(roles_of_person) or 'none'})"
        )
    return None


def _fill(text: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _area_text(fields: Mapping[str, Any], lang: str) -> str:
    lat, lon = fields.get("impact_lat"), fields.get("impact_lon")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return {"en": "the announced area", "ja": "発表区域", "ko": "발표 지역"}[lang]
    ns = ("N" if lat >= 0 else "S", "北緯" if lat >= 0 else "南緯", "북위" if lat >= 0 else "남위")
    ew = ("E" if lon >= 0 else "W", "東経" if lon >= 0 else "西経", "동경" if lon >= 0 else "서경")
    if lang == "ja":
        return f"{ns[1]}{abs(lat):.1f}度 {ew[1]}{abs(lon):.1f}度"
    if lang == "ko":
        return f"{ns[2]} {abs(lat):.1f}도 {ew[2]} {abs(lon):.1f}도"
    return f"{abs(lat):.1f}°{ns[0]} {abs(lon):.1f}°{ew[0]}"


def _local_time(value: Any, zone: ZoneInfo) -> str:
    if not isinstance(value, str):
        return "?"
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return "?"
    return t.astimezone(zone).strftime("%H:%M %Z") if t.tzinfo else "?"


def _area(fields: Mapping[str, Any]) -> tuple[list[tuple[float, float]], str | None]:
    """Polygon ring (lon, lat) and CAP circle text from the released ellipse."""
    try:
        lat, lon = float(fields["impact_lat"]), float(fields["impact_lon"])
        a = float(fields.get("ellipse_semi_major_m", 0.0))
        b = float(fields.get("ellipse_semi_minor_m", a))
        orient = float(fields.get("ellipse_orientation_deg", 0.0))
    except (KeyError, TypeError, ValueError):
        return [], None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or not 0 < b <= a < 5_000_000:
        return [], None
    ring = [(float(x), float(y)) for x, y in ellipse_ring(lon, lat, a, b, orient, 36, 4)]
    return ring, f"{lat:.4f},{lon:.4f} {a / 1000:.1f}"


def _identifier(nation: str, incident_id: str, message: str) -> str:
    digest = hashlib.sha256(incident_id.encode("utf-8")).hexdigest()[:16]
    return _CAP_ID.sub("-", f"trilink.{nation}.{digest}.{message}")


def build_message(
    book: Playbook,
    incident: IncidentPayload,
    trigger: Mapping[str, Any],
    *,
    message: str,
    msg_type: str,
    sent: datetime,
    references: Sequence[str] = (),
    exercise: bool | None = None,
    expires_after_s: float = 3600.0,
) -> CapMessage:
    """One CAP 1.2 message from a pre-written playbook message and the released fields."""
    nation = incident.nation
    zone = ZoneInfo(ZONES.get(nation, "UTC"))
    fields, redacted = released_fields(book, trigger)
    text = book.messages[message]
    ring, circle = _area(fields)
    sender = f"crisis-cell.{nation.lower()}@trilink"
    sent_text = cap_time(sent, zone)
    identifier = _identifier(nation, incident.incident_id, message)
    is_exercise = incident.exercise if exercise is None else exercise
    cancel = msg_type == "Cancel"
    x = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<alert xmlns="{CAP_NS}">',
        f"<identifier>{escape(identifier)}</identifier>",
        f"<sender>{escape(sender)}</sender>",
        f"<sent>{sent_text}</sent>",
        f"<status>{'Exercise' if is_exercise else 'Actual'}</status>",
        f"<msgType>{msg_type}</msgType>",
        "<scope>Public</scope>",
        "<note>UNCLASSIFIED. Released by an authorised role; fields of the classified "
        f"input withheld: {escape(', '.join(redacted)) or 'none'}</note>",
    ]
    if references:
        x.append(f"<references>{escape(' '.join(references))}</references>")
    # the incident by a digest of its id: internal report ids stay out of public messages
    x.append(f"<incidents>{escape(_identifier(nation, incident.incident_id, 'incident'))}"
             "</incidents>")  # fmt: skip
    expires = cap_time(sent + timedelta(seconds=expires_after_s), zone)
    for lang in ("en", "ja", "ko"):
        values = {
            "area": _area_text(fields, lang),
            "impact_time_local": _local_time(fields.get("impact_time"), zone),
        }
        x += [
            "<info>",
            f"<language>{LANGUAGE_TAGS[lang]}</language>",
            "<category>Safety</category>",
            f"<event>{escape(EVENT_NAMES[lang])}</event>",
            f"<responseType>{'AllClear' if cancel else 'Shelter'}</responseType>",
            f"<urgency>{'Past' if cancel else 'Immediate'}</urgency>",
            f"<severity>{'Minor' if cancel else 'Extreme'}</severity>",
            f"<certainty>{'Unlikely' if cancel else 'Likely'}</certainty>",
            f"<expires>{expires}</expires>",
            f"<senderName>{escape(SENDER_NAMES.get(nation, {}).get(lang, nation))}</senderName>",
            f"<headline>{escape(_fill(text.headline[lang], values))}</headline>",
            f"<description>{escape(_fill(text.text[lang], values))}</description>",
        ]
        if lang in text.instruction:
            x.append(f"<instruction>{escape(_fill(text.instruction[lang], values))}</instruction>")
        x.append("<area>")
        x.append(f"<areaDesc>{escape(_area_text(fields, lang))}</areaDesc>")
        if ring:
            pairs = " ".join(f"{lat:.4f},{lon:.4f}" for lon, lat in ring)
            x.append(f"<polygon>{pairs}</polygon>")
        if circle:
            x.append(f"<circle>{circle}</circle>")
        x += ["</area>", "</info>"]
    x.append("</alert>")
    return CapMessage(
        msg_type=msg_type,
        message=message,
        identifier=identifier,
        sender=sender,
        sent=sent_text,
        xml="\n".join(x) + "\n",
        references=tuple(references),
        headline=_fill(text.headline["en"], {"area": _area_text(fields, "en")}),
        area=ring,
        redacted=tuple(redacted),
    )


def incident_messages(
    book: Playbook,
    incident: IncidentPayload,
    trigger: Mapping[str, Any],
    *,
    sent: datetime,
    correction: bool = False,
) -> list[CapMessage]:
    """The incident's Alert, its Update (the playbook's ``update``, or its ``correction``),
    and its Cancel, prepared together: the update and cancel reference the alert."""
    alert = build_message(book, incident, trigger, message="alert", msg_type="Alert", sent=sent)
    out = [alert]
    second = "correction" if correction else "update"
    if second in book.messages:
        out.append(build_message(book, incident, trigger, message=second, msg_type="Update",
                                 sent=sent, references=[alert.reference]))  # fmt: skip
    out.append(build_message(book, incident, trigger, message="cancel", msg_type="Cancel",
                             sent=sent, references=[m.reference for m in out]))  # fmt: skip
    return out


def atom_feed(nation: str, alerts: Sequence[Mapping[str, Any]], *, updated: str) -> str:
    """An Atom feed (RFC 4287) of released public alerts (``crisis.alert`` payloads), each
    entry carrying its CAP message as content."""
    x = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<id>urn:trilink:{escape(nation)}:cap</id>",
        f"<title>{escape(SENDER_NAMES.get(nation, {}).get('en', nation))} public alerts</title>",
        f"<updated>{escape(updated)}</updated>",
        f"<author><name>{escape(nation)} crisis cell</name></author>",
    ]
    for a in alerts:
        x += [
            "<entry>",
            f"<id>urn:cap:{escape(str(a['identifier']))}</id>",
            f"<title>{escape(str(a['msg_type']))}: {escape(str(a['headline']))}</title>",
            f"<updated>{escape(str(a['sent']))}</updated>",
            f'<content type="application/cap+xml">{escape(str(a["xml"]))}</content>',
            "</entry>",
        ]
    x.append("</feed>")
    return "\n".join(x) + "\n"
