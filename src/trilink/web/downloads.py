"""The COP's downloads: ``GET /api/export.geojson``, ``.kml``, ``.cot`` (a TAK data package),
``.geoparquet`` and ``.csv``, with the same filters as ``/api/reports``. The files are written
by ``trilink.interop`` from the same items as the map (and as ``trilink export``); here each
download is audited and carries its overall marking (``X-Classification``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from trilink.interop.formats import FORMATS, Format, render
from trilink.store.audit import AuditEntry
from trilink.web.context import Cop


def routes(cop: Cop) -> APIRouter:
    router = APIRouter()

    def export(request: Request, fmt: Format) -> Response:
        session = cop.require(request)
        filters = cop.filters_of(request)
        index = cop.refreshed()
        with cop.lock:
            entries = index.select_entries(filters)
        items = fmt.portions([e.item for e in entries if e.item is not None])
        marking = index.marking([item.label for item in items])
        body, count = render(fmt, items, marking, cop.nation)
        cop.audit(
            AuditEntry(
                event="cop",
                outcome="export",
                actor=session.user.username,
                reason=f"{fmt.name}: {count} {fmt.unit}, {marking.text}",
            )
        )
        filename = f"cop-{cop.nation}.{fmt.file_suffix}"
        return Response(
            body,
            media_type=fmt.media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "X-Classification": marking.text,
            },
        )

    def add(fmt: Format) -> None:
        def download(request: Request) -> Response:
            return export(request, fmt)

        router.add_api_route(f"/api/export.{fmt.name}", download, methods=["GET"])

    for fmt in FORMATS.values():
        add(fmt)
    return router
