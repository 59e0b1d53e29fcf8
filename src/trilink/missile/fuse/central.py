"""Centralised fusion: one tracker fed every nation's plots, the accuracy reference for CI.

Place in the flow: for comparison only (and for a node that is allowed to receive partner
plots). It is the optimal use of the data when plots are exchanged, which the nations do not do
in practice; ``ci.TrackFuser`` is what runs on shared tracks.
"""

from __future__ import annotations

from collections.abc import Iterable

from trilink.missile.track.filter import TrackFilter
from trilink.missile.track.initiate import InitiationParams
from trilink.missile.track.manager import TrackManager
from trilink.missile.types import Plot, SensorCoverage, TrackState


class CentralFusion:
    """All plots of all nations into one ``TrackManager`` (tracks carry every nation)."""

    def __init__(
        self,
        *,
        filter: TrackFilter | None = None,
        init_params: InitiationParams | None = None,
        coverage: dict[str, SensorCoverage] | None = None,
    ) -> None:
        self.manager = TrackManager(
            "ALL", filter=filter, init_params=init_params, id_prefix="CENTRAL"
        )
        for sid, cov in (coverage or {}).items():
            self.manager.register_sensor(sid, cov)

    def process(self, plots: Iterable[Plot]) -> None:
        self.manager.process(plots)

    def tracks(self) -> list[TrackState]:
        return self.manager.tracks()
