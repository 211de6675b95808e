"""Volume uncertainty (``arrivals.uncertainty``): the draw, its effect on offered counts, the
percentile cases of the review, and what is refused.

Theory used: with a multiplier ``M ~ Gamma(k = 1/c^2, scale 1/k)`` and ``N | M ~ Poisson(mu M)``,
``N`` is negative binomial with ``r = k``: mean ``mu``, variance ``s2 = mu + c^2 mu^2`` and excess
kurtosis ``6 / r + 1 / s2``.  The sample variance ``S2`` of ``R`` independent counts has
``Var(S2) = s2^2 (2 / (R - 1) + kurtosis / R)`` (any distribution with a fourth moment), the
band the variance test allows (4 standard errors).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import stats

import legacy_engine.engine as legacy_engine
from planner.cli import main
from planner.review import build_review, parse_cases, resolve_cases
from sim import scenario as scenario_module
from sim.arrivals import arrival_times
from sim.engine import run
from sim.errors import InputError
from sim.records import Records
from sim.replications import rep_seed, simulate
from sim.scenario import check_run_size, scenario_from_dict
from sim.streams import stream
from sim.uncertainty import multiplier_ppf, volume_multipliers

MU = {"a": 200.0, "b": 50.0}


def two_queues(uncertainty: dict[str, Any] | None = None, *, mu: dict[str, float] = MU,
               agents: int = 10, intervals: int = 1) -> dict[str, Any]:
    """Two voice queues of one hour each (mean contacts ``mu``), one team taking both."""
    arrivals: dict[str, Any] = {q: [m / intervals] * intervals for q, m in mu.items()}
    if uncertainty is not None:
        arrivals["uncertainty"] = uncertainty
    return {"name": "uncertain", "start": "2026-11-11T00:00", "interval_min": 60,
            "queues": {q: {"aht_s": 60, "patience_s": 300,
                           "target": {"service_level": 0.8, "within_s": 20}} for q in mu},
            "arrivals": arrivals,
            "agent_groups": {"team": {"skills": {q: 1 for q in mu}, "shifts": [
                {"start": "00:00", "end": "24:00", "agents": agents}]}}}


def offered(records: Records, queue: int) -> int:
    return int(np.count_nonzero((records.queue == queue) & ~records.transfer_in))


# --------------------------------------------------------------------------------------------
# Offered counts: Poisson noise plus forecast error
# --------------------------------------------------------------------------------------------
def test_offered_variance_is_mean_plus_cv2_mean2():
    cv, reps = 0.2, 1500
    sc = scenario_from_dict(two_queues({"cv": cv, "correlation": 0.5}))
    counts = np.array([[offered(r, 0), offered(r, 1)] for r in
                       (run(sc, rep_seed(11, i), drain_s=0.0) for i in range(reps))])
    for j, q in enumerate(sc.queues):
        mu = MU[q]
        s2 = mu + cv * cv * mu * mu
        kurtosis = 6 * cv * cv + 1 / s2
        se_var = s2 * np.sqrt(2 / (reps - 1) + kurtosis / reps)
        mean, var = counts[:, j].mean(), counts[:, j].var(ddof=1)
        assert abs(mean - mu) < 4 * np.sqrt(s2 / reps), q
        assert abs(var - s2) < 4 * se_var, (q, var, s2, se_var)
        # Poisson noise alone (variance mu) is far outside that band: the test can tell.
        assert abs(var - mu) > 8 * se_var, q


def test_engine_arrivals_are_poisson_of_the_scaled_forecast_from_the_same_stream():
    sc = scenario_from_dict(two_queues({"cv": 0.3}, intervals=3))
    seed = 5
    m = volume_multipliers(sc, seed)
    records = run(sc, seed)
    for i, q in enumerate(sc.queues):
        expected = arrival_times(stream(seed, q, "arrivals"), sc.contacts[i] * m[i],
                                 interval_s=sc.interval_s)
        got = np.sort(records.arrival_s[(records.queue == i) & ~records.transfer_in])
        np.testing.assert_array_equal(got, expected)
    assert not np.allclose(m, 1.0)


def test_simulate_confidence_intervals_include_forecast_risk():
    # Half-width ratio with and without uncertainty: sqrt(1 + c^2 mu) = 3 for queue a; with
    # 40 replications a ratio of sample deviations below half of that has odds under 1e-4.
    base = two_queues()
    plain = simulate(scenario_from_dict(base), seed=3, reps=40).queue_summary()
    risky = simulate(scenario_from_dict(two_queues({"cv": 0.2})), seed=3,
                     reps=40).queue_summary()
    ci = {name: s.set_index("queue").loc["a", "offered_ci95"]
          for name, s in (("plain", plain), ("risky", risky))}
    assert ci["risky"] > 1.5 * ci["plain"]


# --------------------------------------------------------------------------------------------
# The draw: marginal, correlation, streams
# --------------------------------------------------------------------------------------------
def _pearson_se(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Sample correlation and its large-sample standard error by the delta method (Kendall &
    Stuart), from the sample's own central moments (no normality assumed)."""
    dx, dy = x - x.mean(), y - y.mean()

    def m(i: int, j: int) -> float:
        return float(np.mean(dx ** i * dy ** j))

    r = m(1, 1) / np.sqrt(m(2, 0) * m(0, 2))
    v = r * r / 4 * (m(4, 0) / m(2, 0) ** 2 + m(0, 4) / m(0, 2) ** 2
                     + 2 * m(2, 2) / (m(2, 0) * m(0, 2)) + 4 * m(2, 2) / m(1, 1) ** 2
                     - 4 * m(3, 1) / (m(1, 1) * m(2, 0)) - 4 * m(1, 3) / (m(1, 1) * m(0, 2)))
    return r, float(np.sqrt(v / x.size))


def _copula_pearson(cv: float, rho: float) -> float:
    """Pearson correlation of two unit-mean gammas joined by a Gaussian copula, by Gauss-Hermite
    quadrature with scipy.stats (independent of sim.uncertainty's special functions)."""
    x, w = np.polynomial.hermite_e.hermegauss(100)
    w = w / w.sum()
    g = stats.gamma(a=1 / cv ** 2, scale=cv ** 2)
    z1 = np.broadcast_to(x[:, None], (x.size, x.size))
    z2 = rho * x[:, None] + np.sqrt(1 - rho ** 2) * x[None, :]

    def m(z: np.ndarray) -> np.ndarray:  # the upper half by the upper tail: cdf(9) rounds to 1
        return np.where(z < 0, g.ppf(stats.norm.cdf(z)), g.isf(stats.norm.sf(z)))

    cov = np.sum(w[:, None] * w[None, :] * (m(z1) - 1) * (m(z2) - 1))
    return float(cov / cv ** 2)


def draws(uncertainty: dict[str, Any], n: int, *, mu: dict[str, float] = MU) -> np.ndarray:
    spec = scenario_from_dict(two_queues(uncertainty, mu=mu)).spec
    return np.array([volume_multipliers(spec, s) for s in range(n)])


def test_multipliers_are_gamma_with_mean_1_and_the_cv():
    cv, n = 0.5, 4000
    m = draws({"cv": cv, "correlation": 0.3}, n)
    g = stats.gamma(a=1 / cv ** 2, scale=cv ** 2)
    for j in range(2):
        assert abs(m[:, j].mean() - 1) < 4 * cv / np.sqrt(n)
        assert stats.kstest(m[:, j], g.cdf).pvalue > 1e-3


def test_correlation_is_the_gaussian_copulas():
    cv, rho, n = 0.5, 0.8, 4000
    m = draws({"cv": cv, "correlation": rho}, n)
    r, se = _pearson_se(m[:, 0], m[:, 1])
    implied = _copula_pearson(cv, rho)
    assert 0.78 < implied < 0.8  # a skewed marginal lowers Pearson's correlation a little
    assert abs(r - implied) < 4 * se, (r, implied, se)
    # The normal scores are exactly bivariate normal with correlation rho.
    g = stats.gamma(a=1 / cv ** 2, scale=cv ** 2)
    z = stats.norm.ppf(g.cdf(m))
    assert abs(np.corrcoef(z.T)[0, 1] - rho) < 4 * (1 - rho ** 2) / np.sqrt(n)
    # Independent queues without a correlation.
    m0 = draws({"cv": cv}, n)
    assert abs(np.corrcoef(m0.T)[0, 1]) < 4 / np.sqrt(n)


def test_correlation_1_is_one_common_multiplier():
    m = draws({"cv": 0.15, "correlation": 1}, 50)
    np.testing.assert_array_equal(m[:, 0], m[:, 1])
    assert m[:, 0].std() > 0.05


def test_multipliers_are_keyed_by_queue_name_not_position():
    two = draws({"cv": 0.2, "correlation": 0.6}, 20)
    three = draws({"cv": 0.2, "correlation": 0.6}, 20, mu={"c": 10.0, **MU})
    np.testing.assert_array_equal(two, three[:, 1:])


def test_no_uncertainty_draws_nothing_and_records_are_as_before():
    data = two_queues(intervals=4)
    data["transfers"] = [{"from": "a", "to": "b", "probability": 0.2}]
    sc = scenario_from_dict(data)
    assert np.array_equal(volume_multipliers(sc, 3), np.ones(2))
    for seed in (0, 7):
        new, old = run(sc, seed), legacy_engine.run(sc, seed)
        for f in dataclasses.fields(Records):
            a, b = getattr(new, f.name), getattr(old, f.name)
            if isinstance(b, np.ndarray):
                assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), \
                    f.name
            else:
                assert a == b, f.name
    # The comparison sees a difference when there is one.
    risky = scenario_from_dict({**data, "arrivals": {**data["arrivals"],
                                                      "uncertainty": {"cv": 0.1}}})
    assert not np.array_equal(run(risky, 0).arrival_s, legacy_engine.run(risky, 0).arrival_s)


# --------------------------------------------------------------------------------------------
# Scenario files: validation, writing back, run sizes
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("uncertainty, field, message", [
    ({"cv": 0}, "arrivals.uncertainty.cv", "must be above 0 and at most 1.*got 0"),
    ({"cv": 1.5}, "arrivals.uncertainty.cv", "at most 1.*got 1.5"),
    ({"cv": True}, "arrivals.uncertainty.cv", "got true"),
    ({"cv": float("inf")}, "arrivals.uncertainty.cv", "finite"),
    ({"cv": 0.1, "correlation": 1.2}, "arrivals.uncertainty.correlation", "from 0 to 1.*1.2"),
    ({"cv": 0.1, "correlation": -0.5}, "arrivals.uncertainty.correlation", "from 0 to 1"),
    ({"cv": 0.1, "correlation": False}, "arrivals.uncertainty.correlation", "got false"),
    ({"correlation": 0.5}, "arrivals.uncertainty.cv", "required key is missing"),
    ({"cv": 0.1, "corr": 0.5}, "arrivals.uncertainty.corr", "unknown key"),
    (0.1, "arrivals.uncertainty", r"expected a mapping such as \{cv: 0.1"),
    (True, "arrivals.uncertainty", "expected a mapping.*got true"),
    ([1.0, 2.0], "arrivals.uncertainty", "not a queue's list: a queue cannot be named"),
])
def test_bad_uncertainty_is_refused_with_its_key_path(uncertainty, field, message):
    with pytest.raises(InputError, match=message) as exc:
        scenario_from_dict(two_queues(uncertainty), source="s.yaml")
    assert exc.value.field == field and exc.value.file == "s.yaml"


def test_a_queue_named_uncertainty_is_refused():
    data = two_queues(mu={"a": 10.0, "uncertainty": 10.0})
    data["arrivals"] = {"file": "forecast.csv"}  # refused before the file is looked for
    with pytest.raises(InputError, match="a queue cannot be named 'uncertainty'") as exc:
        scenario_from_dict(data, source="s.yaml")
    assert exc.value.field == "queues.uncertainty"


def test_uncertainty_survives_to_dict_and_with_changes():
    sc = scenario_from_dict(two_queues({"cv": 0.2, "correlation": 0.4}))
    again = scenario_from_dict(sc.to_dict())
    assert again.spec.arrivals.uncertainty == sc.spec.arrivals.uncertainty
    assert sc.to_dict()["arrivals"]["uncertainty"] == {"cv": 0.2, "correlation": 0.4}
    changed = sc.with_changes({"agent_groups.team.shifts[0].agents": 4})
    assert changed.spec.arrivals.uncertainty == sc.spec.arrivals.uncertainty
    swept = sc.with_changes({"arrivals.uncertainty.cv": 0.05})
    assert swept.spec.arrivals.uncertainty.cv == 0.05
    assert "uncertainty" not in scenario_from_dict(two_queues()).to_dict()["arrivals"]


def test_run_size_allows_for_the_multipliers_upper_tail(monkeypatch):
    plain = scenario_from_dict(two_queues())
    risky = scenario_from_dict(two_queues({"cv": 0.3}))
    per_rep = sum(MU.values())
    tail = multiplier_ppf(0.3, 0.999, reps=10)
    assert tail == pytest.approx(stats.gamma(a=10 / 0.09, scale=0.009).ppf(0.999))
    limit = per_rep * 10 * (1 + tail) / 2  # above the forecast, below its tail
    monkeypatch.setattr(scenario_module, "LIMITS",
                        dataclasses.replace(scenario_module.LIMITS, run_contacts=limit))
    check_run_size(plain, reps=10)
    with pytest.raises(InputError, match=r"x1\.\d\d for the volume uncertainty's 99.9th "
                                         "percentile x 10 replications"):
        check_run_size(risky, reps=10)
    one = multiplier_ppf(0.3, 0.999)
    monkeypatch.setattr(scenario_module, "LIMITS", dataclasses.replace(
        scenario_module.LIMITS, contacts_per_rep=per_rep * (1 + one) / 2))
    with pytest.raises(InputError, match="in a replication at the volume uncertainty's") as exc:
        check_run_size(risky, reps=1)
    assert exc.value.field == "arrivals.uncertainty"


# --------------------------------------------------------------------------------------------
# Review cases by percentiles
# --------------------------------------------------------------------------------------------
def test_parse_percentile_cases():
    cases = parse_cases("p10, p50 ,P90,high=1.3")
    assert [(c.name, c.percentile) for c in cases] == [("p10", 10), ("p50", 50), ("p90", 90),
                                                       ("high", None)]
    assert [c.text for c in cases] == ["p10", "p50", "p90", "high=1.3"]


@pytest.mark.parametrize("text, message", [
    ("p0", "p1 to p99"), ("p100", "p1 to p99"), ("p10=0.9", "names a percentile case"),
    ("p5,p05", "case names must differ"), ("q10", "or a percentile of the volume uncertainty"),
])
def test_bad_percentile_cases(text, message):
    with pytest.raises(InputError, match=message) as exc:
        parse_cases(text)
    assert exc.value.field == "--cases"


def test_percentile_factors_are_the_gammas_quantiles():
    cv = 0.15
    sc = scenario_from_dict(two_queues({"cv": cv}))
    p10, p50, p90, base = resolve_cases(parse_cases("p10,p50,p90,base=1"), sc)
    g = stats.gamma(a=1 / cv ** 2, scale=cv ** 2)
    assert p50.factor == pytest.approx(g.median(), rel=1e-12)
    assert p10.factor == pytest.approx(g.ppf(0.1), rel=1e-12)
    assert p10.factor < p50.factor < 1 < p90.factor
    assert p50.factor == pytest.approx(1 - cv ** 2 / 3, abs=1e-3)  # a gamma's median
    assert base.factor == 1.0
    with pytest.raises(InputError, match="'p10' is a percentile of the volume uncertainty.*"
                                         "add arrivals.uncertainty") as exc:
        resolve_cases(parse_cases("low=0.9,p10"), scenario_from_dict(two_queues()))
    assert exc.value.field == "--cases"


def test_percentile_cases_switch_the_draw_off_and_others_keep_it():
    sc = scenario_from_dict(two_queues({"cv": 0.2}, agents=12))
    review = build_review(sc, cases=parse_cases("p90,base=1.0"), reps=20, seed=2,
                          fix_case=None)
    p90, base = review.case("p90"), review.case("base")
    assert p90.scenario.spec.arrivals.uncertainty is None
    np.testing.assert_allclose(p90.scenario.contacts, sc.contacts * p90.case.factor)
    assert base.scenario.spec.arrivals.uncertainty == sc.spec.arrivals.uncertainty
    # Base replications vary by forecast error: the deviation of offered over the horizon is
    # sqrt(mu + c^2 mu^2) = 42 for queue a, against sqrt(1.26 mu) = 16 of the Poisson noise
    # left in the percentile case; with 20 replications each, a sample ratio below 1 has odds
    # of about 1e-4.
    spread = {name: r.simulation.queue_reps.set_index("queue").loc["a", "offered"].std()
              for name, r in (("p90", p90), ("base", base))}
    assert spread["base"] > spread["p90"]


def test_cli_review_percentile_cases(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    # One queue: the report's charts are most of the time.
    path.write_text(yaml.safe_dump(two_queues({"cv": 0.1}, mu={"a": 200.0}, agents=12)))
    out = tmp_path / "review"
    # No --fix-case: without a base case the gap closed would be p50's, the nearest x1.
    assert main(["review", str(path), "--cases", "p10,p50,p90", "--reps", "2", "--jobs", "1",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for name in ("p10", "p50", "p90"):
        assert f"{name} (volume x" in text
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "--cases p10,p50,p90 " in report
    assert "gamma, cv 0.1, independent across queues" in report


def test_cli_review_percentile_without_uncertainty_exits_2(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(two_queues()))
    out = tmp_path / "review"
    assert main(["review", str(path), "--cases", "low=0.8,p90", "--reps", "1", "--jobs", "1",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--cases" in err and "arrivals.uncertainty" in err and "Traceback" not in err
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# The simulate summary says what is in force
# --------------------------------------------------------------------------------------------
def test_cli_simulate_states_the_uncertainty(tmp_path, capsys):
    risky, plain = tmp_path / "risky.yaml", tmp_path / "plain.yaml"
    risky.write_text(yaml.safe_dump(two_queues({"cv": 0.2, "correlation": 0.5})))
    plain.write_text(yaml.safe_dump(two_queues()))
    assert main(["simulate", str(risky), "--reps", "3", "--jobs", "1"]) == 0
    text = capsys.readouterr().out
    assert "Volume uncertainty (arrivals.uncertainty: gamma, cv 0.2, correlation 0.5 across " \
           "queues)" in text and "include forecast risk" in text
    m = np.array([volume_multipliers(scenario_from_dict(two_queues({"cv": 0.2,
                                                                    "correlation": 0.5})),
                                     rep_seed(1, r)) for r in range(3)])
    assert f"a x{m[:, 0].min():.2f} to x{m[:, 0].max():.2f}" in text
    assert main(["simulate", str(risky), "--json", "--jobs", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["volume_uncertainty"] == {"cv": 0.2,
                                                                        "correlation": 0.5}
    assert main(["simulate", str(plain), "--json", "--jobs", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["volume_uncertainty"] is None
    assert main(["simulate", str(plain), "--jobs", "1"]) == 0
    assert "Volume uncertainty" not in capsys.readouterr().out
