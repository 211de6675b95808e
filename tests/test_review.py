"""The capacity review: verdicts name the right intervals, the report's numbers are the
simulation's and the Erlang table's, the report opens in a browser without errors."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from browser import browser_page, chromium_missing, open_page
from planner.cli import main
from sim.errors import InputError
from planner.review import Case, build_review, parse_cases, render_html, verdict_lines
from sim.scenario import scenario_from_dict

# Six hourly intervals of a single phone queue: 60 calls an hour, AHT 180 s = 3 Erlangs.
CALM = [60.0] * 6
# The same with a spike in intervals 2 and 3 (02:00-04:00): 240 calls an hour, 12 Erlangs.
SPIKE = [60.0, 60.0, 240.0, 240.0, 60.0, 60.0]


def phone_scenario(volume: list[float], agents: int) -> object:
    return scenario_from_dict({
        "name": "phone test", "start": "2026-11-11T00:00", "interval_min": 60,
        "queues": {"calls": {"aht_s": 180, "patience_s": 120,
                             "target": {"service_level": 0.8, "within_s": 20}}},
        "arrivals": {"calls": volume},
        "agent_groups": {"phone": {"skills": {"calls": 1},
                                   "shifts": [{"start": "00:00", "end": "24:00",
                                               "agents": agents}]}},
    }, source="phone-test.yaml")


class _Tables(HTMLParser):
    """Every <table class=...> of a page as a list of rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._name: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._name = dict(attrs).get("class") or f"table{len(self.tables)}"
            self.tables[self._name] = []
        elif tag == "tr" and self._name is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._name is not None:
            self.tables[self._name].append(self._row)
            self._row = None
        elif tag == "table":
            self._name = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables_of(page: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


@pytest.fixture(scope="module")
def short_review():
    """Enough agents for the calm hours (6 for 3 Erlangs), far too few for the spike."""
    return build_review(phone_scenario(SPIKE, 6), cases=[Case("base", 1.0)], reps=8, seed=3,
                        min_contacts=5)


def test_a_roster_that_is_clearly_enough_gets_a_clean_verdict():
    review = build_review(phone_scenario(CALM, 12), cases=parse_cases("base=1.0,high=1.2"),
                          reps=5, seed=2)
    assert all(r.clean for r in review.cases)
    assert review.fix is None
    lines = verdict_lines(review)
    assert all("every interval meets its target" in line for line in lines)
    assert "Nothing to close" in render_html(review)


def test_a_short_roster_names_the_right_intervals(short_review):
    base = short_review.cases[0]
    assert not base.clean
    missed = sorted(base.misses["interval"].tolist())
    assert missed == [2, 3]  # the spike, and only the spike
    worst = base.worst
    assert int(worst["interval"]) in (2, 3)
    # Erlang A: 12 Erlangs need about 13 agents for 80% in 20 s; 6 are on the floor.
    assert worst["short"] == pytest.approx(worst["required"] - 6, abs=0.5)
    assert worst["short"] >= 5
    text = "\n".join(verdict_lines(short_review))
    assert "calls 02:00-03:00" in text
    assert re.search(r"worst: 0[23]:00 calls \(SL \d+% < 80%\)", text)


def test_the_fix_books_shifts_over_the_spike_and_reaches_target(short_review):
    fix = short_review.fix
    assert fix is not None and fix.closed
    # Booked by the plan (default rules: the queue's group, 4-9 h shifts on the half hour):
    # shifts of the phone group that are on the floor during the spike (02:00-04:00).
    assert set(fix.shifts["group"]) == {"phone"}
    assert fix.status in ("optimal", "time_limit")
    for _, r in fix.shifts.iterrows():
        start = int(r["start"][:2]) * 60 + int(r["start"][3:])
        end = int(r["end"][:2]) * 60 + int(r["end"][3:])
        assert start <= 3 * 60 and (end > 2 * 60 or end <= start)
    # At least the Erlang shortage of the worst spike hour is booked, and the cost is the
    # booked hours at the default cost of 1 an hour.
    base = short_review.cases[0].intervals.set_index("interval")
    assert fix.shifts["agents"].sum() >= math.ceil(max(base.loc[i, "short"] for i in (2, 3)))
    assert fix.cost == pytest.approx(fix.shifts["cost"].sum())
    assert fix.agent_hours == pytest.approx(fix.shifts["hours"].sum())
    after = fix.result.intervals
    judged = after[after["offered"] >= 5]
    assert (judged["service_level"] >= judged["target"]).all()
    text = "\n".join(verdict_lines(short_review))
    assert f"book {int(fix.shifts['agents'].sum())} agents" in text


def test_report_numbers_come_from_the_simulation_and_erlang(short_review):
    page = render_html(short_review)
    tables = tables_of(page)
    base = short_review.cases[0]
    # Verdict row.
    verdict = tables["verdict"]
    header, row = verdict[0], verdict[1]
    cell = dict(zip(header, row))
    assert cell["misses (interval x queue)"] == str(len(base.misses))
    ab, ab_ci = base.abandoned
    assert cell["abandoned (mean ±95% CI)"] == f"{ab:,.0f} ±{ab_ci:,.0f}"
    assert cell["agents short at worst (Erlang)"] == f"{base.worst['short']:,.0f}"
    # Summary per queue: the simulation's queue summary.
    summary = tables["summary summary-base"]
    head = summary[0]
    calls = dict(zip(head, next(r for r in summary[1:] if r[0] == "calls")))
    sim = base.simulation.queue_summary().set_index("queue").loc["calls"]
    assert calls["service_level"] == f"{100 * sim['service_level']:.1f}%"
    assert calls["asa_s"] == f"{sim['asa_s']:.1f} s"
    assert calls["offered"] == f"{sim['offered']:,.0f}"
    # Required agents per interval: the Erlang staffing table.
    staffing = tables["staffing"]
    col = staffing[0].index("required base")
    erlang_agents = base.erlang["agents"].to_numpy()
    assert [float(r[col]) for r in staffing[1:]] == pytest.approx(erlang_agents)
    # The shifts to book: the fix's table.
    extra = tables["extra"]
    col = extra[0].index("agents")
    added = sum(int(r[col].replace(",", "")) for r in extra[1:])
    assert added == int(short_review.fix.shifts["agents"].sum())
    # Peak intervals: the forecast.
    peaks = tables["peaks"]
    busiest = sorted((r[0], r[1]) for r in peaks[1:] if r[1] == "240")
    assert busiest == [("2026-11-11 02:00", "240"), ("2026-11-11 03:00", "240")]


def test_report_is_self_contained(short_review):
    page = render_html(short_review)
    assert "<svg" in page
    # No network needed: no external scripts, stylesheets or images.
    assert not re.search(r"""(src|href)=["']https?://""", page)
    assert "<script" not in page


def test_parse_cases_rejects_bad_input():
    assert parse_cases("low=0.8,base=1,high=1.3") == [Case("low", 0.8), Case("base", 1.0),
                                                       Case("high", 1.3)]
    for bad in ("low", "low=x", "a=1,a=2", "low=0", "=1"):
        with pytest.raises(InputError, match="--cases"):
            parse_cases(bad)


def test_cli_review_writes_the_report_and_prints_the_verdict(tmp_path, capsys):
    import yaml

    scenario = tmp_path / "spike.yaml"
    scenario.write_text(yaml.safe_dump({
        "name": "phone test", "start": "2026-11-11T00:00", "interval_min": 60,
        "queues": {"calls": {"aht_s": 180, "patience_s": 120}},
        "arrivals": {"calls": SPIKE},
        "agent_groups": {"phone": {"skills": {"calls": 1}, "shifts": [
            {"start": "00:00", "end": "24:00", "agents": 6}]}}}))
    out = tmp_path / "review"
    code = main(["review", str(scenario), "--cases", "base=1.0", "--reps", "4", "--out",
                 str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "base (volume x1)" in captured.out and "calls 02:00-03:00" in captured.out
    assert "Report:" in captured.out
    assert (out / "report.html").exists() and (out / "base_intervals.csv").exists()
    intervals = pd.read_csv(out / "base_intervals.csv")
    assert np.isclose(intervals["offered"].sum(), intervals["offered"].sum())
    # Never over an existing, non-empty folder without --force.
    assert main(["review", str(scenario), "--reps", "2", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err


@pytest.mark.parametrize("args, expected", [
    (["--cases", "low"], "--cases"),
    (["--reps", "0"], "--reps"),
    (["--fix-case", "peak"], "--fix-case"),
])
def test_cli_review_bad_flags_exit_2(tmp_path, capsys, args, expected):
    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "normal_day.yaml"
    assert main(["review", str(scenario), "--out", str(tmp_path / "r"), *args]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err



@pytest.mark.skipif(chromium_missing() is not None, reason=f"LOUD: {chromium_missing()}")
def test_report_opens_in_chromium_without_console_errors(short_review, tmp_path):
    report = tmp_path / "report.html"
    report.write_text(render_html(short_review), encoding="utf-8")
    shot = tmp_path / "report.png"
    # Errors include any request that leaves the file: the report must need no network.
    errors = open_page(report, shot, wait_for="svg")
    assert errors == []
    assert shot.stat().st_size > 10_000
    with browser_page() as (page, page_errors):
        page.goto(report.as_uri())
        assert page.title().startswith("Capacity review")
        assert page.locator("svg").count() >= 5
        assert page.get_by_text("What closes the gap").count() == 1
        assert page_errors == []

def test_every_target_is_judged_not_only_the_service_level():
    sc = scenario_from_dict({
        "start": "2026-11-11T00:00", "interval_min": 60,
        "queues": {"calls": {"aht_s": 180, "patience_s": 600,
                             "target": {"service_level": None, "max_asa_s": 5}}},
        "arrivals": {"calls": [120.0] * 3},
        "agent_groups": {"phone": {"skills": {"calls": 1}, "shifts": [
            {"start": "00:00", "end": "24:00", "agents": 7}]}}})
    review = build_review(sc, cases=[Case("base", 1.0)], reps=4, seed=1, fix_case=None)
    base = review.cases[0]
    assert not base.clean  # 6 Erlangs on 7 agents: ASA far above 5 s
    assert "ASA" in "\n".join(verdict_lines(review))


def test_warm_up_intervals_are_not_judged():
    sc = phone_scenario(SPIKE, 6)
    warm = scenario_from_dict({**sc.to_dict(), "warmup_min": 180}, source="warm.yaml")
    review = build_review(warm, cases=[Case("base", 1.0)], reps=4, seed=3, fix_case=None)
    assert sorted(review.cases[0].misses["interval"].tolist()) == [3]  # 02:00 is warm-up


def test_names_with_dollar_signs_do_not_break_the_charts():
    sc = scenario_from_dict({
        "start": "2026-11-11T00:00", "interval_min": 60,
        "queues": {"$\\nosuch$": {"aht_s": 180, "patience_s": 60}},
        "arrivals": {"$\\nosuch$": [60.0, 60.0]},
        "agent_groups": {"g": {"skills": {"$\\nosuch$": 1}, "shifts": [
            {"start": "00:00", "end": "24:00", "agents": 1}]}}})
    review = build_review(sc, cases=[Case("base", 1.0)], reps=2, seed=1, fix_case=None)
    assert "nosuch" in render_html(review)


def test_cli_review_out_under_a_file_and_bad_case_numbers_exit_2(tmp_path, capsys):
    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "normal_day.yaml"
    blocker = tmp_path / "file"
    blocker.write_text("mine")
    assert main(["review", str(scenario), "--out", str(blocker / "x")]) == 2
    assert "--out" in capsys.readouterr().err
    for cases in ("base=1.2.3", "base=1e300", "fix=1"):
        assert main(["review", str(scenario), "--cases", cases, "--out",
                     str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert "--cases" in err and "Traceback" not in err
    assert blocker.read_text() == "mine"
