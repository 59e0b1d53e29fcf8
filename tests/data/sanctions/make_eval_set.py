"""Generate the labelled screening evaluation set ``eval_set.csv`` (seeded, reproducible).

Run from the repository root:  .venv/bin/python tests/data/sanctions/make_eval_set.py

Positives are derived from the real lists bundled with trilink (OFAC SDN 2024-05-03, UN 1718
2020-06-04): listed names, aliases and former names, case/spacing/hyphen variants, "NO."
numbering, word order, romanisation variants, one-edit typos, AIS 20-character truncation,
renamed ships found by IMO, MMSI-only sightings, re-flagged ships, and both members of real
sister pairs (JI SONG 6 / JI SONG 8...). Negatives: listed names with another number (sister
ships that are not listed), listed names with a different valid IMO, invalid IMOs (bad check
digit), well-known non-sanctioned ships with their real IMOs (EVER GIVEN 9811000...), the
real vessel identities in AIS static messages of ``ais_static_vessels.csv``, and random
vessel-like names. ``expected_imos`` holds every acceptable IMO (``|``-joined) or, for a
listed vessel without an IMO, ``uid:<list uid>``.
"""

from __future__ import annotations

import csv
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from trilink.sanctions.identifiers import check_imo, imo_check_digit
from trilink.sanctions.io import bundled_lists
from trilink.sanctions.listset import ListSet
from trilink.sanctions.normalize import name_key
from trilink.sanctions.records import VesselRecord

HERE = Path(__file__).resolve().parent
OUT = HERE / "eval_set.csv"
SEED = 20240503
FIELDS = ["case_id", "category", "name", "imo", "mmsi", "flag", "expected_match",
          "expected_imos", "note"]  # fmt: skip
WELL_KNOWN = [
    ("EVER GIVEN", "9811000"), ("EMMA MAERSK", "9321483"), ("MSC OSCAR", "9703291"),
    ("QUEEN MARY 2", "9241061"), ("HARMONY OF THE SEAS", "9682875"), ("EVER ACE", "9893890"),
    ("HMM ALGECIRAS", "9863297"), ("OASIS OF THE SEAS", "9383936"),
    ("MAERSK ALABAMA", "9164263"), ("COSTA CONCORDIA", "9320544"), ("EXXON VALDEZ", "8414520"),
    ("ICON OF THE SEAS", "9829930"), ("MSC IRINA", "9930038"), ("EVER ALOT", "9939137"),
    ("STENA IMPERO", "9685425"), ("ADVANTAGE SWEET", "9255816"), ("SANCHI", "9356608"),
    ("DALI", "9697428"),
]  # fmt: skip
WORDS_A = ["OCEAN", "PACIFIC", "GOLDEN", "BLUE", "SILVER", "NORTHERN", "GRAND", "ROYAL",
           "EASTERN", "BRIGHT", "LUCKY", "GREAT", "SEA", "STAR", "NEW", "JADE", "CORAL",
           "SUNNY", "MORNING", "SWIFT"]  # fmt: skip
WORDS_B = ["PIONEER", "HARMONY", "SPIRIT", "VOYAGER", "TRADER", "EXPRESS", "GLORY", "WAVE",
           "HORIZON", "DRAGON", "PHOENIX", "MERCHANT", "CARRIER", "ISLAND", "FORTUNE",
           "VENTURE", "BREEZE", "LEGEND", "PEARL", "ANCHOR"]  # fmt: skip
# Reverse of the romanisation folds: spellings an AIS operator or analyst may use.
ROMAN_VARIANTS = [
    ("CH", "J"), ("J", "CH"), ("O", "EO"), ("U", "EU"), ("K", "G"), ("G", "K"), ("P", "B"),
    ("B", "P"), ("T", "D"), ("R", "L"), ("S", "SH"),
]  # fmt: skip


def expected_of(v: VesselRecord) -> str:
    return v.imo if v.imo else f"uid:{v.uid}"


def typo(name: str, rng: random.Random) -> str | None:
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    if len(letters) < 2:
        return None
    i = rng.choice(letters)
    op = rng.choice(["sub", "del", "ins", "swap"])
    alpha = "ABCDEFGHIJKLMNOPRSTUVWY"
    if op == "sub":
        return name[:i] + rng.choice([a for a in alpha if a != name[i]]) + name[i + 1 :]
    if op == "del":
        return name[:i] + name[i + 1 :]
    if op == "ins":
        return name[:i] + rng.choice(alpha) + name[i:]
    j = i + 1
    if j < len(name) and name[j].isalpha() and name[j] != name[i]:
        return name[:i] + name[j] + name[i] + name[j + 1 :]
    return name[:i] + rng.choice([a for a in alpha if a != name[i]]) + name[i + 1 :]


def spacing(name: str, rng: random.Random) -> str:
    words = name.split()
    style = rng.choice(["lower", "title", "glue", "hyphen"])
    if style == "lower":
        return name.lower()
    if style == "title":
        return name.title()
    if style == "glue" and len(words) > 1:
        k = rng.randrange(1, len(words))
        return " ".join(words[: k - 1] + [words[k - 1] + words[k]] + words[k + 1 :])
    return "-".join(words) if len(words) > 1 else name.lower()


def numbering(name: str, rng: random.Random) -> str | None:
    if re.search(r"\bNO\b", name):
        return None
    m = re.match(r"^(.*\D)\s+(\d+)$", name)
    if not m:
        return None
    base, num = m.group(1), m.group(2)
    return rng.choice([f"{base} NO. {num}", f"{base} NO.{num}", f"{base} NO {num}",
                       f"{base}{num}", f"{base} No.{num}"])  # fmt: skip


def romanise(name: str, rng: random.Random) -> str | None:
    """Another romanisation of a Korean name (None if the name is not Korean-looking)."""
    if not name_key(name).korean:
        return None
    options = [(a, b) for a, b in ROMAN_VARIANTS if a in name]
    rng.shuffle(options)
    for a, b in options:
        starts = [m.start() for m in re.finditer(a, name)]
        i = rng.choice(starts)
        variant = name[:i] + b + name[i + len(a) :]
        if name_key(variant).korean:
            return variant
    return None


def random_valid_imo(rng: random.Random, taken: set[str]) -> str:
    while True:
        six = f"{rng.randrange(700000, 999999):06d}"
        imo = six + str(imo_check_digit(six))
        if imo not in taken:
            return imo


def main(seed: int = SEED, out: Path = OUT) -> None:
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    ls = ListSet(bundled_lists())
    vessels = ls.vessels
    listed_imos = {v.imo for v in vessels if v.imo}
    keys = defaultdict(set)  # (numsig, compact) -> expected ids, for label checks
    for v in vessels:
        for n, _k in v.all_names():
            k = name_key(n)
            keys[(k.numsig, k.compact)].add(expected_of(v))
    by_imo: dict[str, list[VesselRecord]] = defaultdict(list)
    for v in vessels:
        by_imo[expected_of(v)].append(v)
    dprk = [k for k, vs in by_imo.items()
            if any(v.list_id == "UN-1718" or any(p.startswith("DPRK") for p in v.programmes)
                   for v in vs)]  # fmt: skip
    others = sorted(set(by_imo) - set(dprk))
    idx = np_rng.permutation(len(others))[:120]
    targets = sorted(dprk) + [others[i] for i in sorted(idx.tolist())]
    rows: list[dict[str, str]] = []

    def add(cat: str, name: str = "", imo: str = "", mmsi: str = "", flag: str = "",
            expected: str = "", note: str = "") -> None:  # fmt: skip
        rows.append(dict(case_id=str(len(rows) + 1), category=cat, name=name, imo=imo,
                         mmsi=mmsi, flag=flag, expected_match="true" if expected else "false",
                         expected_imos=expected, note=note))  # fmt: skip

    for key in targets:
        recs = by_imo[key]
        v = recs[0]
        exp = key
        names = list(dict.fromkeys(n for r in recs for n, _k in r.all_names()))

        # name variants only when the name is unambiguous (same key -> only this vessel)
        def unique(n: str, exp: str = exp) -> bool:
            k = name_key(n)
            return keys[(k.numsig, k.compact)] == {exp}

        primary = v.name
        if unique(primary):
            add("exact_name", primary, expected=exp)
            add("case_spacing", spacing(primary, rng), expected=exp)
            if (t := typo(primary, rng)) is not None:
                add("typo", t, expected=exp, note=primary)
            if (r := romanise(primary, rng)) is not None:
                add("romanisation", r, expected=exp, note=primary)
            if (nb := numbering(primary, rng)) is not None:
                add("numbering", nb, expected=exp, note=primary)
            words = [w for w in primary.split() if not re.fullmatch(r"\d+|NO\.?", w)]
            tail = primary.split()[len(words) :] if primary.split()[: len(words)] == words else []
            if len(words) >= 2 and tail == [w for w in primary.split() if w not in words]:
                w2 = words[:]
                rng.shuffle(w2)
                if w2 != words:
                    add("word_order", " ".join(w2 + tail), expected=exp, note=primary)
            flag = rng.choice(["PA", "Sierra Leone", "TGO", "Mongolia"])
            add("reflagged", primary, flag=flag, expected=exp, note="flag differs from list")
            if len(primary) > 20:
                add("ais_truncated", primary[:20], expected=exp, note=primary)
        for alias in names[1:]:
            if unique(alias):
                add("alias_or_former", alias, expected=exp, note=primary)
        if v.imo:
            fake = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)}"
            add("renamed_imo", fake, imo=rng.choice([v.imo, f"IMO {v.imo}", f"IMO{v.imo}"]),
                expected=exp, note="new name, listed IMO")  # fmt: skip
        for r in recs:
            for m in r.mmsis:
                exp_m = "|".join(sorted({expected_of(x) for x in vessels if m in x.mmsis}))
                add("mmsi_only", mmsi=m, expected=exp_m)
        # Negatives built from this vessel
        k = name_key(primary)
        if k.numbers and k.compact:
            for _ in range(3):
                n = str(int(k.numbers[-1]) + rng.choice([1, 2, 3, 5, 7, 10]))
                other = re.sub(r"\d+$", n, primary)
                ok = name_key(other)
                if (ok.numsig, ok.compact) not in keys:
                    add("sister_unlisted", other, note=f"sister of listed {primary}")
                    break
        if v.imo and unique(primary):
            add("imo_conflict", primary, imo=random_valid_imo(rng, listed_imos),
                note="listed name, different valid IMO")  # fmt: skip
            bad = v.imo[:6] + str((int(v.imo[6]) + rng.randrange(1, 10)) % 10)
            assert not check_imo(bad).valid
            while True:
                decoy = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)}"
                dk = name_key(decoy)
                if (dk.numsig, dk.compact) not in keys:
                    break
            add("invalid_imo", decoy, imo=bad, note=f"IMO {v.imo} with a wrong check digit")
    # Real sister pairs on the lists: each must match itself and never its sister.
    groups: dict[str, set[str]] = defaultdict(set)
    for v in vessels:
        k = name_key(v.name)
        if k.compact:
            groups[k.compact].add(v.name)
    for _compact, ns in sorted(groups.items()):
        variants = {name_key(n).numsig for n in ns}
        if len(variants) > 1:
            for n in sorted(ns):
                nk = name_key(n)
                exp = "|".join(sorted(keys[(nk.numsig, nk.compact)]))
                add("sister_pair", n, expected=exp, note="listed sister ship exists")
    for name, imo in WELL_KNOWN:
        if imo in listed_imos:
            sys.stdout.write(f"skip well-known {name}: IMO {imo} is listed\n")
            continue
        add("well_known", name, imo=imo, note="well-known ship, not sanctioned")
        add("well_known_name_only", name, note="well-known ship, not sanctioned")
    with (HERE / "ais_static_vessels.csv").open(newline="") as fh:
        for r in csv.DictReader(fh):
            imo = r["imo"] if r["imo"] and check_imo(r["imo"]).valid else ""
            if imo in listed_imos:
                continue
            add("ais_real", r["name"], imo=imo, mmsi=r["mmsi"], note=r["source_file"])
    made = 0
    while made < 300:
        name = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)}"
        if rng.random() < 0.5:
            name += f" {rng.randrange(1, 40)}"
        k = name_key(name)
        if (k.numsig, k.compact) in keys:
            continue
        add("random_name", name, note="generated vessel-like name")
        made += 1
    with out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    pos = sum(r["expected_match"] == "true" for r in rows)
    sys.stdout.write(
        f"wrote {out}: {len(rows)} cases, {pos} positives, {len(rows) - pos} negatives\n"
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    main(args.seed, args.out)
