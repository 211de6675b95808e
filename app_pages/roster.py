"""Need against roster, before any simulation: agents required per interval against agents
rostered on the floor, headcount, agent-hours and cost.

Pure functions of a scenario (and planning rules), for the Scenario page:

* **required**: the Erlang requirement per interval and queue
  (:func:`planner.staffing.staffing_table` over the scenario's forecast and
  :meth:`Scenario.queue_plans`, as ``peakplan staff`` and the review compute it; chat: the
  documented slot approximation).  It staffs each queue alone: a cross-skilled team needs
  at most its sum.
* **on the floor**: the time-average number of agents of each group at work and not on a
  break in each interval, from :func:`sim.agents.build_roster` (the roster the simulator
  uses, breaks spread as it spreads them).  **On duty** counts breaks too (heads paid).
* **first-preference agents** of a queue: agents on the floor in the groups that take the
  queue at its best preference, a group that is such a group for several queues shared
  equally among them (the review's rule); the queue's own gap is required minus these.
* **agent-hours**: paid hours on duty within the horizon (breaks are paid, the usual
  contract); **cost**: agent-hours times the group's ``cost_per_hour`` of the planning rules
  (:class:`sim.planning.PlanningSpec`); a group the rules do not name is counted at 1.0 per
  hour (a core hour) and named.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.staffing import staffing_table
from sim.agents import BREAK, OFF, ON, build_roster
from sim.forecast import forecast_from_frame
from sim.scenario import Scenario

__all__ = ["Coverage", "coverage", "erlang_table", "floor_by_group", "first_shares",
           "Cost", "roster_cost", "BURN_OUT"]

BURN_OUT = 0.9  # occupancy above this burns agents out (domain notes; the review's flag)


def erlang_table(scenario: Scenario) -> pd.DataFrame:
    """Erlang agents needed per interval and queue (the table of ``peakplan staff``)."""
    forecast = forecast_from_frame(scenario.forecast_frame(), source=scenario.source,
                                   interval_min=scenario.spec.interval_min)
    return staffing_table(forecast, scenario.queue_plans())


def _levels(times: np.ndarray, deltas: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time-average of the step function sum(deltas at times) over each [edges[i], edges[i+1])."""
    if times.size == 0:
        return np.zeros(edges.size - 1)
    order = np.argsort(times, kind="stable")
    t, d = times[order], deltas[order]
    level = np.cumsum(d)
    # Integral at each event time, then at the edges (linear between events).
    knots = np.concatenate([[edges[0]], t, [edges[-1]]])
    knots = np.clip(knots, edges[0], edges[-1])
    lev = np.concatenate([[0.0], level])
    area = np.concatenate([[0.0], np.cumsum(lev * np.diff(knots))])
    at_edges = np.interp(edges, knots, area)
    return np.diff(at_edges) / np.diff(edges)


def floor_by_group(scenario: Scenario) -> pd.DataFrame:
    """Per interval and group: ``on_floor`` (agents at work, breaks out) and ``on_duty``
    (breaks in), time-averaged over the interval."""
    horizon = scenario.horizon_s
    roster = build_roster(scenario, until_s=horizon)
    edges = np.arange(scenario.n_intervals + 1) * scenario.interval_s
    starts = scenario.interval_starts
    rows = []
    grp = roster.group[roster.agent] if roster.agent.size else np.zeros(0, dtype=np.int64)
    for g, name in enumerate(scenario.groups):
        mine = grp == g
        t, k, b = roster.time_s[mine], roster.kind[mine], roster.break_s[mine]
        duty_t = t[(k == ON) | (k == OFF)]
        duty_d = np.where(k[(k == ON) | (k == OFF)] == ON, 1.0, -1.0)
        # An agent on break at time 0 comes ON when it ends: count the duty from 0.
        floor_t = np.concatenate([duty_t, t[k == BREAK], t[k == BREAK] + b[k == BREAK]])
        floor_d = np.concatenate([duty_d, -np.ones(int((k == BREAK).sum())),
                                  np.ones(int((k == BREAK).sum()))])
        on_floor = _levels(floor_t, floor_d, edges)
        on_duty = _duty(scenario, name, edges)
        rows.append(pd.DataFrame({"interval": np.arange(scenario.n_intervals),
                                  "interval_start": starts, "group": name,
                                  "on_floor": on_floor, "on_duty": on_duty}))
    return pd.concat(rows, ignore_index=True)


def _duty(scenario: Scenario, group: str, edges: np.ndarray) -> np.ndarray:
    """Heads on shift (breaks included) per interval, from the shifts' clock times."""
    start = scenario.spec.start
    offset_s = (start.hour * 60 + start.minute) * 60.0 + start.second
    horizon = edges[-1]
    days = range(-1, int(np.ceil((horizon + offset_s) / 86_400.0)) + 1)
    times, deltas = [], []
    for shift in scenario.spec.agent_groups[group].shifts:
        for d in days:
            t0 = d * 86_400.0 + shift.start_min * 60.0 - offset_s
            t1 = t0 + shift.length_min * 60.0
            if t1 <= 0 or t0 >= horizon or shift.agents == 0:
                continue
            times += [max(t0, 0.0), min(t1, horizon)]
            deltas += [float(shift.agents), -float(shift.agents)]
    return _levels(np.asarray(times, dtype=float), np.asarray(deltas, dtype=float), edges)


def first_shares(scenario: Scenario) -> dict[str, dict[str, float]]:
    """queue -> {group: share}: the groups taking the queue at its best preference."""
    spec = scenario.spec
    best = {q: min((g.skills[q] for g in spec.agent_groups.values() if q in g.skills),
                   default=None) for q in scenario.queues}
    takes = {name: [q for q, p in g.skills.items() if best.get(q) == p]
             for name, g in spec.agent_groups.items()}
    out: dict[str, dict[str, float]] = {q: {} for q in scenario.queues}
    for name, queues in takes.items():
        for q in queues:
            out[q][name] = 1.0 / len(queues)
    return out


@dataclass(frozen=True)
class Coverage:
    """``per_interval``: interval, interval_start, required (Erlang, all queues), on_floor,
    on_duty, gap (required - on_floor, positive: short); ``per_queue``: interval,
    interval_start, queue, required, first_agents, gap; ``groups``: :func:`floor_by_group`;
    ``agent_hours`` paid over the horizon and ``peak_heads`` (most heads on duty at once)."""

    per_interval: pd.DataFrame
    per_queue: pd.DataFrame
    groups: pd.DataFrame
    agent_hours: float
    peak_heads: float


def coverage(scenario: Scenario) -> Coverage:
    erlang = erlang_table(scenario)
    groups = floor_by_group(scenario)
    hours = scenario.interval_s / 3600.0
    floor = groups.pivot(index="interval", columns="group", values="on_floor")
    shares = first_shares(scenario)
    need = erlang.assign(interval=erlang.groupby("queue").cumcount())
    need["first_agents"] = [float(sum(floor.loc[i, g] * w for g, w in shares[q].items()))
                            for i, q in zip(need["interval"], need["queue"])]
    need = need.rename(columns={"agents": "required"})
    need["gap"] = need["required"] - need["first_agents"]
    per_queue = need[["interval", "interval_start", "queue", "required", "first_agents",
                      "gap"]].reset_index(drop=True)
    total = groups.groupby("interval", sort=True)[["on_floor", "on_duty"]].sum()
    required = per_queue.groupby("interval", sort=True)["required"].sum()
    per_interval = pd.DataFrame({"interval": np.arange(scenario.n_intervals),
                                 "interval_start": scenario.interval_starts,
                                 "required": required.reindex(range(scenario.n_intervals),
                                                              fill_value=0).to_numpy(),
                                 "on_floor": total["on_floor"].to_numpy(),
                                 "on_duty": total["on_duty"].to_numpy()})
    per_interval["gap"] = per_interval["required"] - per_interval["on_floor"]
    return Coverage(per_interval=per_interval, per_queue=per_queue, groups=groups,
                    agent_hours=float(groups["on_duty"].sum() * hours),
                    peak_heads=float(total["on_duty"].max()) if len(total) else 0.0)


@dataclass(frozen=True)
class Cost:
    """Per group: ``agent_hours`` paid and ``cost`` (agent-hours x ``cost_per_hour``);
    ``unpriced``: groups the rules do not name (counted at 1.0 per hour); ``rules``: where
    the costs come from (None: no rules, cost not known)."""

    per_group: pd.DataFrame
    total_hours: float
    total_cost: float | None
    unpriced: tuple[str, ...]
    rules: str | None


def roster_cost(scenario: Scenario, cover: Coverage, rules: object | None,
                rules_label: str | None) -> Cost:
    """The roster's agent-hours per group, and its cost under ``rules`` (a PlanningSpec)."""
    hours = scenario.interval_s / 3600.0
    per = cover.groups.groupby("group", sort=False)["on_duty"].sum() * hours
    per = per.reindex(list(scenario.groups), fill_value=0.0)
    frame = pd.DataFrame({"group": list(scenario.groups), "agent_hours": per.to_numpy()})
    if rules is None:
        frame["cost_per_hour"] = np.nan
        frame["cost"] = np.nan
        return Cost(per_group=frame, total_hours=float(per.sum()), total_cost=None,
                    unpriced=(), rules=None)
    priced = getattr(rules, "groups", {}) or {}
    rate = [float(priced[g].cost_per_hour) if g in priced else 1.0 for g in scenario.groups]
    frame["cost_per_hour"] = rate
    frame["cost"] = frame["agent_hours"] * frame["cost_per_hour"]
    unpriced = tuple(g for g in scenario.groups if g not in priced)
    return Cost(per_group=frame, total_hours=float(per.sum()),
                total_cost=float(frame["cost"].sum()), unpriced=unpriced, rules=rules_label)
