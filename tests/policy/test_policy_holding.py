"""``may_hold``: which nations may hold (and show) a report, the receiving side of the
release rule; properties over generated labels."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from trilink.model import Caveat, Classification, Label, format_label, make_label
from trilink.model.canonical import sha256_hex
from trilink.model.ids import uuid7
from trilink.model.report import Envelope
from trilink.policy import NodePolicy, PartnerPolicy, decide, may_hold

NATIONS = ["USA", "JPN", "KOR"]


@st.composite
def labels(draw: st.DrawFn) -> Label:
    caveats = draw(st.frozensets(st.sampled_from(list(Caveat))))
    rel = (
        frozenset() if Caveat.NOFORN in caveats else draw(st.frozensets(st.sampled_from(NATIONS)))
    )
    return make_label(
        draw(st.sampled_from(list(Classification))), rel, caveats, exercise=draw(st.booleans())
    )


@settings(max_examples=200, deadline=None)
@given(labels(), st.sampled_from(NATIONS), st.sampled_from(NATIONS))
def test_a_nation_holds_its_own_reports_and_what_the_label_releases_to_it(
    label: Label, origin: str, nation: str
) -> None:
    expected = origin == nation or (nation in label.rel_to and not label.caveats)
    assert may_hold(label, origin, nation) is expected
    if Caveat.ORCON in label.caveats or Caveat.NOFORN in label.caveats:
        assert may_hold(label, origin, nation) is (origin == nation)


@settings(max_examples=200, deadline=None)
@given(labels(), st.sampled_from(NATIONS), st.sampled_from(NATIONS))
def test_whatever_a_node_releases_its_partner_may_hold(
    label: Label, origin: str, partner: str
) -> None:
    generous = NodePolicy(
        nation=origin,
        partners={p: PartnerPolicy(p, Classification.TOP_SECRET) for p in NATIONS if p != origin},
    )
    raw = b'{"title":"x"}'
    envelope = Envelope(
        id=uuid7(),
        origin=origin,
        origin_seq=1,
        version=1,
        kind="note",
        label=format_label(label),
        created="2026-11-23T00:00:00.000000Z",
        payload=msgspec.Raw(raw),
        payload_sha256=sha256_hex(raw),
    )
    decision = decide(envelope, partner, generous)
    if decision.allow:
        assert may_hold(label, origin, partner)
    # and with the most generous ceilings the two sides agree exactly between nations
    if partner != origin:
        assert decision.allow == may_hold(label, origin, partner), decision.reason
