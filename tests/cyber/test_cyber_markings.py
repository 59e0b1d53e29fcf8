"""trilink labels as STIX markings (issue #18 item 1): TLP 2.0 by its standard ids plus our
releasability extension; stix2 parses them, stix2-validator --strict accepts what we write,
and the label reads back exactly."""

from __future__ import annotations

import json

import pytest
import stix2
from hypothesis import given
from hypothesis import strategies as st

from tests.cyber.helpers_cyber import BUNDLE, strict_problems
from trilink.cyber.bundle import bundle_of
from trilink.cyber.markings import (
    TLP2,
    TRILINK_EXTENSION_ID,
    label_marking,
    label_of_marking,
    marking_objects,
    object_markings,
    tlp_conflict,
    tlp_for,
)
from trilink.cyber.stixio import parse_bundle, parse_document
from trilink.errors import LabelError
from trilink.model.label import Caveat, Classification, make_label, parse_label


@pytest.mark.parametrize(
    ("text", "tlp"),
    [
        ("UNCLASSIFIED//REL TO USA, JPN, KOR", "amber"),
        ("SECRET//REL TO USA, JPN", "amber+strict"),
        ("UNCLASSIFIED", "amber+strict"),  # originator only
        ("SECRET//NOFORN", "amber+strict"),
        ("SECRET//REL TO USA, JPN//ORCON", "red"),
    ],
)
def test_tlp_follows_the_label_and_is_never_clear_or_green(text: str, tlp: str) -> None:
    label = parse_label(text)
    assert tlp_for(label) == tlp
    assert object_markings(label)[0] == TLP2[tlp][0]


def test_tlp2_marking_ids_are_the_oasis_ones() -> None:
    assert TLP2["amber+strict"][0] == "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
    assert TLP2["red"][0] == "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
    assert TLP2["amber"][0] == "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"


labels = st.builds(
    make_label,
    st.sampled_from(list(Classification)),
    st.frozensets(st.sampled_from(["USA", "JPN", "KOR"])),
    st.sampled_from([(), (Caveat.ORCON,)]),
    exercise=st.booleans(),
)


@given(labels)
def test_every_label_round_trips_through_its_marking(label) -> None:  # type: ignore[no-untyped-def]
    marking = label_marking(label)
    parsed = stix2.parse(marking, allow_custom=False, version="2.1")
    assert parsed.id == marking["id"]
    assert label_of_marking(json.loads(parsed.serialize())) == label
    assert label_marking(label)["id"] == marking["id"]  # deterministic


def test_a_tampered_marking_is_refused_naming_the_property() -> None:
    marking = label_marking(parse_label("SECRET//REL TO USA, JPN"))
    ext = marking["extensions"][TRILINK_EXTENSION_ID]
    ext["rel_to"] = ["USA", "JPN", "KOR"]
    with pytest.raises(LabelError, match="'label'"):
        label_of_marking(marking)
    ext["rel_to"] = "KOR"
    with pytest.raises(LabelError, match="rel_to"):
        label_of_marking(marking)


def test_an_exported_bundle_passes_stix2_validator_strict_and_reads_back() -> None:
    parsed = parse_bundle(BUNDLE.read_bytes(), "lazarus")
    a, b = parse_label("SECRET//REL TO USA, JPN"), parse_label("CONFIDENTIAL//REL TO USA, KOR")
    entries = [(p.obj, a if i % 2 else b) for i, p in enumerate(parsed.objects)]
    bundle = bundle_of(entries)
    assert strict_problems(bundle) == []
    again = parse_document(json.loads(json.dumps(bundle)), "again")
    assert again.problems == []
    assert [(p.id, p.label) for p in again.objects] == [
        (p.id, lbl) for (_, lbl), p in zip(entries, parsed.objects, strict=True)
    ]
    assert {p.tlp for p in again.objects} == {"amber+strict"}
    kinds = [o["type"] for o in bundle["objects"]]
    assert kinds.count("extension-definition") == 1 and kinds.count("marking-definition") == 3
    assert len(marking_objects([a, a, b])) == 2 + 3


def test_a_tlp_red_source_under_a_releasing_label_is_warned_about() -> None:
    assert tlp_conflict(parse_label("SECRET//REL TO USA, JPN"), "red")
    assert tlp_conflict(parse_label("SECRET//REL TO USA, JPN//ORCON"), "red") is None
    assert tlp_conflict(parse_label("SECRET//REL TO USA, JPN"), "amber") is None
