"""Helpers of the COP tests: in-process replication, login, a real uvicorn server in a
thread, and a report kind with positions (the engines' own kinds may not be registered
yet; the COP must handle any kind with lat/lon anyway)."""

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
