"""Planning speed: (a) the cover alone for a week, (b) the whole ``peakplan plan`` on Singles' Day.

    .venv/bin/python bench/bench_plan.py [--quick]

(a) A week of 15-minute intervals (672), 4 queues, 4 groups (cross-skilled: ab, bc, cd, abcd)
    each bookable on every pattern of scenarios/singles_day_rules.yaml, keep none; the
    requirement a daily curve with noise (seeded).  Aim: proved optimal in under 30 s.
    Baselines measured in the same run: the LP relaxation of the same programme (fractional
    agents), the same week without breaks, and the search in the allocation form alone (the
    Hall form switched off: the cover as of round 3); ``--prove-s S`` also gives the
    allocation form alone S seconds, to see how long its proof takes.
(b) planner.plan.plan_roster on scenarios/singles_day.yaml with the defaults of ``peakplan
    plan`` (5 replications, 8 rounds at most, verification with 10 fresh replications), once
    with the shipped rules file and once with the stated default rules (no --rules).  Aim:
    under 2 minutes.  Baseline: the Erlang table and one replication of the scenario.

The machine's two cores are shared with whatever else runs: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import planner.cover_search as cover_search  # noqa: E402
import planner.shifts as shifts_module  # noqa: E402
from planner.plan import default_rules, erlang_requirement, plan_roster  # noqa: E402
from planner.shifts import Requirement, build_problem, solve_cover  # noqa: E402
from sim.planning import load_rules, planning_from_dict  # noqa: E402
from sim.replications import simulate  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

RULES = ROOT / "scenarios" / "singles_day_rules.yaml"
SCENARIO = ROOT / "scenarios" / "singles_day.yaml"


def week_problem(*, breaks: bool = True):
    n = 7 * 96
    clock_h = np.arange(n) * 15 / 60 % 24
    shape = np.clip(np.sin((clock_h - 7) / 14 * np.pi), 0, None) + 0.1
    rng = np.random.default_rng(1)
    agents = np.array([np.round(f * shape * rng.uniform(0.9, 1.1, n))
                       for f in (40, 25, 15, 10)])
    req = Requirement(start=pd.Timestamp("2026-11-09"), interval_min=15,
                      queues=("a", "b", "c", "d"), agents=agents, source="bench week")
    data = load_rules(RULES).model_dump(mode="json")
    if not breaks:
        for p in data["patterns"].values():
            p["breaks"] = []
    data["keep"] = "none"
    data["groups"] = {g: {"patterns": list(data["patterns"]), "skills": list(qs),
                          "cost_per_hour": c}
                      for g, qs, c in (("g1", "ab", 1.0), ("g2", "bc", 1.0), ("g3", "cd", 1.1),
                                       ("g4", "abcd", 1.3))}
    rules = planning_from_dict(data, file="bench week rules", prefix="")
    return build_problem(req, rules)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="(b) with the shipped rules only")
    ap.add_argument("--prove-s", type=float, default=0.0,
                    help="(a) also give the allocation form alone this time limit, to see how "
                         "long its proof takes (default 0: not run)")
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start")

    # (a) The cover of a week.
    t_build, problem = timed(week_problem)
    t_lp, lp = timed(lambda: solve_cover(problem, relax=True))
    t_nb_build, nb = timed(lambda: week_problem(breaks=False))
    t_nb, nb_cover = timed(lambda: solve_cover(nb, time_limit_s=60))
    t_mip, cover = timed(lambda: solve_cover(problem, time_limit_s=30))

    def allocation_form_only(limit_s: float):
        original = shifts_module._hall_parts
        shifts_module._hall_parts = lambda *a, **k: {}
        try:
            return solve_cover(problem, time_limit_s=limit_s)
        finally:
            shifts_module._hall_parts = original

    t_x, x_cover = timed(lambda: allocation_form_only(30))
    t_long, long_cover = (timed(lambda: allocation_form_only(args.prove_s))
                          if args.prove_s > 0 else (0.0, None))
    print(f"\n(a) cover of a week: {problem.n_slots} slots of {problem.slot_min} min, 4 queues, "
          f"4 groups, {len(problem.candidates)} candidate shifts")
    print(f"    build {t_build:.2f} s")
    print(f"    LP relaxation (baseline)  {t_lp:7.2f} s  cost {lp.objective:10,.1f} (a lower "
          "bound)")
    print(f"    no breaks (milp)          {t_nb:7.2f} s  cost {nb_cover.cost:10,.1f}  "
          f"{nb_cover.status}, gap {nb_cover.mip_gap:.2%}")
    print(f"    with breaks (milp, 30 s)  {t_mip:7.2f} s  cost {cover.cost:10,.1f}  "
          f"{cover.status}, gap {cover.mip_gap:.2%}; shortfall "
          f"{cover.shortfall_agent_intervals:.1f}; {cover_search.worker_count()} process(es)")
    print(f"    allocation form only, 30 s {t_x:6.2f} s  cost {x_cover.cost:10,.1f}  "
          f"{x_cover.status}, gap {x_cover.mip_gap:.2%} (baseline: the cover of round 3)")
    if long_cover is not None:
        print(f"    allocation form only, {args.prove_s:g} s {t_long:7.2f} s  cost "
              f"{long_cover.cost:10,.1f}  {long_cover.status}, gap {long_cover.mip_gap:.3%}")
    print(f"    ratio milp / LP relaxation: {t_mip / t_lp:.1f}x; "
          + (f"proved optimal in {t_mip:.1f} s" if cover.optimal
             else "not proved in the time allowed")
          + f"; aim < 30 s: {'met' if cover.optimal and t_mip < 30 else 'NOT met'}")

    # (b) The whole plan on Singles' Day.
    scenario = load_scenario(SCENARIO)
    t_erlang, _ = timed(lambda: erlang_requirement(scenario))
    t_rep, _ = timed(lambda: simulate(scenario, seed=1, reps=1))
    print(f"\n(b) plan of {SCENARIO.name} (defaults: 5 reps, <= 8 rounds, 10 verification "
          f"reps); baseline: Erlang table {t_erlang:.2f} s, one replication {t_rep:.2f} s")
    cases = [("shipped rules", load_rules(RULES), str(RULES))]
    if not args.quick:
        cases.append(("default rules", default_rules(scenario), None))
    for label, rules, rules_file in cases:
        t_plan, plan = timed(lambda: plan_roster(scenario, rules, rules_file=rules_file))
        solve = sum(1 for r in plan.rounds)
        met = plan.verified_queues["targets_met"].all()
        print(f"    {label:14s} {t_plan:7.1f} s  ({solve} rounds; = {t_plan / t_rep:.0f} "
              f"replications' time, {t_plan / t_erlang:.0f}x the Erlang table); cost "
              f"{plan.cover.cost:,.1f}, {plan.cover.agent_hours:,.0f} h booked, cover "
              f"{plan.cover.status}; verified targets met: {met}; aim < 120 s: "
              f"{'met' if t_plan < 120 else 'NOT met'}")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
