"""The engine rebuilt for a cost flat in team size (issue 12) gives the very records it gave before.

``tests/legacy_engine`` is a frozen copy of the engine as it was before (free agents in heaps,
a reschedule pushing an event each time, a roster built agent by agent).  Same scenario, same
seed: every field of the records must be *identical*, array by array (``np.array_equal``,
NaN equal to NaN; no tolerance), on

* 40 random small scenarios from a seeded generator: one to four queues, chat and voice,
  chat concurrency with and without slowdown, wrap-up, priorities, skills with preferences and
  speed factors, several groups in a tier, transfers, abandonment with each patience law,
  shifts crossing midnight, 24-hour shifts, breaks with windows, a start at any time of day;
* the shipped scenarios, and Singles' Day with its roster and volume scaled together (x3),
  where thousands of agents share a group.

The roster is also compared event by event.  Exactness holds because the new structures give
the same order as the old ones at every step, ties included: free agents in buckets by
contacts held in free-since order are the heap's (held, free since, sequence) order, and the
completions keep the time and SimPy event id a pushed reschedule would have taken.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import legacy_engine.agents as legacy_agents
import legacy_engine.engine as legacy_engine
from sim import agents, engine
from sim.records import Records
from sim.scenario import Scenario, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
N_RANDOM = 40
DAY_MIN = 24 * 60


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _distribution(rng: np.random.Generator, prefix: str) -> dict[str, Any]:
    kind = str(rng.choice(["exponential", "lognormal", "gamma"]))
    out: dict[str, Any] = {prefix: kind}
    if kind != "exponential":
        out[f"{prefix}_cv"] = float(rng.choice([0.5, 0.8, 1.3]))
    return out


def _shift(rng: np.random.Generator) -> dict[str, Any]:
    start = int(rng.integers(0, 48)) * 30
    length = int(rng.choice([4, 6, 8, 10, 24])) * 60
    end = (start + length) % DAY_MIN
    shift: dict[str, Any] = {"start": _clock(start),
                             "end": "24:00" if end == 0 and start == 0 else _clock(end),
                             "agents": int(rng.integers(1, 7))}
    breaks = []
    offset = int(rng.integers(1, 5)) * 30
    window = int(rng.choice([0, 30, 60]))  # one window for both: apart for every agent
    for _ in range(int(rng.integers(0, 3))):
        minutes = int(rng.choice([15, 30, 45]))
        if offset + window + minutes > length:
            break
        breaks.append({"start": _clock((start + offset) % DAY_MIN), "minutes": minutes,
                       "window_min": window})
        offset += minutes + int(rng.integers(1, 4)) * 30
    if breaks:
        shift["breaks"] = breaks
    return shift


def random_scenario(seed: int) -> Scenario:
    """A small scenario of every feature the engine has, drawn from ``seed``."""
    rng = np.random.default_rng([12, seed])
    n_queues = int(rng.integers(1, 5))
    names = [f"q{i}" for i in range(n_queues)]
    interval_min = int(rng.choice([15, 30, 60]))
    n_intervals = int(rng.integers(6, 25))
    queues: dict[str, Any] = {}
    for q in names:
        spec: dict[str, Any] = {"channel": str(rng.choice(["chat", "voice"])),
                                "aht_s": float(rng.integers(60, 600)),
                                "priority": int(rng.integers(1, 3)),
                                **_distribution(rng, "handle_time")}
        if rng.random() < 0.4:
            spec["wrap_up_s"] = float(rng.choice([10, 30, 60]))
        if rng.random() < 0.75:
            spec["patience_s"] = float(rng.integers(20, 300))
            spec.update(_distribution(rng, "patience"))
        queues[q] = spec
    groups: dict[str, Any] = {}
    for g in range(int(rng.integers(1, 5))):
        skills = rng.choice(names, size=int(rng.integers(1, n_queues + 1)), replace=False)
        group: dict[str, Any] = {
            "skills": {str(q): int(rng.integers(1, 3)) for q in skills},
            "shifts": [_shift(rng) for _ in range(int(rng.integers(1, 4)))]}
        if rng.random() < 0.5:
            group["speed"] = {str(q): float(rng.choice([0.8, 1.0, 1.25])) for q in skills}
        if rng.random() < 0.6:
            group["chat_concurrency"] = int(rng.integers(2, 6))
            if rng.random() < 0.7:
                group["chat_slowdown"] = float(rng.choice([0.1, 0.15, 0.3]))
        groups[f"g{g}"] = group
    # Every queue needs a group: give the unserved ones to the first group.
    served = {q for grp in groups.values() for q in grp["skills"]}
    for q in names:
        if q not in served:
            groups["g0"]["skills"][q] = int(rng.integers(1, 3))
    transfers = []
    for i, q in enumerate(names):
        for target in names[i + 1:]:  # forward only: no loop
            if rng.random() < 0.4:
                transfers.append({"from": q, "to": target,
                                  "probability": float(rng.choice([0.05, 0.1, 0.2]))})
    # Load from light to well past the roster's capacity, per interval.
    arrivals = {q: [float(x) for x in rng.gamma(2.0, rng.uniform(2.0, 15.0), n_intervals)]
                for q in names}
    start = int(rng.integers(0, 96)) * 15
    return scenario_from_dict({
        "name": f"random {seed}", "start": f"2026-11-10T{_clock(start)}",
        "interval_min": interval_min, "queues": queues, "arrivals": arrivals,
        "agent_groups": groups, "transfers": transfers}, source=f"random scenario {seed}")


def scaled(scenario: Scenario, factor: int) -> Scenario:
    """Roster and volume multiplied together by ``factor``."""
    changes: dict[str, Any] = {"arrivals.scale": scenario.spec.arrivals.scale * factor}
    for g, group in scenario.spec.agent_groups.items():
        for i, shift in enumerate(group.shifts):
            changes[f"agent_groups.{g}.shifts[{i}].agents"] = shift.agents * factor
    return scenario.with_changes(changes)


def differences(new: Records, old: Records) -> list[str]:
    """Fields whose values differ (arrays: dtype, shape and every element, NaN = NaN)."""
    out = []
    for f in dataclasses.fields(Records):
        a, b = getattr(new, f.name), getattr(old, f.name)
        if isinstance(b, np.ndarray):
            same = (isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                    and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
        else:
            same = a is b or (not isinstance(a, np.ndarray) and a == b)
        if not same:
            out.append(f.name)
    return out


def assert_same_run(scenario: Scenario, seed: int) -> Records:
    new, old = engine.run(scenario, seed), legacy_engine.run(scenario, seed)
    assert differences(new, old) == [], scenario.spec.name
    return new


@pytest.mark.parametrize("case", range(N_RANDOM))
def test_random_scenario_same_records(case: int) -> None:
    scenario = random_scenario(case)
    records = assert_same_run(scenario, seed=case)
    # The cases are not vacuous: every one offers contacts (most also transfer, abandon
    # and leave some contacts waiting in the queues).
    assert records.queue.size > 0


def test_random_scenarios_cover_the_features() -> None:
    """The generator reaches what the comparison is meant to exercise."""
    seen: set[str] = set()
    for case in range(N_RANDOM):
        spec = random_scenario(case).spec
        groups = spec.agent_groups.values()
        if any(g.chat_concurrency > 1 and g.chat_slowdown > 0 for g in groups):
            seen.add("chat slowdown")
        if any(g.chat_concurrency > 1 and g.chat_slowdown == 0 for g in groups):
            seen.add("chat without slowdown")
        if spec.transfers:
            seen.add("transfers")
        if any(b.window_min > 0 for g in groups for s in g.shifts for b in s.breaks):
            seen.add("break windows")
        if any(s.start_min + s.length_min > DAY_MIN for g in groups for s in g.shifts):
            seen.add("across midnight")
        if any(q.patience_s is not None for q in spec.queues.values()):
            seen.add("abandonment")
        if len({q.priority for q in spec.queues.values()}) > 1:
            seen.add("priorities")
        if any(len(g.skills) > 1 for g in groups):
            seen.add("several skills")
        if {"chat", "voice"} <= {q.channel for q in spec.queues.values()}:
            seen.add("chat and voice")
    assert seen == {"chat slowdown", "chat without slowdown", "transfers", "break windows",
                    "across midnight", "abandonment", "priorities", "several skills",
                    "chat and voice"}


def without_peak_operations(scenario: Scenario) -> Scenario:
    """The scenario without what the old engine did not know (overflow delays, allocation
    windows, callbacks, redials, volume uncertainty): the roster, queues and forecast as
    they are."""
    data = scenario.to_dict()
    for q in data["queues"].values():
        q.pop("callback", None)
        q.pop("redial", None)
    for g in data["agent_groups"].values():
        g.pop("allocation", None)
        g["skills"] = {q: p["preference"] if isinstance(p, dict) else p
                       for q, p in g["skills"].items()}
    data["arrivals"].pop("uncertainty", None)
    plain = scenario_from_dict(data, source=str(scenario.source))
    assert np.array_equal(plain.contacts, scenario.contacts)
    return plain


@pytest.mark.parametrize("name", ["singles_day.yaml", "normal_day.yaml"])
@pytest.mark.parametrize("seed", [0, 7])
def test_shipped_scenario_same_records(name: str, seed: int) -> None:
    assert_same_run(without_peak_operations(load_scenario(ROOT / "scenarios" / name)), seed)


def test_singles_day_scaled_same_records() -> None:
    """About 620 agents, most of them in two chat groups: long buckets of free agents."""
    assert_same_run(scaled(without_peak_operations(
        load_scenario(ROOT / "scenarios" / "singles_day.yaml")), 3), seed=3)


@pytest.mark.parametrize("case", range(N_RANDOM))
def test_roster_same_events(case: int) -> None:
    scenario = random_scenario(case)
    until_s = scenario.horizon_s + engine.DRAIN_S
    new = agents.build_roster(scenario, until_s=until_s)
    old = legacy_agents.build_roster(scenario, until_s=until_s)
    assert new.events == old.events
    assert new.label == old.label
    assert np.array_equal(new.group, old.group)
