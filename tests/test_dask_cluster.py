"""The distributed path for real: a Dask scheduler and two workers started as separate
processes on loopback (``dask scheduler``, ``dask worker``), a sweep and a review run through
``--dask``, results identical to ``--jobs 1``, and a worker killed mid-sweep without changing
the answer."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from planner.cli import main

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

DASK = Path(sys.executable).with_name("dask")


def small() -> dict:
    return {
        "name": "small", "start": "2026-11-11T08:00", "interval_min": 60,
        "queues": {"chat": {"channel": "chat", "aht_s": 300, "patience_s": 120},
                   "phone": {"aht_s": 240, "patience_s": 180}},
        "arrivals": {"chat": [120.0] * 12, "phone": [60.0] * 12},
        "agent_groups": {
            "chat_team": {"skills": {"chat": 1}, "chat_concurrency": 3,
                          "shifts": [{"start": "08:00", "end": "20:00", "agents": 4}]},
            "phone_team": {"skills": {"phone": 1, "chat": 2},
                           "shifts": [{"start": "08:00", "end": "20:00", "agents": 5}]}},
        "transfers": [{"from": "chat", "to": "phone", "probability": 0.1}],
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A scheduler and two single-threaded workers, without nannies: a killed worker stays
    dead, as a machine that goes away does."""
    if not DASK.exists() and shutil.which("dask") is None:
        pytest.skip("the dask command is not installed")
    command = str(DASK) if DASK.exists() else "dask"
    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    procs = [subprocess.Popen([command, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(info)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        workers = [subprocess.Popen([command, "worker", address, "--nthreads", "1",
                                     "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(2)]
        procs += workers
        from distributed import Client
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for p in procs[::-1]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_review_through_dask_equals_one_process(cluster, tmp_path, capsys):
    address, _ = cluster
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small()))
    for name, flags in (("local", ["--jobs", "1"]), ("dask", ["--dask", address])):
        assert main(["review", str(path), "--reps", "3", "--fix-case", "none", "--cases",
                     "base=1.0,high=1.3",
                     "--out", str(tmp_path / name), *flags]) == 0, capsys.readouterr().err
    capsys.readouterr()
    csvs = sorted(p.name for p in (tmp_path / "local").glob("*.csv"))
    assert csvs
    for name in csvs:
        assert (tmp_path / "local" / name).read_text() == (tmp_path / "dask" / name).read_text()


def test_sweep_survives_a_killed_worker_with_identical_results(cluster, tmp_path, capsys):
    address, workers = cluster
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small()))
    vary = ["--vary", "arrivals.scale=1..1.5:0.1", "--reps", "6", "--seed", "4"]
    assert main(["sweep", str(path), *vary, "--jobs", "1", "--out",
                 str(tmp_path / "local")]) == 0
    out = tmp_path / "dask"

    def kill_one_worker_mid_run() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(list((out / "reps").glob("p*.parquet"))) >= 4:
                workers[0].send_signal(signal.SIGKILL)
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one_worker_mid_run)
    killer.start()
    code = main(["sweep", str(path), *vary, "--dask", address, "--out", str(out)])
    killer.join()
    err = capsys.readouterr().err
    assert code == 0, err
    assert workers[0].poll() is not None, "the worker was not killed during the sweep"
    for name in ("summary.csv", "group_summary.csv"):
        assert (tmp_path / "local" / name).read_text() == (out / name).read_text()
