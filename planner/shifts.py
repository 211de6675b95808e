"""The cover: the cheapest bookable shifts that staff a requirement per interval and queue.

Model (an integer programme solved by HiGHS through :func:`scipy.optimize.milp`)
--------------------------------------------------------------------------------
Time is cut into *slots* of ``slot_min`` minutes, the largest step on which every interval,
shift start, length, break and overtime step lies.  Over a horizon of ``D`` days the slots form
a cycle of ``D`` days: a shift that crosses the end wraps to the start, as the scenario's shifts
repeat daily (with ``D = 1`` this is exactly how the simulator rosters them).

Variables, all >= 0:

- ``n[c]`` integer: agents booked on candidate shift ``c`` = (group, pattern, start, length,
  day); every (start, length) pair of a pattern, on every day of the horizon (a per-day choice);
- ``y[c, b, o]`` integer: agents of ``c`` taking break ``b`` at offset ``o`` into the shift,
  ``sum_o y[c, b, o] = n[c]`` (break windows of a pattern do not overlap, so any such counts
  can be given to agents one break combination each);
- ``v[k, d, e]`` integer: agents of kept shift ``k`` who work ``e`` minutes of overtime on day
  ``d``, ``sum_e v[k, d, e] <= agents of k``;
- ``x[g, q, t]`` continuous: the part of group ``g``'s on-duty agents serving queue ``q`` in
  slot ``t`` (only for the group's skills): ``sum_q x[g, q, t] <= on_duty(g, t)``, so a
  cross-skilled agent counts once, never towards two queues at the same time.  The allocation
  is a transportation problem with integer supplies and demands, so continuous ``x`` loses
  nothing;
- ``short[q, t]`` continuous, at most ``required[q, t]``:
  ``sum_g x[g, q, t] + short[q, t] >= required[q, t]``.

The same demand has a second form with no allocation columns: by Hall's theorem the agents
on duty admit such an allocation if and only if every set ``S`` of queues needs no more than
the groups serving any of them have, ``sum_{q in S} (required - short) <= sum_{g in N(S)}
on_duty(g, t)``; only the sets closed under their groups and connected by them are needed, a
handful for a team's few queues (:func:`_demand_form`).  Its rows are in whole agents, which
lets HiGHS round its cuts: a week that the allocation form leaves 0.3% from proved after 30 s
proves in seconds.  Both forms have the same plans and the same optimum; the allocation form
finds the first plan and searches briefly, and the parts it leaves open are searched in the
Hall form, seeded with that plan (:class:`planner.cover_search.HallPart`).  The allocation reported per queue is
then computed from the agents on duty (:func:`_allocate`).

``on_duty(g, t)`` = kept roster (breaks out) + booked agents on shift minus those on break +
overtime agents.  ``max_agents`` caps agents *at work* (breaks in) of the group, kept roster
included.  Objective: ``cost_per_hour x`` the whole paid length of each booked shift (breaks
are paid) + ``overtime_cost x`` overtime hours + a penalty per agent-slot short that is larger
than the cost of any shift, so the cover fills every slot it can and returns the rest as
shortfall instead of failing.  The result is optimal for this model (status ``optimal``, within
HiGHS's relative gap ``mip_rel_gap``) or the best found in ``time_limit_s`` (``time_limit``,
with the gap to the best lower bound known).  The programme is cut into its independent parts
(the connected components of its constraint matrix: the days of a week that no shift, break or
overtime joins), each solved and proved apart, as the sum of their optima is the optimum; when
every cost is a whole number of some unit (a tenth, say) the costs are counted in that unit and
the shortfall made integer, so that HiGHS rounds its bounds up and proves in seconds what a
fractional objective leaves open for minutes.  Each part is searched in steps (LP relaxation,
agents fixed to it rounded, then the whole part pruned by that plan; see :class:`planner.cover_search.Part`), the
long searches in a child process stopped at the time limit.

What the model does not know: the requirement is taken as given (the Erlang table or a file);
whether the roster meets the targets is checked by simulation (:mod:`planner.plan`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import sparse
from scipy.optimize import LinearConstraint

from planner import cover_search as search
from sim.errors import InputError
from sim.planning import DAY_MIN, PlanningSpec, check_planning
from sim.scenario import Scenario, ShiftSpec, clock_to_min

__all__ = ["Requirement", "CoverProblem", "Candidate", "KeptShift", "BookedShift", "Overtime",
           "CoverResult", "build_problem", "solve_cover", "requirement_from_erlang",
           "read_requirement", "planned_scenario_data", "write_planned_yaml",
           "SHIFT_COLUMNS", "COVERAGE_COLUMNS", "GROUP_COLUMNS"]

SHIFT_COLUMNS = {
    "day": "date the shift starts on",
    "group": "agent group",
    "pattern": "pattern booked on ('overtime': a kept shift made longer)",
    "start": "clock time the shift starts (overtime: the kept shift's start)",
    "end": "clock time it ends (an end at or before the start crosses midnight)",
    "agents": "agents on the shift",
    "breaks": "break starts with minutes and agents ('13:00 45m x3; 13:30 45m x2')",
    "hours": "paid agent-hours: agents x whole length (overtime: the extra hours)",
    "cost": "hours x cost per hour (overtime: at the overtime cost)",
}
COVERAGE_COLUMNS = {
    "interval_start": "start of the interval",
    "queue": "queue id",
    "required": "agents required (mean over the interval's slots)",
    "planned": "on-duty agents serving the queue (a group's spare agents shared among its "
               "skills in proportion to their requirement)",
    "gap": "required - planned (above 0: short)",
    "short": "agents short in the cover (mean over the interval's slots)",
}
GROUP_COLUMNS = {
    "interval_start": "start of the interval",
    "group": "agent group",
    "on_duty": "agents on the floor, breaks excluded (mean over the interval)",
    "at_work": "agents at work, breaks included (mean over the interval)",
    "kept": "of on_duty, agents of the kept roster (their overtime excluded)",
}


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Requirement:
    """Agents required per interval and queue: ``agents[q, i]`` for ``queues[q]`` and interval
    ``i`` of ``interval_min`` minutes from ``start``."""

    start: pd.Timestamp
    interval_min: float
    queues: tuple[str, ...]
    agents: np.ndarray = field(repr=False)
    source: str = "requirement"

    @property
    def n_intervals(self) -> int:
        return int(self.agents.shape[1])

    @property
    def interval_starts(self) -> pd.DatetimeIndex:
        return pd.date_range(self.start, periods=self.n_intervals,
                             freq=pd.Timedelta(minutes=self.interval_min))

    def frame(self) -> pd.DataFrame:
        """Columns ``interval_start``, ``queue``, ``agents``."""
        starts = self.interval_starts
        return pd.DataFrame({"interval_start": np.tile(starts, len(self.queues)),
                             "queue": np.repeat(self.queues, self.n_intervals),
                             "agents": self.agents.reshape(-1)}
                            ).sort_values(["interval_start", "queue"], kind="stable"
                                          ).reset_index(drop=True)

    def with_agents(self, agents: np.ndarray) -> Requirement:
        return Requirement(start=self.start, interval_min=self.interval_min, queues=self.queues,
                           agents=np.asarray(agents, dtype=float), source=self.source)


def requirement_from_erlang(table: pd.DataFrame, *, start: pd.Timestamp, interval_min: float,
                            n_intervals: int, source: str) -> Requirement:
    """A :class:`Requirement` from :func:`planner.staffing.staffing_table` (its ``agents``)."""
    queues = tuple(sorted(table["queue"].unique()))
    starts = pd.date_range(start, periods=n_intervals, freq=pd.Timedelta(minutes=interval_min))
    wide = table.pivot(index="queue", columns="interval_start", values="agents")
    wide = wide.reindex(index=list(queues), columns=starts).fillna(0.0)
    return Requirement(start=pd.Timestamp(start), interval_min=interval_min, queues=queues,
                       agents=wide.to_numpy(dtype=float), source=source)


def read_requirement(path: str | Path) -> Requirement:
    """A requirement CSV (columns ``interval_start``, ``queue``, ``agents``); intervals evenly
    spaced, a missing row is 0 agents.  Problems are :class:`InputError` naming the line."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found (expected a requirement CSV)", file=path)
    expected = "expected a CSV with columns interval_start,queue,agents"
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV ({type(exc).__name__}; {expected})",
                         file=path) from None
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in ("interval_start", "queue", "agents") if c not in raw.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} ({expected})", file=path)
    extra = [c for c in raw.columns if c not in ("interval_start", "queue", "agents")]
    if extra:
        raise InputError(f"unknown column {extra[0]!r} ({expected})", file=path)
    if raw.empty:
        raise InputError(f"no rows ({expected})", file=path)
    starts = pd.to_datetime(raw["interval_start"].str.strip(), errors="coerce")
    bad = starts.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"line {i + 2}: expected a date-time like 2026-11-11T00:00, got "
                         f"{raw['interval_start'].iloc[i]!r}", file=path,
                         field="interval_start")
    agents = pd.to_numeric(raw["agents"].str.strip(), errors="coerce")
    bad = agents.isna() | ~(agents >= 0) | ~np.isfinite(agents.fillna(0.0))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"line {i + 2}: expected a non-negative number of agents, got "
                         f"{raw['agents'].iloc[i]!r}", file=path, field="agents")
    queue = raw["queue"].str.strip()
    if (queue == "").any():
        i = int(np.flatnonzero((queue == "").to_numpy())[0])
        raise InputError(f"line {i + 2}: empty queue id", file=path, field="queue")
    frame = pd.DataFrame({"interval_start": starts, "queue": queue, "agents": agents})
    dup = frame.duplicated(["interval_start", "queue"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"line {i + 2}: a second row for the same interval and queue",
                         file=path, field="interval_start")
    unique = np.sort(frame["interval_start"].unique())
    if len(unique) == 1:
        raise InputError("one interval only: the interval length cannot be read (give at "
                         "least two intervals)", file=path, field="interval_start")
    steps = np.diff(unique).astype("timedelta64[s]").astype(float) / 60.0
    step = float(steps.min())
    if not np.allclose(steps / step, np.round(steps / step)):
        raise InputError(f"intervals are not evenly spaced (the smallest step is {step:g} "
                         "min)", file=path, field="interval_start")
    first = pd.Timestamp(unique[0])
    n = int(round((pd.Timestamp(unique[-1]) - first).total_seconds() / 60.0 / step)) + 1
    queues = tuple(sorted(frame["queue"].unique()))
    matrix = np.zeros((len(queues), n))
    qi = frame["queue"].map({q: i for i, q in enumerate(queues)}).to_numpy()
    ii = np.round((frame["interval_start"] - first).dt.total_seconds().to_numpy() / 60.0
                  / step).astype(int)
    matrix[qi, ii] = frame["agents"].to_numpy(dtype=float)
    return Requirement(start=first, interval_min=step, queues=queues, agents=matrix,
                       source=str(path))


# --------------------------------------------------------------------------------------------
# The problem
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeptShift:
    """A shift of the kept roster: ``index`` into its group's ``shifts``."""

    group: str
    index: int
    spec: ShiftSpec


@dataclass(frozen=True)
class Candidate:
    """A shift that can be booked: clock ``start_min``, ``length_min``, on day ``day`` of the
    horizon; ``breaks[b]`` = (minutes, offsets into the shift where it may start)."""

    group: str
    pattern: str
    day: int
    start_min: int
    length_min: int
    breaks: tuple[tuple[int, tuple[int, ...]], ...]


@dataclass(frozen=True)
class CoverProblem:
    """The cover's data on a slot grid (see the module docstring).

    ``kept_duty[g, t]`` / ``kept_work[g, t]``: the kept roster's agents of ``groups[g]`` on
    the floor / at work in slot ``t`` (time averages: spread breaks may end inside a slot).
    """

    requirement: Requirement
    rules: PlanningSpec
    slot_min: int
    grid_min: int
    n_days: int
    offset_min: int
    groups: tuple[str, ...]
    skills: Mapping[str, tuple[str, ...]]
    kept: tuple[KeptShift, ...]
    kept_duty: np.ndarray = field(repr=False)
    kept_work: np.ndarray = field(repr=False)
    candidates: tuple[Candidate, ...] = field(repr=False)

    @property
    def n_slots(self) -> int:
        return int(round(self.requirement.n_intervals * self.requirement.interval_min
                         / self.slot_min))

    @property
    def cycle_slots(self) -> int:
        return self.n_days * DAY_MIN // self.slot_min

    @property
    def slots_per_interval(self) -> int:
        return int(round(self.requirement.interval_min / self.slot_min))

    def required_slots(self) -> np.ndarray:
        """``required[q, t]`` per slot (the interval's requirement in each of its slots)."""
        return np.repeat(self.requirement.agents, self.slots_per_interval, axis=1)

    def stretch(self, start_min: float, end_min: float) -> np.ndarray:
        """Share of each horizon slot inside [start, end) (minutes from the horizon start,
        wrapped around the cycle of days)."""
        n, u, cyc = self.n_slots, float(self.slot_min), float(self.n_days * DAY_MIN)
        out = np.zeros(n)
        if end_min <= start_min:
            return out
        a = start_min % cyc
        b = a + (end_min - start_min)
        edges = np.arange(n + 1) * u
        for shift in (0.0, -cyc, cyc):  # a stretch may wrap once; lengths are below a cycle
            lo, hi = a + shift, b + shift
            if hi <= 0 or lo >= n * u:
                continue
            out += np.clip(np.minimum(hi, edges[1:]) - np.maximum(lo, edges[:-1]), 0.0, None)
        return np.minimum(out / u, 1.0)

    def occurrence_min(self, *, day: int, clock_min: float) -> float:
        """Minutes from the horizon start to clock ``clock_min`` on day ``day``."""
        return day * DAY_MIN + clock_min - self.offset_min


def _gcd(values: Sequence[float]) -> int:
    ints = [int(round(v)) for v in values if round(v) > 0]
    return reduce(math.gcd, ints) if ints else 1


def build_problem(requirement: Requirement, rules: PlanningSpec, *,
                  scenario: Scenario | None = None, rules_file: str | None = None
                  ) -> CoverProblem:
    """Candidates, kept roster and slot grid of a cover (rules checked here, with key
    paths naming ``rules_file``)."""
    where = rules_file or (scenario.source if scenario is not None else "rules")
    prefix = "planning" if rules_file is None else ""
    queues = tuple(scenario.queues) if scenario is not None else None
    sgroups = ({g: tuple(s.skills) for g, s in scenario.spec.agent_groups.items()}
               if scenario is not None else None)
    check_planning(rules, file=where, prefix=prefix, grid_min=requirement.interval_min,
                   queues=queues, groups=sgroups)
    interval = requirement.interval_min
    if not float(interval).is_integer():
        raise InputError(f"planning needs whole-minute intervals, got {interval:g} min",
                         file=requirement.source)
    start = pd.Timestamp(requirement.start)
    if start.second or start.microsecond:
        raise InputError("planning needs intervals starting on whole minutes",
                         file=requirement.source)
    offset = start.hour * 60 + start.minute
    grid = int(rules.interval_min if rules.interval_min is not None else interval)
    horizon_min = requirement.n_intervals * interval
    n_days = max(1, math.ceil(horizon_min / DAY_MIN - 1e-9))

    skills: dict[str, tuple[str, ...]] = {}
    if sgroups is not None:
        skills.update(sgroups)
    for g, spec in rules.groups.items():
        if spec.skills is not None:
            skills[g] = tuple(spec.skills)
    groups = tuple(skills)

    kept: list[KeptShift] = []
    if scenario is not None and rules.keep == "roster":
        for g, gs in scenario.spec.agent_groups.items():
            kept.extend(KeptShift(g, i, s) for i, s in enumerate(gs.shifts))

    steps: list[float] = [interval, offset, grid, DAY_MIN]
    candidates: list[Candidate] = []
    for g, gspec in rules.groups.items():
        for pname in gspec.patterns:
            pat = rules.patterns[pname]
            starts = pat.start_mins(grid)
            breaks: list[tuple[int, tuple[int, ...]]] = []
            for b in pat.breaks:
                step = b.every_min or grid
                lo, hi = b.from_h * 60.0, b.to_h * 60.0
                offs = tuple(int(round(lo + i * step))
                             for i in range(int(math.floor((hi - lo) / step + 1e-9)) + 1))
                breaks.append((int(b.minutes), offs))
                steps.extend([b.minutes, *offs])
            steps.extend(starts)
            for length_h in pat.lengths_h:
                length = int(round(length_h * 60.0))
                steps.append(length)
                for day in range(n_days):
                    for s in starts:
                        candidates.append(Candidate(g, pname, day, s, length, tuple(breaks)))
    slot = _gcd(steps)

    problem = CoverProblem(requirement=requirement, rules=rules, slot_min=slot, grid_min=grid,
                           n_days=n_days, offset_min=offset, groups=groups, skills=skills,
                           kept=tuple(kept), kept_duty=np.zeros(0), kept_work=np.zeros(0),
                           candidates=tuple(candidates))
    duty = np.zeros((len(groups), problem.n_slots))
    work = np.zeros_like(duty)
    for k in kept:
        gi = groups.index(k.group)
        s = k.spec
        for day in range(n_days):
            t0 = problem.occurrence_min(day=day, clock_min=s.start_min)
            at_work = problem.stretch(t0, t0 + s.length_min)
            work[gi] += s.agents * at_work
            duty[gi] += s.agents * at_work
            for j in range(s.agents):
                # As sim.agents.build_roster: break starts spread evenly over window_min.
                for b in s.breaks:
                    off = (clock_to_min(b.start) - s.start_min) % DAY_MIN \
                        + b.window_min * j / s.agents
                    duty[gi] -= problem.stretch(t0 + off, t0 + off + b.minutes)
    duty = np.clip(duty, 0.0, None)
    return _replace(problem, kept_duty=duty, kept_work=work)


def _replace(problem: CoverProblem, **changes: Any) -> CoverProblem:
    import dataclasses

    return dataclasses.replace(problem, **changes)


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BookedShift:
    """Agents booked on a candidate; ``breaks[b]`` = ((offset_min, agents), ...) for break
    ``b`` of ``minutes[b]``."""

    candidate: Candidate
    agents: int
    breaks: tuple[tuple[tuple[int, int], ...], ...]
    cost: float

    @property
    def hours(self) -> float:
        return self.agents * self.candidate.length_min / 60.0


@dataclass(frozen=True)
class Overtime:
    """``agents`` of a kept shift working ``extra_min`` minutes longer on day ``day``."""

    kept: KeptShift
    day: int
    extra_min: int
    agents: int
    cost: float

    @property
    def hours(self) -> float:
        return self.agents * self.extra_min / 60.0


@dataclass(frozen=True)
class CoverResult:
    """A solved cover.

    ``objective``: the solver's (cost plus the shortfall penalty; with ``relax``, the LP
    relaxation's: a lower bound).  ``status``: ``optimal`` (proved, within ``mip_rel_gap``),
    ``time_limit`` (the best plan found in the time allowed, not proved optimal) or
    ``no_solution`` (the solver found none in time: nothing is booked).  ``cost`` and
    ``agent_hours`` count booked shifts (whole paid length) and overtime;
    ``kept_agent_hours`` the kept roster.  ``shifts``: :data:`SHIFT_COLUMNS`;
    ``coverage``: :data:`COVERAGE_COLUMNS`; ``group_coverage``:
    :data:`GROUP_COLUMNS`; ``shortfall``: the rows of ``coverage`` with ``short`` > 0;
    ``shortfall_agent_intervals``: agents short summed over intervals (slot shares counted).
    """

    status: str
    message: str
    mip_gap: float
    solve_s: float
    objective: float
    cost: float
    agent_hours: float
    kept_agent_hours: float
    shortfall_agent_intervals: float
    booked: tuple[BookedShift, ...]
    overtime: tuple[Overtime, ...]
    shifts: pd.DataFrame
    coverage: pd.DataFrame
    group_coverage: pd.DataFrame
    problem: CoverProblem = field(repr=False)

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"

    @property
    def shortfall(self) -> pd.DataFrame:
        return self.coverage[self.coverage["short"] > 1e-9].reset_index(drop=True)

    def roster_key(self) -> tuple:
        """Equal for equal rosters (to skip simulating a roster twice)."""
        return (tuple((b.candidate, b.agents, b.breaks) for b in self.booked),
                tuple((o.kept.group, o.kept.index, o.day, o.extra_min, o.agents)
                      for o in self.overtime))


class _Builder:
    """Columns (variables) and rows (constraints) of a sparse programme."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.integer: list[int] = []
        self.upper: list[float] = []
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    def var(self, cost: float, *, integer: bool, upper: float = np.inf) -> int:
        self.cost.append(cost)
        self.integer.append(1 if integer else 0)
        self.upper.append(upper)
        return len(self.cost) - 1

    def row(self, lo: float, hi: float) -> int:
        self.lo.append(lo)
        self.hi.append(hi)
        return len(self.lo) - 1

    def add(self, row: int, col: int, val: float) -> None:
        self.rows.append(row)
        self.cols.append(col)
        self.vals.append(val)

    def add_vector(self, rows: np.ndarray, col: int, vals: np.ndarray) -> None:
        self.rows.extend(rows.tolist())
        self.cols.extend([col] * len(rows))
        self.vals.extend(vals.tolist())


_HALL_MAX_QUEUES = 10  # queues active in a slot up to which Hall's sets are enumerated
_HALL_MAX_SETS = 64    # and the sets, per slot, up to which they replace the allocation


def _demand_form(active: tuple[int, ...], qgroups: Sequence[tuple[int, ...]]
                 ) -> tuple[str, list[tuple[tuple[int, ...], tuple[int, ...]]]]:
    """How a slot's demand enters the programme, given its queues with a requirement.

    The agents on duty per group admit an allocation to the queues leaving ``short[q]`` of
    each requirement uncovered if and only if (Hall's theorem, for this transportation
    problem) every set ``S`` of queues needs no more than the groups that serve any of them
    have: ``sum_{q in S} (req - short) <= sum_{g in N(S)} on_duty``.  Only the sets closed
    under their groups (every queue that only those groups serve) and connected by them are
    needed (with ``short <= req`` the others follow).  For the few queues and groups of a team
    these rows replace the allocation variables, and every row is then in whole numbers of
    agents, which lets the solver round its cuts; with many queues the allocation ``x[g, q]``
    stays (``("x", [])``)."""
    staffed = [q for q in active if qgroups[q]]
    if len(staffed) > _HALL_MAX_QUEUES:
        return "x", []
    sets: dict[frozenset[int], tuple[int, ...]] = {}
    for mask in range(1, 1 << len(staffed)):
        chosen = [staffed[i] for i in range(len(staffed)) if mask >> i & 1]
        gs = frozenset().union(*(qgroups[q] for q in chosen))
        if gs in sets:
            continue
        closed = tuple(q for q in staffed if set(qgroups[q]) <= gs)
        sets[gs] = closed if _connected(closed, qgroups) else ()
        if len(sets) > 4 * _HALL_MAX_SETS:
            return "x", []
    out = [(qs, tuple(sorted(gs))) for gs, qs in sets.items() if qs]
    if len(out) > _HALL_MAX_SETS:
        return "x", []
    return "hall", out


def _connected(qs: Sequence[int], qgroups: Sequence[tuple[int, ...]]) -> bool:
    """Whether the queues ``qs`` are joined by groups serving two of them (in steps)."""
    if not qs:
        return False
    reach, frontier = {qs[0]}, [qs[0]]
    while frontier:
        q = frontier.pop()
        for other in qs:
            if other not in reach and set(qgroups[q]) & set(qgroups[other]):
                reach.add(other)
                frontier.append(other)
    return len(reach) == len(qs)


def _allocate(problem: CoverProblem, on_duty: np.ndarray, req: np.ndarray
              ) -> tuple[dict[tuple[int, int], np.ndarray], np.ndarray]:
    """The least shortfall allocation of the agents on duty per group and slot to the queues
    (a transportation problem per slot, solved as one LP), no queue given more than its
    requirement: ``x[(g, q)]`` per slot and the shortfall ``short[q, t]`` (``sum_g x + short =
    req``)."""
    groups, queues = problem.groups, problem.requirement.queues
    nq, n = req.shape
    pairs = [(gi, q) for gi, g in enumerate(groups) for q in range(nq)
             if queues[q] in problem.skills[g]]
    nx = len(pairs) * n
    nv = nx + nq * n
    rows, cols, vals = [], [], []
    slots = np.arange(n)
    for j, (gi, q) in enumerate(pairs):
        xc = j * n + slots
        rows += [q * n + slots, nq * n + gi * n + slots]   # demand row; group row
        cols += [xc, xc]
        vals += [np.ones(n), np.ones(n)]
    rows.append(slots[None, :] + n * np.arange(nq)[:, None])
    cols.append(nx + np.arange(nq * n))
    vals.append(np.ones(nq * n))
    flat = [np.ravel(r) for r in rows]
    a = sparse.csr_matrix((np.concatenate([np.ravel(v) for v in vals]),
                           (np.concatenate(flat), np.concatenate([np.ravel(c) for c in cols]))),
                          shape=(nq * n + len(groups) * n, nv))
    lo = np.concatenate((req.reshape(-1), np.full(len(groups) * n, -np.inf)))
    hi = np.concatenate((req.reshape(-1), np.clip(on_duty, 0.0, None).reshape(-1)))
    cost = np.concatenate((np.zeros(nx), np.ones(nq * n)))
    res = search.run_milp(cost, np.zeros(nv), np.zeros(nv), np.full(nv, np.inf),
                [LinearConstraint(a, lo, hi)], {"disp": False})
    x = res.x if res.x is not None else np.concatenate((np.zeros(nx), req.reshape(-1)))
    alloc = {(gi, q): x[j * n:(j + 1) * n] for j, (gi, q) in enumerate(pairs)}
    return alloc, np.clip(x[nx:].reshape(nq, n), 0.0, None)


def _penalty_per_slot(problem: CoverProblem) -> float:
    """Larger than the cost of any one shift or overtime block, so covering a slot that can be
    covered always beats leaving it short."""
    worst = 1.0
    for c in problem.candidates:
        worst = max(worst, problem.rules.groups[c.group].cost_per_hour * c.length_min / 60.0)
    for g, spec in problem.rules.groups.items():
        worst = max(worst, spec.overtime_cost_per_hour * spec.overtime_h)
    return 100.0 * worst


@dataclass
class _Programme:
    """One form of the cover's programme: columns, rows, and where the plan lies in them.
    ``common``: the columns both forms share (all but the allocation ``x``), in the order they
    were made, so that a plan in one form is a plan in the other; ``alloc``: the allocation
    columns by (slot, group, queue), in the slots that have them."""

    cost: np.ndarray
    integer: np.ndarray
    upper: np.ndarray
    a: sparse.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    shift_col: np.ndarray
    short: np.ndarray
    common: np.ndarray
    alloc: dict[tuple[int, int, int], int]
    cand_cols: list[tuple[Candidate, int]]
    break_plan: list[tuple[str, Any]]
    ot_cols: list[tuple[KeptShift, int, int, int, float]]


def _programme(problem: CoverProblem, form: str) -> _Programme:
    """The programme of the cover with the demand of each slot as an allocation
    (``form="x"``: ``x[g, q, t]`` columns) or, where the slot's queues allow, as Hall's
    conditions (``form="hall"``: no allocation columns; see :func:`_demand_form`)."""
    req = problem.required_slots()
    nq, n = req.shape
    queues = problem.requirement.queues
    groups = problem.groups
    rules = problem.rules
    b = _Builder()
    penalty = _penalty_per_slot(problem)

    # Demand, slot by slot: the agents on duty of each group must admit an allocation to the
    # queues that leaves at most ``short`` of each requirement uncovered (see _demand_form).
    short = -np.ones((nq, n), dtype=np.int64)
    for q in range(nq):
        for t in np.flatnonzero(req[q] > 1e-12):
            short[q, t] = b.var(penalty, integer=False, upper=float(req[q, t]))
    qgroups = [tuple(gi for gi, g in enumerate(groups) if q in problem.skills[g])
               for q in queues]
    cap_t: list[list[int]] = [[] for _ in groups]   # slot, row, coefficient sign of the rows
    cap_r: list[list[int]] = [[] for _ in groups]   # that a group's agents on duty enter
    cap_s: list[list[float]] = [[] for _ in groups]
    forms: dict[tuple[int, ...], Any] = {}
    alloc_cols: list[int] = []
    alloc: dict[tuple[int, int, int], int] = {}
    for t in range(n):
        active = tuple(int(q) for q in np.flatnonzero(req[:, t] > 1e-12))
        if not active:
            continue
        if active not in forms:
            forms[active] = _demand_form(active, qgroups) if form == "hall" else ("x", [])
        kind, sets = forms[active]
        for q in active:
            if not qgroups[q]:  # nobody can serve it: all short
                r = b.row(float(req[q, t]), np.inf)
                b.add(r, short[q, t], 1.0)
        if kind == "hall":
            # sum_{q in S} short + sum_{g in N(S)} on_duty >= sum_{q in S} req, per set S.
            for qs, gs in sets:
                rhs = float(req[list(qs), t].sum() - problem.kept_duty[list(gs), t].sum())
                if rhs <= 1e-12:
                    continue  # the kept roster covers it
                r = b.row(rhs, np.inf)
                for q in qs:
                    b.add(r, short[q, t], 1.0)
                for gi in gs:
                    cap_t[gi].append(t)
                    cap_r[gi].append(r)
                    cap_s[gi].append(1.0)
        else:
            # x[g, q, t]: sum_g x + short >= req;  sum_q x - on_duty <= kept_duty.
            demand = {}
            for q in active:
                if qgroups[q]:
                    demand[q] = r = b.row(float(req[q, t]), np.inf)
                    b.add(r, short[q, t], 1.0)
            for gi in {gi for q in demand for gi in qgroups[q]}:
                r = b.row(-np.inf, float(problem.kept_duty[gi, t]))
                cap_t[gi].append(t)
                cap_r[gi].append(r)
                cap_s[gi].append(-1.0)
                for q in demand:
                    if gi in qgroups[q]:
                        c = b.var(0.0, integer=False)
                        alloc_cols.append(c)
                        alloc[(t, gi, q)] = c
                        b.add(r, c, 1.0)
                        b.add(demand[q], c, 1.0)
    duty_rows = [(np.asarray(ts, dtype=np.int64), np.asarray(rs, dtype=np.int64),
                  np.asarray(ss, dtype=float)) for ts, rs, ss in zip(cap_t, cap_r, cap_s)]
    # Heads rows: booked + overtime at work <= max_agents - kept at work.
    heads = -np.ones((len(groups), n), dtype=np.int64)
    for gi, g in enumerate(groups):
        spec = rules.groups.get(g)
        if spec is None or spec.max_agents is None:
            continue
        for t in range(n):
            room = max(0.0, spec.max_agents - float(problem.kept_work[gi, t]))
            heads[gi, t] = b.row(-np.inf, room)

    def cover_rows(gi: int, cover: np.ndarray, col: int, sign: float, *,
                   at_work: bool) -> None:
        """Column ``col`` puts ``sign x cover`` agents on duty in group ``gi`` (and, if
        ``at_work``, ``cover`` at work)."""
        ts, rs, ss = duty_rows[gi]
        c = cover[ts]
        m = c > 1e-12
        b.add_vector(rs[m], col, sign * ss[m] * c[m])
        if at_work:
            tw = np.flatnonzero(cover > 1e-12)
            h = heads[gi, tw]
            mh = h >= 0
            b.add_vector(h[mh], col, cover[tw][mh])

    # Booked shifts.
    cand_cols: list[tuple[Candidate, int]] = []
    for cand in problem.candidates:
        gi = groups.index(cand.group)
        t0 = problem.occurrence_min(day=cand.day, clock_min=cand.start_min)
        cover = problem.stretch(t0, t0 + cand.length_min)
        if not cover.any():
            continue
        cost = rules.groups[cand.group].cost_per_hour * cand.length_min / 60.0
        col = b.var(cost, integer=True)
        cover_rows(gi, cover, col, 1.0, at_work=True)
        cand_cols.append((cand, col))
    # Their breaks, per family of shifts that take the same break (group, pattern, break).
    families: dict[tuple[str, str, int], list[int]] = {}
    for k, (cand, _) in enumerate(cand_cols):
        for bi in range(len(cand.breaks)):
            families.setdefault((cand.group, cand.pattern, bi), []).append(k)
    break_plan: list[tuple[str, Any]] = []
    for (g, _, bi), members in families.items():
        gi = groups.index(g)
        minutes = cand_cols[members[0]][0].breaks[bi][0]
        t0s = {k: problem.occurrence_min(day=cand_cols[k][0].day,
                                         clock_min=cand_cols[k][0].start_min) for k in members}
        windows = {k: [t0s[k] + off for off in cand_cols[k][0].breaks[bi][1]] for k in members}
        times = sorted({t for w in windows.values() for t in w})
        pos = {t: i for i, t in enumerate(times)}
        convex = all(pos[w[-1]] - pos[w[0]] == len(w) - 1 for w in windows.values())
        if convex:
            info = _pooled_breaks(b, members, windows, times, minutes, gi, cand_cols,
                                  problem, cover_rows)
            break_plan.append(("pooled", {**info, "bi": bi, "t0": t0s}))
        else:
            # Break starts that interleave (shifts on a finer grid than their breaks): one
            # variable per shift and break start.
            per = {}
            for k in members:
                link = b.row(0.0, 0.0)
                b.add(link, cand_cols[k][1], -1.0)
                cols = []
                for t in windows[k]:
                    y = b.var(0.0, integer=True)
                    b.add(link, y, 1.0)
                    cover_rows(gi, problem.stretch(t, t + minutes), y, -1.0, at_work=False)
                    cols.append((t - t0s[k], y))
                per[k] = cols
            break_plan.append(("own", (bi, per)))
    # Overtime of kept shifts.
    ot_cols: list[tuple[KeptShift, int, int, int, float]] = []
    for k in problem.kept:
        spec = rules.groups.get(k.group)
        if spec is None or spec.overtime_h <= 0 or k.spec.agents == 0:
            continue
        gi = groups.index(k.group)
        steps = int(math.floor(spec.overtime_h * 60.0 / problem.grid_min + 1e-9))
        for day in range(problem.n_days):
            end = problem.occurrence_min(day=day, clock_min=k.spec.start_min) \
                + k.spec.length_min
            cap = b.row(-np.inf, float(k.spec.agents))
            for e in range(1, steps + 1):
                extra = e * problem.grid_min
                cover = problem.stretch(end, end + extra)
                if not cover.any():
                    continue
                cost = spec.overtime_cost_per_hour * extra / 60.0
                col = b.var(cost, integer=True, upper=float(k.spec.agents))
                b.add(cap, col, 1.0)
                cover_rows(gi, cover, col, 1.0, at_work=True)
                ot_cols.append((k, day, extra, col, cost))

    nv = len(b.cost)
    shift_col = np.zeros(nv, dtype=bool)
    shift_col[[col for _, col in cand_cols]] = True
    common = np.ones(nv, dtype=bool)
    common[alloc_cols] = False
    return _Programme(cost=np.asarray(b.cost, dtype=float), integer=np.asarray(b.integer),
                      upper=np.asarray(b.upper, dtype=float),
                      a=sparse.csr_matrix((b.vals, (b.rows, b.cols)), shape=(len(b.lo), nv)),
                      lo=np.asarray(b.lo, dtype=float), hi=np.asarray(b.hi, dtype=float),
                      shift_col=shift_col, short=short, common=np.flatnonzero(common),
                      alloc=alloc, cand_cols=cand_cols, break_plan=break_plan,
                      ot_cols=ot_cols)


def solve_cover(problem: CoverProblem, *, time_limit_s: float = 60.0,
                mip_rel_gap: float = 1e-6, relax: bool = False) -> CoverResult:
    """The cheapest cover of ``problem`` (see the module docstring).  ``relax``: solve the LP
    relaxation instead (fractional agents: a lower bound on the cost, and a baseline for
    timings); its shifts are then rounded down and not a plan."""
    if not (time_limit_s > 0):
        raise InputError(f"must be a positive number of seconds, got {time_limit_s:g}",
                         field="--time-limit-s")
    req = problem.required_slots()
    nq, n = req.shape
    px = _programme(problem, "x")
    cost, upper, integer, a = px.cost, px.upper, px.integer, px.a
    row_lo, row_hi, short, shift_col = px.lo, px.hi, px.short, px.shift_col
    cand_cols, break_plan, ot_cols = px.cand_cols, px.break_plan, px.ot_cols
    nv = cost.size
    started = time.perf_counter()
    short_req = np.zeros(nv)  # the fallback: book nothing, the requirement short
    for q in range(nq):
        m = short[q] >= 0
        short_req[short[q][m]] = req[q][m]
    if relax:
        res = search.run_milp(cost, np.zeros(nv), np.zeros(nv), upper,
                    [LinearConstraint(a, row_lo, row_hi)] if a.shape[0] else [],
                    {"time_limit": float(time_limit_s), "disp": False})
        sol = np.asarray(res.x) if res.x is not None else short_req
        status = "optimal" if res.status == 0 else f"status_{res.status}"
        gap, objective, message = 0.0, float(res.fun) if res.x is not None else np.nan, \
            str(res.message)
    else:
        # Costs on a common unit (a tenth of a cost unit, say) make every plan's cost a whole
        # number of units: HiGHS then rounds its bounds up, which closes the last fraction of
        # the gap that otherwise takes it minutes.  The shortfall may then be integer too: with
        # whole requirements and whole agents on duty the allocation (a transportation
        # problem) has a whole optimal shortfall.
        scale = search.cost_scale(cost)
        whole = scale is not None and all(search.whole_numbers(v) for v in (
            req, a.data, row_lo[np.isfinite(row_lo)], row_hi[np.isfinite(row_hi)]))
        if whole:
            cost = np.round(cost * scale)
            integer = integer.copy()
            integer[short[short >= 0]] = True
        else:
            scale = 1.0
        # Independent parts (days that no shift joins, say) are solved apart: the sum of
        # their optima is the optimum, and one hard day does not hold back the others.  First
        # every part gets a plan (LP relaxation and roundings: cheap), then the parts whose
        # gap is still open share the time left for the full search, largest gap first.
        blocks = search.blocks(a)
        parts = [search.Part(cost[cols], integer[cols], upper[cols], a[rows][:, cols],
                        row_lo[rows], row_hi[rows], shift_col[cols],
                        mip_rel_gap=mip_rel_gap, whole=whole)
                 for rows, cols in blocks]
        cols_of = [cols for _, cols in blocks]
        workers = search.worker_count()
        search.share_out([search.task_warm(p) for p in parts if p.nv], 0.7 * time_limit_s,
                         workers=workers, always=True)
        # The allocation form searches first, briefly: the small covers of a team's day
        # prove here.  Parts still open are then searched in the Hall form, whose rows are in
        # whole agents, seeded with the plan in hand; both forms have the same optimum.  Why
        # not the Hall form from the start: among plans of equal cost, the one the allocation
        # form finds has served the simulation better (peakplan plan on Singles' Day with the
        # stated default rules: 311 after 8 rounds, against 473 from the Hall form's plans).
        open_parts = sorted((p for p in parts if p.open()), key=lambda p: -p.gap_abs())
        search.share_out([search.task_search(p) for p in open_parts],
                         min(_X_SEARCH_SHARE * time_limit_s,
                             time_limit_s - (time.perf_counter() - started)),
                         workers=workers)
        if any(p.open() for p in parts):
            hall = _hall_parts(problem, px, blocks, parts, scale=scale, whole=whole,
                               mip_rel_gap=mip_rel_gap)
            for _ in range(3):  # time a part proved early leaves goes to those still open
                open_k = sorted((k for k, p in enumerate(parts) if p.open()),
                                key=lambda k: -parts[k].gap_abs())
                search.share_out([search.task_hall(hall[k], parts[k]) if k in hall
                                  else search.task_search(parts[k]) for k in open_k],
                                 time_limit_s - (time.perf_counter() - started), workers=workers)
                if time_limit_s - (time.perf_counter() - started) < 1.0:
                    break
        sol = np.zeros(nv)
        fun = bound = 0.0
        found = proved = True
        for part, cols in zip(parts, cols_of):
            if part.res is None:
                sol[cols] = short_req[cols]
                fun += float(cost[cols] @ short_req[cols])
                found = proved = False
                bound = -np.inf
            else:
                sol[cols] = part.res.x
                fun += float(part.res.fun)
                bound += part.lower_bound()
                proved = proved and not part.open()
        messages = [p.message() for p in parts]
        objective = fun / scale
        if not found:
            # A part with no plan in time books nothing there (its requirement short).
            status, gap = "no_solution", np.nan
        else:
            gap = max(0.0, (fun - bound) / max(abs(fun), 1e-9)) if np.isfinite(bound) \
                else np.nan
            status = "optimal" if proved or gap <= mip_rel_gap else "time_limit"
            if status == "optimal" and gap <= mip_rel_gap:
                gap = 0.0 if proved else gap
        message = "; ".join(sorted(set(messages)))
    solve_s = time.perf_counter() - started
    agents = {k: int(round(sol[col])) for k, (_, col) in enumerate(cand_cols)}
    splits: dict[int, list[tuple[tuple[int, int], ...]]] = {
        k: [()] * len(c.breaks) for k, (c, _) in enumerate(cand_cols)}
    for kind, info in break_plan:
        if kind == "own":
            bi, per = info
            for k, cols in per.items():
                splits[k][bi] = tuple((off, int(round(sol[y]))) for off, y in cols
                                      if round(sol[y]) > 0)
        else:
            for k, bi, split in _assign_breaks(info, sol, agents, relax=relax):
                splits[k][bi] = split
    booked_cols = [(c, agents[k], splits[k]) for k, (c, _) in enumerate(cand_cols)]
    return _result(problem, sol, status=status, message=message, mip_gap=gap,
                   solve_s=solve_s, objective=objective, cand_cols=booked_cols,
                   ot_cols=ot_cols, req=req)


_X_SEARCH_SHARE = 0.05 # of the time limit, for the allocation form's search of open parts


def _hall_parts(problem: CoverProblem, px: _Programme,
                blocks: list[tuple[np.ndarray, np.ndarray]], parts: list[search.Part], *,
                scale: float, whole: bool, mip_rel_gap: float) -> dict[int, search.HallPart]:
    """The Hall form of each part still open (by its index), when the form differs there."""
    ph = _programme(problem, "hall")
    if ph.cost.size == px.cost.size:
        return {}  # no slot took the Hall form
    cost = np.round(ph.cost * scale) if whole else ph.cost
    integer = ph.integer.copy()
    if whole:
        integer[ph.short[ph.short >= 0]] = True
    # Each Hall-form column's column in the x form: the shared ones in order, and the
    # allocation of the slots that kept it (too many queues for Hall's sets) by its key.
    to_x = np.empty(ph.cost.size, dtype=np.int64)
    to_x[ph.common] = px.common
    for key, col in ph.alloc.items():
        to_x[col] = px.alloc[key]
    x_part = -np.ones(px.cost.size, dtype=np.int64)
    for k, (_, cols) in enumerate(blocks):
        if parts[k].open():
            x_part[cols] = k
    col_part = x_part[to_x]
    a = ph.a
    first = a.indices[a.indptr[:-1][np.diff(a.indptr) > 0]]
    nonempty = np.flatnonzero(np.diff(a.indptr) > 0)
    row_part = col_part[first]
    out = {}
    for k in np.unique(col_part[col_part >= 0]):
        k = int(k)
        hcols = np.flatnonzero(col_part == k)
        positions = np.searchsorted(blocks[k][1], to_x[hcols])
        rows = nonempty[row_part == k]
        sub = a[rows]
        inside = sub[:, hcols]
        if inside.nnz != sub.nnz:
            # A Hall row joins only what the x form's allocation rows join in its slot, so
            # its columns lie in one part: a guard, never seen.
            continue
        hb = search.Part(cost[hcols], integer[hcols], ph.upper[hcols], inside, ph.lo[rows],
                    ph.hi[rows], ph.shift_col[hcols], mip_rel_gap=mip_rel_gap, whole=whole)
        out[k] = search.HallPart(hb, positions)
    return out


def _pooled_breaks(b: _Builder, members: list[int], windows: dict[int, list[float]],
                   times: list[float], minutes: int, gi: int,
                   cand_cols: list[tuple[Candidate, int]], problem: CoverProblem,
                   cover_rows: Any) -> dict[str, Any]:
    """Breaks of a family as agents starting a break at each time (``z[t]``), with Hall's
    conditions for giving every booked agent one break start inside its window: as the
    windows are runs of consecutive times, it is enough that every run [a, e] holds at least
    the breaks of the shifts whose windows lie inside it, and that the totals agree (far
    fewer integer variables than one per shift and start, and no symmetry among them)."""
    z = {}
    for t in times:
        z[t] = b.var(0.0, integer=True)
        cover_rows(gi, problem.stretch(t, t + minutes), z[t], -1.0, at_work=False)
    # Runs of times joined by overlapping windows; Hall's sets lie inside one run.
    spans = sorted((w[0], w[-1], k) for k, w in windows.items())
    runs: list[list[tuple[float, float, int]]] = []
    reach = -math.inf
    for lo, hi, k in spans:
        if not runs or lo > reach:
            runs.append([])
        runs[-1].append((lo, hi, k))
        reach = max(reach, hi)
    for run in runs:
        # As many breaks start in a run as its shifts take: one row per run, not one for the
        # family, so that days the shifts do not join stay apart (separate blocks).
        total = b.row(0.0, 0.0)
        lo_run, hi_run = run[0][0], max(hi for _, hi, _ in run)
        for _, _, k in run:
            b.add(total, cand_cols[k][1], -1.0)
        for t in times:
            if lo_run <= t <= hi_run:
                b.add(total, z[t], 1.0)
        starts = sorted({lo for lo, _, _ in run})
        ends = sorted({hi for _, hi, _ in run})
        for a in starts:
            for e in ends:
                if e < a or (a == lo_run and e == hi_run):
                    continue  # the whole run: its total above
                inside = [k for lo, hi, k in run if lo >= a and hi <= e]
                if not inside:
                    continue
                row = b.row(-np.inf, 0.0)
                for k in inside:
                    b.add(row, cand_cols[k][1], 1.0)
                for t in times:
                    if a <= t <= e:
                        b.add(row, z[t], -1.0)
    return {"members": members, "windows": windows, "times": times, "z": z}


def _assign_breaks(info: dict[str, Any], sol: np.ndarray, agents: dict[int, int], *,
                   relax: bool) -> list[tuple[int, int, tuple[tuple[int, int], ...]]]:
    """Give each booked agent of a family one break start: in time order, each break to the
    shift whose window closes first (earliest deadline first, which succeeds whenever Hall's
    conditions hold)."""
    members, windows, times, z = info["members"], info["windows"], info["times"], info["z"]
    need = {k: agents[k] for k in members if agents[k] > 0}
    got: dict[int, dict[float, int]] = {k: {} for k in need}
    for t in times:
        count = int(round(sol[z[t]]))
        for _ in range(count):
            open_ = [k for k in need if need[k] > 0 and windows[k][0] <= t <= windows[k][-1]]
            if not open_:
                if relax:
                    break
                raise AssertionError("break assignment failed (Hall's conditions violated)")
            k = min(open_, key=lambda k: (windows[k][-1], k))
            need[k] -= 1
            got[k][t] = got[k].get(t, 0) + 1
    if not relax and any(need.values()):
        raise AssertionError("break assignment left agents without a break")
    out = []
    for k, by_time in got.items():
        cand_t0 = info["t0"][k]
        split = tuple((int(round(t - cand_t0)), n) for t, n in sorted(by_time.items()))
        out.append((k, info["bi"], split))
    return out


def _result(problem: CoverProblem, sol: np.ndarray, *, status: str, message: str,
            mip_gap: float, solve_s: float, objective: float,
            cand_cols: list[tuple[Candidate, int, list[tuple[tuple[int, int], ...]]]],
            ot_cols: list[tuple[KeptShift, int, int, int, float]],
            req: np.ndarray) -> CoverResult:
    rules = problem.rules
    n = problem.n_slots
    groups = problem.groups
    queues = problem.requirement.queues

    def val(col: int) -> int:
        return int(round(sol[col]))

    booked: list[BookedShift] = []
    on_duty = problem.kept_duty.copy()
    at_work = problem.kept_work.copy()
    for cand, agents, splits in cand_cols:
        if agents <= 0:
            continue
        gi = groups.index(cand.group)
        t0 = problem.occurrence_min(day=cand.day, clock_min=cand.start_min)
        cover = problem.stretch(t0, t0 + cand.length_min)
        on_duty[gi] += agents * cover
        at_work[gi] += agents * cover
        breaks = []
        for (minutes, _), split in zip(cand.breaks, splits):
            for off, k in split:
                on_duty[gi] -= k * problem.stretch(t0 + off, t0 + off + minutes)
            breaks.append(split)
        cost = rules.groups[cand.group].cost_per_hour * cand.length_min / 60.0 * agents
        booked.append(BookedShift(cand, agents, tuple(breaks), cost))
    overtime: list[Overtime] = []
    for k, day, extra, col, cost in ot_cols:
        agents = val(col)
        if agents <= 0:
            continue
        gi = groups.index(k.group)
        end = problem.occurrence_min(day=day, clock_min=k.spec.start_min) + k.spec.length_min
        cover = problem.stretch(end, end + extra)
        on_duty[gi] += agents * cover
        at_work[gi] += agents * cover
        overtime.append(Overtime(k, day, extra, agents, cost * agents))

    # Allocation per queue: the least-shortfall allocation of the agents on duty (the
    # shortfall is the programme's), plus each group's spare on-duty agents shared among its
    # skills in proportion to their requirement in the slot (equally if none).
    nq = len(queues)
    xalloc, short_slots = _allocate(problem, on_duty, req)
    planned = np.zeros((nq, n))
    for gi, g in enumerate(groups):
        qs = [queues.index(q) for q in problem.skills[g] if q in queues]
        if not qs:
            continue
        alloc = np.array([xalloc[(gi, q)] for q in qs])
        spare = np.clip(on_duty[gi] - alloc.sum(axis=0), 0.0, None)
        weight = req[qs]
        total = weight.sum(axis=0)
        share = np.where(total > 0, weight / np.where(total > 0, total, 1.0), 1.0 / len(qs))
        planned[qs] += alloc + share * spare
    k = problem.slots_per_interval
    ni = problem.requirement.n_intervals

    def per_interval(a: np.ndarray) -> np.ndarray:
        return a.reshape(a.shape[0], ni, k).mean(axis=2)

    starts = problem.requirement.interval_starts
    required_i = per_interval(req)
    planned_i = per_interval(planned)
    short_i = per_interval(short_slots)
    coverage = pd.DataFrame({
        "interval_start": np.tile(starts, nq),
        "queue": np.repeat(np.asarray(queues, dtype=object), ni),
        "required": required_i.reshape(-1), "planned": planned_i.reshape(-1),
        "gap": (required_i - planned_i).reshape(-1), "short": short_i.reshape(-1)})
    coverage = coverage.sort_values(["interval_start", "queue"], kind="stable"
                                    ).reset_index(drop=True)
    ng = len(groups)
    group_cov = pd.DataFrame({
        "interval_start": np.tile(starts, ng),
        "group": np.repeat(np.asarray(groups, dtype=object), ni),
        "on_duty": per_interval(on_duty).reshape(-1) if ng else [],
        "at_work": per_interval(at_work).reshape(-1) if ng else [],
        "kept": per_interval(problem.kept_duty).reshape(-1) if ng else []})
    group_cov = group_cov.sort_values(["interval_start", "group"], kind="stable"
                                      ).reset_index(drop=True)
    kept_hours = sum(k.spec.agents * k.spec.length_min / 60.0 for k in problem.kept) \
        * problem.n_days
    cost = sum(x.cost for x in booked) + sum(o.cost for o in overtime)
    hours = sum(x.hours for x in booked) + sum(o.hours for o in overtime)
    return CoverResult(
        status=status, message=message, mip_gap=mip_gap, solve_s=solve_s,
        objective=objective, cost=float(cost),
        agent_hours=float(hours), kept_agent_hours=float(kept_hours),
        shortfall_agent_intervals=float(short_slots.sum() / k),
        booked=tuple(booked), overtime=tuple(overtime),
        shifts=_shift_table(problem, booked, overtime), coverage=coverage,
        group_coverage=group_cov, problem=problem)


def _clock(minutes: float) -> str:
    m = int(round(minutes)) % DAY_MIN
    return f"{m // 60:02d}:{m % 60:02d}"


def _day_label(problem: CoverProblem, day: int) -> str:
    return (pd.Timestamp(problem.requirement.start).normalize() + pd.Timedelta(days=day)
            ).strftime("%Y-%m-%d")


def _breaks_text(cand: Candidate, breaks: tuple[tuple[tuple[int, int], ...], ...]) -> str:
    parts = []
    for (minutes, _), split in zip(cand.breaks, breaks):
        parts.extend(f"{_clock(cand.start_min + off)} {minutes}m x{k}" for off, k in split)
    return "; ".join(parts)


def _shift_table(problem: CoverProblem, booked: Sequence[BookedShift],
                 overtime: Sequence[Overtime]) -> pd.DataFrame:
    rows = []
    for x in booked:
        c = x.candidate
        rows.append({"day": _day_label(problem, c.day), "group": c.group,
                     "pattern": c.pattern, "start": _clock(c.start_min),
                     "end": _clock(c.start_min + c.length_min), "agents": x.agents,
                     "breaks": _breaks_text(c, x.breaks), "hours": x.hours, "cost": x.cost})
    for o in overtime:
        s = o.kept.spec
        rows.append({"day": _day_label(problem, o.day), "group": o.kept.group,
                     "pattern": "overtime", "start": s.start,
                     "end": _clock(s.start_min + s.length_min + o.extra_min),
                     "agents": o.agents,
                     "breaks": "", "hours": o.hours, "cost": o.cost})
    frame = pd.DataFrame(rows, columns=list(SHIFT_COLUMNS))
    return frame.sort_values(["day", "group", "start", "end"], kind="stable"
                             ).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# The plan as scenario shifts
# --------------------------------------------------------------------------------------------
def _agent_combos(agents: int, breaks: tuple[tuple[tuple[int, int], ...], ...]
                  ) -> dict[tuple[int, ...], int]:
    """Break offsets per agent from the counts per break start: agent ``j`` takes, for each
    break, the start at its position ``j`` in that break's counts (any pairing works, as a
    pattern's break windows do not overlap); agents alike counted together."""
    per_agent: list[list[int]] = [[] for _ in range(agents)]
    for split in breaks:
        order = [off for off, k in split for _ in range(k)]
        for j in range(agents):
            per_agent[j].append(order[j])
    combos: dict[tuple[int, ...], int] = {}
    for offs in per_agent:
        combos[tuple(offs)] = combos.get(tuple(offs), 0) + 1
    return combos


def planned_shifts(result: CoverResult, *, scenario: Scenario | None = None
                   ) -> dict[str, list[dict[str, Any]]]:
    """Per group, the roster as scenario shifts (``ShiftSpec`` data): the kept roster (split
    where some of its agents work overtime) and one entry per booked shift and distinct
    combination of break starts, with its agents.

    Scenario shifts repeat every day: on a horizon of several days a shift is written with
    the most agents any day books on it (the simulated roster then has at least the plan's
    agents at every moment).
    """
    problem = result.problem
    out: dict[str, list[dict[str, Any]]] = {g: [] for g in problem.groups}
    # Kept shifts, with overtime as extra entries ending later.
    extra: dict[tuple[str, int], dict[int, int]] = {}
    for o in result.overtime:
        by_len = extra.setdefault((o.kept.group, o.kept.index), {})
        by_len[o.extra_min] = max(by_len.get(o.extra_min, 0), o.agents)
    for k in problem.kept:
        base = k.spec.model_dump(mode="json", exclude_defaults=True)
        base.setdefault("breaks", [])
        ext = extra.get((k.group, k.index), {})
        stay = max(0, k.spec.agents - sum(ext.values()))
        out[k.group].append({**base, "agents": stay})
        for e, agents in sorted(ext.items()):
            out[k.group].append({**base, "end": _clock(k.spec.start_min + k.spec.length_min + e),
                                 "agents": agents})
    # Booked shifts: the most agents per (group, start, length, break starts) over days.
    most: dict[tuple[str, int, int, tuple[tuple[int, int], ...]], int] = {}
    for x in result.booked:
        c = x.candidate
        minutes = tuple(m for m, _ in c.breaks)
        for offs, agents in _agent_combos(x.agents, x.breaks).items():
            key = (c.group, c.start_min, c.length_min, tuple(zip(offs, minutes)))
            most[key] = max(most.get(key, 0), agents)
    for (g, start, length, brks), agents in sorted(most.items()):
        out[g].append({"start": _clock(start), "end": _clock(start + length),
                       "agents": int(agents),
                       "breaks": [{"start": _clock(start + off), "minutes": m}
                                  for off, m in brks]})
    for g in out:
        out[g] = [s for s in out[g] if s["agents"] > 0]
        for s in out[g]:
            if not s.get("breaks"):
                s.pop("breaks", None)
    return out


def planned_scenario_data(scenario: Scenario, result: CoverResult) -> dict[str, Any]:
    """The scenario as plain data (``Scenario.to_dict``) with the planned roster in
    ``agent_groups``; a group the rules add gets its skills at preference 1.  The scenario's
    own ``planning:`` rules stay (the app prices the planned roster with them, and a plan of
    the planned scenario adds to it)."""
    data = scenario.to_dict()
    shifts = planned_shifts(result, scenario=scenario)
    groups = data.setdefault("agent_groups", {})
    for g, entries in shifts.items():
        if g not in groups:
            groups[g] = {"skills": {q: 1 for q in result.problem.skills[g]}}
        groups[g]["shifts"] = entries
    for g in groups:
        if g not in shifts and result.problem.rules.keep == "none":
            groups[g]["shifts"] = []
    return data


class _NoAliases(yaml.SafeDumper):
    """Entries that share a list (breaks) are written out in full, not as YAML aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_planned_yaml(path: str | Path, data: Mapping[str, Any], *, header: str = "") -> None:
    """Write scenario data as YAML (``header`` lines become comments at the top)."""
    text = "".join(f"# {line}\n" for line in header.splitlines())
    text += yaml.dump(dict(data), Dumper=_NoAliases, sort_keys=False, allow_unicode=True,
                      width=100)
    Path(path).write_text(text, encoding="utf-8")
