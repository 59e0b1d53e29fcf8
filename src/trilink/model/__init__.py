"""The shared vocabulary: nations, labels, reports (ARCHITECTURE §2). Pure: no I/O."""

from trilink.model.label import (
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
from trilink.model.report import Envelope, Report, Signature, build_envelope, check_envelope

__all__ = [
    "DEFAULT_POLICY",
    "PARTNER_NATIONS",
    "Caveat",
    "Classification",
    "Envelope",
    "Label",
    "Report",
    "Signature",
    "build_envelope",
    "check_envelope",
    "combine_labels",
    "format_label",
    "make_label",
    "parse_label",
]
