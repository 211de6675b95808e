"""Erlang A over whole arrays (the incomplete-gamma closed form) gives the answers of the
one-interval-at-a-time sum it replaced: the same agents on a week of intervals, and the same
measures to rounding."""

from __future__ import annotations

import numpy as np
import pytest

from planner import erlang


def week(seed: int = 11, *, days: int = 2) -> dict[str, np.ndarray]:
    """Days of 15-minute intervals for 6 queues (a week is bench/bench_erlang_a.py's): a
    day-shaped volume with noise, handle times 3-12 min, patience 40 s to 6 min, a few empty
    intervals.  (Two days keep the one-by-one reference under a minute.)"""
    rng = np.random.default_rng(seed)
    t = np.arange(days * 96) / 96.0
    shape = 0.3 + np.sin(np.pi * (t % 1.0)) ** 2
    cells = []
    for q in range(6):
        lam = shape * rng.uniform(0.02, 1.5) * rng.gamma(20, 1 / 20, t.size)
        lam[rng.random(t.size) < 0.02] = 0.0
        cells.append((lam, np.full(t.size, rng.uniform(180, 720)),
                      np.full(t.size, rng.uniform(40, 360))))
    lam, aht, pat = (np.concatenate(v) for v in zip(*cells))
    return {"rate_per_s": lam, "aht_s": aht, "patience_s": pat}


def one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force every element through the per-interval path (the implementation before)."""
    def nothing(lam, *args, **kwargs):
        return np.zeros((len(erlang._A_FIELDS), lam.size)), np.zeros(lam.size, dtype=bool)
    monkeypatch.setattr(erlang, "_erlang_a_closed", nothing)


@pytest.mark.parametrize("targets", [
    {"target_s": 20.0, "service_level": 0.8},
    {"target_s": 30.0, "service_level": 0.7, "max_abandon": 0.05},
    {"max_asa_s": 30.0},
    {"target_s": 20.0, "service_level": 0.8, "max_occupancy": 0.85},
])
def test_agents_needed_identical_on_a_week(monkeypatch, targets):
    data = week()
    fast = erlang.agents_needed(**data, **targets)
    with monkeypatch.context() as m:
        one_by_one(m)
        slow = erlang.agents_needed(**data, **targets)
    assert np.array_equal(fast, slow)
    assert fast.max() > 50  # the week reaches real teams, not only tiny queues


def test_measures_agree_with_the_per_interval_sum(monkeypatch):
    data = week(5)
    rng = np.random.default_rng(2)
    traffic = data["rate_per_s"] * data["aht_s"]
    agents = np.floor(traffic * rng.uniform(0.6, 1.5, traffic.size)) + rng.integers(0, 3,
                                                                                  traffic.size)
    target = rng.choice([0.0, 10.0, 20.0, 60.0], traffic.size)
    fast = erlang.erlang_a(**data, agents=agents, target_s=target)
    with monkeypatch.context() as m:
        one_by_one(m)
        slow = erlang.erlang_a(**data, agents=agents, target_s=target)
    for field in erlang._A_FIELDS:
        a, b = getattr(fast, field), getattr(slow, field)
        scale = 1.0 if field not in ("asa_s", "mean_wait_s", "mean_queue") else \
            np.maximum(np.abs(b), 1.0)
        assert np.nanmax(np.abs(a - b) / scale) < 1e-9, field
        assert np.array_equal(np.isnan(a), np.isnan(b)), field
