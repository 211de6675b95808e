"""The staffing table: agents per interval and queue, checked against the Erlang functions,
the known textbook answer, the targets file format and the shipped scenarios."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from planner import erlang
from sim.errors import InputError
from sim.forecast import Forecast, forecast_from_frame, read_forecast
from planner.staffing import (TABLE_COLUMNS, QueuePlan, Target, interval_totals, peak_summary,
                              read_targets, scheduled_agents, staffing_table)

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
MEASURES = ["service_level", "asa_s", "p_wait", "p_abandon", "occupancy"]


def one_interval(contacts: float, *, interval_min: float = 30.0, aht_s=None) -> Forecast:
    frame = {"interval_start": ["2026-11-11T00:00"], "queue": ["q"], "contacts": [contacts]}
    if aht_s is not None:
        frame["aht_s"] = [aht_s]
    return forecast_from_frame(pd.DataFrame(frame), interval_min=interval_min)


def day(queues: dict[str, list[float]], *, interval_min: float = 30.0) -> Forecast:
    """A forecast with the given contacts per interval for each queue."""
    n = len(next(iter(queues.values())))
    starts = pd.date_range("2026-11-11", periods=n, freq=f"{interval_min:g}min")
    rows = [{"interval_start": t, "queue": q, "contacts": c}
            for q, cs in queues.items() for t, c in zip(starts, cs)]
    return forecast_from_frame(pd.DataFrame(rows), interval_min=interval_min)


KNOWN = QueuePlan(aht_s=180, shrinkage=0.3, target=Target(service_level=0.8, within_s=20))


@pytest.mark.parametrize("module", ["planner.staffing", "sim.forecast", "sim.files",
                                    "sim.errors"])
def test_public_names_exist(module):
    # `from planner.staffing import *` failed while __all__ listed a TargetsFile that was gone.
    namespace: dict = {}
    exec(f"from {module} import *", namespace)
    assert all(name in namespace for name in __import__(module, fromlist=["_"]).__all__)


# --------------------------------------------------------------------------------------------
# The known answer and the shrinkage rounding guard
# --------------------------------------------------------------------------------------------
def test_known_answer_100_calls_in_30_min():
    table = staffing_table(one_interval(100), {"q": KNOWN})
    assert list(table.columns) == list(TABLE_COLUMNS)
    row = table.iloc[0]
    assert (row["model"], row["channel"]) == ("erlang_c", "voice")
    assert row["traffic_erl"] == pytest.approx(10.0)
    assert row["agents"] == 14
    assert row["scheduled"] == 20
    assert row["service_level"] == pytest.approx(0.888, abs=5e-4)
    assert row["occupancy"] == pytest.approx(0.714, abs=5e-4)
    assert row["p_wait"] == pytest.approx(0.174, abs=5e-4)
    assert math.isnan(row["p_abandon"])


def test_scheduled_rounding_guard():
    # The known answer: 14 agents at 30% shrinkage are 20 scheduled.
    assert int(scheduled_agents(14, 0.3)) == 20
    # In binary floating point 21 / (1 - 0.3) is 30.000000000000004: a plain ceil says 31.
    assert 21 / (1 - 0.3) > 30
    assert int(scheduled_agents(21, 0.3)) == 30
    assert scheduled_agents(np.array([0, 14, 15, 21]), 0.3).tolist() == [0, 20, 22, 30]


@pytest.mark.parametrize("shrinkage", ["0", "0.1", "0.25", "0.3", "0.33", "0.35"])
def test_scheduled_is_the_smallest_count_that_leaves_enough_agents(shrinkage):
    s = Fraction(shrinkage)  # exact decimal: the planner's intent, not its binary rounding
    agents = np.arange(0, 500)
    expected = [math.ceil(n / (1 - s)) for n in agents]
    assert scheduled_agents(agents, float(shrinkage)).tolist() == expected


# --------------------------------------------------------------------------------------------
# The table equals the Erlang functions it is built on
# --------------------------------------------------------------------------------------------
CONTACTS = {  # a small day with a quiet interval and a spike
    "voice": [0, 12, 40, 100, 180, 35],
    "patient": [3, 0, 55, 90, 260, 20],
    "impatient": [5, 18, 0, 70, 300, 8],
}
PLANS = {
    "voice": QueuePlan(aht_s=240, shrinkage=0.3,
                       target=Target(service_level=0.8, within_s=20)),
    "patient": QueuePlan(aht_s=360, shrinkage=0.32,
                         target=Target(service_level=0.7, within_s=30, max_asa_s=25,
                                       max_occupancy=0.85)),
    "impatient": QueuePlan(aht_s=300, patience_s=120, shrinkage=0.3,
                           target=Target(service_level=0.8, within_s=20, max_abandon=0.05,
                                         max_occupancy=0.85)),
}


@pytest.fixture(scope="module")
def multi():
    forecast = day(CONTACTS)
    return forecast, staffing_table(forecast, PLANS)


def test_table_has_every_interval_and_queue_sorted(multi):
    forecast, table = multi
    assert len(table) == 6 * 3
    assert table[["interval_start", "queue"]].equals(
        table.sort_values(["interval_start", "queue"])[["interval_start", "queue"]])
    assert set(table["queue"]) == set(CONTACTS)


@pytest.mark.parametrize("queue", list(CONTACTS))
def test_agents_equal_agents_needed_elementwise(multi, queue):
    forecast, table = multi
    rows = table[table["queue"] == queue]
    plan, t = PLANS[queue], PLANS[queue].target
    expected = erlang.agents_needed(
        rate_per_s=np.array(CONTACTS[queue], dtype=float) / 1800.0, aht_s=plan.aht_s,
        target_s=t.within_s, service_level=t.service_level, patience_s=plan.patience_s,
        max_asa_s=t.max_asa_s, max_abandon=t.max_abandon, max_occupancy=t.max_occupancy)
    assert rows["agents"].tolist() == expected.tolist()
    assert rows["scheduled"].tolist() == scheduled_agents(expected, plan.shrinkage).tolist()
    assert rows["contacts"].tolist() == CONTACTS[queue]
    assert rows["traffic_erl"].to_numpy() == pytest.approx(
        np.array(CONTACTS[queue]) / 1800.0 * plan.aht_s)


@pytest.mark.parametrize("queue", ["voice", "patient"])
def test_erlang_c_measures_equal_the_erlang_functions(multi, queue):
    _, table = multi
    rows = table[(table["queue"] == queue) & (table["contacts"] > 0)]
    plan = PLANS[queue]
    a = rows["traffic_erl"].to_numpy()
    n = rows["agents"].to_numpy(dtype=float)
    assert (rows["model"] == "erlang_c").all()
    np.testing.assert_allclose(rows["service_level"], erlang.service_level(
        traffic=a, agents=n, aht_s=plan.aht_s, target_s=plan.target.within_s), rtol=1e-12)
    np.testing.assert_allclose(rows["asa_s"], erlang.asa_s(traffic=a, agents=n,
                                                           aht_s=plan.aht_s), rtol=1e-12)
    np.testing.assert_allclose(rows["p_wait"], erlang.erlang_c(a, n), rtol=1e-12)
    np.testing.assert_allclose(rows["occupancy"], a / n, rtol=1e-12)
    assert rows["p_abandon"].isna().all()  # Erlang C has no abandonment
    # And the targets hold, at the agents found and not at one fewer.
    assert (rows["service_level"] >= plan.target.service_level).all()
    if plan.target.max_asa_s is not None:
        assert (rows["asa_s"] <= plan.target.max_asa_s).all()


def test_erlang_a_used_when_patience_is_set(multi):
    _, table = multi
    rows = table[(table["queue"] == "impatient") & (table["contacts"] > 0)]
    plan = PLANS["impatient"]
    assert (rows["model"] == "erlang_a").all()
    r = erlang.erlang_a(rate_per_s=rows["contacts"].to_numpy() / 1800.0, aht_s=plan.aht_s,
                        patience_s=plan.patience_s, agents=rows["agents"].to_numpy(dtype=float),
                        target_s=plan.target.within_s)
    for column in MEASURES:
        np.testing.assert_allclose(rows[column], getattr(r, column), rtol=1e-12,
                                   err_msg=column)
    p_ab = rows["p_abandon"].to_numpy()
    assert np.all((p_ab > 0) & (p_ab <= plan.target.max_abandon))
    # The other queues, without patience, stay Erlang C.
    assert set(table.loc[table["queue"] != "impatient", "model"]) == {"erlang_c"}


def test_zero_contacts_need_no_agents_and_have_no_measures(multi):
    _, table = multi
    idle = table[table["contacts"] == 0]
    assert len(idle) == 3  # one quiet interval per queue
    assert (idle["agents"] == 0).all() and (idle["scheduled"] == 0).all()
    assert idle[MEASURES].isna().all().all()
    busy = table[table["contacts"] > 0]
    assert busy[["service_level", "asa_s", "p_wait", "occupancy"]].notna().all().all()


def test_interval_totals_sum_over_queues(multi):
    _, table = multi
    totals = interval_totals(table)
    assert list(totals.columns) == ["interval_start", "contacts", "agents", "scheduled"]
    assert len(totals) == 6
    for i, start in enumerate(totals["interval_start"]):
        rows = table[table["interval_start"] == start]
        assert totals["contacts"].iloc[i] == sum(CONTACTS[q][i] for q in CONTACTS)
        assert totals["agents"].iloc[i] == rows["agents"].sum()
        assert totals["scheduled"].iloc[i] == rows["scheduled"].sum()


def test_peak_summary(multi):
    forecast, table = multi
    totals = interval_totals(table)
    summary = peak_summary(table, interval_min=forecast.interval_min)
    i = int(totals["scheduled"].idxmax())
    assert summary["peak_interval_start"] == pd.Timestamp("2026-11-11T02:00")  # the spike
    assert summary["peak_scheduled"] == totals["scheduled"].iloc[i]
    assert summary["peak_agents"] == totals["agents"].iloc[i]
    assert summary["contacts"] == sum(map(sum, CONTACTS.values()))
    assert summary["scheduled_agent_hours"] == pytest.approx(totals["scheduled"].sum() * 0.5)


# --------------------------------------------------------------------------------------------
# Handle times, chat, occupancy cap
# --------------------------------------------------------------------------------------------
def test_forecast_aht_overrides_the_plan_and_blank_cells_fall_back(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("interval_start,queue,contacts,aht_s\n"
                    "2026-11-11T00:00,q,100,\n"
                    "2026-11-11T00:30,q,100,360\n"
                    "2026-11-11T01:00,q,100,90\n")
    table = staffing_table(read_forecast(path), {"q": KNOWN})
    assert table["aht_s"].tolist() == [180.0, 360.0, 90.0]
    expected = erlang.agents_needed(rate_per_s=100 / 1800, aht_s=np.array([180, 360, 90.0]),
                                    target_s=20, service_level=0.8)
    assert table["agents"].tolist() == expected.tolist()
    assert table["agents"].iloc[0] == 14  # the plan's 180 s: the known answer
    assert table["traffic_erl"].tolist() == pytest.approx([10.0, 20.0, 5.0])


def test_aht_missing_everywhere_is_an_input_error():
    with pytest.raises(InputError, match=r"^forecast: aht_s: queue 'q' has intervals without "
                                         r"aht_s and no default handle time \(expected"):
        staffing_table(one_interval(10), {"q": QueuePlan()})


def test_no_target_at_all_is_an_input_error():
    plan = QueuePlan(aht_s=180, target=Target(service_level=None, within_s=None))
    with pytest.raises(InputError, match=r"queue 'q': give at least one target"):
        staffing_table(one_interval(10), {"q": plan})


@pytest.mark.parametrize("slowdown", [0.0, 0.15, 0.4])
@pytest.mark.parametrize("patience_s", [None, 90.0])
def test_chat_concurrency_approximation(slowdown, patience_s):
    contacts = [1, 20, 90, 240, 600]
    forecast = day({"chat": contacts})
    target = Target(service_level=0.8, within_s=30, max_occupancy=0.85)
    plan = QueuePlan(channel="chat", aht_s=420, patience_s=patience_s, chat_concurrency=3,
                     chat_slowdown=slowdown, target=target)
    table = staffing_table(forecast, {"chat": plan})
    slowed = 420 * (1 + slowdown * (3 - 1))
    slots = erlang.agents_needed(rate_per_s=np.array(contacts) / 1800.0, aht_s=slowed,
                                 target_s=30, service_level=0.8, patience_s=patience_s,
                                 max_occupancy=0.85)
    assert table["agents"].tolist() == np.ceil(slots / 3).astype(int).tolist()
    assert table["channel"].eq("chat").all()
    assert table["aht_s"].eq(420).all()  # the handle time column is before the slowdown
    assert table["traffic_erl"].to_numpy() == pytest.approx(np.array(contacts) / 1800 * slowed)
    # Measures are of the agents' 3 slots each.
    assert (table["occupancy"] <= 0.85 + 1e-12).all()
    assert (table["service_level"] >= 0.8).all()


@pytest.mark.parametrize("patience_s", [None, 120.0])
def test_chat_with_one_chat_at_a_time_is_voice(patience_s):
    forecast = day({"q": [3, 40, 100, 333]})
    common = dict(aht_s=420, patience_s=patience_s, chat_slowdown=0.15, shrinkage=0.3)
    voice = staffing_table(forecast, {"q": QueuePlan(channel="voice", **common)})
    chat = staffing_table(forecast, {"q": QueuePlan(channel="chat", chat_concurrency=1,
                                                    **common)})
    pd.testing.assert_frame_equal(voice.drop(columns="channel"), chat.drop(columns="channel"))


def test_chat_concurrency_needs_fewer_agents_than_voice():
    forecast = day({"q": [50, 100, 200]})
    voice = staffing_table(forecast, {"q": QueuePlan(aht_s=420)})
    chat = staffing_table(forecast, {"q": QueuePlan(channel="chat", aht_s=420,
                                                    chat_concurrency=3, chat_slowdown=0.15)})
    assert (chat["agents"] < voice["agents"]).all()


def test_max_occupancy_is_respected():
    capped = QueuePlan(aht_s=180, shrinkage=0.3,
                       target=Target(service_level=0.8, within_s=20, max_occupancy=0.7))
    row = staffing_table(one_interval(100), {"q": capped}).iloc[0]
    # 14 agents meet 80/20 at occupancy 0.714 > 0.7: the cap needs ceil(10 / 0.7) = 15.
    assert row["agents"] == 15
    assert row["occupancy"] == pytest.approx(10 / 15)
    assert row["scheduled"] == 22


@pytest.mark.parametrize("patience_s", [None, 60.0, 600.0])
def test_max_occupancy_holds_in_every_interval(patience_s):
    contacts = [2, 30, 100, 250, 700, 1500]
    plan = QueuePlan(aht_s=300, patience_s=patience_s,
                     target=Target(service_level=0.5, within_s=60, max_occupancy=0.75))
    table = staffing_table(day({"q": contacts}), {"q": plan})
    assert (table["occupancy"] <= 0.75 + 1e-12).all()
    assert (table["agents"] >= np.ceil(table["traffic_erl"] / 0.75 - 1e-9)).all()


# --------------------------------------------------------------------------------------------
# The targets file
# --------------------------------------------------------------------------------------------
def write_yaml(tmp_path: Path, text: str, name: str = "targets.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


TARGETS = """\
defaults:
  shrinkage: 0.3
  patience_s: 200
  target: {service_level: 0.8, within_s: 20, max_occupancy: 0.85}
queues:
  presales: {channel: chat, aht_s: 420, chat_concurrency: 3, chat_slowdown: 0.15,
             target: {within_s: 30}}
  complaints:
    aht_s: 720
    shrinkage: 0.35
    target: {max_occupancy: 0.7}
  plain:
"""


def test_read_targets_merges_defaults_key_by_key(tmp_path):
    plans = read_targets(write_yaml(tmp_path, TARGETS))
    assert list(plans) == ["presales", "complaints", "plain"]
    assert all(isinstance(p, QueuePlan) for p in plans.values())
    pre, com, plain = plans["presales"], plans["complaints"], plans["plain"]
    assert (pre.channel, pre.aht_s, pre.chat_concurrency, pre.chat_slowdown) == \
        ("chat", 420, 3, 0.15)
    # within_s from the queue; service_level and max_occupancy still from the defaults.
    assert pre.target == Target(service_level=0.8, within_s=30, max_occupancy=0.85)
    assert (pre.shrinkage, pre.patience_s) == (0.3, 200)
    assert com.target == Target(service_level=0.8, within_s=20, max_occupancy=0.7)
    assert com.shrinkage == 0.35 and com.channel == "voice"
    # A queue with no settings takes the defaults.
    assert plain == QueuePlan(shrinkage=0.3, patience_s=200,
                              target=Target(service_level=0.8, within_s=20,
                                            max_occupancy=0.85))


def test_command_line_overrides_win_for_every_queue(tmp_path):
    plans = read_targets(write_yaml(tmp_path, TARGETS),
                         overrides={"shrinkage": 0.1, "aht_s": 99,
                                    "target": {"within_s": 10}})
    for plan in plans.values():
        assert (plan.shrinkage, plan.aht_s, plan.target.within_s) == (0.1, 99, 10)
    # Target keys not overridden keep the file's values.
    assert plans["complaints"].target.max_occupancy == 0.7
    assert plans["presales"].target.service_level == 0.8


def test_targets_without_defaults(tmp_path):
    plans = read_targets(write_yaml(tmp_path, "queues:\n  a: {aht_s: 60}\n"))
    assert plans == {"a": QueuePlan(aht_s=60)}  # the model's own defaults: 80% in 20 s


BAD_TARGETS = {
    "bad value deep": (
        "queues:\n  presales: {aht_s: 400, target: {within_s: -5}}\n",
        r"queues\.presales\.target\.within_s: Input should be greater than or equal to 0, "
        r"got -5"),
    "not a number": (
        "queues:\n  presales: {aht_s: 400, target: {within_s: soon}}\n",
        r"queues\.presales\.target\.within_s: Input should be a valid number.*got 'soon'"),
    "unknown queue key": (
        "queues:\n  presales: {aht_s: 400, patience: 30}\n",
        r"queues\.presales\.patience: unknown key \(check its spelling"),
    "unknown target key": (
        "queues:\n  presales: {aht_s: 400, target: {sl: 0.8}}\n",
        r"queues\.presales\.target\.sl: unknown key"),
    "unknown top key": (
        "defaults: {}\nqueue:\n  presales: {aht_s: 400}\n",
        r"queue: unknown key \(expected 'defaults' and 'queues'\)"),
    "unknown key in defaults": (
        "defaults: {shrinkag: 0.3}\nqueues:\n  presales: {aht_s: 400}\n",
        r"defaults\.shrinkag: unknown key"),
    "bad value in defaults": (
        "defaults: {shrinkage: 1.5}\nqueues:\n  a: {aht_s: 400}\n",
        r"defaults\.shrinkage: Input should be less than 1, got 1\.5"),
    "bad channel": (
        "queues:\n  presales: {aht_s: 400, channel: email}\n",
        r"queues\.presales\.channel: Input should be 'voice' or 'chat', got 'email'"),
    "service level 1": (
        "queues:\n  a: {aht_s: 60, target: {service_level: 1}}\n",
        r"queues\.a\.target\.service_level: Input should be less than 1"),
    "fractional concurrency": (
        "queues:\n  a: {aht_s: 60, chat_concurrency: 2.5}\n",
        r"queues\.a\.chat_concurrency: .*fractional part"),
    "no queues": (
        "defaults: {}\n",
        r"queues: expected a mapping of queue ids to their settings"),
    "queues as a list": (
        "queues:\n  - presales\n",
        r"queues: expected a mapping of queue ids to their settings"),
    "queue settings not a mapping": (
        "queues:\n  presales: 5\n",
        r"queues\.presales: expected a mapping of settings"),
    "defaults not a mapping": (
        "defaults: [1]\nqueues: {a: {}}\n",
        r"defaults: expected a mapping of queue settings"),
    "top level a list": (
        "- a\n- b\n",
        r"expected a mapping of keys to values at the top, found list"),
    "empty file": (
        "",
        r"expected a mapping of keys to values at the top"),
    "invalid YAML": (
        "queues:\n  presales: {aht_s: 400\n  b: 1\n",
        r"line 3, column 4: not valid YAML"),
    "tab indent": (
        "queues:\n\tpresales: {}\n",
        r"line 2, column 1: not valid YAML \(found character '\\t'"),
}


@pytest.mark.parametrize("text,message", list(BAD_TARGETS.values()), ids=list(BAD_TARGETS))
def test_bad_targets_name_file_and_key_path(tmp_path, text, message):
    path = write_yaml(tmp_path, text)
    with pytest.raises(InputError, match="^" + str(path).replace(".", r"\.") + ": " + message):
        read_targets(path)


def test_bad_targets_field_attribute(tmp_path):
    path = write_yaml(tmp_path, "queues:\n  presales: {aht_s: 400, target: {within_s: -5}}\n")
    with pytest.raises(InputError) as info:
        read_targets(path)
    assert info.value.field == "queues.presales.target.within_s"
    assert info.value.file == str(path)


def test_targets_binary_and_missing(tmp_path):
    binary = tmp_path / "t.yaml"
    binary.write_bytes(b"\x89PNG\x00\xff\xfe")
    with pytest.raises(InputError, match=r"t\.yaml: not a text file \(expected UTF-8 YAML\)"):
        read_targets(binary)
    with pytest.raises(InputError, match=r"nope\.yaml: file not found"):
        read_targets(tmp_path / "nope.yaml")


# --------------------------------------------------------------------------------------------
# The shipped scenarios
# --------------------------------------------------------------------------------------------
def expected_targets(path: Path) -> dict[str, dict]:
    """Each queue's target as the file states it, merged by hand (not by read_targets)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    defaults = data.get("defaults", {})
    out = {}
    for queue, settings in data["queues"].items():
        target = {"service_level": 0.8, "within_s": 20.0}  # Target's own defaults
        target.update(defaults.get("target", {}))
        target.update((settings or {}).get("target", {}))
        out[queue] = target
    return out


@pytest.fixture(scope="module", params=["normal_day", "singles_day"])
def scenario(request):
    forecast = read_forecast(SCENARIOS / f"{request.param}_forecast.csv")
    targets_path = SCENARIOS / f"{request.param}_targets.yaml"
    plans = read_targets(targets_path)
    return forecast, plans, staffing_table(forecast, plans), expected_targets(targets_path)


def test_scenario_table_covers_every_queue_and_interval(scenario):
    forecast, plans, table, targets = scenario
    assert forecast.interval_min in (15, 30)
    assert set(forecast.queues) == set(plans) == set(targets) == set(table["queue"])
    assert len(table) == len(forecast.starts) * len(forecast.queues)
    assert not table.duplicated(["interval_start", "queue"]).any()
    assert table["contacts"].sum() == pytest.approx(forecast.frame["contacts"].sum())
    assert (table["scheduled"] >= table["agents"]).all()
    assert (table.loc[table["contacts"] > 0, "agents"] >= 1).all()


def test_scenario_meets_every_target_in_every_interval(scenario):
    forecast, plans, table, targets = scenario
    busy = table[table["contacts"] > 0]
    assert len(busy) > 0
    for queue, target in targets.items():
        rows = busy[busy["queue"] == queue]
        assert (rows["model"] == ("erlang_a" if plans[queue].patience_s else "erlang_c")).all()
        assert (rows["service_level"] >= target["service_level"] - 1e-12).all(), queue
        if target.get("max_occupancy") is not None:
            assert (rows["occupancy"] <= target["max_occupancy"] + 1e-12).all(), queue
        if target.get("max_asa_s") is not None:
            assert (rows["asa_s"] <= target["max_asa_s"] * (1 + 1e-12)).all(), queue
        if target.get("max_abandon") is not None:
            assert (rows["p_abandon"] <= target["max_abandon"] + 1e-12).all(), queue
    # The SL column is measured at the file's threshold: recompute one queue's from scratch.
    queue = sorted(targets)[0]
    plan = plans[queue]
    rows = busy[busy["queue"] == queue]
    assert plan.patience_s is not None  # the shipped queues all have a patience
    k = plan.chat_concurrency if plan.channel == "chat" else 1
    r = erlang.erlang_a(rate_per_s=rows["contacts"].to_numpy() / (forecast.interval_min * 60),
                        aht_s=plan.aht_s * (1 + plan.chat_slowdown * (k - 1)),
                        patience_s=plan.patience_s, agents=rows["agents"].to_numpy() * k,
                        target_s=targets[queue]["within_s"])
    np.testing.assert_allclose(rows["service_level"], r.service_level, rtol=1e-12)


def test_an_abandonment_target_without_patience_is_an_error():
    frame = pd.DataFrame({"interval_start": ["2026-11-11T00:00", "2026-11-11T00:30"],
                          "queue": ["q", "q"], "contacts": [50, 60]})
    fc = forecast_from_frame(frame, source="f.csv")
    plan = QueuePlan(aht_s=180, target=Target(service_level=0.8, within_s=20, max_abandon=0.05))
    with pytest.raises(InputError, match="queue 'q' has an abandonment target"):
        staffing_table(fc, {"q": plan})
