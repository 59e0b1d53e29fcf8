"""Who the client is: X-Forwarded-For believed only from the proxies in node.toml's [cop]
table, on the real uvicorn server the node runs; [cop] settings reaching the app."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import httpx
import pytest
from cop_helpers import PASSWORD, TestClient, login, serve

from trilink.node.config import load_node_config
from trilink.node.service import NodeService
from trilink.web import CopSettings, create_cop_app, create_user
from trilink.web.middleware import TrustedProxies


def login_failures(node: NodeService) -> list[str]:
    """The client address each failed login was audited with."""
    return [r.entry.reason for r in node.store.audit_rows() if r.entry.outcome == "login-failed"]


def post_login(client: httpx.Client, forwarded: str, password: str) -> int:
    return client.post(
        "/login",
        data={"username": "watch", "password": password},
        headers={"X-Forwarded-For": forwarded},
    ).status_code


def test_local_process_cannot_rotate_x_forwarded_for(net: dict[str, NodeService]) -> None:
    """No proxy configured (the default): the header is ignored, so rotating it neither
    escapes the throttle nor forges the audited address."""
    with serve(create_cop_app(net["USA"])) as base, httpx.Client(base_url=base) as client:
        answers = [post_login(client, f"198.51.100.{i}", "wrong password!") for i in range(6)]
        assert answers == [401] * 5 + [429]
    assert login_failures(net["USA"]) == ["127.0.0.1"] * 5


def test_trusted_proxy_names_the_client(net: dict[str, NodeService]) -> None:
    settings = CopSettings(trusted_proxies=(ip_network("127.0.0.1"), ip_network("10.8.0.0/16")))
    app = create_cop_app(net["USA"], settings=settings)
    with serve(app) as base, httpx.Client(base_url=base) as client:
        # the right-most address the trusted proxies did not add is the client
        assert post_login(client, "203.0.113.9, 198.51.100.7", "wrong password!") == 401
        assert post_login(client, "203.0.113.5, 10.8.1.1", "wrong password!") == 401
        assert post_login(client, "not-an-address", "wrong password!") == 401
        for _ in range(4):
            post_login(client, "198.51.100.7", "wrong password!")
        assert post_login(client, "198.51.100.7", PASSWORD) == 429  # that client is locked
        assert post_login(client, "198.51.100.8", PASSWORD) == 303  # another is not
    assert login_failures(net["USA"])[:3] == ["198.51.100.7", "203.0.113.5", "127.0.0.1"]


def test_forwarded_header_from_an_untrusted_peer_is_ignored(net: dict[str, NodeService]) -> None:
    settings = CopSettings(trusted_proxies=(ip_network("10.8.0.1"),))
    app = create_cop_app(net["USA"], settings=settings)
    with TestClient(app, client=("192.0.2.44", 5000)) as client:
        client.post(
            "/login",
            data={"username": "watch", "password": "wrong password!"},
            headers={"X-Forwarded-For": "203.0.113.1"},
        )
    assert login_failures(net["USA"]) == ["192.0.2.44"]


@pytest.mark.parametrize(
    ("header", "client"),
    [
        ("203.0.113.1", "203.0.113.1"),
        (" 203.0.113.1 , 127.0.0.1 ", "203.0.113.1"),
        ("127.0.0.1, 127.0.0.1", None),  # only proxies: keep the peer
        ("2001:db8::1, ::ffff:127.0.0.1", "2001:db8::1"),
        ("203.0.113.1, garbage", None),
        ("", None),
        ("1.1.1.1," * 5000 + "203.0.113.2", "203.0.113.2"),
    ],
)
def test_forwarded_client_rule(header: str, client: str | None) -> None:
    proxies = TrustedProxies(app=None, proxies=(ip_network("127.0.0.0/8"),))  # type: ignore[arg-type]
    assert proxies.forwarded_client(header) == client


def test_cop_table_of_node_toml_reaches_the_app(deployment: Path, tmp_path: Path) -> None:
    root = tmp_path / "net"
    (root / "USA").mkdir(parents=True)
    text = (deployment / "USA" / "node.toml").read_text("utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("cop = ")]
    lines += [
        "[cop]",
        'listen = "127.0.0.1:8000"',
        'trusted_proxies = ["127.0.0.1", "10.8.0.0/16"]',
        "secure_cookies = true",
    ]
    (root / "USA" / "node.toml").write_text("\n".join(lines) + "\n", "utf-8")
    for keys in (deployment / "USA").iterdir():
        if keys.name != "node.toml":
            (root / "USA" / keys.name).symlink_to(keys)
    config = load_node_config(root / "USA" / "node.toml")
    assert (config.cop_host, config.cop_port) == ("127.0.0.1", 8000)
    with NodeService.open_local(root, "USA", db_url=str(tmp_path / "usa.db")) as node:
        create_user(node.store, "watch", PASSWORD, "viewer")
        app = create_cop_app(node)
        assert app.state.cop.settings.trusted_proxies == (
            ip_network("127.0.0.1"),
            ip_network("10.8.0.0/16"),
        )
        with TestClient(app, base_url="https://testserver") as client:
            assert "Secure" in login(client).headers["set-cookie"]
