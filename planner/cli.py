"""``peakplan``: the command line.  A thin shell: parse, load and validate, call, print.

Every problem with what the user gave (flags, files) ends in a one-line message on stderr and
exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from planner.executor import WorkerDied
from planner.outputs import check_out_dir, output_folder, write_new_file
from planner.plan_cli import add_plan_parser
from sim.errors import InputError

__all__ = ["main"]

EXIT_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one line (and the hint to use --help), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    """Plain JSON values: NaN and infinities become null, timestamps ISO strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (pd.Timestamp, np.datetime64, datetime.datetime)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _print_json(obj: Any) -> None:
    print(json.dumps(_jsonable(obj), indent=2, allow_nan=False))


def _pct(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{100 * x:.1f}%"


def _sec(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x:.1f} s"


# --------------------------------------------------------------------------------------------
# peakplan staff
# --------------------------------------------------------------------------------------------
_PLAN_FLAGS = {  # flag dest -> QueuePlan key (target keys under "target")
    "aht_s": "aht_s", "patience_s": "patience_s", "shrinkage": "shrinkage",
    "channel": "channel", "chat_concurrency": "chat_concurrency",
    "chat_slowdown": "chat_slowdown",
}
_TARGET_FLAGS = {"sl": "service_level", "target_s": "within_s", "max_asa_s": "max_asa_s",
                 "max_abandon": "max_abandon", "max_occupancy": "max_occupancy"}


def _add_staff(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "staff", help="agents needed per interval (Erlang C, or Erlang A with --patience-s)",
        description="Agents needed for one interval (--contacts) or for every interval and "
                    "queue of a forecast CSV (--forecast). Times are in seconds.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--contacts", type=float, help="contacts offered in one interval")
    what.add_argument("--forecast", type=Path, metavar="FILE.csv",
                      help="forecast CSV: interval_start, queue, contacts[, aht_s]")
    p.add_argument("--interval-min", type=float, metavar="MIN",
                   help="interval length in minutes (one interval: default 30; forecast: "
                        "read from the file)")
    p.add_argument("--targets", type=Path, metavar="FILE.yaml",
                   help="per-queue targets and handle times (see README); flags given as "
                        "well override it for every queue")
    p.add_argument("--aht-s", type=float, help="mean handle time in seconds")
    p.add_argument("--target-s", type=float, help="service-level threshold in seconds "
                                                  "(default 20)")
    p.add_argument("--sl", type=float, help="service-level target, a share (default 0.8)")
    p.add_argument("--patience-s", type=float,
                   help="mean customer patience in seconds: Erlang A with abandonment")
    p.add_argument("--shrinkage", type=float, help="share of paid time not available "
                                                   "(default 0)")
    p.add_argument("--max-occupancy", type=float, help="occupancy cap, a share")
    p.add_argument("--max-asa-s", type=float, help="ASA target in seconds")
    p.add_argument("--max-abandon", type=float, help="abandonment cap, a share of offered "
                                                     "(needs --patience-s)")
    p.add_argument("--channel", choices=("voice", "chat"))
    p.add_argument("--chat-concurrency", type=int, help="chats an agent holds at once")
    p.add_argument("--chat-slowdown", type=float,
                   help="extra handle time per extra chat held (0.15 = +15%%)")
    p.add_argument("--out", type=Path, metavar="FILE.csv", help="write the table as CSV")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_run_staff)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    plan: dict[str, Any] = {key: getattr(args, dest) for dest, key in _PLAN_FLAGS.items()
                            if getattr(args, dest) is not None}
    target = {key: getattr(args, dest) for dest, key in _TARGET_FLAGS.items()
              if getattr(args, dest) is not None}
    if target:
        plan["target"] = target
    return plan


def _flag_plan(overrides: dict[str, Any]) -> Any:
    from sim.files import validate
    from planner.staffing import QueuePlan

    try:
        return validate(QueuePlan, overrides, file="command line")
    except InputError as exc:
        flag = "--" + (exc.field or "").split(".")[-1].replace("_", "-")
        flag = {"--service-level": "--sl", "--within-s": "--target-s"}.get(flag, flag)
        raise InputError(exc.problem, field=flag) from None


def _run_staff(args: argparse.Namespace) -> int:
    from sim.forecast import forecast_from_frame, read_forecast
    from planner.staffing import (interval_totals, peak_summary, read_targets,
                                  staffing_table)

    overrides = _overrides(args)
    # Flags are checked on their own first: a bad --shrinkage merged into a targets file was
    # reported as an error of the file (queues.<queue>.shrinkage).
    _flag_plan(overrides)
    if args.interval_min is not None and not (math.isfinite(args.interval_min)
                                              and args.interval_min > 0):
        raise InputError(f"must be a positive number of minutes, got {args.interval_min:g}",
                         field="--interval-min")
    if args.max_abandon is not None and args.patience_s is None and args.targets is None:
        # Without a patience the table is Erlang C, which has no abandonment: the cap was
        # dropped without a word.  (With --targets the queues may give patience_s.)
        raise InputError("needs --patience-s (abandonment is modelled by Erlang A only)",
                         field="--max-abandon")
    if args.forecast is not None:
        forecast = read_forecast(args.forecast, interval_min=args.interval_min)
    else:
        if args.contacts < 0 or not math.isfinite(args.contacts):
            raise InputError(f"must be a non-negative number, got {args.contacts:g}",
                             field="--contacts")
        if args.aht_s is None and args.targets is None:
            raise InputError("required for one interval (the mean handle time in seconds)",
                             field="--aht-s")
        start = pd.Timestamp("2000-01-01")
        forecast = forecast_from_frame(
            pd.DataFrame({"interval_start": [start], "queue": ["queue"],
                          "contacts": [args.contacts]}),
            # "is None", not "or": --interval-min 0 silently became 30.
            source="command line",
            interval_min=30.0 if args.interval_min is None else args.interval_min)
    if args.targets is not None:
        plans = read_targets(args.targets, overrides=overrides)
        if args.forecast is None:
            raise InputError("--targets needs --forecast (one interval takes its targets "
                             "from flags)", field="--targets")
    else:
        plan = _flag_plan(overrides)
        plans = {q: plan for q in forecast.queues}
    table = staffing_table(forecast, plans)

    if args.out is not None:
        protect = [p for p in (args.forecast, args.targets) if p is not None]
        write_new_file(args.out, lambda tmp: table.to_csv(tmp, index=False,
                                                          date_format="%Y-%m-%dT%H:%M"),
                       force=args.force, protect=protect)

    if args.forecast is None:
        row = table.iloc[0]
        result = {k: row[k] for k in ("contacts", "aht_s", "traffic_erl", "model", "agents",
                                      "scheduled", "service_level", "asa_s", "occupancy",
                                      "p_wait")}
        result["interval_min"] = forecast.interval_min
        if plans["queue"].patience_s is not None:
            result["p_abandon"] = row["p_abandon"]
        if args.json:
            _print_json(result)
        else:
            _print_one(result, plans["queue"])
        return 0

    totals = interval_totals(table)
    summary = peak_summary(table, interval_min=forecast.interval_min)
    if args.json:
        _print_json({"interval_min": forecast.interval_min, "queues": forecast.queues,
                     "summary": summary,
                     "rows": table.to_dict(orient="records"),
                     "totals": totals.to_dict(orient="records")})
    else:
        _print_table(table, totals, summary, forecast.interval_min)
    if args.out is not None:
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _print_one(r: dict[str, Any], plan: Any) -> None:
    t = plan.target
    lines = [
        f"Offered: {r['contacts']:g} contacts in {r['interval_min']:g} min, AHT "
        f"{r['aht_s']:g} s = {r['traffic_erl']:.2f} Erlangs ({r['model'].replace('_', ' ')})",
        f"Agents needed: {r['agents']}   scheduled with {100 * plan.shrinkage:g}% "
        f"shrinkage: {r['scheduled']}",
        f"Service level: {_pct(r['service_level'])} answered within "
        f"{t.within_s or 0:g} s   ASA: {_sec(r['asa_s'])}",
        f"P(wait): {_pct(r['p_wait'])}   occupancy: {_pct(r['occupancy'])}"
        + (f"   abandoned: {_pct(r['p_abandon'])}" if "p_abandon" in r else ""),
    ]
    print("\n".join(lines))


def _print_table(table: pd.DataFrame, totals: pd.DataFrame, summary: dict[str, Any],
                 interval_min: float) -> None:
    agents = table.pivot(index="interval_start", columns="queue", values="agents")
    agents.columns = [f"{q}" for q in agents.columns]
    view = agents.copy()
    view["agents"] = totals.set_index("interval_start")["agents"]
    view["scheduled"] = totals.set_index("interval_start")["scheduled"]
    view.index = [f"{t:%m-%d %H:%M}" for t in view.index]
    view.index.name = "interval"
    print(f"Agents needed per {interval_min:g}-minute interval (per queue, then totals "
          "before and after shrinkage):")
    print(view.to_string())
    print()
    print(f"Contacts: {summary['contacts']:,.0f}   peak: {summary['peak_scheduled']} scheduled "
          f"({summary['peak_agents']} on the floor) at "
          f"{summary['peak_interval_start']:%Y-%m-%d %H:%M}   scheduled agent-hours: "
          f"{summary['scheduled_agent_hours']:,.1f}")


# --------------------------------------------------------------------------------------------
# peakplan simulate
# --------------------------------------------------------------------------------------------
def _add_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate", help="simulate a scenario: service level, waits, abandonment, occupancy",
        description="Simulate SCENARIO.yaml (skills, routing, transfers, chat concurrency, "
                    "abandonment, shifts) and report per interval and over the horizon.")
    p.add_argument("scenario", type=Path, metavar="SCENARIO.yaml")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--reps", type=int, default=1, help="replications (default 1)")
    p.add_argument("--scale", type=float, help="multiply every queue's volume (what-if)")
    p.add_argument("--out", type=Path, metavar="DIR", help="write per-interval results here")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet",
                   help="file format under --out (default parquet)")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_executor_flags(p)
    p.set_defaults(run=_run_simulate)


def add_executor_flags(p: argparse.ArgumentParser) -> None:
    """--jobs and --dask, the same for every command that runs replications."""
    from planner.executor import default_jobs

    p.add_argument("--jobs", type=int, default=default_jobs(),
                   help="local worker processes (default: the number of cores)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run on this Dask scheduler (e.g. tcp://10.0.0.5:8786) instead")


def executor(args: argparse.Namespace) -> Any:
    from planner.executor import Executor

    return Executor(jobs=args.jobs, dask_address=args.dask)


def progress_bar(total: int, desc: str) -> Any:
    """A progress bar on stderr that shows only when the work takes more than a moment."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rep", delay=0.5, file=sys.stderr,
                leave=False, disable=None)


def _summary_json(sim: Any) -> dict[str, Any]:
    keep = ["offered", "answered", "abandoned", "short_abandoned", "left_waiting",
            "answered_within", "transfers_in", "transfers_out", "service_level",
            "service_level_answered", "service_level_excl_abandoned_within", "abandon_rate",
            "asa_s", "mean_queue", "max_queue", "occupancy"]
    with_ci = sim.reps > 1

    def pick(row: pd.Series, names: Sequence[str]) -> dict[str, Any]:
        out = {}
        for n in names:
            out[n] = row[n]
            if with_ci:
                out[f"{n}_ci95"] = row[f"{n}_ci95"]
        return out

    queues = {r["queue"]: pick(r, keep) for _, r in sim.queue_summary().iterrows()}
    groups = {r["group"]: pick(r, ["occupancy", "slot_occupancy", "staffed_s", "busy_s"])
              for _, r in sim.group_summary().iterrows()}
    spec = sim.scenario.spec
    return {"scenario": spec.name, "start": spec.start, "interval_min": spec.interval_min,
            "intervals": sim.scenario.n_intervals, "warmup_min": spec.warmup_min,
            "queues": queues, "groups": groups, "reps": sim.reps, "seed": sim.seed,
            "volume_uncertainty": None if spec.arrivals.uncertainty is None else
            spec.arrivals.uncertainty.model_dump()}


def _check_seed(seed: int) -> None:
    if seed < 0:
        raise InputError(f"must be a whole number >= 0, got {seed}", field="--seed")


def _run_simulate(args: argparse.Namespace) -> int:
    from sim.replications import simulate
    from sim.scenario import check_run_size, load_scenario

    if args.reps < 1:
        raise InputError(f"must be at least 1, got {args.reps}", field="--reps")
    _check_seed(args.seed)
    scenario = load_scenario(args.scenario, scale=args.scale)
    check_run_size(scenario, reps=args.reps)
    protect = scenario.input_files()
    if args.out is not None:
        check_out_dir(args.out, force=args.force, protect=protect)
    with executor(args) as ex, progress_bar(args.reps, "simulating") as bar:
        sim = simulate(scenario, seed=args.seed, reps=args.reps,
                       progress=lambda done: bar.update(1), mapper=ex.map)
    if args.out is not None:
        with output_folder(args.out, force=args.force, protect=protect) as tmp:
            _write_simulation(sim, tmp, fmt=args.format)
    if args.json:
        _print_json(_summary_json(sim))
    else:
        _print_simulation(sim)
    if args.out is not None:
        print(f"wrote results to {args.out}/", file=sys.stderr)
    return 0


def _write_simulation(sim: Any, out: Path, *, fmt: str) -> None:
    """The result files, into a new folder ``out`` (see planner.outputs.output_folder)."""
    starts = sim.scenario.interval_starts
    tables = {
        "queue_intervals": sim.queue_intervals,
        "group_intervals": sim.group_intervals,
        "queue_interval_summary": sim.queue_interval_summary(),
        "group_interval_summary": sim.group_interval_summary(),
    }
    for name, frame in tables.items():
        frame = frame.copy()
        frame.insert(1, "interval_start", starts[frame["interval"].to_numpy()])
        path = out / f"{name}.{fmt}"
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M")
    sim.queue_summary().to_csv(out / "queue_summary.csv", index=False)
    sim.group_summary().to_csv(out / "group_summary.csv", index=False)


def _print_simulation(sim: Any) -> None:
    sc = sim.scenario
    qi = sim.queue_interval_summary()
    from sim.metrics import kept_share, target_deficit

    qi["miss"] = target_deficit(qi, {q: sc.spec.queues[q].target for q in sc.queues}) > 0
    sl = qi.pivot(index="interval", columns="queue", values="service_level")
    ab = qi.pivot(index="interval", columns="queue", values="abandon_rate")
    missed = qi.pivot(index="interval", columns="queue", values="miss")
    view = pd.DataFrame(index=sl.index)
    for q in sl.columns:
        view[f"{q} SL"] = [("-" if not math.isfinite(s) else f"{100 * s:.0f}%") +
                           ("*" if m else " ") for s, m in zip(sl[q], missed[q])]
        view[f"{q} ab"] = ["-" if not math.isfinite(a) else f"{100 * a:.0f}%" for a in ab[q]]
    view.index = [f"{t:%m-%d %H:%M}" for t in sc.interval_starts[sl.index]]
    view.index.name = "interval"
    reps = f", mean of {sim.reps} replications" if sim.reps > 1 else ""
    print(f"{sc.spec.name}: service level (SL, * a target missed) and abandonment (ab) per "
          f"{sc.spec.interval_min:g}-minute interval{reps}:")
    print(view.to_string())
    print()
    qs = sim.queue_summary().set_index("queue")
    ci = sim.reps > 1
    lines = []
    for q, r in qs.iterrows():
        def pm(col: str, fmt: Any) -> str:
            s = fmt(r[col])
            return s + (f" ±{fmt(r[col + '_ci95'])}" if ci and math.isfinite(r[col + '_ci95'])
                        else "")
        lines.append(f"  {q:<12} offered {r['offered']:>9,.0f}  SL {pm('service_level', _pct)}"
                     f"  ASA {pm('asa_s', _sec)}  abandoned {pm('abandon_rate', _pct)}"
                     f"  occupancy {_pct(r['occupancy'])}")
        # Call-backs and redials, for the queues that offer or get them.
        if q != "all" and r.get("callbacks_offered", 0) > 0:
            kept = kept_share(r)
            lines.append(f"  {'':<12} call-backs offered {r['callbacks_offered']:,.0f}, accepted "
                         f"{r['callbacks_accepted']:,.0f}, made {r['callbacks_made']:,.0f}, "
                         f"kept within the promise {_pct(kept)} of those accepted, mean delay "
                         f"{_sec(r['callback_delay_s'])} (accepted call-backs are out of SL and "
                         "abandonment)")
        if q != "all" and r.get("redials", 0) > 0:
            lines.append(f"  {'':<12} customers {r['customers']:,.0f}, redials "
                         f"{r['redials']:,.0f} (counted in offered)")
    print("Over the horizon" + (" after warm-up" if sc.spec.warmup_min else "") + ":")
    print("\n".join(lines))
    gs = sim.group_summary()
    print("Agent groups: " + "   ".join(f"{r['group']} {_pct(r['occupancy'])}"
                                        for _, r in gs.iterrows()) + "  (occupancy)")
    u = sc.spec.arrivals.uncertainty
    if u is not None:
        from sim.replications import rep_seed
        from sim.uncertainty import describe, volume_multipliers

        # The multipliers are a pure function of the seed: recomputed, not carried back.
        drawn = np.array([volume_multipliers(sc, rep_seed(sim.seed, r))
                          for r in range(sim.reps)])
        print(f"Volume uncertainty (arrivals.uncertainty: {describe(u)}): each replication's "
              "volume per queue is the forecast times its own draw"
              + (", so the ± intervals include forecast risk." if ci else "."))
        print("  drawn: " + ", ".join(f"{q} x{drawn[0, i]:.2f}" if sim.reps == 1 else
                                      f"{q} x{drawn[:, i].min():.2f} to x{drawn[:, i].max():.2f}"
                                      for i, q in enumerate(sc.queues)))


# --------------------------------------------------------------------------------------------
# peakplan sweep
# --------------------------------------------------------------------------------------------
def _add_sweep(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="run a grid of scenario variants with replications (resumable)",
        description="Vary numbers of SCENARIO.yaml over a grid, run every point with "
                    "replications (common random numbers), in parallel; results go to a "
                    "Parquet dataset under --out and a summary per point. Interrupted? Run the "
                    "same command again: finished runs are kept.")
    p.add_argument("scenario", type=Path, metavar="SCENARIO.yaml")
    p.add_argument("--vary", action="append", default=[], metavar="KEY=VALUES",
                   help="a key path and its values: a..b:step or a,b,c (repeatable), e.g. "
                        "agent_groups.gold.shifts[0].agents=8..16:2")
    p.add_argument("--grid", type=Path, metavar="FILE.yaml",
                   help="the grid (and optionally reps, seed) in a YAML file")
    p.add_argument("--reps", type=int, help="replications per point (default 1, or the grid's)")
    p.add_argument("--seed", type=int, help="random seed (default 1, or the grid's)")
    add_executor_flags(p)
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="results folder (created; the same folder resumes the sweep)")
    p.add_argument("--force", action="store_true",
                   help="discard results of a different sweep found in --out")
    p.add_argument("--independent-seeds", action="store_true",
                   help="no common random numbers: each point gets its own streams")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=_run_sweep)


def _run_sweep(args: argparse.Namespace) -> int:
    import signal

    from planner.sweep import SweepInterrupted, parse_vary, read_grid, run_sweep
    from sim.scenario import LIMITS, check_run_size, load_scenario

    axes, options = ([], {}) if args.grid is None else read_grid(args.grid)
    axes = axes + [parse_vary(v) for v in args.vary]
    if not axes:
        raise InputError("nothing to vary: give --vary KEY=VALUES or --grid FILE",
                         field="--vary")
    reps = args.reps if args.reps is not None else options.get("reps", 1)
    seed = args.seed if args.seed is not None else options.get("seed", 1)
    if reps < 1:
        raise InputError(f"must be at least 1, got {reps}", field="--reps")
    _check_seed(seed)
    points = math.prod(len(a.values) for a in axes)
    if points > LIMITS.points:  # before load_scenario: the grid alone can be refused
        raise InputError(f"{points:,} sweep points (at most {LIMITS.points:,}: vary fewer "
                         "values)", field="--vary")
    scenario = load_scenario(args.scenario)
    check_run_size(scenario, reps=reps, points=points)
    # A kill (SIGTERM) stops like Ctrl-C: finished runs are kept, the message says so.
    # The previous handler is put back at the end (finally below), so that main() called
    # in-process (tests, scripts) leaves the caller's SIGTERM handling as it was.
    old_sigterm = signal.signal(signal.SIGTERM, signal.default_int_handler)
    bar = None

    def on_start(to_run: int, reused: int) -> None:
        nonlocal bar
        if reused:
            print(f"reusing {reused} finished run(s) in {args.out}", file=sys.stderr)
        from tqdm import tqdm
        bar = tqdm(total=to_run, desc="sweep", unit="run", file=sys.stderr, disable=None,
                   dynamic_ncols=True)

    try:
        result = run_sweep(scenario, axes, out=args.out, reps=reps, seed=seed,
                           jobs=args.jobs, dask_address=args.dask, force=args.force,
                           crn=not args.independent_seeds,
                           progress=lambda done, total: bar.update(1), on_start=on_start)
    except SweepInterrupted as exc:
        if bar is not None:
            bar.close()
        print(f"peakplan: {exc}", file=sys.stderr)
        return 130 if exc.reason == "interrupted" else 1
    finally:
        if bar is not None:
            bar.close()
        if old_sigterm is not None:  # None: a handler not set from Python; leave it
            signal.signal(signal.SIGTERM, old_sigterm)
    summary = result.summary()
    if args.json:
        _print_json({"out": str(args.out), "points": len(result.points), "reps": reps,
                     "seed": seed, "reused": result.reused, "computed": result.computed,
                     "summary": summary.to_dict(orient="records")})
    else:
        _print_sweep(summary, [a.path for a in axes], reps)
        print(f"\n{len(result.points)} points x {reps} replications: {result.computed} run, "
              f"{result.reused} reused. Results: {args.out}/ (intervals/ Parquet dataset, "
              "summary.csv, group_summary.csv)")
    return 0


def _print_sweep(summary: pd.DataFrame, params: Sequence[str], reps: int) -> None:
    rows = summary[summary["queue"] != "all"]
    table = {}
    for _, r in rows.iterrows():
        key = tuple(r[p] for p in params)
        ci = r["service_level_ci95"]
        mark = {True: " ok", False: " MISS"}.get(r["target_met"], "")
        text = f"{_pct(r['service_level'])}" + (f" ±{100 * ci:.1f}" if reps > 1 and
                                                math.isfinite(ci) else "") + mark
        table.setdefault(key, {})[f"{r['queue']} SL"] = text
    allq = summary[summary["queue"] == "all"]
    for _, r in allq.iterrows():
        key = tuple(r[p] for p in params)
        table[key]["abandoned"] = _pct(r["abandon_rate"])
    view = pd.DataFrame.from_dict(table, orient="index")
    # The short name (last part of the key path) only when no other varied path ends the same
    # way: two groups' "...shifts[0].agents" must not both be headed "agents".
    short = [p.split(".")[-1] for p in params]
    view.index = pd.MultiIndex.from_tuples(view.index, names=[s if short.count(s) == 1 else p
                                                              for s, p in zip(short, params)]) \
        if len(params) > 1 else pd.Index([k[0] for k in view.index], name=params[0])
    print("Service level per point and queue (mean over replications, ±95% CI; ok/MISS: "
          "target met on the mean), and abandonment over all queues:")
    print(view.to_string())


# --------------------------------------------------------------------------------------------
# peakplan review
# --------------------------------------------------------------------------------------------
def _add_review(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "review", help="capacity review before a peak: verdict per volume case and an HTML "
                       "report",
        description="Run SCENARIO.yaml under each volume case with replications, beside the "
                    "Erlang requirement; print a verdict per case and write a self-contained "
                    "HTML report with what it takes to close the gap.")
    p.add_argument("scenario", type=Path, metavar="SCENARIO.yaml")
    p.add_argument("--cases", default=None, metavar="NAME=FACTOR,...",
                   help="volume cases (default low=0.8,base=1.0,high=1.3); pNN (e.g. "
                        "p10,p50,p90, mixable with NAME=FACTOR) is the NN-th percentile of "
                        "the scenario's arrivals.uncertainty as a fixed factor")
    p.add_argument("--reps", type=int, default=20, help="replications per case (default 20)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--fix-case", default=None,
                   help="the case whose gap is closed (default base, or the case nearest "
                        "x1 when there is no base, e.g. p50; 'none' to skip)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="report folder (default reviews/SCENARIO-DATE-TIME, new)")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out")
    add_executor_flags(p)
    p.set_defaults(run=_run_review)


def _run_review(args: argparse.Namespace) -> int:
    from planner.review import DEFAULT_CASES, build_review, fix_case_of, parse_cases, \
        render_html, resolve_cases, review_tables, verdict_lines
    from sim.scenario import check_run_size, load_scenario

    cases = parse_cases(DEFAULT_CASES if args.cases is None else args.cases)
    if args.reps < 1:
        raise InputError(f"must be at least 1, got {args.reps}", field="--reps")
    if args.seed < 0:
        raise InputError(f"must be a whole number >= 0, got {args.seed}", field="--seed")
    scenario = load_scenario(args.scenario)
    cases = resolve_cases(cases, scenario)  # a percentile case needs arrivals.uncertainty
    check_run_size(scenario, reps=args.reps * len(cases) *
                   (1 if (args.fix_case or "").lower() == "none" else 2))
    out = args.out or Path("reviews") / (
        f"{args.scenario.stem}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    protect = scenario.input_files()
    check_out_dir(out, force=args.force, protect=protect)
    fix_case = fix_case_of(cases, args.fix_case)
    quiet = not sys.stderr.isatty()
    with executor(args) as ex:
        review = build_review(scenario, cases=cases, reps=args.reps, seed=args.seed,
                              fix_case=fix_case, mapper=ex.map,
                              progress=None if quiet else
                              (lambda msg: print(f"  {msg}", file=sys.stderr)))
    with output_folder(out, force=args.force, protect=protect) as tmp:
        (tmp / "report.html").write_text(render_html(review), encoding="utf-8")
        for name, frame in review_tables(review).items():
            frame.to_csv(tmp / f"{name}.csv", index=False)
    print(f"Capacity review of {scenario.spec.name} ({args.reps} replications per case, "
          f"seed {args.seed}):")
    for line in verdict_lines(review):
        print(line)
    print(f"\nReport: {(out / 'report.html').resolve()}")
    return 0


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="peakplan",
                     description="Staffing planner and workforce simulator for customer-service "
                                 "teams.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                metavar="COMMAND")
    _add_staff(sub)
    _add_simulate(sub)
    _add_sweep(sub)
    _add_review(sub)
    add_plan_parser(sub)
    from planner.history_cli import add_history_parser  # it imports planner.cli itself

    add_history_parser(sub)
    from planner.allocate_cli import add_allocate_parser  # it imports planner.cli itself

    add_allocate_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except InputError as exc:
        print(f"peakplan: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("peakplan: interrupted", file=sys.stderr)
        return 130
    except WorkerDied as exc:
        # Sweeps keep their finished runs (SweepInterrupted); the other jobs start over.
        print(f"peakplan: a worker stopped ({exc}); nothing was written: run the command "
              "again", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
