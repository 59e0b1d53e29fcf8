"""`trilink cyber`: STIX 2.1 / MISP import, STIX export and TAXII pull, through the node API.

Each imported STIX object becomes one ``cyber.stix`` report under the label the importer
chooses; the node signs it and its release policy decides which partners receive it. Nothing
here opens a node's store or holds a key (docs/cyber.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from trilink.cli.common import DirOption, NationOption, client_for, console, err_console
from trilink.errors import InputError

if TYPE_CHECKING:
    from trilink.client import NodeClient
    from trilink.cyber.errors import Problem
    from trilink.cyber.plan import ImportPlan
    from trilink.cyber.stixio import Parsed
    from trilink.model.label import Label

app = typer.Typer(
    help="Cyber threat sharing: STIX 2.1 and MISP import, STIX export, TAXII 2.1 pull.",
    no_args_is_help=True,
)

LabelOption = typer.Option(
    ...,
    "--label",
    help="Security label of every imported object, e.g. 'SECRET//REL TO USA, JPN'.",
)
BATCH = 2000


def _read(path: Path) -> bytes:
    from trilink.cyber.errors import CyberInputError
    from trilink.cyber.stixio import MAX_FILE_BYTES

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CyberInputError(
                f"{path.stat().st_size} bytes is larger than the {MAX_FILE_BYTES}-byte limit",
                path=str(path),
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", path=str(path)) from None


def _label(text: str) -> Label:
    from trilink.errors import LabelError
    from trilink.model.label import parse_label

    try:
        return parse_label(text)
    except LabelError as err:
        raise InputError(str(err), field="--label") from None


def _show_problems(problems: Sequence[Problem]) -> None:
    for p in problems[:200]:
        err_console.print(f"[yellow]skipped[/] {p}")
    if len(problems) > 200:
        err_console.print(f"[yellow]... and {len(problems) - 200} more[/]")


def _publish(
    client: NodeClient,
    plan: ImportPlan,
    label: Label,
    derived: dict[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """Publish the plan's items in signed batches of ``BATCH`` (each all or nothing);
    ``derived``: the reports each STIX id is derived from."""
    from trilink.client import item
    from trilink.cyber.plan import KIND

    done: list[dict[str, Any]] = []
    items = [
        item(
            KIND,
            str(label),
            payload,
            report_id=report_id,
            derived_from=(derived or {}).get(payload.stix_id, ()),
        )
        for payload, report_id in plan.items
    ]
    for start in range(0, len(items), BATCH):
        result = client.publish(items[start : start + BATCH])
        done += result.reports
        for w in result.warnings:
            err_console.print(f"[yellow]{w}[/]")
    return done


def import_parsed(
    client: NodeClient,
    parsed: Parsed,
    label: Label,
    *,
    source: str,
    misp_distribution: str = "",
    dry_run: bool = False,
) -> tuple[ImportPlan, list[dict[str, Any]]]:
    from trilink.cyber.markings import tlp_conflict
    from trilink.cyber.plan import KIND, held_from_reports, plan_import
    from trilink.cyber.stixio import summary

    tlps = sorted({p.tlp for p in parsed.objects if p.tlp})
    if tlps:
        console.print(f"source TLP: {', '.join('TLP:' + t.upper() for t in tlps)}")
        for t in tlps:
            warning = tlp_conflict(label, t)
            if warning:
                err_console.print(f"[bold yellow]warning[/] {warning}")
    held = held_from_reports(client.reports(kind=KIND), client.nation)
    plan = plan_import(parsed.objects, held, source=source, misp_distribution=misp_distribution)
    problems = [*parsed.problems, *plan.problems]
    _show_problems(problems)
    published = [] if dry_run else _publish(client, plan, label)
    partners = sorted({p for r in published for p in r.get("released_to", [])})
    kinds = ", ".join(f"{k} {n}" for k, n in summary(parsed).items())
    verb = "would publish" if dry_run else "published"
    console.print(
        f"{source}: {verb} {len(plan.items)} objects ({plan.new_versions} new versions) "
        f"under {label}; {plan.unchanged} unchanged, {plan.superseded} older versions, "
        f"{len(problems)} refused" + (f"; released to {', '.join(partners)}" if partners else "")
    )
    if kinds:
        console.print(f"  objects read: {kinds}")
    return plan, published


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., help="A STIX 2.1 bundle or a MISP JSON event export."),
    directory: Path = DirOption,
    nation: str = NationOption,
    label: str = LabelOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and show; publish nothing."),
) -> None:
    """Import a STIX 2.1 bundle or MISP JSON export: one report per STIX object.

    Objects that are not valid STIX 2.1 (or MISP attributes of types not mapped) are named
    and skipped; the rest is published. Exit status 1 when anything was skipped."""
    from trilink.cyber.misp import is_misp, parse_misp
    from trilink.cyber.stixio import load_json, parse_document

    parsed_label = _label(label)
    raw = _read(file)
    doc = load_json(raw, str(file))
    distribution = ""
    if is_misp(doc):
        misp = parse_misp(doc, str(file))
        parsed = misp.parsed
        for ev in misp.events:
            console.print(
                f"MISP event {ev.uuid} {ev.info!r}: distribution {ev.distribution or 'not given'}"
                + (f", TLP:{ev.tlp.upper()}" if ev.tlp else "")
                + f"; {ev.mapped} of {ev.attributes} attributes mapped"
            )
        distribution = "; ".join(sorted({e.distribution for e in misp.events if e.distribution}))
    else:
        parsed = parse_document(doc, str(file))
    with client_for(directory, nation) as client:
        plan, _ = import_parsed(
            client,
            parsed,
            parsed_label,
            source=file.name,
            misp_distribution=distribution,
            dry_run=dry_run,
        )
    if parsed.problems or plan.problems:
        raise typer.Exit(1)


@app.command("export")
def export(
    directory: Path = DirOption,
    nation: str = NationOption,
    out: Path = typer.Option(..., "--out", help="Write the STIX 2.1 bundle here ('-': stdout)."),
    stix_type: list[str] = typer.Option(
        [], "--type", help="Only these STIX types (repeatable), e.g. --type indicator."
    ),
    include_revoked: bool = typer.Option(
        True, "--include-revoked/--no-revoked", help="Keep revoked objects (as STIX does)."
    ),
) -> None:
    """Everything the node holds as one STIX 2.1 bundle, each object marked with its label
    (TLP 2.0 and the trilink releasability marking)."""
    from trilink.cyber.bundle import bundle_of
    from trilink.cyber.plan import KIND
    from trilink.model.label import parse_label

    with client_for(directory, nation) as client:
        reports = client.reports(kind=KIND)
    entries = []
    for r in reports:
        if r.get("tombstone"):
            continue
        payload = r["payload"]
        if stix_type and payload.get("stix_type") not in stix_type:
            continue
        if not include_revoked and payload.get("revoked"):
            continue
        entries.append((payload["object"], parse_label(r["label"])))
    bundle = bundle_of(entries)
    text = json.dumps(bundle, indent=1, ensure_ascii=False) + "\n"
    if str(out) == "-":
        typer.echo(text, nl=False)
        return
    out.write_text(text, "utf-8")
    console.print(f"{len(entries)} objects written to {out}")


MAX_LINE = 64 * 1024


@app.command("match")
def match(
    logfile: Path = typer.Argument(..., help="A text log: one event per line."),
    directory: Path = DirOption,
    nation: str = NationOption,
    publish: bool = typer.Option(
        False, "--publish", help="Publish one STIX sighting per matched indicator."
    ),
    label: str = typer.Option(
        None,
        "--label",
        help="With --publish: the sightings' label, e.g. 'SECRET//REL TO USA, JPN'.",
    ),
) -> None:
    """Match the IPs, domains, URLs, e-mail addresses, file names and hashes in a log against
    the indicators the node holds (STIX patterns); optionally publish sightings."""
    import time

    from trilink.cyber.match import Matcher, sightings
    from trilink.cyber.plan import KIND, held_from_reports, plan_import
    from trilink.cyber.stixio import parse_objects
    from trilink.model.ids import utc_timestamp

    parsed_label = _label(label) if publish else None
    if publish and label is None:
        raise InputError("--publish needs --label", field="--label")
    with client_for(directory, nation) as client:
        held = client.reports(kind=KIND)
        live = [
            r
            for r in held
            if not r.get("tombstone") and r["payload"].get("stix_type") == "indicator"
        ]
        indicators = [r["payload"]["object"] for r in live]
        report_of = {r["payload"]["stix_id"]: r["id"] for r in live}
        matcher = Matcher.from_indicators(indicators)
        started = time.perf_counter()
        lines = 0
        try:
            with logfile.open("r", encoding="utf-8", errors="replace") as fh:

                def read() -> Any:
                    nonlocal lines
                    for line in fh:
                        lines += 1
                        yield line[:MAX_LINE]

                hits = matcher.match_lines(read())
        except FileNotFoundError:
            raise InputError("log file not found", path=str(logfile)) from None
        took = time.perf_counter() - started
        console.print(
            f"{logfile}: {lines} lines against {len(matcher.trees)} indicators in {took:.2f} s; "
            f"{len(hits)} indicators matched"
            + (f"; {len(matcher.unsupported)} indicators use patterns not matched here"
               if matcher.unsupported else "")
        )  # fmt: skip
        names = {i["id"]: i.get("name", "") for i in indicators}
        for iid, hit in sorted(hits.items(), key=lambda kv: -kv[1].count):
            console.print(
                f"  {iid} {names.get(iid, '')!r}: {hit.count} lines (first at line {hit.lines[0]})"
            )
        if publish and hits and parsed_label is not None:
            objects = sightings(hits, client.nation, utc_timestamp(), logfile.name)
            parsed = parse_objects(objects, logfile.name)
            plan = plan_import(
                parsed.objects,
                held_from_reports(held, client.nation),
                source=f"match:{logfile.name}",
            )
            # each sighting is derived from the indicator's report: the node refuses a label
            # less restrictive than the indicator's, and the COP shows where it came from
            derived = {
                o["id"]: [report_of[o["sighting_of_ref"]]]
                for o in objects
                if o["type"] == "sighting" and o["sighting_of_ref"] in report_of
            }
            done = _publish(client, plan, parsed_label, derived)
            partners = sorted({p for r in done for p in r.get("released_to", [])})
            console.print(
                f"published {len(hits)} sightings under {parsed_label}"
                + (f"; released to {', '.join(partners)}" if partners else "")
            )


def taxii_connection(user: str | None, password: str | None, ca_file: Path | None) -> Any:
    """A taxii2-client connection verifying the server with ``ca_file`` (when given).

    requests lets $REQUESTS_CA_BUNDLE override a session's ``verify``, so with a CA file the
    session ignores the environment (proxies from the environment too)."""
    from taxii2client.common import _HTTPConnection

    conn = _HTTPConnection(
        user or None, password or None, str(ca_file) if ca_file else True, version="2.1"
    )
    if ca_file is not None:
        conn.session.trust_env = False
    return conn


@app.command("pull")
def pull(
    url: str = typer.Argument(..., help="TAXII 2.1 API root URL, e.g. https://host/taxii2/jpn/."),
    collection: str = typer.Option(..., "--collection", help="Collection id."),
    directory: Path = DirOption,
    nation: str = NationOption,
    label: str = LabelOption,
    user: str = typer.Option(
        "", "--user", help="HTTP Basic user (a trilink TAXII server: your nation code)."
    ),
    password_env: str = typer.Option(
        "TRILINK_TAXII_PASSWORD",
        "--password-env",
        help="Environment variable holding the HTTP Basic password (the TAXII token).",
    ),
    ca_file: Path = typer.Option(
        None, "--ca-file", help="CA certificate to verify the server with (PEM)."
    ),
    added_after: str = typer.Option(
        None, "--added-after", help="Only objects added after this time (RFC 3339)."
    ),
    page: int = typer.Option(500, "--page", min=1, max=10000, help="Objects per request."),
) -> None:
    """Pull a collection from a TAXII 2.1 server (taxii2-client) and import it like a file."""
    from taxii2client.exceptions import TAXIIServiceException
    from taxii2client.v21 import Collection, as_pages

    from trilink.cyber.errors import CyberInputError
    from trilink.cyber.stixio import parse_document

    parsed_label = _label(label)
    password = os.environ.get(password_env, "")
    root = url.rstrip("/") + "/"
    objects: list[Any] = []
    try:
        coll = Collection(
            f"{root}collections/{collection}/", conn=taxii_connection(user, password, ca_file)
        )
        kw: dict[str, Any] = {"added_after": added_after} if added_after else {}
        for envelope in as_pages(coll.get_objects, per_request=page, **kw):
            objects += envelope.get("objects", [])
            if len(objects) > 100_000:
                raise CyberInputError(
                    "more than 100,000 objects: pull with --added-after", path=url
                )
    except TAXIIServiceException as err:
        raise InputError(f"TAXII server refused: {err}", path=url) from None
    except OSError as err:  # requests' connection errors are OSErrors
        raise InputError(f"TAXII server unreachable: {err}", path=url) from None
    parsed = parse_document({"objects": objects}, f"{root} collection {collection}")
    with client_for(directory, nation) as client:
        plan, _ = import_parsed(
            client, parsed, parsed_label, source=f"taxii:{root}collections/{collection}/"
        )
    if parsed.problems or plan.problems:
        raise typer.Exit(1)
