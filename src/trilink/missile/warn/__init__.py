"""Warnings: threat assessment of a fused track (Japan zone probabilities, class, launch point),
Japan's zones from the geodata package, the per-nation warning state machine and the
``missile.warning`` payloads it issues, updates and cancels."""

from trilink.missile.warn.assess import ThreatAssessment, assess, zone_probabilities
from trilink.missile.warn.machine import WarningConfig, WarningEvent, WarningMachine
from trilink.missile.warn.payload import warning_payload
from trilink.missile.warn.zones import JapanGeometries, JapanZones, japan_geometries, japan_zones

__all__ = [
    "JapanGeometries",
    "JapanZones",
    "ThreatAssessment",
    "WarningConfig",
    "WarningEvent",
    "WarningMachine",
    "assess",
    "japan_geometries",
    "japan_zones",
    "warning_payload",
    "zone_probabilities",
]
