"""Long fuzz run of the NMEA/AIS decoder (``make fuzz``): the suite's properties, many inputs.

Same strategies and property as tests/maritime/test_maritime_fuzz.py (helpers_nmea_fuzz:
every line of the real samples in tests/data/maritime/nmea, mutated byte- and field-wise,
checksums of sentence and tag blocks recomputed; runs of consecutive real lines for the
multipart buffer; arbitrary tag blocks), run through the file path and the live path, each
with engine types and with every type decoded. Hypothesis runs in rounds of fresh seeds until
the time is up; the first input that raises (or breaks the accounting) is shrunk, printed
with a one-line reproducer, and the run exits 1.

    .venv/bin/python bench/fuzz_nmea.py [--minutes 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "maritime"))
from helpers_nmea_fuzz import (  # noqa: E402
    assert_accounted,
    mutated_line,
    mutated_run,
    tagged_line,
)

INPUTS = st.one_of(
    mutated_line().map(lambda line: [line]),
    mutated_run(),
    tagged_line().map(lambda case: [case[1]]),
)
ROUND = 2_000  # examples per hypothesis round


def reproducer(lines: list[bytes]) -> str:
    """Shell lines (run from the repository root) that feed the input to the decoder the
    four ways the fuzz run does; a quoted heredoc, so no byte of it reaches the shell."""
    block = b"\n".join(lines) + b"\n"
    return "\n".join(
        (
            "PYTHONPATH=src .venv/bin/python - <<'EOF'",
            "from trilink.maritime.fastlines import parse_block",
            "from trilink.maritime.nmea import NmeaParser",
            f"block = {block!r}",
            "for t in (None, 1772323200000):",
            "    for d in (False, True):",
            "        parse_block(NmeaParser('x'), block, 1, t, decode_all=d)",
            "EOF",
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0, help="time budget (default 5)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the first round")
    a = ap.parse_args()
    ran = 0
    reasons: Counter[str] = Counter()
    started = time.monotonic()
    deadline = started + a.minutes * 60
    round_no = 0
    failure: tuple[list[bytes], BaseException] | None = None

    def check(lines: list[bytes]) -> None:
        nonlocal ran, failure
        ran += 1
        try:
            reasons.update(assert_accounted(lines))
            reasons.update(assert_accounted(lines, live=True))
        except BaseException as err:
            failure = (lines, err)  # hypothesis shrinks; the last one kept is the smallest
            raise

    while time.monotonic() < deadline:
        run_round = seed(a.seed + round_no)(
            settings(
                max_examples=ROUND,
                deadline=None,
                database=None,
                phases=[Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )(given(INPUTS)(check))
        )
        round_no += 1
        try:
            run_round()
        except BaseException:
            break
    elapsed = time.monotonic() - started
    print(
        f"fuzz_nmea: {ran:,} inputs in {elapsed:.0f} s ({ran / max(elapsed, 1e-9):,.0f}/s), "
        f"{round_no} rounds of up to {ROUND} from seed {a.seed}, each decoded 4 ways "
        "(file and live, engine types and every type)"
    )
    print(
        "malformed records counted, by reason: "
        + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
    )
    if failure is None:
        print("crashes: 0")
        return 0
    lines, err = failure
    print(f"CRASH: {type(err).__name__}: {err}")
    print("".join(traceback.format_exception(err)))
    print(f"input (shrunk): {lines!r}")
    print("reproduce:\n" + reproducer(lines))
    return 1


if __name__ == "__main__":
    sys.exit(main())
