"""node.toml's transport and [nats] table: what loads, and every mistake a ConfigError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from trilink.errors import ConfigError
from trilink.federation import natsserver
from trilink.federation.localnet import ensure_network
from trilink.node.config import NatsSettings, load_node_config, parse_nats_section

BASE = Path("/etc/trilink/JPN")


def test_net_up_transport_nats_writes_the_nats_table_and_back(tmp_path: Path) -> None:
    if natsserver.shutil.which("nats-server") is None:
        pytest.skip("nats-server is not installed")
    ensure_network(tmp_path, nations=["USA", "JPN"], transport="nats")
    config = load_node_config(tmp_path / "JPN" / "node.toml")
    assert config.transport == "nats" and config.nats is not None
    assert config.nats.url == f"tls://127.0.0.1:{natsserver.LOCAL_NATS_PORT}"
    assert config.nats.ca == (tmp_path / "nats" / "ca.crt").resolve()
    assert config.nats.cert == (tmp_path / "JPN" / "nats-client.crt").resolve()
    conf = (tmp_path / "nats" / "nats.conf").read_text()
    assert natsserver.client_user("JPN") in conf and '"verify_and_map": true' in conf
    ensure_network(tmp_path, nations=["USA", "JPN"], transport="https")
    back = load_node_config(tmp_path / "JPN" / "node.toml")
    assert (back.transport, back.nats) == ("https", None)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (None, "needs a [nats] table"),
        ({"url": "http://x:4222"}, "nats://HOST:PORT or tls://HOST:PORT"),
        ({"url": "tls://x:4222"}, "give ca ="),
        ({"url": "nats://x:4222", "cert": "a.crt"}, "both cert and key"),
        ({"url": "nats://x:4222", "stream_max_bytes": 10}, "stream_max_bytes"),
        ({"url": "nats://x:4222", "stream_max_bytes": True}, "stream_max_bytes"),
        ({"url": "nats://x:4222", "urls": "x"}, "no key 'urls'"),
    ],
)
def test_bad_nats_table(table: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_nats_section(table, BASE, "node.toml")


def test_unknown_transport_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text(tomli_w.dumps({"nation": "JPN", "transport": "carrier pigeon"}))
    with pytest.raises(ConfigError, match="transport must be one of https, nats"):
        load_node_config(path)


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
keys = st.sampled_from(["url", "ca", "cert", "key", "stream_max_bytes"]) | st.text(max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values | st.sampled_from(["nats://h:1", "tls://h:1"]), max_size=6))
def test_any_nats_table_loads_or_says_what_is_wrong(table: dict[str, Any]) -> None:
    try:
        result = parse_nats_section(table, BASE, "node.toml")
    except ConfigError as err:
        assert str(err).startswith("node.toml: ")
    else:
        assert isinstance(result, NatsSettings)
