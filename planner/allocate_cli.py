"""``peakplan allocate``: the best skill allocation for the roster as it is, verified on fresh
seeds.  A thin shell over :mod:`planner.allocate`: parse, load, call, print, write.

Registered in ``planner/cli.py`` by :func:`add_allocate_parser`; every problem with what the
user gave is an :class:`~sim.errors.InputError` (the CLI's main prints it, exit status 2).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from planner.outputs import check_out_dir, output_folder
from sim.errors import InputError

__all__ = ["add_allocate_parser", "run_allocate", "allocate_json", "report_lines"]


def add_allocate_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``peakplan allocate`` on the CLI's sub-parsers."""
    from planner.allocate import DELAY_GRID_S
    from planner.cli import add_executor_flags  # planner.cli imports this module lazily

    p = sub.add_parser(
        "allocate", help="the best skill allocation for the roster as it is: who takes which "
                         "queues, in which order, with which delays and windows",
        description="Search the routing of SCENARIO.yaml's roster (no new hires, shifts "
                    "unchanged): which groups take which queues, in which preference order, "
                    "with which overflow delays and hourly allocation windows, to minimise the "
                    "objective. A local search scores every candidate by simulation with common "
                    "random numbers, accepts a move only when its paired gain beats the noise "
                    "(on the search seeds and again on new ones), verifies the result on fresh "
                    "seeds and prints the changes to make; allocated.yaml (your file, only the "
                    "routing edited, comments kept) goes to --out.")
    p.add_argument("scenario", type=Path, metavar="SCENARIO.yaml")
    p.add_argument("--may-learn", action="append", metavar="GROUP:QUEUE,...",
                   help="skills a group may gain, e.g. gold:complaints,intern:aftersales "
                        "(repeatable); without it only the skills groups have are re-ordered, "
                        "delayed, windowed or dropped")
    p.add_argument("--max-skills", type=int, metavar="N",
                   help="no group (nor any of its windows) above N skills (a group above "
                        "already may only shed skills)")
    p.add_argument("--no-drop", action="store_true",
                   help="never drop a skill (by default a skill may be dropped: never a "
                        "group's last, never a queue's last group)")
    p.add_argument("--no-delays", action="store_true",
                   help=f"no overflow delays (by default tried from "
                        f"{', '.join(f'{d:g}' for d in DELAY_GRID_S)} s)")
    p.add_argument("--no-windows", action="store_true",
                   help="no hourly allocation windows (by default tried around the hours "
                        "where targets are missed)")
    p.add_argument("--learn-speed", type=float, default=1.0, metavar="FACTOR",
                   help="handle-time factor of a learned skill (1.2 = 20%% slower while new "
                        "to it; default 1)")
    p.add_argument("--objective", choices=("abandoned", "missed-intervals", "asa"),
                   default="abandoned",
                   help="what to minimise (default abandoned: contacts abandoned, then "
                        "intervals missing a target as a tie-break)")
    p.add_argument("--reps", type=int, default=8,
                   help="replications per candidate (default 8; the same seeds for all)")
    p.add_argument("--verify-reps", type=int,
                   help="replications of the verification on fresh seeds (default 2 x --reps)")
    p.add_argument("--seed", type=int, default=1,
                   help="random seed of the search (default 1; confirmation and verification "
                        "use other seeds)")
    p.add_argument("--max-evals", type=int, default=100, metavar="K",
                   help="candidates to simulate at most (default 100)")
    add_executor_flags(p)
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="results folder, new or empty (default "
                        "allocations/SCENARIO-DATE-TIME): allocated.yaml, changes.csv, "
                        "queues.csv, search.csv, summary.txt")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_allocate)
    return p


# --------------------------------------------------------------------------------------------
# Numbers as a planner reads them
# --------------------------------------------------------------------------------------------
def _decimals(ci: float) -> int:
    if not math.isfinite(ci) or ci >= 10:
        return 0
    return 1 if ci >= 1 else 2


def _pm(d: Any, *, unit: str = "") -> str:
    """'-340 ± 40' (signed difference and its 95% half-width)."""
    k = _decimals(d.ci95)
    ci = f" ± {d.ci95:,.{k}f}" if math.isfinite(d.ci95) else ""
    return f"{d.mean:+,.{k}f}{unit}{ci}"


def _arrow(d: Any, *, unit: str = "") -> str:
    k = _decimals(d.ci95)
    return f"{d.a:,.{k}f}{unit} -> {d.b:,.{k}f}{unit} ({_pm(d, unit=unit)})"


def _unit(name: str) -> str:
    return " s" if name == "asa_s" else ""


def report_lines(result: Any) -> list[str]:
    """The printed report (also summary.txt)."""
    obj = result.objective
    sc = result.scenario
    u1, u2 = _unit(obj.primary), _unit(obj.secondary)
    lines = [f"Skill allocation for {sc.spec.name} (the roster as it is).",
             f"Objective: {obj.text}.",
             f"Search: {result.reps} replications (seed {result.seed}), {result.evaluations} "
             f"candidates in {result.rounds} round(s) (+ {result.confirmations} confirmation "
             f"runs); a move was accepted when its paired gain exceeded "
             f"{result.guard_se:g} standard error(s) on the search seeds and on new ones; "
             f"stopped: {result.stopped}.", ""]
    fresh = (f"fresh seeds: {result.verify_reps} replications, seed {result.verify_seed}, "
             "mean ± 95% CI")
    if not result.changes:
        lines.append(f"No move improves {obj.label} beyond the noise guard: keep the "
                     "allocation as it is.")
    else:
        lines.append(f"Changes to make, in the order found (each with its gain given the ones "
                     f"before it; {fresh}):")
        for c in result.changes:
            lines.append(f"  {c.number}. {c.text}: {obj.label} {_pm(c.primary, unit=u1)}, "
                         f"{obj.secondary_label} {_pm(c.secondary, unit=u2)}")
        d1, d2 = result.total
        lines.append("")
        lines.append(f"All changes together: {obj.label} {_arrow(d1, unit=u1)}, "
                     f"{obj.secondary_label} {_arrow(d2, unit=u2)} ({fresh}).")
        if not result.verified:
            lines.append("The gain does not hold on fresh seeds (its 95% interval does not lie "
                         "below 0): keep the allocation as it is, or search again with more "
                         "--reps.")
    lines.append("")
    lines.append(f"Per queue, before -> after ({fresh.split(', mean')[0]}):")
    q = result.queues

    def pair(r: pd.Series, name: str, fmt: Any) -> str:
        return f"{fmt(r[name + '_before'])} -> {fmt(r[name + '_after'])}"

    def pct(x: float) -> str:
        return "-" if not math.isfinite(x) else f"{100 * x:.1f}%"

    def sec(x: float) -> str:
        return "-" if not math.isfinite(x) else f"{x:.1f} s"

    def num(x: float) -> str:
        return "-" if not math.isfinite(x) else f"{x:,.1f}" if x < 100 else f"{x:,.0f}"

    view = pd.DataFrame({
        "queue": q["queue"],
        "offered": [f"{x:,.0f}" for x in q["offered"]],
        "service level": [pair(r, "service_level", pct) for _, r in q.iterrows()],
        "abandoned": [pair(r, "abandoned", num) for _, r in q.iterrows()],
        "ASA": [pair(r, "asa_s", sec) for _, r in q.iterrows()],
        "intervals missed": [pair(r, "intervals_missed", num) for _, r in q.iterrows()],
        "occupancy": [pair(r, "occupancy", pct) for _, r in q.iterrows()],
    })
    lines += ["  " + line for line in view.to_string(index=False).splitlines()]
    for note in result.notes:
        lines.append(f"Note: {note}.")
    return lines


# --------------------------------------------------------------------------------------------
# JSON and files
# --------------------------------------------------------------------------------------------
def allocate_json(result: Any, *, out: Path | None = None) -> dict[str, Any]:
    """The ``--json`` object (also summary.json)."""
    from planner.allocate import CONFIRM_SEED_OFFSET
    from planner.cli import _jsonable
    from sim.yaml_edit import DELETE

    obj = result.objective
    keys = (obj.label.replace(" ", "_"), obj.secondary_label.replace(" ", "_"))

    def both(d1: Any, d2: Any) -> dict[str, Any]:
        return {keys[0]: d1.dict(), keys[1]: d2.dict()}

    d1, d2 = result.total
    edits = {k: (None if v is DELETE else v) for k, v in result.file_changes().items()}
    return _jsonable({
        "scenario": result.scenario.source, "name": result.scenario.spec.name,
        "objective": {"name": obj.name, "primary": keys[0], "tie_break": keys[1],
                      "text": obj.text},
        "before": {keys[0]: d1.a, keys[1]: d2.a},
        "after": {keys[0]: d1.b, keys[1]: d2.b},
        "total": both(d1, d2), "verified": result.verified,
        "changes": [{"number": c.number, "group": c.group, "scope": c.scope, "text": c.text,
                     **both(c.primary, c.secondary)} for c in result.changes],
        "file_changes": edits,
        "queues": result.queues.to_dict(orient="records"),
        "search": [{"round": s.round, "kind": s.move.kind, "group": s.move.group,
                    "window": s.move.window, "move": s.move.text,
                    "candidates": s.candidates,
                    "search_seeds": both(*s.search), "confirmation_seeds": both(*s.confirm),
                    "confirmation_seed": s.confirm_seed} for s in result.steps],
        "evaluations": result.evaluations, "confirmations": result.confirmations,
        "rounds": result.rounds, "stopped": result.stopped,
        "seeds": {"search": result.seed,
                  "confirmation": [result.seed + CONFIRM_SEED_OFFSET + r
                                   for r in range(1, result.rounds + 1)],
                  "verification": result.verify_seed},
        "reps": result.reps, "verify_reps": result.verify_reps, "guard_se": result.guard_se,
        "bounds": {"may_learn": sorted(f"{g}:{q}" for g, q in result.bounds.may_learn),
                   "max_skills": result.bounds.max_skills,
                   "may_drop": result.bounds.may_drop,
                   "learn_speed": result.bounds.learn_speed,
                   "delays_s": list(result.bounds.delays_s),
                   "windows": result.bounds.windows},
        "formats": {"overflow_delays": result.formats.delays,
                    "allocation_windows": result.formats.windows},
        "out": None if out is None else str(out), "notes": list(result.notes)})


def _changes_frame(result: Any) -> pd.DataFrame:
    obj = result.objective
    p, s = obj.label.replace(" ", "_"), obj.secondary_label.replace(" ", "_")
    return pd.DataFrame(
        [{"number": c.number, "group": c.group, "scope": c.scope, "change": c.text,
          f"{p}_diff": c.primary.mean, f"{p}_ci95": c.primary.ci95,
          f"{s}_diff": c.secondary.mean, f"{s}_ci95": c.secondary.ci95}
         for c in result.changes],
        columns=["number", "group", "scope", "change", f"{p}_diff", f"{p}_ci95",
                 f"{s}_diff", f"{s}_ci95"])


def _search_frame(result: Any) -> pd.DataFrame:
    obj = result.objective
    p, s = obj.label.replace(" ", "_"), obj.secondary_label.replace(" ", "_")
    rows = []
    for st in result.steps:
        (a, b), (c, d) = st.search, st.confirm
        rows.append({"round": st.round, "kind": st.move.kind, "group": st.move.group,
                     "window": st.move.window or "", "move": st.move.text,
                     "candidates": st.candidates,
                     f"{p}_diff": a.mean, f"{p}_se": a.se, f"{s}_diff": b.mean,
                     f"{s}_se": b.se, f"confirm_{p}_diff": c.mean, f"confirm_{p}_se": c.se,
                     f"confirm_{s}_diff": d.mean, f"confirm_{s}_se": d.se,
                     "confirmation_seed": st.confirm_seed})
    return pd.DataFrame(rows, columns=["round", "kind", "group", "window", "move",
                                       "candidates", f"{p}_diff", f"{p}_se", f"{s}_diff",
                                       f"{s}_se", f"confirm_{p}_diff", f"confirm_{p}_se",
                                       f"confirm_{s}_diff", f"confirm_{s}_se",
                                       "confirmation_seed"])


def allocated_text(result: Any, *, forecast_name: str | None) -> str:
    """The user's scenario file with the routing edited (comments kept) and a header."""
    from sim.yaml_edit import edit_text

    sc = result.scenario
    source = Path(sc.source)
    text = source.read_text(encoding="utf-8")
    edits = dict(result.file_changes())
    if forecast_name is not None and sc.spec.arrivals.file != forecast_name:
        edits["arrivals.file"] = forecast_name  # copied beside allocated.yaml
    text = edit_text(text, edits, source=str(source))
    d1, _ = result.total
    obj = result.objective
    head = [f"Allocated by peakplan allocate from {source.name} on "
            f"{datetime.date.today():%Y-%m-%d} (seed {result.seed}, {result.reps} reps): "
            f"{obj.label} {d1.a:,.1f} -> {d1.b:,.1f} on fresh seeds"
            + ("" if result.verified or not result.changes else " (NOT verified)") + "."]
    head += [f"  {c.number}. {c.text}" for c in result.changes] or ["  no change"]
    return "".join(f"# {line}\n" for line in head) + text


def _write(out: Path, result: Any, *, lines: list[str], protect: list[Path]) -> None:
    from planner.allocate import allocation_of
    from sim.scenario import load_scenario

    sc = result.scenario
    forecast = None
    if sc.spec.arrivals.file is not None:
        forecast = next((p for p in sc.input_files()[1:]), None)
    with output_folder(out, force=False, protect=protect) as tmp:
        if forecast is not None:
            shutil.copyfile(forecast, tmp / forecast.name)
        (tmp / "allocated.yaml").write_text(
            allocated_text(result, forecast_name=None if forecast is None else forecast.name),
            encoding="utf-8")
        # The file must say what was verified: read it back as any scenario is read.
        again = load_scenario(tmp / "allocated.yaml")
        if allocation_of(again) != result.allocation:
            raise RuntimeError("allocated.yaml does not hold the allocation found (a bug: "
                               "please report it)")
        _changes_frame(result).to_csv(tmp / "changes.csv", index=False)
        result.queues.to_csv(tmp / "queues.csv", index=False)
        _search_frame(result).to_csv(tmp / "search.csv", index=False)
        (tmp / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (tmp / "summary.json").write_text(
            json.dumps(allocate_json(result, out=out), indent=2, allow_nan=False) + "\n",
            encoding="utf-8")


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------
def run_allocate(args: argparse.Namespace) -> int:
    """``peakplan allocate``: returns the exit status (0)."""
    from planner.allocate import DELAY_GRID_S, Bounds, allocate, check_settings, \
        parse_may_learn
    from planner.cli import executor
    from sim.scenario import check_run_size, load_scenario

    verify_reps = 2 * args.reps if args.verify_reps is None else args.verify_reps
    check_settings(reps=args.reps, seed=args.seed, max_evals=args.max_evals,
                   verify_reps=verify_reps, objective=args.objective)
    if args.jobs < 1:
        raise InputError(f"must be at least 1, got {args.jobs}", field="--jobs")
    bounds = Bounds(may_learn=parse_may_learn(args.may_learn), max_skills=args.max_skills,
                    may_drop=not args.no_drop, learn_speed=args.learn_speed,
                    delays_s=() if args.no_delays else DELAY_GRID_S,
                    windows=not args.no_windows)
    bounds.check_values()  # before the scenario is read: a bad flag is told at once
    scenario = load_scenario(args.scenario)
    bounds.check(scenario)
    check_run_size(scenario, reps=args.reps, points=args.max_evals + 1, where="--max-evals")
    check_run_size(scenario, reps=verify_reps, where="--verify-reps")
    protect = list(scenario.input_files())
    out = args.out or Path("allocations") / (
        f"{args.scenario.stem}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    check_out_dir(out, force=False, protect=protect)

    from tqdm import tqdm

    with executor(args) as ex, tqdm(total=args.reps, desc="allocating", unit="rep",
                                    delay=0.5, file=sys.stderr, leave=False,
                                    disable=None) as bar:
        stage = [None]

        def progress(name: str, done: int, total: int) -> None:
            if name != stage[0]:
                stage[0] = name
                bar.reset(total=total)
                bar.set_description(name, refresh=False)
            bar.update(done - bar.n)

        result = allocate(scenario, bounds=bounds, objective=args.objective, reps=args.reps,
                          seed=args.seed, max_evals=args.max_evals, verify_reps=verify_reps,
                          mapper=ex.map, progress=progress)
    lines = report_lines(result)
    _write(out, result, lines=lines, protect=protect)
    if args.json:
        print(json.dumps(allocate_json(result, out=out), indent=2, allow_nan=False))
    else:
        print("\n".join(lines))
        print(f"\nResults: {out}/ (allocated.yaml: your scenario with these changes; "
              "changes.csv, queues.csv, search.csv, summary.txt)")
    return 0
