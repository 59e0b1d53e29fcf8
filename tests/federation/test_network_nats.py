"""The NATS JetStream transport with real node processes and a real nats-server: who may
read what, and the server, a consumer or the stream failing under the nodes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
import pytest
import tomli_w

from tests.federation.conftest import holdings, start_network, stop_network, wait_until
from trilink.federation import localnet, natsserver
from trilink.federation.jetstream import (
    batch_subject,
    consumer_name,
    inbox_prefix,
    nats_tls_context,
    stream_name,
)
from trilink.node.config import load_node_config
from trilink.node.service import NodeService
from trilink.provenance.pki import init_nation

pytestmark = pytest.mark.slow

SHARED = "SECRET//REL TO USA, JPN, KOR"
USA_JPN = "SECRET//REL TO USA, JPN"


@pytest.fixture
def nats_net(tmp_path: Path) -> Iterator[Path]:
    if natsserver.shutil.which("nats-server") is None:
        pytest.skip("nats-server is not installed")
    root = tmp_path / "net"
    try:
        yield start_network(root, "nats")
    finally:
        stop_network(root)


def publish(root: Path, nation: str, label: str, count: int, tag: str = "") -> set[str]:
    """Through the nation's node API: the node replicates what it published by itself."""
    with localnet.client_for(root, nation) as client:
        done = client.publish_payloads(
            "note", label, [{"title": f"{nation} {tag} {i}"} for i in range(count)]
        )
    return set(done.ids)


def ids(root: Path, nation: str, origin: str) -> Counter[str]:
    return Counter(str(r["id"]) for r in holdings(root, nation) if r["origin"] == origin)


def transport_rows(root: Path, nation: str) -> list[tuple[str, str, str]]:
    with NodeService.open_local(root, nation) as node:
        return [
            (r.entry.outcome, r.entry.partner, r.entry.reason)
            for r in node.store.audit_rows()
            if r.entry.event == "transport"
        ]


def link(root: Path, nation: str, partner: str) -> dict[str, object]:
    status = {s.nation: s for s in localnet.net_status(root)}[nation]
    found: dict[str, object] = status.detail.get("partners", {}).get(partner, {})
    return found


async def connect_as(root: Path, nation: str, errors: list[str]) -> nats.NATS:
    settings = load_node_config(root / nation / "node.toml").nats
    assert settings is not None

    async def on_error(err: Exception) -> None:
        errors.append(str(err))

    return await nats.connect(
        servers=[settings.url],
        tls=nats_tls_context(settings),
        inbox_prefix=inbox_prefix(nation),
        error_cb=on_error,
        allow_reconnect=False,
        connect_timeout=3,
    )


def test_a_partner_cannot_read_what_was_released_to_another(nats_net: Path) -> None:
    """KOR, with its own valid NATS credentials, tries every way to USA's batches for JPN:
    a subscription to the subject, JPN's consumer, a consumer of its own on that subject.
    The server refuses each; KOR never holds the report."""
    stop = localnet.stop_node
    stop(nats_net, "JPN")  # USA's batch for JPN waits in the stream
    secret = publish(nats_net, "USA", USA_JPN, 3, "for JPN only")

    def waiting() -> bool:
        return link(nats_net, "USA", "JPN").get("last_error", "") != ""

    wait_until(waiting, 30, "USA's batch for JPN to wait in its stream")

    mismatches: list[str] = []

    async def attempt() -> tuple[list[str], list[bytes]]:
        errors: list[str] = []
        got: list[bytes] = []
        nc = await connect_as(nats_net, "KOR", errors)
        js = nc.jetstream(timeout=3)

        async def keep(msg: nats.aio.msg.Msg) -> None:
            got.append(msg.data)

        await nc.subscribe(batch_subject("USA", "JPN"), cb=keep)
        await nc.subscribe("trilink.>", cb=keep)
        await nc.subscribe("_INBOX_JPN.>", cb=keep)
        await nc.flush()
        with pytest.raises((nats.errors.Error, TimeoutError)):
            sub = await js.pull_subscribe_bind(
                durable=consumer_name("JPN"), stream=stream_name("USA")
            )
            for msg in await sub.fetch(1, timeout=2):
                got.append(msg.data)
        with pytest.raises((nats.errors.Error, TimeoutError)):
            await js.add_consumer(
                stream_name("USA"),
                nats.js.api.ConsumerConfig(
                    name=consumer_name("KOR"),
                    durable_name=consumer_name("KOR"),
                    filter_subject=batch_subject("USA", "JPN"),
                ),
            )
        with pytest.raises((nats.errors.Error, TimeoutError)):
            await js.delete_consumer(stream_name("USA"), consumer_name("JPN"))
        # KOR's own create subject, with JPN's subject as the filter inside: the server
        # checks that the filter it was allowed (in the subject) is the one in the request
        own = f"{stream_name('USA')}.{consumer_name('KOR')}.{batch_subject('USA', 'KOR')}"
        request = {
            "stream_name": stream_name("USA"),
            "config": {
                "name": consumer_name("KOR"),
                "durable_name": consumer_name("KOR"),
                "filter_subject": batch_subject("USA", "JPN"),
                "ack_policy": "explicit",
                "deliver_policy": "all",
            },
        }
        answer = await nc.request(
            f"$JS.API.CONSUMER.CREATE.{own}", json.dumps(request).encode(), timeout=3
        )
        mismatch = json.loads(answer.data)
        assert "error" in mismatch, mismatch
        mismatches.append(mismatch["error"].get("description", ""))
        await asyncio.sleep(0.5)
        await nc.close()
        return errors, got

    errors, got = asyncio.run(attempt())
    assert got == []
    assert mismatches and "filter" in mismatches[0].lower(), mismatches
    refused = " ".join(e.lower() for e in errors if "permissions violation" in e.lower())
    for what in (
        'subscription to "trilink.usa.to.jpn"',  # the subject released to JPN
        'subscription to "trilink.>"',
        'subscription to "_inbox_jpn.>"',  # where JPN's consumer delivers
        'publish to "$js.api.consumer.msg.next.trilink_usa.trilink-jpn"',  # JPN's consumer
        'publish to "$js.api.consumer.create.trilink_usa.trilink-kor.trilink.usa.to.jpn"',
        'publish to "$js.api.consumer.delete.trilink_usa.trilink-jpn"',
    ):
        assert what in refused, errors
    # JPN, started again, takes exactly its batch; KOR never held it.
    localnet.start_node(nats_net, "JPN")
    localnet.wait_healthy(nats_net, ["JPN"])
    wait_until(lambda: set(ids(nats_net, "JPN", "USA")) == secret, 30, "JPN to take its batch")
    assert not secret & set(ids(nats_net, "KOR", "USA"))


def test_a_certificate_the_nats_ca_did_not_issue_is_refused(
    nats_net: Path, tmp_path: Path
) -> None:
    """KOR's own CA issues a certificate calling itself USA: the NATS server trusts only
    the NATS CA, so it cannot take USA's user (nor can a client without a certificate)."""
    rogue = tmp_path / "rogue"
    init_nation(rogue / "USA", "USA")
    settings = load_node_config(nats_net / "USA" / "node.toml").nats
    assert settings is not None and settings.ca is not None

    async def try_with(ctx: ssl.SSLContext) -> None:
        nc = await nats.connect(
            servers=[settings.url], tls=ctx, allow_reconnect=False, connect_timeout=3
        )
        await nc.close()

    forged = ssl.create_default_context(cafile=str(settings.ca))
    forged.load_cert_chain(str(rogue / "USA" / "tls.crt"), str(rogue / "USA" / "tls.key"))
    with pytest.raises(Exception):  # noqa: B017 - TLS alert or authorization violation
        asyncio.run(try_with(forged))
    with pytest.raises(Exception):  # noqa: B017
        asyncio.run(try_with(ssl.create_default_context(cafile=str(settings.ca))))


def test_nats_server_killed_mid_stream_then_restarted(nats_net: Path) -> None:
    sent = publish(nats_net, "JPN", SHARED, 3000, "before")
    wait_until(lambda: len(ids(nats_net, "USA", "JPN")) > 0, 60, "USA to start receiving")
    pid = natsserver.nats_pid(nats_net)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    natsserver.stop_nats(nats_net, kill=True)
    sent |= publish(nats_net, "JPN", SHARED, 200, "while NATS is down")
    wait_until(
        lambda: "disconnected" in str(link(nats_net, "JPN", "USA").get("nats", "")),
        20,
        "JPN's status to say NATS is down",
    )
    natsserver.start_nats(nats_net)
    sent |= publish(nats_net, "JPN", SHARED, 100, "after")

    def arrived() -> bool:
        return all(set(ids(nats_net, n, "JPN")) == sent for n in ("USA", "KOR"))

    wait_until(arrived, 120, "every JPN report on USA and KOR after the restart")
    for nation in ("USA", "KOR"):
        assert max(ids(nats_net, nation, "JPN").values()) == 1
    outcomes = {o for o, _, _ in transport_rows(nats_net, "JPN")}
    assert {"nats disconnected", "nats reconnected"} <= outcomes
    assert link(nats_net, "JPN", "USA")["nats"] == "connected"


def test_a_deleted_consumer_is_created_again_and_nothing_is_lost(nats_net: Path) -> None:
    first = publish(nats_net, "JPN", USA_JPN, 5, "first")
    wait_until(lambda: set(ids(nats_net, "USA", "JPN")) == first, 30, "first reports")

    async def delete() -> None:
        nc = await connect_as(nats_net, "JPN", [])  # the stream's owner may delete
        await nc.jetstream().delete_consumer(stream_name("JPN"), consumer_name("USA"))
        await nc.close()

    asyncio.run(delete())
    later = publish(nats_net, "JPN", USA_JPN, 50, "later")
    wait_until(
        lambda: set(ids(nats_net, "USA", "JPN")) == first | later, 60, "reports after deletion"
    )
    assert max(ids(nats_net, "USA", "JPN").values()) == 1
    wait_until(
        lambda: any(o == "nats consumer-recreated" for o, _, _ in transport_rows(nats_net, "USA")),
        30,
        "USA to audit that it created its consumer again",
    )


def _limit_stream(root: Path, nation: str, size: int) -> None:
    path = root / nation / "node.toml"
    doc = tomllib.loads(path.read_text())
    doc["nats"]["stream_max_bytes"] = size
    path.write_text(tomli_w.dumps(doc))


def test_a_full_stream_holds_batches_back_until_partners_consume(nats_net: Path) -> None:
    for nation in localnet.NATIONS:
        localnet.stop_node(nats_net, nation)
    _limit_stream(nats_net, "JPN", 65536)
    localnet.start_node(nats_net, "JPN")
    localnet.wait_healthy(nats_net, ["JPN"])
    sent = publish(nats_net, "JPN", SHARED, 40, "big")  # one batch per partner: > 64 KiB

    def full() -> bool:
        return any(o == "nats stream-full" for o, _, _ in transport_rows(nats_net, "JPN"))

    wait_until(full, 30, "JPN to audit that its stream is full")
    errors = [str(link(nats_net, "JPN", p).get("last_error", "")) for p in ("USA", "KOR")]
    assert any("is full" in e for e in errors), errors
    for nation in ("USA", "KOR"):
        localnet.start_node(nats_net, nation)
    localnet.wait_healthy(nats_net, ["USA", "KOR"])

    def arrived() -> bool:
        return all(set(ids(nats_net, n, "JPN")) == sent for n in ("USA", "KOR"))

    wait_until(arrived, 60, "both partners to take JPN's batches")
    for nation in ("USA", "KOR"):
        assert max(ids(nats_net, nation, "JPN").values()) == 1


def test_a_node_started_while_nats_is_down_catches_up_when_it_is_back(nats_net: Path) -> None:
    natsserver.stop_nats(nats_net)
    localnet.stop_node(nats_net, "KOR")
    localnet.start_node(nats_net, "KOR")
    localnet.wait_healthy(nats_net, ["KOR"])  # the node runs without its transport
    sent = publish(nats_net, "KOR", SHARED, 30, "NATS down")
    wait_until(
        lambda: "cannot reach the NATS server" in str(link(nats_net, "KOR", "USA")["last_error"]),
        30,
        "KOR's status to say it cannot reach NATS",
    )
    natsserver.start_nats(nats_net)

    def arrived() -> bool:
        return all(set(ids(nats_net, n, "KOR")) == sent for n in ("USA", "JPN"))

    wait_until(arrived, 60, "KOR's reports on USA and JPN once NATS is back")
    for nation in ("USA", "JPN"):
        assert max(ids(nats_net, nation, "KOR").values()) == 1
