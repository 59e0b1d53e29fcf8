"""The COP's pages: ``/login`` (form and post), ``/logout``, the map ``/`` and its maritime
zones layer ``/basemap/zones.geojson``."""

from __future__ import annotations

import functools
import json
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from trilink.geo import load_zones, zones_to_geojson
from trilink.geo.disputed import view_of_nation
from trilink.geo.io import ZONE_FILE
from trilink.store.audit import AuditEntry
from trilink.web import auth
from trilink.web.context import HERE, Cop, client_of

# The login form has two fields and the logout form one; a few more are tolerated (browser
# extensions add some), a flood is refused before it is parsed.
MAX_FORM_FIELDS = 10
MAX_USERNAME_CHARS = 64
MAX_PASSWORD_CHARS = 1024


def read_form(body: bytes, *, form: str, fields: tuple[str, ...]) -> dict[str, str]:
    """The first value of each field of a url-encoded form; HTTP 400 when it has more than
    ``MAX_FORM_FIELDS`` fields."""
    try:
        pairs = parse_qsl(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError:
        raise HTTPException(
            400,
            f"the {form} form has more than {MAX_FORM_FIELDS} fields; "
            f"send only {', '.join(fields)}",
        ) from None
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value)
    return values


def routes(cop: Cop) -> APIRouter:
    router = APIRouter()
    nation = cop.nation
    settings = cop.settings

    def login_form(request: Request, message: str, status_code: int = 200) -> Response:
        return cop.templates.TemplateResponse(
            request,
            "login.html",
            {"nation": nation, "message": message},
            status_code=status_code,
        )

    @router.get("/login")
    def login_page(request: Request, expired: int = 0) -> Response:
        return login_form(request, "Your session has expired. Log in again." if expired else "")

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = read_form(await request.body(), form="login", fields=("username", "password"))
        username = form.get("username", "")[:MAX_USERNAME_CHARS]
        password = form.get("password", "")[:MAX_PASSWORD_CHARS]
        client = client_of(request)
        wait_s = cop.throttle.retry_after_s(username, client)
        if wait_s:
            await run_in_threadpool(
                cop.audit_failure,
                client,
                AuditEntry(
                    event="cop",
                    outcome="login-throttled",
                    actor=username,
                    reason=f"{client}: locked out for {wait_s} s after repeated failures",
                ),
            )
            response = login_form(
                request, f"Too many failed logins. Try again in {wait_s} s.", status_code=429
            )
            response.headers["Retry-After"] = str(wait_s)
            return response

        def check() -> tuple[str, auth.Session] | None:
            with cop.lock:
                user = auth.authenticate(cop.db, username, password)
                if user is None:
                    return None
                return auth.start_session(cop.db, user, settings.session_ttl)

        started = await run_in_threadpool(check)
        if started is None:
            cop.throttle.failed(username, client)
            await run_in_threadpool(
                cop.audit_failure,
                client,
                AuditEntry(event="cop", outcome="login-failed", actor=username, reason=client),
            )
            return login_form(request, "Wrong username or password.", status_code=401)
        cop.throttle.succeeded(username, client)
        token, session = started
        await run_in_threadpool(
            cop.audit,
            AuditEntry(event="cop", outcome="login", actor=session.user.username, reason=client),
        )
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            cop.cookie,
            token,
            max_age=int(settings.session_ttl.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies,
            path="/",
        )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        session = await run_in_threadpool(cop.require, request)
        form = read_form(await request.body(), form="logout", fields=("csrf_token",))
        cop.require_csrf(request, session, form.get("csrf_token", ""))

        def end() -> None:
            with cop.lock:
                auth.end_session(cop.db, session.token_hash)

        await run_in_threadpool(end)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(cop.cookie, path="/", httponly=True, samesite="strict")
        return response

    zone_view = view_of_nation(nation)

    @router.get("/")
    def map_page(request: Request) -> Response:
        session = cop.require(request)
        return cop.templates.TemplateResponse(
            request,
            "map.html",
            {
                "nation": nation,
                "user": session.user,
                "csrf": session.csrf,
                "zones": ZONE_FILE.exists(),
                "zone_view": zone_view,
                "vendored": (HERE / "static" / "vendor" / "maplibre-gl.js").exists(),
                "symbols": (HERE / "static" / "vendor" / "milsymbol.js").exists(),
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

    @router.get("/basemap/zones.geojson")
    def zones(request: Request) -> Response:
        cop.require(request)
        if not ZONE_FILE.exists():
            raise HTTPException(404, "no maritime zones layer is installed on this node")
        return Response(
            zones_body(),
            media_type="application/geo+json",
            headers={"X-Zone-View": zone_view},
        )

    return router
