"""`peakplan simulate`: JSON keys and definitions, files under --out, bad input -> exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from planner.cli import main

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def small_scenario(tmp_path: Path, **queue: object) -> Path:
    """Two queues, one transfer, a day of 24 hourly intervals: runs in a blink."""
    data = {
        "name": "small", "start": "2026-11-11T00:00", "interval_min": 60, "warmup_min": 60,
        "queues": {"chat": {"channel": "chat", "aht_s": 300, "patience_s": 120,
                            "target": {"service_level": 0.8, "within_s": 30}, **queue},
                   "phone": {"aht_s": 240, "patience_s": 180}},
        "arrivals": {"chat": [60.0] * 24, "phone": [20.0] * 24},
        "agent_groups": {
            "chat_team": {"skills": {"chat": 1}, "chat_concurrency": 3, "chat_slowdown": 0.1,
                          "shifts": [{"start": "00:00", "end": "24:00", "agents": 3}]},
            "phone_team": {"skills": {"phone": 1, "chat": 2},
                           "shifts": [{"start": "00:00", "end": "24:00", "agents": 3}]}},
        "transfers": [{"from": "chat", "to": "phone", "probability": 0.1}],
    }
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["simulate", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_the_documented_keys_and_definitions(tmp_path, capsys):
    out = run_json(capsys, str(small_scenario(tmp_path)), "--seed", "3")
    assert out["reps"] == 1 and out["seed"] == 3
    assert set(out["queues"]) == {"chat", "phone", "all"}
    assert set(out["groups"]) == {"chat_team", "phone_team"}
    for q in ("chat", "phone"):
        r = out["queues"][q]
        for key in ("offered", "answered", "abandoned", "service_level", "asa_s",
                    "abandon_rate", "occupancy"):
            assert key in r
        assert r["offered"] == r["answered"] + r["abandoned"] + r["left_waiting"]
        assert r["service_level"] == pytest.approx(r["answered_within"] / r["offered"])
        assert r["abandon_rate"] == pytest.approx(r["abandoned"] / r["offered"])
        assert "offered_ci95" not in r
    # A transferred contact is offered again in the queue it moves to.
    assert out["queues"]["phone"]["transfers_in"] > 0
    assert out["queues"]["chat"]["transfers_out"] > 0
    assert out["queues"]["chat"]["transfers_in"] == 0
    assert 0 < out["groups"]["chat_team"]["occupancy"] <= 1


def test_same_seed_same_result_and_reps_give_ci(tmp_path, capsys):
    path = str(small_scenario(tmp_path))
    a = run_json(capsys, path, "--seed", "5")
    b = run_json(capsys, path, "--seed", "5")
    assert a == b
    c = run_json(capsys, path, "--seed", "5", "--reps", "3")
    assert c["reps"] == 3
    assert c["queues"]["chat"]["service_level_ci95"] > 0
    assert c["groups"]["phone_team"]["occupancy_ci95"] >= 0


def test_scale_multiplies_the_volume(tmp_path, capsys):
    path = str(small_scenario(tmp_path))
    base = run_json(capsys, path, "--reps", "4")["queues"]["phone"]["offered"]
    more = run_json(capsys, path, "--reps", "4", "--scale", "2")["queues"]["phone"]["offered"]
    # Poisson counts: 2x the mean of ~460 contacts; 25% is more than 10 standard deviations.
    assert more == pytest.approx(2 * base, rel=0.25)


def test_out_writes_files_and_never_overwrites(tmp_path, capsys):
    path = small_scenario(tmp_path)
    out = tmp_path / "run"
    assert main(["simulate", str(path), "--reps", "2", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["group_interval_summary.parquet", "group_intervals.parquet",
                     "group_summary.csv", "queue_interval_summary.parquet",
                     "queue_intervals.parquet", "queue_summary.csv"]
    qi = pd.read_parquet(out / "queue_intervals.parquet")
    assert set(qi["rep"]) == {0, 1} and len(qi) == 2 * 24 * 2
    assert str(qi["interval_start"].iloc[0]) == "2026-11-11 00:00:00"
    capsys.readouterr()
    assert main(["simulate", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "--force" in err
    assert main(["simulate", str(path), "--out", str(out), "--force", "--format",
                 "csv"]) == 0
    assert (out / "queue_intervals.csv").exists()


@pytest.mark.parametrize("args, expected", [
    (["--reps", "0"], "--reps"),
    (["--scale", "-1"], "--scale"),
    (["--seed", "x"], "invalid int"),
    (["--format", "xls"], "invalid choice"),
])
def test_bad_flags_exit_2_without_traceback(tmp_path, capsys, args, expected):
    path = str(small_scenario(tmp_path))
    try:
        code = main(["simulate", path, *args])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    assert code == 2
    assert expected in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert len(captured.err.strip().splitlines()) == 1


def test_bad_scenario_names_file_and_key(tmp_path, capsys):
    path = small_scenario(tmp_path, aht_s=-5)
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "queues.chat.aht_s" in err


def test_shipped_scenarios_run(capsys):
    for name in ("normal_day.yaml", "singles_day.yaml"):
        out = run_json(capsys, str(SCENARIOS / name), "--seed", "2")
        assert out["intervals"] == 48
        assert set(out["queues"]) == {"presales", "aftersales", "complaints", "privileged",
                                      "all"}
        assert out["queues"]["all"]["offered"] > 2000


def test_readable_output_marks_missed_targets(capsys):
    assert main(["simulate", str(SCENARIOS / "singles_day.yaml"), "--seed", "2"]) == 0
    text = capsys.readouterr().out
    assert "11-11 00:00" in text and "*" in text  # the midnight spike misses its target
    assert "Over the horizon" in text and "Agent groups" in text
