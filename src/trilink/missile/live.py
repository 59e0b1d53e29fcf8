"""Node edge of the scenario runner: each cycle's tracks, fused tracks and warnings on the
three nations' nodes (``trilink missile scenario run --publish``, the demo's live mode).

Per cycle: every nation publishes its national tracks as ``missile.track`` reports on ITS node
and the nodes are woken so they push at once; then each nation, as soon as its node holds the
partner track reports its products use (polled, with a timeout naming the node; whichever
nation is ready first goes first), publishes its warnings and fused tracks ``derived_from``
exactly those track reports. A product's label is the
``combine_labels`` of its inputs' labels (the node refuses anything less restrictive), so a
warning derived from a JPN track labelled REL TO USA, JPN never reaches KOR.

Named ``live`` so the layering test lets this engine module import ``trilink.node``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec

from trilink.errors import FederationError
from trilink.federation import localnet
from trilink.missile.fuse.ci import national_ids
from trilink.missile.pipeline import NationCycle
from trilink.missile.run import Cycle, iter_cycles
from trilink.missile.sim.scenario import Scenario
from trilink.missile.types import NATIONS
from trilink.model import combine_labels, format_label, parse_label
from trilink.node.service import NodeService

Event = dict[str, Any]
Product = tuple[str, dict[str, Any], list[str], Event]
"""(kind, payload, derived_from report ids, event for ``on_event``)."""


@dataclass
class PublishStats:
    """Reports published per nation and kind, and the time spent waiting for partners."""

    published: dict[str, dict[str, int]] = field(
        default_factory=lambda: {n: {"track": 0, "fused": 0, "warning": 0} for n in NATIONS}
    )
    waited_s: float = 0.0
    cycles: int = 0


def inprocess_sync(nodes: Mapping[str, NodeService]) -> int:
    """Move every pending outbox batch between the given nodes in this process (tests, bench
    baseline; running nodes replicate by themselves). Returns the number of items moved."""
    from trilink.federation.memory import MemoryNetwork

    return MemoryNetwork(nodes.values()).deliver_all()


def missing_reports(node: NodeService, report_ids: Sequence[str]) -> set[str]:
    """The report ids ``node`` does not hold yet."""
    return {rid for rid in report_ids if node.store.latest_version(rid) is None}


def _not_received(node: NodeService, missing: set[str], timeout_s: float) -> FederationError:
    return FederationError(
        f"node {node.nation} did not receive {len(missing)} partner track report(s) "
        f"within {timeout_s:.0f} s (e.g. {sorted(missing)[0]}); are the partner nodes "
        "running ('trilink net status') and replicating?"
    )


def wait_for_reports(
    node: NodeService, report_ids: Sequence[str], *, timeout_s: float, poll_s: float = 0.002
) -> float:
    """Block until ``node`` holds every report id; ``FederationError`` naming the node and the
    missing reports after ``timeout_s``. Returns the time waited."""
    t0 = time.monotonic()
    pending = set(report_ids)
    while True:
        pending = missing_reports(node, sorted(pending))
        if not pending:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout_s:
            raise _not_received(node, pending, timeout_s)
        time.sleep(poll_s)


class ScenarioPublisher:
    """Publishes scenario cycles on the nations' nodes (see the module docstring)."""

    def __init__(
        self,
        nodes: Mapping[str, NodeService],
        *,
        sync: Callable[[], object] | None = None,
        wake: bool = True,
        timeout_s: float = 30.0,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        missing = [n for n in NATIONS if n not in nodes]
        if missing:
            raise FederationError(f"no node open for {', '.join(missing)}")
        self.nodes = nodes
        self.sync = sync
        self.wake = wake
        self.timeout_s = timeout_s
        self.on_event = on_event
        self.latest: dict[str, str] = {}  # national track id -> its latest report id
        self.labels: dict[str, str] = {}  # report id -> label text
        self.stats = PublishStats()
        self._clients: dict[str, httpx.Client] = {}
        self._senders: dict[str, ThreadPoolExecutor] = {}

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _wake(self, nations: Sequence[str]) -> None:
        if self.sync is not None:
            self.sync()
        if self.wake:
            for n in nations:
                self._wake_node(n)

    def _wake_node(self, nation: str) -> None:
        """``localnet.wake`` without waiting for the answer (the node only sets an event): one
        kept-alive mTLS client and one sender thread per node. A new TLS client and handshake
        per call cost ~25 ms, and three waits in a row ~8 ms, of a cycle's latency budget
        (measured)."""
        sender = self._senders.get(nation)
        if sender is None:
            config = self.nodes[nation].config
            client = localnet.mtls_client(config, timeout=1.0)
            self._clients[nation] = client
            sender = self._senders[nation] = ThreadPoolExecutor(1, f"wake-{nation}")
        sender.submit(self._post_wake, nation)

    def _post_wake(self, nation: str) -> None:
        config = self.nodes[nation].config
        try:
            self._clients[nation].post(config.url + "/v1/wake")
        except httpx.HTTPError:
            pass  # node not running: replication catches up when it is; waits time out

    def close(self) -> None:
        for sender in self._senders.values():
            sender.shutdown(wait=True)
        self._senders.clear()
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def _publish(
        self, nation: str, kind: str, label: str, payloads: list[dict[str, Any]],
        derived: list[list[str]],
    ) -> list[str]:  # fmt: skip
        reports = self.nodes[nation].publish_many(kind, label, payloads, derived_from=derived)
        ids = [r.envelope.id for r in reports]
        for rid in ids:
            self.labels[rid] = label
        return ids

    def _refs(self, track_ids: Sequence[str]) -> list[str]:
        return [self.latest[i] for i in track_ids if i in self.latest]

    def _publish_products(
        self, t_s: float, nation: str, own_label: str, products: list[Product]
    ) -> None:
        """Publish the products grouped by (kind, label), each ``derived_from`` its own inputs
        (which the node holds: see ``publish_cycle``)."""
        groups: dict[tuple[str, str], list[Product]] = {}
        for prod in products:
            groups.setdefault((prod[0], self._product_label(own_label, prod[2])), []).append(prod)
        for (kind, label), items in groups.items():
            ids = self._publish(nation, kind, label, [p[1] for p in items], [p[2] for p in items])
            key = "warning" if kind == "missile.warning" else "fused"
            self.stats.published[nation][key] += len(ids)
            for (_, _, inputs, ev), rid in zip(items, ids, strict=True):
                self._emit({"t_s": t_s, "nation": nation, "report_id": rid, "label": label,
                            "derived_from": inputs, **ev})  # fmt: skip

    def _product_label(self, own: str, inputs: list[str]) -> str:
        labels = [parse_label(own)] + [parse_label(self.labels[r]) for r in inputs]
        return format_label(combine_labels(labels))

    def _products(self, nc: NationCycle) -> list[Product]:
        products: list[Product] = []
        for w in nc.warnings:
            used = sorted(national_ids(w.assessment.track_id))
            wp = w.payload
            ev = {"kind": "missile.warning", "warning_id": wp.warning_id, "status": wp.status,
                  "impact_lat": wp.impact_lat, "impact_lon": wp.impact_lon,
                  "p_impact_in_japan_eez": wp.p_impact_in_japan_eez,
                  "p_overflies_japan": wp.p_overflies_japan,
                  "time_to_impact_s": wp.time_to_impact_s, "reason": wp.reason}  # fmt: skip
            products.append(("missile.warning", msgspec.to_builtins(wp), self._refs(used), ev))
        for payload, _label, ids_used in nc.fused:
            ev = {"kind": "missile.track", "track_id": payload.track_id, "fused": True,
                  "lat": payload.lat, "lon": payload.lon, "alt_m": payload.alt_m}  # fmt: skip
            products.append(
                ("missile.track", msgspec.to_builtins(payload), self._refs(ids_used), ev)
            )
        return products

    def publish_cycle(self, cycle: Cycle, scenario: Scenario) -> None:
        """Tracks first (all nations), then fused tracks and warnings once inputs arrived."""
        for n, nc in cycle.nations.items():
            if not nc.tracks:
                continue
            ids = self._publish(
                n, "missile.track", nc.label, [msgspec.to_builtins(p) for p in nc.tracks],
                [[] for _ in nc.tracks],
            )  # fmt: skip
            for p, rid in zip(nc.tracks, ids, strict=True):
                self.latest[p.track_id] = rid
                self._emit({"t_s": cycle.t_s, "nation": n, "kind": "missile.track",
                            "report_id": rid, "track_id": p.track_id, "label": nc.label,
                            "lat": p.lat, "lon": p.lon, "alt_m": p.alt_m})  # fmt: skip
            self.stats.published[n]["track"] += len(ids)
            self._wake([n])  # its partners wait for these: push before the next nation's
        # Per nation: warnings (the latency-critical product) and fused tracks, one signed
        # batch per kind and label, and a wake right away; whichever nation's node holds its
        # inputs first goes first, so one slow link does not hold the others back.
        ready: dict[str, tuple[NationCycle, list[Product], set[str]]] = {}
        for n, nc in cycle.nations.items():
            products = self._products(nc)
            if products:
                ready[n] = (nc, products, {rid for p in products for rid in p[2]})
        t0 = time.monotonic()
        while ready:
            progressed = False
            for n in list(ready):
                nc, products, needed = ready[n]
                needed = missing_reports(self.nodes[n], sorted(needed))
                ready[n] = (nc, products, needed)
                if needed:
                    continue
                self._publish_products(cycle.t_s, n, nc.label, products)
                self._wake([n])
                del ready[n]
                progressed = True
            if ready and not progressed:
                if time.monotonic() - t0 > self.timeout_s:
                    n = sorted(ready)[0]
                    raise _not_received(self.nodes[n], ready[n][2], self.timeout_s)
                time.sleep(0.002)
        self.stats.waited_s += time.monotonic() - t0
        self.stats.cycles += 1


def open_nodes(root: Path) -> dict[str, NodeService]:
    """The three nations' nodes of a local network directory (``trilink net up --dir``)."""
    return {n: NodeService.open_local(root, n) for n in NATIONS}


def run_scenario_live(
    root: Path,
    scenario_path: Path,
    speed: float = 10.0,
    on_event: Callable[[Event], None] | None = None,
) -> PublishStats:
    """Play a scenario on the three running local nodes in scaled real time (``speed`` x):
    a watcher sees the tracks move, then the fused tracks and the warning appear.
    ``on_event`` gets one dict per published report (t_s, nation, kind, report_id, label, ...).
    """
    from trilink.missile.io.scenario_file import load_scenario
    from trilink.missile.warn.zones import japan_zones

    if not speed > 0.0:
        raise ValueError("speed must be > 0")
    scenario = load_scenario(scenario_path)
    zones, _ = japan_zones(scenario.view)
    nodes = open_nodes(root)
    pub: ScenarioPublisher | None = None
    try:
        pub = ScenarioPublisher(nodes, on_event=on_event)
        t0 = time.monotonic()
        for cycle in iter_cycles(scenario, zones):
            due = t0 + cycle.t_s / speed
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pub.publish_cycle(cycle, scenario)
        return pub.stats
    finally:
        if pub is not None:
            pub.close()
        for node in nodes.values():
            node.close()
