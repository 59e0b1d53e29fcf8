"""The public CAP feed of one nation (``trilink crisis feed --serve HOST:PORT``).

A small HTTP server for public consumers, beside the node: it reads the released public
alerts (``crisis.alert`` reports) its node holds through the node API and serves

    GET /cap.atom              the Atom feed of every released message, newest first
    GET /cap/<identifier>.xml  one CAP 1.2 message as released

Only reports whose label is UNCLASSIFIED are served (a public alert is released UNCLASSIFIED;
anything else the node holds is never reachable here). It holds an API token and nothing
else: no key, no store, no login.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from trilink.client import NodeClient
from trilink.crisis.cap import atom_feed
from trilink.errors import LabelError
from trilink.model.label import Classification, parse_label


def public_alerts(client: NodeClient) -> list[dict[str, Any]]:
    """Every version of every UNCLASSIFIED crisis.alert the node holds, newest first."""
    out = []
    for report in client.reports(kind="crisis.alert", all_versions=True):
        try:
            label = parse_label(str(report["label"]))
        except LabelError:
            continue
        if label.classification == Classification.UNCLASSIFIED and not report.get("tombstone"):
            out.append(dict(report["payload"]))
    return sorted(out, key=lambda p: str(p.get("sent", "")), reverse=True)


class CapFeed:
    def __init__(self, client: NodeClient, nation: str, *, refresh_s: float = 2.0) -> None:
        self.client = client
        self.nation = nation
        self.refresh_s = refresh_s
        self._alerts: list[dict[str, Any]] = []
        self._at = 0.0
        self._lock = threading.Lock()

    def alerts(self) -> list[dict[str, Any]]:
        with self._lock:
            if time.monotonic() - self._at > self.refresh_s:
                self._alerts = public_alerts(self.client)
                self._at = time.monotonic()
            return self._alerts

    def server(self, host: str, port: int) -> ThreadingHTTPServer:
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                try:
                    alerts = feed.alerts()
                except Exception as err:  # the node is away: say so, keep serving
                    self._send(503, "text/plain; charset=utf-8", f"node unavailable: {err}\n")
                    return
                if self.path in ("/cap.atom", "/"):
                    updated = datetime.now(UTC).isoformat(timespec="seconds")
                    body = atom_feed(feed.nation, alerts, updated=updated)
                    self._send(200, "application/atom+xml; charset=utf-8", body)
                    return
                if self.path.startswith("/cap/") and self.path.endswith(".xml"):
                    wanted = self.path[len("/cap/") : -len(".xml")]
                    for a in alerts:
                        if a.get("identifier") == wanted:
                            self._send(200, "application/cap+xml; charset=utf-8", a["xml"])
                            return
                self._send(404, "text/plain; charset=utf-8", "no such public alert\n")

            def _send(self, status: int, ctype: str, body: str) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return ThreadingHTTPServer((host, port), Handler)
