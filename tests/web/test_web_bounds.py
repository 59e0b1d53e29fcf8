"""Bounded input on every COP endpoint: bodies capped (413 before the body is buffered),
malformed parameters and forms answered with a 4xx saying what to fix (never a 500), each
refusal audited. A hypothesis run throws arbitrary query strings and bodies at them."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pytest
from cop_helpers import PASSWORD, TestClient, csrf_of, login, serve
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from trilink.node.service import NodeService
from trilink.web import create_cop_app, create_user
from trilink.web.app import FORM_BODY_LIMIT, NOTE_BODY_LIMIT
from trilink.web.filters import ALLOWED

MiB = 1024 * 1024
FORM = {"content-type": "application/x-www-form-urlencoded"}


def refusals(node: NodeService) -> list[str]:
    return [r.entry.reason for r in node.store.audit_rows() if r.entry.outcome == "refused"]


@pytest.fixture
def client(net: dict[str, NodeService]) -> Iterator[TestClient]:
    """A viewer's client of the USA COP that reports a server error as a 500 (not raised)."""
    with TestClient(create_cop_app(net["USA"]), raise_server_exceptions=False) as c:
        assert login(c).status_code == 303
        yield c


# -- bodies ------------------------------------------------------------------------------
def test_oversized_login_body_is_refused_with_413_and_audited(
    net: dict[str, NodeService],
) -> None:
    with TestClient(create_cop_app(net["USA"]), raise_server_exceptions=False) as anonymous:
        huge = anonymous.post("/login", content=b"username=watch&password=" + b"x" * 20 * MiB)
        assert huge.status_code == 413
        assert f"larger than {FORM_BODY_LIMIT} bytes" in huge.json()["detail"]
        # sent without a Content-Length (chunked): counted as read, refused the same way
        chunked = anonymous.post("/login", content=iter([b"password=", b"y" * 2 * MiB]))
        assert chunked.status_code == 413
        assert login(anonymous).status_code == 303  # a normal login still works
    reasons = refusals(net["USA"])
    assert len(reasons) == 2
    assert all(r.startswith("HTTP 413 to POST /login from testclient") for r in reasons)


def test_every_endpoint_has_a_body_cap(client: TestClient) -> None:
    token = csrf_of(client.get("/").text)
    for method, path in [
        ("GET", "/api/reports"),
        ("GET", "/api/me"),
        ("GET", "/api/export.kml"),
        ("GET", "/"),
        ("POST", "/logout"),
    ]:
        answer = client.request(method, path, content=b"z" * (FORM_BODY_LIMIT + 1))
        assert answer.status_code == 413, path
    note = b'{"title": "t", "label": "UNCLASSIFIED", "body": "' + b"n" * NOTE_BODY_LIMIT + b'"}'
    refused = client.post("/api/notes", content=note, headers={"X-CSRF-Token": token})
    assert refused.status_code == 413


def _raw_post_login(base: str, headers: bytes) -> socket.socket:
    split = urlsplit(base)
    sock = socket.create_connection((split.hostname, split.port), timeout=10)
    sock.sendall(
        b"POST /login HTTP/1.1\r\nHost: cop\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n" + headers + b"\r\n"
    )
    return sock


def test_real_server_refuses_a_200_mib_login_before_reading_it(
    net: dict[str, NodeService],
) -> None:
    """The node's COP port, unauthenticated: the answer comes before any of the body."""
    with serve(create_cop_app(net["USA"])) as base:
        with _raw_post_login(base, b"Content-Length: %d\r\n" % (200 * MiB)) as sock:
            reply = sock.recv(4096)  # nothing of the body was sent
        assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


def test_real_server_cuts_off_a_chunked_login_body_at_the_cap(
    net: dict[str, NodeService],
) -> None:
    total = 64 * MiB
    chunk = b"p" * (64 * 1024)
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    sent = 0
    with serve(create_cop_app(net["USA"])) as base:
        with _raw_post_login(base, b"Transfer-Encoding: chunked\r\n") as sock:
            sock.sendall(b"%x\r\npassword=\r\n" % len(b"password="))
            while sent < total and not select.select([sock], [], [], 0)[0]:
                try:
                    sock.sendall(framed)
                except (TimeoutError, OSError):  # the server stopped reading: answered
                    break
                sent += len(chunk)
            reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert sent < total  # answered while most of the body was still unsent


# -- what answered 500 -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "status", "needle"),
    [
        ("/api/reports?limit=%C2%B2", 422, "limit '²' is not a whole number"),
        ("/api/reports?limit=" + "9" * 5000, 422, "is not a whole number"),
        ("/api/export.kml?limit=%C2%B2", 422, "is not a whole number"),
        ("/api/reports?since=0001-01-01T00:00:00%2B14:00", 422, "outside the years 1 to 9999"),
        ("/api/reports?until=9999-12-31T23:59:59-14:00", 422, "outside the years 1 to 9999"),
        ("/api/export.geojson?since=0001-01-01T05:00:00%2B23:59", 422, "outside the years"),
        ("/api/stream?after=%C2%B2", 422, "must be a report sequence number"),
        ("/api/stream?after=" + "1" * 40, 422, "must be a report sequence number"),
        ("/login?expired=%C2%B2", 422, "expired"),
    ],
)
def test_bad_parameters_get_a_4xx_saying_what_to_fix(
    client: TestClient, net: dict[str, NodeService], url: str, status: int, needle: str
) -> None:
    answer = client.get(url)
    assert answer.status_code == status, answer.text[:300]
    assert needle in answer.json()["detail"]
    (reason,) = refusals(net["USA"])
    path = url.split("?")[0]
    assert reason.startswith(f"HTTP {status} to GET {path} from testclient: ")


def test_stream_last_event_id_header_is_checked(net: dict[str, NodeService]) -> None:
    """On the real server: the header's byte 0xB2 reaches the app as '²' (TestClient would
    re-encode it)."""
    with serve(create_cop_app(net["USA"])) as base, httpx.Client(base_url=base) as client:
        client.post("/login", data={"username": "watch", "password": PASSWORD})
        answer = client.get("/api/stream", headers={"Last-Event-ID": b"\xb2"})
    assert answer.status_code == 422 and "sequence number" in answer.json()["detail"]
    assert refusals(net["USA"])[0].startswith("HTTP 422 to GET /api/stream from 127.0.0.1")


def test_login_form_with_twelve_fields_is_a_400(net: dict[str, NodeService]) -> None:
    body = "username=watch&password=x&" + "&".join(f"f{i}=v" for i in range(10))
    with TestClient(create_cop_app(net["USA"]), raise_server_exceptions=False) as anonymous:
        answer = anonymous.post("/login", content=body, headers=FORM)
    assert answer.status_code == 400
    assert "more than 10 fields; send only username, password" in answer.json()["detail"]
    assert refusals(net["USA"])[0].startswith("HTTP 400 to POST /login")


def test_note_bodies_that_crashed_the_parser_are_422(
    net: dict[str, NodeService],
) -> None:
    with TestClient(create_cop_app(net["USA"]), raise_server_exceptions=False) as analyst:
        login(analyst, "ana")
        token = csrf_of(analyst.get("/").text)
        deep = analyst.post(
            "/api/notes", content=b"[" * 50_000 + b"]" * 50_000, headers={"X-CSRF-Token": token}
        )
        assert deep.status_code == 422 and "must be JSON" in deep.json()["detail"]
        long_label = analyst.post(
            "/api/notes",
            json={"title": "t", "label": "SECRET//REL TO USA" + "," * 1000},
            headers={"X-CSRF-Token": token},
        )
        assert long_label.status_code == 422 and "longer than 256" in long_label.json()["detail"]
        not_text = analyst.post(
            "/api/notes",
            json={"title": "t", "label": "UNCLASSIFIED", "body": [[[]]]},
            headers={"X-CSRF-Token": token},
        )
        assert not_text.status_code == 422 and "'body' must be a string" in not_text.text


def test_non_ascii_csrf_token_is_refused_not_a_crash(net: dict[str, NodeService]) -> None:
    with TestClient(create_cop_app(net["USA"]), raise_server_exceptions=False) as analyst:
        login(analyst, "ana")
        note = {"title": "t", "label": "UNCLASSIFIED//REL TO USA, JPN, KOR"}
        header = analyst.post(
            "/api/notes", json=note, headers={"X-CSRF-Token": "é".encode("latin-1") * 43}
        )
        assert header.status_code == 403 and "CSRF" in header.json()["detail"]
        form = analyst.post("/logout", data={"csrf_token": "ü"}, follow_redirects=False)
        assert form.status_code == 403


def test_refusals_of_a_logged_in_user_name_them(net: dict[str, NodeService]) -> None:
    with TestClient(create_cop_app(net["USA"])) as viewer:
        login(viewer, "watch")
        token = csrf_of(viewer.get("/").text)
        note = {"title": "t", "label": "UNCLASSIFIED//REL TO USA, JPN, KOR"}
        assert viewer.post("/api/notes", json=note).status_code == 403  # no CSRF token
        assert viewer.post("/api/notes", json=note, headers={"X-CSRF-Token": token}).status_code
        assert viewer.get("/api/reports?colour=red").status_code == 422
    rows = [r.entry for r in net["USA"].store.audit_rows() if r.entry.outcome == "refused"]
    assert [(e.actor, e.reason.split(":")[0]) for e in rows] == [
        ("watch", "HTTP 403 to POST /api/notes from testclient"),
        ("watch", "HTTP 403 to POST /api/notes from testclient"),
        ("watch", "HTTP 422 to GET /api/reports from testclient"),
    ]
    assert rows[1].reason.endswith("this needs the analyst role; you are viewer")


def test_report_id_that_no_store_can_hold_is_a_404(deployment: Path, store_url: str) -> None:
    """On both engines: PostgreSQL text cannot hold NUL, so asking it would fail."""
    with NodeService.open_local(deployment, "USA", db_url=store_url) as node:
        create_user(node.store, "watch", PASSWORD, "viewer")
        with TestClient(create_cop_app(node), raise_server_exceptions=False) as client:
            login(client)
            for report_id in ("%00abc", "x" * 300, "%E2%80%AE"):
                answer = client.get(f"/api/reports/{report_id}")
                assert answer.status_code == 404, answer.text[:200]
        denied = [r for r in node.store.audit_rows() if r.entry.outcome == "denied"]
    assert len(denied) == 3 and len(denied[1].entry.report_id) == 64


# -- fuzz --------------------------------------------------------------------------------
def _offset_time(moment: datetime, minutes: int) -> str:
    return moment.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat()


VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["²", "١٢", "1" * 30, "-1", "0", "20001", "nan", "inf", "1e400", "90m"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.builds(
        _offset_time,
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
        st.integers(min_value=-1439, max_value=1439),
    ),
    st.builds(lambda n, u: f"{n}{u}", st.integers(0, 10**6), st.sampled_from("mhdsy")),
)
QUERIES = st.one_of(
    st.dictionaries(st.sampled_from([*ALLOWED, "after", "x"]), VALUES, max_size=4).map(urlencode),
    st.text(max_size=60).map(lambda t: quote(t, safe="=&%+")),
)
PATHS = st.sampled_from(
    [
        "/api/reports",
        "/api/export.geojson",
        "/api/export.kml",
        "/api/export.cot",
        "/api/stream",
        "/login",
        "/api/me",
    ]
)
BODIES = st.one_of(
    st.binary(max_size=300),
    st.dictionaries(st.text(max_size=12), st.text(max_size=20), max_size=14).map(urlencode),
    st.lists(st.sampled_from(["username=", "password=", "csrf_token=", "&", "%", "=", ";"]))
    .map("".join)
    .map(str.encode),
)

# what a header can carry: no control characters
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, exclude_characters="\x7f", exclude_categories=("Cs",)),
    max_size=50,
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(path=PATHS, query=QUERIES, form=BODIES, note=BODIES, csrf=HEADER_TEXT)
@example(path="/api/reports", query="limit=%C2%B2", form=b"a=1&" * 12, note=b"[" * 5000, csrf="")
def test_no_query_or_body_gets_a_server_error(
    net: dict[str, NodeService], path: str, query: str, form: bytes, note: bytes, csrf: str
) -> None:
    node = net["USA"]
    app = create_cop_app(node)
    app.state.stop_streams()  # an accepted /api/stream answers and ends at once
    with TestClient(app, raise_server_exceptions=False) as c:
        c.post("/login", data={"username": "ana", "password": PASSWORD})
        answers = [
            c.get(f"{path}?{query}"),
            c.post("/login", content=form, headers=FORM),
            c.post("/logout", content=form, headers=FORM),
            c.post("/api/notes", content=note, headers={"X-CSRF-Token": csrf.encode()}),
        ]
    for answer in answers:
        assert answer.status_code < 500, (answer.request.url, answer.text[:300])
