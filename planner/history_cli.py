"""``peakplan history``: KPIs, calibrated parameters, a forecast, a scenario skeleton and a
backtest from a contact log.  A thin shell over :mod:`planner.history`: parse, read, call,
print, write.

Registered in ``planner/cli.py`` by :func:`add_history_parser`; every problem with what the
user gave is an :class:`~sim.errors.InputError` (the CLI's main prints it, exit status 2).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.errors import InputError

__all__ = ["add_history_parser", "run_history"]


def add_history_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``peakplan history`` on the CLI's sub-parsers."""
    from planner.cli import add_executor_flags

    p = sub.add_parser(
        "history", help="KPIs, calibrated parameters, a forecast and a backtest from a "
                        "contact log",
        description="Read LOG.csv (one row per contact and queue: arrived_at, queue, outcome, "
                    "wait_s, handle_s, ...; other formats through --columns) and report KPIs "
                    "per interval, day and period, the calibrated handle-time, patience and "
                    "transfer parameters, a forecast with low/base/high volume, a scenario "
                    "skeleton and, with --backtest DATE, the simulator against that day.")
    p.add_argument("log", type=Path, metavar="LOG.csv")
    p.add_argument("--columns", metavar="MAP",
                   help="column map: a shipped name (bank: the classic per-call format) or a "
                        "YAML file (default: the generic columns)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="write the tables, forecast, scenario skeleton and report here")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--interval-min", type=float,
                   help="interval length (default 15 if the mean handle time is under 7.5 "
                        "min, else 30)")
    p.add_argument("--target-s", type=float, default=20.0,
                   help="service-level threshold in seconds (default 20)")
    p.add_argument("--short-abandon-s", type=float, default=5.0,
                   help="abandons within this many seconds are short (default 5)")
    p.add_argument("--forecast-for", metavar="DATE",
                   help="the day to forecast (default: the day after the log)")
    p.add_argument("--uplift", default="0",
                   help="event uplift on the forecast: a percentage (5 = +5%%) or a factor "
                        "(x5)")
    p.add_argument("--profile-from", metavar="DATES",
                   help="comma-separated days whose profile and level to use (default: the "
                        "same weekday in the last --weeks weeks)")
    p.add_argument("--weeks", type=int, default=4,
                   help="matching weeks for the forecast (default 4)")
    p.add_argument("--roster", type=Path, metavar="SCENARIO.yaml",
                   help="take the agent groups from this scenario (skeleton and backtest)")
    p.add_argument("--backtest", metavar="DATE",
                   help="simulate this day of the log and compare it with what happened")
    p.add_argument("--reps", type=int, default=39,
                   help="backtest replications (default 39: the band is the lowest to the "
                        "highest, 95%%)")
    p.add_argument("--seed", type=int, default=1, help="backtest random seed (default 1)")
    add_executor_flags(p)
    p.set_defaults(run=run_history)
    return p


def _date(text: str, field: str) -> pd.Timestamp:
    try:
        t = pd.Timestamp(str(text).strip())
    except (ValueError, TypeError):
        t = pd.NaT
    if t is pd.NaT or pd.isna(t):
        raise InputError(f"expected a date YYYY-MM-DD, got {text!r}", field=field)
    return t.normalize()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _check(args: argparse.Namespace) -> None:
    if not (args.target_s >= 0 and math.isfinite(args.target_s)):
        raise InputError(f"must be a number of seconds >= 0, got {args.target_s:g}",
                         field="--target-s")
    if not (args.short_abandon_s >= 0 and math.isfinite(args.short_abandon_s)):
        raise InputError(f"must be a number of seconds >= 0, got {args.short_abandon_s:g}",
                         field="--short-abandon-s")
    if args.reps < 2:
        raise InputError(f"must be at least 2 (a band needs replications), got {args.reps}",
                         field="--reps")
    if args.seed < 0:
        raise InputError(f"must be a whole number >= 0, got {args.seed}", field="--seed")
    if args.weeks < 1:
        raise InputError(f"must be at least 1, got {args.weeks}", field="--weeks")


def run_history(args: argparse.Namespace) -> int:
    from planner import history as H
    from planner.outputs import check_out_dir, output_folder

    _check(args)
    uplift = H.parse_uplift(args.uplift)
    forecast_for = _date(args.forecast_for, "--forecast-for") if args.forecast_for else None
    profile_from = [_date(d, "--profile-from") for d in args.profile_from.split(",")
                    if d.strip()] if args.profile_from else None
    backtest_day = _date(args.backtest, "--backtest") if args.backtest else None
    roster = None
    if args.roster is not None:
        from sim.scenario import load_scenario

        roster = load_scenario(args.roster)
    protect = [args.log] + ([] if roster is None else list(roster.input_files()))
    if args.out is not None:
        check_out_dir(args.out, force=args.force, protect=protect)
    cmap = H.load_column_map(args.columns) if args.columns else None
    log = H.read_log(args.log, columns=cmap)
    h = H.analyse(log, interval_min=args.interval_min, target_s=args.target_s,
                  short_abandon_s=args.short_abandon_s, forecast_for=forecast_for,
                  uplift=uplift, profile_from=profile_from, weeks=args.weeks, roster=roster)
    _validate_skeleton(h)
    bt = None
    if backtest_day is not None:
        from planner.cli import executor, progress_bar

        with executor(args) as ex, progress_bar(args.reps, "backtest") as bar:
            bt = H.backtest(log, h.calibration, h.transfers, day=backtest_day,
                            interval_min=h.interval_min, target_s=h.target_s,
                            short_abandon_s=h.short_abandon_s, reps=args.reps,
                            seed=args.seed, roster=roster, mapper=ex.map,
                            progress=lambda done: bar.update(1))
    summary = H.summary_json(h, bt)
    if args.out is not None:
        with output_folder(args.out, force=args.force, protect=protect) as tmp:
            _write(h, bt, summary, tmp)
    if args.json:
        print(json.dumps(_jsonable(summary), indent=2, allow_nan=False))
    else:
        _print(summary)
    if args.out is not None:
        print(f"wrote results to {args.out}/", file=sys.stderr)
    return 0


def _validate_skeleton(h: Any) -> None:
    """The skeleton must load as a scenario (inline arrivals stand in for forecast.csv)."""
    from planner.history import forecast_csv
    from sim.scenario import scenario_from_dict

    data = dict(h.skeleton)
    fc = forecast_csv(h)
    data["arrivals"] = {q: fc.loc[fc["queue"] == q, "contacts"].tolist()
                        for q in sorted(fc["queue"].unique())}
    scenario_from_dict(data, source="scenario skeleton")


def _write(h: Any, bt: Any, summary: dict[str, Any], out: Path) -> None:
    from planner.history import forecast_csv
    from planner.history_report import render_html

    def csv(frame: pd.DataFrame, name: str) -> None:
        frame.to_csv(out / name, index=False, date_format="%Y-%m-%dT%H:%M:%S")

    csv(h.intervals, "kpi_intervals.csv")
    csv(h.days, "kpi_days.csv")
    csv(h.period, "kpi_period.csv")
    if not h.agents.empty:
        csv(h.agents, "agent_intervals.csv")
    rows = []
    for q, c in sorted(h.calibration.items()):
        hf, p = c.handle, c.patience
        rows.append({"queue": q, "channel": c.channel, "offered": c.offered,
                     "answered": c.answered, "abandoned": c.abandoned,
                     "handle_family": None if hf is None else hf.family,
                     "handle_mean_s": None if hf is None else hf.mean_s,
                     "handle_mean_s_lo": None if hf is None else hf.mean_s_ci95[0],
                     "handle_mean_s_hi": None if hf is None else hf.mean_s_ci95[1],
                     "handle_cv": None if hf is None else hf.cv,
                     "handle_cv_lo": None if hf is None else hf.cv_ci95[0],
                     "handle_cv_hi": None if hf is None else hf.cv_ci95[1],
                     "handle_ks": None if hf is None else hf.ks, "wrap_s": c.wrap_s,
                     "patience_s": p.patience_s, "patience_s_lo": p.patience_s_ci95[0],
                     "patience_s_hi": p.patience_s_ci95[1],
                     "naive_patience_s": p.naive_patience_s,
                     "overdispersion": c.overdispersion})
    csv(pd.DataFrame(rows), "calibration.csv")
    csv(pd.concat([c.patience.km.assign(queue=q) for q, c in sorted(h.calibration.items())],
                  ignore_index=True)[["queue", "t_s", "survival"]], "patience_km.csv")
    csv(h.transfers, "transfers.csv")
    forecast_csv(h).to_csv(out / "forecast.csv", index=False)
    band = h.forecast.frame.assign(
        interval_start=h.forecast.frame["interval_start"].dt.strftime("%Y-%m-%dT%H:%M"))
    band.rename(columns={"contacts": "base"}).to_csv(out / "forecast_band.csv", index=False)
    csv(h.forecast.error.days, "forecast_errors.csv")
    (out / "cases.txt").write_text(h.forecast.cases() + "\n")
    (out / "scenario.yaml").write_text(
        "# Calibrated from " + h.log.source + " by peakplan history; add or check agent_groups"
        " (or\n# rerun with --roster SCENARIO.yaml), then: peakplan review scenario.yaml "
        f"--cases {h.forecast.cases()}\n"
        + yaml.safe_dump(h.skeleton, sort_keys=False, allow_unicode=True))
    if bt is not None:
        csv(bt.table, "backtest.csv")
        (out / "backtest_scenario.yaml").write_text(
            yaml.safe_dump(bt.scenario, sort_keys=False, allow_unicode=True))
    (out / "summary.json").write_text(json.dumps(_jsonable(summary), indent=2,
                                                 allow_nan=False) + "\n")
    (out / "report.html").write_text(render_html(h, bt), encoding="utf-8")


def _f(x: Any, fmt: str) -> str:
    return "-" if x is None or not math.isfinite(float(x)) else format(float(x), fmt)


def _print(s: dict[str, Any]) -> None:
    print(f"{s['source']}: {s['rows_read']:,} rows read, {s['rows_rejected']:,} rejected, "
          f"{s['phantom']:,} phantom, {s['not_offered']:,} not offered; {s['days']} days "
          f"{s['first_day']} to {s['last_day']}, {s['interval_min']:g}-min intervals")
    for r in s["rejected_first"]:
        print(f"  rejected line {r['line']}: {r['reason']}")
    head = (f"{'queue':<14}{'offered':>9}{'SL':>7}{'aband.':>7}{'ASA s':>7}{'AHT s':>7}  "
            f"{'handle time':<20}{'patience s (95% CI)':<22}{'naive s':>8}{'transf.':>8}")
    print(head)
    for q, r in s["queues"].items():
        ht = r["handle_time"]
        htxt = "-" if ht is None else f"{ht['family']} cv {_f(ht['cv'], '.2f')}"
        lo, hi = r["patience_s_ci95"]
        ptxt = "no abandons" if r["patience_s"] is None or not math.isfinite(
            r["patience_s"]) else f"{r['patience_s']:.0f} ({_f(lo, '.0f')}-{_f(hi, '.0f')})"
        print(f"{q:<14}{r['offered']:>9,}{_f(100 * r['service_level'], '.1f'):>6}%"
              f"{_f(100 * r['abandon_rate'], '.1f'):>6}%{_f(r['asa_s'], '.1f'):>7}"
              f"{_f(r['aht_s'], '.0f'):>7}  {htxt:<20}{ptxt:<22}"
              f"{_f(r['naive_patience_s'], '.0f'):>8}{_f(100 * r['transfer_share'], '.1f'):>7}%")
    fc = s["forecast"]
    print(f"forecast {fc['day']}: {fc['contacts']:,.0f} contacts (low {fc['low']:,.0f}, high "
          f"{fc['high']:,.0f}); review cases {fc['cases']}; method error per interval "
          f"{_f(fc['mae'], '.2f')} vs same day last week {_f(fc['mae_same_day_last_week'], '.2f')}"
          f" over {fc['backtest_days']} days")
    if "backtest" in s:
        b = s["backtest"]
        print(f"backtest {b['day']} ({b['reps']} reps, staffing from {b['staffing_from']}): "
              f"MAE SL {_f(100 * b['mae_service_level'], '.1f')} pts, abandonment "
              f"{_f(100 * b['mae_abandon_rate'], '.1f')} pts, ASA {_f(b['mae_asa_s'], '.1f')} s;"
              f" outside the {100 * b['band_coverage']:.0f}% band: "
              f"{_f(100 * b['outside_band_share'], '.1f')}% of {b['compared']} values")
