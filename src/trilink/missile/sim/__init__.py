"""Simulation: truth trajectories (boost, staging, rotating Earth, J2, drag), launch shaping,
trajectory estimates, radar models at the public sites, reconstruction of real launches, and
exercise scenarios (the file, its truth and every radar's plots in delivery order)."""

from trilink.missile.sim.estimates import TrajectoryEstimates, estimate
from trilink.missile.sim.reconstruct import load_records, reconstruct
from trilink.missile.sim.scenario import (
    FaultSpec,
    LaunchSpec,
    PlotDeliveries,
    Scenario,
    ScenarioError,
    Truth,
    deliver_plots,
    feed_header,
    fly_truth,
    parse_scenario,
)
from trilink.missile.sim.sensors import (
    RADAR_TYPES,
    RadarType,
    Sensor,
    TruthObject,
    default_sensors,
    load_sites,
    observe,
)
from trilink.missile.sim.shaping import ShapedLaunch, solve_launch
from trilink.missile.sim.trajectory import ModelOptions, Trajectory, simulate_launch

__all__ = [
    "RADAR_TYPES",
    "FaultSpec",
    "LaunchSpec",
    "ModelOptions",
    "PlotDeliveries",
    "RadarType",
    "Scenario",
    "ScenarioError",
    "Sensor",
    "ShapedLaunch",
    "Trajectory",
    "TrajectoryEstimates",
    "Truth",
    "TruthObject",
    "default_sensors",
    "deliver_plots",
    "feed_header",
    "estimate",
    "fly_truth",
    "load_records",
    "load_sites",
    "observe",
    "parse_scenario",
    "reconstruct",
    "simulate_launch",
    "solve_launch",
]
