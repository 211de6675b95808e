"""Replications of a scenario and their summary: means with 95% confidence intervals.

Replication ``r`` of a run with seed ``s`` uses the random streams of ``rep_seed(s, r)``, the
same for every scenario: two scenarios replicated with the same seed see the same arrivals,
handle times and patience in each replication (common random numbers).
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim import metrics
from sim.engine import run
from sim.records import Records
from sim.scenario import Scenario

__all__ = ["rep_seed", "first_interval", "rep_summaries", "Simulation", "simulate", "measure",
           "run_rep", "paired_difference", "COMPARED", "Mapper"]


def rep_seed(seed: int, rep: int, *, stream: int | None = None) -> int:
    """The seed of replication ``rep`` of a run seeded ``seed``.

    ``stream`` gives independent seeds per variant (a sweep point) instead of common random
    numbers: for comparisons that must not share randomness.
    """
    key = (int(rep),) if stream is None else (int(rep), int(stream) + 1)
    ss = np.random.SeedSequence(int(seed), spawn_key=key)
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def first_interval(scenario: Scenario) -> int:
    """The first interval after the scenario's warm-up."""
    return int(np.ceil(scenario.spec.warmup_min / scenario.spec.interval_min - 1e-9))


def rep_summaries(scenario: Scenario, queue_intervals: pd.DataFrame,
                  group_intervals: pd.DataFrame, handled: pd.DataFrame
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Whole-horizon figures after warm-up of one replication: (per queue and ``all``, with
    the ``occupancy`` of the agents who handled each queue; per group)."""
    first = first_interval(scenario)
    gnames, gcols = metrics.group_summary_columns(group_intervals, first_interval=first)
    qnames, qcols = metrics.summary_columns(queue_intervals, first_interval=first)
    occupancy = metrics.queue_occupancy(handled, dict(zip(gnames, gcols["occupancy"])))
    qcols["occupancy"] = np.array([occupancy.get(q, np.nan) for q in qnames])
    # One frame each, built once (see metrics._interval_major).
    return (pd.DataFrame({"queue": np.asarray(qnames, dtype=object), **qcols}),
            pd.DataFrame({"group": np.asarray(gnames, dtype=object), **gcols}))


def measure(scenario: Scenario, records: Records) -> tuple[pd.DataFrame, pd.DataFrame,
                                                          pd.DataFrame]:
    """(queue intervals, group intervals, handle time per queue and group) of one run."""
    within = [scenario.spec.queues[q].target.within_s or 0.0 for q in scenario.queues]
    qi = metrics.queue_intervals(records, within_s=within,
                                 short_abandon_s=scenario.spec.short_abandon_s)
    gi = metrics.group_intervals(records)
    return qi, gi, metrics.handled_by_group(records, first_s=scenario.spec.warmup_min * 60.0)


@dataclass(frozen=True)
class Simulation:
    """Per-interval results of every replication (column ``rep``), and their summaries.

    ``transfers``: per replication, the transfers between each pair of queues."""

    scenario: Scenario
    seed: int
    reps: int
    queue_intervals: pd.DataFrame
    group_intervals: pd.DataFrame
    handled: pd.DataFrame
    transfers: pd.DataFrame = dataclasses.field(
        default_factory=lambda: pd.DataFrame(columns=["from_queue", "to_queue", "transfers",
                                                      "rep"]))
    # Whole-horizon figures of each replication (rep_summaries, with a ``rep`` column), made
    # where the replication ran; computed from the tables above when not given.
    queue_reps: pd.DataFrame | None = dataclasses.field(default=None, repr=False)
    group_reps: pd.DataFrame | None = dataclasses.field(default=None, repr=False)

    @functools.cached_property
    def _reps(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        if self.queue_reps is not None and self.group_reps is not None:
            return self.queue_reps, self.group_reps
        parts = [rep_summaries(self.scenario, q.drop(columns="rep"), g.drop(columns="rep"), h)
                 for (_, q), (_, g), (_, h) in zip(self.queue_intervals.groupby("rep"),
                                                   self.group_intervals.groupby("rep"),
                                                   self.handled.groupby("rep"))]
        return (pd.concat([q.assign(rep=r) for r, (q, _) in enumerate(parts)],
                          ignore_index=True),
                pd.concat([g.assign(rep=r) for r, (_, g) in enumerate(parts)],
                          ignore_index=True))

    def queue_summary(self) -> pd.DataFrame:
        """Whole horizon after warm-up, per queue (and ``all``): mean over replications and
        ``*_ci95`` half-widths; ``occupancy`` is that of the agents who handled the queue,
        weighted by the time they spent on it."""
        return metrics.mean_ci(self._reps[0], keys=["queue"])

    def group_summary(self) -> pd.DataFrame:
        return metrics.mean_ci(self._reps[1], keys=["group"])

    def queue_interval_summary(self) -> pd.DataFrame:
        """Per interval and queue: mean and ``*_ci95`` over replications."""
        return metrics.mean_ci(self.queue_intervals, keys=["interval", "queue"])

    def group_interval_summary(self) -> pd.DataFrame:
        return metrics.mean_ci(self.group_intervals, keys=["interval", "group"])


def run_rep(scenario: Scenario, *, seed: int, rep: int, stream: int | None = None
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Replication ``rep``: (queue intervals, group intervals, handle time by group)."""
    return measure(scenario, run(scenario, rep_seed(seed, rep, stream=stream)))


def _replicate(scenario: Scenario, seed: int, rep: int) -> tuple[pd.DataFrame, ...]:
    """Replication ``rep``, with everything a :class:`Simulation` keeps (runs in a worker)."""
    records = run(scenario, rep_seed(seed, rep))
    qi, gi, handled = measure(scenario, records)
    queues, groups = rep_summaries(scenario, qi, gi, handled)
    return qi, gi, handled, metrics.transfer_matrix(records), queues, groups


# mapper(fn, tasks, on_result=...) -> [fn(*t) for t in tasks], in task order: how replications
# are run (planner.executor.Executor.map runs them on processes or Dask).
Mapper = Callable[..., list]


def simulate(scenario: Scenario, *, seed: int = 0, reps: int = 1,
             progress: Callable[[int], None] | None = None,
             mapper: Mapper | None = None) -> Simulation:
    """Run ``reps`` replications; ``progress(done)`` is called after each.

    ``mapper`` runs them (default: one after another here); the results do not depend on it.
    """
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    tasks = [(scenario, seed, r) for r in range(reps)]
    count = 0

    def tick(i: int, result: object) -> None:
        nonlocal count
        count += 1
        if progress is not None:
            progress(count)

    if mapper is None:
        parts = []
        for i, t in enumerate(tasks):
            parts.append(_replicate(*t))
            tick(i, parts[-1])
    else:
        parts = mapper(_replicate, tasks, on_result=tick)
    return Simulation(
        scenario=scenario, seed=seed, reps=reps,
        queue_intervals=pd.concat([p[0].assign(rep=r) for r, p in enumerate(parts)],
                                  ignore_index=True),
        group_intervals=pd.concat([p[1].assign(rep=r) for r, p in enumerate(parts)],
                                  ignore_index=True),
        handled=pd.concat([p[2].assign(rep=r) for r, p in enumerate(parts)],
                          ignore_index=True),
        transfers=pd.concat([p[3].assign(rep=r) for r, p in enumerate(parts)],
                            ignore_index=True),
        queue_reps=pd.concat([p[4].assign(rep=r) for r, p in enumerate(parts)],
                             ignore_index=True),
        group_reps=pd.concat([p[5].assign(rep=r) for r, p in enumerate(parts)],
                             ignore_index=True))


# Per-interval measures compared between two runs (column -> what it is, for labels).
COMPARED = {"service_level": "service level", "abandon_rate": "abandoned",
            "asa_s": "ASA", "mean_queue": "queue length", "answered": "answered"}


def paired_difference(a: Simulation, b: Simulation) -> pd.DataFrame:
    """B minus A per interval and queue: mean over replications of the per-replication
    difference, with its 95% half-width (``*_ci95``), for the measures of :data:`COMPARED`.

    Replication ``r`` of A is paired with replication ``r`` of B (the same random streams when
    both ran with the same seed: common random numbers make the difference's interval
    narrow); intervals are paired by position and queues by name.
    """
    if a.seed != b.seed or a.reps != b.reps:
        raise ValueError("a paired difference needs both runs with the same seed and "
                         f"replications (got seed {a.seed}/{b.seed}, reps {a.reps}/{b.reps})")
    keys = ["rep", "interval", "queue"]
    cols = list(COMPARED)
    both = a.queue_intervals[keys + cols].merge(b.queue_intervals[keys + cols], on=keys,
                                                suffixes=("_a", "_b"))
    diff = both[keys].copy()
    for c in cols:
        diff[c] = both[f"{c}_b"] - both[f"{c}_a"]
    out = metrics.mean_ci(diff, keys=["interval", "queue"])
    starts = a.scenario.interval_starts
    out.insert(1, "interval_start", starts[out["interval"].to_numpy()])
    return out.sort_values(["interval", "queue"], kind="stable").reset_index(drop=True)
