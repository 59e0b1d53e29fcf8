"""`trilink sanctions ...`: command-line edge of `trilink.sanctions`.

Screens vessels (one, or a CSV of many) against the lists in force, explains every match,
updates the lists (refusing damaged files) and shows what is loaded. Only this module talks
to a node (``--publish``).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from trilink.cli.common import (
    client_for,
    console,
    err_console,
    input_path,
    is_stdio,
    progress,
    read_input_bytes,
    write_output,
)
from trilink.errors import ConfigError, InputError

if TYPE_CHECKING:
    import msgspec

    from trilink.model.payloads.sanctions import ListVersion, SanctionsListChangePayload
    from trilink.sanctions.entity_screen import EntityQuery, EntityResult, EntityScreener
    from trilink.sanctions.listset import ListDiff, ListSet
    from trilink.sanctions.register import RegisterHit
    from trilink.sanctions.screen import Query, ScreenResult

app = typer.Typer(
    help="Sanctions and export-control screening of vessels, persons and organisations"
    " against the lists in force (OFAC, UN, Japan MOF and METI, EU DPRK; UK OFSI if installed).",
    no_args_is_help=True,
)

OUT_COLUMNS = (
    "row",
    "matched",
    "list",
    "list_id",
    "matched_name",
    "matched_imo",
    "score",
    "reason",
)
IN_COLUMNS = ("name", "imo", "mmsi", "flag")
ENTITY_IN_COLUMNS = ("name", "country", "type", "identifier")
ENTITY_OUT_COLUMNS = (
    "row",
    "matched",
    "list",
    "list_id",
    "type",
    "matched_name",
    "listed_name",
    "score",
    "rule",
    "reason",
)
MAX_FIELD = 200  # longer than any vessel name or identifier: the row is garbage
CHUNK = 2000

DataDirOption = typer.Option(
    None,
    "--data-dir",
    help="Directory holding the lists in force (default: $TRILINK_SANCTIONS_DIR or "
    "~/.local/share/trilink/sanctions; empty means the lists bundled with trilink).",
    file_okay=False,
)
PublishOption = typer.Option(
    False, "--publish", help="Also publish the findings as reports on a node (needs --nation)."
)
NodeDirOption = typer.Option(
    Path("demo-net"), "--dir", help="Network directory made by 'trilink net up'.", file_okay=False
)
NationOpt = typer.Option(None, "--nation", help="Publishing node: USA, JPN or KOR.")
LabelOption = typer.Option(
    "UNCLASSIFIED//REL TO USA, JPN, KOR",
    "--label",
    help="Security label of published reports (the lists themselves are public).",
)


def _lists(data_dir: Path | None) -> ListSet:
    from trilink.sanctions.io import ActiveLists

    return ActiveLists(data_dir).load()


def _versions(ls: ListSet) -> list[ListVersion]:
    from trilink.model.payloads.sanctions import ListVersion

    return [
        ListVersion(list_id=sl.list_id, published=sl.published, sha256=sl.sha256)
        for sl in ls.lists.values()
    ]


def _publish(
    root: Path, nation: str | None, kind: str, label: str, payloads: Sequence[msgspec.Struct]
) -> list[str]:
    if nation is None:
        raise ConfigError("--publish needs --nation (USA, JPN or KOR) and --dir")
    with client_for(root, nation) as client:
        return client.publish_payloads(kind, label, payloads).ids


# -- screen -------------------------------------------------------------------------------


@app.command("screen")
def screen(
    csv_in: Path = typer.Option(
        None,
        "--csv",
        help="CSV with columns name,imo,mmsi,flag (any may be empty); - reads stdin.",
        dir_okay=False,
    ),
    out: Path = typer.Option(
        None,
        "--out",
        help="Output CSV, one row per input row (needs --csv); - writes it to stdout.",
        dir_okay=False,
    ),
    name: str = typer.Option("", "--name", help="Vessel name as seen (AIS, report)."),
    imo: str = typer.Option("", "--imo", help="IMO number, with or without 'IMO'."),
    mmsi: str = typer.Option("", "--mmsi", help="9-digit MMSI."),
    call_sign: str = typer.Option("", "--call-sign", help="Radio call sign."),
    flag: str = typer.Option("", "--flag", help="Flag state (name, ISO alpha-2 or alpha-3)."),
    entities: bool = typer.Option(
        False,
        "--entities",
        help="Screen persons and organisations (and vessels) instead: the CSV has the columns"
        " name,country,type,identifier; one party with --name [--type --country --identifier].",
    ),
    entity_type: str = typer.Option(
        "", "--type", help="With --entities: person, organisation (company) or vessel."
    ),
    country: str = typer.Option("", "--country", help="With --entities: country of the party."),
    identifier: str = typer.Option(
        "",
        "--identifier",
        help="With --entities: passport, registration, IMO company/ship number, SWIFT/BIC.",
    ),
    encoding: str = typer.Option(
        "utf-8", "--encoding", help="Encoding of the CSV (e.g. cp932 for Shift-JIS, euc_kr)."
    ),
    only_lists: str = typer.Option(
        "",
        "--lists",
        help="With --entities: screen against these lists only, comma-separated (e.g."
        " JP-MOF,JP-METI-EUL); default every list in force.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    data_dir: Path = DataDirOption,
    publish: bool = PublishOption,
    node_dir: Path = NodeDirOption,
    nation: str = NationOpt,
    label: str = LabelOption,
) -> None:
    """Is this vessel a sanctioned one? Exact IMO/MMSI first, then names (spacing, 'NO.',
    word order, Korean romanisation, small typos). Every match says which fields and rule
    decided it. Two different valid IMOs never match; JI SONG 6 never matches JI SONG 8.
    With --entities: is this person, company or supplier listed? Names across scripts (kana,
    hangul, kanji) and romanisations, legal forms and word order ignored, identifiers first;
    a ship IMO never matches a company."""
    from trilink.sanctions.hits import hit_payload
    from trilink.sanctions.screen import Query, Screener

    if entities:
        if csv_in is not None:
            if out is None:
                raise InputError("--csv needs --out OUT.csv for the results", field="--out")
            _screen_entities_csv(csv_in, out, data_dir, encoding, publish, node_dir, nation,
                                 label, only_lists)  # fmt: skip
            return
        _screen_one_entity(name, entity_type, country, identifier or imo, data_dir, as_json,
                           publish, node_dir, nation, label, only_lists)  # fmt: skip
        return
    if csv_in is not None:
        if out is None:
            raise InputError("--csv needs --out OUT.csv (or - for stdout) for the results",
                             field="--out")  # fmt: skip
        _screen_csv(csv_in, out, data_dir, publish, node_dir, nation, label, as_json)
        return
    if not any(v.strip() for v in (name, imo, mmsi, call_sign)):
        raise InputError(
            "nothing to screen: give --csv IN.csv --out OUT.csv, or --name/--imo/--mmsi"
        )
    ls = _lists(data_dir)
    result = Screener(ls.vessels).screen(Query(name, imo, mmsi, call_sign, flag))
    if as_json:
        console.print_json(json.dumps(_result_json(result, ls)))
    else:
        _explain(result, ls)
    if publish and result.matched:
        payload = hit_payload({"type": "screening"}, [("screened", result)],
                              lists=_versions(ls), parties_of=ls.parties_of)  # fmt: skip
        assert payload is not None
        ids = _publish(node_dir, nation, "sanctions.hit", label, [payload])
        console.print(f"published sanctions.hit {ids[0]}")


def _result_json(res: ScreenResult, ls: ListSet) -> dict[str, Any]:
    def match(m: Any) -> dict[str, Any]:
        v = m.vessel
        return {
            "list": v.list_id,
            "list_id": v.entry_id,
            "listed_name": v.name,
            "matched_name": m.matched_name,
            "imo": v.imo,
            "score": m.score,
            "rule": m.rule,
            "reason": m.reason,
            "also_listed": list(m.also_listed),
            "programmes": list(v.programmes),
            "linked_parties": [f"{p.name} ({p.uid})" for p in ls.parties_of(v)],
            "companies": [
                {"uid": e.uid, "name": e.name, "company_imo": e.ids("imo_company"), "how": how}
                for e, how in ls.companies_of(v)
            ],
        }

    return {
        "query": {
            "name": res.query.name,
            "imo": res.query.imo,
            "mmsi": res.query.mmsi,
            "call_sign": res.query.call_sign,
            "flag": res.query.flag,
        },  # fmt: skip
        "matched": res.matched,
        "best": match(res.best) if res.best else None,
        "candidates": [match(m) for m in res.candidates],
        "excluded": list(res.excluded),
        "issues": list(res.issues),
    }


def _print_evidence(evidence: Sequence[Any]) -> None:
    """Which field, by which rule and score, decided a match (vessels and entities alike)."""
    from rich.table import Table

    table = Table("field", "rule", "score", "why", show_lines=False)
    for x in evidence:
        table.add_row(x.field, x.rule, f"{x.score:.1f}" if x.score else "", x.detail)
    console.print(table)


def _explain(res: ScreenResult, ls: ListSet) -> None:

    for issue in res.issues:
        console.print(f"[yellow]input:[/] {issue}")
    if not res.matched or res.best is None:
        console.print("[bold green]NO MATCH[/] against the lists in force")
    else:
        m = res.best
        v = m.vessel
        console.print(
            f"[bold red]MATCH[/] {v.list_id} entry {v.entry_id}: [bold]{v.name}[/]"
            f"{f'  IMO {v.imo}' if v.imo else ''}  score {m.score:.1f}  rule [bold]{m.rule}[/]"
        )
        _print_evidence(m.evidence)
        facts = [
            ("also listed", ", ".join(m.also_listed)),
            ("aliases / former names", ", ".join(v.aliases + v.former_names)),
            ("flags", ", ".join(v.flags)),
            ("MMSIs", ", ".join(v.mmsis)),
            ("call signs", ", ".join(v.call_signs)),
            ("type", v.vessel_type or ""),
            ("programmes", ", ".join(v.programmes)),
            ("measures", ", ".join(v.measures)),
            (
                "linked",
                "; ".join(f"{p.name} ({p.uid})" for p in ls.parties_of(v))
                or "; ".join(v.linked_to),
            ),  # fmt: skip
        ]
        for label, value in facts:
            if value:
                console.print(f"  {label}: {value}")
        for org, how in ls.companies_of(v):
            cimo = ", ".join(org.ids("imo_company"))
            extra = f", company IMO {cimo}" if cimo else ""
            console.print(f"  company: {org.name} ({org.uid}{extra}) - {how}")
        for other in res.candidates[1:]:
            console.print(
                f"  other candidate: {other.vessel.uid} {other.vessel.name!r} "
                f"score {other.score:.1f} ({other.rule})"
            )
    for ex in res.excluded:
        console.print(f"[dim]excluded: {ex}[/]")


def _decode(raw: bytes, path: Path, encoding: str = "utf-8") -> str:
    """The CSV text. A file that is not in the stated encoding is refused, naming the
    encoding it reads as (Shift-JIS, EUC-KR) so the user can say so with --encoding."""
    enc = "utf-8-sig" if encoding.lower().replace("-", "") in ("utf8", "utf8sig") else encoding
    try:
        return raw.decode(enc)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}", field="--encoding") from None
    except UnicodeDecodeError as err:
        guesses = []
        for cand, label in (("cp932", "Shift-JIS (cp932)"), ("euc_kr", "EUC-KR")):
            try:
                raw.decode(cand)
                guesses.append(f"{label}: --encoding {cand}")
            except UnicodeDecodeError:
                pass
        hint = f"; it reads as {' or '.join(guesses)}" if guesses else ""
        raise InputError(
            f"not {encoding} text (byte {err.start}){hint}; or save it as UTF-8", path=str(path)
        ) from None


MAX_SCREEN_CSV = 512 * 1024 * 1024


def _read_rows(path: Path) -> tuple[list[Query | None], list[str]]:
    """Queries (None for a garbage row) and one problem line per garbage row; ``-`` reads
    standard input."""
    from trilink.sanctions.screen import Query

    raw = read_input_bytes(path, MAX_SCREEN_CSV, what="vessels CSV")
    if b"\0" in raw[:65536]:
        raise InputError("not a CSV file (binary data); expected a header name,imo,mmsi,flag",
                         path=str(path))  # fmt: skip
    text = raw.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("the file is empty; expected a header name,imo,mmsi,flag",
                         path=str(path)) from None  # fmt: skip
    cols = [h.strip().lower() for h in header]
    if not set(cols) & set(IN_COLUMNS):
        raise InputError(
            f"header {header!r} has none of the columns name,imo,mmsi,flag", path=str(path), line=1
        )
    # call_sign is optional: screened when present, never required.
    where = {c: cols.index(c) for c in (*IN_COLUMNS, "call_sign") if c in cols}
    queries: list[Query | None] = []
    problems: list[str] = []
    for n, row in enumerate(reader, start=1):
        line = reader.line_num
        problem = None
        if len(row) > len(cols) and any(x.strip() for x in row[len(cols) :]):
            problem = f"{len(row)} fields, the header has {len(cols)}"
        elif any("\ufffd" in x for x in row):
            problem = "not valid UTF-8 text"
        elif any(len(x) > MAX_FIELD for x in row):
            problem = f"a field is longer than {MAX_FIELD} characters"
        elif any(ch < " " for x in row for ch in x):
            problem = "control characters in a field"
        if problem is not None:
            problems.append(f"row {n} (line {line}): {problem}; not screened")
            queries.append(None)
            continue
        vals = {c: (row[i].strip() if i < len(row) else "") for c, i in where.items()}
        queries.append(
            Query(
                name=vals.get("name", ""),
                imo=vals.get("imo", ""),
                mmsi=vals.get("mmsi", ""),
                call_sign=vals.get("call_sign", ""),
                flag=vals.get("flag", ""),
            )
        )
    return queries, problems


def _screen_csv(
    csv_in: Path,
    out: Path,
    data_dir: Path | None,
    publish: bool,
    node_dir: Path,
    nation: str | None,
    label: str,
    as_json: bool = False,
) -> None:
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn

    from trilink.sanctions.hits import hit_payload
    from trilink.sanctions.screen import Screener

    queries, problems = _read_rows(csv_in)
    ls = _lists(data_dir)
    screener = Screener(ls.vessels)
    good = [(i, q) for i, q in enumerate(queries) if q is not None]
    results: dict[int, ScreenResult] = {}
    with progress(
        TextColumn("screening"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
    ) as bar:  # fmt: skip
        task = bar.add_task("screen", total=len(good))
        for start in range(0, len(good), CHUNK):
            chunk = good[start : start + CHUNK]
            for (i, _q), res in zip(chunk, screener.screen_many([q for _i, q in chunk]),
                                    strict=True):  # fmt: skip
                results[i] = res
            bar.advance(task, len(chunk))
    matched = 0
    text = io.StringIO(newline="")
    w = csv.writer(text)
    w.writerow(OUT_COLUMNS)
    for i in range(len(queries)):
        got = results.get(i)
        w.writerow(_out_row(i + 1, got, problems))
        matched += bool(got and got.matched)
    try:
        write_output(out, text.getvalue())
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror}", path=str(out)) from None
    for problem in problems:
        err_console.print(f"[yellow]{csv_in}: {problem}[/]", markup=True, highlight=False)
    issues = sum(1 for r in results.values() if r.issues)
    # the results may be on stdout: the summary then goes to stderr
    say = err_console if is_stdio(out) else console
    if as_json:
        summary = {"rows": len(queries), "screened": len(results), "matched": matched,
                   "garbage_rows": len(problems), "unusable_identifiers": issues,
                   "out": str(out), "problems": problems}  # fmt: skip
        say.print(json.dumps(summary), markup=False, highlight=False)
    else:
        say.print(
            f"screened {len(results)} of {len(queries)} rows: [bold]{matched} matched[/], "
            f"{len(problems)} garbage rows, {issues} rows with unusable identifiers -> "
            f"{'stdout' if is_stdio(out) else out}"
        )
    if publish and matched:
        payloads = [
            p
            for r in results.values()
            if r.matched
            and (
                p := hit_payload(
                    {"type": "screening"},
                    [("screened", r)],
                    lists=_versions(ls),
                    parties_of=ls.parties_of,
                )
            )
            is not None  # fmt: skip
        ]
        ids = _publish(node_dir, nation, "sanctions.hit", label, payloads)
        say.print(f"published {len(ids)} sanctions.hit reports")


def _out_row(row: int, res: ScreenResult | None, problems: list[str]) -> list[str]:
    if res is None:
        why = next((p for p in problems if p.startswith(f"row {row} ")), "garbage row")
        return [str(row), "false", "", "", "", "", "", f"not screened: {why}"]
    notes = "; ".join(res.issues)
    if not res.matched or res.best is None:
        return [str(row), "false", "", "", "", "", "", notes]
    m = res.best
    reason = f"rule {m.rule}: {m.reason}" + (f"; {notes}" if notes else "")
    return [str(row), "true", m.vessel.list_id, m.vessel.entry_id, m.matched_name,
            m.vessel.imo or "", f"{m.score:.1f}", reason]  # fmt: skip


# -- entities (persons, organisations, suppliers) ------------------------------------------


def _entity_screener(ls: ListSet) -> EntityScreener:
    from trilink.sanctions.entity_screen import EntityScreener

    return EntityScreener(ls.entities)


def _entity_query(
    name: str, kind: str, country: str, identifier: str, lists: tuple[str, ...] = ()
) -> tuple[EntityQuery, str]:
    from trilink.sanctions.entity_screen import EntityQuery, parse_schema

    schema = parse_schema(kind)
    problem = ""
    if schema is None:
        problem = f"type {kind!r} is not person, organisation or vessel; screened as any type"
        schema = ""
    query = EntityQuery(
        name=name, country=country, schema=schema, identifier=identifier, lists=lists
    )
    return query, problem


def _list_filter(ls: ListSet, text: str) -> tuple[str, ...]:
    wanted = tuple(x.strip().upper() for x in text.split(",") if x.strip())
    unknown = [x for x in wanted if x not in ls.lists]
    if unknown:
        raise InputError(
            f"--lists names {', '.join(unknown)}, not in force; lists in force:"
            f" {', '.join(sorted(ls.lists))}",
            field="--lists",
        )
    return wanted


def _screen_parties(
    ls: ListSet, queries: Sequence[EntityQuery]
) -> list[EntityResult | ScreenResult]:
    """Vessels go through the vessel screener (its rules and measured quality); persons and
    organisations through the entity screener."""
    from trilink.sanctions.screen import Query, Screener

    out: list[EntityResult | ScreenResult | None] = [None] * len(queries)
    vessel_idx = [i for i, q in enumerate(queries) if q.schema == "Vessel"]
    if vessel_idx:
        vq = [Query(name=queries[i].name, imo=queries[i].identifier, flag=queries[i].country)
              for i in vessel_idx]  # fmt: skip
        only = set(queries[vessel_idx[0]].lists)
        vessels = [v for v in ls.vessels if not only or v.list_id in only]
        for i, res in zip(vessel_idx, Screener(vessels).screen_many(vq), strict=True):
            out[i] = res
    other = [i for i, q in enumerate(queries) if q.schema != "Vessel"]
    if other:
        # a large file is screened by one forked process per core, sharing the index
        found = _entity_screener(ls).screen_many([queries[j] for j in other],
                                                 workers=os.cpu_count() or 1)  # fmt: skip
        for i, eres in zip(other, found, strict=True):
            out[i] = eres
    return [r for r in out if r is not None]


def _screen_one_entity(
    name: str, kind: str, country: str, identifier: str, data_dir: Path | None, as_json: bool,
    publish: bool, node_dir: Path, nation: str | None, label: str, only_lists: str = "",
) -> None:  # fmt: skip
    from trilink.sanctions.entity_hits import entity_hit_payload
    from trilink.sanctions.screen import Query, Screener

    if not name.strip() and not identifier.strip():
        raise InputError("nothing to screen: give --name and/or --identifier, or --csv IN.csv")
    ls = _lists(data_dir)
    query, problem = _entity_query(name, kind, country, identifier, _list_filter(ls, only_lists))
    if query.schema == "Vessel":
        vessels = [v for v in ls.vessels if not query.lists or v.list_id in query.lists]
        vres = Screener(vessels).screen(Query(name=name, imo=identifier, flag=country))
        console.print_json(json.dumps(_result_json(vres, ls))) if as_json else _explain(vres, ls)
        return
    res = _entity_screener(ls).screen(query)
    if as_json:
        console.print_json(json.dumps(_entity_json(res, problem)))
    else:
        _explain_entity(res, problem)
    if publish and res.matched:
        payload = entity_hit_payload(res, lists=_versions(ls))
        assert payload is not None
        ids = _publish(node_dir, nation, "sanctions.hit", label, [payload])
        console.print(f"published sanctions.hit {ids[0]}")


def _entity_json(res: EntityResult, problem: str = "") -> dict[str, Any]:
    def match(m: Any) -> dict[str, Any]:
        e = m.entity
        return {
            "list": e.list_id,
            "list_id": e.entry_id,
            "type": e.schema,
            "listed_name": e.name,
            "matched_name": m.matched_name,
            "names": [{"text": n.text, "kind": n.kind, "script": n.script} for n in e.names],
            "identifiers": [f"{i.kind}:{i.value}" for i in e.identifiers],
            "countries": list(e.countries),
            "programmes": list(e.programmes),
            "score": m.score,
            "rule": m.rule,
            "reason": m.reason,
            "evidence": [
                {"field": x.field, "rule": x.rule, "score": x.score, "detail": x.detail}
                for x in m.evidence
            ],
        }

    q = res.query
    return {
        "query": {
            "name": q.name,
            "country": q.country,
            "type": q.schema,
            "identifier": q.identifier,
        },  # fmt: skip
        "matched": res.matched,
        "best": match(res.best) if res.best else None,
        "candidates": [match(m) for m in res.candidates[:10]],
        "issues": [*res.issues, *([problem] if problem else [])],
    }


def _explain_entity(res: EntityResult, problem: str = "") -> None:
    for issue in [*res.issues, *([problem] if problem else [])]:
        console.print(f"[yellow]input:[/] {issue}")
    if not res.matched or res.best is None:
        console.print("[bold green]NO MATCH[/] against the lists in force")
    else:
        m = res.best
        e = m.entity
        console.print(
            f"[bold red]MATCH[/] {e.list_id} entry {e.entry_id} ({e.schema}): [bold]{e.name}[/]"
            f"  score {m.score:.1f}  rule [bold]{m.rule}[/]"
        )
        _print_evidence(m.evidence)
        others = "; ".join(f"{n.text} ({n.script})" for n in e.names[1:12])
        facts = [
            ("other names", others),
            ("identifiers", ", ".join(f"{i.kind} {i.value}" for i in e.identifiers[:10])),
            ("countries", ", ".join(e.countries[:6])),
            ("programmes", ", ".join(e.programmes[:6])),
            ("listed on", ", ".join(e.listed_on)),
            ("linked", ", ".join(e.linked[:12])),
        ]
        for key, value in facts:
            if value:
                console.print(f"  {key}: {value}")
    for other in res.candidates[1:6]:
        console.print(
            f"  candidate: {other.entity.uid} {other.entity.name!r} score {other.score:.1f}"
            f" ({other.rule})"
        )


def _read_entity_rows(
    path: Path, encoding: str, lists: tuple[str, ...] = ()
) -> tuple[list[tuple[EntityQuery, str] | None], list[str]]:

    try:
        raw = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", path=str(path)) from None
    text = _decode(raw, path, encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("the file is empty; expected a header name,country,type,identifier",
                         path=str(path)) from None  # fmt: skip
    cols = [h.strip().lower() for h in header]
    if "name" not in cols and "identifier" not in cols:
        raise InputError(
            f"header {header!r} has neither a name nor an identifier column;"
            " expected name,country,type,identifier",
            path=str(path),
            line=1,
        )
    where = {c: cols.index(c) for c in ENTITY_IN_COLUMNS if c in cols}
    rows: list[tuple[EntityQuery, str] | None] = []
    problems: list[str] = []
    for n, row in enumerate(reader, start=1):
        line = reader.line_num
        problem = None
        if len(row) > len(cols) and any(x.strip() for x in row[len(cols) :]):
            problem = f"{len(row)} fields, the header has {len(cols)}"
        elif any(len(x) > MAX_FIELD * 2 for x in row):
            problem = f"a field is longer than {MAX_FIELD * 2} characters"
        elif any(ch < " " for x in row for ch in x):
            problem = "control characters in a field"
        if problem is not None:
            problems.append(f"row {n} (line {line}): {problem}; not screened")
            rows.append(None)
            continue
        vals = {c: (row[i].strip() if i < len(row) else "") for c, i in where.items()}
        rows.append(
            _entity_query(
                vals.get("name", ""),
                vals.get("type", ""),
                vals.get("country", ""),
                vals.get("identifier", ""),
                lists,
            )
        )
    return rows, problems


def _screen_entities_csv(
    csv_in: Path, out: Path, data_dir: Path | None, encoding: str, publish: bool,
    node_dir: Path, nation: str | None, label: str, only_lists: str = "",
) -> None:  # fmt: skip

    from trilink.sanctions.entity_hits import entity_hit_payload
    from trilink.sanctions.entity_screen import EntityResult
    from trilink.sanctions.hits import hit_payload

    ls = _lists(data_dir)
    rows, problems = _read_entity_rows(csv_in, encoding, _list_filter(ls, only_lists))
    good = [(i, r) for i, r in enumerate(rows) if r is not None]
    results = dict(
        zip([i for i, _r in good], _screen_parties(ls, [r[0] for _i, r in good]), strict=True)
    )
    matched = 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(ENTITY_OUT_COLUMNS)
            for i in range(len(rows)):
                got = results.get(i)
                entry = rows[i]
                w.writerow(_entity_out_row(i + 1, got, entry[1] if entry else "", problems))
                matched += bool(got and got.matched)
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror}", path=str(out)) from None
    for p in problems:
        err_console.print(f"[yellow]{csv_in}: {p}[/]")
    console.print(
        f"screened {len(results)} of {len(rows)} rows: [bold]{matched} matched[/], "
        f"{len(problems)} garbage rows -> {out}"
    )
    if publish and matched:
        versions = _versions(ls)
        payloads: list[msgspec.Struct] = []
        for r in results.values():
            if not r.matched:
                continue
            if isinstance(r, EntityResult):
                payload = entity_hit_payload(r, lists=versions)
            else:
                payload = hit_payload({"type": "screening"}, [("screened", r)], lists=versions,
                                      parties_of=ls.parties_of)  # fmt: skip
            if payload is not None:
                payloads.append(payload)
        ids = _publish(node_dir, nation, "sanctions.hit", label, payloads)
        console.print(f"published {len(ids)} sanctions.hit reports")


def _entity_out_row(
    row: int, res: EntityResult | ScreenResult | None, problem: str, problems: list[str]
) -> list[str]:
    from trilink.sanctions.screen import ScreenResult

    if res is None:
        why = next((p for p in problems if p.startswith(f"row {row} ")), "garbage row")
        return [str(row), "false", "", "", "", "", "", "", "", f"not screened: {why}"]
    notes = "; ".join([*res.issues, *([problem] if problem else [])])
    if not res.matched or res.best is None:
        return [str(row), "false", "", "", "", "", "", "", "", notes]
    if isinstance(res, ScreenResult):
        m = res.best
        v = m.vessel
        reason = f"{m.reason}" + (f"; {notes}" if notes else "")
        return [str(row), "true", v.list_id, v.entry_id, "Vessel", m.matched_name, v.name,
                f"{m.score:.1f}", m.rule, reason]  # fmt: skip
    em = res.best
    e = em.entity
    reason = em.reason + (f"; {notes}" if notes else "")
    return [str(row), "true", e.list_id, e.entry_id, e.schema, em.matched_name, e.name,
            f"{em.score:.1f}", em.rule, reason]  # fmt: skip


# -- supply-chain register ------------------------------------------------------------------


def _rescreen(
    client: Any, nation: str, ls: ListSet, *, source: str
) -> tuple[int, list[tuple[RegisterHit, str]]]:
    """Screen this nation's registered parties (its own ``sanctions.party`` reports) against
    the lists in force and publish the hits not reported before; returns (parties screened,
    [(hit, report id)])."""
    import msgspec

    from trilink.model.label import parse_label
    from trilink.model.payloads.sanctions import PartyPayload, SanctionsHitPayload
    from trilink.sanctions.hits import derived_label
    from trilink.sanctions.register import (
        EXPORT_CONTROL_HIT,
        PARTY,
        SANCTIONS_HIT,
        listed_uids,
        screen_register,
    )

    rows = [r for r in client.reports(kind=PARTY, origin=nation) if not r["tombstone"]]
    parties = [(r["id"], msgspec.convert(r["payload"], PartyPayload)) for r in rows]
    labels = {r["id"]: r["label"] for r in rows}
    already: set[tuple[str, str]] = set()
    for kind in (SANCTIONS_HIT, EXPORT_CONTROL_HIT):
        for r in client.reports(kind=kind, origin=nation):
            if r["tombstone"]:
                continue
            uids = listed_uids(msgspec.convert(r["payload"], SanctionsHitPayload))
            already |= {(party, uid) for party in r["derived_from"] for uid in uids}
    hits = screen_register(_entity_screener(ls), parties, lists=_versions(ls), source=source,
                           already=already)  # fmt: skip
    published: list[tuple[RegisterHit, str]] = []
    for hit in hits:
        label = str(derived_label(parse_label(labels[hit.party_id])))
        done = client.publish_payloads(hit.kind, label, [hit.payload],
                                       derived_from=[[hit.party_id]])  # fmt: skip
        published.append((hit, done.ids[0]))
    return len(parties), published


def _print_register_hits(published: Sequence[tuple[RegisterHit, str]]) -> None:
    from rich.table import Table

    if not published:
        console.print("no party matches a list in force")
        return
    table = Table("kind", "party", "listed", "rule", "score", "report")
    for hit, report_id in published:
        e = hit.payload.entities[0]
        table.add_row(hit.kind, f"{e.role} {e.seen.name or e.seen.identifier}",
                      f"{e.listed.name} ({hit.listed_uid})", e.rule, f"{e.score:.0f}",
                      report_id)  # fmt: skip
    console.print(table)


def _register_json(published: Sequence[tuple[RegisterHit, str]]) -> list[dict[str, Any]]:
    return [
        {"kind": hit.kind, "report": report_id, "party": hit.party_id, "listed": hit.listed_uid,
         "rule": hit.payload.entities[0].rule, "score": hit.payload.entities[0].score,
         "explanation": hit.payload.explanation}
        for hit, report_id in published
    ]  # fmt: skip


@app.command("register")
def register(
    csv_in: Path = typer.Option(
        ...,
        "--csv",
        help="Parties to register: role,name,country,type,identifier,goods,hs_code,reference "
        "(role: supplier, end-user, transaction, consignee, manufacturer, customer, "
        "intermediary); - reads standard input.",
    ),
    node_dir: Path = NodeDirOption,
    nation: str = typer.Option(..., "--nation", help="Registering node: USA, JPN or KOR."),
    label: str = typer.Option(
        ..., "--label", help='Label of the register entries, e.g. "SECRET//REL TO USA, JPN".'
    ),
    data_dir: Path = DataDirOption,
    encoding: str = typer.Option("utf-8", "--encoding", help="Encoding of the CSV."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Register suppliers, end users and transaction parties in this nation's supply-chain
    register (one sanctions.party report each, under --label) and screen them against the
    lists in force: each match is published as an exportcontrol.hit (METI End User List) or
    sanctions.hit derived from the party, under the party's label. `sanctions update
    --publish` and `sanctions rescreen` screen the register again."""
    from trilink.sanctions.errors import SanctionsInputError
    from trilink.sanctions.register import PARTY, parse_register_csv

    raw = read_input_bytes(csv_in, MAX_SCREEN_CSV, what="register CSV")
    try:
        parties, problems = parse_register_csv(_decode(raw, csv_in, encoding))
    except SanctionsInputError as err:
        raise InputError(str(err), path=str(csv_in)) from None
    for problem in problems:
        err_console.print(f"[yellow]{csv_in}: {problem}; not registered[/]")
    if not parties:
        raise InputError("no party to register (every row was refused)", path=str(csv_in))
    ls = _lists(data_dir)
    with client_for(node_dir, nation) as client:
        ids = client.publish_payloads(PARTY, label, [p for _row, p in parties]).ids
        screened, published = _rescreen(client, nation, ls, source="registration")
    if as_json:
        doc = {"registered": [{"row": row, "report": rid, "name": p.name, "role": p.role}
                              for (row, p), rid in zip(parties, ids, strict=True)],
               "refused": [str(p) for p in problems], "screened": screened,
               "hits": _register_json(published)}  # fmt: skip
        typer.echo(json.dumps(doc, ensure_ascii=False))
        return
    console.print(f"registered {len(ids)} parties ({len(problems)} rows refused); "
                  f"screened {screened} registered parties of {nation}")  # fmt: skip
    _print_register_hits(published)


@app.command("rescreen")
def rescreen(
    node_dir: Path = NodeDirOption,
    nation: str = typer.Option(..., "--nation", help="Node whose register to screen."),
    data_dir: Path = DataDirOption,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Screen this nation's supply-chain register again against the lists in force and
    publish the hits not reported before (`sanctions update --publish` does it too)."""
    ls = _lists(data_dir)
    with client_for(node_dir, nation) as client:
        screened, published = _rescreen(client, nation, ls, source="list-change")
    if as_json:
        typer.echo(json.dumps({"screened": screened, "hits": _register_json(published)}))
        return
    console.print(f"screened {screened} registered parties of {nation}: "
                  f"{len(published)} new hits")  # fmt: skip
    _print_register_hits(published)


# -- update / lists -------------------------------------------------------------------------


@app.command("update")
def update(
    files: list[Path] = typer.Argument(
        ...,
        help="Newer list files (sdn.csv, 1718 HTML, XML, .gz ok); - reads one from stdin.",
        exists=False,
        dir_okay=False,
    ),  # fmt: skip
    data_dir: Path = DataDirOption,
    published: str = typer.Option(
        None, "--published", help="Publication date YYYY-MM-DD (OFAC's CSV does not carry one)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Accept a list that lost more than half of its vessels."
    ),
    diff_out: Path = typer.Option(
        None, "--diff-json", help="Also write the diffs as JSON to this file; - for stdout."
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print one JSON object instead of tables: each list put in force (with its diff) "
        "and each file refused.",
    ),
    list_id: str = typer.Option(
        None,
        "--list-id",
        help="Name of the list a FollowTheMoney file holds (default: its dataset, "
        "us_ofac_sdn -> US-OFAC-SDN).",
    ),
    publish: bool = PublishOption,
    node_dir: Path = NodeDirOption,
    nation: str = NationOpt,
    label: str = LabelOption,
) -> None:
    """Put newer lists in force and show what changed (vessels added, removed, renamed).
    Also reads FollowTheMoney JSON lines (an OpenSanctions dataset export) as a list.
    A damaged or truncated file is refused and the list in force stays as it was."""
    import msgspec

    from trilink.sanctions.io import ActiveLists

    store = ActiveLists(data_dir)
    if as_json and is_stdio(diff_out):
        raise InputError("--json and --diff-json - would both print to stdout",
                         field="diff-json")  # fmt: skip
    diffs: list[tuple[ListDiff, str]] = []
    refused: list[str] = []
    if sum(1 for p in files if is_stdio(p)) > 1:
        raise InputError("- (standard input) can be given only once")
    for given in files:
        try:
            with input_path(given, what="list file") as path:
                new, diff = store.install(
                    path, published=published, force=force,
                    list_id=list_id.strip().upper() if list_id else None,
                )  # fmt: skip
        except InputError as err:
            refused.append(str(err))
            err_console.print(f"[bold red]refused[/] {err}; the list in force is unchanged")
            continue
        diffs.append((diff, new.sha256))
        if not is_stdio(diff_out) and not as_json:
            _print_diff(diff, given)
    if diff_out is not None:
        write_output(diff_out, json.dumps([msgspec.to_builtins(d) for d, _s in diffs], indent=2))
    ids: list[str] = []
    rescreened: list[tuple[RegisterHit, str]] = []
    if publish and diffs:
        payloads = [_change_payload(d, sha) for d, sha in diffs]
        ids = _publish(node_dir, nation, "sanctions.list-change", label, payloads)
        # the register is screened again against the lists now in force
        with client_for(node_dir, nation) as client:
            screened, rescreened = _rescreen(client, nation, store.load(), source="list-change")
        if not as_json:
            console.print(
                f"published {len(ids)} sanctions.list-change reports; re-screened"
                f" {screened} registered parties: {len(rescreened)} new hits"
            )
            if rescreened:
                _print_register_hits(rescreened)
    if as_json:
        installed = [{**msgspec.to_builtins(d), "sha256": sha} for d, sha in diffs]
        doc = {"installed": installed, "refused": refused, "published": ids,
               "rescreen_hits": _register_json(rescreened)}  # fmt: skip
        typer.echo(json.dumps(doc, ensure_ascii=False))
    if refused:
        raise typer.Exit(code=2)


def _change_payload(d: ListDiff, sha: str) -> SanctionsListChangePayload:
    from trilink.model.payloads.sanctions import ListChange, SanctionsListChangePayload

    return SanctionsListChangePayload(
        list_id=d.list_id, old_published=d.old_published, new_published=d.new_published,
        sha256=sha, old_vessels=d.old_vessels, new_vessels=d.new_vessels,
        added=d.count("added"), removed=d.count("removed"), renamed=d.count("renamed"),
        changed=d.count("changed"), old_entries=d.old_entries, new_entries=d.new_entries,
        changes=[ListChange(change=c.change, key=c.key, name=c.name, old_name=c.old_name,
                            details=c.details) for c in d.changes[:2000]],
    )  # fmt: skip


def _print_diff(d: ListDiff, path: Path) -> None:
    from rich.table import Table

    console.print(
        f"[bold]{d.list_id}[/] from {path}: {d.old_vessels} -> {d.new_vessels} vessels, "
        f"{d.old_entries} -> {d.new_entries} persons/organisations "
        f"(published {d.old_published or '?'} -> {d.new_published or '?'}): "
        f"{d.count('added')} added, {d.count('removed')} removed, "
        f"{d.count('renamed')} renamed, {d.count('changed')} changed"
    )
    if not d.changes:
        return
    table = Table("change", "entry", "name", "was / details")
    for c in d.changes[:200]:
        table.add_row(c.change, c.key, c.name, c.old_name or c.details)
    console.print(table)
    if len(d.changes) > 200:
        console.print(f"... and {len(d.changes) - 200} more (use --diff-json)")


@app.command("export")
def export(
    out: Path = typer.Option(
        ..., "--out", help="FollowTheMoney JSON lines file to write; - for stdout."
    ),
    data_dir: Path = DataDirOption,
    only: str = typer.Option(
        "", "--lists", help="Comma-separated list ids to export (default: every list in force)."
    ),
) -> None:
    """Write the lists in force as FollowTheMoney entities (Person, Organization, Vessel,
    each with a Sanction), one JSON object per line, for tools that speak FtM (yente,
    nomenklatura, Aleph)."""
    from trilink.cli.common import output_file
    from trilink.sanctions.ftm import write_ftm

    ls = _lists(data_dir)
    chosen = _list_filter(ls, only) if only else tuple(ls.lists)
    with output_file(out) as fh:
        counts = write_ftm([ls.lists[k] for k in chosen], fh)
    dropped = ", ".join(f"{n} {what}" for what, n in sorted(counts.dropped.items()))
    err_console.print(
        f"wrote {counts.entities} entities and {counts.sanctions} sanctions of"
        f" {', '.join(chosen)} to {out}"
        + (f"; values FtM does not accept kept as notes: {dropped}" if dropped else "")
    )


@app.command("lists")
def lists(
    data_dir: Path = DataDirOption,
    anomalies: bool = typer.Option(False, "--anomalies", help="Also list every anomaly found."),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object: the lists, their counts and anomalies."
    ),
) -> None:
    """Which lists are in force: publication date, vessels, entries, anomalies, source."""
    from rich.table import Table

    from trilink.sanctions.io import ActiveLists

    store = ActiveLists(data_dir)
    manifest = store.manifest()
    ls = store.load()
    if as_json:
        typer.echo(json.dumps(_lists_json(store.directory, manifest, ls, anomalies),
                              ensure_ascii=False))  # fmt: skip
        return
    table = Table("list", "published", "vessels", "entries", "anomalies", "from", "sha256")
    for sl in ls.lists.values():
        entry = manifest.get(sl.list_id)
        origin = f"installed {entry.get('installed_utc', '')}" if entry else "bundled"
        source = str(entry.get("source_name", sl.source_name)) if entry else sl.source_name
        table.add_row(sl.list_id, sl.published or "unknown", str(len(sl.vessels)),
                      str(sl.total_entries), str(len(sl.anomalies)),
                      f"{Path(source).name} ({origin})", sl.sha256[:12])  # fmt: skip
    console.print(table)
    console.print(f"data directory: {store.directory}"
                  f"{'' if manifest else ' (empty: bundled lists in force)'}")  # fmt: skip
    console.print(f"vessels in force: {len(ls.vessels)}; linked parties: "
                  f"{sum(1 for p in ls.linked_parties if p.vessels)}")  # fmt: skip
    if anomalies:
        at = Table("list", "entry", "field", "code", "message")
        for a in ls.anomalies():
            at.add_row(a.list_id, a.entry_id, a.field, a.code, a.message)
        console.print(at)


def _lists_json(
    directory: Path, manifest: dict[str, Any], ls: ListSet, anomalies: bool
) -> dict[str, Any]:
    rows = []
    for sl in ls.lists.values():
        entry = manifest.get(sl.list_id)
        rows.append({
            "list": sl.list_id, "published": sl.published, "vessels": len(sl.vessels),
            "entries": sl.total_entries, "anomalies": len(sl.anomalies),
            "source": str(entry.get("source_name", sl.source_name)) if entry else sl.source_name,
            "installed": entry.get("installed_utc") if entry else None,
            "bundled": not entry, "sha256": sl.sha256,
        })  # fmt: skip
    doc: dict[str, Any] = {
        "data_directory": str(directory),
        "lists": rows,
        "vessels_in_force": len(ls.vessels),
        "linked_parties": sum(1 for p in ls.linked_parties if p.vessels),
    }
    if anomalies:
        doc["anomaly_list"] = [
            {"list": a.list_id, "entry": a.entry_id, "field": a.field, "code": a.code,
             "message": a.message} for a in ls.anomalies()
        ]  # fmt: skip
    return doc


__all__ = ["app"]
