"""Time ``planner.erlang.agents_needed`` on a day of staffing against pyworkforce's ErlangC.

The day: 96 intervals x 4 queues of a sales peak (384 staffing answers), with deterministic
volumes of 50 to 5,000 contacts per 30 minutes.  96 intervals make a day when they last 15
minutes, so the intervals are quarter hours holding 25 to 2,500 contacts each (the same rates),
and pyworkforce is called with ``interval=15``.  Each queue has its own daily shape, average
handle time and service-level target; longer contacts come in smaller volumes, as they do.
A second, heavy day keeps the shapes but lets every queue peak at 5,000 per 30 minutes (up to
1,667 Erlangs), because the speed ratio depends on the size of the traffic.

For each interval both libraries answer "the smallest number of agents whose Erlang C service
level meets the target" (no shrinkage, no occupancy cap).  peakplan answers the whole day in one
vectorised call; pyworkforce answers one interval at a time, as its API allows.  The bench

* checks that the answers are identical interval by interval, printing every mismatch and
  exiting 1 if there is any (intervals where pyworkforce raises are listed and left out of the
  comparison, and the output says so);
* times each side several times (best of 5 for peakplan, best of 3 for pyworkforce; gc off
  while timing) and prints best and median, and the ratio pyworkforce time / peakplan time;
* times the Erlang A path of ``agents_needed`` (exponential patience of mean 120 s) on the same
  sales-peak day, for information: there is no baseline to compare it with.

Run: ``.venv/bin/python bench/bench_erlang.py`` (or ``make bench``, which installs pyworkforce);
``--quick`` is a smoke run on every 8th interval with one repeat per side.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import hashlib
import importlib.metadata
import importlib.util
import pathlib
import platform
import statistics
import sys
import time
import types
from typing import Any, Callable

import numpy as np
import scipy

import planner.erlang
from planner.erlang import agents_needed

INTERVAL_MIN = 15
INTERVALS_PER_DAY = 24 * 60 // INTERVAL_MIN  # 96
PATIENCE_S = 120.0
RATIO_AIM = 20.0


@dataclasses.dataclass(frozen=True)
class Queue:
    """One queue of the benchmark day.

    ``peaks`` are the bumps of the daily shape as ``(centre_h, width_h, weight)``: Gaussians on
    the 24-hour clock, wrapped at midnight.  The shape is scaled so that its lowest interval
    gets ``min_per_30min`` contacts per 30 minutes and its highest ``max_per_30min``.
    """

    name: str
    aht_s: float
    target_s: float
    service_level: float
    min_per_30min: float
    max_per_30min: float
    peaks: tuple[tuple[float, float, float], ...]


# A Singles' Day-like peak: sales open at midnight, so orders and payments spike then.
QUEUES = (
    Queue("orders", aht_s=180.0, target_s=20.0, service_level=0.80,
          min_per_30min=50.0, max_per_30min=5000.0,
          peaks=((0.4, 0.6, 1.0), (10.5, 2.5, 0.45), (20.5, 2.0, 0.8))),
    Queue("delivery", aht_s=240.0, target_s=30.0, service_level=0.90,
          min_per_30min=50.0, max_per_30min=3000.0,
          peaks=((10.0, 2.0, 1.0), (14.5, 2.5, 0.7), (19.0, 2.0, 0.4))),
    Queue("returns", aht_s=420.0, target_s=60.0, service_level=0.80,
          min_per_30min=50.0, max_per_30min=1500.0,
          peaks=((13.0, 3.0, 1.0), (18.5, 2.5, 0.6))),
    Queue("payments", aht_s=600.0, target_s=20.0, service_level=0.80,
          min_per_30min=50.0, max_per_30min=800.0,
          peaks=((0.6, 0.8, 1.0), (11.0, 3.0, 0.5), (21.0, 2.0, 0.6))),
)
# The same shapes with every queue peaking at 5,000 contacts per 30 minutes (up to 1,667
# Erlangs): pyworkforce's cost per interval grows with the traffic (a loop over every agent,
# once per agent count tried) while peakplan's barely does, so the ratio depends on the day.
# This day shows by how much, and checks identical answers at larger agent counts.
HEAVY_QUEUES = tuple(dataclasses.replace(q, max_per_30min=5000.0) for q in QUEUES)


@dataclasses.dataclass(frozen=True)
class Day:
    """The day as arrays of shape (queues, intervals); contacts are per interval."""

    contacts: np.ndarray
    rate_per_s: np.ndarray
    aht_s: np.ndarray
    target_s: np.ndarray
    service_level: np.ndarray


def daily_volumes(queue: Queue) -> np.ndarray:
    """Contacts per interval for one queue: integers, deterministic."""
    hour = (np.arange(INTERVALS_PER_DAY) + 0.5) * INTERVAL_MIN / 60.0
    shape = np.zeros_like(hour)
    for centre_h, width_h, weight in queue.peaks:
        d = np.abs(hour - centre_h)
        d = np.minimum(d, 24.0 - d)
        shape += weight * np.exp(-0.5 * (d / width_h) ** 2)
    unit = (shape - shape.min()) / (shape.max() - shape.min())
    per_30min = queue.min_per_30min + (queue.max_per_30min - queue.min_per_30min) * unit
    return np.round(per_30min * INTERVAL_MIN / 30.0)


def build_day(queues: tuple[Queue, ...], *, every: int) -> Day:
    """The day of ``queues``, keeping every ``every``-th interval (1: the whole day)."""
    contacts = np.stack([daily_volumes(q) for q in queues])[:, ::every]

    def per_queue(field: str) -> np.ndarray:
        column = np.array([[getattr(q, field)] for q in queues], dtype=float)
        return np.repeat(column, contacts.shape[1], axis=1)

    return Day(contacts=contacts, rate_per_s=contacts / (INTERVAL_MIN * 60.0),
               aht_s=per_queue("aht_s"), target_s=per_queue("target_s"),
               service_level=per_queue("service_level"))


def load_pyworkforce_erlang_c() -> type:
    """pyworkforce's ErlangC class, imported without pyworkforce/__init__.py.

    pyworkforce/__init__.py imports its scheduling and rostering subpackages, which import
    ortools at import time; ortools is large and unused here, so the Makefile installs
    pyworkforce with --no-deps and ``from pyworkforce.queuing import ErlangC`` would fail.
    A bare package module with pyworkforce's __path__ lets Python import the submodules that
    ErlangC needs (queuing.erlang, utils.grid; numpy and joblib) without running that file.
    """
    spec = importlib.util.find_spec("pyworkforce")
    if spec is None or spec.submodule_search_locations is None:
        sys.exit("pyworkforce is not installed: run `make bench` (it installs it without "
                 "ortools), or `.venv/bin/pip install joblib && .venv/bin/pip install "
                 "--no-deps 'pyworkforce>=0.5'`")
    if "pyworkforce" not in sys.modules:
        package = types.ModuleType("pyworkforce")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["pyworkforce"] = package
    from pyworkforce.queuing.erlang import ErlangC
    return ErlangC


def peakplan_erlang_c(day: Day) -> np.ndarray:
    return agents_needed(rate_per_s=day.rate_per_s, aht_s=day.aht_s, target_s=day.target_s,
                         service_level=day.service_level)


def peakplan_erlang_a(day: Day) -> np.ndarray:
    return agents_needed(rate_per_s=day.rate_per_s, aht_s=day.aht_s, target_s=day.target_s,
                         service_level=day.service_level, patience_s=PATIENCE_S)


def pyworkforce_inputs(day: Day) -> list[tuple[float, float, float, float]]:
    """(transactions per interval, aht_min, target_min, service level) per interval, flat.

    pyworkforce works in minutes: ``transactions`` arrive in ``interval`` minutes, ``aht``
    is in minutes, and ``asa`` is the service-level target time in minutes (its name
    notwithstanding: service_level() uses it as T in 1 - C exp(-(n - a) T / aht)).
    Built before timing, so the timed loop holds only pyworkforce's own work.
    """
    return [(float(c), float(h) / 60.0, float(t) / 60.0, float(s))
            for c, h, t, s in zip(day.contacts.ravel(), day.aht_s.ravel(),
                                  day.target_s.ravel(), day.service_level.ravel())]


def pyworkforce_erlang_c(erlang_c: type, inputs: list[tuple[float, float, float, float]]
                         ) -> list[int | str]:
    """raw_positions per interval, or the name of the exception pyworkforce raised."""
    out: list[int | str] = []
    for transactions, aht_min, target_min, sl in inputs:
        try:
            result = erlang_c(transactions=transactions, aht=aht_min, asa=target_min,
                              interval=INTERVAL_MIN, shrinkage=0.0
                              ).required_positions(service_level=sl, max_occupancy=1.0)
            out.append(int(result["raw_positions"]))
        except Exception as exc:  # noqa: BLE001 - every failure is reported per interval
            out.append(type(exc).__name__)
    return out


def timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    """Wall times (perf_counter) of ``repeats`` calls with gc off, and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return times, result


def clock(interval: int, every: int) -> str:
    """Start time of the ``interval``-th kept interval, as hh:mm."""
    minutes = interval * every * INTERVAL_MIN
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms"


def run_day(title: str, queues: tuple[Queue, ...], erlang_c_class: type, *, every: int,
            reps_peakplan: int, reps_pyworkforce: int, with_erlang_a: bool,
            quick: bool) -> bool:
    """Time and compare one day; print its tables; True when every comparable answer agrees."""
    day = build_day(queues, every=every)
    n_queues, n_intervals = day.contacts.shape
    inputs = pyworkforce_inputs(day)

    t_c, ours = timed(lambda: peakplan_erlang_c(day), reps_peakplan)
    t_pw, theirs = timed(lambda: pyworkforce_erlang_c(erlang_c_class, inputs), reps_pyworkforce)
    t_a, ours_a = timed(lambda: peakplan_erlang_a(day), reps_peakplan) if with_erlang_a \
        else ([], None)

    theirs_arr = np.array(theirs, dtype=object).reshape(day.contacts.shape)
    answered = np.vectorize(lambda v: isinstance(v, int), otypes=[bool])(theirs_arr)

    print()
    print(f"== {title}: {n_intervals} x {INTERVAL_MIN}-min intervals x {n_queues} queues "
          f"= {day.contacts.size} answers" + ("  [--quick: every 8th interval]" if quick else ""))
    a_head = f"{f'A, patience {PATIENCE_S:.0f} s':>18}" if with_erlang_a else ""
    print(f"{'queue':<9} {'AHT':>5} {'target':>12} {'contacts/30min':>15} {'peak Erl':>9} "
          f"{'agent-intervals C':>18} {a_head}".rstrip())
    for q, queue in enumerate(queues):
        per_30 = day.contacts[q] * 30 / INTERVAL_MIN
        erlangs = day.rate_per_s[q] * day.aht_s[q]
        target = f"{queue.service_level:.0%} in {queue.target_s:.0f} s"
        a_cell = f"{int(ours_a[q].sum()):>18,}" if with_erlang_a else ""
        print(f"{queue.name:<9} {queue.aht_s:>4.0f}s {target:>12} "
              f"{per_30.min():>6.0f} - {per_30.max():>5.0f} {erlangs.max():>9.1f} "
              f"{int(ours[q].sum()):>18,} {a_cell}".rstrip())

    print()
    print(f"{'timing (whole day per call)':<34} {'repeats':>7} {'best':>12} {'median':>12}")
    rows = [("peakplan  Erlang C (vectorised)", t_c),
            ("pyworkforce ErlangC (per interval)", t_pw)]
    if with_erlang_a:
        rows.append((f"peakplan  Erlang A, patience {PATIENCE_S:.0f} s", t_a))
    for label, times in rows:
        print(f"{label:<34} {len(times):>7} {fmt_ms(min(times)):>12} "
              f"{fmt_ms(statistics.median(times)):>12}")
    ratio_best = min(t_pw) / min(t_c)
    ratio_median = statistics.median(t_pw) / statistics.median(t_c)
    if quick:
        verdict = "quick run: too little work for a meaningful ratio"
    else:
        verdict = f"aim >= {RATIO_AIM:.0f}x: " + ("met" if ratio_best >= RATIO_AIM else "NOT met")
    print(f"ratio pyworkforce / peakplan (Erlang C): best {ratio_best:.1f}x, "
          f"median {ratio_median:.1f}x  ({verdict})")
    if with_erlang_a:
        print(f"Erlang A / Erlang C time (peakplan, best): {min(t_a) / min(t_c):.0f}x "
              "(informational, no baseline)")

    failed = [(q, i) for q in range(n_queues) for i in range(n_intervals) if not answered[q, i]]
    for q, i in failed:
        print(f"pyworkforce FAILED  {queues[q].name} {clock(i, every)} "
              f"contacts={day.contacts[q, i]:.0f}: {theirs_arr[q, i]}")
    mismatches = [(q, i) for q in range(n_queues) for i in range(n_intervals)
                  if answered[q, i] and theirs_arr[q, i] != ours[q, i]]
    for q, i in mismatches:
        print(f"MISMATCH  {queues[q].name} {clock(i, every)} "
              f"contacts={day.contacts[q, i]:.0f}: "
              f"peakplan {ours[q, i]}, pyworkforce {theirs_arr[q, i]}")
    compared = int(answered.sum())
    scope = ("every interval" if not failed else
             f"only the {compared} intervals where pyworkforce gave an answer; "
             f"the {len(failed)} where it failed are left out")
    if mismatches:
        print(f"answers: {len(mismatches)} MISMATCHES of {compared} compared ({scope})")
        return False
    if compared == 0:
        print("answers: nothing to compare, pyworkforce failed on every interval")
        return False
    print(f"answers: identical on {compared}/{day.contacts.size} intervals ({scope})")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: every 8th interval, one repeat per side")
    args = parser.parse_args(argv)
    every = 8 if args.quick else 1
    reps_peakplan, reps_pyworkforce = (1, 1) if args.quick else (5, 3)

    erlang_c_class = load_pyworkforce_erlang_c()
    # planner/erlang.py changes often: its hash ties the figures to the code that made them.
    source = pathlib.Path(planner.erlang.__file__).read_bytes()
    print(f"planner/erlang.py sha256 {hashlib.sha256(source).hexdigest()[:12]}; "
          f"python {platform.python_version()}, numpy {np.__version__}, "
          f"scipy {scipy.__version__}, pyworkforce {importlib.metadata.version('pyworkforce')}")
    ok = run_day("Sales-peak day", QUEUES, erlang_c_class, every=every,
                 reps_peakplan=reps_peakplan, reps_pyworkforce=reps_pyworkforce,
                 with_erlang_a=True, quick=args.quick)
    ok &= run_day("Heavy day (every queue peaks at 5,000 per 30 min)", HEAVY_QUEUES,
                  erlang_c_class, every=every, reps_peakplan=reps_peakplan,
                  reps_pyworkforce=reps_pyworkforce, with_erlang_a=False, quick=args.quick)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
