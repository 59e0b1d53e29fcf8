"""Release policy (ARCHITECTURE §3): who may receive which report. Pure; deny by default."""

from trilink.policy.decide import (
    Decision,
    NodePolicy,
    PartnerPolicy,
    decide,
    decide_inbound,
    policy_from_config,
)
from trilink.policy.holding import may_hold

__all__ = [
    "Decision",
    "NodePolicy",
    "PartnerPolicy",
    "decide",
    "decide_inbound",
    "may_hold",
    "policy_from_config",
]
