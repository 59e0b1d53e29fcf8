"""A TAXII 2.1 server on the node API (issue #18), at ``/taxii2/``.

One API root per nation: the node's own (``/taxii2/usa/`` on USA's node) serves everything the
node holds to its own people; each partner's (``/taxii2/jpn/``) serves only this node's
``cyber.stix`` reports that the node's release policy releases to that partner
(``trilink.policy.decide``, the same decision that queues them for the partner's node). A
node never serves a third nation's reports on a partner's root, as it never re-releases them.

Authentication is HTTP Basic: user = the caller's nation code, password = an API token. A
partner's CERT uses a token made with ``trilink token create --role taxii --partner JPN``;
this nation's people use their own reader/publisher tokens (Bearer works too). A partner
asking for another partner's API root gets 403, audited. Each root has one collection, ``cyber``;
only the node's own root is writable (POST of an envelope whose objects carry trilink
releasability markings: that label is the report's label).

    GET  /taxii2/                                            discovery
    GET  /taxii2/{root}/                                     API root
    GET  /taxii2/{root}/status/{id}/                         status of a POST
    GET  /taxii2/{root}/collections/                         collections
    GET  /taxii2/{root}/collections/{cid}/                   one collection
    GET  /taxii2/{root}/collections/{cid}/manifest/          manifest
    GET  /taxii2/{root}/collections/{cid}/objects/           objects (POST: add)
    GET  /taxii2/{root}/collections/{cid}/objects/{oid}/     one object (DELETE: withdraw)
    GET  /taxii2/{root}/collections/{cid}/objects/{oid}/versions/

``added_after``, ``limit``, ``next``, ``match[id|type|version|spec_version]`` as TAXII 2.1
§3.4-3.5 define them; ``next`` is an opaque cursor that pins the snapshot the first page saw,
so paging is stable while objects arrive.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from trilink.cyber.bundle import marked
from trilink.cyber.errors import CyberInputError
from trilink.cyber.markings import marking_objects
from trilink.cyber.plan import KIND, Held, plan_import, ts_key
from trilink.cyber.stixio import parse_document
from trilink.errors import LabelError, TrilinkError
from trilink.model.ids import utc_timestamp
from trilink.model.label import Label, parse_label
from trilink.model.report import report_json
from trilink.node.publish import Item
from trilink.node.service import NodeService
from trilink.policy.decide import decide_label
from trilink.store import Store
from trilink.store.tokens import ApiToken, TokenRepository

TAXII_MEDIA = "application/taxii+json;version=2.1"
STIX_MEDIA = "application/stix+json;version=2.1"
MAX_CONTENT = 8 * 1024 * 1024
MAX_PAGE = 1000
MAX_STATUSES = 1000
CHUNK = 5000
_NS = uuid.UUID("b7c3e1d2-5f4a-4e8b-9c6d-2a1f0e3b4c5d")

Refuse = Callable[..., HTTPException]


def collection_id(nation: str, root: str) -> str:
    return str(uuid.uuid5(_NS, f"{nation}/{root}/cyber"))


@dataclass(frozen=True)
class Entry:
    """One object version as a root serves it (``obj`` already marked)."""

    seq: int  # the store sequence of the report it comes from
    date_added: str
    id: str
    type: str
    version: str
    obj: Mapping[str, Any]


@dataclass
class RootView:
    """What one API root serves, in the order the node stored it (append-only between
    tombstones), with the indexes paging needs: a page costs what it returns, not what the
    collection holds."""

    entries: list[Entry] = field(default_factory=list)
    latest: dict[str, Entry] = field(default_factory=dict)
    first: dict[str, Entry] = field(default_factory=dict)
    by_id: dict[str, list[int]] = field(default_factory=dict)
    seen: set[tuple[str, str]] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    context: set[str] = field(default_factory=set)

    def add(self, e: Entry) -> None:
        if (e.id, e.version) in self.seen:
            return
        self.seen.add((e.id, e.version))
        self.by_id.setdefault(e.id, []).append(len(self.entries))
        self.entries.append(e)
        if e.id not in self.latest or ts_key(e.version) >= ts_key(self.latest[e.id].version):
            self.latest[e.id] = e
        if e.id not in self.first or ts_key(e.version) < ts_key(self.first[e.id].version):
            self.first[e.id] = e


@dataclass
class Row:
    seq: int
    added: str
    origin: str
    report_id: str
    label: Label
    envelope: Any
    payload: Mapping[str, Any]


class Views:
    """The node's ``cyber.stix`` reports, read incrementally from its store, as each API root
    serves them; and this node's own objects by STIX id (to version them on POST)."""

    def __init__(self, nation: str, roots: Sequence[str], policy: Any) -> None:
        self.nation = nation
        self.home = nation.lower()
        self.roots = list(roots)
        self.policy = policy
        self.last_seq = 0
        self.rows: list[Row] = []
        self.dead: set[tuple[str, str]] = set()
        self.views: dict[str, RootView] = {r: RootView() for r in roots}
        self.own: dict[str, Held] = {}
        self.lock = threading.Lock()
        self._labels: dict[str, Label | None] = {}
        self._decisions: dict[tuple[str, str, str], bool] = {}

    def _label(self, text: str) -> Label | None:
        if text not in self._labels:
            try:
                self._labels[text] = parse_label(text, nations=self.policy.nations)
            except LabelError:
                self._labels[text] = None
        return self._labels[text]

    def _serves(self, root: str, row: Row) -> bool:
        """Whether ``root`` serves ``row``: everything on the home root; on a partner's, what
        ``decide()`` releases to that partner (cached per label, origin and kind)."""
        if root == self.home:
            return True
        if row.origin != self.nation:
            return False
        key = (str(row.envelope.label), row.origin, root)
        if key not in self._decisions:
            self._decisions[key] = decide_label(
                row.label, row.origin, KIND, root.upper(), self.policy
            ).allow
        return self._decisions[key]

    def feed(self, new: Sequence[Any], tombstones: Sequence[Any], last_seq: int) -> None:
        rows: list[Row] = []
        for s in new:
            env = s.report.envelope
            label = self._label(env.label)
            if label is None:
                continue
            payload = env.payload_obj()
            rows.append(Row(s.seq, s.stored_at, env.origin, env.id, label, env, payload))
        self.rows += rows
        for row in rows:
            if row.origin == self.nation:
                sid = str(row.payload["stix_id"])
                mod = str(row.payload.get("modified", ""))
                if sid not in self.own or ts_key(mod) >= ts_key(self.own[sid].modified):
                    self.own[sid] = Held(row.report_id, mod, row.payload["object"])
        if tombstones:
            for s in tombstones:
                self.dead.add((s.report.envelope.origin, s.report.envelope.id))
            self.own = {k: v for k, v in self.own.items()
                        if (self.nation, v.report_id) not in self.dead}  # fmt: skip
            self.views = {r: RootView() for r in self.roots}
            rows = self.rows
        for row in rows:
            if (row.origin, row.report_id) in self.dead:
                continue
            entry: Entry | None = None  # built once, shared by every root that serves it
            for root, view in self.views.items():
                if not self._serves(root, row):
                    continue
                if entry is None:
                    entry = self._entry(row)
                text = str(row.label)
                if text not in view.labels:
                    view.labels.add(text)
                    for m in marking_objects([row.label]):
                        if m["id"] not in view.context:
                            view.context.add(m["id"])
                            view.add(Entry(row.seq, row.added, m["id"], m["type"],
                                           _version(m), m))  # fmt: skip
                view.add(entry)
        self.last_seq = last_seq

    @staticmethod
    def _entry(row: Row) -> Entry:
        obj = row.payload["object"]
        version = str(obj.get("modified") or obj.get("created") or row.added)
        return Entry(row.seq, row.added, str(row.payload["stix_id"]),
                     str(row.payload["stix_type"]), version, marked(obj, row.label))  # fmt: skip


def taxii_json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, media_type=TAXII_MEDIA, headers=headers)


def taxii_error_body(status: int, message: str) -> dict[str, Any]:
    titles = {
        400: "Bad request",
        401: "Authentication required",
        403: "Forbidden",
        404: "Not found",
        406: "Not acceptable",
        413: "Envelope too large",
        415: "Unsupported media type",
        422: "Unprocessable",
    }
    return {
        "title": titles.get(status, "Error"),
        "description": message,
        "http_status": str(status),
    }


def install_taxii(
    app: FastAPI,
    *,
    service: NodeService,
    db: Store,
    db_lock: threading.RLock,
    tokens: TokenRepository,
    refuse: Refuse,
) -> Callable[[threading.Event], object]:
    """Add the TAXII routes to ``app``; returns the warm-up the app runs at start (it builds
    the roots' indexes from the store before the first client asks)."""
    nation = service.nation
    home = nation.lower()
    policy = service.config.policy
    roots = [home, *sorted(p.lower() for p in policy.partners)]
    views = Views(nation, roots, policy)
    statuses: OrderedDict[str, dict[str, Any]] = OrderedDict()

    # -- authentication -------------------------------------------------------------------
    def authenticate(request: Request) -> ApiToken:
        """The caller's token: HTTP Basic (user = nation code) or Bearer (this nation)."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        challenge = {"WWW-Authenticate": 'Basic realm="trilink TAXII"'}
        user = ""
        if scheme.lower() == "basic":
            try:
                user, _, secret = base64.b64decode(value.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise _with_headers(
                    refuse(request, 401, "malformed HTTP Basic credentials"), challenge
                ) from None
        elif scheme.lower() == "bearer":
            secret, user = value.strip(), nation
        else:
            raise _with_headers(
                refuse(
                    request,
                    401,
                    "TAXII needs HTTP Basic credentials: user = your nation code, password = "
                    "a token ('trilink token create --role taxii --partner <NATION>')",
                ),
                challenge,
            )
        user = user.strip().upper()
        with db_lock:
            token = tokens.check(secret.strip())
        if token is None:
            raise _with_headers(refuse(request, 401, "unknown or revoked token"), challenge)
        if user != (token.partner or nation):
            raise _with_headers(
                refuse(request, 401, f"token {token.name!r} is not {user[:8]!r}'s", token.name),
                challenge,
            )
        if token.partner is None and not token.may("reader"):
            raise refuse(request, 403, "this needs a reader token", token.name)
        return token

    def caller(request: Request, root: str) -> ApiToken:
        """The token of a caller allowed to read ``root`` (401/403/404 otherwise; refusals
        audited)."""
        token = authenticate(request)
        if root not in roots:
            raise refuse(request, 404, f"node {nation} has no TAXII API root {root[:16]!r}")
        if token.partner is not None and token.partner.lower() != root:
            raise refuse(
                request,
                403,
                f"partner {token.partner} may read only its own API root "
                f"/taxii2/{token.partner.lower()}/, not /taxii2/{root}/",
                token.name,
            )
        return token

    def check_accept(request: Request) -> None:
        accept = request.headers.get("accept", "")
        if accept and not any(
            a.strip().split(";")[0] in ("application/taxii+json", "*/*", "application/*")
            for a in accept.split(",")
        ):
            raise HTTPException(406, f"send Accept: {TAXII_MEDIA}")

    def collection_of(request: Request, root: str, cid: str) -> None:
        if cid != collection_id(nation, root):
            raise refuse(request, 404, f"no collection {cid[:64]!r} in API root {root}")

    # -- what each root serves ------------------------------------------------------------
    def refresh(stop: threading.Event | None = None) -> Views:
        """Bring the roots' indexes up to the store, ``CHUNK`` reports at a time (``stop``:
        give up between chunks, for the warm-up at start when the app is stopping)."""
        with views.lock:
            while True:
                with db_lock:
                    last = db.last_seq()
                    if last == views.last_seq:
                        return views
                    new = db.reports(after_seq=views.last_seq, kind=KIND, limit=CHUNK)
                    upto = new[-1].seq if len(new) == CHUNK else last
                    dead = [
                        t for t in db.reports(after_seq=views.last_seq, kind="tombstone")
                        if t.seq <= upto
                    ]  # fmt: skip
                views.feed(new, dead, upto)
                if stop is not None and stop.is_set():
                    return views

    def page(
        request: Request,
        root: str,
        *,
        limit: int | None,
        next_: str | None,
        added_after: str | None,
        oid: str | None = None,
        versions_default: str = "last",
    ) -> tuple[list[Entry], bool, str]:
        q = request.query_params
        start = 0
        if next_:
            if not next_.isascii() or not next_.isdigit() or len(next_) > 18:
                raise HTTPException(400, f"'next' {next_[:40]!r} is not a cursor of this server")
            start = int(next_)
        state = refresh()
        with state.lock:
            view = state.views[root]
            entries = view.entries

            def split(name: str) -> set[str] | None:
                value = q.get(f"match[{name}]")
                return {v.strip() for v in value.split(",") if v.strip()} if value else None

            specs = split("spec_version")
            if specs is not None and "2.1" not in specs:
                return [], False, ""
            ids = {oid} if oid is not None else split("id")
            types = split("type")
            wanted = {
                v.strip() for v in q.get("match[version]", versions_default).split(",")
                if v.strip()
            } or {"last"}  # fmt: skip
            stamps = {ts_key(v) for v in wanted - {"first", "last", "all"}}
            after = ts_key(added_after) if added_after else None
            if ids is not None:
                order: Sequence[int] = sorted(
                    i for x in ids for i in view.by_id.get(x, ()) if i >= start
                )
            else:
                begin = start
                if after is not None:
                    begin = max(start, bisect.bisect_right(
                        entries, after, key=lambda e: ts_key(e.date_added)
                    ))  # fmt: skip
                order = range(begin, len(entries))

            def fits(e: Entry) -> bool:
                if types is not None and e.type not in types:
                    return False
                if after is not None and ts_key(e.date_added) <= after:
                    return False
                if "all" in wanted:
                    return True
                return (
                    ("last" in wanted and view.latest.get(e.id) is e)
                    or ("first" in wanted and view.first.get(e.id) is e)
                    or (bool(stamps) and ts_key(e.version) in stamps)
                )

            size = min(limit or MAX_PAGE, MAX_PAGE)
            window: list[Entry] = []
            more, nxt = False, ""
            for i in order:
                e = entries[i]
                if not fits(e):
                    continue
                if len(window) == size:
                    more, nxt = True, str(i)
                    break
                window.append(e)
            return window, more, nxt

    def added_headers(window: Sequence[Entry]) -> dict[str, str]:
        if not window:
            return {}
        return {
            "X-TAXII-Date-Added-First": window[0].date_added,
            "X-TAXII-Date-Added-Last": window[-1].date_added,
        }

    LimitQ = Query(None, ge=1, le=100_000)
    NextQ = Query(None, max_length=64)
    AfterQ = Query(None, max_length=40)

    # -- routes ---------------------------------------------------------------------------
    @app.get("/taxii2/", tags=["taxii"])
    def discovery(request: Request) -> Response:
        """TAXII discovery: the API roots this caller may read."""
        check_accept(request)
        token = authenticate(request)
        mine = roots if token.partner is None else [token.partner.lower()]
        base = str(request.base_url).rstrip("/")
        return taxii_json(
            {
                "title": f"trilink node {nation}: cyber threat intelligence",
                "description": "One API root per nation; each serves what this node's release "
                "policy releases to that nation.",
                "default": f"{base}/taxii2/{mine[0]}/",
                "api_roots": [f"{base}/taxii2/{r}/" for r in mine],
            }
        )

    @app.get("/taxii2/{root}/", tags=["taxii"])
    def api_root(root: str, request: Request) -> Response:
        check_accept(request)
        caller(request, root)
        return taxii_json(
            {
                "title": f"{root.upper()} on node {nation}",
                "description": f"cyber threat intelligence node {nation} releases to "
                f"{root.upper()}"
                if root != home
                else f"everything node {nation} holds",
                "versions": [TAXII_MEDIA],
                "max_content_length": MAX_CONTENT,
            }
        )

    def _collection(root: str) -> dict[str, Any]:
        return {
            "id": collection_id(nation, root),
            "title": "cyber",
            "description": f"STIX 2.1 objects node {nation} "
            + ("holds" if root == home else f"releases to {root.upper()}"),
            "can_read": True,
            "can_write": root == home,
            "media_types": [STIX_MEDIA],
        }

    @app.get("/taxii2/{root}/collections/", tags=["taxii"])
    def collections(root: str, request: Request) -> Response:
        check_accept(request)
        caller(request, root)
        return taxii_json({"collections": [_collection(root)]})

    @app.get("/taxii2/{root}/collections/{cid}/", tags=["taxii"])
    def collection(root: str, cid: str, request: Request) -> Response:
        check_accept(request)
        caller(request, root)
        collection_of(request, root, cid)
        return taxii_json(_collection(root))

    @app.get("/taxii2/{root}/collections/{cid}/objects/", tags=["taxii"])
    async def get_objects(
        root: str,
        cid: str,
        request: Request,
        limit: int | None = LimitQ,
        next: str | None = NextQ,  # noqa: A002 - the TAXII parameter's name
        added_after: str | None = AfterQ,
    ) -> Response:
        check_accept(request)
        caller(request, root)
        collection_of(request, root, cid)
        window, more, nxt = await asyncio.to_thread(
            page, request, root, limit=limit, next_=next, added_after=added_after
        )
        body: dict[str, Any] = {"more": more, "objects": [dict(e.obj) for e in window]}
        if nxt:
            body["next"] = nxt
        return taxii_json(body, headers=added_headers(window))

    @app.get("/taxii2/{root}/collections/{cid}/objects/{oid}/", tags=["taxii"])
    async def get_object(
        root: str,
        cid: str,
        oid: str,
        request: Request,
        limit: int | None = LimitQ,
        next: str | None = NextQ,  # noqa: A002
        added_after: str | None = AfterQ,
    ) -> Response:
        check_accept(request)
        caller(request, root)
        collection_of(request, root, cid)
        window, more, nxt = await asyncio.to_thread(
            page, request, root, limit=limit, next_=next, added_after=added_after, oid=oid
        )
        if not window and not next:
            raise HTTPException(404, f"no object {oid[:80]!r} in this collection")
        body: dict[str, Any] = {"more": more, "objects": [dict(e.obj) for e in window]}
        if nxt:
            body["next"] = nxt
        return taxii_json(body, headers=added_headers(window))

    @app.delete("/taxii2/{root}/collections/{cid}/objects/{oid}/", tags=["taxii"])
    async def delete_object(root: str, cid: str, oid: str, request: Request) -> Response:
        """Withdraw one of this node's own objects: a signed tombstone that removes it from
        every node (and every TAXII root) that holds it. Own root, publisher token."""
        check_accept(request)
        token = caller(request, root)
        collection_of(request, root, cid)
        if root != home or token.partner is not None or not token.may("publisher"):
            raise refuse(request, 403, "deleting needs a publisher token on the node's own "
                         "API root", token.name)  # fmt: skip
        state = refresh()
        with state.lock:
            mine = state.own.get(oid[:200])
            held = oid[:200] in state.views[home].latest
        if mine is None:
            if held:
                raise refuse(request, 403, f"{oid[:80]} is a partner's object: only its "
                             "originator can withdraw it", token.name)  # fmt: skip
            raise HTTPException(404, f"no object {oid[:80]!r} in this collection")
        try:
            await asyncio.to_thread(
                service.delete, mine.report_id, "withdrawn through TAXII DELETE",
                actor=f"taxii:{token.name}",
            )  # fmt: skip
        except TrilinkError as err:
            raise HTTPException(422, str(err)) from None
        return Response(status_code=200, media_type=TAXII_MEDIA)

    @app.get("/taxii2/{root}/collections/{cid}/objects/{oid}/versions/", tags=["taxii"])
    async def get_versions(
        root: str,
        cid: str,
        oid: str,
        request: Request,
        limit: int | None = LimitQ,
        next: str | None = NextQ,  # noqa: A002
        added_after: str | None = AfterQ,
    ) -> Response:
        check_accept(request)
        caller(request, root)
        collection_of(request, root, cid)
        window, more, nxt = await asyncio.to_thread(
            page, request, root, limit=limit, next_=next, added_after=added_after, oid=oid,
            versions_default="all",
        )  # fmt: skip
        if not window and not next:
            raise HTTPException(404, f"no object {oid[:80]!r} in this collection")
        body: dict[str, Any] = {"more": more, "versions": [e.version for e in window]}
        if nxt:
            body["next"] = nxt
        return taxii_json(body, headers=added_headers(window))

    @app.get("/taxii2/{root}/collections/{cid}/manifest/", tags=["taxii"])
    async def manifest(
        root: str,
        cid: str,
        request: Request,
        limit: int | None = LimitQ,
        next: str | None = NextQ,  # noqa: A002
        added_after: str | None = AfterQ,
    ) -> Response:
        check_accept(request)
        caller(request, root)
        collection_of(request, root, cid)
        window, more, nxt = await asyncio.to_thread(
            page, request, root, limit=limit, next_=next, added_after=added_after
        )
        body: dict[str, Any] = {
            "more": more,
            "objects": [
                {"id": e.id, "date_added": e.date_added, "version": e.version,
                 "media_type": STIX_MEDIA}
                for e in window
            ],
        }  # fmt: skip
        if nxt:
            body["next"] = nxt
        return taxii_json(body, headers=added_headers(window))

    @app.post("/taxii2/{root}/collections/{cid}/objects/", tags=["taxii"])
    async def add_objects(root: str, cid: str, request: Request) -> Response:
        """Add objects to this node's own collection: each object's label is the trilink
        releasability marking it carries (objects without one are refused)."""
        check_accept(request)
        token = caller(request, root)
        collection_of(request, root, cid)
        if root != home or token.partner is not None:
            raise refuse(request, 403, f"API root {root} is read-only", token.name)
        if not token.may("publisher"):
            raise refuse(request, 403, "adding objects needs a publisher token", token.name)
        media = request.headers.get("content-type", "").split(";")[0].strip()
        if media != "application/taxii+json":
            raise HTTPException(415, f"send Content-Type: {TAXII_MEDIA}")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_CONTENT:
            raise refuse(request, 413, f"envelope larger than {MAX_CONTENT} bytes", token.name)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_CONTENT:
                raise refuse(request, 413, f"envelope larger than {MAX_CONTENT} bytes")
        status = await asyncio.to_thread(_add, bytes(body), token)
        return taxii_json(status, status=202)

    def _add(raw: bytes, token: ApiToken) -> dict[str, Any]:
        requested = utc_timestamp()
        source = f"taxii:POST by {token.name}"
        try:
            doc = json.loads(raw)
            parsed = parse_document(doc, source)
        except (ValueError, RecursionError) as err:
            raise HTTPException(400, f"envelope is not JSON: {err}") from None
        except CyberInputError as err:
            raise HTTPException(422, str(err)) from None
        failures = [{"id": p.object, "message": str(p)} for p in parsed.problems]
        good = []
        for p in parsed.objects:
            if p.label is None:
                failures.append(
                    {
                        "id": p.id,
                        "message": f"{p.id}: no trilink releasability marking in "
                        "object_marking_refs (its marking-definition must be in the envelope)",
                    }
                )
            else:
                good.append(p)
        state = refresh()
        with state.lock:
            own = dict(state.own)
        plan = plan_import(good, own, source=source)
        by_id = {p.id: p for p in good}
        items = [
            Item(KIND, str(by_id[pl.stix_id].label), _builtins(pl), [], rid)
            for pl, rid in plan.items
        ]
        successes = []
        if items:
            try:
                reports, _ = service.publisher.publish_released(items, actor=f"taxii:{token.name}")
            except TrilinkError as err:
                failures += [{"id": pl.stix_id, "message": str(err)} for pl, _ in plan.items]
                reports = []
            for r in reports:
                pl = r.envelope
                pid = str(report_json(r)["payload"]["stix_id"])
                successes.append({"id": pid, "version": by_id[pid].modified or pl.created})
        for problem in plan.problems:
            failures.append({"id": problem.object, "message": str(problem)})
        status_id = str(uuid.uuid4())
        status = {
            "id": status_id,
            "status": "complete",
            "request_timestamp": requested,
            "total_count": len(successes) + len(failures) + plan.unchanged,
            "success_count": len(successes) + plan.unchanged,
            "successes": successes,
            "failure_count": len(failures),
            "failures": failures,
            "pending_count": 0,
        }
        statuses[status_id] = status
        while len(statuses) > MAX_STATUSES:
            statuses.popitem(last=False)
        return status

    @app.get("/taxii2/{root}/status/{status_id}/", tags=["taxii"])
    def get_status(root: str, status_id: str, request: Request) -> Response:
        check_accept(request)
        caller(request, root)
        found = statuses.get(status_id[:64])
        if found is None or root != home:
            raise HTTPException(404, f"no status {status_id[:64]!r}")
        return taxii_json(found)

    return refresh


def _builtins(payload: Any) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(payload)
    return out


def _version(obj: Mapping[str, Any]) -> str:
    return str(obj.get("modified") or obj.get("created") or "")


def _with_headers(exc: HTTPException, headers: dict[str, str]) -> HTTPException:
    exc.headers = {**(exc.headers or {}), **headers}
    return exc


__all__ = ["MAX_CONTENT", "STIX_MEDIA", "TAXII_MEDIA", "collection_id", "install_taxii"]
