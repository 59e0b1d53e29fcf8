"""`trilink.missile`: ballistic-missile warning engine, in rooms by role.

Flow::

    sim    truth trajectories, radar models, scenarios ──► plots per nation (feeds)
    track  filters (EKF, UKF, IMM) passed to the multi-target TrackManager ──► national tracks
    fuse   partner missile.track payloads + own tracks ──► fused picture (covariance intersection)
    warn   estimates ──► threat assessment (Japan zones) ──► warning machine ──► missile.warning

``NationPipeline`` (``pipeline``) is one nation's track → fuse → warn, fed its own plots and
the partner tracks its node holds; ``run`` composes three of them offline under the release
rule of ``trilink.policy``; ``feed`` is the plot-feed contract and ``io`` the file edges.
Shared values live in ``types`` (plots, track states, estimates), ``frames`` and ``gravity``
(WGS-84, J2) and ``kepler`` (closed-form ballistics).
"""

from trilink.missile.feed import FeedSensor, PlotFeedHeader, PlotRecord
from trilink.missile.pipeline import FusedTrack, NationCycle, NationPipeline, PartnerTrack
from trilink.missile.run import Cycle, OfflineExchange, ScenarioRun, iter_cycles, run_scenario
from trilink.missile.sim.scenario import feed_header
from trilink.missile.types import (
    NATIONS,
    GroundEstimate,
    Plot,
    PlotScan,
    SensorCoverage,
    TrackEstimate,
    TrackState,
    TrackStatus,
)

__all__ = [
    "NATIONS",
    "Cycle",
    "FeedSensor",
    "FusedTrack",
    "GroundEstimate",
    "NationCycle",
    "NationPipeline",
    "OfflineExchange",
    "PartnerTrack",
    "Plot",
    "PlotFeedHeader",
    "PlotRecord",
    "PlotScan",
    "ScenarioRun",
    "SensorCoverage",
    "TrackEstimate",
    "TrackState",
    "TrackStatus",
    "feed_header",
    "iter_cycles",
    "run_scenario",
]
