"""Allocation search speed on Singles' Day: ``peakplan allocate`` with small settings.

    .venv/bin/python bench/bench_allocate.py [--quick] [--jobs N]

(a) Baseline: one candidate scored, 4 replications of scenarios/singles_day.yaml, here in this
    process (what every candidate of the search costs).
(b) planner.allocate.allocate on the same scenario with 4 replications per candidate, a budget
    of 40 candidates (12 with --quick) and the default bounds, on ``--jobs`` worker processes
    (default 2).  Aim: under 3 minutes on two cores.  Reported: wall time, candidates, rounds,
    confirmation runs, and the verified gain with its 95% interval.

The machine's two cores are shared with whatever else runs: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planner.allocate import allocate, allocation_of, score_rep  # noqa: E402
from planner.executor import Executor  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SCENARIO = ROOT / "scenarios" / "singles_day.yaml"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a budget of 12 candidates")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    sc = load_scenario(SCENARIO)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    t = time.perf_counter()
    for rep in range(4):
        score_rep(sc, 1, rep)
    one = time.perf_counter() - t
    print(f"(a) one candidate, 4 replications, in process: {one:.2f} s")

    budget = 12 if args.quick else 40
    t = time.perf_counter()
    with Executor(jobs=args.jobs) as ex:
        r = allocate(sc, reps=4, seed=1, max_evals=budget, mapper=ex.map)
    wall = time.perf_counter() - t
    d1, d2 = r.total
    print(f"(b) allocate, 4 reps, budget {budget}, {args.jobs} jobs: {wall:.1f} s wall; "
          f"{r.evaluations} candidates in {r.rounds} round(s), {r.confirmations} confirmation "
          f"runs, {len(r.changes)} change(s); stopped: {r.stopped}")
    print(f"    {r.objective.label} {d1.a:,.0f} -> {d1.b:,.0f} ({d1.mean:+,.0f} ± "
          f"{d1.ci95:,.0f}, fresh seeds), {r.objective.secondary_label} {d2.mean:+.1f} ± "
          f"{d2.ci95:.1f}; changed groups: "
          f"{[g for g, ga in r.allocation.groups if ga != allocation_of(sc)[g]]}")
    aim = 180.0
    print(f"    aim under {aim:.0f} s: {'met' if wall < aim else 'NOT met'}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
