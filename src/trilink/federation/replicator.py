"""Replication to and from each partner: push what we queued, pull what we missed.

Push: the outbox after the partner's acknowledged cursor goes out in batches as soon as we
are woken (new reports) and at least every second; the partner answers with its cursor,
which becomes our acknowledged position (so a partner that lost data gets it again).
Pull: every few seconds we ask each partner for its outbox after *our* inbound cursor, so
a node that was down catches up exactly, by sequence, never by timestamp.
A partner that is down only backs off its own loops; publishing never waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography import x509

from trilink.errors import FederationError, ReportError
from trilink.federation.wire import decode_batch
from trilink.node.service import NodeService
from trilink.provenance.pki import nation_of

log = logging.getLogger(__name__)

PUSH_BATCH = 2000
PULL_INTERVAL_S = 2.0
IDLE_PUSH_S = 1.0
MAX_BACKOFF_S = 5.0


def client_ssl_context(service: NodeService) -> ssl.SSLContext:
    config = service.config
    ctx = ssl.create_default_context(cafile=str(config.ca_cert))
    ctx.load_cert_chain(str(config.tls_cert), str(config.tls_key))
    return ctx


def server_nation(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return nation_of(x509.load_der_x509_certificate(der)) if der else None


@dataclass
class PartnerLink:
    partner: str
    url: str
    state: str = "unknown"
    last_ok: float = 0.0
    last_error: str = ""
    pushed: int = 0
    pulled: int = 0
    partner_head: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "link": self.state,
            "last_ok_s_ago": round(time.time() - self.last_ok, 1) if self.last_ok else None,
            "last_error": self.last_error,
            "pushed": self.pushed,
            "pulled": self.pulled,
            "partner_head": self.partner_head,
        }


class Replicator:
    def __init__(self, service: NodeService):
        self.service = service
        self.ingest_lock = asyncio.Lock()
        self.links = {
            p: PartnerLink(p, url)
            for p, url in sorted(service.config.partner_urls.items())
            if p in service.config.policy.partners
        }
        self._wake = {p: asyncio.Event() for p in self.links}
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        # When a partner's pusher delivered recently, pulling from it would only fetch
        # duplicates; pull is for catching up after either side was away.
        self.last_push_from: dict[str, float] = {}
        service.listeners.append(lambda _reports: self.wake())

    def start(self) -> None:
        self._client = httpx.AsyncClient(
            verify=client_ssl_context(self.service),
            timeout=httpx.Timeout(10.0, connect=2.0),
            limits=httpx.Limits(max_connections=8),
        )
        for partner in self.links:
            self._tasks.append(asyncio.create_task(self._push_loop(partner)))
            self._tasks.append(asyncio.create_task(self._pull_loop(partner)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._client is not None:
            await self._client.aclose()

    def wake(self) -> None:
        for event in self._wake.values():
            event.set()

    async def _request(self, partner: str, method: str, path: str, **kw: Any) -> httpx.Response:
        assert self._client is not None
        link = self.links[partner]
        try:
            response = await self._client.request(method, link.url + path, **kw)
        except httpx.HTTPError as err:
            raise FederationError(f"{partner} unreachable at {link.url}: {err!r}") from None
        if server_nation(response) != partner:
            raise FederationError(
                f"the server at {link.url} is not {partner} (certificate mismatch)"
            )
        if response.status_code >= 400:
            raise FederationError(
                f"{partner} answered {response.status_code}: {response.text[:300]}"
            )
        return response

    def _mark(self, partner: str, error: str | None) -> None:
        link = self.links[partner]
        if error is None:
            link.state, link.last_ok, link.last_error = "up", time.time(), ""
        else:
            if link.state != "down" or link.last_error != error:
                log.warning("%s: %s", partner, error)
            link.state, link.last_error = "down", error

    async def push_once(self, partner: str) -> int:
        """Push everything queued for ``partner``; returns how many reports it acknowledged."""
        store = self.service.store
        total = 0
        while True:
            acked = store.cursor(partner)[1]
            body, count = self.service.outbox_batch(partner, acked, PUSH_BATCH)
            if count == 0:
                return total
            response = await self._request(
                partner,
                "POST",
                "/v1/push",
                content=body,
                headers={"content-type": "application/json"},
            )
            cursor = int(response.json()["cursor"])
            with store.transaction():
                store.set_push_acked(partner, cursor)
            if cursor <= acked:
                return total
            total += cursor - acked
            self.links[partner].pushed += cursor - acked

    async def pull_once(self, partner: str) -> int:
        """Fetch and ingest what ``partner`` queued for us after our cursor."""
        total = 0
        while True:
            inbound = self.service.store.cursor(partner)[0]
            response = await self._request(
                partner, "GET", "/v1/feed", params={"after": inbound, "limit": PUSH_BATCH}
            )
            try:
                batch = decode_batch(response.content)
            except ReportError as err:
                raise FederationError(f"{partner} sent a malformed feed: {err}") from None
            self.links[partner].partner_head = batch.head
            if not batch.items:
                return total
            async with self.ingest_lock:
                result = self.service.ingest(partner, batch)
            if result.cursor <= inbound:
                return total
            total += result.cursor - inbound
            self.links[partner].pulled += result.cursor - inbound

    async def _push_loop(self, partner: str) -> None:
        backoff = 0.25
        event = self._wake[partner]
        while True:
            try:
                await self.push_once(partner)
                self._mark(partner, None)
                backoff = 0.25
                wait = IDLE_PUSH_S
            except FederationError as err:
                self._mark(partner, str(err))
                wait = backoff
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            except Exception as err:  # a bug must not kill replication for good
                log.exception("push to %s failed", partner)
                self._mark(partner, f"internal error: {err!r}")
                wait = MAX_BACKOFF_S
            try:
                await asyncio.wait_for(event.wait(), timeout=wait)
            except TimeoutError:
                pass
            event.clear()

    async def _pull_loop(self, partner: str) -> None:
        while True:
            if time.monotonic() - self.last_push_from.get(partner, -1e9) < 2 * PULL_INTERVAL_S:
                await asyncio.sleep(PULL_INTERVAL_S)
                continue
            try:
                await self.pull_once(partner)
                self._mark(partner, None)
            except FederationError as err:
                self._mark(partner, str(err))
            except Exception as err:
                log.exception("pull from %s failed", partner)
                self._mark(partner, f"internal error: {err!r}")
            await asyncio.sleep(PULL_INTERVAL_S)
