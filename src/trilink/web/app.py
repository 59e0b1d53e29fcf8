"""The COP web application of one node: ``create_cop_app(service) -> FastAPI``.

Served on the node's loopback COP port (plain HTTP; TLS, if any, is the site's reverse
proxy), by a uvicorn configured with ``cop_server_config``. The views, by role:

    web.pages      GET/POST /login, POST /logout (CSRF token), GET / (the map),
                   GET /basemap/zones.geojson
    web.api        GET /api/me, GET /api/reports?kind=&origin=&classification=&label=
                   &exercise=&since=&until=&bbox=&limit=, GET /api/reports/{id},
                   POST /api/notes (analyst+, X-CSRF-Token header)
    web.stream     GET /api/stream?after=SEQ (server-sent events)
    web.downloads  GET /api/export.geojson|.kml|.cot (the /api/reports filters)
    web.crisis     GET /api/crisis (open incidents, acknowledgements, deadlines, divergence)
    web.auth       passwords, sessions, CSRF, login throttle, failure audit limit
    web.context    CopSettings and what the views share (node, store, index, checks)

Every answer is 2xx, 3xx or 4xx with a message saying what to fix; bodies are capped per
endpoint (``body_limit``) and refusals are audited (``AUDITED_STATUSES``), within the
failure audit limit.

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
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware

from trilink.errors import StoreError
from trilink.node.service import NodeService
from trilink.store.base import Store
from trilink.web import api, crisis, downloads, pages, stream
from trilink.web.context import HERE, Cop, CopSettings
from trilink.web.middleware import BodyLimit, Scope, SecurityHeaders, TrustedProxies

log = logging.getLogger(__name__)

# Request bodies: the login and logout forms are a few hundred bytes (a 1,024-character
# password, percent-encoded, stays under 13 KiB); a note holds at most 10,000 characters of
# text, which JSON escapes to at most 6 bytes each. Other endpoints take no body.
FORM_BODY_LIMIT = 16 * 1024
NOTE_BODY_LIMIT = 128 * 1024
# 4xx answers that refuse a request (not "log in first" or "no such page"): each is audited.
AUDITED_STATUSES = frozenset({400, 403, 413, 422, 429})
FAILURE_FLUSH_S = 5.0


def body_limit(method: str, path: str) -> int:
    """The largest request body ``method path`` accepts, in bytes."""
    return NOTE_BODY_LIMIT if (method, path) == ("POST", "/api/notes") else FORM_BODY_LIMIT


def cop_server_config(app: FastAPI, host: str, port: int, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration every COP must be served with. uvicorn's own proxy-header
    handling is off: it believes ``X-Forwarded-For`` from any local process; the app applies
    ``CopSettings.trusted_proxies`` instead."""
    settings: dict[str, Any] = {
        "log_level": "warning",
        "ws": "none",
        "lifespan": "on",
        **options,
        "proxy_headers": False,
    }
    return uvicorn.Config(app, host=host, port=port, **settings)


async def _flush_failure_audit(cop: Cop) -> None:
    """Writes each failure audit window's summary row soon after the window ends."""
    while True:
        await asyncio.sleep(FAILURE_FLUSH_S)
        try:
            await run_in_threadpool(cop.flush_failure_audit)
        except StoreError as err:
            log.warning("COP %s: could not write the failure audit summary: %s", cop.nation, err)


def create_cop_app(
    service: NodeService, *, settings: CopSettings | None = None, store: Store | None = None
) -> FastAPI:
    """The COP of ``service``'s node. ``settings`` default to the node's ``[cop]`` table;
    ``store`` to a new connection to the node's database (closed when the app shuts down)."""
    cop = Cop(service, settings or CopSettings.from_node(service.config.cop_options), store)
    hub = stream.StreamHub()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.loop = asyncio.get_running_loop()
        service.listeners.append(hub.on_reports)
        flusher = asyncio.create_task(_flush_failure_audit(cop))
        try:
            yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            if hub.on_reports in service.listeners:
                service.listeners.remove(hub.on_reports)
            hub.loop = None
            cop.close()

    async def audit_refused_body(scope: Scope, status: int, detail: str) -> None:
        await run_in_threadpool(cop.refusal, Request(scope), status, detail)

    app = FastAPI(
        title=f"trilink COP {service.nation}",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        middleware=[  # outermost first
            Middleware(TrustedProxies, proxies=cop.settings.trusted_proxies),
            Middleware(SecurityHeaders),
            Middleware(BodyLimit, limit_for=body_limit, on_refused=audit_refused_body),
        ],
    )
    app.state.cop = cop
    app.state.service = service
    app.state.index = cop.index
    app.state.store = cop.db
    app.state.stop_streams = hub.stop_streams
    app.state.wait_streams_ended = hub.wait_streams_ended
    app.state.sse_clients = lambda: len(hub.queues)  # open map streams, for the node's metrics
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code in AUDITED_STATUSES:
            actor = getattr(request.state, "username", "")
            await run_in_threadpool(cop.refusal, request, exc.status_code, str(exc.detail), actor)
        wants_html = not request.url.path.startswith("/api/") and request.method == "GET"
        if exc.status_code == 401 and wants_html:
            return RedirectResponse("/login?expired=1", status_code=303)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_parameter(request: Request, exc: RequestValidationError) -> Response:
        detail = "; ".join(
            f"{' '.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()[:5]
        )
        await run_in_threadpool(cop.refusal, request, 422, detail)
        return JSONResponse({"detail": detail}, status_code=422)

    app.include_router(pages.routes(cop))
    app.include_router(api.routes(cop))
    app.include_router(stream.routes(cop, hub))
    app.include_router(downloads.routes(cop))
    app.include_router(crisis.routes(cop))
    return app
