"""canonical_json must be byte-identical to RFC 8785 (the ``rfc8785`` reference package)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from trilink.errors import PayloadError
from trilink.model.canonical import canonical_json, sha256_hex

SAFE = 2**53 - 1

# Floats in [1e-6, 1e-5) are written by ECMAScript in plain decimal ("0.000001") but by
# msgspec in exponent form ("1e-6"); the encoder hands them to the reference implementation.
# The band also has its own test below.
_BUG_LOW, _BUG_HIGH = 1e-6, 1e-5


finite_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1e-300, max_value=1e-300, allow_nan=False),  # tiny and subnormal
    st.integers(-(2**60), 2**60).map(float),  # integer-valued, some beyond 2**53
    st.sampled_from([0.0, -0.0, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, 0.1, 1e20]),
)

keys = st.one_of(
    st.text(max_size=8),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=6),  # non-ASCII, astral plane
    st.sampled_from(["a", "b", "A", "é", "€", "\U0001f600", "ﬃ", "\u00e9\u0301", "z" * 3]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-SAFE, SAFE),
    finite_floats,
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
@example({"é": 1.0, "a": [100.0, -0.0, 1e21]})
@example({"\U0001f600": 1, "\uff61": 2, "a": {"b": '\u2028\x00\x1f\x7f"\\'}})
@example([1e-7, 1e-5, 123456789012345680000.0, 2.0**53, 2.0**53 + 2])
def test_canonical_json_equals_rfc8785(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=200, deadline=None)
@given(finite_floats)
def test_every_float_alone_and_in_a_container(x: float) -> None:
    for value in (x, [x], {"k": x}, {"ключ": x}):
        assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=50, deadline=None)
@given(st.floats(min_value=_BUG_LOW, max_value=_BUG_HIGH, exclude_max=True), st.booleans())
@example(1e-6, False)
@example(4.2e-6, True)
def test_floats_between_1e6_and_1e5_match_rfc8785(x: float, negative: bool) -> None:
    value = {"v": -x if negative else x}
    assert canonical_json(value) == rfc8785.dumps(value)


def test_known_canonical_bytes() -> None:
    """A hand-checked RFC 8785 example: sorted keys, integer-valued floats as integers."""
    value = {"b": [1.0, 2.5, None, True], "a": {"z": "é", "y": -0.0}, "€": 1e21}
    assert (
        canonical_json(value) == ('{"a":{"y":0,"z":"é"},"b":[1,2.5,null,true],"€":1e+21}').encode()
    )


def test_keys_sort_by_utf16_code_units() -> None:
    # By code point U+FF61 < U+1F600, but in UTF-16 the emoji starts 0xD83D < 0xFF61.
    value = {"\uff61": 2, "\U0001f600": 1}
    assert canonical_json(value).decode() == '{"😀":1,"｡":2}'
    assert rfc8785.dumps(value) == canonical_json(value)


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        math.inf,
        -math.inf,
        [1, math.nan],
        {"é": math.nan},  # the reference path must refuse it too
        2**53,
        -(2**53),
        2**64,
        {"é": 2**60},
        {"a": [1, {"b": -(2**70)}]},
        {1: "non-string key"},
        {"a": {1, 2}},
        "\ud800",  # lone surrogate
    ],
    ids=lambda v: repr(v)[:24],
)
def test_values_that_are_not_canonical_json_raise_payload_error(value: Any) -> None:
    with pytest.raises(PayloadError):
        canonical_json(value)


def test_largest_safe_integers_are_accepted() -> None:
    assert canonical_json([SAFE, -SAFE]) == f"[{SAFE},{-SAFE}]".encode()


def test_sha256_hex() -> None:
    assert sha256_hex(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
