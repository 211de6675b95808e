"""Sweep throughput: points per second with --jobs 1 and --jobs 2 (aim: at least 1.8x).

    .venv/bin/python bench/bench_sweep.py [--quick]

Runs the same sweep of scenarios/singles_day.yaml (temporary staff x volume scale, 2
replications per point) into fresh folders with one and with two local worker processes, in
the same run, interleaved, best of 3 each, and checks that both give the same summary.  What is timed is what
a user waits for: planner.sweep.run_sweep from the validated scenario to the written summary
(points are validated, tasks run, Parquet files and summaries written).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planner.sweep import Axis, run_sweep  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def timed_sweep(scenario, axes, reps: int, jobs: int) -> tuple[float, pd.DataFrame]:
    """One sweep into a fresh folder: wall seconds and its summary."""
    out = Path(tempfile.mkdtemp(prefix="peakplan-bench-")) / "sweep"
    try:
        t0 = time.perf_counter()
        result = run_sweep(scenario, axes, out=out, reps=reps, seed=7, jobs=jobs)
        return time.perf_counter() - t0, result.summary()
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 4 points")
    args = parser.parse_args()
    scenario = load_scenario(ROOT / "scenarios" / "singles_day.yaml")
    staff = (40, 50) if args.quick else (30, 40, 50, 60)
    scales = (1.0, 1.2) if args.quick else (1.0, 1.1, 1.2)
    axes = [Axis("agent_groups.temp.shifts[0].agents", staff), Axis("arrivals.scale", scales)]
    reps = 2
    points = len(staff) * len(scales)
    repeats = 1 if args.quick else 3
    print(f"sweep of scenarios/singles_day.yaml: {points} points x {reps} replications = "
          f"{points * reps} runs; {os.cpu_count()} cores; best of {repeats}, interleaved")
    one: list[float] = []
    two: list[float] = []
    # Interleaved, so that a noisy spell on this shared machine hits both sides.
    for _ in range(repeats):
        t, s1 = timed_sweep(scenario, axes, reps, 1)
        one.append(t)
        t, s2 = timed_sweep(scenario, axes, reps, 2)
        two.append(t)
        pd.testing.assert_frame_equal(s1, s2)
    print(f"{'':10}{'best s':>10}{'median s':>10}{'points/s':>10}")
    for name, t in (("--jobs 1", one), ("--jobs 2", two)):
        print(f"{name:10}{min(t):10.2f}{statistics.median(t):10.2f}{points / min(t):10.2f}")
    ratio = min(one) / min(two)
    verdict = "met" if ratio >= 1.8 else "NOT met"
    print(f"speed-up --jobs 2 / --jobs 1: {ratio:.2f}x (aim >= 1.8x: {verdict}); "
          "summaries identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
