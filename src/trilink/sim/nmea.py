"""NMEA 0183 !AIVDM sentences with NMEA 4.10 tag blocks for the generated scenario.

Position reports (types 1/2/3) are encoded by a vectorised numpy encoder that reproduces
pyais' encoder bit for bit (same field order, same float-to-int conversions: truncation for
speed and course, round-half-even for 1/10000-minute positions); the tests compare both on
generated data. Static and voyage data (type 5, two sentences) is encoded with pyais.

Line format: ``\\c:<unix>*hh\\!AIVDM,1,1,,A,<payload>,0*hh``; two-sentence messages carry an
NMEA 4.10 group (``g:1-2-<id>``) in both tag blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from pyais.encode import encode_dict

from trilink.sim.catalog import Identity

TURN_NOT_AVAILABLE = -128
#: (field, width) of message types 1/2/3 in transmission order (ITU-R M.1371-5 table 45).
_FIELDS = (
    ("msg_type", 6),
    ("repeat", 2),
    ("mmsi", 30),
    ("status", 4),
    ("turn", 8),
    ("speed", 10),
    ("accuracy", 1),
    ("lon", 28),
    ("lat", 27),
    ("course", 12),
    ("heading", 9),
    ("second", 6),
    ("maneuver", 2),
    ("spare", 3),
    ("raim", 1),
    ("radio", 19),
)
_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


def _xor(data: bytes) -> int:
    c = 0
    for b in data:
        c ^= b
    return c


def tag_block(fields: str) -> str:
    """``\\<fields>*hh\\`` with the NMEA checksum of ``fields``."""
    return f"\\{fields}*{_xor(fields.encode()):02X}\\"


def position_fields(
    mmsi: NDArray[np.int64],
    t_unix: NDArray[np.int64],
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    sog_kn: NDArray[np.float64],
    cog_deg: NDArray[np.float64],
    heading_deg: NDArray[np.int64],
    msg_type: NDArray[np.int8],
    status: NDArray[np.int8],
) -> dict[str, NDArray[np.int64]]:
    """Integer field values exactly as pyais' ``encode_dict`` computes them."""
    n = mmsi.size
    return {
        "msg_type": msg_type.astype(np.int64),
        "repeat": np.zeros(n, dtype=np.int64),
        "mmsi": mmsi.astype(np.int64),
        "status": status.astype(np.int64),
        "turn": np.full(n, TURN_NOT_AVAILABLE, dtype=np.int64),
        "speed": np.trunc(sog_kn * 10.0).astype(np.int64),
        "accuracy": np.zeros(n, dtype=np.int64),
        "lon": np.round(lon * 600000.0).astype(np.int64),
        "lat": np.round(lat * 600000.0).astype(np.int64),
        "course": np.trunc(cog_deg * 10.0).astype(np.int64),
        "heading": heading_deg.astype(np.int64),
        "second": (t_unix % 60).astype(np.int64),
        "maneuver": np.zeros(n, dtype=np.int64),
        "spare": np.zeros(n, dtype=np.int64),
        "raim": np.zeros(n, dtype=np.int64),
        "radio": np.zeros(n, dtype=np.int64),
    }


def encode_positions(
    fields: dict[str, NDArray[np.int64]],
    t_unix: NDArray[np.int64],
    channel: NDArray[np.str_] | None = None,
) -> NDArray[np.uint8]:
    """Vectorised type 1/2/3 sentences with tag blocks: an (n, 64) array of line bytes.

    Every line has the same width (10-digit unix times, 28-character payload), ending in
    ``\\n``; ``rows.tobytes()`` is ready to write.
    """
    n = t_unix.size
    if n and (t_unix.min() < 1_000_000_000 or t_unix.max() > 9_999_999_999):
        raise ValueError("unix times must have 10 digits (2001-2286)")
    bits = np.empty((n, 168), dtype=np.uint8)
    col = 0
    for name, width in _FIELDS:
        v = fields[name] & ((1 << width) - 1)
        shifts = np.arange(width - 1, -1, -1, dtype=np.int64)
        bits[:, col : col + width] = (v[:, None] >> shifts) & 1
        col += width
    sym = (bits.reshape(n, 28, 6) @ np.asarray([32, 16, 8, 4, 2, 1], dtype=np.uint8)).astype(
        np.uint8
    )
    payload = sym + 48
    payload[sym >= 40] += 8
    if channel is None:
        ch = np.full(n, ord("A"), dtype=np.uint8)
    else:
        ch = np.where(channel == "B", ord("B"), ord("A")).astype(np.uint8)
    base = _xor(b"AIVDM,1,1,,") ^ _xor(b",") ^ _xor(b",0")
    cs = np.bitwise_xor.reduce(payload, axis=1) ^ np.uint8(base) ^ ch
    digits = ((t_unix[:, None] // 10 ** np.arange(9, -1, -1, dtype=np.int64)) % 10 + 48).astype(
        np.uint8
    )
    tcs = np.bitwise_xor.reduce(digits, axis=1) ^ np.uint8(_xor(b"c:"))
    parts = [
        np.broadcast_to(np.frombuffer(b"\\c:", dtype=np.uint8), (n, 3)),
        digits,
        np.full((n, 1), ord("*"), dtype=np.uint8),
        _HEX[tcs >> 4][:, None],
        _HEX[tcs & 15][:, None],
        np.broadcast_to(np.frombuffer(b"\\!AIVDM,1,1,,", dtype=np.uint8), (n, 13)),
        ch[:, None],
        np.full((n, 1), ord(","), dtype=np.uint8),
        payload,
        np.broadcast_to(np.frombuffer(b",0*", dtype=np.uint8), (n, 3)),
        _HEX[cs >> 4][:, None],
        _HEX[cs & 15][:, None],
        np.full((n, 1), ord("\n"), dtype=np.uint8),
    ]
    return np.concatenate(parts, axis=1)


def encode_position_pyais(
    *,
    mmsi: int,
    t_unix: int,
    lat: float,
    lon: float,
    sog_kn: float,
    cog_deg: float,
    heading_deg: int,
    msg_type: int,
    status: int,
    channel: str = "A",
) -> str:
    """Reference: one position report through pyais' encoder (no tag block)."""
    data: dict[str, str | int | float | bool | bytes] = {
        "msg_type": msg_type,
        "repeat": 0,
        "mmsi": mmsi,
        "status": status,
        "turn": TURN_NOT_AVAILABLE,
        "speed": sog_kn,
        "accuracy": 0,
        "lon": lon,
        "lat": lat,
        "course": cog_deg,
        "heading": heading_deg,
        "second": t_unix % 60,
        "maneuver": 0,
        "raim": 0,
        "radio": 0,
    }
    return encode_dict(data, talker_id="AI", sentence_type="VDM", radio_channel=channel)[0]


def encode_static(ident: Identity, t_unix: int, seq_id: int, channel: str = "B") -> list[str]:
    """Type 5 static and voyage data as two tagged sentences (pyais encoder).

    The payload only changes with the date (ETA month/day), so pyais' output is cached per
    vessel, day and sequence digit; only the tag blocks are made per message.
    """
    when = datetime.fromtimestamp(t_unix, tz=UTC)
    sentences = _static_sentences(ident, when.month, when.day, seq_id % 10, channel)
    gid = seq_id % 1000
    out = []
    for k, s in enumerate(sentences, start=1):
        fields = f"g:{k}-{len(sentences)}-{gid}"
        if k == 1:
            fields += f",c:{t_unix}"
        out.append(tag_block(fields) + s)
    return out


@lru_cache(maxsize=65536)
def _static_sentences(
    ident: Identity, month: int, day: int, seq: int, channel: str
) -> tuple[str, ...]:
    bow = int(round(ident.length_m * 0.8))
    beam = int(round(ident.beam_m))
    data: dict[str, str | int | float | bool | bytes] = {
        "msg_type": 5,
        "repeat": 0,
        "mmsi": ident.mmsi,
        "ais_version": 0,
        "imo": ident.imo,
        "callsign": ident.callsign,
        "shipname": ident.name,
        "ship_type": ident.ship_type,
        "to_bow": min(bow, 511),
        "to_stern": min(int(round(ident.length_m)) - bow, 511),
        "to_port": min(beam // 2, 63),
        "to_starboard": min(beam - beam // 2, 63),
        "epfd": 1,
        "month": month,
        "day": day,
        "hour": 24,
        "minute": 60,
        "draught": ident.draught_m,
        "destination": ident.destination,
        "dte": 0,
    }
    return tuple(
        encode_dict(data, talker_id="AI", sentence_type="VDM", radio_channel=channel, seq_id=seq)
    )


def iter_chunks(
    pos_fields: Callable[[int, int], dict[str, NDArray[np.int64]]],
    pos_t: NDArray[np.int64],
    static_mmsi: NDArray[np.int64],
    static_t: NDArray[np.int64],
    identities: dict[int, Identity],
    chunk: int = 250_000,
) -> Iterator[bytes]:
    """All sentences as byte chunks, in time order (a static message goes before the position
    reports of the same second). Position channels alternate A/B. ``pos_fields(start, stop)``
    gives the integer fields of a slice of reports, so only one chunk is held at a time."""
    n = pos_t.size
    insert_at = np.searchsorted(pos_t, static_t, side="left")
    si = 0
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        sub = pos_fields(start, stop)
        chan = np.where(np.arange(start, stop) % 2 == 0, "A", "B")
        rows = encode_positions(sub, pos_t[start:stop], chan)
        row = start
        while si < static_t.size and insert_at[si] < stop:
            k = int(insert_at[si])
            if k > row:
                yield rows[row - start : k - start].tobytes()
                row = k
            lines = encode_static(identities[int(static_mmsi[si])], int(static_t[si]), si)
            yield ("\n".join(lines) + "\n").encode()
            si += 1
        yield rows[row - start :].tobytes()
    while si < static_t.size:
        lines = encode_static(identities[int(static_mmsi[si])], int(static_t[si]), si)
        yield ("\n".join(lines) + "\n").encode()
        si += 1
