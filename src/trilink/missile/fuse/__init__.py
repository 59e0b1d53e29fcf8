"""Track fusion across nations: conversion of tracks to and from shared ``missile.track``
payloads, covariance intersection of own and partner tracks at a node, and the centralised
all-plots tracker kept as the accuracy reference."""

from trilink.missile.fuse.central import CentralFusion
from trilink.missile.fuse.ci import (
    FusionInputError,
    FusionParams,
    TrackFuser,
    ci_fuse,
    covariance_intersection,
    national_ids,
)
from trilink.missile.fuse.share import from_payload, to_payload

__all__ = [
    "CentralFusion",
    "FusionInputError",
    "FusionParams",
    "TrackFuser",
    "ci_fuse",
    "covariance_intersection",
    "from_payload",
    "national_ids",
    "to_payload",
]
