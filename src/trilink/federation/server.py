"""A node's HTTPS endpoint for partners (mutual TLS).

Endpoints (every caller must present a node certificate issued by its own nation's CA, as
this node trusts it; the certificate's common name is the caller's nation):

    POST /v1/push          a partner delivers a batch       -> {"cursor", "accepted", ...}
    GET  /v1/feed?after=N  a partner pulls what it missed   -> a batch
    GET  /v1/returns?after=S  a partner restored from an older copy asks for its own
                           reports we hold above its origin_seq S -> a batch
    GET  /v1/audit-head    the newest signed head of the caller's audit log this node
                           witnessed (``trilink audit verify`` asks each partner)
    GET  /v1/health        liveness and counts
    GET  /v1/status        queues and cursors per partner (replication lag)

Batches are ingested in a worker thread: signature checks and database writes never block
the event loop that serves the other partners.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from trilink.errors import ProvenanceError
from trilink.federation.replicator import Replicator
from trilink.model.wire import MAX_BATCH_BYTES
from trilink.node.config import NodeConfig
from trilink.node.ingest import BatchRefused
from trilink.node.service import NodeService

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


def peer_nation(request: Request, service: NodeService) -> str:
    """The nation whose node is calling: its TLS client certificate, issued by that nation's
    own CA as this node trusts it (TLS only proved it came from *some* trusted CA)."""
    der = request.scope.get("extensions", {}).get("tls", {}).get("client_cert_der")
    if not der:
        raise HTTPException(401, "a node client certificate is required")
    try:
        return service.keys.check_tls_peer(x509.load_der_x509_certificate(der))
    except (ProvenanceError, ValueError) as err:
        raise HTTPException(403, f"client certificate refused: {err}") from None


def create_app(service: NodeService, replicator: Replicator | None = None) -> FastAPI:
    """The partner-facing app. With ``replicator``, its loops run while the app runs."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if replicator is not None:
            replicator.start()
        try:
            yield
        finally:
            if replicator is not None:
                await replicator.stop()

    app = FastAPI(title=f"trilink node {service.nation}", lifespan=lifespan)
    app.state.service = service
    app.state.replicator = replicator

    def require_partner(request: Request) -> str:
        nation = peer_nation(request, service)
        if nation not in service.config.policy.partners:
            service.ingestor.audit_refusal(nation, f"{nation} is not a configured partner")
            raise HTTPException(403, f"{nation} is not a partner of {service.nation}")
        return nation

    @app.post("/v1/push")
    async def push(request: Request) -> JSONResponse:
        sender = require_partner(request)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BATCH_BYTES:
            service.ingestor.audit_refusal(sender, f"batch of {declared} bytes over the limit")
            raise HTTPException(413, f"batch larger than {MAX_BATCH_BYTES} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BATCH_BYTES:
                service.ingestor.audit_refusal(sender, "batch over the size limit")
                raise HTTPException(413, f"batch larger than {MAX_BATCH_BYTES} bytes")
        try:
            result = await asyncio.to_thread(service.receive_push, sender, bytes(body))
        except BatchRefused as err:
            raise HTTPException(err.status, str(err)) from None
        if replicator is not None:
            replicator.pushed_by(sender)
        return JSONResponse(result.as_dict())

    @app.get("/v1/feed")
    async def feed(
        request: Request, after: int = Query(0, ge=0), limit: int = Query(1000, ge=1, le=5000)
    ) -> Response:
        partner = require_partner(request)
        body = await asyncio.to_thread(service.serve_pull, partner, after, limit)
        return Response(body, media_type="application/json")

    @app.get("/v1/returns")
    async def returns(
        request: Request, after: int = Query(0, ge=0), limit: int = Query(1000, ge=1, le=5000)
    ) -> Response:
        partner = require_partner(request)
        body = await asyncio.to_thread(service.returns_for, partner, after, limit)
        return Response(body, media_type="application/json")

    @app.get("/v1/audit-head")
    async def audit_head(request: Request) -> Response:
        partner = require_partner(request)
        body = await asyncio.to_thread(service.ingestor.anchors.witness_answer, partner)
        return Response(body, media_type="application/json")

    @app.get("/v1/health")
    async def health(request: Request) -> dict[str, Any]:
        peer_nation(request, service)
        return {"nation": service.nation, "status": "ok", "reports": service.store.report_count()}

    @app.get("/v1/status")
    async def status(request: Request) -> dict[str, Any]:
        peer_nation(request, service)
        data = service.status()
        if replicator is not None:
            for partner, link in replicator.links.items():
                data["partners"][partner].update(link.as_dict())
                data["partners"][partner].update(replicator.transport.describe(partner))
        return data

    return app


def server_ssl_kwargs(config: NodeConfig, trusted_cas: Path) -> dict[str, Any]:
    """uvicorn's TLS settings: our certificate, and client certificates required from the
    CAs in ``trusted_cas`` (ours and each partner's, see ``write_trusted_cas``)."""
    return {
        "ssl_keyfile": str(config.tls_key),
        "ssl_certfile": str(config.tls_cert),
        "ssl_ca_certs": str(trusted_cas),
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
    }


def write_trusted_cas(service: NodeService) -> Path:
    """One PEM file of every CA this node accepts TLS clients from: its own (for its own
    tools) and each partner's, as its key ring holds them. Rewritten at each start."""
    path = service.config.dir / "partners" / "tls-clients.pem"
    path.parent.mkdir(exist_ok=True)
    pems = [
        cert.public_bytes(serialization.Encoding.PEM)
        for cas in service.keys.anchors.values()
        for cert in cas
    ]
    path.write_bytes(b"".join(pems))
    return path


__all__ = [
    "PeerCertProtocol",
    "create_app",
    "peer_nation",
    "server_ssl_kwargs",
    "write_trusted_cas",
]
