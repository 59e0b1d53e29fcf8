"""``TakFeed`` (trilink.interop.tak_feed): what a node hands its TAK stream from the store,
fed here from a list of real envelopes (the stream is not started, so what it was handed
waits in its queue): a backlog becomes the newest state of each object, an older state that
arrives late is not sent, a tombstone deletes the object, what this nation may not hold is
not streamed, the feed waits for room instead of overflowing the queue, and the cursor file
belongs to one server."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from interop_samples import LIVE, envelope, every_kind, maritime_event, missile_track

from trilink.interop.cot import uid_of
from trilink.interop.items import build_item
from trilink.interop.tak_config import TakConfig
from trilink.interop.tak_feed import TakFeed, read_cursor, write_cursor
from trilink.interop.tak_stream import TakStream
from trilink.model.label import Label, parse_label
from trilink.model.report import Envelope


def feed_of(rows: list[Envelope], tmp_path: Path, queue_max: int = 10_000) -> TakFeed:
    stored = list(enumerate(rows, start=1))

    def read(after: int, limit: int) -> list[tuple[int, Envelope]]:
        return [(seq, env) for seq, env in stored if seq > after][:limit]

    def label_of(text: str) -> Label:
        return parse_label(text)

    config = TakConfig(host="127.0.0.1", port=9, protocol="tcp", queue_max=queue_max)
    return TakFeed(
        TakStream(config), nation="JPN", read=read, label_of=label_of,
        cursor_path=tmp_path / "tak-cursor.json",
    )  # fmt: skip


def queued(feed: TakFeed) -> dict[str, bytes]:
    return {uid: state[0] for uid, state in feed.stream._queue.items()}


def test_a_backlog_becomes_the_newest_state_of_each_object(tmp_path: Path) -> None:
    rows = [
        envelope("missile.track", missile_track(k % 5, track_id=f"T{k % 3}"), seq=k)
        for k in range(1, 3001)
    ]
    feed = feed_of(rows, tmp_path)
    assert feed.step() == 3000
    assert sorted(queued(feed)) == [f"trilink:USA:missile.track:T{k}" for k in range(3)]
    assert feed.handed == 3000
    # each track's newest state is its latest observation (k % 5 == 4), the last stored of
    # those: the cursor stays below the oldest of the three waiting
    newest = {t: max((k % 5, k) for k in range(1, 3001) if k % 3 == t)[1] for t in range(3)}
    assert feed.cursor == min(newest.values()) - 1
    assert feed.step() == 0


def test_a_late_older_state_is_not_sent_and_a_tombstone_deletes(tmp_path: Path) -> None:
    newer = envelope("missile.track", missile_track(3, track_id="T1"), seq=1)
    older = envelope("missile.track", missile_track(1, track_id="T1"), seq=2)
    ship = envelope("maritime.event", maritime_event(), seq=3)
    feed = feed_of([newer, older, ship], tmp_path)
    feed.step()
    states = queued(feed)
    assert b'time="2026-11-23T06:00:30.000Z"' in states["trilink:USA:missile.track:T1"]
    gone = Envelope(
        **{
            **{f: getattr(ship, f) for f in ship.__struct_fields__},
            "kind": "tombstone",
            "version": 2,
            "payload": b'{"reason":"test"}',
        }
    )
    feed.read = lambda after, limit: [(4, gone)] if after < 4 else []
    feed.step()
    uid = f"trilink:{ship.id}"
    assert b'type="t-x-d-d"' in queued(feed)[uid]


def test_what_this_nation_may_not_hold_is_not_streamed(tmp_path: Path) -> None:
    usa_only = envelope("maritime.event", maritime_event(), label="SECRET//REL TO USA")
    shared = envelope("maritime.event", maritime_event(), label=LIVE)
    feed = feed_of([usa_only, shared], tmp_path)
    feed.step()
    assert list(queued(feed)) == [f"trilink:{shared.id}"]


def test_the_feed_waits_for_room_instead_of_dropping(tmp_path: Path) -> None:
    rows = [
        envelope("missile.track", missile_track(0, track_id=f"T{k}"), seq=k) for k in range(1, 51)
    ]
    feed = feed_of(rows, tmp_path, queue_max=20)
    feed.step()
    stats = feed.stream.stats()
    assert stats.pending == 20 and stats.dropped == 0
    assert feed.handed == 20 and feed.cursor == 0
    assert feed.step() == 0  # no room: the rest stays in the store, behind the cursor
    feed.save()
    assert read_cursor(tmp_path / "tak-cursor.json", "tcp://127.0.0.1:9") == 0


def test_the_cursor_belongs_to_one_server(tmp_path: Path) -> None:
    path = tmp_path / "tak-cursor.json"
    assert read_cursor(path, "tls://tak:8089") == 0
    write_cursor(path, "tls://tak:8089", 42)
    assert read_cursor(path, "tls://tak:8089") == 42
    assert read_cursor(path, "tls://other:8089") == 0  # a new server starts from the start
    path.write_text("not json")
    assert read_cursor(path, "tls://tak:8089") == 0


def test_uids_are_those_of_the_cot_export_for_every_kind(tmp_path: Path) -> None:
    envs = [
        envelope(i.kind, msgspec.to_builtins(i.payload), i.label, i.origin, seq=n)
        for n, i in enumerate(every_kind(), start=1)
    ]
    feed = feed_of(envs, tmp_path)
    feed.step()
    expected = {
        uid_of(item)
        for n, env in enumerate(envs, start=1)
        if (item := build_item(env, parse_label(env.label), n)).features
    }
    assert set(queued(feed)) == expected and len(expected) >= 6


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=200)
    | st.text(max_size=200).map(str.encode)
    | st.builds(
        lambda seq: json.dumps({"server": "tcp://127.0.0.1:9", "seq": seq}).encode(),
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    )
)
def test_cursor_file_fuzz(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    """Whatever the cursor file holds, the feed resumes from a sequence >= 0."""
    path = tmp_path_factory.mktemp("cursor") / "tak-cursor.json"
    path.write_bytes(data)
    seq = read_cursor(path, "tcp://127.0.0.1:9")
    assert type(seq) is int and seq >= 0
