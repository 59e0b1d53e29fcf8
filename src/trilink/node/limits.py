"""Bounds on what failed requests may write to the audit log (the COP and the node API)."""

from __future__ import annotations

import threading
import time

from trilink.model.ids import utc_timestamp
from trilink.store.audit import AuditEntry


class FailureAuditLimit:
    """Bounds the audit rows that failed requests write (wrong passwords, refused input):
    per window of ``window_s`` seconds at most ``per_client`` rows for one client and
    ``overall`` rows in all. Failures beyond that are counted, and one summary row per
    window says how many were not written one by one and which clients sent them, so a
    flood of failures cannot grow the audit log without bound yet is never hidden."""

    TOP_CLIENTS = 5
    MAX_CLIENTS = 1_000

    def __init__(
        self,
        per_client: int = 10,
        overall: int = 60,
        window_s: float = 60.0,
        *,
        event: str = "cop",
        what: str = "COP requests",
    ) -> None:
        self.event = event
        self.what = what
        self.per_client = per_client
        self.overall = overall
        self.window_s = window_s
        self._lock = threading.Lock()
        self._start: float | None = None
        self._started_at = ""
        self._written: dict[str, int] = {}
        self._written_total = 0
        self._suppressed: dict[str, int] = {}
        self._suppressed_total = 0
        self._pending: list[AuditEntry] = []

    def admit(self, client: str, now: float | None = None) -> bool:
        """True when this failure gets its own audit row; False when it is only counted."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            self._roll(moment, final=False)
            if self._start is None:
                self._start, self._started_at = moment, utc_timestamp()
            written = self._written.get(client, 0)
            if written < self.per_client and self._written_total < self.overall:
                if written or len(self._written) < self.MAX_CLIENTS:
                    self._written[client] = written + 1
                    self._written_total += 1
                    return True
            key = client if len(self._suppressed) < self.MAX_CLIENTS else "other clients"
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            self._suppressed_total += 1
            return False

    def summaries(self, now: float | None = None, *, final: bool = False) -> list[AuditEntry]:
        """Summary rows of windows that have ended (with ``final``, the current one too)."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            self._roll(moment, final=final)
            pending, self._pending = self._pending, []
            return pending

    def _roll(self, now: float, *, final: bool) -> None:
        if self._start is None or (not final and now - self._start < self.window_s):
            return
        if self._suppressed_total:
            top = sorted(self._suppressed.items(), key=lambda kv: (-kv[1], kv[0]))
            shown = ", ".join(f"{c[:64]} x{n}" for c, n in top[: self.TOP_CLIENTS])
            more = len(top) - self.TOP_CLIENTS
            self._pending.append(
                AuditEntry(
                    event=self.event,
                    outcome="suppressed",
                    reason=(
                        f"{self._suppressed_total} failed {self.what} in the "
                        f"{self.window_s:.0f} s from {self._started_at} not audited one by "
                        f"one (limit {self.per_client} rows per client, {self.overall} in "
                        f"all): {shown}" + (f" and {more} more clients" if more > 0 else "")
                    ),
                )
            )
        self._start = None
        self._written.clear()
        self._written_total = 0
        self._suppressed.clear()
        self._suppressed_total = 0
