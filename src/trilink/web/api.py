"""The COP's reports API (session cookie required):

GET  /api/me                 who is logged in, role, nation
GET  /api/reports?...        the visible reports passing the filters (``web.filters``)
GET  /api/reports/{id}       one report: versions, signature, derivation, audit
POST /api/notes              analyst+: publish a note (X-CSRF-Token header)
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from trilink.errors import InputError, LabelError, ReportError
from trilink.model.report import Report
from trilink.store.audit import AuditEntry
from trilink.web.context import Cop, client_of

MAX_REPORT_ID_CHARS = 64
MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 10_000
MAX_LABEL_CHARS = 256


def note_payload(body: bytes) -> tuple[str, dict[str, str]]:
    """(label, payload) of a note posted as JSON ``{title, body, label}``; HTTP 422 naming
    the field to fix."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise HTTPException(422, "body must be JSON: {title, body, label}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("title"), str):
        raise HTTPException(422, "body must be a JSON object with a 'title' string")
    label = doc.get("label")
    if not isinstance(label, str):
        raise HTTPException(422, "give the note a 'label', e.g. 'SECRET//REL TO USA, JPN'")
    if len(label) > MAX_LABEL_CHARS:
        raise HTTPException(422, f"'label' is longer than {MAX_LABEL_CHARS} characters")
    text = doc.get("body", "")
    if not isinstance(text, str):
        raise HTTPException(422, "'body' must be a string (the note's text)")
    return label, {"title": doc["title"].strip()[:MAX_TITLE_CHARS], "body": text[:MAX_BODY_CHARS]}


def routes(cop: Cop) -> APIRouter:
    router = APIRouter()
    service = cop.service

    @router.get("/api/me")
    def me(request: Request) -> dict[str, Any]:
        session = cop.require(request)
        return {
            "nation": cop.nation,
            "username": session.user.username,
            "role": session.user.role,
            "expires_at": session.expires_at.isoformat(),
        }

    @router.get("/api/reports")
    def reports(request: Request) -> dict[str, Any]:
        cop.require(request)
        filters = cop.filters_of(request)
        index = cop.refreshed()
        with cop.lock:
            selected = index.select(filters)
            last_seq = index.last_seq
        return {
            "nation": cop.nation,
            "last_seq": last_seq,
            "count": len(selected),
            "banner": cop.banner(selected),
            "reports": selected,
        }

    @router.get("/api/reports/{report_id}")
    def report_detail(request: Request, report_id: str) -> dict[str, Any]:
        session = cop.require(request)
        shown = report_id[:MAX_REPORT_ID_CHARS]
        found = None
        # Report ids are short printable ASCII (UUIDs); anything else is held by no node,
        # and PostgreSQL could not even be asked (text cannot hold NUL).
        if shown == report_id and report_id.isascii() and report_id.isprintable():
            with cop.lock:
                found = cop.refreshed().detail(report_id, service.verifier)
        if found is None:
            cop.audit_failure(
                client_of(request),
                AuditEntry(
                    event="cop",
                    outcome="denied",
                    report_id=shown,
                    actor=session.user.username,
                    reason=f"asked for a report node {cop.nation} does not hold or may not show",
                ),
            )
            raise HTTPException(404, f"no report {shown!r} on this node")
        return found

    @router.post("/api/notes")
    async def publish_note(request: Request) -> dict[str, Any]:
        session = await run_in_threadpool(cop.require, request, "analyst")
        cop.require_csrf(request, session)
        label, payload = note_payload(await request.body())

        def publish() -> Report:
            return service.publish("note", label, payload, actor=f"cop:{session.user.username}")

        try:
            report = await run_in_threadpool(publish)
        except (LabelError, ReportError, InputError) as err:
            raise HTTPException(422, str(err)) from None
        return {"id": report.envelope.id, "label": report.envelope.label}

    return router
