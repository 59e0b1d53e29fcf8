"""``decide(envelope, partner, policy)``: the one function that allows a report to leave.

A report is released to a partner only if every one of these holds; anything unknown denies:

1. the partner is configured on this node (and is not this node);
2. the report originated here (a node never re-releases another nation's report);
3. its label parses, and its policy identifier is one this partner is configured for;
4. the partner is in the label's REL TO;
5. no caveat forbids release (ORCON, NOFORN);
6. its classification is at or below the ceiling this node grants the partner;
7. exercise reports go only to partners accepting exercise traffic, live ones only to
   partners accepting live traffic;
8. if the node restricts the kinds a partner receives, the kind is among them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trilink.errors import ConfigError, LabelError
from trilink.model.label import (
    ALLIANCE,
    DEFAULT_POLICY,
    NATION_CODE,
    PARTNER_NATIONS,
    Classification,
    Label,
    format_label,
    parse_label,
)
from trilink.model.report import Envelope


@dataclass(frozen=True, slots=True)
class Decision:
    allow: bool
    partner: str
    reason: str

    @property
    def outcome(self) -> str:
        return "allow" if self.allow else "deny"


@dataclass(frozen=True, slots=True)
class PartnerPolicy:
    nation: str
    ceiling: Classification
    accepts_exercise: bool = True
    accepts_live: bool = True
    policies: frozenset[str] = frozenset({DEFAULT_POLICY})
    kinds: frozenset[str] | None = None  # None: every kind


@dataclass(frozen=True, slots=True)
class NodePolicy:
    nation: str
    partners: Mapping[str, PartnerPolicy] = field(default_factory=dict)
    nations: frozenset[str] = PARTNER_NATIONS


def decide(envelope: Envelope, partner: str, policy: NodePolicy) -> Decision:
    """Whether ``envelope`` may be released to ``partner`` under ``policy``, and why."""
    try:
        label = parse_label(envelope.label, nations=policy.nations)
    except LabelError as err:
        return Decision(False, partner, f"label does not parse: {err}")
    return decide_label(label, envelope.origin, envelope.kind, partner, policy)


def decide_label(
    label: Label, origin: str, kind: str, partner: str, policy: NodePolicy
) -> Decision:
    """``decide`` for an already-parsed label (the publish path parses once per batch)."""

    def deny(reason: str) -> Decision:
        return Decision(False, partner, reason)

    if partner == policy.nation:
        return deny("partner is this node itself")
    rules = policy.partners.get(partner)
    if rules is None:
        return deny(f"{partner} is not a configured partner of {policy.nation}")
    if origin != policy.nation:
        return deny(f"report originated at {origin}; only the originator releases it")
    if label.policy not in rules.policies:
        return deny(f"label policy {label.policy} is not agreed with {partner}")
    if partner not in label.rel_to:
        shown = format_label(label)
        return deny(f"{partner} is not in REL TO of {shown!r}")
    if label.caveats:
        names = ", ".join(sorted(c.value for c in label.caveats))
        return deny(f"caveat {names} forbids release")
    if label.classification > rules.ceiling:
        return deny(
            f"{label.classification.text} is above the {rules.ceiling.text} ceiling for {partner}"
        )
    if label.exercise and not rules.accepts_exercise:
        return deny(f"{partner} does not accept exercise traffic")
    if not label.exercise and not rules.accepts_live:
        return deny(f"{partner} accepts exercise traffic only")
    if rules.kinds is not None and kind not in rules.kinds:
        return deny(f"kind {kind} is not released to {partner}")
    return Decision(True, partner, f"REL TO {partner}, {label.classification.text} within ceiling")


def decide_inbound(label: Label, receiver: str, accept_ceiling: Classification) -> Decision:
    """Whether a node may store a partner's report with ``label``: it must be in REL TO,
    carry no caveat that stops release (a correct sender never sends such a report), and
    not exceed the classification this node is accredited to hold."""
    if receiver not in label.rel_to:
        return Decision(
            False,
            receiver,
            f"label {format_label(label)!r} does not release this report to {receiver}",
        )
    if label.caveats:
        names = ", ".join(sorted(c.value for c in label.caveats))
        return Decision(False, receiver, f"caveat {names} forbids release to {receiver}")
    if label.classification > accept_ceiling:
        return Decision(
            False,
            receiver,
            f"{label.classification.text} is above this node's accept ceiling "
            f"{accept_ceiling.text}",
        )
    return Decision(True, receiver, f"REL TO {receiver}, within accept ceiling")


def nations_from_config(nation: str, config: Mapping[str, Any], *, source: str) -> frozenset[str]:
    """The nations this node knows (labels may name them, partners are among them): the
    config's ``nations`` list, by default the alliance of trilink.model.label.ALLIANCE."""
    listed = config.get("nations", list(ALLIANCE))
    if not isinstance(listed, list) or not all(isinstance(c, str) for c in listed):
        raise ConfigError(f'{source}: nations must be a list of codes, e.g. ["USA", "JPN"]')
    bad = [c for c in listed if not NATION_CODE.match(c)]
    if bad:
        raise ConfigError(
            f"{source}: nations: {bad[0][:20]!r} is not an ISO 3166-1 alpha-3 code (e.g. JPN)"
        )
    if nation not in listed:
        raise ConfigError(f"{source}: nations must include this node's own nation {nation}")
    return frozenset(listed)


def policy_from_config(nation: str, config: Mapping[str, Any], *, source: str) -> NodePolicy:
    """Build the policy from a node config's ``nations`` list and ``[partners.<NATION>]``
    tables."""
    nations = nations_from_config(nation, config, source=source)
    partners: dict[str, PartnerPolicy] = {}
    tables = config.get("partners", {})
    if not isinstance(tables, Mapping):
        raise ConfigError(f"{source}: [partners] must be a table of nations")
    for code, table in tables.items():
        where = f"{source}: [partners.{code}]"
        if code not in nations or code == nation:
            raise ConfigError(
                f"{where}: {code!r} is not a partner nation of {nation} (nations: "
                f"{', '.join(sorted(nations))})"
            )
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table")
        ceiling_text = table.get("ceiling")
        if not isinstance(ceiling_text, str):
            raise ConfigError(f"{where}: 'ceiling' (e.g. \"SECRET\") is required")
        try:
            ceiling = Classification.from_text(ceiling_text)
        except LabelError as err:
            raise ConfigError(f"{where}: ceiling: {err}") from None
        kinds = table.get("kinds")
        if kinds is not None and not (
            isinstance(kinds, list) and all(isinstance(k, str) for k in kinds)
        ):
            raise ConfigError(f"{where}: 'kinds' must be a list of report kinds")
        policies = table.get("policies", [DEFAULT_POLICY])
        if not (isinstance(policies, list) and all(isinstance(p, str) for p in policies)):
            raise ConfigError(f"{where}: 'policies' must be a list of policy identifiers")
        flags = {}
        for name in ("accepts_exercise", "accepts_live"):
            value = table.get(name, True)
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: '{name}' must be true or false, not {value!r}")
            flags[name] = value
        partners[code] = PartnerPolicy(
            nation=code,
            ceiling=ceiling,
            accepts_exercise=flags["accepts_exercise"],
            accepts_live=flags["accepts_live"],
            policies=frozenset(policies),
            kinds=frozenset(kinds) if kinds is not None else None,
        )
    return NodePolicy(nation=nation, partners=partners, nations=nations)
