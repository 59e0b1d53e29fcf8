"""Labels: exact text round-trip, errors that name the bad token, national markings, combine."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trilink.errors import LabelError
from trilink.model import (
    DEFAULT_POLICY,
    PARTNER_NATIONS,
    Caveat,
    Classification,
    Label,
    combine_labels,
    format_label,
    make_label,
    parse_label,
)
from trilink.model.label import MAX_LABEL_CHARS, _parse_plain
from trilink.model.markings import default_markings

NATIONS = sorted(PARTNER_NATIONS)
POLICY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

policies = st.one_of(
    st.just(DEFAULT_POLICY),
    st.builds(
        lambda first, rest: first + rest,
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
        st.text(POLICY_CHARS, max_size=31),
    ),
)


@st.composite
def labels(draw: st.DrawFn, policy: st.SearchStrategy[str] = policies) -> Label:
    caveats = draw(st.frozensets(st.sampled_from(list(Caveat))))
    rel = (
        frozenset() if Caveat.NOFORN in caveats else draw(st.frozensets(st.sampled_from(NATIONS)))
    )
    return make_label(
        draw(st.sampled_from(list(Classification))),
        rel,
        caveats,
        exercise=draw(st.booleans()),
        policy=draw(policy),
    )


@settings(max_examples=120, deadline=None)
@given(labels())
def test_parse_of_format_is_identity(label: Label) -> None:
    text = format_label(label)
    assert parse_label(text) == label
    assert format_label(parse_label(text)) == text


@settings(max_examples=50, deadline=None)
@given(labels(), st.randoms(use_true_random=False))
def test_non_canonical_spelling_parses_to_the_same_label(label: Label, rnd: object) -> None:
    """Lower case, extra spaces and any REL TO order are accepted and normalised."""
    import random

    assert isinstance(rnd, random.Random)
    parts = format_label(label).split("//")
    out = []
    for part in parts:
        if part.startswith("REL TO "):
            nations = part[len("REL TO ") :].split(", ")
            rnd.shuffle(nations)
            part = "rel to " + " ,  ".join(n.lower() for n in nations)
        elif not part.startswith("POLICY "):
            part = part.lower()
        out.append(f"  {part} ")
    assert parse_label("//".join(out)) == label


label_words = st.sampled_from(
    ["SECRET", "TOP SECRET", "EXERCISE", "REL TO", "USA", "JPN", "KOR", "CHN", ",", "//", "/"]
    + ["ORCON", "NOFORN", "POLICY", "X", " ", "unclassified", "極秘", "POLICY A", "usa", "FOUO"]
)
label_like_text = st.one_of(st.lists(label_words, max_size=12).map("".join), st.text(max_size=30))


def _norm(text: str) -> str:
    return " ".join(text.upper().split())


@settings(max_examples=300, deadline=None)
@given(label_like_text, st.booleans())
def test_any_text_parses_to_a_stable_label_or_names_a_token_in_it(
    text: str, with_markings: bool
) -> None:
    try:
        label = parse_label(text, markings=default_markings() if with_markings else None)
    except LabelError as err:
        assert isinstance(err.token, str)
        assert _norm(err.token) in _norm(text)
        return
    canonical = format_label(label)
    assert parse_label(canonical) == label
    assert format_label(parse_label(canonical)) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "SECRET//REL TO USA, JPN, KOR",
        "UNCLASSIFIED",
        "CONFIDENTIAL//REL TO USA, KOR//ORCON",
        "EXERCISE//SECRET//REL TO USA, JPN",
        "TOP SECRET//NOFORN",
        "RESTRICTED//REL TO JPN, KOR//POLICY GSOMIA-2016",
    ],
)
def test_canonical_examples_round_trip_as_text(text: str) -> None:
    assert format_label(parse_label(text)) == text
    assert str(parse_label(text)) == text


def test_parsed_fields_of_an_example() -> None:
    label = parse_label("EXERCISE//SECRET//REL TO USA, JPN")
    assert label.exercise
    assert label.classification is Classification.SECRET
    assert label.rel_to == {"USA", "JPN"}
    assert label.caveats == frozenset()
    assert label.policy == DEFAULT_POLICY


def test_rel_to_is_written_usa_first_then_alphabetical() -> None:
    assert format_label(make_label("SECRET", ["KOR", "JPN", "USA"])) == (
        "SECRET//REL TO USA, JPN, KOR"
    )
    assert format_label(make_label("SECRET", ["KOR", "JPN"])) == "SECRET//REL TO JPN, KOR"


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("SECRETT//REL TO USA", "SECRETT"),  # unknown classification
        ("HUSH HUSH", "HUSH HUSH"),
        ("SECRET//REL TO USA, CHN", "CHN"),  # unknown nation
        ("SECRET//REL TO USA, XX", "XX"),  # not alpha-3 at all
        ("SECRET//REL TO USA//FOUO", "FOUO"),  # unknown caveat
        ("SECRET//REL TO USA//ORCON/PROPIN", "PROPIN"),
        ("SECRET//REL TO USA, JPN//NOFORN", "NOFORN"),  # NOFORN with REL TO
        ("SECRET//REL TO USA, JPN, USA", "USA"),  # repeated nation
        ("SECRET//REL TO KOR, JPN, KOR", "KOR"),
        ("", ""),  # empty
        ("   ", ""),
        ("EXERCISE", "EXERCISE"),
        ("SECRET//REL TO USA//REL TO JPN", "REL TO JPN"),
    ],
)
def test_malformed_label_names_the_bad_token(text: str, token: str) -> None:
    with pytest.raises(LabelError) as caught:
        parse_label(text)
    assert caught.value.token == token
    assert caught.value.text == text


def test_unknown_nation_error_says_what_is_known() -> None:
    with pytest.raises(LabelError, match="known nations: USA, JPN, KOR"):
        parse_label("SECRET//REL TO USA, GBR")


def test_a_deployment_with_more_nations_accepts_them() -> None:
    wider = PARTNER_NATIONS | {"GBR"}
    label = parse_label("SECRET//REL TO GBR, USA", nations=wider)
    assert format_label(label) == "SECRET//REL TO USA, GBR"


def test_make_label_rejects_a_bad_policy_identifier() -> None:
    with pytest.raises(LabelError) as caught:
        make_label("SECRET", ["USA"], policy="two words")
    assert caught.value.token == "two words"


@pytest.mark.parametrize(
    ("marking", "level"),
    [
        ("極秘", Classification.SECRET),
        ("2급비밀", Classification.SECRET),
        ("대외비", Classification.RESTRICTED),
        ("機密", Classification.TOP_SECRET),
        ("秘", Classification.CONFIDENTIAL),
        ("Ⅲ급비밀", Classification.CONFIDENTIAL),
        ("gokuhi", Classification.SECRET),
        ("CUI", Classification.RESTRICTED),
    ],
)
def test_national_markings_map_onto_the_common_scale(marking: str, level: Classification) -> None:
    label = parse_label(f"{marking}//REL TO USA, JPN, KOR", markings=default_markings())
    assert label.classification is level
    assert format_label(label) == f"{level.text}//REL TO USA, JPN, KOR"


def test_national_marking_after_exercise_and_with_spacing() -> None:
    label = parse_label(" exercise // 2급비밀 // rel to kor, usa ", markings=default_markings())
    assert format_label(label) == "EXERCISE//SECRET//REL TO USA, KOR"
    label = parse_label("tokutei himitsu//NOFORN", markings=default_markings())
    assert format_label(label) == "TOP SECRET//NOFORN"


@pytest.mark.parametrize("text", ["Tokutei  Himitsu", "II  GEUP BIMIL", " toriatsukai\tchui"])
def test_romanised_markings_accept_any_spacing_like_classifications(text: str) -> None:
    """'TOP  SECRET' parses; so must a romanised national marking with the same slack."""
    assert parse_label(text, markings=default_markings()).classification is not None


def test_national_marking_is_unknown_without_the_markings_table() -> None:
    with pytest.raises(LabelError) as caught:
        parse_label("極秘//REL TO USA")
    assert caught.value.token == "極秘"


def test_classification_order() -> None:
    order = [Classification.from_text(t) for t in ("unclassified", "restricted", "confidential")]
    order += [Classification.from_text("secret"), Classification.from_text("top  secret")]
    assert order == sorted(order)
    assert len(set(order)) == 5


def test_releasable_to_needs_rel_to_and_no_caveat() -> None:
    assert parse_label("SECRET//REL TO USA, JPN").releasable_to("JPN")
    assert not parse_label("SECRET//REL TO USA, JPN").releasable_to("KOR")
    assert not parse_label("SECRET//REL TO USA, JPN//ORCON").releasable_to("JPN")
    assert not parse_label("SECRET").releasable_to("USA")


one_policy_labels = st.lists(labels(policy=st.just(DEFAULT_POLICY)), min_size=1, max_size=5)


@settings(max_examples=120, deadline=None)
@given(one_policy_labels)
def test_combined_label_is_at_least_as_restrictive_as_every_input(inputs: list[Label]) -> None:
    if len({lab.exercise for lab in inputs}) > 1:
        with pytest.raises(LabelError, match="cannot mix exercise and real-world"):
            combine_labels(inputs)
        return
    combined = combine_labels(inputs)
    for label in inputs:
        assert combined.classification >= label.classification
        assert combined.rel_to <= label.rel_to
        assert combined.caveats >= label.caveats
        assert combined.exercise or not label.exercise
    assert combined.classification in {lab.classification for lab in inputs}
    # The combination is itself a valid label that survives its text form.
    assert parse_label(format_label(combined)) == combined


@settings(max_examples=50, deadline=None)
@given(one_policy_labels)
def test_combine_is_order_independent_and_idempotent(inputs: list[Label]) -> None:
    inputs = [msgspec.structs.replace(lab, exercise=inputs[0].exercise) for lab in inputs]
    combined = combine_labels(inputs)
    assert combine_labels(list(reversed(inputs))) == combined
    assert combine_labels([combined, *inputs]) == combined
    assert combine_labels([inputs[0]]) == inputs[0]


def test_combine_drops_rel_to_under_noforn() -> None:
    combined = combine_labels(
        [parse_label("SECRET//REL TO USA, JPN"), parse_label("CONFIDENTIAL//NOFORN")]
    )
    assert format_label(combined) == "SECRET//NOFORN"


def test_combine_refuses_empty_input_and_mixed_policies() -> None:
    with pytest.raises(LabelError):
        combine_labels([])
    with pytest.raises(LabelError) as caught:
        combine_labels(
            [parse_label("SECRET//REL TO USA"), parse_label("SECRET//REL TO USA//POLICY NATO")]
        )
    assert caught.value.token == "NATO"


# -- bounded before parsed or cached (issue 15 finding 4) --------------------------------


EIGHT_MIB = 8 * 2**20


@pytest.mark.parametrize("with_markings", [False, True])
def test_an_oversized_label_is_refused_before_it_is_parsed_or_cached(with_markings: bool) -> None:
    """It parsed (spaces are normalised) and stayed in the cache: +111 MiB for 10 labels."""
    text = "SECRET//REL TO USA, JPN" + " " * EIGHT_MIB
    cached = _parse_plain.cache_info().currsize
    with pytest.raises(LabelError, match=f"longer than the {MAX_LABEL_CHARS} characters") as err:
        parse_label(text, markings=default_markings() if with_markings else None)
    assert _parse_plain.cache_info().currsize == cached
    assert len(str(err.value)) < 300
    assert err.value.text is not None and len(err.value.text) <= MAX_LABEL_CHARS


def test_a_label_of_exactly_the_limit_parses() -> None:
    text = "SECRET//REL TO USA, JPN".ljust(MAX_LABEL_CHARS)
    assert format_label(parse_label(text)) == "SECRET//REL TO USA, JPN"
    with pytest.raises(LabelError):
        parse_label(text + " ")


@settings(max_examples=200, deadline=None)
@given(labels(), st.integers(-40, 40))
def test_a_padded_label_parses_exactly_when_it_fits_the_limit(label: Label, slack: int) -> None:
    canonical = format_label(label)
    text = canonical + " " * max(0, MAX_LABEL_CHARS - len(canonical) + slack)
    if len(text) <= MAX_LABEL_CHARS:
        assert parse_label(text) == label
    else:
        with pytest.raises(LabelError):
            parse_label(text)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=MAX_LABEL_CHARS + 1, max_size=3 * MAX_LABEL_CHARS), st.booleans())
def test_no_text_over_the_limit_parses_or_enters_the_cache(text: str, markings: bool) -> None:
    cached = _parse_plain.cache_info().currsize
    with pytest.raises(LabelError) as err:
        parse_label(text, markings=default_markings() if markings else None)
    assert _parse_plain.cache_info().currsize == cached
    assert isinstance(err.value.token, str) and err.value.token in text


@pytest.mark.parametrize("policy", ["GSOMIA\n", "GSOMIA\r\n", "\nGSOMIA"])
def test_a_policy_identifier_with_a_line_break_is_refused(policy: str) -> None:
    """'$' accepted a trailing newline: 'POLICY GSOMIA\\n' formatted as a second line."""
    with pytest.raises(LabelError, match="policy identifier"):
        make_label("SECRET", ["USA"], policy=policy)
