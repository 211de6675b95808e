"""The cover (planner/shifts.py) and the planning rules (sim/planning.py).

The milp's optimum is checked against a brute force over every integer solution on small random
instances, and against an independent formulation (explicit break columns, integer allocation)
on larger ones; the coverage the plan claims is checked against the simulator's own records.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy import sparse

import planner.cover_search as search_module
import planner.shifts as shifts_module
from planner.shifts import (Requirement, _penalty_per_slot, build_problem, planned_scenario_data,
                            planned_shifts, read_requirement, solve_cover)
from sim.engine import run
from sim.errors import InputError
from sim.metrics import group_intervals
from sim.planning import PlanningSpec, load_rules, planning_from_dict
from sim.scenario import scenario_from_dict


def _requirement(agents: dict[str, list[float]], *, interval_min: float = 60,
                 start: str = "2026-11-11 00:00") -> Requirement:
    queues = tuple(sorted(agents))
    return Requirement(start=pd.Timestamp(start), interval_min=interval_min, queues=queues,
                       agents=np.array([agents[q] for q in queues], dtype=float))


def _rules(data: dict) -> PlanningSpec:
    return planning_from_dict(data, file="rules.yaml", prefix="")


# --------------------------------------------------------------------------------------------
# Brute force
# --------------------------------------------------------------------------------------------
def _max_covered(req: np.ndarray, duty: np.ndarray, skills: list[set[int]]) -> float:
    """Most of ``req`` (per queue) that groups with ``duty`` agents can cover, one queue per
    agent at a time: by Hall's theorem for supplies and demands, the least over queue sets S
    of req(outside S) + duty(groups able to serve some queue of S)."""
    nq = len(req)
    best = math.inf
    for r in range(nq + 1):
        for s in itertools.combinations(range(nq), r):
            s = set(s)
            value = sum(req[q] for q in range(nq) if q not in s) + \
                sum(duty[g] for g in range(len(duty)) if skills[g] & s)
            best = min(best, value)
    return best


def _brute_force(problem, cap: int) -> float:
    """The least objective (cost + penalty x agent-slots short) over every integer solution
    with at most ``cap`` agents per candidate shift."""
    req = problem.required_slots()
    nq, n = req.shape
    queues = problem.requirement.queues
    groups = problem.groups
    skills = [{queues.index(q) for q in problem.skills[g] if q in queues} for g in groups]
    penalty = _penalty_per_slot(problem)
    u = problem.slot_min
    options = []  # per candidate: list of (agents, cost, duty[g, t], work[g, t])
    for c in problem.candidates:
        gi = groups.index(c.group)
        t0 = c.day * 1440 + c.start_min - problem.offset_min
        cover = np.array([1.0 if t0 <= t * u < t0 + c.length_min else 0.0 for t in range(n)])
        cost_1 = problem.rules.groups[c.group].cost_per_hour * c.length_min / 60
        opts = []
        for agents in range(cap + 1):
            # Every way to split the agents over each break's starts.
            per_break = []
            for minutes, offsets in c.breaks:
                splits = [s for s in itertools.product(range(agents + 1), repeat=len(offsets))
                          if sum(s) == agents]
                per_break.append([(minutes, offsets, s) for s in splits])
            for combo in itertools.product(*per_break) if per_break else [()]:
                duty = np.zeros((len(groups), n))
                work = np.zeros((len(groups), n))
                duty[gi] += agents * cover
                work[gi] += agents * cover
                for minutes, offsets, split in combo:
                    for off, k in zip(offsets, split):
                        duty[gi] -= k * np.array([1.0 if t0 + off <= t * u < t0 + off + minutes
                                                  else 0.0 for t in range(n)])
                opts.append((agents * cost_1, duty, work))
        options.append(opts)
    best = math.inf
    for choice in itertools.product(*options):
        duty = sum((o[1] for o in choice), np.zeros((len(groups), n)))
        work = sum((o[2] for o in choice), np.zeros((len(groups), n)))
        ok = True
        for gi, g in enumerate(groups):
            m = problem.rules.groups[g].max_agents if g in problem.rules.groups else None
            if m is not None and (work[gi] > m + 1e-9).any():
                ok = False
        if not ok:
            continue
        short = sum(req[:, t].sum() - _max_covered(req[:, t], duty[:, t], skills)
                    for t in range(n))
        best = min(best, sum(o[0] for o in choice) + penalty * short)
    return best


def _random_instance(rng: np.random.Generator):
    nq = int(rng.integers(1, 3))
    queues = ["a", "b"][:nq]
    n_int = 5
    req = {q: [float(x) for x in rng.integers(0, 3, n_int)] for q in queues}
    # Few candidates, so that the brute force stays small.
    patterns = {
        "early": {"starts": [f"{h:02d}:00" for h in sorted(rng.choice(3, size=int(
            rng.integers(1, 3)), replace=False))], "lengths_h": [2, 3]},
        "meal": {"starts": ["00:00"], "lengths_h": [4],
                 "breaks": [{"minutes": 60, "from_h": 1, "to_h": 2}]},
    }
    groups = {}
    for name in ["g1", "g2"][:int(rng.integers(1, 3))]:
        skills = [q for q in queues if rng.random() < 0.7] or [queues[0]]
        pats = ["early"] if rng.random() < 0.6 else ["meal"]
        groups[name] = {"patterns": pats, "skills": skills,
                        "cost_per_hour": float(rng.choice([1.0, 1.3])),
                        **({"max_agents": int(rng.integers(1, 3))} if rng.random() < 0.3
                           else {})}
    rules = _rules({"interval_min": 60, "patterns": patterns, "groups": groups,
                    "keep": "none"})
    return _requirement(req), rules


@pytest.mark.parametrize("case", range(24))
def test_milp_equals_brute_force(case: int) -> None:
    rng = np.random.default_rng([11, case])
    cap = 4
    while True:
        # Instances small enough to enumerate: at most 5 candidate shifts, and an optimum
        # with at most `cap` agents per shift, so that the brute force over every solution
        # with at most `cap` agents per shift contains the milp's.
        req, rules = _random_instance(rng)
        problem = build_problem(req, rules, rules_file="rules.yaml")
        if len(problem.candidates) > 5:
            continue
        result = solve_cover(problem, time_limit_s=30)
        if all(b.agents <= cap for b in result.booked):
            break
    assert result.status == "optimal"
    penalty = _penalty_per_slot(problem)
    objective = result.cost + penalty * result.shortfall_agent_intervals * \
        problem.slots_per_interval
    assert objective == pytest.approx(_brute_force(problem, cap=cap), abs=1e-6)


# --------------------------------------------------------------------------------------------
# An independent formulation: one column per (shift, break combination), integer allocation
# --------------------------------------------------------------------------------------------
def _explicit_objective(problem) -> float:
    req = problem.required_slots()
    nq, n = req.shape
    u = problem.slot_min
    queues = problem.requirement.queues
    groups = problem.groups
    penalty = _penalty_per_slot(problem)
    cols_cost, entries, integer = [], [], []
    # Rows: demand (q, t) then duty (g, t) then heads (g, t).
    def demand_row(q, t): return q * n + t
    def duty_row(g, t): return nq * n + g * n + t
    def heads_row(g, t): return nq * n + len(groups) * n + g * n + t
    for c in problem.candidates:
        gi = groups.index(c.group)
        t0 = c.day * 1440 + c.start_min - problem.offset_min
        for combo in itertools.product(*[[(m, o) for o in offs] for m, offs in c.breaks]):
            col = len(cols_cost)
            cols_cost.append(problem.rules.groups[c.group].cost_per_hour * c.length_min / 60)
            integer.append(1)
            for t in range(n):
                a = t * u
                if not (t0 <= a < t0 + c.length_min):
                    continue
                entries.append((heads_row(gi, t), col, 1.0))
                if not any(t0 + o <= a < t0 + o + m for m, o in combo):
                    entries.append((duty_row(gi, t), col, -1.0))
    for gi, g in enumerate(groups):
        for q in problem.skills[g]:
            qi = queues.index(q)
            for t in range(n):
                col = len(cols_cost)
                cols_cost.append(0.0)
                integer.append(1)
                entries.append((demand_row(qi, t), col, 1.0))
                entries.append((duty_row(gi, t), col, 1.0))
    for qi in range(nq):
        for t in range(n):
            col = len(cols_cost)
            cols_cost.append(penalty)
            integer.append(1)
            entries.append((demand_row(qi, t), col, 1.0))
    nrows = nq * n + 2 * len(groups) * n
    lo = np.full(nrows, -np.inf)
    hi = np.full(nrows, np.inf)
    lo[:nq * n] = req.reshape(-1)
    hi[nq * n:nq * n + len(groups) * n] = 0.0
    for gi, g in enumerate(groups):
        m = problem.rules.groups[g].max_agents if g in problem.rules.groups else None
        if m is not None:
            hi[heads_row(gi, 0):heads_row(gi, 0) + n] = m
    r, c, v = zip(*entries)
    a = sparse.csr_matrix((v, (r, c)), shape=(nrows, len(cols_cost)))
    res = milp(np.array(cols_cost), integrality=np.array(integer),
               bounds=Bounds(0, np.inf), constraints=LinearConstraint(a, lo, hi),
               options={"mip_rel_gap": 1e-9, "time_limit": 60})
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize("case", range(3))
def test_milp_equals_explicit_break_formulation(case: int) -> None:
    rng = np.random.default_rng([12, case])
    n_int = 24  # 12 hours of 30-minute intervals
    shape = np.sin(np.linspace(0, np.pi, n_int))
    req = _requirement({"a": list(np.round(2 + 8 * shape * rng.uniform(0.7, 1.3, n_int))),
                        "b": list(np.round(1 + 5 * shape[::-1] * rng.uniform(0.7, 1.3, n_int)))},
                       interval_min=30, start="2026-11-11 06:00")
    rules = _rules({
        "interval_min": 30,
        "patterns": {"day": {"starts": "06:00-09:00", "every_min": 30, "lengths_h": [8, 9],
                             "breaks": [{"minutes": 45, "from_h": 3, "to_h": 5}]},
                     "part": {"starts": "10:00-14:00", "every_min": 60, "lengths_h": [4]}},
        "groups": {"core": {"patterns": ["day"], "skills": ["a", "b"]},
                   "a_only": {"patterns": ["day", "part"], "skills": ["a"],
                              "cost_per_hour": 0.9},
                   "temp": {"patterns": ["part"], "skills": ["a", "b"], "cost_per_hour": 1.3,
                            "max_agents": int(rng.integers(2, 6))}},
        "keep": "none"})
    problem = build_problem(req, rules, rules_file="rules.yaml")
    assert problem.slot_min == 15
    result = solve_cover(problem, time_limit_s=60)
    assert result.status == "optimal"
    objective = result.cost + _penalty_per_slot(problem) * result.shortfall_agent_intervals \
        * problem.slots_per_interval
    assert objective == pytest.approx(_explicit_objective(problem), rel=1e-6)


# --------------------------------------------------------------------------------------------
# The two forms of the demand rows: the allocation x[g, q, t] and Hall's conditions
# --------------------------------------------------------------------------------------------
def _allocation_exists(req: np.ndarray, short: np.ndarray, duty: np.ndarray,
                       qgroups: list[tuple[int, ...]]) -> bool:
    """Whether agents ``duty`` per group can cover ``req - short`` per queue, each agent on
    one queue: a transportation LP (an independent check of Hall's rows)."""
    pairs = [(g, q) for q, gs in enumerate(qgroups) for g in gs]
    need = req - short
    if not pairs:
        return bool((need <= 1e-9).all())
    a_eq = np.zeros((len(req), len(pairs)))
    a_ub = np.zeros((len(duty), len(pairs)))
    for j, (g, q) in enumerate(pairs):
        a_eq[q, j] = 1.0
        a_ub[g, j] = 1.0
    res = milp(np.zeros(len(pairs)), integrality=np.zeros(len(pairs)),
               bounds=Bounds(0, np.inf),
               constraints=[LinearConstraint(a_eq, need, need),
                            LinearConstraint(a_ub, -np.inf, duty)])
    return res.status == 0


@pytest.mark.parametrize("case", range(12))
def test_hall_rows_hold_exactly_when_an_allocation_exists(case: int) -> None:
    rng = np.random.default_rng([31, case])
    nq, ng = int(rng.integers(2, 6)), int(rng.integers(1, 5))
    skills = [set(int(q) for q in np.flatnonzero(rng.random(nq) < 0.5)) | {int(rng.integers(nq))}
              for _ in range(ng)]
    qgroups = [tuple(g for g in range(ng) if q in skills[g]) for q in range(nq)]
    active = tuple(range(nq))
    kind, sets = shifts_module._demand_form(active, qgroups)
    assert kind == "hall"
    agree = 0
    for _ in range(60):
        req = rng.integers(0, 6, nq).astype(float)
        short = np.minimum(req, rng.integers(0, 3, nq)).astype(float)
        short[[not gs for gs in qgroups]] = req[[not gs for gs in qgroups]]
        duty = (rng.integers(0, 7, ng) * (rng.random(ng) < 0.7)).astype(float)
        rows_hold = all(sum(req[q] - short[q] for q in qs) <= sum(duty[g] for g in gs) + 1e-9
                        for qs, gs in sets)
        assert rows_hold == _allocation_exists(req, short, duty, qgroups), (skills, req,
                                                                             short, duty)
        agree += rows_hold
    assert 0 < agree < 60  # both outcomes were met


def _form_objective(problem, form: str) -> float:
    """The optimum of one form of the programme, solved whole by HiGHS."""
    p = shifts_module._programme(problem, form)
    res = milp(p.cost, integrality=p.integer, bounds=Bounds(np.zeros(p.cost.size), p.upper),
               constraints=[LinearConstraint(p.a, p.lo, p.hi)],
               options={"mip_rel_gap": 1e-9, "time_limit": 60})
    assert res.status == 0
    return float(res.fun)


def _pooled_instance(rng: np.random.Generator, *, n_int: int = 24, keep: str = "roster"):
    """Four queues, groups with overlapping skills (ab, bc, cd, abcd), a kept roster (unless
    ``keep="none"``) with overtime, caps and shifts with breaks, over 12 hours of 30-minute
    intervals."""
    shape = np.sin(np.linspace(0, np.pi, n_int))
    req = _requirement({q: list(np.round(f * shape * rng.uniform(0.6, 1.4, n_int)))
                        for q, f in zip("abcd", (6, 4, 3, 2))},
                       interval_min=30, start="2026-11-11 06:00")
    sc = _scenario({"ab": {"skills": {"a": 1, "b": 2},
                           "shifts": [{"start": "06:00", "end": "12:00", "agents": 2}]},
                    "bc": {"skills": {"b": 1, "c": 1}},
                    "cd": {"skills": {"c": 1, "d": 1},
                           "shifts": [{"start": "10:00", "end": "18:00", "agents": 1}]},
                    "abcd": {"skills": {"a": 1, "b": 1, "c": 1, "d": 1}}},
                   contacts={q: [0.0] * 48 for q in "abcd"})
    rules = _rules({
        "interval_min": 30,
        "patterns": {"day": {"starts": "06:00-09:00", "every_min": 30, "lengths_h": [8],
                             "breaks": [{"minutes": 45, "from_h": 3, "to_h": 5}]},
                     "part": {"starts": "10:00-14:00", "every_min": 60, "lengths_h": [4]}},
        "groups": {"ab": {"patterns": ["day", "part"],
                          **({"overtime_h": 2, "overtime_cost": 1.5} if keep == "roster"
                             else {})},
                   "bc": {"patterns": ["day"], "cost_per_hour": 0.9},
                   "cd": {"patterns": ["part"], "cost_per_hour": 1.1,
                          "max_agents": int(rng.integers(2, 5))},
                   "abcd": {"patterns": ["day", "part"], "cost_per_hour": 1.3}},
        "keep": keep})
    return build_problem(req, rules, scenario=sc, rules_file="rules.yaml")


@pytest.mark.parametrize("case", range(4))
def test_hall_form_and_allocation_form_have_one_optimum(case: int) -> None:
    problem = _pooled_instance(np.random.default_rng([13, case]))
    hall = shifts_module._programme(problem, "hall")
    x = shifts_module._programme(problem, "x")
    assert hall.cost.size < x.cost.size  # the allocation columns are gone
    assert (hall.integer[hall.common] == x.integer[x.common]).all()
    assert _form_objective(problem, "hall") == pytest.approx(_form_objective(problem, "x"),
                                                             rel=1e-9)


@pytest.mark.parametrize("case, max_queues", [(0, 10), (1, 10), (2, 10), (3, 3)])
def test_search_in_the_hall_form_proves_the_optimum(case: int, max_queues: int,
                                                     monkeypatch) -> None:
    # No search in the allocation form: every part the warm start leaves open is searched
    # in the Hall form; its plan, mapped back, costs the optimum of the explicit formulation
    # (which knows no kept roster: keep none).  With max_queues 3 the slots where all four
    # queues need agents keep their allocation columns inside the Hall form's programme.
    monkeypatch.setattr(shifts_module, "_X_SEARCH_SHARE", 0.0)
    monkeypatch.setattr(shifts_module, "_HALL_MAX_QUEUES", max_queues)
    searched = []
    original = search_module.HallPart.search_for

    def spy(self, part, limit_s):
        searched.append(part)
        return original(self, part, limit_s)

    monkeypatch.setattr(search_module.HallPart, "search_for", spy)
    rng = np.random.default_rng([14, case])
    problem = _pooled_instance(rng, keep="none")
    result = solve_cover(problem, time_limit_s=60)
    assert result.status == "optimal"
    objective = result.cost + _penalty_per_slot(problem) * result.shortfall_agent_intervals \
        * problem.slots_per_interval
    assert objective == pytest.approx(_explicit_objective(problem), rel=1e-6)
    assert searched, "the warm start proved it: the Hall form was not exercised"


# --------------------------------------------------------------------------------------------
# Coverage identity: the plan's agents on duty == the simulator's agents on the floor
# --------------------------------------------------------------------------------------------
def _scenario(groups: dict, *, contacts: dict[str, list[float]], interval_min: float = 30,
              queues: dict | None = None) -> object:
    data = {"name": "t", "start": "2026-11-11T00:00", "interval_min": interval_min,
            "queues": queues or {q: {"aht_s": 300} for q in contacts},
            "arrivals": contacts, "agent_groups": groups}
    return scenario_from_dict(data, source="t.yaml")


def test_coverage_identity_with_breaks_kept_roster_and_overtime() -> None:
    n = 48
    sc = _scenario({
        "core": {"skills": {"a": 1, "b": 2},
                 "shifts": [{"start": "08:00", "end": "16:00", "agents": 4,
                             "breaks": [{"start": "12:00", "minutes": 30}]},
                            {"start": "22:00", "end": "06:00", "agents": 2}]},
        "temp": {"skills": {"a": 1}}},
        contacts={"a": [0.0] * n, "b": [0.0] * n})
    agents = np.zeros((2, n))
    agents[0, 14:44] = 9   # 07:00-22:00
    agents[1, 0:48] = 2
    req = Requirement(start=pd.Timestamp("2026-11-11"), interval_min=30, queues=("a", "b"),
                      agents=agents)
    rules = _rules({"interval_min": 30, "patterns": {
        "day": {"starts": "07:00-11:00", "lengths_h": [8],
                "breaks": [{"minutes": 45, "from_h": 3, "to_h": 5}]},
        "eve": {"starts": ["16:00", "17:30"], "lengths_h": [4, 6]}},
        "groups": {"temp": {"patterns": ["day", "eve"], "cost_per_hour": 1.3},
                   "core": {"patterns": ["day"], "overtime_h": 3, "overtime_cost": 1.5}},
        "keep": "roster"})
    result = solve_cover(build_problem(req, rules, scenario=sc, rules_file="r.yaml"))
    assert result.status == "optimal"
    # The case has overtime of a kept shift, booked shifts with breaks, kept breaks (agents
    # of one shift at several break starts: test_break_starts_become_one_shift_entry_each).
    assert result.overtime and result.booked
    planned = scenario_from_dict(planned_scenario_data(sc, result), source="planned")
    records = run(planned, 1)
    floor = group_intervals(records)
    sim = floor.pivot(index="interval", columns="group", values="agents")
    claimed = result.group_coverage.pivot(index="interval_start", columns="group",
                                          values="on_duty")
    for g in ("core", "temp"):
        np.testing.assert_allclose(sim[g].to_numpy(), claimed[g].to_numpy(), atol=1e-9)
    # And the cover meets the requirement wherever it reports no shortfall.
    cov = result.coverage
    assert ((cov["planned"] >= cov["required"] - 1e-9) | (cov["short"] > 0)).all()


def test_break_starts_become_one_shift_entry_each() -> None:
    n = 24
    sc = _scenario({"g": {"skills": {"a": 1}}}, contacts={"a": [0.0] * n}, interval_min=60)
    req = _requirement({"a": [0] * 8 + [6] * 8 + [0] * 8})
    rules = _rules({"interval_min": 60, "patterns": {
        "day": {"starts": ["08:00"], "lengths_h": [8],
                "breaks": [{"minutes": 60, "from_h": 3, "to_h": 5}]}},
        "groups": {"g": {"patterns": ["day"]}}, "keep": "none"})
    result = solve_cover(build_problem(req, rules, scenario=sc, rules_file="r.yaml"))
    # 6 agents needed at every hour 08-16, one hour of break each: 9 booked, 3 per break start.
    assert [b.agents for b in result.booked] == [9]
    assert sorted(k for _, k in result.booked[0].breaks[0]) == [3, 3, 3]
    entries = planned_shifts(result)["g"]
    assert sorted((e["breaks"][0]["start"], e["agents"]) for e in entries) == \
        [("11:00", 3), ("12:00", 3), ("13:00", 3)]
    assert result.coverage["planned"].min() >= 0
    # The simulator has the agents on the floor that the plan claims, breaks included.
    planned = scenario_from_dict(planned_scenario_data(sc, result), source="planned")
    floor = group_intervals(run(planned, 1))
    np.testing.assert_allclose(floor["agents"].to_numpy(),
                               result.group_coverage["on_duty"].to_numpy(), atol=1e-9)
    assert result.cost == pytest.approx(72.0)
    assert result.agent_hours == pytest.approx(72.0)


def test_uncoverable_instance_returns_shortfall_per_interval() -> None:
    # Nothing can be booked before 06:00 and at most 3 temps are on at once.
    req = _requirement({"a": [2, 2, 2, 5, 5, 5, 5, 5]}, start="2026-11-11 03:00")
    rules = _rules({"interval_min": 60,
                    "patterns": {"day": {"starts": ["06:00"], "lengths_h": [5]}},
                    "groups": {"temp": {"patterns": ["day"], "skills": ["a"],
                                        "max_agents": 3}}, "keep": "none"})
    result = solve_cover(build_problem(req, rules, rules_file="r.yaml"))
    assert result.status == "optimal"
    short = result.shortfall.set_index("interval_start")["short"]
    assert list(short.index.hour) == [3, 4, 5, 6, 7, 8, 9, 10]
    np.testing.assert_allclose(short.to_numpy(), [2, 2, 2, 2, 2, 2, 2, 2])
    assert result.shortfall_agent_intervals == pytest.approx(16.0)
    assert [b.agents for b in result.booked] == [3]


def test_cross_skilled_agent_counts_once() -> None:
    # One group serves both queues: 3 + 2 required means 5 agents, not 3.
    req = _requirement({"a": [3, 3], "b": [2, 2]})
    rules = _rules({"interval_min": 60, "patterns": {"p": {"starts": ["00:00"],
                                                           "lengths_h": [2]}},
                    "groups": {"both": {"patterns": ["p"], "skills": ["a", "b"]}},
                    "keep": "none"})
    result = solve_cover(build_problem(req, rules, rules_file="r.yaml"))
    assert [b.agents for b in result.booked] == [5]


def test_multi_day_horizon_books_each_day() -> None:
    # Two days: day 1 needs 2 agents 08-12, day 2 needs 4.
    agents = np.zeros((1, 96))
    agents[0, 16:24] = 2
    agents[0, 48 + 16:48 + 24] = 4
    req = Requirement(start=pd.Timestamp("2026-11-11"), interval_min=30, queues=("a",),
                      agents=agents)
    rules = _rules({"patterns": {"p": {"starts": ["08:00"], "lengths_h": [4]}},
                    "groups": {"g": {"patterns": ["p"], "skills": ["a"]}}, "keep": "none"})
    result = solve_cover(build_problem(req, rules, rules_file="r.yaml"))
    assert sorted((b.candidate.day, b.agents) for b in result.booked) == [(0, 2), (1, 4)]
    assert list(result.shifts["day"]) == ["2026-11-11", "2026-11-12"]
    assert planned_shifts(result)["g"] == [{"start": "08:00", "end": "12:00", "agents": 4}]


@pytest.mark.parametrize("cost_per_hour", [1.1, 1.0 + 1 / 3])  # whole tenths; no unit
def test_days_no_shift_joins_are_solved_apart_and_add_up(cost_per_hour: float) -> None:
    # Three days of 30-minute intervals, shifts 07:00-11:00 starts of 8-9 h with a break:
    # nothing crosses midnight, so the programme falls into one part per day, and the week's
    # optimum is the sum of the days' optima solved alone (an independent check).
    rng = np.random.default_rng(21)
    shape = np.clip(np.sin((np.arange(48) / 2 - 7) / 14 * np.pi), 0, None)
    days = [np.round(6 * shape * rng.uniform(0.8, 1.2, 48)) for _ in range(3)]
    rules = _rules({"interval_min": 30, "keep": "none",
                    "patterns": {"day": {"starts": "07:00-11:00", "every_min": 30,
                                         "lengths_h": [8, 9],
                                         "breaks": [{"minutes": 45, "from_h": 3, "to_h": 5}]},
                                 "part": {"starts": "15:00-17:00", "every_min": 60,
                                          "lengths_h": [4, 5]}},
                    "groups": {"g": {"patterns": ["day", "part"], "skills": ["a", "b"],
                                     "cost_per_hour": cost_per_hour},
                               "h": {"patterns": ["part"], "skills": ["b"]}}})

    def problem(rows: list[np.ndarray]):
        agents = np.concatenate(rows)
        req = Requirement(start=pd.Timestamp("2026-11-09"), interval_min=30,
                          queues=("a", "b"), agents=np.vstack([agents, np.round(agents / 2)]))
        return build_problem(req, rules, rules_file="r.yaml")

    week = problem(days)
    assert len(search_module.blocks(_matrix(week))) == 3
    result = solve_cover(week, time_limit_s=60)
    assert result.status == "optimal" and result.mip_gap == 0.0
    alone = [solve_cover(problem([d]), time_limit_s=60) for d in days]
    assert all(r.status == "optimal" for r in alone)
    assert result.cost == pytest.approx(sum(r.cost for r in alone), rel=1e-9)
    assert result.shortfall_agent_intervals == pytest.approx(
        sum(r.shortfall_agent_intervals for r in alone), abs=1e-9)


def _three_pooled_days():
    """Three days of the pooled instance's rules: three independent parts."""
    rng = np.random.default_rng(41)
    data = _pooled_instance(rng, keep="none").rules.model_dump(mode="json")
    for g, qs in {"ab": "ab", "bc": "bc", "cd": "cd", "abcd": "abcd"}.items():
        data["groups"][g]["skills"] = list(qs)
    rules = _rules(data)
    shape = np.sin(np.linspace(0, np.pi, 24))
    agents = {q: [] for q in "abcd"}
    for _ in range(3):
        for q, f in zip("abcd", (6, 4, 3, 2)):
            day = np.zeros(48)
            day[12:36] = np.round(f * shape * rng.uniform(0.6, 1.4, 24))
            agents[q].extend(day)
    req = _requirement(agents, interval_min=30, start="2026-11-09 00:00")
    return build_problem(req, rules, rules_file="rules.yaml")


def test_parts_searched_in_child_processes_match_one_process(monkeypatch) -> None:
    monkeypatch.setattr(shifts_module, "_X_SEARCH_SHARE", 0.0)
    problem = _three_pooled_days()
    assert len(search_module.blocks(_matrix(problem))) == 3
    calls = []
    original = search_module.in_children

    def spy(tasks, deadline, **kw):
        calls.append(len(tasks))
        return original(tasks, deadline, **kw)

    monkeypatch.setattr(search_module, "in_children", spy)
    monkeypatch.setattr(search_module, "worker_count", lambda: 2)
    apart = solve_cover(problem, time_limit_s=60)
    assert calls and max(calls) >= 2
    monkeypatch.setattr(search_module, "worker_count", lambda: 1)
    calls.clear()
    here = solve_cover(problem, time_limit_s=60)
    assert not calls
    assert apart.status == here.status == "optimal"
    assert apart.cost == pytest.approx(here.cost, rel=1e-9)
    assert apart.shortfall_agent_intervals == pytest.approx(here.shortfall_agent_intervals)


def _overrunning_milp(marks: str, *, from_run: int, guarded: bool):
    """A stand-in for search_module.run_milp: integer runs after the first ``from_run`` of each
    part's process (counted in files under ``marks``; a guarded run is a child of it) overrun
    HiGHS's time limit by sleeping, as the guard's comment says a large part can at its root.
    It notes the pid of each overrun."""
    import os
    import time as clock
    from pathlib import Path

    real = search_module.run_milp

    def milp(cost, integrality, *args):
        if np.any(integrality):
            count = Path(marks) / f"runs-{os.getppid() if guarded else os.getpid()}"
            n = len(count.read_text()) if count.exists() else 0
            with open(count, "a") as f:
                f.write("x")
            if n >= from_run:
                with open(Path(marks) / "sleepers", "a") as f:
                    f.write(f"{os.getpid()}\n")
                clock.sleep(30)
        return real(cost, integrality, *args)

    return milp


def _alive(pids) -> list[int]:
    import os

    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().split()[2]
        except FileNotFoundError:
            continue
        if state != "Z":
            out.append(pid)
            os.kill(pid, 9)  # do not leave it to the rest of the suite
    return out


def test_a_part_stopped_at_its_time_keeps_the_plans_it_reported(tmp_path, monkeypatch) -> None:
    # Each part's first integer run (the warm start's rounding) finds a plan; the next one
    # overruns in the part's own process (no guard), which is stopped at its time: the part
    # keeps the plan it reported.
    monkeypatch.setattr(search_module, "run_milp", _overrunning_milp(str(tmp_path), from_run=1,
                                                                  guarded=False))
    monkeypatch.setattr(search_module, "GUARD_VARIABLES", 10**9)
    monkeypatch.setattr(shifts_module, "_X_SEARCH_SHARE", 0.0)
    monkeypatch.setattr(search_module, "worker_count", lambda: 2)
    result = solve_cover(_three_pooled_days(), time_limit_s=2)
    assert result.status == "time_limit"
    assert result.shortfall_agent_intervals == 0 and sum(b.agents for b in result.booked) > 0
    assert _alive(int(p) for p in (tmp_path / "sleepers").read_text().split()) == []


def test_no_search_outlives_the_solve(tmp_path, monkeypatch) -> None:
    # Every integer run overruns in a guarded search the part's process started, whose
    # guard waits far longer than the part's time: the parts are stopped at their time with
    # the searches they started.
    monkeypatch.setattr(search_module, "run_milp", _overrunning_milp(str(tmp_path), from_run=0,
                                                                  guarded=True))
    monkeypatch.setattr(search_module, "GUARD_VARIABLES", 0)   # every search guarded
    guarded = search_module.run_milp_guarded
    monkeypatch.setattr(search_module, "run_milp_guarded",
                        lambda args, *, limit_s: guarded(args, limit_s=60.0))
    monkeypatch.setattr(search_module, "GUARD_GRACE_S", 0.5)
    monkeypatch.setattr(search_module, "worker_count", lambda: 2)
    result = solve_cover(_three_pooled_days(), time_limit_s=2)
    assert result.status == "no_solution"   # each part books nothing: its requirement short
    sleepers = (tmp_path / "sleepers").read_text().split()
    assert sleepers and _alive(int(p) for p in sleepers) == []


def test_a_search_that_fails_in_its_process_is_raised(monkeypatch) -> None:
    problem = _three_pooled_days()

    def broken(self, limit_s):
        raise ValueError("HiGHS went away")

    monkeypatch.setattr(search_module.Part, "warm", broken)
    monkeypatch.setattr(search_module, "worker_count", lambda: 2)
    with pytest.raises(RuntimeError, match="HiGHS went away"):
        solve_cover(problem, time_limit_s=10)


def _matrix(problem) -> sparse.csr_matrix:
    """The constraint matrix solve_cover builds (caught on its way to HiGHS)."""
    seen = []
    original = search_module.run_milp

    def catch(cost, integrality, lower, upper, constraints, options):
        seen.append(constraints[0].A)
        return original(cost, integrality, lower, upper, constraints, options)

    search_module.run_milp = catch
    try:
        solve_cover(problem, relax=True)
    finally:
        search_module.run_milp = original
    return sparse.csr_matrix(seen[0])


def test_time_limit_returns_best_found_flagged() -> None:
    rng = np.random.default_rng(5)
    n = 7 * 96
    req = _requirement({q: list(rng.integers(0, 30, n).astype(float)) for q in "abcd"},
                       interval_min=15)
    rules = load_rules("scenarios/singles_day_rules.yaml")
    rules = _rules({**rules.model_dump(mode="json"), "keep": "none", "groups": {
        g: {"patterns": ["day", "late", "peak", "spike", "night"], "skills": list(qs)}
        for g, qs in {"g1": "ab", "g2": "bc", "g3": "cd", "g4": "abcd"}.items()}})
    result = solve_cover(build_problem(req, rules, rules_file="r.yaml"), time_limit_s=0.5)
    assert result.status in ("time_limit", "no_solution")
    assert not result.optimal


# --------------------------------------------------------------------------------------------
# Rules files
# --------------------------------------------------------------------------------------------
def test_shipped_rules_load() -> None:
    rules = load_rules("scenarios/singles_day_rules.yaml")
    assert rules.keep == "roster"
    assert rules.patterns["day"].start_mins(30)[:2] == (420, 450)
    assert rules.groups["temp"].max_agents == 120


def _check(data: dict, **kw: object) -> None:
    from sim.planning import check_planning

    check_planning(_rules(data), file="rules.yaml", prefix="", **kw)


BASE = {"patterns": {"day": {"starts": "07:00-11:00", "every_min": 30, "lengths_h": [8, 9],
                             "breaks": [{"minutes": 45, "from_h": 3, "to_h": 5}]}},
        "groups": {"temp": {"patterns": ["day"], "skills": ["a"]}}}


def _with(path: str, value: object) -> dict:
    import copy

    data = copy.deepcopy(BASE)
    node = data
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return data


@pytest.mark.parametrize("data, field, match", [
    (_with("groups.temp.patterns", ["day", "nite"]), "groups.temp.patterns[1]",
     "unknown pattern 'nite'"),
    (_with("patterns.day.starts", "07:00-25:00"), "patterns.day.starts", "HH:MM"),
    (_with("patterns.day.starts", "07:15-11:00"), "patterns.day.starts",
     "not on the 30-minute grid"),
    (_with("patterns.day.every_min", 45), "patterns.day.every_min", "multiple of the start"),
    (_with("patterns.day.breaks", [{"minutes": 60, "from_h": 3, "to_h": 7.5}]),
     "patterns.day.breaks[0].to_h", "does not fit inside the 8 h shift"),
    (_with("patterns.day.breaks", [{"minutes": 45, "from_h": 5, "to_h": 3}]),
     "patterns.day.breaks[0].to_h", "ends before it starts"),
    (_with("patterns.day.breaks", [{"minutes": 45, "from_h": 2, "to_h": 3},
                                   {"minutes": 15, "from_h": 3, "to_h": 4}]),
     "patterns.day.breaks[1].from_h", "overlapping"),
    (_with("groups.temp.skills", None), "groups.temp.skills", "must name its skills"),
    (_with("groups.temp.overtime_cost", 2.0), "groups.temp.overtime_cost", "needs overtime_h"),
])
def test_bad_rules_name_the_key_path(data: dict, field: str, match: str) -> None:
    with pytest.raises(InputError, match=match) as exc:
        _check(data, grid_min=30)
    assert exc.value.field == field
    assert exc.value.file == "rules.yaml"


@pytest.mark.parametrize("text, field, match", [
    ("groups: {temp: {patterns: [], overtime_h: 4}}", "groups.temp.overtime_h",
     "less than or equal to 3"),
    ("groups: {temp: {cost_per_hour: -1}}", "groups.temp.cost_per_hour", "greater than"),
    ("groups: {temp: {patterns: []}}\nkeep: some", "keep", "roster"),
    ("groups: {temp: {patern: [day]}}", "groups.temp.patern", "unknown key"),
    ("planning: {groups: {temp: {max_agents: -2}}}", "planning.groups.temp.max_agents",
     "greater than or equal to 0"),
    ("patterns: {day: {starts: '07:00-09:00', lengths_h: [30]}}\ngroups: {t: {}}",
     "patterns.day.lengths_h", "at most 24 hours"),
])
def test_bad_rules_files_give_input_error(tmp_path, text: str, field: str, match: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=match) as exc:
        load_rules(path)
    assert exc.value.field == field
    assert exc.value.file == str(path)


def test_rules_cross_checked_against_the_scenario() -> None:
    sc = _scenario({"core": {"skills": {"a": 1}}}, contacts={"a": [1.0] * 4})
    req = _requirement({"a": [1, 1]}, interval_min=30)
    bad = _rules({"groups": {"core": {"skills": ["a"]}}})
    with pytest.raises(InputError, match="its skills are those of agent_groups.core") as exc:
        build_problem(req, bad, scenario=sc, rules_file="r.yaml")
    assert exc.value.field == "groups.core.skills"
    new = _rules({"groups": {"extra": {"skills": ["zz"]}}})
    with pytest.raises(InputError, match="unknown queue 'zz'") as exc:
        build_problem(req, new, scenario=sc, rules_file="r.yaml")
    assert exc.value.field == "groups.extra.skills[0]"


@pytest.mark.parametrize("text, match", [
    ("interval_start,queue\n2026-11-11T00:00,a\n", "missing column"),
    ("interval_start,queue,agents\n2026-11-11T00:00,a,-1\n2026-11-11T00:30,a,1\n",
     "line 2: expected a non-negative number"),
    ("interval_start,queue,agents\nnot a date,a,1\n", "line 2: expected a date-time"),
    ("interval_start,queue,agents\n2026-11-11T00:00,a,1\n", "one interval only"),
])
def test_bad_requirement_files(tmp_path, text: str, match: str) -> None:
    path = tmp_path / "req.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        read_requirement(path)


def test_requirement_file_round_trip(tmp_path) -> None:
    path = tmp_path / "req.csv"
    path.write_text("interval_start,queue,agents\n2026-11-11T00:00,a,3\n2026-11-11T00:30,b,2\n"
                    "2026-11-11T01:00,a,1\n", encoding="utf-8")
    req = read_requirement(path)
    assert req.interval_min == 30 and req.queues == ("a", "b")
    np.testing.assert_array_equal(req.agents, [[3, 0, 1], [0, 2, 0]])


def test_planned_scenario_keeps_the_scenarios_planning_rules() -> None:
    # The app prices a planned what-if with its planning: rules, and a plan of the planned
    # scenario adds to its roster: planned.yaml must carry them (it once dropped them).
    rules_data = {"interval_min": 60, "keep": "roster",
                  "patterns": {"day": {"starts": ["08:00"], "lengths_h": [8]}},
                  "groups": {"g": {"patterns": ["day"], "cost_per_hour": 1.2}}}
    base = _scenario({"g": {"skills": {"a": 1}}}, contacts={"a": [0] * 16 + [40] * 16 + [0] * 16})
    sc = scenario_from_dict({**base.to_dict(), "planning": rules_data}, source="t.yaml")
    req = _requirement({"a": [0] * 8 + [3] * 8 + [0] * 8})
    result = solve_cover(build_problem(req, sc.spec.planning, scenario=sc, rules_file="t.yaml"))
    assert result.booked
    planned = scenario_from_dict(planned_scenario_data(sc, result), source="planned")
    assert planned.spec.planning == sc.spec.planning
    assert planned.spec.agent_groups["g"].shifts
