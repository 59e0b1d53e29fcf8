"""AIS payload decoding: assembled payloads → position and static tables.

Second step of the NMEA flow (after ``trilink.maritime.nmea``). Position reports of standard
length (types 1/2/3/18 with 168 bits, type 27 with 96 bits) go through a vectorised numpy
decoder that reproduces pyais' field conversions exactly (integer rounding of lat/lon, tenths
for speed/course); ``tests/maritime/test_maritime_decode.py`` proves it bit-identical to pyais
on every real sample. Every other message (statics 5/19/24, odd lengths, other types) is
decoded by pyais itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from pyais.bit_vector import bit_vector
from pyais.constants import ShipType
from pyais.messages import MSG_CLASS

from trilink.maritime.nmea import NO_TIME, Assembled, ProblemLog
from trilink.maritime.tables import POSITION_SCHEMA, STATIC_SCHEMA, TS, conform

# 6-bit ASCII armoring: '0'..'W' → 0..39, '`'..'w' → 40..63, anything else invalid (255).
ARMOR = np.full(256, 255, dtype=np.uint8)
for _c in range(48, 88):
    ARMOR[_c] = _c - 48
for _c in range(96, 120):
    ARMOR[_c] = _c - 56

_POSITION_TYPES = frozenset({1, 2, 3, 18, 19, 27})
_STATIC_TYPES = frozenset({5, 19, 24})
#: Types the engine uses; the others are counted by type but not decoded unless asked.
ENGINE_TYPES = _POSITION_TYPES | _STATIC_TYPES


@dataclass
class Decoded:
    """Decoded tables of one batch plus counts of message types and problems."""

    positions: pl.DataFrame
    statics: pl.DataFrame
    types: Counter[int] = field(default_factory=Counter)
    fast: int = 0
    slow: int = 0
    skipped: int = 0


def _words(chars6: np.ndarray) -> np.ndarray:
    """Pack rows of 6-bit values into 60-bit words (10 characters per uint64, MSB first)."""
    n, width = chars6.shape
    nwords = (width + 9) // 10
    padded = np.zeros((n, nwords * 10), dtype=np.uint64)
    padded[:, :width] = chars6
    shifts = np.arange(54, -1, -6, dtype=np.uint64)
    words: np.ndarray = (padded.reshape(n, nwords, 10) << shifts).sum(axis=2, dtype=np.uint64)
    return words


def _bits(words: np.ndarray, start: int, width: int, signed: bool = False) -> np.ndarray:
    k, off = divmod(start, 60)
    if off + width <= 60:
        v = (words[:, k] >> np.uint64(60 - off - width)) & np.uint64((1 << width) - 1)
    else:
        lo_width = off + width - 60
        hi = words[:, k] & np.uint64((1 << (60 - off)) - 1)
        lo = words[:, k + 1] >> np.uint64(60 - lo_width)
        v = (hi << np.uint64(lo_width)) | lo
    out = v.astype(np.int64)
    if signed:
        sign = np.int64(1 << (width - 1))
        out = (out ^ sign) - sign
    return out


def _latlon(raw: np.ndarray, numerator: int) -> np.ndarray:
    # pyais: ((numerator * iv + 3) // 6) / 1e6, exact integer rounding then one IEEE division.
    return ((raw * numerator + 3) // 6) / 1e6


def decode168(chars: np.ndarray, mtype: np.ndarray) -> dict[str, np.ndarray]:
    """Fields of 168-bit position reports (types 1/2/3 and 18) from rows of 6-bit values."""
    w = _words(chars)
    b18 = mtype == 18
    lon = np.where(b18, _bits(w, 57, 28, True), _bits(w, 61, 28, True))
    lat = np.where(b18, _bits(w, 85, 27, True), _bits(w, 89, 27, True))
    sog = np.where(b18, _bits(w, 46, 10), _bits(w, 50, 10))
    cog = np.where(b18, _bits(w, 112, 12), _bits(w, 116, 12))
    hdg = np.where(b18, _bits(w, 124, 9), _bits(w, 128, 9))
    return {
        "msg_type": mtype.astype(np.int64),
        "mmsi": _bits(w, 8, 30),
        "lon": _latlon(lon, 10),
        "lat": _latlon(lat, 10),
        "sog_kn": sog / 10.0,
        "cog_deg": cog / 10.0,
        "heading_deg": hdg.astype(np.float64),
    }


def _fast_positions(
    payloads: list[bytes], fills: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Decode the standard-length position reports; returns (mask of those done, columns)."""
    n = len(payloads)
    lengths = np.fromiter((len(p) for p in payloads), dtype=np.int64, count=n)
    first = np.fromiter((p[0] for p in payloads), dtype=np.uint8, count=n)
    mtype = ARMOR[first].astype(np.int64)
    bitlen = lengths * 6 - fills
    is168 = ((mtype == 1) | (mtype == 2) | (mtype == 3) | (mtype == 18)) & (bitlen == 168)
    is96 = (mtype == 27) & (bitlen == 96)
    cols: dict[str, list[np.ndarray]] = {
        k: []
        for k in ("idx", "msg_type", "mmsi", "lat", "lon", "sog_kn", "cog_deg", "heading_deg")
    }
    for mask, width in ((is168, 28), (is96, 16)):
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            continue
        buf = np.frombuffer(b"".join([payloads[i] for i in idx.tolist()]), dtype=np.uint8)
        chars = ARMOR[buf.reshape(idx.size, width)]
        valid = (chars != 255).all(axis=1)
        idx, chars = idx[valid], chars[valid]
        t = mtype[idx]
        cols["idx"].append(idx)
        if width == 28:
            for key, val in decode168(chars, t).items():
                cols[key].append(val)
            continue
        w = _words(chars)
        cols["msg_type"].append(t)
        cols["mmsi"].append(_bits(w, 8, 30))
        cols["lon"].append(_latlon(_bits(w, 44, 18, True), 10000))
        cols["lat"].append(_latlon(_bits(w, 62, 17, True), 10000))
        cols["sog_kn"].append(_bits(w, 79, 6).astype(np.float64))
        cols["cog_deg"].append(_bits(w, 85, 9).astype(np.float64))
        cols["heading_deg"].append(np.full(idx.size, np.nan))
    done = np.zeros(n, dtype=bool)
    if not cols["idx"]:
        return done, {}
    merged = {k: np.concatenate(v) for k, v in cols.items()}
    done[merged["idx"]] = True
    return done, merged


def pyais_message(payload: bytes, fill: int) -> Any:
    """Decode one assembled payload with pyais' own message classes.

    This is the exact call pyais makes after assembling a sentence
    (``MSG_CLASS[ais_id].from_vector(bit_vector(payload, fill))``), without re-parsing NMEA.
    """
    bv = bit_vector(payload, fill)
    return MSG_CLASS[bv.get(0, 6)].from_vector(bv)


# pyais maps reserved type-5 ship type codes onto a neighbouring enum member; mirror it.
_SHIP_TYPE_5 = np.array([int(ShipType.from_value(v) or 0) for v in range(256)], dtype=np.int64)
_SIXBIT = np.array([v + 64 if v < 32 else v for v in range(64)], dtype=np.uint8)


def _text(w: np.ndarray, start: int, nchars: int) -> list[str]:
    """6-bit AIS text per row, cleaned like pyais (``rstrip('@').strip()``)."""
    codes = np.column_stack([_bits(w, start + 6 * j, 6) for j in range(nchars)])
    raw = _SIXBIT[codes]
    return [row.tobytes().decode("ascii").rstrip("@").strip() for row in raw]


def _fast_statics(
    payloads: list[bytes], fills: np.ndarray, candidates: np.ndarray, t_ms: np.ndarray
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Vectorised decode of standard-length statics: type 5 (424 bits), 24A (160/168 bits),
    24B (168 bits, not an auxiliary craft). Returns (indices done, rows as ``_static_row``)."""
    if not candidates.size:
        return candidates, []
    lengths = np.fromiter(
        (len(payloads[i]) for i in candidates.tolist()), np.int64, candidates.size
    )
    first = np.fromiter((payloads[i][0] for i in candidates.tolist()), np.uint8, candidates.size)
    mtype = ARMOR[first]
    bitlen = lengths * 6 - fills[candidates]
    done: list[np.ndarray] = []
    rows: list[dict[str, Any]] = []
    groups = (
        (5, (mtype == 5) & (bitlen == 424)),
        (24, (mtype == 24) & ((bitlen == 160) | (bitlen == 168))),
    )
    for kind, mask in groups:
        sel = candidates[mask]
        if not sel.size:
            continue
        for width in np.unique(lengths[mask]).tolist():
            idx = sel[lengths[mask] == width]
            buf = np.frombuffer(b"".join([payloads[i] for i in idx.tolist()]), dtype=np.uint8)
            chars = ARMOR[buf.reshape(idx.size, width)]
            ok = (chars != 255).all(axis=1)
            idx, chars = idx[ok], chars[ok]
            if not idx.size:
                continue
            w = _words(chars)
            mmsi = _bits(w, 8, 30)
            if kind == 5:
                imo = _bits(w, 40, 30)
                call = _text(w, 70, 7)
                name = _text(w, 112, 20)
                stype = _SHIP_TYPE_5[_bits(w, 232, 8)]
                length = _bits(w, 240, 9) + _bits(w, 249, 9)
                beam = _bits(w, 258, 6) + _bits(w, 264, 6)
                for k in range(idx.size):
                    row: dict[str, Any] = {
                        "mmsi": int(mmsi[k]),
                        "t_ms": int(t_ms[idx[k]]),
                        "name": name[k] or None,
                        "callsign": call[k] or None,
                        "_i": int(idx[k]),
                    }
                    if imo[k]:
                        row["imo"] = int(imo[k])
                    if stype[k]:
                        row["ship_type"] = int(stype[k])
                    if length[k] > 0:
                        row["length_m"] = float(length[k])
                    if beam[k] > 0:
                        row["beam_m"] = float(beam[k])
                    rows.append(row)
                done.append(idx)
                continue
            part = _bits(w, 38, 2)
            aux = (mmsi // 10_000_000) == 98  # auxiliary craft: pyais' other 24B layout
            a_ok = part == 0
            b_ok = (part == 1) & ~aux & (width == 28) & (fills[idx] == 0)
            if a_ok.any():
                names = _text(w[a_ok], 40, 20)
                for k, i in enumerate(np.flatnonzero(a_ok).tolist()):
                    rows.append(
                        {
                            "mmsi": int(mmsi[i]),
                            "t_ms": int(t_ms[idx[i]]),
                            "name": names[k] or None,
                            "_i": int(idx[i]),
                        }
                    )
            if b_ok.any():
                wb = w[b_ok]
                call = _text(wb, 90, 7)
                stype = _bits(wb, 40, 8)
                length = _bits(wb, 132, 9) + _bits(wb, 141, 9)
                beam = _bits(wb, 150, 6) + _bits(wb, 156, 6)
                for k, i in enumerate(np.flatnonzero(b_ok).tolist()):
                    row = {
                        "mmsi": int(mmsi[i]),
                        "t_ms": int(t_ms[idx[i]]),
                        "callsign": call[k] or None,
                        "_i": int(idx[i]),
                    }
                    if stype[k]:
                        row["ship_type"] = int(stype[k])
                    if length[k] > 0:
                        row["length_m"] = float(length[k])
                    if beam[k] > 0:
                        row["beam_m"] = float(beam[k])
                    rows.append(row)
            done.append(idx[a_ok | b_ok])
    if not done:
        return candidates[:0], rows
    return np.concatenate(done), rows


def _static_row(msg: Any, t_ms: int) -> dict[str, Any]:
    """Row of the statics table from a pyais type 5, 19 or 24 message long enough for every
    field read here (``_needed_bits``)."""
    mt = msg.msg_type
    row: dict[str, Any] = {"mmsi": int(msg.mmsi), "t_ms": t_ms}
    if mt == 5:
        row.update(name=msg.shipname, imo=msg.imo, callsign=msg.callsign)
    elif mt == 19 or msg.partno == 0:
        row.update(name=msg.shipname)
    else:
        row.update(callsign=msg.callsign)
    if mt != 24 or msg.partno == 1:
        row["ship_type"] = int(msg.ship_type)
        bow, stern = getattr(msg, "to_bow", None), getattr(msg, "to_stern", None)
        port, stbd = getattr(msg, "to_port", None), getattr(msg, "to_starboard", None)
        if bow is not None and stern is not None and bow + stern > 0:
            row["length_m"] = float(bow + stern)
        if port is not None and stbd is not None and port + stbd > 0:
            row["beam_m"] = float(port + stbd)
    for key in ("name", "callsign"):
        if key in row:
            row[key] = (row[key] or "").strip() or None
    if row.get("imo") in (0, None):
        row.pop("imo", None)
    if row.get("ship_type") == 0:
        row.pop("ship_type", None)
    return row


# pyais reads a field cut by the end of a message from the bits that are there (a garbage
# value) and gives None past the end. The engine reads a field only if the message holds all
# of it; a message that ends before what the engine needs is too short.
# Bits needed per type: positions through lat/lon, statics through the dimensions
# (type 19 through both), other types their MMSI.
_NEEDED_BITS = {1: 116, 2: 116, 3: 116, 18: 112, 27: 79, 5: 270, 19: 301}
_NEEDED_24 = (160, 162)  # part A through the name, part B through the dimensions
# Where speed, course and heading end (a shorter message leaves them empty).
_MOTION_END = {
    1: (60, 128, 137),
    2: (60, 128, 137),
    3: (60, 128, 137),
    18: (56, 124, 133),
    19: (56, 124, 133),
    27: (85, 94, 0),
}


def _needed_bits(msg: Any) -> int:
    mt = msg.msg_type
    if mt == 24:
        return _NEEDED_24[1] if msg.partno == 1 else _NEEDED_24[0]
    return _NEEDED_BITS.get(mt, 38)


def decode_assembled(
    batch: Assembled, source: str, problems: ProblemLog, *, decode_all: bool = False
) -> Decoded:
    """Decode one batch of assembled payloads into position and static tables.

    Messages of types the engine does not use (base stations, binary, safety, ...) are only
    counted by type, unless ``decode_all`` asks pyais to decode (and so validate) them too.
    """
    n = len(batch)
    if n == 0:
        return Decoded(
            conform(pl.DataFrame(), POSITION_SCHEMA), conform(pl.DataFrame(), STATIC_SCHEMA)
        )
    fills = np.asarray(batch.fills, dtype=np.int64)
    t_ms = np.asarray(batch.t_ms, dtype=np.int64)
    lines = np.asarray(batch.lines, dtype=np.int64)
    done, fast = _fast_positions(batch.payloads, fills)
    result = Decoded(
        conform(pl.DataFrame(), POSITION_SCHEMA), conform(pl.DataFrame(), STATIC_SCHEMA)
    )
    if fast:
        result.types.update(fast["msg_type"].tolist())
    result.fast = int(done.sum())
    slow_pos: dict[str, list[Any]] = {
        k: []
        for k in ("idx", "msg_type", "mmsi", "lat", "lon", "sog_kn", "cog_deg", "heading_deg")
    }
    rest = np.flatnonzero(~done)
    if not decode_all and rest.size:
        first = np.fromiter((batch.payloads[i][0] for i in rest.tolist()), np.uint8, rest.size)
        rtype = ARMOR[first]
        used = np.isin(rtype, np.fromiter(ENGINE_TYPES, np.uint8))
        unarmored = rtype == 255
        for i in rest[unarmored].tolist():
            problems.add(source, int(lines[i]), "bad_payload_char", batch.payloads[i][:60])
        skipped = rtype[~used & ~unarmored]
        result.types.update(skipped.tolist())
        result.skipped = int(skipped.size)
        rest = rest[used]
    static_done, static_rows = _fast_statics(batch.payloads, fills, rest, t_ms)
    if static_done.size:
        result.fast += int(static_done.size)
        first_s = np.fromiter(
            (batch.payloads[i][0] for i in static_done.tolist()), np.uint8, static_done.size
        )
        result.types.update(ARMOR[first_s].tolist())
        for srow in static_rows:
            srow["line"] = int(lines[srow.pop("_i")])
        rest = np.setdiff1d(rest, static_done, assume_unique=True)
    for i in rest.tolist():
        payload = batch.payloads[i]
        try:
            msg = pyais_message(payload, int(fills[i]))
        except Exception as err:  # pyais raises many types; each is one bad message
            problems.add(
                source, int(lines[i]), "decode_error", f"{type(err).__name__}: {payload[:60]!r}"
            )
            continue
        mt = int(msg.msg_type)
        bits = len(payload) * 6 - int(fills[i])
        needed = _needed_bits(msg)
        if bits < needed:
            problems.add(
                source,
                int(lines[i]),
                "message_too_short",
                f"type {mt}, {bits} of {needed} bits: {payload[:60]!r}",
            )
            continue
        result.slow += 1
        result.types[mt] += 1
        if mt in _POSITION_TYPES:
            sog_end, cog_end, hdg_end = _MOTION_END[mt]
            sog = msg.speed if bits >= sog_end else None
            cog = msg.course if bits >= cog_end else None
            hdg = getattr(msg, "heading", None) if hdg_end and bits >= hdg_end else None
            slow_pos["idx"].append(i)
            slow_pos["msg_type"].append(mt)
            slow_pos["mmsi"].append(int(msg.mmsi))
            slow_pos["lat"].append(float(msg.lat))
            slow_pos["lon"].append(float(msg.lon))
            slow_pos["sog_kn"].append(None if sog is None else float(sog))
            slow_pos["cog_deg"].append(None if cog is None else float(cog))
            slow_pos["heading_deg"].append(None if hdg is None else float(hdg))
        if mt in _STATIC_TYPES:
            row = _static_row(msg, int(t_ms[i]))
            row["line"] = int(lines[i])
            static_rows.append(row)
    frames = []
    if fast:
        frames.append(pl.DataFrame({k: fast[k] for k in slow_pos}))
    if slow_pos["idx"]:
        frames.append(
            pl.DataFrame(
                slow_pos,
                schema={
                    "idx": pl.Int64,
                    "msg_type": pl.Int64,
                    "mmsi": pl.Int64,
                    "lat": pl.Float64,
                    "lon": pl.Float64,
                    "sog_kn": pl.Float64,
                    "cog_deg": pl.Float64,
                    "heading_deg": pl.Float64,
                },
            )
        )
    if frames:
        pos = pl.concat(frames, how="vertical_relaxed").sort("idx")
        idx = pos.get_column("idx").to_numpy()
        tt = t_ms[idx]
        pos = pos.with_columns(
            pl.Series("timestamp", np.where(tt == NO_TIME, 0, tt)).cast(TS),
            pl.Series("has_t", tt != NO_TIME),
            pl.Series("line", lines[idx]),
            pl.lit(source).alias("source"),
        ).with_columns(
            pl.when(pl.col("has_t")).then(pl.col("timestamp")).alias("timestamp"),
            pl.col("heading_deg").fill_nan(None),
        )
        result.positions = conform(pos.drop("idx", "has_t"), POSITION_SCHEMA).select(
            list(POSITION_SCHEMA)
        )
    if static_rows:
        st = pl.DataFrame(static_rows, infer_schema_length=None)
        tcol = st.get_column("t_ms").to_numpy()
        st = st.with_columns(
            pl.Series("timestamp", np.where(tcol == NO_TIME, 0, tcol)).cast(TS),
            pl.Series("has_t", tcol != NO_TIME),
        ).with_columns(pl.when(pl.col("has_t")).then(pl.col("timestamp")).alias("timestamp"))
        result.statics = conform(st.drop("t_ms", "has_t"), STATIC_SCHEMA).select(
            list(STATIC_SCHEMA)
        )
    return result
