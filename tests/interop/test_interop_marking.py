"""The overall marking of an export and of the COP banner (#16 item 7)."""

from __future__ import annotations

from trilink.interop.marking import overall_marking
from trilink.model.label import parse_label


def marking(*labels: str, viewer: str = "USA") -> str:
    return overall_marking([parse_label(t) for t in labels], viewer).text


def test_most_restrictive_of_live_content() -> None:
    assert (
        marking(
            "UNCLASSIFIED//REL TO USA, JPN, KOR",
            "SECRET//REL TO USA, JPN",
            "CONFIDENTIAL//REL TO USA, JPN, KOR",
        )
        == "SECRET//REL TO USA, JPN"
    )
    assert marking() == "UNCLASSIFIED"
    assert marking("EXERCISE//TOP SECRET//NOFORN") == "EXERCISE//TOP SECRET//NOFORN"
    assert marking("SECRET//REL TO USA, JPN//ORCON") == "SECRET//REL TO USA, JPN//ORCON"


def test_mixed_live_and_exercise_names_both() -> None:
    """Live SECRET maritime events with exercise data: never 'EXERCISE//SECRET//...'."""
    mixed = overall_marking(
        [
            parse_label("SECRET//REL TO USA, JPN"),
            parse_label("EXERCISE//CONFIDENTIAL//REL TO USA, JPN, KOR"),
        ],
        "JPN",
    )
    assert mixed.text == (
        "SECRET//REL TO USA, JPN (LIVE SECRET//REL TO USA, JPN"
        " + EXERCISE//CONFIDENTIAL//REL TO USA, JPN, KOR)"
    )
    assert not mixed.text.startswith("EXERCISE")
    assert mixed.live == "SECRET//REL TO USA, JPN"
    assert mixed.exercise == "EXERCISE//CONFIDENTIAL//REL TO USA, JPN, KOR"
    assert mixed.as_dict()["level"] == 3


def test_no_rel_to_of_only_the_viewing_nation() -> None:
    # USA's own originator-only report with a partner report released to USA: what is common
    # is USA alone, which is no release marking on USA's own screen
    assert marking("SECRET//REL TO USA, JPN", "SECRET//REL TO USA, KOR") == "SECRET"
    assert marking("SECRET//REL TO USA, JPN", "SECRET//REL TO USA, KOR", viewer="JPN") == (
        "SECRET//REL TO USA"
    )
