"""Report envelopes: UUIDv7 ids, UTC timestamps, schema validation, canonical signed bytes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from trilink.errors import PayloadError, ReportError, UnknownKindError
from trilink.model import build_envelope, check_envelope, parse_label
from trilink.model.ids import (
    is_utc_timestamp,
    is_uuid7,
    parse_utc_timestamp,
    utc_timestamp,
    uuid7,
)
from trilink.model.kinds import known_kinds, schema_for, validate_payload, validate_payload_json
from trilink.model.report import (
    MAX_DERIVED_FROM,
    MAX_KIND_CHARS,
    Envelope,
    decode_envelope,
    envelope_bytes,
)

LABEL = parse_label("SECRET//REL TO USA, JPN, KOR")


def _env(**changes: Any) -> Envelope:
    env = build_envelope(
        origin="JPN", origin_seq=7, kind="note", label=LABEL, payload={"title": "t", "body": "b"}
    )
    return msgspec.structs.replace(env, **changes)


# -- ids ---------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**48 - 1))
def test_uuid7_carries_its_millisecond_timestamp(unix_ms: int) -> None:
    text = uuid7(unix_ms)
    assert is_uuid7(text)
    parsed = uuid.UUID(text)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert parsed.int >> 80 == unix_ms


def test_uuid7_is_random_and_time_ordered() -> None:
    ids = [uuid7(1_700_000_000_000 + i) for i in range(200)]
    assert len(set(ids)) == 200
    assert ids == sorted(ids)
    same_ms = {uuid7(1_700_000_000_000) for _ in range(200)}
    assert len(same_ms) == 200


@pytest.mark.parametrize(
    "text",
    [
        "018f3a2b-1c4d-4e5f-8a6b-7c8d9e0f1a2b",  # version 4
        "018F3A2B-1C4D-7E5F-8A6B-7C8D9E0F1A2B",  # upper case
        "018f3a2b-1c4d-7e5f-ca6b-7c8d9e0f1a2b",  # wrong variant
        "018f3a2b1c4d7e5f8a6b7c8d9e0f1a2b",
        "",
    ],
)
def test_not_uuid7(text: str) -> None:
    assert not is_uuid7(text)


def test_utc_timestamp_round_trip_and_zone_conversion() -> None:
    moment = datetime(2026, 11, 23, 16, 14, 56, 123456, tzinfo=UTC)
    assert utc_timestamp(moment) == "2026-11-23T16:14:56.123456Z"
    tokyo = moment.astimezone(timezone(timedelta(hours=9)))
    assert utc_timestamp(tokyo) == "2026-11-23T16:14:56.123456Z"
    assert parse_utc_timestamp("2026-11-23T16:14:56.123456Z") == moment
    assert is_utc_timestamp(utc_timestamp())
    assert not is_utc_timestamp("2026-11-23T16:14:56Z")
    assert not is_utc_timestamp("2026-11-23 16:14:56.123456+00:00")


# -- kinds and payloads ------------------------------------------------------------------


def test_registry_knows_the_foundation_kinds() -> None:
    assert {"note", "tombstone"} <= set(known_kinds())
    assert known_kinds() == sorted(known_kinds())


def test_unknown_kind_names_itself_and_the_known_ones() -> None:
    with pytest.raises(UnknownKindError, match="'no.such-kind'.*note") as caught:
        schema_for("no.such-kind")
    assert caught.value.field == "kind"


@pytest.mark.parametrize(
    "payload",
    [
        {"body": "no title"},
        {"title": 3},
        {"title": "t", "colour": "extra field"},
        {"title": "t", "tags": "not-a-list"},
        ["not", "an", "object"],
    ],
)
def test_schema_invalid_note_payloads(payload: Any) -> None:
    with pytest.raises(PayloadError):
        validate_payload("note", payload)
    with pytest.raises(PayloadError):
        validate_payload_json("note", msgspec.json.encode(payload))


def test_payload_json_must_be_json_and_not_too_large() -> None:
    with pytest.raises(PayloadError, match="not valid JSON"):
        validate_payload_json("note", b'{"title": ')
    with pytest.raises(PayloadError, match="limit"):
        validate_payload_json("note", msgspec.json.encode({"title": "x" * 300_000}))


# -- envelopes ---------------------------------------------------------------------------


def test_build_envelope_fills_every_field() -> None:
    env = build_envelope(
        origin="USA",
        origin_seq=1,
        kind="note",
        label=LABEL,
        payload={"title": "Vessel of interest", "tags": ["ais-gap"]},
    )
    assert is_uuid7(env.id)
    assert env.version == 1
    assert env.label == "SECRET//REL TO USA, JPN, KOR"
    assert is_utc_timestamp(env.created)
    assert env.payload_obj() == {"title": "Vessel of interest", "tags": ["ais-gap"]}
    assert check_envelope(env) == LABEL


def test_build_envelope_validates_the_payload() -> None:
    with pytest.raises(PayloadError):
        build_envelope(origin="USA", origin_seq=1, kind="note", label=LABEL, payload={"x": 1})
    with pytest.raises(UnknownKindError):
        build_envelope(origin="USA", origin_seq=1, kind="nope", label=LABEL, payload={})


notes = st.fixed_dictionaries(
    {"title": st.text(max_size=20)},
    optional={
        "body": st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
        "tags": st.lists(st.text(max_size=8), max_size=4),
    },
)


@settings(max_examples=100, deadline=None)
@given(notes, st.lists(st.integers(0, 2**48 - 1).map(uuid7), max_size=3))
def test_envelope_bytes_are_rfc8785_of_the_envelope(
    payload: dict[str, Any], derived: list[str]
) -> None:
    env = build_envelope(
        origin="KOR",
        origin_seq=2**40,
        kind="note",
        label=LABEL,
        payload=payload,
        derived_from=derived,
        version=3,
    )
    data = envelope_bytes(env)
    assert data == rfc8785.dumps(msgspec.json.decode(data))
    assert decode_envelope(data) == env
    assert msgspec.json.decode(data)["payload"] == payload


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "not-a-uuid"}, "id"),
        ({"id": str(uuid.uuid4())}, "id"),
        ({"origin": "CHN"}, "origin"),
        ({"origin_seq": 0}, "origin_seq"),
        ({"version": 0}, "version"),
        ({"created": "2026-11-23T16:14:56+00:00"}, "created"),
        ({"derived_from": ["x"]}, "derived_from"),
        ({"label": "SECRET//REL TO USA, CHN"}, "label"),
        ({"label": "secret//rel to usa, jpn, kor"}, "label"),  # not canonical
        ({"label": "SECRET//REL TO KOR, JPN, USA"}, "label"),
        ({"payload_sha256": "0" * 64}, "payload_sha256"),
        ({"payload": msgspec.Raw(b'{"body":"b","title":"T"}')}, "payload_sha256"),
        ({"kind": "nope"}, "kind"),
    ],
)
def test_check_envelope_names_the_bad_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ReportError) as caught:
        check_envelope(_env(**changes))
    assert caught.value.field == field


@pytest.mark.parametrize(
    "created",
    [
        "2026-02-30T00:00:00.000000Z",  # no such day
        "2026-11-23T24:00:00.000000Z",
        "\u0662\u0660\u0662\u0666-11-23T16:14:56.123456Z",  # Arabic-Indic digits match \d
    ],
)
def test_check_envelope_rejects_impossible_created_times(created: str) -> None:
    try:
        check_envelope(_env(created=created))
    except ReportError as err:
        assert err.field == "created"
    else:
        raise AssertionError(f"created {created!r} accepted")


@pytest.mark.parametrize(
    ("field", "value"), [("origin_seq", 2**53), ("version", 2**53), ("origin_seq", 2**64)]
)
def test_check_envelope_rejects_numbers_beyond_exact_json(field: str, value: int) -> None:
    """Envelope bytes must be RFC 8785 / I-JSON, where integers stop at 2**53."""
    try:
        check_envelope(_env(**{field: value}))
    except ReportError as err:
        assert err.field == field
    else:
        raise AssertionError(f"{field}={value} accepted")


def test_check_envelope_rejects_a_schema_invalid_payload_with_a_matching_hash() -> None:
    raw = b'{"titel":"typo"}'
    from trilink.model.canonical import sha256_hex

    env = _env(payload=msgspec.Raw(raw), payload_sha256=sha256_hex(raw))
    with pytest.raises(PayloadError):
        check_envelope(env)


@pytest.mark.parametrize(
    "raw",
    [b"", b"[]", b'{"id": 1}', b"not json", b'{"unexpected": true}'],
)
def test_decode_envelope_refuses_malformed_bytes(raw: bytes) -> None:
    with pytest.raises(ReportError, match="malformed"):
        decode_envelope(raw)


def test_decode_envelope_refuses_unknown_fields() -> None:
    obj = msgspec.json.decode(envelope_bytes(_env()))
    obj["smuggled"] = "x"
    with pytest.raises(ReportError):
        decode_envelope(msgspec.json.encode(obj))


# -- strict ids and bounded fields (issue 15 findings 4 and 8) -------------------------


VALID_ID = "018f3a2b-1c4d-7e5f-8a6b-7c8d9e0f1a2b"


@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "\x00", "0"])
def test_an_id_with_anything_after_it_is_not_a_uuid7(suffix: str) -> None:
    """'$' matched before a trailing newline: "<id>\\n" printed like another nation's id."""
    assert is_uuid7(VALID_ID)
    assert not is_uuid7(VALID_ID + suffix)
    assert not is_uuid7(suffix + VALID_ID)


def test_a_timestamp_with_a_trailing_newline_is_refused() -> None:
    assert not is_utc_timestamp("2026-11-23T16:14:56.123456Z\n")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**48 - 1).map(uuid7), st.text(min_size=1, max_size=5), st.booleans())
def test_no_text_around_a_uuid7_is_a_uuid7(report_id: str, extra: str, before: bool) -> None:
    assert not is_uuid7(extra + report_id if before else report_id + extra)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_is_uuid7_accepts_exactly_the_canonical_form(text: str) -> None:
    canonical = False
    try:
        parsed = uuid.UUID(text)
        canonical = str(parsed) == text and parsed.version == 7
    except ValueError:
        pass
    assert is_uuid7(text) == canonical


def test_an_envelope_whose_id_has_a_trailing_newline_is_refused() -> None:
    obj = msgspec.json.decode(envelope_bytes(_env()))
    obj["id"] = VALID_ID + "\n"
    raw = msgspec.json.encode(obj)
    with pytest.raises(ReportError) as caught:
        check_envelope(decode_envelope(raw))
    assert caught.value.field == "id"


def test_duplicate_derived_from_ids_are_refused_where_envelopes_are_built_and_checked() -> None:
    twice = [VALID_ID, uuid7(), VALID_ID]
    with pytest.raises(ReportError, match=f"derived_from lists report {VALID_ID} twice"):
        build_envelope(
            origin="USA",
            origin_seq=1,
            kind="note",
            label=LABEL,
            payload={"title": "t"},
            derived_from=twice,
        )
    with pytest.raises(ReportError) as caught:
        check_envelope(_env(derived_from=twice))
    assert caught.value.field == "derived_from"


def test_too_many_derived_from_ids_are_refused() -> None:
    many = [uuid7(1_700_000_000_000 + i) for i in range(MAX_DERIVED_FROM + 1)]
    with pytest.raises(ReportError, match="the limit is"):
        check_envelope(_env(derived_from=many))
    check_envelope(_env(derived_from=many[:MAX_DERIVED_FROM]))


EIGHT_MIB = 8 * 2**20


@pytest.mark.parametrize(
    "field", ["id", "origin", "kind", "label", "created", "derived_from", "payload_sha256"]
)
def test_an_oversized_field_is_refused_with_a_short_message(field: str) -> None:
    """An 8 MiB kind from a partner became an 8 MiB error message, then an audit row."""
    huge = "a" * EIGHT_MIB
    value: Any = [huge] if field == "derived_from" else huge
    with pytest.raises(ReportError) as caught:
        check_envelope(_env(**{field: value}))
    assert caught.value.field == field
    assert len(str(caught.value)) < 400


def test_a_kind_longer_than_the_limit_is_refused_before_lookup() -> None:
    with pytest.raises(ReportError, match=f"longer than the {MAX_KIND_CHARS} characters"):
        check_envelope(_env(kind="note" + "s" * MAX_KIND_CHARS))
    with pytest.raises(ReportError, match=f"longer than the {MAX_KIND_CHARS} characters") as err:
        build_envelope(
            origin="USA", origin_seq=1, kind="n" * EIGHT_MIB, label=LABEL, payload={"title": "t"}
        )
    assert len(str(err.value)) < 400


# Each value breaks exactly one rule of its field.
BAD_VALUES: dict[str, list[Any]] = {
    "id": [VALID_ID + "\n", VALID_ID.upper(), str(uuid.uuid4()), "", "x" * 1000],
    "origin": ["CHN", "USA\n", "usa", ""],
    "origin_seq": [0, -1, 2**53],
    "version": [0, 2**31],
    "kind": ["nope", "note\n", "x" * 70],
    "label": ["SECRET//REL TO USA, JPN, KOR\n", "secret", "S" * 300, ""],
    "created": ["2026-11-23T16:14:56.123456Z\n", "2026-02-30T00:00:00.000000Z"],
    "derived_from": [[VALID_ID, VALID_ID], [VALID_ID + "\n"], ["x"], [str(uuid.uuid4())]],
    "payload_sha256": ["0" * 64],
    "payload": [{"title": 1}],  # with its own matching hash: the schema refuses it
}


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.integers(0, 2**48 - 1).map(uuid7), max_size=3, unique=True),
    st.dictionaries(st.sampled_from(sorted(BAD_VALUES)), st.integers(0, 4), max_size=2),
)
def test_an_envelope_is_accepted_exactly_when_no_field_breaks_a_rule(
    derived: list[str], broken: dict[str, int]
) -> None:
    from trilink.model.canonical import canonical_json, sha256_hex

    obj = msgspec.json.decode(envelope_bytes(_env(derived_from=derived)))
    for name, pick in broken.items():
        obj[name] = BAD_VALUES[name][pick % len(BAD_VALUES[name])]
        if name == "payload":
            obj["payload_sha256"] = sha256_hex(canonical_json(obj["payload"]))
    try:
        check_envelope(decode_envelope(msgspec.json.encode(obj)))
    except ReportError as err:  # PayloadError and UnknownKindError included
        assert broken, f"a valid envelope was refused: {err}"
        assert err.field in broken or (err.field == "payload_sha256" and "payload" in broken)
        assert len(str(err)) < 600
        return
    assert not broken, f"accepted with {broken}"
