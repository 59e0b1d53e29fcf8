"""File edges of the missile engine: the scenario file, per-nation plot feeds and truth,
outputs of a scenario run (CSV, GeoJSON, PNG, summary) and of one trajectory (GeoJSON, CZML,
PNG). Everything else in ``trilink.missile`` is pure."""

from trilink.missile.io.feeds import (
    PlotFeed,
    PlotFeedError,
    PlotFeedReader,
    read_plot_feed,
    write_feeds,
)
from trilink.missile.io.run_outputs import summary, write_outputs
from trilink.missile.io.scenario_file import load_scenario

__all__ = [
    "PlotFeed",
    "PlotFeedError",
    "PlotFeedReader",
    "load_scenario",
    "read_plot_feed",
    "summary",
    "write_feeds",
    "write_outputs",
]
