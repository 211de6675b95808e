"""Simulations and sweep results for the pages: cached on plain arguments, and tables to show.

Caching: a simulation is keyed on the scenario's YAML text (every edit changes it), the seed and
the number of replications, never on anything global; the same arguments give the same result,
so a cached one is the one the simulator would give again.  The progress bar lives inside the
cached function: on a cache hit Streamlit replays it, already finished and emptied.

Compare: two scenarios run with the same seed and replications use the same random streams in
each replication (common random numbers, see :mod:`sim.replications`), so the difference
replication by replication is mostly the change, not noise; its mean and Student's t interval
over replications come from :func:`sim.metrics.mean_ci`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow
import streamlit as st
import yaml

from sim.errors import InputError
from sim.forecast import Forecast
from planner.staffing import QueuePlan, staffing_table
from sim import metrics
from sim.replications import COMPARED, Simulation, paired_difference, simulate
from sim.scenario import Scenario

from app_pages.inputs import (Upload, read_uploaded_scenario, scenario_from_text,
                               scenario_text)

__all__ = ["staffing", "shipped_scenario_text", "shipped_stamp", "shipped_text",
           "uploaded_scenario_text", "scenario_of", "simulation", "SimTables",
           "simulation_tables", "Compared", "compared", "interval_results", "group_results",
           "misses", "targets_of", "paired_difference",
           "SweepResults", "read_sweep_folder", "read_sweep_summary", "sweep_folders",
           "sweep_intervals", "COMPARED"]

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


@st.cache_data(show_spinner=False, max_entries=16)
def uploaded_scenario_text(name: str, data: bytes, forecast_name: str | None,
                           forecast_data: bytes | None) -> str:
    """An uploaded scenario (with its forecast CSV, if uploaded) as self-contained YAML text."""
    forecast = None if forecast_data is None else Upload(forecast_name or "forecast.csv",
                                                         forecast_data)
    return scenario_text(read_uploaded_scenario(Upload(name, data), forecast))


@st.cache_resource(show_spinner=False, max_entries=64)
def scenario_of(text: str, source: str) -> Scenario:
    """The validated scenario of ``text`` (frozen, so one shared object is safe)."""
    return scenario_from_text(text, source=source)


@st.cache_data(show_spinner=False, max_entries=32)
def simulation(text: str, *, source: str, seed: int, reps: int) -> Simulation:
    """``sim.replications.simulate`` of the scenario written as ``text``, with a progress bar."""
    scenario = scenario_of(text, source)
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
    key paths (``params``, columns of ``summary``), and where it came from."""

    source: str
    summary: pd.DataFrame
    params: tuple[str, ...]
    manifest: dict | None = None
    has_intervals: bool = False


def sweep_folders(root: str | Path = "runs") -> list[str]:
    """Folders under ``root`` holding a sweep's summary.csv, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if (p / "summary.csv").is_file()]
    found.sort(key=lambda p: (p / "summary.csv").stat().st_mtime, reverse=True)
    return [str(p) for p in found]


def _params_of(summary: pd.DataFrame, manifest: dict | None, source: str) -> tuple[str, ...]:
    """The varied key paths: from sweep.json's grid, else the columns between ``point`` and
    ``queue`` (summary.csv puts them there)."""
    cols = list(summary.columns)
    if manifest and isinstance(manifest.get("grid"), list):
        params = tuple(str(g[0]) for g in manifest["grid"] if g and str(g[0]) in cols)
        if params:
            return params
    if "point" not in cols or "queue" not in cols or cols.index("queue") < cols.index("point"):
        raise InputError("not a sweep summary (expected the summary.csv of peakplan sweep: "
                         f"columns point, the varied key paths, queue, service_level, ...; "
                         f"found {', '.join(map(str, cols[:8])) or 'none'})", file=source)
    return tuple(cols[cols.index("point") + 1:cols.index("queue")])


def _check_summary(summary: pd.DataFrame, source: str) -> None:
    needed = ["point", "queue", "service_level"]
    missing = [c for c in needed if c not in summary.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} (expected the summary.csv of "
                         "peakplan sweep)", file=source)


def read_sweep_summary(data: bytes, *, name: str) -> SweepResults:
    """An uploaded summary.csv."""
    try:
        summary = pd.read_csv(io.BytesIO(data))
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"not a readable CSV ({first})", file=name) from None
    _check_summary(summary, name)
    return SweepResults(source=name, summary=summary, params=_params_of(summary, None, name))


@st.cache_data(show_spinner=False, max_entries=16)
def _read_folder(path: str, stamp: float) -> SweepResults:
    folder = Path(path)
    summary_csv = folder / "summary.csv"
    try:
        summary = pd.read_csv(summary_csv)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"not a readable CSV ({first})", file=summary_csv) from None
    _check_summary(summary, str(summary_csv))
    manifest = None
    if (folder / "sweep.json").is_file():
        try:
            manifest = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = None
    return SweepResults(source=str(folder), summary=summary,
                        params=_params_of(summary, manifest, str(summary_csv)),
                        manifest=manifest if isinstance(manifest, dict) else None,
                        has_intervals=(folder / "intervals").is_dir())


def read_sweep_folder(path: str | Path) -> SweepResults:
    """The output folder of ``peakplan sweep`` (cached until its summary.csv changes)."""
    folder = Path(str(path).strip()).expanduser()
    if not str(path).strip():
        raise InputError("no folder given (expected the --out folder of peakplan sweep)")
    if not folder.is_dir():
        raise InputError("not a folder (expected the --out folder of peakplan sweep)",
                         file=folder)
    summary_csv = folder / "summary.csv"
    if not summary_csv.is_file():
        raise InputError("no summary.csv here: not the output folder of peakplan sweep, or a "
                         "sweep that has not finished (run the same command again to finish "
                         "it)", file=folder)
    return _read_folder(str(folder.resolve()), summary_csv.stat().st_mtime)


@st.cache_data(show_spinner=False, max_entries=8)
def sweep_intervals(path: str, stamp: float, point: int) -> pd.DataFrame:
    """One point's per-interval results (intervals/ Parquet): mean and 95% half-width over
    replications, per interval and queue.  An unreadable folder, or a point without results
    (a sweep stopped early, files deleted), is an :class:`InputError` naming both."""
    folder = Path(path) / "intervals"
    try:
        frame = pd.read_parquet(folder, filters=[("point", "==", int(point))])
    except (pyarrow.ArrowException, OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"no per-interval results readable for point {point} ({first}; "
                         "expected the Parquet files peakplan sweep writes)",
                         file=folder) from None
    if frame.empty:
        raise InputError(f"no per-interval results for point {point} (expected its Parquet "
                         f"files p{int(point):05d}-r*.parquet: run the same peakplan sweep "
                         "command again to finish it)", file=folder)
    frame = frame.drop(columns=[c for c in frame.columns if c not in metrics.QUEUE_COLUMNS
                                and c not in ("rep", "interval_start")])
    out = metrics.mean_ci(frame.drop(columns="interval_start"), keys=["interval", "queue"])
    starts = frame.drop_duplicates("interval").set_index("interval")["interval_start"]
    out.insert(1, "interval_start", out["interval"].map(starts))
    return out
