"""Volume uncertainty: forecast error beyond Poisson noise, one draw per replication and queue.

Model (``arrivals.uncertainty: {cv: c, correlation: rho}``).  Each replication, that is each
run seed, draws one volume multiplier ``M_q`` per queue; for that replication every interval's
expected contacts of queue ``q`` are multiplied by ``M_q``, and arrivals are Poisson given them.
The multiplier holds for the whole horizon: it is the error of the forecast's level (11.11 came
in 15% above plan), not of its shape.

* ``M_q ~ Gamma(shape k = 1 / c^2, scale 1 / k)``: mean 1, coefficient of variation ``c``.  A
  queue's offered count over the horizon is then a mixed Poisson (negative binomial) with mean
  ``mu`` and variance ``mu + c^2 mu^2``: Poisson noise plus forecast error (transfers aside).
* Across queues, a Gaussian copula with equal pairwise correlation ``rho``:
  ``Z_q = sqrt(rho) W + sqrt(1 - rho) E_q`` with ``W`` and ``E_q`` independent standard
  normals, and ``M_q = F^-1(Phi(Z_q))``, ``F`` the gamma's distribution function.  ``rho = 0``:
  independent queues; ``rho = 1``: one common multiplier (``Z_q = W`` exactly).  The Pearson
  correlation of two multipliers is slightly below ``rho`` (the gamma is skewed): 0.7996 for
  ``c = 0.1, rho = 0.8``, 0.791 for ``c = 0.5``, 0.770 for ``c = 1``.

Randomness: ``W`` from the stream ``stream(seed, "volume-uncertainty")`` and each ``E_q`` from
``stream(seed, "volume-uncertainty", q)``, keyed by the queue's name, never by its position:
two scenarios with the same seed draw the same multiplier for the same queue (common random
numbers), and the inverse-distribution construction keeps the same quantile when only ``c``
or ``rho`` changes, so the multiplier moves smoothly with them.  No other stream is touched:
without ``arrivals.uncertainty`` nothing is drawn and every record is as before.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special

from sim.streams import stream

if TYPE_CHECKING:
    from sim.scenario import Scenario, ScenarioSpec

__all__ = ["volume_multipliers", "multiplier_ppf", "describe", "STREAM"]

STREAM = "volume-uncertainty"


def _spec(scenario_or_spec: Scenario | ScenarioSpec) -> ScenarioSpec:
    return getattr(scenario_or_spec, "spec", scenario_or_spec)


def volume_multipliers(scenario_or_spec: Scenario | ScenarioSpec, seed: int) -> np.ndarray:
    """The volume multiplier of each queue (in the scenario's queue order) for run ``seed``.

    All ones without ``arrivals.uncertainty`` (and nothing drawn)."""
    spec = _spec(scenario_or_spec)
    queues = list(spec.queues)
    u = spec.arrivals.uncertainty
    if u is None:
        return np.ones(len(queues))
    common = stream(seed, STREAM).standard_normal()
    own = np.array([stream(seed, STREAM, q).standard_normal() for q in queues])
    z = math.sqrt(u.correlation) * common + math.sqrt(1.0 - u.correlation) * own
    return _gamma_of_normal(z, cv=u.cv)


def _gamma_of_normal(z: np.ndarray, *, cv: float) -> np.ndarray:
    """``F^-1(Phi(z))`` for the unit-mean gamma of coefficient of variation ``cv``; the upper
    half goes through the upper tail, where ``Phi(z)`` would round to 1 (and the multiplier
    to infinity) for z above 8."""
    k = 1.0 / (cv * cv)
    z = np.asarray(z, dtype=float)
    lower = special.gammaincinv(k, special.ndtr(np.minimum(z, 0.0)))
    upper = special.gammainccinv(k, special.ndtr(-np.maximum(z, 0.0)))
    return np.where(z <= 0.0, lower, upper) / k


def multiplier_ppf(cv: float, p: float, *, reps: int = 1) -> float:
    """The ``p``-quantile of the volume multiplier (``reps = 1``), or of the mean multiplier
    of one queue over ``reps`` independent replications (a sum of gammas of one scale is a
    gamma: the mean is ``Gamma(reps k, 1 / (reps k))``)."""
    if not (0.0 < p < 1.0):
        raise ValueError(f"p must be in (0, 1), got {p!r}")
    shape = reps / (cv * cv)
    return float(special.gammaincinv(shape, p) / shape) if p <= 0.5 else \
        float(special.gammainccinv(shape, 1.0 - p) / shape)


def describe(uncertainty: Any) -> str:
    """'gamma, cv 0.1, correlation 0.8 across queues', for messages and summaries."""
    text = f"gamma, cv {uncertainty.cv:g}"
    return text + (f", correlation {uncertainty.correlation:g} across queues"
                   if uncertainty.correlation else ", independent across queues")
