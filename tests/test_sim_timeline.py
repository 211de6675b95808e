"""Exact timelines of the simulator on tiny hand-made scenarios, and metrics on hand-made records.

Randomness is replaced by scripts (the ``scripted`` fixture): the engine's ``stream(seed, *names)``
returns the stream's name, and ``arrival_times``, ``unit_variates`` and ``VariateBuffer`` hand
out the values scripted for that name.  Queues have ``aht_s: 1`` and ``patience_s: 1``, so the
scripted unit variates *are* handle times and patience in seconds.  Every expected timeline was
worked out by hand; the comment above it tells the story.

Visits are compared as tuples
``(contact, queue, arrival_s, start_s, end_s, wait_s, outcome, agent, transfer_in, transferred)``
with ``None`` for NaN; agent time as ``(agent, on_s, off_s)``.  Agents are numbered in the order
of the scenario's groups, shifts and agents within a shift.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim import engine, metrics
from sim.records import ABANDONED, ANSWERED, WAITING, Records
from sim.scenario import Scenario, scenario_from_dict

OUTCOME = {WAITING: "waiting", ANSWERED: "answered", ABANDONED: "abandoned"}
DAY = "2026-11-11T00:00"
ALL_DAY = [{"start": "00:00", "end": "24:00", "agents": 1}]

Script = Mapping[tuple[str, ...], Sequence[float]]


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
class _ScriptedBuffer:
    """Stands in for VariateBuffer: hands out the values scripted for its stream, in order."""

    def __init__(self, values: list[float], name: tuple[str, ...]) -> None:
        self._values, self._name = values, name

    def next(self) -> float:
        assert self._values, f"script for {self._name} ran out"
        return self._values.pop(0)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Callable[[Script], None]:
    """``scripted({("q", "arrivals"): [...], ("q", "handle"): [...], ...})`` makes the engine's
    random sources return these values (keys are stream names, see sim.streams)."""

    def install(script: Script) -> None:
        values = {name: list(v) for name, v in script.items()}

        def arrival_times(rng: tuple[str, ...], contacts: np.ndarray, *,
                          interval_s: float) -> np.ndarray:
            times = np.asarray(values.get(rng, []), dtype=float)
            assert np.all(np.diff(times) >= 0), f"arrivals of {rng} must be sorted"
            return times

        def unit_variates(rng: tuple[str, ...], size: int, kind: str, cv: float) -> np.ndarray:
            got = values.get(rng, [])
            assert len(got) == size, f"script for {rng} has {len(got)} values, needs {size}"
            return np.asarray(got, dtype=float)

        def buffer(rng: tuple[str, ...], kind: str = "uniform", cv: float = 1.0
                   ) -> _ScriptedBuffer:
            return _ScriptedBuffer(values.setdefault(rng, []), rng)

        monkeypatch.setattr(engine, "stream", lambda seed, *names: names)
        monkeypatch.setattr(engine, "arrival_times", arrival_times)
        monkeypatch.setattr(engine, "unit_variates", unit_variates)
        monkeypatch.setattr(engine, "VariateBuffer", buffer)

    return install


def make(queues: dict[str, dict[str, Any]], groups: dict[str, dict[str, Any]], *,
         intervals: int = 2, start: str = DAY, transfers: Sequence[dict[str, Any]] = ()
         ) -> Scenario:
    """A scenario of 30-minute intervals.  The inline counts only set the horizon: arrival
    times come from the script."""
    return scenario_from_dict({
        "start": start, "interval_min": 30,
        "queues": {q: {"aht_s": 1, **spec} for q, spec in queues.items()},
        "arrivals": {q: [1] * intervals for q in queues},
        "agent_groups": groups, "transfers": list(transfers)})


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def visits(r: Records) -> list[tuple[Any, ...]]:
    return [(int(r.contact[i]), r.queues[r.queue[i]], float(r.arrival_s[i]), _num(r.start_s[i]),
             _num(r.end_s[i]), float(r.wait_s[i]), OUTCOME[int(r.outcome[i])], int(r.agent[i]),
             bool(r.transfer_in[i]), bool(r.transferred[i]))
            for i in range(r.arrival_s.size)]


def segments(r: Records) -> list[tuple[int, float, float]]:
    return sorted((int(a), float(on), float(off))
                  for a, on, off in zip(r.seg_agent, r.seg_on_s, r.seg_off_s))


# ------------------------------------------------------------------------------------------------
# 1. FIFO with one agent
# ------------------------------------------------------------------------------------------------
def test_second_contact_waits_for_the_first(scripted: Callable[[Script], None]) -> None:
    # The agent comes on at 0, the instant contact 0 arrives, and answers it at once (0-100).
    # Contact 1 arrives at 30 and waits the 70 s left of contact 0.
    scripted({("q", "arrivals"): [0, 30], ("q", "handle"): [100, 100]})
    sc = make({"q": {}}, {"g": {"skills": {"q": 1}, "shifts": ALL_DAY}})
    r = engine.run(sc, 0, drain_s=0)
    assert visits(r) == [
        (0, "q", 0.0, 0.0, 100.0, 0.0, "answered", 0, False, False),
        (1, "q", 30.0, 100.0, 200.0, 70.0, "answered", 0, False, False),
    ]
    assert segments(r) == [(0, 0.0, 3600.0)]
    assert r.stop_s == 3600.0


# ------------------------------------------------------------------------------------------------
# 2. Abandonment
# ------------------------------------------------------------------------------------------------
def test_contact_out_of_patience_abandons_and_the_next_is_answered(
        scripted: Callable[[Script], None]) -> None:
    # The agent is busy 0-100.  Contact 1 (patience 30) gives up at 40: abandoned, waited 30.
    # Contact 2 (patience 200, until 220) is still there at 100 and is answered, 100-150.
    scripted({("q", "arrivals"): [0, 10, 20], ("q", "handle"): [100, 999, 50],
              ("q", "patience"): [1000, 30, 200]})
    sc = make({"q": {"patience_s": 1}}, {"g": {"skills": {"q": 1}, "shifts": ALL_DAY}})
    assert visits(engine.run(sc, 0, drain_s=0)) == [
        (0, "q", 0.0, 0.0, 100.0, 0.0, "answered", 0, False, False),
        (1, "q", 10.0, None, None, 30.0, "abandoned", -1, False, False),
        (2, "q", 20.0, 100.0, 150.0, 80.0, "answered", 0, False, False),
    ]


def test_contact_that_gave_up_behind_a_patient_one_is_abandoned_at_the_end(
        scripted: Callable[[Script], None]) -> None:
    # The only agent leaves at 00:10 but finishes contact 0 first (10-1010); nobody comes after.
    # Contact 1 (patience 5000) is still waiting when the run stops at 3600: wait 3580.
    # Contact 2, queued behind it, gave up at 30 + 50 = 80: abandoned with wait 50 (it used
    # to be reported as still waiting because only the head of the queue was checked).
    scripted({("q", "arrivals"): [10, 20, 30], ("q", "handle"): [1000, 1, 1],
              ("q", "patience"): [5000, 5000, 50]})
    sc = make({"q": {"patience_s": 1}},
              {"g": {"skills": {"q": 1}, "shifts": [{"start": "00:00", "end": "00:10",
                                                      "agents": 1}]}})
    r = engine.run(sc, 0, drain_s=0)
    assert visits(r) == [
        (0, "q", 10.0, 10.0, 1010.0, 0.0, "answered", 0, False, False),
        (1, "q", 20.0, None, None, 3580.0, "waiting", -1, False, False),
        (2, "q", 30.0, None, None, 50.0, "abandoned", -1, False, False),
    ]
    assert segments(r) == [(0, 0.0, 1010.0)]


# ------------------------------------------------------------------------------------------------
# 3. Transfers
# ------------------------------------------------------------------------------------------------
def test_transfer_reenters_the_other_queue_with_a_fresh_patience(
        scripted: Callable[[Script], None]) -> None:
    # Agent 0 takes A, agent 1 takes B.  A's contacts both transfer to B (draws 0.2, 0.3 < 0.5).
    #   10-110  agent 0 serves contact 0 in A; at 110 it moves to B (patience 60, until 170);
    #           agent 1 is busy with contact 2 (B, 100-140), so it waits.
    #  110-120  agent 0 serves contact 1 (waited 90 in A); at 120 it moves to B (patience 5).
    #  140-190  agent 1 serves contact 0 in B: waited 30 there.  Counted from its first arrival
    #           at 10 its patience would have run out at 70: the clock restarted at 110.
    #      125  contact 1 gives up in B (found at 190 when agent 1 looks): wait 5.
    scripted({("A", "arrivals"): [10, 20], ("A", "handle"): [100, 10],
              ("B", "arrivals"): [100], ("B", "handle"): [40], ("B", "patience"): [1000],
              ("A", "transfer"): [0.2, 0.3],
              ("B", "transfer-in", "handle"): [50, 50],
              ("B", "transfer-in", "patience"): [60, 5]})
    sc = make({"A": {}, "B": {"patience_s": 1}},
              {"ga": {"skills": {"A": 1}, "shifts": ALL_DAY},
               "gb": {"skills": {"B": 1}, "shifts": ALL_DAY}},
              transfers=[{"from": "A", "to": "B", "probability": 0.5}])
    r = engine.run(sc, 0, drain_s=0)
    assert visits(r) == [
        (0, "A", 10.0, 10.0, 110.0, 0.0, "answered", 0, False, True),
        (1, "A", 20.0, 110.0, 120.0, 90.0, "answered", 0, False, True),
        (2, "B", 100.0, 100.0, 140.0, 0.0, "answered", 1, False, False),
        (0, "B", 110.0, 140.0, 190.0, 30.0, "answered", 1, True, False),
        (1, "B", 120.0, None, None, 5.0, "abandoned", -1, True, False),
    ]
    # Offered again in B, and counted as transfers.
    qi = metrics.queue_intervals(r, within_s=[20, 20]).set_index(["queue", "interval"])
    assert qi.loc[("B", 0), ["offered", "answered", "abandoned", "transfers_in"]].tolist() \
        == [3, 2, 1, 2]
    assert qi.loc[("A", 0), ["offered", "answered", "transfers_out"]].tolist() == [2, 2, 2]


def test_no_transfer_when_the_draw_is_above_the_probability(
        scripted: Callable[[Script], None]) -> None:
    # Draw 0.7 >= 0.5: contact 0 ends in A; nothing enters B.
    scripted({("A", "arrivals"): [10], ("A", "handle"): [100], ("A", "transfer"): [0.7]})
    sc = make({"A": {}, "B": {}},
              {"g": {"skills": {"A": 1, "B": 1}, "shifts": ALL_DAY}},
              transfers=[{"from": "A", "to": "B", "probability": 0.5}])
    assert visits(engine.run(sc, 0, drain_s=0)) == [
        (0, "A", 10.0, 10.0, 110.0, 0.0, "answered", 0, False, False)]


# ------------------------------------------------------------------------------------------------
# 4. Breaks and shifts
# ------------------------------------------------------------------------------------------------
def test_break_is_taken_in_full_after_the_contact_in_hand(
        scripted: Callable[[Script], None]) -> None:
    # Break due at 00:10 (600 s) for 10 min.  The agent is busy 500-800, so the break runs
    # 800-1400.  Contact 1 arrives at 900, during the break, and waits until 1400.
    scripted({("q", "arrivals"): [500, 900], ("q", "handle"): [300, 100]})
    shifts = [{"start": "00:00", "end": "24:00", "agents": 1,
               "breaks": [{"start": "00:10", "minutes": 10}]}]
    r = engine.run(make({"q": {}}, {"g": {"skills": {"q": 1}, "shifts": shifts}}), 0,
                   drain_s=0)
    assert visits(r) == [
        (0, "q", 500.0, 500.0, 800.0, 0.0, "answered", 0, False, False),
        (1, "q", 900.0, 1400.0, 1500.0, 500.0, "answered", 0, False, False),
    ]
    assert segments(r) == [(0, 0.0, 800.0), (0, 1400.0, 3600.0)]


def test_break_window_spreads_the_agents(scripted: Callable[[Script], None]) -> None:
    # Two agents, a 10-min break at 00:10 spread over 10 min: agent 0 at 600, agent 1 at 900.
    scripted({})
    shifts = [{"start": "00:00", "end": "24:00", "agents": 2,
               "breaks": [{"start": "00:10", "minutes": 10, "window_min": 10}]}]
    r = engine.run(make({"q": {}}, {"g": {"skills": {"q": 1}, "shifts": shifts}}), 0,
                   drain_s=0)
    assert segments(r) == [(0, 0.0, 600.0), (0, 1200.0, 3600.0),
                           (1, 0.0, 900.0), (1, 1500.0, 3600.0)]


def test_shift_end_finishes_the_contact_in_hand_then_leaves(
        scripted: Callable[[Script], None]) -> None:
    # Shift 00:00-00:20 (ends at 1200).  Contact 0 (1000-1500) is finished after the end.
    # Contact 1 arrives at 1100 while the agent is busy, contact 2 at 1300 after the end:
    # neither is taken; both still wait when the run stops at 3600.
    scripted({("q", "arrivals"): [1000, 1100, 1300], ("q", "handle"): [500, 100, 100]})
    shifts = [{"start": "00:00", "end": "00:20", "agents": 1}]
    r = engine.run(make({"q": {}}, {"g": {"skills": {"q": 1}, "shifts": shifts}}), 0,
                   drain_s=0)
    assert visits(r) == [
        (0, "q", 1000.0, 1000.0, 1500.0, 0.0, "answered", 0, False, False),
        (1, "q", 1100.0, None, None, 2500.0, "waiting", -1, False, False),
        (2, "q", 1300.0, None, None, 2300.0, "waiting", -1, False, False),
    ]
    assert segments(r) == [(0, 0.0, 1500.0)]


def test_shift_that_ends_during_a_postponed_break_does_not_come_back(
        scripted: Callable[[Script], None]) -> None:
    # Shift 00:00-00:30 (ends 1800), break 00:10 for 10 min.  Busy 500-1400, so the break
    # starts at 1400 and would end at 2000, after the shift: the agent does not return, and
    # contact 1 (1500) is never taken.
    scripted({("q", "arrivals"): [500, 1500], ("q", "handle"): [900, 100]})
    shifts = [{"start": "00:00", "end": "00:30", "agents": 1,
               "breaks": [{"start": "00:10", "minutes": 10}]}]
    r = engine.run(make({"q": {}}, {"g": {"skills": {"q": 1}, "shifts": shifts}}), 0,
                   drain_s=0)
    assert visits(r)[1] == (1, "q", 1500.0, None, None, 2100.0, "waiting", -1, False, False)
    assert segments(r) == [(0, 0.0, 1400.0)]


def test_shift_across_midnight_is_on_the_floor_at_the_start(
        scripted: Callable[[Script], None]) -> None:
    # 22:00-06:00 began the evening before the run (00:00): on at 0, off at 06:00 = 21600.
    # The next one starts at 22:00 = 79200, after the run stops (3600 + 20000).
    scripted({("q", "arrivals"): [0], ("q", "handle"): [100]})
    shifts = [{"start": "22:00", "end": "06:00", "agents": 1}]
    r = engine.run(make({"q": {}}, {"g": {"skills": {"q": 1}, "shifts": shifts}}), 0,
                   drain_s=20_000)
    assert visits(r) == [(0, "q", 0.0, 0.0, 100.0, 0.0, "answered", 0, False, False)]
    assert segments(r) == [(0, 0.0, 21600.0)]


def test_shift_ending_at_24_00_ends_at_midnight(scripted: Callable[[Script], None]) -> None:
    # The run starts at 22:00; shift 22:00-24:00 ends at 7200 s.  Contact 1 (7150, 100 s) is
    # finished after midnight, at 7250, and the agent leaves then.
    scripted({("q", "arrivals"): [7000, 7150], ("q", "handle"): [100, 100]})
    shifts = [{"start": "22:00", "end": "24:00", "agents": 1}]
    sc = make({"q": {}}, {"g": {"skills": {"q": 1}, "shifts": shifts}}, intervals=4,
              start="2026-11-11T22:00")
    r = engine.run(sc, 0, drain_s=1000)
    assert visits(r) == [
        (0, "q", 7000.0, 7000.0, 7100.0, 0.0, "answered", 0, False, False),
        (1, "q", 7150.0, 7150.0, 7250.0, 0.0, "answered", 0, False, False),
    ]
    assert segments(r) == [(0, 0.0, 7250.0)]


def test_all_day_shift_stays_on_across_midnight(scripted: Callable[[Script], None]) -> None:
    # 00:00-24:00 every day, a 24-hour horizon and one hour of drain (stop at 90000).  At
    # midnight (86400) one shift ends and the next starts: the agent, busy 86350-86450 with a
    # contact spanning midnight, simply stays on the floor: one unbroken stretch.
    scripted({("q", "arrivals"): [86_350], ("q", "handle"): [100]})
    sc = make({"q": {}}, {"g": {"skills": {"q": 1}, "shifts": ALL_DAY}}, intervals=48)
    r = engine.run(sc, 0, drain_s=3600)
    assert visits(r) == [(0, "q", 86350.0, 86350.0, 86450.0, 0.0, "answered", 0, False, False)]
    assert segments(r) == [(0, 0.0, 90000.0)]


# ------------------------------------------------------------------------------------------------
# 5. Routing
# ------------------------------------------------------------------------------------------------
def test_arrival_goes_to_the_longest_idle_agent_of_the_best_group(
        scripted: Callable[[Script], None]) -> None:
    # "first" (preference 1: agents 0, 1) and "second" (preference 2: agent 2), all on at 0.
    #   10: all idle since 0 -> agent 0 (first on the floor), 10-30.
    #  100: agent 1 (idle since 0) before agent 0 (idle since 30).
    #  110: agent 0: still the best group, though agent 2 has been idle longer.
    #  120: the best group is busy -> agent 2.
    scripted({("q", "arrivals"): [10, 100, 110, 120], ("q", "handle"): [20, 1000, 1000, 1000]})
    sc = make({"q": {}}, {"first": {"skills": {"q": 1}, "shifts": [{**ALL_DAY[0], "agents": 2}]},
                          "second": {"skills": {"q": 2}, "shifts": ALL_DAY}})
    r = engine.run(sc, 0, drain_s=0)
    assert [(v[2], v[3], v[7]) for v in visits(r)] == [
        (10.0, 10.0, 0), (100.0, 100.0, 1), (110.0, 110.0, 0), (120.0, 120.0, 2)]


def test_free_agent_takes_its_first_preference_before_a_longer_wait(
        scripted: Callable[[Script], None]) -> None:
    # Busy 10-110.  At 110, q2 (preference 2) has waited since 20, q1 (preference 1) since 30:
    # q1 first (110-210), then q2 (210-310).
    scripted({("q1", "arrivals"): [10, 30], ("q1", "handle"): [100, 100],
              ("q2", "arrivals"): [20], ("q2", "handle"): [100]})
    sc = make({"q1": {}, "q2": {}}, {"g": {"skills": {"q1": 1, "q2": 2}, "shifts": ALL_DAY}})
    assert visits(engine.run(sc, 0, drain_s=0)) == [
        (0, "q1", 10.0, 10.0, 110.0, 0.0, "answered", 0, False, False),
        (1, "q2", 20.0, 210.0, 310.0, 190.0, "answered", 0, False, False),
        (2, "q1", 30.0, 110.0, 210.0, 80.0, "answered", 0, False, False),
    ]


def test_same_preference_priority_then_longest_wait(scripted: Callable[[Script], None]) -> None:
    # All three queues preference 1; a has priority 2, b and c priority 1.  Busy 10-110 with c.
    # 110: a@20 (priority 2), c@30, b@40 -> c@30.  210: b@40 before c@50.  310: c@50.
    # 410: at last a@20, which waited longest but has the lower priority.
    scripted({("a", "arrivals"): [20], ("a", "handle"): [100],
              ("b", "arrivals"): [40], ("b", "handle"): [100],
              ("c", "arrivals"): [10, 30, 50], ("c", "handle"): [100, 100, 100]})
    sc = make({"a": {"priority": 2}, "b": {}, "c": {}},
              {"g": {"skills": {"a": 1, "b": 1, "c": 1}, "shifts": ALL_DAY}})
    assert [(v[1], v[2], v[3], v[4]) for v in visits(engine.run(sc, 0, drain_s=0))] == [
        ("c", 10.0, 10.0, 110.0), ("a", 20.0, 410.0, 510.0), ("c", 30.0, 110.0, 210.0),
        ("b", 40.0, 210.0, 310.0), ("c", 50.0, 310.0, 410.0)]


# ------------------------------------------------------------------------------------------------
# 6. Chat concurrency
# ------------------------------------------------------------------------------------------------
CHAT = {"channel": "chat"}


def _chat_group(slowdown: float, concurrency: int = 2) -> dict[str, Any]:
    return {"g": {"skills": {"c": 1}, "chat_concurrency": concurrency,
                  "chat_slowdown": slowdown, "shifts": ALL_DAY}}


def test_two_chats_overlap_without_slowdown(scripted: Callable[[Script], None]) -> None:
    # Two slots: chats at 0 and 10 run side by side (0-100, 10-110); the third waits for a
    # free slot at 100.
    scripted({("c", "arrivals"): [0, 10, 20], ("c", "handle"): [100, 100, 100]})
    r = engine.run(make({"c": CHAT}, _chat_group(0.0)), 0, drain_s=0)
    assert [(v[2], v[3], v[4], v[7]) for v in visits(r)] == [
        (0.0, 0.0, 100.0, 0), (10.0, 10.0, 110.0, 0), (20.0, 100.0, 200.0, 0)]


def test_two_chats_started_together_are_slowed_alike(scripted: Callable[[Script], None]) -> None:
    # Slowdown 0.5: with two chats held each progresses at 1 / 1.5.  Both (work 100) start at
    # 5 and end at 5 + 150 = 155.
    scripted({("c", "arrivals"): [5, 5], ("c", "handle"): [100, 100]})
    r = engine.run(make({"c": CHAT}, _chat_group(0.5)), 0, drain_s=0)
    assert [(v[3], v[4]) for v in visits(r)] == [(5.0, 155.0), (5.0, 155.0)]


def test_chat_slowdown_follows_the_chats_held(scripted: Callable[[Script], None]) -> None:
    # Slowdown 0.5, work 100 each.  Chat 0 alone from 5 to 55: 50 done.  Chat 1 joins at 55:
    # both at rate 1/1.5, so chat 0's last 50 take 75 -> ends 130; chat 1 has done 50 by then
    # and, alone again, ends at 130 + 50 = 180.
    scripted({("c", "arrivals"): [5, 55], ("c", "handle"): [100, 100]})
    r = engine.run(make({"c": CHAT}, _chat_group(0.5)), 0, drain_s=0)
    assert [(v[3], v[4]) for v in visits(r)] == [(5.0, 130.0), (55.0, 180.0)]
    # Occupancy of interval 0 (0-1800): busy (holding at least one chat) 5-180 = 175 s;
    # slot time in use 125 + 125 = 250 s of 2 x 1800.
    gi = metrics.group_intervals(r)
    assert gi[["interval", "staffed_s", "busy_s", "slot_busy_s", "staffed_slot_s"]
              ].values.tolist() == [[0, 1800, 175, 250, 3600], [1, 1800, 0, 0, 3600]]
    assert gi["occupancy"].tolist() == pytest.approx([175 / 1800, 0.0])
    assert gi["slot_occupancy"].tolist() == pytest.approx([250 / 3600, 0.0])
    assert gi["agents"].tolist() == [1.0, 1.0]


def test_a_call_takes_the_whole_chat_agent(scripted: Callable[[Script], None]) -> None:
    # A team lead with three chat slots takes calls (preference 1) and chats (preference 2).
    # A call fills every slot: the second call waits for the first (10-110, 110-210), and the
    # chats wait for the calls, then run side by side, slowed by 15% for the second chat held:
    # 210 + 50 x 1.15 = 267.5.  (Calls used to take one slot each, so the lead held both calls
    # and a chat at once.)
    scripted({("v", "arrivals"): [10, 10], ("v", "handle"): [100, 100],
              ("c", "arrivals"): [20, 30], ("c", "handle"): [50, 50]})
    sc = make({"v": {}, "c": CHAT},
              {"lead": {"skills": {"v": 1, "c": 2}, "chat_concurrency": 3,
                        "chat_slowdown": 0.15, "shifts": ALL_DAY}})
    assert visits(engine.run(sc, 0, drain_s=0)) == [
        (0, "v", 10.0, 10.0, 110.0, 0.0, "answered", 0, False, False),
        (1, "v", 10.0, 110.0, 210.0, 100.0, "answered", 0, False, False),
        (2, "c", 20.0, 210.0, 267.5, 190.0, "answered", 0, False, False),
        (3, "c", 30.0, 210.0, 267.5, 180.0, "answered", 0, False, False),
    ]


def test_an_agent_holding_a_chat_does_not_take_a_call(
        scripted: Callable[[Script], None]) -> None:
    # The lead holds a chat 0-100 (one of three slots); the call at 10 waits until it is free.
    scripted({("v", "arrivals"): [10], ("v", "handle"): [50],
              ("c", "arrivals"): [0], ("c", "handle"): [100]})
    sc = make({"v": {}, "c": CHAT},
              {"lead": {"skills": {"v": 1, "c": 2}, "chat_concurrency": 3, "shifts": ALL_DAY}})
    r = engine.run(sc, 0, drain_s=0)
    assert [(v[1], v[3], v[4]) for v in visits(r)] == [("c", 0.0, 100.0), ("v", 100.0, 150.0)]
    # Slot time: the chat uses 1 of 3 slots for 100 s, the call all 3 for 50 s.
    gi = metrics.group_intervals(r)
    assert gi.loc[0, ["busy_s", "slot_busy_s", "staffed_slot_s"]].tolist() == [150, 250, 5400]


# ------------------------------------------------------------------------------------------------
# 7. Metrics on hand-made records
# ------------------------------------------------------------------------------------------------
NAN = math.nan


def _records() -> Records:
    """Queue "a", intervals of 100 s, two of them; the run stopped at 300.  Target 20 s.

    v0  10 answered at once (10-60)                         agent 0
    v1  20 answered after 30 (50-90)                        agent 1
    v2  30 abandoned after 3 (a short abandon)
    v3  31 abandoned after 25
    v4  90 answered after 20 (110-150), transferred         agent 0
    v5 150 transfer of contact 4, answered at once (150-250), transferred again   agent 1
    v6 160 still waiting at 300
    v7 250 transfer of contact 4 during the drain (after the horizon): not counted
    """
    def arr(x: list[Any], dtype: Any = float) -> np.ndarray:
        return np.asarray(x, dtype=dtype)

    A, B, W = ANSWERED, ABANDONED, WAITING
    return Records(
        queues=("a",), groups=("g",), interval_s=100.0, n_intervals=2, stop_s=300.0, seed=0,
        queue=arr([0] * 8, np.int64),
        contact=arr([0, 1, 2, 3, 4, 4, 5, 4], np.int64),
        arrival_s=arr([10, 20, 30, 31, 90, 150, 160, 250]),
        outcome=arr([A, A, B, B, A, A, W, A], np.int8),
        wait_s=arr([0, 30, 3, 25, 20, 0, 140, 0]),
        start_s=arr([10, 50, NAN, NAN, 110, 150, NAN, 250]),
        end_s=arr([60, 90, NAN, NAN, 150, 250, NAN, 260]),
        agent=arr([0, 1, -1, -1, 0, 1, -1, 1], np.int64),
        transfer_in=arr([0, 0, 0, 0, 0, 1, 0, 1], bool),
        transferred=arr([0, 0, 0, 0, 1, 1, 0, 0], bool),
        seg_agent=arr([0, 1], np.int64), seg_on_s=arr([0, 0]), seg_off_s=arr([300, 200]),
        agent_group=arr([0, 0], np.int64), agent_slots=arr([1, 1], np.int64))


def test_queue_intervals_on_hand_made_records() -> None:
    qi = metrics.queue_intervals(_records(), within_s=[20.0], short_abandon_s=5.0)
    expected = pd.DataFrame({
        "interval": [0, 1], "queue": ["a", "a"],
        "offered": [5, 2], "answered": [3, 1], "abandoned": [2, 0], "short_abandoned": [1, 0],
        "left_waiting": [0, 1],
        "answered_within": [2, 1],          # waits 0 and 20 (<= 20) | 0
        "abandoned_within": [1, 0],         # the 3 s abandon
        "service_level": [2 / 5, 1 / 2],
        "service_level_answered": [2 / 3, 1.0],
        "service_level_excl_abandoned_within": [2 / 4, 1 / 2],
        "abandon_rate": [2 / 5, 0.0],
        "asa_s": [(0 + 30 + 20) / 3, 0.0],
        "aht_s": [(50 + 40 + 40) / 3, 100.0],
        "transfers_in": [0, 1], "transfers_out": [1, 1],
        # Waiting: [20,50) [30,33) [31,56) [90,110) [160,300).  Interval 0: 30+3+25+10 = 68 s,
        # three at once during [31,33).  Interval 1: 10 + 40 = 50 s, never two at once.
        "mean_queue": [68 / 100, 50 / 100],
        "max_queue": [3, 1],
    })
    assert list(qi.columns) == list(metrics.QUEUE_COLUMNS)
    pd.testing.assert_frame_equal(qi, expected[list(metrics.QUEUE_COLUMNS)], check_dtype=False)


def test_summary_over_the_horizon() -> None:
    qi = metrics.queue_intervals(_records(), within_s=[20.0])
    s = metrics.summary(qi)
    assert s.loc["a", ["offered", "answered", "abandoned", "answered_within"]].tolist() == \
        [7, 4, 2, 3]
    assert s.loc["a", "service_level"] == pytest.approx(3 / 7)
    assert s.loc["a", "asa_s"] == pytest.approx(50 / 4)
    assert s.loc["a", "max_queue"] == 3
    assert s.loc["a", "mean_queue"] == pytest.approx((0.68 + 0.5) / 2)
    assert s.loc["all", "offered"] == 7


def test_group_intervals_on_hand_made_records() -> None:
    # Interval 0: on the floor 100 + 100, busy 50 (agent 0) + 40 (agent 1).
    # Interval 1: on the floor 100 + 100, busy 40 (agent 0, 110-150) + 50 (agent 1, 150-200).
    gi = metrics.group_intervals(_records())
    assert gi[["staffed_s", "busy_s", "agents"]].values.tolist() == [[200, 90, 2], [200, 90, 2]]
    assert gi["occupancy"].tolist() == pytest.approx([0.45, 0.45])


# ------------------------------------------------------------------------------------------------
# 8. Determinism and common random numbers (real random streams)
# ------------------------------------------------------------------------------------------------
RANDOM_SCENARIO: dict[str, Any] = {
    "start": DAY, "interval_min": 30,
    "queues": {"chat": {"channel": "chat", "aht_s": 300, "patience_s": 60,
                        "handle_time": "lognormal", "handle_time_cv": 0.8},
               "call": {"aht_s": 240, "patience_s": 120}},
    "arrivals": {"chat": [40, 60, 50, 20], "call": [20, 30, 25, 10]},
    "agent_groups": {"chatters": {"skills": {"chat": 1}, "chat_concurrency": 3,
                                  "chat_slowdown": 0.15,
                                  "shifts": [{"start": "00:00", "end": "03:00", "agents": 3}]},
                     "phones": {"skills": {"call": 1, "chat": 2},
                                "shifts": [{"start": "00:00", "end": "03:00", "agents": 3,
                                            "breaks": [{"start": "01:00", "minutes": 15,
                                                        "window_min": 30}]}]}},
    "transfers": [{"from": "chat", "to": "call", "probability": 0.2}],
}
FIELDS = ["queue", "contact", "arrival_s", "outcome", "wait_s", "start_s", "end_s", "agent",
          "transfer_in", "transferred", "seg_agent", "seg_on_s", "seg_off_s"]


def _external(r: Records) -> tuple[np.ndarray, np.ndarray]:
    outside = ~r.transfer_in
    return r.queue[outside], r.arrival_s[outside]


def test_same_seed_gives_identical_records() -> None:
    sc = scenario_from_dict(RANDOM_SCENARIO)
    a, b = engine.run(sc, 7), engine.run(sc, 7)
    assert a.arrival_s.size > 200 and a.transfer_in.any() and (a.outcome == ABANDONED).any()
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_common_random_numbers_across_staffing_levels() -> None:
    # Two more phone agents change the waits, not the external arrivals.
    data = copy.deepcopy(RANDOM_SCENARIO)
    data["agent_groups"]["phones"]["shifts"][0]["agents"] = 5
    base, more = scenario_from_dict(RANDOM_SCENARIO), scenario_from_dict(data)
    a, b = engine.run(base, 7), engine.run(more, 7)
    for x, y in zip(_external(a), _external(b)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.wait_s[~a.transfer_in], b.wait_s[~b.transfer_in])


def test_different_seeds_differ() -> None:
    sc = scenario_from_dict(RANDOM_SCENARIO)
    a, b = engine.run(sc, 7), engine.run(sc, 8)
    qa, ta = _external(a)
    qb, tb = _external(b)
    assert ta.size != tb.size or not np.array_equal(ta, tb)
