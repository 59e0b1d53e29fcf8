"""The COP web application of one node: ``create_cop_app(service) -> FastAPI``.

Served on the node's loopback COP port (plain HTTP; TLS, if any, is the site's reverse
proxy). Pages: ``/login``, ``/`` (the map). API (session cookie required):

    GET  /api/me                          who is logged in, role, nation
    GET  /api/reports?kind=&origin=&classification=&label=&exercise=&since=&bbox=&limit=
    GET  /api/reports/{id}                one report: versions, signature, derivation, audit
    GET  /api/stream?after=SEQ            server-sent events: every new visible report
    GET  /api/export.geojson|.kml|.cot    the filtered features (same parameters)
    POST /api/notes                       analyst+: publish a note (X-CSRF-Token header)
    POST /logout                          end the session (CSRF token)

Before stopping the server, call ``app.state.stop_streams()`` so open SSE streams end at once;
from another thread, ``app.state.wait_streams_ended(timeout_s)`` then waits until they have.

The COP reads the node through its own database connection (the node's connection is used
inside the node's transactions by other threads) and learns of new reports from
``service.listeners`` plus a short poll, so reports written by another process (the CLI)
also appear within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from trilink.errors import LabelError, ReportError
from trilink.geo import load_zones, zones_to_geojson
from trilink.geo.disputed import view_of_nation
from trilink.geo.io import ZONE_FILE
from trilink.model.kinds import known_kinds
from trilink.model.report import Report
from trilink.node.service import NodeService
from trilink.store.audit import AuditEntry
from trilink.store.base import Store, open_store
from trilink.web import auth
from trilink.web.exports import to_cot, to_geojson, to_kml
from trilink.web.filters import FilterError, parse_filters
from trilink.web.index import ReportIndex, overall_label

HERE = Path(__file__).resolve().parent
POLL_S = 0.5
HEARTBEAT_S = 15.0
SESSION_CHECK_S = 5.0
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; worker-src blob:; child-src blob:; connect-src 'self'; "
    "font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


@dataclass
class CopSettings:
    """Per-deployment choices. ``secure_cookies`` must be on whenever the COP is reached
    over TLS (a reverse proxy); it is off by default for the plain loopback port."""

    secure_cookies: bool = False
    session_ttl: timedelta = timedelta(hours=8)
    max_login_failures: int = 5
    login_window_s: float = 60.0
    heartbeat_s: float = HEARTBEAT_S  # SSE comment line: keeps proxies open, finds gone clients


@dataclass
class _Hub:
    """Wakes every SSE client when the node stores new reports (from any thread)."""

    loop: asyncio.AbstractEventLoop | None = None
    queues: set[asyncio.Queue[None]] = field(default_factory=set)
    closing: bool = False
    # notified when a stream ends, for threads that wait on it (never the event loop)
    streams_changed: threading.Condition = field(default_factory=threading.Condition)

    def stop_streams(self) -> None:
        """End every open SSE stream (thread-safe). Call before stopping the server: uvicorn
        otherwise waits out its graceful-shutdown timeout on them and then cancels them."""
        self.closing = True
        self.on_reports(())

    def add_stream(self, queue: asyncio.Queue[None]) -> None:
        with self.streams_changed:
            self.queues.add(queue)

    def end_stream(self, queue: asyncio.Queue[None]) -> None:
        with self.streams_changed:
            self.queues.discard(queue)
            self.streams_changed.notify_all()

    def wait_streams_ended(self, timeout_s: float) -> bool:
        """Block (not on the event loop) until no SSE stream is open; False on timeout."""
        with self.streams_changed:
            return self.streams_changed.wait_for(lambda: not self.queues, timeout_s)

    def wake(self) -> None:
        for q in list(self.queues):
            if q.empty():
                q.put_nowait(None)

    def on_reports(self, reports: Sequence[Report]) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.wake)
            except RuntimeError:  # loop closed between the check and the call
                pass


class _SecurityHeaders:
    """Pure ASGI middleware (keeps SSE streaming) adding the browser hardening headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = scope["path"].startswith("/api/")

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                if is_api or scope["path"] in ("/", "/login"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_cop_app(
    service: NodeService, *, settings: CopSettings | None = None, store: Store | None = None
) -> FastAPI:
    """The COP of ``service``'s node. ``store`` defaults to a new connection to the node's
    database (closed when the app shuts down)."""
    cfg = settings or CopSettings()
    own_store = store is None
    db: Store = store if store is not None else open_store(service.store.url)
    lock = threading.RLock()
    nations = service.config.policy.nations
    index = ReportIndex(db, service.nation, nations, lock=lock)
    throttle = auth.LoginThrottle(cfg.max_login_failures, cfg.login_window_s)
    hub = _Hub()
    cookie = f"trilink_cop_{service.nation}"  # cookies ignore ports: one name per node
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.loop = asyncio.get_running_loop()
        service.listeners.append(hub.on_reports)
        try:
            yield
        finally:
            if hub.on_reports in service.listeners:
                service.listeners.remove(hub.on_reports)
            hub.loop = None
            if own_store:
                with lock:
                    db.close()

    app = FastAPI(
        title=f"trilink COP {service.nation}",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(_SecurityHeaders)
    app.state.service = service
    app.state.index = index
    app.state.store = db
    app.state.stop_streams = hub.stop_streams
    app.state.wait_streams_ended = hub.wait_streams_ended
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # -- helpers --------------------------------------------------------------------------
    def audit(entry: AuditEntry) -> None:
        with lock, db.transaction():
            db.audit([entry])

    def session_of(request: Request) -> auth.Session | None:
        with lock:
            return auth.lookup_session(db, request.cookies.get(cookie))

    def require(request: Request, role: str = "viewer") -> auth.Session:
        session = session_of(request)
        if session is None:
            raise HTTPException(
                401, "not logged in, or the session has expired: log in again at /login"
            )
        if not session.user.may(role):
            raise HTTPException(403, f"this needs the {role} role; you are {session.user.role}")
        return session

    def require_csrf(
        request: Request, session: auth.Session, form_value: str | None = None
    ) -> None:
        presented = request.headers.get("x-csrf-token") or form_value
        if not auth.csrf_ok(session, presented):
            raise HTTPException(403, "missing or wrong CSRF token: reload the page and retry")

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def filters_of(request: Request) -> Any:
        try:
            return parse_filters(
                dict(request.query_params), nations=nations, known_kinds=known_kinds()
            )
        except FilterError as err:
            raise HTTPException(422, str(err)) from None

    def refreshed() -> ReportIndex:
        with lock:
            index.refresh()
        return index

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        wants_html = not request.url.path.startswith("/api/") and request.method == "GET"
        if exc.status_code == 401 and wants_html:
            return RedirectResponse("/login?expired=1", status_code=303)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    # -- pages ----------------------------------------------------------------------------
    @app.get("/login")
    def login_page(request: Request, expired: int = 0) -> Response:
        message = "Your session has expired. Log in again." if expired else ""
        return templates.TemplateResponse(
            request, "login.html", {"nation": service.nation, "message": message}
        )

    @app.post("/login")
    async def login(request: Request) -> Response:
        body = await request.body()
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
        username = (form.get("username") or [""])[0][:64]
        password = (form.get("password") or [""])[0][:1024]
        client = client_of(request)
        wait_s = throttle.retry_after_s(username, client)
        if wait_s:
            return templates.TemplateResponse(
                request,
                "login.html",
                {
                    "nation": service.nation,
                    "message": f"Too many failed logins. Try again in {wait_s} s.",
                },
                status_code=429,
                headers={"Retry-After": str(wait_s)},
            )

        def check() -> tuple[str, auth.Session] | None:
            with lock:
                user = auth.authenticate(db, username, password)
                if user is None:
                    return None
                return auth.start_session(db, user, cfg.session_ttl)

        started = await run_in_threadpool(check)
        if started is None:
            throttle.failed(username, client)
            await run_in_threadpool(
                audit,
                AuditEntry(event="cop", outcome="login-failed", actor=username, reason=client),
            )
            return templates.TemplateResponse(
                request,
                "login.html",
                {"nation": service.nation, "message": "Wrong username or password."},
                status_code=401,
            )
        throttle.succeeded(username, client)
        token, session = started
        await run_in_threadpool(
            audit,
            AuditEntry(event="cop", outcome="login", actor=session.user.username, reason=client),
        )
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            cookie,
            token,
            max_age=int(cfg.session_ttl.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=cfg.secure_cookies,
            path="/",
        )
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        session = await run_in_threadpool(require, request)
        body = await request.body()
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
        require_csrf(request, session, (form.get("csrf_token") or [""])[0])

        def end() -> None:
            with lock:
                auth.end_session(db, session.token_hash)

        await run_in_threadpool(end)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(cookie, path="/", httponly=True, samesite="strict")
        return response

    zone_view = view_of_nation(service.nation)

    @app.get("/")
    def map_page(request: Request) -> Response:
        session = require(request)
        return templates.TemplateResponse(
            request,
            "map.html",
            {
                "nation": service.nation,
                "user": session.user,
                "csrf": session.csrf,
                "zones": ZONE_FILE.exists(),
                "zone_view": zone_view,
                "vendored": (HERE / "static" / "vendor" / "maplibre-gl.js").exists(),
            },
        )

    @functools.cache
    def zones_body() -> bytes:
        # One view of the disputed areas, the nation's own (drawing every view would put
        # two limits around each disputed island); EEZ limits and territorial seas only, with
        # the land they cover (the map draws their outlines: without the land a territorial
        # sea's outline would run along every coast too).
        zones = load_zones(zone_view, include_land=True)
        shown = [z for z in zones if z.zone_type in ("eez", "territorial_sea")]
        return json.dumps(zones_to_geojson(shown, decimals=3), separators=(",", ":")).encode()

    @app.get("/basemap/zones.geojson")
    def zones(request: Request) -> Response:
        require(request)
        if not ZONE_FILE.exists():
            raise HTTPException(404, "no maritime zones layer is installed on this node")
        return Response(
            zones_body(),
            media_type="application/geo+json",
            headers={"X-Zone-View": zone_view},
        )

    # -- API ------------------------------------------------------------------------------
    @app.get("/api/me")
    def me(request: Request) -> dict[str, Any]:
        session = require(request)
        return {
            "nation": service.nation,
            "username": session.user.username,
            "role": session.user.role,
            "expires_at": session.expires_at.isoformat(),
        }

    @app.get("/api/reports")
    def reports(request: Request) -> dict[str, Any]:
        require(request)
        filters = filters_of(request)
        idx = refreshed()
        with lock:
            selected = idx.select(filters)
            last_seq = idx.last_seq
        return {
            "nation": service.nation,
            "last_seq": last_seq,
            "count": len(selected),
            "banner": _banner(idx, selected),
            "reports": selected,
        }

    @app.get("/api/reports/{report_id}")
    def report_detail(request: Request, report_id: str) -> dict[str, Any]:
        session = require(request)
        with lock:
            found = index.detail(report_id, service.verifier)
        if found is None:
            audit(
                AuditEntry(
                    event="cop",
                    outcome="denied",
                    report_id=report_id[:64],
                    actor=session.user.username,
                    reason=f"asked for a report node {service.nation} does not hold "
                    "or may not show",
                )
            )
            raise HTTPException(404, f"no report {report_id[:64]!r} on this node")
        return found

    @app.post("/api/notes")
    async def publish_note(request: Request) -> dict[str, Any]:
        session = await run_in_threadpool(require, request, "analyst")
        require_csrf(request, session)
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise HTTPException(422, "body must be JSON: {title, body, label}") from None
        if not isinstance(body, dict) or not isinstance(body.get("title"), str):
            raise HTTPException(422, "body must be a JSON object with a 'title' string")
        label = body.get("label")
        if not isinstance(label, str):
            raise HTTPException(422, "give the note a 'label', e.g. 'SECRET//REL TO USA, JPN'")
        payload = {
            "title": body["title"].strip()[:200],
            "body": str(body.get("body", ""))[:10_000],
        }

        def publish() -> Report:
            return service.publish("note", label, payload, actor=f"cop:{session.user.username}")

        try:
            report = await run_in_threadpool(publish)
        except (LabelError, ReportError) as err:
            raise HTTPException(422, str(err)) from None
        return {"id": report.envelope.id, "label": report.envelope.label}

    @app.get("/api/stream")
    async def stream(request: Request) -> StreamingResponse:
        session = await run_in_threadpool(require, request)
        after_text = request.headers.get("last-event-id") or request.query_params.get("after")
        if after_text is not None and not after_text.isdigit():
            raise HTTPException(422, "after / Last-Event-ID must be a report sequence number")
        await run_in_threadpool(refreshed)
        start = int(after_text) if after_text is not None else index.last_seq
        queue: asyncio.Queue[None] = asyncio.Queue(maxsize=1)

        async def events() -> AsyncIterator[str]:
            last = start
            hub.add_stream(queue)
            loop = asyncio.get_running_loop()
            next_beat = loop.time() + cfg.heartbeat_s
            next_check = loop.time() + SESSION_CHECK_S
            try:
                yield "retry: 2000\n\n"
                while True:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(queue.get(), timeout=POLL_S)
                    if hub.closing:
                        return
                    if loop.time() >= next_check:
                        next_check = loop.time() + SESSION_CHECK_S
                        still = await run_in_threadpool(session_of, request)
                        if still is None or still.token_hash != session.token_hash:
                            yield "event: logout\ndata: {}\n\n"
                            return
                    changes, last = await run_in_threadpool(_changes_after, last)
                    for summary in changes:
                        data = json.dumps(summary, separators=(",", ":"))
                        yield f"id: {summary['seq']}\nevent: report\ndata: {data}\n\n"
                    if loop.time() >= next_beat:
                        next_beat = loop.time() + cfg.heartbeat_s
                        yield ": keep-alive\n\n"
            finally:
                hub.end_stream(queue)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"X-Accel-Buffering": "no", "Cache-Control": "no-store"},
        )

    def _changes_after(seq: int) -> tuple[list[dict[str, Any]], int]:
        with lock:
            index.refresh()
            return index.changed_since(seq), max(seq, index.last_seq)

    def export(request: Request, render: Callable[..., str], media: str, ext: str) -> Response:
        session = require(request)
        filters = filters_of(request)
        idx = refreshed()
        with lock:
            selected = idx.select(filters)
        geo = [r for r in selected if r["features"]]
        banner = _banner(idx, geo)
        audit(
            AuditEntry(
                event="cop",
                outcome="export",
                actor=session.user.username,
                reason=f"{ext}: {sum(len(r['features']) for r in geo)} features, {banner['text']}",
            )
        )
        return Response(
            render(geo, banner, service.nation),
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="cop-{service.nation}.{ext}"',
                "X-Classification": banner["text"],
            },
        )

    @app.get("/api/export.geojson")
    def export_geojson(request: Request) -> Response:
        return export(request, to_geojson, "application/geo+json", "geojson")

    @app.get("/api/export.kml")
    def export_kml(request: Request) -> Response:
        return export(request, to_kml, "application/vnd.google-earth.kml+xml", "kml")

    @app.get("/api/export.cot")
    def export_cot(request: Request) -> Response:
        return export(request, to_cot, "application/xml", "cot.xml")

    return app


def _banner(index: ReportIndex, selected: list[dict[str, Any]]) -> dict[str, Any]:
    labels = [index.label_of(r["label"]) for r in selected]
    return overall_label([lab for lab in labels if lab is not None])
