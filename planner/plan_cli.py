"""``peakplan plan``: the cheapest bookable roster for a scenario (or a requirement file),
checked by simulation.  A thin shell over :mod:`planner.plan`: parse, load, call, print, write.

Registered in ``planner/cli.py`` by :func:`add_plan_parser`; every problem with what the user
gave is an :class:`~sim.errors.InputError` (the CLI's main prints it, exit status 2).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from planner.executor import default_jobs
from planner.outputs import output_folder
from sim.errors import InputError

__all__ = ["add_plan_parser", "run_plan", "plan_json"]


def add_plan_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``peakplan plan`` on the CLI's sub-parsers."""
    p = sub.add_parser(
        "plan", help="the cheapest bookable shifts that meet the targets, checked by "
                     "simulation",
        description="Plan the shifts to book for SCENARIO.yaml: the Erlang requirement per "
                    "interval and queue, its cheapest cover by bookable shifts under the "
                    "planning rules (an integer programme), simulated and adjusted until every "
                    "judged interval meets its targets, then verified with fresh seeds. With "
                    "--requirement REQ.csv and --rules RULES.yaml no scenario is needed (a "
                    "cover only, no simulation).")
    p.add_argument("scenario", type=Path, nargs="?", metavar="SCENARIO.yaml")
    p.add_argument("--rules", type=Path, metavar="RULES.yaml",
                   help="planning rules (default: the scenario's planning: section, else the "
                        "stated defaults)")
    p.add_argument("--requirement", type=Path, metavar="REQ.csv",
                   help="agents required per interval and queue (columns interval_start, "
                        "queue, agents) instead of the Erlang table")
    p.add_argument("--reps", type=int, default=5,
                   help="replications per round (default 5; verification runs twice as many)")
    p.add_argument("--seed", type=int, default=1, help="random seed of the rounds (default 1; "
                                                        "verification uses other seeds)")
    p.add_argument("--confidence", type=float, default=0.9,
                   help="confidence of a miss (one-sided, on the replications; default 0.9)")
    p.add_argument("--max-rounds", type=int, default=8, help="covers to solve at most "
                                                              "(default 8)")
    p.add_argument("--time-limit-s", type=float, default=60.0,
                   help="solver time per cover (default 60); the best plan found is returned, "
                        "flagged not proved optimal")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--jobs", type=int, default=default_jobs(),
                       help="worker processes for the replications (default: the cores)")
    group.add_argument("--dask", metavar="ADDRESS",
                       help="run the replications on a Dask scheduler (tcp://host:8786)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="write shifts.csv, coverage.csv, verified.csv and planned.yaml here "
                        "(a new or empty folder)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty --out (its files of the same names replaced)")
    p.set_defaults(run=run_plan)
    return p


# --------------------------------------------------------------------------------------------
# Output folder: checked before the work, filled in a temporary folder, renamed into place.
# --------------------------------------------------------------------------------------------
def _check_out(out: Path, *, force: bool, inputs: list[Path]) -> None:
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", file=out, field="--out")
    target = out.resolve()
    for p in inputs:
        rp = p.resolve()
        if rp == target or target in rp.parents:
            raise InputError(f"holds an input of this command ({p}); choose a separate folder "
                             "for results", file=out, field="--out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError("is not empty; choose a new folder or add --force to write into it",
                         file=out, field="--out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot be created ({exc.strerror or exc})", file=out,
                         field="--out") from None


def _write_out(out: Path, files: dict[str, Any], *, inputs: list[Path]) -> None:
    """``files``: name -> ``write(path)``, written whole or not at all
    (:func:`planner.outputs.output_folder`; ``out`` was checked before the work)."""
    with output_folder(out, force=True, protect=inputs) as tmp:
        for name, write in files.items():
            write(tmp / name)


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------
def _shift_list(plan: Any) -> list[dict[str, Any]]:
    from planner.shifts import _clock, _day_label

    cover = plan.cover
    out = []
    for x in cover.booked:
        c = x.candidate
        breaks = [{"start": _clock(c.start_min + off), "minutes": minutes, "agents": k}
                  for (minutes, _), split in zip(c.breaks, x.breaks) for off, k in split]
        out.append({"day": _day_label(cover.problem, c.day), "group": c.group,
                    "pattern": c.pattern, "start": _clock(c.start_min),
                    "end": _clock(c.start_min + c.length_min), "agents": x.agents,
                    "breaks": breaks, "hours": x.hours, "cost": x.cost})
    for o in cover.overtime:
        s = o.kept.spec
        out.append({"day": _day_label(cover.problem, o.day), "group": o.kept.group,
                    "pattern": "overtime", "start": s.start,
                    "end": _clock(s.start_min + s.length_min + o.extra_min),
                    "agents": o.agents, "breaks": [], "hours": o.hours, "cost": o.cost})
    return out


def plan_json(plan: Any) -> dict[str, Any]:
    """The ``--json`` object."""
    c = plan.cover
    verified = None
    if plan.verified_queues is not None:
        verified = {r["queue"]: {"service_level": r["service_level"],
                                 "abandon_rate": r["abandon_rate"], "asa_s": r["asa_s"],
                                 "intervals_missed": int(r["intervals_missed"]),
                                 "targets_met": bool(r["targets_met"])}
                    for _, r in plan.verified_queues.iterrows()}
    from planner.cli import _jsonable  # planner.cli imports this module

    return _jsonable({
        "status": c.status, "mip_gap": c.mip_gap, "solve_s": c.solve_s,
        "cost": c.cost, "agent_hours": c.agent_hours, "kept_agent_hours": c.kept_agent_hours,
        "total_agent_hours": plan.total_agent_hours,
        "erlang_agent_hours": plan.erlang_agent_hours,
        "erlang_cover_agent_hours": plan.first_cover.kept_agent_hours
        + plan.first_cover.agent_hours,
        "shortfall_agent_intervals": c.shortfall_agent_intervals,
        "rounds": len(plan.rounds), "converged": plan.converged,
        "round_log": [r.__dict__ for r in plan.rounds],
        "shifts": _shift_list(plan),
        "shortfall": c.shortfall[["interval_start", "queue", "required", "planned",
                                  "short"]].to_dict(orient="records"),
        "verified": verified, "seed": plan.seed, "reps": plan.reps,
        "verify_seed": plan.verify_seed, "notes": list(plan.notes)})


def _load(args: argparse.Namespace) -> tuple[Any, Any, str | None, Any, str]:
    """(scenario or None, rules, rules file or None, requirement or None, rules text)."""
    from planner.plan import DEFAULT_RULES_TEXT, default_rules
    from planner.shifts import read_requirement
    from sim.planning import load_rules
    from sim.scenario import load_scenario

    if args.scenario is None and (args.requirement is None or args.rules is None):
        raise InputError("give SCENARIO.yaml, or both --requirement REQ.csv and --rules "
                         "RULES.yaml (a cover with no scenario)", field="SCENARIO.yaml")
    scenario = load_scenario(args.scenario) if args.scenario is not None else None
    requirement = read_requirement(args.requirement) if args.requirement is not None else None
    if args.rules is not None:
        return scenario, load_rules(args.rules), str(args.rules), requirement, \
            f"rules from {args.rules}"
    embedded = getattr(scenario.spec, "planning", None)
    if embedded is not None:
        return scenario, embedded, None, requirement, \
            f"rules from the planning: section of {args.scenario}"
    return scenario, default_rules(scenario), None, requirement, DEFAULT_RULES_TEXT


def _check_flags(args: argparse.Namespace) -> None:
    if args.reps < 1:
        raise InputError(f"must be at least 1, got {args.reps}", field="--reps")
    if args.seed < 0:
        raise InputError(f"must be a whole number >= 0, got {args.seed}", field="--seed")
    if not (0.5 <= args.confidence < 1.0) or not math.isfinite(args.confidence):
        raise InputError(f"must be from 0.5 to below 1, got {args.confidence:g}",
                         field="--confidence")
    if args.max_rounds < 1:
        raise InputError(f"must be at least 1, got {args.max_rounds}", field="--max-rounds")
    if not (args.time_limit_s > 0) or not math.isfinite(args.time_limit_s):
        raise InputError(f"must be a positive number of seconds, got {args.time_limit_s:g}",
                         field="--time-limit-s")
    if args.jobs < 1:
        raise InputError(f"must be at least 1, got {args.jobs}", field="--jobs")


def run_plan(args: argparse.Namespace) -> int:
    """``peakplan plan``: returns the exit status (0)."""
    from planner.plan import cover_only, plan_roster

    _check_flags(args)
    inputs = [p for p in (args.scenario, args.rules, args.requirement) if p is not None]
    if args.out is not None:
        _check_out(args.out, force=args.force, inputs=inputs)
    scenario, rules, rules_file, requirement, rules_text = _load(args)
    print(f"planning with {rules_text}", file=sys.stderr)
    if scenario is None:
        plan = cover_only(requirement, rules, rules_file=rules_file,
                          time_limit_s=args.time_limit_s)
    else:
        from tqdm import tqdm

        total = (args.max_rounds + 2) * args.reps
        with tqdm(total=total, desc="planning", unit="rep", delay=0.5, file=sys.stderr,
                  leave=False, disable=None) as bar:
            def progress(stage: str, done: int, of: int) -> None:
                bar.set_description(stage, refresh=False)
                if of:
                    bar.update(1)

            plan = plan_roster(scenario, rules, rules_file=rules_file, requirement=requirement,
                               reps=args.reps, seed=args.seed, confidence=args.confidence,
                               max_rounds=args.max_rounds, time_limit_s=args.time_limit_s,
                               jobs=args.jobs, dask_address=args.dask, progress=progress)
    if args.out is not None:
        _write_out(args.out, _out_files(plan, scenario=scenario, args=args),
                   inputs=inputs + list(scenario.input_files() if scenario is not None else []))
    if args.json:
        print(json.dumps(plan_json(plan), indent=2, allow_nan=False))
    else:
        _print_plan(plan, scenario=scenario, rules_text=rules_text)
    if args.out is not None:
        print(f"wrote results to {args.out}/", file=sys.stderr)
    return 0


def _out_files(plan: Any, *, scenario: Any, args: argparse.Namespace) -> dict[str, Any]:
    from planner.shifts import planned_shifts, write_planned_yaml

    files: dict[str, Any] = {
        "shifts.csv": lambda p: plan.cover.shifts.to_csv(p, index=False),
        "coverage.csv": lambda p: plan.cover.coverage.to_csv(p, index=False),
    }
    if plan.verified is not None:
        files["verified.csv"] = lambda p: plan.verified.drop(columns=["interval"]).to_csv(
            p, index=False)
    header = (f"Planned by peakplan plan from {args.scenario or args.requirement}"
              f"{f' with rules {args.rules}' if args.rules else ''}: cost "
              f"{plan.cover.cost:,.1f}, {plan.cover.agent_hours:,.1f} agent-hours booked, "
              f"cover {plan.cover.status}.")
    if plan.planned is not None:
        files["planned.yaml"] = lambda p: write_planned_yaml(p, plan.planned, header=header)
    else:
        roster = {"agent_groups": {
            g: {"skills": {q: 1 for q in plan.cover.problem.skills[g]}, "shifts": s}
            for g, s in planned_shifts(plan.cover).items()}}
        files["roster.yaml"] = lambda p: write_planned_yaml(
            p, roster, header=header + "\nThe planned agent_groups only (no scenario was "
                                       "given): paste into a scenario.")
    return files


def _print_plan(plan: Any, *, scenario: Any, rules_text: str) -> None:
    c = plan.cover
    name = scenario.spec.name if scenario is not None else c.problem.requirement.source
    proved = {"optimal": "optimal", "time_limit": "time limit reached: the best found, NOT "
              "proved optimal", "no_solution": "NO solution found in the time limit"}
    print(f"Plan for {name} ({rules_text}).")
    print(f"Cover: {proved.get(c.status, c.status)} (gap {c.mip_gap:.2%}, "
          f"{c.solve_s:.1f} s); {len(plan.rounds)} round(s)"
          f"{', converged' if plan.converged else ''}.")
    print()
    if c.shifts.empty:
        print("Shifts to book: none (the kept roster covers the requirement).")
    else:
        view = c.shifts.copy()
        multi_day = view["day"].nunique() > 1
        view["shift"] = view["start"] + "-" + view["end"]
        cols = (["day"] if multi_day else []) + ["group", "pattern", "shift", "agents",
                                                 "breaks", "hours", "cost"]
        view = view[cols]
        view["hours"] = view["hours"].map(lambda x: f"{x:,.1f}")
        view["cost"] = view["cost"].map(lambda x: f"{x:,.1f}")
        print("Shifts to book:")
        print(view.to_string(index=False))
    print()
    total = plan.total_agent_hours
    print(f"Total: cost {c.cost:,.1f} for {c.agent_hours:,.1f} agent-hours booked"
          + (f" (+ {c.kept_agent_hours:,.1f} h of the kept roster = {total:,.1f} h)"
             if c.kept_agent_hours else "") + ".")
    first = plan.first_cover.kept_agent_hours + plan.first_cover.agent_hours
    diff = total - plan.erlang_agent_hours
    print(f"Plain per-queue Erlang plan: {plan.erlang_agent_hours:,.1f} agent-hours (interval "
          f"by interval, not bookable); its cheapest cover {first:,.1f} h; this plan "
          f"{total:,.1f} h ({'+' if diff >= 0 else '-'}{abs(diff):,.1f} h against Erlang"
          f"{', after pooling and simulation' if plan.verified is not None else ''}).")
    short = c.shortfall
    if short.empty:
        print("Shortfall: none.")
    else:
        print(f"Shortfall: {c.shortfall_agent_intervals:,.1f} agent-intervals the rules cannot "
              f"cover, in {len(short)} interval(s) and queue(s):")
        view = short[["interval_start", "queue", "required", "planned", "short"]].copy()
        print(view.head(20).to_string(index=False, float_format=lambda x: f"{x:.1f}"))
        if len(short) > 20:
            print(f"... and {len(short) - 20} more (coverage.csv)")
    if plan.verified_queues is not None:
        print()
        print(f"Verified with fresh seeds (seed {plan.verify_seed}, "
              f"{2 * plan.reps} replications):")
        v = plan.verified_queues
        rows = []
        for _, r in v.iterrows():
            rows.append({"queue": r["queue"],
                         "service level": f"{100 * r['service_level']:.1f}% "
                                          f"±{100 * r['service_level_ci95']:.1f}",
                         "abandoned": f"{100 * r['abandon_rate']:.1f}%",
                         "ASA": f"{r['asa_s']:.1f} s",
                         "intervals missed": int(r["intervals_missed"]),
                         "targets": "met" if r["targets_met"] else "MISSED"})
        print(pd.DataFrame(rows).to_string(index=False))
    for note in plan.notes:
        print(f"Note: {note}.")
