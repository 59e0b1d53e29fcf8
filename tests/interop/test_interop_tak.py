"""Live CoT to a TAK server (#16 item 2): the ``[tak]`` table of node.toml, and the stream
against a real local TCP listener and a real TLS listener (mutual TLS, as TAK servers run):
events arrive and validate; a server that is down is retried with backoff, counted, and
nothing queued is lost when it comes up; a server that hangs up is reconnected."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from interop_samples import item, maritime_event, missile_track, missile_warning
from xsd_validator import COT_XSD, Validator

from trilink.errors import ConfigError
from trilink.interop.tak_config import TakConfig, tak_config
from trilink.interop.tak_stream import TakStream

WAIT_S = 20.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Listener:
    """A TAK server's streaming input, as far as a client can tell: accepts connections
    (TLS if given a context) and collects what each sends."""

    def __init__(self, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.server = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.tls = tls
        self.data: list[bytes] = []
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.server.accept()
            except (TimeoutError, OSError):
                continue
            if self.tls is not None:
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    conn.close()
                    continue
            with self.lock:
                self.connections.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        while self.running:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.data.append(chunk)

    def events(self) -> list[bytes]:
        with self.lock:
            text = b"".join(self.data)
        return [line for line in text.split(b"\n") if line.strip()]

    def hang_up(self) -> None:
        with self.lock:
            for conn in self.connections:
                conn.close()
            self.connections.clear()

    def close(self) -> None:
        self.running = False
        self.hang_up()
        self.server.close()
        self.thread.join(5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def stream_to() -> Iterator[Callable[[TakConfig], TakStream]]:
    streams: list[TakStream] = []

    def make(config: TakConfig) -> TakStream:
        stream = TakStream(config)
        stream.start()
        streams.append(stream)
        return stream

    yield make
    for stream in streams:
        stream.stop()


def tcp_config(port: int, **options: object) -> TakConfig:
    base = {
        "server": f"127.0.0.1:{port}",
        "protocol": "tcp",
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.4,
    }
    config = tak_config(base | options, base_dir=Path("."), source="node.toml")
    assert config is not None
    return config


def test_events_arrive_and_validate(stream_to: Callable[[TakConfig], TakStream]) -> None:
    listener = Listener()
    try:
        stream = stream_to(tcp_config(listener.port))
        queued = stream.publish(
            [
                item("missile.track", missile_track(0)),
                item("missile.warning", missile_warning()),
                item("note", {"title": "no position: not streamed"}),
            ]
        )
        assert queued == 2
        wait_for(lambda: len(listener.events()) == 2, "two events")
        schema = Validator(COT_XSD)
        for event in listener.events():
            assert schema.errors(event) == []
        stats = stream.stats()
        assert stats.connected and stats.sent == 2 and stats.pending == 0 and stats.connects == 1
    finally:
        listener.close()


def test_a_server_that_is_down_is_retried_and_nothing_is_lost(
    stream_to: Callable[[TakConfig], TakStream],
) -> None:
    port = free_port()
    stream = stream_to(tcp_config(port))
    states = [item("missile.track", missile_track(k, track_id=f"T{k}")) for k in range(5)]
    stream.publish(states)
    wait_for(lambda: stream.stats().failures >= 3, "three failed connection attempts")
    stats = stream.stats()
    assert not stats.connected and stats.pending == 5 and stats.sent == 0
    assert "Connection refused" in stats.last_error or "ConnectionRefused" in stats.last_error
    listener = Listener(port)
    try:
        wait_for(lambda: len(listener.events()) == 5, "the five queued events")
        assert stream.stats().connects == 1 and stream.stats().pending == 0
        # a newer state of an object waiting in the queue replaces the older one
        listener.hang_up()
        wait_for(lambda: not stream.stats().connected or stream.stats().connects > 1, "hang-up")
        newer = item("missile.track", missile_track(3, track_id="T0"))
        stream.publish([item("missile.track", missile_track(2, track_id="T0")), newer])
        wait_for(lambda: len(listener.events()) >= 6, "the state after the reconnection")
        assert stream.stats().connects == 2
        assert listener.events()[-1].decode().count('time="2026-11-23T06:00:30.000Z"') == 1
    finally:
        listener.close()


def test_a_full_queue_drops_the_oldest_object_and_counts_it(
    stream_to: Callable[[TakConfig], TakStream],
) -> None:
    stream = stream_to(tcp_config(free_port(), queue_max=2))
    stream.publish([item("missile.track", missile_track(0, track_id=f"T{k}")) for k in range(3)])
    stats = stream.stats()
    assert stats.pending == 2 and stats.dropped == 1


def _certificate(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, object] | None,
    *,
    ca: bool,
    usage: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if name == "127.0.0.1":
        import ipaddress

        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(name))]),
            critical=False,
        )
    signer = issuer[1] if issuer else key
    return builder.sign(signer, hashes.SHA256())  # type: ignore[arg-type]


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


def test_tls_with_client_certificate(
    tmp_path: Path, stream_to: Callable[[TakConfig], TakStream]
) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("TAK test CA", ca_key, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate(
        "127.0.0.1", server_key, (ca, ca_key), ca=False, usage=ExtendedKeyUsageOID.SERVER_AUTH
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _certificate(
        "trilink-USA", client_key, (ca, ca_key), ca=False, usage=ExtendedKeyUsageOID.CLIENT_AUTH
    )
    _write(tmp_path / "ca.pem", ca, None)
    _write(tmp_path / "server.pem", server, server_key)
    _write(tmp_path / "client.pem", client, client_key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=tmp_path / "ca.pem")
    context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    context.verify_mode = ssl.CERT_REQUIRED  # TAK servers ask for the client's certificate
    listener = Listener(tls=context)
    try:
        config = tak_config(
            {
                "server": f"127.0.0.1:{listener.port}",
                "ca": "ca.pem",
                "cert": "client.pem",
                "key": "client.key",
            },
            base_dir=tmp_path,
        )
        assert config is not None and config.protocol == "tls"
        stream = stream_to(config)
        stream.publish([item("maritime.event", maritime_event())])
        wait_for(lambda: len(listener.events()) == 1, "the event over TLS")
        assert Validator(COT_XSD).errors(listener.events()[0]) == []
    finally:
        listener.close()


def test_tak_table_errors_name_the_key(tmp_path: Path) -> None:
    assert tak_config(None, base_dir=tmp_path) is None
    cases = [
        ({}, 'server must be "HOST:PORT"'),
        ({"server": "tak:http"}, 'is not "HOST:PORT"'),
        ({"server": "tak:70000"}, "port 70000 is not 1-65535"),
        ({"server": "tak:8089"}, "protocol tls needs ca"),
        ({"server": "tak:8089", "ca": "missing.pem"}, "missing.pem does not exist"),
        ({"server": "tak:8089", "protocol": "udp"}, 'protocol must be "tls" or "tcp"'),
        ({"server": "tak:8089", "protocol": "tcp", "colour": 1}, "unknown key 'colour'"),
        ({"server": "tak:8087", "protocol": "tcp", "reconnect_min_s": 0}, "above 0"),
        ({"server": "tak:8087", "protocol": "tcp", "queue_max": 0}, "queue_max"),
        ({"server": "tak:8087", "protocol": "tcp", "kinds": "all"}, "list of report kinds"),
    ]
    for table, message in cases:
        with pytest.raises(ConfigError, match=message) as caught:
            tak_config(table, base_dir=tmp_path, source="/etc/trilink/node.toml")
        assert str(caught.value).startswith("/etc/trilink/node.toml: [tak]")
    ok = tak_config(
        {"server": "[::1]:8087", "protocol": "tcp", "kinds": ["missile.track"]},
        base_dir=tmp_path,
    )
    assert ok is not None and ok.host == "::1" and ok.kinds == {"missile.track"}
