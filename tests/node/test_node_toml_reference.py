"""docs/node-toml.md lists every key the node.toml parser accepts, table by table, and no
key it refuses; its complete example loads; an unknown key is refused naming the table;
the [log] table is read and checked."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from trilink.errors import ConfigError
from trilink.interop.tak_config import KEYS as TAK_KEYS
from trilink.node.config import (
    KEYS,
    LogOptions,
    load_node_config,
    node_config_from_dict,
    parse_log_section,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "node-toml.md"
BASE: dict[str, Any] = {"nation": "KOR", "listen": "127.0.0.1:8103"}


def documented() -> dict[str, set[str]]:
    """Section -> the keys in the first column of its table."""
    sections: dict[str, set[str]] = {}
    current = None
    for line in DOC.read_text("utf-8").splitlines():
        heading = re.fullmatch(r"## (?:`\[(.+)\]`|Top level)", line)
        if heading:
            current = heading.group(1) or ""
            sections[current] = set()
        elif line.startswith("## "):
            current = None
        elif current is not None and (key := re.match(r"\| `([a-z_]+)` \|", line)):
            sections[current].add(key.group(1))
    return sections


def test_every_key_the_parser_accepts_is_documented() -> None:
    sections = documented()
    expected = {
        "": set(KEYS[""]),
        "tls": set(KEYS["tls"]),
        "partners.NATION": set(KEYS["partners.*"]),
        "cop": set(KEYS["cop"]),
        "log": set(KEYS["log"]),
        "nats": set(KEYS["nats"]),
        "tak": set(TAK_KEYS),
        "markings.NATION": set(),  # free-form: marking words
    }
    assert sections == expected


def test_the_complete_example_loads(tmp_path: Path) -> None:
    text = DOC.read_text("utf-8")
    example = re.search(r"## A complete example\n\n```toml\n(.*?)```", text, re.S)
    assert example is not None
    raw = tomllib.loads(example.group(1))
    # every table of the page is in the example, with every key
    assert set(raw) == set(KEYS[""])
    for table in ("tls", "cop", "log", "nats"):
        assert set(raw[table]) == set(KEYS[table])
    assert set(raw["partners"]["USA"]) == set(KEYS["partners.*"])
    assert set(raw["tak"]) == set(TAK_KEYS)
    config = node_config_from_dict(tmp_path / "node.toml", raw)
    assert config.cop_options.secure_cookies is True
    assert config.log == LogOptions(
        level="INFO",
        file=Path("/var/log/trilink/node.log"),
        max_bytes=10485760,
        backups=5,
        format="json",
    )
    assert config.tak is not None and config.tak["server"] == "tak.example.mil:8089"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"lisen": "127.0.0.1:1"}, "the top level has no key 'lisen'"),
        ({"tls": {"certificate": "x"}}, r"\[tls\] has no key 'certificate'"),
        (
            {"partners": {"USA": {"url": "https://h:1", "ceiling": "SECRET", "ceil": 1}}},
            r"\[partners.USA\] has no key 'ceil'",
        ),
        ({"log": {"lvl": "INFO"}}, r"\[log\] has no key 'lvl'"),
        ({"log": {"level": "LOUD"}}, r"\[log\] level must be one of DEBUG"),
        ({"log": {"max_bytes": 10}}, r"\[log\] max_bytes must be a whole number"),
        ({"log": {"backups": True}}, r"\[log\] backups must be a whole number"),
        ({"log": {"format": "xml"}}, r"\[log\] format must be one of json, text"),
        ({"log": "loud"}, r"\[log\] must be a table"),
        ({"tak": "tak:8089"}, r"\[tak\] must be a table"),
    ],
)
def test_bad_keys_are_refused_naming_the_table(
    tmp_path: Path, doc: dict[str, Any], message: str
) -> None:
    path = tmp_path / "node.toml"
    path.write_text(tomli_w.dumps(BASE | doc), "utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        load_node_config(path)
    assert str(caught.value).startswith(str(path))


def test_log_table_defaults_and_relative_file(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    assert node_config_from_dict(path, BASE).log == LogOptions()
    config = node_config_from_dict(path, BASE | {"log": {"level": "debug", "file": "logs/n.log"}})
    assert config.log.level == "DEBUG"
    assert config.log.file == (tmp_path / "logs" / "n.log").resolve()


toml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*KEYS["log"], "other"]) | st.text(max_size=12), toml_values, max_size=6
    )
)
def test_log_table_fuzz(table: dict[str, Any]) -> None:
    """Whatever the [log] table holds: its options, or a ConfigError naming [log]."""
    try:
        options = parse_log_section(table, Path("/etc/trilink"), "node.toml")
    except ConfigError as err:
        assert str(err).startswith("node.toml: [log]")
    else:
        assert options.level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
