"""FollowTheMoney import and export: every real list round-trips, every exported line is an
entity the followthemoney library accepts as it is, an OpenSanctions-style file (companies,
sanctions, passports, addresses, ownerships) imports with its bad lines reported, and the
CLI puts an FtM file in force and screens against it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from followthemoney import model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from trilink.cli.app import app
from trilink.sanctions.entities import ORGANIZATION, PERSON, VESSEL, entities_of
from trilink.sanctions.entity_screen import EntityQuery, EntityScreener
from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.ftm import dataset_of, list_id_of, parse_ftm, registry, write_ftm
from trilink.sanctions.io import detect_list
from trilink.sanctions.records import Entity, SanctionsList

runner = CliRunner()


def _export(lists: list[SanctionsList]) -> bytes:
    out = io.BytesIO()
    write_ftm(lists, out)
    return out.getvalue()


def _names(entity: Entity) -> set[tuple[str, str]]:
    # FtM has no "original script" name kind: such names come back as aliases; FtM's name
    # type drops the quotes around a name ('"HASSAN, Sheikh"')
    kinds = {"original": "alias"}
    return {(registry.name.clean(n.text), kinds.get(n.kind, n.kind)) for n in entity.names}


@pytest.mark.parametrize(
    "list_id",
    ["OFAC-SDN", "UN-1718", "UN-CONSOLIDATED", "OFAC-NON-SDN", "JP-MOF", "JP-METI-EUL", "EU-DPRK"],
)
def test_every_real_list_round_trips(lists: dict[str, SanctionsList], list_id: str) -> None:
    sl = lists[list_id]
    back = parse_ftm(_export([sl]), source_name=f"{list_id}.ftm.json")
    assert back.list_id == list_id  # from the dataset every line carries
    original = {e.entry_id: e for e in entities_of(sl)}
    returned = {e.entry_id: e for e in back.entities}
    assert returned.keys() == original.keys()
    assert len(back.vessels) == sum(1 for e in original.values() if e.schema == VESSEL)
    for entry_id, e in original.items():
        got = returned[entry_id]
        assert got.schema == e.schema, entry_id
        assert got.name == registry.name.clean(e.name), entry_id
        assert _names(got) == _names(e), entry_id
        want_ids = {(i.kind, i.value) for i in e.identifiers if i.kind != "imo_invalid"}
        assert {(i.kind, i.value) for i in got.identifiers} == want_ids, entry_id
        assert got.programmes == e.programmes, entry_id
        # FtM keeps the date of "2015-04-07-04:00" (the UN XML's dates carry a zone)
        assert got.listed_on == tuple(registry.date.clean(d) for d in e.listed_on), entry_id
        assert got.measures == e.measures, entry_id
        # FtM's address type writes "; " as ", "
        assert set(got.addresses) == {registry.address.clean(a) for a in e.addresses}, entry_id
        # dates and countries FtM accepts come back as they were (countries as ISO codes);
        # the others are kept in the notes, as written
        dates = [d for d in e.birth_dates if registry.date.clean(d) == d]
        assert list(got.birth_dates) == dates, entry_id
        countries = {registry.country.clean(c) for c in e.countries} - {None}
        assert {registry.country.clean(c) for c in got.countries} == countries, entry_id
        assert all(len(c) == 3 for c in got.countries), got.countries  # alpha-3, as flags
        for kept in set(e.birth_dates) - set(dates):
            assert f"Born (as listed): {kept}" in got.remarks


def test_exported_lines_are_entities_the_library_accepts_unchanged(
    lists: dict[str, SanctionsList],
) -> None:
    raw = _export([lists["UN-CONSOLIDATED"], lists["JP-MOF"], lists["UN-1718"]])
    lines = raw.decode("utf-8").splitlines()
    schemas: dict[str, int] = {}
    ids = set()
    for line in lines:
        doc = json.loads(line)
        proxy = model.get_proxy(doc, cleaned=False)  # re-validates every value
        assert proxy.to_dict()["properties"] == doc["properties"], doc["id"]
        schemas[doc["schema"]] = schemas.get(doc["schema"], 0) + 1
        assert doc["id"] not in ids
        ids.add(doc["id"])
        if doc["schema"] == "Sanction":
            assert doc["properties"]["entity"][0] in ids  # the entity comes first
    assert schemas["Sanction"] == schemas["Person"] + schemas["Organization"] + schemas["Vessel"]
    assert {dataset_of(k) for k in ("UN-CONSOLIDATED", "JP-MOF")} <= {
        json.loads(line)["datasets"][0] for line in lines
    }


def test_company_and_ship_imo_numbers_stay_apart(lists: dict[str, SanctionsList]) -> None:
    """OMM's company number 1790183 passes the ship check digit; after a round trip it is
    still a company number, and a ship's IMO still a ship's."""
    back = parse_ftm(_export([lists["UN-CONSOLIDATED"], lists["UN-1718"]]), list_id="X")
    omm = [e for e in back.entities if "1790183" in e.ids("imo_company")]
    assert omm and all(e.schema == ORGANIZATION for e in omm)
    assert not any("1790183" in e.ids("imo") for e in back.entities)
    assert any(e.ids("imo") == ["7303803"] and e.schema == VESSEL for e in back.entities)


OPEN_SANCTIONS_LIKE = [
    {"id": "NK-abc", "schema": "Company", "datasets": ["us_ofac_sdn"],
     "properties": {"name": ["Korea Blue Harbour Trading Co"], "alias": ["블루하버무역"],
                    "country": ["kp"], "imoNumber": ["IMO5912345"],
                    "addressEntity": ["addr-1"], "topics": ["sanction"]}},
    {"id": "addr-1", "schema": "Address", "datasets": ["us_ofac_sdn"],
     "properties": {"full": ["Pyongyang, DPRK"]}},
    {"id": "NK-abc-s", "schema": "Sanction", "datasets": ["us_ofac_sdn"],
     "properties": {"entity": ["NK-abc"], "program": ["DPRK3"], "listingDate": ["2024-03-01"],
                    "authorityId": ["33333"]}},
    {"id": "NK-p1", "schema": "Person", "datasets": ["us_ofac_sdn"],
     "properties": {"firstName": ["Ho Jin"], "lastName": ["YUN"], "birthDate": ["1965-03-01"],
                    "nationality": ["kp"]}},
    {"id": "NK-pp1", "schema": "Passport", "datasets": ["us_ofac_sdn"],
     "properties": {"holder": ["NK-p1"], "number": ["PD123456789"]}},
    {"id": "NK-own", "schema": "Ownership", "datasets": ["us_ofac_sdn"],
     "properties": {"owner": ["NK-p1"], "asset": ["NK-abc"]}},
    {"id": "NK-v1", "schema": "Vessel", "datasets": ["us_ofac_sdn"],
     "properties": {"name": ["SEA BREEZE 7"], "imoNumber": ["IMO9191773"],
                    "mmsi": ["445123000"], "flag": ["kp"]}},
]  # fmt: skip


def _lines(docs: list[dict[str, object]], *extra: str) -> bytes:
    rows = [json.dumps(d, ensure_ascii=False) for d in docs]
    rows[2:2] = list(extra)  # bad lines in the middle: the rest is still read
    return ("\n".join(rows) + "\n").encode("utf-8")


def test_open_sanctions_style_import_attaches_sanctions_documents_and_addresses() -> None:
    data = _lines(
        OPEN_SANCTIONS_LIKE,
        "{not json",
        json.dumps({"id": "x", "schema": "Spaceship", "properties": {}}),
    )
    assert detect_list(data) == "FTM"
    sl = parse_ftm(data, source_name="entities.ftm.json")
    assert sl.list_id == "US-OFAC-SDN"
    by_id = {e.entry_id: e for e in sl.entities}
    assert set(by_id) == {"NK-abc", "NK-p1", "NK-v1"}
    company = by_id["NK-abc"]
    assert company.schema == ORGANIZATION
    assert company.ids("imo_company") == ["5912345"] and not company.ids("imo")
    assert company.programmes == ("DPRK3",) and company.listed_on == ("2024-03-01",)
    assert company.addresses == ("Pyongyang, DPRK",)
    assert [n.script for n in company.names] == ["Latn", "Hang"]
    person = by_id["NK-p1"]
    assert person.schema == PERSON and person.name == "Ho Jin YUN"
    assert person.ids("passport") == ["PD123456789"]
    vessel = by_id["NK-v1"]
    assert vessel.ids("imo") == ["9191773"] and vessel.ids("mmsi") == ["445123000"]
    assert [v.imo for v in sl.vessels] == ["9191773"] and sl.vessels[0].flags == ("PRK",)
    codes = {(a.code, a.line) for a in sl.anomalies}
    assert ("bad-line", 3) in codes and ("unknown-schema", 4) in codes
    assert any(a.code == "schema-skipped" and "Ownership" in a.message for a in sl.anomalies)
    # the screener finds the company by its hangul alias's romanisation and by its number
    screener = EntityScreener(sl.entities)
    hit = screener.screen(EntityQuery(name="", identifier="5912345", schema=ORGANIZATION))
    assert hit.best is not None and hit.best.entity.entry_id == "NK-abc"


def test_a_file_without_entities_is_refused_naming_what_it_read() -> None:
    with pytest.raises(ListFormatError, match="no Person, Organization"):
        parse_ftm(_lines(OPEN_SANCTIONS_LIKE[1:3]), source_name="only-sanctions.json")
    with pytest.raises(ListFormatError, match="2 bad"):
        parse_ftm(b"{broken\n[1, 2]\n", source_name="junk.json")


def test_list_ids_and_datasets_map_both_ways() -> None:
    assert dataset_of("JP-METI-EUL") == "jp_meti_eul"
    assert list_id_of("jp_meti_eul") == "JP-METI-EUL"
    assert list_id_of("us_ofac_sdn") == "US-OFAC-SDN"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=200),
            st.builds(
                lambda schema, name, prop: json.dumps(
                    {"id": name or "x", "schema": schema, "properties": {prop: [name]}}
                ).encode(),
                st.sampled_from(["Person", "Company", "Vessel", "Sanction", "Thing", "Bogus"]),
                st.text(max_size=40),
                st.sampled_from(["name", "imoNumber", "entity", "holder", "birthDate", "nope"]),
            ),
        ),
        max_size=20,
    )
)
def test_fuzzed_ftm_lines_give_a_list_or_a_clear_refusal(lines: list[bytes]) -> None:
    try:
        sl = parse_ftm(b"\n".join(lines), source_name="fuzz.json")
    except ListFormatError as err:
        assert "fuzz.json" in str(err)
        return
    assert sl.entities and all(e.names for e in sl.entities)


def test_cli_exports_the_lists_in_force_and_puts_an_ftm_file_in_force(
    tmp_path: Path, un1718_raw: bytes
) -> None:
    data_dir = tmp_path / "lists"
    out = tmp_path / "lists.ftm.json"
    res = runner.invoke(
        app, ["sanctions", "export", "--out", str(out), "--lists", "UN-1718,JP-METI-EUL"]
    )
    assert res.exit_code == 0, res.output
    assert "wrote 894 entities and 894 sanctions of UN-1718, JP-METI-EUL" in res.output
    source = tmp_path / "partner.ftm.json"
    source.write_bytes(_lines(OPEN_SANCTIONS_LIKE))
    res = runner.invoke(
        app,
        ["sanctions", "update", str(source), "--data-dir", str(data_dir), "--list-id",
         "partner-list", "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["installed"][0]["list_id"] == "PARTNER-LIST"
    res = runner.invoke(app, ["sanctions", "lists", "--data-dir", str(data_dir), "--json"])
    rows = {r["list"]: r for r in json.loads(res.output)["lists"]}
    assert rows["PARTNER-LIST"]["vessels"] == 1 and rows["PARTNER-LIST"]["entries"] == 3
    # the vessel screener screens against it, from the installed copy
    res = runner.invoke(
        app, ["sanctions", "screen", "--data-dir", str(data_dir), "--imo", "9191773", "--json"]
    )
    assert res.exit_code == 0, res.output
    assert "PARTNER-LIST" in res.output
    # --list-id on a list that names itself is refused; the list in force is unchanged
    html = tmp_path / "1718.html"
    html.write_bytes(un1718_raw)
    res = runner.invoke(
        app, ["sanctions", "update", str(html), "--data-dir", str(data_dir), "--list-id", "X"]
    )
    assert res.exit_code == 2 and "names only FollowTheMoney files" in res.output
    res = runner.invoke(app, ["sanctions", "lists", "--data-dir", str(data_dir), "--json"])
    assert {r["list"] for r in json.loads(res.output)["lists"] if not r["bundled"]} == {
        "PARTNER-LIST"
    }
