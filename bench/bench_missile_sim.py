"""Benchmark: trajectory integration speed (numba RK4) against scipy's solve_ivp.

Same physics in both (rotating ECEF frame, J2, Coriolis + centrifugal, U.S. 1976 drag), same
free flight: the burnout state of the 2017-11-29 Hwasong-15 reconstruction (apogee 4,475 km,
range 950 km) and of a 1,000 km minimum-energy MRBM, integrated to ground impact.

* trilink: ``propagate_state`` (numba RK4, 2 s steps above 120 km, 0.2 s below, secant impact).
* baseline: ``scipy.integrate.solve_ivp`` with a numpy right-hand side and a ground-impact
  event, RK45 and DOP853 at rtol=1e-10, atol=1e-6 (its adaptive steps make it exact to ~mm).

Accuracy = distance between the two impact points (and flight-time difference) against
DOP853. Also times the full launch solver (``solve_launch``) on real records.

    .venv/bin/python bench/bench_missile_sim.py [--no-write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402
from trilink.missile.frames import OMEGA_EARTH_RADPS, ecef_to_geodetic  # noqa: E402
from trilink.missile.gravity import gravitation  # noqa: E402
from trilink.missile.sim.atmosphere import density  # noqa: E402
from trilink.missile.sim.reconstruct import load_records  # noqa: E402
from trilink.missile.sim.shaping import GEOD, solve_launch  # noqa: E402
from trilink.missile.sim.trajectory import ModelOptions, propagate_state  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks" / "missile_sim.md"
BETA = 10_000.0


def load_average() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def rhs(_t: float, y: np.ndarray) -> np.ndarray:
    r, v = y[:3], y[3:]
    a = gravitation(r, True)
    w = OMEGA_EARTH_RADPS
    a = a + np.array([2 * w * v[1] + w * w * r[0], -2 * w * v[0] + w * w * r[1], 0.0])
    alt = float(ecef_to_geodetic(r)[2])
    rho = float(density(np.array([alt]))[0])
    if rho > 0:
        a = a - 0.5 * rho * np.linalg.norm(v) * v / BETA
    return np.concatenate([v, a])


def ground(_t: float, y: np.ndarray) -> float:
    return float(ecef_to_geodetic(y[:3])[2])


ground.terminal = True  # type: ignore[attr-defined]
ground.direction = -1  # type: ignore[attr-defined]


def best_of(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def impact_of_ivp(sol) -> tuple[np.ndarray, float]:  # type: ignore[no-untyped-def]
    return sol.y_events[0][0][:3], float(sol.t_events[0][0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    cases = {}
    for name, launch, bearing, rng_km, apo_km in [
        ("Hwasong-15 lofted (4,475 km / 950 km)", (39.12, 125.93), 76.0, 950.0, 4_475.0),
        ("MRBM minimum-energy (240 km / 1,000 km)", (39.0, 127.6), 80.0, 1_000.0, 240.0),
    ]:
        lon, lat, _ = GEOD.fwd(launch[1], launch[0], bearing, rng_km * 1e3)
        shot = solve_launch(launch, (lat, lon), apo_km)
        tr = shot.trajectory
        cases[name] = (tr.pos_ecef_m[tr.burnout_index], tr.vel_ecef_m[tr.burnout_index])

    rows = []
    opts = ModelOptions()
    for name, (r0, v0) in cases.items():
        propagate_state(r0, v0, opts, beta_kgpm2=BETA)  # warm (numba cache)
        t_nb, traj = best_of(
            lambda r0=r0, v0=v0: propagate_state(r0, v0, opts, beta_kgpm2=BETA), 20
        )
        y0 = np.concatenate([r0, v0])
        res = {}
        for method in ("RK45", "DOP853"):
            t_ivp, sol = best_of(
                lambda method=method, y0=y0: solve_ivp(
                    rhs, (0.0, 10_000.0), y0, method=method, rtol=1e-10, atol=1e-6, events=ground
                ),
                2,
            )
            res[method] = (t_ivp, sol)
        ref_p, ref_t = impact_of_ivp(res["DOP853"][1])
        nb_p = traj.pos_ecef_m[-1]  # type: ignore[attr-defined]
        nb_t = traj.t_s[-1]  # type: ignore[attr-defined]
        rows.append(
            (
                name,
                "trilink numba RK4",
                t_nb,
                traj.t_s.size,  # type: ignore[attr-defined]
                float(np.linalg.norm(nb_p - ref_p)),
                float(nb_t - ref_t),
            )
        )
        for method in ("RK45", "DOP853"):
            t_ivp, sol = res[method]
            p, t = impact_of_ivp(sol)
            rows.append(
                (
                    name,
                    f"scipy solve_ivp {method}",
                    t_ivp,
                    sol.nfev,
                    float(np.linalg.norm(p - ref_p)),
                    float(t - ref_t),
                )
            )

    recs = [
        r
        for r in load_records(ROOT / "tests" / "data" / "missile").records
        if r.date >= "2022-11-18"
    ][:30]
    solve_times = []
    for rec in recs:
        t0 = time.perf_counter()
        try:
            solve_launch(
                (rec.launch_lat_deg, rec.launch_lon_deg), rec.impact_lat_lon(), rec.apogee_km
            )
        except Exception:  # noqa: BLE001 - infeasible records still cost solver time
            pass
        solve_times.append(time.perf_counter() - t0)

    lines = [
        "## Missile trajectory integration (bench/bench_missile_sim.py)",
        "",
        f"Machine: {machine_line()}; load average at the end {load_average()} (other "
        "engineers' jobs share the machine).",
        "",
        "Free flight from burnout to ground impact, rotating Earth + J2 + drag (β = 10,000 "
        "kg/m²). Time = best of repeated runs. Impact error against scipy DOP853 "
        "(rtol 1e-10).",
        "",
        "| case | integrator | time per trajectory (ms) | steps / RHS evals | impact Δ vs "
        "DOP853 (m) | flight-time Δ (s) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, method, t, n, dp, dt in rows:
        lines.append(f"| {name} | {method} | {t * 1e3:.2f} | {n:,} | {dp:.3f} | {dt:+.4f} |")
    lines += [
        "",
        f"Full launch solver (`solve_launch`, boost + free flight, least squares on "
        f"azimuth/pitch/cutoff) on {len(solve_times)} real records from 2022-11-18 on: "
        f"median {statistics.median(solve_times):.2f} s, mean "
        f"{statistics.mean(solve_times):.2f} s, max {max(solve_times):.2f} s per launch.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(text + "\n", "utf-8")
        print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
