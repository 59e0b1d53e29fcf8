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
    GET  /taxii2/{root}/collections/{cid}/objects/{oid}/     one object
    GET  /taxii2/{root}/collections/{cid}/objects/{oid}/versions/

``added_after``, ``limit``, ``next``, ``match[id|type|version|spec_version]`` as TAXII 2.1
§3.4-3.5 define them; ``next`` is an opaque cursor that pins the snapshot the first page saw,
so paging is stable while objects arrive.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from trilink.cyber.bundle import marked
from trilink.cyber.errors import CyberInputError
from trilink.cyber.markings import marking_objects
from trilink.cyber.plan import KIND, held_from_reports, plan_import, ts_key
from trilink.cyber.stixio import parse_document
from trilink.errors import LabelError, TrilinkError
from trilink.model.label import Label, parse_label
from trilink.model.report import report_json
from trilink.node.publish import Item
from trilink.node.service import NodeService
from trilink.policy.decide import decide
from trilink.store import Store
from trilink.store.tokens import ApiToken, TokenRepository

TAXII_MEDIA = "application/taxii+json;version=2.1"
STIX_MEDIA = "application/stix+json;version=2.1"
MAX_CONTENT = 8 * 1024 * 1024
MAX_PAGE = 1000
MAX_STATUSES = 1000
_NS = uuid.UUID("b7c3e1d2-5f4a-4e8b-9c6d-2a1f0e3b4c5d")

Refuse = Callable[..., HTTPException]


def collection_id(nation: str, root: str) -> str:
    return str(uuid.uuid5(_NS, f"{nation}/{root}/cyber"))


@dataclass(frozen=True)
class Entry:
    seq: int
    sub: int  # 0: marking context placed before the object at ``seq``; 1: the object
    date_added: str
    id: str
    type: str
    version: str
    obj: Mapping[str, Any]


@dataclass
class _Held:
    """Decoded ``cyber.stix`` reports, read incrementally from the store."""

    last_seq: int = 0
    rows: list[tuple[int, str, Any, Label]] = field(default_factory=list)  # seq, added, env, lbl
    objects: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    dead: set[tuple[str, str]] = field(default_factory=set)  # (origin, id) tombstoned


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
) -> None:
    nation = service.nation
    home = nation.lower()
    policy = service.config.policy
    roots = [home, *sorted(p.lower() for p in policy.partners)]
    held = _Held()
    held_lock = threading.Lock()
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
    def refresh() -> _Held:
        with held_lock:
            with db_lock:
                last = db.last_seq()
                if last == held.last_seq:
                    return held
                new = db.reports(after_seq=held.last_seq, kind=KIND)
                dead = db.reports(after_seq=held.last_seq, kind="tombstone")
            for s in new:
                env = s.report.envelope
                try:
                    label = parse_label(env.label)
                except LabelError:
                    continue
                payload = report_json(s.report)["payload"]
                held.rows.append((s.seq, s.stored_at, env, label))
                held.objects[s.seq] = payload
            for s in dead:
                held.dead.add((s.report.envelope.origin, s.report.envelope.id))
            held.last_seq = last
            return held

    def entries(root: str, upto: int | None = None) -> tuple[list[Entry], int]:
        state = refresh()
        partner = root.upper() if root != home else None
        out: list[Entry] = []
        seen: set[tuple[str, str]] = set()
        labels: dict[str, int] = {}
        context: list[Entry] = []
        snapshot = state.last_seq if upto is None else upto
        for seq, added, env, label in list(state.rows):
            if seq > snapshot:
                break
            if (env.origin, env.id) in state.dead:
                continue
            if partner is not None and (
                env.origin != nation or not decide(env, partner, policy).allow
            ):
                continue
            payload = state.objects[seq]
            obj = payload["object"]
            sid = str(payload["stix_id"])
            version = str(obj.get("modified") or obj.get("created") or added)
            if (sid, version) in seen:
                continue
            seen.add((sid, version))
            text = str(label)
            if text not in labels:
                labels[text] = seq
                known = {e.id for e in context}
                for m in marking_objects([label]):
                    if m["id"] not in known:
                        context.append(Entry(seq, 0, added, m["id"], m["type"], _version(m), m))
            out.append(Entry(seq, 1, added, sid, str(payload["stix_type"]), version,
                             marked(obj, label)))  # fmt: skip
        merged = sorted([*context, *out], key=lambda e: (e.seq, e.sub))
        return merged, snapshot

    def select(
        items: list[Entry],
        *,
        added_after: str | None,
        ids: set[str] | None,
        types: set[str] | None,
        versions: str,
        spec_versions: set[str] | None,
    ) -> list[Entry]:
        if spec_versions is not None and "2.1" not in spec_versions:
            return []
        picked = [
            e for e in items if (ids is None or e.id in ids) and (types is None or e.type in types)
        ]
        wanted = {v.strip() for v in versions.split(",") if v.strip()} or {"last"}
        if "all" not in wanted:
            by_id: dict[str, list[Entry]] = {}
            for e in picked:
                by_id.setdefault(e.id, []).append(e)
            keep: set[int] = set()
            for group in by_id.values():
                ordered = sorted(group, key=lambda e: ts_key(e.version))
                if "last" in wanted:
                    keep.add(id(ordered[-1]))
                if "first" in wanted:
                    keep.add(id(ordered[0]))
                stamps = {ts_key(v) for v in wanted - {"first", "last"}}
                keep.update(id(e) for e in group if ts_key(e.version) in stamps)
            picked = [e for e in picked if id(e) in keep]
        if added_after:
            after = ts_key(added_after)
            picked = [e for e in picked if ts_key(e.date_added) > after]
        return picked

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
        snapshot: int | None = None
        offset = 0
        if next_:
            try:
                snap_text, _, off_text = next_.partition(".")
                snapshot, offset = int(snap_text), int(off_text)
            except ValueError:
                raise HTTPException(
                    400, f"'next' {next_[:40]!r} is not a cursor of this server"
                ) from None
            if snapshot < 0 or offset < 0:
                raise HTTPException(400, "'next' is not a cursor of this server")
        items, snap = entries(root, snapshot)

        def split(name: str) -> set[str] | None:
            value = q.get(f"match[{name}]")
            return {v.strip() for v in value.split(",") if v.strip()} if value else None

        ids = {oid} if oid is not None else split("id")
        chosen = select(
            items,
            added_after=added_after,
            ids=ids,
            types=split("type"),
            versions=q.get("match[version]", versions_default),
            spec_versions=split("spec_version"),
        )
        size = min(limit or MAX_PAGE, MAX_PAGE)
        window = chosen[offset : offset + size]
        more = offset + size < len(chosen)
        return window, more, f"{snap}.{offset + size}" if more else ""

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
        import json

        requested = _now()
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
        with db_lock:
            mine = db.reports(kind=KIND)
        own = [report_json(s.report) for s in mine if s.report.envelope.origin == nation]
        plan = plan_import(good, held_from_reports(own, nation), source=source)
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


def _builtins(payload: Any) -> dict[str, Any]:
    import msgspec

    out: dict[str, Any] = msgspec.to_builtins(payload)
    return out


def _version(obj: Mapping[str, Any]) -> str:
    return str(obj.get("modified") or obj.get("created") or "")


def _now() -> str:
    from trilink.model.ids import utc_timestamp

    return utc_timestamp()


def _with_headers(exc: HTTPException, headers: dict[str, str]) -> HTTPException:
    exc.headers = {**(exc.headers or {}), **headers}
    return exc


__all__ = ["MAX_CONTENT", "STIX_MEDIA", "TAXII_MEDIA", "collection_id", "install_taxii"]
