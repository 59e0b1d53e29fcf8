"""MISP JSON event exports -> STIX 2.1 objects.

Reads what MISP's "Download as JSON" (``/events/view/ID.json``, ``/events/restSearch``) gives:
``{"Event": {...}}``, ``{"response": [{"Event": ...}, ...]}`` or a list of those. Each event
becomes one STIX ``report`` (its ``object_refs`` the objects made from it), and:

- attributes with an indicator type (addresses, domains, URLs, hashes, e-mail addresses,
  file names, ``filename|<hash>`` pairs), in the event or inside MISP objects, become STIX
  ``indicator`` objects whose id is ``indicator--<attribute uuid>`` (stable across exports);
  those marked ``to_ids: false`` (not for detection) become cyber-observables instead
  (``ipv4-addr``, ``domain-name``, ``file``, ...), which matching never fires on;
- ``vulnerability`` attributes become ``vulnerability`` objects (CVE external reference);
- MITRE ATT&CK galaxy clusters and ``misp-galaxy:mitre-attack-pattern`` tags become
  ``attack-pattern`` objects, threat-actor clusters ``intrusion-set``, malware/tool clusters
  ``malware``; each indicator ``indicates`` them (``relationship`` objects);
- ``tlp:*`` tags give the event's TLP, shown to the importer with the distribution level.

Attribute types that are not mapped (``comment``, ``text``, ``ip-dst|port``, ...) are
reported and skipped; the rest of the event is imported. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import stix2
from stix2.exceptions import STIXError

from trilink.cyber.errors import CyberInputError, Problem
from trilink.cyber.markings import TLP2, stricter_tlp, uuid4_shaped
from trilink.cyber.stixio import Parsed, parse_objects

# MISP distribution levels (event and attribute "distribution").
DISTRIBUTION = {
    "0": "Your organisation only",
    "1": "This community only",
    "2": "Connected communities",
    "3": "All communities",
    "4": "Sharing group",
    "5": "Inherit event",
}
HASHES = {
    "md5": "MD5",
    "sha1": "SHA-1",
    "sha256": "SHA-256",
    "sha512": "SHA-512",
    "ssdeep": "SSDEEP",
}
_TECHNIQUE_RE = re.compile(r"\b(T\d{4}(?:\.\d{3})?)\b")
MAX_EVENTS = 1000
MAX_ATTRIBUTES = 100_000


@dataclass
class MispEvent:
    uuid: str
    info: str
    distribution: str
    tlp: str
    attributes: int = 0
    mapped: int = 0


@dataclass
class MispImport:
    parsed: Parsed
    events: list[MispEvent] = field(default_factory=list)


def is_misp(doc: Any) -> bool:
    if isinstance(doc, list):
        return bool(doc) and all(isinstance(d, dict) and "Event" in d for d in doc)
    return isinstance(doc, dict) and ("Event" in doc or "response" in doc)


def _events(doc: Any, source: str) -> list[Any]:
    if isinstance(doc, dict) and "response" in doc:
        doc = doc["response"]
    items = doc if isinstance(doc, list) else [doc]
    if len(items) > MAX_EVENTS:
        raise CyberInputError(f"{len(items)} events; the limit is {MAX_EVENTS}", path=source)
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("Event"), dict):
            raise CyberInputError(f"item {i} has no 'Event' object", path=source, field="Event")
        out.append(item["Event"])
    return out


def _ts(value: Any, fallback: str) -> str:
    text = str(value).strip() if value is not None else ""
    if text.isdigit() and len(text) <= 12:
        return datetime.fromtimestamp(int(text), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return f"{text}T00:00:00.000Z"
    return fallback


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _pattern(kind: str, value: str) -> str | None:
    """The STIX pattern of one MISP attribute, None for types not mapped."""
    v = value.strip()
    if kind in ("ip-src", "ip-dst"):
        return f"[{'ipv6-addr' if ':' in v else 'ipv4-addr'}:value = {_quote(v)}]"
    if kind in ("domain", "hostname"):
        return f"[domain-name:value = {_quote(v)}]"
    if kind == "url":
        return f"[url:value = {_quote(v)}]"
    if kind in ("email-src", "email-dst", "email"):
        return f"[email-addr:value = {_quote(v)}]"
    if kind == "filename":
        return f"[file:name = {_quote(v)}]"
    if kind in HASHES:
        return f"[file:hashes.'{HASHES[kind]}' = {_quote(v)}]"
    if kind.startswith("filename|") and kind.split("|", 1)[1] in HASHES:
        name, _, digest = v.partition("|")
        algo = HASHES[kind.split("|", 1)[1]]
        return f"[file:name = {_quote(name)} AND file:hashes.'{algo}' = {_quote(digest)}]"
    return None


def _observable(kind: str, value: str) -> dict[str, Any] | None:
    """The STIX cyber-observable of a MISP attribute (its id computed by ``stix2`` from its
    value, as STIX 2.1 defines for SCOs), None when the value does not make one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind in ("ip-src", "ip-dst"):
                sco: Any = (stix2.IPv6Address if ":" in value else stix2.IPv4Address)(value=value)
            elif kind in ("domain", "hostname"):
                sco = stix2.DomainName(value=value)
            elif kind == "url":
                sco = stix2.URL(value=value)
            elif kind in ("email-src", "email-dst", "email"):
                sco = stix2.EmailAddress(value=value)
            elif kind == "filename":
                sco = stix2.File(name=value)
            elif kind in HASHES:
                sco = stix2.File(hashes={HASHES[kind]: value})
            elif kind.startswith("filename|") and kind.split("|", 1)[1] in HASHES:
                name, _, digest = value.partition("|")
                sco = stix2.File(name=name, hashes={HASHES[kind.split("|", 1)[1]]: digest})
            else:
                return None
    except (STIXError, ValueError):
        return None
    out: dict[str, Any] = json.loads(sco.serialize())
    return out


def _stix_uuid(value: Any, seed: str) -> str:
    """The MISP uuid when it is a version-4 UUID (as MISP makes them), else one derived
    from ``seed`` (stable across exports)."""
    text = str(value or "")
    try:
        found = uuid.UUID(text)
    except ValueError:
        return uuid4_shaped(f"misp:{seed}")
    return str(found) if found.version == 4 else uuid4_shaped(f"misp:{seed}:{found}")


def _all_attributes(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    attrs = event.get("Attribute", [])
    for i, a in enumerate(attrs if isinstance(attrs, list) else []):
        yield f"Attribute[{i}]", a
    objs = event.get("Object", [])
    for j, o in enumerate(objs if isinstance(objs, list) else []):
        inner = o.get("Attribute", []) if isinstance(o, dict) else []
        for i, a in enumerate(inner if isinstance(inner, list) else []):
            yield f"Object[{j}].Attribute[{i}]", a


def _tag_names(holder: dict[str, Any]) -> list[str]:
    tags = holder.get("Tag", [])
    out = []
    for t in tags if isinstance(tags, list) else []:
        if isinstance(t, dict) and isinstance(t.get("name"), str):
            out.append(t["name"])
    return out


def _tlp_of(tags: list[str]) -> str:
    found = ""
    for name in tags:
        low = name.lower().replace(" ", "")
        if low.startswith("tlp:"):
            level = low[4:].replace("white", "clear")
            if level in TLP2:
                found = stricter_tlp(level, found) if found else level
    return found


def _galaxy_objects(event: dict[str, Any], created: str) -> list[dict[str, Any]]:
    """ATT&CK techniques, threat actors and malware named by galaxies and tags."""
    found: dict[str, dict[str, Any]] = {}

    def add(galaxy: str, value: str, ext_ids: list[str], cluster_uuid: Any) -> None:
        value = value.strip()[:250]
        if not value:
            return
        if "attack-pattern" in galaxy:
            kind = "attack-pattern"
        elif "threat-actor" in galaxy or "intrusion-set" in galaxy:
            kind = "intrusion-set"
        elif "malware" in galaxy or "tool" in galaxy or "ransomware" in galaxy:
            kind = "malware"
        else:
            return
        name = value.split(" - ")[0].strip() if kind == "attack-pattern" else value
        oid = f"{kind}--{_stix_uuid(cluster_uuid, f'{kind}:{value}')}"
        obj: dict[str, Any] = {
            "type": kind,
            "spec_version": "2.1",
            "id": oid,
            "created": created,
            "modified": created,
            "name": name,
            "description": f"From the MISP galaxy {galaxy!r}: {value}",
        }
        if kind == "malware":
            obj["is_family"] = True
        ids = ext_ids or _TECHNIQUE_RE.findall(value)
        if kind == "attack-pattern" and ids:
            obj["external_references"] = [{"source_name": "mitre-attack", "external_id": ids[0]}]
        found.setdefault(oid, obj)

    galaxies = event.get("Galaxy", [])
    for g in galaxies if isinstance(galaxies, list) else []:
        if not isinstance(g, dict):
            continue
        gtype = str(g.get("type", ""))
        clusters = g.get("GalaxyCluster", [])
        for c in clusters if isinstance(clusters, list) else []:
            if not isinstance(c, dict):
                continue
            meta = c.get("meta", {})
            ext = meta.get("external_id", []) if isinstance(meta, dict) else []
            ext_ids = [str(e) for e in ext if isinstance(e, str)] if isinstance(ext, list) else []
            add(gtype, str(c.get("value", "")), ext_ids, c.get("uuid"))
    for tag in _tag_names(event):
        m = re.fullmatch(r'misp-galaxy:([a-z0-9-]+)="(.+)"', tag.strip())
        if m:
            add(m.group(1), m.group(2), [], None)
    return list(found.values())


def map_event(
    event: dict[str, Any], source: str, index: int
) -> tuple[MispEvent, list[dict[str, Any]], list[Problem]]:
    """One MISP event -> its STIX objects and the attributes that were skipped."""
    problems: list[Problem] = []
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    ev_uuid = _stix_uuid(event.get("uuid"), f"event:{source}:{index}")
    info = str(event.get("info", "")).strip()[:500] or f"MISP event {ev_uuid}"
    created = _ts(event.get("date"), now)
    modified = max(_ts(event.get("timestamp"), created), created)
    dist = str(event.get("distribution", ""))
    tags = _tag_names(event)
    meta = MispEvent(
        uuid=ev_uuid,
        info=info,
        distribution=f"{dist} ({DISTRIBUTION.get(dist, 'unknown level')})" if dist else "",
        tlp=_tlp_of(tags),
    )
    threats = _galaxy_objects(event, created)
    objects: list[dict[str, Any]] = list(threats)
    refs: list[str] = [t["id"] for t in threats]
    for where, attr in _all_attributes(event):
        meta.attributes += 1
        if meta.attributes > MAX_ATTRIBUTES:
            problems.append(
                Problem(source, ev_uuid, "Attribute", "too many attributes; rest skipped")
            )
            break
        if not isinstance(attr, dict):
            problems.append(Problem(source, f"event {ev_uuid} {where}", "", "not an object"))
            continue
        a_uuid = _stix_uuid(attr.get("uuid"), f"attr:{ev_uuid}:{where}")
        kind = str(attr.get("type", ""))[:60]
        value = attr.get("value")
        label = f"event {ev_uuid} attribute {a_uuid}"
        if not isinstance(value, str) or not value.strip():
            problems.append(Problem(source, label, "value", "missing or empty"))
            continue
        a_time = _ts(attr.get("timestamp"), modified)
        if kind == "vulnerability":
            cve = value.strip()[:64]
            obj: dict[str, Any] = {
                "type": "vulnerability",
                "spec_version": "2.1",
                "id": f"vulnerability--{a_uuid}",
                "created": a_time,
                "modified": a_time,
                "name": cve,
                "description": str(attr.get("comment", "") or f"{cve} (MISP event {info})")[:2000],
                "external_references": [{"source_name": "cve", "external_id": cve}],
            }
            objects.append(obj)
            refs.append(obj["id"])
            meta.mapped += 1
            continue
        pattern = _pattern(kind, value)
        if pattern is None:
            problems.append(
                Problem(
                    source, label, "type", f"MISP attribute type {kind!r} is not mapped; skipped"
                )
            )
            continue
        if attr.get("to_ids") is False or str(attr.get("to_ids", "")).lower() in ("0", "false"):
            # MISP: not for detection. An observable (STIX cyber-observable), not an indicator,
            # so matching never fires on it.
            sco = _observable(kind, value.strip())
            if sco is None:
                problems.append(
                    Problem(source, label, "value", f"not a valid {kind} observable; skipped")
                )
                continue
            objects.append(sco)
            refs.append(sco["id"])
            meta.mapped += 1
            continue
        comment = str(attr.get("comment", "") or "").strip()
        ind: dict[str, Any] = {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{a_uuid}",
            "created": a_time,
            "modified": a_time,
            "name": f"{kind} {value.strip()[:200]}",
            "description": (comment or f"{kind} from MISP event: {info}")[:2000],
            "indicator_types": ["malicious-activity"],
            "pattern": pattern,
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": a_time,
            "labels": [f"misp:category={str(attr.get('category', ''))[:60]}"]
            if attr.get("category")
            else [],
        }
        if not ind["labels"]:
            del ind["labels"]
        objects.append(ind)
        refs.append(ind["id"])
        meta.mapped += 1
        for t in threats:
            rel_id = f"relationship--{uuid4_shaped(ind['id'] + t['id'])}"
            objects.append(
                {
                    "type": "relationship",
                    "spec_version": "2.1",
                    "id": rel_id,
                    "created": a_time,
                    "modified": a_time,
                    "relationship_type": "indicates",
                    "source_ref": ind["id"],
                    "target_ref": t["id"],
                    "description": f"MISP event {info}",
                }
            )
            refs.append(rel_id)
    if refs:
        objects.append(
            {
                "type": "report",
                "spec_version": "2.1",
                "id": f"report--{ev_uuid}",
                "created": created,
                "modified": modified,
                "name": info,
                "description": f"MISP event {ev_uuid}; distribution "
                + (meta.distribution or "not given")
                + (f"; TLP:{meta.tlp.upper()}" if meta.tlp else ""),
                "report_types": ["threat-report"],
                "published": modified,
                "object_refs": refs,
            }
        )
    return meta, objects, problems


def parse_misp(doc: Any, source: str) -> MispImport:
    """Every event of a MISP JSON export, mapped and checked as STIX 2.1."""
    events = _events(doc, source)
    metas: list[MispEvent] = []
    objects: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for i, event in enumerate(events):
        meta, objs, probs = map_event(event, source, i)
        metas.append(meta)
        objects += objs
        problems += probs
    parsed = parse_objects(objects, source)
    parsed.problems[:0] = problems
    by_event_tlp = {f"report--{m.uuid}": m.tlp for m in metas}
    for p in parsed.objects:
        p.tlp = p.tlp or by_event_tlp.get(p.id, "")
    if any(m.tlp for m in metas):
        strict = ""
        for m in metas:
            if m.tlp:
                strict = stricter_tlp(m.tlp, strict) if strict else m.tlp
        for p in parsed.objects:
            p.tlp = p.tlp or strict
    return MispImport(parsed, metas)
