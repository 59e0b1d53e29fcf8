"""Helpers of the COP tests: in-process replication, login, a real uvicorn server in a
thread, and a test-only report kind with positions, registered in the kind registry the way
an engine registers its own (``GEO_SPEC``): the COP draws it from the registry alone."""

from __future__ import annotations

import re
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import uvicorn
from fastapi import FastAPI

from trilink.federation.memory import MemoryNetwork
from trilink.model.kindspec import Area, Ellipse, KindSpec, Line, Point, Shape, Symbol
from trilink.node.service import NodeService
from trilink.web.app import cop_server_config

with warnings.catch_warnings():
    # starlette asks for the httpx2 fork; plain httpx works and is what the project installs.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NATIONS = ["USA", "JPN", "KOR"]
PASSWORD = "correct horse battery"
GEO_KIND = "coptest.geo"


class GeoTestPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    title: str
    lat: float | None = None
    lon: float | None = None
    launch_lat: float | None = None
    launch_lon: float | None = None
    track: list[list[float]] | None = None
    ellipse: dict[str, float] | None = None
    track_id: str | None = None
    geometry: dict[str, Any] | None = None
    time: str | None = None
    status: str | None = None


def _geo_shapes(p: GeoTestPayload) -> list[Shape]:
    shapes: list[Shape] = []
    if p.lat is not None and p.lon is not None:
        shapes.append(Point(lon=p.lon, lat=p.lat))
    if p.launch_lat is not None and p.launch_lon is not None:
        shapes.append(Point(lon=p.launch_lon, lat=p.launch_lat, role="launch"))
    if p.track:
        shapes.append(Line(coords=[(c[0], c[1]) for c in p.track]))
    if p.ellipse and p.lat is not None and p.lon is not None:
        shapes.append(
            Ellipse(
                lon=p.lon,
                lat=p.lat,
                semi_major_m=p.ellipse["semi_major_m"],
                semi_minor_m=p.ellipse.get("semi_minor_m", p.ellipse["semi_major_m"]),
                orientation_deg=p.ellipse.get("orientation_deg", 0.0),
            )
        )
    if p.geometry and p.geometry.get("type") == "Polygon":
        shapes.append(Area(ring=[(c[0], c[1]) for c in p.geometry["coordinates"][0]]))
    if p.geometry and p.geometry.get("type") == "MultiPoint":
        shapes.extend(
            Point(lon=c[0], lat=c[1], role="position") for c in p.geometry["coordinates"]
        )
    return shapes


GEO_SPEC: KindSpec[GeoTestPayload] = KindSpec(
    kind=GEO_KIND,
    payload=GeoTestPayload,
    title=lambda p: p.title,
    shapes=_geo_shapes,
    panel=("title", "track_id", "status"),
    properties=lambda p: {"track_id": p.track_id, "status": p.status},
    observed=lambda p: p.time,
    track=lambda p: p.track_id,
    status=lambda p: p.status,
    ended=lambda p: p.status == "cancel",
    is_track=False,
    affiliation=lambda p: "unknown",
    symbol=lambda p: Symbol("S", "", "surface contact") if p.track_id else None,
    folder="COP test kind",
)


def replicate(nodes: dict[str, NodeService]) -> int:
    """Every node pulls what its partners queued for it, over the in-memory transport;
    returns how many reports were stored."""
    return MemoryNetwork(nodes.values()).deliver_all()


def login(client: Any, username: str = "watch", password: str = PASSWORD) -> Any:
    return client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )


def csrf_of(page_html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page_html)
    assert found is not None, "map page has no CSRF token"
    return found.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under a real uvicorn server in a thread, configured as the node and
    ``trilink web serve`` configure theirs; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(cop_server_config(app, "127.0.0.1", port, timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("COP test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop = getattr(app.state, "stop_streams", None)
        if stop is not None:
            stop()
            assert app.state.wait_streams_ended(5.0), "SSE streams still open 5 s after stop"
        server.should_exit = True
        thread.join(10)


__all__ = ["TestClient"]
