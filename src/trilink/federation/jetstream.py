"""``NatsTransport``: batches through a NATS JetStream server (nats-py).

Every node owns one stream, ``TRILINK_<NATION>``, on file storage, holding the subjects
``trilink.<NATION>.to.<PARTNER>``: a batch for a partner is published there (after the
node's outbox and policy chose it, exactly as for HTTPS) and stays there, durably, until
the partner takes it, even while the sender is down. Each partner reads its own subject
through one durable pull consumer, ``trilink-<PARTNER>``, ingests the batch like an HTTPS
push and answers on ``trilink.<PARTNER>.reply.<NATION>`` with its cursor, which the sender
takes as the acknowledged position (so JetStream carries batches; the nodes' stores stay the
record, and a batch JetStream lost is sent again because nobody acknowledged it).

Publishing uses a message id (``Nats-Msg-Id``) per send: a publish retried after a lost
acknowledgement is stored once. One batch per partner is in flight at a time; while the
partner has not answered, the next send waits for that answer instead of queueing copies,
and sends it again only once the stream no longer holds it (taken with its answer lost, or
lost by the server).

Pulling (what a partner missed), a restored node's returns and the audit heads a partner
witnessed are requests on ``trilink.rpc.<SERVER>.<CALLER>.<feed|returns|audit-head>``.

Who may publish and subscribe where is the NATS server's job: each node connects with its
own client certificate, mapped to its nation's user, whose permissions name only its own
stream, its own consumers and its own subjects (``nats_permissions``; the local network's
server config is written by ``trilink.federation.natsserver``). A partner subscribing to a
subject released to another is refused by the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from trilink.federation.transport import PushReply, Transport, TransportError
from trilink.node.config import NatsSettings, NodeConfig
from trilink.node.ingest import BatchRefused
from trilink.node.service import NodeService

log = logging.getLogger(__name__)

REPLY_TIMEOUT_S = 5.0  # how long a send waits for the partner's answer before giving up
RESEND_AFTER_S = 60.0  # an unanswered batch no longer in the stream is then sent again
REQUEST_TIMEOUT_S = 10.0
PUBLISH_TRIES = 3
DUPLICATE_WINDOW_S = 120.0
FETCH_WAIT_S = 2.0
ACK_WAIT_S = 30.0  # a batch taken by a node killed before it answered comes again
CONSUMER_CHECK_S = 5.0
RETRY_CONNECT_S = 2.0  # after a failed connection, callers fail fast for this long
ID_HEADER = "Nats-Msg-Id"
ERROR_HEADER = "Trilink-Error"

# (event outcome, partner or "", message): what the node audits about its transport.
EventSink = Callable[[str, str, str], None]


def stream_name(origin: str) -> str:
    return f"TRILINK_{origin}"


def batch_subject(origin: str, partner: str) -> str:
    return f"trilink.{origin}.to.{partner}"


def reply_subject(receiver: str, sender: str) -> str:
    return f"trilink.{receiver}.reply.{sender}"


def rpc_subject(server: str, caller: str, op: str) -> str:
    return f"trilink.rpc.{server}.{caller}.{op}"


def consumer_name(receiver: str) -> str:
    return f"trilink-{receiver}"


def inbox_prefix(nation: str) -> str:
    return f"_INBOX_{nation}"


def nats_permissions(nation: str, partners: list[str]) -> dict[str, Any]:
    """The NATS permissions of ``nation``'s node: its own stream and consumers, its own
    subjects, and from each partner only the consumer that reads what that partner released
    to it. Everything else (another nation's subjects, inboxes and consumers) is refused."""
    own = stream_name(nation)
    publish = [
        f"trilink.{nation}.>",
        f"trilink.rpc.*.{nation}.*",
        "$JS.API.INFO",
        f"$JS.API.STREAM.CREATE.{own}",
        f"$JS.API.STREAM.UPDATE.{own}",
        f"$JS.API.STREAM.INFO.{own}",
        f"$JS.API.CONSUMER.INFO.{own}.*",
        f"$JS.API.CONSUMER.DELETE.{own}.*",
    ]
    for partner in partners:
        theirs, mine = stream_name(partner), consumer_name(nation)
        publish += [
            f"$JS.API.CONSUMER.CREATE.{own}.{consumer_name(partner)}."
            f"{batch_subject(nation, partner)}",
            f"$JS.API.CONSUMER.CREATE.{theirs}.{mine}.{batch_subject(partner, nation)}",
            f"$JS.API.CONSUMER.INFO.{theirs}.{mine}",
            f"$JS.API.CONSUMER.MSG.NEXT.{theirs}.{mine}",
            f"$JS.ACK.{theirs}.{mine}.>",
        ]
    subscribe = [
        f"{inbox_prefix(nation)}.>",
        f"trilink.rpc.{nation}.*.*",
        f"trilink.*.reply.{nation}",
    ]
    return {
        "publish": {"allow": publish},
        "subscribe": {"allow": subscribe},
        "allow_responses": True,
    }


def nats_tls_context(settings: NatsSettings) -> ssl.SSLContext | None:
    if not settings.url.startswith("tls://") or settings.ca is None:
        return None
    ctx = ssl.create_default_context(cafile=str(settings.ca))
    if settings.cert is not None and settings.key is not None:
        ctx.load_cert_chain(str(settings.cert), str(settings.key))
    return ctx


MAX_REQUEST_BYTES = 1024


def parse_request(data: bytes) -> tuple[int, int]:
    """(after, limit) of a partner's request: ``{"after": N, "limit": M}``, both optional,
    ``after`` >= 0, ``limit`` clamped to 1..5000. ``TransportError`` saying what is wrong."""
    if len(data) > MAX_REQUEST_BYTES:
        raise TransportError(f"request of {len(data)} bytes (at most {MAX_REQUEST_BYTES})")
    try:
        params = json.loads(data or b"{}")
        if not isinstance(params, dict):
            raise TypeError(type(params).__name__)
        after, limit = params.get("after", 0), params.get("limit", 1000)
        if not all(type(v) is int for v in (after, limit)) or not 0 <= after < 1 << 63:
            raise ValueError(after, limit)
    except (ValueError, TypeError, RecursionError):
        raise TransportError('request parameters must be {"after": N >= 0, "limit": M}') from None
    return after, min(max(limit, 1), 5000)


@dataclass
class _InFlight:
    msg_id: str
    answer: asyncio.Future[PushReply]
    published: float


@dataclass
class _ReaderState:
    state: str = "starting"
    error: str = ""
    taken: int = 0
    redelivered: int = 0


def _stream_full(err: nats.js.errors.APIError) -> bool:
    text = (err.description or "").lower()
    return err.err_code in (10077, 10047, 10028) or "maximum" in text or "resources" in text


class NatsTransport(Transport):
    """This node's one NATS connection: its stream and its partners' consumers, the
    requests it makes and (with ``serve``) the ones it answers."""

    def __init__(self, config: NodeConfig, on_event: EventSink | None = None):
        if config.nats is None:
            raise TransportError(f'{config.path}: transport = "nats" needs a [nats] table')
        self.config = config
        self.settings = config.nats
        self.nation = config.nation
        self.partners = sorted(config.policy.partners)
        self.on_event = on_event
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._lock = asyncio.Lock()
        self._stream_ready = False
        self._in_flight: dict[str, _InFlight] = {}
        self._waiting: dict[str, asyncio.Future[PushReply]] = {}
        self._readers: dict[str, _ReaderState] = {p: _ReaderState() for p in self.partners}
        self._tasks: list[asyncio.Task[None]] = []
        self._connection = "not connected"
        self._stream_state = ""
        self._closing = False
        self._audits: set[asyncio.Task[None]] = set()
        self._last_error = ""
        self._failed_at = -1e9

    # -- connection ------------------------------------------------------------------------
    def _event(self, outcome: str, partner: str, message: str) -> None:
        """Log and audit (in a worker thread: the audit writes to the store)."""
        log.warning("nats: %s", message)
        sink = self.on_event
        if sink is None:
            return

        def write() -> None:
            try:
                sink(outcome, partner, message)
            except Exception:
                log.exception("auditing a transport event failed")

        task = asyncio.get_running_loop().create_task(asyncio.to_thread(write))
        self._audits.add(task)
        task.add_done_callback(self._audits.discard)

    async def _connect(self) -> tuple[NatsClient, JetStreamContext]:
        async with self._lock:
            if self._nc is not None and self._js is not None and not self._nc.is_closed:
                return self._nc, self._js
            if time.monotonic() - self._failed_at < RETRY_CONNECT_S:
                # the loops waiting on this lock share the last attempt's answer
                raise TransportError(self._connection)
            url = self.settings.url

            async def disconnected() -> None:
                if not self._closing:
                    self._connection = f"disconnected from {url}: reconnecting"
                    self._event("disconnected", "", f"lost the NATS server at {url}; reconnecting")

            async def reconnected() -> None:
                self._connection = "connected"
                self._stream_ready = False
                self._event("reconnected", "", f"reconnected to the NATS server at {url}")

            async def error(err: Exception) -> None:
                text = str(err)
                if "permissions violation" in text.lower():
                    self._event("refused", "", f"the NATS server refused: {text[:300]}")
                elif text != self._last_error:
                    log.warning("nats: %s", text[:300])
                self._last_error = text

            try:
                # with endless reconnects, nats-py also retries a first connection forever
                nc = await asyncio.wait_for(self._open(url, disconnected, reconnected, error), 5.0)
            except (TimeoutError, OSError, ssl.SSLError, nats.errors.Error) as err:
                self._connection = f"cannot reach the NATS server at {url}: {err!r}"[:300]
                self._failed_at = time.monotonic()
                raise TransportError(self._connection) from None
            try:
                await nc.subscribe(f"trilink.*.reply.{self.nation}", cb=self._on_reply)
            except nats.errors.Error as err:
                await nc.close()
                raise TransportError(f"cannot subscribe to partners' answers: {err!r}") from None
            self._nc, self._js = nc, nc.jetstream(timeout=REQUEST_TIMEOUT_S)
            self._connection = "connected"
            self._stream_ready = False
            return nc, self._js

    async def _open(
        self,
        url: str,
        disconnected: Callable[[], Awaitable[None]],
        reconnected: Callable[[], Awaitable[None]],
        error: Callable[[Exception], Awaitable[None]],
    ) -> NatsClient:
        return await nats.connect(
            servers=[url],
            tls=nats_tls_context(self.settings),
            name=f"trilink-{self.nation}",
            inbox_prefix=inbox_prefix(self.nation),
            connect_timeout=2,
            reconnect_time_wait=0.5,
            max_reconnect_attempts=-1,
            allow_reconnect=True,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            error_cb=error,
        )

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        """Our stream (file storage, bounded, refusing new batches when full) and one
        durable consumer per partner, each reading only that partner's subject."""
        if self._stream_ready:
            return
        name = stream_name(self.nation)
        config = StreamConfig(
            name=name,
            subjects=[batch_subject(self.nation, p) for p in self.partners],
            storage=StorageType.FILE,
            retention=RetentionPolicy.WORK_QUEUE,  # a batch is removed once its partner took it
            discard=DiscardPolicy.NEW,
            max_bytes=self.settings.stream_max_bytes,
            duplicate_window=DUPLICATE_WINDOW_S,
            num_replicas=1,
        )
        try:
            try:
                await js.stream_info(name)
                await js.update_stream(config)
            except nats.js.errors.NotFoundError:
                await js.add_stream(config)
            for partner in self.partners:
                await self._ensure_consumer(js, self.nation, partner)
        except (TimeoutError, nats.errors.Error) as err:
            raise TransportError(f"cannot set up JetStream stream {name}: {err!r}") from None
        self._stream_ready = True

    async def _ensure_consumer(self, js: JetStreamContext, origin: str, receiver: str) -> bool:
        """The durable consumer through which ``receiver`` reads ``origin``'s batches for
        it; True if it had to be created."""
        stream, durable = stream_name(origin), consumer_name(receiver)
        try:
            await js.consumer_info(stream, durable)
            return False
        except nats.js.errors.NotFoundError as err:
            if err.err_code == 10059:  # the stream itself is missing
                raise
        await js.add_consumer(
            stream,
            ConsumerConfig(
                name=durable,
                durable_name=durable,
                filter_subject=batch_subject(origin, receiver),
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=ACK_WAIT_S,
                max_ack_pending=1,  # batches are taken in order, one at a time
            ),
        )
        return True

    # -- sending -------------------------------------------------------------------------
    async def _on_reply(self, msg: Msg) -> None:
        partner = msg.subject.split(".")[1]
        msg_id = (msg.headers or {}).get(ID_HEADER, "")
        waiting = self._waiting.pop(msg_id, None)
        if waiting is None or waiting.done():
            return
        error = (msg.headers or {}).get(ERROR_HEADER)
        if error:
            waiting.set_exception(TransportError(f"{partner} refused the batch: {error}"))
            return
        try:
            waiting.set_result(PushReply.from_json(partner, json.loads(msg.data)))
        except (ValueError, TransportError) as err:
            waiting.set_exception(TransportError(str(err)))

    async def _publish(self, js: JetStreamContext, partner: str, body: bytes, msg_id: str) -> int:
        subject = batch_subject(self.nation, partner)
        last: Exception | None = None
        for _ in range(PUBLISH_TRIES):  # the same id each time: stored once
            try:
                ack = await js.publish(
                    subject,
                    body,
                    timeout=REQUEST_TIMEOUT_S,
                    stream=stream_name(self.nation),
                    headers={ID_HEADER: msg_id},
                )
                if self._stream_state:
                    self._stream_state = ""
                    self._event(
                        "stream-ok",
                        partner,
                        f"stream {stream_name(self.nation)} takes batches again",
                    )
                return ack.seq
            except nats.js.errors.APIError as err:
                if _stream_full(err):
                    message = (
                        f"JetStream stream {stream_name(self.nation)} is full "
                        f"({self.settings.stream_max_bytes} bytes): batches wait in the outbox "
                        f"until partners consume ({err.description})"
                    )
                    if self._stream_state != message:
                        self._stream_state = message
                        self._event("stream-full", partner, message)
                    raise TransportError(message) from None
                if isinstance(err, nats.js.errors.NoStreamResponseError):
                    self._stream_ready = False
                last = err
            except nats.errors.MaxPayloadError:
                raise TransportError(
                    f"a batch of {len(body)} bytes is larger than the NATS server's max_payload: "
                    "raise max_payload in its configuration"
                ) from None
            except (TimeoutError, nats.errors.Error) as err:
                last = err
            await asyncio.sleep(0.2)
        raise TransportError(f"publishing to {subject} failed: {last!r}"[:300])

    async def send_batch(self, partner: str, body: bytes) -> PushReply:
        if partner not in self.partners:
            raise TransportError(f"{partner} is not a partner of {self.nation}")
        pending = self._in_flight.get(partner)
        if pending is not None and pending.answer.done():
            del self._in_flight[partner]
            if pending.answer.exception() is None:
                return pending.answer.result()  # its cursor: the next send starts there
            pending = None
        _nc, js = await self._connect()
        if pending is not None and time.monotonic() - pending.published > RESEND_AFTER_S:
            if await self._still_queued(js, partner):
                pending.published = time.monotonic()  # JetStream holds it: keep waiting
            else:  # taken but its answer lost, or lost by the server: send again
                self._waiting.pop(pending.msg_id, None)
                del self._in_flight[partner]
                pending = None
        if pending is None:
            await self._ensure_stream(js)
            msg_id = f"{self.nation}-{partner}-{uuid.uuid4().hex}"
            answer: asyncio.Future[PushReply] = asyncio.get_running_loop().create_future()
            self._waiting[msg_id] = answer
            try:
                await self._publish(js, partner, body, msg_id)
            except TransportError:
                self._waiting.pop(msg_id, None)
                raise
            pending = self._in_flight[partner] = _InFlight(msg_id, answer, time.monotonic())
        try:
            reply = await asyncio.wait_for(asyncio.shield(pending.answer), REPLY_TIMEOUT_S)
        except TimeoutError:
            raise TransportError(
                f"{partner} has not taken our batch yet: it waits in JetStream stream "
                f"{stream_name(self.nation)} until {partner} consumes it"
            ) from None
        except TransportError:
            self._in_flight.pop(partner, None)
            raise
        self._in_flight.pop(partner, None)
        return reply

    async def _still_queued(self, js: JetStreamContext, partner: str) -> bool:
        """Whether ``partner``'s consumer on our stream has a batch it has not taken."""
        try:
            info = await js.consumer_info(stream_name(self.nation), consumer_name(partner))
        except (TimeoutError, nats.errors.Error):
            return False
        return bool((info.num_pending or 0) + (info.num_ack_pending or 0))

    # -- requests ------------------------------------------------------------------------
    async def _request(self, partner: str, op: str, params: dict[str, int]) -> bytes:
        nc, _js = await self._connect()
        try:
            msg = await nc.request(
                rpc_subject(partner, self.nation, op),
                json.dumps(params).encode(),
                timeout=REQUEST_TIMEOUT_S,
            )
        except nats.errors.NoRespondersError:
            raise TransportError(f"{partner} is not connected to the NATS server") from None
        except (TimeoutError, nats.errors.Error) as err:
            raise TransportError(f"{partner} did not answer over NATS: {err!r}") from None
        error = (msg.headers or {}).get(ERROR_HEADER)
        if error:
            raise TransportError(f"{partner} answered: {error}")
        return msg.data

    async def fetch_feed(self, partner: str, after: int, limit: int) -> bytes:
        return await self._request(partner, "feed", {"after": after, "limit": limit})

    async def fetch_returns(self, partner: str, after_origin_seq: int, limit: int) -> bytes:
        return await self._request(partner, "returns", {"after": after_origin_seq, "limit": limit})

    async def fetch_witnessed(self, partner: str) -> bytes:
        return await self._request(partner, "audit-head", {})

    # -- serving -------------------------------------------------------------------------
    def serve(self, service: NodeService, pushed_by: Callable[[str], None] | None = None) -> None:
        """Start taking partners' batches (one reader per partner) and answering their
        requests, until ``aclose`` (in the running event loop)."""
        self._tasks.append(asyncio.create_task(self._answer_requests(service)))
        for partner in self.partners:
            self._tasks.append(
                asyncio.create_task(self._read_partner(service, partner, pushed_by))
            )

    async def _answer_requests(self, service: NodeService) -> None:
        backoff = 0.25
        while True:
            try:
                nc, _js = await self._connect()

                async def answer(msg: Msg) -> None:
                    try:
                        await self._answer(service, msg)
                    except Exception:
                        log.exception("answering %s failed", msg.subject)
                        await self._respond(msg, b"", "500 internal error")

                await nc.subscribe(f"trilink.rpc.{self.nation}.*.*", cb=answer)
                return
            except TransportError:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _answer(self, service: NodeService, msg: Msg) -> None:
        parts = msg.subject.split(".")
        caller, op = parts[3], parts[4]
        if caller not in service.config.policy.partners:
            service.ingestor.audit_refusal(caller, f"{caller} is not a configured partner")
            await self._respond(msg, b"", f"403 {caller} is not a partner")
            return
        try:
            after, limit = parse_request(msg.data)
        except TransportError as err:
            await self._respond(msg, b"", f"422 {err}")
            return
        if op == "feed":
            body = await asyncio.to_thread(service.serve_pull, caller, after, limit)
        elif op == "returns":
            body = await asyncio.to_thread(service.returns_for, caller, after, limit)
        elif op == "audit-head":
            body = await asyncio.to_thread(service.ingestor.anchors.witness_answer, caller)
        else:
            await self._respond(msg, b"", f"404 no request {op[:40]!r}")
            return
        await self._respond(msg, body)

    async def _respond(self, msg: Msg, body: bytes, error: str = "") -> None:
        nc = self._nc
        if nc is None or not msg.reply:
            return
        with contextlib.suppress(nats.errors.Error):
            await nc.publish(msg.reply, body, headers={ERROR_HEADER: error} if error else None)

    async def _read_partner(
        self, service: NodeService, partner: str, pushed_by: Callable[[str], None] | None
    ) -> None:
        """Take ``partner``'s batches for us from its stream, in order, one at a time:
        ingest, answer with our cursor, then acknowledge to JetStream (a batch taken but not
        acknowledged comes again: its items are duplicates, counted, not stored twice)."""
        state = self._readers[partner]
        stream, durable = stream_name(partner), consumer_name(self.nation)
        backoff = 0.25
        checked = 0.0
        sub: JetStreamContext.PullSubscription | None = None
        while not self._closing:
            try:
                nc, js = await self._connect()
                if sub is None or time.monotonic() - checked > CONSUMER_CHECK_S:
                    # a deleted consumer answers nothing: fetches just time out
                    checked = time.monotonic()
                    if await self._ensure_consumer(js, partner, self.nation):
                        sub = await self._drop(sub)
                        if state.state != "starting":
                            self._event(
                                "consumer-recreated",
                                partner,
                                f"consumer {durable} on {stream} was missing: created again "
                                f"(it delivers what {partner}'s stream still holds for us)",
                            )
                    if sub is None:
                        sub = await js.pull_subscribe_bind(durable=durable, stream=stream)
                try:
                    msgs = await sub.fetch(1, timeout=FETCH_WAIT_S)
                except nats.errors.TimeoutError:
                    state.state, state.error = "up", ""
                    continue
                for msg in msgs:
                    await self._take(service, partner, msg, nc)
                    state.taken += 1
                    if msg.metadata.num_delivered > 1:
                        state.redelivered += 1
                    if pushed_by is not None:
                        pushed_by(partner)
                state.state, state.error, backoff = "up", "", 0.25
            except asyncio.CancelledError:
                raise
            except nats.js.errors.NotFoundError as err:
                text = (
                    f"{partner}'s stream {stream} does not exist yet (has {partner} run?)"
                    if err.err_code == 10059
                    else f"consumer {durable} on {stream}: {err.description}"
                )
                self._reader_error(partner, state, text)
                sub = await self._drop(sub)
            except TransportError as err:
                self._reader_error(partner, state, str(err))
                sub = await self._drop(sub)
            except (TimeoutError, nats.errors.Error, OSError) as err:
                self._reader_error(partner, state, f"reading {stream}: {err!r}"[:300])
                sub = await self._drop(sub)
            except Exception as err:  # a bug must not stop this partner's batches for good
                log.exception("reading %s's batches failed", partner)
                self._reader_error(partner, state, f"internal error: {err!r}"[:300])
                sub = await self._drop(sub)
            else:
                continue
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def _reader_error(self, partner: str, state: _ReaderState, error: str) -> None:
        if state.error != error:
            log.warning("nats: %s: %s", partner, error)
        state.state, state.error = "down", error

    @staticmethod
    async def _drop(
        sub: JetStreamContext.PullSubscription | None,
    ) -> JetStreamContext.PullSubscription | None:
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        return None

    async def _take(self, service: NodeService, partner: str, msg: Msg, nc: NatsClient) -> None:
        msg_id = (msg.headers or {}).get(ID_HEADER, "")
        headers = {ID_HEADER: msg_id}
        try:
            result = await asyncio.to_thread(service.receive_push, partner, msg.data)
            answer = json.dumps(result.as_dict()).encode()
        except BatchRefused as err:  # audited by the ingest; nothing to take again
            answer, headers[ERROR_HEADER] = b"", f"{err.status} {err}"[:300]
        except BaseException:  # not taken (the database failed?): JetStream delivers it again
            with contextlib.suppress(Exception):
                await msg.nak(delay=1.0)
            raise
        await msg.ack()
        with contextlib.suppress(nats.errors.Error):
            await nc.publish(reply_subject(self.nation, partner), answer, headers=headers)

    # -- status and shutdown -------------------------------------------------------------
    def describe(self, partner: str) -> dict[str, Any]:
        reader = self._readers.get(partner, _ReaderState())
        return {
            "transport": "nats",
            "nats": self._connection,
            "nats_stream": self._stream_state,
            "nats_reader": reader.state,
            "nats_reader_error": reader.error,
            "nats_taken": reader.taken,
            "nats_redelivered": reader.redelivered,
        }

    async def aclose(self) -> None:
        """Stop: a batch being ingested is finished and acknowledged first (for a few
        seconds at most), then the connection is drained."""
        self._closing = True
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=FETCH_WAIT_S + 1.0)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await asyncio.gather(*self._audits, return_exceptions=True)
        if self._nc is not None and not self._nc.is_closed:
            with contextlib.suppress(Exception):
                await self._nc.drain()
        self._nc = self._js = None
