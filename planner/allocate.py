"""The best skill allocation for the roster as it is: which groups take which queues, in which
order, with which overflow delays and hourly windows (``peakplan allocate``, issue 15 §6).

The roster (groups, agents, shifts, speeds, concurrency) is kept; only the routing a
supervisor can change on the day is searched, within bounds the planner sets (:class:`Bounds`):

* a group's skills may be re-ordered (its preference tiers), delayed (overflow after a wait),
  dropped (unless ``may_drop`` is off; never a group's last skill, never a queue's last
  group) and, for the pairs the planner allows (``--may-learn gold:complaints``), learned;
  with ``max_skills`` no move takes a group (or one of its windows) above that many skills;
* hourly ``allocation`` windows may be added, shifted by an hour, edited and removed.

Delays and windows need the scenario formats of issue 15 §1-2 (``skills: {q: {preference: 2,
after_s: 30}}``, ``allocation: [{from, to, skills}]``); :func:`detect_formats` says which the
installed ``sim`` reads, and moves that need a missing one are not generated.

**Objective** (:data:`OBJECTIVES`), lexicographic: a primary measure and a tie-break, per
replication after the warm-up, summed over queues.  ``abandoned``: contacts lost (abandoned,
and any still waiting when the run ends), tie-break intervals missed; ``missed-intervals``:
judged intervals and queues (at least :data:`MIN_CONTACTS` offered in the replication) that
miss a service-level, ASA or abandonment target of the queue (:func:`sim.metrics.
target_deficit`), tie-break contacts lost; ``asa``: mean wait of answered contacts over all
queues, tie-break contacts lost, and never at the cost of more lost contacts beyond the guard
(a lower ASA is easy to get by letting long waiters go).

**Method**: local search with common random numbers.  Every candidate is simulated on the
same ``reps`` replications (seed ``seed``: the streams of :func:`sim.replications.rep_seed`),
so candidate and incumbent differ only where their routing does.  A round builds every single
move from the incumbent (:func:`neighbours`) and orders them by a cheap guess of their worth
(the capacity whose attention the move turns towards the queues and hours where the incumbent
loses contacts, :func:`_promise`); it scores them in batches of ``batch`` (one call of the
executor's mapper each) and, after each batch, takes the best improving move scored so far
(best improvement within the batches scored: most of a large neighbourhood is skipped once a
good move is found, and a short budget goes to the likeliest moves).  The guard against
noise, in two parts:

1. *paired difference beyond the guard*: a move improves when the mean over the replications
   of (candidate - incumbent) is below ``-guard_se`` standard errors of that difference (for
   the tie-break: and the primary's mean difference is not above 0);
2. *confirmation on seeds new to the round*: the best improving move is run again, with the
   incumbent, on a block of replications seeded ``seed + CONFIRM_SEED_OFFSET + round``, and
   accepted only if it improves there too; else the next best (at most
   :data:`CONFIRM_TRIES` after each batch).  Picking the best of many noisy candidates
   favours lucky ones (the winner's curse); the confirmation is an honest test of the one
   picked.

The search stops when no move passes both, or after ``max_evals`` candidate simulations (the
budget; confirmations are counted apart).

**Verification** on fresh seeds (``seed + VERIFY_SEED_OFFSET``, never searched on, ``2 x
reps`` replications by default): the net changes (per group: its all-day skills, its windows)
are applied one after another in the order the search found them, and every state is
simulated on the same fresh replications; the gain of each change is the paired difference to
the state before it (so the gains add up to the total), with 95% confidence intervals.

What it is not: a proof of the best allocation (a local search finds a local optimum of a
noisy objective); moves are one at a time, so two changes that only help together are not
found.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from planner.plan import MIN_CONTACTS, VERIFY_SEED_OFFSET
from sim import metrics
from sim.errors import InputError
from sim.files import quote
from sim.replications import Mapper, first_interval, rep_summaries, run_rep
from sim.scenario import GroupSpec, Scenario

__all__ = ["Skill", "Window", "GroupAllocation", "Allocation", "Bounds", "Formats",
           "Objective", "OBJECTIVES", "Move", "RepScore", "Diff", "Step", "Change",
           "AllocationResult", "QUEUE_COLUMNS", "allocate", "check_settings",
           "allocation_of", "apply_allocation", "file_changes", "neighbours",
           "detect_formats", "parse_may_learn", "score_rep", "describe_skills", "BATCH",
           "DELAY_GRID_S", "CONFIRM_SEED_OFFSET", "CONFIRM_TRIES", "MAX_WINDOW_CLUSTERS"]

DELAY_GRID_S = (0.0, 15.0, 30.0, 60.0, 120.0)  # overflow delays tried (issue 15 §6)
CONFIRM_SEED_OFFSET = 2_000_003  # confirmation blocks: apart from search and verify seeds
CONFIRM_TRIES = 3                # improving moves confirmed at most after each batch
MAX_WINDOW_CLUSTERS = 3          # peak stretches a new window is tried on, worst first
BATCH = 12                       # candidates scored at once, before looking for a gain
MAX_EVALS = 100_000              # a typo beyond this would run for days
DAY_MIN = 24 * 60


# --------------------------------------------------------------------------------------------
# The allocation: what the search changes
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Skill:
    """A queue a group takes, at ``preference`` (1 first; equal preferences form a tier),
    once a contact has waited ``after_s`` seconds (0: at once)."""

    queue: str
    preference: int
    after_s: float = 0.0


Skills = tuple[Skill, ...]


def canonical(skills: Iterable[Skill]) -> Skills:
    """Skills with dense preferences (1, 2, ...: only the order matters to the router),
    sorted by preference then queue, so that equal allocations compare equal."""
    skills = list(skills)
    rank = {p: k + 1 for k, p in enumerate(sorted({s.preference for s in skills}))}
    return tuple(sorted((Skill(s.queue, rank[s.preference], float(s.after_s)) for s in skills),
                        key=lambda s: (s.preference, s.queue)))


def _tiers(skills: Skills) -> list[list[Skill]]:
    out: list[list[Skill]] = []
    for s in canonical(skills):
        if not out or out[-1][0].preference != s.preference:
            out.append([])
        out[-1].append(s)
    return out


def _from_tiers(tiers: Sequence[Sequence[Skill]]) -> Skills:
    return canonical(Skill(s.queue, k + 1, s.after_s) for k, tier in enumerate(tiers)
                     for s in tier)


def _clock(minute: int) -> str:
    """Minutes after midnight as 'HH:MM'; 1440 is '24:00', later minutes the next day's."""
    m = minute if minute <= DAY_MIN else minute - DAY_MIN
    return f"{m // 60:02d}:{m % 60:02d}"


@dataclass(frozen=True)
class Window:
    """Daily, from ``from_min`` (minutes after midnight, below 1440) to ``to_min`` (after
    ``from_min``, less than a day later: above 1440 for a window that crosses midnight), a
    group's skills are ``skills`` instead of its all-day ones."""

    from_min: int
    to_min: int
    skills: Skills

    @classmethod
    def between(cls, from_min: int, to_min: int, skills: Skills) -> Window | None:
        """The window, or None unless it lasts from an hour to less than a day."""
        length = to_min - from_min
        if not 60 <= length < DAY_MIN:
            return None
        start = from_min % DAY_MIN
        return cls(start, start + length, skills)

    @property
    def label(self) -> str:
        return f"from {_clock(self.from_min)} to {_clock(self.to_min)}"

    @property
    def length_min(self) -> int:
        return self.to_min - self.from_min

    def covers(self, minute: int) -> bool:
        return (minute - self.from_min) % DAY_MIN < self.length_min

    def overlaps(self, other: Window) -> bool:
        """Arcs on the 24-hour clock overlap when either starts inside the other."""
        return self.covers(other.from_min) or other.covers(self.from_min)


@dataclass(frozen=True)
class GroupAllocation:
    """One group's routing: all-day skills and hourly windows (sorted by start)."""

    skills: Skills
    windows: tuple[Window, ...] = ()

    def at(self, minute: int) -> Skills:
        """The skills in force at a clock minute."""
        for w in self.windows:
            if w.covers(minute):
                return w.skills
        return self.skills


@dataclass(frozen=True)
class Allocation:
    """Every group's routing, in the scenario's group order (hashable: candidates are cached
    by it)."""

    groups: tuple[tuple[str, GroupAllocation], ...]

    def __getitem__(self, group: str) -> GroupAllocation:
        for g, ga in self.groups:
            if g == group:
                return ga
        raise KeyError(group)

    def names(self) -> tuple[str, ...]:
        return tuple(g for g, _ in self.groups)

    def with_group(self, group: str, ga: GroupAllocation, *, tidy: bool = True
                   ) -> Allocation:
        """``group``'s routing replaced; ``tidy``: a window like the day is no window (so
        that equal routings compare equal)."""
        windows = tuple(sorted((w for w in ga.windows if not (tidy and w.skills == ga.skills)),
                               key=lambda w: w.from_min))
        ga = GroupAllocation(ga.skills, windows)
        return Allocation(tuple((g, ga if g == group else old) for g, old in self.groups))


@dataclass(frozen=True)
class Formats:
    """Which of the scenario formats of issue 15 the installed ``sim`` reads."""

    delays: bool
    windows: bool


def detect_formats() -> Formats:
    """Overflow delays (``GroupSpec.delay_s``) and allocation windows (``allocation``)."""
    return Formats(delays=hasattr(GroupSpec, "delay_s"),
                   windows="allocation" in GroupSpec.model_fields)


def _preference(value: Any) -> int:
    if isinstance(value, Mapping):
        return int(value["preference"])
    if hasattr(value, "preference"):
        return int(value.preference)
    return int(value)


def _delay(spec: Any, queue: str) -> float:
    if hasattr(spec, "delay_s"):
        return float(spec.delay_s(queue) or 0.0)
    value = spec.skills[queue]
    if isinstance(value, Mapping):
        return float(value.get("after_s", 0.0) or 0.0)
    return float(getattr(value, "after_s", 0.0) or 0.0)


def _skills_of(spec: Any) -> Skills:
    return canonical(Skill(q, _preference(v), _delay(spec, q)) for q, v in spec.skills.items())


def allocation_of(scenario: Scenario) -> Allocation:
    """The scenario's routing as an :class:`Allocation`."""
    groups = []
    for g, spec in scenario.spec.agent_groups.items():
        windows = tuple(sorted(
            (Window(w.start_min, w.start_min + w.length_min, _skills_of(w))
             for w in (getattr(spec, "allocation", None) or ())), key=lambda w: w.from_min))
        groups.append((g, GroupAllocation(_skills_of(spec), windows)))
    return Allocation(tuple(groups))


def _skill_value(s: Skill) -> int | dict[str, Any]:
    if s.after_s:
        d = s.after_s
        return {"preference": s.preference, "after_s": int(d) if float(d).is_integer() else d}
    return s.preference


def _skills_value(skills: Skills) -> dict[str, Any]:
    return {s.queue: _skill_value(s) for s in skills}


def _windows_value(windows: Sequence[Window]) -> list[dict[str, Any]]:
    return [{"from": _clock(w.from_min), "to": _clock(w.to_min),
             "skills": _skills_value(w.skills)} for w in windows]


def _queues(ga: GroupAllocation) -> set[str]:
    return {s.queue for s in ga.skills} | {s.queue for w in ga.windows for s in w.skills}


def _speed_value(scenario: Scenario, group: str, ga: GroupAllocation,
                 learn_speed: float) -> dict[str, float]:
    """The group's handle-time factors for the queues it takes: the file's, and
    ``learn_speed`` for a queue it learns (the file's speed keys must be skills)."""
    spec = scenario.spec.agent_groups[group]
    own = set(spec.skills)
    out = {}
    for q in sorted(_queues(ga), key=list(scenario.queues).index):
        if q in spec.speed:
            out[q] = spec.speed[q]
        elif q not in own and learn_speed != 1.0:
            out[q] = learn_speed
    return out


def _data_changes(scenario: Scenario, base: Allocation, alloc: Allocation, *,
                  learn_speed: float, formats: Formats) -> dict[str, Any]:
    """Key-path changes (for :meth:`Scenario.with_changes`) from ``base`` to ``alloc``."""
    changes: dict[str, Any] = {}
    for g, ga in alloc.groups:
        old = base[g]
        if ga == old:
            continue
        changes[f"agent_groups.{g}.skills"] = _skills_value(ga.skills)
        speed = _speed_value(scenario, g, ga, learn_speed)
        if speed != dict(scenario.spec.agent_groups[g].speed):
            changes[f"agent_groups.{g}.speed"] = speed
        if ga.windows != old.windows:
            if not formats.windows:
                raise ValueError("allocation windows need the scenario format of issue 15")
            changes[f"agent_groups.{g}.allocation"] = _windows_value(ga.windows)
    return changes


def apply_allocation(scenario: Scenario, alloc: Allocation, *, learn_speed: float = 1.0,
                     formats: Formats | None = None) -> Scenario:
    """``scenario`` with its groups' routing replaced by ``alloc`` (validated again; raises
    InputError when the scenario would not be valid)."""
    base = allocation_of(scenario)
    changes = _data_changes(scenario, base, alloc, learn_speed=learn_speed,
                            formats=formats or detect_formats())
    return scenario.with_changes(changes) if changes else scenario


def file_changes(scenario: Scenario, alloc: Allocation, *, learn_speed: float = 1.0
                 ) -> dict[str, Any]:
    """Key-path edits of the scenario *file* (for :func:`sim.yaml_edit.edit_text`) that make
    its routing ``alloc``: only the skills, speeds and windows that change are written; a
    group whose order changes gets dense preferences (1, 2, ...) where its numbers differ."""
    from sim.yaml_edit import DELETE

    base = allocation_of(scenario)
    edits: dict[str, Any] = {}
    for g, ga in alloc.groups:
        old = base[g]
        if ga == old:
            continue
        spec = scenario.spec.agent_groups[g]
        path = f"agent_groups.{g}"
        if ga.skills != old.skills:
            new = {s.queue: s for s in ga.skills}
            for q, value in spec.skills.items():
                if q not in new:
                    edits[f"{path}.skills.{q}"] = DELETE
            for q, s in new.items():
                if q not in spec.skills or _preference(spec.skills[q]) != s.preference or \
                        _delay(spec, q) != s.after_s:
                    edits[f"{path}.skills.{q}"] = _skill_value(s)
        speed = _speed_value(scenario, g, ga, learn_speed)
        for q in spec.speed:
            if q not in speed:
                edits[f"{path}.speed.{q}"] = DELETE
        for q, f in speed.items():
            if spec.speed.get(q) != f:
                edits[f"{path}.speed.{q}"] = f
        if ga.windows != old.windows:
            edits[f"{path}.allocation"] = _windows_value(ga.windows) if ga.windows else DELETE
    return edits


# --------------------------------------------------------------------------------------------
# Bounds
# --------------------------------------------------------------------------------------------
_PAIR = re.compile(r"^\s*([^:,\s][^:,]*?)\s*:\s*([^:,\s][^:,]*?)\s*$")


def parse_may_learn(texts: str | Sequence[str] | None) -> frozenset[tuple[str, str]]:
    """``'gold:complaints,intern:aftersales'`` (one text or several) -> (group, queue) pairs."""
    if texts is None:
        return frozenset()
    pairs = set()
    for text in [texts] if isinstance(texts, str) else texts:
        for part in str(text).split(","):
            m = _PAIR.match(part)
            if not m:
                raise InputError(f"expected GROUP:QUEUE pairs separated by commas (e.g. "
                                 f"gold:complaints,intern:aftersales), got {quote(part)}",
                                 field="--may-learn")
            pairs.add((m.group(1), m.group(2)))
    return frozenset(pairs)


@dataclass(frozen=True)
class Bounds:
    """What the search may change.  ``may_learn``: (group, queue) pairs a group may gain;
    ``max_skills``: no move takes a group's skills (or a window's) above this many (a group
    above it already may only shed skills); ``may_drop``: skills may be dropped (a routing
    change, no training needed: on by default); ``learn_speed``: handle-time factor of a
    learned queue (1.2 = 20% slower while new to it); ``delays_s``: overflow delays tried
    (empty: delays are left as they are); ``windows``: hourly allocation windows may be
    added or changed."""

    may_learn: frozenset[tuple[str, str]] = frozenset()
    max_skills: int | None = None
    may_drop: bool = True
    learn_speed: float = 1.0
    delays_s: tuple[float, ...] = DELAY_GRID_S
    windows: bool = True

    def check(self, scenario: Scenario) -> None:
        """InputError naming the flag for a bound out of range or one the scenario cannot
        take (an unknown group or queue)."""
        self.check_values()
        groups, queues = scenario.spec.agent_groups, scenario.spec.queues
        for g, q in sorted(self.may_learn):
            if g not in groups:
                raise InputError(f"unknown group {quote(g)} (expected one of "
                                 f"{', '.join(groups)})", field="--may-learn")
            if q not in queues:
                raise InputError(f"unknown queue {quote(q)} for group {quote(g)} (expected one "
                                 f"of {', '.join(queues)})", field="--may-learn")

    def check_values(self) -> None:
        """InputError naming the flag for a bound out of range."""
        if self.max_skills is not None and (isinstance(self.max_skills, bool) or
                                            self.max_skills < 1):
            raise InputError(f"must be at least 1 (a group keeps one skill), got "
                             f"{self.max_skills}", field="--max-skills")
        if not (self.learn_speed > 0 and math.isfinite(self.learn_speed)) or \
                self.learn_speed > 5:
            raise InputError(f"must be a handle-time factor above 0 and at most 5, got "
                             f"{self.learn_speed:g}", field="--learn-speed")
        if any(not (d >= 0 and math.isfinite(d)) for d in self.delays_s):
            raise InputError("overflow delays must be non-negative seconds", field="delays_s")

    def allowed(self, scenario: Scenario, group: str) -> list[str]:
        """Queues the group may take: its own (also once dropped) and those it may learn."""
        own = list(scenario.spec.agent_groups[group].skills)
        extra = [q for q in scenario.queues if (group, q) in self.may_learn and q not in own]
        return own + extra

    def fits(self, skills: Skills, before: Skills) -> bool:
        """Within ``max_skills``, or no more skills than before."""
        return self.max_skills is None or len(skills) <= max(self.max_skills, len(before))


# --------------------------------------------------------------------------------------------
# Moves
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Move:
    """One change to an allocation.  ``kind``: learn, prefer, delay, window-add, window-shift,
    window-edit, window-remove or drop; ``queue``: the queue it touches (for ordering);
    ``window``: the window's label, None for the all-day skills."""

    kind: str
    group: str
    queue: str | None
    window: str | None
    text: str
    allocation: Allocation


def _placements(others: Skills, skill: Skill) -> list[Skills]:
    """Every place for ``skill`` among ``others``' tiers: joining a tier or alone between."""
    tiers = _tiers(others)
    out = []
    for k in range(len(tiers)):
        t = [list(x) for x in tiers]
        t[k].append(skill)
        out.append(_from_tiers(t))
    for k in range(len(tiers) + 1):
        t = [list(x) for x in tiers]
        t.insert(k, [skill])
        out.append(_from_tiers(t))
    return out


def _skill_moves(skills: Skills, allowed: Sequence[str], bounds: Bounds, formats: Formats,
                 *, before: Skills) -> list[tuple[str, str, Skills]]:
    """(kind, queue, new skills) for every single change of one set of skills."""
    out: list[tuple[str, str, Skills]] = []
    have = {s.queue: s for s in skills}
    tiers = _tiers(skills)
    first = {s.queue for s in tiers[0]} if tiers else set()
    for q in allowed:
        if q in have:
            continue
        new = [p for p in _placements(skills, Skill(q, 1))]
        for p in new:
            if bounds.fits(p, before):
                out.append(("learn", q, p))
    for q, s in have.items():
        if len(skills) < 2:
            break
        others = tuple(x for x in skills if x.queue != q)
        for p in _placements(others, s):
            if p != skills:
                out.append(("prefer", q, p))
    if formats.delays and bounds.delays_s:
        for q, s in have.items():
            grid = bounds.delays_s if q not in first else (0.0,)
            for d in grid:
                if float(d) != s.after_s:
                    out.append(("delay", q, canonical(
                        Skill(x.queue, x.preference, float(d) if x.queue == q else x.after_s)
                        for x in skills)))
    if bounds.may_drop and len(skills) > 1:
        for q in have:
            out.append(("drop", q, canonical(x for x in skills if x.queue != q)))
    return out


def _needed(scenario: Scenario) -> list[str]:
    """Queues that must have a group at every hour: those with contacts or transfers in."""
    reached = {t.to for t in scenario.spec.transfers}
    return [q for i, q in enumerate(scenario.queues)
            if scenario.contacts[i].sum() > 0 or q in reached]


def _served(alloc: Allocation, needed: Sequence[str]) -> bool:
    """Every needed queue has a group taking it at every clock time (the skills in force are
    constant between window bounds)."""
    points = {0} | {m for _, ga in alloc.groups for w in ga.windows
                    for m in (w.from_min, w.to_min % DAY_MIN)}
    for m in sorted(points):
        taken = {s.queue for _, ga in alloc.groups for s in ga.at(m)}
        if any(q not in taken for q in needed):
            return False
    return True


def _on_shift(scenario: Scenario, group: str, from_min: int, to_min: int) -> bool:
    """Some agent of the group is rostered between the two clock times (any day)."""
    for s in scenario.spec.agent_groups[group].shifts:
        if s.agents <= 0:
            continue
        a, b = s.start_min, s.start_min + s.length_min
        for lo, hi in ((a, b), (a - DAY_MIN, b - DAY_MIN), (a + DAY_MIN, b + DAY_MIN)):
            if lo < to_min and from_min < hi:
                return True
    return False


@dataclass(frozen=True)
class Pressure:
    """Where the incumbent loses contacts (means over replications): per queue, per queue and
    clock hour (``hour_lost``, 24 values each), and the stretches of clock hours where targets
    are missed, worst first: (from_h, to_h, queues worst first)."""

    lost_by_queue: Mapping[str, float]
    hour_lost: Mapping[str, np.ndarray]
    clusters: tuple[tuple[int, int, tuple[str, ...]], ...]


def _pressure(scenario: Scenario, scores: Sequence[RepScore]) -> Pressure:
    lost = np.mean([s.cells_lost for s in scores], axis=0)          # (queues, intervals)
    missed = np.mean([s.cells_missed for s in scores], axis=0) >= 0.5  # in most replications
    by_queue = {q: float(lost[k].sum()) for k, q in enumerate(scenario.queues)}
    starts = scenario.interval_starts
    hour_lost = np.zeros((len(scenario.queues), 24))
    hour_missed = np.zeros((len(scenario.queues), 24), dtype=bool)
    step = scenario.spec.interval_min
    for i, t in enumerate(starts):
        m0 = t.hour * 60 + t.minute
        hours = {int((m0 + k) % DAY_MIN) // 60 for k in np.arange(0.0, step, 1.0)} \
            if step > 60 else {m0 // 60}
        for h in hours:
            hour_lost[:, h] += lost[:, i] / len(hours)
            hour_missed[:, h] |= missed[:, i]
    bad = hour_missed.any(axis=0)
    clusters = []
    h = 0
    while h < 24:
        if not bad[h]:
            h += 1
            continue
        end = h
        while end < 24 and bad[end]:
            end += 1
        cell = hour_lost[:, h:end].sum(axis=1)
        queues = tuple(scenario.queues[k] for k in np.argsort(-cell, kind="stable")
                       if hour_missed[k, h:end].any())
        clusters.append((float(cell.sum()), h, end, queues))
        if end - h > 3:
            # A long stretch: also its two worst hours, where a supervisor would switch.
            per_hour = hour_lost[:, h:end].sum(axis=0)
            pair = h + int(np.argmax(per_hour[:-1] + per_hour[1:]))
            clusters.append((float(hour_lost[:, pair:pair + 2].sum()) - 1e-9, pair, pair + 2,
                             queues))
        h = end
    clusters.sort(key=lambda c: -c[0])
    return Pressure(by_queue, {q: hour_lost[k] for k, q in enumerate(scenario.queues)},
                    tuple((a, b, qs[:2]) for _, a, b, qs in clusters[:MAX_WINDOW_CLUSTERS]))


def _rostered(scenario: Scenario) -> dict[str, np.ndarray]:
    """Agents of each group on shift at the middle of each clock hour (shifts repeat daily)."""
    out = {}
    for g, spec in scenario.spec.agent_groups.items():
        n = np.zeros(24)
        for s in spec.shifts:
            for h in range(24):
                m = h * 60 + 30
                if any(s.start_min <= x < s.start_min + s.length_min
                       for x in (m, m + DAY_MIN)):
                    n[h] += s.agents
        out[g] = n
    return out


def _attention(skills: Skills) -> dict[str, float]:
    """A group's share of attention per queue, for ordering only: 1 / (tier + delay in
    minutes), normalised."""
    w = {s.queue: 1.0 / (s.preference + s.after_s / 60.0) for s in skills}
    total = sum(w.values())
    return {q: x / total for q, x in w.items()}


def _promise(move: Move, alloc: Allocation, *, scenario: Scenario, pressure: Pressure,
             rostered: Mapping[str, np.ndarray], learn_speed: float) -> float:
    """A cheap guess of a move's worth, to score the likeliest first: the agents' capacity
    (rostered agents x chats held / speed factor) whose attention the move turns towards the
    queues and clock hours where contacts are lost."""
    g = move.group
    spec = scenario.spec.agent_groups[g]
    before, after = alloc[g], move.allocation[g]

    def capacity(q: str) -> float:
        k = spec.chat_concurrency if scenario.spec.queues[q].channel == "chat" else 1
        return k / spec.speed.get(q, 1.0 if q in spec.skills else learn_speed)

    total = 0.0
    for h in range(24):
        if not rostered[g][h]:
            continue
        a, b = _attention(before.at(h * 60)), _attention(after.at(h * 60))
        if a == b:
            continue
        total += rostered[g][h] * sum(
            pressure.hour_lost[q][h] * capacity(q) * (b.get(q, 0.0) - a.get(q, 0.0))
            for q in set(a) | set(b))
    return total


def neighbours(alloc: Allocation, *, scenario: Scenario, bounds: Bounds, formats: Formats,
               base: Allocation, pressure: Pressure | None = None) -> list[Move]:
    """Every allocation one move from ``alloc`` within the bounds, valid (every queue with
    contacts keeps a group at every hour), distinct.  With ``pressure`` (where ``alloc``
    loses contacts), new windows are tried on its worst stretches and the moves come in the
    order they are scored: most promising first (:func:`_promise`), then as generated."""
    needed = _needed(scenario)
    moves: list[Move] = []
    seen = {alloc}

    def add(kind: str, g: str, q: str | None, window: str | None, text: str,
            ga: GroupAllocation) -> None:
        new = alloc.with_group(g, ga)
        if new in seen or not _served(new, needed):
            return
        seen.add(new)
        moves.append(Move(kind, g, q, window, text, new))

    for g, ga in alloc.groups:
        allowed = bounds.allowed(scenario, g)
        original = base[g].skills
        for kind, q, skills in _skill_moves(ga.skills, allowed, bounds, formats,
                                            before=original):
            add(kind, g, q, None, describe_skills(g, ga.skills, skills),
                GroupAllocation(skills, ga.windows))
        if not (formats.windows and bounds.windows):
            continue
        for k, w in enumerate(ga.windows):
            rest = ga.windows[:k] + ga.windows[k + 1:]
            add("window-remove", g, None, w.label, f"{g} no longer switches {w.label}",
                GroupAllocation(ga.skills, rest))
            for a, b in ((w.from_min - 60, w.to_min), (w.from_min + 60, w.to_min),
                         (w.from_min, w.to_min - 60), (w.from_min, w.to_min + 60)):
                moved = Window.between(a, b, w.skills)
                if moved is not None and not any(moved.overlaps(o) for o in rest):
                    add("window-shift", g, None, moved.label,
                        f"{g} switches {moved.label} (was {w.label[5:]})",
                        GroupAllocation(ga.skills, rest + (moved,)))
            for kind, q, skills in _skill_moves(w.skills, allowed, bounds, formats,
                                                before=original):
                add("window-edit", g, q, w.label,
                    f"{w.label}, " + describe_skills(g, w.skills, skills),
                    GroupAllocation(ga.skills, rest + (Window(w.from_min, w.to_min,
                                                              skills),)))
        for a_h, b_h, queues in (pressure.clusters if pressure else ()):
            win = Window(a_h * 60, b_h * 60, ())
            if any(win.overlaps(o) for o in ga.windows) or \
                    not _on_shift(scenario, g, win.from_min, win.to_min):
                continue
            for q in queues:
                if q not in allowed:
                    continue
                others = tuple(s for s in ga.skills if s.queue != q)
                skills = _from_tiers([[Skill(q, 1)]] + _tiers(others))
                if skills == ga.skills or not bounds.fits(skills, original):
                    continue
                new_win = Window(win.from_min, win.to_min, skills)
                add("window-add", g, q, new_win.label,
                    f"{new_win.label}, " + describe_skills(g, ga.skills, skills,
                                                           was="the rest of the day"),
                    GroupAllocation(ga.skills, ga.windows + (new_win,)))
    if pressure is None:
        return moves
    rostered = _rostered(scenario)
    worth = [_promise(m, alloc, scenario=scenario, pressure=pressure, rostered=rostered,
                      learn_speed=bounds.learn_speed) for m in moves]
    order = sorted(range(len(moves)), key=lambda k: -worth[k])  # stable: ties as generated
    return [moves[k] for k in order]


# --------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------
def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _order_text(skills: Skills) -> str:
    """'aftersales first, then presales once waited 30 s' as a planner says it."""
    def one(s: Skill) -> str:
        return s.queue + (f" once waited {s.after_s:g} s" if s.after_s else "")

    tiers = _tiers(skills)
    if not tiers:
        return "nothing"
    if len(tiers) == 1:
        return ("only " if len(tiers[0]) == 1 else "") + _and([one(s) for s in tiers[0]]) + \
            (" alike" if len(tiers[0]) > 1 else "")
    parts = [_and([one(s) for s in t]) + (" alike" if len(t) > 1 else "") for t in tiers]
    return parts[0] + " first, then " + ", then ".join(parts[1:])


def describe_skills(group: str, before: Skills, after: Skills, *, was: str = "was") -> str:
    """'gold learns complaints: takes aftersales first, then complaints (was: only
    aftersales)'."""
    have = {s.queue for s in before}
    now = {s.queue for s in after}
    verbs = []
    learned = [s.queue for s in after if s.queue not in have]
    dropped = [s.queue for s in before if s.queue not in now]
    if learned:
        verbs.append("learns " + _and(learned))
    if dropped:
        verbs.append("stops taking " + _and(dropped))
    head = group + (" " + " and ".join(verbs) + ":" if verbs else "")
    return f"{head} takes {_order_text(after)} ({was}: {_order_text(before)})"


# --------------------------------------------------------------------------------------------
# Scoring (runs in the workers)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RepScore:
    """One replication of one allocation, after warm-up: contacts ``lost`` (abandoned and
    left waiting at the end), judged intervals ``missed``, ``asa_s`` of all answered
    contacts; per queue the whole-horizon figures (``queues``, as
    :func:`sim.replications.rep_summaries`); per queue and interval the lost contacts and
    whether a judged interval missed a target (``cells_*``, shape queues x intervals)."""

    lost: float
    missed: float
    asa_s: float
    queues: pd.DataFrame = field(repr=False)
    cells_lost: np.ndarray = field(repr=False)
    cells_missed: np.ndarray = field(repr=False)


def score_rep(scenario: Scenario, seed: int, rep: int) -> RepScore:
    """Replication ``rep`` of a run seeded ``seed`` (the streams of
    :func:`sim.replications.rep_seed`: those ``simulate`` uses), scored."""
    qi, gi, handled = run_rep(scenario, seed=seed, rep=rep)
    queues, _ = rep_summaries(scenario, qi, gi, handled)
    first = first_interval(scenario)
    index = {q: k for k, q in enumerate(scenario.queues)}
    qk = qi["queue"].map(index).to_numpy(dtype=np.int64)
    ik = qi["interval"].to_numpy(dtype=np.int64)
    shape = (len(scenario.queues), scenario.n_intervals)
    lost = np.zeros(shape)
    lost[qk, ik] = (qi["abandoned"] + qi["left_waiting"]).to_numpy(dtype=float)
    lost[:, :first] = 0.0
    targets = {q: scenario.spec.queues[q].target for q in scenario.queues}
    deficit = metrics.target_deficit(qi, targets).to_numpy(dtype=float)
    judged = (ik >= first) & (qi["offered"].to_numpy(dtype=float) >= MIN_CONTACTS)
    missed = np.zeros(shape, dtype=bool)
    missed[qk, ik] = judged & (np.nan_to_num(deficit, nan=-1.0) > 0)
    every = queues[queues["queue"] == "all"].iloc[0]
    return RepScore(lost=float(lost.sum()), missed=float(missed.sum()),
                    asa_s=float(every["asa_s"]), queues=queues, cells_lost=lost,
                    cells_missed=missed)


# --------------------------------------------------------------------------------------------
# Objective and the guard
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Objective:
    """A lexicographic objective: ``primary`` then ``secondary`` (RepScore fields), both
    minimised; ``guard_secondary``: a move must not worsen the secondary beyond the guard."""

    name: str
    primary: str
    secondary: str
    label: str
    secondary_label: str
    text: str
    guard_secondary: bool = False


OBJECTIVES = {
    "abandoned": Objective("abandoned", "lost", "missed", "abandoned", "intervals missed",
                           "contacts abandoned (or still waiting at the end), then intervals "
                           "missing a target as a tie-break"),
    "missed-intervals": Objective("missed-intervals", "missed", "lost", "intervals missed",
                                  "abandoned", "intervals and queues missing a target, then "
                                  "contacts abandoned as a tie-break"),
    "asa": Objective("asa", "asa_s", "lost", "ASA", "abandoned",
                     "mean wait of answered contacts (ASA), then contacts abandoned as a "
                     "tie-break, never at the cost of more abandoned", guard_secondary=True),
}


@dataclass(frozen=True)
class Diff:
    """A paired difference (B - A) over replications: mean, standard error, 95% half-width
    (Student's t), and the means of A and B."""

    mean: float
    se: float
    ci95: float
    n: int
    a: float
    b: float

    @classmethod
    def of(cls, a: np.ndarray, b: np.ndarray) -> Diff:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        d = b - a
        n = int(d.size)
        sd = float(np.std(d, ddof=1)) if n > 1 else math.nan
        se = sd / math.sqrt(n) if n > 1 else math.nan
        t = float(stats.t.ppf(0.975, n - 1)) if n > 1 else math.nan
        return cls(float(np.mean(d)), se, t * se, n, float(np.mean(a)), float(np.mean(b)))

    def below(self, guard_se: float) -> bool:
        """Lower than 0 beyond ``guard_se`` standard errors."""
        return self.mean < 0 and self.mean < -guard_se * self.se

    def dict(self) -> dict[str, float]:
        return {"before": self.a, "after": self.b, "diff": self.mean, "ci95": self.ci95}


def _values(scores: Sequence[RepScore], name: str) -> np.ndarray:
    return np.array([getattr(s, name) for s in scores], dtype=float)


def _compare(inc: Sequence[RepScore], cand: Sequence[RepScore], obj: Objective,
             guard_se: float) -> tuple[str | None, Diff, Diff]:
    """('primary' | 'secondary' | None, primary diff, secondary diff) of cand - inc."""
    d1 = Diff.of(_values(inc, obj.primary), _values(cand, obj.primary))
    d2 = Diff.of(_values(inc, obj.secondary), _values(cand, obj.secondary))
    if obj.guard_secondary and d2.mean > guard_se * (d2.se if d2.se == d2.se else 0.0):
        return None, d1, d2
    if d1.below(guard_se):
        return "primary", d1, d2
    if d1.mean <= 0 and d2.below(guard_se):
        return "secondary", d1, d2
    return None, d1, d2


# --------------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """An accepted move: its round, what it does, the candidates scored that round, its
    paired differences on the search seeds and on the round's confirmation seeds."""

    round: int
    move: Move
    candidates: int
    search: tuple[Diff, Diff]
    confirm: tuple[Diff, Diff]
    confirm_seed: int


@dataclass(frozen=True)
class Change:
    """A net change to make (one group's all-day skills, or its windows), in the order the
    search found it, with its gain on fresh seeds given the changes before it."""

    number: int
    group: str
    scope: str              # "all day" or "windows"
    text: str
    primary: Diff
    secondary: Diff
    before: GroupAllocation
    after: GroupAllocation


@dataclass(frozen=True)
class AllocationResult:
    """The result of :func:`allocate`.

    ``changes``: the net changes, verified; ``total``: the final allocation against the
    original on the fresh seeds (primary, secondary); ``queues``: per queue, before and after
    on the fresh seeds (:data:`QUEUE_COLUMNS`); ``steps``: the accepted moves;
    ``evaluations``: candidate simulations of ``reps`` replications on the search seeds;
    ``confirmations``: simulations on confirmation seeds; ``stopped``: why the search ended.
    """

    scenario: Scenario
    allocated: Scenario
    original: Allocation
    allocation: Allocation
    objective: Objective
    bounds: Bounds
    formats: Formats
    changes: tuple[Change, ...]
    total: tuple[Diff, Diff]
    queues: pd.DataFrame
    steps: tuple[Step, ...]
    rounds: int
    evaluations: int
    confirmations: int
    stopped: str
    seed: int
    reps: int
    verify_seed: int
    verify_reps: int
    guard_se: float
    notes: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        """The changes improve the objective on the fresh seeds (95% interval below 0, or the
        tie-break's with the primary not worse)."""
        d1, d2 = self.total
        if not self.changes:
            return False
        if d1.mean + d1.ci95 < 0:
            return True
        return d1.mean <= 0 and d2.mean + d2.ci95 < 0

    def file_changes(self) -> dict[str, Any]:
        """Edits of the scenario file (:func:`file_changes`)."""
        return file_changes(self.scenario, self.allocation,
                            learn_speed=self.bounds.learn_speed)


QUEUE_COLUMNS = {
    "queue": "queue id",
    "offered": "contacts offered (mean over the fresh replications, original allocation)",
    "service_level_before": "service level, original allocation (and _ci95)",
    "service_level_after": "service level, allocated",
    "abandoned_before": "contacts abandoned or left waiting, original",
    "abandoned_after": "contacts abandoned or left waiting, allocated",
    "abandoned_diff": "paired difference after - before (and _ci95)",
    "asa_s_before": "mean wait of answered contacts (s), original",
    "asa_s_after": "mean wait of answered contacts (s), allocated",
    "intervals_missed_before": "judged intervals missing a target, original",
    "intervals_missed_after": "judged intervals missing a target, allocated",
    "occupancy_before": "occupancy of the agents who handled the queue, original",
    "occupancy_after": "the same, allocated",
}


def _serial_map(fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], *,
                on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
    out = []
    for i, t in enumerate(tasks):
        out.append(fn(*t))
        if on_result is not None:
            on_result(i, out[-1])
    return out


def check_settings(*, reps: int, seed: int, max_evals: int, verify_reps: int,
                   guard_se: float = 1.0, objective: str = "abandoned") -> None:
    """InputError naming the flag for a setting out of range."""
    if isinstance(reps, bool) or reps < 2:
        raise InputError(f"must be at least 2 (the noise guard needs a standard error), "
                         f"got {reps}", field="--reps")
    if seed < 0:
        raise InputError(f"must be a whole number >= 0, got {seed}", field="--seed")
    if not 1 <= max_evals <= MAX_EVALS:
        raise InputError(f"must be from 1 to {MAX_EVALS:,}, got {max_evals}",
                         field="--max-evals")
    if verify_reps < 2:
        raise InputError(f"must be at least 2, got {verify_reps}", field="--verify-reps")
    if not (guard_se >= 0 and math.isfinite(guard_se)):
        raise InputError(f"must be a non-negative number of standard errors, got "
                         f"{guard_se:g}", field="guard_se")
    if objective not in OBJECTIVES:
        raise InputError(f"expected one of {', '.join(OBJECTIVES)}, got {quote(objective)}",
                         field="--objective")


def allocate(scenario: Scenario, *, bounds: Bounds = Bounds(), objective: str = "abandoned",
             reps: int = 8, seed: int = 1, max_evals: int = 100,
             verify_reps: int | None = None, guard_se: float = 1.0, batch: int = BATCH,
             formats: Formats | None = None, mapper: Mapper | None = None,
             progress: Callable[[str, int, int], None] | None = None) -> AllocationResult:
    """Search the routing of the roster as it is (module docstring) and verify it.

    ``mapper(fn, tasks, on_result=...)`` runs the replications (an executor's ``map``;
    default here, one after another; the result does not depend on it).
    ``progress(stage, done, total)`` after each replication."""
    verify_reps = 2 * reps if verify_reps is None else verify_reps
    check_settings(reps=reps, seed=seed, max_evals=max_evals, verify_reps=verify_reps,
                   guard_se=guard_se, objective=objective)
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    bounds.check(scenario)
    obj = OBJECTIVES[objective]
    formats = formats or detect_formats()
    run = mapper or _serial_map
    base = allocation_of(scenario)
    built: dict[Allocation, Scenario] = {base: scenario}
    notes: list[str] = []

    def build(alloc: Allocation) -> Scenario | None:
        if alloc not in built:
            try:
                built[alloc] = apply_allocation(scenario, alloc,
                                                learn_speed=bounds.learn_speed,
                                                formats=formats)
            except InputError:
                return None  # a combination the scenario format refuses: not a candidate
        return built[alloc]

    def evaluate(allocs: Sequence[Allocation], run_seed: int, n: int, stage: str
                 ) -> list[list[RepScore]]:
        tasks = [(built[a], run_seed, r) for a in allocs for r in range(n)]
        done = 0

        def tick(i: int, result: Any) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(stage, done, len(tasks))

        out = run(score_rep, tasks, on_result=tick)
        return [list(out[k * n:(k + 1) * n]) for k in range(len(allocs))]

    cache: dict[Allocation, list[RepScore]] = {}
    cache[base] = evaluate([base], seed, reps, "scoring the current allocation")[0]
    incumbent = base
    evaluations = confirmations = 0
    steps: list[Step] = []
    rnd = 0
    stopped = "budget"
    while evaluations < max_evals:
        rnd += 1
        moves = neighbours(incumbent, scenario=scenario, bounds=bounds, formats=formats,
                           base=base, pressure=_pressure(scenario, cache[incumbent]))
        moves = [m for m in moves if build(m.allocation) is not None]
        if not moves:
            stopped = "no move is left within the bounds"
            break
        block = seed + CONFIRM_SEED_OFFSET + rnd
        inc_block: list[RepScore] | None = None
        refused: set[Allocation] = set()  # failed confirmation this round
        accepted = None
        scored = 0
        while accepted is None:
            # The next batch of unscored moves, most promising first; moves scored in earlier
            # rounds (the same seeds) are compared for free.
            batch_moves = [m for m in moves if m.allocation not in cache][
                :min(batch, max_evals - evaluations)]
            if batch_moves:
                for m, scores in zip(batch_moves, evaluate(
                        [m.allocation for m in batch_moves], seed, reps,
                        f"round {rnd}: {scored + len(batch_moves)} candidates")):
                    cache[m.allocation] = scores
                evaluations += len(batch_moves)
                scored += len(batch_moves)
            ranked = []
            for k, m in enumerate(moves):
                if m.allocation not in cache or m.allocation in refused:
                    continue
                kind, d1, d2 = _compare(cache[incumbent], cache[m.allocation], obj, guard_se)
                if kind is not None:
                    ranked.append(((0 if kind == "primary" else 1,
                                    d1.mean if kind == "primary" else d2.mean, d2.mean, k),
                                   m, d1, d2))
            ranked.sort(key=lambda x: x[0])
            for _, m, d1, d2 in ranked[:CONFIRM_TRIES]:
                if inc_block is None:
                    inc_block, cand_block = evaluate([incumbent, m.allocation], block, reps,
                                                     f"round {rnd}: confirming")
                    confirmations += 2
                else:
                    cand_block = evaluate([m.allocation], block, reps,
                                          f"round {rnd}: confirming")[0]
                    confirmations += 1
                kind, c1, c2 = _compare(inc_block, cand_block, obj, guard_se)
                if kind is not None:
                    accepted = Step(rnd, m, scored, (d1, d2), (c1, c2), block)
                    break
                refused.add(m.allocation)
            if not batch_moves:
                break
        if accepted is None:
            left = any(m.allocation not in cache for m in moves)
            stopped = "budget" if left else "no move improves beyond the guard"
            if refused:
                stopped += (f" ({len(refused)} improving on the search seeds did not hold on "
                            "the confirmation seeds)")
            break
        steps.append(accepted)
        incumbent = accepted.move.allocation
    if stopped.startswith("budget") and evaluations >= max_evals:
        notes.append(f"the budget of {max_evals} evaluations ended the search: a larger "
                     "--max-evals may find more")

    changes, total, queues = _verify(scenario, base, incumbent, steps, obj=obj,
                                     build=build, evaluate=evaluate,
                                     seed=seed + VERIFY_SEED_OFFSET, reps=verify_reps)
    if not formats.delays or not formats.windows:
        missing = [name for name, ok in (("overflow delays", formats.delays),
                                         ("allocation windows", formats.windows)) if not ok]
        notes.append(f"{' and '.join(missing)} not searched: the installed scenario format "
                     "does not have them yet")
    return AllocationResult(
        scenario=scenario, allocated=built[incumbent], original=base, allocation=incumbent,
        objective=obj, bounds=bounds, formats=formats, changes=changes, total=total,
        queues=queues, steps=tuple(steps), rounds=rnd, evaluations=evaluations,
        confirmations=confirmations, stopped=stopped, seed=seed, reps=reps,
        verify_seed=seed + VERIFY_SEED_OFFSET, verify_reps=verify_reps, guard_se=guard_se,
        notes=tuple(notes))


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------
def _net_targets(base: Allocation, final: Allocation, steps: Sequence[Step]
                 ) -> list[tuple[str, str]]:
    """(group, 'all day' | 'windows') that differ at the end, in the order first touched."""
    out: list[tuple[str, str]] = []
    for step in steps:
        g = step.move.group
        scope = "all day" if step.move.window is None else "windows"
        if (g, scope) not in out:
            out.append((g, scope))
    # A change of the all-day skills can make a window like the day (and so no window):
    # every difference is a target, those no step touched last.
    out += [(g, s) for g in final.names() for s in ("all day", "windows") if (g, s) not in out]
    return [(g, s) for g, s in out
            if (base[g].skills != final[g].skills if s == "all day"
                else base[g].windows != final[g].windows)]


def _set_target(alloc: Allocation, final: Allocation, group: str, scope: str) -> Allocation:
    ga = alloc[group]
    f = final[group]
    new = replace(ga, skills=f.skills) if scope == "all day" else replace(ga, windows=f.windows)
    # Untidy: a window of the final routing stays, even while it is like the day (it will not
    # be once every change is made).
    return alloc.with_group(group, new, tidy=False)


def _windows_text(group: str, before: GroupAllocation, after: GroupAllocation) -> str:
    added = [w for w in after.windows if w not in before.windows]
    removed = [w for w in before.windows if w not in after.windows]
    parts = []
    for w in added:
        moved = next((r for r in removed if r.skills == w.skills), None)
        if moved is not None:
            removed.remove(moved)
            parts.append(f"{w.label} (was {moved.label[5:]}), {group} takes "
                         f"{_order_text(w.skills)}")
        else:
            old = next((r for r in removed if r.overlaps(w)), None)
            if old is not None:
                removed.remove(old)
            parts.append(f"{w.label}, " + describe_skills(
                group, old.skills if old is not None else after.skills, w.skills,
                was="was" if old is not None and old.from_min == w.from_min and
                old.to_min == w.to_min else "the rest of the day"))
    parts += [f"{group} no longer switches {w.label}" for w in removed]
    return "; ".join(parts)


def _verify(scenario: Scenario, base: Allocation, final: Allocation, steps: Sequence[Step],
            *, obj: Objective, build: Callable[[Allocation], Scenario | None],
            evaluate: Callable[..., list[list[RepScore]]], seed: int, reps: int
            ) -> tuple[tuple[Change, ...], tuple[Diff, Diff], pd.DataFrame]:
    targets = _net_targets(base, final, steps)
    # The chain of states: each net change applied on top of the ones before.  A state the
    # scenario refuses (a queue left without a group until a later change) is merged into
    # the next change.
    groups: list[list[tuple[str, str]]] = []
    states = [base]
    pending: list[tuple[str, str]] = []
    state = base
    for t in targets:
        state = _set_target(state, final, *t)
        pending.append(t)
        if _served(state, _needed(scenario)) and build(state) is not None:
            groups.append(pending)
            states.append(state)
            pending = []
    if pending:  # cannot happen (the final allocation is valid), kept for safety
        groups.append(pending)
        states.append(final)
    assert states[-1] == final or not targets, "the chain of changes must end at the result"
    scores = evaluate(states, seed, reps, "verifying (fresh seeds)")
    changes = []
    for k, ts in enumerate(groups):
        before, after = states[k], states[k + 1]
        texts = []
        for g, scope in ts:
            if scope == "all day":
                texts.append(describe_skills(g, before[g].skills, after[g].skills))
            else:
                texts.append(_windows_text(g, before[g], after[g]))
        g0 = ts[0][0]
        changes.append(Change(
            number=k + 1, group=g0, scope=" + ".join(s for _, s in ts), text="; ".join(texts),
            primary=Diff.of(_values(scores[k], obj.primary), _values(scores[k + 1],
                                                                      obj.primary)),
            secondary=Diff.of(_values(scores[k], obj.secondary),
                              _values(scores[k + 1], obj.secondary)),
            before=before[g0], after=after[g0]))
    first, last = scores[0], scores[-1]
    total = (Diff.of(_values(first, obj.primary), _values(last, obj.primary)),
             Diff.of(_values(first, obj.secondary), _values(last, obj.secondary)))
    return tuple(changes), total, _queue_table(scenario, first, last)


def _queue_table(scenario: Scenario, before: Sequence[RepScore],
                 after: Sequence[RepScore]) -> pd.DataFrame:
    rows = []
    for k, q in enumerate(scenario.queues):
        def per(scores: Sequence[RepScore], col: str) -> np.ndarray:
            return np.array([float(s.queues.loc[s.queues["queue"] == q, col].iloc[0])
                             for s in scores])

        row: dict[str, Any] = {"queue": q, "offered": float(per(before, "offered").mean())}
        for name, b, a in (
                ("service_level", per(before, "service_level"), per(after, "service_level")),
                ("abandoned", np.array([s.cells_lost[k].sum() for s in before]),
                 np.array([s.cells_lost[k].sum() for s in after])),
                ("asa_s", per(before, "asa_s"), per(after, "asa_s")),
                ("intervals_missed", np.array([s.cells_missed[k].sum() for s in before],
                                              dtype=float),
                 np.array([s.cells_missed[k].sum() for s in after], dtype=float)),
                ("occupancy", per(before, "occupancy"), per(after, "occupancy"))):
            d = Diff.of(b, a) if np.isfinite(b).all() and np.isfinite(a).all() else None
            row[f"{name}_before"] = float(np.nanmean(b)) if np.isfinite(b).any() else math.nan
            row[f"{name}_after"] = float(np.nanmean(a)) if np.isfinite(a).any() else math.nan
            row[f"{name}_diff"] = d.mean if d is not None else math.nan
            row[f"{name}_diff_ci95"] = d.ci95 if d is not None else math.nan
        rows.append(row)
    return pd.DataFrame(rows)
