"""Skills-based routing tables, computed once per run.

* An arriving contact goes to the longest-idle agent among the groups with the best preference
  for its queue (among chat agents with a free slot: the least loaded first, then the one free
  longest).
* An agent with a free slot takes, from the queues of its best preference that have anyone
  waiting, the one of highest queue priority (1 first), then the contact that waited longest.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.scenario import Scenario

__all__ = ["RoutingTable", "build_routing"]


@dataclass(frozen=True)
class RoutingTable:
    """``groups_for[q]``: tiers of group indices able to take queue ``q``, best first.
    ``queues_for[g]``: tiers of queue indices group ``g`` takes, best preference first.
    ``priority[q]``: the queue's priority (1 first).  ``speed[g][q]``: handle-time factor.
    ``transfer_to[q]``: ``(cumulative probability, target queue)`` pairs."""

    groups_for: tuple[tuple[tuple[int, ...], ...], ...]
    queues_for: tuple[tuple[tuple[int, ...], ...], ...]
    priority: tuple[int, ...]
    speed: tuple[tuple[float, ...], ...]
    transfer_to: tuple[tuple[tuple[float, int], ...], ...]


def _tiers(prefs: dict[int, int]) -> tuple[tuple[int, ...], ...]:
    """{index: preference} -> indices grouped by preference, best (lowest) first."""
    levels = sorted(set(prefs.values()))
    return tuple(tuple(sorted(i for i, p in prefs.items() if p == lv)) for lv in levels)


def build_routing(scenario: Scenario) -> RoutingTable:
    spec = scenario.spec
    qi = {q: i for i, q in enumerate(scenario.queues)}
    groups = list(spec.agent_groups.values())
    groups_for = tuple(
        _tiers({g: grp.skills[q] for g, grp in enumerate(groups) if q in grp.skills})
        for q in scenario.queues)
    queues_for = tuple(_tiers({qi[q]: p for q, p in grp.skills.items()}) for grp in groups)
    priority = tuple(spec.queues[q].priority for q in scenario.queues)
    speed = tuple(tuple(grp.speed.get(q, 1.0) for q in scenario.queues) for grp in groups)
    transfer_to: list[list[tuple[float, int]]] = [[] for _ in scenario.queues]
    for t in spec.transfers:
        cum = transfer_to[qi[t.from_]][-1][0] if transfer_to[qi[t.from_]] else 0.0
        transfer_to[qi[t.from_]].append((cum + t.probability, qi[t.to]))
    return RoutingTable(groups_for=groups_for, queues_for=queues_for, priority=priority,
                        speed=speed, transfer_to=tuple(tuple(x) for x in transfer_to))
