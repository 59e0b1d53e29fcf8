"""Benchmark and evaluation of entity screening (persons, organisations, suppliers);
writes docs/benchmarks/sanctions_entities.md.

Run:  .venv/bin/python bench/bench_sanctions_entities.py [--queries 20000]

Same run, same queries, same machine:
* trilink ``EntityScreener.screen_many`` against every person, organisation and vessel of the
  lists bundled with trilink plus the real UK OFSI sample (the set the labelled cases were
  built from: tests/data/sanctions/make_entity_eval_set.py);
* the plain rapidfuzz baseline: ``process.extractOne(name, all_names, scorer=WRatio,
  processor=default_process, score_cutoff=90)`` over the same names (names only: it has no
  identifiers, no types, no scripts).
Quality (precision, recall per entity type and per category) of both on the design and the
held-out labelled sets.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from rapidfuzz import fuzz, process, utils

import nomenklatura_baseline
from bench_sanctions import machine
from nomenklatura_baseline import names_of
from trilink.sanctions.entity_screen import EntityQuery, EntityScreener
from trilink.sanctions.evaluate import EvalReport, evaluate_entities

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "sanctions"
DOC = ROOT / "docs" / "benchmarks" / "sanctions_entities.md"
SETS = ("entity_eval_set.csv", "entity_eval_set_holdout.csv")
CUTOFF = 90.0


def load_cases(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def to_query(c: dict[str, str]) -> EntityQuery:
    return EntityQuery(
        name=c["name"],
        country=c["country"],
        schema=c["schema"],
        identifier=c["identifier"],
        lists=tuple(x for x in c["lists"].split("|") if x),
    )


def baseline_quality(entities: list, cases: list[dict[str, str]]) -> tuple[float, float]:
    """The baseline as a screener: the entity of the best WRatio name >= cutoff (names only),
    among the lists the case is screened against."""
    by_filter: dict[str, tuple[list[str], list[str]]] = {}
    tp = fp = pos = 0
    for c in cases:
        names, owner = names_of(entities, c["lists"], by_filter)
        expected = {x for x in c["expected"].split("|") if x}
        pos += bool(expected)
        got = None
        if c["name"]:
            best = process.extractOne(utils.default_process(c["name"]), names,
                                      scorer=fuzz.WRatio, processor=None,
                                      score_cutoff=CUTOFF)  # fmt: skip
            got = owner[best[2]] if best else None
        if got is not None:
            if got in expected:
                tp += 1
            else:
                fp += 1
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / pos if pos else 1.0)


def time_trilink(
    screener: EntityScreener, queries: list[EntityQuery], workers: int = 1
) -> tuple[float, float]:
    best_wall = best_cpu = float("inf")
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        if workers > 1:  # the whole batch at once, as `sanctions screen --csv` does
            screener.screen_many(queries, workers=workers)
        for start in range(0, len(queries), 2000) if workers == 1 else ():
            screener.screen_many(queries[start : start + 2000])
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return len(queries) / best_wall, len(queries) / best_cpu


def time_baseline(entities: list, queries: list[EntityQuery], limit_s: float = 60.0) -> float:
    names = [utils.default_process(n.text) for e in entities for n in e.names]
    t0 = time.perf_counter()
    done = 0
    for q in queries:
        if q.name:
            process.extractOne(utils.default_process(q.name), names, scorer=fuzz.WRatio,
                               processor=None, score_cutoff=CUTOFF)  # fmt: skip
        done += 1
        if time.perf_counter() - t0 > limit_s:
            break
    return done / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=20000)
    args = ap.parse_args()
    sys.path.insert(0, str(DATA))
    from make_entity_eval_set import load

    t0 = time.perf_counter()
    entities = load()
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    screener = EntityScreener(entities)
    t_index = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reports: dict[str, EvalReport] = {}
    base: dict[str, tuple[float, float]] = {}
    nomenklatura: dict[str, tuple[float, float, float]] = {}
    for name in SETS:
        cases = load_cases(name)
        reports[name] = evaluate_entities(screener, cases)
        base[name] = baseline_quality(entities, cases)
        if nomenklatura_baseline.available():
            nomenklatura[name] = nomenklatura_baseline.quality(screener, entities, cases,
                                                               to_query)  # fmt: skip
    rng = random.Random(1)
    pool = [to_query(c) for name in SETS for c in load_cases(name)]
    mixed = [rng.choice(pool) for _ in range(args.queries)]
    # suppliers that are not listed: the common case in a supply-chain screening run
    clean = [to_query(c) for name in SETS for c in load_cases(name)
             if c["category"] in ("neg_org", "neg_person")]  # fmt: skip
    clean = [rng.choice(clean) for _ in range(args.queries)]
    mixed_rate = time_trilink(screener, mixed)
    clean_rate = time_trilink(screener, clean)
    forked_rate = time_trilink(screener, mixed, workers=2)
    base_rate = time_baseline(entities, mixed)
    write_doc(entities, screener, t_load, t_index, rss_mb, reports, base, mixed_rate,
              clean_rate, base_rate, args.queries, nomenklatura, forked_rate)  # fmt: skip


def write_doc(entities, screener, t_load, t_index, rss_mb, reports, base, mixed_rate,
              clean_rate, base_rate, n, nomenklatura,
              forked_rate) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    per_list: dict[str, int] = defaultdict(int)
    for e in entities:
        per_list[e.list_id] += 1
    lines = [
        "# Entity screening (persons, organisations, suppliers): speed and quality",
        "",
        f"Generated by `bench/bench_sanctions_entities.py` on "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M')} UTC.",
        f"Machine: {machine()}.",
        "",
        f"Entities: {len(entities):,} ("
        + ", ".join(f"{k} {v:,}" for k, v in sorted(per_list.items()))
        + f"), {screener.name_count:,} indexed names; parsing the lists took {t_load:.1f} s,"
        f" building the index {t_index:.1f} s; peak memory of the process {rss_mb:,.0f} MB.",
        "",
        "## Speed (same run, same queries)",
        "",
        f"{n:,} queries drawn (seed 1) from the two labelled sets (*mixed*: positives,"
        " negatives, kana/hangul, identifiers), and "
        f"{n:,} drawn from their negatives only (*not listed*: recombined real names, the"
        " common case when screening suppliers). trilink: best of 3 passes in batches of"
        " 2,000; baseline: one pass of at most 60 s, names only.",
        "",
        "| workload | trilink /s wall (CPU) | baseline extractOne /s wall |",
        "|---|---:|---:|",
        f"| mixed | {mixed_rate[0]:,.0f} ({mixed_rate[1]:,.0f}) | {base_rate:,.0f} |",
        f"| not listed | {clean_rate[0]:,.0f} ({clean_rate[1]:,.0f}) | — |",
        f"| mixed, two forked worker processes (`screen_many(workers=2)`, what `sanctions"
        f" screen --csv` does) | {forked_rate[0]:,.0f} (parent only) | — |",
        "",
        "## Quality on the labelled sets",
        "",
        "Built from the real lists by `tests/data/sanctions/make_entity_eval_set.py`: the"
        " design set (seed 1) was looked at while choosing the rules; the held-out set (seed"
        " 2) was generated afterwards (two fixes came after it: a transliterated name equal to"
        " a Latin one is reported as `name-romanised`, and N before M/P is folded across"
        " words; both found by unit tests, not by its cases). Both sets were generated again"
        " with the same seeds on 2026-12-07, when many-word legal forms joined the key the"
        " generator groups entities by; the held-out set was measured after each of that"
        " day's two rule changes (docs/sanctions.md). A match to an entity that is not"
        " among the case's acceptable answers is a false positive. The baseline sees names"
        " only (it cannot use identifiers or the entity type).",
        "",
        "| set | cases | positives | trilink precision | trilink recall | baseline precision |"
        " baseline recall |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in reports.items():
        bp, br = base[name]
        lines.append(
            f"| {name} | {r.cases:,} | {r.positives:,} | {r.precision:.4f} | {r.recall:.4f} |"
            f" {bp:.4f} | {br:.4f} |"
        )
    if nomenklatura:
        lines += [
            "",
            f"nomenklatura's `{nomenklatura_baseline.ALGORITHM}` matcher (OpenSanctions, the"
            " scorer behind yente's /match), same cases, same lists: each case's candidates are"
            " trilink's 20 best-scored entities and rapidfuzz's 10 best names, as FtM; the best"
            f" candidate scoring at least {nomenklatura_baseline.THRESHOLD} is its answer"
            " (yente's default threshold).",
            "",
            "| set | nomenklatura precision | nomenklatura recall | seconds |",
            "|---|---:|---:|---:|",
        ]
        for name, (np_, nr, sec) in nomenklatura.items():
            lines.append(f"| {name} | {np_:.4f} | {nr:.4f} | {sec:.0f} |")
    lines += [
        "",
        "Per entity type and category (design set / held-out set), trilink:",
        "",
        "| category | cases | true pos | false pos | false neg | precision | recall |",
        "|---|---|---|---|---|---|---|",
    ]
    a, b = (reports[s].by_category for s in SETS)
    for cat in sorted(set(a) | set(b)):
        x, y = a.get(cat), b.get(cat)
        if x is None or y is None:
            continue

        def p(c) -> str:  # type: ignore[no-untyped-def]
            d = c.true_pos + c.false_pos
            return f"{c.true_pos / d:.3f}" if d else "—"

        def rc(c) -> str:  # type: ignore[no-untyped-def]
            return f"{c.true_pos / c.positives:.3f}" if c.positives else "—"

        lines.append(
            f"| {cat} | {x.cases} / {y.cases} | {x.true_pos} / {y.true_pos} |"
            f" {x.false_pos} / {y.false_pos} | {x.false_neg} / {y.false_neg} |"
            f" {p(x)} / {p(y)} | {rc(x)} / {rc(y)} |"
        )
    lines += [
        "",
        "Screening against 1,000,000 synthetic FollowTheMoney entities:"
        " `bench/bench_entities_scale.py` (docs/benchmarks/sanctions_scale.md).",
        "",
    ]
    DOC.write_text("\n".join(lines), "utf-8")
    sys.stdout.write(f"{DOC} written\n")


if __name__ == "__main__":
    main()
