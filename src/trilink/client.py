"""A program's way to its own node: the node API over HTTPS with an API token.

The CLI, the engine runners and the demo use it; none of them opens a node's store or holds
a key. ``NodeClient`` is synchronous (httpx), keeps one connection open, and turns every
refusal into an ``ApiError`` carrying the node's own message::

    client = NodeClient("https://127.0.0.1:8202", token, ca_file=Path("D/JPN/ca.crt"))
    ids = client.publish([{"kind": "note", "label": "SECRET//REL TO USA, JPN",
                           "payload": {"title": "KN-23 launch"}}]).ids
    for report in client.stream(kind="missile.track"):
        ...
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec

from trilink.errors import TrilinkError


class ApiError(TrilinkError):
    """The node refused a request (``status`` is the HTTP status) or could not be reached
    (``status`` 0)."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PublishResult:
    reports: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [r["id"] for r in self.reports]


def item(
    kind: str,
    label: str,
    payload: Any,
    *,
    derived_from: Sequence[str] = (),
    report_id: str | None = None,
) -> dict[str, Any]:
    """One item of a publish request; ``payload`` may be a msgspec Struct (an engine's
    typed payload) or a dict; ``report_id`` makes it a new version of that report."""
    body: dict[str, Any] = {
        "kind": kind,
        "label": label,
        "payload": msgspec.to_builtins(payload),
        "derived_from": list(derived_from),
    }
    if report_id is not None:
        body["id"] = report_id
    return body


class NodeClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        ca_file: Path | None = None,
        nation: str = "",
        timeout_s: float = 30.0,
        http: httpx.Client | None = None,
    ) -> None:
        """``http``: an httpx client to send through instead (tests pass one bound to the
        API app in-process); it gets the token header."""
        self.url = url.rstrip("/")
        self.nation = nation
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            verify = ssl.create_default_context(cafile=str(ca_file))
        self._http = http or httpx.Client(
            base_url=self.url, verify=verify, timeout=httpx.Timeout(timeout_s, connect=5.0)
        )
        self._http.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------
    def _who(self) -> str:
        return f"node {self.nation} API at {self.url}" if self.nation else f"node API {self.url}"

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        if "json" in kw:  # msgspec: several times faster than json.dumps on big batches
            kw["content"] = msgspec.json.encode(kw.pop("json"))
            kw["headers"] = {**kw.get("headers", {}), "content-type": "application/json"}
        try:
            response = self._http.request(method, path, **kw)
        except httpx.HTTPError as err:
            raise ApiError(
                f"{self._who()} unreachable ({err.__class__.__name__}: {err}); is the node "
                "running? ('trilink net status')",
                status=0,
            ) from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            if not isinstance(detail, str):
                detail = json.dumps(detail)[:2000]
            raise ApiError(f"{self._who()}: {detail}", status=response.status_code)
        try:
            return msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            raise ApiError(
                f"{self._who()} answered {path} with something that is not JSON",
                status=response.status_code,
            ) from None

    # -- publish --------------------------------------------------------------------------
    def publish(self, items: Sequence[dict[str, Any]]) -> PublishResult:
        """Publish items (see ``item``) as one signed batch: all of them, or none."""
        data = self._call("POST", "/api/v1/reports", json={"items": list(items)})
        return PublishResult(data["reports"], data.get("warnings", []))

    def publish_payloads(
        self,
        kind: str,
        label: str,
        payloads: Sequence[Any],
        *,
        derived_from: Sequence[Sequence[str]] | None = None,
        batch: int = 2000,
    ) -> PublishResult:
        """Publish payloads of one kind and label, ``batch`` per signed batch."""
        refs = list(derived_from) if derived_from is not None else [() for _ in payloads]
        reports: list[dict[str, Any]] = []
        warnings: list[str] = []
        for start in range(0, len(payloads), batch):
            chunk = [
                item(kind, label, p, derived_from=r)
                for p, r in zip(
                    payloads[start : start + batch], refs[start : start + batch], strict=True
                )
            ]
            done = self.publish(chunk)
            reports += done.reports
            warnings += done.warnings
        return PublishResult(reports, warnings)

    def edit(self, report_id: str, payload: Any, *, label: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"payload": msgspec.to_builtins(payload)}
        if label is not None:
            body["label"] = label
        result: dict[str, Any] = self._call("PUT", f"/api/v1/reports/{report_id}", json=body)
        return result

    def delete(self, report_id: str, reason: str = "") -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "DELETE", f"/api/v1/reports/{report_id}", params={"reason": reason}
        )
        return result

    def record_decision(
        self, action: str, outcome: str, reason: str, *, report_id: str = ""
    ) -> None:
        """Record an engine's decision (``refused``, ``failed`` or ``done``) in the node's
        audit log: e.g. a public alert whose release was refused for want of the role."""
        self._call(
            "POST",
            "/api/v1/audit",
            json={"action": action, "outcome": outcome, "reason": reason, "report_id": report_id},
        )

    # -- read -----------------------------------------------------------------------------
    def reports(
        self,
        *,
        kind: str | None = None,
        origin: str | None = None,
        all_versions: bool = False,
        after: int = 0,
        page: int = 1000,
    ) -> list[dict[str, Any]]:
        """Every report the node holds (newest version of each unless ``all_versions``)."""
        out: dict[tuple[str, int], dict[str, Any]] = {}
        while True:
            params: dict[str, Any] = {"after": after, "limit": page, "all_versions": True}
            if kind:
                params["kind"] = kind
            if origin:
                params["origin"] = origin
            data = self._call("GET", "/api/v1/reports", params=params)
            for report in data["reports"]:
                out[(report["id"], report["version"])] = report
                after = max(after, report["seq"])
            if len(data["reports"]) < page:
                break
        rows = sorted(out.values(), key=lambda r: r["seq"])
        if all_versions:
            return rows
        newest: dict[str, dict[str, Any]] = {}
        for report in rows:
            if report["id"] not in newest or report["version"] > newest[report["id"]]["version"]:
                newest[report["id"]] = report
        return sorted(newest.values(), key=lambda r: r["seq"])

    def report(self, report_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/api/v1/reports/{report_id}")
        return result

    def audit(self, *, report_id: str | None = None, newest: int = 50) -> list[dict[str, Any]]:
        """The node's newest audit rows, oldest first (an admin token)."""
        params: dict[str, Any] = {"newest": "true", "limit": newest}
        if report_id:
            params["report_id"] = report_id
        rows: list[dict[str, Any]] = self._call("GET", "/api/v1/audit", params=params)["rows"]
        return rows

    def export(
        self, fmt: str, params: dict[str, str] | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The node's current picture as a file in ``fmt`` (GET /api/v1/export): its bytes
        and headers (``x-classification``: the overall marking; ``x-trilink-count``)."""
        try:
            response = self._http.get(
                "/api/v1/export", params={"format": fmt, **(params or {})}, timeout=300
            )
        except httpx.HTTPError as err:
            raise ApiError(f"{self._who()} unreachable ({err})", status=0) from None
        if response.status_code >= 400:
            try:
                detail = str(response.json().get("detail", response.text))
            except ValueError:
                detail = response.text
            raise ApiError(f"{self._who()}: {detail[:2000]}", status=response.status_code)
        return response.content, dict(response.headers)

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/api/v1/status")
        return result

    def stream(
        self, *, after: int | None = None, kind: str | None = None, reconnect: bool = True
    ) -> Iterator[dict[str, Any]]:
        """Reports as the node stores them (server-sent events), resuming after the last
        one seen when the connection drops."""
        last = after
        while True:
            params: dict[str, Any] = {}
            if kind:
                params["kind"] = kind
            if last is not None:
                params["after"] = last
            try:
                with self._http.stream(
                    "GET",
                    "/api/v1/stream",
                    params=params,
                    timeout=httpx.Timeout(None, connect=5.0),
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise ApiError(
                            f"{self._who()}: {response.text[:500]}", status=response.status_code
                        )
                    data: list[str] = []
                    for line in response.iter_lines():
                        if line.startswith("data:"):
                            data.append(line[5:].strip())
                        elif not line and data:
                            report = json.loads("\n".join(data))
                            data = []
                            last = int(report["seq"])
                            yield report
            except httpx.HTTPError as err:
                if not reconnect:
                    raise ApiError(f"{self._who()} stream broke: {err}", status=0) from None
                time.sleep(0.5)
                continue
            if not reconnect:
                return
