"""Sweeps: many variants of a scenario (a grid of values), replicated, in parallel, resumable.

A sweep varies numbers of the scenario by key path (``agent_groups.gold.shifts[0].agents``,
``arrivals.scale``, ``queues.presales.aht_s``) over a grid; every *point* of the grid is run
for replications ``0 .. reps-1``.  Replication ``r`` uses the same random streams at every point
(common random numbers), so differences between points are the points', not noise.

Work is split into tasks (point x replication).  Each task writes its results as Parquet files
under ``OUT`` (atomically: a temporary name, then a rename, so a half-written file is never
taken for a result); a task is done when its last file exists.  Running the same sweep again
computes only the missing tasks.  ``OUT/sweep.json`` records what the results were made from
(the scenario's content, the grid, the seed); a changed scenario or grid under the same ``OUT``
is refused unless ``force``.

Layout of ``OUT``:

* ``intervals/``: one row per point, replication, interval and queue (the columns of
  :data:`sim.metrics.QUEUE_COLUMNS`, plus ``point``, ``rep``, ``interval_start`` and one column
  per varied key path): a Parquet dataset, ``pandas.read_parquet(OUT / "intervals")``;
* ``groups/``: the same per agent group (:data:`sim.metrics.GROUP_COLUMNS`);
* ``reps/`` and ``group_reps/``: whole-horizon figures of each point and replication;
* ``summary.csv`` and ``group_summary.csv``: per point, the mean and 95% confidence interval
  over replications, and whether each queue meets its targets.

Executors: the tasks run in this process (``jobs=1``), in local worker processes (``jobs>1``),
or on a Dask cluster (``dask_address``); the results are the same for the same seed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.executor import Executor, WorkerDied
from sim.errors import InputError
from sim.files import load_yaml
from sim import metrics
from sim.replications import rep_summaries, run_rep
from sim.scenario import Scenario

__all__ = ["Axis", "Point", "parse_vary", "parse_values", "read_grid", "build_points",
           "Sweep", "SweepInterrupted", "run_sweep", "sweep_summary"]

MANIFEST = "sweep.json"
# The task's files, written in this order: the last one marks the task done.
_PARTS = ("intervals", "groups", "group_reps", "reps")
_RANGE = re.compile(r"^\s*(-?[\d.eE+-]+)\s*\.\.\s*(-?[\d.eE+-]+)\s*(?::\s*([\d.eE+-]+))?\s*$")


# --------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Axis:
    """One varied key path and its values."""

    path: str
    values: tuple[float | int, ...]

    def __post_init__(self) -> None:
        # One type per key path, all floats as soon as one value is: '1,1.5' would otherwise
        # be an int64 column in some Parquet files and a double in others, which
        # pandas.read_parquet(OUT / "intervals") refuses to combine.
        if any(isinstance(v, float) for v in self.values):
            object.__setattr__(self, "values", tuple(float(v) for v in self.values))


@dataclass(frozen=True)
class Point:
    """One variant: its index, the values it sets, and the validated scenario."""

    index: int
    params: dict[str, float | int]
    scenario: Scenario = field(repr=False)


def _number(text: str, *, where: str) -> float | int:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{text!r} is not a number", field=where) from None
    if not math.isfinite(value):
        raise InputError(f"{text!r} is not a finite number", field=where)
    return value


def parse_values(text: str, *, where: str = "--vary") -> tuple[float | int, ...]:
    """``'8..16:2'`` (inclusive range, step 1 by default) or ``'1.0,1.2,1.5'``."""
    m = _RANGE.match(text)
    if m:
        lo, hi = _number(m.group(1), where=where), _number(m.group(2), where=where)
        step = _number(m.group(3), where=where) if m.group(3) else 1
        if step <= 0:
            raise InputError(f"the step of {text!r} must be positive", field=where)
        if hi < lo:
            raise InputError(f"{text!r} ends before it starts", field=where)
        count = int(math.floor((hi - lo) / step + 1e-9)) + 1
        if count > 10_000:
            raise InputError(f"{text!r} has {count:,} values (at most 10,000)", field=where)
        values = [lo + i * step for i in range(count)]
        if all(isinstance(v, int) for v in (lo, hi, step)):
            return tuple(int(v) for v in values)
        return tuple(round(float(v), 12) for v in values)
    parts = [p for p in text.split(",")]
    if not parts or any(not p.strip() for p in parts):
        raise InputError(f"expected values as 'a..b:step' or 'a,b,c', got {text!r}",
                         field=where)
    return tuple(_number(p, where=where) for p in parts)


def parse_vary(text: str) -> Axis:
    """``KEY=VALUES`` from the command line."""
    if "=" not in text:
        raise InputError(f"expected KEY=VALUES (e.g. arrivals.scale=1.0,1.2), got {text!r}",
                         field="--vary")
    path, values = text.split("=", 1)
    path = path.strip()
    if not path:
        raise InputError(f"no key path before '=' in {text!r}", field="--vary")
    return Axis(path=path, values=parse_values(values, where=f"--vary {path}"))


def read_grid(path: str | Path) -> tuple[list[Axis], dict[str, Any]]:
    """A sweep described in YAML, for repeatable reviews::

        vary:
          agent_groups.gold.shifts[0].agents: 8..16:2     # a range ...
          arrivals.scale: [1.0, 1.2, 1.5]                 # ... or a list
        reps: 20          # optional: defaults for the command's flags
        seed: 7

    Returns the axes and the options given (``reps``, ``seed``).
    """
    data = load_yaml(path)
    unknown = sorted(set(data) - {"vary", "reps", "seed"})
    if unknown:
        raise InputError("unknown key (expected vary, reps, seed)", file=path,
                         field=unknown[0])
    vary = data.get("vary")
    if not isinstance(vary, dict) or not vary:
        raise InputError("expected a mapping of key paths to values", file=path, field="vary")
    axes = []
    for key, values in vary.items():
        where = f"vary.{key}"
        try:
            if isinstance(values, str):
                parsed = parse_values(values, where=where)
            elif isinstance(values, list) and values:
                parsed = tuple(_number(str(v), where=where) if not isinstance(v, bool)
                               else _bad_bool(where) for v in values)
            elif isinstance(values, (int, float)) and not isinstance(values, bool):
                parsed = (values,)
            else:
                raise InputError("expected a list of numbers or a range 'a..b:step'",
                                 field=where)
        except InputError as exc:
            raise InputError(exc.problem, file=path, field=exc.field) from None
        axes.append(Axis(path=str(key), values=parsed))
    options = {}
    for key in ("reps", "seed"):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < (
                    1 if key == "reps" else 0):
                raise InputError(f"expected a whole number{' >= 1' if key == 'reps' else ''}"
                                 f", got {value!r}", file=path, field=key)
            options[key] = value
    return axes, options


def _bad_bool(where: str) -> float:
    raise InputError("expected a number, got a true/false value", field=where)


def build_points(base: Scenario, axes: Sequence[Axis]) -> list[Point]:
    """Every combination of the axes' values, each validated as a scenario now, so that an
    unknown path or a rejected value is reported before anything runs."""
    paths = [a.path for a in axes]
    if len(set(paths)) != len(paths):
        dup = next(p for p in paths if paths.count(p) > 1)
        raise InputError("is varied twice", field=dup)
    points = []
    for i, combo in enumerate(itertools.product(*(a.values for a in axes))):
        params = dict(zip(paths, combo))
        try:
            scenario = base.with_changes(params)
        except InputError as exc:
            shown = ", ".join(f"{k}={v}" for k, v in params.items())
            raise InputError(f"{exc.problem} (at {shown})", file=exc.file,
                             field=exc.field) from None
        points.append(Point(index=i, params=params, scenario=scenario))
    return points


# --------------------------------------------------------------------------------------------
# The store under OUT
# --------------------------------------------------------------------------------------------
def _fingerprint(base: Scenario, axes: Sequence[Axis], seed: int, crn: bool) -> dict[str, Any]:
    content = json.dumps(base.to_dict(), sort_keys=True, default=str)
    return {"format": 1,
            "scenario": base.spec.name,
            "scenario_sha256": hashlib.sha256(content.encode()).hexdigest(),
            "grid": [[a.path, list(a.values)] for a in axes],
            "seed": int(seed),
            "common_random_numbers": bool(crn)}


def _task_name(point: int, rep: int) -> str:
    return f"p{point:05d}-r{rep:04d}.parquet"


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _prepare_out(out: Path, fingerprint: dict[str, Any], *, force: bool) -> None:
    """Create OUT or check that it holds results of this very sweep."""
    manifest = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", file=out, field="--out")
    if manifest.exists():
        try:
            old = json.loads(manifest.read_text())
        except (OSError, json.JSONDecodeError):
            old = None
        if old != fingerprint:
            if not force:
                changed = ("the scenario" if old is None or old.get("scenario_sha256") !=
                           fingerprint["scenario_sha256"] else "the grid, seed or seeding")
                raise InputError(f"holds results of another sweep ({changed} changed); use a "
                                 "new --out, or --force to discard those results", file=out,
                                 field="--out")
            for part in _PARTS:
                shutil.rmtree(out / part, ignore_errors=True)
            for name in ("summary.csv", "group_summary.csv"):
                (out / name).unlink(missing_ok=True)
    elif out.is_dir() and any(out.iterdir()):
        # Never write into a folder of the user's that is not a sweep of ours.
        raise InputError("is not empty and holds no sweep; choose a new folder", file=out,
                         field="--out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for part in _PARTS:
            (out / part).mkdir(exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot be created ({exc.strerror or exc})", file=out,
                         field="--out") from None
    tmp = out / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(fingerprint, indent=2))
    os.replace(tmp, manifest)


def _done(out: Path, point: int, rep: int) -> bool:
    return (out / _PARTS[-1] / _task_name(point, rep)).exists()


def _count_done(out: Path, points: Sequence[Point], reps: int) -> int:
    """Finished tasks on disk: the truth after an interrupt, unlike progress ticks, which miss
    tasks finished but not yet reported (a Ctrl-C between a task's last file and its tick;
    tasks already handed to worker processes)."""
    return sum(_done(out, p.index, r) for p in points for r in range(reps))


# --------------------------------------------------------------------------------------------
# One task
# --------------------------------------------------------------------------------------------
def _run_task(scenario: Scenario, params: dict[str, Any], point: int, rep: int, seed: int,
              crn: bool, out: str) -> tuple[int, int, pd.DataFrame, pd.DataFrame]:
    """Run replication ``rep`` of one point and write its files (runs in a worker).

    Returns the point, the replication and its two small whole-horizon tables, so that the
    summary needs no second read of what was just written."""
    qi, gi, handled = run_rep(scenario, seed=seed, rep=rep, stream=None if crn else point)
    reps, group_reps = rep_summaries(scenario, qi, gi, handled)
    starts = scenario.interval_starts
    frames = {"intervals": qi, "groups": gi, "group_reps": group_reps, "reps": reps}
    outdir = Path(out)
    for part in _PARTS:
        frame = frames[part]
        frame.insert(0, "point", point)
        frame.insert(1, "rep", rep)
        if "interval" in frame.columns:
            frame.insert(2, "interval_start", starts[frame["interval"].to_numpy()])
        for key, value in params.items():
            frame[key] = value
        _write_atomic(frame, outdir / part / _task_name(point, rep))
    return point, rep, reps, group_reps


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------
class SweepInterrupted(Exception):
    """The sweep stopped early (Ctrl-C, a signal, a crashed worker); finished tasks are kept."""

    def __init__(self, reason: str, *, done: int, total: int) -> None:
        self.reason, self.done, self.total = reason, done, total
        super().__init__(f"{reason}: {done} of {total} runs are done and kept; run the same "
                         "command again to finish the rest")


@dataclass(frozen=True)
class Sweep:
    """A finished sweep: its points, where its results are, what was reused."""

    out: Path
    points: list[Point]
    reps: int
    seed: int
    reused: int
    computed: int
    summaries: tuple[pd.DataFrame, pd.DataFrame] = field(repr=False)

    def intervals(self) -> pd.DataFrame:
        return _read_parts(self.out / "intervals", self.points, self.reps)

    def groups(self) -> pd.DataFrame:
        return _read_parts(self.out / "groups", self.points, self.reps)

    def summary(self) -> pd.DataFrame:
        """Per point and queue (as in summary.csv)."""
        return self.summaries[0].copy()

    def group_summary(self) -> pd.DataFrame:
        """Per point and group (as in group_summary.csv)."""
        return self.summaries[1].copy()


def _read_parts(folder: Path, points: Sequence[Point], reps: int) -> pd.DataFrame:
    files = [folder / _task_name(p.index, r) for p in points for r in range(reps)]
    frames = [pd.read_parquet(f) for f in files]
    return pd.concat(frames, ignore_index=True)


def run_sweep(base: Scenario, axes: Sequence[Axis], *, out: str | Path, reps: int = 1,
              seed: int = 0, jobs: int = 1, dask_address: str | None = None,
              force: bool = False, crn: bool = True,
              progress: Callable[[int, int], None] | None = None,
              on_start: Callable[[int, int], None] | None = None) -> Sweep:
    """Run every point x replication not already done under ``out``.

    ``on_start(to_run, reused)`` is called once the work is known, ``progress(done, total)``
    after every task.  Raises :class:`SweepInterrupted` (finished tasks kept) on Ctrl-C or a
    worker that dies.
    """
    if reps < 1:
        raise InputError(f"must be at least 1, got {reps}", field="--reps")
    if jobs < 1:
        raise InputError(f"must be at least 1, got {jobs}", field="--jobs")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        # Checked here, before OUT is created: numpy rejects it only inside the first task.
        raise InputError(f"must be a whole number >= 0, got {seed!r}", field="--seed")
    out = Path(out)
    points = build_points(base, axes)
    _prepare_out(out, _fingerprint(base, axes, seed, crn), force=force)
    tasks = [(p, r) for p in points for r in range(reps) if not _done(out, p.index, r)]
    total = len(points) * reps
    reused = total - len(tasks)
    if on_start is not None:
        on_start(len(tasks), reused)
    args = [(p.scenario, p.params, p.index, r, seed, crn, str(out)) for p, r in tasks]
    done = 0
    fresh: dict[tuple[int, int], tuple[pd.DataFrame, pd.DataFrame]] = {}

    def tick(result: tuple[int, int, pd.DataFrame, pd.DataFrame]) -> None:
        nonlocal done
        done += 1
        fresh[(result[0], result[1])] = (result[2], result[3])
        if progress is not None:
            progress(done, len(tasks))

    try:
        with Executor(jobs=jobs, dask_address=dask_address) as ex:
            ex.map(_run_task, args, on_result=lambda i, result: tick(result))
    except KeyboardInterrupt:
        raise SweepInterrupted("interrupted", done=_count_done(out, points, reps),
                               total=total) from None
    except WorkerDied as exc:
        raise SweepInterrupted(f"a worker stopped ({exc})", done=_count_done(out, points, reps),
                               total=total) from None
    summaries = sweep_summary(out, points, reps, fresh=fresh)
    _write_summaries(out, summaries)
    return Sweep(out=out, points=points, reps=reps, seed=seed, reused=reused,
                 computed=len(tasks), summaries=summaries)


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------
def _targets_met(frame: pd.DataFrame, points: Sequence[Point]) -> pd.DataFrame:
    """Whether each point's queue meets its targets (:func:`sim.metrics.target_deficit`): on
    the mean (``target_met``) and on the side of the 95% confidence interval that is worse
    for the customer (``target_met_95``).  A queue without targets meets them; the ``all``
    row has none to meet (NA)."""
    worse = frame.copy()
    for column, sign in (("service_level", -1.0), ("asa_s", 1.0), ("abandon_rate", 1.0),
                         ("occupancy", 1.0)):
        ci = frame.get(f"{column}_ci95")
        if column in frame.columns and ci is not None:
            worse[column] = frame[column] + sign * ci.where(np.isfinite(ci), 0.0)
    met = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    sure = met.copy()
    for p, rows in frame.groupby("point"):
        targets = {q: t.target for q, t in points[int(p)].scenario.spec.queues.items()}
        idx = rows.index[rows["queue"] != "all"]
        mean = metrics.target_deficit(frame.loc[idx], targets)
        side = metrics.target_deficit(worse.loc[idx], targets)
        met.loc[idx] = (mean.fillna(0.0) <= 0).to_numpy()
        sure.loc[idx] = (side.fillna(0.0) <= 0).to_numpy()
    out = frame.copy()
    out["target_met"] = met
    out["target_met_95"] = sure
    return out


def sweep_summary(out: str | Path, points: Sequence[Point], reps: int, *,
                  fresh: dict[tuple[int, int], tuple[pd.DataFrame, pd.DataFrame]] | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per point and queue, and per point and group: mean and ``*_ci95`` over replications of
    the whole-horizon figures, with the point's parameters as columns.

    ``fresh`` holds the tables of runs just made (read from ``out`` otherwise)."""
    out = Path(out)
    fresh = fresh or {}
    params = pd.DataFrame([{"point": p.index, **p.params} for p in points])
    tables = []
    for k, (part, key) in enumerate((("reps", "queue"), ("group_reps", "group"))):
        stacked = pd.concat(
            [fresh[(p.index, r)][k] if (p.index, r) in fresh else
             pd.read_parquet(out / part / _task_name(p.index, r))
             for p in points for r in range(reps)], ignore_index=True)
        stacked = stacked.drop(columns=[c for c in params.columns if c != "point"])
        summary = metrics.mean_ci(stacked, keys=["point", key])
        summary = params.merge(summary, on="point")
        tables.append(summary)
    tables[0] = _targets_met(tables[0], points)
    return tables[0], tables[1]


def _write_summaries(out: Path, summaries: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    for name, frame in zip(("summary.csv", "group_summary.csv"), summaries):
        tmp = out / f".{name}.tmp"
        frame.to_csv(tmp, index=False)
        os.replace(tmp, out / name)

