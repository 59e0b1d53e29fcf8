"""The local network's NATS JetStream server (``trilink net up --transport nats``).

The shared NATS server is run by whoever runs the network, not by a nation: here it gets its
own small CA in ``DIR/nats`` (``ca.crt``), a server certificate for 127.0.0.1, and one client
certificate per node (``DIR/<NATION>/nats-client.crt``) whose subject the server maps to that
nation's user (``verify_and_map``) with the permissions of
``trilink.federation.jetstream.nats_permissions``: no nation can claim another's user, and a
node trusting its partners' CAs does not let those CAs into NATS.

JetStream stores on files in ``DIR/nats/jetstream``. Where the server accepts it
(nats-server 2.10 and later) the config says ``sync_interval: always``: every stored
message is fsynced before it is acknowledged (Jepsen's analysis of NATS 2.12.1 lost
acknowledged writes under the default, a sync every 2 minutes). Older servers (2.9 on
Debian 12) refuse the key; they write each message to the OS before acknowledging it
(safe against a killed server, not against a power cut). Nothing is lost either way: a
batch counts as delivered only when the partner answers with its cursor, after its own
database committed it, so a batch JetStream lost is sent again.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import time
import tomllib
from pathlib import Path

import tomli_w
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trilink.errors import ConfigError, FederationError
from trilink.federation.jetstream import nats_permissions
from trilink.federation.processes import end_process, start_process

_OFFSET = int(os.environ.get("TRILINK_PORT_OFFSET", "0") or 0)
LOCAL_NATS_PORT = 4300 + _OFFSET
NATS_DIR = "nats"
CLIENT_CERT, CLIENT_KEY = "nats-client.crt", "nats-client.key"
MAX_PAYLOAD = 34 * 1024 * 1024  # a whole batch (trilink.model.wire.MAX_BATCH_BYTES) fits
CLIENT_UNIT = "nats client"


def client_user(nation: str) -> str:
    """The NATS user a node's client certificate maps to (its subject, RFC 2253)."""
    return f"CN={nation},OU={CLIENT_UNIT},O=trilink"


def _name(nation: str, unit: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "trilink"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, nation),
        ]
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _issue(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650 if ca else 730))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
    elif not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False
        )
    return builder.sign(signer, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def nats_binary() -> str:
    found = shutil.which("nats-server")
    if found is None:
        raise ConfigError(
            "nats-server is not installed: apt-get install -y nats-server (or put the "
            "nats-server binary on PATH) to use --transport nats"
        )
    return found


def sync_always_supported(binary: str, work: Path) -> bool:
    """Whether this nats-server accepts ``sync_interval: always`` (2.10 and later)."""
    probe = work / "probe.conf"
    probe.write_text(
        json.dumps(
            {
                "port": 4222,
                "jetstream": {"store_dir": str(work / "probe"), "sync_interval": "always"},
            }
        )
    )
    try:
        done = subprocess.run(
            [binary, "-c", str(probe), "-t"], capture_output=True, timeout=10, check=False
        )
    finally:
        probe.unlink(missing_ok=True)
    return done.returncode == 0


def ensure_nats(root: Path, nations: list[str]) -> list[str]:
    """The local NATS server's CA, certificates and config, and each node's client
    certificate and ``[nats]`` settings: what is missing is created, the config rewritten.
    Returns what was created."""
    created: list[str] = []
    work = root / NATS_DIR
    work.mkdir(parents=True, exist_ok=True)
    ca_cert_path, ca_key_path = work / "ca.crt", work / "ca.key"
    if not ca_cert_path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name("NATS", "nats ca")
        _write_key(ca_key_path, key)
        ca_cert_path.write_bytes(_pem(_issue(name, name, key.public_key(), key, ca=True)))
        created.append(str(ca_cert_path))
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{ca_key_path} is not an ECDSA key")
    ca_key = loaded
    if not (work / "server.crt").exists():
        key = ec.generate_private_key(ec.SECP256R1())
        _write_key(work / "server.key", key)
        cert = _issue(
            _name("NATS", "nats server"), ca_cert.subject, key.public_key(), ca_key, server=True
        )
        (work / "server.crt").write_bytes(_pem(cert))
        created.append(str(work / "server.crt"))
    for nation in nations:
        node_dir = root / nation
        if not (node_dir / CLIENT_CERT).exists():
            key = ec.generate_private_key(ec.SECP256R1())
            _write_key(node_dir / CLIENT_KEY, key)
            cert = _issue(_name(nation, CLIENT_UNIT), ca_cert.subject, key.public_key(), ca_key)
            (node_dir / CLIENT_CERT).write_bytes(_pem(cert))
            created.append(str(node_dir / CLIENT_CERT))
        _use_nats(node_dir / "node.toml")
    write_server_config(root, nations)
    return created


def _use_nats(config_path: Path) -> None:
    doc = tomllib.loads(config_path.read_text("utf-8"))
    doc["transport"] = "nats"
    doc["nats"] = {
        "url": f"tls://127.0.0.1:{LOCAL_NATS_PORT}",
        "ca": f"../{NATS_DIR}/ca.crt",
        "cert": CLIENT_CERT,
        "key": CLIENT_KEY,
        **{k: v for k, v in doc.get("nats", {}).items() if k == "stream_max_bytes"},
    }
    config_path.write_text(tomli_w.dumps(doc), "utf-8")


def write_server_config(root: Path, nations: list[str]) -> Path:
    work = root / NATS_DIR
    jetstream: dict[str, object] = {
        "store_dir": str(work / "jetstream"),
        "max_file_store": 8 << 30,
        "max_memory_store": 64 << 20,
    }
    if sync_always_supported(nats_binary(), work):
        jetstream["sync_interval"] = "always"
    users = [
        {
            "user": client_user(nation),
            "permissions": nats_permissions(nation, [p for p in nations if p != nation]),
        }
        for nation in nations
    ]
    config = {
        "host": "127.0.0.1",
        "port": LOCAL_NATS_PORT,
        "server_name": "trilink_local",
        "max_payload": MAX_PAYLOAD,
        "pid_file": str(work / "nats.pid"),
        "jetstream": jetstream,
        "tls": {
            "cert_file": str(work / "server.crt"),
            "key_file": str(work / "server.key"),
            "ca_file": str(work / "ca.crt"),
            "verify_and_map": True,
            "timeout": 3,
        },
        "authorization": {"users": users},
    }
    path = work / "nats.conf"
    path.write_text(json.dumps(config, indent=2))
    return path


# NATS servers started by this process: kept so they are reaped when they end.
_children: dict[int, subprocess.Popen[bytes]] = {}


def nats_pid(root: Path) -> int | None:
    """The pid of the network's running NATS server, or None."""
    for started, child in list(_children.items()):
        if child.poll() is not None:  # ended (killed): reaped, not a zombie
            del _children[started]
    try:
        pid = int((root / NATS_DIR / "nats.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[:1]
    except OSError:
        return None
    if state in (["Z"], ["X"]) or b"nats-server" not in cmdline:
        return None
    return pid


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_nats(root: Path, timeout_s: float = 15.0) -> int:
    """Start the local network's NATS server (if it is not running); its pid."""
    running = nats_pid(root)
    if running is not None:
        return running
    work = root / NATS_DIR
    conf = work / "nats.conf"
    if not conf.exists():
        raise ConfigError(
            f"{conf} does not exist: run 'trilink net up --dir {root} --transport nats'"
        )
    if _port_open(LOCAL_NATS_PORT):
        raise ConfigError(
            f"the NATS port 127.0.0.1:{LOCAL_NATS_PORT} is taken by another program: stop it "
            "or move the local network with TRILINK_PORT_OFFSET"
        )
    proc = start_process([nats_binary(), "-c", str(conf)], work / "nats.log")
    _children[proc.pid] = proc
    deadline = time.monotonic() + timeout_s
    while not _port_open(LOCAL_NATS_PORT):
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = (work / "nats.log").read_text(errors="replace").splitlines()[-10:]
            raise FederationError("the NATS server did not start:\n" + "\n".join(tail))
        time.sleep(0.1)
    return proc.pid


def stop_nats(root: Path, *, kill: bool = False, timeout_s: float = 10.0) -> bool:
    pid = nats_pid(root)
    if pid is None:
        return False
    end_process(pid, _children.pop(pid, None), kill=kill, timeout_s=timeout_s)
    deadline = time.monotonic() + timeout_s
    while _port_open(LOCAL_NATS_PORT) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def uses_nats(root: Path, nations: list[str]) -> bool:
    for nation in nations:
        try:
            doc = tomllib.loads((root / nation / "node.toml").read_text("utf-8"))
        except (FileNotFoundError, tomllib.TOMLDecodeError):
            continue
        if doc.get("transport") == "nats":
            return True
    return False
