"""Helpers of the anchored-audit tests: what an insider with database access does to a
node's audit log, and a partner served for real (mutual TLS) so ``trilink audit verify``
can ask it what it witnessed."""

from __future__ import annotations

import socket
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import tomli_w
import uvicorn
from typer.testing import CliRunner

from tests.conftest import Network
from trilink.cli.app import app
from trilink.federation.server import (
    PeerCertProtocol,
    create_app,
    server_ssl_kwargs,
    write_trusted_cas,
)
from trilink.model.wire import SignedHead
from trilink.node.service import NodeService
from trilink.store import Store
from trilink.store.audit import GENESIS, row_hash

SHARED = "SECRET//REL TO USA, JPN, KOR"


# -- what an insider does ------------------------------------------------------------------
def forget_checkpoints(store: Store, from_seq: int) -> None:
    """Delete the node's own signed heads of rows ``from_seq`` on, where they exist: a
    thorough insider leaves nothing in the database that remembers the old rows."""
    if store.table_exists("audit_checkpoints"):
        store.execute("DELETE FROM audit_checkpoints WHERE seq >= ?", (from_seq,))


def truncate(store: Store, keep: int) -> None:
    """Delete every audit row after ``keep`` and move the head back to it."""
    kept = [r for r in store.audit_rows() if r.seq == keep][0]
    store.execute("DELETE FROM audit WHERE seq > ?", (keep,))
    store.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (keep, kept.hash))
    forget_checkpoints(store, keep + 1)


def rehash_from(store: Store, seq: int, reason: str = "nothing happened here") -> None:
    """Edit row ``seq``'s reason, recompute every hash from it on, move the head."""
    rows = store.audit_rows()
    prev = rows[seq - 2].hash if seq > 1 else GENESIS
    for row in rows[seq - 1 :]:
        entry = row.entry
        if row.seq == seq:
            entry = msgspec.structs.replace(entry, reason=reason)
            store.execute("UPDATE audit SET reason = ? WHERE seq = ?", (reason, seq))
        digest = row_hash(prev, row.seq, row.at, entry)
        store.execute(
            "UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, row.seq)
        )
        prev = digest
    store.execute("UPDATE audit_head SET hash = ? WHERE id = 1", (prev,))


def empty_database(network: Network, nation: str) -> NodeService:
    """Stop ``nation``'s node, throw its database away, start it on an empty one."""
    node = network._nodes.pop(nation)
    if network.engine == "postgres":
        node.store.drop_schema()  # type: ignore[attr-defined]
        node.close()
    else:
        node.close()
        db = Path(network.db_url(nation))
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            path.unlink(missing_ok=True)
    return network.reopen(nation)


def restore_past_witnessed_rows(network: Network, backup_file: Path) -> tuple[SignedHead, str]:
    """KOR publishes and replicates, is backed up (`trilink node backup`), publishes more
    and signs a head its partners take, then is stopped, restored from the backup (`trilink
    node restore`) and started again. Returns (that head, which the restore went back past;
    what the restore command printed)."""
    config = use_database_in_config(network, "KOR")
    kor = network["KOR"]
    kor.publish_many("note", SHARED, [{"title": f"before {i}"} for i in range(3)])
    network.deliver_all()
    runner = CliRunner()
    done = runner.invoke(
        app, ["node", "backup", "--config", str(config), "--out", str(backup_file)]
    )
    assert done.exit_code == 0, done.output
    kor.publish_many("note", SHARED, [{"title": f"lost {i}"} for i in range(4)])
    lost = kor.feed.anchors.checkpoint()
    assert lost is not None
    network.deliver_all()
    network._nodes.pop("KOR").close()
    done = runner.invoke(app, ["node", "restore", "--config", str(config), str(backup_file)])
    assert done.exit_code == 0, done.output
    network.reopen("KOR")
    return lost, done.output


# -- node.toml -----------------------------------------------------------------------------
def edit_config(network: Network, nation: str, **changes: object) -> Path:
    path = network.root / nation / "node.toml"
    doc = tomllib.loads(path.read_text())
    doc.update(changes)
    path.write_text(tomli_w.dumps(doc))
    return path


def use_database_in_config(network: Network, nation: str) -> Path:
    """Write the database the test network gives ``nation`` into its node.toml, so the CLI
    (node backup, node restore) uses it too; the node.toml's path."""
    return edit_config(network, nation, db=network.db_url(nation))


def point_partners(network: Network, nation: str, urls: dict[str, str]) -> None:
    """Make ``nation``'s node.toml reach each partner at the URL given."""
    path = network.root / nation / "node.toml"
    doc = tomllib.loads(path.read_text())
    for partner, url in urls.items():
        doc["partners"][partner]["url"] = url
    path.write_text(tomli_w.dumps(doc))


def closed_port_url() -> str:
    """An https URL nothing listens at."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"https://127.0.0.1:{port}"


@contextmanager
def serving(node: NodeService) -> Iterator[str]:
    """``node``'s partner-facing app under uvicorn in a thread, with mutual TLS as the
    node process serves it (no replication loops); yields its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(node),
        host="127.0.0.1",
        port=port,
        http=PeerCertProtocol,
        loop="asyncio",
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
        **server_ssl_kwargs(node.config, write_trusted_cas(node)),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{node.nation}'s test server did not start")
        time.sleep(0.02)
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
