"""`trilink.sim`: synthetic scenario generators (pure core; files are written by ``sim/io.py``).

``trilink sim maritime`` builds East Asian waters AIS traffic: merchant ships and tankers on
great-circle legs between real ports (World Port Index), fishing vessels trawling in their
own EEZ, ITU-R M.1371 Class A reporting, receiver loss, sensor noise, and planted events
(STS transfer with an OFAC-listed DPRK vessel, going dark with a SAR detection, foreign
fishing at Yamato Bank, territorial-sea incursion) with ground truth.

``trilink sim missile`` writes a missile-warning scenario's per-nation radar plot feeds; that
simulator lives with its engine, in ``trilink.missile.sim`` (files: ``trilink.missile.io.feeds``).
"""

from __future__ import annotations

from trilink.sim.scenario import Positions, Scenario, ScenarioConfig, generate

__all__ = ["Positions", "Scenario", "ScenarioConfig", "generate"]
