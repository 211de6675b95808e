"""Statistical validation of the simulator (:mod:`sim.engine`) against queueing theory.

Tier 3 of the tests (../shared/style.md): seeded runs whose confidence interval must contain the
analytic value.  Every scenario here but one has a single queue, a constant Poisson arrival rate
and 24-hour shifts that repeat every day, so after the warm-up the simulated process is the
stationary queue that the formulas of :mod:`planner.erlang` describe:

* M/M/n (Erlang C, no patience): P(wait), SL(20 s) = answered within 20 s / offered, ASA; at a
  moderate load (30 Erlangs on 35 agents) and with few agents (2 Erlangs on 4 agents).
* M/M/n+M (Erlang A, exponential patience): P(wait), P(abandon), ASA of answered contacts (zero
  waits included), mean wait of all contacts and the three service levels (answered within T /
  offered, / answered, / (offered - abandoned within T)); the issue's model (10 contacts a
  minute, AHT 180 s, patience 120 s, 30 agents) and an overload (30 Erlangs on 20 agents).
* Conservation: offered = answered + abandoned + left waiting, in the records and in
  :func:`sim.metrics.summary`, for every run here and for ``scenarios/normal_day.yaml`` (four
  queues, skills, chat, breaks, transfers), with the visits that transfers create.
* Little's law for the queue (time-average number waiting = arrival rate x mean wait of all
  visits) and for the agents (mean busy agents = throughput x mean handle time), and group
  occupancy against Erlang's ``traffic * (1 - P(abandon)) / agents``.
* Handle-time variates (lognormal and gamma, cv 0.5, with wrap-up): mean, second moment and a
  Kolmogorov-Smirnov test of the whole distribution.
* Chat concurrency ``k`` without slowdown is ``k * n`` single-slot agents (Erlang A).
* :func:`sim.replications.simulate`: its ``*_ci95`` columns are Student-t half-widths over the
  replications, and they cover the Erlang A values.

How the tolerances are derived (none is guessed)
------------------------------------------------
*Batch means.*  The horizon after the warm-up is cut into ``B >= 20`` batches of
``BATCH_INTERVALS`` one-hour intervals; a visit belongs to the batch in which it arrived.  A
measure that is a ratio of expectations, ``R = E[X] / E[Y]`` (P(wait) = waited / offered, ASA =
waits of answered / answered, ...), is estimated by ``R^ = sum X_k / sum Y_k`` over the batch
sums ``X_k, Y_k``, with the batch-means (delta method) standard error
``se = sd(X_k - R^ Y_k) / (mean(Y_k) sqrt(B))``; a plain mean (the Little's law differences) by
the mean of the batch values and ``sd / sqrt(B)``.  The interval is ``R^ +- t(B - 1) se`` with
the Student quantile of a two-sided 99.9% level, so a correct simulator fails a check with
probability about 1e-3, and since every run is seeded, the outcome is deterministic.  A failure
can be reproduced.
The mean of per-batch *ratios* is not used: it weighs a batch with few arrivals like a busy one
and is biased (by -0.01 for P(wait) with 40 arrivals an hour, more than the interval).

*Why 4-hour batches are close to independent.*  The slowest case is M/M/n with ``a = 30``
Erlangs on ``n = 35`` agents, whose relaxation time is about ``AHT / (sqrt(n) - sqrt(a))^2`` =
15.5 minutes (Erlang A relaxes faster: every waiting contact also leaves at rate 1/patience).
A batch lasts more than 15 relaxation times, so neighbouring batch means are almost
uncorrelated: lag-1 autocorrelations of the residuals ``X_k - R^ Y_k``, measured over six
seeds of each case while writing these tests, were 0.06 +- 0.03 for the 35-agent case and
under 0.035 for the others; 0.06 would make the true standard error about 6% larger than
the estimate, which the 99.9% level absorbs.  The first hour (``warmup_min``) is left out;
starting empty, the initial bias is gone after a few relaxation times.

*Power.*  Each check also requires the half-width to be under a bound stated at the check, so
that the test can fail: 0.02 for probabilities, a fraction of the value for times and queue
lengths.  One agent fewer on the 30-agent Erlang A case moves P(abandon) by 0.018 and SL(20 s)
by 0.055; one fewer on the 35-agent Erlang C case moves P(wait) by 0.09.  A variate with the
wrong mean, a rate in the wrong unit or a missing agent therefore lies outside the interval.
The horizons below make the expected half-widths about 0.7 of those bounds (half-widths
shrink as 1/sqrt(hours) and vary by some 10% from seed to seed).  Checked while writing
these tests by altering the engine in a scratch copy: handle times 5% too long fail 40 of
the 49 interval checks and both KS tests; patience 10% too short fails 16; a lognormal with
a 10% too large sigma fails its three checks.  Checks are not corrected for multiplicity:
with 51 checks in the file, a correct simulator would fail one of them with probability
about 5% for an arbitrary seed, and never for these seeds.  Long runs of other seeds (6 to
60 times these horizons) agree with every analytic value to within a fifth of the half-
widths used here.

Runtime: the simulator handles about 100,000 contacts a second; the whole file takes about
30 s on two cores (up to a minute when they are shared).  Each case is simulated once per
session and shared by its tests; tests that pay for a run of several seconds are marked
slow.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from planner import erlang
from sim import metrics
from sim.engine import run
from sim.records import ABANDONED, ANSWERED, WAITING, Records
from sim.replications import simulate
from sim.scenario import Scenario, load_scenario, scenario_from_dict

CONFIDENCE = 0.999
BATCH_INTERVALS = 4  # one-hour intervals per batch: > 15 relaxation times (module docstring)
MIN_BATCHES = 20
TARGET_S = 20.0
SEED = 20261111
ROOT = Path(__file__).resolve().parents[1]


# ============================================================================================
# Scenarios
# ============================================================================================
# Each case has its own seed: runs with one seed share their random streams (common random
# numbers, sim.streams), which would make the cases' errors correlated.
@dataclass(frozen=True)
class Case:
    """One queue served by one group of ``agents`` identical agents around the clock."""

    name: str
    agents: int
    rate_per_min: float
    aht_s: float
    hours: int  # one-hour intervals, warm-up included
    patience_s: float | None = None
    handle_time: str = "exponential"
    handle_time_cv: float = 1.0
    wrap_up_s: float = 0.0
    channel: str = "voice"
    chat_concurrency: int = 1
    warmup_min: float = 60.0
    seed: int = SEED

    @property
    def rate_per_s(self) -> float:
        return self.rate_per_min / 60.0

    @property
    def slots(self) -> int:
        """Single-slot agents equivalent: ``k * n`` for chat without slowdown."""
        return self.agents * self.chat_concurrency

    @property
    def handle_s(self) -> float:
        return self.aht_s + self.wrap_up_s

    @property
    def traffic(self) -> float:
        return self.rate_per_s * self.handle_s

    def scenario(self, *, hours: int | None = None) -> Scenario:
        queue: dict = {"channel": self.channel, "aht_s": self.aht_s,
                       "target": {"service_level": 0.8, "within_s": TARGET_S}}
        if self.patience_s is not None:
            queue["patience_s"] = self.patience_s
        if self.handle_time != "exponential":
            queue["handle_time"] = self.handle_time
            queue["handle_time_cv"] = self.handle_time_cv
        if self.wrap_up_s:
            queue["wrap_up_s"] = self.wrap_up_s
        group: dict = {"skills": {"q": 1},
                       "shifts": [{"start": "00:00", "end": "24:00", "agents": self.agents}]}
        if self.chat_concurrency > 1:
            group.update(chat_concurrency=self.chat_concurrency, chat_slowdown=0.0)
        per_hour = self.rate_per_min * 60.0
        return scenario_from_dict({
            "name": self.name, "start": "2026-11-11T00:00", "interval_min": 60,
            "warmup_min": self.warmup_min, "queues": {"q": queue},
            "arrivals": {"q": [per_hour] * (hours or self.hours)},
            "agent_groups": {"g": group}}, source=f"<{self.name}>")

    def erlang_a(self) -> erlang.ErlangAResult:
        """Erlang A (Erlang C when patience is infinite) of the equivalent single-slot queue."""
        return erlang.erlang_a(rate_per_s=self.rate_per_s, aht_s=self.handle_s,
                               patience_s=math.inf if self.patience_s is None
                               else self.patience_s,
                               agents=self.slots, target_s=TARGET_S)


# M/M/n at a moderate load: 10 a minute x 180 s = 30 Erlangs on 35 agents (P(wait) 0.28).
ERLANG_C_MODERATE = Case("erlang_c_35", agents=35, rate_per_min=10.0, aht_s=180.0, hours=1441,
                         seed=SEED + 1)
# M/M/n with few agents and light traffic: 2 Erlangs on 4 agents (P(wait) 0.17).
ERLANG_C_FEW = Case("erlang_c_4", agents=4, rate_per_min=2.0 / 3.0, aht_s=180.0, hours=2001,
                    seed=SEED + 2)
# The issue's model: 10 a minute, AHT 180 s, patience 120 s, 30 agents (30 Erlangs).
ERLANG_A_ISSUE = Case("erlang_a_30", agents=30, rate_per_min=10.0, aht_s=180.0,
                      patience_s=120.0, hours=721, seed=SEED + 3)
# Overloaded: the traffic is 1.5 times the agents (30 Erlangs on 20 agents).
ERLANG_A_OVERLOAD = Case("erlang_a_20_overload", agents=20, rate_per_min=10.0, aht_s=180.0,
                         patience_s=120.0, hours=481, seed=SEED + 4)
# Chat: 8 agents x 4 slots, no slowdown, = 32 single-slot agents; 5 a minute x 360 s = 30 E.
CHAT = Case("chat_8x4", agents=8, chat_concurrency=4, channel="chat", rate_per_min=5.0,
            aht_s=360.0, patience_s=90.0, hours=801, seed=SEED + 5)
# Handle-time variates: light load, wrap-up on top of a non-exponential talk time.
LOGNORMAL = Case("lognormal", agents=40, rate_per_min=10.0, aht_s=180.0, wrap_up_s=30.0,
                 handle_time="lognormal", handle_time_cv=0.5, hours=161,
                 seed=SEED + 6)
GAMMA = Case("gamma", agents=40, rate_per_min=10.0, aht_s=180.0, wrap_up_s=30.0,
             handle_time="gamma", handle_time_cv=0.5, hours=161, seed=SEED + 7)

SINGLE_QUEUE_CASES = [ERLANG_C_MODERATE, ERLANG_C_FEW, ERLANG_A_ISSUE, ERLANG_A_OVERLOAD, CHAT,
                      LOGNORMAL, GAMMA]
SLOW_CASES = {ERLANG_C_MODERATE, ERLANG_A_ISSUE, CHAT}  # several seconds each


def case_param(case: Case) -> object:
    marks = [pytest.mark.slow] if case in SLOW_CASES else []
    return pytest.param(case, id=case.name, marks=marks)


@dataclass(frozen=True)
class Simulated:
    """One seeded run of a case, its per-interval metrics and the batch bookkeeping."""

    case: Case
    scenario: Scenario
    records: Records
    queue: pd.DataFrame = field(repr=False)  # metrics.queue_intervals, one queue
    groups: pd.DataFrame = field(repr=False)  # metrics.group_intervals, one group

    @property
    def first_interval(self) -> int:
        return warmup_intervals(self.scenario)

    @property
    def batches(self) -> int:
        return (self.scenario.n_intervals - self.first_interval) // BATCH_INTERVALS

    @property
    def batch_s(self) -> float:
        return BATCH_INTERVALS * self.scenario.interval_s

    def batch(self, per_interval: np.ndarray) -> np.ndarray:
        """Sums of a per-interval series over the batches after the warm-up."""
        v = np.asarray(per_interval, dtype=float)[self.first_interval:]
        return v[:self.batches * BATCH_INTERVALS].reshape(self.batches, -1).sum(axis=1)

    def column(self, name: str) -> np.ndarray:
        return self.batch(self.queue[name].to_numpy(dtype=float))

    def visit_sums(self, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Batch sums of a value per visit, by the interval in which the visit arrived."""
        r = self.records
        interval = np.floor(r.arrival_s / r.interval_s).astype(np.int64)
        keep = interval < r.n_intervals
        if mask is not None:
            keep &= mask
        per_interval = np.bincount(interval[keep], weights=np.asarray(values, float)[keep],
                                   minlength=r.n_intervals)
        return self.batch(per_interval)


def warmup_intervals(scenario: Scenario) -> int:
    """The first interval after the scenario's warm-up."""
    return int(math.ceil(scenario.spec.warmup_min / scenario.spec.interval_min - 1e-9))


@functools.cache
def simulated(case: Case) -> Simulated:
    scenario = case.scenario()
    records = run(scenario, case.seed)
    queue = metrics.queue_intervals(records, within_s=[TARGET_S])
    groups = metrics.group_intervals(records)
    sim = Simulated(case=case, scenario=scenario, records=records, queue=queue, groups=groups)
    assert sim.batches >= MIN_BATCHES
    return sim


# ============================================================================================
# Confidence intervals
# ============================================================================================
@dataclass(frozen=True)
class Estimate:
    """A point estimate with the half-width of its two-sided ``CONFIDENCE`` interval."""

    name: str
    value: float
    half_width: float
    batches: int

    def __str__(self) -> str:
        return (f"{self.name} = {self.value:.5g} +- {self.half_width:.3g} "
                f"({CONFIDENCE:.1%}, {self.batches} batches)")


def t_quantile(batches: int) -> float:
    return float(stats.t.ppf(0.5 + CONFIDENCE / 2.0, batches - 1))


def ratio_ci(name: str, num: np.ndarray, den: np.ndarray) -> Estimate:
    """``sum num / sum den`` with the batch-means (delta method) half-width."""
    num, den = np.asarray(num, float), np.asarray(den, float)
    b = num.size
    assert b >= MIN_BATCHES, f"{name}: {b} batches, need {MIN_BATCHES}"
    ratio = num.sum() / den.sum()
    se = np.std(num - ratio * den, ddof=1) / (den.mean() * math.sqrt(b))
    return Estimate(name, float(ratio), t_quantile(b) * float(se), b)


def mean_ci(name: str, values: np.ndarray) -> Estimate:
    values = np.asarray(values, float)
    return ratio_ci(name, values, np.ones_like(values))


def assert_covers(est: Estimate, expected: float, *, max_half_width: float) -> None:
    """The interval contains ``expected`` and is narrow enough for that to mean something."""
    assert est.half_width <= max_half_width, (
        f"{est}: the interval is wider than {max_half_width:.3g}, too wide to test anything")
    assert abs(est.value - expected) <= est.half_width, (
        f"{est} does not contain the analytic value {expected:.5g} "
        f"(off by {est.value - expected:+.3g})")


def is_answered(r: Records) -> np.ndarray:
    return r.outcome == ANSWERED


# ============================================================================================
# 1. M/M/n against Erlang C
# ============================================================================================
@pytest.mark.parametrize("case", [case_param(ERLANG_C_MODERATE), case_param(ERLANG_C_FEW)])
def test_mmn_matches_erlang_c(case: Case) -> None:
    sim = simulated(case)
    r = sim.records
    a = case.traffic
    offered = sim.column("offered")
    assert sim.column("abandoned").sum() == 0 and sim.column("left_waiting").sum() == 0

    p_wait = ratio_ci("P(wait)", sim.visit_sums(r.wait_s > 0.0), offered)
    assert_covers(p_wait, erlang.erlang_c(a, case.agents), max_half_width=0.02)

    sl = ratio_ci("SL(20 s)", sim.column("answered_within"), offered)
    assert_covers(sl, erlang.service_level(traffic=a, agents=case.agents, aht_s=case.aht_s,
                                           target_s=TARGET_S), max_half_width=0.02)

    expected_asa = erlang.asa_s(traffic=a, agents=case.agents, aht_s=case.aht_s)
    asa = ratio_ci("ASA (s)", sim.visit_sums(r.wait_s, is_answered(r)), sim.column("answered"))
    assert_covers(asa, expected_asa, max_half_width=0.2 * expected_asa)
    # metrics' per-interval ASA carries the same sums as the records.
    wait_sum = sim.batch((sim.queue["asa_s"].fillna(0.0) * sim.queue["answered"]).to_numpy())
    assert wait_sum.sum() == pytest.approx(asa.value * sim.column("answered").sum(), rel=1e-9)


# ============================================================================================
# 2. M/M/n+M against Erlang A
# ============================================================================================
@pytest.mark.parametrize("case", [case_param(ERLANG_A_ISSUE), case_param(ERLANG_A_OVERLOAD)])
def test_mmn_m_matches_erlang_a(case: Case) -> None:
    sim = simulated(case)
    r = sim.records
    ea = case.erlang_a()
    offered = sim.column("offered")
    answered = sim.column("answered")
    within = sim.column("answered_within")

    assert_covers(ratio_ci("P(wait)", sim.visit_sums(r.wait_s > 0.0), offered), ea.p_wait,
                  max_half_width=0.02)
    assert_covers(ratio_ci("P(abandon)", sim.column("abandoned"), offered), ea.p_abandon,
                  max_half_width=0.02)
    assert_covers(ratio_ci("P(abandon within 20 s)", sim.column("abandoned_within"), offered),
                  ea.p_abandon_within_target, max_half_width=0.02)
    asa = ratio_ci("ASA of answered (s)", sim.visit_sums(r.wait_s, is_answered(r)), answered)
    assert_covers(asa, ea.asa_s, max_half_width=0.2 * ea.asa_s)
    wait = ratio_ci("mean wait of all (s)", sim.visit_sums(r.wait_s), offered)
    assert_covers(wait, ea.mean_wait_s, max_half_width=0.2 * ea.mean_wait_s)

    assert_covers(ratio_ci("SL = within / offered", within, offered), ea.service_level,
                  max_half_width=0.02)
    assert_covers(ratio_ci("SL = within / answered", within, answered),
                  ea.service_level_answered, max_half_width=0.02)
    assert_covers(ratio_ci("SL = within / (offered - abandoned within)", within,
                           offered - sim.column("abandoned_within")),
                  ea.service_level_excl_abandoned_within, max_half_width=0.02)


# ============================================================================================
# 3. Conservation
# ============================================================================================
def check_conservation(scenario: Scenario, r: Records) -> None:
    """Every visit ends exactly one way, in the records and in the metrics; agents never hold
    more than their slots, and start contacts only while on the floor."""
    answered, abandoned, waiting = (r.outcome == ANSWERED, r.outcome == ABANDONED,
                                    r.outcome == WAITING)
    assert np.all(answered | abandoned | waiting)
    # Answered visits have an agent and a start at arrival + wait; the others have neither.
    assert np.all((r.agent >= 0) == answered)
    assert np.all(np.isnan(r.start_s) == ~answered)
    assert np.allclose(r.start_s[answered], r.arrival_s[answered] + r.wait_s[answered],
                       rtol=0, atol=1e-6)
    assert np.all(r.wait_s >= 0.0)
    finished = ~np.isnan(r.end_s)
    assert np.all(finished <= answered)
    assert np.all(r.end_s[finished] >= r.start_s[finished])
    assert np.allclose(r.wait_s[waiting], r.stop_s - r.arrival_s[waiting], rtol=0, atol=1e-6)
    assert np.all(r.arrival_s + r.wait_s <= r.stop_s + 1e-6)

    # Per queue, in the records and in metrics.summary.
    within = [scenario.spec.queues[q].target.within_s or 0.0 for q in scenario.queues]
    frame = metrics.queue_intervals(r, within_s=within)
    summary = metrics.summary(frame)
    in_horizon = r.arrival_s < r.horizon_s
    for i, q in enumerate(scenario.queues):
        m = (r.queue == i) & in_horizon
        row = summary.loc[q]
        assert row["offered"] == m.sum()
        assert row["offered"] == row["answered"] + row["abandoned"] + row["left_waiting"]
        assert (row["answered"], row["abandoned"], row["left_waiting"]) == (
            (m & answered).sum(), (m & abandoned).sum(), (m & waiting).sum())
        assert row["transfers_in"] == (m & r.transfer_in).sum()
        assert row["transfers_out"] == (m & r.transferred).sum()
    total = summary.loc["all"]
    assert total["offered"] == in_horizon.sum()
    assert total["offered"] == total["answered"] + total["abandoned"] + total["left_waiting"]
    # Per interval too.
    assert np.array_equal(frame["offered"],
                          frame["answered"] + frame["abandoned"] + frame["left_waiting"])

    # Transfers: every visit made by a transfer continues, at the same instant, a finished
    # visit of the same contact that ended in a transfer; external visits are their own contact.
    external = ~r.transfer_in
    assert np.array_equal(r.contact[external], np.flatnonzero(external))
    assert r.transfer_in.sum() == r.transferred.sum()
    assert np.all(answered[r.transferred] & finished[r.transferred])
    src = np.flatnonzero(r.transferred)
    dst = np.flatnonzero(r.transfer_in)
    src = src[np.lexsort((r.end_s[src], r.contact[src]))]
    dst = dst[np.lexsort((r.arrival_s[dst], r.contact[dst]))]
    assert np.array_equal(r.contact[src], r.contact[dst])
    assert np.array_equal(r.end_s[src], r.arrival_s[dst])
    allowed = {(scenario.queues.index(t.from_), scenario.queues.index(t.to))
               for t in scenario.spec.transfers}
    assert set(zip(r.queue[src].tolist(), r.queue[dst].tolist())) <= allowed

    # Agents: never more contacts at once than slots (a call takes every slot of its agent,
    # sim.engine); every contact started while its agent was on the floor.
    started = np.flatnonzero(answered)
    end = np.where(finished, r.end_s, r.stop_s)[started]
    agent = r.agent[started]
    voice = np.array([scenario.spec.queues[q].channel == "voice" for q in scenario.queues])
    weight = np.where(voice[r.queue[started]], r.agent_slots[agent], 1)
    times = np.concatenate((r.start_s[started], end))
    delta = np.concatenate((weight, -weight)).astype(float)
    who = np.concatenate((agent, agent))
    order = np.lexsort((delta, times, who))  # per agent, in time, a release before a take
    level = np.cumsum(delta[order])  # each agent's block sums to 0: a per-agent level
    held = np.zeros(r.agent_group.size)
    np.maximum.at(held, who[order], level)
    assert np.all(held <= r.agent_slots)
    span = r.stop_s + 1.0
    seg_order = np.lexsort((r.seg_on_s, r.seg_agent))
    seg_key = r.seg_agent[seg_order] * span + r.seg_on_s[seg_order]
    k = np.searchsorted(seg_key, agent * span + r.start_s[started], side="right") - 1
    assert np.all(k >= 0)
    seg = seg_order[k]
    assert np.array_equal(r.seg_agent[seg], agent)
    assert np.all(r.start_s[started] <= r.seg_off_s[seg])
    groups = metrics.group_summary(metrics.group_intervals(r))
    # Slot time in use within the horizon, from the records, equals the metrics' (a call
    # counts every slot of its agent).
    h = r.horizon_s
    slot_time = weight * (np.minimum(end, h) - np.minimum(r.start_s[started], h))
    by_group = np.bincount(r.agent_group[agent], weights=slot_time,
                           minlength=len(scenario.groups))
    assert np.allclose(groups.loc[list(scenario.groups), "slot_busy_s"], by_group,
                       rtol=1e-9, atol=1e-6)
    assert np.all(groups["busy_s"] <= groups["staffed_s"] * (1 + 1e-12))
    assert np.all(groups["slot_busy_s"] <= groups["staffed_slot_s"] * (1 + 1e-12))


@pytest.mark.parametrize("case", [case_param(c) for c in SINGLE_QUEUE_CASES])
def test_conservation_single_queue(case: Case) -> None:
    sim = simulated(case)
    check_conservation(sim.scenario, sim.records)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_conservation_normal_day_with_transfers(seed: int) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "normal_day.yaml")
    assert scenario.spec.transfers, "the scenario is meant to exercise transfers"
    records = run(scenario, seed)
    assert records.transfer_in.sum() > 50
    check_conservation(scenario, records)


def test_transfer_shares_match_the_probabilities() -> None:
    """Each finished visit of a queue moves to another with the scenario's probability:
    binomial counts pooled over seeded runs of the normal day, normal 99.9% intervals."""
    scenario = load_scenario(ROOT / "scenarios" / "normal_day.yaml")
    runs = [run(scenario, seed) for seed in range(10, 16)]
    z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2.0))
    for t in scenario.spec.transfers:
        i, j = scenario.queues.index(t.from_), scenario.queues.index(t.to)
        trials = moved = 0
        for r in runs:
            finished = (r.queue == i) & ~np.isnan(r.end_s)
            trials += int(finished.sum())
            nxt = np.full(r.queue.size, -1)
            src = np.flatnonzero(r.transferred)
            dst = np.flatnonzero(r.transfer_in)
            src = src[np.lexsort((r.end_s[src], r.contact[src]))]
            dst = dst[np.lexsort((r.arrival_s[dst], r.contact[dst]))]
            nxt[src] = r.queue[dst]
            moved += int((finished & (nxt == j)).sum())
        half = z * math.sqrt(t.probability * (1 - t.probability) / trials)
        assert abs(moved / trials - t.probability) <= half, (
            f"{t.from_} -> {t.to}: {moved}/{trials} = {moved / trials:.4f}, expected "
            f"{t.probability} +- {half:.4f}")


# ============================================================================================
# 4. Little's law and occupancy
# ============================================================================================
LITTLE_CASES = [case_param(ERLANG_C_MODERATE), case_param(ERLANG_A_ISSUE),
                case_param(ERLANG_A_OVERLOAD)]


@pytest.mark.parametrize("case", LITTLE_CASES)
def test_littles_law_for_the_queue(case: Case) -> None:
    """Time-average number waiting (metrics' mean_queue) = arrival rate x mean wait of every
    visit (answered and abandoned), over the same batches: the paired difference
    ``L_k - sum(waits of arrivals in k) / batch length`` has mean 0."""
    sim = simulated(case)
    r = sim.records
    queue_time = sim.column("mean_queue") * sim.scenario.interval_s  # integral of Q over k
    waits = sim.visit_sums(r.wait_s)
    length = mean_ci("L (mean number waiting)", queue_time / sim.batch_s)
    diff = mean_ci("L - lambda W", (queue_time - waits) / sim.batch_s)
    assert_covers(diff, 0.0, max_half_width=0.02 * length.value)
    ea = case.erlang_a()
    assert_covers(length, ea.mean_queue, max_half_width=0.2 * ea.mean_queue)
    # The same L from metrics.summary (mean of the per-interval averages).
    summary = metrics.summary(sim.queue, first_interval=sim.first_interval)
    per_interval = sim.queue.loc[sim.queue["interval"] >= sim.first_interval, "mean_queue"]
    assert summary.loc["q", "mean_queue"] == pytest.approx(per_interval.mean(), rel=1e-12)
    assert summary.loc["q", "mean_queue"] == pytest.approx(length.value, rel=0.01)


@pytest.mark.parametrize("case", LITTLE_CASES + [case_param(CHAT)])
def test_littles_law_for_agents_and_occupancy(case: Case) -> None:
    """Mean busy slots = throughput x mean handle time (paired batches, mean difference 0),
    and occupancy = answered traffic / slots = ``traffic * (1 - P(abandon)) / slots``."""
    sim = simulated(case)
    r = sim.records
    done = is_answered(r)
    handle = np.where(done, r.end_s - r.start_s, 0.0)
    slot_busy = sim.batch(sim.groups["slot_busy_s"].to_numpy())
    staffed_slot = sim.batch(sim.groups["staffed_slot_s"].to_numpy())
    busy = mean_ci("mean busy slots", slot_busy / sim.batch_s)
    diff = mean_ci("busy - throughput x handle",
                   (slot_busy - sim.visit_sums(handle, done)) / sim.batch_s)
    assert_covers(diff, 0.0, max_half_width=0.01 * busy.value)

    ea = case.erlang_a()
    occupancy = ratio_ci("slot occupancy", slot_busy, staffed_slot)
    assert_covers(occupancy, ea.occupancy, max_half_width=0.02)
    # Every agent is on the floor the whole time: staffed slots are exact.
    assert np.allclose(staffed_slot, case.slots * sim.batch_s)
    # metrics.group_summary over the same window gives the same occupancy.
    window = sim.groups[sim.groups["interval"] <
                        sim.first_interval + sim.batches * BATCH_INTERVALS]
    groups = metrics.group_summary(window, first_interval=sim.first_interval)
    column = "slot_occupancy" if case.chat_concurrency > 1 else "occupancy"
    assert groups.loc["g", column] == pytest.approx(occupancy.value, rel=1e-9)


# ============================================================================================
# 5. Handle-time variates
# ============================================================================================
@pytest.mark.parametrize("case", [case_param(LOGNORMAL), case_param(GAMMA)])
def test_handle_time_distribution(case: Case) -> None:
    """Answered contacts' handle time (wrap-up included) has mean aht_s + wrap_up_s and
    second moment aht^2 (1 + cv^2) (+ wrap-up terms); the talk time follows the named family
    with mean aht_s and cv 0.5 (Kolmogorov-Smirnov at the same 99.9% level)."""
    sim = simulated(case)
    r = sim.records
    done = is_answered(r)
    handle = np.where(done, r.end_s - r.start_s, 0.0)
    count = sim.visit_sums(done)
    mean = ratio_ci("mean handle time (s)", sim.visit_sums(handle, done), count)
    assert_covers(mean, case.handle_s, max_half_width=0.01 * case.handle_s)
    talk = np.where(done, handle - case.wrap_up_s, 0.0)
    second = ratio_ci("E[talk^2] / aht^2", sim.visit_sums((talk / case.aht_s) ** 2, done), count)
    assert_covers(second, 1.0 + case.handle_time_cv ** 2, max_half_width=0.03)
    # metrics' per-interval AHT is the same mean (it includes wrap-up).
    aht = sim.queue.loc[sim.queue["interval"] >= sim.first_interval]
    assert (aht["aht_s"] * aht["answered"]).sum() / aht["answered"].sum() == pytest.approx(
        float(handle[done & (r.arrival_s >= sim.first_interval * r.interval_s)].mean()),
        rel=1e-9)

    x = talk[done] / case.aht_s
    assert x.size > 20_000
    cv = case.handle_time_cv
    if case.handle_time == "lognormal":
        sigma = math.sqrt(math.log1p(cv * cv))
        reference = stats.lognorm(s=sigma, scale=math.exp(-0.5 * sigma * sigma))
    else:
        shape = 1.0 / (cv * cv)
        reference = stats.gamma(a=shape, scale=1.0 / shape)
    test = stats.kstest(x, reference.cdf)
    assert test.pvalue > 1.0 - CONFIDENCE, f"KS distance {test.statistic:.4f}"
    # Not an exponential (the default family): the KS test has the power to tell.
    assert stats.kstest(x, "expon").pvalue < 1e-9


# ============================================================================================
# 6. Chat concurrency
# ============================================================================================
@pytest.mark.slow
def test_chat_concurrency_without_slowdown_is_k_times_n_agents() -> None:
    sim = simulated(CHAT)
    r = sim.records
    ea = CHAT.erlang_a()  # 32 single-slot agents
    offered = sim.column("offered")
    assert_covers(ratio_ci("P(abandon)", sim.column("abandoned"), offered), ea.p_abandon,
                  max_half_width=0.02)
    assert_covers(ratio_ci("P(wait)", sim.visit_sums(r.wait_s > 0.0), offered), ea.p_wait,
                  max_half_width=0.02)
    assert_covers(ratio_ci("SL(20 s)", sim.column("answered_within"), offered),
                  ea.service_level, max_half_width=0.02)
    asa = ratio_ci("ASA (s)", sim.visit_sums(r.wait_s, is_answered(r)), sim.column("answered"))
    assert_covers(asa, ea.asa_s, max_half_width=0.2 * ea.asa_s)
    # With n single-slot agents instead the answer would be far off: the check has power.
    n_only = erlang.erlang_a(rate_per_s=CHAT.rate_per_s, aht_s=CHAT.aht_s,
                             patience_s=CHAT.patience_s, agents=CHAT.agents, target_s=TARGET_S)
    assert n_only.p_abandon > ea.p_abandon + 0.5


# ============================================================================================
# 7. Replications
# ============================================================================================
@pytest.mark.slow
def test_replication_intervals_cover_erlang_a() -> None:
    """30 replications of 24 hours of the issue's model: the ``*_ci95`` columns are Student-t
    95% half-widths over the replications' summaries, and the same intervals widened to 99.9%
    contain the Erlang A values."""
    reps = 30
    scenario = ERLANG_A_ISSUE.scenario(hours=25)
    result = simulate(scenario, seed=SEED, reps=reps)
    table = result.queue_summary().set_index("queue")
    row = table.loc["q"]
    assert {"service_level_ci95", "abandon_rate_ci95", "asa_s_ci95",
            "occupancy_ci95"} <= set(table.columns)

    # The columns recomputed from the per-replication summaries.
    first = warmup_intervals(scenario)
    per_rep = pd.DataFrame([metrics.summary(f.drop(columns="rep"), first_interval=first).loc["q"]
                            for _, f in result.queue_intervals.groupby("rep")])
    assert len(per_rep) == reps
    t95 = float(stats.t.ppf(0.975, reps - 1))
    for col in ("service_level", "abandon_rate", "asa_s", "offered"):
        assert row[col] == pytest.approx(per_rep[col].mean(), rel=1e-12)
        assert row[f"{col}_ci95"] == pytest.approx(
            t95 * per_rep[col].std(ddof=1) / math.sqrt(reps), rel=1e-9)
    # Replications are independent draws, not copies.
    assert per_rep["offered"].nunique() > reps // 2

    ea = ERLANG_A_ISSUE.erlang_a()
    widen = t_quantile(reps) / t95
    for col, expected, max_half_width in (
            ("service_level", ea.service_level, 0.02),
            ("abandon_rate", ea.p_abandon, 0.02),
            ("asa_s", ea.asa_s, 0.2 * ea.asa_s),
            ("occupancy", ea.occupancy, 0.02)):
        est = Estimate(f"{col} over {reps} replications", float(row[col]),
                       float(row[f"{col}_ci95"]) * widen, reps)
        assert_covers(est, expected, max_half_width=max_half_width)
    # Offered per replication is Poisson with mean rate x hours after the warm-up.
    expected_offered = ERLANG_A_ISSUE.rate_per_min * 60.0 * (scenario.n_intervals - first)
    est = Estimate("offered", float(row["offered"]), float(row["offered_ci95"]) * widen, reps)
    assert_covers(est, expected_offered, max_half_width=0.02 * expected_offered)
