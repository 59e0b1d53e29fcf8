"""The COP's crisis board (session cookie required):

GET /api/crisis   the open incidents this node holds (acknowledgements per nation, the next
                  deadline and the seconds left, tasks) and the threat assessments side by
                  side, as ``trilink.crisis.board`` merges them
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from trilink.crisis.board import board
from trilink.model.payloads.crisis import AssessmentPayload, IncidentPayload
from trilink.web.context import Cop


def routes(cop: Cop) -> APIRouter:
    router = APIRouter()

    @router.get("/api/crisis")
    def crisis_board(request: Request) -> dict[str, Any]:
        cop.require(request)
        index = cop.refreshed()
        with cop.lock:
            incidents = index.current_payloads("crisis.incident", IncidentPayload)
            assessments = index.current_payloads("crisis.assessment", AssessmentPayload)
        return board(incidents, assessments, own=cop.nation, now=datetime.now(UTC))

    return router
