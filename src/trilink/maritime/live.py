"""Streaming detection for live AIS feeds: a sliding time window, re-evaluated as data comes.

The socket edge (``live_io``) hands received lines to ``LiveProcessor.feed``; ``evaluate``
cleans the window, runs every detector and returns only the events not reported before
(keyed by type, vessels and start time), so each event is emitted once, as soon as its rule
is met. Times come from NMEA tag blocks when present, else from the receive clock.

Nothing a sender puts in a datagram stops the feed: every malformed record is counted by
reason (``status_line``, the quality report) and the next datagram is read as usual.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from trilink.maritime.clean import QualityReport
from trilink.maritime.config import MaritimeConfig
from trilink.maritime.events import Geography
from trilink.maritime.fastlines import parse_block
from trilink.maritime.ingest import Ingested
from trilink.maritime.nmea import NmeaParser
from trilink.maritime.pipeline import run_batch
from trilink.maritime.tables import POSITION_SCHEMA, STATIC_SCHEMA, conform


@dataclass
class LiveStats:
    lines: int = 0
    messages: int = 0
    positions: int = 0
    evaluations: int = 0
    events: int = 0
    malformed: int = 0
    malformed_by_reason: Counter[str] = field(default_factory=Counter)
    future_dropped: int = 0


@dataclass
class LiveProcessor:
    """Holds the last ``window_h`` hours (message time) of positions and statics."""

    geo: Geography
    config: MaritimeConfig
    source: str = "live"
    window_h: float = 24.0
    parser: NmeaParser = field(init=False)
    stats: LiveStats = field(default_factory=LiveStats)
    _positions: list[pl.DataFrame] = field(default_factory=list)
    _statics: list[pl.DataFrame] = field(default_factory=list)
    _seen: set[tuple[str, int | None, int | None, int, str]] = field(default_factory=set)
    _dirty: bool = False
    last_quality: QualityReport | None = None

    def __post_init__(self) -> None:
        self.parser = NmeaParser(self.source)

    def feed(self, lines: list[bytes], recv_ms: int) -> int:
        """Parse received lines; returns the number of new positions."""
        self.stats.lines += len(lines)
        first = self.stats.lines - len(lines) + 1
        block = b"\n".join(ln.rstrip(b"\r\n") for ln in lines) + b"\n"
        try:
            dec, _ = parse_block(self.parser, block, first, recv_ms)
        except Exception as err:
            # Defence in depth for a process that must outlive any sender: the decoder is
            # fuzzed never to raise, so this is a bug; count it with the lines and go on.
            self.parser.problems.add(
                self.source, first, "unexpected_error", f"{type(err).__name__}: {block[:80]!r}"
            )
            self._count_malformed()
            return 0
        self.stats.messages += dec.fast + dec.slow + dec.skipped
        self._count_malformed()
        if dec.positions.height:
            self._positions.append(dec.positions)
            self.stats.positions += dec.positions.height
            self._dirty = True
        if dec.statics.height:
            self._statics.append(dec.statics)
            self._dirty = True
        return dec.positions.height

    def _count_malformed(self) -> None:
        self.stats.malformed_by_reason = Counter(self.parser.problems.counts)
        self.stats.malformed = sum(self.stats.malformed_by_reason.values())

    def status_line(self) -> str:
        """One line for the watch officer: traffic so far and malformed records by reason."""
        s = self.stats
        reasons = ", ".join(f"{k} {v}" for k, v in s.malformed_by_reason.most_common())
        future = f", {s.future_dropped} future-dated fixes dropped" if s.future_dropped else ""
        return (
            f"{s.lines} lines, {s.messages} messages, {s.positions} positions, "
            f"{s.events} events, {s.malformed} malformed"
            + (f" ({reasons})" if reasons else "")
            + future
        )

    def _window(self, now_ms: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        pos = (
            pl.concat(self._positions)
            if self._positions
            else conform(pl.DataFrame(), POSITION_SCHEMA)
        )
        st = pl.concat(self._statics) if self._statics else conform(pl.DataFrame(), STATIC_SCHEMA)
        if pos.height:
            # One fix stamped far in the future (a tag block says 2099) would become the
            # newest and push every real fix out of the window; cleaning refuses such fixes
            # anyway, so they leave the window here, counted.
            t = pl.col("timestamp").dt.epoch("ms")
            latest = now_ms + int(self.config.clean.future_tolerance_s * 1000)
            future = pos.filter(t > latest).height
            if future:
                self.stats.future_dropped += future
                pos = pos.filter(t.is_null() | (t <= latest))
            newest = pos.select(t.max()).item()
            if newest is not None:
                cutoff = newest - int(self.window_h * 3.6e6)
                pos = pos.filter(t.is_null() | (t >= cutoff))
        self._positions = [pos] if pos.height else []
        self._statics = [st.tail(100_000)] if st.height else []
        return pos, st

    def evaluate(self, now_ms: int) -> pl.DataFrame:
        """Run the detectors on the window; return the events not emitted before."""
        if not self._dirty:
            return pl.DataFrame()
        self._dirty = False
        pos, st = self._window(now_ms)
        data = Ingested(
            positions=pos, statics=st, problems=self.parser.problems, notes=self.parser.notes
        )
        result = run_batch(data, self.geo, self.config, now_ms=now_ms)
        self.last_quality = result.quality
        self.stats.evaluations += 1
        if not result.events.height:
            return result.events
        keys = [
            (
                r["type"],
                r["mmsi"],
                r["other_mmsi"],
                int(r["start"].timestamp() * 1000),
                r["details"] if r["type"] == "dark_vessel" else "",
            )
            for r in result.events.iter_rows(named=True)
        ]
        fresh = [k not in self._seen for k in keys]
        self._seen.update(keys)
        new = result.events.filter(pl.Series(fresh))
        self.stats.events += new.height
        return new
