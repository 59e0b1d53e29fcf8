"""Failed logins: the throttle per (username, client) and per client, and the limit on the
audit rows failures write (a summary row per window counts what was not written)."""

from __future__ import annotations

from cop_helpers import PASSWORD, TestClient, login

from trilink.node.limits import FailureAuditLimit
from trilink.node.service import NodeService
from trilink.web import CopSettings, create_cop_app
from trilink.web.auth import LoginThrottle

FAILURES = ("login-failed", "login-throttled", "refused", "denied", "suppressed")


def failure_rows(node: NodeService) -> list[tuple[str, str, str]]:
    return [
        (r.entry.outcome, r.entry.actor, r.entry.reason)
        for r in node.store.audit_rows()
        if r.entry.event == "cop" and r.entry.outcome in FAILURES
    ]


def test_thirty_usernames_from_one_client_write_a_bounded_audit(
    net: dict[str, NodeService],
) -> None:
    node = net["USA"]
    with TestClient(create_cop_app(node)) as sprayer:
        answers = [
            login(sprayer, f"user{i:02d}", "wrong password!").status_code for i in range(30)
        ]
        # the client is locked out after 20 failures over any usernames, for every user
        assert answers == [401] * 20 + [429] * 10
        assert login(sprayer, "ana").status_code == 429
        mid_window = failure_rows(node)
    assert len(mid_window) == 10  # the per-client limit of rows per window
    assert [row[1] for row in mid_window] == [f"user{i:02d}" for i in range(10)]
    rows = failure_rows(node)  # the app has stopped: the window's summary is written
    assert len(rows) == 11
    outcome, _, reason = rows[-1]
    assert outcome == "suppressed"
    assert reason.startswith("21 failed COP requests in the 60 s from ")
    assert reason.endswith(
        "not audited one by one (limit 10 rows per client, 60 in all): testclient x21"
    )


def test_other_clients_are_neither_locked_nor_silenced(net: dict[str, NodeService]) -> None:
    node = net["USA"]
    app = create_cop_app(node)
    officer = TestClient(app, client=("192.0.2.2", 40000))  # the same app, another address
    with TestClient(app, client=("192.0.2.1", 40000)) as sprayer:
        for i in range(25):
            login(sprayer, f"user{i:02d}", "wrong password!")
        assert login(officer, "watch", "wrong password!").status_code == 401
        assert login(officer, "watch").status_code == 303
    own = [row for row in failure_rows(node) if row[2] == "192.0.2.2"]
    assert own == [("login-failed", "watch", "192.0.2.2")]


def test_overall_limit_across_clients() -> None:
    limit = FailureAuditLimit(per_client=10, overall=25, window_s=60)
    admitted = [limit.admit(f"10.0.0.{i % 5}", now=float(i)) for i in range(40)]
    assert admitted == [True] * 25 + [False] * 15
    assert limit.summaries(now=59.0) == []  # the window has not ended
    (summary,) = limit.summaries(now=60.0)
    assert summary.outcome == "suppressed"
    assert summary.reason.startswith("15 failed COP requests in the 60 s from ")
    assert summary.reason.endswith(
        "(limit 10 rows per client, 25 in all): "
        "10.0.0.0 x3, 10.0.0.1 x3, 10.0.0.2 x3, 10.0.0.3 x3, 10.0.0.4 x3"
    )
    assert limit.admit("10.0.0.0", now=61.0)  # a new window
    assert limit.summaries(now=200.0) == []  # nothing was suppressed in it


def test_summary_names_the_top_clients_and_counts_the_rest() -> None:
    limit = FailureAuditLimit(per_client=1, overall=100, window_s=60)
    for i in range(8):
        for _ in range(i + 2):
            limit.admit(f"client-{i}", now=1.0)
    (summary,) = limit.summaries(now=1.0, final=True)
    assert summary.reason.endswith(
        "client-7 x8, client-6 x7, client-5 x6, client-4 x5, client-3 x4 and 3 more clients"
    )


def test_throttle_counts_each_client_over_every_username() -> None:
    throttle = LoginThrottle(max_failures=5, window_s=60, max_client_failures=3)
    for t, name in enumerate(("a1", "b2", "c3")):
        throttle.failed(name, "10.0.0.1", now=float(t))
    assert throttle.retry_after_s("d4", "10.0.0.1", now=3.0) == 57
    assert throttle.retry_after_s("d4", "10.0.0.2", now=3.0) == 0
    throttle.succeeded("a1", "10.0.0.1")  # a success does not reset the client's count
    assert throttle.retry_after_s("a1", "10.0.0.1", now=3.0) == 57
    assert throttle.retry_after_s("d4", "10.0.0.1", now=60.0) == 0


def test_throttle_memory_is_bounded_under_a_spray() -> None:
    throttle = LoginThrottle(max_failures=5, window_s=60)
    for i in range(25_000):
        throttle.failed(f"user{i}", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", now=1.0)
    assert len(throttle._pairs._times) <= 10_000
    assert len(throttle._clients._times) <= 10_000


def test_custom_limits_come_from_settings(net: dict[str, NodeService]) -> None:
    settings = CopSettings(audited_failures_per_client=2, max_client_login_failures=50)
    with TestClient(create_cop_app(net["KOR"], settings=settings)) as client:
        for i in range(6):
            assert login(client, f"user{i}", "wrong password!").status_code == 401
        assert login(client, "watch", PASSWORD).status_code == 303
    outcomes = [row[0] for row in failure_rows(net["KOR"])]
    assert outcomes == ["login-failed", "login-failed", "suppressed"]
