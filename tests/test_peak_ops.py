"""Peak operations in the engine (issue 15, points 1-4): overflow after a wait, allocation
windows, callbacks, redials.

Three kinds of test, as for the rest of the simulator:

* exact timelines on tiny hand-made scenarios, randomness replaced by scripts (the
  ``scripted`` fixture of tests/test_sim_timeline.py: queues have ``aht_s: 1`` and
  ``patience_s: 1`` unless said, so scripted unit variates are seconds); every expected
  timeline was worked out by hand, the comment above it tells the story;
* theory: an overflow delay of 0 is today's routing (the very records of the frozen
  tests/legacy_engine, on the random scenarios of tests/test_engine_equivalence.py, on the
  lean path and on the general one), and a callback share of 0 or a redial probability of 0
  change nothing;
* validation: every new key refused with its key path.

Visits are compared as the tuples of test_sim_timeline.visits:
``(contact, queue, arrival_s, start_s, end_s, wait_s, outcome, agent, transfer_in,
transferred)``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import legacy_engine.engine as legacy_engine
from sim import engine, metrics
from sim.errors import InputError
from sim.records import ABANDONED, CALLBACK, OUTCOMES, Records
from sim.routing import allocation_switches
from sim.scenario import Scenario, check_run_size, expected_visits, scenario_from_dict
from test_engine_equivalence import N_RANDOM, random_scenario
from test_sim_timeline import ALL_DAY, Script, make, scripted  # noqa: F401 (a fixture)

# The fields every run has (the new ones are None unless a queue or group uses them).
PLAIN_FIELDS = [f.name for f in dataclasses.fields(Records)
                if f.name not in ("callback_offered", "callback_s", "queue_promise_s",
                                  "redial", "customer")]
NEW_FIELDS = ["callback_offered", "callback_s", "queue_promise_s", "redial", "customer"]


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def visits(r: Records) -> list[tuple[Any, ...]]:
    """test_sim_timeline.visits, with the callback outcome."""
    return [(int(r.contact[i]), r.queues[r.queue[i]], float(r.arrival_s[i]), _num(r.start_s[i]),
             _num(r.end_s[i]), float(r.wait_s[i]), OUTCOMES[int(r.outcome[i])], int(r.agent[i]),
             bool(r.transfer_in[i]), bool(r.transferred[i]))
            for i in range(r.arrival_s.size)]


def plain_differences(a: Records, b: Records) -> list[str]:
    """Fields of every run whose values differ (dtype, shape and every element, NaN = NaN)."""
    out = []
    for name in PLAIN_FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(y, np.ndarray):
            same = (isinstance(x, np.ndarray) and x.dtype == y.dtype and x.shape == y.shape
                    and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"))
        else:
            same = x == y
        if not same:
            out.append(name)
    return out


# ------------------------------------------------------------------------------------------------
# 1. Overflow after a wait
# ------------------------------------------------------------------------------------------------
def test_overflow_takes_a_contact_at_exactly_its_delay(
        scripted: Callable[[Script], None]) -> None:
    # "spec" (agent 0) takes pre-sales at once; "gold" (agent 1) only after 30 s of waiting.
    #    10  contact 0 to spec, 10-110.
    #    20  contact 1: gold is idle but its delay has not passed: it waits, and gold takes it
    #        at exactly 50, the event at 20 + 30 (50-150).
    #    25  contact 2: eligible for gold at 55, but gold is busy; spec frees at 110: 110-120.
    #   130  contact 3 to spec (idle since 120), 130-330.
    #   135  contact 4: at 150 gold frees, but the contact has waited 15 s of 30: gold does
    #        not take it (an agent who frees up takes only eligible contacts) until 165.
    scripted({("pre", "arrivals"): [10, 20, 25, 130, 135],
              ("pre", "handle"): [100, 100, 10, 200, 50]})
    sc = make({"pre": {}},
              {"spec": {"skills": {"pre": 1}, "shifts": ALL_DAY},
               "gold": {"skills": {"pre": {"preference": 2, "after_s": 30}},
                        "shifts": ALL_DAY}})
    assert sc.spec.agent_groups["gold"].delay_s("pre") == 30.0
    assert sc.spec.agent_groups["gold"].skills == {"pre": 2}  # a preference, as ever
    r = engine.run(sc, 0, drain_s=0)
    assert visits(r) == [
        (0, "pre", 10.0, 10.0, 110.0, 0.0, "answered", 0, False, False),
        (1, "pre", 20.0, 50.0, 150.0, 30.0, "answered", 1, False, False),
        (2, "pre", 25.0, 110.0, 120.0, 85.0, "answered", 0, False, False),
        (3, "pre", 130.0, 130.0, 330.0, 0.0, "answered", 0, False, False),
        (4, "pre", 135.0, 165.0, 215.0, 30.0, "answered", 1, False, False),
    ]
    # Without the feature the new arrays are not even there.
    assert r.callback_s is None and r.redial is None and r.customer is None


def test_overflowing_contact_that_gave_up_first_is_not_taken(
        scripted: Callable[[Script], None]) -> None:
    # Gold takes q after 30 s; spec is busy 0-100.  Contact 1 (patience 20) gives up at 30,
    # before its delay is over (at 40): gold never takes it.  Contact 2 (patience 40, until
    # 60) is still there when its delay is over, at 50: gold takes it then.
    scripted({("q", "arrivals"): [0, 10, 20], ("q", "handle"): [100, 5, 5],
              ("q", "patience"): [1000, 20, 40]})
    sc = make({"q": {"patience_s": 1}},
              {"spec": {"skills": {"q": 1}, "shifts": ALL_DAY},
               "gold": {"skills": {"q": {"preference": 1, "after_s": 30}},
                        "shifts": ALL_DAY}})
    assert visits(engine.run(sc, 0, drain_s=0)) == [
        (0, "q", 0.0, 0.0, 100.0, 0.0, "answered", 0, False, False),
        (1, "q", 10.0, None, None, 20.0, "abandoned", -1, False, False),
        (2, "q", 20.0, 50.0, 55.0, 30.0, "answered", 1, False, False),
    ]


# ------------------------------------------------------------------------------------------------
# 2. Allocation windows
# ------------------------------------------------------------------------------------------------
EVENING = "2026-11-11T19:50"  # 20:00 is t = 600, 20:30 is t = 2400


def test_window_switch_with_a_contact_in_hand(scripted: Callable[[Script], None]) -> None:
    # Gold (one agent) takes a; from 20:00 to 20:30 it takes b instead.
    #   500-700  contact 0 (a) in hand across the switch at 600: it finishes as it is.
    #      550  contact 1 (b) waits: b is no skill before 600, and gold is busy after.
    #      560  contact 2 (a) waits: at 700 gold frees and takes b (a is not a skill now).
    #  900-1000 contact 3 (b) at once.
    #     2400  back to a: gold, free, takes contact 2 at the switch (2400-2450).
    #     2500  contact 4 (b): nobody takes b any more; still waiting when the run stops.
    scripted({("a", "arrivals"): [500, 560], ("a", "handle"): [200, 50],
              ("b", "arrivals"): [550, 900, 2500], ("b", "handle"): [100, 100, 100]})
    sc = make({"a": {}, "b": {}},
              {"gold": {"skills": {"a": 1}, "shifts": ALL_DAY,
                        "allocation": [{"from": "20:00", "to": "20:30",
                                        "skills": {"b": 1}}]}}, start=EVENING)
    r = engine.run(sc, 0, drain_s=0)
    assert visits(r) == [
        (0, "a", 500.0, 500.0, 700.0, 0.0, "answered", 0, False, False),
        (1, "b", 550.0, 700.0, 800.0, 150.0, "answered", 0, False, False),
        (2, "a", 560.0, 2400.0, 2450.0, 1840.0, "answered", 0, False, False),
        (3, "b", 900.0, 900.0, 1000.0, 0.0, "answered", 0, False, False),
        (4, "b", 2500.0, None, None, 1100.0, "waiting", -1, False, False),
    ]


def test_delays_are_judged_under_the_allocation_in_force(
        scripted: Callable[[Script], None]) -> None:
    # Gold takes q after 60 s, but from 20:00 to 20:30 at once (spec is never free: it holds
    # a long call).  All contacts handled in 5 s.
    #   570  contact 1 waits (delay 60, due 630); at the switch (600) the delay is 0: taken.
    #  2390  contact 2 at once (the window's delay 0), 2390-2395; contact 3 at 2395 too.
    #  2398  contact 4 waits, gold busy until 2400.  At 2400 the window ends and gold frees:
    #        the switch goes first (it comes before anything else at its instant), so gold
    #        judges contact 4 under its own skills: 2 s waited of 60, taken at 2458.
    scripted({("q", "arrivals"): [0, 570, 2390, 2395, 2398],
              ("q", "handle"): [99_999, 5, 5, 5, 5]})
    sc = make({"q": {}},
              {"spec": {"skills": {"q": 1}, "shifts": ALL_DAY},
               "gold": {"skills": {"q": {"preference": 1, "after_s": 60}}, "shifts": ALL_DAY,
                        "allocation": [{"from": "20:00", "to": "20:30",
                                        "skills": {"q": 1}}]}}, start=EVENING)
    r = engine.run(sc, 0, drain_s=0)
    assert [(v[2], v[3], v[7]) for v in visits(r)] == [
        (0.0, 0.0, 0), (570.0, 600.0, 1), (2390.0, 2390.0, 1), (2395.0, 2395.0, 1),
        (2398.0, 2458.0, 1)]


def test_allocation_switches_follow_the_start_clock_across_midnight() -> None:
    # Start 22:00; gold's window 23:00-01:00 and one 01:00-02:00 right after it, a's window
    # 21:00-23:00 is in force at the start.  Model time: 23:00 = 3600, 01:00 = 10800 (the
    # two windows touch: one change, to the second), 02:00 = 14400, then 21:00 the next
    # evening = 82800, 23:00 = 90000 and 01:00 = 97200.
    sc = make({"q": {}, "r": {}},
              {"a": {"skills": {"q": 1}, "shifts": ALL_DAY,
                     "allocation": [{"from": "21:00", "to": "23:00", "skills": {"r": 1}}]},
               "gold": {"skills": {"q": 1}, "shifts": ALL_DAY,
                        "allocation": [{"from": "23:00", "to": "01:00", "skills": {"r": 1}},
                                       {"from": "01:00", "to": "02:00",
                                        "skills": {"q": 1, "r": 2}}]}},
              start="2026-11-10T22:00", intervals=50)
    initial, switches = allocation_switches(sc, until_s=100_000)
    assert initial == (1, 0)
    assert switches == ((3600.0, 0, 0), (3600.0, 1, 1), (10800.0, 1, 2), (14400.0, 1, 0),
                        (82800.0, 0, 1), (90000.0, 0, 0), (90000.0, 1, 1), (97200.0, 1, 2))


# ------------------------------------------------------------------------------------------------
# 3. Callbacks
# ------------------------------------------------------------------------------------------------
def test_callbacks_kept_and_missed(scripted: Callable[[Script], None]) -> None:
    # One agent; queue c: AHT 100 s (handle variates x 100), callbacks offered after 60 s,
    # accepted when the draw is below 0.5, promised within 300 s: a callback goes before live
    # contacts from acceptance + 300 - 100.
    #     0  contact 0, 0-300.
    #    70  contact 1 (arrived 10) accepts (draw 0.1): callback due at 270.
    #    80  contact 2 (arrived 20) accepts (0.2): due at 280.
    #   160  contact 3 (arrived 100) declines (0.9) and waits on; 210: contact 4 too (0.7).
    #   300  the agent frees: contact 1's callback is due, before the live contacts: 300-400,
    #        called back 230 s after acceptance: kept.
    #   310  contact 5 (arrived 250) accepts (0.3): due at 510.
    #   400  contact 2's callback (due): 400-500, 320 s after acceptance: missed.
    #   500  contact 5's callback is not due yet: the live contact 3 first, 500-580.
    #   580  now it is: 580-630, 270 s after acceptance: kept.  630-730: contact 4.
    scripted({("c", "arrivals"): [0, 10, 20, 100, 150, 250],
              ("c", "handle"): [3.0, 1.0, 1.0, 0.8, 1.0, 0.5],
              ("c", "callback"): [0.1, 0.2, 0.9, 0.7, 0.3]})
    sc = make({"c": {"aht_s": 100,
                     "callback": {"offer_after_s": 60, "accept": 0.5, "promise_s": 300}}},
              {"g": {"skills": {"c": 1}, "shifts": ALL_DAY}})
    r = engine.run(sc, 0, drain_s=0)
    assert visits(r) == [
        (0, "c", 0.0, 0.0, 300.0, 0.0, "answered", 0, False, False),
        (1, "c", 10.0, 300.0, 400.0, 60.0, "callback", 0, False, False),
        (2, "c", 20.0, 400.0, 500.0, 60.0, "callback", 0, False, False),
        (3, "c", 100.0, 500.0, 580.0, 400.0, "answered", 0, False, False),
        (4, "c", 150.0, 630.0, 730.0, 480.0, "answered", 0, False, False),
        (5, "c", 250.0, 580.0, 630.0, 60.0, "callback", 0, False, False),
    ]
    assert r.callback_offered.tolist() == [False, True, True, True, True, True]
    np.testing.assert_array_equal(r.callback_s, [math.nan, 70, 80, math.nan, math.nan, 310])
    # KPIs: the callers who accepted leave the live denominators (6 offered - 3 accepted);
    # ASA is of the live answered (0, 400, 480).
    qi = metrics.queue_intervals(r, within_s=[20.0]).set_index("interval")
    row = qi.loc[0]
    assert row[["offered", "answered", "abandoned", "left_waiting", "answered_within",
                "callbacks_offered", "callbacks_accepted", "callbacks_made",
                "callbacks_kept"]].tolist() == [6, 3, 0, 0, 1, 5, 3, 3, 2]
    assert row["callback_delay_s"] == pytest.approx((230 + 320 + 270) / 3)
    assert row["service_level"] == pytest.approx(1 / 3)
    assert row["abandon_rate"] == 0.0
    assert row["asa_s"] == pytest.approx((0 + 400 + 480) / 3)
    assert list(qi.columns[-5:]) == list(metrics.CALLBACK_COLUMNS)
    s = metrics.summary(metrics.queue_intervals(r, within_s=[20.0]))
    assert s.loc["c", "callbacks_kept"] == 2
    assert s.loc["c", "callback_delay_s"] == pytest.approx((230 + 320 + 270) / 3)
    assert s.loc["c", "service_level"] == pytest.approx(1 / 3)
    # The agent was busy 0-730 without a break: callbacks count in occupancy.
    assert metrics.group_intervals(r).loc[0, "busy_s"] == 730.0


def test_no_offer_to_a_caller_gone_or_answered(scripted: Callable[[Script], None]) -> None:
    # Offers after 60 s.  The agent is busy 0-100.  Contact 1 (patience 60) gives up at 70,
    # the instant of its offer: not offered (a deadline reached is an abandon).  Contact 2
    # (arrived 50) is answered at 100, before its offer at 110.  Contact 3 (arrived 60) is
    # offered at 120 while waiting (contact 2 in hand until 200) and declines (0.9).
    scripted({("c", "arrivals"): [0, 10, 50, 60], ("c", "handle"): [100, 1, 100, 10],
              ("c", "patience"): [1000, 60, 1000, 1000], ("c", "callback"): [0.9]})
    sc = make({"c": {"patience_s": 1,
                     "callback": {"offer_after_s": 60, "accept": 0.5, "promise_s": 300}}},
              {"g": {"skills": {"c": 1}, "shifts": ALL_DAY}})
    r = engine.run(sc, 0, drain_s=0)
    assert [(v[3], v[6]) for v in visits(r)] == [
        (0.0, "answered"), (None, "abandoned"), (100.0, "answered"), (200.0, "answered")]
    assert r.callback_offered.tolist() == [False, False, False, True]


# ------------------------------------------------------------------------------------------------
# 4. Redials
# ------------------------------------------------------------------------------------------------
def test_redial_is_a_new_contact_of_the_same_customer(
        scripted: Callable[[Script], None]) -> None:
    # One agent; queue r redials with probability 0.5 (draw below it), after the scripted
    # delays (after_s 1: seconds).
    #     0  contact 0, 0-100.
    #    30  contact 1 (arrived 10, patience 20) abandons; draw 0.1: it calls again in 200 s.
    #    35  contact 2 (patience 15) abandons; draw 0.7: it does not.
    #   200  contact 3, 200-300.
    #   230  customer 1 calls again: a new contact (4), patience 30 of its own stream; the
    #        agent is busy, so at 260 it abandons again; draw 0.2: again in 100 s.
    #   360  customer 1's third call (contact 5) is answered at once, 360-400.
    scripted({("r", "arrivals"): [0, 10, 20, 200], ("r", "handle"): [100, 1, 1, 100],
              ("r", "patience"): [1000, 20, 15, 1000],
              ("r", "redial"): [0.1, 0.7, 0.2], ("r", "redial", "delay"): [200, 100],
              ("r", "redial", "handle"): [50, 40], ("r", "redial", "patience"): [30, 100]})
    sc = make({"r": {"patience_s": 1, "redial": {"probability": 0.5, "after_s": 1}}},
              {"g": {"skills": {"r": 1}, "shifts": ALL_DAY}})
    r = engine.run(sc, 0, drain_s=0)
    assert visits(r) == [
        (0, "r", 0.0, 0.0, 100.0, 0.0, "answered", 0, False, False),
        (1, "r", 10.0, None, None, 20.0, "abandoned", -1, False, False),
        (2, "r", 20.0, None, None, 15.0, "abandoned", -1, False, False),
        (3, "r", 200.0, 200.0, 300.0, 0.0, "answered", 0, False, False),
        (4, "r", 230.0, None, None, 30.0, "abandoned", -1, False, False),
        (5, "r", 360.0, 360.0, 400.0, 0.0, "answered", 0, False, False),
    ]
    assert r.redial.tolist() == [False, False, False, False, True, True]
    assert r.customer.tolist() == [0, 1, 2, 3, 1, 1]
    qi = metrics.queue_intervals(r, within_s=[20.0])
    assert qi.loc[0, ["offered", "abandoned", "customers", "redials"]].tolist() == [6, 3, 4, 2]
    assert list(qi.columns[-2:]) == list(metrics.REDIAL_COLUMNS)
    assert metrics.summary(qi).loc["all", ["customers", "redials"]].tolist() == [4, 2]


def test_redial_of_a_transferred_contact_keeps_its_customer(
        scripted: Callable[[Script], None]) -> None:
    # Contact 0 is answered in A (0-10) and transferred to B (draw 0.1 < 1), where nobody is
    # free (B's agent busy 0-1000 with contact 1); with patience 5 it abandons at 15 and calls
    # B again at 15 + 50: a new contact (3), the same customer (0).
    scripted({("A", "arrivals"): [0], ("A", "handle"): [10], ("A", "transfer"): [0.1],
              ("B", "arrivals"): [0], ("B", "handle"): [1000], ("B", "patience"): [1000],
              ("B", "transfer-in", "handle"): [1], ("B", "transfer-in", "patience"): [5],
              ("B", "redial"): [0.0, 0.9], ("B", "redial", "delay"): [50],
              ("B", "redial", "handle"): [1], ("B", "redial", "patience"): [2]})
    sc = make({"A": {}, "B": {"patience_s": 1, "redial": {"probability": 0.5, "after_s": 1}}},
              {"ga": {"skills": {"A": 1}, "shifts": ALL_DAY},
               "gb": {"skills": {"B": 1}, "shifts": ALL_DAY}},
              transfers=[{"from": "A", "to": "B", "probability": 1.0}])
    r = engine.run(sc, 0, drain_s=0)
    assert [(v[0], v[1], v[2], v[6]) for v in visits(r)] == [
        (0, "A", 0.0, "answered"), (1, "B", 0.0, "answered"), (0, "B", 10.0, "abandoned"),
        (3, "B", 65.0, "abandoned")]
    assert r.customer.tolist() == [0, 1, 0, 0]
    assert r.redial.tolist() == [False, False, False, True]
    # The redial is no transfer: the transfer matrix sees only A -> B.
    assert metrics.transfer_matrix(r)["transfers"].tolist() == [1]


# ------------------------------------------------------------------------------------------------
# 5. Theory: the features switched off change nothing
# ------------------------------------------------------------------------------------------------
def _with_explicit_zero_delays(scenario: Scenario) -> Scenario:
    data = scenario.to_dict()
    for g in data["agent_groups"].values():
        g["skills"] = {q: {"preference": p, "after_s": 0} for q, p in g["skills"].items()}
    return scenario_from_dict(data, source=scenario.source)


@pytest.mark.parametrize("general", [False, True], ids=["lean path", "general path"])
def test_delay_zero_is_todays_routing(monkeypatch: pytest.MonkeyPatch, general: bool) -> None:
    """Every skill written {preference, after_s: 0}: the records of the frozen legacy engine,
    field by field, on the lean path and on the general one (which serves the features)."""
    monkeypatch.setattr(engine._Run, "force_general", general)
    for case in range(N_RANDOM):
        base = random_scenario(case)
        zero = _with_explicit_zero_delays(base)
        assert zero.spec.agent_groups == base.spec.agent_groups  # delays of 0 are no delays
        new, old = engine.run(zero, case), legacy_engine.run(base, case)
        assert plain_differences(new, old) == [], case
        assert all(getattr(new, f) is None for f in NEW_FIELDS)


def _switched_off(scenario: Scenario) -> Scenario:
    """Callbacks offered with accept 0 on every queue, redials with probability 0 on every
    queue with patience."""
    data = scenario.to_dict()
    for q in data["queues"].values():
        q["callback"] = {"offer_after_s": 20, "accept": 0.0, "promise_s": 600}
        if "patience_s" in q:
            q["redial"] = {"probability": 0.0, "after_s": 300}
    return scenario_from_dict(data, source=scenario.source)


def test_callback_share_and_redial_probability_zero_change_nothing() -> None:
    offered = abandoned = 0
    for case in range(N_RANDOM):
        base = random_scenario(case)
        off = _switched_off(base)
        new, old = engine.run(off, case), engine.run(base, case)
        assert plain_differences(new, old) == [], case
        assert np.isnan(new.callback_s).all() and (new.outcome != CALLBACK).all()
        if new.redial is not None:  # a queue with patience_s
            assert not new.redial.any() and np.array_equal(new.customer, new.contact)
            abandoned += int((new.outcome == ABANDONED).sum())
        offered += int(new.callback_offered.sum())
        # The KPIs of every run are the same; the new ones say nothing happened.
        within = [20.0] * len(base.queues)
        qa = metrics.queue_intervals(new, within_s=within)
        qb = metrics.queue_intervals(old, within_s=within)
        assert qa[list(qb.columns)].equals(qb)
        assert (qa["callbacks_accepted"] == 0).all()
        # No redials: every visit not made by a transfer is a customer's first call.
        assert (qa["customers"] == qa["offered"] - qa["transfers_in"]).all() \
            if new.redial is not None else "customers" not in qa.columns
    # Not vacuous: offers were made (and declined), abandons drew their redial (not taken).
    assert offered > 1000 and abandoned > 1000


def test_features_together_on_random_scenarios() -> None:
    """Every feature at once on random scenarios: odd groups overflow after 15 s x (index
    + 1), every group takes everything after 10 s from 06:00 to 09:00, callbacks everywhere,
    redials where customers leave.  What must hold whatever the draws."""
    seen = {"overflow": 0, "callback": 0, "redial": 0}
    for case in range(0, N_RANDOM, 3):
        data = random_scenario(case).to_dict()
        for i, g in enumerate(data["agent_groups"].values()):
            g["skills"] = {q: ({"preference": p, "after_s": 15.0 * (i + 1)} if i % 2 else p)
                           for q, p in g["skills"].items()}
            g["allocation"] = [{"from": "06:00", "to": "09:00", "skills": {
                q: {"preference": 1, "after_s": 10} for q in g["skills"]}}]
        for q in data["queues"].values():
            q["callback"] = {"offer_after_s": 30, "accept": 0.5, "promise_s": 900}
            if "patience_s" in q:
                q["redial"] = {"probability": 0.4, "after_s": 120}
        r = engine.run(scenario_from_dict(data, source=f"case {case}"), case)
        started = ~np.isnan(r.start_s)
        group = np.where(r.agent >= 0, r.agent_group[np.maximum(r.agent, 0)], -1)
        # Odd groups wait for at least 10 s whichever allocation is in force.
        odd = started & (group % 2 == 1)
        assert (r.start_s[odd] - r.arrival_s[odd] >= 10.0).all()
        seen["overflow"] += int(odd.sum())
        # A callback: accepted exactly offer_after_s after entry, made after acceptance.
        called = ~np.isnan(r.callback_s)
        assert (r.outcome[called] == CALLBACK).all() and r.callback_offered[called].all()
        np.testing.assert_array_equal(r.callback_s[called], r.arrival_s[called] + 30.0)
        assert (r.start_s[called & started] >= r.callback_s[called & started]).all()
        seen["callback"] += int(called.sum())
        # A call holds its agent alone: no two calls of one agent overlap.
        voice = started & r.queue_voice[r.queue]
        for a in np.unique(r.agent[voice]):
            m = voice & (r.agent == a)
            s, e = r.start_s[m], np.where(np.isnan(r.end_s[m]), r.stop_s, r.end_s[m])
            order = np.argsort(s, kind="stable")
            assert (s[order][1:] >= e[order][:-1]).all()
        # Every redial follows an abandon of the same customer in the same queue.
        for j in np.flatnonzero(r.redial):
            before = np.flatnonzero((r.customer[:j] == r.customer[j]) & (r.queue[:j] == r.queue[j])
                                    & (r.outcome[:j] == ABANDONED))
            assert before.size and (r.arrival_s[before] + r.wait_s[before]
                                    <= r.arrival_s[j]).any()
        seen["redial"] += int(r.redial.sum())
        assert (r.wait_s >= 0).all()
    assert min(seen.values()) > 100, seen


# ------------------------------------------------------------------------------------------------
# 6. The scenario: round trips, run sizes
# ------------------------------------------------------------------------------------------------
PEAK: dict[str, Any] = {
    "start": "2026-11-11T00:00", "interval_min": 30,
    "queues": {"a": {"aht_s": 100, "patience_s": 60,
                     "callback": {"offer_after_s": 60, "accept": 0.6, "promise_s": 1800},
                     "redial": {"probability": 0.3, "after_s": 600}},
               "b": {"aht_s": 100}},
    "arrivals": {"a": [2, 0], "b": [1, 1]},
    "agent_groups": {"gold": {"skills": {"a": 1, "b": {"preference": 2, "after_s": 30}},
                              "speed": {"b": 1.1},
                              "allocation": [{"from": "20:00", "to": "22:00", "skills": {
                                  "b": 1, "a": {"preference": 2, "after_s": 45}}}],
                              "shifts": [{"start": "00:00", "end": "24:00", "agents": 1}]}},
}


def test_scenario_round_trips_the_users_form() -> None:
    sc = scenario_from_dict(PEAK)
    gold = sc.spec.agent_groups["gold"]
    assert gold.skills == {"a": 1, "b": 2}
    assert (gold.delay_s("a"), gold.delay_s("b"), gold.delay_s("zz")) == (0.0, 30.0, 0.0)
    window = gold.allocation[0]
    assert (window.from_, window.to, window.skills) == ("20:00", "22:00", {"b": 1, "a": 2})
    assert window.delay_s("a") == 45.0 and window.delay_s("b") == 0.0
    data = sc.to_dict()
    assert data["agent_groups"]["gold"]["skills"] == {
        "a": 1, "b": {"preference": 2, "after_s": 30.0}}
    assert data["agent_groups"]["gold"]["allocation"] == [
        {"from": "20:00", "to": "22:00",
         "skills": {"b": 1, "a": {"preference": 2, "after_s": 45.0}}}]
    assert data["queues"]["a"]["callback"] == {"offer_after_s": 60.0, "accept": 0.6,
                                               "promise_s": 1800.0}
    assert scenario_from_dict(data).spec == sc.spec
    changed = sc.with_changes({"agent_groups.gold.skills.b.after_s": 90,
                               "queues.a.callback.accept": 0.2})
    assert changed.spec.agent_groups["gold"].delay_s("b") == 90.0
    assert changed.spec.queues["a"].callback.accept == 0.2
    assert sc.with_changes({}).spec == sc.spec
    # A delay of 0 is written as the bare preference.
    zero = copy.deepcopy(PEAK)
    zero["agent_groups"]["gold"]["skills"]["b"] = {"preference": 2, "after_s": 0}
    assert scenario_from_dict(zero).to_dict()["agent_groups"]["gold"]["skills"] == \
        {"a": 1, "b": 2}


def test_run_size_counts_redials_geometrically() -> None:
    # Queue a: 2 contacts, redials at p = 0.3 -> at most 2 / 0.7 calls; b: 2 contacts.
    sc = scenario_from_dict(PEAK)
    assert expected_visits(sc.spec) == pytest.approx({"a": 1 / 0.7, "b": 1.0})
    assert expected_visits(sc.spec, redials=False) == {"a": 1.0, "b": 1.0}
    # With a transfer a -> b: a's first calls transfer once at most, then b's.
    data = copy.deepcopy(PEAK)
    data["queues"]["b"].update(patience_s=60, redial={"probability": 0.5, "after_s": 60})
    data["transfers"] = [{"from": "a", "to": "b", "probability": 0.4}]
    assert expected_visits(scenario_from_dict(data).spec) == pytest.approx(
        {"a": 1 / 0.7 + 0.4 * 2.0, "b": 2.0})
    # The largest probability allowed still gives a finite estimate (x20), refused by size.
    data["queues"]["a"]["redial"]["probability"] = 0.95
    big = scenario_from_dict(data)
    assert expected_visits(big.spec)["a"] == pytest.approx(20 + 0.8)
    # 2 x 20.8 + 2 x 2 = 45.6 contacts a replication: 1e4 x 2,100 of them stay within a
    # job's limit (1e9), 1e4 x 2,200 do not (without the redials' factor, 4.8 a replication,
    # both would pass).
    check_run_size(big, reps=10_000, points=2_100)
    with pytest.raises(InputError, match=r"about 1,003,200,000 contacts to simulate"):
        check_run_size(big, reps=10_000, points=2_200)


@pytest.mark.parametrize("start, window, served", [
    ("2026-11-11T00:00", ("20:00", "22:00"), False),   # one hour of horizon, window at 20:00
    ("2026-11-11T19:30", ("20:00", "22:00"), True),    # its first half hour
    ("2026-11-11T21:30", ("20:00", "22:00"), True),    # the window's last half hour
    ("2026-11-11T22:00", ("20:00", "22:00"), False),   # it has just ended
    ("2026-11-11T00:00", ("23:00", "00:30"), True),    # crossing midnight: 00:00-00:30
    ("2026-11-11T23:00", ("00:30", "01:00"), False),   # the hour ends at 24:00
])
def test_a_queue_only_windows_serve_must_meet_one_inside_the_horizon(start, window,
                                                                      served) -> None:
    # Queue c has contacts and is served only in gold's window; the horizon is an hour.
    data = copy.deepcopy(PEAK)
    data["start"] = start
    data["queues"]["c"] = {"aht_s": 100}
    data["arrivals"]["c"] = [1, 1]
    w = data["agent_groups"]["gold"]["allocation"][0]
    w["from"], w["to"] = window
    w["skills"]["c"] = 3
    if served:
        scenario_from_dict(data)
        return
    with pytest.raises(InputError, match=r"queue 'c' has contacts but only allocation windows "
                       rf"serve it \(gold {window[0]}-{window[1]}\), and none falls inside "
                       rf"the horizon \({start[-5:]} for 1 h\)") as err:
        scenario_from_dict(data)
    assert err.value.field == "agent_groups"


# ------------------------------------------------------------------------------------------------
# 7. Validation: every new key, with its key path
# ------------------------------------------------------------------------------------------------
def _at(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node: Any = data
        parts = [int(p) if p.isdigit() else p for p in path.split(".")]
        for p in parts[:-1]:
            node = node[p]
        node[parts[-1]] = value
    return change


WINDOW = "agent_groups.gold.allocation"
PEAK_ERRORS = [
    # (id, change, key path, problem)
    ("delay-negative", _at("agent_groups.gold.skills.b.after_s", -1),
     "agent_groups.gold.skills.b.after_s", r"greater than or equal to 0, got -1$"),
    ("delay-bool", _at("agent_groups.gold.skills.b.after_s", True),
     "agent_groups.gold.skills.b.after_s", r"expected a number or text, got true"),
    ("delay-inf", _at("agent_groups.gold.skills.b.after_s", math.inf),
     "agent_groups.gold.skills.b.after_s", r"finite number"),
    ("delay-nan", _at("agent_groups.gold.skills.b.after_s", math.nan),
     "agent_groups.gold.skills.b.after_s", r"finite number"),
    ("delay-text", _at("agent_groups.gold.skills.b.after_s", "soon"),
     "agent_groups.gold.skills.b.after_s", r"valid number.*got 'soon'"),
    ("delay-typo", _at("agent_groups.gold.skills.b", {"preference": 2, "after": 30}),
     "agent_groups.gold.skills.b.after", r"unknown key"),
    ("delay-no-preference", _at("agent_groups.gold.skills.b", {"after_s": 30}),
     "agent_groups.gold.skills.b.preference", r"required key is missing"),
    ("delay-preference-0", _at("agent_groups.gold.skills.b.preference", 0),
     "agent_groups.gold.skills.b.preference", r"greater than or equal to 1, got 0"),
    ("delay-preference-bool", _at("agent_groups.gold.skills.b.preference", True),
     "agent_groups.gold.skills.b.preference", r"got true"),
    ("skill-a-list", _at("agent_groups.gold.skills.b", [2, 30]), "agent_groups.gold.skills",
     r"preference of 'b' must be a whole number >= 1, got \[2, 30\] \(or a mapping"),
    ("window-unknown-queue", _at(f"{WINDOW}.0.skills.zz", 1), f"{WINDOW}[0].skills",
     r"unknown queue 'zz' \(expected one of a, b\)"),
    ("window-overlap", _at(WINDOW, [{"from": "20:00", "to": "22:00", "skills": {"a": 1}},
                                    {"from": "21:00", "to": "23:00", "skills": {"b": 1}}]),
     WINDOW, r"allocation\[0\] \(20:00-22:00\) and allocation\[1\] \(21:00-23:00\) "
     r"overlap, got both in force at 21:00 \(expected one window after the other\)$"),
    ("window-overlap-midnight", _at(WINDOW, [
        {"from": "23:00", "to": "01:00", "skills": {"a": 1}},
        {"from": "00:30", "to": "02:00", "skills": {"b": 1}}]),
     WINDOW, r"allocation\[0\] \(23:00-01:00\) and allocation\[1\] \(00:30-02:00\) "
     r"overlap, got both in force at 00:30"),
    ("window-bad-clock", _at(f"{WINDOW}.0.from", "25:00"), f"{WINDOW}[0].from",
     r"expected a time of day 'HH:MM'.*got '25:00'"),
    ("window-from-24", _at(f"{WINDOW}.0.from", "24:00"), f"{WINDOW}[0].from",
     r"a window starts from 00:00 to 23:59"),
    ("window-all-day", _at(f"{WINDOW}.0.to", "20:00"), f"{WINDOW}[0]",
     r"would last all day"),
    ("window-no-skills", _at(WINDOW, [{"from": "20:00", "to": "22:00"}]),
     f"{WINDOW}[0].skills", r"required key is missing"),
    ("window-empty-skills", _at(f"{WINDOW}.0.skills", {}), f"{WINDOW}[0].skills",
     r"at least one skill"),
    ("window-delay-negative", _at(f"{WINDOW}.0.skills.a.after_s", -5),
     f"{WINDOW}[0].skills.a.after_s", r"greater than or equal to 0, got -5"),
    ("window-typo", _at(f"{WINDOW}.0.start", "20:00"), f"{WINDOW}[0].start",
     r"unknown key"),
    ("window-not-a-list", _at(WINDOW, {"from": "20:00"}), WINDOW, r"should be a list$"),
    ("speed-not-a-skill", _at("agent_groups.gold.speed", {"zz": 1.2}),
     "agent_groups.gold.speed", r"'zz' is not one of this group's skills"),
    ("callback-negative", _at("queues.a.callback.offer_after_s", -1),
     "queues.a.callback.offer_after_s", r"greater than or equal to 0, got -1"),
    ("callback-accept-above-1", _at("queues.a.callback.accept", 1.5),
     "queues.a.callback.accept", r"less than or equal to 1, got 1.5"),
    ("callback-accept-bool", _at("queues.a.callback.accept", True),
     "queues.a.callback.accept", r"expected a number or text, got true"),
    ("callback-promise-0", _at("queues.a.callback.promise_s", 0),
     "queues.a.callback.promise_s", r"greater than 0, got 0"),
    ("callback-promise-inf", _at("queues.a.callback.promise_s", math.inf),
     "queues.a.callback.promise_s", r"finite number"),
    ("callback-missing", _at("queues.a.callback", {"offer_after_s": 60, "accept": 0.5}),
     "queues.a.callback.promise_s", r"required key is missing"),
    ("callback-typo", _at("queues.a.callback.promise", 60), "queues.a.callback.promise",
     r"unknown key"),
    ("callback-bool", _at("queues.a.callback", True), "queues.a.callback",
     r"valid dictionary"),
    ("redial-above-cap", _at("queues.a.redial.probability", 0.96),
     "queues.a.redial.probability", r"less than or equal to 0.95, got 0.96"),
    ("redial-negative", _at("queues.a.redial.probability", -0.1),
     "queues.a.redial.probability", r"greater than or equal to 0, got -0.1"),
    ("redial-bool", _at("queues.a.redial.probability", True),
     "queues.a.redial.probability", r"expected a number or text, got true"),
    ("redial-after-0", _at("queues.a.redial.after_s", 0), "queues.a.redial.after_s",
     r"greater than 0, got 0"),
    ("redial-after-nan", _at("queues.a.redial.after_s", math.nan), "queues.a.redial.after_s",
     r"finite number"),
    ("redial-typo", _at("queues.a.redial.delay_s", 60), "queues.a.redial.delay_s",
     r"unknown key"),
    ("redial-without-patience", _at("queues.b.redial", {"probability": 0.3, "after_s": 60}),
     "queues.b", r"redial needs patience_s"),
]


@pytest.mark.parametrize(("change", "key", "problem"), [e[1:] for e in PEAK_ERRORS],
                         ids=[e[0] for e in PEAK_ERRORS])
def test_new_keys_are_validated_with_their_key_path(change: Callable[[dict], None], key: str,
                                                     problem: str) -> None:
    data = copy.deepcopy(PEAK)
    change(data)
    with pytest.raises(InputError, match=re.escape(f"peak.yaml: {key}: ") + ".*" + problem) \
            as info:
        scenario_from_dict(data, source="peak.yaml")
    assert info.value.field == key
    assert str(info.value).count(", got ") <= 1


def test_a_queue_served_only_in_a_window_is_served() -> None:
    # b is no skill of gold's own, only of its window (in the horizon: 00:00-00:30): the
    # scenario is valid (b's contacts wait outside the window, as outside a shift), and b's
    # speed may be given.  (A window outside the horizon is refused:
    # test_a_queue_only_windows_serve_must_meet_one_inside_the_horizon.)
    data = copy.deepcopy(PEAK)
    data["agent_groups"]["gold"]["skills"] = {"a": 1}
    data["agent_groups"]["gold"]["allocation"][0].update({"from": "00:00", "to": "00:30"})
    sc = scenario_from_dict(data)
    del data["agent_groups"]["gold"]["speed"]
    assert sc.spec.agent_groups["gold"].all_skills == ("a", "b")
    data["agent_groups"]["gold"]["allocation"] = []
    with pytest.raises(InputError, match=r"queue 'b' has contacts but no agent group"):
        scenario_from_dict(data)


def test_customers_count_neither_redials_nor_transfers_again(
        scripted: Callable[[Script], None]) -> None:
    # One customer calls a at 10 (answered 10-20) and is transferred to b (answered 20-25):
    # two visits, one customer, no redial.  (Found in review: customers was offered - redials,
    # which counted the transfer as a second customer.)
    scripted({("a", "arrivals"): [10], ("a", "handle"): [10], ("a", "patience"): [100],
              ("a", "transfer"): [0.0], ("b", "transfer-in", "handle"): [5],
              ("b", "transfer-in", "patience"): [100]})
    sc = make({"a": {"patience_s": 1, "redial": {"probability": 0.5, "after_s": 60}},
               "b": {"patience_s": 1}},
              {"g": {"skills": {"a": 1, "b": 1}, "shifts": ALL_DAY}},
              transfers=[{"from": "a", "to": "b", "probability": 1.0}])
    r = engine.run(sc, 0, drain_s=0)
    assert r.transfer_in.sum() == 1 and not r.redial.any()
    assert np.unique(r.customer).size == 1
    qi = metrics.queue_intervals(r, within_s=[20.0, 20.0])
    assert qi["customers"].sum() == 1
    assert qi["offered"].sum() == 2


@pytest.mark.parametrize("preference", [2.0, "2"])
def test_a_written_out_preference_is_a_whole_number_as_the_bare_one(preference: Any) -> None:
    # The bare form refuses 2.0 and "2"; the mapping form must too (found in review).
    for skills in ({"q": preference}, {"q": {"preference": preference, "after_s": 30}}):
        with pytest.raises(InputError, match=r"agent_groups\.g\.skills"):
            make({"q": {}}, {"g": {"skills": skills, "shifts": ALL_DAY}})
