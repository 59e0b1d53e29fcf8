"""Live Cursor-on-Target to a TAK server over TCP or TLS (``[tak]`` in node.toml).

``TakStream(config)`` keeps one connection to the server's streaming input and writes one CoT
event per object state the node hands it (``publish(items)``, ``delete(...)``). While the
server is unreachable, states wait in a queue and the stream reconnects with exponential
backoff (``reconnect_min_s`` doubling to ``reconnect_max_s``, with jitter so a fleet of nodes
does not reconnect in step). The queue keeps the newest state of each object (its CoT uid):
TAK replaces an object's state in place, so an older state that was never sent is not a
loss; nothing else is dropped until ``queue_max`` objects wait, and then the oldest object
goes and ``dropped`` counts it. A state whose write fails is queued again.

CoT over TCP has no acknowledgement: ``sent`` counts states the operating system accepted;
a state written in the instant the server dies can be lost with the connection, as with any
TAK client. ``stats()`` is what a metrics endpoint shows (connected, sent, pending,
connects, failures, dropped, the last error).

A state may carry the store sequence it came from (``publish(items, seq=...)``):
``resume_point(handed)`` is then the sequence below which every state was written to the
server (or replaced by a newer one that was), which a feed keeps to resume from after a
restart (``trilink.interop.tak_feed``).
"""

from __future__ import annotations

import logging
import random
import select
import socket
import ssl
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from trilink.interop.cot import cot_event, delete_event, uid_of
from trilink.interop.items import Item
from trilink.interop.tak_config import TakConfig

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 10.0
SEND_TIMEOUT_S = 30.0
# While idle, how often the connection is checked, so a server that hung up is reconnected
# before the next state has to wait for it.
IDLE_CHECK_S = 1.0


@dataclass
class TakStats:
    address: str
    connected: bool = False
    sent: int = 0
    pending: int = 0
    connects: int = 0
    failures: int = 0  # connection attempts that failed, and connections that broke
    dropped: int = 0  # objects pushed out of a full queue
    last_error: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def tls_context(config: TakConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=config.ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if config.cert is not None and config.key is not None:
        context.load_cert_chain(config.cert, config.key)
    return context


class TakStream:
    """One node's live CoT feed to its TAK server (a background thread)."""

    def __init__(self, config: TakConfig) -> None:
        self.config = config
        self._queue: OrderedDict[str, tuple[bytes, int]] = OrderedDict()
        self._inflight: int | None = None  # the store seq of the state being written
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._stats = TakStats(address=config.address)
        self._thread: threading.Thread | None = None
        self._tls = tls_context(config) if config.protocol == "tls" else None

    # -- what the node calls --------------------------------------------------------------
    def wanted(self, item: Item) -> bool:
        kinds = self.config.kinds
        return (kinds is None or item.kind in kinds) and (
            self.config.exercise or not item.exercise
        )

    def publish(self, items: Iterable[Item], *, seq: int = 0) -> int:
        """Queue the current state of each item with a position (a cancelled warning's state
        is stale at once, so TAK removes it); returns how many were queued. ``seq``: the
        store sequence the items came from (0: none; each item's own when it has one)."""
        queued = 0
        for item in items:
            if item.features and self.wanted(item):
                self._put(uid_of(item), cot_event(item).encode() + b"\n", item.seq or seq)
                queued += 1
        return queued

    def delete(self, uid: str, label: str, *, seq: int = 0) -> None:
        """Tell TAK to remove an object (a deleted report)."""
        event = delete_event(uid, datetime.now(UTC), label)
        self._put(uid, event.encode() + b"\n", seq)

    def stats(self) -> TakStats:
        with self._cond:
            self._stats.pending = len(self._queue)
            return TakStats(**asdict(self._stats))

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def resume_point(self, handed: int) -> int:
        """Every state from a store sequence up to the returned one was written (or replaced
        by a newer state that was), given that the feed has handed over everything up to
        ``handed``."""
        with self._cond:
            waiting = [seq for _, seq in self._queue.values() if seq > 0]
            if self._inflight:
                waiting.append(self._inflight)
        return min(waiting) - 1 if waiting else handed

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tak-stream", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._close()

    # -- the thread -----------------------------------------------------------------------
    def _put(self, uid: str, event: bytes, seq: int = 0) -> None:
        with self._cond:
            self._queue.pop(uid, None)
            self._queue[uid] = (event, seq)  # an object's newest state replaces a waiting one
            while len(self._queue) > self.config.queue_max:
                self._queue.popitem(last=False)
                self._stats.dropped += 1
            self._cond.notify()

    def _take(self, idle_s: float) -> tuple[str, tuple[bytes, int]] | None:
        """The oldest waiting state; None after ``idle_s`` with nothing to send (or when
        stopping)."""
        with self._cond:
            if not self._queue and not self._stop.is_set():
                self._cond.wait(idle_s)
            if self._stop.is_set() or not self._queue:
                return None
            uid, state = self._queue.popitem(last=False)
            self._inflight = state[1]
            return uid, state

    def _requeue(self, uid: str, state: tuple[bytes, int]) -> None:
        with self._cond:
            self._inflight = None
            if uid not in self._queue:  # unless a newer state arrived meanwhile
                self._queue[uid] = state
                self._queue.move_to_end(uid, last=False)

    def _connect(self) -> socket.socket:
        cfg = self.config
        raw = socket.create_connection((cfg.host, cfg.port), timeout=CONNECT_TIMEOUT_S)
        try:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if self._tls is None:
                sock = raw
            else:
                sock = self._tls.wrap_socket(raw, server_hostname=cfg.server_name or cfg.host)
            sock.settimeout(SEND_TIMEOUT_S)
            return sock
        except BaseException:
            raw.close()
            raise

    def _closed_by_peer(self, sock: socket.socket) -> bool:
        """The server hung up (or sent something, which a CoT input never needs: read it
        without waiting; over TLS 1.3 that may be only a session ticket)."""
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        sock.setblocking(False)
        try:
            return sock.recv(4096) == b""
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return False
        except OSError:
            return True
        finally:
            sock.settimeout(SEND_TIMEOUT_S)

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
        with self._cond:
            self._stats.connected = False

    def _failed(self, err: BaseException) -> None:
        """Count a failure; log it once per distinct error (a server down for hours is one
        line, not one per retry), the repeats at DEBUG."""
        error = f"{type(err).__name__}: {err}"[:300]
        with self._cond:
            self._stats.failures += 1
            repeated = error == self._stats.last_error and not self._stats.connected
            self._stats.last_error = error
        fields = {"server": self.config.address, "failures": self._stats.failures}
        log.log(
            logging.DEBUG if repeated else logging.WARNING,
            "TAK stream %s: %s (retrying with backoff)",
            self.config.address,
            error,
            extra={"fields": fields},
        )
        self._close()

    def _run(self) -> None:
        delay = self.config.reconnect_min_s
        while not self._stop.is_set():
            if self._sock is None:
                try:
                    self._sock = self._connect()
                except (OSError, ssl.SSLError) as err:
                    self._failed(err)
                    wait = delay * random.uniform(0.8, 1.2)
                    delay = min(delay * 2.0, self.config.reconnect_max_s)
                    self._stop.wait(wait)
                    continue
                delay = self.config.reconnect_min_s
                with self._cond:
                    self._stats.connected = True
                    self._stats.connects += 1
                log.info(
                    "TAK stream connected to %s",
                    self.config.address,
                    extra={"fields": {"server": self.config.address}},
                )
            taken = self._take(IDLE_CHECK_S)
            try:
                if self._closed_by_peer(self._sock):
                    raise ConnectionResetError("the TAK server closed the connection")
            except ConnectionResetError as err:
                if taken is not None:
                    self._requeue(*taken)
                self._failed(err)
                continue
            if taken is None:
                continue  # idle (the connection was checked above) or stopping
            uid, state = taken
            try:
                self._sock.sendall(state[0])
            except (OSError, ssl.SSLError) as err:
                self._requeue(uid, state)
                self._failed(err)
                continue
            with self._cond:
                self._inflight = None
                self._stats.sent += 1
