"""The hardened edge (issue 10): nothing a user (or a hostile upload) writes hangs, crashes,
is silently accepted when clearly wrong, or makes peakplan lose or expose what the user has.

Each test is one reproduced defect: the input that broke, and what must happen now (exit 2 and
a one-line message naming the file and the field, or the documented behaviour).
"""

from __future__ import annotations

import math
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from planner.cli import main
from sim.errors import InputError
from sim.files import parse_yaml, quote
from sim.scenario import LIMITS, expected_visits, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent


def scenario_data(**top: object) -> dict:
    data = {
        "name": "small", "start": "2026-11-11T00:00", "interval_min": 60,
        "queues": {"chat": {"channel": "chat", "aht_s": 300, "patience_s": 120},
                   "phone": {"aht_s": 240, "patience_s": 180}},
        "arrivals": {"chat": [30.0] * 6, "phone": [10.0] * 6},
        "agent_groups": {
            "chat_team": {"skills": {"chat": 1}, "chat_concurrency": 3,
                          "shifts": [{"start": "00:00", "end": "24:00", "agents": 2}]},
            "phone_team": {"skills": {"phone": 1, "chat": 2},
                           "shifts": [{"start": "00:00", "end": "24:00", "agents": 2}]}},
    }
    data.update(top)
    return data


def write(tmp_path: Path, data: dict | str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def fails(capsys: pytest.CaptureFixture[str], *argv: str, seconds: float = 60.0) -> str:
    """Run the CLI in-process; it must exit 2 within ``seconds`` with one line on stderr."""
    t0 = time.perf_counter()
    code = main(list(argv))
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert elapsed < seconds
    assert len(err.splitlines()) == 1 and err.startswith("peakplan: error: "), err
    assert len(err) < 400, err
    return err


def bomb(levels: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
# 1. Nothing hangs or exhausts memory
# ------------------------------------------------------------------------------------------
def test_alias_bomb_is_refused_at_once_everywhere(tmp_path, capsys):
    path = write(tmp_path, bomb(), "bomb.yaml")
    assert len(path.read_bytes()) < 600
    forecast = ROOT / "scenarios" / "normal_day_forecast.csv"
    for argv in (["simulate", str(path)],
                 ["staff", "--forecast", str(forecast), "--targets", str(path)],
                 ["sweep", str(ROOT / "scenarios" / "normal_day.yaml"), "--grid", str(path),
                  "--out", str(tmp_path / "sw")]):
        err = fails(capsys, *argv)
        assert "alias *a0 is not allowed" in err and "line 2" in err


def test_any_alias_is_refused_with_its_line():
    with pytest.raises(InputError, match=r"t.yaml: line 3, column 6: alias \*t is not allowed"):
        parse_yaml("a: &t {service_level: 0.8}\nb: 1\nc:   *t\n", source="t.yaml")


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path, capsys):
    path = write(tmp_path, "name: " + "[" * 2000 + "]" * 2000 + "\n")
    err = fails(capsys, "simulate", str(path))
    assert "nested more than" in err


def test_quoted_values_are_capped(tmp_path, capsys):
    data = scenario_data()
    data["queues"]["chat"]["aht_s"] = "x" * 5000
    err = fails(capsys, "simulate", str(write(tmp_path, data)))
    assert "queues.chat.aht_s" in err and "..." in err
    assert quote(list(range(10**6))) == "list of 1,000,000 items"
    assert len(quote("é" * 1000)) == 80


@pytest.mark.parametrize("agents", [1_000_000, 10**9, 10**30])
def test_huge_rosters_are_refused_before_any_work(tmp_path, capsys, agents):
    data = scenario_data()
    data["agent_groups"]["chat_team"]["shifts"][0]["agents"] = agents
    err = fails(capsys, "simulate", str(write(tmp_path, data)))
    assert f"at most {LIMITS.agents:,}" in err and "agent_groups" in err


def test_volume_beyond_the_limit_is_refused_with_its_estimate(tmp_path, capsys):
    path = write(tmp_path, scenario_data(arrivals={"chat": [1e7] * 6, "phone": [0.0] * 6}))
    err = fails(capsys, "simulate", str(path))
    assert "60,000,000 contacts" in err and "at most 20,000,000" in err
    path = write(tmp_path, scenario_data(arrivals={"chat": [1e6] * 6, "phone": [0.0] * 6}))
    err = fails(capsys, "simulate", str(path), "--scale", "10")
    assert "per replication" in err


def test_replications_points_and_horizon_limits(tmp_path, capsys):
    path = write(tmp_path, scenario_data())
    assert "at most 10,000" in fails(capsys, "simulate", str(path), "--reps", "100000")
    assert "at most 10,000" in fails(capsys, "review", str(path), "--reps", "100000",
                                     "--out", str(tmp_path / "r"))
    err = fails(capsys, "sweep", str(path), "--vary", "arrivals.scale=1..10000:1",
                "--vary", "agent_groups.chat_team.shifts[0].agents=1..10000:1",
                "--out", str(tmp_path / "sw"))
    assert "100,000,000 sweep points" in err
    err = fails(capsys, "simulate", str(write(tmp_path, scenario_data(interval_min=1e6))))
    assert "interval_min" in err
    long = scenario_data(interval_min=60, arrivals={"chat": [1.0] * 24 * 100,
                                                    "phone": [1.0] * 24 * 100})
    err = fails(capsys, "simulate", str(write(tmp_path, long)))
    assert "100 days" in err and "at most 92" in err
    assert not (tmp_path / "r").exists() and not (tmp_path / "sw").exists()


def test_erlang_staffing_has_the_agents_cap(capsys):
    err = fails(capsys, "staff", "--contacts", "1e12", "--aht-s", "300")
    assert "at most 100,000 agents" in err


def test_a_year_of_forecast_is_refused_for_staffing(tmp_path, capsys):
    import pandas as pd
    starts = pd.date_range("2026-01-01", periods=365 * 96, freq="15min")
    pd.DataFrame({"interval_start": starts.strftime("%Y-%m-%dT%H:%M"), "queue": "q",
                  "contacts": 10.0}).to_csv(tmp_path / "year.csv", index=False)
    err = fails(capsys, "staff", "--forecast", str(tmp_path / "year.csv"), "--aht-s", "300",
                "--patience-s", "60")
    assert "365 days" in err and "at most 92" in err


@pytest.mark.parametrize("cycle", [
    [("chat", "phone", 1.0), ("phone", "chat", 1.0)],
    [("chat", "phone", 1.0), ("phone", "mail", 1.0), ("mail", "chat", 1.0)],
    [("chat", "phone", 0.5), ("phone", "mail", 1.0), ("mail", "phone", 1.0)],
])
def test_transfer_loops_a_contact_never_leaves_are_refused(tmp_path, capsys, cycle):
    data = scenario_data(transfers=[{"from": a, "to": b, "probability": p} for a, b, p in cycle])
    data["queues"]["mail"] = {"aht_s": 100}
    data["agent_groups"]["phone_team"]["skills"]["mail"] = 3
    err = fails(capsys, "simulate", str(write(tmp_path, data)))
    assert "never leaves" in err and "transfers" in err


def test_expected_visits_solve_the_absorbing_chain():
    # chat -> phone 0.5, phone -> chat 0.5: from chat, visits v_c = 1 + 0.5 v_p and
    # v_p = 1 + 0.5 v_c, so v_c = v_p = 2.
    data = scenario_data(transfers=[{"from": "chat", "to": "phone", "probability": 0.5},
                                    {"from": "phone", "to": "chat", "probability": 0.5}])
    sc = scenario_from_dict(data)
    assert expected_visits(sc.spec) == pytest.approx({"chat": 2.0, "phone": 2.0})
    assert expected_visits(scenario_from_dict(scenario_data()).spec) == {"chat": 1.0,
                                                                         "phone": 1.0}


def test_a_cycle_too_long_to_be_real_is_refused(tmp_path, capsys):
    data = scenario_data(transfers=[{"from": "chat", "to": "phone", "probability": 0.999},
                                    {"from": "phone", "to": "chat", "probability": 0.999}])
    err = fails(capsys, "simulate", str(write(tmp_path, data)))
    assert "times on average" in err


# ------------------------------------------------------------------------------------------
# 2. No traceback
# ------------------------------------------------------------------------------------------
def test_negative_seeds_are_refused(tmp_path, capsys):
    path = write(tmp_path, scenario_data())
    assert "--seed" in fails(capsys, "simulate", str(path), "--seed", "-1")
    assert "--seed" in fails(capsys, "sweep", str(path), "--seed", "-1", "--vary",
                             "arrivals.scale=1,2", "--out", str(tmp_path / "sw"))


def test_a_huge_scale_is_a_message_without_a_warning(tmp_path, capsys):
    import warnings
    data = scenario_data(arrivals={"chat": [30.0] * 6, "phone": [10.0] * 6, "scale": 1e308})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        err = fails(capsys, "simulate", str(write(tmp_path, data)))
    assert "arrivals" in err


# ------------------------------------------------------------------------------------------
# 3. Nothing clearly wrong is accepted
# ------------------------------------------------------------------------------------------
def test_duplicate_keys_are_refused_naming_both_lines(tmp_path, capsys):
    text = yaml.safe_dump(scenario_data(), sort_keys=False)
    text = text.replace("interval_min: 60\n", "interval_min: 15\ninterval_min: 30\n")
    err = fails(capsys, "simulate", str(write(tmp_path, text)))
    assert "'interval_min' is given twice (lines 3 and 4)" in err
    groups = yaml.safe_dump(scenario_data(), sort_keys=False).replace("  phone_team:",
                                                                      "  chat_team:")
    assert "'chat_team' is given twice" in fails(capsys, "simulate",
                                                 str(write(tmp_path, groups)))


@pytest.mark.parametrize("where", [("queues", "chat", "aht_s"), ("queues", "phone", "wrap_up_s"),
                                   ("queues", "chat", "target", "within_s"),
                                   ("queues", "chat", "patience_s")])
def test_infinite_times_are_refused(tmp_path, capsys, where):
    data = scenario_data()
    node = data
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = math.inf
    err = fails(capsys, "simulate", str(write(tmp_path, data)))
    assert ".".join(where) in err


def test_booleans_never_stand_for_numbers(tmp_path, capsys):
    data = scenario_data(arrivals={"chat": [30.0] * 6, "phone": [10.0] * 6, "scale": True})
    assert "arrivals.scale" in fails(capsys, "simulate", str(write(tmp_path, data)))
    data = scenario_data()
    data["agent_groups"]["chat_team"]["speed"] = {"chat": True}
    assert "agent_groups.chat_team.speed" in fails(capsys, "simulate",
                                                   str(write(tmp_path, data)))


def test_overlapping_breaks_are_refused(tmp_path, capsys):
    data = scenario_data()
    data["agent_groups"]["chat_team"]["shifts"] = [
        {"start": "08:00", "end": "17:00", "agents": 4,
         "breaks": [{"start": "12:00", "minutes": 60}, {"start": "12:30", "minutes": 15}]}]
    err = fails(capsys, "simulate", str(write(tmp_path, data)))
    assert "overlap" in err and "agent_groups.chat_team.shifts[0]" in err
    # Spread over windows, a lunch and a later tea break that never meet are fine ...
    data["agent_groups"]["chat_team"]["shifts"][0]["breaks"] = [
        {"start": "11:00", "minutes": 60, "window_min": 60},
        {"start": "14:00", "minutes": 15, "window_min": 60}]
    load_scenario(write(tmp_path, data))
    # ... but a window that lets the last agents' lunch run into the tea break is not.
    data["agent_groups"]["chat_team"]["shifts"][0]["breaks"][0]["window_min"] = 240
    assert "overlap" in fails(capsys, "simulate", str(write(tmp_path, data)))


def test_varied_values_must_fit_their_field(tmp_path, capsys):
    path = write(tmp_path, scenario_data())
    err = fails(capsys, "sweep", str(path), "--vary", "start=1", "--out", str(tmp_path / "sw"))
    assert "start" in err and "holds text or a date-time, got a number" in err


def test_empty_cases_are_refused(tmp_path, capsys):
    path = write(tmp_path, scenario_data())
    assert "--cases" in fails(capsys, "review", str(path), "--cases", "",
                              "--out", str(tmp_path / "r"))


# ------------------------------------------------------------------------------------------
# 4. Nothing the user wrote is lost or exposed
# ------------------------------------------------------------------------------------------
def test_results_never_replace_an_input_even_with_force(tmp_path, capsys):
    folder = tmp_path / "team"
    folder.mkdir()
    forecast = folder / "queue_summary.csv"
    forecast.write_text("interval_start,queue,contacts\n2026-11-11T00:00,chat,30\n"
                        "2026-11-11T01:00,chat,30\n2026-11-11T01:00,phone,10\n")
    before = forecast.read_text()
    data = scenario_data(arrivals={"file": "queue_summary.csv"})
    scenario = write(folder, data)
    err = fails(capsys, "simulate", str(scenario), "--out", str(folder), "--force",
                "--format", "csv")
    assert "input" in err
    assert forecast.read_text() == before


@pytest.mark.parametrize("command", [["simulate", "--reps", "3"],
                                     ["review", "--reps", "1", "--cases", "base=1.0",
                                      "--fix-case", "none"]])
def test_a_killed_run_leaves_no_half_folder(tmp_path, command):
    scenario = ROOT / "scenarios" / "singles_day.yaml"
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "planner.cli", command[0], str(scenario),
                             *command[1:], "--jobs", "1", "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill it while it works or writes: the folder is whole or absent, never in between.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(p.name.startswith(".out.partial-")
                                                  for p in tmp_path.iterdir()):
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    whole = 6 if command[0] == "simulate" else 4  # report.html and the case's three tables
    assert not out.exists() or len(list(out.iterdir())) == whole
    assert not out.exists() or not any(p.name.endswith(".tmp") for p in out.iterdir())
    # The next run cleans the dead run's leftovers and succeeds.
    small = write(tmp_path, scenario_data())
    assert main([command[0], str(small), *command[1:], "--out", str(out), "--force"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert len(list(out.iterdir())) == whole


def test_files_follow_the_umask(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        small = write(tmp_path, scenario_data())
        assert main(["simulate", str(small), "--out", str(tmp_path / "sim"),
                     "--format", "csv"]) == 0
        assert main(["staff", "--forecast", str(ROOT / "scenarios" / "normal_day_forecast.csv"),
                     "--targets", str(ROOT / "scenarios" / "normal_day_targets.yaml"),
                     "--out", str(tmp_path / "staff.csv")]) == 0
        assert main(["review", str(small), "--reps", "1", "--fix-case", "none",
                     "--out", str(tmp_path / "rev")]) == 0
    finally:
        os.umask(old)
    capsys.readouterr()
    paths = [tmp_path / "staff.csv", tmp_path / "sim", tmp_path / "rev",
             *(tmp_path / "sim").iterdir(), *(tmp_path / "rev").iterdir()]
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in paths}
    assert {m for p, m in modes.items() if p.is_dir()} == {0o755}
    assert {m for p, m in modes.items() if p.is_file()} == {0o644}


def test_messages_stay_one_clean_line_whatever_the_keys(tmp_path, capsys):
    data = scenario_data()
    data["a\nb\u202e\u200b"] = 1
    err = fails(capsys, "simulate", str(write(tmp_path, data)))
    assert "a\\nb\\u202e\\u200b: unknown key" in err
    data = scenario_data()
    data["x" * 400] = 1
    assert len(fails(capsys, "simulate", str(write(tmp_path, data)))) < 400


def test_huge_numbers_in_messages_are_not_spelt_out(tmp_path, capsys):
    path = write(tmp_path, scenario_data(arrivals={"chat": [1e300] * 6, "phone": [0.0] * 6}))
    err = fails(capsys, "simulate", str(path))
    assert "1e+300 contacts" in err


def test_a_start_with_an_offset_is_the_team_clock_and_messages_show_seconds(tmp_path, capsys):
    from sim.scenario import scenario_from_dict
    sc = scenario_from_dict(scenario_data(start="2026-11-11T00:00+08:00"))
    assert sc.spec.start.tzinfo is None and sc.spec.start.hour == 0
    forecast = tmp_path / "f.csv"
    forecast.write_text("interval_start,queue,contacts\n2026-11-11T00:00,chat,3\n"
                        "2026-11-11T01:00,chat,3\n")
    data = scenario_data(start="2026-11-11T00:00:00.000001", arrivals={"file": "f.csv"})
    err = fails(capsys, "simulate", str(write(tmp_path, data)))
    assert "00:00 but the scenario's start is 2026-11-11 00:00:00.000001" in err


def test_a_shift_cannot_start_at_24_00_and_breaks_last_a_minute(tmp_path, capsys):
    data = scenario_data()
    data["agent_groups"]["chat_team"]["shifts"][0]["start"] = "24:00"
    assert "24:00 is an end" in fails(capsys, "simulate", str(write(tmp_path, data)))
    data = scenario_data()
    data["agent_groups"]["chat_team"]["shifts"][0]["breaks"] = [{"start": "04:00",
                                                                 "minutes": 1e-300}]
    assert "breaks[0].minutes" in fails(capsys, "simulate", str(write(tmp_path, data)))
