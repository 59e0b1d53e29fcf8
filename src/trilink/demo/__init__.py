"""The three-nation demonstration behind ``make demo``.

Starts (or reuses) the local USA/JPN/KOR network, then plays a short scripted exchange:
each nation publishes reports under different labels, one is edited and one withdrawn, and
a live table shows which node holds what, next to what its label allows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

from trilink.client import item
from trilink.federation import localnet
from trilink.model.label import parse_label
from trilink.node.config import load_node_config
from trilink.policy import may_hold as policy_may_hold
from trilink.store import open_store

NATIONS = localnet.NATIONS
DEMO_ROLE = "analyst"
# Written into the network directory once the demo has published there: a second run
# starts from empty stores instead of publishing everything a second time.
PLAYED_MARKER = ".demo-played"


def reset_played_demo(root: Path) -> list[str]:
    """If the demo already played in ``root``, stop its nodes and delete what they hold (each
    node's SQLite store and its API token file); keys, certificates and node.toml stay, so the
    nodes come back the same, empty. Returns the files removed ([] for a fresh directory).
    A store that is not a SQLite file (PostgreSQL) is not dropped: a ``ConfigError`` says so."""
    from trilink.errors import ConfigError

    marker = root / PLAYED_MARKER
    if not marker.exists():
        return []
    configs = {n: load_node_config(root / n / "node.toml") for n in NATIONS
               if (root / n / "node.toml").exists()}  # fmt: skip
    remote = [f"{n}: {c.db_url}" for n, c in configs.items() if "://" in c.db_url]
    if remote:
        raise ConfigError(
            f"the demo already played in {root}, and its nodes keep their reports in a database "
            f"the demo does not drop ({'; '.join(remote)}): drop those schemas, or run the demo "
            "with another --dir"
        )
    from trilink.demo.crisis import stop_crisis_cells

    stop_crisis_cells(root)
    localnet.net_down(root)
    removed = []
    for nation, config in configs.items():
        db = Path(config.db_url.removeprefix("sqlite:///"))
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"),
                     root / nation / localnet.TOKEN_FILE):  # fmt: skip
            if path.exists():
                path.unlink()
                removed.append(str(path))
    marker.unlink()
    return removed


def mark_played(root: Path) -> None:
    (root / PLAYED_MARKER).write_text(
        "trilink demo published here; the next 'trilink demo' starts from empty stores\n"
    )


def demo_login(nation: str) -> tuple[str, str]:
    """The demo's COP login for a nation: (username, password). Demo only."""
    return f"{nation.lower()}-officer", f"{nation.lower()}-demo-password"


def ensure_demo_users(root: Path) -> dict[str, tuple[str, str]]:
    """Create each nation's demo login on its node if it does not exist yet (what 'trilink
    user add' does: the node's store, and no key)."""
    from trilink.web.auth import create_user, get_user

    logins = {}
    for nation in NATIONS:
        username, password = demo_login(nation)
        store = open_store(load_node_config(root / nation / "node.toml").db_url)
        try:
            if get_user(store, username) is None:
                create_user(store, username, password, DEMO_ROLE)
        finally:
            store.close()
        logins[nation] = (username, password)
    return logins


@dataclass
class Step:
    origin: str
    label: str
    title: str
    body: str
    action: str = "publish"  # publish | edit | delete


SCRIPT: list[Step] = [
    Step(
        "JPN",
        "SECRET//REL TO USA, JPN, KOR",
        "FPS-5 Shimokoshiki: ballistic launch detected",
        "Launch from the Sunan area, track heading east; sharing with both partners.",
    ),
    Step(
        "KOR",
        "SECRET//REL TO USA, JPN, KOR",
        "Green Pine: same launch, second track",
        "KOR track correlates with the JPN report.",
    ),
    Step(
        "USA",
        "SECRET//REL TO USA, JPN",
        "TPY-2 Shariki: impact prediction",
        "Impact predicted outside Japan's EEZ; shared with Japan only.",
    ),
    Step(
        "KOR",
        "CONFIDENTIAL//REL TO USA, KOR",
        "ROK Coast Guard: vessel loitering off Jeju",
        "Tanker loitering 40 nm south of Jeju for 6 h; bilateral with the US.",
    ),
    Step(
        "JPN",
        "SECRET//REL TO USA, JPN, KOR//ORCON",
        "JCG: source-sensitive STS report",
        "ORCON: stays on the Japanese node until Japan releases it by hand.",
    ),
    Step(
        "USA",
        "TOP SECRET//REL TO USA, JPN, KOR",
        "Above the SECRET ceiling",
        "Stays on the US node: partners' ceilings are SECRET in this network.",
    ),
    Step("KOR", "", "Green Pine: track updated", "Version 2 of the KOR track.", "edit"),
    Step("USA", "", "", "Impact prediction withdrawn.", "delete"),
]


@dataclass
class Row:
    origin: str
    label: str
    title: str
    report_id: str
    version: int = 1
    deleted: bool = False


def may_hold(origin: str, label_text: str, nation: str, ceiling: int = 3) -> bool:
    """What the demo table expects a node to hold: the release rule of ``trilink.policy``,
    and the local network's SECRET ceiling between partners."""
    label = parse_label(label_text)
    within = nation == origin or label.classification.value <= ceiling
    return policy_may_hold(label, origin, nation) and within


def holdings(root: Path) -> dict[str, dict[str, tuple[int, bool]]]:
    """nation -> note id -> (newest version held, deleted), as each node's API says."""
    out: dict[str, dict[str, tuple[int, bool]]] = {}
    for nation in NATIONS:
        held: dict[str, tuple[int, bool]] = {}
        with localnet.client_for(root, nation) as client:
            for kind in ("note", "tombstone"):  # a deleted note's newest version is its tombstone
                for r in client.reports(kind=kind, all_versions=True):
                    if r["id"] not in held or held[r["id"]][0] < int(r["version"]):
                        held[r["id"]] = (int(r["version"]), bool(r["tombstone"]))
        out[nation] = held
    return out


def render(rows: list[Row], held: dict[str, dict[str, tuple[int, bool]]]) -> Table:
    table = Table(title="trilink demo: who holds what (✓ held, · withheld by policy)")
    table.add_column("from")
    table.add_column("label")
    table.add_column("report")
    for nation in NATIONS:
        table.add_column(nation, justify="center")
    for row in rows:
        cells = []
        for nation in NATIONS:
            allowed = may_hold(row.origin, row.label, nation)
            got = held[nation].get(row.report_id)
            if got is None:
                cells.append("[yellow]…[/yellow]" if allowed else "[dim]·[/dim]")
            else:
                mark = "✓" if allowed else "[red]LEAK[/red]"
                extra = f" v{got[0]}" + (" deleted" if got[1] else "")
                cells.append(f"[green]{mark}{extra}[/green]")
        table.add_row(row.origin, row.label, row.title, *cells)
    return table


def run_demo(
    root: Path,
    console: Console,
    *,
    pause_s: float = 1.5,
    on_start: Callable[[dict[str, str]], None] | None = None,
) -> list[Row]:
    urls = localnet.net_up(root)
    if on_start is not None:
        on_start(urls)
    mark_played(root)
    rows: list[Row] = []
    with Live(render(rows, holdings(root)), console=console, refresh_per_second=4) as live:
        for step in SCRIPT:
            with localnet.client_for(root, step.origin) as client:
                if step.action == "publish":
                    done = client.publish(
                        [item("note", step.label, {"title": step.title, "body": step.body})]
                    )
                    rows.append(Row(step.origin, step.label, step.title, done.ids[0]))
                else:
                    target = next(r for r in rows if r.origin == step.origin and not r.deleted)
                    if step.action == "edit":
                        client.edit(target.report_id, {"title": step.title, "body": step.body})
                        target.version += 1
                    else:
                        client.delete(target.report_id, step.body)
                        target.deleted = True
            deadline = time.monotonic() + pause_s
            while time.monotonic() < deadline:
                live.update(render(rows, holdings(root)))
                time.sleep(0.25)
        live.update(render(rows, holdings(root)))
    return rows
