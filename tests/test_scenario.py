"""The scenario format: the shipped scenarios load, every mistake is an InputError naming the file
and the key path, ``with_changes`` re-validates, and the CLI turns errors into one line."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from planner.cli import main
from sim.errors import InputError
from sim.scenario import Scenario, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = {"normal_day": "2026-11-04", "singles_day": "2026-11-11"}
QUEUES = ("presales", "aftersales", "complaints", "privileged")


# ------------------------------------------------------------------------------------------------
# Shipped scenarios
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=sorted(SHIPPED))
def shipped(request: pytest.FixtureRequest) -> tuple[str, Scenario]:
    return request.param, load_scenario(ROOT / "scenarios" / f"{request.param}.yaml")


def test_shipped_scenario_matches_its_forecast(shipped: tuple[str, Scenario]) -> None:
    name, sc = shipped
    assert sc.queues == QUEUES
    assert sc.groups[:1] == ("intern",) and "team_lead" in sc.groups
    assert sc.n_intervals == 48
    assert sc.interval_s == 1800.0 and sc.horizon_s == 86_400.0
    assert sc.spec.start == pd.Timestamp(f"{SHIPPED[name]}T00:00")
    assert sc.interval_starts[0] == sc.spec.start
    csv = pd.read_csv(ROOT / "scenarios" / f"{name}_forecast.csv")
    per_queue = csv.groupby("queue")["contacts"].sum()
    for i, q in enumerate(sc.queues):
        assert sc.contacts[i].sum() == pytest.approx(per_queue[q])
    assert sc.contacts.sum() == pytest.approx(csv["contacts"].sum())
    assert not sc.contacts.flags.writeable


def test_shipped_scenario_scales(shipped: tuple[str, Scenario]) -> None:
    name, sc = shipped
    doubled = load_scenario(ROOT / "scenarios" / f"{name}.yaml", scale=2.0)
    np.testing.assert_allclose(doubled.contacts, 2.0 * sc.contacts)


# ------------------------------------------------------------------------------------------------
# with_changes
# ------------------------------------------------------------------------------------------------
def test_with_changes_replaces_values_and_keeps_the_rest() -> None:
    sc = load_scenario(ROOT / "scenarios" / "normal_day.yaml")
    changed = sc.with_changes({"agent_groups.gold.shifts[0].agents": 5, "arrivals.scale": 1.3})
    assert changed.spec.agent_groups["gold"].shifts[0].agents == 5
    assert sc.spec.agent_groups["gold"].shifts[0].agents == 3      # the original is untouched
    assert changed.spec.arrivals.scale == 1.3
    np.testing.assert_allclose(changed.contacts, 1.3 * sc.contacts)
    assert changed.spec.agent_groups["gold"].shifts[1] == sc.spec.agent_groups["gold"].shifts[1]
    assert changed.spec.queues == sc.spec.queues and changed.spec.transfers == sc.spec.transfers
    # Scale applies to the unscaled volumes: going back to 1 gives the original.
    np.testing.assert_allclose(changed.with_changes({"arrivals.scale": 1.0}).contacts,
                               sc.contacts)


@pytest.mark.parametrize(("changes", "match"), [
    ({"agent_groups.golden.shifts[0].agents": 5},
     r"agent_groups\.golden\.shifts\[0\]\.agents: no such key"),
    ({"agent_groups.gold.shifts[9].agents": 5}, r"shifts\[9\]\.agents: no such key"),
    ({"agent_groups..gold": 5}, r"not a key path"),
    ({"agent_groups.gold.shifts[0].agents": -5},
     r"agent_groups\.gold\.shifts\[0\]\.agents: .*greater than or equal to 0, got -5$"),
    ({"arrivals.scale": -1}, r"arrivals\.scale: .*non-negative number, got -1$"),
])
def test_with_changes_validates(changes: dict[str, Any], match: str) -> None:
    sc = load_scenario(ROOT / "scenarios" / "normal_day.yaml")
    with pytest.raises(InputError, match=re.escape(sc.source) + ": .*" + match):
        sc.with_changes(changes)


# ------------------------------------------------------------------------------------------------
# Validation: every mistake names the file and the key path
# ------------------------------------------------------------------------------------------------
BASE: dict[str, Any] = {
    "start": "2026-11-11T00:00", "interval_min": 30,
    "queues": {"a": {"aht_s": 100}, "b": {"aht_s": 100, "patience_s": 60}},
    "arrivals": {"a": [2, 0], "b": [1, 1]},
    "agent_groups": {"g": {"skills": {"a": 1, "b": 2},
                           "shifts": [{"start": "00:00", "end": "24:00", "agents": 1}]}},
}
FORECAST = "interval_start,queue,contacts\n2026-11-11T00:00,a,2\n2026-11-11T00:30,a,0\n" \
           "2026-11-11T00:00,b,1\n2026-11-11T00:30,b,1\n"


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change to the base data at a dotted path (list items by number)."""
    def change(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = data
        for p in parents:
            node = node[p]
        node[last] = value
    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for p in parents:
            node = node[p]
        del node[last]
    return change


def _write(tmp_path: Path, data: dict[str, Any], *, csv: str | None = None) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    if csv is not None:
        (tmp_path / "fc.csv").write_text(csv, encoding="utf-8")
    return path


SCENARIO_ERRORS = [
    # (id, change, key path, problem)
    ("typo", _set("queues.a.priorty", 2), "queues.a.priorty", r"unknown key"),
    ("typo-top", _set("interval", 30), "interval", r"unknown key"),
    ("typo-transfer", _set("transfers", [{"from": "a", "to": "b", "probability": 0.1,
                                          "prob": 0.1}]),
     "transfers[0].prob", r"unknown key"),
    ("wrong-type", _set("interval_min", "thirty"), "interval_min",
     r"valid number.*got 'thirty'$"),
    ("wrong-type-agents", _set("agent_groups.g.shifts.0.agents", "many"),
     "agent_groups.g.shifts[0].agents", r"valid integer.*got 'many'$"),
    ("missing", _drop("queues.a.aht_s"), "queues.a.aht_s", r"required key is missing"),
    ("negative-agents", _set("agent_groups.g.shifts.0.agents", -1),
     "agent_groups.g.shifts[0].agents", r"greater than or equal to 0, got -1$"),
    ("unknown-skill", _set("agent_groups.g.skills.c", 1), "agent_groups.g.skills",
     r"unknown queue 'c' \(expected one of a, b\)"),
    ("bad-preference", _set("agent_groups.g.skills.a", 0), "agent_groups.g.skills",
     r"preference of 'a' must be a whole number >= 1, got 0"),
    ("speed-not-a-skill", _set("agent_groups.g.speed", {"c": 1.2}), "agent_groups.g.speed",
     r"'c' is not one of this group's skills"),
    ("transfer-unknown-to", _set("transfers", [{"from": "a", "to": "c", "probability": 0.1}]),
     "transfers[0].to", r"unknown queue 'c'"),
    ("transfer-unknown-from", _set("transfers", [{"from": "x", "to": "a", "probability": 0.1}]),
     "transfers[0].from", r"unknown queue 'x'"),
    ("transfer-to-itself", _set("transfers", [{"from": "a", "to": "a", "probability": 0.1}]),
     "transfers[0]", r"must move to another queue"),
    ("transfer-sum", _set("transfers", [{"from": "a", "to": "b", "probability": 0.7},
                                         {"from": "a", "to": "b", "probability": 0.6}]),
     "transfers", r"out of 'a' add up to 1\.3 \(expected at most 1\)"),
    ("nobody-serves", _set("agent_groups.g.skills", {"a": 1}), "agent_groups",
     r"queue 'b' has contacts but no agent group"),
    ("bad-clock", _set("agent_groups.g.shifts.0.start", "25:00"),
     "agent_groups.g.shifts[0].start", r"expected a time of day 'HH:MM'.*, got '25:00'$"),
    ("bad-break-clock", _set("agent_groups.g.shifts.0.breaks", [{"start": "9:75", "minutes": 5}]),
     "agent_groups.g.shifts[0].breaks[0].start", r"'HH:MM'.*, got '9:75'$"),
    ("break-outside-shift",
     _set("agent_groups.g.shifts.0", {"start": "08:00", "end": "12:00", "agents": 1,
                                      "breaks": [{"start": "11:30", "minutes": 60}]}),
     "agent_groups.g.shifts[0]", r"breaks\[0\] at 11:30 \(60 min\) is not inside the shift "
                                 r"08:00-12:00"),
    ("break-before-shift",
     _set("agent_groups.g.shifts.0", {"start": "08:00", "end": "12:00", "agents": 1,
                                      "breaks": [{"start": "07:30", "minutes": 10}]}),
     "agent_groups.g.shifts[0]", r"breaks\[0\] at 07:30"),
    ("inline-lengths", _set("arrivals.b", [1]), "arrivals",
     r"every queue's list must have the same number of intervals"),
    ("inline-negative", _set("arrivals.b", [1, -1]), "arrivals.b[1]",
     r"expected a non-negative number, got -1"),
    ("inline-unknown-queue", _set("arrivals.c", [1, 1]), "arrivals.c", r"not a queue"),
    ("inline-not-a-list", _set("arrivals.a", 12), "arrivals.a", r"expected a list"),
    ("no-arrivals", _set("arrivals", {"scale": 2}), "arrivals", r"expected 'file'"),
    ("negative-scale", _set("arrivals.scale", -1), "arrivals.scale",
     r"non-negative number, got -1$"),
    ("negative-scale-of-a-queue", _set("arrivals.scale", {"a": -1}), "arrivals.scale",
     r"scale of 'a' must be a non-negative number, got -1(\.0)?$"),
    ("cv-with-exponential", _set("queues.a.handle_time_cv", 0.5), "queues.a",
     r"handle_time_cv needs handle_time: lognormal or gamma"),
    ("patience-cv-with-exponential", _set("queues.b.patience_cv", 0.5), "queues.b",
     r"patience_cv needs patience: lognormal or gamma"),
    ("no-queues", _set("queues", {}), "queues", r"at least one entry"),
    ("warmup-too-long", _set("warmup_min", 60), "warmup_min", r"as long as the whole horizon"),
    ("bad-start", _set("start", "yesterday"), "start", r"valid datetime"),
]


@pytest.mark.parametrize(("change", "key", "problem"),
                         [c[1:] for c in SCENARIO_ERRORS], ids=[c[0] for c in SCENARIO_ERRORS])
def test_scenario_error_names_file_and_key(tmp_path: Path, change: Callable[[dict], None],
                                           key: str, problem: str) -> None:
    data = copy.deepcopy(BASE)
    change(data)
    path = _write(tmp_path, data)
    with pytest.raises(InputError, match=re.escape(f"{path}: {key}: ") + ".*" + problem) as info:
        load_scenario(path)
    assert info.value.file == str(path) and info.value.field == key
    assert str(info.value).count(", got ") <= 1  # the value is named once, not twice


def test_typo_in_a_required_key_names_the_typo(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["queues"]["a"] = {"aht": 100}
    path = _write(tmp_path, data)
    # Not "queues.a.aht_s: required key is missing": the typo is what must be fixed.
    with pytest.raises(InputError, match=re.escape(f"{path}: queues.a.aht: ") + "unknown key"):
        load_scenario(path)


def test_base_scenario_is_valid(tmp_path: Path) -> None:
    # The errors above come from one change each, not from the base.
    sc = load_scenario(_write(tmp_path, BASE))
    assert sc.queues == ("a", "b") and sc.contacts.tolist() == [[2, 0], [1, 1]]
    sc = load_scenario(_write(tmp_path, {**BASE, "arrivals": {"file": "fc.csv"}}, csv=FORECAST))
    assert sc.contacts.tolist() == [[2, 0], [1, 1]]


def test_forecast_path_is_relative_to_the_scenario(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, {**BASE, "arrivals": {"file": "fc.csv", "scale": {"a": 2}}},
                  csv=FORECAST)
    monkeypatch.chdir(ROOT)  # not the scenario's folder
    assert load_scenario(path).contacts.tolist() == [[4, 0], [1, 1]]


FORECAST_ERRORS = [
    # (id, forecast CSV or None for no file, file named ("scenario" or "csv"), key, problem)
    ("forecast-missing", None, "scenario", "arrivals.file", r"forecast file not found: .*fc\.csv"),
    ("forecast-unknown-queue", FORECAST + "2026-11-11T00:00,c,1\n", "csv", "queue",
     r"queue\(s\) 'c' are not in the scenario's queues \(a, b\)"),
    ("forecast-interval",
     "interval_start,queue,contacts\n2026-11-11T00:00,a,1\n2026-11-11T00:15,a,1\n",
     "csv", "interval_start",
     r"intervals are 15 min apart but the interval length given is 30 min"),
    ("forecast-start",
     "interval_start,queue,contacts\n2026-11-11T01:00,a,1\n2026-11-11T01:30,a,1\n",
     "csv", "interval_start",
     r"the forecast starts at 2026-11-11 01:00 but the scenario's start is 2026-11-11 00:00"),
]


@pytest.mark.parametrize(("csv", "named", "key", "problem"), [c[1:] for c in FORECAST_ERRORS],
                         ids=[c[0] for c in FORECAST_ERRORS])
def test_forecast_error_names_file_and_key(tmp_path: Path, csv: str | None, named: str,
                                           key: str, problem: str) -> None:
    path = _write(tmp_path, {**BASE, "arrivals": {"file": "fc.csv"}}, csv=csv)
    file = path if named == "scenario" else tmp_path / "fc.csv"
    with pytest.raises(InputError, match=re.escape(f"{file}: {key}: ") + ".*" + problem):
        load_scenario(path)


def test_file_and_inline_together_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, {**BASE, "arrivals": {"file": "fc.csv", "a": [1, 1]}},
                  csv=FORECAST)
    with pytest.raises(InputError, match=re.escape(f"{path}: arrivals: ") + ".*not both"):
        load_scenario(path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("start: 2026-11-11T00:00\nqueues:\n  a: {aht_s: 100\n  b: 2\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(f"{path}: line 4, column 4: not valid YAML")):
        load_scenario(path)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(f"{path}: ") + "expected a mapping .* "
                                                                  "found list"):
        load_scenario(path)


def test_missing_scenario_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_scenario(tmp_path / "nothere.yaml")


def test_valid_shift_shapes_are_accepted() -> None:
    # A break after midnight in a shift across midnight, and a shift ending at 24:00.
    data = copy.deepcopy(BASE)
    data["agent_groups"]["g"]["shifts"] = [
        {"start": "22:00", "end": "06:00", "agents": 1,
         "breaks": [{"start": "02:00", "minutes": 30, "window_min": 60}]},
        {"start": "16:00", "end": "24:00", "agents": 0}]
    shifts = scenario_from_dict(data).spec.agent_groups["g"].shifts
    assert [(s.start_min, s.length_min) for s in shifts] == [(22 * 60, 8 * 60), (16 * 60, 8 * 60)]


# ------------------------------------------------------------------------------------------------
# The CLI: one line on stderr, exit status 2, no traceback
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("change", [_set("agent_groups.g.shifts.0.agents", -1),
                                    _set("transfers", [{"from": "a", "to": "a",
                                                        "probability": 0.1}])],
                         ids=["negative-agents", "transfer-to-itself"])
def test_cli_simulate_bad_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   change: Callable[[dict], None]) -> None:
    data = copy.deepcopy(BASE)
    change(data)
    path = _write(tmp_path, data)
    assert main(["simulate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"peakplan: error: {path}: ")
    assert err.count("\n") == 1 and err.endswith("\n")
    assert "Traceback" not in err


def test_cli_simulate_invalid_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("queues: [\n", encoding="utf-8")
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(re.escape(f"peakplan: error: {path}: line ") + r"\d+.*not valid YAML.*\n",
                        err)


@pytest.mark.parametrize("key, where", [("aht_s", "queues.a.aht_s"),
                                        ("priority", "queues.a.priority")])
def test_true_is_not_a_number(tmp_path: Path, key: str, where: str) -> None:
    # YAML reads `yes`/`true` as a boolean; pydantic would quietly make it 1.
    data = copy.deepcopy(BASE)
    data["queues"]["a"][key] = True
    path = _write(tmp_path, data)
    with pytest.raises(InputError, match=re.escape(f"{path}: {where}: ") + "expected a number"):
        load_scenario(path)
