"""What every COP view shares: ``CopSettings`` and ``Cop``, the node, its own store
connection, the report index and the checks a request goes through (session, role, CSRF,
filters), plus the audit of what the COP refuses."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.templating import Jinja2Templates

from trilink.model.kinds import known_kinds
from trilink.node.config import CopOptions, IPNetwork
from trilink.node.limits import FailureAuditLimit
from trilink.node.service import NodeService
from trilink.store.audit import AuditEntry
from trilink.store.base import Store, open_store
from trilink.web import auth
from trilink.web.filters import FilterError, Filters, parse_filters
from trilink.web.index import ReportIndex

HERE = Path(__file__).resolve().parent
HEARTBEAT_S = 15.0
# Longest text of a refusal kept in its audit row (the request can be much longer).
REFUSAL_REASON_CHARS = 300


@dataclass
class CopSettings:
    """Per-deployment choices. ``secure_cookies`` must be on whenever the COP is reached
    over TLS (a reverse proxy); it is off by default for the plain loopback port.
    ``trusted_proxies``: the only peers whose ``X-Forwarded-For`` names the client (for the
    login throttle and the audit); by default none, and the TCP peer is the client."""

    secure_cookies: bool = False
    trusted_proxies: tuple[IPNetwork, ...] = ()
    session_ttl: timedelta = timedelta(hours=8)
    max_login_failures: int = 5  # per username and client
    max_client_login_failures: int = 20  # per client, over every username
    login_window_s: float = 60.0
    audited_failures_per_client: int = 10  # per audit window; the rest go in a summary row
    audited_failures_overall: int = 60
    audit_window_s: float = 60.0
    heartbeat_s: float = HEARTBEAT_S  # SSE comment line: keeps proxies open, finds gone clients

    @classmethod
    def from_node(cls, options: CopOptions, **overrides: Any) -> CopSettings:
        """The settings of a node's ``[cop]`` table (``node.toml``)."""
        base: dict[str, Any] = {
            "secure_cookies": options.secure_cookies,
            "trusted_proxies": options.trusted_proxies,
        }
        return cls(**(base | overrides))


class Cop:
    """The COP of one node: state and request checks shared by its views."""

    def __init__(self, service: NodeService, settings: CopSettings, store: Store | None) -> None:
        self.service = service
        self.settings = settings
        self.nation = service.nation
        self.owns_store = store is None
        self.db: Store = store if store is not None else open_store(service.store.url)
        # The COP's connection is shared by the threads serving its requests.
        self.lock = threading.RLock()
        self.nations = service.config.policy.nations
        self.index = ReportIndex(self.db, service.nation, self.nations, lock=self.lock)
        self.throttle = auth.LoginThrottle(
            settings.max_login_failures,
            settings.login_window_s,
            settings.max_client_login_failures,
        )
        self.failure_audit = FailureAuditLimit(
            settings.audited_failures_per_client,
            settings.audited_failures_overall,
            settings.audit_window_s,
        )
        self.cookie = f"trilink_cop_{service.nation}"  # cookies ignore ports: one per node
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))

    def close(self) -> None:
        self.flush_failure_audit(final=True)
        if self.owns_store:
            with self.lock:
                self.db.close()

    # -- audit ----------------------------------------------------------------------------
    def audit(self, entry: AuditEntry) -> None:
        with self.lock, self.db.transaction():
            self.db.audit([entry])

    def audit_failure(self, client: str, entry: AuditEntry) -> None:
        """Audit a failed or refused request, within the per-client and overall limits."""
        entries = self.failure_audit.summaries()
        if self.failure_audit.admit(client):
            entries.append(entry)
        if entries:
            with self.lock, self.db.transaction():
                self.db.audit(entries)

    def flush_failure_audit(self, *, final: bool = False) -> None:
        """Write the summary rows of audit windows that have ended."""
        entries = self.failure_audit.summaries(final=final)
        if entries:
            with self.lock, self.db.transaction():
                self.db.audit(entries)

    def refusal(self, request: Request, status: int, detail: str, actor: str = "") -> None:
        """Audit that the COP answered ``request`` with a 4xx ``status`` saying ``detail``."""
        client = client_of(request)
        self.audit_failure(
            client,
            AuditEntry(
                event="cop",
                outcome="refused",
                actor=actor,
                reason=(
                    f"HTTP {status} to {request.method} {request.url.path} from {client}: {detail}"
                )[:REFUSAL_REASON_CHARS],
            ),
        )

    # -- request checks -------------------------------------------------------------------
    def session_of(self, request: Request) -> auth.Session | None:
        with self.lock:
            return auth.lookup_session(self.db, request.cookies.get(self.cookie))

    def require(self, request: Request, role: str = "viewer") -> auth.Session:
        session = self.session_of(request)
        if session is None:
            raise HTTPException(
                401, "not logged in, or the session has expired: log in again at /login"
            )
        request.state.username = session.user.username  # names the actor of a refusal
        if not session.user.may(role):
            raise HTTPException(403, f"this needs the {role} role; you are {session.user.role}")
        return session

    def require_csrf(
        self, request: Request, session: auth.Session, form_value: str | None = None
    ) -> None:
        presented = request.headers.get("x-csrf-token") or form_value
        if not auth.csrf_ok(session, presented):
            raise HTTPException(403, "missing or wrong CSRF token: reload the page and retry")

    def filters_of(self, request: Request) -> Filters:
        try:
            return parse_filters(
                dict(request.query_params), nations=self.nations, known_kinds=known_kinds()
            )
        except FilterError as err:
            raise HTTPException(422, str(err)) from None

    # -- the picture ----------------------------------------------------------------------
    def refreshed(self) -> ReportIndex:
        with self.lock:
            self.index.refresh()
        return self.index

    def banner(self, selected: list[dict[str, Any]]) -> dict[str, Any]:
        """The overall marking of ``selected`` (what a list or an export carries on top), as
        ``trilink.interop.marking`` computes it for this nation."""
        return self.index.marking([r["label"] for r in selected]).as_dict()


def client_of(request: Request) -> str:
    """The client's address: the TCP peer, or the address a trusted proxy forwarded (see
    ``middleware.TrustedProxies``)."""
    return request.client.host if request.client else "unknown"
