"""Replication to and from each partner: push what we queued, pull what we missed.

Push: the outbox after the partner's acknowledged cursor goes out in batches as soon as we
are woken (new reports) and at least every second; the partner answers with its cursor,
which becomes our acknowledged position (so a partner that lost data gets it again).
Pull: every few seconds we ask each partner for its outbox after *our* inbound cursor, so
a node that was down catches up exactly, by sequence, never by timestamp.
A partner that is down only backs off its own loops; publishing never waits for it.

The replicator does not know how batches travel: it is given a ``Transport``. Ingesting a
batch (signature checks, database writes) runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import msgspec

from trilink.errors import FederationError, ReportError, TrilinkError
from trilink.federation.transport import Transport
from trilink.model.wire import decode_batch
from trilink.node.ingest import IngestResult, reclaim_key
from trilink.node.service import NodeService

log = logging.getLogger(__name__)

PUSH_BATCH = 2000
PULL_INTERVAL_S = 2.0
IDLE_PUSH_S = 1.0
MAX_BACKOFF_S = 5.0
# A partner pulling batches short of our head is catching up: our push holds back this long
# after its last such pull (so the same items are not sent, and checked, twice).
PULLING_HOLD_S = 3.0
FINAL_PUSH_S = 2.0  # at shutdown: how long partners get to take our last signed audit head


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
    alarm: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "link": self.state,
            "last_ok_s_ago": round(time.time() - self.last_ok, 1) if self.last_ok else None,
            "last_error": self.last_error,
            "pushed": self.pushed,
            "pulled": self.pulled,
            "partner_head": self.partner_head,
            "alarm": self.alarm,
        }


class Replicator:
    def __init__(self, service: NodeService, transport: Transport):
        self.service = service
        self.transport = transport
        self.links = {
            p: PartnerLink(p, service.config.partner_urls.get(p, ""))
            for p in sorted(service.config.policy.partners)
        }
        self._wake = {p: asyncio.Event() for p in self.links}
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        # When a partner's pusher delivered recently, pulling from it would only fetch
        # duplicates; pull is for catching up after either side was away.
        self.last_push_from: dict[str, float] = {}

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.service.listeners.append(self._on_published)
        self.transport.serve(self.service, self.pushed_by)
        for partner in self.links:
            self._tasks.append(asyncio.create_task(self._push_loop(partner)))
            self._tasks.append(asyncio.create_task(self._pull_loop(partner)))
            self._tasks.append(asyncio.create_task(self._reclaim_loop(partner)))

    async def reclaim_once(self, partner: str) -> int:
        """Learn back our own reports ``partner`` holds above the watermark; how many."""
        store = self.service.store
        mark = store.counter(reclaim_key(partner))
        if mark <= 0:
            return 0
        restored = 0
        after = mark - 1
        while True:
            body = await self.transport.fetch_returns(partner, after, PUSH_BATCH)
            try:
                batch = decode_batch(body)
            except ReportError as err:
                raise FederationError(f"{partner} returned a malformed batch: {err}") from None
            if batch.items:
                restored += await asyncio.to_thread(self.service.reclaim, partner, batch)
                after = max(_origin_seq_of(bytes(i.report)) for i in batch.items)
            if len(batch.items) < PUSH_BATCH:
                break
        with store.transaction():
            store.set_counter(reclaim_key(partner), -1)
        if restored:
            log.warning("learned back %d of our own reports from %s", restored, partner)
        return restored

    async def _reclaim_loop(self, partner: str) -> None:
        backoff = 0.5
        while True:
            try:
                await self.reclaim_once(partner)
                return
            except FederationError:
                pass  # the partner is down: the push loop shows it
            except Exception:
                log.exception("reclaiming our reports from %s failed", partner)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

    async def stop(self) -> None:
        if self._on_published in self.service.listeners:
            self.service.listeners.remove(self._on_published)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self._last_audit_head()
        await self.transport.aclose()

    async def _last_audit_head(self) -> None:
        """Sign the audit head as it is at shutdown and send it to each partner in one
        batch (with whatever is still queued), for at most ``FINAL_PUSH_S``: rows deleted
        while the node is down are then rows a partner witnessed (trilink.node.anchors)."""

        async def offer(partner: str) -> None:
            acked = self.service.store.cursor(partner)[1]
            body, _ = await asyncio.to_thread(
                self.service.outbox_batch, partner, acked, PUSH_BATCH
            )
            await self.transport.send_batch(partner, body)

        try:
            await asyncio.to_thread(self.service.feed.anchors.checkpoint)
            offers = [offer(p) for p in self.links]
            results = await asyncio.wait_for(
                asyncio.gather(*offers, return_exceptions=True), FINAL_PUSH_S
            )
        except (TimeoutError, TrilinkError) as err:
            log.warning("last signed audit head not delivered to every partner: %r", err)
            return
        for partner, result in zip(self.links, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("last signed audit head not delivered to %s: %s", partner, result)

    def _on_published(self, _reports: object) -> None:
        self.wake()

    def wake(self) -> None:
        """New reports to push (thread-safe: listeners run in the publishing thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._set_all)
        except RuntimeError:  # the loop closed between the check and the call
            pass

    def _set_all(self) -> None:
        for event in self._wake.values():
            event.set()

    def pushed_by(self, partner: str) -> None:
        """``partner`` just pushed to us: no need to pull from it for a while."""
        self.last_push_from[partner] = time.monotonic()

    def _mark(self, partner: str, error: str | None) -> None:
        link = self.links[partner]
        if error is None:
            if link.state == "down":
                log.info("%s: link up again", partner, extra={"fields": {"partner": partner}})
            link.state, link.last_ok, link.last_error = "up", time.time(), ""
        else:
            if link.state != "down" or link.last_error != error:
                log.warning("%s: %s", partner, error, extra={"fields": {"partner": partner}})
            link.state, link.last_error = "down", error

    async def push_once(self, partner: str) -> int:
        """Push everything queued for ``partner``; returns how many reports it acknowledged."""
        store = self.service.store
        total = 0
        resynced = False
        while True:
            if self.service.feed.pulling(partner, PULLING_HOLD_S):
                return total  # it is pulling what we would push: let it
            acked = store.cursor(partner)[1]
            head = store.outbox_head(partner)
            body, count = await asyncio.to_thread(
                self.service.outbox_batch, partner, acked, PUSH_BATCH
            )
            if count == 0 and acked <= head:
                return total
            reply = await self.transport.send_batch(partner, body)
            if reply.cursor > head:
                # The partner holds more of our feed than we ever queued for it: our history
                # went back (a restore). It resynchronises when it sees our real head.
                self._alarm(
                    partner,
                    f"{partner} acknowledged item {reply.cursor} of our feed, which ends at "
                    f"{head}: this node's history went back (restored from an older copy?)",
                )
            with store.transaction():
                store.set_push_acked(partner, min(reply.cursor, head))
            if reply.resync and not resynced:
                resynced = True  # it starts again from our first item: send it all now
                continue
            if reply.cursor <= acked:
                return total
            total += reply.cursor - acked
            self.links[partner].pushed += reply.cursor - acked

    async def pull_once(self, partner: str) -> IngestResult:
        """Fetch and ingest what ``partner`` queued for us after our cursor; what was done,
        summed over every batch fetched. While one batch is verified and stored, the next
        is already asked for (the partner builds it meanwhile): catching up after an outage
        keeps both nodes busy instead of each waiting for the other in turn. The next batch
        is used only if this one moved the cursor exactly to its last item."""
        total = IngestResult(cursor=self.service.store.cursor(partner)[0])
        resynced = False
        inbound = total.cursor
        pending: asyncio.Future[bytes] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(
                        self.transport.fetch_feed(partner, inbound, PUSH_BATCH)
                    )
                body = await pending
                pending = None
                try:
                    batch = decode_batch(body)
                except ReportError as err:
                    raise FederationError(f"{partner} sent a malformed feed: {err}") from None
                self.links[partner].partner_head = batch.head
                if not batch.items and not self.service.ingestor.worth_ingesting(partner, batch):
                    return total
                last = batch.items[-1].pseq if batch.items else inbound
                if batch.items and batch.head > last:
                    pending = asyncio.ensure_future(
                        self.transport.fetch_feed(partner, last, PUSH_BATCH)
                    )
                result = await asyncio.to_thread(self.service.ingest, partner, batch)
                total.add(result)
                if result.resync and not resynced:
                    resynced = True
                elif result.cursor <= inbound:
                    return total
                else:
                    self.links[partner].pulled += result.cursor - inbound
                if pending is not None and (result.resync or result.cursor != last):
                    _drop(pending)
                    pending = None
                inbound = result.cursor
        finally:
            if pending is not None:
                _drop(pending)

    def _alarm(self, partner: str, message: str) -> None:
        """Something that cannot happen in a healthy federation: log, audit, show in status."""
        link = self.links[partner]
        if link.alarm != message:
            log.error("%s", message)
            self.service.ingestor.audit_refusal(partner, message, outcome="alarm")
        link.alarm = message

    async def _push_loop(self, partner: str) -> None:
        backoff = 0.25
        event = self._wake[partner]
        while True:
            failed = True
            try:
                await self.push_once(partner)
                self._mark(partner, None)
                backoff = 0.25
                wait = IDLE_PUSH_S
                failed = False
            except FederationError as err:
                self._mark(partner, str(err))
                wait = backoff
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            except Exception as err:  # a bug must not kill replication for good
                log.exception("push to %s failed", partner)
                self._mark(partner, f"internal error: {err!r}")
                wait = MAX_BACKOFF_S
            if failed:
                # A partner that is down is tried again after the backoff, however much is
                # published meanwhile: woken by each publish, we built a batch of up to
                # 2,000 items for it every time (a quarter of a busy node's time).
                await asyncio.sleep(wait)
            else:
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


def _drop(fetch: asyncio.Future[bytes]) -> None:
    """Give up a fetch begun ahead: cancel it, or take its error if it already failed (an
    error never retrieved is logged as a bug)."""
    if fetch.done():
        if not fetch.cancelled():
            fetch.exception()
    else:
        fetch.cancel()


class _OriginSeq(msgspec.Struct):
    origin_seq: int = 0


def _origin_seq_of(raw: bytes) -> int:
    try:
        return msgspec.json.decode(raw, type=_OriginSeq).origin_seq
    except (msgspec.DecodeError, msgspec.ValidationError):
        return 0
