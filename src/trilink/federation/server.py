"""A node's HTTPS endpoint for partners (mutual TLS) and its replication loops.

Endpoints (every caller must present a certificate issued by the deployment CA; the
certificate's common name is the caller's nation):

    POST /v1/push          a partner delivers a batch       -> {"cursor", "accepted", ...}
    GET  /v1/feed?after=N  a partner pulls what it missed   -> a batch
    GET  /v1/health        liveness and counts
    GET  /v1/status        queues and cursors per partner (replication lag)
    POST /v1/wake          this node's own CLI says "new reports, push now"
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn
from cryptography import x509
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from trilink.errors import ConfigError, ProvenanceError, ReportError
from trilink.federation.replicator import Replicator
from trilink.federation.wire import MAX_BATCH_BYTES, decode_batch
from trilink.node.config import NodeConfig
from trilink.node.service import NodeService
from trilink.provenance.pki import TLS_UNIT, nation_of, unit_of
from trilink.store.audit import AuditEntry

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


class PeerCertProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, handing the verified client certificate to the app in
    ``scope["extensions"]["tls"]["client_cert_der"]`` (the ASGI TLS extension's role, which
    uvicorn does not implement yet)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        inner: ASGIApp = self.app

        async def with_peer(scope: Scope, receive: Any, send: Any) -> None:
            scope.setdefault("extensions", {})["tls"] = {"client_cert_der": der}
            await inner(scope, receive, send)

        self.app = with_peer


def peer_nation(request: Request) -> str:
    der = request.scope.get("extensions", {}).get("tls", {}).get("client_cert_der")
    if not der:
        raise HTTPException(401, "a client certificate issued by the deployment CA is required")
    cert = x509.load_der_x509_certificate(der)
    if unit_of(cert) != TLS_UNIT:
        raise HTTPException(403, "certificate is not a node TLS certificate")
    return nation_of(cert)


def create_app(service: NodeService, *, replicate: bool = True) -> FastAPI:
    replicator = Replicator(service)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if replicate:
            replicator.start()
        yield
        await replicator.stop()

    app = FastAPI(title=f"trilink node {service.nation}", lifespan=lifespan)
    app.state.service = service
    app.state.replicator = replicator

    def require_partner(request: Request) -> str:
        nation = peer_nation(request)
        if nation not in service.config.policy.partners:
            with service.store.transaction():
                service.store.audit(
                    [
                        AuditEntry(
                            event="inbound",
                            outcome="rejected",
                            partner=nation,
                            reason=f"{nation} is not a configured partner",
                        )
                    ]
                )
            raise HTTPException(403, f"{nation} is not a partner of {service.nation}")
        return nation

    @app.post("/v1/push")
    async def push(request: Request) -> JSONResponse:
        sender = require_partner(request)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BATCH_BYTES:
            _audit_refusal(service, sender, f"batch of {declared} bytes over the limit")
            raise HTTPException(413, f"batch larger than {MAX_BATCH_BYTES} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BATCH_BYTES:
                _audit_refusal(service, sender, "batch over the size limit")
                raise HTTPException(413, f"batch larger than {MAX_BATCH_BYTES} bytes")
        try:
            batch = decode_batch(bytes(body))
        except ReportError as err:
            _audit_refusal(service, sender, str(err))
            raise HTTPException(400, str(err)) from None
        async with replicator.ingest_lock:
            result = service.ingest(sender, batch)
        replicator.last_push_from[sender] = time.monotonic()
        return JSONResponse(result.as_dict())

    @app.get("/v1/feed")
    async def feed(
        request: Request, after: int = Query(0, ge=0), limit: int = Query(1000, ge=1, le=5000)
    ) -> Response:
        partner = require_partner(request)
        body, _ = service.outbox_batch(partner, after, limit)
        return Response(body, media_type="application/json")

    @app.get("/v1/health")
    async def health(request: Request) -> dict[str, Any]:
        peer_nation(request)
        return {"nation": service.nation, "status": "ok", "reports": service.store.report_count()}

    @app.get("/v1/status")
    async def status(request: Request) -> dict[str, Any]:
        peer_nation(request)
        data = service.status()
        for partner, link in replicator.links.items():
            data["partners"][partner].update(link.as_dict())
        return data

    @app.post("/v1/wake")
    async def wake(request: Request) -> dict[str, str]:
        if peer_nation(request) != service.nation:
            raise HTTPException(403, "only this node's own certificate may wake it")
        replicator.wake()
        return {"status": "woken"}

    return app


def _audit_refusal(service: NodeService, sender: str, reason: str) -> None:
    with service.store.transaction():
        service.store.audit(
            [AuditEntry(event="inbound", outcome="rejected", partner=sender, reason=reason)]
        )


def server_ssl_kwargs(config: NodeConfig) -> dict[str, Any]:
    return {
        "ssl_keyfile": str(config.tls_key),
        "ssl_certfile": str(config.tls_cert),
        "ssl_ca_certs": str(config.ca_cert),
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
    }


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server run inside another's event loop: the outer server owns signals."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_node(config: NodeConfig) -> None:
    """Serve this node until SIGTERM/SIGINT: partners on ``listen`` (mutual TLS) and, when
    configured, the COP on ``cop``."""
    ports = [("partner", config.host, config.port)]
    if config.cop_port is not None:
        ports.append(("COP", config.cop_host or "127.0.0.1", config.cop_port))
    for role, host, port in ports:
        _check_port_free(role, host, port, config)
    service = NodeService(config)
    app = create_app(service)
    if config.cop_port is not None:
        _attach_cop(app, service, config)
    log.info(
        "node %s: partners on %s%s",
        config.nation,
        config.url,
        f", COP on http://{config.cop_host}:{config.cop_port}" if config.cop_port else "",
    )
    uv_config = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        http=PeerCertProtocol,
        loop="uvloop",
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=3,
        **server_ssl_kwargs(config),
    )
    try:
        uvicorn.Server(uv_config).run()
    finally:
        service.close()


def _check_port_free(role: str, host: str, port: int, config: NodeConfig) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise ConfigError(
                f"node {config.nation}: the {role} port {host}:{port} is taken ({err.strerror}):"
                " another node or program listens there. Stop it ('trilink net down --dir ...')"
                f" or change the port in {config.path}"
            ) from None


def _attach_cop(app: FastAPI, service: NodeService, config: NodeConfig) -> None:
    from trilink.web import create_cop_app
    from trilink.web.app import cop_server_config

    cop_app = create_cop_app(service)  # settings from the node's [cop] table
    cop = _EmbeddedServer(
        cop_server_config(
            cop_app,
            config.cop_host or "127.0.0.1",
            config.cop_port or 8000,
            timeout_graceful_shutdown=2,
        )
    )
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def with_cop(app_: FastAPI) -> AsyncIterator[None]:
        async with inner(app_):
            task = asyncio.create_task(cop.serve())
            try:
                yield
            finally:
                cop_app.state.stop_streams()
                cop.should_exit = True
                await task

    app.router.lifespan_context = with_cop


__all__ = ["PeerCertProtocol", "ProvenanceError", "create_app", "run_node"]
