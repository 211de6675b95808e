"""Erlang B, C and A: the queueing formulas of contact-centre staffing.

Model and units
---------------
Contacts arrive as a Poisson process at ``rate_per_s`` (per second); handle times are
exponential with mean ``aht_s`` seconds; ``agents`` identical agents serve one queue first come,
first served.  Offered traffic is ``traffic = rate_per_s * aht_s`` Erlangs.

* Erlang B (M/M/n/n): the probability that an arriving contact finds every agent busy when there
  is no queue.  Defined for non-integer ``agents`` through the incomplete gamma function
  (``B(n, a) = pmf(n; a) / Q(n + 1, a)`` with ``pmf`` the Poisson density continued in ``n``), so
  optimisers can work on a smooth curve.
* Erlang C (M/M/n): the probability to wait, service level ``P(wait <= target_s)`` and ASA, for
  patient customers.  Unstable when ``traffic >= agents``: then the probability to wait is 1, the
  service level 0 and ASA infinite.
* Erlang A (M/M/n+M, Palm): customers abandon after an exponential patience of mean
  ``patience_s``.  Always stable.  See :func:`erlang_a` for the derivation used.

Every function broadcasts its arguments against each other as numpy arrays (a day of intervals in
one call) and returns Python floats when every argument is a scalar.

Numerics: Erlang B is evaluated from the Poisson density in saddle-point form (no
``n * log(a)`` of size 1e5 to cancel) divided by the regularised upper incomplete gamma function
where ``traffic <= agents + 1``, and from the Legendre continued fraction of ``1 / B`` (modified
Lentz) where ``traffic > agents + 1``; both are well conditioned in their region, so values hold
to about 1e-13 relative for thousands of agents, with no overflow.

Erlang A works in logs (``log B``, ``log A``), so thousands of idle agents, whose Erlang B is
below the smallest float, give P(wait) ~ 0 rather than an overflow.  Its sum over the number
of contacts ahead is taken term by term up to 50,000 terms; longer sums (lambda x patience above
~1e9: a huge centre or a patience of days) are taken on the window that holds their mass, in
at most 20,000 blocks (~1e-8 absolute), and beyond a patience of 1e15 times the queue's time
scale Erlang A is taken at its limit (Erlang C when stable, the fluid limit when overloaded).
:func:`agents_needed` refuses at once (ValueError) targets that need more than 10,000,000
agents, so no input makes any function here search for long.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

__all__ = [
    "ErlangAResult",
    "agents_needed",
    "asa_s",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "service_level",
]

_LOG_2PI_HALF = 0.5 * math.log(2.0 * math.pi)
# Slack when comparing a computed service level with its target: a value that meets the target
# in exact arithmetic must not be rejected for a rounding error of the last bits.
_TARGET_SLACK = 1e-12
_MAX_AGENTS = 10_000_000
# Erlang A sums over the number of contacts ahead: term by term up to this many terms, beyond
# on a window of at most _MAX_SAMPLES block midpoints (see _sampled_weights).
_EXACT_TERMS = 50_000
_MAX_SAMPLES = 20_000
# Beyond this n mu / theta or lambda / theta (patience / AHT of 1e15), Erlang A is taken at its
# limit: Erlang C if stable, else the fluid limit (double precision has nothing finer to say).
_PATIENT_LIMIT = 1e15


# --------------------------------------------------------------------------------------------
# Argument handling
# --------------------------------------------------------------------------------------------
def _check(name: str, value: np.ndarray, *, low: float, high: float = math.inf,
           low_open: bool = False, high_open: bool = False, allow_inf: bool = False) -> None:
    """Raise ValueError naming the argument when any element is outside its range."""
    bad = np.isnan(value) | (np.isinf(value) & (not allow_inf))
    bad |= (value <= low) if low_open else (value < low)
    bad |= (value >= high) if high_open else (value > high)
    if np.any(bad):
        first = value.reshape(-1)[np.argmax(bad.reshape(-1))]
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{name} must be in {lo}{low:g}, {high:g}{hi}, got {float(first):g}")


def _arrays(**kwargs: Any) -> tuple[bool, list[np.ndarray]]:
    scalar = all(np.ndim(v) == 0 for v in kwargs.values())
    try:
        arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in kwargs.values()))
    except ValueError as exc:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in kwargs.items())
        raise ValueError(f"arguments do not broadcast together: {shapes}") from exc
    return scalar, [np.array(a, dtype=float) for a in arrays]


def _out(value: np.ndarray, scalar: bool) -> Any:
    return float(value) if scalar else value


# --------------------------------------------------------------------------------------------
# Erlang B
# --------------------------------------------------------------------------------------------
def _stirlerr_series(n: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # n > 1e154: n2 = inf and the series is 1 / (12 n)
        n2 = n * n
    return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - 1.0 / (1188 * n2)) / n2)
                        / n2) / n2) / n


def _stirlerr(n: np.ndarray) -> np.ndarray:
    """log(n!) - [(n + 1/2) log(n) - n + log(2 pi)/2]: the error of Stirling's formula."""
    big = n > 15.0
    if big.all():  # the common case in staffing: no masks to apply
        return _stirlerr_series(n)
    out = np.empty_like(n)
    out[big] = _stirlerr_series(n[big])
    ns = n[~big]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[~big] = special.gammaln(ns + 1.0) - (ns + 0.5) * np.log(ns) + ns - _LOG_2PI_HALF
    return out


def _bd0(n: np.ndarray, a: np.ndarray) -> np.ndarray:
    """n log(n / a) + a - n = a ((1 + d) log1p(d) - d) with d = (n - a) / a.

    Written with log1p, the absolute error is about 1e-16 |n - a|: no term of size n log(a)
    (1e5 for 10,000 agents) is formed and cancelled, so exp(-bd0) keeps ~1e-13 relative.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        d = (n - a) / a  # inf for a traffic of 1e-318 (a forecast of 1e-320 contacts)
    far = ~(np.abs(d) < 1.0)
    if not far.any():
        return a * ((1.0 + d) * np.log1p(d) - d)
    # n >= 2a: n log(n / a) >= 0.69 n and n - a <= n, so the direct form cancels at most a
    # factor ~3; in logs, as n / a may overflow.
    out = np.empty_like(d)
    near = ~far
    out[near] = a[near] * ((1.0 + d[near]) * np.log1p(d[near]) - d[near])
    nf, af = n[far], a[far]
    out[far] = nf * (np.log(nf) - np.log(af)) + af - nf
    return out


def _log_poisson_pmf(n: np.ndarray, a: np.ndarray) -> np.ndarray:
    """log(a**n exp(-a) / Gamma(n + 1)) for n >= 0, a > 0, real n."""
    small = n < 1.0
    if not small.any():
        return -_LOG_2PI_HALF - 0.5 * np.log(n) - _stirlerr(n) - _bd0(n, a)
    out = np.empty_like(n)
    ns, as_ = n[small], a[small]
    out[small] = special.xlogy(ns, as_) - as_ - special.gammaln(ns + 1.0)
    nb, ab = n[~small], a[~small]
    out[~small] = -_LOG_2PI_HALF - 0.5 * np.log(nb) - _stirlerr(nb) - _bd0(nb, ab)
    return out


def _inv_b_continued_fraction(n: np.ndarray, a: np.ndarray) -> np.ndarray:
    """1 / B(n, a) = a * Gamma(n+1, a) e^a / a^(n+1), by Legendre's continued fraction.

    The fraction converges fast for a > n + 1, where it is used (Numerical Recipes' gcf with
    the modified Lentz algorithm), and needs no exponentials, so it cannot overflow.
    """
    if a.size <= 8:
        # A few values (Erlang A works one interval at a time): plain floats are ~100 times
        # faster than numpy's per-call overhead over the ~40 steps of the fraction.
        return np.array([_inv_b_cf_one(float(ni), float(ai)) for ni, ai in zip(n, a)])
    tiny = 1e-300
    s = n + 1.0
    b = a + 1.0 - s
    c = np.full_like(a, 1.0 / tiny)
    d = 1.0 / b
    h = d.copy()
    active = np.ones(a.shape, dtype=bool)
    for i in range(1, 100_000):
        an = -i * (i - s[active])
        b[active] += 2.0
        d_a = an * d[active] + b[active]
        d_a = np.where(np.abs(d_a) < tiny, tiny, d_a)
        c_a = b[active] + an / c[active]
        c_a = np.where(np.abs(c_a) < tiny, tiny, c_a)
        d_a = 1.0 / d_a
        delta = d_a * c_a
        h[active] *= delta
        d[active] = d_a
        c[active] = c_a
        done = np.abs(delta - 1.0) < 1e-16
        if done.all():
            break
        idx = np.flatnonzero(active)
        active[idx[done]] = False
    return a * h


def _inv_b_cf_one(n: float, a: float) -> float:
    """:func:`_inv_b_continued_fraction` for one value, in plain floats (same steps)."""
    tiny = 1e-300
    s = n + 1.0
    b = a + 1.0 - s
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - s)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return a * h


def _erlang_b(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    if a.size and a.min() > 0.0 and np.all(a <= n + 1.0):
        # Every element in the region of the Poisson/gamma form (always so when staffing):
        # no masks to build and apply.
        return np.minimum(np.exp(_log_poisson_pmf(n, a)) / special.gammaincc(n + 1.0, a), 1.0)
    out = np.empty_like(a)
    none = n == 0.0
    idle = (a == 0.0) & ~none
    out[none] = 1.0
    out[idle] = 0.0
    rest = ~(none | idle)
    light = rest & (a <= n + 1.0)
    nl, al = n[light], a[light]
    out[light] = np.exp(_log_poisson_pmf(nl, al)) / special.gammaincc(nl + 1.0, al)
    heavy = rest & ~light
    if heavy.any():
        out[heavy] = 1.0 / _inv_b_continued_fraction(n[heavy], a[heavy])
    # B <= 1, but for agents near 0 (B near 1, traffic > agents + 1) the continued fraction's
    # rounding gave up to 6 ulp above 1: a probability must not leave [0, 1].
    return np.minimum(out, 1.0)


def _log_erlang_b_one(a: float, n: float) -> float:
    """log B(n, a) for one value: finite where B itself underflows to 0 (B < 1e-308 for
    thousands of idle agents), so Erlang A can work in logs (-inf only when a = 0 < n)."""
    if n == 0.0:
        return 0.0
    if a == 0.0:
        return -math.inf
    an, nn = np.array([a]), np.array([n])
    if a <= n + 1.0:
        # Q(n + 1, a) >= ~1/2 here: no underflow in the denominator.
        log_b = float(_log_poisson_pmf(nn, an)[0]) - math.log(
            float(special.gammaincc(nn + 1.0, an)[0]))
    else:
        log_b = -math.log(float(_inv_b_continued_fraction(nn, an)[0]))
    return min(log_b, 0.0)


def erlang_b(traffic: Any, agents: Any) -> Any:
    """Blocking probability of M/M/n/n with ``traffic`` Erlangs offered to ``agents`` servers.

    ``agents`` may be non-integer (continuous extension through the incomplete gamma function).
    """
    scalar, (a, n) = _arrays(traffic=traffic, agents=agents)
    _check("traffic", a, low=0.0)
    _check("agents", n, low=0.0)
    return _out(_erlang_b(a, n), scalar)


# --------------------------------------------------------------------------------------------
# Erlang C
# --------------------------------------------------------------------------------------------
def _erlang_c_parts(a: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(C, 1 - C), both computed without cancellation; C = 1 where a >= n."""
    c = np.ones_like(a)
    one_minus = np.zeros_like(a)
    stable = a < n
    ns, as_ = n[stable], a[stable]
    b = _erlang_b(as_, ns)
    denom = ns - as_ * (1.0 - b)  # = (n - a) + a B: a sum of positive terms
    c[stable] = ns * b / denom
    one_minus[stable] = (ns - as_) * (1.0 - b) / denom
    return c, one_minus


def erlang_c(traffic: Any, agents: Any) -> Any:
    """Probability that a contact waits in M/M/n (1.0 when ``traffic >= agents``)."""
    scalar, (a, n) = _arrays(traffic=traffic, agents=agents)
    _check("traffic", a, low=0.0)
    _check("agents", n, low=0.0)
    return _out(_erlang_c_parts(a, n)[0], scalar)


def _erlang_c_measures(a: np.ndarray, n: np.ndarray, aht: np.ndarray,
                       target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(service level within ``target``, ASA) of Erlang C, from one Erlang B evaluation."""
    c, one_minus_c = _erlang_c_parts(a, n)
    stable = a < n
    sl = np.zeros_like(a)
    asa = np.full_like(a, np.inf)
    gap = n[stable] - a[stable]
    # 1 - C e^{-x} written as (1 - C) - C (e^{-x} - 1): no cancellation when C is near 1.
    sl[stable] = one_minus_c[stable] - c[stable] * np.expm1(-gap * target[stable]
                                                            / aht[stable])
    asa[stable] = c[stable] * aht[stable] / gap
    return sl, asa


def _service_level_c(a: np.ndarray, n: np.ndarray, aht: np.ndarray,
                     target: np.ndarray) -> np.ndarray:
    return _erlang_c_measures(a, n, aht, target)[0]


def _asa_c(a: np.ndarray, n: np.ndarray, aht: np.ndarray) -> np.ndarray:
    return _erlang_c_measures(a, n, aht, np.zeros_like(a))[1]


def service_level(*, traffic: Any, agents: Any, aht_s: Any, target_s: Any) -> Any:
    """Erlang C service level: share of contacts answered within ``target_s`` seconds.

    ``1 - C * exp(-(agents - traffic) * target_s / aht_s)``; 0 when ``traffic >= agents``.
    """
    scalar, (a, n, aht, t) = _arrays(traffic=traffic, agents=agents, aht_s=aht_s,
                                     target_s=target_s)
    _check("traffic", a, low=0.0)
    _check("agents", n, low=0.0)
    _check("aht_s", aht, low=0.0, low_open=True)
    _check("target_s", t, low=0.0)
    return _out(_service_level_c(a, n, aht, t), scalar)


def asa_s(*, traffic: Any, agents: Any, aht_s: Any) -> Any:
    """Erlang C average speed of answer in seconds (zero waits included); inf when unstable."""
    scalar, (a, n, aht) = _arrays(traffic=traffic, agents=agents, aht_s=aht_s)
    _check("traffic", a, low=0.0)
    _check("agents", n, low=0.0)
    _check("aht_s", aht, low=0.0, low_open=True)
    return _out(_asa_c(a, n, aht), scalar)


# --------------------------------------------------------------------------------------------
# Erlang A
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ErlangAResult:
    """Steady-state measures of M/M/n+M; floats for scalar inputs, arrays otherwise.

    Attributes (shares are of *offered* contacts unless said otherwise):
        p_wait: probability that a contact finds every agent busy.
        p_abandon: probability that a contact abandons.
        p_abandon_within_target: probability that it abandons within ``target_s``.
        asa_s: mean wait of answered contacts, those answered at once included (seconds).
        mean_wait_s: mean time in queue of all contacts, abandoned ones included (seconds).
        service_level: answered within target / offered.
        service_level_answered: answered within target / answered (offered - abandoned).
        service_level_excl_abandoned_within: answered within target / (offered - abandoned
            within target).
        occupancy: share of agent time busy (answered traffic / agents).
        mean_queue: mean number of contacts waiting.
    """

    p_wait: Any
    p_abandon: Any
    p_abandon_within_target: Any
    asa_s: Any
    mean_wait_s: Any
    service_level: Any
    service_level_answered: Any
    service_level_excl_abandoned_within: Any
    occupancy: Any
    mean_queue: Any


_A_FIELDS = ("p_wait", "p_abandon", "p_abandon_within_target", "asa_s", "mean_wait_s",
             "service_level", "service_level_answered", "service_level_excl_abandoned_within",
             "occupancy", "mean_queue")


def _queue_weights(x: float, y: float) -> np.ndarray:
    """log w_j = log prod_{i<=j} y / (x + i) for j = 0..J, J far enough that the rest is < e^-46.

    w_j is proportional to the probability that a waiting arrival finds j contacts ahead.
    """
    peak = max(0, math.floor(y - x))
    size = peak + 64 + int(8.0 * math.sqrt(y + 1.0))
    while True:
        i = np.arange(1, size + 1, dtype=float)
        logw = np.concatenate(([0.0], np.cumsum(np.log(y / (x + i)))))
        if logw[-1] < logw.max() - 46.0:
            return logw
        size *= 2


def _log_w_step(n0: np.ndarray, d: np.ndarray, y: float) -> np.ndarray:
    """log w_{k+d} - log w_k = sum_{i=k+1..k+d} log(y / (x + i)), with ``n0 = x + k``, real d.

    By Stirling's series in log1p form, as in :func:`_bd0`: no term of size (x + k) log(x + k)
    is formed and cancelled, so the error stays ~1e-16 |d| however large x and y are.
    """
    n1 = n0 + d
    return (-d * np.log(n0 / y) - (n1 + 0.5) * np.log1p(d / n0) + d
            - (_stirlerr(n1) - _stirlerr(n0)))


def _sampled_weights(x: float, y: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(j, multiplicity, log w_j - log_scale, log_scale) on the window of j that holds all but
    e^-50 of the weights, for sums too long to take term by term.

    The weights peak at j = y - x and spread over ~10 sqrt(y) terms either side (or fall from
    j = 0 when x > y).  Beyond ``_MAX_SAMPLES`` terms the window is cut into equal blocks and
    each block is represented by its midpoint (j need not be an integer: every summand is
    smooth in j, on the scale of sqrt(y) > 100 here), so the cost is bounded whatever x and y.
    """
    peak = float(max(0.0, math.floor(y - x)))
    n_peak = np.array([x + peak])

    def drop(d: float) -> float:
        return float(_log_w_step(n_peak, np.array([d]), y)[0])

    d = 1.0
    while drop(d) > -50.0 and d < 1e300:
        d *= 2.0
    j1 = peak + d
    j0 = peak
    if peak > 0.0:
        d = 1.0
        while d < peak and drop(-d) > -50.0:
            d *= 2.0
        j0 = max(0.0, peak - d)
    log_scale = float(_log_w_step(np.array([x]), np.array([peak]), y)[0]) if peak else 0.0
    count = j1 - j0 + 1.0
    h = max(1.0, math.ceil(count / _MAX_SAMPLES))
    size = int(math.ceil(count / h))
    j = j0 + h * np.arange(size, dtype=float) + (h - 1.0) / 2.0
    logw = _log_w_step(np.full(size, x + peak), j - peak, y)
    return j, np.full(size, h), logw, log_scale


def _harmonic(x: float, j: np.ndarray) -> np.ndarray:
    """sum_{i=0..j} 1 / (x + i + 1) for real j >= 0."""
    x = np.float64(x)  # numpy arithmetic: inf on overflow, never OverflowError
    if x < 100.0:
        return special.digamma(x + j + 2.0) - special.digamma(x + 1.0)
    # Midpoint rule with its Euler-Maclaurin correction (next term ~1e-11 / x^3): the digamma
    # difference would cancel for large x.
    return (np.log1p((j + 1.0) / (x + 0.5))
            + (1.0 / (x + j + 1.5) ** 2 - 1.0 / (x + 0.5) ** 2) / 24.0)


def _erlang_a_one(lam: float, aht: float, patience: float, n: float, target: float
                  ) -> tuple[float, ...]:
    mu = 1.0 / aht
    a = lam * aht
    if lam == 0.0:
        return (0.0,) * 10
    if n == 0.0:
        # Nobody answers: every contact waits until it gives up.
        p_ab_t = -math.expm1(-target / patience)
        return (1.0, 1.0, p_ab_t, 0.0, patience, 0.0, 0.0, 0.0, 0.0, lam * patience)
    x, y = n * mu * patience, lam * patience
    if not math.isinf(patience) and max(x, y) > _PATIENT_LIMIT and a >= n:
        # Patience beyond any wait of the queue's time scale (n mu / theta > 1e15): the fluid
        # limit of an overloaded queue.  The excess lambda - n mu abandons, the queue holds
        # (lambda - n mu) / theta and an answered contact waits that queue's n mu share of it.
        p_ab = 1.0 - n / a
        wait = p_ab * patience
        return (1.0, p_ab, 0.0, (a - n) / n * patience, wait, 0.0, 0.0, 0.0, 1.0, lam * wait)
    if math.isinf(patience) or max(x, y) > _PATIENT_LIMIT:
        # (Stable and patience 1e15 times the time scale: abandonment below ~1e-15.)
        if a >= n:
            return (1.0, 0.0, 0.0, math.inf, math.inf, 0.0, 0.0, 0.0, 1.0, math.inf)
        # Erlang C; ASA = C * AHT / (n - a) gives C back without a second Erlang B.
        sl, asa = (float(v[0]) for v in _erlang_c_measures(
            np.array([a]), np.array([n]), np.array([aht]), np.array([target])))
        c = asa * (n - a) / aht
        return (c, 0.0, 0.0, asa, asa, sl, sl, sl, a / n, lam * asa)
    theta = 1.0 / patience
    log_e = _log_erlang_b_one(a, n)
    if max(0.0, math.floor(y - x)) + 64 + 8.0 * math.sqrt(y + 1.0) <= _EXACT_TERMS:
        logw = _queue_weights(x, y)
        j = np.arange(logw.size, dtype=float)
        mult, log_scale = 1.0, 0.0
        harmonic = np.cumsum(1.0 / (x + j + 1.0)) / theta
    else:
        # Thousands of agents or a patience of days: bounded work, same formulas.
        j, mult, logw, log_scale = _sampled_weights(x, y)
        harmonic = _harmonic(x, j) / theta
    top = logw.max()
    w = mult * np.exp(logw - top)
    sum_w = w.sum()
    p = w / sum_w  # distribution of the number ahead, given that the arrival waits
    log_a = log_scale + top + math.log(sum_w)  # A = sum_j w_j = x e^y y^-x gamma(x, y)
    # P(W > 0) = A E / (1 + (A - 1) E) = 1 / (1 + r) with r = (1 - E) / (A E), in logs: A may
    # be huge and E below the smallest float (many idle agents); P(W = 0) = r / (1 + r)
    # directly, not 1 - P(W > 0), which cancels when nearly every contact waits (a fraction
    # of an agent).
    if log_e == -math.inf:
        p_wait, no_wait = 0.0, 1.0
    elif log_e >= 0.0:
        p_wait, no_wait = 1.0, 0.0
    else:
        log_r = math.log(-math.expm1(log_e)) - log_a - log_e
        p_wait, no_wait = float(special.expit(-log_r)), float(special.expit(log_r))
    # Given j ahead, the offered wait V_j is a sum of exponentials of rates theta (x + i),
    # i = 0..j, and U = exp(-theta V_j) ~ Beta(x, j + 1).  The contact is answered iff its
    # patience exceeds V_j, with probability E[U] = x / (x + j + 1); it is answered within
    # the target with E[U; U >= u_T] = x / (x + j + 1) * P(Beta(x + 1, j + 1) >= u_T).
    served = x / (x + j + 1.0)
    lost = (j + 1.0) / (x + j + 1.0)
    one_minus_u_t = -math.expm1(-theta * target)
    u_t = 1.0 - one_minus_u_t
    served_in_t = served * special.betainc(j + 1.0, x + 1.0, one_minus_u_t)
    # E[V_j; answered] = x / (x + j + 1) * sum_{i=0..j} 1 / (theta (x + i + 1)) (harmonic).
    v_served = served * harmonic
    # Still waiting at the target: P(V_j > T) P(patience > T); the rest that did not get
    # answered within T abandoned within T.
    still_waiting = u_t * special.betainc(x, j + 1.0, u_t)
    abandoned_in_t = np.maximum(1.0 - still_waiting - served_in_t, 0.0)

    p_ab = p_wait * float(p @ lost)
    answered = no_wait + p_wait * float(p @ served)  # not 1 - p_ab: see no_wait
    answered_in_t = no_wait + p_wait * float(p @ served_in_t)
    ab_in_t = p_wait * float(p @ abandoned_in_t)
    asa = p_wait * float(p @ v_served) / answered
    mean_wait = p_ab / theta  # abandonment balance: theta E[queue] = lambda P(abandon)
    return (p_wait, p_ab, ab_in_t, asa, mean_wait, answered_in_t, answered_in_t / answered,
            answered_in_t / (1.0 - ab_in_t), a * answered / n, lam * mean_wait)


def _erlang_a(lam: np.ndarray, aht: np.ndarray, patience: np.ndarray, n: np.ndarray,
              target: np.ndarray, *, asa: bool = True) -> list[np.ndarray]:
    out = np.empty((len(_A_FIELDS),) + lam.shape)
    # Extreme inputs (a patience of 1e300 s) overflow intermediate squares to inf harmlessly:
    # no stray RuntimeWarning may reach the user's terminal.
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        _erlang_a_into(out, lam, aht, patience, n, target, asa=asa)
    return list(out)



def _log_erlang_b(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    """:func:`_log_erlang_b_one` over arrays (a > 0, n > 0)."""
    out = np.empty_like(a)
    light = a <= n + 1.0
    nl, al = n[light], a[light]
    out[light] = _log_poisson_pmf(nl, al) - np.log(special.gammaincc(nl + 1.0, al))
    heavy = ~light
    if heavy.any():
        out[heavy] = -np.log(_inv_b_continued_fraction(n[heavy], a[heavy]))
    return np.minimum(out, 0.0)


def _erlang_a_into(out: np.ndarray, lam: np.ndarray, aht: np.ndarray, patience: np.ndarray,
                   n: np.ndarray, target: np.ndarray, *, asa: bool = True) -> None:
    """Every element: the closed form over whole arrays where it applies (nearly always when
    staffing), one by one (:func:`_erlang_a_one`) for the edge cases it leaves."""
    flat = [np.ascontiguousarray(v).reshape(-1) for v in (lam, aht, patience, n, target)]
    lam_f, aht_f, pat_f, n_f, t_f = flat
    res = out.reshape(len(_A_FIELDS), -1)
    x = n_f / aht_f * pat_f
    y = lam_f * pat_f
    regular = ((lam_f > 0.0) & (n_f > 0.0) & np.isfinite(pat_f)
               & (np.maximum(x, y) <= _PATIENT_LIMIT) & (y < _EXACT_TERMS))
    done = np.zeros(lam_f.shape, dtype=bool)
    if regular.any():
        idx = np.flatnonzero(regular)
        values, ok = _erlang_a_closed(lam_f[idx], aht_f[idx], pat_f[idx], n_f[idx], t_f[idx],
                                      asa=asa)
        res[:, idx[ok]] = values[:, ok]
        done[idx[ok]] = True
    for i in np.flatnonzero(~done):
        res[:, i] = _erlang_a_one(float(lam_f[i]), float(aht_f[i]), float(pat_f[i]),
                                  float(n_f[i]), float(t_f[i]))


def _erlang_a_closed(lam: np.ndarray, aht: np.ndarray, patience: np.ndarray, n: np.ndarray,
                     target: np.ndarray, *, asa: bool) -> tuple[np.ndarray, np.ndarray]:
    """Erlang A over arrays, by the regularised lower incomplete gamma function P(s, z).

    Summing the per-``j`` Beta laws of :func:`_erlang_a_one` against the weights
    ``w_j = y^j Gamma(x+1) / Gamma(x+j+1)`` gives closed forms: with ``U = exp(-theta V)``,
    ``sum_j w_j P(U <= u) = x e^y y^-x gamma(x, y u)``, so that, given that a contact waits,

        P(U <= u) = P(x, y u) / P(x, y)
        E[U; U >= u] = (x / y) (P(x+1, y) - P(x+1, y u)) / P(x, y)

    (answered: ``u = 0``; answered within T: ``u = exp(-theta T)``), and ``log A =
    log x + y - x log y + log Gamma(x) + log P(x, y)``.  Only the ASA of answered contacts
    needs the sum over ``j`` (a harmonic number per ``j``); it is taken over padded 2-D arrays,
    skipped when ``asa`` is false (the other measures do not need it).

    Returns the measures and where they hold; elements where ``P(x, y)`` underflows (thousands
    of idle agents) are left to the one-by-one path.
    """
    mu = 1.0 / aht
    a = lam * aht
    theta = 1.0 / patience
    x, y = n * mu * patience, lam * patience
    pxy = special.gammainc(x, y)
    ok = (pxy > 1e-280) & np.isfinite(pxy)
    log_e = _log_erlang_b(a, n)
    log_a = np.log(x) + y - x * np.log(y) + special.gammaln(x) + np.log(pxy)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        log_r = np.log(-np.expm1(log_e)) - log_a - log_e
        p_wait = np.where(log_e >= 0.0, 1.0, special.expit(-log_r))
        no_wait = np.where(log_e >= 0.0, 0.0, special.expit(log_r))
        u_t = np.exp(-theta * target)
        p1y = special.gammainc(x + 1.0, y)
        served = x / y * p1y / pxy
        served_in_t = np.maximum(x / y * (p1y - special.gammainc(x + 1.0, y * u_t)) / pxy, 0.0)
        still_waiting = u_t * special.gammainc(x, y * u_t) / pxy
    lost = 1.0 - served
    abandoned_in_t = np.maximum(1.0 - still_waiting - served_in_t, 0.0)
    p_ab = p_wait * lost
    answered = no_wait + p_wait * served
    answered_in_t = no_wait + p_wait * served_in_t
    ab_in_t = p_wait * abandoned_in_t
    if asa:
        asa_s = p_wait * _served_wait_sum(x, y, theta) / answered
    else:
        asa_s = np.full_like(lam, np.nan)
    mean_wait = p_ab / theta
    values = np.stack([p_wait, p_ab, ab_in_t, asa_s, mean_wait, answered_in_t,
                       answered_in_t / answered, answered_in_t / (1.0 - ab_in_t),
                       a * answered / n, lam * mean_wait])
    checked = values if asa else np.delete(values, _A_FIELDS.index("asa_s"), axis=0)
    return values, ok & np.isfinite(checked).all(axis=0)


def _served_wait_sum(x: np.ndarray, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """sum_j p_j x / (x + j + 1) * H_j / theta: the mean wait of answered contacts times the
    answered share, given that a contact waits (as in :func:`_erlang_a_one`), over arrays.

    The terms are carried, as there, until they fall below e^-46 of the largest; elements are
    taken in groups of similar length so the padding stays small."""
    size = (np.maximum(0.0, np.floor(y - x)) + 64 + np.floor(8.0 * np.sqrt(y + 1.0))
            ).astype(np.int64)
    out = np.empty_like(x)
    order = np.argsort(size, kind="stable")
    start = 0
    while start < order.size:
        # A group: lengths within a factor 2 and at most ~4 million cells.
        first = size[order[start]]
        stop = start
        while stop < order.size and size[order[stop]] <= 2 * first + 64 and \
                (stop - start + 1) * (size[order[stop]] + 1) <= 4_000_000:
            stop += 1
        sel = order[start:stop]
        out[sel] = _served_wait_group(x[sel], y[sel], theta[sel], size[sel])
        start = stop
    return out


def _served_wait_group(x: np.ndarray, y: np.ndarray, theta: np.ndarray, size: np.ndarray
                       ) -> np.ndarray:
    while True:
        width = int(size.max()) + 1
        i = np.arange(1, width, dtype=float)
        logw = np.concatenate((np.zeros((x.size, 1)),
                               np.cumsum(np.log(y[:, None] / (x[:, None] + i)), axis=1)),
                              axis=1)
        j = np.arange(width, dtype=float)
        valid = j[None, :] <= size[:, None]
        logw = np.where(valid, logw, -np.inf)
        top = logw.max(axis=1)
        end = logw[np.arange(x.size), size]
        short = end >= top - 46.0
        if not short.any():
            break
        size = np.where(short, size * 2, size)
    # Sums as running sums read at each row's own length: sequential, so a row gives the same
    # bits whatever the padding of its group (a scalar call equals the vectorised one).
    rows = np.arange(x.size)
    w = np.exp(logw - top[:, None])
    p = w / np.cumsum(w, axis=1)[rows, size][:, None]
    inv = 1.0 / (x[:, None] + j[None, :] + 1.0)
    harmonic = np.cumsum(inv, axis=1) / theta[:, None]
    served = x[:, None] * inv
    return np.cumsum(np.where(valid, p * served * harmonic, 0.0), axis=1)[rows, size]


def erlang_a(*, rate_per_s: Any, aht_s: Any, patience_s: Any, agents: Any,
             target_s: Any = 0.0) -> ErlangAResult:
    """Erlang A (M/M/n+M): ``agents`` agents, exponential patience of mean ``patience_s``.

    The birth-death chain has death rate ``min(k, n) mu + max(k - n, 0) theta`` (Palm; Garnett,
    Mandelbaum & Reiman 2002).  With ``E`` the Erlang B of ``n`` agents, ``x = n mu / theta``,
    ``y = lambda / theta`` and ``A = sum_j y^j / ((x+1)...(x+j))``, a contact waits with
    probability ``A E / (1 + (A - 1) E)`` and, given that it waits, finds ``j`` ahead with
    probability proportional to the j-th term.  Its offered wait ``V`` then satisfies
    ``exp(-theta V) ~ Beta(x, j + 1)``, which gives abandonment, the waits of answered contacts
    and the service levels in closed form per ``j`` (regularised incomplete beta); the sum over
    ``j`` is carried until the terms fall below e^-46 of the largest.

    ``patience_s = inf`` gives Erlang C.  ``agents`` may be non-integer.
    """
    scalar, (lam, aht, pat, n, t) = _arrays(rate_per_s=rate_per_s, aht_s=aht_s,
                                           patience_s=patience_s, agents=agents,
                                           target_s=target_s)
    _check("rate_per_s", lam, low=0.0)
    _check("aht_s", aht, low=0.0, low_open=True)
    _check("patience_s", pat, low=0.0, low_open=True, allow_inf=True)
    _check("agents", n, low=0.0)
    _check("target_s", t, low=0.0)
    values = _erlang_a(lam, aht, pat, n, t)
    return ErlangAResult(**{k: _out(v, scalar) for k, v in zip(_A_FIELDS, values)})


# --------------------------------------------------------------------------------------------
# Agents needed
# --------------------------------------------------------------------------------------------
def _estimate_agents(a: np.ndarray, aht: np.ndarray, target: np.ndarray, sl: np.ndarray
                     ) -> np.ndarray:
    """A close guess (non-integer) of the Erlang C agents giving service level ``sl``:
    1 - SL falls about exponentially in the agents, so log(1 - SL) is interpolated between
    two probes.  (Not for Erlang A, whose answer is often below the traffic.)"""
    root = np.sqrt(a)
    probes = np.concatenate((a + 0.5 * root + 0.5, a + 2.5 * root + 1.0))
    two = lambda v: np.concatenate((v, v))  # noqa: E731
    level = _service_level_c(two(a), probes, two(aht), two(target))
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.log(np.maximum(1.0 - level, 1e-300)) - two(np.log1p(-sl))
        g0, g1 = gap[:a.size], gap[a.size:]
        p0, p1 = probes[:a.size], probes[a.size:]
        guess = p0 + (p1 - p0) * g0 / (g0 - g1)
    return np.where(np.isfinite(guess), np.clip(guess, 0.0, p1 + 4.0 * root + 10.0), p1)


def agents_needed(*, rate_per_s: Any, aht_s: Any, target_s: Any = None,
                  service_level: Any = None, patience_s: Any = None, max_asa_s: Any = None,
                  max_abandon: Any = None, max_occupancy: Any = None) -> Any:
    """Smallest integer number of agents that meets every target given.

    Targets: ``service_level`` within ``target_s`` seconds (answered within target / offered),
    ``max_asa_s``, ``max_abandon`` (share of offered, needs ``patience_s``) and
    ``max_occupancy``.  Erlang A when ``patience_s`` is given, Erlang C otherwise (which also
    requires ``agents > traffic``).  No contacts need no agents.  Returns an int for scalar
    inputs, an int64 array otherwise.

    Every measure is monotone in the number of agents, so the answer is found by a vectorised
    integer bisection between a lower bound (the traffic, or traffic / max_occupancy) and an
    upper bound grown until every target is met.
    """
    if service_level is None and max_asa_s is None and max_abandon is None \
            and max_occupancy is None:
        raise ValueError("give at least one target: service_level (with target_s), "
                         "max_asa_s, max_abandon or max_occupancy")
    if (service_level is None) != (target_s is None):
        raise ValueError("service_level and target_s go together: give both or neither")
    if max_abandon is not None and patience_s is None:
        raise ValueError("max_abandon needs patience_s (abandonment needs Erlang A)")
    args = {"rate_per_s": rate_per_s, "aht_s": aht_s,
            "target_s": 0.0 if target_s is None else target_s,
            "service_level": 0.0 if service_level is None else service_level,
            "patience_s": math.inf if patience_s is None else patience_s,
            "max_asa_s": math.inf if max_asa_s is None else max_asa_s,
            "max_abandon": 1.0 if max_abandon is None else max_abandon,
            "max_occupancy": 1.0 if max_occupancy is None else max_occupancy}
    scalar, (lam, aht, t, sl, pat, asa_max, ab_max, occ_max) = _arrays(**args)
    _check("rate_per_s", lam, low=0.0)
    _check("aht_s", aht, low=0.0, low_open=True)
    _check("target_s", t, low=0.0)
    _check("service_level", sl, low=0.0, high=1.0, high_open=service_level is not None)
    _check("patience_s", pat, low=0.0, low_open=True, allow_inf=True)
    _check("max_asa_s", asa_max, low=0.0, low_open=True, allow_inf=True)
    _check("max_abandon", ab_max, low=0.0, high=1.0, low_open=True)
    _check("max_occupancy", occ_max, low=0.0, high=1.0, low_open=True)
    use_a = patience_s is not None
    with np.errstate(over="ignore"):  # inf traffic is refused below, with a message
        traffic = lam * aht

    def meets(n: np.ndarray, sel: np.ndarray) -> np.ndarray:
        a, nn = traffic[sel], n
        # The cap applies only when given: Erlang A may meet its targets with fewer agents than
        # the offered traffic (contacts abandon), and Erlang C checks nn > a below anyway.
        ok = np.ones(nn.shape, dtype=bool)
        if max_occupancy is not None:
            ok &= nn * occ_max[sel] >= a * (1.0 - _TARGET_SLACK)
        if use_a:
            r = _erlang_a(lam[sel], aht[sel], pat[sel], nn, t[sel], asa=max_asa_s is not None)
            ok &= r[_A_FIELDS.index("service_level")] >= sl[sel] - _TARGET_SLACK
            if max_asa_s is not None:
                ok &= r[_A_FIELDS.index("asa_s")] <= asa_max[sel] * (1.0 + _TARGET_SLACK)
            ok &= r[_A_FIELDS.index("p_abandon")] <= ab_max[sel] + _TARGET_SLACK
        else:
            ok &= nn > a
            sl_c, asa_c = _erlang_c_measures(a, nn, aht[sel], t[sel])
            ok &= sl_c >= sl[sel] - _TARGET_SLACK
            ok &= asa_c <= asa_max[sel] * (1.0 + _TARGET_SLACK)
        return ok

    flat = lambda v: v.reshape(-1)  # noqa: E731
    lam, aht, t, sl, pat, asa_max, ab_max, occ_max, traffic = map(
        flat, (lam, aht, t, sl, pat, asa_max, ab_max, occ_max, traffic))
    result = np.zeros(lam.shape, dtype=np.int64)
    busy = traffic > 0.0
    if busy.any():
        idx = np.flatnonzero(busy)
        a = traffic[idx]
        # Known not enough: below the traffic (Erlang C) or below traffic / max occupancy.
        lo = np.floor(a / occ_max[idx] * (1.0 - _TARGET_SLACK)) - 1.0
        if not use_a:
            lo = np.maximum(lo, np.floor(a) - 1.0)
        elif max_occupancy is None:
            # Erlang A without a cap: the traffic is no lower bound.  Answered traffic
            # a (1 - P(abandon)) <= n and SL <= 1 - P(abandon) give
            # n >= a * max(service_level, 1 - max_abandon).
            need = np.maximum(sl[idx], 1.0 - ab_max[idx])
            lo = np.floor(a * need * (1.0 - _TARGET_SLACK)) - 1.0
        lo = np.maximum(lo, 0.0)
        # Refuse at once what no search can answer (traffic of 1e12 Erlangs, an occupancy cap
        # of 1e-300): the bounds would be searched for minutes, or overflow.
        too_many = ~np.isfinite(lo) | (lo > _MAX_AGENTS)
        if too_many.any():
            first = float(a[np.argmax(too_many)])
            raise ValueError(f"the targets need more than {_MAX_AGENTS:,} agents (offered "
                             f"traffic {first:.4g} Erlangs)")
        hi = np.ceil(a + 3.0 * np.sqrt(a) + 2.0)
        if service_level is not None and not use_a:
            # Narrow the search first: estimate the answer from the service level at two
            # (non-integer) agent counts, then check one agent either side of the estimate,
            # both in one call.  Where the check holds (lo' misses, hi' meets) the bisection
            # has a bracket of 2-3 agents instead of ~3 sqrt(traffic); elsewhere it keeps the
            # bounds it had.  Correct whatever the estimate: it only ever narrows a bracket
            # after checking it.
            guess = _estimate_agents(a, aht[idx], t[idx], sl[idx])
            g_lo = np.clip(np.floor(guess) - 1.0, lo, None)
            g_hi = np.maximum(np.ceil(guess) + 1.0, g_lo + 1.0)
            both = meets(np.concatenate((g_lo, g_hi)), np.concatenate((idx, idx)))
            lo_ok, hi_ok = both[:idx.size], both[idx.size:]
            narrow = ~lo_ok & hi_ok & (g_lo > lo)
            lo = np.where(narrow | (~lo_ok & (g_lo > lo)), g_lo, lo)
            hi = np.where(narrow, g_hi, np.where(lo_ok, g_lo, np.maximum(hi, g_hi)))
        hi = np.maximum(hi, lo + 1.0)
        ok = meets(hi, idx)
        while not ok.all():
            grow = ~ok
            step = hi[grow] - lo[grow]
            lo[grow] = hi[grow]
            hi[grow] = hi[grow] + 2.0 * step
            if np.any(hi > _MAX_AGENTS):
                raise ValueError("the targets cannot be met with any number of agents "
                                 f"up to {_MAX_AGENTS:,}")
            ok[grow] = meets(hi[grow], idx[grow])
        # Invariant: lo does not meet the targets (or is a known lower bound), hi does.
        while True:
            open_ = hi - lo > 1.0
            if not open_.any():
                break
            sel = np.flatnonzero(open_)
            mid = np.floor((lo[sel] + hi[sel]) / 2.0)
            good = meets(mid, idx[sel])
            hi[sel[good]] = mid[good]
            lo[sel[~good]] = mid[~good]
        result[idx] = hi.astype(np.int64)
    if scalar:
        return int(result[0])
    return result.reshape(np.broadcast_shapes(*(np.shape(v) for v in args.values())))
