"""Simulations and sweep results for the pages: cached on plain arguments, and tables to show.

Caching: a simulation is keyed on the scenario's YAML text (every edit changes it), the seed and
the number of replications, never on anything global; the same arguments give the same result,
so a cached one is the one the simulator would give again.  The progress bar lives inside the
cached function: on a cache hit Streamlit replays it, already finished and emptied.

Compare: two scenarios run with the same seed and replications use the same random streams in
each replication (common random numbers, see :mod:`sim.replications`), so the difference
replication by replication is mostly the change, not noise; its mean and Student's t interval
over replications come from :func:`sim.metrics.mean_ci`.

Uploads are read in a child process with a time limit (:mod:`app_pages.bounded`), once per
file: a refusal is cached like a result, so a rerun of the page (any widget changed) does not
read a bad file, or wait out its time limit, again.  Runs are refused before they start when
:func:`sim.scenario.check_run_size` finds them beyond the command line's limits.  Sweep folders
are opened only inside the workspace (:mod:`app_pages.workspace`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow
import streamlit as st
import yaml

from sim.errors import InputError
from sim.forecast import Forecast
from planner.staffing import QueuePlan, staffing_table
from sim import metrics
from sim.replications import COMPARED, Simulation, paired_difference, simulate
from sim.scenario import Scenario, check_run_size

from app_pages import bounded, inputs, roster, workspace
from app_pages.inputs import Upload, scenario_from_text, scenario_text

__all__ = ["staffing", "shipped_scenario_text", "shipped_stamp", "shipped_text",
           "uploaded_scenario_text", "uploaded_forecast", "uploaded_targets", "scenario_of",
           "check_run", "simulation", "SimTables",
           "simulation_tables", "Compared", "compared", "interval_results", "group_results",
           "misses", "targets_of", "paired_difference",
           "SweepResults", "read_sweep_folder", "read_sweep_summary", "sweep_folders",
           "sweep_intervals", "COMPARED", "coverage", "effect", "summary_difference",
           "judged", "miss_counts", "MIN_CONTACTS", "callback_queues", "redial_queues",
           "callback_kpis", "redial_kpis", "CALLBACK_COLUMNS", "REDIAL_COLUMNS",
           "CALLBACK_NOTE", "REDIAL_NOTE"]

MIN_CONTACTS = 5.0  # intervals with fewer contacts are too small to judge (the review's rule)
# Call-back and redial measures the pages show (over the horizon, per queue), as
# `peakplan simulate` prints them: kept as a share of those accepted.
CALLBACK_COLUMNS = ("callbacks_offered", "callbacks_accepted", "callbacks_made",
                    "callbacks_kept_share", "callback_delay_s")
REDIAL_COLUMNS = ("customers", "redials")
CALLBACK_NOTE = ("Accepted call-backs are out of SL and abandonment: a caller who accepts "
                 "leaves the queue for the call-back list, still counted in offered, but in "
                 "neither service level, abandonment nor ASA (SL = answered within target / "
                 "(offered - call-backs accepted)). Kept: called back within the promise.")
REDIAL_NOTE = ("Redials are counted in offered, and in SL, abandonment and ASA, like any call; "
               "customers are the first calls (offered, less redials and transfers in).")

T = TypeVar("T")

# Per-interval measures the Compare page offers (column of sim.metrics.QUEUE_COLUMNS: label).


def staffing(forecast: Forecast, plans: dict[str, QueuePlan]) -> pd.DataFrame:
    """:func:`planner.staffing.staffing_table`, cached on the forecast's table and the plans."""
    return _staffing(forecast.frame, forecast.interval_min, forecast.source,
                     tuple((q, p.model_dump_json()) for q, p in sorted(plans.items())))


@st.cache_data(show_spinner=False, max_entries=32)
def _staffing(frame: pd.DataFrame, interval_min: float, source: str,
              plans: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    forecast = Forecast(frame=frame, interval_min=interval_min, source=source)
    return staffing_table(forecast, {q: QueuePlan.model_validate_json(p) for q, p in plans})


@st.cache_data(show_spinner=False, max_entries=16)
def shipped_scenario_text(path: str, stamp: tuple) -> str:
    """A shipped scenario file (and its forecast) as self-contained YAML text; ``stamp`` (see
    :func:`shipped_stamp`) makes an edited file, or an edited forecast, load again."""
    from sim.scenario import load_scenario

    return scenario_text(load_scenario(path))


def shipped_stamp(path: str | Path) -> tuple:
    """Modification time and size of a scenario file and of the forecast its
    ``arrivals.file`` names (load_scenario reads both): a change to either changes the stamp."""
    path = Path(path)

    def of(p: Path) -> tuple:
        try:
            st_ = p.stat()
        except OSError:
            return (str(p), None, None)
        return (str(p), st_.st_mtime_ns, st_.st_size)

    stamp = [of(path)]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        data = None  # load_scenario reports it
    arrivals = data.get("arrivals") if isinstance(data, dict) else None
    file = arrivals.get("file") if isinstance(arrivals, dict) else None
    if isinstance(file, str) and file:
        stamp.append(of(path.parent / file))
    return tuple(stamp)


def shipped_text(path: str | Path) -> str:
    """:func:`shipped_scenario_text`, loaded again when the file or its forecast changes."""
    return shipped_scenario_text(str(path), shipped_stamp(path))


@dataclass(frozen=True)
class _Refused:
    """An upload's InputError, as a value a cached function can return (and so remember)."""

    problem: str
    file: str | None
    field: str | None


def _read_bounded(fn: Callable[..., T], *args: Any, what: str, **kwargs: Any) -> T | _Refused:
    """``bounded.call``, with an InputError returned as :class:`_Refused` (to be cached)
    except :class:`bounded.Busy`, which says nothing about the file."""
    try:
        return bounded.call(fn, *args, what=what, **kwargs)
    except bounded.Busy:
        raise
    except InputError as exc:
        return _Refused(exc.problem, exc.file, exc.field)


def _raise_refused(outcome: T | _Refused) -> T:
    if isinstance(outcome, _Refused):
        raise InputError(outcome.problem, file=outcome.file, field=outcome.field)
    return outcome


def uploaded_scenario_text(name: str, data: bytes, forecast_name: str | None,
                           forecast_data: bytes | None) -> str:
    """An uploaded scenario (with its forecast CSV, if uploaded) as self-contained YAML text,
    validated in a child process with a time limit."""
    scenario = Upload(name, data)
    forecast = None if forecast_data is None else Upload(forecast_name or "forecast.csv",
                                                         forecast_data)
    for up in (scenario, forecast):
        if up is not None:
            up.check_size()
    return _raise_refused(_uploaded_scenario_text(name, data, forecast_name, forecast_data))


@st.cache_data(show_spinner="Reading the upload...", max_entries=16)
def _uploaded_scenario_text(name: str, data: bytes, forecast_name: str | None,
                            forecast_data: bytes | None) -> str | _Refused:
    forecast = None if forecast_data is None else Upload(forecast_name or "forecast.csv",
                                                         forecast_data)
    return _read_bounded(inputs.uploaded_scenario_text, Upload(name, data), forecast,
                         what=inputs.uploaded_name(name))


def uploaded_forecast(upload: Upload, *, interval_min: float | None = None) -> Forecast:
    """An uploaded forecast CSV (:func:`inputs.read_uploaded_forecast`), read in a child
    process with a time limit."""
    upload.check_size()
    return _raise_refused(_uploaded_forecast(upload.name, upload.data, interval_min))


@st.cache_data(show_spinner="Reading the upload...", max_entries=16)
def _uploaded_forecast(name: str, data: bytes, interval_min: float | None
                       ) -> Forecast | _Refused:
    return _read_bounded(inputs.read_uploaded_forecast, Upload(name, data),
                         interval_min=interval_min, what=inputs.uploaded_name(name))


def uploaded_targets(upload: Upload) -> dict[str, QueuePlan]:
    """An uploaded targets YAML (:func:`inputs.read_uploaded_targets`), read in a child
    process with a time limit."""
    upload.check_size()
    return _raise_refused(_uploaded_targets(upload.name, upload.data))


@st.cache_data(show_spinner="Reading the upload...", max_entries=16)
def _uploaded_targets(name: str, data: bytes) -> dict[str, QueuePlan] | _Refused:
    return _read_bounded(inputs.read_uploaded_targets, Upload(name, data),
                         what=inputs.uploaded_name(name))


@st.cache_resource(show_spinner=False, max_entries=64)
def scenario_of(text: str, source: str) -> Scenario:
    """The validated scenario of ``text`` (frozen, so one shared object is safe)."""
    return scenario_from_text(text, source=source)


def check_run(text: str, source: str, *, reps: int) -> None:
    """Refuse a run beyond the command line's limits (:func:`sim.scenario.check_run_size`:
    contacts over all replications, replications) before it starts; cheap, so the pages call
    it before every (possibly cached) run."""
    check_run_size(scenario_of(text, source), reps=reps, where="replications")


@st.cache_data(show_spinner=False, max_entries=32)
def simulation(text: str, *, source: str, seed: int, reps: int) -> Simulation:
    """``sim.replications.simulate`` of the scenario written as ``text``, with a progress bar."""
    scenario = scenario_of(text, source)
    check_run(text, source, reps=reps)  # the pages check first; this is for any other caller
    bar = st.progress(0.0, text=f"Simulating {scenario.spec.name}: 0 of {reps} replications")

    def progress(done: int) -> None:
        bar.progress(done / reps, text=f"Simulating {scenario.spec.name}: {done} of {reps} "
                                       "replications")

    result = simulate(scenario, seed=seed, reps=reps, progress=progress)
    bar.empty()
    return result


@dataclass(frozen=True)
class SimTables:
    """What the Scenario page shows of a simulation, computed once per (text, seed, reps):
    ``intervals`` (:func:`interval_results`), ``groups`` (:func:`group_results`),
    ``summary`` (queue summary with the queues' targets), ``group_summary``."""

    queues: tuple[str, ...]
    seed: int
    reps: int
    intervals: pd.DataFrame
    groups: pd.DataFrame
    summary: pd.DataFrame
    group_summary: pd.DataFrame


@st.cache_data(show_spinner=False, max_entries=32)
def simulation_tables(text: str, *, source: str, seed: int, reps: int) -> SimTables:
    """The tables of :func:`simulation`, cached so that a widget changed after a run is
    instant."""
    sim = simulation(text, source=source, seed=seed, reps=reps)
    summary = sim.queue_summary().merge(targets_of(sim.scenario), on="queue", how="left")
    return SimTables(queues=tuple(sim.scenario.queues), seed=sim.seed, reps=sim.reps,
                     intervals=interval_results(sim), groups=group_results(sim),
                     summary=summary, group_summary=sim.group_summary())


@dataclass(frozen=True)
class Compared:
    """What the Compare page shows: each side's queue summary and the paired difference."""

    summary_a: pd.DataFrame
    summary_b: pd.DataFrame
    difference: pd.DataFrame


@st.cache_data(show_spinner=False, max_entries=16)
def compared(text_a: str, source_a: str, text_b: str, source_b: str, *, seed: int,
             reps: int) -> Compared:
    """Both simulations with the same seed and replications, and their paired difference."""
    sim_a = simulation(text_a, source=source_a, seed=seed, reps=reps)
    sim_b = simulation(text_b, source=source_b, seed=seed, reps=reps)
    return Compared(summary_a=sim_a.queue_summary(), summary_b=sim_b.queue_summary(),
                    difference=paired_difference(sim_a, sim_b))


@st.cache_data(show_spinner="Erlang requirement and roster...", max_entries=32)
def coverage(text: str, source: str) -> roster.Coverage:
    """:func:`app_pages.roster.coverage` of the scenario written as ``text``."""
    return roster.coverage(scenario_of(text, source))


def summary_difference(sim_a: Simulation, sim_b: Simulation) -> pd.DataFrame:
    """B - A over the horizon per queue (and ``all``), replication by replication (common
    random numbers), mean and 95% half-width: service level and abandon rate in percentage
    points (``*_pp``), ASA in seconds, abandoned and answered contacts."""
    keys = ["rep", "queue"]
    cols = ["service_level", "abandon_rate", "asa_s", "abandoned", "answered", "occupancy"]
    a = sim_a.queue_reps[keys + cols]
    b = sim_b.queue_reps[keys + cols]
    both = a.merge(b, on=keys, suffixes=("_a", "_b"))
    diff = both[keys].copy()
    for c in cols:
        name = f"{c}_pp" if c in ("service_level", "abandon_rate", "occupancy") else c
        scale = 100.0 if name.endswith("_pp") else 1.0
        diff[name] = scale * (both[f"{c}_b"] - both[f"{c}_a"])
    out = metrics.mean_ci(diff, keys=["queue"])
    for c in ("service_level_pp", "abandon_rate_pp", "occupancy_pp"):
        # The difference of two shares lies in [-100, 100] pp: so does its interval.
        lo = (out[c] - out[f"{c}_ci95"]).clip(lower=-100.0)
        hi = (out[c] + out[f"{c}_ci95"]).clip(upper=100.0)
        out[f"{c}_ci95"] = np.maximum(out[c] - lo, hi - out[c])
    return out


@st.cache_data(show_spinner=False, max_entries=16)
def effect(text_a: str, source_a: str, text_b: str, source_b: str, *, seed: int,
           reps: int) -> pd.DataFrame:
    """:func:`summary_difference` of two simulations with the same seed and replications."""
    return summary_difference(simulation(text_a, source=source_a, seed=seed, reps=reps),
                              simulation(text_b, source=source_b, seed=seed, reps=reps))


def callback_queues(scenario: Scenario) -> list[str]:
    """The queues that offer call-backs (``callback:``), in the scenario's order."""
    return [q for q in scenario.queues if scenario.spec.queues[q].callback is not None]


def redial_queues(scenario: Scenario) -> list[str]:
    """The queues whose customers redial after abandoning (``redial:``)."""
    return [q for q in scenario.queues if scenario.spec.queues[q].redial is not None]


def callback_kpis(row: pd.Series) -> dict[str, float]:
    """Call-back measures of one row of a queue summary (means over replications): offered,
    accepted, made, ``callbacks_kept_share`` (kept within the promise / accepted, NaN when
    none was accepted: ``peakplan simulate``'s figure) and the mean delay, with its 95%
    half-width.  NaN throughout for a row without call-backs (a scenario without them)."""
    def get(column: str) -> float:
        value = row.get(column)
        return float(value) if value is not None and pd.notna(value) else float("nan")

    accepted = get("callbacks_accepted")
    return {"callbacks_offered": get("callbacks_offered"), "callbacks_accepted": accepted,
            "callbacks_made": get("callbacks_made"),
            "callbacks_kept_share": metrics.kept_share(row),
            "callback_delay_s": get("callback_delay_s"),
            "callback_delay_s_ci95": get("callback_delay_s_ci95")}


def redial_kpis(row: pd.Series) -> dict[str, float]:
    """Redial measures of one row of a queue summary: ``customers`` (first calls) and
    ``redials`` (means over replications); NaN for a row without redials."""
    return {c: float(row[c]) if c in row.index and pd.notna(row[c]) else float("nan")
            for c in REDIAL_COLUMNS}


def judged(frame: pd.DataFrame, scenario: Scenario) -> pd.Series:
    """Rows of :func:`interval_results` big enough to judge: at least :data:`MIN_CONTACTS`
    contacts forecast for the queue in the interval (arrivals, not the simulated offered,
    so the set is the same in every run), after the warm-up."""
    contacts = pd.Series(
        scenario.contacts.reshape(-1),
        index=pd.MultiIndex.from_product([list(scenario.queues),
                                          range(scenario.n_intervals)]))
    forecast = contacts.reindex(list(zip(frame["queue"], frame["interval"]))).to_numpy()
    first = int(np.ceil(scenario.spec.warmup_min / scenario.spec.interval_min - 1e-9))
    return pd.Series((forecast >= MIN_CONTACTS) & (frame["interval"].to_numpy() >= first),
                     index=frame.index)


def miss_counts(frame: pd.DataFrame, scenario: Scenario) -> dict[str, int]:
    """Intervals (time slots) in which at least one queue misses a target on the mean over
    replications (``missing``), of the intervals judged (``judged``: some queue with at least
    :data:`MIN_CONTACTS` contacts forecast); ``sure``: those where the miss is clear, the 95%
    interval of the service level wholly below target; ``cells``: interval x queue misses."""
    ok = judged(frame, scenario)
    miss = frame["miss"] & ok
    sure = miss & ((frame["service_level"] + frame["service_level_ci95"].fillna(0.0))
                   < frame["target"])
    return {"missing": int(frame.loc[miss, "interval"].nunique()),
            "judged": int(frame.loc[ok, "interval"].nunique()),
            "sure": int(frame.loc[sure, "interval"].nunique()),
            "cells": int(miss.sum())}


def targets_of(scenario: Scenario) -> pd.DataFrame:
    """Per queue: ``target`` (service level), ``within_s``, ``max_asa_s``, ``max_abandon``."""
    rows = []
    for q in scenario.queues:
        t = scenario.spec.queues[q].target
        rows.append({"queue": q, "target": t.service_level,
                     "within_s": t.within_s, "max_asa_s": t.max_asa_s,
                     "max_abandon": t.max_abandon})
    # None (no such target) as NaN: comparisons with it are then simply False.
    return pd.DataFrame(rows).astype({"queue": object, "target": float, "within_s": float,
                                      "max_asa_s": float, "max_abandon": float})


def misses(frame: pd.DataFrame, scenario: Scenario) -> pd.Series:
    """Intervals (rows of :func:`interval_results`) whose mean misses a target of the queue
    (:func:`sim.metrics.target_deficit`).  Intervals without contacts miss nothing."""
    targets = {q: scenario.spec.queues[q].target for q in scenario.queues}
    return (metrics.target_deficit(frame, targets) > 0) & (frame["offered"] > 0)


def interval_results(sim: Simulation) -> pd.DataFrame:
    """Per interval and queue: the mean and 95% half-width over replications of every measure,
    the interval's start in the scenario's time, the queue's targets and ``miss``."""
    frame = sim.queue_interval_summary()
    starts = sim.scenario.interval_starts
    frame.insert(1, "interval_start", starts[frame["interval"].to_numpy()])
    frame = frame.merge(targets_of(sim.scenario), on="queue", how="left")
    frame["miss"] = misses(frame, sim.scenario)
    return frame


def group_results(sim: Simulation) -> pd.DataFrame:
    """Per interval and agent group: mean and 95% half-width of occupancy, agents..."""
    frame = sim.group_interval_summary()
    starts = sim.scenario.interval_starts
    frame.insert(1, "interval_start", starts[frame["interval"].to_numpy()])
    return frame


# --------------------------------------------------------------------------------------------
# Sweeps (the output folder of `peakplan sweep`, see planner.sweep)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepResults:
    """What the Sweeps page shows: ``summary`` (summary.csv: per point and queue), the varied
    key paths (``params``, columns of ``summary``), and where it came from: ``source`` as
    messages name it (``runs/grid``, or the uploaded file's name) and, for a folder of the
    workspace, the ``folder`` itself (symbolic links resolved)."""

    source: str
    summary: pd.DataFrame
    params: tuple[str, ...]
    manifest: dict | None = None
    has_intervals: bool = False
    folder: Path | None = None


def sweep_folders() -> list[str]:
    """The sweep folders of the workspace by name, newest first
    (:func:`app_pages.workspace.sweep_folders`)."""
    return workspace.sweep_folders()


def _params_of(summary: pd.DataFrame, manifest: dict | None, source: str) -> tuple[str, ...]:
    """The varied key paths: from sweep.json's grid, else the columns between ``point`` and
    ``queue`` (summary.csv puts them there)."""
    cols = list(summary.columns)
    if manifest and isinstance(manifest.get("grid"), list):
        params = tuple(str(g[0]) for g in manifest["grid"]
                       if isinstance(g, list) and g and str(g[0]) in cols)
        if params:
            return params
    if "point" not in cols or "queue" not in cols or cols.index("queue") < cols.index("point"):
        raise InputError("not a sweep summary (expected the summary.csv of peakplan sweep: "
                         f"columns point, the varied key paths, queue, service_level, ...; "
                         f"found {', '.join(map(str, cols[:8])) or 'none'})", file=source)
    return tuple(cols[cols.index("point") + 1:cols.index("queue")])


def read_sweep_summary(data: bytes, *, name: str) -> SweepResults:
    """An uploaded summary.csv, read in a child process with a time limit."""
    upload = Upload(name, data)
    upload.check_size()
    summary = _raise_refused(_uploaded_summary(name, data))
    source = inputs.uploaded_name(name)
    return SweepResults(source=source, summary=summary,
                        params=_params_of(summary, None, source))


@st.cache_data(show_spinner="Reading the upload...", max_entries=8)
def _uploaded_summary(name: str, data: bytes) -> pd.DataFrame | _Refused:
    return _read_bounded(inputs.read_uploaded_summary, Upload(name, data),
                         what=inputs.uploaded_name(name))


@st.cache_data(show_spinner=False, max_entries=16)
def _read_folder(path: str, stamp: float) -> SweepResults:
    folder = Path(path)
    shown = workspace.shown(folder)
    summary_csv = folder / "summary.csv"
    summary = inputs.read_summary_csv(summary_csv, source=f"{shown}/summary.csv")
    manifest = None
    sweep_json = folder / "sweep.json"
    if sweep_json.is_file() and workspace.inside(sweep_json):
        try:
            manifest = json.loads(sweep_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = None
    intervals = folder / "intervals"
    return SweepResults(source=shown, summary=summary,
                        params=_params_of(summary, manifest, f"{shown}/summary.csv"),
                        manifest=manifest if isinstance(manifest, dict) else None,
                        has_intervals=intervals.is_dir() and workspace.inside(intervals),
                        folder=folder)


def read_sweep_folder(typed: str) -> SweepResults:
    """The output folder of ``peakplan sweep`` named ``typed`` in the workspace (see
    :func:`app_pages.workspace.resolve` for what is refused), cached until its summary.csv
    changes."""
    folder = workspace.resolve(typed)
    summary_csv = folder / "summary.csv"
    if not (summary_csv.is_file() and workspace.inside(summary_csv)):
        raise InputError("no summary.csv here: not the output folder of peakplan sweep, or a "
                         "sweep that has not finished (run the same command again to finish "
                         "it)", file=workspace.shown(folder))
    return _read_folder(str(folder), summary_csv.stat().st_mtime)


@st.cache_data(show_spinner=False, max_entries=8)
def sweep_intervals(path: str, stamp: float, point: int) -> pd.DataFrame:
    """One point's per-interval results (intervals/ Parquet): mean and 95% half-width over
    replications, per interval and queue.  An unreadable folder, or a point without results
    (a sweep stopped early, files deleted), is an :class:`InputError` naming both."""
    folder = Path(path) / "intervals"
    shown = workspace.shown(folder)
    # Every file read must be the workspace's: a link in intervals/ may lead anywhere.
    outside = [f for f in folder.rglob("*") if not workspace.inside(f)] \
        if folder.is_dir() else []
    if outside:
        raise InputError(f"{len(outside)} file(s) leading out of the workspace, not read "
                         f"(expected the Parquet files peakplan sweep writes)", file=shown)
    try:
        frame = pd.read_parquet(folder, filters=[("point", "==", int(point))])
    except (pyarrow.ArrowException, OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        first = first.replace(str(workspace.root()) + "/", workspace.label())  # no server paths
        raise InputError(f"no per-interval results readable for point {point} ({first}; "
                         "expected the Parquet files peakplan sweep writes)",
                         file=shown) from None
    if frame.empty:
        raise InputError(f"no per-interval results for point {point} (expected its Parquet "
                         f"files p{int(point):05d}-r*.parquet: run the same peakplan sweep "
                         "command again to finish it)", file=shown)
    frame = frame.drop(columns=[c for c in frame.columns if c not in metrics.QUEUE_COLUMNS
                                and c not in ("rep", "interval_start")])
    out = metrics.mean_ci(frame.drop(columns="interval_start"), keys=["interval", "queue"])
    starts = frame.drop_duplicates("interval").set_index("interval")["interval_start"]
    out.insert(1, "interval_start", out["interval"].map(starts))
    return out
