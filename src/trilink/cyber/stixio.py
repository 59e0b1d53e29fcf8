"""Reading STIX 2.1: bundles from files, envelopes from TAXII, objects from anywhere.

``parse_objects`` checks every object with the ``stix2`` library (required properties,
value types, patterns, timestamps, references) and keeps the good ones; an object of a
type STIX 2.1 does not define, or that ``stix2`` refuses, becomes a ``Problem`` naming its
id and property, and the others go on. Bounded: a file is at most ``MAX_FILE_BYTES``, holds
at most ``MAX_OBJECTS`` objects, each at most ``MAX_OBJECT_BYTES`` of JSON.

Marking definitions, extension definitions and trilink's own identity are context, not
content: they are read (to find each object's TLP and any trilink label) and not stored as
objects of their own.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import stix2
from stix2.exceptions import STIXError
from stix2.registry import STIX2_OBJ_MAPS

from trilink.cyber.errors import CyberInputError, Problem
from trilink.cyber.markings import TRILINK_IDENTITY_ID, label_of_marking, source_tlp
from trilink.cyber.patterns import simple_comparison
from trilink.errors import LabelError, TrilinkError
from trilink.model.label import Label

MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_OBJECTS = 100_000
MAX_OBJECT_BYTES = 200 * 1024  # below the node's payload limit (256 KiB) with room to spare
CONTEXT_TYPES = frozenset({"marking-definition", "extension-definition"})
# Properties that carry markings: trilink writes its own from the report's label.
MARKING_PROPERTIES = ("object_marking_refs", "granular_markings")


def known_types() -> frozenset[str]:
    maps = STIX2_OBJ_MAPS["2.1"]
    return (frozenset(maps["objects"]) | frozenset(maps["observables"])) - {"bundle"}


KNOWN_TYPES = known_types()


@dataclass
class ParsedObject:
    """One checked STIX object: as received (markings removed), its TLP, and the trilink
    label its markings carry when it came from trilink."""

    obj: dict[str, Any]
    tlp: str = ""
    label: Label | None = None

    @property
    def id(self) -> str:
        return str(self.obj["id"])

    @property
    def type(self) -> str:
        return str(self.obj["type"])

    @property
    def modified(self) -> str:
        """The STIX version (``modified``; SCOs have none: ``""``)."""
        return str(self.obj.get("modified", ""))


@dataclass
class Parsed:
    source: str
    objects: list[ParsedObject] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    markings: dict[str, dict[str, Any]] = field(default_factory=dict)
    total: int = 0  # objects in the input, context objects included


def load_json(raw: bytes, source: str, *, limit: int = MAX_FILE_BYTES) -> Any:
    if len(raw) > limit:
        raise CyberInputError(
            f"{len(raw)} bytes is larger than the {limit}-byte limit: split the file",
            path=source,
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CyberInputError(
            f"not UTF-8 text ({err.reason} at byte {err.start})", path=source
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise CyberInputError(
            f"not JSON: {err.msg} at line {err.lineno} column {err.colno}", path=source
        ) from None
    except RecursionError:
        raise CyberInputError("JSON nested too deeply", path=source) from None


def parse_bundle(raw: bytes, source: str) -> Parsed:
    """A STIX 2.1 bundle (``{"type": "bundle", "objects": [...]}``) or a TAXII envelope
    (``{"objects": [...]}``) from its bytes."""
    doc = load_json(raw, source)
    return parse_document(doc, source)


def parse_document(doc: Any, source: str) -> Parsed:
    if not isinstance(doc, dict):
        raise CyberInputError("not a STIX bundle: the top level is not a JSON object", path=source)
    kind = doc.get("type")
    if kind is not None and kind != "bundle":
        raise CyberInputError(
            f"not a STIX bundle: top-level type is {str(kind)[:40]!r}", path=source, field="type"
        )
    if kind == "bundle" and "spec_version" in doc:
        raise CyberInputError(
            "a STIX 2.0 bundle (it has spec_version): trilink reads STIX 2.1",
            path=source,
            field="spec_version",
        )
    objects = doc.get("objects", [])
    if not isinstance(objects, list):
        raise CyberInputError("'objects' is not a list", path=source, field="objects")
    return parse_objects(objects, source)


def _where(i: int, obj: Any) -> str:
    if isinstance(obj, dict) and isinstance(obj.get("id"), str):
        return str(obj["id"])[:120]
    return f"objects[{i}]"


def _error_field(err: Exception) -> str:
    prop = getattr(err, "prop_name", None)
    if isinstance(prop, str):
        return prop
    props = getattr(err, "properties", None)
    if isinstance(props, list | tuple | set) and props:
        return ", ".join(sorted(str(p) for p in props))
    return ""


def _error_text(err: Exception) -> str:
    text = str(err).strip() or err.__class__.__name__
    return text.splitlines()[0][:300]


# Context objects (marking and extension definitions, identities) repeat in every envelope:
# the JSON text of the last ones found good, so each is checked by stix2 once.
_GOOD_CONTEXT: dict[str, None] = {}
_GOOD_CONTEXT_MAX = 4096


def check_object(obj: Any, i: int, source: str) -> Problem | None:
    """Whether one object is good STIX 2.1 (``None``) or what is wrong with it."""
    if isinstance(obj, dict) and obj.get("type") in (
        "marking-definition",
        "extension-definition",
        "identity",
    ):
        try:
            key = json.dumps(obj, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError):
            key = ""
        if key and key in _GOOD_CONTEXT:
            return None
        problem = _check_object(obj, i, source)
        if key and problem is None and len(key) <= 4096:
            if len(_GOOD_CONTEXT) >= _GOOD_CONTEXT_MAX:
                _GOOD_CONTEXT.pop(next(iter(_GOOD_CONTEXT)))
            _GOOD_CONTEXT[key] = None
        return problem
    return _check_object(obj, i, source)


def _check_object(obj: Any, i: int, source: str) -> Problem | None:
    where = _where(i, obj)
    if not isinstance(obj, dict):
        return Problem(source, where, "", "not a JSON object")
    kind = obj.get("type")
    if not isinstance(kind, str):
        return Problem(source, where, "type", "missing or not a string")
    if kind not in KNOWN_TYPES:
        return Problem(
            source, where, "type", f"unknown STIX 2.1 object type {kind[:60]!r}; skipped"
        )
    oid = obj.get("id")
    if not isinstance(oid, str) or not oid.startswith(kind + "--"):
        return Problem(source, where, "id", f"must be '{kind}--<uuid>'")
    try:
        size = len(json.dumps(obj, separators=(",", ":")))
    except (TypeError, ValueError, RecursionError) as err:
        return Problem(source, where, "", f"not serialisable JSON: {err}")
    if size > MAX_OBJECT_BYTES:
        return Problem(
            source, where, "", f"{size} bytes of JSON; the limit per object is {MAX_OBJECT_BYTES}"
        )
    spec = obj.get("spec_version")
    if spec is not None and spec != "2.1":
        return Problem(source, where, "spec_version", f"{str(spec)[:20]!r}: only 2.1 is read")
    checked = obj
    pattern = obj.get("pattern")
    if (
        kind == "indicator"
        and obj.get("pattern_type") == "stix"
        and isinstance(pattern, str)
        and simple_comparison(pattern) is not None
    ):
        # the pattern is already known good: stix2 checks everything else
        checked = {**obj, "pattern_type": "x-trilink-checked"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stix2.parse(checked, allow_custom=True, version="2.1")
    except (STIXError, ValueError, TypeError, KeyError, AttributeError) as err:
        return Problem(source, where, _error_field(err), _error_text(err))
    except RecursionError:
        return Problem(source, where, "", "nested too deeply")
    return None


def parse_objects(objects: Sequence[Any], source: str) -> Parsed:
    out = Parsed(source, total=len(objects))
    if len(objects) > MAX_OBJECTS:
        raise CyberInputError(
            f"{len(objects)} objects; the limit is {MAX_OBJECTS}: split the bundle",
            path=source,
            field="objects",
        )
    good: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for i, obj in enumerate(objects):
        problem = check_object(obj, i, source)
        if problem is not None:
            out.problems.append(problem)
            continue
        if obj["type"] in CONTEXT_TYPES or obj["id"] == TRILINK_IDENTITY_ID:
            if obj["type"] == "marking-definition":
                out.markings[obj["id"]] = obj
            continue
        key = (obj["id"], str(obj.get("modified", "")))
        if key in seen:
            out.problems.append(
                Problem(source, obj["id"], "modified", "the same version twice; kept the first")
            )
            continue
        seen.add(key)
        good.append(obj)
    labels: dict[str, Label | None] = {}
    for mid, marking in out.markings.items():
        try:
            labels[mid] = label_of_marking(marking)
        except (LabelError, TrilinkError) as err:
            out.problems.append(Problem(source, mid, "extensions", str(err)))
            labels[mid] = None
    for obj in good:
        refs = obj.get("object_marking_refs", [])
        refs = refs if isinstance(refs, list) else []
        own = [labels[r] for r in refs if isinstance(r, str) and labels.get(r) is not None]
        clean = {k: v for k, v in obj.items() if k not in MARKING_PROPERTIES}
        out.objects.append(ParsedObject(clean, source_tlp(refs), own[0] if own else None))
    return out


def summary(parsed: Parsed) -> Mapping[str, int]:
    by_type: dict[str, int] = {}
    for p in parsed.objects:
        by_type[p.type] = by_type.get(p.type, 0) + 1
    return dict(sorted(by_type.items()))
