"""Trackers: ballistic motion model, radar model, EKF/UKF/IMM filters, multi-target manager,
track estimates (impact, launch, apogee) and validation helpers (PCRLB, synthetic truth)."""
