"""node.toml: what the local network's setup writes loads back; every mistake is a
ConfigError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomli_w

from trilink.errors import ConfigError
from trilink.federation.localnet import LOCAL_API_PORTS, LOCAL_PORTS, ensure_network
from trilink.model.label import Classification
from trilink.node.config import load_node_config, write_node_config


def test_local_config_round_trip(tmp_path: Path) -> None:
    ensure_network(tmp_path, ceiling="CONFIDENTIAL")
    config = load_node_config(tmp_path / "JPN" / "node.toml")
    assert config.nation == "JPN"
    assert (config.host, config.port) == ("127.0.0.1", LOCAL_PORTS["JPN"])
    assert config.url == f"https://127.0.0.1:{LOCAL_PORTS['JPN']}"
    assert config.api_url == f"https://127.0.0.1:{LOCAL_API_PORTS['JPN']}"
    assert config.db_url == str((tmp_path / "JPN" / "node.db").resolve())
    assert config.ca_cert == (tmp_path / "JPN" / "ca.crt").resolve()
    assert config.partner_bundles["USA"] == (tmp_path / "JPN/partners/USA.bundle.json").resolve()
    assert config.partner_urls == {
        "USA": f"https://127.0.0.1:{LOCAL_PORTS['USA']}",
        "KOR": f"https://127.0.0.1:{LOCAL_PORTS['KOR']}",
    }
    assert set(config.policy.partners) == {"USA", "KOR"}
    assert {p.ceiling for p in config.policy.partners.values()} == {Classification.CONFIDENTIAL}
    assert config.markings["極秘"] is Classification.SECRET


def test_postgres_db_url_is_kept_as_given(tmp_path: Path) -> None:
    url = "postgresql://127.0.0.1:5432/test?schema=jpn"
    path = write_node_config(tmp_path, "JPN", listen="127.0.0.1:8102", db=url)
    assert load_node_config(path).db_url == url


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(tomli_w.dumps(doc), "utf-8")
    return path


BASE: dict[str, Any] = {
    "nation": "KOR",
    "listen": "127.0.0.1:8103",
    "partners": {"USA": {"url": "https://127.0.0.1:8101", "ceiling": "SECRET"}},
}


def test_markings_in_node_toml_extend_the_defaults(tmp_path: Path) -> None:
    doc = {**BASE, "markings": {"KOR": {"군사비밀": "SECRET", "대외비": "CONFIDENTIAL"}}}
    config = load_node_config(_write(tmp_path, doc))
    assert config.markings["군사비밀"] is Classification.SECRET
    assert config.markings["대외비"] is Classification.CONFIDENTIAL  # overridden
    assert config.markings["極秘"] is Classification.SECRET  # defaults kept


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"nation": "china"}, "ISO 3166-1 alpha-3"),
        ({"nation": "CHN"}, "nations must include this node's own nation CHN"),
        ({"nations": ["USA", "Japan"]}, "nations: 'Japan' is not an ISO"),
        ({"nations": "USA"}, "nations must be a list"),
        ({"nation": None}, "'nation'"),
        ({"listen": "8103"}, "HOST:PORT"),
        ({"listen": "127.0.0.1:http"}, "HOST:PORT"),
        ({"partners": {"USA": {"url": "http://127.0.0.1:8101", "ceiling": "SECRET"}}}, "https"),
        ({"partners": {"USA": {"ceiling": "SECRET"}}}, "url"),
        ({"partners": {"KOR": {"url": "https://x:1", "ceiling": "SECRET"}}}, "not a partner"),
        ({"partners": {"USA": {"url": "https://x:1", "ceiling": "HUSH"}}}, "ceiling"),
        ({"markings": {"KOR": {"비밀": "ULTRA"}}}, "markings.KOR"),
        ({"tls": "tls.crt"}, r"\[tls\]"),
    ],
)
def test_config_mistakes_name_the_file_and_the_setting(
    tmp_path: Path, change: dict[str, Any], match: str
) -> None:
    doc = {k: v for k, v in {**BASE, **change}.items() if v is not None}
    path = _write(tmp_path, doc)
    with pytest.raises(ConfigError, match=match) as caught:
        load_node_config(path)
    assert str(path) in str(caught.value)


def test_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no node config"):
        load_node_config(tmp_path / "absent.toml")
    broken = tmp_path / "node.toml"
    broken.write_text("nation = ", "utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_node_config(broken)


def test_nations_come_from_node_toml(tmp_path: Path) -> None:
    """The nations a node knows are its configuration: a fourth nation named there may be a
    partner and appear in labels; by default the node knows USA, JPN and KOR."""
    config = load_node_config(_write(tmp_path, BASE))
    assert config.policy.nations == frozenset({"USA", "JPN", "KOR"})
    doc = {
        **BASE,
        "nations": ["USA", "JPN", "KOR", "AUS"],
        "partners": {**BASE["partners"], "AUS": {"url": "https://aus:1", "ceiling": "SECRET"}},
    }
    config = load_node_config(_write(tmp_path, doc))
    assert "AUS" in config.policy.partners and "AUS" in config.policy.nations
    from trilink.model.label import parse_label

    label = parse_label("SECRET//REL TO JPN, AUS", nations=config.policy.nations)
    assert label.releasable_to("AUS")
