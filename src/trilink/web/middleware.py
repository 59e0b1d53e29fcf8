"""The COP's ASGI middleware (pure ASGI, so the SSE stream keeps streaming):

* ``TrustedProxies``: which address a request came from, believing ``X-Forwarded-For``
  only from the configured reverse proxies;
* ``SecurityHeaders``: the browser hardening headers on every answer;
* ``BodyLimit``: a per-endpoint cap on request bodies, refused with HTTP 413 before the
  body is buffered.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException

from trilink.node.config import IPNetwork

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; worker-src blob:; child-src blob:; connect-src 'self'; "
    "font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# X-Forwarded-For: how much of the header is read, and how many hops at most.
MAX_FORWARDED_CHARS = 2048
MAX_FORWARDED_HOPS = 16


def _header(scope: Scope, name: bytes) -> str | None:
    values = [v for k, v in scope.get("headers", ()) if k == name]
    return b",".join(values).decode("latin-1") if values else None


class TrustedProxies:
    """Sets the request's client to the address a trusted reverse proxy forwarded: the
    right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy. From any other
    peer the header is ignored: the node's COP port is reachable by every local process, and
    believing it from them would let anyone choose the address the login throttle and the
    audit see."""

    def __init__(self, app: ASGIApp, proxies: tuple[IPNetwork, ...]) -> None:
        self.app = app
        self.proxies = proxies

    def trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.proxies)

    def forwarded_client(self, header: str) -> str | None:
        hops = [h.strip() for h in header[-MAX_FORWARDED_CHARS:].split(",")]
        hops = hops[-MAX_FORWARDED_HOPS:]
        for hop in reversed(hops):
            try:
                address = str(ipaddress.ip_address(hop))
            except ValueError:
                return None  # not an address: keep the peer (the proxy) as the client
            if not self.trusted(address):
                return address
        return None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.proxies:
            peer = scope.get("client")
            header = _header(scope, b"x-forwarded-for")
            if peer and header is not None and self.trusted(str(peer[0])):
                client = self.forwarded_client(header)
                if client is not None:
                    scope = dict(scope, client=(client, 0))
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds the browser hardening headers (and no-store on pages and the API)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
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


def too_large(limit: int) -> str:
    return f"request body larger than {limit} bytes: this endpoint accepts at most that"


class BodyLimit:
    """Caps request bodies at ``limit_for(method, path)`` bytes. A larger declared
    ``Content-Length`` is refused with 413 before a byte of the body is read (and
    ``on_refused`` is called to audit it); a body sent without one is counted as the app
    reads it and refused the moment it passes the cap, so no endpoint ever holds more."""

    def __init__(
        self,
        app: ASGIApp,
        limit_for: Callable[[str, str], int],
        on_refused: Callable[[Scope, int, str], Awaitable[None]],
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = (_header(scope, b"content-length") or "").strip()
        if (
            declared.isascii()
            and declared.isdigit()
            and (len(declared) > 18 or int(declared) > limit)
        ):
            await self._refuse(scope, send, too_large(limit))
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message: Message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if started:  # too late for a 413: end the request as if the client left
                        return {"type": "http.disconnect"}
                    raise HTTPException(413, too_large(limit))
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, watching_send)

    async def _refuse(self, scope: Scope, send: Any, detail: str) -> None:
        await self.on_refused(scope, 413, detail)
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
