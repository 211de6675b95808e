"""Agents and their rosters: who is on the floor when, from the scenario's shifts and breaks.

Each shift of a group stands for ``agents`` agents who work it every day of the horizon (a shift
that starts the day before and crosses midnight is on the floor at the start).  Breaks are taken
at their clock time; with ``window_min`` the agents' break starts are spread evenly over that
window.  An agent who is busy when a break or the shift end comes finishes the contacts in hand
first: the engine then starts the break (of full length) or ends the shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.scenario import Scenario, clock_to_min

__all__ = ["Roster", "build_roster", "ON", "OFF", "BREAK"]

DAY_S = 86_400.0
# Event kinds, in the order they are applied at one instant: leave before joining, so that a
# 24-hour shift ending and starting at the same moment keeps the agent on the floor.
OFF, BREAK, ON = 0, 1, 2


@dataclass(frozen=True)
class Roster:
    """``group[a]`` and ``label[a]`` of every agent ``a``; ``events`` sorted by time, then kind:
    ``(time_s, kind, agent, break_s)`` with ``break_s`` the break length for BREAK events."""

    group: np.ndarray
    label: tuple[str, ...]
    events: tuple[tuple[float, int, int, float], ...]


def build_roster(scenario: Scenario, *, until_s: float) -> Roster:
    """The roster of ``scenario`` from time 0 to ``until_s`` (seconds from its start)."""
    start = scenario.spec.start
    offset_s = (start.hour * 60 + start.minute) * 60.0 + start.second
    days = range(-1, math.ceil((until_s + offset_s) / DAY_S) + 1)
    groups: list[int] = []
    labels: list[str] = []
    events: list[tuple[float, int, int, float]] = []
    for g, (gname, gspec) in enumerate(scenario.spec.agent_groups.items()):
        for s, shift in enumerate(gspec.shifts):
            for j in range(shift.agents):
                agent = len(groups)
                groups.append(g)
                labels.append(f"{gname}/{shift.start}-{shift.end}/{j + 1}")
                breaks = []
                for b in shift.breaks:
                    off_min = (clock_to_min(b.start) - shift.start_min) % (24 * 60)
                    spread = b.window_min * j / shift.agents
                    breaks.append(((off_min + spread) * 60.0, b.minutes * 60.0))
                breaks.sort()
                for d in days:
                    t0 = d * DAY_S + shift.start_min * 60.0 - offset_s
                    t1 = t0 + shift.length_min * 60.0
                    if t1 <= 0.0 or t0 >= until_s:
                        continue
                    events.extend(_occurrence(agent, t0, t1, breaks))
    events = _join_back_to_back(events)
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    return Roster(group=np.asarray(groups, dtype=np.int64), label=tuple(labels),
                  events=tuple(events))


def _occurrence(agent: int, t0: float, t1: float, breaks: list[tuple[float, float]]
                ) -> list[tuple[float, int, int, float]]:
    """Events of one shift occurrence, starting the agent at time 0 if it began earlier."""
    out: list[tuple[float, int, int, float]] = []
    on_at = t0
    for off, length in breaks:
        b0, b1 = t0 + off, t0 + off + length
        if b1 <= 0.0:
            continue  # an earlier break, over before the run starts
        if b0 < 0.0:
            on_at = b1  # on break when the run starts
            continue
        out.append((b0, BREAK, agent, length))
    out.insert(0, (max(on_at, 0.0), ON, agent, 0.0))
    out.append((t1, OFF, agent, 0.0))
    return out


def _join_back_to_back(events: list[tuple[float, int, int, float]]
                       ) -> list[tuple[float, int, int, float]]:
    """Drop a shift end and a shift start of the same agent at the same instant (a 24-hour
    shift, or two shifts back to back): the agent simply stays on the floor."""
    ends = {(t, a) for t, kind, a, _ in events if kind == OFF}
    joined = {(t, a) for t, kind, a, _ in events if kind == ON and (t, a) in ends}
    return [e for e in events if e[1] == BREAK or (e[0], e[2]) not in joined]
