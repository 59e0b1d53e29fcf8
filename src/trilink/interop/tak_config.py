"""The ``[tak]`` table of node.toml: where a node streams live Cursor-on-Target.

```toml
[tak]
server = "tak.example.mil:8089"   # HOST:PORT of the TAK server's streaming CoT input
protocol = "tls"                  # "tls" (the default) or "tcp" (a closed network only)
ca = "tak/ca.pem"                 # tls: the CA the server's certificate must chain to
cert = "tak/client.pem"           # tls: this node's client certificate (TAK servers ask one)
key = "tak/client.key"            # tls: its private key
server_name = "tak.example.mil"   # tls: the name the certificate must carry (default: host)
kinds = ["missile.track", "missile.warning"]  # what to stream (default: every kind)
exercise = true                   # stream exercise content too (marked opex="e")
reconnect_min_s = 1.0             # first wait after a failed connection, doubled each time
reconnect_max_s = 60.0            # ... up to this
queue_max = 10000                 # objects kept while the server is unreachable
```

Paths are relative to the folder of node.toml. ``tak_config(table, base_dir=..., source=...)``
reads the table alone (the daemon passes ``toml["tak"]``) and returns None when there is none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from trilink.errors import ConfigError

KEYS = (
    "server",
    "protocol",
    "ca",
    "cert",
    "key",
    "server_name",
    "kinds",
    "exercise",
    "reconnect_min_s",
    "reconnect_max_s",
    "queue_max",
)
MAX_QUEUE = 1_000_000


@dataclass(frozen=True)
class TakConfig:
    host: str
    port: int
    protocol: Literal["tls", "tcp"] = "tls"
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    server_name: str | None = None
    kinds: frozenset[str] | None = None  # None: every kind
    exercise: bool = True
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    queue_max: int = 10_000

    @property
    def address(self) -> str:
        return f"{self.protocol}://{self.host}:{self.port}"


def _number(table: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{where} {key} must be a number of seconds above 0, not {value!r}")
    return float(value)


def _file(table: Mapping[str, Any], key: str, base_dir: Path, where: str) -> Path | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} {key} must be the path of a PEM file")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise ConfigError(f"{where} {key} = {value!r}: {path} does not exist")
    return path


def tak_config(
    table: Mapping[str, Any] | None, *, base_dir: Path, source: str = "node.toml"
) -> TakConfig | None:
    """The TAK stream settings of a ``[tak]`` table, or None when the node has none.
    ``ConfigError`` names the file, the key and what it accepts."""
    if table is None:
        return None
    where = f"{source}: [tak]"
    if not isinstance(table, Mapping):
        raise ConfigError(f'{where} must be a table (server = "HOST:PORT", ...)')
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where} has unknown key {unknown[0]!r}; keys: {', '.join(KEYS)}")
    server = table.get("server")
    if not isinstance(server, str) or ":" not in server:
        raise ConfigError(f'{where} server must be "HOST:PORT" (the TAK server\'s CoT input)')
    host, _, port_text = server.strip().rpartition(":")
    host = host.strip("[]")  # [::1]:8089
    if not host or not (port_text.isascii() and port_text.isdigit()):
        raise ConfigError(f'{where} server {server!r} is not "HOST:PORT"')
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ConfigError(f"{where} server port {port} is not 1-65535")
    protocol = table.get("protocol", "tls")
    if protocol not in ("tls", "tcp"):
        raise ConfigError(f'{where} protocol must be "tls" or "tcp", not {protocol!r}')
    ca = _file(table, "ca", base_dir, where)
    cert = _file(table, "cert", base_dir, where)
    key = _file(table, "key", base_dir, where)
    if protocol == "tls" and ca is None:
        raise ConfigError(f"{where} protocol tls needs ca: the CA file of the TAK server")
    if (cert is None) != (key is None):
        raise ConfigError(f"{where} cert and key go together (the client certificate and key)")
    if protocol == "tcp" and (ca or cert):
        raise ConfigError(f'{where} ca, cert and key are for protocol = "tls"')
    kinds = table.get("kinds")
    if kinds is not None and not (
        isinstance(kinds, list) and all(isinstance(k, str) and k for k in kinds)
    ):
        raise ConfigError(f"{where} kinds must be a list of report kinds")
    exercise = table.get("exercise", True)
    if not isinstance(exercise, bool):
        raise ConfigError(f"{where} exercise must be true or false")
    low = _number(table, "reconnect_min_s", 1.0, where)
    high = _number(table, "reconnect_max_s", 60.0, where)
    if high < low:
        raise ConfigError(f"{where} reconnect_max_s ({high}) is below reconnect_min_s ({low})")
    queue = table.get("queue_max", 10_000)
    if isinstance(queue, bool) or not isinstance(queue, int) or not 1 <= queue <= MAX_QUEUE:
        raise ConfigError(f"{where} queue_max must be a whole number from 1 to {MAX_QUEUE}")
    name = table.get("server_name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ConfigError(f"{where} server_name must be a host name")
    return TakConfig(
        host=host,
        port=port,
        protocol=protocol,
        ca=ca,
        cert=cert,
        key=key,
        server_name=name,
        kinds=frozenset(kinds) if kinds is not None else None,
        exercise=exercise,
        reconnect_min_s=low,
        reconnect_max_s=high,
        queue_max=queue,
    )
