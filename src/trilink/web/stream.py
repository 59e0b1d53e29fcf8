"""``GET /api/stream?after=SEQ``: server-sent events, one per new or changed visible report.

``StreamHub`` wakes every open stream when the node stores reports (the node calls it from
any thread); a short poll also finds reports another process (the CLI) wrote. A stream ends
when its session ends (an ``event: logout``) or when the server stops (``stop_streams``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from trilink.model.report import Report
from trilink.web.context import Cop

POLL_S = 0.5
SESSION_CHECK_S = 5.0
# A report sequence number: at most 18 ASCII digits (fits a signed 64-bit column).
MAX_SEQ_DIGITS = 18


@dataclass
class StreamHub:
    """Wakes every SSE client when the node stores new reports (from any thread)."""

    loop: asyncio.AbstractEventLoop | None = None
    queues: set[asyncio.Queue[None]] = field(default_factory=set)
    closing: bool = False
    # notified when a stream ends, for threads that wait on it (never the event loop)
    streams_changed: threading.Condition = field(default_factory=threading.Condition)

    def stop_streams(self) -> None:
        """End every open SSE stream (thread-safe). Call before stopping the server: uvicorn
        otherwise waits out its graceful-shutdown timeout on them and then cancels them."""
        self.closing = True
        self.on_reports(())

    def add_stream(self, queue: asyncio.Queue[None]) -> None:
        with self.streams_changed:
            self.queues.add(queue)

    def end_stream(self, queue: asyncio.Queue[None]) -> None:
        with self.streams_changed:
            self.queues.discard(queue)
            self.streams_changed.notify_all()

    def wait_streams_ended(self, timeout_s: float) -> bool:
        """Block (not on the event loop) until no SSE stream is open; False on timeout."""
        with self.streams_changed:
            return self.streams_changed.wait_for(lambda: not self.queues, timeout_s)

    def wake(self) -> None:
        for q in list(self.queues):
            if q.empty():
                q.put_nowait(None)

    def on_reports(self, reports: Sequence[Report]) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.wake)
            except RuntimeError:  # loop closed between the check and the call
                pass


def parse_after(text: str) -> int:
    """The ``after`` / ``Last-Event-ID`` sequence number; HTTP 422 naming what to send."""
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_SEQ_DIGITS):
        raise HTTPException(
            422,
            f"after / Last-Event-ID must be a report sequence number (0 to "
            f"{MAX_SEQ_DIGITS} digits 0-9), not {text[:40]!r}",
        )
    return int(text)


def routes(cop: Cop, hub: StreamHub) -> APIRouter:
    router = APIRouter()

    def changes_after(seq: int) -> tuple[list[tuple[int, dict[str, Any]]], int]:
        with cop.lock:
            cop.index.refresh()
            return cop.index.changed_since(seq), max(seq, cop.index.last_seq)

    @router.get("/api/stream")
    async def stream(request: Request) -> StreamingResponse:
        session = await run_in_threadpool(cop.require, request)
        after_text = request.headers.get("last-event-id") or request.query_params.get("after")
        after = parse_after(after_text) if after_text is not None else None
        await run_in_threadpool(cop.refreshed)
        start = after if after is not None else cop.index.last_seq
        queue: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        heartbeat_s = cop.settings.heartbeat_s

        async def events() -> AsyncIterator[str]:
            last = start
            hub.add_stream(queue)
            loop = asyncio.get_running_loop()
            next_beat = loop.time() + heartbeat_s
            next_check = loop.time() + SESSION_CHECK_S
            try:
                yield "retry: 2000\n\n"
                while True:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(queue.get(), timeout=POLL_S)
                    if hub.closing:
                        return
                    if loop.time() >= next_check:
                        next_check = loop.time() + SESSION_CHECK_S
                        still = await run_in_threadpool(cop.session_of, request)
                        if still is None or still.token_hash != session.token_hash:
                            yield "event: logout\ndata: {}\n\n"
                            return
                    changes, last = await run_in_threadpool(changes_after, last)
                    for change_seq, summary in changes:
                        data = json.dumps(summary, separators=(",", ":"))
                        yield f"id: {change_seq}\nevent: report\ndata: {data}\n\n"
                    if loop.time() >= next_beat:
                        next_beat = loop.time() + heartbeat_s
                        yield ": keep-alive\n\n"
            finally:
                hub.end_stream(queue)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"X-Accel-Buffering": "no", "Cache-Control": "no-store"},
        )

    return router
