"""The NATS transport's pure parts: request parsing (fuzzed) and the permissions each
nation's NATS user gets."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trilink.federation.jetstream import (
    batch_subject,
    consumer_name,
    nats_permissions,
    parse_request,
    stream_name,
)
from trilink.federation.transport import TransportError

NATIONS = ["USA", "JPN", "KOR"]


def test_requests() -> None:
    assert parse_request(b"") == (0, 1000)
    assert parse_request(b'{"after": 7, "limit": 99999}') == (7, 5000)
    assert parse_request(b'{"limit": 0}') == (0, 1)
    for bad in (b'{"after": -1}', b"[1]", b'{"after": "3"}', b'{"after": 1.5}', b"x" * 2000):
        with pytest.raises(TransportError):
            parse_request(bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1500) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_request_parses_or_is_refused(data: bytes) -> None:
    try:
        after, limit = parse_request(data)
    except TransportError as err:
        assert str(err)
    else:
        assert after >= 0 and 1 <= limit <= 5000


def test_permissions_name_only_ones_own_things() -> None:
    for nation in NATIONS:
        partners = [p for p in NATIONS if p != nation]
        perms = nats_permissions(nation, partners)
        publish, subscribe = perms["publish"]["allow"], perms["subscribe"]["allow"]
        for other in partners:
            # never another's subjects, inbox, stream administration or consumers
            assert not any(s.startswith(f"trilink.{other}.") for s in publish + subscribe)
            assert f"_INBOX_{other}.>" not in subscribe
            assert not any(f"STREAM.CREATE.{stream_name(other)}" in s for s in publish)
            assert not any(f"DELETE.{stream_name(other)}" in s for s in publish)
            assert not any(
                s.endswith(f"{stream_name(other)}.{consumer_name(other)}") for s in publish
            )
            third = [t for t in partners if t != other]
            for t in third:  # reading other's stream: only its subject for us
                assert not any(batch_subject(other, t) in s for s in publish)
            assert (
                f"$JS.API.CONSUMER.MSG.NEXT.{stream_name(other)}.{consumer_name(nation)}"
                in publish
            )
        assert not any(
            s in (">", "trilink.>", "$JS.API.>", "_INBOX.>") for s in publish + subscribe
        )
