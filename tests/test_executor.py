"""The one executor (planner.executor): identical results however replications run, a dead
local worker replaced and its task run once more, and no worker left behind by a killed
parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from planner.cli import main
from planner.executor import Executor, WorkerDied
from sim.replications import simulate
from sim.scenario import scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent


def small() -> dict:
    return {
        "name": "small", "start": "2026-11-11T08:00", "interval_min": 30,
        "queues": {"chat": {"channel": "chat", "aht_s": 300, "patience_s": 120},
                   "phone": {"aht_s": 240, "patience_s": 180}},
        "arrivals": {"chat": [60.0] * 8, "phone": [20.0] * 8},
        "agent_groups": {
            "chat_team": {"skills": {"chat": 1}, "chat_concurrency": 3,
                          "shifts": [{"start": "08:00", "end": "12:00", "agents": 4}]},
            "phone_team": {"skills": {"phone": 1, "chat": 2},
                           "shifts": [{"start": "08:00", "end": "12:00", "agents": 4}]}},
        "transfers": [{"from": "chat", "to": "phone", "probability": 0.1}],
    }


def test_processes_give_the_results_of_one_process():
    sc = scenario_from_dict(small())
    one = simulate(sc, seed=3, reps=4)
    with Executor(jobs=2) as ex:
        two = simulate(sc, seed=3, reps=4, mapper=ex.map)
    pd.testing.assert_frame_equal(one.queue_intervals, two.queue_intervals)
    pd.testing.assert_frame_equal(one.group_intervals, two.group_intervals)
    pd.testing.assert_frame_equal(one.transfers, two.transfers)
    pd.testing.assert_frame_equal(one.queue_summary(), two.queue_summary())


def test_review_and_simulate_take_jobs_with_identical_output(tmp_path, capsys):
    import yaml
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small()))
    outputs = []
    for jobs in ("1", "2"):
        assert main(["simulate", str(path), "--reps", "3", "--jobs", jobs, "--json"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    for jobs in ("1", "2"):
        assert main(["review", str(path), "--reps", "2", "--jobs", jobs, "--fix-case", "none",
                     "--out", str(tmp_path / f"r{jobs}")]) == 0
    capsys.readouterr()
    csvs = sorted(p.name for p in (tmp_path / "r1").glob("*.csv"))
    assert "base_intervals.csv" in csvs and "high_summary.csv" in csvs
    for name in csvs:
        assert (tmp_path / "r1" / name).read_text() == (tmp_path / "r2" / name).read_text()


def _dies_once(marker: str, value: int) -> int:
    """Kills its worker the first time it runs for value 3 (a worker lost mid-run)."""
    if value == 3 and not os.path.exists(marker):
        Path(marker).write_text("died")
        os.kill(os.getpid(), signal.SIGKILL)
    return value * value


def _always_dies(value: int) -> int:
    if value == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return value


def test_a_dead_worker_is_replaced_and_its_task_run_again(tmp_path):
    marker = str(tmp_path / "marker")
    with Executor(jobs=2) as ex:
        assert ex.map(_dies_once, [(marker, v) for v in range(8)]) == [v * v for v in range(8)]
    assert Path(marker).exists()


def test_a_task_that_kills_every_worker_stops_the_job():
    with Executor(jobs=2) as ex, pytest.raises(WorkerDied, match="lost its worker 2 times"):
        ex.map(_always_dies, [(v,) for v in range(4)])


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    pids = tmp_path / "pids"
    script.write_text(textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from planner.executor import Executor

        def work(i):
            with open({str(pids)!r}, "a") as f:
                f.write(f"{{os.getpid()}}\\n")
            time.sleep(60)
            return i

        if __name__ == "__main__":
            with Executor(jobs=2) as ex:
                ex.map(work, [(i,) for i in range(4)])
    """))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not pids.exists() or
                                           len(pids.read_text().split()) < 2):
        time.sleep(0.05)
    workers = [int(p) for p in pids.read_text().split()]
    assert len(workers) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        # A zombie is dead but not yet reaped by init: read its state.
        try:
            return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(p) for p in workers):
        time.sleep(0.1)
    assert not any(alive(p) for p in workers)


def test_jobs_must_be_positive(capsys, tmp_path):
    import yaml
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small()))
    assert main(["simulate", str(path), "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err


def test_a_job_whose_workers_keep_dying_ends_in_a_message(monkeypatch, capsys, tmp_path):
    import yaml

    def dies(*args):
        raise WorkerDied("task 1 of 2 lost its worker 2 times")

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small()))
    monkeypatch.setattr(Executor, "map", lambda self, fn, tasks, on_result=None: dies())
    assert main(["simulate", str(path), "--reps", "2", "--jobs", "2"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("peakplan: a worker stopped") and "run the command again" in err
    assert len(err.splitlines()) == 1
