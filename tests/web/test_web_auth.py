"""COP logins: password hashing, sessions, cookies, CSRF, throttling, expiry, roles."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from cop_helpers import PASSWORD, TestClient, csrf_of, login

from trilink.node.service import NodeService
from trilink.web import CopSettings, create_cop_app, create_user
from trilink.web.auth import (
    LoginThrottle,
    UserError,
    authenticate,
    lookup_session,
    set_disabled,
    set_password,
)


def test_create_user_stores_only_an_argon2_hash(net: dict[str, NodeService]) -> None:
    store = net["USA"].store
    create_user(store, "Officer.Kim", "a long enough password", "admin")
    (row,) = store.query(
        "SELECT username, password_hash, role FROM users WHERE username = ?", ("officer.kim",)
    )
    assert row[0] == "officer.kim" and row[2] == "admin"
    assert row[1].startswith("$argon2id$") and "a long enough password" not in row[1]
    assert authenticate(store, "OFFICER.KIM", "a long enough password") is not None
    assert authenticate(store, "officer.kim", "a long enough passwore") is None
    assert authenticate(store, "nobody", "a long enough password") is None


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("watch", PASSWORD, "viewer", "already exists"),
        ("x", PASSWORD, "viewer", "2-32 characters"),
        ("bad name", PASSWORD, "viewer", "2-32 characters"),
        ("newuser", "short", "viewer", "at least 10"),
        ("newuser", PASSWORD, "god", "not one of viewer, analyst, admin"),
    ],
)
def test_create_user_refuses_bad_input(
    net: dict[str, NodeService], username: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        create_user(net["USA"].store, username, password, role)


def test_login_sets_a_strict_httponly_cookie_and_stores_only_its_hash(
    net: dict[str, NodeService],
) -> None:
    with TestClient(create_cop_app(net["USA"])) as client:
        assert client.get("/api/me").status_code == 401
        page = client.get("/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        response = login(client)
        assert response.status_code == 303 and response.headers["location"] == "/"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("trilink_cop_USA=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
        token = cookie.split("=", 1)[1].split(";", 1)[0]
        hashes = [r[0] for r in net["USA"].store.query("SELECT token_hash FROM sessions")]
        assert hashes == [hashlib.sha256(token.encode()).hexdigest()]
        assert token not in hashes
        me = client.get("/api/me").json()
        assert me == {**me, "nation": "USA", "username": "watch", "role": "viewer"}
        rows = net["USA"].store.audit_rows()
        assert any(r.entry.event == "cop" and r.entry.outcome == "login" for r in rows)


def test_secure_flag_when_configured(net: dict[str, NodeService]) -> None:
    app = create_cop_app(net["JPN"], settings=CopSettings(secure_cookies=True))
    with TestClient(app, base_url="https://testserver") as client:
        assert "Secure" in login(client).headers["set-cookie"]


def test_wrong_passwords_are_rate_limited_and_audited(net: dict[str, NodeService]) -> None:
    with TestClient(create_cop_app(net["USA"])) as client:
        for _ in range(5):
            bad = login(client, password="wrong password!")
            assert bad.status_code == 401 and "Wrong username or password" in bad.text
        limited = login(client)  # even the right password is refused while locked out
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "set-cookie" not in limited.headers
        assert login(client, "ana").status_code == 303  # another user is not locked
    failures = [r for r in net["USA"].store.audit_rows() if r.entry.outcome == "login-failed"]
    assert len(failures) == 5 and failures[0].entry.actor == "watch"


def test_throttle_window_is_per_user_and_client() -> None:
    throttle = LoginThrottle(max_failures=3, window_s=60)
    for t in (0.0, 1.0, 2.0):
        throttle.failed("watch", "10.0.0.1", now=t)
    assert throttle.retry_after_s("watch", "10.0.0.1", now=3.0) == 57
    assert throttle.retry_after_s("WATCH", "10.0.0.1", now=3.0) == 57
    assert throttle.retry_after_s("watch", "10.0.0.2", now=3.0) == 0
    assert throttle.retry_after_s("watch", "10.0.0.1", now=60.5) == 0  # first failure aged out
    throttle.succeeded("watch", "10.0.0.1")
    assert throttle.retry_after_s("watch", "10.0.0.1", now=3.0) == 0


def test_expired_session_is_refused(net: dict[str, NodeService]) -> None:
    store = net["USA"].store
    with TestClient(create_cop_app(net["USA"])) as client:
        login(client)
        assert client.get("/api/reports").status_code == 200
        store.execute("UPDATE sessions SET expires_at = '2020-01-01T00:00:00.000000Z'")
        expired = client.get("/api/reports")
        assert expired.status_code == 401 and "expired" in expired.json()["detail"]
        page = client.get("/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?expired=1"
        assert "session has expired" in client.get("/login?expired=1").text


def test_short_ttl_expires(net: dict[str, NodeService]) -> None:
    settings = CopSettings(session_ttl=timedelta(seconds=-1))  # already past when issued
    with TestClient(create_cop_app(net["USA"], settings=settings)) as client:
        assert login(client).status_code == 303
        assert client.get("/api/me").status_code == 401


def test_disabling_or_new_password_ends_sessions(net: dict[str, NodeService]) -> None:
    store = net["KOR"].store
    with TestClient(create_cop_app(net["KOR"])) as client:
        login(client)
        assert client.get("/api/me").status_code == 200
        set_disabled(store, "watch", True)
        assert client.get("/api/me").status_code == 401
        assert login(client).status_code == 401
        set_disabled(store, "watch", False)
        login(client)
        set_password(store, "watch", "another good password")
        assert client.get("/api/me").status_code == 401
        assert login(client, password="another good password").status_code == 303


def test_csrf_and_roles_guard_publishing(net: dict[str, NodeService]) -> None:
    note = {"title": "CSRF check", "label": "UNCLASSIFIED//REL TO USA, JPN, KOR"}
    with TestClient(create_cop_app(net["USA"])) as client:
        login(client, "ana")
        no_token = client.post("/api/notes", json=note)
        assert no_token.status_code == 403 and "CSRF" in no_token.json()["detail"]
        wrong = client.post("/api/notes", json=note, headers={"X-CSRF-Token": "guess"})
        assert wrong.status_code == 403
        token = csrf_of(client.get("/").text)
        ok = client.post("/api/notes", json=note, headers={"X-CSRF-Token": token})
        assert ok.status_code == 200, ok.text
        stored = net["USA"].store.latest_version(ok.json()["id"])
        assert stored is not None and stored.report.envelope.payload_obj()["title"] == "CSRF check"
        bad_label = client.post(
            "/api/notes",
            json={**note, "label": "SECRET//REL TO CHN"},
            headers={"X-CSRF-Token": token},
        )
        assert bad_label.status_code == 422 and "CHN" in bad_label.json()["detail"]
    with TestClient(create_cop_app(net["USA"])) as viewer:
        login(viewer, "watch")
        token = csrf_of(viewer.get("/").text)
        refused = viewer.post("/api/notes", json=note, headers={"X-CSRF-Token": token})
        assert refused.status_code == 403 and "analyst" in refused.json()["detail"]


def test_logout_needs_csrf_and_ends_the_session(net: dict[str, NodeService]) -> None:
    store = net["JPN"].store
    with TestClient(create_cop_app(net["JPN"])) as client:
        response = login(client)
        token = response.headers["set-cookie"].split("=", 1)[1].split(";", 1)[0]
        assert client.post("/logout", data={"csrf_token": "nope"}).status_code == 403
        csrf = csrf_of(client.get("/").text)
        out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert out.status_code == 303
        assert lookup_session(store, token) is None
        assert client.get("/api/me").status_code == 401


def test_security_headers(net: dict[str, NodeService]) -> None:
    with TestClient(create_cop_app(net["USA"])) as client:
        page = client.get("/login")
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
