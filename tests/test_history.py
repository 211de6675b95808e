"""``peakplan history``: contact logs made by peakplan's own simulator from known parameters
are read back into the KPIs the simulator reports, calibrated back to those parameters inside
their confidence intervals, forecast better than the same day last week, and backtested
against their own model with about 5% of intervals outside the 95% band.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from planner import history as H
from planner.cli import _Parser
from planner.history_cli import add_history_parser
from sim import metrics
from sim.engine import run
from sim.errors import InputError
from sim.scenario import load_scenario, scenario_from_dict

START = pd.Timestamp("2026-11-02")  # a Monday
TRUTH = {"sales": {"aht_s": 240.0, "cv": 0.7, "family": "lognormal", "patience_s": 180.0},
         "service": {"aht_s": 300.0, "cv": 1.3, "family": "gamma", "patience_s": 300.0}}
TRANSFER = 0.12


def truth(days: int = 1, *, front: int = 8, back: int = 5, transfers: bool = True) -> dict:
    """Two voice queues, 08:00-20:00, loaded so that about 90% of contacts are answered."""
    prof = np.zeros(48)
    prof[16:40] = 1.0
    prof[20:26] = 1.4
    data = {
        "name": "truth", "start": f"{START:%Y-%m-%d}T00:00", "interval_min": 30,
        "queues": {q: {"aht_s": t["aht_s"], "handle_time": t["family"],
                       "handle_time_cv": t["cv"], "patience_s": t["patience_s"]}
                   for q, t in TRUTH.items()},
        "arrivals": {"sales": np.tile(prof * 40, days).tolist(),
                     "service": np.tile(prof * 25, days).tolist()},
        "agent_groups": {
            "front": {"skills": {"sales": 1, "service": 2},
                      "shifts": [{"start": "07:30", "end": "20:30", "agents": front}]},
            "back": {"skills": {"service": 1},
                     "shifts": [{"start": "07:30", "end": "20:30", "agents": back}]}}}
    if transfers:
        data["transfers"] = [{"from": "sales", "to": "service", "probability": TRANSFER}]
    return data


@pytest.fixture(scope="module")
def four_days():
    """(scenario, records, log) of four simulated days."""
    sc = scenario_from_dict(truth(4))
    rec = run(sc, 4)
    return sc, rec, H.log_from_frame(H.log_from_records(rec, start=START))


def _cli(argv: list[str]) -> int:
    """``peakplan history ...`` as planner.cli.main runs it (InputError -> exit 2)."""
    parser = _Parser(prog="peakplan")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add_history_parser(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except InputError as exc:
        print(f"peakplan: error: {exc}")
        return 2


# --------------------------------------------------------------------------------------------
# Exact small cases
# --------------------------------------------------------------------------------------------
def test_kaplan_meier_by_hand():
    km = H.kaplan_meier(np.array([1.0, 2, 2, 3, 4]), np.array([1, 1, 0, 1, 0], dtype=bool))
    # t=1: 4/5; t=2: 4 at risk (the censored 2 included), 1 event -> x3/4; t=3: 2 at risk.
    assert km["t_s"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert km["survival"].tolist() == pytest.approx([1.0, 0.8, 0.6, 0.3])


def test_patience_mle_and_interval_by_hand():
    fit = H.fit_patience(np.array([10.0, 20, 30, 40]), np.array([1, 0, 1, 0], dtype=bool))
    assert fit.patience_s == 50.0  # 100 s waited by everyone / 2 abandons
    assert fit.naive_patience_s == 20.0
    lo, hi = fit.patience_s_ci95
    assert lo == pytest.approx(200 / stats.chi2.ppf(0.975, 4))
    assert hi == pytest.approx(200 / stats.chi2.ppf(0.025, 4))
    none = H.fit_patience(np.array([5.0, 5.0]), np.array([0, 0], dtype=bool))
    assert math.isinf(none.patience_s) and math.isinf(none.patience_s_ci95[1])


def test_staffing_shifts_reproduce_the_profile():
    agents = np.array([0, 2, 3, 3, 1, 0, 2])
    shifts = H.staffing_shifts(agents, interval_min=30)
    # Level 1: intervals 1-4 and 6; level 2: 1-2 and 6; level 3: 2-3 (runs sorted).
    assert shifts == [{"start": "00:30", "end": "02:00", "agents": 1},
                      {"start": "00:30", "end": "02:30", "agents": 1},
                      {"start": "01:00", "end": "02:00", "agents": 1},
                      {"start": "03:00", "end": "03:30", "agents": 2}]
    on = np.zeros(7)
    for s in shifts:
        a = int(s["start"][:2]) * 2 + int(s["start"][3:]) // 30
        b = int(s["end"][:2]) * 2 + int(s["end"][3:]) // 30
        on[a:b] += s["agents"]
    assert on.tolist() == agents.tolist()


def test_uplift_forms():
    assert H.parse_uplift("5") == pytest.approx(0.05)
    assert H.parse_uplift("5%") == pytest.approx(0.05)
    assert H.parse_uplift("x5") == pytest.approx(4.0)
    with pytest.raises(InputError, match="--uplift"):
        H.parse_uplift("lots")
    with pytest.raises(InputError, match="more than -100%"):
        H.parse_uplift("-100")


def test_overdispersion_poisson_near_one_and_negative_binomial_above():
    rng = np.random.default_rng(3)
    prof = np.concatenate([np.zeros(16), np.full(24, 30.0), np.zeros(8)])
    pois = pd.DataFrame(rng.poisson(np.tile(prof, (40, 1))))
    assert abs(H.overdispersion(pois) - 1.0) < 0.1
    # Negative binomial with mean 30 and variance 30 + 30^2 / 10 = 120: dispersion about 4.
    lam = rng.gamma(10.0, np.tile(prof, (40, 1)) / 10.0)
    nb = pd.DataFrame(rng.poisson(lam))
    assert 3.0 < H.overdispersion(nb) < 5.0


# --------------------------------------------------------------------------------------------
# Reading: bad rows, column maps, files that cannot be read
# --------------------------------------------------------------------------------------------
def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_bad_rows_counted_with_their_line_numbers(tmp_path):
    head = "arrived_at,queue,outcome,wait_s,handle_s\n"
    rows = ["2026-11-02 08:00:00,sales,answered,3,200",        # line 2
            "2026-11-02 08:01:00,sales,abandoned,40,",          # 3
            "not a time,sales,answered,3,200",                  # 4 bad
            "2026-11-02 08:02:00,sales,answered,3,200,extra",   # 5 too many fields
            "2026-11-02 08:03:00,sales,hung up,3,200",          # 6 bad outcome
            "",                                                 # 7 empty
            "2026-11-02 08:04:00,sales,answered,-3,200",        # 8 negative wait
            "2026-11-02 08:05:00,sales,answered,3,",            # 9 no handle time
            "2026-11-02 08:06:00,service,answered,0,100"]       # 10
    path = _write(tmp_path / "log.csv", head + "\n".join(rows) + "\n")
    log = H.read_log(path, block_bytes=120)  # blocks split the file: line numbers still right
    assert log.rows_read == 9
    assert log.rows_rejected == 6
    assert [n for n, _ in log.bad_rows] == [4, 5, 6, 7, 8]
    reasons = dict(log.bad_rows)
    assert "arrived_at" in reasons[4] and reasons[5] == "6 fields (the header has 5)"
    assert "outcome" in reasons[6] and reasons[7] == "empty line" and "wait_s" in reasons[8]
    assert len(log.frame) == 3


def test_unreadable_logs_exit_2(tmp_path, capsys):
    missing = _write(tmp_path / "a.csv", "when,queue\n2026-11-02 08:00,sales\n")
    assert _cli(["history", str(missing)]) == 2
    assert "missing column(s) arrived_at" in capsys.readouterr().out
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage\x00\n\x80\x81")
    assert _cli(["history", str(binary)]) == 2
    assert _cli(["history", str(tmp_path / "none.csv")]) == 2
    assert "file not found" in capsys.readouterr().out
    all_bad = _write(tmp_path / "c.csv", "arrived_at,queue,outcome,wait_s,handle_s\n"
                                         "x,sales,answered,1,1\n")
    assert _cli(["history", str(all_bad)]) == 2
    assert "no answered or abandoned contacts" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        _cli(["history", str(all_bad), "--bogus"])
    assert exc.value.code == 2


def test_column_map_errors_name_file_and_field(tmp_path):
    bad = _write(tmp_path / "m.yaml", "fields: {arrived_at: t, queue: q, wait_s: w}\n"
                                      "colour: blue\n")
    with pytest.raises(InputError, match=r"m\.yaml: colour: unknown key"):
        H.load_column_map(bad)
    bad = _write(tmp_path / "n.yaml", "fields: {arrived_at: t, queue: q, wait_s: w, "
                                      "handle_s: {column: h, unit: hours}}\n")
    with pytest.raises(InputError, match=r"fields\.handle_s\.unit: unit must be"):
        H.load_column_map(bad)
    with pytest.raises(InputError, match="one of bank"):
        H.load_column_map("nosuchmap")


def test_bank_format_reads_to_the_same_kpis_as_the_generic_format(tmp_path):
    sc = scenario_from_dict(truth(1, transfers=False))
    generic = H.log_from_records(run(sc, 11), start=START, whole_seconds=True)
    generic = generic.drop(columns=["transferred_to", "group"])
    generic.to_csv(tmp_path / "generic.csv", index=False)
    bank = H.to_bank_format(generic, seed=2, menu_hangups=37, phantoms=11)
    bank.to_csv(tmp_path / "bank.tsv", sep="\t", index=False)
    assert (tmp_path / "bank.tsv").read_text().splitlines()[1].count("\t") == 16
    a = H.read_log(tmp_path / "generic.csv")
    b = H.read_log(tmp_path / "bank.tsv", columns=H.load_column_map("bank"))
    assert b.rows_read == len(generic) + 48 and b.rows_rejected == 0
    assert sum(b.not_offered.values()) == 37 and sum(b.phantom.values()) == 11
    ka = H.interval_kpis(a, interval_min=30)
    kb = H.interval_kpis(b, interval_min=30)
    pd.testing.assert_frame_equal(ka, kb)
    pd.testing.assert_frame_equal(H.agent_intervals(a, interval_min=30),
                                  H.agent_intervals(b, interval_min=30))
    # Answered at once (AGENT with q_time 0) are offered and answered with no wait.
    assert ((b.frame["wait_s"] == 0) & (b.frame["outcome"] == 1)).any()


# --------------------------------------------------------------------------------------------
# KPIs and calibration against the simulator's own records
# --------------------------------------------------------------------------------------------
def test_kpis_are_the_simulators_own(four_days):
    sc, rec, log = four_days
    mine = H.interval_kpis(log, interval_min=30)
    theirs = metrics.queue_intervals(rec, within_s=[20.0, 20.0], short_abandon_s=5.0)
    theirs = theirs[theirs["offered"] > 0].copy()
    theirs["interval_start"] = sc.interval_starts[theirs["interval"].to_numpy()]
    both = theirs.merge(mine, on=["interval_start", "queue"], suffixes=("_sim", ""))
    assert len(both) == len(theirs)
    for c in ["offered", "answered", "abandoned", "short_abandoned", "answered_within",
              "abandoned_within", "transfers_out", "transfers_in", "service_level",
              "service_level_answered", "service_level_excl_abandoned_within",
              "abandon_rate", "asa_s", "aht_s"]:
        np.testing.assert_allclose(both[c], both[f"{c}_sim"], rtol=1e-9, atol=1e-6,
                                   err_msg=c)
    assert set(H.interval_kpis(log, interval_min=30).columns) >= {
        c for c in metrics.QUEUE_COLUMNS if c not in ("interval", "left_waiting",
                                                      "mean_queue", "max_queue")}


def test_calibration_recovers_the_truth_and_the_naive_estimate_is_biased(four_days):
    _, _, log = four_days
    answered = float((log.frame["outcome"] == 1).mean())
    assert 0.85 < answered < 0.95  # heavy censoring: about 90% of waits are censored
    cal = H.calibrate(log, interval_min=30)
    for q, t in TRUTH.items():
        c = cal[q]
        assert c.handle.family == t["family"]
        assert c.handle.mean_s_ci95[0] < t["aht_s"] < c.handle.mean_s_ci95[1], q
        assert c.handle.cv_ci95[0] < t["cv"] < c.handle.cv_ci95[1], q
        assert c.handle.ks < 0.05
        lo, hi = c.patience.patience_s_ci95
        assert lo < t["patience_s"] < hi, (q, lo, hi)
        # The naive mean of abandoned waits is far below the truth, outside the interval.
        assert c.patience.naive_patience_s < 0.5 * lo
        assert c.patience.abandons > 100
    tr = H.transfer_shares(log).set_index(["from_queue", "to_queue"])
    row = tr.loc[("sales", "service")]
    assert row["share_lo"] < TRANSFER < row["share_hi"]
    assert len(tr) == 1


# --------------------------------------------------------------------------------------------
# Forecast
# --------------------------------------------------------------------------------------------
def _seasonal_log(weeks: int = 12, seed: int = 5) -> H.ContactLog:
    """Poisson counts per 30 min with a weekly and an intraday pattern (no simulator)."""
    rng = np.random.default_rng(seed)
    week = np.array([1.0, 0.95, 0.9, 0.95, 1.15, 0.7, 0.55])
    hours = np.arange(48) / 2
    prof = np.exp(-((hours - 11) / 2.5) ** 2) + 0.8 * np.exp(-((hours - 20) / 2) ** 2)
    prof[hours < 7] = 0
    rows = []
    for d in range(weeks * 7):
        counts = rng.poisson(week[d % 7] * prof * 25)
        starts = np.repeat(np.arange(48) * 1800.0, counts) + rng.random(counts.sum()) * 1800
        rows.append(START + pd.Timedelta(days=d) + pd.to_timedelta(np.sort(starts), unit="s"))
    at = pd.DatetimeIndex(np.concatenate(rows))
    frame = pd.DataFrame({"arrived_at": at, "queue": "chat", "outcome": "answered",
                          "wait_s": 0.0, "handle_s": 300.0})
    return H.log_from_frame(frame)


def test_forecast_beats_same_day_last_week_on_seasonal_data():
    log = _seasonal_log()
    counts = H.daily_counts(log, interval_min=30)
    err = H.forecast_errors(counts, weeks=4)
    assert err.compared_days >= 70
    # Poisson noise alone: same day last week has error variance 2 lambda, the mean of four
    # weeks 1.25 lambda (ratio of MAEs about 0.79 once four weeks are there).
    assert err.mae < 0.9 * err.mae_same_day_last_week
    day = log.days[-1] + pd.Timedelta(days=1)
    fc = H.forecast_day(counts, day=day, interval_min=30, uplift=0.1)
    assert [d.weekday() for d in fc.matching_days] == [day.weekday()] * 4
    f = fc.frame
    assert (f["low"] <= f["contacts"]).all() and (f["contacts"] <= f["high"]).all()
    assert fc.factors["low"] < 1.0 < fc.factors["high"]
    plain = H.forecast_day(counts, day=day, interval_min=30)
    assert f["contacts"].sum() == pytest.approx(1.1 * plain.frame["contacts"].sum())
    expected = 1.0 * 25 * ((np.exp(-((np.arange(48) / 2 - 11) / 2.5) ** 2) + 0.8 * np.exp(
        -((np.arange(48) / 2 - 20) / 2) ** 2)) * (np.arange(48) / 2 >= 7)).sum()
    assert plain.frame["contacts"].sum() == pytest.approx(expected, rel=0.05)


# --------------------------------------------------------------------------------------------
# Backtest
# --------------------------------------------------------------------------------------------
def _binomial_upper(n: int, p: float = 0.05, level: float = 0.999) -> float:
    return float(stats.binom.ppf(level, n, p)) / n


@pytest.mark.slow
def test_backtest_against_its_own_simulator(four_days, tmp_path):
    sc, _, log = four_days
    cal = H.calibrate(log, interval_min=30)
    tr = H.transfer_shares(log)
    (tmp_path / "truth.yaml").write_text(yaml.safe_dump(truth(1)))
    roster = load_scenario(tmp_path / "truth.yaml")
    results = [H.backtest(log, cal, tr, day=START + pd.Timedelta(days=d), interval_min=30,
                          target_s=20.0, reps=39, seed=7, roster=roster) for d in (1, 3)]
    compared = sum(b.compared for b in results)
    outside = sum(b.outside_share * b.compared for b in results) / compared
    assert results[0].band_coverage == pytest.approx(0.95)
    assert compared > 250
    # Actual values of a day of the same model fall outside the 95% band in about 5% of
    # intervals: at most the binomial's 99.9% quantile.
    assert outside <= _binomial_upper(compared)
    assert all(b.mae["service_level"] < 0.2 for b in results)
    # With the staffing from the log (agents on duty between first answer and last end).
    from_log = H.backtest(log, cal, tr, day=START + pd.Timedelta(days=2), interval_min=30,
                          target_s=20.0, reps=39, seed=7)
    assert from_log.staffing_from == "agents on duty in the log"
    assert from_log.outside_share <= _binomial_upper(from_log.compared)
    # The band has power: a roster with a third fewer agents is caught.
    (tmp_path / "short.yaml").write_text(yaml.safe_dump(truth(1, front=5, back=3)))
    wrong = H.backtest(log, cal, tr, day=START + pd.Timedelta(days=1), interval_min=30,
                       target_s=20.0, reps=39, seed=7,
                       roster=load_scenario(tmp_path / "short.yaml"))
    assert wrong.outside_share > 2 * _binomial_upper(wrong.compared)


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------
def test_command_writes_every_output_and_json(four_days, tmp_path, capsys):
    sc, rec, _ = four_days
    frame = H.log_from_records(rec, start=START)
    frame.to_csv(tmp_path / "log.csv", index=False)
    (tmp_path / "truth.yaml").write_text(yaml.safe_dump(truth(1)))
    out = tmp_path / "out"
    code = _cli(["history", str(tmp_path / "log.csv"), "--out", str(out), "--json",
                 "--interval-min", "30", "--forecast-for", "2026-11-09", "--uplift", "10",
                 "--backtest", "2026-11-03", "--reps", "5", "--jobs", "1",
                 "--roster", str(tmp_path / "truth.yaml")])
    assert code == 0
    s = json.loads(capsys.readouterr().out)
    assert {"rows_read", "rows_rejected", "days", "queues", "backtest"} <= set(s)
    assert s["rows_read"] == len(frame) and s["rows_rejected"] == 0 and s["days"] == 4
    for q in TRUTH:
        r = s["queues"][q]
        assert {"offered", "answered", "abandoned", "service_level", "asa_s", "aht_s",
                "handle_time", "patience_s", "patience_s_ci95", "naive_patience_s",
                "transfer_share"} <= set(r)
        assert {"family", "cv"} <= set(r["handle_time"])
        assert r["naive_patience_s"] < r["patience_s_ci95"][0]
    assert {"mae_service_level", "mae_abandon_rate", "outside_band_share"} <= set(
        s["backtest"])
    names = {p.name for p in out.iterdir()}
    assert {"kpi_intervals.csv", "kpi_days.csv", "kpi_period.csv", "agent_intervals.csv",
            "calibration.csv", "patience_km.csv", "transfers.csv", "forecast.csv",
            "forecast_band.csv", "forecast_errors.csv", "cases.txt", "scenario.yaml",
            "backtest.csv", "backtest_scenario.yaml", "summary.json", "report.html"} <= names
    skeleton = load_scenario(out / "scenario.yaml")  # with its forecast.csv
    assert skeleton.spec.queues["sales"].handle_time == "lognormal"
    assert set(skeleton.spec.agent_groups) == {"front", "back"}  # from --roster
    # Forecast of Monday 11-09 from the one Monday in the log, external arrivals only, +10%.
    monday = H.daily_counts(H.read_log(tmp_path / "log.csv"), interval_min=30)
    expected = sum(c.loc[START].sum() for c in monday.values())
    assert skeleton.contacts.sum() == pytest.approx(1.1 * expected, rel=1e-3)
    report = (out / "report.html").read_text()
    assert "<svg" in report and "<script" not in report and "Backtest of 2026-11-03" in report
    cases = (out / "cases.txt").read_text().strip()
    from planner.review import parse_cases
    assert [c.name for c in parse_cases(cases)] == ["low", "base", "high"]
    # Never into the folder of an input.
    assert _cli(["history", str(tmp_path / "log.csv"), "--out", str(tmp_path)]) == 2


def test_command_skeleton_from_the_log_alone(tmp_path, capsys):
    sc = scenario_from_dict(truth(2))
    H.log_from_records(run(sc, 2), start=START).drop(columns=["agent", "group"]).to_csv(
        tmp_path / "log.csv", index=False)
    out = tmp_path / "out"
    assert _cli(["history", str(tmp_path / "log.csv"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "sales" in text and "patience" in text
    skeleton = load_scenario(out / "scenario.yaml")
    assert list(skeleton.spec.agent_groups) == ["agents"]  # no agents in the log: to fill in
    assert skeleton.spec.start == pd.Timestamp("2026-11-04")
    # A backtest needs the staffing: without agents in the log, --roster is asked for.
    assert _cli(["history", str(tmp_path / "log.csv"), "--backtest", "2026-11-03"]) == 2
    assert "--roster" in capsys.readouterr().out


def test_a_custom_column_map_reads_other_names_and_formats(tmp_path):
    _write(tmp_path / "export.csv",
           "Start;Skill;Result;Queue min;Talk;Agent Name\n"
           "02/11/2026 08:00:05;presales;ANS;0.5;0:03:20;li\n"
           "02/11/2026 08:10:00;presales;ABN;1.25;;\n"
           "02/11/2026 08:20:00; aftersales ;ANS;0;200;wang\n")
    _write(tmp_path / "map.yaml",
           "separator: ';'\n"
           "fields:\n"
           "  arrived_at: {column: Start, format: '%d/%m/%Y %H:%M:%S'}\n"
           "  queue: Skill\n"
           "  wait_s: {column: Queue min, unit: min}\n"
           "  handle_s: Talk\n"
           "  agent: Agent Name\n"
           "outcome: {column: Result, values: {ANS: answered, ABN: abandoned}}\n")
    log = H.read_log(tmp_path / "export.csv", columns=H.load_column_map(tmp_path / "map.yaml"))
    assert log.rows_rejected == 0
    f = log.frame
    assert f["arrived_at"].tolist() == [pd.Timestamp("2026-11-02 08:00:05"),
                                        pd.Timestamp("2026-11-02 08:10:00"),
                                        pd.Timestamp("2026-11-02 08:20:00")]
    assert f["queue"].tolist() == ["presales", "presales", "aftersales"]
    assert f["wait_s"].tolist() == [30.0, 75.0, 0.0]
    assert f["handle_s"].tolist()[0] == 200.0 and math.isnan(f["handle_s"].tolist()[1])
    assert [None if pd.isna(a) else a for a in f["agent"]] == ["li", None, "wang"]
    assert f["ended_at"].tolist()[0] == pd.Timestamp("2026-11-02 08:03:55")


def test_the_readme_example_runs_through_the_command(tmp_path, capsys):
    """Four rows (one a transfer): every output is made, the skeleton loads."""
    _write(tmp_path / "calls.csv",
           "arrived_at,queue,outcome,wait_s,handle_s,wrap_s,agent,group,transferred_to\n"
           "2026-10-14 08:00:41,presales,answered,0,312,30,A017,gold,\n"
           "2026-10-14 08:01:05,presales,abandoned,48,,,,,\n"
           "2026-10-14 08:01:30,aftersales,answered,17,604,45,A003,core,complaints\n"
           "2026-10-14 08:12:36,complaints,answered,22,840,60,A021,leads,\n")
    out = tmp_path / "out"
    assert _cli(["history", str(tmp_path / "calls.csv"), "--out", str(out), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["rows_read"] == 4 and s["queues"]["aftersales"]["transfer_share"] == 1.0
    assert s["queues"]["aftersales"]["aht_s"] == 649.0  # handle + wrap-up
    assert s["queues"]["presales"]["patience_s"] == 48.0  # 48 s waited, one abandon
    assert s["queues"]["complaints"]["patience_s"] is None  # nobody left
    sc = load_scenario(out / "scenario.yaml")
    assert sc.spec.queues["aftersales"].aht_s == 604.0
    assert sc.spec.queues["aftersales"].wrap_up_s == 45.0
    assert [(t.from_, t.to, t.probability) for t in sc.spec.transfers] == [
        ("aftersales", "complaints", 1.0)]


def test_the_app_scenario_page_starts_from_a_calibrated_skeleton(four_days, tmp_path, capsys):
    """issue 14: `peakplan history` writes scenario.yaml + forecast.csv; the Scenario page opens
    them as an upload (the scenario with its forecast uploaded beside it) and runs them."""
    from streamlit.testing.v1 import AppTest

    sc, rec, log = four_days
    H.log_from_records(rec, start=START).to_csv(tmp_path / "log.csv", index=False)
    out = tmp_path / "out"
    assert _cli(["history", str(tmp_path / "log.csv"), "--out", str(out)]) == 0
    capsys.readouterr()
    root = Path(__file__).resolve().parents[1]
    at = AppTest.from_file(str(root / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/scenario.py").run()
    at.selectbox(key="keep.scn.choice").set_value("upload").run()
    at.file_uploader(key="scn.upload").set_value(
        ("scenario.yaml", (out / "scenario.yaml").read_bytes(), "text/yaml")).run()
    at.file_uploader(key="scn.upload_forecast").set_value(
        ("forecast.csv", (out / "forecast.csv").read_bytes(), "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    skeleton = load_scenario(out / "scenario.yaml")
    assert skeleton.spec.name in at.markdown[0].value
    at.number_input(key="keep.scn.reps").set_value(2)
    at.button(key="scn.run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
