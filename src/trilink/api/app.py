"""The node API: the one way in for this nation's people and programs (``create_api_app``).

HTTPS with the node's own certificate, separate from the partner listener; every call but
the health checks carries ``Authorization: Bearer <token>`` (``trilink token create``), and
the token's role decides what it may do: ``reader`` < ``publisher`` < ``admin``::

    GET    /healthz, /readyz                   liveness, readiness (no token)
    GET    /metrics                            Prometheus text format (reader)
    GET    /api/v1/openapi.json                this API, described
    POST   /api/v1/reports                     publish reports and new versions (publisher)
    PUT    /api/v1/reports/{id}                a new version of one report (publisher)
    DELETE /api/v1/reports/{id}                withdraw a report: signed tombstone (publisher)
    GET    /api/v1/reports                     what the node holds (reader)
    GET    /api/v1/reports/{id}                every version, its signature check and audit
    GET    /api/v1/stream                      server-sent events: each report stored
    GET    /api/v1/status                      replication with each partner (reader)
    GET    /api/v1/audit                       the audit log (admin)
    POST   /api/v1/audit                       record an engine's decision (publisher): a
                                               refused release, a failed step
    GET    /taxii2/...                         TAXII 2.1 (``trilink.api.taxii``): one API
                                               root per nation, HTTP Basic
    POST   /match/{dataset}                    yente-compatible screening against the lists
                                               in force (reader; ``trilink.api.match``)
    GET    /catalog, /algorithms               its datasets and algorithm (reader)

Publishing goes through the node's one publish path: validation, signature, release
decisions per partner and audit in one transaction; the node's replicator is woken by it.
Failures (a wrong token, a refused report) are audited, at a bounded rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field

from trilink.api.match import install_match
from trilink.api.taxii import TAXII_MEDIA, install_taxii, taxii_error_body
from trilink.errors import TrilinkError
from trilink.model.ids import parse_utc_timestamp
from trilink.model.report import Report, report_json
from trilink.node.limits import FailureAuditLimit
from trilink.node.publish import Item
from trilink.node.service import NodeService
from trilink.store import Store, open_store
from trilink.store.audit import AuditEntry
from trilink.store.tokens import TOKEN_ROLES, ApiToken, TokenRepository

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_ITEMS = 5000
MAX_LIST = 5000
STREAM_POLL_S = 1.0
HEARTBEAT_S = 15.0


class ItemIn(BaseModel):
    kind: str = Field(max_length=64, examples=["note"])
    label: str = Field(max_length=256, examples=["SECRET//REL TO USA, JPN"])
    payload: dict[str, Any]
    derived_from: list[str] = Field(default_factory=list, max_length=1000)
    id: str | None = Field(
        default=None, max_length=64, description="Publish a new version of this report."
    )


class PublishIn(BaseModel):
    items: list[ItemIn] = Field(min_length=1, max_length=MAX_ITEMS)


class Published(BaseModel):
    id: str
    version: int
    kind: str
    label: str
    released_to: list[str] = Field(description="Partners this version is queued for.")


class PublishOut(BaseModel):
    reports: list[Published]
    warnings: list[str] = Field(
        default_factory=list, description="E.g. reports no partner will receive."
    )


class _ItemBody(msgspec.Struct, forbid_unknown_fields=True):
    """``ItemIn`` as the endpoint decodes it: msgspec, an order of magnitude faster than the
    pydantic model that documents it (measured on batches of 1,000 reports)."""

    kind: str
    label: str
    payload: dict[str, Any]
    derived_from: list[str] = []
    id: str | None = None


class _PublishBody(msgspec.Struct, forbid_unknown_fields=True):
    items: list[_ItemBody]


_publish_decoder = msgspec.json.Decoder(_PublishBody)


def decode_publish(raw: bytes) -> list[Item]:
    """The items of a publish request, bounded as ``PublishIn`` documents; ``ValueError``
    saying what is wrong otherwise."""
    try:
        body = _publish_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        raise ValueError(str(err)) from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not 1 <= len(body.items) <= MAX_ITEMS:
        raise ValueError(f"items: give 1 to {MAX_ITEMS} items, not {len(body.items)}")
    for n, i in enumerate(body.items):
        if len(i.kind) > 64 or len(i.label) > 256 or len(i.derived_from) > 1000:
            raise ValueError(f"items[{n}]: kind, label or derived_from too long")
        if i.id is not None and len(i.id) > 64:
            raise ValueError(f"items[{n}].id: too long")
    return [Item(i.kind, i.label, i.payload, i.derived_from, i.id) for i in body.items]


class DecisionIn(BaseModel):
    """An engine's decision for the node's audit log: what it decided (``action``, e.g.
    ``crisis.cap.release``), the outcome and why. The row's event is ``engine`` and its actor
    the token, so an engine can add to the log but never write a row of the node's own."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.-]*$")
    outcome: Literal["refused", "failed", "done"]
    reason: str = Field(min_length=1, max_length=1000)
    report_id: str = Field(default="", max_length=64)


class EditIn(BaseModel):
    payload: dict[str, Any]
    label: str | None = Field(default=None, max_length=256)


class ReportOut(BaseModel):
    seq: int
    id: str
    origin: str
    origin_seq: int
    version: int
    kind: str
    label: str
    created: str
    payload: dict[str, Any]
    derived_from: list[str]
    tombstone: bool
    received_from: str | None = None


class ReportList(BaseModel):
    nation: str
    last_seq: int
    reports: list[ReportOut]


class Version(ReportOut):
    signature_verified: bool
    signature_problem: str = ""


class ReportDetail(BaseModel):
    versions: list[Version]
    audit: list[dict[str, Any]]


class Health(BaseModel):
    nation: str
    status: str


def _out(seq: int, report: Report, received_from: str | None) -> dict[str, Any]:
    return {"seq": seq, **report_json(report), "received_from": received_from}


class _Hub:
    """Wakes every stream when the node stores reports (called from any thread)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.events: set[asyncio.Event] = set()
        self.closing = False

    def on_reports(self, _reports: Sequence[Report]) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for event in self.events:
            event.set()

    def stop(self) -> None:
        self.closing = True
        self.on_reports(())


class _NodeMetrics(Collector):
    """The node's metrics, read when Prometheus scrapes (nothing is kept between scrapes
    but the node's own counters)."""

    def __init__(
        self,
        service: NodeService,
        db: Store,
        db_lock: threading.RLock,
        links: Callable[[], dict[str, dict[str, Any]]] | None,
        tak: Callable[[], dict[str, Any] | None] | None,
        hub: _Hub,
        refused: dict[int, int],
        cop_sse_clients: Callable[[], int] | None,
    ) -> None:
        self.service, self.db, self.db_lock = service, db, db_lock
        self.links, self.tak, self.hub, self.refused = links, tak, hub, refused
        self.cop_sse_clients = cop_sse_clients

    def collect(self) -> Iterator[Metric]:
        nation = self.service.nation
        partners = sorted(self.service.config.policy.partners)
        with self.db_lock:
            reports = self.db.report_count()
            size = self.db.size_bytes()
            head = self.db.audit_head()
            cursors = {p: (self.db.cursor(p), self.db.outbox_head(p)) for p in partners}
            oldest = {p: self.db.oldest_queued_at(p, cursors[p][0][1]) for p in partners}
        now = datetime.now(UTC)
        links = self.links() if self.links else {}
        info = GaugeMetricFamily("trilink_node_info", "This node.", labels=["nation"])
        info.add_metric([nation], 1)
        yield info
        yield GaugeMetricFamily("trilink_reports", "Report versions stored.", value=reports)
        yield GaugeMetricFamily("trilink_store_size_bytes", "Store size on disk.", value=size)
        yield CounterMetricFamily(
            "trilink_audit_rows", "Audit rows written.", value=head[0] if head else 0
        )
        queued = GaugeMetricFamily(
            "trilink_outbox_queued_reports",
            "Reports queued for a partner and not yet acknowledged (queue depth).",
            labels=["partner"],
        )
        lag = GaugeMetricFamily(
            "trilink_replication_lag_reports",
            "Reports one side holds for the other and the other has not taken: out = "
            "queued for the partner, in = the partner's queue for us beyond our cursor.",
            labels=["partner", "direction"],
        )
        up = GaugeMetricFamily(
            "trilink_partner_up", "1 when the last exchange with a partner worked.",
            labels=["partner"],
        )  # fmt: skip
        age = GaugeMetricFamily(
            "trilink_partner_last_ok_age_seconds",
            "Seconds since the last exchange with a partner that worked.",
            labels=["partner"],
        )
        waited = GaugeMetricFamily(
            "trilink_replication_lag_seconds",
            "How long the oldest report queued for a partner has waited (0: nothing waits).",
            labels=["partner"],
        )
        pushed = CounterMetricFamily(
            "trilink_replication_pushed_reports", "Reports partners acknowledged.",
            labels=["partner"],
        )  # fmt: skip
        for partner, ((inbound, acked), outbox_head) in cursors.items():
            link = links.get(partner, {})
            queued.add_metric([partner], max(outbox_head - acked, 0))
            lag.add_metric([partner, "out"], max(outbox_head - acked, 0))
            partner_head = int(link.get("partner_head") or 0)
            lag.add_metric([partner, "in"], max(partner_head - inbound, 0))
            up.add_metric([partner], 1 if link.get("link") == "up" else 0)
            if link.get("last_ok_s_ago") is not None:
                age.add_metric([partner], float(link["last_ok_s_ago"]))
            pushed.add_metric([partner], int(link.get("pushed") or 0))
            since = oldest[partner]
            waited.add_metric(
                [partner],
                max((now - parse_utc_timestamp(since)).total_seconds(), 0.0) if since else 0.0,
            )
        yield from (queued, lag, waited, up, age, pushed)
        counters = self.service.counters
        with counters.lock:
            published, pub_refused = counters.published, counters.publish_refused
            ingest = [
                (p, counters.ingested[p], counters.duplicates[p], counters.ingest_refused[p])
                for p in partners
            ]
        yield CounterMetricFamily(
            "trilink_published_reports", "Reports this node published.", value=published
        )
        yield CounterMetricFamily(
            "trilink_publish_refused", "Publish requests refused (validation, label, policy).",
            value=pub_refused,
        )  # fmt: skip
        families = [
            CounterMetricFamily(name, text, labels=["partner"])
            for name, text in (
                ("trilink_ingested_reports", "Partner reports stored."),
                ("trilink_ingest_duplicates", "Partner reports already held."),
                ("trilink_ingest_refused", "Partner reports refused (signature, label, gap)."),
            )
        ]
        for partner, *values in ingest:
            for family, value in zip(families, values, strict=True):
                family.add_metric([partner], value)
        yield from families
        refused = CounterMetricFamily(
            "trilink_api_refused_requests", "Node API requests refused, by HTTP status.",
            labels=["status"],
        )  # fmt: skip
        for status, count in sorted(dict(self.refused).items()):
            refused.add_metric([str(status)], count)
        yield refused
        sse = GaugeMetricFamily(
            "trilink_sse_clients",
            "Open server-sent event streams: api = /api/v1/stream, cop = the COP's map.",
            labels=["listener"],
        )
        sse.add_metric(["api"], len(self.hub.events))
        if self.cop_sse_clients is not None:
            sse.add_metric(["cop"], self.cop_sse_clients())
        yield sse
        yield from _tak_metrics(self.tak() if self.tak else None)


def _tak_metrics(stats: dict[str, Any] | None) -> Iterator[Metric]:
    """The live TAK stream's state ([tak] in node.toml); none when it is not configured."""
    if stats is None:
        return
    labels = [str(stats.get("address", ""))]
    for name, text, cls, key in (
        ("connected", "1 while connected to the TAK server.", GaugeMetricFamily, "connected"),
        ("pending", "CoT objects waiting to be sent.", GaugeMetricFamily, "pending"),
        ("cursor", "Store sequence handed to the stream so far.", GaugeMetricFamily, "cursor"),
        ("sent_events", "CoT events written to the server.", CounterMetricFamily, "sent"),
        ("connects", "Connections made.", CounterMetricFamily, "connects"),
        ("failures", "Failed connections and broken ones.", CounterMetricFamily, "failures"),
        ("dropped_objects", "Objects pushed out of a full queue.", CounterMetricFamily, "dropped"),
    ):
        family = cls(f"trilink_tak_{name}", text, labels=["server"])
        family.add_metric(labels, float(stats.get(key) or 0))
        yield family


# (format name, query parameters) -> (file bytes, media type, headers with the overall
# marking and the count): how the daemon lets the API write the node's picture
# (trilink.web.picture); a bad format or parameter raises a TrilinkError.
Exporter = Callable[[str, dict[str, str]], tuple[bytes, str, dict[str, str]]]


def create_api_app(
    service: NodeService,
    *,
    links: Callable[[], dict[str, dict[str, Any]]] | None = None,
    exporter: Exporter | None = None,
    tak: Callable[[], dict[str, Any] | None] | None = None,
    cop_sse_clients: Callable[[], int] | None = None,
) -> FastAPI:
    """The node API of ``service``. ``links`` gives the replication state per partner
    (the daemon passes its replicator's); ``exporter`` writes the current picture as a file
    (``GET /api/v1/export``); ``tak`` the live TAK stream's state, if any;
    ``cop_sse_clients`` the open streams of the COP served beside it."""
    nation = service.nation
    db: Store = open_store(service.store.url)  # reads on their own connection
    db_lock = threading.RLock()
    tokens = TokenRepository(db)
    failures = FailureAuditLimit(event="api", what="node API requests")
    hub = _Hub()
    warmups: list[Callable[[threading.Event], object]] = []
    refused_counts: dict[int, int] = {}
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        _NodeMetrics(service, db, db_lock, links, tak, hub, refused_counts, cop_sse_clients)
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.loop = asyncio.get_running_loop()
        service.listeners.append(hub.on_reports)
        stopping = threading.Event()
        warming = [asyncio.create_task(asyncio.to_thread(w, stopping)) for w in warmups]
        try:
            yield
        finally:
            stopping.set()
            for task in warming:
                with contextlib.suppress(Exception):
                    await task  # a warm-up stops between chunks; its errors mean nothing now
            hub.stop()
            if hub.on_reports in service.listeners:
                service.listeners.remove(hub.on_reports)
            _write_audit(failures.summaries(final=True))
            with db_lock:
                db.close()

    app = FastAPI(
        title=f"trilink node API ({nation})",
        version="1",
        description=__doc__,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.stop_streams = hub.stop
    described = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's document plus the publish body, which the endpoint decodes itself."""
        if app.openapi_schema is None:
            doc = described()
            body = PublishIn.model_json_schema(ref_template="#/components/schemas/{model}")
            doc["components"]["schemas"].update(body.pop("$defs", {}))
            doc["components"]["schemas"]["PublishIn"] = body
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    def _write_audit(entries: list[AuditEntry]) -> None:
        if entries:
            with db_lock, db.transaction():
                db.audit(entries)

    def refuse(request: Request, status: int, message: str, actor: str = "") -> HTTPException:
        refused_counts[status] = refused_counts.get(status, 0) + 1
        client = request.client.host if request.client else "unknown"
        entries = failures.summaries()
        if failures.admit(client):
            entries.append(
                AuditEntry(
                    event="api",
                    outcome="refused",
                    actor=actor[:64],
                    reason=f"{status} {request.method} {request.url.path[:120]} from "
                    f"{client}: {message[:300]}",
                )
            )
        _write_audit(entries)
        return HTTPException(status, message)

    def bearer(request: Request) -> ApiToken:
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        # yente's clients send "ApiKey <key>": the same tokens, for /match
        if scheme.lower() not in ("bearer", "apikey") or not presented:
            raise refuse(request, 401, "missing API token: send 'Authorization: Bearer <token>'")
        with db_lock:
            token = tokens.check(presented.strip())
        if token is None:
            raise refuse(request, 401, "unknown or revoked API token")
        return token

    def role(needed: str) -> Callable[[Request], ApiToken]:
        def check(request: Request) -> ApiToken:
            token = bearer(request)
            if not token.may(needed):
                raise refuse(
                    request,
                    403,
                    f"this needs a {needed} token; token {token.name!r} is a {token.role}",
                    token.name,
                )
            return token

        return check

    reader, publisher, admin = role("reader"), role("publisher"), role("admin")

    async def body_of(request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise refuse(request, 413, f"request body larger than {MAX_BODY_BYTES} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise refuse(request, 413, f"request body larger than {MAX_BODY_BYTES} bytes")
        return bytes(body)

    def refused_publish(request: Request, err: TrilinkError, token: ApiToken) -> HTTPException:
        # the node audited the refusal itself (publish path): no second row here
        with service.counters.lock:
            service.counters.publish_refused += 1
        return HTTPException(422, str(err))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/taxii2/"):
            return JSONResponse(
                taxii_error_body(exc.status_code, str(exc.detail)),
                status_code=exc.status_code,
                media_type=TAXII_MEDIA,
                headers=exc.headers,
            )
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    # -- health ---------------------------------------------------------------------------
    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> dict[str, str]:
        """The node process is up."""
        return {"nation": nation, "status": "ok"}

    @app.get("/readyz", response_model=Health, tags=["health"])
    def readyz() -> Any:
        """The node can read its store (503 otherwise)."""
        try:
            with db_lock:
                db.report_count()
        except TrilinkError as err:
            return JSONResponse({"nation": nation, "status": f"store: {err}"}, 503)
        return {"nation": nation, "status": "ready"}

    @app.get("/metrics", tags=["health"], response_class=Response)
    def metrics(token: ApiToken = Depends(reader)) -> Response:
        """The node's metrics in the Prometheus text format (a reader token: Prometheus's
        ``authorization: credentials_file``)."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    # -- publish --------------------------------------------------------------------------
    @app.post(
        "/api/v1/reports",
        response_model=PublishOut,
        tags=["reports"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/PublishIn"}}
                },
            }
        },
    )
    async def publish(request: Request, token: ApiToken = Depends(publisher)) -> Response:
        """Publish reports, and new versions of this node's reports (items with ``id``),
        in one signed batch: all of them or none. Body: ``PublishIn``."""
        raw = await body_of(request)
        try:
            items = decode_publish(raw)
        except ValueError as err:
            raise refuse(request, 422, f"body is not a publish request: {err}"[:2000]) from None
        try:
            reports, released = await asyncio.to_thread(
                service.publisher.publish_released, items, actor=f"api:{token.name}"
            )
        except TrilinkError as err:
            raise refused_publish(request, err, token) from None
        out = [
            {
                "id": r.envelope.id,
                "version": r.envelope.version,
                "kind": r.envelope.kind,
                "label": r.envelope.label,
                "released_to": released[(r.envelope.id, r.envelope.version)],
            }
            for r in reports
        ]
        nobody = sum(1 for r in out if not r["released_to"])
        warnings = (
            [
                f"{nobody} of {len(out)} reports are released to no partner (their labels, "
                "this node's ceilings and kinds decide): they stay on this node"
            ]
            if nobody
            else []
        )
        # Encoded here (the shape is PublishOut, as the OpenAPI document says): FastAPI's
        # validation of the response costs 12 ms per 1,000 reports, msgspec's encoding 0.1.
        return Response(
            msgspec.json.encode({"reports": out, "warnings": warnings}),
            media_type="application/json",
        )

    @app.put("/api/v1/reports/{report_id}", response_model=Published, tags=["reports"])
    async def edit(
        report_id: str, request: Request, token: ApiToken = Depends(publisher)
    ) -> dict[str, Any]:
        """A new version of one of this node's reports (same kind; label kept if absent)."""
        raw = await body_of(request)
        try:
            body = EditIn.model_validate_json(raw)
        except ValueError as err:
            raise refuse(request, 422, f"body is not an edit: {err}"[:2000]) from None
        try:
            report = await asyncio.to_thread(
                service.edit, report_id[:64], body.payload, label=body.label,
                actor=f"api:{token.name}",
            )  # fmt: skip
        except TrilinkError as err:
            raise refused_publish(request, err, token) from None
        return _published(report)

    @app.delete("/api/v1/reports/{report_id}", response_model=Published, tags=["reports"])
    async def delete(
        report_id: str,
        request: Request,
        token: ApiToken = Depends(publisher),
        reason: str = Query("", max_length=500),
    ) -> dict[str, Any]:
        """Withdraw a report: a signed tombstone reaches every node that holds a version."""
        try:
            report = await asyncio.to_thread(
                service.delete, report_id[:64], reason, actor=f"api:{token.name}"
            )
        except TrilinkError as err:
            raise refused_publish(request, err, token) from None
        return _published(report)

    def _published(report: Report) -> dict[str, Any]:
        env = report.envelope
        with db_lock:
            partners = sorted(db.partners_queued(env.origin, env.id, env.version))
        return {
            "id": env.id,
            "version": env.version,
            "kind": env.kind,
            "label": env.label,
            "released_to": partners,
        }

    # -- read -----------------------------------------------------------------------------
    @app.get("/api/v1/reports", response_model=ReportList, tags=["reports"])
    def list_reports(
        token: ApiToken = Depends(reader),
        after: int = Query(0, ge=0, le=2**62, description="Only reports stored after this seq."),
        limit: int = Query(1000, ge=1, le=MAX_LIST),
        kind: str | None = Query(None, max_length=64),
        origin: str | None = Query(None, max_length=8),
        all_versions: bool = Query(False, description="Every version, not only the newest."),
    ) -> dict[str, Any]:
        """Reports this node holds (its own and partners'), in the order it stored them."""
        with db_lock:
            stored = db.reports(after_seq=after, limit=limit, kind=kind)
            last = db.last_seq()
        rows = [s for s in stored if origin is None or s.report.envelope.origin == origin]
        if not all_versions:
            newest: dict[str, Any] = {}
            for s in rows:
                newest[s.report.envelope.id] = s
            rows = sorted(newest.values(), key=lambda s: s.seq)
        return {
            "nation": nation,
            "last_seq": last,
            "reports": [_out(s.seq, s.report, s.received_from) for s in rows],
        }

    @app.get("/api/v1/reports/{report_id}", response_model=ReportDetail, tags=["reports"])
    def report_detail(
        report_id: str, request: Request, token: ApiToken = Depends(reader)
    ) -> dict[str, Any]:
        """Every version held, whether each signature verifies, and the audit rows."""
        with db_lock:
            versions = db.versions(report_id[:64])
            rows = db.audit_rows(report_id=report_id[:64]) if versions else []
        if not versions:
            raise refuse(request, 404, f"node {nation} holds no report {report_id[:64]!r}")
        out = []
        for s in versions:
            problem = ""
            try:
                service.verifier.verify(s.report.signed, s.report.envelope, s.report.signature)
            except TrilinkError as err:
                problem = str(err)
            out.append(
                {
                    **_out(s.seq, s.report, s.received_from),
                    "signature_verified": not problem,
                    "signature_problem": problem,
                }
            )
        audit = [r.as_dict() for r in rows]
        return {"versions": out, "audit": audit}

    @app.get("/api/v1/stream", tags=["reports"])
    async def stream(
        request: Request,
        token: ApiToken = Depends(reader),
        after: int | None = Query(None, ge=0, le=2**62),
        kind: str | None = Query(None, max_length=64),
    ) -> StreamingResponse:
        """Server-sent events, one ``report`` event per version stored after ``after``
        (default: from now), as the node stores them; ``id:`` is the store sequence, so a
        client that reconnects with ``Last-Event-ID`` misses nothing."""
        last_id = request.headers.get("last-event-id", "")
        start = int(last_id) if last_id.isascii() and last_id.isdigit() else after
        if start is None:
            with db_lock:
                start = db.last_seq()
        event = asyncio.Event()
        hub.events.add(event)

        def batch(seq: int) -> list[tuple[int, Report, str | None]]:
            with db_lock:
                found = db.reports(after_seq=seq, limit=500, kind=kind)
            return [(s.seq, s.report, s.received_from) for s in found]

        async def events() -> AsyncIterator[str]:
            seq = start
            loop = asyncio.get_running_loop()
            next_beat = loop.time() + HEARTBEAT_S
            try:
                yield "retry: 1000\n\n"
                while not hub.closing:
                    found = await asyncio.to_thread(batch, seq)
                    for s, report, received in found:
                        data = json.dumps(_out(s, report, received), separators=(",", ":"))
                        yield f"id: {s}\nevent: report\ndata: {data}\n\n"
                        seq = s
                    if len(found) == 500:
                        continue
                    event.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(event.wait(), STREAM_POLL_S)
                    if loop.time() >= next_beat:
                        next_beat = loop.time() + HEARTBEAT_S
                        yield ": keep-alive\n\n"
            finally:
                hub.events.discard(event)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.get("/api/v1/status", tags=["node"])
    def status(token: ApiToken = Depends(reader)) -> dict[str, Any]:
        """Queues and cursors per partner, and the replicator's view of each link."""
        data = service.status()
        for partner, link in (links() if links else {}).items():
            data["partners"].setdefault(partner, {}).update(link)
        return data

    @app.get("/api/v1/export", tags=["reports"])
    def export(
        request: Request,
        token: ApiToken = Depends(reader),
        format: str = Query(..., max_length=20, description="geojson, kml, cot, geoparquet, csv"),
        kind: str | None = Query(None, max_length=400),
        since: str | None = Query(None, max_length=40),
    ) -> Response:
        """The node's current picture (newest state of every track, warning and report it
        holds) as a file, each feature with its label, the file with its overall marking
        (``X-Classification``). Audited."""
        if exporter is None:
            raise refuse(request, 404, f"node {nation} serves no exports here")
        params = {k: v for k, v in (("kind", kind), ("since", since)) if v is not None}
        try:
            body, media_type, headers = exporter(format, params)
        except TrilinkError as err:
            raise refuse(request, 422, str(err)) from None
        _write_audit(
            [
                AuditEntry(
                    event="api",
                    outcome="export",
                    actor=f"api:{token.name}",
                    reason=f"{format}: {headers['X-Trilink-Count']}, "
                    f"{headers['X-Classification']}",
                )
            ]
        )
        return Response(body, media_type=media_type, headers=headers)

    @app.get("/api/v1/audit", tags=["node"])
    def audit(
        token: ApiToken = Depends(admin),
        after: int = Query(0, ge=0, le=2**62),
        limit: int = Query(1000, ge=1, le=MAX_LIST),
        report_id: str | None = Query(None, max_length=64),
        newest: bool = Query(False, description="The newest `limit` rows (still in order)."),
    ) -> dict[str, Any]:
        """Audit rows in order (admin): after a sequence number, or the newest ones."""
        with db_lock:
            if newest and report_id is None:
                head = db.audit_head()
                after = max(0, (head[0] if head else 0) - limit)
            rows = db.audit_rows(report_id=report_id, after=after, limit=None if newest else limit)
            rows = rows[-limit:]
        return {"rows": [r.as_dict() for r in rows]}

    @app.post("/api/v1/audit", tags=["node"], status_code=201)
    def record_decision(
        decision: DecisionIn, token: ApiToken = Depends(publisher)
    ) -> dict[str, Any]:
        """Record an engine's decision in the audit log (publisher): a release refused for
        want of the role, a step that failed. One row, event ``engine``."""
        _write_audit(
            [
                AuditEntry(
                    event="engine",
                    outcome=decision.outcome,
                    origin=nation,
                    report_id=decision.report_id,
                    actor=f"api:{token.name}",
                    reason=f"{decision.action}: {decision.reason}",
                )
            ]
        )
        return {"recorded": True}

    install_taxii(app, service=service, db=db, db_lock=db_lock, tokens=tokens, refuse=refuse)
    install_match(app, reader=reader, write_audit=_write_audit, read_body=body_of)
    return app


__all__ = ["TOKEN_ROLES", "create_api_app"]
