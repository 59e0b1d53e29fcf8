"""The COP's map downloads: ``GET /api/export.geojson``, ``.kml`` and ``.cot`` with the same
filters as ``/api/reports``. The file formats are written by ``trilink.web.exports``; here
each download is audited and carries its overall marking (``X-Classification``)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response

from trilink.store.audit import AuditEntry
from trilink.web.context import Cop
from trilink.web.exports import to_cot, to_geojson, to_kml


def routes(cop: Cop) -> APIRouter:
    router = APIRouter()

    def export(request: Request, render: Callable[..., str], media: str, ext: str) -> Response:
        session = cop.require(request)
        filters = cop.filters_of(request)
        index = cop.refreshed()
        with cop.lock:
            selected = index.select(filters)
        geo = [r for r in selected if r["features"]]
        banner = cop.banner(geo)
        features = sum(len(r["features"]) for r in geo)
        cop.audit(
            AuditEntry(
                event="cop",
                outcome="export",
                actor=session.user.username,
                reason=f"{ext}: {features} features, {banner['text']}",
            )
        )
        return Response(
            render(geo, banner, cop.nation),
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="cop-{cop.nation}.{ext}"',
                "X-Classification": banner["text"],
            },
        )

    @router.get("/api/export.geojson")
    def export_geojson(request: Request) -> Response:
        return export(request, to_geojson, "application/geo+json", "geojson")

    @router.get("/api/export.kml")
    def export_kml(request: Request) -> Response:
        return export(request, to_kml, "application/vnd.google-earth.kml+xml", "kml")

    @router.get("/api/export.cot")
    def export_cot(request: Request) -> Response:
        return export(request, to_cot, "application/xml", "cot.xml")

    return router
