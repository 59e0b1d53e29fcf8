"""The [cop] table of node.toml (or the short ``cop = "HOST:PORT"``): the COP's address,
the reverse proxies whose X-Forwarded-For is believed, Secure cookies."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from trilink.errors import ConfigError
from trilink.federation.localnet import LOCAL_COP_PORTS, ensure_network
from trilink.node.config import (
    MAX_TRUSTED_PROXIES,
    CopOptions,
    load_node_config,
    parse_cop_section,
)

BASE: dict[str, Any] = {
    "nation": "KOR",
    "listen": "127.0.0.1:8103",
    "partners": {"USA": {"url": "https://127.0.0.1:8101", "ceiling": "SECRET"}},
}


def _load(tmp_path: Path, cop: Any) -> Any:
    path = tmp_path / "node.toml"
    path.write_text(tomli_w.dumps({**BASE, "cop": cop}), "utf-8")
    return load_node_config(path)


def test_cop_table_in_node_toml(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        {
            "listen": "127.0.0.1:8002",
            "trusted_proxies": ["127.0.0.1", " 10.8.0.0/16 ", "::1", "192.0.2.7/24"],
            "secure_cookies": True,
        },
    )
    assert (config.cop_host, config.cop_port) == ("127.0.0.1", 8002)
    assert config.cop_options == CopOptions(
        trusted_proxies=(
            ip_network("127.0.0.1/32"),
            ip_network("10.8.0.0/16"),
            ip_network("::1/128"),
            ip_network("192.0.2.0/24"),  # host bits of a CIDR are dropped, not an error
        ),
        secure_cookies=True,
    )


def test_short_form_and_defaults(tmp_path: Path) -> None:
    ensure_network(tmp_path, nations=["JPN"])
    local = load_node_config(tmp_path / "JPN" / "node.toml")
    assert (local.cop_host, local.cop_port) == ("127.0.0.1", LOCAL_COP_PORTS["JPN"])
    assert local.cop_options == CopOptions(trusted_proxies=(), secure_cookies=False)
    proxied = _load(tmp_path, {"trusted_proxies": ["10.0.0.1"]})  # no listen: no COP served
    assert (proxied.cop_host, proxied.cop_port) == (None, None)
    assert proxied.cop_options.trusted_proxies == (ip_network("10.0.0.1"),)


@pytest.mark.parametrize(
    ("cop", "match"),
    [
        ("8001", r"'cop' must be HOST:PORT"),
        ({"listen": "127.0.0.1:99999"}, r"\[cop\] listen must be HOST:PORT"),
        ({"listen": "127.0.0.1:²"}, r"\[cop\] listen must be HOST:PORT"),
        ({"trusted_proxies": "127.0.0.1"}, "must be a list of at most 64 addresses or CIDRs"),
        ({"trusted_proxies": ["localhost"]}, "'localhost' is not an IP address or CIDR"),
        ({"trusted_proxies": ["10.0.0.0/33"]}, "is not an IP address or CIDR"),
        ({"trusted_proxies": [127]}, "'int' is not an IP address"),
        ({"trusted_proxies": ["10.0.0.1"] * 65}, "at most 64"),
        ({"secure_cookies": "yes"}, "secure_cookies must be true or false, not 'yes'"),
        ({"secure_cookie": True}, r"\[cop\] has no key 'secure_cookie'; known: listen"),
    ],
)
def test_cop_mistakes_name_the_file_and_the_key(tmp_path: Path, cop: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as caught:
        _load(tmp_path, cop)
    assert str(tmp_path / "node.toml") in str(caught.value)


TOML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30) | st.floats(),
    lambda inner: (
        st.lists(inner, max_size=MAX_TRUSTED_PROXIES + 2)
        | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=80,
)
ADDRESSES = st.one_of(
    st.ip_addresses().map(str),
    st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=4), st.integers(-1, 40)),
    st.text(max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        TOML_VALUES,
        st.fixed_dictionaries(
            {},
            optional={
                "listen": st.text(max_size=30) | st.integers(),
                "trusted_proxies": st.lists(ADDRESSES, max_size=70) | TOML_VALUES,
                "secure_cookies": st.booleans() | TOML_VALUES,
            },
        ),
    )
)
def test_any_cop_value_is_a_config_or_a_config_error(value: Any) -> None:
    try:
        host, port, options = parse_cop_section(value, "node.toml")
    except ConfigError as err:
        assert str(err).startswith("node.toml: ") and len(str(err)) < 400
        return
    assert (host is None) == (port is None)
    assert port is None or 0 < port < 65536
    assert len(options.trusted_proxies) <= MAX_TRUSTED_PROXIES
    assert isinstance(options.secure_cookies, bool)
