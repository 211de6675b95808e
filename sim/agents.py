"""Agents and their rosters: who is on the floor when, from the scenario's shifts and breaks.

Each shift of a group stands for ``agents`` agents who work it every day of the horizon (a shift
that starts the day before and crosses midnight is on the floor at the start).  Breaks are taken
at their clock time; with ``window_min`` the agents' break starts are spread evenly over that
window.  An agent who is busy when a break or the shift end comes finishes the contacts in hand
first: the engine then starts the break (of full length) or ends the shift.

Clock times are read on the scenario's start clock (:func:`clock_offset_s`); the same daily
windows serve the groups' allocation windows (:func:`daily_windows`, used by
:func:`sim.routing.allocation_switches`).

The roster is built with numpy, one shift at a time: clock strings are parsed once per shift,
and the agents of a shift (who differ only in where their breaks fall in the window) are
columns of one array, so a 5,000-agent team costs a few array operations per shift and day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.scenario import Scenario, ShiftSpec, clock_to_min, window_occurrences

__all__ = ["Roster", "build_roster", "clock_offset_s", "daily_windows", "ON", "OFF", "BREAK"]

DAY_S = 86_400.0
# Event kinds, in the order they are applied at one instant: leave before joining, so that a
# 24-hour shift ending and starting at the same moment keeps the agent on the floor.
OFF, BREAK, ON = 0, 1, 2


@dataclass(frozen=True)
class Roster:
    """``group[a]`` and ``label[a]`` of every agent ``a``; its events as parallel arrays sorted
    by time, then kind, then agent: ``time_s``, ``kind``, ``agent`` and ``break_s`` (the break
    length of BREAK events, else 0)."""

    group: np.ndarray
    label: tuple[str, ...]
    time_s: np.ndarray
    kind: np.ndarray
    agent: np.ndarray
    break_s: np.ndarray

    @property
    def events(self) -> tuple[tuple[float, int, int, float], ...]:
        """The events as ``(time_s, kind, agent, break_s)`` tuples, in order."""
        return tuple(zip(self.time_s.tolist(), self.kind.tolist(), self.agent.tolist(),
                         self.break_s.tolist()))


def clock_offset_s(scenario: Scenario) -> float:
    """Seconds from the midnight before the scenario's start to its start: model time ``t``
    is clock time ``t + offset`` (mod a day)."""
    start = scenario.spec.start
    return (start.hour * 60 + start.minute) * 60.0 + start.second


def daily_windows(scenario: Scenario, *, start_min: int, length_min: int, until_s: float
                  ) -> list[tuple[float, float]]:
    """The occurrences ``(from_s, to_s)``, in model time, of a daily clock window starting at
    ``start_min`` after midnight for ``length_min``, that overlap ``[0, until_s)``; the
    first may start before 0 (a window in force when the run starts)."""
    return window_occurrences(scenario.spec.start, start_min=start_min,
                              length_min=length_min, until_s=until_s)


def build_roster(scenario: Scenario, *, until_s: float) -> Roster:
    """The roster of ``scenario`` from time 0 to ``until_s`` (seconds from its start)."""
    offset_s = clock_offset_s(scenario)
    days = range(-1, math.ceil((until_s + offset_s) / DAY_S) + 1)
    groups: list[np.ndarray] = []
    labels: list[str] = []
    parts: list[tuple[np.ndarray, ...]] = []  # (time_s, kind, agent, break_s) per shift
    first = 0  # id of the shift's first agent
    for g, (gname, gspec) in enumerate(scenario.spec.agent_groups.items()):
        for shift in gspec.shifts:
            n = shift.agents
            if n == 0:
                continue
            groups.append(np.full(n, g, dtype=np.int64))
            labels.extend(f"{gname}/{shift.start}-{shift.end}/{j + 1}" for j in range(n))
            parts.extend(_shift_events(shift, first=first, days=days, offset_s=offset_s,
                                       until_s=until_s))
            first += n
    group = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
    if parts:
        time_s, kind, agent, break_s = (np.concatenate(c) for c in zip(*parts))
    else:
        time_s, break_s = np.zeros(0), np.zeros(0)
        kind, agent = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    keep = _not_back_to_back(time_s, kind, agent)
    time_s, kind, agent, break_s = time_s[keep], kind[keep], agent[keep], break_s[keep]
    order = np.lexsort((agent, kind, time_s))
    return Roster(group=group, label=tuple(labels), time_s=time_s[order], kind=kind[order],
                  agent=agent[order], break_s=break_s[order])


def _shift_events(shift: ShiftSpec, *, first: int, days: range, offset_s: float, until_s: float
                  ) -> list[tuple[np.ndarray, ...]]:
    """Events of the ``shift.agents`` agents of one shift (ids from ``first``) over ``days``.

    Agent ``j`` of ``n`` takes each break at its clock offset + ``window_min * j / n``; an
    occurrence that began before time 0 starts the agent at 0, or when a break in progress at 0
    ends.  The arithmetic is the scalar one, element by element (same operations, same order),
    so times are the same floats whatever the team size.
    """
    n = shift.agents
    start_min, length_min = shift.start_min, shift.length_min  # parsed once per shift
    agents = np.arange(first, first + n, dtype=np.int64)
    j = np.arange(n, dtype=np.float64)
    # Per agent (rows) and break (columns), sorted per agent as tuples (offset, length) would be.
    offs = np.empty((n, len(shift.breaks)))
    lens = np.empty((n, len(shift.breaks)))
    for c, b in enumerate(shift.breaks):
        off_min = (clock_to_min(b.start) - start_min) % (24 * 60)
        offs[:, c] = (off_min + b.window_min * j / n) * 60.0
        lens[:, c] = b.minutes * 60.0
    if shift.breaks:
        order = np.lexsort((lens, offs), axis=1)
        offs = np.take_along_axis(offs, order, axis=1)
        lens = np.take_along_axis(lens, order, axis=1)
    out: list[tuple[np.ndarray, ...]] = []
    for d in days:
        t0 = d * DAY_S + start_min * 60.0 - offset_s
        t1 = t0 + length_min * 60.0
        if t1 <= 0.0 or t0 >= until_s:
            continue
        on_at = np.full(n, t0)
        for c in range(offs.shape[1]):
            b0 = t0 + offs[:, c]
            b1 = t0 + offs[:, c] + lens[:, c]
            before = (b1 > 0.0) & (b0 < 0.0)  # on break when the run starts
            on_at = np.where(before, b1, on_at)
            taken = b0 >= 0.0  # an earlier break, over before the run starts, is dropped
            k = int(taken.sum())
            out.append((b0[taken], np.full(k, BREAK, dtype=np.int64), agents[taken],
                        lens[taken, c]))
        out.append((np.maximum(on_at, 0.0), np.full(n, ON, dtype=np.int64), agents,
                    np.zeros(n)))
        out.append((np.full(n, t1), np.full(n, OFF, dtype=np.int64), agents, np.zeros(n)))
    return out


def _not_back_to_back(time_s: np.ndarray, kind: np.ndarray, agent: np.ndarray) -> np.ndarray:
    """Which events to keep: a shift end and a shift start of the same agent at the same
    instant (a 24-hour shift, or two shifts back to back) are both dropped, every such event
    of that agent and instant: the agent simply stays on the floor."""
    keep = np.ones(time_s.size, dtype=bool)
    edge = np.flatnonzero(kind != BREAK)
    if edge.size == 0:
        return keep
    t, a, k = time_s[edge], agent[edge], kind[edge]
    order = np.lexsort((t, a))
    t, a, k, edge = t[order], a[order], k[order], edge[order]
    # Runs of equal (agent, time); a run holding both an ON and an OFF is dropped whole.
    new = np.ones(t.size, dtype=bool)
    new[1:] = (a[1:] != a[:-1]) | (t[1:] != t[:-1])
    run = np.cumsum(new) - 1
    has_on = np.bincount(run, weights=(k == ON), minlength=run[-1] + 1) > 0
    has_off = np.bincount(run, weights=(k == OFF), minlength=run[-1] + 1) > 0
    keep[edge[(has_on & has_off)[run]]] = False
    return keep
