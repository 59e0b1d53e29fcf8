"""The supply-chain register: parties registered as reports under the registering nation's
label, screened on registration, re-screened when a list changes (only new hits published),
export-control hits as ``exportcontrol.hit``; partners receive them only where the node's
release policy releases them. Three real node processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from trilink.cli.app import app
from trilink.model.kinds import validate_payload
from trilink.model.payloads.sanctions import PartyPayload
from trilink.sanctions.errors import SanctionsInputError
from trilink.sanctions.register import parse_register_csv, party_from_values

runner = CliRunner()
LABEL = "SECRET//REL TO USA, JPN"
REGISTER = """role,name,country,type,identifier,goods,hs_code,reference
supplier,Korea Ryonbong General Corporation,KP,company,,machine parts,8466.93,PO-1
end-user,Fidar System Pooyan,IR,company,,CNC lathes,8458.11,LIC-7
supplier,Hokuriku Precision Parts KK,JP,company,,bearings,8482.10,PO-2
supplier,Blue Harbour Trading Co,KP,company,,ship spares,8487.90,PO-3
friend,Someone,JP,company,,,,
end-user,Tokyo Optics,JP,company,,lenses,85A2,PO-4
"""


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "lists"
    monkeypatch.setenv("TRILINK_SANCTIONS_DIR", str(d))
    return d


def test_register_rows_parse_with_each_refusal_named() -> None:
    parties, problems = parse_register_csv(REGISTER)
    assert [row for row, _p in parties] == [1, 2, 3, 4]
    assert parties[1][1] == PartyPayload(
        role="end-user", name="Fidar System Pooyan", type="Organization", country="IR",
        goods="CNC lathes", hs_code="8458.11", reference="LIC-7",
    )  # fmt: skip
    assert [str(p) for p in problems] == [
        "row 5 (line 6): role: 'friend' is not one of consignee, customer, end-user,"
        " intermediary, manufacturer, supplier, transaction",
        "row 6 (line 7): hs_code: '85A2' is not an HS code (e.g. 8542.31)",
    ]
    for _row, party in parties:
        validate_payload("sanctions.party", party)
    with pytest.raises(SanctionsInputError, match="lacks role and name"):
        parse_register_csv("company,country\nX,JP\n")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_fuzzed_register_csv_is_parsed_or_refused_clearly(text: str) -> None:
    try:
        parties, problems = parse_register_csv("role,name,country,hs_code\n" + text)
    except SanctionsInputError:
        return
    for _row, party in parties:
        assert party.name or party.identifier
        validate_payload("sanctions.party", party)
    assert all(p.row >= 1 and p.message for p in problems)


@pytest.mark.parametrize(
    ("values", "field"),
    [({"role": "supplier"}, "name"), ({"role": "supplier", "name": "X", "type": "planet"},
     "type"), ({"role": "supplier", "name": "X" * 401}, "name")],
)  # fmt: skip
def test_a_refused_party_names_its_field(values: dict[str, str], field: str) -> None:
    with pytest.raises(SanctionsInputError, match=f"^{field}:"):
        party_from_values(values)


def _kinds(root: Path, nation: str) -> dict[str, list[dict[str, object]]]:
    from trilink.node.service import NodeService

    out: dict[str, list[dict[str, object]]] = {}
    with NodeService.open_local(root, nation) as node:
        for kind in ("sanctions.party", "sanctions.hit", "exportcontrol.hit"):
            out[kind] = [
                {"id": r.report.envelope.id, "label": str(r.report.envelope.label),
                 "payload": r.report.envelope.payload_obj(),
                 "derived_from": list(r.report.envelope.derived_from)}
                for r in node.store.reports(kind=kind)
            ]  # fmt: skip
    return out


FTM_NEW_LIST = [
    {"id": "bh-1", "schema": "Company", "datasets": ["test_list"],
     "properties": {"name": ["Blue Harbour Trading Company"], "country": ["kp"]}},
    {"id": "bh-1-s", "schema": "Sanction", "datasets": ["test_list"],
     "properties": {"entity": ["bh-1"], "program": ["DPRK"], "listingDate": ["2026-12-01"]}},
]  # fmt: skip


def test_register_screens_rescreens_on_list_change_and_partners_get_what_policy_releases(
    tmp_path: Path, data_dir: Path
) -> None:
    from tests.conftest import running
    from tests.federation.conftest import wait_until

    root = tmp_path / "net"
    register = tmp_path / "register.csv"
    register.write_text(REGISTER, encoding="utf-8")
    with running(root):
        res = runner.invoke(app, ["sanctions", "register", "--csv", str(register), "--dir",
                                  str(root), "--nation", "JPN", "--label", LABEL,
                                  "--json"])  # fmt: skip
        assert res.exit_code == 0, res.output
        doc = json.loads(res.output.splitlines()[-1])
        assert [r["row"] for r in doc["registered"]] == [1, 2, 3, 4]
        assert len(doc["refused"]) == 2 and doc["screened"] == 4
        kinds = {h["kind"]: h for h in doc["hits"]}
        assert set(kinds) == {"sanctions.hit", "exportcontrol.hit"}
        assert kinds["exportcontrol.hit"]["listed"] == "JP-METI-EUL:104"
        assert kinds["exportcontrol.hit"]["explanation"].startswith(
            "JP-METI-EUL of 2025-09-29 (sha256 "
        )

        jpn = _kinds(root, "JPN")
        parties = {p["payload"]["name"]: p for p in jpn["sanctions.party"]}  # type: ignore[index]
        assert len(parties) == 4 and all(p["label"] == LABEL for p in parties.values())
        export_hit = jpn["exportcontrol.hit"][0]
        assert export_hit["derived_from"] == [parties["Fidar System Pooyan"]["id"]]
        assert export_hit["label"] == LABEL  # the party's label (the lists are public)
        payload = export_hit["payload"]
        assert payload["source"] == "registration"  # type: ignore[index]
        entity = payload["entities"][0]  # type: ignore[index]
        assert entity["role"] == "end-user" and entity["export_control"] is True
        assert payload["lists"][0]["list_id"] == "JP-METI-EUL"  # type: ignore[index]

        # USA may receive them (REL TO USA, JPN); KOR receives nothing of the register
        wait_until(lambda: len(_kinds(root, "USA")["exportcontrol.hit"]) == 1, what="USA")
        usa = _kinds(root, "USA")
        assert len(usa["sanctions.party"]) == 4 and len(usa["sanctions.hit"]) == 1
        kor = _kinds(root, "KOR")
        assert not any(kor.values()), kor

        # a new list names Blue Harbour: the update re-screens the register; only the new
        # hit is published
        newer = tmp_path / "new-list.ftm.json"
        newer.write_text("\n".join(json.dumps(d) for d in FTM_NEW_LIST) + "\n")
        res = runner.invoke(app, ["sanctions", "update", str(newer), "--publish", "--dir",
                                  str(root), "--nation", "JPN", "--json"])  # fmt: skip
        assert res.exit_code == 0, res.output
        doc = json.loads(res.output.splitlines()[-1])
        assert [h["listed"] for h in doc["rescreen_hits"]] == ["TEST-LIST:bh-1"]
        jpn = _kinds(root, "JPN")
        assert len(jpn["sanctions.hit"]) == 2 and len(jpn["exportcontrol.hit"]) == 1
        new_hit = next(h for h in jpn["sanctions.hit"]
                       if h["payload"]["source"] == "list-change")  # type: ignore[index]  # fmt: skip
        assert new_hit["derived_from"] == [parties["Blue Harbour Trading Co"]["id"]]

        # screening again finds nothing new
        res = runner.invoke(app, ["sanctions", "rescreen", "--dir", str(root), "--nation",
                                  "JPN", "--json"])  # fmt: skip
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["hits"] == []


def test_hits_show_list_edition_and_explanation_in_the_cop_panel_and_exports() -> None:
    """The COP's panel facts and the CSV export of an export-control hit name the list, its
    edition and the explanation."""
    import io

    import msgspec

    from trilink.interop.items import build_item
    from trilink.interop.marking import marking_of
    from trilink.interop.tables import write_csv
    from trilink.model.ids import uuid7
    from trilink.model.label import parse_label
    from trilink.model.payloads.sanctions import ListVersion
    from trilink.model.report import build_envelope
    from trilink.sanctions.entity_screen import EntityScreener
    from trilink.sanctions.io import bundled_lists
    from trilink.sanctions.register import screen_register
    from trilink.web.index import _facts

    meti = next(sl for sl in bundled_lists() if sl.list_id == "JP-METI-EUL")
    version = ListVersion(list_id=meti.list_id, published=meti.published, sha256=meti.sha256)
    party = PartyPayload(role="end-user", name="Fidar System Pooyan", country="IR")
    party_id = uuid7()
    (hit,) = screen_register(EntityScreener(meti.entities), [(party_id, party)],
                             lists=[version], source="registration")  # fmt: skip
    assert hit.kind == "exportcontrol.hit"
    label = parse_label(LABEL)
    env = build_envelope(origin="JPN", origin_seq=1, kind=hit.kind, label=label,
                         payload=hit.payload, derived_from=[party_id])  # fmt: skip
    facts = dict(_facts(hit.kind, msgspec.to_builtins(hit.payload)))
    assert facts["explanation"].startswith(
        f"JP-METI-EUL of 2025-09-29 (sha256 {meti.sha256[:12]}), entry 104: name-exact"
    )
    item = build_item(env, label, 1)
    assert item.properties["list_version"] == f"JP-METI-EUL 2025-09-29 sha256:{meti.sha256[:12]}"
    out = io.BytesIO()
    write_csv([item], marking_of([item.label], "JPN"), "JPN", out)
    import csv as csv_module

    row = next(csv_module.DictReader(io.StringIO(out.getvalue().decode().split("\n", 1)[1])))
    assert row["list_id"] == "JP-METI-EUL" and row["entry_id"] == "104"
    assert row["rule"] == "name-exact" and row["explanation"] == facts["explanation"]
