"""The COP's downloads: ``GET /api/export.geojson``, ``.kml``, ``.cot`` (a TAK data package),
``.geoparquet`` and ``.csv``, with the same filters as ``/api/reports``. The files are written
by ``trilink.interop`` from the same items as the map (and as ``trilink export``); here each
download is audited and carries its overall marking (``X-Classification``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from trilink.interop.formats import FORMATS, Format
from trilink.store.audit import AuditEntry
from trilink.web.context import Cop
from trilink.web.picture import export_picture


def routes(cop: Cop) -> APIRouter:
    router = APIRouter()

    def export(request: Request, fmt: Format) -> Response:
        session = cop.require(request)
        filters = cop.filters_of(request)
        done = export_picture(cop.refreshed(), fmt, filters)
        cop.audit(
            AuditEntry(
                event="cop",
                outcome="export",
                actor=session.user.username,
                reason=f"{fmt.name}: {done.count} {fmt.unit}, {done.marking}",
            )
        )
        return Response(done.body, media_type=fmt.media_type, headers=done.headers)

    def add(fmt: Format) -> None:
        def download(request: Request) -> Response:
            return export(request, fmt)

        router.add_api_route(f"/api/export.{fmt.name}", download, methods=["GET"])

    for fmt in FORMATS.values():
        add(fmt)
    return router
