"""Skills-based routing tables, computed once per run.

* An arriving contact goes to the longest-idle agent among the groups with the best preference
  for its queue (among chat agents with a free slot: the least loaded first, then the one free
  longest).
* An agent with a free slot takes, from the queues of its best preference that have anyone
  waiting, the one of highest queue priority (1 first), then the contact that waited longest.

Peak operations (see :mod:`sim.engine` for how the engine applies them):

* **Overflow delays**: a skill may carry ``after_s``: the group takes the queue's contacts only
  once they have waited that long in it.  Arrivals go only to groups whose delay is 0.
* **Allocation windows**: daily clock windows in which a group's skills (preferences and
  delays) are replaced; :func:`allocation_switches` lists when each group's allocation changes.
  Every allocation of a group is an :class:`Allocation`, index 0 its own skills, ``i + 1`` its
  window ``i``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sim.agents import daily_windows
from sim.scenario import Scenario

__all__ = ["RoutingTable", "Allocation", "build_routing", "groups_for", "allocation_switches"]


@dataclass(frozen=True)
class Allocation:
    """One set of skills of a group, in queue indices: ``prefs`` (queue -> preference),
    ``delay_s[q]`` (overflow delay; 0 when none or not a skill), ``tiers`` (the queues by
    preference, best first, as ``RoutingTable.queues_for``)."""

    prefs: Mapping[int, int]
    delay_s: tuple[float, ...]
    tiers: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class RoutingTable:
    """``groups_for[q]``: tiers of group indices able to take queue ``q``, best first.
    ``queues_for[g]``: tiers of queue indices group ``g`` takes, best preference first.
    ``priority[q]``: the queue's priority (1 first).  ``speed[g][q]``: handle-time factor.
    ``transfer_to[q]``: ``(cumulative probability, target queue)`` pairs.
    ``allocations[g]``: the group's :class:`Allocation` s (0: its own skills, as in
    ``groups_for`` and ``queues_for``; ``i + 1``: its allocation window ``i``)."""

    groups_for: tuple[tuple[tuple[int, ...], ...], ...]
    queues_for: tuple[tuple[tuple[int, ...], ...], ...]
    priority: tuple[int, ...]
    speed: tuple[tuple[float, ...], ...]
    transfer_to: tuple[tuple[tuple[float, int], ...], ...]
    allocations: tuple[tuple[Allocation, ...], ...] = ()


def _tiers(prefs: Mapping[int, int]) -> tuple[tuple[int, ...], ...]:
    """{index: preference} -> indices grouped by preference, best (lowest) first."""
    levels = sorted(set(prefs.values()))
    return tuple(tuple(sorted(i for i, p in prefs.items() if p == lv)) for lv in levels)


def groups_for(prefs: Sequence[Mapping[int, int]], n_queues: int
               ) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """Per queue, the tiers of groups taking it, from each group's ``{queue: preference}``."""
    return tuple(_tiers({g: p[q] for g, p in enumerate(prefs) if q in p})
                 for q in range(n_queues))


def build_routing(scenario: Scenario) -> RoutingTable:
    spec = scenario.spec
    qi = {q: i for i, q in enumerate(scenario.queues)}
    groups = list(spec.agent_groups.values())
    allocations = []
    for grp in groups:
        own = []
        for s in (grp, *grp.allocation):
            prefs = {qi[q]: p for q, p in s.skills.items()}
            own.append(Allocation(prefs=prefs,
                                  delay_s=tuple(s.delay_s(q) for q in scenario.queues),
                                  tiers=_tiers(prefs)))
        allocations.append(tuple(own))
    priority = tuple(spec.queues[q].priority for q in scenario.queues)
    speed = tuple(tuple(grp.speed.get(q, 1.0) for q in scenario.queues) for grp in groups)
    transfer_to: list[list[tuple[float, int]]] = [[] for _ in scenario.queues]
    for t in spec.transfers:
        cum = transfer_to[qi[t.from_]][-1][0] if transfer_to[qi[t.from_]] else 0.0
        transfer_to[qi[t.from_]].append((cum + t.probability, qi[t.to]))
    return RoutingTable(
        groups_for=groups_for([a[0].prefs for a in allocations], len(scenario.queues)),
        queues_for=tuple(a[0].tiers for a in allocations), priority=priority, speed=speed,
        transfer_to=tuple(tuple(x) for x in transfer_to), allocations=tuple(allocations))


def allocation_switches(scenario: Scenario, *, until_s: float
                        ) -> tuple[tuple[int, ...], tuple[tuple[float, int, int], ...]]:
    """When each group's allocation changes, in model time (clock times follow the scenario's
    start, like shifts): ``(initial, switches)``, ``initial[g]`` the allocation in force at
    time 0 and ``switches`` the changes ``(time_s, group, allocation)`` in ``(0, until_s)``,
    by time then group.  Where one window ends as the next begins, only the change to the
    next is listed."""
    initial = []
    switches: list[tuple[float, int, int]] = []
    for g, grp in enumerate(scenario.spec.agent_groups.values()):
        # (time, order, allocation): a window's end (order 0) before a start at that instant.
        events = []
        for i, w in enumerate(grp.allocation):
            for t0, t1 in daily_windows(scenario, start_min=w.start_min,
                                        length_min=w.length_min, until_s=until_s):
                events.append((t0, 1, i + 1))
                events.append((t1, 0, 0))
        events.sort()
        state = 0
        k = 0
        while k < len(events) and events[k][0] <= 0.0:
            state = events[k][2]
            k += 1
        initial.append(state)
        while k < len(events):
            t = events[k][0]
            new = state
            while k < len(events) and events[k][0] == t:
                new = events[k][2]
                k += 1
            if new != state and t < until_s:
                switches.append((t, g, new))
            state = new
    switches.sort(key=lambda s: (s[0], s[1]))
    return tuple(initial), tuple(switches)
