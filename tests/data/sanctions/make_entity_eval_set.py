"""Generate the labelled entity-screening evaluation sets (persons and organisations).

Run from the repository root:
    .venv/bin/python tests/data/sanctions/make_entity_eval_set.py            # design set
    .venv/bin/python tests/data/sanctions/make_entity_eval_set.py --seed 2 \\
        --out tests/data/sanctions/entity_eval_set_holdout.csv                # held out

Every case is built from the real lists bundled with trilink plus the real UK OFSI sample
(tests/data/sanctions/uk_ofsi_conlist_sample_2025-04-14.xlsx). A case is a query (name,
type, country, identifier), the lists it is screened against (``lists``, empty = all) and
every acceptable answer (``expected``: entity uids, ``|``-joined; empty = a true negative).
The same person or organisation is often on several lists: the acceptable answers of a
case are every entity *of the same type* that carries one of its names (normalised).

Categories. Positives: ``exact``, ``alias``, ``case_punct`` (case, punctuation, hyphens),
``word_order`` (persons, tokens reversed), ``legal_form`` (organisations: "Co., Ltd" dropped
or added), ``typo`` (1 edit from 10 letters, 2 from 20), ``romanisation`` (Korean names
re-spelt McCune-Reischauer <-> Revised Romanization), ``kana_to_latin`` (the katakana name
the Japan MOF list gives a person, screened against every list *but* MOF, so only the
Latin names of the other lists can answer), ``hangul_to_latin`` (the hangul names of the UK
list, screened against every list but the UK's), ``han`` (kanji/hanzi names as written),
``company_imo`` (an organisation found by its IMO company number, any name),
``passport`` (a person found by a listed passport number, any name). Negatives:
``imo_trap_ship`` (an organisation queried with the *ship* IMO of a listed vessel),
``imo_trap_company`` (a vessel queried with a *company* IMO), ``other_list`` (persons and
organisations of the OFAC non-SDN list, Russia/Ukraine/China programmes, screened against
the other lists; positives when another list carries the same name), ``neg_person`` (first
names and surnames of different listed persons recombined), ``neg_org`` (words of listed
organisation names recombined), both checked to be no listed name.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

from trilink.sanctions.entities import ORGANIZATION, PERSON, VESSEL, entities_of
from trilink.sanctions.entity_screen import entity_key, id_tokens, name_variants
from trilink.sanctions.io import bundled_lists, parse_list_bytes
from trilink.sanctions.normalize import looks_korean
from trilink.sanctions.records import JP_MOF, OFAC_NON_SDN, UK_OFSI, Entity

HERE = Path(__file__).resolve().parent
OUT = HERE / "entity_eval_set.csv"
FIELDS = ["case_id", "category", "schema", "name", "country", "identifier", "lists",
          "expected"]  # fmt: skip
PER_LIST = 25  # entities sampled per list, type and category
KOREAN_SWAPS = [("CH", "J"), ("J", "CH"), ("O", "EO"), ("U", "EU"), ("K", "G"), ("G", "K"),
                ("P", "B"), ("B", "P"), ("T", "D"), ("R", "L"), ("OL", "EOL")]  # fmt: skip
LEGAL_SUFFIXES = [" Co., Ltd.", " Company Limited", " LLC", " Corporation", " Ltd"]


def load() -> list[Entity]:
    lists = bundled_lists()
    uk = HERE / "uk_ofsi_conlist_sample_2025-04-14.xlsx"
    lists.append(parse_list_bytes(uk.read_bytes(), uk.name))
    return [e for sl in lists for e in entities_of(sl)]


def groups(entities: list[Entity]) -> dict[str, set[str]]:
    """uid -> uids of entities of the same type sharing a normalised name (union-find)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_key: dict[tuple[str, str], str] = {}
    for e in entities:
        for n in e.names:
            for variant in name_variants(n.text)[:2]:  # the name, and without (…)
                k = entity_key(variant, e.schema != PERSON)
                keys = [("han", k.han)] if len(k.han) >= 4 else []
                if len(k.compact) >= 4:
                    keys.append(("c", k.compact))
                    if e.schema == PERSON:
                        keys.append(("s", k.sorted))
                for kind, value in keys:
                    key = (e.schema, kind + value)
                    if key in by_key:
                        parent[find(e.uid)] = find(by_key[key])
                    else:
                        by_key[key] = e.uid
    members: dict[str, set[str]] = defaultdict(set)
    for e in entities:
        members[find(e.uid)].add(e.uid)
    return {e.uid: members[find(e.uid)] for e in entities}


def latin(e: Entity, kinds: tuple[str, ...] = ("primary",)) -> list[str]:
    return [n.text for n in e.names if n.script == "Latn" and n.kind in kinds]


def typo(name: str, rng: random.Random) -> str | None:
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    compact = len(re.sub(r"[^A-Za-z]", "", name))
    if compact < 10:
        return None
    out = list(name)
    for _ in range(2 if compact >= 20 else 1):
        letters = [i for i, c in enumerate(out) if c.isalpha()]
        i = rng.choice(letters[1:-1])
        op = rng.choice(["sub", "del", "ins", "swap"])
        if op == "sub":
            out[i] = rng.choice("abcdefghijklmnopqrstuvwxyz")
        elif op == "del":
            del out[i]
        elif op == "ins":
            out.insert(i, rng.choice("aeioulnrst"))
        elif out[i + 1].isalpha():
            out[i], out[i + 1] = out[i + 1], out[i]
    return "".join(out)


def korean_variant(name: str, rng: random.Random) -> str | None:
    words = name.upper().replace("-", " ").split()
    for _ in range(10):
        a, b = rng.choice(KOREAN_SWAPS)
        idx = [i for i, w in enumerate(words) if a in w and looks_korean(w.strip(",."))]
        if idx:
            i = rng.choice(idx)
            pos = words[i].find(a)
            if a == "G" and words[i][pos - 1 : pos] == "N":
                continue  # final NG is never written NK
            words[i] = words[i].replace(a, b, 1)
            out = " ".join(words)
            if out != name.upper():
                return out.title()
    return None


def build(seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    entities = load()
    group = groups(entities)
    by_list: dict[tuple[str, str], list[Entity]] = defaultdict(list)
    for e in entities:
        if e.schema in (PERSON, ORGANIZATION):
            by_list[(e.list_id, e.schema)].append(e)
    listed = {entity_key(n.text, e.schema != PERSON).compact for e in entities for n in e.names}
    cases: list[dict[str, str]] = []

    def case(cat: str, e_schema: str, name: str, expected: set[str], *, country: str = "",
             ident: str = "", lists: str = "") -> None:  # fmt: skip
        cases.append({
            "case_id": str(len(cases) + 1), "category": cat, "schema": e_schema, "name": name,
            "country": country, "identifier": ident, "lists": lists,
            "expected": "|".join(sorted(expected)),
        })  # fmt: skip

    all_lists = sorted({e.list_id for e in entities})
    for (_list_id, schema), ents in sorted(by_list.items()):
        sample = rng.sample(ents, min(PER_LIST, len(ents)))
        for e in sample:
            names = latin(e)
            if not names:
                continue
            name = names[0]
            exp = group[e.uid]
            case("exact", schema, name, exp)
            aliases = latin(e, ("alias",))
            if aliases:
                case("alias", schema, rng.choice(aliases), exp)
            punct = name.lower() if rng.random() < 0.5 else name.upper()
            punct = punct.replace("-", " ").replace(",", "").replace(".", "")
            if punct != name:
                case("case_punct", schema, punct, exp)
            if schema == PERSON and len(name.split()) >= 2:
                case("word_order", schema, " ".join(reversed(name.split())), exp)
            if schema == ORGANIZATION:
                bare = re.sub(r"(?i)[, ]+(co\.?,? ?ltd\.?|company limited|limited|llc|ltd\.?)$",
                              "", name)  # fmt: skip
                variant = bare + rng.choice(LEGAL_SUFFIXES) if bare == name else bare
                if len(entity_key(variant).compact) >= 4:
                    case("legal_form", schema, variant, exp)
            t = typo(name, rng)
            if t:
                case("typo", schema, t, exp)
    # Korean romanisation variants of DPRK persons and organisations
    dprk = [e for e in entities if e.schema in (PERSON, ORGANIZATION)
            and any("DPRK" in p or "Korea" in p or "PRK" in p for p in e.programmes)]  # fmt: skip
    for e in rng.sample(dprk, min(120, len(dprk))):
        names = latin(e)
        if names and entity_key(names[0]).korean:
            v = korean_variant(names[0], rng)
            if v:
                case("romanisation", e.schema, v, group[e.uid])
    # katakana -> Latin: the MOF person's katakana name against the other lists
    others = "|".join(x for x in all_lists if x != JP_MOF)
    mof = [e for e in entities if e.list_id == JP_MOF and e.schema == PERSON
           and e.names[0].script == "Kana"]  # fmt: skip
    for e in rng.sample(mof, min(250, len(mof))):
        exp = {u for u in group[e.uid] if not u.startswith(JP_MOF + ":")}
        case("kana_to_latin", PERSON, e.names[0].text, exp, lists=others)
    # hangul -> Latin (the UK list's hangul names)
    not_uk = "|".join(x for x in all_lists if x != UK_OFSI)
    for e in entities:
        for n in e.names:
            if n.script == "Hang":
                exp = {u for u in group[e.uid] if not u.startswith(UK_OFSI + ":")}
                case("hangul_to_latin", e.schema, n.text, exp, lists=not_uk)
    # Han characters as written
    han = [(e, n.text) for e in entities for n in e.names if n.script == "Hani"]
    for e, text in rng.sample(han, min(40, len(han))):
        case("han", e.schema, text, group[e.uid])
    # identifiers: company IMO (any name), passports, and the IMO traps
    company: dict[str, set[str]] = defaultdict(set)
    for e in entities:
        for num in e.ids("imo_company"):
            company[num].add(e.uid)
    fake = ["Blue Harbour Trading", "Sunrise Logistics", "Northern Star Supply",
            "Pacific Rim Commerce", "Golden Gate Holdings"]  # fmt: skip
    for num, uids in sorted(company.items()):
        case("company_imo", ORGANIZATION, rng.choice(fake), uids, ident=num)
        case("imo_trap_company", VESSEL, rng.choice(fake) + " 7", set(), ident=num)
    ships = sorted({i for e in entities if e.schema == VESSEL for i in e.ids("imo")})
    for num in rng.sample(ships, min(60, len(ships))):
        case("imo_trap_ship", ORGANIZATION, rng.choice(fake), set(), ident=num)
    passports = [(e, p) for e in entities if e.schema == PERSON for p in e.ids("passport")
                 if len(re.sub(r"\W", "", p)) >= 6]  # fmt: skip
    holders: dict[str, set[str]] = defaultdict(set)
    for e in entities:  # every entity holding the number, whatever the kind of document
        for ident in e.identifiers:
            for tok in id_tokens(ident.value):
                holders[tok].add(e.uid)
    for e, p in rng.sample(passports, min(60, len(passports))):
        exp = set(group[e.uid]).union(*(holders[t] for t in id_tokens(p)))
        case("passport", PERSON, "Unknown Person", exp, ident=p)
    # other lists' non-DPRK entries against the rest
    not_ns = "|".join(x for x in all_lists if x != OFAC_NON_SDN)
    ns = [e for e in entities if e.list_id == OFAC_NON_SDN]
    for e in rng.sample(ns, min(200, len(ns))):
        exp = {u for u in group[e.uid] if not u.startswith(OFAC_NON_SDN + ":")}
        case("other_list", e.schema, e.name, exp, lists=not_ns)
    # recombined negatives
    persons = [latin(e)[0].split() for e in entities if e.schema == PERSON and latin(e)
               and len(latin(e)[0].split()) >= 2 and "DPRK" not in e.programmes]  # fmt: skip
    made = 0
    while made < 300:
        a, b = rng.sample(persons, 2)
        name = f"{a[0]} {b[-1]}"
        if entity_key(name, False).compact in listed or len(name) < 8:
            continue
        case("neg_person", PERSON, name, set())
        made += 1
    org_words = [w for e in entities if e.schema == ORGANIZATION for t in latin(e)
                 for w in t.split() if len(w) > 3 and w.isalpha()]  # fmt: skip
    made = 0
    while made < 300:
        name = " ".join(rng.sample(org_words, rng.choice([2, 3]))).title()
        name += rng.choice(["", " Co., Ltd.", " LLC", " Trading Company"])
        if entity_key(name).compact in listed:
            continue
        case("neg_org", ORGANIZATION, name, set())
        made += 1
    return cases


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    cases = build(args.seed)
    with args.out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, FIELDS)
        w.writeheader()
        w.writerows(cases)
    cats = defaultdict(int)
    for c in cases:
        cats[c["category"]] += 1
    sys.stdout.write(f"{args.out}: {len(cases)} cases {dict(sorted(cats.items()))}\n")


if __name__ == "__main__":
    main()
