"""Benchmark and evaluation of `trilink.sanctions` screening; writes docs/benchmarks/sanctions.md.

Run:  .venv/bin/python bench/bench_sanctions.py [--queries 20000]

Same run, same queries, same machine:
* trilink `Screener.screen_many` (ID indexes, normalised-name dicts, rapidfuzz ``cdist`` in
  number-signature and length blocks) against (a) every vessel of the bundled lists (OFAC SDN
  2024-05-03: 851 vessels of all programmes; UN 1718: 59) and (b) every name of every entry
  of the full lists (all 14,965 SDN entries and 1,018 UN consolidated entries + the vessels);
* the plain rapidfuzz baseline: ``process.extractOne(name, all_names, scorer=WRatio,
  processor=default_process)`` over the same name sets.
Quality (precision, recall, sister-ship merges) of both on the labelled sets in
tests/data/sanctions/.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process, utils

from trilink.sanctions.evaluate import evaluate
from trilink.sanctions.io import bundled_lists
from trilink.sanctions.listset import ListSet
from trilink.sanctions.normalize import name_key
from trilink.sanctions.records import VesselRecord
from trilink.sanctions.screen import Query, Screener

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "sanctions"
DOC = ROOT / "docs" / "benchmarks" / "sanctions.md"
BASELINE_CUTOFF = 90.0


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in out.splitlines()
                if ln.startswith("Model name")
            ),
            "?",
        )
    except (OSError, subprocess.CalledProcessError):
        model = platform.processor() or "?"
    return f"{model}, {os.cpu_count()} logical cores, Python {platform.python_version()}"


def load_cases(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def all_entry_records(ls: ListSet) -> list[VesselRecord]:
    """Every entry of every list as a name record (stress test: screen against everything)."""
    out = list(ls.vessels)
    for sl in ls.lists.values():
        for p in sl.parties:
            out.append(
                VesselRecord(
                    list_id=p.list_id, entry_id=p.entry_id, name=p.name, aliases=p.aliases
                )  # fmt: skip
            )
    return out


def workload(cases: list[dict[str, str]], n: int, seed: int) -> list[Query]:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(cases), size=n)
    return [
        Query(
            name=cases[i]["name"],
            imo=cases[i]["imo"],
            mmsi=cases[i]["mmsi"],
            flag=cases[i]["flag"],
        )  # fmt: skip
        for i in idx.tolist()
    ]


def time_trilink(
    screener: Screener, queries: list[Query], repeats: int = 5
) -> tuple[float, float]:
    """(screenings per wall-clock second, per CPU second of this process), best of repeats."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for start in range(0, len(queries), 2000):
            screener.screen_many(queries[start : start + 2000])
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return len(queries) / best_wall, len(queries) / best_cpu


def baseline_choices(records: list[VesselRecord]) -> tuple[list[str], list[int]]:
    names: list[str] = []
    owner: list[int] = []
    for i, v in enumerate(records):
        for n, _k in v.all_names():
            names.append(n)
            owner.append(i)
    return names, owner


def time_baseline(
    names: list[str], queries: list[Query], limit_s: float = 60.0
) -> tuple[float, float]:
    processed = [utils.default_process(n) for n in names]
    t0, c0 = time.perf_counter(), time.process_time()
    done = 0
    for q in queries:
        if q.name:
            process.extractOne(utils.default_process(q.name), processed, scorer=fuzz.WRatio,
                               processor=None, score_cutoff=BASELINE_CUTOFF)  # fmt: skip
        done += 1
        if time.perf_counter() - t0 > limit_s:
            break
    return done / (time.perf_counter() - t0), done / (time.process_time() - c0)


def baseline_quality(records: list[VesselRecord], cases: list[dict[str, str]]) -> dict[str, float]:
    """The baseline as a screener: best WRatio name >= cutoff is the match (names only)."""
    names, owner = baseline_choices(records)
    processed = [utils.default_process(n) for n in names]
    tp = fp = pos = merges = 0
    for c in cases:
        expected = {e for e in c["expected_imos"].split("|") if e}
        pos += bool(expected)
        got = None
        if c["name"]:
            hit = process.extractOne(utils.default_process(c["name"]), processed,
                                     scorer=fuzz.WRatio, processor=None,
                                     score_cutoff=BASELINE_CUTOFF)  # fmt: skip
            if hit is not None:
                v = records[owner[hit[2]]]
                got = v.imo or f"uid:{v.uid}"
                q = name_key(c["name"])
                k = name_key(hit[0])
                if q.compact == k.compact and q.numsig != k.numsig:
                    merges += 1
        if got is not None and got in expected:
            tp += 1
        elif got is not None:
            fp += 1
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / pos if pos else 1.0,
        "sister_merges": float(merges),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=20000)
    args = parser.parse_args()

    load_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    ls = ListSet(bundled_lists())
    load_s = time.perf_counter() - t0
    dev, holdout = load_cases("eval_set.csv"), load_cases("eval_set_holdout.csv")
    queries = workload(dev + holdout, args.queries, seed=1)
    names_only = [Query(name=q.name) for q in queries if q.name]

    rows = []
    for label, records in (("vessels of all lists", ls.vessels),
                           ("every entry of the full lists", all_entry_records(ls))):  # fmt: skip
        t0 = time.perf_counter()
        screener = Screener(records)
        build_s = time.perf_counter() - t0
        names, _owner = baseline_choices(records)
        tri_mixed = time_trilink(screener, queries)
        tri_names = time_trilink(screener, names_only)
        base = time_baseline(names, names_only)
        rows.append((label, len(records), len(names), build_s, tri_mixed, tri_names, base))
        print(f"{label}: {len(records)} records, {len(names)} names, index {build_s:.2f} s")
        print(f"  trilink mixed {tri_mixed[0]:,.0f}/s wall ({tri_mixed[1]:,.0f}/s CPU), "
              f"names only {tri_names[0]:,.0f}/s wall ({tri_names[1]:,.0f}/s CPU); "
              f"baseline extractOne {base[0]:,.0f}/s wall ({base[1]:,.0f}/s CPU)")  # fmt: skip

    screener = Screener(ls.vessels)
    quality = []
    for label, cases in (("eval_set.csv (design set)", dev),
                         ("eval_set_holdout.csv (held out)", holdout)):  # fmt: skip
        rep = evaluate(screener, cases)
        base = baseline_quality(ls.vessels, cases)
        quality.append((label, rep, base))
        print(f"{label}: trilink P={rep.precision:.4f} R={rep.recall:.4f} "
              f"merges={rep.sister_merges}; baseline P={base['precision']:.4f} "
              f"R={base['recall']:.4f} merges={base['sister_merges']:.0f}")  # fmt: skip
    load = (load_start, os.getloadavg()[0])
    write_doc(args.queries, load_s, rows, quality, load)
    print(f"wrote {DOC}")


def write_doc(
    n: int,
    load_s: float,
    rows: list,
    quality: list,
    load: tuple[float, float],  # type: ignore[type-arg]
) -> None:
    lines = [
        "# Sanctions screening: speed and quality",
        "",
        f"Generated by `bench/bench_sanctions.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"Machine: {machine()}.",
        "",
        "Lists: every list bundled in `src/trilink/sanctions/data/` (OFAC SDN 2024-05-03:",
        "14,965 entries, 851 vessels of all programmes; UN 1718 vessels 2020-06-04: 59; EU",
        "2017/1509 annexes 2025-12-17: 75 vessel listings; UN Consolidated List 2026-02-27,",
        "OFAC non-SDN, Japan MOF and METI: no vessels). *Every entry* adds the persons and",
        "organisations of OFAC SDN and the UN consolidated list as names;",
        f"parsing all the lists took {load_s:.2f} s.",
        "",
        "## Speed (same run, same queries)",
        "",
        f"{n:,} queries drawn (seed 1) from the two labelled sets: names with and without IMO,",
        "MMSI and flag, positives and negatives. *Names only* drops the identifiers so that",
        "every query goes through name matching. The baseline is plain rapidfuzz",
        "`process.extractOne(name, all_names, scorer=WRatio, "
        f"score_cutoff={BASELINE_CUTOFF:.0f})`",
        "with `default_process`, one query at a time, names only, over the same names.",
        "",
        "Rates are screenings per second of wall-clock time, and in brackets per second of",
        "CPU time of the benchmark process (all its threads); trilink: best of 5 passes in",
        "batches of 2,000 (as the CLI does), index already built; baseline: one pass of at",
        "most 60 s. The machine is shared: the",
        f"1-minute load average was {load[0]:.1f} at the start and {load[1]:.1f} at the end of",
        "the run on 2 logical cores, so wall-clock rates are depressed by other processes; the",
        "CPU-time rate is what the code costs.",
        "",
        "| target set | records | names | index build s | trilink mixed /s |"
        " trilink names only /s | baseline extractOne /s | speed-up (names, wall) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, recs, names, build_s, mixed, only, base in rows:
        lines.append(
            f"| {label} | {recs:,} | {names:,} | {build_s:.2f} |"
            f" {mixed[0]:,.0f} ({mixed[1]:,.0f}) | {only[0]:,.0f} ({only[1]:,.0f}) |"
            f" {base[0]:,.0f} ({base[1]:,.0f}) | {only[0] / base[0]:.0f}x |"
        )
    lines += [
        "",
        "## Quality on the labelled sets",
        "",
        "Sets built from the real lists by `tests/data/sanctions/make_eval_set.py` (seeded):",
        "the design set was used while choosing the rules; the held-out set (another seed) was",
        "generated after the rules were frozen (later changes: speed, and which of several",
        "equally good records is shown first; neither changed these numbers). A match to the",
        "wrong vessel counts as a false",
        "positive; a sister-ship merge is a match to a vessel whose name differs from the",
        "expected one only by its number. Goal: precision >= 0.98, recall >= 0.95, 0 merges.",
        "",
        "| set | cases | positives | trilink precision | trilink recall | trilink merges |"
        " baseline precision | baseline recall | baseline merges |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, rep, base in quality:
        lines.append(
            f"| {label} | {rep.cases:,} | {rep.positives:,} | {rep.precision:.4f} |"
            f" {rep.recall:.4f} | {rep.sister_merges} | {base['precision']:.4f} |"
            f" {base['recall']:.4f} | {base['sister_merges']:.0f} |"
        )
    lines += ["", "Per category (design set / held-out set), trilink:", "",
              "| category | cases | true pos | false pos | false neg |",
              "|---|---|---|---|---|"]  # fmt: skip
    (_l1, dev, _b1), (_l2, hold, _b2) = quality
    for cat in dev.by_category:
        a, b = dev.by_category[cat], hold.by_category.get(cat)
        if b is None:
            continue
        lines.append(
            f"| {cat} | {a.cases} / {b.cases} | {a.true_pos} / {b.true_pos} |"
            f" {a.false_pos} / {b.false_pos} | {a.false_neg} / {b.false_neg} |"
        )
    lines += [
        "",
        "Misses are mostly one-letter typos in names of 6 letters or fewer (`AN SAN 1` ->",
        "`PAN SAN 1`): by design such short names only match exactly, because a one-letter",
        "change in a short name is usually another ship (GILDA/GILLA, YU JONG/YU SONG).",
        "The one false positive in `ais_real` (both sets) is a real AIS vessel named HAWK",
        "(name only, no IMO) and the listed HAWK: a name-only hit an officer must confirm.",
        "",
        "The baseline is names only (it has no identifier logic), so it cannot find the",
        "`renamed_imo` and `mmsi_only` cases, which explains part of its lower recall; its",
        "merges column shows what a plain fuzzy match does to sister ships (JI SONG 6 taken",
        "for JI SONG 8), which trilink's number rule forbids.",
        "",
    ]
    DOC.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
