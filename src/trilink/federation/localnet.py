"""The local three-nation network: USA, JPN and KOR nodes as background processes.

``trilink net up --dir DIR`` sets up what is missing with the same steps two real sites
follow (``trilink.node.setup``), once per nation, each in its own directory ``DIR/USA``,
``DIR/JPN``, ``DIR/KOR``: its own CA and keys, its trust bundle exported, then each
partner's bundle trusted by fingerprint. It starts each node with ``python -m trilink node
run``, records its pid in ``DIR/<NATION>/node.pid`` and its log in ``DIR/<NATION>/node.log``,
and returns once all three answer their health check.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from trilink.client import NodeClient
from trilink.errors import ConfigError, FederationError
from trilink.federation import natsserver
from trilink.federation.https import client_ssl_context
from trilink.federation.processes import end_process, start_process
from trilink.node.config import NodeConfig, load_node_config
from trilink.node.setup import export_trust, init_node, trust_partner
from trilink.provenance.pki import own_ca_certs
from trilink.provenance.trust import read_bundle
from trilink.store import open_store
from trilink.store.tokens import TokenRepository

# TRILINK_PORT_OFFSET moves every port of new local networks (two test runs side by side).
_OFFSET = int(os.environ.get("TRILINK_PORT_OFFSET", "0") or 0)
LOCAL_PORTS = {"USA": 8101 + _OFFSET, "JPN": 8102 + _OFFSET, "KOR": 8103 + _OFFSET}
LOCAL_COP_PORTS = {"USA": 8000 + _OFFSET, "JPN": 8001 + _OFFSET, "KOR": 8002 + _OFFSET}
LOCAL_API_PORTS = {"USA": 8201 + _OFFSET, "JPN": 8202 + _OFFSET, "KOR": 8203 + _OFFSET}
NATIONS = list(LOCAL_PORTS)
BUNDLE = "trust-bundle.json"
TOKEN_FILE = "api-token"

# Nodes started by this process: kept so they are reaped (waited for) when stopped here.
_children: dict[int, subprocess.Popen[bytes]] = {}


def ensure_network(
    root: Path,
    db_template: str | None = None,
    *,
    nations: list[str] | None = None,
    ceiling: str = "SECRET",
    kinds: list[str] | None = None,
    transport: str | None = None,
) -> list[str]:
    """Set up, for each nation in its own directory, what does not exist yet: ``pki init``,
    ``pki export``, then ``pki trust`` of each partner's bundle checked by its fingerprint.
    With ``transport="nats"``, the nodes replicate through the local NATS JetStream server
    (``trilink.federation.natsserver``); with None the configs keep the transport they have
    (HTTPS for new ones). Returns what was created."""
    chosen = nations or NATIONS
    created: list[str] = []
    fingerprints: dict[str, str] = {}
    for nation in chosen:
        node_dir = root / nation
        db = db_template.format(nation=nation.lower()) if db_template else "node.db"
        created += init_node(
            node_dir,
            nation,
            listen=f"127.0.0.1:{LOCAL_PORTS[nation]}",
            api=f"127.0.0.1:{LOCAL_API_PORTS[nation]}",
            cop=f"127.0.0.1:{LOCAL_COP_PORTS[nation]}",
            db=db,
        )
        fingerprints[nation] = export_trust(node_dir, node_dir / BUNDLE)
    for nation in chosen:
        config = load_node_config(root / nation / "node.toml")
        for partner in chosen:
            if partner == nation or partner in config.partner_urls:
                continue
            trust_partner(
                root / nation,
                partner,
                f"https://127.0.0.1:{LOCAL_PORTS[partner]}",
                root / partner / BUNDLE,
                fingerprint=fingerprints[partner],
                ceiling=ceiling,
                kinds=kinds,
            )
            created.append(f"{root / nation / 'partners' / partner}.bundle.json")
        token_file = root / nation / TOKEN_FILE
        if not token_file.exists():
            write_token(config, token_file, name="local-admin", role="admin")
            created.append(str(token_file))
    if transport == "nats" or (transport is None and natsserver.uses_nats(root, chosen)):
        created += natsserver.ensure_nats(root, chosen)
    elif transport not in (None, "https"):
        raise ConfigError(f"transport must be https or nats, not {transport[:40]!r}")
    elif transport == "https":
        for nation in chosen:
            _use_https(root / nation / "node.toml")
    return created


def _use_https(config_path: Path) -> None:
    doc = tomllib.loads(config_path.read_text("utf-8"))
    if doc.pop("transport", "https") != "https" or doc.pop("nats", None) is not None:
        config_path.write_text(tomli_w.dumps(doc), "utf-8")


def write_token(config: NodeConfig, path: Path, *, name: str, role: str) -> None:
    """Create an API token on the node and keep it in ``path`` (mode 0600), the way
    'trilink token create --out' does: the local network's commands read it from there."""
    store = open_store(config.db_url)
    try:
        tokens = TokenRepository(store)
        if any(t.name == name and not t.revoked for t in tokens.all()):
            # its text is lost with the file: revoke it, and name the new one apart
            tokens.revoke(name)
        taken = {t.name for t in tokens.all()}
        unique = name if name not in taken else f"{name} {len(taken) + 1}"
        token = tokens.create(unique, role)
    finally:
        store.close()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")


def mtls_client(config: NodeConfig, timeout: float = 3.0) -> httpx.Client:
    """A client of this node's own tools (health, status) to its node and, through
    the partners' bundles it trusts, to theirs."""
    cas = own_ca_certs(config.dir)
    for path in config.partner_bundles.values():
        cas += read_bundle(path).cas
    return httpx.Client(verify=client_ssl_context(config, cas), timeout=timeout)


def pid_of(root: Path, nation: str) -> int | None:
    """The running node's pid, or None if it is not running."""
    path = root / nation / "node.pid"
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    child = _children.get(pid)
    if child is not None:  # started here: a zombie still answers kill(pid, 0)
        return pid if child.poll() is None else None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid if _is_live_node(pid) else None


def _is_live_node(pid: int) -> bool:
    """False for a zombie (killed, not yet reaped: it still answers kill(pid, 0)) and for a
    pid the system has given to another program since. Where /proc is missing, trust
    kill(pid, 0)."""
    proc = Path(f"/proc/{pid}")
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return True
    state = stat.rpartition(")")[2].split()[:1]
    if state in (["Z"], ["X"]):
        return False
    return b"trilink" in cmdline and b"node" in cmdline


def start_node(root: Path, nation: str) -> int:
    running = pid_of(root, nation)
    if running is not None:
        return running
    node_dir = root / nation
    proc = start_process(
        [sys.executable, "-m", "trilink", "node", "run", "--config", str(node_dir / "node.toml")],
        node_dir / "node.log",
    )
    _children[proc.pid] = proc
    (node_dir / "node.pid").write_text(str(proc.pid))
    return proc.pid


def health(config: NodeConfig, client: httpx.Client) -> dict[str, Any] | None:
    """The node's health as its partners see it, once its API answers too (when it has
    one); None while either is not up."""
    try:
        response = client.get(config.url + "/v1/health")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        if config.api_url is not None:
            client.get(config.api_url + "/healthz").raise_for_status()
        return data
    except (httpx.HTTPError, ValueError):
        return None


def wait_healthy(root: Path, nations: list[str], timeout_s: float = 30.0) -> None:
    configs = {n: load_node_config(root / n / "node.toml") for n in nations}
    deadline = time.monotonic() + timeout_s
    pending = set(nations)
    with mtls_client(configs[nations[0]]) as client:
        while pending and time.monotonic() < deadline:
            for nation in sorted(pending):
                if health(configs[nation], client) is not None:
                    pending.discard(nation)
                elif pid_of(root, nation) is None:
                    tail = _log_tail(root / nation / "node.log")
                    raise FederationError(f"node {nation} exited during start-up:\n{tail}")
            if pending:
                time.sleep(0.2)
    if pending:
        raise FederationError(
            f"nodes {', '.join(sorted(pending))} not healthy after {timeout_s:.0f} s; "
            f"see {root}/<NATION>/node.log"
        )


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def net_up(root: Path, nations: list[str] | None = None) -> dict[str, str]:
    ensure_network(root)
    chosen = nations or NATIONS
    if natsserver.uses_nats(root, NATIONS):
        natsserver.start_nats(root)
    for nation in chosen:
        start_node(root, nation)
    wait_healthy(root, chosen)
    return {n: load_node_config(root / n / "node.toml").url for n in chosen}


def stop_node(root: Path, nation: str, *, kill: bool = False, timeout_s: float = 10.0) -> bool:
    pid = pid_of(root, nation)
    if pid is None:
        return False
    end_process(pid, _children.pop(pid, None), kill=kill, timeout_s=timeout_s)
    (root / nation / "node.pid").unlink(missing_ok=True)
    return True


def _check_network_dir(root: Path) -> None:
    if not any((root / n / "node.toml").exists() for n in NATIONS):
        raise ConfigError(
            f"{root} is not a trilink network directory (no <NATION>/node.toml): "
            f"create it with 'trilink net up --dir {root}'"
        )


def net_down(root: Path) -> list[str]:
    """Stop the nodes, then the local NATS server if the network runs one."""
    _check_network_dir(root)
    stopped = [n for n in NATIONS if stop_node(root, n)]
    if natsserver.stop_nats(root):
        stopped.append("NATS")
    return stopped


@dataclass
class NodeStatus:
    nation: str
    url: str
    running: bool
    healthy: bool
    detail: dict[str, Any]


def net_status(root: Path) -> list[NodeStatus]:
    _check_network_dir(root)
    out = []
    first = load_node_config(root / NATIONS[0] / "node.toml")
    with mtls_client(first) as client:
        for nation in NATIONS:
            config = load_node_config(root / nation / "node.toml")
            detail: dict[str, Any] = {}
            try:
                response = client.get(config.url + "/v1/status")
                response.raise_for_status()
                detail = response.json()
            except (httpx.HTTPError, ValueError):
                pass
            out.append(
                NodeStatus(
                    nation, config.url, pid_of(root, nation) is not None, bool(detail), detail
                )
            )
    return out


def node_dir(root: Path, nation: str) -> Path:
    """NATION's node directory in a network directory; ``ConfigError`` naming the nations
    the network has, or how to create it."""
    path = root / nation
    if not (path / "node.toml").exists():
        present = sorted(p.parent.name for p in root.glob("*/node.toml"))
        if present:
            raise ConfigError(
                f"unknown nation {nation!r}: the network in {root} has nodes for "
                f"{', '.join(present)}"
            )
        raise ConfigError(
            f"{path / 'node.toml'} does not exist: run 'trilink net up --dir {root}' first"
        )
    return path


def client_for(root: Path, nation: str) -> NodeClient:
    """The node API client of NATION's node in a network directory."""
    return client_for_config(node_dir(root, nation) / "node.toml")


def client_for_config(path: Path) -> NodeClient:
    """The node API client of the node whose node.toml is ``path``: its address from
    node.toml, its token from $TRILINK_API_TOKEN or api-token beside it (written by
    'trilink net up' or 'trilink token create --out')."""
    config = load_node_config(path)
    directory = config.dir
    if config.api_url is None:
        raise ConfigError(
            f"{directory / 'node.toml'} has no 'api = \"HOST:PORT\"': the node serves no API "
            "for this command to use"
        )
    token = os.environ.get("TRILINK_API_TOKEN", "").strip()
    if not token:
        try:
            token = (directory / TOKEN_FILE).read_text("utf-8").strip()
        except FileNotFoundError:
            raise ConfigError(
                f"no API token: set TRILINK_API_TOKEN or create one with 'trilink token create "
                f"--dir {directory} --role publisher --out {directory / TOKEN_FILE}'"
            ) from None
    return NodeClient(config.api_url, token, ca_file=config.ca_cert, nation=config.nation)
