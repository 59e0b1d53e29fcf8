"""The node process (`trilink node run`): one event loop serving

- partners, on ``listen``: HTTPS with mutual TLS, and the replication loops;
- this nation's people and programs, on ``api``: the node API (HTTPS, API tokens);
- people, on ``cop`` (when configured): the COP web page;
- a TAK server (when ``[tak]`` is configured): live CoT over TCP or TLS, fed from the store
  by ``trilink.interop.tak_feed`` (a thread; its state is in the API's ``/metrics``).

This is the one module that composes node, federation and web; none of them imports another
edge.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI

from trilink.api.app import Exporter
from trilink.errors import ConfigError
from trilink.federation.https import HttpsTransport
from trilink.federation.replicator import Replicator
from trilink.federation.server import (
    PeerCertProtocol,
    create_app,
    server_ssl_kwargs,
    write_trusted_cas,
)
from trilink.federation.transport import Transport
from trilink.interop.tak_config import TakConfig, tak_config
from trilink.interop.tak_feed import CURSOR_FILE, TakFeed
from trilink.interop.tak_stream import TakStream
from trilink.model.label import Label
from trilink.model.report import Envelope
from trilink.node.config import NodeConfig
from trilink.node.service import NodeService
from trilink.store import open_store

log = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server run inside another's event loop: the outer server owns signals."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def ports_of(config: NodeConfig) -> list[tuple[str, str, int]]:
    """(role, host, port) of every listener the node opens."""
    ports = [("partner", config.host, config.port)]
    if config.api_port is not None:
        ports.append(("API", config.api_host or "127.0.0.1", config.api_port))
    if config.cop_port is not None:
        ports.append(("COP", config.cop_host or "127.0.0.1", config.cop_port))
    return ports


def check_stopped(config: NodeConfig) -> None:
    """``ConfigError`` if something listens on this node's ports (the node is running)."""
    for role, host, port in ports_of(config):
        _check_port_free(role, host, port, config)


def make_transport(config: NodeConfig, service: NodeService) -> Transport:
    """The transport node.toml chose: HTTPS with mutual TLS, or NATS JetStream (whose
    connection events are audited on this node)."""
    if config.transport == "nats":
        from trilink.federation.jetstream import NatsTransport

        def audit(outcome: str, partner: str, message: str) -> None:
            service.ingestor.audit_event("transport", f"nats {outcome}", partner, message)

        return NatsTransport(config, on_event=audit)
    return HttpsTransport(config, service.keys.anchors)


def run_node(config: NodeConfig) -> None:
    """Serve this node until SIGTERM/SIGINT."""
    check_stopped(config)
    tak = tak_config(config.tak, base_dir=config.dir, source=str(config.path))
    # A damaged store is refused at start, before it replicates anything (trilink node check).
    service = NodeService(config, store=open_store(config.db_url, check=True))
    transport = make_transport(config, service)
    if isinstance(transport, HttpsTransport):  # partners' new CAs, trusted while it runs
        service.keys.anchor_listeners.append(transport.trust)
    replicator = Replicator(service, transport)
    app = create_app(service, replicator)
    feed = _tak_feed(app, service, config, tak) if tak is not None else None
    cop_clients: list[Callable[[], int]] = []  # the COP's open streams, once it exists
    if config.api_port is not None:
        _attach_api(app, service, replicator, config, feed, cop_clients)
    if config.cop_port is not None:
        cop_clients.append(_attach_cop(app, service, config))
    log.info(
        "node %s: partners on %s%s%s%s",
        config.nation,
        config.url,
        f", API on {config.api_url}" if config.api_url else "",
        f", COP on http://{config.cop_host}:{config.cop_port}" if config.cop_port else "",
        f", TAK stream to {tak.address}" if tak else "",
        extra={
            "fields": {
                "nation": config.nation,
                "partner_url": config.url,
                "api_url": config.api_url,
                "tak": tak.address if tak else None,
            }
        },
    )
    uv_config = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        http=PeerCertProtocol,
        loop="uvloop",
        log_level="warning",
        log_config=None,  # records go to the node's own (JSON) handler
        lifespan="on",
        timeout_graceful_shutdown=3,
        proxy_headers=False,  # partners are identified by their certificates, nothing else
        **server_ssl_kwargs(config, write_trusted_cas(service)),
    )
    uv_config.load()
    service.keys.anchor_listeners.append(partial(_trust_tls_clients, uv_config))
    tune_gc()
    try:
        uvicorn.Server(uv_config).run()
    finally:
        service.close()


def tune_gc() -> None:
    """Collect less often, and never look at what start-up built. Each report a node
    publishes or receives makes some fifty objects that reference counting frees; with the
    default threshold (a collection every 700 new containers) the collector cost 12 % of
    the CPU of publishing and receiving, measured (bench/bench_replication.py), for no
    garbage. Start-up objects (modules, the app, the config) are frozen out of every
    collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(_GC_NEW_OBJECTS, 20, 20)


_GC_NEW_OBJECTS = 10_000


def picture_exporter(service: NodeService) -> Exporter:
    """The node API's exports, from a picture index of its own (its own store connection,
    read-only use), so they work whether or not this node serves a COP."""
    from trilink.web.index import ReportIndex
    from trilink.web.picture import export_query

    index = ReportIndex(
        open_store(service.store.url), service.nation, service.config.policy.nations
    )

    def exporter(fmt: str, params: dict[str, str]) -> tuple[bytes, str, dict[str, str]]:
        done = export_query(index, fmt, params)
        return done.body, done.format.media_type, done.headers

    return exporter


def _trust_tls_clients(uv_config: uvicorn.Config, _nation: str, ca: x509.Certificate) -> None:
    """Accept partner node certificates ``ca`` issued from the next handshake on."""
    if uv_config.ssl is not None:
        uv_config.ssl.load_verify_locations(
            cadata=ca.public_bytes(serialization.Encoding.PEM).decode("ascii")
        )


def _check_port_free(role: str, host: str, port: int, config: NodeConfig) -> None:
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


def _embed(app: FastAPI, server: uvicorn.Server, on_stop: Callable[[], None]) -> None:
    """Run ``server`` in the partner app's event loop, for as long as that app runs."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def with_server(app_: FastAPI) -> AsyncIterator[None]:
        async with inner(app_):
            task = asyncio.create_task(server.serve())
            try:
                yield
            finally:
                on_stop()
                server.should_exit = True
                await task

    app.router.lifespan_context = with_server


def _tak_feed(app: FastAPI, service: NodeService, config: NodeConfig, tak: TakConfig) -> TakFeed:
    """The live CoT feed to the TAK server, started and stopped with the partner app."""
    store = open_store(config.db_url)  # the feed reads on its own connection
    store_lock = threading.Lock()

    def read(after: int, limit: int) -> list[tuple[int, Envelope]]:
        with store_lock:
            return [
                (s.seq, s.report.envelope) for s in store.reports(after_seq=after, limit=limit)
            ]

    def label_of(text: str) -> Label:
        return service.parse_label(text)

    feed = TakFeed(
        TakStream(tak),
        nation=config.nation,
        read=read,
        label_of=label_of,
        cursor_path=config.dir / CURSOR_FILE,
    )
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def with_feed(app_: FastAPI) -> AsyncIterator[None]:
        async with inner(app_):
            service.listeners.append(feed.wake)
            feed.start()
            try:
                yield
            finally:
                if feed.wake in service.listeners:
                    service.listeners.remove(feed.wake)
                await asyncio.to_thread(feed.stop)
                with store_lock:
                    store.close()

    app.router.lifespan_context = with_feed
    return feed


def _tak_stats(feed: TakFeed | None) -> dict[str, Any] | None:
    if feed is None:
        return None
    return {**feed.stream.stats().as_dict(), "cursor": feed.cursor}


def _attach_api(
    app: FastAPI,
    service: NodeService,
    replicator: Replicator,
    config: NodeConfig,
    feed: TakFeed | None,
    cop_clients: list[Callable[[], int]],
) -> None:
    from trilink.api import create_api_app

    api_app = create_api_app(
        service,
        links=lambda: {
            p: link.as_dict() | replicator.transport.describe(p)
            for p, link in replicator.links.items()
        },
        exporter=picture_exporter(service),
        tak=lambda: _tak_stats(feed),
        cop_sse_clients=(
            (lambda: sum(count() for count in cop_clients)) if config.cop_port else None
        ),
    )
    server = _EmbeddedServer(
        uvicorn.Config(
            api_app,
            host=config.api_host or "127.0.0.1",
            port=config.api_port or 8200,
            log_level="warning",
            log_config=None,
            ws="none",
            lifespan="on",
            proxy_headers=False,
            timeout_graceful_shutdown=2,
            ssl_keyfile=str(config.tls_key),
            ssl_certfile=str(config.tls_cert),
        )
    )
    _embed(app, server, api_app.state.stop_streams)


def _attach_cop(app: FastAPI, service: NodeService, config: NodeConfig) -> Callable[[], int]:
    """Serve the COP beside the partner app; returns how to count its open map streams."""
    from trilink.web import create_cop_app
    from trilink.web.app import cop_server_config

    cop_app = create_cop_app(service)  # settings from the node's [cop] table
    cop = _EmbeddedServer(
        cop_server_config(
            cop_app,
            config.cop_host or "127.0.0.1",
            config.cop_port or 8000,
            timeout_graceful_shutdown=2,
            log_config=None,
        )
    )
    _embed(app, cop, cop_app.state.stop_streams)
    clients: Callable[[], int] = cop_app.state.sse_clients
    return clients
