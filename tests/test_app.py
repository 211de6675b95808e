"""The Streamlit app, headless (streamlit.testing.v1.AppTest): every page loads; the calculator
agrees with planner.erlang; edits change the simulation; bad uploads show the command line's
message; Compare shows the paired difference; Sweeps reads a sweep folder.  As a shared
server: the Sweeps page opens nothing outside the workspace, an upload is refused over the size
limit and read with a time limit, and a run beyond the command line's limits is refused before
it starts."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import select
import sys
import time
import tomllib
from contextlib import redirect_stderr
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from planner.cli import main as cli
from sim.errors import InputError
from planner.erlang import agents_needed
from sim.forecast import read_forecast
from planner.staffing import read_targets, staffing_table
from planner.sweep import Axis, run_sweep
from sim.replications import simulate
from sim.scenario import load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # app_pages is a folder of the repo, not an installed package
    sys.path.insert(0, str(ROOT))

from app_pages import bounded, edits, inputs, roster, runs, workspace  # noqa: E402
from sim.yaml_edit import DELETE  # noqa: E402
from sim.replications import paired_difference  # noqa: E402

APP = str(ROOT / "app.py")
PAGES = {"calculator": "app_pages/calculator.py", "scenario": "app_pages/scenario.py",
         "compare": "app_pages/compare.py", "review": "app_pages/review.py",
         "sweeps": "app_pages/sweeps.py"}
BEFORE_RUN_CHARTS = 2   # need against roster, and per queue (in an expander)
AFTER_RUN_CHARTS = 5    # + service level per queue, queue length, occupancy


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _own_workspace(tmp_path_factory, monkeypatch) -> None:
    """Every test's app has a workspace of its own (the Scenario page writes drafts there),
    never the repository's runs/; tests that need one to look into take ``ws``."""
    monkeypatch.setenv("PEAKPLAN_WORKSPACE", str(tmp_path_factory.mktemp("workspace")))


def open_page(name: str, *, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if name != "calculator":
        at.switch_page(PAGES[name]).run()
    return at


def numbers(column: pd.Series) -> np.ndarray:
    """A shown column as numbers: "+1.3 pp", "85.0%", "1,234.5", "12.0 s" -> floats, the
    dash of an empty cell -> NaN (a column with empty cells is shown as text)."""
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=float)
    text = column.astype(str).str.replace(r"(pp|%|s|,|\u00b1|\+)", "", regex=True).str.strip()
    return pd.to_numeric(text.replace("\u2013", np.nan)).to_numpy(dtype=float)


def shown_table(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table on the page that has all these columns."""
    for d in at.dataframe:
        if all(c in d.value.columns for c in columns):
            return d.value
    raise AssertionError(f"no table with columns {columns}")


def open_one_interval() -> AppTest:
    """The calculator in its one-interval mode (it opens on Singles' Day's forecast)."""
    at = open_page("calculator")
    at.radio(key="keep.calc.mode").set_value("One interval").run()
    return at


def assert_clean(at: AppTest) -> None:
    """No exception and no error on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label.startswith(label)]
    assert found, f"no metric {label!r} among {[m.label for m in at.metric]}"
    return found[0]


def cli_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """What `peakplan ARGS` prints for bad input (run in tmp_path), without its prefix."""
    monkeypatch.chdir(tmp_path)
    err = io.StringIO()
    with redirect_stderr(err):
        assert cli(list(args)) == 2
    line = err.getvalue().strip()
    assert line.startswith("peakplan: error: ")
    return line.removeprefix("peakplan: error: ")


def small_scenario(**changes: object) -> dict:
    """Two queues, two groups, twelve hourly intervals, arrivals inline: simulates in a blink."""
    data = {
        "name": "small", "start": "2026-11-11T08:00", "interval_min": 60,
        "queues": {"chat": {"channel": "chat", "aht_s": 300, "patience_s": 120,
                            "target": {"service_level": 0.8, "within_s": 30}},
                   "phone": {"aht_s": 240, "patience_s": 180,
                             "target": {"service_level": 0.8, "within_s": 20}}},
        "arrivals": {"chat": [60.0] * 12, "phone": [30.0] * 12},
        "agent_groups": {
            "chat_team": {"skills": {"chat": 1}, "chat_concurrency": 3,
                          "shifts": [{"start": "08:00", "end": "20:00", "agents": 3}]},
            "phone_team": {"skills": {"phone": 1, "chat": 2},
                           "shifts": [{"start": "08:00", "end": "20:00", "agents": 3}]}},
    }
    data.update(changes)
    return data


def editor_key(at: AppTest, table: str) -> str:
    state = at.session_state["scn.edits"]
    return f"scn.{table}.{state['token']}.{state['version']}"


def edit_cells(at: AppTest, table: str, rows: dict[int, dict[str, object]]) -> AppTest:
    """Edit cells of a data editor on the Scenario page, as a user would, and rerun."""
    at.session_state[editor_key(at, table)] = {"edited_rows": rows, "added_rows": [],
                                               "deleted_rows": []}
    return at.run()


def shift_row(scenario_path: Path, group: str, shift: int) -> int:
    """The row of the shifts table holding shift ``shift`` (from 0) of ``group``."""
    table = edits.tables_of(load_scenario(scenario_path)).shifts
    return int(np.flatnonzero(table["group"] == group)[shift])


def add_rows(at: AppTest, table: str, rows: list[dict[str, object]], *,
             edited: dict[int, dict[str, object]] | None = None,
             deleted: list[int] | None = None) -> AppTest:
    """Add (and edit, delete) rows of a data editor on the Scenario page, and rerun."""
    at.session_state[editor_key(at, table)] = {"edited_rows": edited or {},
                                               "added_rows": rows,
                                               "deleted_rows": deleted or []}
    return at.run()


# --------------------------------------------------------------------------------------------
# Every page
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_loads_without_exception_or_error(page):
    at = open_page(page)
    assert_clean(at)
    assert at.title[0].value


# --------------------------------------------------------------------------------------------
# Staffing calculator
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("contacts, aht_s, within_s, sl_pct, patience_s", [
    (100.0, 180.0, 20.0, 80, 0.0),      # the README's known answer: 14 agents
    (250.0, 300.0, 30.0, 70, 120.0),    # Erlang A: customers abandon
])
def test_calculator_gives_the_agents_of_planner_erlang(contacts, aht_s, within_s, sl_pct,
                                                       patience_s):
    at = open_one_interval()
    for key, value in (("contacts", contacts), ("aht_s", aht_s), ("within_s", within_s),
                       ("patience_s", patience_s), ("shrinkage_pct", 30.0)):
        at.number_input(key=f"keep.calc.{key}").set_value(value)
    at.slider(key="keep.calc.sl_pct").set_value(sl_pct)
    at.run()
    assert_clean(at)
    expected = agents_needed(rate_per_s=contacts / 1800, aht_s=aht_s, target_s=within_s,
                             service_level=sl_pct / 100,
                             patience_s=patience_s if patience_s else None)
    assert metric(at, "Agents on the floor") == f"{expected} agents"
    scheduled = int(np.ceil(expected / 0.7 - 1e-9))
    assert metric(at, "Scheduled") == f"{scheduled} agents"
    if not patience_s:
        assert expected == 14 and metric(at, "Service level") == "88.8%"


def test_calculator_staffs_a_forecast_like_peakplan_staff():
    at = open_page("calculator")
    at.radio(key="keep.calc.mode").set_value("A forecast (CSV)").run()
    at.radio(key="keep.calc.targets_source").set_value("Shipped targets file").run()
    at.selectbox(key="keep.calc.forecast").set_value("normal_day_forecast.csv")
    at.selectbox(key="keep.calc.targets").set_value("normal_day_targets.yaml").run()
    assert_clean(at)
    shown = at.dataframe[0].value
    expected = staffing_table(read_forecast(ROOT / "scenarios/normal_day_forecast.csv"),
                              read_targets(ROOT / "scenarios/normal_day_targets.yaml"))
    assert len(shown) == len(expected) == 48 * 4
    assert shown["agents"].tolist() == expected["agents"].tolist()
    assert shown["scheduled"].tolist() == expected["scheduled"].tolist()
    # Shown in percent: 0.85 -> "85.0%", a dash where there is no value.
    assert np.allclose(numbers(shown["service_level"]), 100 * expected["service_level"],
                       equal_nan=True, atol=0.051)
    assert len(at.get("vega_lite_chart")) == 1
    assert at.download_button[0].label.startswith("Download")


def test_calculator_bad_forecast_upload_shows_the_cli_message(tmp_path, monkeypatch):
    bad = b"start,queue,contacts\n2026-11-11T00:00,presales,10\n"
    (tmp_path / "bad.csv").write_bytes(bad)
    expected = cli_message(tmp_path, monkeypatch, "staff", "--forecast", "bad.csv",
                           "--aht-s", "180")
    at = open_page("calculator")
    at.radio(key="keep.calc.mode").set_value("A forecast (CSV)").run()
    at.radio(key="keep.calc.forecast_source").set_value("Upload a CSV").run()
    at.file_uploader(key="calc.forecast_upload").set_value(("bad.csv", bad, "text/csv")).run()
    assert not at.exception
    assert [e.value for e in at.error] == [expected]
    assert expected.startswith("bad.csv: missing column(s) interval_start")


def test_calculator_max_abandon_needs_a_patience():
    at = open_one_interval()
    at.number_input(key="keep.calc.max_abandon_pct").set_value(5.0).run()
    assert not at.exception
    assert "needs a mean patience" in at.error[0].value


# --------------------------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------------------------
def test_url_chooses_the_scenario_and_follows_the_choice():
    at = open_page("scenario", query={"scenario": "normal_day"})
    assert_clean(at)
    assert at.selectbox(key="keep.scn.choice").value == "normal_day"
    assert "Normal day" in at.markdown[0].value
    at.selectbox(key="keep.scn.choice").set_value("singles_day").run()
    assert_clean(at)
    assert at.query_params["scenario"] == "singles_day"


def test_an_unknown_scenario_in_the_url_is_named():
    at = open_page("scenario", query={"scenario": "black_friday"})
    assert not at.exception
    assert "black_friday" in at.warning[0].value
    assert at.selectbox(key="keep.scn.choice").value == "singles_day"


def run_scenario(at: AppTest, *, reps: int = 2) -> AppTest:
    at.number_input(key="keep.scn.reps").set_value(reps)
    at.button(key="scn.run").click().run()
    assert_clean(at)
    return at


def test_simulation_shows_charts_and_the_same_figures_as_simulate():
    at = run_scenario(open_page("scenario", query={"scenario": "normal_day"}))
    assert len(at.get("vega_lite_chart")) == AFTER_RUN_CHARTS
    sim = simulate(load_scenario(ROOT / "scenarios/normal_day.yaml"), seed=1, reps=2)
    total = sim.queue_summary().set_index("queue").loc["all"]
    assert metric(at, "Service level") == f"{100 * total['service_level']:.1f}%"
    assert metric(at, "ASA") == f"{total['asa_s']:.1f} s"
    labels = [b.label for b in at.download_button]
    assert any("results (CSV)" in x for x in labels) and any("YAML" in x for x in labels)


def test_editing_a_headcount_changes_the_simulated_result():
    path = ROOT / "scenarios/normal_day.yaml"
    at = run_scenario(open_page("scenario", query={"scenario": "normal_day"}))
    before = metric(at, "Service level")
    row = shift_row(path, "gold", 1)
    edit_cells(at, "shifts", {row: {"agents": 3}})
    assert_clean(at)
    assert at.session_state["scn.edited"]["changes"] == 1
    # The last run is still shown until Run is pressed again, with a note saying so.
    assert any("changed since this run" in i.value for i in at.info)
    at.button(key="scn.run").click().run()
    assert_clean(at)
    after = metric(at, "Service level")
    assert after != before
    edited = load_scenario(path).with_changes({"agent_groups.gold.shifts[1].agents": 3})
    total = simulate(edited, seed=1, reps=2).queue_summary().set_index("queue").loc["all"]
    assert after == f"{100 * total['service_level']:.1f}%"
    # The edited scenario (what "Download" saves) is the same scenario, arrivals inline.
    text = at.session_state["scn.edited"]["text"]
    again = scenario_from_dict(yaml.safe_load(text))
    assert again.spec.agent_groups["gold"].shifts[1].agents == 3
    assert np.allclose(again.contacts, edited.contacts)


def test_edits_survive_a_visit_to_another_page():
    path = ROOT / "scenarios/normal_day.yaml"
    at = open_page("scenario", query={"scenario": "normal_day"})
    at.number_input(key="keep.scn.scale").set_value(1.2)
    edit_cells(at, "shifts", {shift_row(path, "voice", 1): {"agents": 9}})
    at.switch_page(PAGES["calculator"]).run()
    at.switch_page(PAGES["scenario"]).run()
    assert_clean(at)
    assert at.selectbox(key="keep.scn.choice").value == "normal_day"
    assert at.number_input(key="keep.scn.scale").value == pytest.approx(1.2)
    assert at.session_state["scn.edited"]["changes"] == 2
    shifts = at.data_editor(key=editor_key(at, "shifts")).value
    assert shifts.iloc[shift_row(path, "voice", 1)]["agents"] == 9


def test_a_rejected_edit_shows_the_key_path():
    at = open_page("scenario", query={"scenario": "normal_day"})
    edit_cells(at, "shifts", {0: {"start": "25:00"}})
    assert not at.exception
    message = at.error[0].value
    assert message.startswith("scenarios/normal_day.yaml: agent_groups.intern.shifts[0].start")
    assert "HH:MM" in message


@pytest.mark.parametrize("content", [
    b"name: x\nqueues: [unclosed\n",                             # not YAML
    yaml.safe_dump(small_scenario(queus={})).encode(),           # a misspelt key
    yaml.safe_dump(small_scenario(interval_min=-5)).encode(),    # a wrong value
], ids=["not-yaml", "misspelt-key", "wrong-value"])
def test_a_bad_scenario_upload_shows_the_cli_message(tmp_path, monkeypatch, content):
    (tmp_path / "bad.yaml").write_bytes(content)
    expected = cli_message(tmp_path, monkeypatch, "simulate", "bad.yaml")
    at = open_page("scenario")
    at.selectbox(key="keep.scn.choice").set_value("upload").run()
    at.file_uploader(key="scn.upload").set_value(("bad.yaml", content, "text/yaml")).run()
    assert not at.exception
    assert [e.value for e in at.error] == [expected]
    assert expected.startswith("bad.yaml: ")


def test_an_upload_whose_forecast_is_a_relative_file_needs_that_file():
    scenario = (ROOT / "scenarios/normal_day.yaml").read_bytes()
    forecast = (ROOT / "scenarios/normal_day_forecast.csv").read_bytes()
    at = open_page("scenario")
    at.selectbox(key="keep.scn.choice").set_value("upload").run()
    at.file_uploader(key="scn.upload").set_value(("normal_day.yaml", scenario, "text/yaml"))
    at.run()
    assert not at.exception
    message = at.error[0].value
    assert message.startswith("normal_day.yaml: arrivals.file: the forecast "
                              "'normal_day_forecast.csv'")
    assert "uploaded with the scenario" in message and "inline" in message
    # Uploaded alongside, it is found (whatever its name), and nothing names a temp folder.
    at.file_uploader(key="scn.upload_forecast").set_value(("fc.csv", forecast, "text/csv"))
    at.run()
    assert_clean(at)
    assert "Normal day" in at.markdown[0].value
    run_scenario(at)


def test_an_upload_with_inline_arrivals_runs():
    content = yaml.safe_dump(small_scenario()).encode()
    at = open_page("scenario")
    at.selectbox(key="keep.scn.choice").set_value("upload").run()
    at.file_uploader(key="scn.upload").set_value(("small.yaml", content, "text/yaml")).run()
    assert_clean(at)
    run_scenario(at)
    assert "scenario" not in at.query_params


def test_upload_errors_name_the_file_not_the_temporary_folder():
    bad = inputs.Upload("bad.csv", b"interval_start,queue,contacts\n2026-11-11T00:00,a,-1\n")
    with pytest.raises(InputError) as info:
        inputs.read_uploaded_forecast(bad)
    assert str(info.value) == "bad.csv: contacts: line 2: '-1' is not a non-negative number"
    missing = inputs.Upload("s.yaml", yaml.safe_dump(small_scenario(arrivals={
        "file": "/nonexistent/fc.csv"})).encode())
    with pytest.raises(InputError) as info:
        inputs.read_uploaded_scenario(missing)
    assert "peakplan-upload" not in str(info.value)
    assert str(info.value).startswith("s.yaml: arrivals.file: forecast file not found")


def test_edited_tables_become_key_path_changes():
    base = load_scenario(ROOT / "scenarios/normal_day.yaml")
    t = edits.tables_of(base)
    assert edits.changes_between(base, edits.edited_scenario(base, t)) == {}
    groups = t.groups.copy()
    groups.loc[groups["group"] == "intern", "presales"] = ""        # intern loses pre-sales
    groups.loc[groups["group"] == "gold", "chat_concurrency"] = 5
    groups.loc[groups["group"] == "gold", edits.SLOWDOWN_PCT] = 20.0  # percent, as shown
    queues = t.queues.copy()
    queues.loc[queues["queue"] == "aftersales", "aht_s"] = 700.0
    changed = edits.Tables(groups=groups, shifts=t.shifts, queues=queues, scale=1.3)
    edited = edits.edited_scenario(base, changed)
    changes = edits.changes_between(base, edited)
    assert changes == {"arrivals.scale": 1.3,
                       "agent_groups.intern.skills.presales": DELETE,
                       # the speed of a skill taken away goes with it
                       "agent_groups.intern.speed.presales": DELETE,
                       "agent_groups.gold.chat_concurrency": 5,
                       "agent_groups.gold.chat_slowdown": 0.2,
                       "queues.aftersales.aht_s": 700.0}
    assert edited.spec.agent_groups["intern"].skills == {"aftersales": 2}
    assert np.allclose(edited.contacts, 1.3 * base.contacts)
    shown = edits.describe(base, changes).set_index("key path")
    assert shown.loc["agent_groups.gold.chat_concurrency", "scenario"] == "4"
    assert shown.loc["arrivals.scale", "edited"] == "1.3"
    assert shown.loc["agent_groups.intern.skills.presales", "edited"] == "(removed)"


def test_a_scenario_shows_in_the_tables_without_none_and_from_one():
    t = edits.tables_of(load_scenario(ROOT / "scenarios/singles_day.yaml"))
    assert "shift" not in t.shifts.columns                      # no shift numbers from 0
    assert not t.groups.isna().any().any()                      # an empty skill is ""
    assert t.groups.set_index("group").loc["voice", "presales"] == ""
    assert t.groups.set_index("group").loc["gold", edits.SLOWDOWN_PCT] == 15.0   # percent
    assert t.shifts["breaks"].iloc[0] == "13:00 45 min over 90 min"
    assert edits.parse_breaks("13:00 45 min over 90 min; 17:00 15 min", where="x") == [
        {"start": "13:00", "minutes": 45, "window_min": 90}, {"start": "17:00", "minutes": 15}]
    with pytest.raises(InputError, match=r"^row 2: break 'lunch' is not 'HH:MM MINUTES min'"):
        edits.parse_breaks("lunch", where="row 2")


# --------------------------------------------------------------------------------------------
# Compare
# --------------------------------------------------------------------------------------------
def test_compare_shows_the_paired_difference_of_an_edit():
    path = ROOT / "scenarios/normal_day.yaml"
    at = open_page("scenario", query={"scenario": "normal_day"})
    edit_cells(at, "shifts", {shift_row(path, "gold", 1): {"agents": 3}})
    at.switch_page(PAGES["compare"]).run()
    assert_clean(at)
    assert at.multiselect(key="keep.cmp.chosen").value == ["Scenario page, original",
                                                           "Scenario page, as edited"]
    assert at.selectbox(key="keep.cmp.baseline").value == "Scenario page, original"
    at.number_input(key="keep.cmp.reps").set_value(3)
    at.button(key="cmp.run").click().run()
    assert_clean(at)
    assert len(at.get("vega_lite_chart")) == 1
    shown = shown_table(at, "interval_start", "service_level", "clear")      # per interval and queue, in points
    a = simulate(load_scenario(path), seed=1, reps=3)
    b = simulate(load_scenario(path).with_changes({"agent_groups.gold.shifts[1].agents": 3}),
                 seed=1, reps=3)
    keys = ["rep", "interval", "queue"]
    both = a.queue_intervals.merge(b.queue_intervals, on=keys, suffixes=("_a", "_b"))
    both["d"] = both["service_level_b"] - both["service_level_a"]
    expected = both.groupby(["interval", "queue"], sort=True)["d"].mean().to_numpy()
    sl = numbers(shown["service_level"])
    assert np.allclose(sl, 100 * expected, equal_nan=True, atol=0.051)   # shown to 0.1 pp
    assert (sl[~np.isnan(sl)] < 0).any()                 # fewer agents: worse somewhere
    assert (~np.isnan(numbers(shown["service_level_ci95"]))).any()
    assert shown["clear"].any()


def test_the_same_scenario_twice_differs_by_exactly_zero():
    # Common random numbers: the same scenario with the same seed is the same run.
    at = open_page("scenario", query={"scenario": "normal_day"})
    at.switch_page(PAGES["compare"]).run()
    at.multiselect(key="keep.cmp.chosen").set_value(["Scenario page, original",
                                                     "normal_day"])
    at.number_input(key="keep.cmp.reps").set_value(2).run()
    at.button(key="cmp.run").click().run()
    assert_clean(at)
    shown = shown_table(at, "interval_start", "service_level", "clear")
    sl = numbers(shown["service_level"])
    assert (sl[~np.isnan(sl)] == 0).all()
    assert (shown_table(at, "scenario", "service_level_pp")["service_level_pp"] == 0).all()


def test_paired_difference_is_mean_ci_of_per_replication_differences():
    base = scenario_from_dict(small_scenario())
    more = base.with_changes({"agent_groups.chat_team.shifts[0].agents": 4})
    a, b = simulate(base, seed=3, reps=4), simulate(more, seed=3, reps=4)
    diff = paired_difference(a, b)
    assert list(diff.columns[:3]) == ["interval", "interval_start", "queue"]
    assert diff["interval_start"].iloc[0] == pd.Timestamp("2026-11-11T08:00")
    row = diff[(diff["interval"] == 5) & (diff["queue"] == "chat")].iloc[0]
    per_rep = (b.queue_intervals.query("interval == 5 and queue == 'chat'")["service_level"]
               .to_numpy() - a.queue_intervals.query("interval == 5 and queue == 'chat'")
               ["service_level"].to_numpy())
    assert row["service_level"] == pytest.approx(per_rep.mean())
    from scipy import stats
    half = stats.t.ppf(0.975, 3) * per_rep.std(ddof=1) / 2.0
    assert row["service_level_ci95"] == pytest.approx(half)
    with pytest.raises(ValueError, match="same seed"):
        paired_difference(a, simulate(more, seed=4, reps=4))


# --------------------------------------------------------------------------------------------
# Sweeps
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sweep") / "grid"
    base = scenario_from_dict(small_scenario())
    run_sweep(base, [Axis("agent_groups.chat_team.shifts[0].agents", (2, 4))], out=out,
              reps=2, seed=1)
    return out


def test_sweeps_page_reads_a_sweep_folder(sweep_folder, monkeypatch):
    monkeypatch.setenv(workspace.ENV, str(sweep_folder.parent))
    at = open_page("sweeps")
    at.radio(key="keep.swp.source").set_value("Folder")
    # Offered in the list of the workspace's sweeps, by name; choosing it fills the name in.
    assert at.selectbox(key="swp.found").options == ["grid"]
    at.selectbox(key="swp.found").set_value("grid").run()
    assert at.text_input(key="keep.swp.path").value == "grid"
    assert_clean(at)
    assert at.selectbox(key="keep.swp.x").value == "agent_groups.chat_team.shifts[0].agents"
    assert len(at.get("vega_lite_chart")) == 2      # the sweep, and one point per interval
    summary = at.dataframe[0].value
    expected = pd.read_csv(sweep_folder / "summary.csv")
    assert len(summary) == len(expected) == 2 * 3   # 2 points x (chat, phone, all)
    assert np.allclose(summary["service_level"], 100 * expected["service_level"])
    chat = expected[expected["queue"] == "chat"].set_index("point")["service_level"]
    assert chat[1] > chat[0]                         # more chat agents, better chat service


def test_sweeps_page_reads_an_uploaded_summary(sweep_folder):
    at = open_page("sweeps")
    at.radio(key="keep.swp.source").set_value("Upload summary.csv").run()
    data = (sweep_folder / "summary.csv").read_bytes()
    at.file_uploader(key="swp.upload").set_value(("summary.csv", data, "text/csv")).run()
    assert_clean(at)
    assert len(at.get("vega_lite_chart")) == 1
    at.file_uploader(key="swp.upload").set_value(("x.csv", b"a,b\n1,2\n", "text/csv")).run()
    assert not at.exception
    assert at.error[0].value.startswith("x.csv: missing column(s) point, queue, service_level")


def test_sweeps_page_names_a_folder_that_is_not_a_sweep(tmp_path, monkeypatch):
    monkeypatch.setenv(workspace.ENV, str(tmp_path))
    (tmp_path / "half").mkdir()
    at = open_page("sweeps")
    at.radio(key="keep.swp.source").set_value("Folder")
    at.text_input(key="keep.swp.path").set_value("half").run()
    assert not at.exception
    # Named relative to the workspace, never by the server's absolute path.
    assert at.error[0].value == (f"{tmp_path.name}/half: no summary.csv here: not the output "
                                 "folder of peakplan sweep, or a sweep that has not finished "
                                 "(run the same command again to finish it)")


# --------------------------------------------------------------------------------------------
# Found in review: each test fails without its fix
# --------------------------------------------------------------------------------------------
def test_going_back_to_a_scenario_does_not_apply_an_old_edit_again():
    path = ROOT / "scenarios/normal_day.yaml"
    row = shift_row(path, "voice", 1)
    at = open_page("scenario", query={"scenario": "normal_day"})
    original = at.data_editor(key=editor_key(at, "shifts")).value.iloc[row]["agents"]
    edit_cells(at, "shifts", {row: {"agents": 0}})
    assert at.session_state["scn.edited"]["changes"] == 1
    at.selectbox(key="keep.scn.choice").set_value("singles_day").run()
    at.selectbox(key="keep.scn.choice").set_value("normal_day").run()
    assert_clean(at)
    # The tables are the scenario's again, and so is what runs, downloads and compares.
    assert at.data_editor(key=editor_key(at, "shifts")).value.iloc[row]["agents"] == original
    assert at.session_state["scn.edited"]["changes"] == 0
    assert not [e for e in at.expander if e.label.startswith("Your changes")]


def test_a_shipped_scenario_loads_again_when_its_forecast_changes(tmp_path):
    path = tmp_path / "day.yaml"
    path.write_bytes((ROOT / "scenarios/normal_day.yaml").read_bytes())
    forecast = tmp_path / "normal_day_forecast.csv"
    frame = pd.read_csv(ROOT / "scenarios/normal_day_forecast.csv")
    frame.to_csv(forecast, index=False)
    before = scenario_from_dict(yaml.safe_load(runs.shipped_text(path)))
    frame.assign(contacts=frame["contacts"] * 2).to_csv(forecast, index=False)
    after = scenario_from_dict(yaml.safe_load(runs.shipped_text(path)))
    assert np.allclose(after.contacts, 2 * before.contacts)


@pytest.mark.parametrize("damage", ["empty intervals folder", "one point missing"])
def test_sweeps_page_names_the_point_whose_intervals_are_missing(sweep_folder, tmp_path,
                                                                 monkeypatch, damage):
    import shutil

    monkeypatch.setenv(workspace.ENV, str(tmp_path))
    folder = tmp_path / "grid"
    shutil.copytree(sweep_folder, folder)
    pattern = "*.parquet" if damage == "empty intervals folder" else "p00000-*.parquet"
    for f in (folder / "intervals").glob(pattern):
        f.unlink()
    at = open_page("sweeps")
    at.radio(key="keep.swp.source").set_value("Folder")
    at.text_input(key="keep.swp.path").set_value("grid").run()
    assert not at.exception
    message = at.error[0].value
    assert message.startswith(f"{tmp_path.name}/grid/intervals: no per-interval results")
    assert "for point 0" in message and "Something went wrong" not in message
    assert len(at.get("vega_lite_chart")) == 1     # the sweep itself is still shown


def test_compare_does_not_offer_an_edit_the_scenario_page_rejected():
    path = ROOT / "scenarios/normal_day.yaml"
    row = shift_row(path, "gold", 1)
    at = open_page("scenario", query={"scenario": "normal_day"})
    edit_cells(at, "shifts", {row: {"agents": 3}})
    edit_cells(at, "shifts", {row: {"agents": 3}, 0: {"start": "25:00"}})
    at.switch_page(PAGES["compare"]).run()
    assert not at.exception
    assert any("rejected" in w.value and "25:00" in w.value for w in at.warning)
    assert "Scenario page, as edited" not in at.multiselect(key="keep.cmp.chosen").options
    assert at.multiselect(key="keep.cmp.chosen").value[0] == "Scenario page, original"


def compare_with(edited: dict) -> AppTest:
    """The Compare page, A = small_scenario() as the Scenario page's original, B = ``edited``
    as its edited scenario; Run both pressed."""
    text = inputs.scenario_text(scenario_from_dict(small_scenario()))
    text_b = inputs.scenario_text(scenario_from_dict(edited))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["scn.base"] = {"text": text, "source": "small.yaml", "label": "upload",
                                    "token": "t"}
    at.session_state["scn.edited"] = {"text": text_b, "source": "small.yaml", "changes": 1,
                                      "token": "t"}
    at.run()
    at.switch_page(PAGES["compare"]).run()
    at.number_input(key="keep.cmp.reps").set_value(2)
    at.button(key="cmp.run").click().run()
    assert not at.exception
    return at


def test_compare_refuses_intervals_of_another_length():
    at = compare_with(small_scenario(interval_min=30, arrivals={"chat": [30.0] * 24,
                                                                "phone": [15.0] * 24}))
    assert "cannot be paired" in at.error[0].value
    assert not at.get("vega_lite_chart")


def test_compare_says_intervals_are_paired_by_position_when_the_start_differs():
    at = compare_with(small_scenario(start="2026-11-12T08:00"))
    assert not at.error
    assert any("paired by position" in w.value for w in at.warning)


def test_an_upload_cannot_read_a_server_file():
    data = yaml.safe_load((ROOT / "scenarios/normal_day.yaml").read_text())
    data["arrivals"]["file"] = str(ROOT / "scenarios/normal_day_forecast.csv")
    upload = inputs.Upload("s.yaml", yaml.safe_dump(data).encode())
    with pytest.raises(InputError, match=r"^s\.yaml: arrivals\.file: .*absolute path"):
        inputs.read_uploaded_scenario(upload)
    data["arrivals"]["file"] = "../../normal_day_forecast.csv"
    upload = inputs.Upload("s.yaml", yaml.safe_dump(data).encode())
    with pytest.raises(InputError, match="outside the scenario's folder"):
        inputs.read_uploaded_scenario(upload, inputs.Upload("fc.csv", b"x"))


def test_no_contacts_show_a_dash_not_nan():
    at = open_page("scenario", query={"scenario": "normal_day"})
    at.number_input(key="keep.scn.scale").set_value(0.0).run()
    run_scenario(at)
    assert metric(at, "Service level") == "-"
    assert metric(at, "ASA") == "-"


def test_one_agent_is_one_agent():
    at = open_one_interval()
    at.number_input(key="keep.calc.contacts").set_value(1.0).run()
    assert_clean(at)
    assert metric(at, "Agents on the floor") == "1 agent"
    assert metric(at, "Scheduled") == "2 agents"


def test_calculator_and_sweeps_uploads_survive_a_visit_to_another_page(sweep_folder):
    forecast = (ROOT / "scenarios/normal_day_forecast.csv").read_bytes()
    at = open_page("calculator")
    at.radio(key="keep.calc.mode").set_value("A forecast (CSV)").run()
    at.radio(key="keep.calc.forecast_source").set_value("Upload a CSV")
    at.radio(key="keep.calc.targets_source").set_value("Settings below").run()
    at.file_uploader(key="calc.forecast_upload").set_value(("fc.csv", forecast, "text/csv"))
    at.run()
    assert_clean(at)
    at.switch_page(PAGES["sweeps"]).run()
    at.radio(key="keep.swp.source").set_value("Upload summary.csv").run()
    at.file_uploader(key="swp.upload").set_value(
        ("summary.csv", (sweep_folder / "summary.csv").read_bytes(), "text/csv")).run()
    assert_clean(at)
    at.switch_page(PAGES["calculator"]).run()
    assert_clean(at)
    assert len(at.dataframe[0].value) == 48 * 4
    at.button(key="calc.kept_forecast.forget").click().run()
    assert any("Choose or upload" in i.value for i in at.info)
    at.switch_page(PAGES["sweeps"]).run()
    assert_clean(at)
    assert len(at.get("vega_lite_chart")) == 1


def test_a_forecast_of_one_interval_takes_the_pages_interval_length():
    one = b"interval_start,queue,contacts\n2026-11-11T09:00,presales,100\n"
    at = open_page("calculator")
    at.radio(key="keep.calc.mode").set_value("A forecast (CSV)").run()
    at.radio(key="keep.calc.forecast_source").set_value("Upload a CSV")
    at.radio(key="keep.calc.targets_source").set_value("Settings below").run()
    at.file_uploader(key="calc.forecast_upload").set_value(("one.csv", one, "text/csv")).run()
    assert_clean(at)
    assert at.dataframe[0].value["agents"].tolist() == [14]     # 100 in 30 min: README
    at.selectbox(key="keep.calc.interval_min").set_value(60).run()
    assert_clean(at)
    assert at.dataframe[0].value["agents"].tolist() == [agents_needed(
        rate_per_s=100 / 3600, aht_s=180.0, target_s=20.0, service_level=0.8)]


def test_a_change_after_a_run_does_not_recompute_the_tables(monkeypatch):
    from sim.replications import Simulation

    at = run_scenario(open_page("scenario", query={"scenario": "normal_day"}))
    calls = []
    real = Simulation.queue_interval_summary
    monkeypatch.setattr(Simulation, "queue_interval_summary",
                        lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    at.toggle(key="keep.scn.only_misses").set_value(True).run()
    assert_clean(at)
    assert calls == []


# --------------------------------------------------------------------------------------------
# The app as a shared server (issue 10): the workspace, upload limits, run limits
# --------------------------------------------------------------------------------------------
def slow_reader(*args: object, **kwargs: object) -> None:
    """A reader that never finishes in time (run in the child of app_pages.bounded, which
    imports it from this module by name)."""
    time.sleep(120)


# "Billion laughs": nine levels of nine aliases, 9**10 strings once expanded (a few hundred bytes).
ALIAS_BOMB = ("a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
              + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))
              ).encode()


@pytest.fixture
def outside_and_workspace(tmp_path, monkeypatch, sweep_folder):
    """A workspace holding one sweep (``grid``), a link to a sweep outside it (``link``), and
    a sweep outside it beside it (``other``); PEAKPLAN_WORKSPACE names the workspace."""
    import shutil

    ws, other = tmp_path / "ws", tmp_path / "other"
    ws.mkdir()
    shutil.copytree(sweep_folder, ws / "grid")
    shutil.copytree(sweep_folder, other)
    (ws / "link").symlink_to(other, target_is_directory=True)
    monkeypatch.setenv(workspace.ENV, str(ws))
    return ws, other


def test_the_workspace_is_runs_beside_the_app_unless_the_environment_names_one(monkeypatch,
                                                                              tmp_path):
    monkeypatch.delenv(workspace.ENV, raising=False)
    assert workspace.root() == (ROOT / "runs").resolve()
    assert workspace.label() == "runs/"
    monkeypatch.setenv(workspace.ENV, str(tmp_path))
    assert workspace.root() == tmp_path.resolve()


def test_workspace_names_inside_open_and_everything_else_gets_one_message(
        outside_and_workspace):
    ws, other = outside_and_workspace
    grid = (ws / "grid").resolve()
    for name in ("grid", "./grid", "grid/", "ws/grid", str(ws / "grid")):
        assert workspace.resolve(name) == grid, name
    refused = ["..", "../other", "grid/../../other", "/tmp/x", str(other), "~", "~/x",
               "~root", "link", "link/", "missing", "/nonexistent", "/root/.ssh", "/",
               "C:\\Users", "\\\\server\\share", "..\\other", "grid\0", "a" * 300]
    messages = set()
    for name in refused:
        with pytest.raises(InputError) as info:
            workspace.resolve(name)
        messages.add(str(info.value))
    assert messages == {workspace.NOT_OPENED.format(label="ws/")}
    # The list offers the workspace's own sweeps only, not the link that leads out.
    assert workspace.sweep_folders() == ["grid"]


def test_sweeps_page_opens_nothing_outside_the_workspace(outside_and_workspace):
    ws, other = outside_and_workspace
    at = open_page("sweeps")
    at.radio(key="keep.swp.source").set_value("Folder").run()
    assert at.selectbox(key="swp.found").options == ["grid"]
    shown = {}
    for name in ("..", "../other", str(other), "/tmp/x", "~", "link", "/root/.ssh",
                 "/nonexistent", "missing"):
        at.text_input(key="keep.swp.path").set_value(name).run()
        assert not at.exception, name
        assert not at.dataframe and not at.get("vega_lite_chart"), name
        shown[name] = [e.value for e in at.error]
    # One text for all: a folder that exists outside and one that does not look the same.
    assert {tuple(v) for v in shown.values()} == {(workspace.NOT_OPENED.format(label="ws/"),)}
    assert str(ws) not in shown["missing"][0] and "root" not in shown["/root/.ssh"][0]
    at.text_input(key="keep.swp.path").set_value("grid").run()
    assert_clean(at)
    assert len(at.get("vega_lite_chart")) == 2


def test_a_link_inside_a_sweep_folder_leading_out_is_not_read(outside_and_workspace):
    ws, other = outside_and_workspace
    (ws / "grid" / "intervals" / "stolen.parquet").symlink_to(
        next((other / "intervals").glob("*.parquet")))
    at = open_page("sweeps")
    at.radio(key="keep.swp.source").set_value("Folder")
    at.text_input(key="keep.swp.path").set_value("grid").run()
    assert not at.exception
    assert at.error[0].value.startswith("ws/grid/intervals: 1 file(s) leading out of the "
                                        "workspace, not read")


def test_the_upload_limit_of_the_config_is_the_apps():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == inputs.MAX_UPLOAD_MB == 5


def test_an_upload_over_the_size_limit_is_refused_in_the_page():
    big = b"interval_start,queue,contacts\n" + b"2026-11-11T00:00,presales,1\n" * 200_000
    assert len(big) > inputs.MAX_UPLOAD_MB * 1024 * 1024
    at = open_page("calculator")
    at.radio(key="keep.calc.mode").set_value("A forecast (CSV)").run()
    at.radio(key="keep.calc.forecast_source").set_value("Upload a CSV").run()
    at.file_uploader(key="calc.forecast_upload").set_value(("big.csv", big, "text/csv")).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "big.csv: 5.3 MB is over the app's limit of 5 MB for an upload (a forecast of a week "
        "of 15-minute intervals for 20 queues is about 0.5 MB)"]
    at.switch_page(PAGES["scenario"]).run()
    at.selectbox(key="keep.scn.choice").set_value("upload").run()
    at.file_uploader(key="scn.upload").set_value(("big.yaml", b"#" * len(big), "text/yaml"))
    at.run()
    assert not at.exception
    assert at.error[0].value.startswith("big.yaml: 5.3 MB is over the app's limit of 5 MB")


def test_an_alias_bomb_upload_ends_in_a_message_in_seconds():
    at = open_page("scenario")
    at.selectbox(key="keep.scn.choice").set_value("upload").run()
    started = time.monotonic()
    at.file_uploader(key="scn.upload").set_value(("bomb.yaml", ALIAS_BOMB, "text/yaml")).run()
    # Refused by the loader, or at worst stopped at the time limit: never a hang.
    assert time.monotonic() - started < bounded.LIMIT_S + 15
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("bomb.yaml: ")
    assert len(at.error[0].value) < 400


def test_the_time_limit_stops_a_slow_reader_and_kills_it(monkeypatch):
    children = []
    start = bounded._start
    monkeypatch.setattr(bounded, "_start", lambda: children.append(start()) or children[-1])
    # The reader's own InputError comes back as it is (the upload tests above); anything
    # else is a bug: one line for the page, the traceback only in the log.
    with pytest.raises(bounded.ChildFailed, match=r"^ValueError in the reader of x \(its "
                                                 r"traceback is in the console\)$"):
        bounded.call(int, "x", what="x")
    # The next call takes the spare child: wait until its imports are done (it has said
    # ready), so what is timed is the limit alone.
    select.select([bounded._spare.stdout], [], [], 120)
    started = time.monotonic()
    with pytest.raises(InputError, match=r"^slow\.yaml: reading it took longer than 1 s, the "
                                         r"app's limit for one upload, and was stopped"):
        bounded.call(time.sleep, 60, what="slow.yaml", limit_s=1)
    assert time.monotonic() - started < 5
    assert children and all(c.poll() is not None for c in children[:-1])   # killed, reaped


def test_a_slow_upload_shows_the_time_limit_in_the_page_and_is_not_read_again(monkeypatch):
    # However slow the parser (a loader regression, a file no limit foresaw), the page answers.
    monkeypatch.setattr(inputs, "uploaded_scenario_text", slow_reader)
    monkeypatch.setattr(bounded, "LIMIT_S", 2.0)
    at = open_page("scenario")
    at.selectbox(key="keep.scn.choice").set_value("upload").run()
    data = yaml.safe_dump(small_scenario(name=f"slow {time.time()}")).encode()
    started = time.monotonic()
    at.file_uploader(key="scn.upload").set_value(("slow.yaml", data, "text/yaml")).run()
    assert time.monotonic() - started < 12
    assert not at.exception
    assert [e.value for e in at.error] == [
        "slow.yaml: reading it took longer than 2 s, the app's limit for one upload, and was "
        "stopped (a forecast of a week of 15-minute intervals for 20 queues takes well under a "
        "second: expected a smaller or simpler file)"]
    # A rerun (any widget) does not wait out the limit again: the refusal is remembered.
    started = time.monotonic()
    at.run()
    assert time.monotonic() - started < 1.5
    assert at.error[0].value.startswith("slow.yaml: reading it took longer than 2 s")


def test_a_run_beyond_the_limits_is_refused_before_it_starts(monkeypatch):
    import sim.scenario as scenario_module

    # A limit the shipped normal day exceeds in 2 replications, so the test does not depend
    # on the size of the real limits; nothing may be simulated.
    monkeypatch.setattr(scenario_module, "LIMITS",
                        dataclasses.replace(scenario_module.LIMITS, run_contacts=1_000))
    monkeypatch.setattr(runs, "simulate", lambda *a, **k: pytest.fail("a run started"))
    at = open_page("scenario", query={"scenario": "normal_day"})
    at.number_input(key="keep.scn.reps").set_value(2)
    at.button(key="scn.run").click().run()
    assert not at.exception
    message = at.error[0].value
    # The estimate (transfers included) and the limit, as the command line gives them.
    assert re.search(r"about [\d,]+ contacts to simulate \([\d,]+ per replication x 2 "
                     r"replications", message), message
    assert "at most 1,000" in message
    assert len(at.get("vega_lite_chart")) == BEFORE_RUN_CHARTS   # no result


# --------------------------------------------------------------------------------------------
# Issue 13: build a roster freely, need against roster, cost, what-ifs, compare several,
# the review from the app
# --------------------------------------------------------------------------------------------
NORMAL = ROOT / "scenarios/normal_day.yaml"


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Path:
    """An empty workspace for what-ifs."""
    monkeypatch.setenv(workspace.ENV, str(tmp_path / "ws"))
    (tmp_path / "ws").mkdir()
    return tmp_path / "ws"


def group_row(path: Path, group: str) -> int:
    return list(load_scenario(path).spec.agent_groups).index(group)


def test_renaming_a_group_is_an_edit_its_shifts_follow_and_the_file_keeps_its_comment():
    at = open_page("scenario", query={"scenario": "normal_day"})
    edit_cells(at, "groups", {group_row(NORMAL, "gold"): {"group": "gold_team"}})
    assert_clean(at)
    shifts = at.data_editor(key=editor_key(at, "shifts")).value
    assert (shifts["group"] == "gold_team").sum() == len(
        load_scenario(NORMAL).spec.agent_groups["gold"].shifts)
    assert "gold" not in set(shifts["group"])
    edited = at.session_state["scn.edited"]
    doc = yaml.safe_load(edited["document"])
    assert list(doc["agent_groups"]) == [
        "gold_team" if g == "gold" else g for g in load_scenario(NORMAL).spec.agent_groups]
    line = next(x for x in edited["document"].splitlines() if x.startswith("  gold_team:"))
    original = next(x for x in NORMAL.read_text().splitlines() if x.startswith("  gold:"))
    assert line.split("#")[1:] == original.split("#")[1:]        # its comment kept
    # Then an edit of one of its shifts still applies, and the page keeps working.
    edit_cells(at, "shifts", {shift_row(NORMAL, "gold", 0): {"agents": 7}})
    assert_clean(at)
    again = scenario_from_dict(yaml.safe_load(at.session_state["scn.edited"]["text"]))
    assert again.spec.agent_groups["gold_team"].shifts[0].agents == 7
    assert [b.key for b in at.button if b.key == "scn.run"]


def test_add_and_remove_shifts_breaks_and_groups_and_the_roster_figures_follow():
    at = open_page("scenario", query={"scenario": "normal_day"})
    base = load_scenario(NORMAL)
    n_voice = len(base.spec.agent_groups["voice"].shifts)
    add_rows(at, "shifts", [{"group": "voice", "start": "17:00", "end": "22:00",
                             "agents": 4, "breaks": "19:00 15 min"}],
             edited={shift_row(NORMAL, "gold", 0): {"breaks": "04:00 30 min over 60 min"}},
             deleted=[shift_row(NORMAL, "intern", 0)])
    assert_clean(at)
    text = at.session_state["scn.edited"]["text"]
    edited = scenario_from_dict(yaml.safe_load(text))
    voice = edited.spec.agent_groups["voice"].shifts
    assert len(voice) == n_voice + 1 and voice[-1].agents == 4
    assert voice[-1].breaks[0].start == "19:00" and voice[-1].breaks[0].minutes == 15
    gold0 = edited.spec.agent_groups["gold"].shifts[0].breaks
    assert [(b.start, b.minutes, b.window_min) for b in gold0] == [("04:00", 30, 60)]
    assert len(edited.spec.agent_groups["intern"].shifts) == \
        len(base.spec.agent_groups["intern"].shifts) - 1
    cover = roster.coverage(edited)
    assert metric(at, "Agent-hours") == f"{cover.agent_hours:,.1f} h"
    # A new group with its skills, then gone again.
    add_rows(at, "groups", [{"group": "night", "presales": "1", "aftersales": "2",
                             "chat_concurrency": 2, edits.SLOWDOWN_PCT: 10.0}])
    assert_clean(at)
    add_rows(at, "shifts", [{"group": "night", "start": "22:00", "end": "06:00",
                             "agents": 3, "breaks": ""}])
    assert_clean(at)
    night = scenario_from_dict(yaml.safe_load(at.session_state["scn.edited"]["text"])
                               ).spec.agent_groups["night"]
    assert night.skills == {"presales": 1, "aftersales": 2} and night.chat_slowdown == 0.1
    assert night.shifts[0].agents == 3
    rows = at.data_editor(key=editor_key(at, "groups")).value
    add_rows(at, "groups", [], deleted=[int(np.flatnonzero(rows["group"] == "night")[0])])
    assert_clean(at)                                   # its shifts go with it
    gone = scenario_from_dict(yaml.safe_load(at.session_state["scn.edited"]["text"]))
    assert "night" not in gone.spec.agent_groups
    assert "night" not in set(at.data_editor(key=editor_key(at, "shifts")).value["group"])
    # A shift naming a group that does not exist is said, with its row, not a traceback.
    add_rows(at, "shifts", [{"group": "nobody", "start": "09:00", "end": "17:00",
                             "agents": 1, "breaks": ""}])
    assert not at.exception
    assert any("is not a group of the groups table" in e.value for e in at.error)


def test_a_bad_preference_names_the_group_and_queue():
    at = open_page("scenario", query={"scenario": "normal_day"})
    edit_cells(at, "groups", {group_row(NORMAL, "gold"): {"presales": "x"}})
    assert not at.exception
    assert at.error[0].value.startswith("groups table, gold: preference 'x' for presales")


def test_need_against_roster_is_erlang_against_the_roster_on_the_floor():
    # Hourly intervals from 08:00: 3 chat agents on 08:00-10:00 with a 30-minute break at
    # 08:30 (all at once): on the floor 1.5 on average in the first hour, 3 in the second.
    data = small_scenario()
    data["agent_groups"]["chat_team"]["shifts"] = [
        {"start": "08:00", "end": "10:00", "agents": 3,
         "breaks": [{"start": "08:30", "minutes": 30}]}]
    sc = scenario_from_dict(data)
    cover = roster.coverage(sc)
    chat = cover.groups[cover.groups["group"] == "chat_team"]
    assert chat["on_floor"].tolist()[:3] == [1.5, 3.0, 0.0]     # all three break at 08:30
    assert chat["on_duty"].tolist()[:3] == [3.0, 3.0, 0.0]
    erlang = roster.erlang_table(sc)
    assert cover.per_interval["required"].tolist() == \
        erlang.groupby("interval_start")["agents"].sum().tolist()
    assert cover.agent_hours == pytest.approx(3 * 2 + 3 * 12)   # paid hours, breaks in


def test_the_cost_of_the_roster_and_of_an_edit_come_from_the_planning_rules():
    at = open_page("scenario")          # Singles' Day, priced by its planning rules
    assert_clean(at)
    base = load_scenario(ROOT / "scenarios/singles_day.yaml")
    from sim.planning import load_rules
    if getattr(base.spec, "planning", None) is not None:
        assert at.selectbox(key="keep.scn.rules").value == "the scenario's planning: rules"
        rules = base.spec.planning
    else:
        assert at.selectbox(key="keep.scn.rules").value == "singles_day_rules.yaml"
        rules = load_rules(ROOT / "scenarios/singles_day_rules.yaml")
    assert rules.groups["temp"].cost_per_hour == 1.3
    cost = roster.roster_cost(base, roster.coverage(base), rules, "r")
    assert metric(at, "Cost") == f"{cost.total_cost:,.1f}"
    # +10 temps 18:00-23:00: +50 agent-hours at 1.3 = +65 cost units.
    add_rows(at, "shifts", [{"group": "temp", "start": "18:00", "end": "23:00",
                             "agents": 10, "breaks": ""}])
    assert_clean(at)
    deltas = {m.label: m.delta for m in at.metric}
    assert deltas["Agent-hours (paid)"] == "+50.0 h"
    assert deltas["Cost"] == "+65.0"


def test_a_what_if_is_saved_reopened_from_the_address_and_deleted(ws):
    at = open_page("scenario", query={"scenario": "normal_day"})
    edit_cells(at, "shifts", {shift_row(NORMAL, "gold", 1): {"agents": 3}})
    at.text_input(key="scn.whatif_name").input("fewer gold")
    at.button(key="scn.save").click().run()
    assert_clean(at)
    saved = ws / "whatifs" / "fewer_gold.yaml"
    assert saved.is_file() and (ws / "whatifs" / "normal_day_forecast.csv").is_file()
    assert at.query_params["whatif"] == "fewer_gold"
    text = saved.read_text()
    # The user's file, its comments kept, one value changed: the CLI reads it too.
    assert changed_count(NORMAL.read_text(), text) == 1
    assert load_scenario(saved).spec.agent_groups["gold"].shifts[1].agents == 3
    # A reload (a new session with the same address) opens it again.
    again = open_page("scenario", query={"whatif": "fewer_gold"})
    assert_clean(again)
    assert again.selectbox(key="keep.scn.choice").value == "whatif:fewer_gold"
    assert again.session_state["scn.edited"]["changes"] == 0
    # Saving again under the same name needs "replace".
    again.text_input(key="scn.whatif_name").input("fewer gold")
    again.button(key="scn.save").click().run()
    assert any("exists already" in e.value for e in again.error)
    again.button(key="scn.delete").click().run()
    assert not saved.exists()
    assert again.selectbox(key="keep.scn.choice").value == "singles_day"


def changed_count(before: str, after: str) -> int:
    import difflib
    return sum(1 for x in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                               lineterm="", n=0)
               if x.startswith("+") and not x.startswith("+++"))


def test_a_new_scenario_over_a_forecast_starts_from_a_blank_roster():
    at = open_page("scenario", query={"new": "normal_day_forecast.csv"})
    assert_clean(at)
    tables = at.session_state["scn.edits"]["tables"]
    assert tables.groups["group"].tolist() == ["team"]
    assert tables.shifts["agents"].tolist() == [0]
    add_rows(at, "shifts", [], edited={0: {"agents": 30}})
    assert_clean(at)
    edited = scenario_from_dict(yaml.safe_load(at.session_state["scn.edited"]["text"]))
    assert edited.spec.agent_groups["team"].shifts[0].agents == 30
    assert edited.contacts.sum() == pytest.approx(load_scenario(NORMAL).contacts.sum())


def test_counts_line_up_and_missed_intervals_are_judged_on_the_forecast():
    at = open_page("scenario", query={"scenario": "normal_day"})
    at.number_input(key="keep.scn.scale").set_value(1.5).run()
    base = load_scenario(NORMAL)
    header = next(m.value for m in at.markdown if "contacts** arrive" in m.value)
    assert f"**{1.5 * base.contacts.sum():,.0f} contacts** arrive" in header
    run_scenario(at)
    ran = runs.scenario_of(at.session_state["scn.last_run"]["text"], "x")
    judged = int(((ran.contacts >= runs.MIN_CONTACTS).any(axis=0)).sum())
    assert metric(at, "Intervals missing a target").endswith(f" of {judged}")
    summary = shown_table(at, "queue", "offered", "target", "max_queue")
    assert summary.set_index("queue").loc["all", "target"] == "\u2013"   # not "None"


def compare_three(tmp_ws: Path) -> tuple[AppTest, list]:
    at = open_page("scenario", query={"scenario": "normal_day"})
    edit_cells(at, "shifts", {shift_row(NORMAL, "gold", 1): {"agents": 3}})
    at.text_input(key="scn.whatif_name").input("fewer gold")
    at.button(key="scn.save").click().run()
    at.selectbox(key="keep.scn.choice").set_value("normal_day").run()
    edit_cells(at, "shifts", {shift_row(NORMAL, "gold", 1): {"agents": 8}})
    at.switch_page(PAGES["compare"]).run()
    chosen = [ORIGINAL_LABEL, EDITED_LABEL, "what-if: fewer_gold"]
    at.multiselect(key="keep.cmp.chosen").set_value(chosen).run()
    at.number_input(key="keep.cmp.reps").set_value(2)
    at.button(key="cmp.run").click().run()
    assert_clean(at)
    return at, chosen


ORIGINAL_LABEL, EDITED_LABEL = "Scenario page, original", "Scenario page, as edited"


def test_compare_three_side_by_side_with_differences_in_points(ws):
    at, chosen = compare_three(ws)
    side = shown_table(at, "scenario", "service_level", "agent_hours").set_index("scenario")
    assert list(side.index) == chosen
    base = load_scenario(NORMAL)
    sims = {ORIGINAL_LABEL: simulate(base, seed=1, reps=2),
            EDITED_LABEL: simulate(base.with_changes(
                {"agent_groups.gold.shifts[1].agents": 8}), seed=1, reps=2),
            "what-if: fewer_gold": simulate(base.with_changes(
                {"agent_groups.gold.shifts[1].agents": 3}), seed=1, reps=2)}
    for label, sim in sims.items():
        total = sim.queue_summary().set_index("queue").loc["all"]
        assert numbers(side["service_level"])[list(side.index).index(label)] == \
            pytest.approx(100 * total["service_level"], abs=0.051)
    diff = shown_table(at, "scenario", "service_level_pp").set_index("scenario")
    expected = runs.summary_difference(sims[ORIGINAL_LABEL], sims["what-if: fewer_gold"]
                                       ).set_index("queue").loc["all"]
    assert numbers(diff["service_level_pp"])[list(diff.index).index("what-if: fewer_gold")] \
        == pytest.approx(expected["service_level_pp"], abs=0.051)
    # Two replications: the page says the intervals are wide.
    assert any("replications the 95% intervals are wide" in w.value for w in at.warning)
    assert len(at.get("vega_lite_chart")) == 1       # small multiples, one panel per queue
    per = shown_table(at, "interval_start", "low", "high")
    low, high = numbers(per["low"]), numbers(per["high"])
    assert (low[~np.isnan(low)] >= -100).all() and (high[~np.isnan(high)] <= 100).all()


def test_a_difference_of_shares_stays_within_100_points():
    base = scenario_from_dict(small_scenario())
    none = base.with_changes({"agent_groups.chat_team.shifts[0].agents": 0,
                              "agent_groups.phone_team.shifts[0].agents": 0})
    a, b = simulate(base, seed=2, reps=2), simulate(none, seed=2, reps=2)
    d = runs.summary_difference(a, b).set_index("queue")
    for c in ("service_level_pp", "abandon_rate_pp"):
        assert ((d[c] - d[f"{c}_ci95"]) >= -100 - 1e-9).all() or \
            ((d[c] + d[f"{c}_ci95"]) <= 100 + 1e-9).all()
        assert (d[c].abs() <= 100).all()


def test_the_review_runs_from_the_app_with_the_verdict_of_build_review():
    from planner.review import build_review, parse_cases, verdict_lines

    text = inputs.scenario_text(scenario_from_dict(small_scenario()))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["scn.base"] = {"text": text, "source": "small.yaml", "label": "upload",
                                    "token": "t"}
    at.run()
    at.switch_page(PAGES["review"]).run()
    assert_clean(at)
    at.selectbox(key="keep.rev.scenario").set_value("Scenario page, original")
    at.text_input(key="keep.rev.cases").input("low=0.8,base=1.0")
    at.number_input(key="keep.rev.reps").set_value(2)
    at.text_input(key="keep.rev.fix").input("none").run()
    at.button(key="rev.run").click().run()
    assert_clean(at)
    review = build_review(scenario_from_dict(small_scenario()), cases=parse_cases(
        "low=0.8,base=1.0"), reps=2, seed=1, fix_case=None)
    shown = (at.success or at.warning)[0].value
    assert shown.replace("\u2003", "  ") == "\n\n".join(verdict_lines(review))
    labels = [b.label for b in at.download_button]
    assert any("report (HTML)" in x for x in labels) and any("CSV" in x for x in labels)


def test_the_calculator_opens_on_singles_day_with_labels_that_fit():
    at = open_page("calculator")
    assert_clean(at)
    fc = read_forecast(ROOT / "scenarios/singles_day_forecast.csv")
    assert metric(at, "Contacts") == f"{fc.frame['contacts'].sum():,.0f}"
    at = open_one_interval()
    assert "Scheduled" in [m.label for m in at.metric]           # no "(30% shrin..."
    table = shown_table(at, "agents", "scheduled")
    assert "interval_start" not in table.columns and "queue" not in table.columns
    # AHT = handle time + wrap-up, as on the Scenario page.
    at.number_input(key="keep.calc.wrap_up_s").set_value(20.0).run()
    assert numbers(shown_table(at, "agents", "aht_s")["aht_s"]).tolist() == [200.0]


def test_sweep_labels_read_as_words():
    sc = load_scenario(ROOT / "scenarios/singles_day.yaml")
    from app_pages import ui
    assert ui.path_label("agent_groups.temp.shifts[0].agents", sc) == \
        "agents on temp's shift 1 (23:00-03:00)"
    assert ui.path_label("arrivals.scale") == "volume (x forecast)"


def small_rules() -> dict:
    return {"patterns": {"day": {"starts": "08:00-12:00", "every_min": 60,
                                 "lengths_h": [4, 8]}},
            "groups": {"chat_team": {"patterns": ["day"], "cost_per_hour": 1.3}},
            "keep": "roster"}


def test_the_plan_page_plans_with_the_rules_edited_and_opens_the_plan(ws):
    from planner.plan import plan_roster
    from sim.planning import planning_from_dict

    text = inputs.scenario_text(scenario_from_dict(small_scenario()))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["scn.base"] = {"text": text, "source": "small.yaml", "label": "upload",
                                    "token": "t"}
    at.run()
    at.switch_page("app_pages/plan.py").run()
    assert_clean(at)
    at.selectbox(key="keep.plan.scenario").set_value("Scenario page, original").run()
    area = at.text_area[0]
    assert "patterns" in area.value            # the stated defaults, as YAML
    area.input(yaml.safe_dump(small_rules())).run()
    at.number_input(key="keep.plan.reps").set_value(2)
    at.number_input(key="keep.plan.rounds").set_value(2).run()
    assert_clean(at)
    at.button(key="plan.run").click().run()
    assert_clean(at)
    expected = plan_roster(scenario_from_dict(small_scenario()),
                           planning_from_dict(small_rules(), file="rules"), reps=2, seed=1,
                           max_rounds=2, time_limit_s=30.0)
    assert metric(at, "Cost of the booked shifts") == f"{expected.cover.cost:,.1f}"
    shifts = shown_table(at, "group", "pattern", "start", "end")
    assert len(shifts) == len(expected.cover.shifts)
    assert len(at.get("vega_lite_chart")) == 1
    assert any(b.label == "Download planned.yaml" for b in at.download_button)
    at.button(key="plan.open_button").click().run()
    assert not at.exception
    assert any(p.stem.startswith("planned") for p in (ws / "whatifs").glob("*.yaml"))
    # A bad rule is named with its key path.
    at.switch_page("app_pages/plan.py").run()
    bad = small_rules()
    bad["groups"]["chat_team"]["patterns"] = ["nights"]
    at.text_area[0].input(yaml.safe_dump(bad)).run()
    assert not at.exception
    assert "planning.groups.chat_team.patterns[0]: unknown pattern 'nights'" in at.error[0].value


def test_a_plan_of_several_days_in_the_page_searches_its_days_in_child_processes(ws,
                                                                                  monkeypatch):
    # Three days, the shifts of each within its day: the cover's parts are the days, searched
    # in forked child processes from the app's script thread.  The page shows the command
    # line's plan.
    import planner.cover_search as search_module
    from planner.plan import plan_roster
    from sim.planning import planning_from_dict

    forked = []
    original = search_module.in_children

    def spy(tasks, deadline, **kw):
        forked.append(len(tasks))
        return original(tasks, deadline, **kw)

    monkeypatch.setattr(search_module, "in_children", spy)
    monkeypatch.setattr(search_module, "worker_count", lambda: 2)
    days = small_scenario(start="2026-11-09T00:00",
                          arrivals={"chat": ([0.0] * 8 + [60.0] * 12 + [0.0] * 4) * 3,
                                    "phone": ([0.0] * 8 + [30.0] * 12 + [0.0] * 4) * 3})
    text = inputs.scenario_text(scenario_from_dict(days))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["scn.base"] = {"text": text, "source": "days.yaml", "label": "upload",
                                    "token": "t"}
    at.run()
    at.switch_page("app_pages/plan.py").run()
    at.selectbox(key="keep.plan.scenario").set_value("Scenario page, original").run()
    at.text_area[0].input(yaml.safe_dump(small_rules())).run()
    at.number_input(key="keep.plan.reps").set_value(2)
    at.number_input(key="keep.plan.rounds").set_value(2).run()
    at.button(key="plan.run").click().run()
    assert_clean(at)
    assert forked and max(forked) >= 2
    monkeypatch.setattr(search_module, "worker_count", lambda: 1)
    expected = plan_roster(scenario_from_dict(days),
                           planning_from_dict(small_rules(), file="rules"), reps=2, seed=1,
                           max_rounds=2, time_limit_s=30.0)
    assert expected.cover.status == "optimal"
    assert metric(at, "Cost of the booked shifts") == f"{expected.cover.cost:,.1f}"


def test_plan_rules_typed_in_the_page_are_read_with_the_hardened_reader(ws):
    text = inputs.scenario_text(scenario_from_dict(small_scenario()))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["scn.base"] = {"text": text, "source": "small.yaml", "label": "upload",
                                    "token": "t"}
    at.run()
    at.switch_page("app_pages/plan.py").run()
    at.selectbox(key="keep.plan.scenario").set_value("Scenario page, original").run()
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"b{i}: &b{i} [" + ", ".join([f"*{'a' if i == 0 else f'b{i - 1}'}"] * 9) + "]\n"
        for i in range(8))
    at.text_area[0].input(bomb).run()
    assert not at.exception
    assert "alias *a is not allowed" in at.error[0].value


def test_only_scenarios_are_offered_as_scenarios():
    assert set(inputs.shipped_scenarios()) == {"normal_day", "singles_day"}


# --------------------------------------------------------------------------------------------
# Issue 13, point 4: nothing is lost on F5 (unsaved edits kept as a draft in the workspace)
# --------------------------------------------------------------------------------------------
from app_pages import drafts  # noqa: E402


def reload(at: AppTest, page: str = "scenario") -> AppTest:
    """A browser reload: a new session (a fresh AppTest) with the address ``at`` shows."""
    return open_page(page, query=dict(at.query_params))


def restored_notice(at: AppTest) -> list[str]:
    return [i.value for i in at.info if "Unsaved changes restored" in i.value]


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_unsaved_edits_survive_a_reload_and_go_when_discarded(ws):
    original = NORMAL.read_bytes()
    at = open_page("scenario", query={"scenario": "normal_day"})
    assert "draft" not in at.query_params                   # nothing unsaved, no draft
    # A shift edited, then its group renamed (the rename used to drop the shift's edit).
    edit_cells(at, "shifts", {shift_row(NORMAL, "gold", 1): {"agents": 3}})
    edit_cells(at, "groups", {group_row(NORMAL, "gold"): {"group": "gold_team"}})
    at.number_input(key="keep.scn.scale").set_value(1.2).run()
    assert_clean(at)
    edited = at.session_state["scn.edited"]
    assert edited["changes"] == 3
    draft_id = at.query_params["draft"]
    assert files_under(ws) == [f"drafts/{draft_id}.yaml"]   # nothing else written
    assert NORMAL.read_bytes() == original                  # never the user's file
    assert any(f"kept as a draft in {ws.name}/drafts/" in c.value for c in at.caption)

    again = reload(at)
    assert_clean(again)
    assert restored_notice(again)
    assert again.selectbox(key="keep.scn.choice").value == "normal_day"
    assert again.number_input(key="keep.scn.scale").value == pytest.approx(1.2)
    assert again.session_state["scn.edited"]["changes"] == 3
    # The same edited file: the group renamed in place, with its comment.
    assert again.session_state["scn.edited"]["document"] == edited["document"]
    assert again.session_state["scn.edited"]["text"] == edited["text"]
    shifts = again.data_editor(key=editor_key(again, "shifts")).value
    assert shifts.iloc[shift_row(NORMAL, "gold", 1)][["group", "agents"]].tolist() == \
        ["gold_team", 3]
    # Edits go on into the same draft.
    before = (ws / "drafts" / f"{draft_id}.yaml").read_text()
    edit_cells(again, "shifts", {shift_row(NORMAL, "voice", 1): {"agents": 9}})
    assert_clean(again)
    assert again.query_params["draft"] == draft_id
    after = (ws / "drafts" / f"{draft_id}.yaml").read_text()
    assert after != before and drafts.read(draft_id).changes == 4

    again.button(key="scn.discard_draft").click().run()
    assert_clean(again)
    assert "draft" not in again.query_params and files_under(ws) == []
    assert again.session_state["scn.edited"]["changes"] == 0
    assert not restored_notice(again)
    # The address of before is a draft no longer there: said, and the scenario opens.
    gone = open_page("scenario", query={"scenario": "normal_day", "draft": draft_id})
    assert_clean(gone)
    assert any("could not be restored" in w.value and "no such draft" in w.value
               for w in gone.warning)
    assert gone.session_state["scn.edited"]["changes"] == 0
    assert "draft" not in gone.query_params


def test_a_rejected_edit_is_kept_too_and_saving_the_what_if_removes_the_draft(ws):
    at = open_page("scenario", query={"scenario": "normal_day"})
    edit_cells(at, "shifts", {0: {"start": "25:00"}})
    message = at.error[0].value
    draft_id = at.query_params["draft"]
    assert drafts.read(draft_id).changes is None              # a rejected edit, kept
    again = reload(at)
    assert not again.exception
    assert [e.value for e in again.error] == [message]        # the same cell named again
    edit_cells(again, "shifts", {0: {"start": "09:00"}})
    assert_clean(again)
    again.text_input(key="scn.whatif_name").input("late interns")
    again.button(key="scn.save").click().run()
    assert_clean(again)
    assert "draft" not in again.query_params and again.query_params["whatif"] == "late_interns"
    assert not (ws / "drafts" / f"{draft_id}.yaml").exists()
    assert load_scenario(ws / "whatifs/late_interns.yaml").spec.agent_groups[
        "intern"].shifts[0].start == "09:00"
    # Undo after a new edit removes its draft as well.
    edit_cells(again, "shifts", {0: {"agents": 1}})
    second = again.query_params["draft"]
    assert second != draft_id and (ws / "drafts" / f"{second}.yaml").is_file()
    again.button(key="scn.reset").click().run()
    assert "draft" not in again.query_params
    assert list((ws / "drafts").glob("*.yaml")) == []


def test_a_draft_of_an_uploaded_scenario_survives_a_reload(ws):
    content = yaml.safe_dump(small_scenario()).encode()
    at = open_page("scenario")
    at.selectbox(key="keep.scn.choice").set_value("upload").run()
    at.file_uploader(key="scn.upload").set_value(("small.yaml", content, "text/yaml")).run()
    edit_cells(at, "shifts", {0: {"agents": 5}})
    assert_clean(at)
    draft_id = at.query_params["draft"]
    assert files_under(ws) == [f"drafts/{draft_id}.upload.yaml", f"drafts/{draft_id}.yaml"]
    assert (ws / "drafts" / f"{draft_id}.upload.yaml").read_bytes() == content
    again = reload(at)
    assert_clean(again)
    assert again.selectbox(key="keep.scn.choice").value == "upload" and restored_notice(again)
    edited = scenario_from_dict(yaml.safe_load(again.session_state["scn.edited"]["text"]))
    assert edited.spec.agent_groups["chat_team"].shifts[0].agents == 5
    again.button(key="scn.discard_draft").click().run()
    assert files_under(ws) == []


def test_a_reload_on_another_page_keeps_the_draft_for_the_scenario_page(ws):
    at = open_page("scenario", query={"scenario": "normal_day"})
    edit_cells(at, "shifts", {shift_row(NORMAL, "gold", 1): {"agents": 3}})
    draft_id = at.query_params["draft"]
    at.switch_page(PAGES["compare"]).run()
    assert_clean(at)
    assert at.query_params["draft"] == draft_id               # the address keeps it
    again = reload(at, "compare")                              # F5 on the Compare page
    assert_clean(again)
    again.switch_page(PAGES["scenario"]).run()
    assert_clean(again)
    assert restored_notice(again)
    assert again.session_state["scn.edited"]["changes"] == 1


@pytest.mark.parametrize("damage, expected", [
    ("id", "is not a draft id"),
    ("not yaml", "not valid YAML"),
    ("bad cell", "tables.shifts.rows[3] (agents): 'many' is not a number"),
    ("foreign", "not a draft of the Scenario page"),
])
def test_a_damaged_or_foreign_draft_is_a_message_not_a_traceback(ws, damage, expected):
    at = open_page("scenario", query={"scenario": "normal_day"})
    edit_cells(at, "shifts", {shift_row(NORMAL, "gold", 1): {"agents": 3}})
    draft_id = at.query_params["draft"]
    path = ws / "drafts" / f"{draft_id}.yaml"
    text = path.read_text()
    if damage == "id":
        draft_id = "../../scenarios/normal_day"
    elif damage == "not yaml":
        path.write_text(text + "tables: [unclosed\n")
    elif damage == "bad cell":
        assert "'17:00', 3, '11:30" in text                    # gold's day shift
        path.write_text(text.replace("'17:00', 3, '11:30", "'17:00', many, '11:30"))
    else:
        path.write_text(yaml.safe_dump(small_scenario()))
    again = open_page("scenario", query={"scenario": "normal_day", "draft": draft_id})
    assert_clean(again)
    shown = [w.value for w in again.warning if "could not be restored" in w.value]
    assert shown and expected in shown[0], shown
    assert again.session_state["scn.edited"]["changes"] == 0
    assert "draft" not in again.query_params


def test_draft_tables_read_back_as_the_editors_gave_them(ws):
    base = load_scenario(NORMAL)
    tables = edits.tables_of(base)
    tables = dataclasses.replace(tables, scale=1.25, shifts=pd.concat(
        [tables.shifts, pd.DataFrame([{"group": "gold", "start": "18:00", "end": "23:00",
                                       "agents": None, "breaks": None}])],
        ignore_index=True))
    data = drafts.body(choice="normal_day", source="scenarios/normal_day.yaml", token="t",
                       tables=tables, changes=1)
    drafts.write("0" * 24, data)
    back = drafts.read("0" * 24)
    assert (back.choice, back.token, back.changes, back.tables.scale) == \
        ("normal_day", "t", 1, 1.25)
    for name in ("groups", "queues"):
        pd.testing.assert_frame_equal(getattr(back.tables, name), getattr(tables, name),
                                      check_dtype=True)
    shifts = back.tables.shifts
    assert shifts["agents"].isna().tolist() == [False] * (len(shifts) - 1) + [True]
    pd.testing.assert_frame_equal(shifts.iloc[:-1].astype({"agents": "int64"}),
                                  edits.tables_of(base).shifts)
    # Drafts nobody wrote for KEEP_DAYS go when another is written; their uploads with them.
    drafts.write_upload("1" * 24, "name: x\n")
    drafts.write("1" * 24, data)
    old = time.time() - (drafts.KEEP_DAYS + 1) * 86_400
    import os
    os.utime(ws / "drafts" / ("0" * 24 + ".yaml"), (old, old))
    os.utime(ws / "drafts" / ("1" * 24 + ".upload.yaml"), (old, old))  # written once: old
    drafts.write("2" * 24, data)
    assert files_under(ws / "drafts") == sorted(
        [f"{'1' * 24}.upload.yaml", f"{'1' * 24}.yaml", f"{'2' * 24}.yaml"])


# --------------------------------------------------------------------------------------------
# Issue 13, point 2: need against roster with the plan's pooled requirement
# --------------------------------------------------------------------------------------------
from app_pages import charts  # noqa: E402


def chart_lines(at: AppTest, index: int = 0) -> pd.DataFrame:
    """The data of the first layer (the lines) of a chart on the page, as Vega-Lite gets it."""
    import json

    import pyarrow as pa

    chart = at.get("vega_lite_chart")[index]
    spec = json.loads(chart.proto.spec)
    # A one-layer chart has its data at the top.
    name = (spec["layer"][0].get("data") or spec["data"])["name"]
    data = next(d for d in chart.proto.datasets if d.name == name)
    return pa.ipc.open_stream(data.data.data).read_all().to_pandas()


def line_of(lines: pd.DataFrame, series: str) -> pd.Series:
    part = lines[lines["series"] == series]
    return pd.Series(part["agents"].to_numpy(), index=pd.DatetimeIndex(part["interval_start"]))


BUSY = {"chat": [120.0] * 12, "phone": [90.0] * 12}   # busy enough for the plan to differ


def busy_rules() -> dict:
    rules = small_rules()
    rules["groups"]["phone_team"] = {"patterns": ["day"], "cost_per_hour": 1.0}
    return rules


def plan_on_the_plan_page(at: AppTest) -> None:
    """Plan the Scenario page's original with busy_rules(), 2 replications, 2 rounds."""
    at.switch_page("app_pages/plan.py").run()
    at.selectbox(key="keep.plan.scenario").set_value("Scenario page, original").run()
    at.text_area[0].input(yaml.safe_dump(busy_rules())).run()
    at.number_input(key="keep.plan.reps").set_value(2)
    at.number_input(key="keep.plan.rounds").set_value(2).run()
    at.button(key="plan.run").click().run()
    assert_clean(at)


def test_the_need_chart_draws_the_plans_pooled_requirement_beside_erlang(ws, tmp_path,
                                                                          monkeypatch):
    from planner.plan import plan_roster
    from sim.planning import planning_from_dict

    (ws / "whatifs").mkdir()
    small = ws / "whatifs" / "small.yaml"
    small.write_text(yaml.safe_dump(small_scenario(arrivals=BUSY)))
    sc = load_scenario(small)
    at = open_page("scenario", query={"whatif": "small"})
    assert_clean(at)
    lines = chart_lines(at)
    assert set(lines["series"]) == {charts.ERLANG_SERIES, charts.FLOOR_SERIES}  # no plan yet
    per = roster.coverage(sc).per_interval
    assert line_of(lines, charts.ERLANG_SERIES).tolist() == per["required"].tolist()
    assert line_of(lines, charts.FLOOR_SERIES).tolist() == pytest.approx(
        per["on_floor"].tolist())
    # The Plan page plans it; back on the Scenario page its requirement is the third line.
    plan_on_the_plan_page(at)
    on_plan_page = chart_lines(at)
    at.switch_page(PAGES["scenario"]).run()
    assert_clean(at)
    plan = plan_roster(sc, planning_from_dict(busy_rules(), file="rules"), reps=2, seed=1,
                       max_rounds=2, time_limit_s=30.0)
    expected = plan.cover.coverage.groupby("interval_start")["required"].sum()
    assert not np.allclose(expected.to_numpy(), per["required"])   # not Erlang's line again
    # The Plan page's own chart draws the same line, with the same names.
    assert list(pd.unique(on_plan_page["series"])) == [
        charts.ERLANG_SERIES, charts.PLAN_SERIES, charts.CURRENT_SERIES, charts.PLANNED_SERIES]
    np.testing.assert_allclose(line_of(on_plan_page, charts.PLAN_SERIES).to_numpy(),
                               expected.to_numpy())
    lines = chart_lines(at)
    assert list(pd.unique(lines["series"])) == [charts.ERLANG_SERIES, charts.PLAN_SERIES,
                                                charts.FLOOR_SERIES]
    got = line_of(lines, charts.PLAN_SERIES)
    assert got.index.equals(pd.DatetimeIndex(expected.index))
    assert got.to_numpy() == pytest.approx(expected.to_numpy())
    assert any("the Plan page's plan" in c.value for c in at.caption)
    table = shown_table(at, "interval_start", "plan", "on_floor")
    assert numbers(table["plan"]) == pytest.approx(np.round(expected.to_numpy(), 1))
    # Another demand (volume x 1.5): the plan is not for it.
    at.number_input(key="keep.scn.scale").set_value(1.5).run()
    assert charts.PLAN_SERIES not in set(chart_lines(at)["series"])
    # After a reload (no plan in the session), a plan run into the workspace is found.
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(busy_rules()))
    monkeypatch.chdir(tmp_path)
    assert cli(["plan", str(small), "--rules", str(rules), "--reps", "2", "--max-rounds", "2",
                "--jobs", "1", "--out", str(ws / "plan1")]) == 0
    fresh = open_page("scenario", query={"whatif": "small"})
    assert_clean(fresh)
    written = pd.read_csv(ws / "plan1" / "coverage.csv", parse_dates=["interval_start"])
    expected = written.groupby("interval_start")["required"].sum()
    got = line_of(chart_lines(fresh), charts.PLAN_SERIES)
    assert got.to_numpy() == pytest.approx(expected.to_numpy())
    assert not np.allclose(got.to_numpy(), per["required"])
    assert any(f"{ws.name}/plan1/" in c.value for c in fresh.caption)


def test_the_plan_opened_on_the_scenario_page_keeps_its_line_after_a_reload(ws):
    text = inputs.scenario_text(scenario_from_dict(small_scenario(arrivals=BUSY)))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["scn.base"] = {"text": text, "source": "small.yaml", "label": "upload",
                                    "token": "t"}
    at.run()
    plan_on_the_plan_page(at)
    at.button(key="plan.open_button").click().run()
    assert not at.exception
    coverage = at.session_state["plan.last"]["plan"].cover.coverage
    stem = next(p.stem for p in (ws / "whatifs").glob("planned*.yaml"))
    assert (ws / "plans" / stem / "coverage.csv").is_file()
    fresh = open_page("scenario", query={"whatif": stem})
    assert_clean(fresh)
    got = line_of(chart_lines(fresh), charts.PLAN_SERIES)
    assert got.to_numpy() == pytest.approx(
        coverage.groupby("interval_start")["required"].sum().to_numpy())
    assert any(f"plans/{stem}/" in c.value for c in fresh.caption)


# --------------------------------------------------------------------------------------------
# Issue 15, points 1-2 in the app: overflow delays and skill windows in the skills grid
# --------------------------------------------------------------------------------------------
def test_overflow_delays_and_skill_windows_are_edited_saved_and_reopened(ws):
    at = open_page("scenario", query={"scenario": "normal_day"})
    gold = group_row(NORMAL, "gold")
    edit_cells(at, "groups", {gold: {"presales": "2 after 30s"}})
    add_rows(at, "windows", [{"group": "gold", "from": "20:00", "to": "22:00",
                              "aftersales": "2", "presales": "1 after 10s"}])
    assert_clean(at)
    edited = at.session_state["scn.edited"]
    assert edited["changes"] == 2
    # Into the user's file, its comments kept: the skills line and one new line.
    assert changed_count(NORMAL.read_text(), edited["document"]) == 2
    # The simulation runs the edit: the figures of the edited scenario simulated.
    run_scenario(at)
    ran = scenario_from_dict(yaml.safe_load(edited["text"]))
    total = simulate(ran, seed=1, reps=2).queue_summary().set_index("queue").loc["all"]
    assert metric(at, "Service level") == f"{100 * total['service_level']:.1f}%"
    at.text_input(key="scn.whatif_name").input("gold overflow")
    at.button(key="scn.save").click().run()
    assert_clean(at)
    saved = load_scenario(ws / "whatifs" / "gold_overflow.yaml")
    g = saved.spec.agent_groups["gold"]
    assert g.skills == {"aftersales": 1, "presales": 2} and g.delay_s("presales") == 30.0
    assert g.delay_s("aftersales") == 0.0
    (w,) = g.allocation
    assert (w.from_, w.to, w.skills) == ("20:00", "22:00", {"aftersales": 2, "presales": 1})
    assert (w.delay_s("presales"), w.delay_s("aftersales")) == (10.0, 0.0)
    assert saved.spec.agent_groups == ran.spec.agent_groups

    again = open_page("scenario", query={"whatif": "gold_overflow"})    # reopened
    assert_clean(again)
    assert again.session_state["scn.edited"]["changes"] == 0
    groups = again.data_editor(key=editor_key(again, "groups")).value.set_index("group")
    assert groups.loc["gold", ["aftersales", "presales"]].tolist() == ["1", "2 after 30s"]
    windows = again.data_editor(key=editor_key(again, "windows")).value
    assert windows[["group", "from", "to", "aftersales", "presales", "complaints"]
                   ].values.tolist() == [["gold", "20:00", "22:00", "2", "1 after 10s", ""]]
    # A renamed group keeps its window; a delay set back to none, the window removed.
    edit_cells(again, "groups", {gold: {"group": "gold_team"}})
    assert_clean(again)
    assert again.data_editor(key=editor_key(again, "windows")).value["group"].tolist() == \
        ["gold_team"]
    renamed = scenario_from_dict(yaml.safe_load(again.session_state["scn.edited"]["text"]))
    assert renamed.spec.agent_groups["gold_team"].allocation[0].delay_s("presales") == 10.0
    edit_cells(again, "groups", {gold: {"presales": "2"}})
    add_rows(again, "windows", [], deleted=[0])
    assert_clean(again)
    back = scenario_from_dict(yaml.safe_load(again.session_state["scn.edited"]["text"]))
    team = back.spec.agent_groups["gold_team"]
    assert not team.has_delays and team.allocation == ()
    assert "allocation" not in again.session_state["scn.edited"]["document"]


@pytest.mark.parametrize("table, cells, expected", [
    ("groups", {"presales": "2 after soon"},
     "groups table, gold: preference '2 after soon' for presales is not a whole number"),
    ("groups", {"presales": "0"}, "groups table, gold: preference '0' for presales"),
    ("windows", {"from": "25:00", "aftersales": "1"},
     "windows table, row 1 (gold), from: '25:00' is not a time of day 'HH:MM'"),
    ("windows", {"to": None, "aftersales": "1"},
     "windows table, row 1 (gold), to: is empty (expected a time of day 'HH:MM'"),
    ("windows", {"aftersales": ""}, "windows table, row 1 (gold): a window needs at least "
                                    "one skill"),
    ("windows", {"aftersales": "1", "presales": "x"},
     "windows table, row 1 (gold): preference 'x' for presales"),
])
def test_a_bad_skill_or_window_cell_is_named_in_the_page(table, cells, expected):
    at = open_page("scenario", query={"scenario": "normal_day"})
    if table == "groups":
        edit_cells(at, "groups", {group_row(NORMAL, "gold"): cells})
    else:
        add_rows(at, "windows", [{"group": "gold", "from": "20:00", "to": "22:00", **cells}])
    assert not at.exception
    assert [e.value for e in at.error if e.value.startswith(expected)], \
        [e.value for e in at.error]


def test_overlapping_windows_are_named_by_their_key_path():
    at = open_page("scenario", query={"scenario": "normal_day"})
    add_rows(at, "windows", [{"group": "gold", "from": "20:00", "to": "22:00", "presales": "1"},
                             {"group": "gold", "from": "21:00", "to": "23:00",
                              "aftersales": "1"}])
    assert not at.exception
    message = at.error[0].value
    assert message.startswith("scenarios/normal_day.yaml: agent_groups.gold.allocation")
    assert "overlap" in message


def test_skill_cells_read_and_show_delays():
    assert edits.parse_skill("2", queue="q", where="w") == 2
    assert edits.parse_skill(" 2 after 30s ", queue="q", where="w") == {"preference": 2,
                                                                         "after_s": 30}
    assert edits.parse_skill("1 after 1.5 min", queue="q", where="w") == {"preference": 1,
                                                                           "after_s": 90}
    assert edits.parse_skill("3 after 0s", queue="q", where="w") == 3   # no delay: the int
    assert edits.parse_skill("", queue="q", where="w") is None
    assert edits.format_skill(2, 30.0) == "2 after 30s" and edits.format_skill(1) == "1"
    with pytest.raises(InputError, match=r"^w: preference '2 after' for q"):
        edits.parse_skill("2 after", queue="q", where="w")


def test_renaming_a_group_named_in_the_planning_rules_renames_its_rules_too():
    path = ROOT / "scenarios/singles_day.yaml"
    at = open_page("scenario")                                  # Singles' Day
    edit_cells(at, "groups", {group_row(path, "gold"): {"group": "gold_team"}})
    assert_clean(at)
    edited = at.session_state["scn.edited"]
    again = scenario_from_dict(yaml.safe_load(edited["text"]))
    base = load_scenario(path)
    assert again.spec.planning.groups["gold_team"] == base.spec.planning.groups["gold"]
    assert "gold" not in again.spec.planning.groups
    # Renamed in place in the file, the rules' comments kept.
    line = next(x for x in edited["document"].splitlines() if x.startswith("    gold_team:"))
    original = next(x for x in path.read_text().splitlines() if x.startswith("    gold:"))
    assert line.split("#")[1:] == original.split("#")[1:]


def test_a_draft_of_a_what_if_changed_since_says_so(ws):
    (ws / "whatifs").mkdir()
    small = ws / "whatifs" / "small.yaml"
    small.write_text(yaml.safe_dump(small_scenario()))
    at = open_page("scenario", query={"whatif": "small"})
    edit_cells(at, "shifts", {0: {"agents": 5}})
    assert_clean(at)
    # Someone else changes the what-if (the phone team's head count) before the reload.
    changed = small_scenario()
    changed["agent_groups"]["phone_team"]["shifts"][0]["agents"] = 9
    small.write_text(yaml.safe_dump(changed))
    again = reload(at)
    assert_clean(again)
    (notice,) = restored_notice(again)
    assert "has changed since" in notice
    shifts = scenario_from_dict(yaml.safe_load(again.session_state["scn.edited"]["text"])
                                ).spec.agent_groups
    assert shifts["chat_team"].shifts[0].agents == 5       # the draft's edit
    assert shifts["phone_team"].shifts[0].agents == 3      # the draft's tables, as said
    assert small.read_text() == yaml.safe_dump(changed)    # never written by the page


# --------------------------------------------------------------------------------------------
# Peak operations (call-backs, redials) and volume uncertainty in the app
# --------------------------------------------------------------------------------------------
UNCERTAINTY = {"cv": 0.1, "correlation": 0.8}
CALLBACK = {"offer_after_s": 20, "accept": 0.5, "promise_s": 900}
REDIAL = {"probability": 0.3, "after_s": 600}


def peak_ops_scenario() -> dict:
    """:func:`small_scenario` with volume uncertainty, and call-backs and redials on its phone
    queue, short-staffed so that both happen."""
    data = small_scenario()
    data["arrivals"]["uncertainty"] = dict(UNCERTAINTY)
    data["queues"]["phone"].update(callback=dict(CALLBACK), redial=dict(REDIAL))
    data["agent_groups"]["phone_team"]["shifts"][0]["agents"] = 2
    return data


def open_whatif(ws: Path, data: dict, name: str = "peak") -> AppTest:
    """The Scenario page on ``data`` saved as the what-if ``name`` of the workspace ``ws``."""
    (ws / "whatifs").mkdir(exist_ok=True)
    (ws / "whatifs" / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    at = open_page("scenario", query={"whatif": name})
    assert_clean(at)
    return at


def review_page(data: dict) -> tuple[AppTest, str]:
    """The review page on ``data`` as the Scenario page's original (source small.yaml)."""
    text = inputs.scenario_text(scenario_from_dict(data))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["scn.base"] = {"text": text, "source": "small.yaml", "label": "upload",
                                    "token": "t"}
    at.run()
    at.switch_page(PAGES["review"]).run()
    at.selectbox(key="keep.rev.scenario").set_value(ORIGINAL_LABEL)
    at.number_input(key="keep.rev.reps").set_value(2).run()
    assert_clean(at)
    return at, text


def test_the_review_takes_percentile_cases_and_closes_the_gap_of_the_case_nearest_x1():
    from planner.review import build_review, parse_cases, verdict_lines

    data = small_scenario()
    data["arrivals"]["uncertainty"] = dict(UNCERTAINTY)
    at, _ = review_page(data)
    at.text_input(key="keep.rev.cases").input("p10,p50,p90").run()
    assert_clean(at)
    # No base case: the library's default, the case nearest x1, and the page says which.
    assert any("the gap of **p50** is closed" in c.value for c in at.caption)
    at.button(key="rev.run").click().run()
    assert_clean(at)
    review = build_review(scenario_from_dict(data), cases=parse_cases("p10,p50,p90"), reps=2,
                          seed=1)
    assert review.fix_case == "p50" and review.fix is not None
    lines = verdict_lines(review)
    assert [c.case.name for c in review.cases] == ["p10", "p50", "p90"]
    assert any(line.startswith("fix for p50") for line in lines)
    shown = (at.success or at.warning)[0].value
    assert shown.replace("\u2003", "  ") == "\n\n".join(lines)
    # A case named explicitly must be one of them, as with --fix-case.
    at.text_input(key="keep.rev.fix").input("base").run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "close the gap of: 'base' is not one of the cases (p10, p50, p90)"]


def test_a_percentile_case_without_volume_uncertainty_shows_the_librarys_message():
    from planner.review import parse_cases, resolve_cases

    at, text = review_page(small_scenario())
    at.text_input(key="keep.rev.cases").input("low=0.8,p90").run()
    assert not at.exception
    with pytest.raises(InputError, match="'p90' is a percentile of the volume uncertainty"
                       ) as refused:
        resolve_cases(parse_cases("low=0.8,p90"),
                      inputs.scenario_from_text(text, source="small.yaml"))
    assert [e.value for e in at.error] == [str(refused.value)]


def test_an_edit_keeps_the_volume_uncertainty_callbacks_and_redials(ws):
    data = peak_ops_scenario()
    at = open_whatif(ws, data)
    edit_cells(at, "shifts", {0: {"agents": 5}})          # chat_team's shift
    assert_clean(at)
    assert at.session_state["scn.edited"]["changes"] == 1
    expected = load_scenario(ws / "whatifs" / "peak.yaml").with_changes(
        {"agent_groups.chat_team.shifts[0].agents": 5})

    def same_but_the_edit(scenario) -> None:
        assert scenario.spec.arrivals.uncertainty.model_dump() == UNCERTAINTY
        assert scenario.spec.queues["phone"].callback.model_dump() == CALLBACK
        assert scenario.spec.queues["phone"].redial.model_dump() == REDIAL
        assert scenario.spec.model_dump(exclude={"arrivals"}) == \
            expected.spec.model_dump(exclude={"arrivals"})
        assert scenario.spec.arrivals.uncertainty == expected.spec.arrivals.uncertainty
        assert np.allclose(scenario.contacts, expected.contacts)

    # What runs on the Scenario page and what Compare offers "as edited".
    same_but_the_edit(scenario_from_dict(yaml.safe_load(at.session_state["scn.edited"]["text"])))
    at.text_input(key="scn.whatif_name").input("peak edited")
    at.button(key="scn.save").click().run()
    assert_clean(at)
    saved = ws / "whatifs" / "peak_edited.yaml"
    doc = yaml.safe_load(saved.read_text())
    assert doc["arrivals"]["uncertainty"] == UNCERTAINTY
    assert (doc["queues"]["phone"]["callback"], doc["queues"]["phone"]["redial"]) == \
        (CALLBACK, REDIAL)
    same_but_the_edit(load_scenario(saved))


def test_the_simulation_shows_callbacks_and_redials_as_simulate_gives_them(ws):
    at = run_scenario(open_whatif(ws, peak_ops_scenario()))
    sim = simulate(load_scenario(ws / "whatifs" / "peak.yaml"), seed=1, reps=2)
    phone = sim.queue_summary().set_index("queue").loc["phone"]
    assert phone["callbacks_accepted"] > 0 and phone["redials"] > 0   # the test means something
    callbacks = shown_table(at, "queue", "callbacks_offered", "callbacks_kept_share")
    assert callbacks["queue"].tolist() == ["phone"]                   # chat offers none
    for column in ("callbacks_offered", "callbacks_accepted", "callbacks_made",
                   "callback_delay_s", "callback_delay_s_ci95"):
        assert numbers(callbacks[column])[0] == pytest.approx(phone[column]), column
    assert numbers(callbacks["callbacks_kept_share"])[0] == pytest.approx(
        100 * phone["callbacks_kept"] / phone["callbacks_accepted"])
    assert any("out of SL and abandonment" in c.value for c in at.caption)
    redials = shown_table(at, "queue", "customers", "redials")
    assert redials["queue"].tolist() == ["phone"]
    assert numbers(redials["customers"])[0] == pytest.approx(phone["customers"])
    assert numbers(redials["redials"])[0] == pytest.approx(phone["redials"])
    assert any("Redials are counted in offered" in c.value for c in at.caption)
    # Labelled for a planner, not by column name.
    assert headings(at, "callbacks_offered")["callbacks_kept_share"] == \
        "kept within the promise (of accepted)"
    assert headings(at, "redials")["customers"] == "customers (first calls)"


def headings(at: AppTest, column: str) -> dict[str, str]:
    """{column: heading shown} of the first table on the page with ``column``."""
    for d in at.dataframe:
        if column in d.value.columns:
            return {c: v.get("label", c) for c, v in json.loads(d.proto.columns).items()}
    raise AssertionError(f"no table with column {column!r}")


def test_no_callback_or_redial_tables_without_them():
    at = run_scenario(open_page("scenario", query={"scenario": "normal_day"}))
    shown_table(at, "queue", "offered", "max_queue")             # the summary is there
    columns = {c for d in at.dataframe for c in d.value.columns}
    assert not columns & {"callbacks_offered", "redials", "customers"}
    assert not any("out of SL and abandonment" in c.value for c in at.caption)


def test_compare_lists_callbacks_and_redials_beside_the_other_kpis(ws):
    at = open_whatif(ws, peak_ops_scenario())
    edit_cells(at, "shifts", {1: {"agents": 3}})          # phone_team's shift
    assert_clean(at)
    at.switch_page(PAGES["compare"]).run()
    at.multiselect(key="keep.cmp.chosen").set_value([ORIGINAL_LABEL, EDITED_LABEL]).run()
    at.number_input(key="keep.cmp.reps").set_value(2)
    at.button(key="cmp.run").click().run()
    assert_clean(at)
    side = shown_table(at, "scenario", "callbacks_offered", "redials").set_index("scenario")
    base = load_scenario(ws / "whatifs" / "peak.yaml")
    sims = {ORIGINAL_LABEL: simulate(base, seed=1, reps=2),
            EDITED_LABEL: simulate(base.with_changes(
                {"agent_groups.phone_team.shifts[0].agents": 3}), seed=1, reps=2)}
    for label, sim in sims.items():
        total = sim.queue_summary().set_index("queue").loc["all"]
        i = list(side.index).index(label)
        for column in ("callbacks_offered", "callbacks_accepted", "callback_delay_s",
                       "customers", "redials"):
            assert numbers(side[column])[i] == pytest.approx(total[column]), (label, column)
        assert numbers(side["callbacks_kept_share"])[i] == pytest.approx(
            100 * total["callbacks_kept"] / total["callbacks_accepted"])
    assert any(runs.CALLBACK_NOTE in c.value for c in at.caption)


def test_the_volume_tab_shows_the_uncertainty_in_force_and_the_run_what_it_drew(ws):
    from sim.replications import rep_seed
    from sim.uncertainty import volume_multipliers

    at = open_whatif(ws, peak_ops_scenario())
    volume = at.tabs[2]
    (shown,) = [i.value for i in volume.info]
    assert "cv **0.1**" in shown and "correlation **0.8**" in shown
    assert "include forecast risk" in shown
    run_scenario(at)
    scenario = load_scenario(ws / "whatifs" / "peak.yaml")
    drawn = np.array([volume_multipliers(scenario, rep_seed(1, r)) for r in range(2)])
    (line,) = [c.value for c in at.caption if c.value.startswith("Volume uncertainty")]
    assert "the ± intervals include forecast risk" in line
    assert f"chat x{drawn[:, 0].min():.2f} to x{drawn[:, 0].max():.2f}" in line
    # Without it, the tab says the intervals are Poisson noise only.
    plain = open_page("scenario", query={"scenario": "normal_day"})
    assert not plain.tabs[2].info
    assert any("No volume uncertainty" in c.value for c in plain.tabs[2].caption)
