"""The one definition of "misses its target" (sim.metrics.target_deficit)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from planner.staffing import Target
from sim.metrics import target_deficit

TARGETS = {
    "chat": Target(service_level=0.8, within_s=30),
    "calls": Target(service_level=None, within_s=None, max_asa_s=20, max_abandon=0.05),
    "complaints": Target(service_level=0.7, within_s=30, max_occupancy=0.7),
    "free": Target(service_level=None, within_s=None),
}


def frame(**columns: list) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_relative_deficit_of_the_worst_target():
    f = frame(queue=["chat", "chat", "calls", "calls", "complaints"],
              service_level=[0.6, 0.9, 0.1, 0.1, 0.7],
              asa_s=[100.0, 1.0, 30.0, 10.0, 1.0],
              abandon_rate=[0.5, 0.0, 0.06, 0.10, 0.0],
              occupancy=[0.99, 0.99, 0.99, 0.99, 0.84])
    d = target_deficit(f, TARGETS)
    # chat: only its service level counts: (0.8 - 0.6) / 0.8; met with 0.9.
    assert d[0] == pytest.approx(0.25) and d[1] == pytest.approx(-0.125)
    # calls: ASA 30 > 20 (+0.5) and abandonment 0.06 > 0.05 (+0.2): the worst, 0.5.
    assert d[2] == pytest.approx(0.5)
    # ASA met (-0.5) but abandonment 0.10 (+1.0).
    assert d[3] == pytest.approx(1.0)
    # complaints: the service level just met (0), occupancy 0.84 > 0.7 (+0.2).
    assert d[4] == pytest.approx(0.2)


def test_no_targets_or_no_figures_are_not_a_miss():
    f = frame(queue=["free", "chat", "unknown"], service_level=[0.1, math.nan, 0.1],
              asa_s=[500.0, math.nan, 500.0], abandon_rate=[0.9, math.nan, 0.9])
    d = target_deficit(f, TARGETS)
    assert d.isna().all()
    assert not (d > 0).any()
