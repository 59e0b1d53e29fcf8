"""Release policy: deny by default; properties over generated labels × partner configs."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from trilink.errors import ConfigError, LabelError
from trilink.model import (
    DEFAULT_POLICY,
    Caveat,
    Classification,
    Label,
    combine_labels,
    format_label,
    make_label,
    parse_label,
)
from trilink.model.canonical import sha256_hex
from trilink.model.ids import uuid7
from trilink.model.report import Envelope
from trilink.policy import (
    Decision,
    NodePolicy,
    PartnerPolicy,
    decide,
    decide_inbound,
    policy_from_config,
)
from trilink.policy.decide import decide_label

NATIONS = ["USA", "JPN", "KOR"]
PARTNERS_TRIED = [*NATIONS, "GBR", ""]
KINDS = ["note", "maritime.event", "tombstone"]
POLICY_IDS = [DEFAULT_POLICY, "NATO"]


def envelope(label_text: str, *, origin: str = "JPN", kind: str = "note") -> Envelope:
    """Only label, origin and kind matter to the policy; the rest is filled in plausibly."""
    raw = b'{"title":"x"}'
    return Envelope(
        id=uuid7(),
        origin=origin,
        origin_seq=1,
        version=1,
        kind=kind,
        label=label_text,
        created="2026-11-23T00:00:00.000000Z",
        payload=msgspec.Raw(raw),
        payload_sha256=sha256_hex(raw),
    )


@st.composite
def labels(
    draw: st.DrawFn,
    policy: st.SearchStrategy[str] | None = None,
    exercise: bool | None = None,
) -> Label:
    caveats = draw(st.frozensets(st.sampled_from(list(Caveat))))
    rel = (
        frozenset() if Caveat.NOFORN in caveats else draw(st.frozensets(st.sampled_from(NATIONS)))
    )
    return make_label(
        draw(st.sampled_from(list(Classification))),
        rel,
        caveats,
        exercise=draw(st.booleans()) if exercise is None else exercise,
        policy=draw(policy if policy is not None else st.sampled_from(POLICY_IDS)),
    )


@st.composite
def node_policies(draw: st.DrawFn) -> NodePolicy:
    nation = draw(st.sampled_from(NATIONS))
    partners: dict[str, PartnerPolicy] = {}
    for other in NATIONS:
        if other == nation or not draw(st.booleans()):
            continue
        partners[other] = PartnerPolicy(
            nation=other,
            ceiling=draw(st.sampled_from(list(Classification))),
            accepts_exercise=draw(st.booleans()),
            accepts_live=draw(st.booleans()),
            policies=draw(st.frozensets(st.sampled_from(POLICY_IDS), min_size=1)),
            kinds=draw(st.none() | st.frozensets(st.sampled_from(KINDS))),
        )
    return NodePolicy(nation=nation, partners=partners)


def rules_hold(label: Label, origin: str, kind: str, partner: str, policy: NodePolicy) -> bool:
    """The release rules restated independently of decide()."""
    rules = policy.partners.get(partner)
    return (
        rules is not None
        and partner != policy.nation
        and origin == policy.nation
        and label.policy in rules.policies
        and partner in label.rel_to
        and not label.caveats
        and label.classification <= rules.ceiling
        and (rules.accepts_exercise if label.exercise else rules.accepts_live)
        and (rules.kinds is None or kind in rules.kinds)
    )


@settings(max_examples=100, deadline=None)
@given(
    labels(),
    node_policies(),
    st.sampled_from(PARTNERS_TRIED),
    st.sampled_from(NATIONS),
    st.sampled_from(KINDS),
)
def test_allow_exactly_when_every_release_rule_holds(
    label: Label, policy: NodePolicy, partner: str, origin: str, kind: str
) -> None:
    decision = decide(envelope(format_label(label), origin=origin, kind=kind), partner, policy)
    assert decision.partner == partner
    assert decision.allow == rules_hold(label, origin, kind, partner, policy), decision.reason
    if decision.allow:
        # The headline guarantees, spelled out.
        assert partner in label.rel_to
        assert Caveat.ORCON not in label.caveats and Caveat.NOFORN not in label.caveats
        assert label.classification <= policy.partners[partner].ceiling
        assert origin == policy.nation != partner
    assert decision.reason


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60), node_policies(), st.sampled_from(NATIONS))
@example("SECRET//REL TO USA, JPN, KOR, CHN", NodePolicy("JPN"), "USA")
@example("SECRET//REL TO USA, USA", NodePolicy("JPN"), "USA")
@example("SECRET//REL TO USA//FOUO", NodePolicy("JPN"), "USA")
def test_label_text_that_does_not_parse_is_denied(
    text: str, policy: NodePolicy, partner: str
) -> None:
    generous = NodePolicy(
        nation=policy.nation,
        partners={
            p: PartnerPolicy(p, Classification.TOP_SECRET) for p in NATIONS if p != policy.nation
        },
    )
    try:
        label = parse_label(text)
    except Exception:
        label = None
    decision = decide(envelope(text, origin=policy.nation), partner, generous)
    if label is None:
        assert not decision.allow
        assert "does not parse" in decision.reason
    else:
        assert decision == decide_label(label, policy.nation, "note", partner, generous)


@settings(max_examples=100, deadline=None)
@given(labels(), node_policies(), st.sampled_from(NATIONS), st.data())
def test_garbled_valid_labels_are_denied(
    label: Label, policy: NodePolicy, partner: str, data: st.DataObject
) -> None:
    """One character of a valid label replaced: either still a valid label, or denied."""
    text = format_label(label)
    pos = data.draw(st.integers(0, len(text) - 1))
    char = data.draw(st.characters(codec="utf-8"))
    garbled = text[:pos] + char + text[pos + 1 :]
    decision = decide(envelope(garbled, origin=policy.nation), partner, policy)
    try:
        reparsed = parse_label(garbled)
    except Exception:
        assert not decision.allow
        return
    assert decision.allow == rules_hold(reparsed, policy.nation, "note", partner, policy)


def _combine_release_holds(inputs: list[Label], policy: NodePolicy, partner: str) -> None:
    derived = combine_labels(inputs)
    if decide_label(derived, policy.nation, "note", partner, policy).allow:
        for label in inputs:
            assert decide_label(label, policy.nation, "note", partner, policy).allow, (
                f"derived {format_label(derived)} released but input {format_label(label)} not"
            )


same_policy_inputs = st.lists(labels(policy=st.just(DEFAULT_POLICY)), min_size=1, max_size=4)


@settings(max_examples=100, deadline=None)
@given(
    st.booleans().flatmap(
        lambda drill: st.lists(
            labels(policy=st.just(DEFAULT_POLICY), exercise=drill), min_size=1, max_size=4
        )
    ),
    node_policies(),
    st.sampled_from(NATIONS),
)
def test_derived_product_never_more_releasable_than_an_input(
    inputs: list[Label], policy: NodePolicy, partner: str
) -> None:
    """Inputs all exercise or all live (mixing them is refused: tested below)."""
    _combine_release_holds(inputs, policy, partner)


@settings(max_examples=100, deadline=None)
@given(same_policy_inputs, node_policies(), st.sampled_from(NATIONS))
@example(
    [parse_label("EXERCISE//SECRET//REL TO USA, JPN"), parse_label("SECRET//REL TO USA, JPN")],
    NodePolicy(
        "JPN",
        {"USA": PartnerPolicy("USA", Classification.SECRET, accepts_live=False)},
    ),
    "USA",
)
def test_derived_from_live_and_exercise_inputs_is_not_more_releasable(
    inputs: list[Label], policy: NodePolicy, partner: str
) -> None:
    """Mixing exercise and live inputs is refused outright; otherwise the property holds."""
    if len({label.exercise for label in inputs}) > 1:
        with pytest.raises(LabelError) as err:
            combine_labels(inputs)
        assert err.value.token == "EXERCISE"
        return
    _combine_release_holds(inputs, policy, partner)


# -- readable examples, one per deny reason ----------------------------------------------

JPN_POLICY = NodePolicy(
    nation="JPN",
    partners={
        "USA": PartnerPolicy("USA", Classification.SECRET),
        "KOR": PartnerPolicy(
            "KOR",
            Classification.CONFIDENTIAL,
            accepts_exercise=False,
            kinds=frozenset({"note"}),
        ),
    },
)


def jpn_decides(label: str, partner: str, *, origin: str = "JPN", kind: str = "note") -> Decision:
    return decide(envelope(label, origin=origin, kind=kind), partner, JPN_POLICY)


def test_allowed_example() -> None:
    decision = jpn_decides("SECRET//REL TO USA, JPN, KOR", "USA")
    assert decision.allow
    assert decision.outcome == "allow"


@pytest.mark.parametrize(
    ("label", "partner", "extra", "reason"),
    [
        ("SECRET//REL TO USA, JPN", "JPN", {}, "this node itself"),
        ("SECRET//REL TO USA, JPN", "GBR", {}, "not a configured partner"),
        ("SECRET//REL TO USA, JPN", "USA", {"origin": "KOR"}, "only the originator"),
        ("SECRET//REL TO USA//POLICY NATO", "USA", {}, "policy NATO is not agreed"),
        ("SECRET//REL TO USA, JPN", "KOR", {}, "KOR is not in REL TO"),
        ("SECRET", "USA", {}, "not in REL TO"),  # no REL TO: nobody
        ("SECRET//REL TO USA, KOR//ORCON", "USA", {}, "caveat ORCON forbids"),
        ("SECRET//NOFORN", "USA", {}, "not in REL TO"),
        ("SECRET//REL TO USA, KOR", "KOR", {}, "above the CONFIDENTIAL ceiling"),
        ("TOP SECRET//REL TO USA", "USA", {}, "above the SECRET ceiling"),
        ("EXERCISE//CONFIDENTIAL//REL TO KOR", "KOR", {}, "does not accept exercise"),
        ("CONFIDENTIAL//REL TO KOR", "KOR", {"kind": "maritime.event"}, "kind maritime.event"),
        ("SECRET//REL TO USA, CHN", "USA", {}, "does not parse"),
        ("", "USA", {}, "does not parse"),
        ("secret//rel to usa//orcon", "USA", {}, "caveat ORCON"),
    ],
)
def test_each_deny_reason(label: str, partner: str, extra: dict[str, Any], reason: str) -> None:
    decision = jpn_decides(label, partner, **extra)
    assert not decision.allow
    assert decision.outcome == "deny"
    assert reason in decision.reason


def test_exercise_only_partner_gets_no_live_traffic() -> None:
    policy = NodePolicy(
        "USA", {"KOR": PartnerPolicy("KOR", Classification.SECRET, accepts_live=False)}
    )
    live = decide(envelope("SECRET//REL TO KOR", origin="USA"), "KOR", policy)
    drill = decide(envelope("EXERCISE//SECRET//REL TO KOR", origin="USA"), "KOR", policy)
    assert not live.allow and "exercise traffic only" in live.reason
    assert drill.allow


def test_no_partners_configured_denies_everything() -> None:
    for partner in NATIONS:
        assert not decide(
            envelope("UNCLASSIFIED//REL TO USA, JPN, KOR"), partner, NodePolicy("JPN")
        ).allow


# -- config ------------------------------------------------------------------------------


def test_policy_from_config_reads_partner_tables() -> None:
    policy = policy_from_config(
        "JPN",
        {
            "partners": {
                "USA": {"ceiling": "TOP SECRET", "kinds": ["note"], "accepts_live": False},
                "KOR": {"ceiling": "confidential", "policies": ["TRILINK", "GSOMIA"]},
            }
        },
        source="node.toml",
    )
    assert policy.partners["USA"].ceiling is Classification.TOP_SECRET
    assert policy.partners["USA"].kinds == frozenset({"note"})
    assert not policy.partners["USA"].accepts_live
    assert policy.partners["KOR"].ceiling is Classification.CONFIDENTIAL
    assert policy.partners["KOR"].policies == {"TRILINK", "GSOMIA"}
    assert policy.partners["KOR"].kinds is None


@pytest.mark.parametrize(
    ("partners", "match"),
    [
        ({"JPN": {"ceiling": "SECRET"}}, "not a partner nation"),
        ({"CHN": {"ceiling": "SECRET"}}, "not a partner nation"),
        ({"USA": {}}, "'ceiling'"),
        ({"USA": {"ceiling": "ULTRA"}}, "unknown classification"),
        ({"USA": {"ceiling": "SECRET", "kinds": "note"}}, "'kinds'"),
        ({"USA": {"ceiling": "SECRET", "policies": "TRILINK"}}, "'policies'"),
        ({"USA": "SECRET"}, "must be a table"),
    ],
)
def test_policy_from_config_errors_say_where(partners: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as caught:
        policy_from_config("JPN", {"partners": partners}, source="JPN/node.toml")
    assert "JPN/node.toml" in str(caught.value)


@pytest.mark.parametrize("flag", ["accepts_exercise", "accepts_live"])
@pytest.mark.parametrize("value", ["false", "no", "0", "off"])
def test_non_boolean_accept_flags_are_refused(flag: str, value: object) -> None:
    """A quoted "false" must not silently mean true (deny by default)."""
    table = {"ceiling": "SECRET", flag: value}
    try:
        policy = policy_from_config("JPN", {"partners": {"USA": table}}, source="node.toml")
    except ConfigError as err:
        assert flag in str(err)
        return
    assert getattr(policy.partners["USA"], flag) is False, f"{flag} = {value!r} read as true"


@settings(max_examples=200, deadline=None)
@given(labels(), st.sampled_from(NATIONS), st.sampled_from(list(Classification)))
def test_inbound_admits_exactly_what_the_receiver_may_hold(
    label: Label, receiver: str, accept_ceiling: Classification
) -> None:
    """A node stores a partner's report only if it is in REL TO, no caveat stops release
    and the classification is within the node's own accreditation; deny otherwise."""
    decision = decide_inbound(label, receiver, accept_ceiling)
    expected = (
        receiver in label.rel_to
        and not label.caveats
        and label.classification.value <= accept_ceiling.value
    )
    assert decision.allow is expected
    assert decision.reason
