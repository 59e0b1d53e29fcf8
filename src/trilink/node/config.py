"""The node's configuration file (TOML), e.g. ``DIR/JPN/node.toml``::

nation = "JPN"
listen = "127.0.0.1:8102"           # partners: HTTPS with mutual TLS
api = "127.0.0.1:8202"              # the node API for this nation's people and programs:
                                    # HTTPS (this node's certificate), API tokens
cop = "127.0.0.1:8001"              # optional: the COP web page for people (or [cop])
db = "node.db"                      # a file next to this config, or postgresql://...
accept_ceiling = "SECRET"           # the highest classification this node may hold from
                                    # partners (default SECRET); above it: refused, audited
[tls]                               # this nation's own PKI ('trilink pki init')
ca = "ca.crt"
cert = "tls.crt"
key = "tls.key"
[partners.USA]                      # written by 'trilink pki trust'
url = "https://127.0.0.1:8101"
bundle = "partners/USA.bundle.json" # USA's public trust bundle: its CA(s), checked by
                                    # fingerprint when it was trusted
ceiling = "SECRET"                  # highest classification this node releases to USA
accepts_exercise = true
kinds = ["note", "maritime.event"]  # optional: only these kinds go to USA

How batches travel between nodes: ``transport = "https"`` (the default: each node's partner
endpoint above, mutual TLS) or ``transport = "nats"``, through a NATS JetStream server
(``trilink.federation.jetstream``; the partner endpoint still serves health, status and the
audit heads ``trilink audit verify`` asks for)::

transport = "nats"
[nats]
url = "tls://127.0.0.1:4222"        # the NATS server (tls:// with a client certificate, or
                                    # nats:// for a server without TLS: no permissions then)
ca = "../nats/ca.crt"               # the CA that issued the NATS server's certificate
cert = "nats-client.crt"            # this node's NATS client certificate and key (the NATS
key = "nats-client.key"             # server maps it to this nation's user and permissions)
stream_max_bytes = 1073741824       # this node's stream (TRILINK_<NATION>); when full,
                                    # publishing waits for partners to consume (audited)

Instead of the one-line ``cop = "HOST:PORT"``, a ``[cop]`` table says how the COP is reached::

[cop]
listen = "127.0.0.1:8001"           # optional: leave out to serve no COP from the node
trusted_proxies = ["127.0.0.1"]     # reverse proxies whose X-Forwarded-For is believed
                                    # (addresses or CIDRs; default none: the TCP peer is the
                                    # client, for the login throttle and the audit)
secure_cookies = true               # session cookie marked Secure: users reach the COP
                                    # over HTTPS through the proxy (default false)

How the node logs (``[log]``), and where it streams live CoT (``[tak]``, read by
``trilink.interop.tak_config`` when the node starts)::

[log]
level = "INFO"                      # DEBUG, INFO, WARNING, ERROR (--log-level overrides)
file = "node.log"                   # optional: default stderr; relative to this file
max_bytes = 10485760                # rotate the file at this size ...
backups = 5                         # ... keeping this many old files
format = "json"                     # one JSON object per line, or "text"

Every key is listed in ``KEYS`` (and docs/node-toml.md); an unknown key is refused, so a
misspelt one does not silently keep its default.
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from trilink.errors import ConfigError, LabelError
from trilink.model.label import NATION_CODE, Classification
from trilink.model.markings import default_markings, markings_from_config
from trilink.policy import NodePolicy, policy_from_config

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_TRUSTED_PROXIES = 64
MAX_LOG_BYTES = 1 << 40

# Every key the parser accepts, per table ("" is the top level; "partners.*" each partner's
# table; "markings.*" maps a nation's marking words to levels and has no fixed keys; the
# keys of [tak] are trilink.interop.tak_config.KEYS).
KEYS: dict[str, tuple[str, ...]] = {
    "": (
        "nation", "nations", "listen", "api", "cop", "db", "accept_ceiling", "tls",
        "partners", "markings", "log", "tak", "transport", "nats",
    ),
    "tls": ("ca", "cert", "key"),
    "partners.*": (
        "url", "bundle", "ceiling", "kinds", "policies", "accepts_exercise", "accepts_live"
    ),
    "cop": ("listen", "trusted_proxies", "secure_cookies"),
    "log": ("level", "file", "max_bytes", "backups", "format"),
    "nats": ("url", "ca", "cert", "key", "stream_max_bytes"),
}  # fmt: skip
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("json", "text")


@dataclass(frozen=True)
class CopOptions:
    """How people reach the COP: the ``[cop]`` table's settings besides its address."""

    trusted_proxies: tuple[IPNetwork, ...] = ()
    secure_cookies: bool = False


def parse_cop_section(value: Any, src: str) -> tuple[str | None, int | None, CopOptions]:
    """(host, port, options) from ``cop = "HOST:PORT"`` or a ``[cop]`` table; no COP
    address (None, None) when the key or the table's ``listen`` is absent."""
    if value is None:
        return None, None, CopOptions()
    table = value if isinstance(value, dict) else {"listen": value}
    where = "[cop] listen" if isinstance(value, dict) else "'cop'"
    unknown = sorted(set(table) - set(KEYS["cop"]))
    if unknown:
        raise ConfigError(
            f"{src}: [cop] has no key {str(unknown[0])[:40]!r}; "
            "known: listen, trusted_proxies, secure_cookies"
        )
    host, port = None, None
    listen = table.get("listen")
    if listen is not None:
        host, _, port_text = str(listen).rpartition(":")
        ok = host and port_text.isascii() and port_text.isdigit() and len(port_text) <= 5
        if not ok or not 0 < int(port_text) < 65536:
            raise ConfigError(
                f"{src}: {where} must be HOST:PORT for the COP web server, "
                f"got {str(listen)[:80]!r}"
            )
        port = int(port_text)
    proxies = table.get("trusted_proxies", [])
    if not isinstance(proxies, list) or len(proxies) > MAX_TRUSTED_PROXIES:
        raise ConfigError(
            f"{src}: [cop] trusted_proxies must be a list of at most {MAX_TRUSTED_PROXIES} "
            'addresses or CIDRs, e.g. ["127.0.0.1", "10.0.8.0/24"]'
        )
    networks: list[IPNetwork] = []
    for entry in proxies:
        try:
            if not isinstance(entry, str):
                raise ValueError(entry)
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            shown = entry[:80] if isinstance(entry, str) else type(entry).__name__
            raise ConfigError(
                f"{src}: [cop] trusted_proxies: {shown!r} is not an IP address or CIDR "
                "(e.g. 127.0.0.1, ::1, 10.0.8.0/24)"
            ) from None
    secure = table.get("secure_cookies", False)
    if not isinstance(secure, bool):
        raise ConfigError(
            f"{src}: [cop] secure_cookies must be true or false, not {str(secure)[:40]!r}"
        )
    return host, port, CopOptions(trusted_proxies=tuple(networks), secure_cookies=secure)


TRANSPORTS = ("https", "nats")
DEFAULT_STREAM_MAX_BYTES = 1 << 30


@dataclass(frozen=True)
class NatsSettings:
    """The ``[nats]`` table: how this node reaches its NATS JetStream server."""

    url: str
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    stream_max_bytes: int = DEFAULT_STREAM_MAX_BYTES


def parse_nats_section(value: Any, base: Path, src: str) -> NatsSettings:
    if not isinstance(value, dict):
        raise ConfigError(
            f'{src}: transport = "nats" needs a [nats] table with url = "tls://HOST:PORT"'
        )
    unknown = sorted(set(value) - {"url", "ca", "cert", "key", "stream_max_bytes"})
    if unknown:
        raise ConfigError(
            f"{src}: [nats] has no key {str(unknown[0])[:40]!r}; "
            "known: url, ca, cert, key, stream_max_bytes"
        )
    url = value.get("url")
    if not isinstance(url, str) or not url.startswith(("nats://", "tls://")):
        raise ConfigError(
            f"{src}: [nats] url must be nats://HOST:PORT or tls://HOST:PORT, got {str(url)[:80]!r}"
        )
    files: dict[str, Path | None] = {}
    for name in ("ca", "cert", "key"):
        entry = value.get(name)
        if entry is not None and not isinstance(entry, str):
            raise ConfigError(f"{src}: [nats] {name} must be a file name")
        files[name] = (base / entry).resolve() if entry else None
    if (files["cert"] is None) != (files["key"] is None):
        raise ConfigError(f"{src}: [nats] needs both cert and key, or neither")
    if url.startswith("tls://") and files["ca"] is None:
        raise ConfigError(f"{src}: [nats] url is tls://: give ca = the NATS server's CA file")
    size = value.get("stream_max_bytes", DEFAULT_STREAM_MAX_BYTES)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 << 16 <= size <= 1 << 44:
        raise ConfigError(
            f"{src}: [nats] stream_max_bytes must be an integer from 65536 to 2^44, "
            f"got {str(size)[:40]!r}"
        )
    return NatsSettings(url, files["ca"], files["cert"], files["key"], size)


@dataclass(frozen=True)
class LogOptions:
    """The ``[log]`` table: level, file (None: stderr), rotation, format."""

    level: str = "INFO"
    file: Path | None = None
    max_bytes: int = 10 * 1024 * 1024
    backups: int = 5
    format: str = "json"


def _unknown_keys(table: dict[str, Any], section: str, src: str) -> None:
    allowed = KEYS["partners.*" if section.startswith("partners.") else section]
    unknown = sorted(str(k) for k in set(table) - set(allowed))
    if unknown:
        where = f"[{section}]" if section else "the top level"
        raise ConfigError(
            f"{src}: {where} has no key {unknown[0][:40]!r}; known: {', '.join(allowed)} "
            "(see docs/node-toml.md)"
        )


def parse_log_section(value: Any, base: Path, src: str) -> LogOptions:
    """The ``[log]`` table (absent: INFO as JSON lines to stderr)."""
    if value is None:
        return LogOptions()
    if not isinstance(value, dict):
        raise ConfigError(f'{src}: [log] must be a table (level = "INFO", file = "node.log")')
    _unknown_keys(value, "log", src)
    level = value.get("level", "INFO")
    if not isinstance(level, str) or level.upper() not in LOG_LEVELS:
        raise ConfigError(f"{src}: [log] level must be one of {', '.join(LOG_LEVELS)}")
    file = value.get("file")
    if file is not None and (not isinstance(file, str) or not file.strip()):
        raise ConfigError(f"{src}: [log] file must be a file name (default: stderr)")
    numbers = {}
    for key, low, high, default in (
        ("max_bytes", 1024, MAX_LOG_BYTES, 10 * 1024 * 1024),
        ("backups", 0, 1000, 5),
    ):
        number = value.get(key, default)
        if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
            raise ConfigError(f"{src}: [log] {key} must be a whole number from {low} to {high}")
        numbers[key] = number
    fmt = value.get("format", "json")
    if fmt not in LOG_FORMATS:
        raise ConfigError(f"{src}: [log] format must be one of {', '.join(LOG_FORMATS)}")
    return LogOptions(
        level=level.upper(),
        file=(base / Path(file).expanduser()).resolve() if file else None,
        max_bytes=numbers["max_bytes"],
        backups=numbers["backups"],
        format=fmt,
    )


@dataclass(frozen=True)
class NodeConfig:
    path: Path
    nation: str
    host: str
    port: int
    db_url: str
    ca_cert: Path
    tls_cert: Path
    tls_key: Path
    partner_urls: dict[str, str]
    partner_bundles: dict[str, Path]
    policy: NodePolicy
    markings: dict[str, Classification]
    accept_ceiling: Classification = Classification.SECRET
    api_host: str | None = None
    api_port: int | None = None
    cop_host: str | None = None
    cop_port: int | None = None
    cop_options: CopOptions = CopOptions()
    log: LogOptions = LogOptions()
    # the [tak] table as written; trilink.interop.tak_config checks it when the node starts
    tak: dict[str, Any] | None = None
    transport: str = "https"
    nats: NatsSettings | None = None

    @property
    def dir(self) -> Path:
        return self.path.parent

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def api_url(self) -> str | None:
        return f"https://{self.api_host}:{self.api_port}" if self.api_port else None


def load_node_config(path: Path) -> NodeConfig:
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"no node config at {path}: create one with 'trilink pki init --dir "
            f"{path.parent} --nation ...' (or 'trilink net up' for the local network)"
        ) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    return node_config_from_dict(path, raw)


def node_config_from_dict(path: Path, raw: dict[str, Any]) -> NodeConfig:
    src = str(path)
    _unknown_keys(raw, "", src)
    nation = raw.get("nation")
    if not isinstance(nation, str) or not NATION_CODE.match(nation):
        raise ConfigError(f"{src}: 'nation' must be an ISO 3166-1 alpha-3 code, e.g. \"JPN\"")
    listen = str(raw.get("listen", "127.0.0.1:8100"))
    host, _, port_text = listen.rpartition(":")
    if not host or not port_text.isdigit():
        raise ConfigError(f"{src}: 'listen' must be HOST:PORT, got {listen!r}")
    base = path.parent
    db = str(raw.get("db", "node.db"))
    db_url = db if "://" in db else str((base / db).resolve())
    tls = raw.get("tls", {})
    if not isinstance(tls, dict):
        raise ConfigError(f"{src}: [tls] must be a table")
    _unknown_keys(tls, "tls", src)
    partners = raw.get("partners", {})
    urls: dict[str, str] = {}
    bundles: dict[str, Path] = {}
    for code, table in partners.items() if isinstance(partners, dict) else []:
        if isinstance(table, dict):
            _unknown_keys(table, f"partners.{code}", src)
        url = table.get("url") if isinstance(table, dict) else None
        if not isinstance(url, str) or not url.startswith("https://"):
            raise ConfigError(f'{src}: [partners.{code}] needs url = "https://host:port"')
        urls[code] = url.rstrip("/")
        bundle = table.get("bundle", f"partners/{code}.bundle.json")
        if not isinstance(bundle, str):
            raise ConfigError(f"{src}: [partners.{code}] bundle must be a file name")
        bundles[code] = (base / bundle).resolve()
    cop_host, cop_port, cop_options = parse_cop_section(raw.get("cop"), src)
    api_host, api_port = None, None
    if raw.get("api") is not None:
        api_host, _, api_port_text = str(raw["api"]).rpartition(":")
        if not api_host or not api_port_text.isdigit() or not 0 < int(api_port_text) < 65536:
            raise ConfigError(f"{src}: 'api' must be HOST:PORT, got {str(raw['api'])[:60]!r}")
        api_port = int(api_port_text)
    ceiling_text = raw.get("accept_ceiling", "SECRET")
    try:
        accept_ceiling = Classification.from_text(str(ceiling_text))
    except LabelError as err:
        raise ConfigError(f"{src}: accept_ceiling: {err}") from None
    tak = raw.get("tak")
    if tak is not None and not isinstance(tak, dict):
        raise ConfigError(f'{src}: [tak] must be a table (server = "HOST:PORT", ...)')
    transport = raw.get("transport", "https")
    if transport not in TRANSPORTS:
        raise ConfigError(
            f"{src}: transport must be one of {', '.join(TRANSPORTS)}, got {str(transport)[:40]!r}"
        )
    nats = parse_nats_section(raw.get("nats"), base, src) if transport == "nats" else None
    return NodeConfig(
        log=parse_log_section(raw.get("log"), base, src),
        tak=tak,
        transport=transport,
        nats=nats,
        accept_ceiling=accept_ceiling,
        api_host=api_host,
        api_port=api_port,
        cop_host=cop_host,
        cop_port=cop_port,
        cop_options=cop_options,
        path=path,
        nation=nation,
        host=host,
        port=int(port_text),
        db_url=db_url,
        ca_cert=(base / tls.get("ca", "ca.crt")).resolve(),
        tls_cert=(base / tls.get("cert", "tls.crt")).resolve(),
        tls_key=(base / tls.get("key", "tls.key")).resolve(),
        partner_urls=urls,
        partner_bundles=bundles,
        policy=policy_from_config(nation, raw, source=src),
        markings=markings_from_config(raw, source=src, base=default_markings()),
    )


def write_node_config(
    node_dir: Path,
    nation: str,
    *,
    listen: str,
    api: str | None = None,
    cop: str | None = None,
    db: str = "node.db",
    accept_ceiling: str = "SECRET",
) -> Path:
    """A new node.toml for ``nation`` with no partner yet ('trilink pki trust' adds them)."""
    path = node_dir / "node.toml"
    doc: dict[str, Any] = {
        "nation": nation,
        "listen": listen,
        "db": db,
        "accept_ceiling": accept_ceiling,
        "tls": {"ca": "ca.crt", "cert": "tls.crt", "key": "tls.key"},
    }
    if api:
        doc["api"] = api
    if cop:
        doc["cop"] = cop
    node_config_from_dict(path, doc)  # refuse to write what would not load
    path.write_text(tomli_w.dumps(doc), "utf-8")
    return path


def add_partner(
    config_path: Path,
    partner: str,
    *,
    url: str,
    bundle: str,
    ceiling: str,
    kinds: list[str],
    accepts_exercise: bool = True,
) -> None:
    """Add (or replace) ``[partners.<partner>]`` in a node.toml, checking the result loads."""
    try:
        doc = tomllib.loads(config_path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"no node config at {config_path}: run 'trilink pki init' in that directory first"
        ) from None
    doc.setdefault("partners", {})[partner] = {
        "url": url.rstrip("/"),
        "bundle": bundle,
        "ceiling": ceiling,
        "accepts_exercise": accepts_exercise,
        "kinds": kinds,
    }
    node_config_from_dict(config_path, doc)
    config_path.write_text(tomli_w.dumps(doc), "utf-8")
