"""yente-compatible screening on the node API: ``POST /match/{dataset}``.

Tools written for OpenSanctions' yente (its Python and R clients, spreadsheets, case
systems) work against a node: same request, same response shape
(``trilink.sanctions.yente``), screened against the lists in force on this node's machine
(``trilink sanctions update`` puts them there; the same directory as the CLI:
``$TRILINK_SANCTIONS_DIR`` or ``~/.local/share/trilink/sanctions``). Authentication is the
node's own tokens (reader role), sent as yente clients do (``Authorization: ApiKey <token>``)
or as ``Bearer``; every call is audited (event ``match``: who, which dataset, how many
queries and matches).

Datasets: ``default`` and ``sanctions`` are every list in force; a list's FtM dataset name
(``jp_meti_eul``, ``un_consolidated``, ...) is that list alone. ``GET /catalog`` lists them
and ``GET /algorithms`` names the one algorithm (``trilink-rules``).

The screener is built on the first request (parsing every list and indexing its names takes
seconds) and again when a list update changes the directory's manifest.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request

from trilink.sanctions.entity_screen import EntityQuery, EntityScreener
from trilink.sanctions.errors import ListFormatError, SanctionsInputError
from trilink.sanctions.ftm import dataset_of
from trilink.sanctions.io import MANIFEST, ActiveLists
from trilink.sanctions.listset import ListSet
from trilink.sanctions.yente import ALGORITHM, FEATURES, MAX_LIMIT, parse_match_request
from trilink.sanctions.yente import match_response as build_response
from trilink.store.audit import AuditEntry
from trilink.store.tokens import ApiToken

ALL_DATASETS = ("default", "sanctions")


_LOCK = threading.Lock()
# (directory, manifest mtime) -> the lists and their screener; one per process, shared by
# every app in it (tests run several nodes in one process)
_BUILT: dict[tuple[str, float], tuple[ListSet, EntityScreener]] = {}


class _Screening:
    """The lists in force and their screener, rebuilt when the manifest changes."""

    def __init__(self, directory: Path | None) -> None:
        self.store = ActiveLists(directory)

    def current(self) -> tuple[ListSet, EntityScreener]:
        path = self.store.directory / MANIFEST
        key = (str(self.store.directory), path.stat().st_mtime if path.exists() else 0.0)
        with _LOCK:
            built = _BUILT.get(key)
            if built is None:
                lists = self.store.load()
                built = (lists, EntityScreener(lists.entities))
                _BUILT.clear()  # an older edition is not served again
                _BUILT[key] = built
            return built


def install_match(
    app: FastAPI,
    *,
    reader: Callable[[Request], ApiToken],
    write_audit: Callable[[list[AuditEntry]], None],
    read_body: Callable[[Request], Any],
    lists_dir: Path | None = None,
) -> None:
    """Add ``/match/{dataset}``, ``/catalog`` and ``/algorithms`` to ``app``."""
    screening = _Screening(lists_dir)

    def datasets(ls: ListSet) -> dict[str, tuple[str, ...]]:
        out = {name: tuple(ls.lists) for name in ALL_DATASETS}
        out.update({dataset_of(list_id): (list_id,) for list_id in ls.lists})
        return out

    @app.get("/catalog", tags=["screening"])
    def catalog(token: ApiToken = Depends(reader)) -> dict[str, Any]:
        """The datasets ``/match`` screens against (yente's catalog shape)."""
        ls, _ = _current()
        rows = []
        for name, ids in datasets(ls).items():
            title = "every list in force" if name in ALL_DATASETS else ls.lists[ids[0]].title
            version = ",".join(f"{i}:{ls.lists[i].published or 'undated'}" for i in ids)
            rows.append({"name": name, "title": title, "load": True, "version": version,
                         "index_current": True, "children": list(ids)})  # fmt: skip
        return {"datasets": rows, "current": [r["name"] for r in rows], "outdated": [],
                "index_stale": False}  # fmt: skip

    @app.get("/algorithms", tags=["screening"])
    def algorithms(token: ApiToken = Depends(reader)) -> dict[str, Any]:
        features = {n: {"description": t, "coefficient": 1.0, "url": "docs/sanctions.md"}
                    for n, t in FEATURES.items()}  # fmt: skip
        return {
            "algorithms": [{"name": ALGORITHM, "description": "trilink's screening rules:"
                            " identifiers first, then names across scripts and"
                            " romanisations; every match explained", "features": features}],
            "default": ALGORITHM,
            "best": ALGORITHM,
        }  # fmt: skip

    def _current() -> tuple[ListSet, EntityScreener]:
        try:
            return screening.current()
        except ListFormatError as err:  # a damaged list directory: say so, do not guess
            raise HTTPException(503, f"the lists in force cannot be read: {err}") from None

    @app.post("/match/{dataset}", tags=["screening"])
    async def match(
        request: Request,
        dataset: str,
        token: ApiToken = Depends(reader),
        limit: int = Query(5, ge=1, le=MAX_LIMIT, description="Results per query."),
        threshold: float = Query(0.9, ge=0.0, le=1.0, description="Score of a match (0-1)."),
        algorithm: str = Query(ALGORITHM, max_length=64),
    ) -> dict[str, Any]:
        """Screen a batch of example entities (yente's /match): persons, organisations,
        companies and vessels, by name in any script, country and identifiers."""
        if algorithm not in (ALGORITHM, "best", "default"):
            raise HTTPException(400, f"unknown algorithm {algorithm!r}; this node has"
                                     f" {ALGORITHM!r} (also 'best', 'default')")  # fmt: skip
        raw = await read_body(request)
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as err:
            raise HTTPException(400, f"the body is not JSON: {err}") from None
        try:
            examples = parse_match_request(body)
        except SanctionsInputError as err:
            raise HTTPException(400, str(err)) from None

        def answer() -> dict[str, Any]:  # CPU work: off the event loop
            ls, screener = _current()
            known = datasets(ls)
            if dataset not in known:
                raise HTTPException(404, f"no dataset {dataset!r} on this node; datasets:"
                                         f" {', '.join(sorted(known))}")  # fmt: skip
            only = () if dataset in ALL_DATASETS else known[dataset]
            flat: list[EntityQuery] = []
            for example in examples:
                flat += [_only(q, only) for q in example.queries]
            screened = screener.screen_many(flat, keep_candidates=True)
            grouped: list[Sequence[Any]] = []
            at = 0
            for example in examples:
                grouped.append(screened[at : at + len(example.queries)])
                at += len(example.queries)
            return build_response(examples, grouped, ls.lists, limit=limit, threshold=threshold)

        doc = await asyncio.to_thread(answer)
        matches = [sum(row["match"] for row in r["results"]) for r in doc["responses"].values()]
        write_audit([AuditEntry(
            event="match", outcome="done", actor=f"api:{token.name}",
            reason=f"/match/{dataset}: {len(examples)} queries, {sum(map(bool, matches))}"
                   f" matched ({sum(matches)} listed entries at threshold {threshold})",
        )])  # fmt: skip
        return doc


def _only(query: EntityQuery, lists: tuple[str, ...]) -> EntityQuery:
    if not lists:
        return query
    return EntityQuery(name=query.name, country=query.country, schema=query.schema,
                       identifier=query.identifier, lists=lists)  # fmt: skip


__all__ = ["install_match"]
