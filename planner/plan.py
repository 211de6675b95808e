"""The plan: from the requirement to the cheapest bookable roster that meets the targets.

The loop (issue 11, section 3):

1. the requirement per interval and queue: the Erlang table of the scenario's forecast
   (:func:`planner.staffing.staffing_table`; chat by the slot approximation) or a requirement
   file;
2. the cheapest cover of it under the planning rules (:mod:`planner.shifts`, optimal for the
   integer programme);
3. the planned roster simulated with ``reps`` replications, the same seeds every round (common
   random numbers, so rounds differ only where the rosters differ);
4. each judged interval and queue that misses its targets *with confidence* (one-sided t-test
   on the replications' relative deficit, :func:`sim.metrics.target_deficit`, at
   ``confidence``) gets its requirement raised above what the cover gave it, by one agent
   or half the relative deficit times that if more; one that beats every target with
   ``margin`` (the upper confidence bound of the deficit below ``-margin``) is lowered by
   one, never to a level that has missed before (so the loop does not oscillate) and never
   below the queue's share of the Erlang requirement of its pool of queues taken as one
   (:func:`pooled_floor`: the most that pooling can save; a queue no cross-skilled agent
   serves keeps its Erlang requirement, the simulator's own model, SIPP aside: going lower
   would only fit the seeds the rounds share).  Intervals with fewer than
   ``min_contacts`` contacts offered (mean over replications) or in the warm-up are too small
   to judge, as in the capacity review, and keep the Erlang requirement;
5. re-solve and repeat until no judged interval misses and none can be lowered, or
   ``max_rounds`` covers have been solved; the plan is the roster of the rounds with the
   fewest confident misses, the cheapest of those;
6. the plan verified with fresh seeds (``seed + VERIFY_SEED_OFFSET``, never those it was tuned
   on).

What is optimal: each cover, for its requirement (within the solver's gap).  What is checked
by simulation: that the roster meets the queues' targets; the loop is a heuristic search for
the requirement that makes the cheapest cover meet them, not a proof of the cheapest roster.
On a horizon of several days the cover books each day separately, but scenario shifts repeat
daily: the simulated roster takes, per shift, the most agents any day books (see
:func:`planner.shifts.planned_shifts`), so it over-staffs the other days.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from planner.executor import Executor
from planner.shifts import (CoverResult, Requirement, build_problem, planned_scenario_data,
                            requirement_from_erlang, solve_cover)
from planner.staffing import staffing_table
from sim import metrics
from sim.errors import InputError
from sim.forecast import forecast_from_frame
from sim.planning import PlanningSpec
from sim.replications import Mapper, Simulation, first_interval, simulate
from sim.scenario import Scenario, scenario_from_dict
from sim.targets import QueuePlan, Target

__all__ = ["Round", "Plan", "plan_roster", "cover_only", "erlang_requirement", "judge",
           "pools", "pooled_floor",
           "default_rules", "DEFAULT_RULES_TEXT",
           "verified_summary", "VERIFY_SEED_OFFSET", "VERIFIED_COLUMNS"]

VERIFY_SEED_OFFSET = 1_000_003  # verification seeds: far from any seed a user tunes with
MIN_CONTACTS = 5.0              # the review's rule: smaller intervals are not judged
STEP_SHARE = 0.5                # a change of half the relative deficit times the requirement

VERIFIED_COLUMNS = {
    "interval_start": "start of the interval",
    "queue": "queue id",
    "offered": "contacts offered (mean over replications)",
    "service_level": "mean over replications (and *_ci95: 95% half-width)",
    "abandon_rate": "abandoned / offered",
    "asa_s": "mean wait of answered contacts (s)",
    "deficit": "relative deficit of the worst target, mean (above 0: a miss)",
    "deficit_lo": "lower confidence bound of the deficit (above 0: a miss with confidence)",
    "deficit_hi": "upper confidence bound of the deficit",
    "judged": "after warm-up with at least 5 contacts offered",
    "miss": "judged and missed with confidence",
}


@dataclass(frozen=True)
class Round:
    """One round of the loop: the cover of ``required_agent_hours`` and what the simulation
    said (``misses`` with confidence; ``raised`` / ``lowered`` cells for the next round;
    ``simulated`` False when the roster equalled an earlier one and its result was reused)."""

    round: int
    required_agent_hours: float
    cost: float
    agent_hours: float
    shortfall_agent_intervals: float
    status: str
    misses: int
    raised: int
    lowered: int
    simulated: bool


@dataclass(frozen=True)
class Plan:
    """The result of :func:`plan_roster` (or :func:`cover_only`, with no simulation).

    ``cover``: the chosen roster's cover; ``first_cover``: the cover of the plain Erlang
    requirement; ``erlang_agent_hours``: the plain per-queue Erlang plan (interval by
    interval, not bookable); ``verified``: per interval and queue (:data:`VERIFIED_COLUMNS`),
    ``verified_queues``: per queue over the horizon after warm-up (``service_level``,
    ``abandon_rate``, ``asa_s`` with ``*_ci95``, ``intervals_missed``, ``targets_met``);
    None without simulation.  ``planned``: the scenario data with the planned roster (None
    without a scenario).
    """

    cover: CoverResult
    first_cover: CoverResult
    requirement: Requirement
    erlang: Requirement
    erlang_agent_hours: float
    rounds: tuple[Round, ...]
    converged: bool
    verified: pd.DataFrame | None
    verified_queues: pd.DataFrame | None
    planned: dict[str, Any] | None
    seed: int
    reps: int
    verify_seed: int | None
    notes: tuple[str, ...] = ()

    @property
    def total_agent_hours(self) -> float:
        return self.cover.kept_agent_hours + self.cover.agent_hours


DEFAULT_RULES_TEXT = ("no planning rules given: each queue's first group (best preference, most "
                      "agents on a tie) may be booked on 4 to 9 h shifts starting on the half "
                      "hour, at cost 1 per hour, no breaks; the scenario's roster is kept")


def default_rules(scenario: Scenario) -> PlanningSpec:
    """The stated defaults (:data:`DEFAULT_RULES_TEXT`) when a scenario has no rules."""
    groups = scenario.spec.agent_groups
    firsts = []
    for q in scenario.queues:
        able = [(g.skills[q], -sum(s.agents for s in g.shifts), name)
                for name, g in groups.items() if q in g.skills]
        if able and min(able)[2] not in firsts:
            firsts.append(min(able)[2])
    return PlanningSpec.model_validate({
        "interval_min": 30,
        "patterns": {"any": {"starts": "00:00-23:30", "every_min": 30,
                             "lengths_h": [4, 5, 6, 7, 8, 9]}},
        "groups": {g: {"patterns": ["any"], "cost_per_hour": 1.0} for g in firsts},
        "keep": "roster"})


def erlang_requirement(scenario: Scenario) -> Requirement:
    """Agents per interval and queue by Erlang (the staffing table of the scenario)."""
    forecast = forecast_from_frame(scenario.forecast_frame(), source=scenario.source,
                                   interval_min=scenario.spec.interval_min)
    table = staffing_table(forecast, scenario.queue_plans())
    return requirement_from_erlang(table, start=pd.Timestamp(scenario.spec.start),
                                   interval_min=scenario.spec.interval_min,
                                   n_intervals=scenario.n_intervals, source=scenario.source)


def _agent_hours(req: Requirement) -> float:
    return float(req.agents.sum() * req.interval_min / 60.0)


def _align(requirement: Requirement, scenario: Scenario) -> Requirement:
    """A requirement file's table on the scenario's intervals and queues."""
    if pd.Timestamp(requirement.start) != pd.Timestamp(scenario.spec.start) or \
            requirement.interval_min != scenario.spec.interval_min:
        raise InputError(f"the requirement starts at {requirement.start:%Y-%m-%d %H:%M} with "
                         f"{requirement.interval_min:g}-min intervals, the scenario at "
                         f"{scenario.spec.start:%Y-%m-%d %H:%M} with "
                         f"{scenario.spec.interval_min:g}-min intervals (expected the same)",
                         file=requirement.source, field="interval_start")
    if requirement.n_intervals > scenario.n_intervals:
        raise InputError(f"{requirement.n_intervals} intervals, more than the scenario's "
                         f"{scenario.n_intervals}", file=requirement.source,
                         field="interval_start")
    unknown = [q for q in requirement.queues if q not in scenario.queues]
    if unknown:
        raise InputError(f"queue {unknown[0]!r} is not a queue of the scenario (expected one "
                         f"of: {', '.join(scenario.queues)})", file=requirement.source,
                         field="queue")
    queues = tuple(sorted(scenario.queues))
    agents = np.zeros((len(queues), scenario.n_intervals))
    for i, q in enumerate(requirement.queues):
        agents[queues.index(q), :requirement.n_intervals] = requirement.agents[i]
    return Requirement(start=pd.Timestamp(scenario.spec.start),
                       interval_min=scenario.spec.interval_min, queues=queues, agents=agents,
                       source=requirement.source)


# --------------------------------------------------------------------------------------------
# Replications
# --------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------
# Judging
# --------------------------------------------------------------------------------------------
def judge(sim: Simulation, *, confidence: float = 0.9,
          min_contacts: float = MIN_CONTACTS) -> pd.DataFrame:
    """Per interval and queue (:data:`VERIFIED_COLUMNS` plus ``interval``): the replications'
    figures and whether the interval misses its targets with ``confidence`` (one-sided t on
    the per-replication relative deficit; with one replication, its deficit alone)."""
    sc = sim.scenario
    qi = sim.queue_intervals
    targets = {q: sc.spec.queues[q].target for q in sc.queues}
    per = qi[["rep", "interval", "queue", "offered", "service_level", "abandon_rate",
              "asa_s"]].copy()
    per["deficit"] = metrics.target_deficit(per, targets)
    keys = ["interval", "queue"]
    summary = metrics.mean_ci(per.drop(columns=["deficit"]), keys=keys)
    g = per.groupby(keys, sort=False)["deficit"]
    d = pd.DataFrame({"deficit": g.mean(), "sd": g.std(ddof=1), "n": g.count()}).reset_index()
    n = d["n"].to_numpy(dtype=float)
    t = stats.t.ppf(confidence, np.maximum(n - 1.0, 1.0))
    half = np.where(n > 1, t * d["sd"].fillna(0.0).to_numpy() / np.sqrt(np.maximum(n, 1.0)),
                    0.0)
    d["deficit_lo"] = d["deficit"] - half
    d["deficit_hi"] = d["deficit"] + half
    out = summary.merge(d.drop(columns=["sd", "n"]), on=keys)
    out = out.sort_values(keys, kind="stable").reset_index(drop=True)
    out.insert(1, "interval_start", sc.interval_starts[out["interval"].to_numpy()])
    out["judged"] = (out["offered"] >= min_contacts) & (out["interval"] >= first_interval(sc))
    out["miss"] = out["judged"] & (out["deficit_lo"] > 0)
    return out


def verified_summary(sim: Simulation, judged: pd.DataFrame) -> pd.DataFrame:
    """Per queue, after warm-up: service level, abandon rate, ASA (with ``*_ci95``),
    ``targets_met`` (these whole-horizon figures meet every target of the queue) and
    ``intervals_missed`` (judged intervals that miss with confidence; near the target a few
    such misses are expected by chance: one in ten intervals exactly at target at 0.9)."""
    sc = sim.scenario
    s = sim.queue_summary()
    s = s[s["queue"] != "all"].copy()
    targets = {q: sc.spec.queues[q].target for q in sc.queues}
    whole = metrics.target_deficit(s[["queue", "service_level", "asa_s", "abandon_rate"]],
                                   targets)
    missed = judged[judged["miss"]].groupby("queue").size()
    s["intervals_missed"] = s["queue"].map(missed).fillna(0).astype(int)
    s["targets_met"] = ~(whole > 0)
    cols = ["queue", "offered", "service_level", "service_level_ci95", "abandon_rate",
            "abandon_rate_ci95", "asa_s", "asa_s_ci95", "intervals_missed", "targets_met"]
    return s[[c for c in cols if c in s.columns]].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------
def _planned_scenario(scenario: Scenario, cover: CoverResult) -> tuple[Scenario, dict]:
    data = planned_scenario_data(scenario, cover)
    return scenario_from_dict(data, source=f"{scenario.source} (planned)",
                              base_dir=scenario.base_dir), data


def _adjust(req: np.ndarray, floor: np.ndarray, judged: pd.DataFrame, cover: CoverResult,
            queues: Sequence[str], *, margin: float) -> tuple[np.ndarray, int, int]:
    """The next requirement.  Raised where missed with confidence, from the larger of the
    requirement and the capacity the cover gave the queue (a raise below what is on the
    floor changes nothing), unless the cover is short there already (more would not help);
    lowered by one where beaten with margin, never to a level that missed nor below
    ``floor``.  Updates ``floor`` (the least requirement not known to miss)."""
    new = req.copy()
    raised = lowered = 0
    cov = cover.coverage.set_index(["interval_start", "queue"])
    short, planned = cov["short"], cov["planned"]
    qidx = {q: i for i, q in enumerate(queues)}
    for row in judged[judged["judged"]].itertuples(index=False):
        q, i = qidx[row.queue], int(row.interval)
        r = req[q, i]
        cell = (row.interval_start, row.queue)
        if row.miss:
            if short.get(cell, 0.0) > 1e-9:
                continue
            base = max(r, math.floor(planned.get(cell, r) + 1e-9))
            floor[q, i] = max(floor[q, i], base + 1)
            step = max(1, math.ceil(STEP_SHARE * min(row.deficit, 1.0) * max(base, 1.0)))
            new[q, i] = base + step
            raised += 1
        elif row.deficit_hi < -margin and r > floor[q, i]:
            # One agent a round: the seeds are the same every round, and a lucky stretch of
            # them would otherwise be fitted in one step.
            new[q, i] = max(floor[q, i], r - 1)
            lowered += new[q, i] < r
    return new, raised, int(lowered)


def pools(scenario: Scenario, rules: PlanningSpec | None = None) -> list[tuple[str, ...]]:
    """Queues that share agents: joined when a group (of the scenario, or one the rules add)
    serves both and they have the same channel and chat concurrency; every queue is in one
    pool (alone if it shares no agents)."""
    plans = scenario.queue_plans()
    parent = {q: q for q in scenario.queues}

    def root(q: str) -> str:
        while parent[q] != q:
            q = parent[q]
        return q

    skill_sets = [tuple(g.skills) for g in scenario.spec.agent_groups.values()]
    if rules is not None:
        skill_sets += [tuple(g.skills) for name, g in rules.groups.items()
                       if g.skills and name not in scenario.spec.agent_groups]
    for skills in skill_sets:
        for a in skills:
            for b in skills:
                if (plans[a].channel, plans[a].chat_concurrency) == \
                        (plans[b].channel, plans[b].chat_concurrency):
                    parent[root(a)] = root(b)
    out: dict[str, list[str]] = {}
    for q in scenario.queues:
        out.setdefault(root(q), []).append(q)
    return [tuple(sorted(v)) for v in out.values()]


def _strictest(targets: Sequence[Any]) -> Target:
    def pick(attr: str, fn: Callable) -> Any:
        values = [getattr(t, attr) for t in targets if getattr(t, attr) is not None]
        return fn(values) if values else None

    return Target(service_level=pick("service_level", max), within_s=pick("within_s", min),
                  max_asa_s=pick("max_asa_s", min), max_abandon=pick("max_abandon", min),
                  max_occupancy=pick("max_occupancy", min))


def pooled_floor(scenario: Scenario, erlang: Requirement,
                 rules: PlanningSpec | None = None) -> np.ndarray:
    """The least requirement the loop may lower each interval and queue to: the queue's share
    (in proportion to its own Erlang agents) of the Erlang agents of its pool's traffic taken
    as one queue (contact-weighted handle time and patience, the strictest of the targets):
    the most that serving the pool together can save.  A queue alone in its pool keeps its
    Erlang requirement: for it Erlang is the simulator's own model (SIPP aside), and going
    lower would only fit the seeds the rounds share."""
    floor = erlang.agents.copy()
    plans = scenario.queue_plans()
    qidx = {q: i for i, q in enumerate(erlang.queues)}
    frame = scenario.forecast_frame()
    for pool in pools(scenario, rules):
        if len(pool) < 2:
            continue
        part = frame[frame["queue"].isin(pool)].copy()
        part["work"] = part["contacts"] * part["aht_s"]
        patience = [plans[q].patience_s for q in pool]
        part["wait"] = part["contacts"] * part["queue"].map(
            {q: plans[q].patience_s or 0.0 for q in pool})
        g = part.groupby("interval_start", sort=True)[["contacts", "work", "wait"]].sum()
        mean_aht = float(np.mean([plans[q].aht_s for q in pool]))
        aht = np.where(g["contacts"] > 0, g["work"] / g["contacts"].where(g["contacts"] > 0, 1),
                       mean_aht)
        pooled = pd.DataFrame({"interval_start": g.index, "queue": "pool",
                               "contacts": g["contacts"].to_numpy(), "aht_s": aht})
        all_patient = all(p is not None for p in patience)
        mean_patience = float(g["wait"].sum() / g["contacts"].sum()) \
            if all_patient and g["contacts"].sum() > 0 else None
        first = plans[pool[0]]
        plan = QueuePlan(channel=first.channel, aht_s=mean_aht,
                         patience_s=mean_patience if all_patient else None,
                         target=_strictest([plans[q].target for q in pool]),
                         chat_concurrency=first.chat_concurrency,
                         chat_slowdown=float(np.mean([plans[q].chat_slowdown for q in pool])))
        forecast = forecast_from_frame(pooled, source=scenario.source,
                                       interval_min=scenario.spec.interval_min)
        need = staffing_table(forecast, {"pool": plan})["agents"].to_numpy(dtype=float)
        own = np.array([erlang.agents[qidx[q]] for q in pool])
        total = own.sum(axis=0)
        share = np.where(total > 0, own / np.where(total > 0, total, 1.0), 0.0)
        for j, q in enumerate(pool):
            floor[qidx[q]] = np.minimum(erlang.agents[qidx[q]], share[j] * need)
    return floor


def cover_only(requirement: Requirement, rules: PlanningSpec, *,
               scenario: Scenario | None = None, rules_file: str | None = None,
               time_limit_s: float = 60.0) -> Plan:
    """The cheapest cover of a requirement, with no simulation (a requirement file, or a
    scenario without contacts)."""
    problem = build_problem(requirement, rules, scenario=scenario, rules_file=rules_file)
    cover = solve_cover(problem, time_limit_s=time_limit_s)
    planned = planned_scenario_data(scenario, cover) if scenario is not None else None
    rnd = Round(1, _agent_hours(requirement), cover.cost, cover.agent_hours,
                cover.shortfall_agent_intervals, cover.status, 0, 0, 0, False)
    return Plan(cover=cover, first_cover=cover, requirement=requirement, erlang=requirement,
                erlang_agent_hours=_agent_hours(requirement), rounds=(rnd,), converged=True,
                verified=None, verified_queues=None, planned=planned, seed=0, reps=0,
                verify_seed=None, notes=("no simulation: the cover of the requirement as "
                                         "given",))


def plan_roster(scenario: Scenario, rules: PlanningSpec, *, rules_file: str | None = None,
                requirement: Requirement | None = None, reps: int = 5, seed: int = 1,
                confidence: float = 0.9, margin: float = 0.1, max_rounds: int = 8,
                time_limit_s: float = 60.0, verify_reps: int | None = None,
                min_contacts: float = MIN_CONTACTS, jobs: int = 1,
                dask_address: str | None = None,
                progress: Callable[[str, int, int], None] | None = None,
                mapper: Mapper | None = None) -> Plan:
    """The loop of the module docstring.  ``progress(stage, done, total)`` after each
    replication (and each cover, with total 0).  Replications run on ``mapper`` when given
    (a caller's executor, e.g. the review's), else on an executor of ``jobs`` or
    ``dask_address``."""
    if reps < 1:
        raise InputError(f"must be at least 1, got {reps}", field="--reps")
    if max_rounds < 1:
        raise InputError(f"must be at least 1, got {max_rounds}", field="--max-rounds")
    if not (0.5 <= confidence < 1.0):
        raise InputError(f"must be in [0.5, 1), got {confidence:g}", field="--confidence")
    if seed < 0:
        raise InputError(f"must be a whole number >= 0, got {seed}", field="--seed")
    if jobs < 1:
        raise InputError(f"must be at least 1, got {jobs}", field="--jobs")
    erlang = erlang_requirement(scenario)
    start = erlang if requirement is None else _align(requirement, scenario)
    if float(scenario.contacts.sum()) == 0.0:
        return cover_only(start, rules, scenario=scenario, rules_file=rules_file,
                          time_limit_s=time_limit_s)
    problem = build_problem(start, rules, scenario=scenario, rules_file=rules_file)
    verify_reps = verify_reps or 2 * reps
    notes: list[str] = []
    if problem.n_days > 1:
        notes.append(f"the horizon spans {problem.n_days} days: the cover books each day, but "
                     "scenario shifts repeat daily, so the simulated roster has, per shift, the "
                     "most agents any day books")

    def tell(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    req = start.agents.copy()
    floor = np.zeros_like(req)
    # Never below the pooled Erlang requirement (a requirement file: below itself).
    floor = np.minimum(req, pooled_floor(scenario, erlang, rules)) if requirement is None \
        else req.copy()
    rounds: list[Round] = []
    seen: dict[tuple, pd.DataFrame] = {}
    best: tuple[tuple[int, float], CoverResult, Requirement, Scenario, dict] | None = None
    first_cover: CoverResult | None = None
    converged = False
    with (contextlib.nullcontext(None) if mapper is not None else
          Executor(jobs=jobs, dask_address=dask_address)) as ex:
        run_on = mapper if mapper is not None else ex.map
        for k in range(1, max_rounds + 1):
            current = start.with_agents(req)
            tell(f"round {k}: cover", 0, 0)
            cover = solve_cover(build_problem(current, rules, scenario=scenario,
                                              rules_file=rules_file) if k > 1 else problem,
                                time_limit_s=time_limit_s)
            first_cover = first_cover or cover
            planned, data = _planned_scenario(scenario, cover)
            key = cover.roster_key()
            simulated = key not in seen
            if simulated:
                sim = simulate(planned, seed=seed, reps=reps, mapper=run_on,
                                      progress=lambda d, k=k: tell(f"round {k}: simulating",
                                                                   d, reps))
                seen[key] = judge(sim, confidence=confidence, min_contacts=min_contacts)
            judged = seen[key]
            misses = int(judged["miss"].sum())
            rank = (misses, cover.cost)
            if best is None or rank < best[0]:
                best = (rank, cover, current, planned, data)
            new, raised, lowered = _adjust(req, floor, judged, cover, start.queues,
                                           margin=margin)
            rounds.append(Round(k, _agent_hours(current), cover.cost, cover.agent_hours,
                                cover.shortfall_agent_intervals, cover.status, misses,
                                raised, lowered, simulated))
            if raised == 0 and lowered == 0:
                converged = misses == 0
                break
            req = new
        assert best is not None and first_cover is not None
        (left, _), cover, current, planned, data = best
        if left:
            notes.append(f"no round met every judged interval's targets in {len(rounds)} "
                         f"rounds: the roster with the fewest misses ({left}) is shown (raise "
                         "--max-rounds, or the rules may not allow enough agents: see the "
                         "shortfall)")
        verify_seed = seed + VERIFY_SEED_OFFSET
        sim = simulate(planned, seed=verify_seed, reps=verify_reps, mapper=run_on,
                              progress=lambda d: tell("verifying (fresh seeds)", d,
                                                      verify_reps))
    verified = judge(sim, confidence=confidence, min_contacts=min_contacts)
    return Plan(cover=cover, first_cover=first_cover, requirement=current, erlang=erlang,
                erlang_agent_hours=_agent_hours(erlang), rounds=tuple(rounds),
                converged=converged, verified=verified,
                verified_queues=verified_summary(sim, verified), planned=data, seed=seed,
                reps=reps, verify_seed=verify_seed, notes=tuple(notes))
