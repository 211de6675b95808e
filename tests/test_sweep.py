"""Sweeps (:mod:`planner.sweep`, ``peakplan sweep``): executors agree, interrupted sweeps resume,
common random numbers, grids, validation before anything runs, the safety of ``--out``, the
results layout and the command line.

Every scenario here is small (two queues with a transfer and targets, two groups, a few hourly
intervals): a task (one point x one replication) takes a few hundredths of a second, most of it
writing Parquet.  The interrupt tests run ``peakplan sweep`` as a real process and send it real
signals; they use a day of 24 intervals so that the sweep is still running when the signal
comes.
"""

from __future__ import annotations

import json
import math
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from planner.cli import main
from sim.errors import InputError
from planner.sweep import (Axis, Sweep, build_points, parse_values, parse_vary, read_grid,
                           run_sweep)
from sim.metrics import GROUP_COLUMNS, QUEUE_COLUMNS
from sim.scenario import Scenario, load_scenario, scenario_from_dict

PHONE_AGENTS = "agent_groups.phone_team.shifts[0].agents"
CHAT_AGENTS = "agent_groups.chat_team.shifts[0].agents"
SCALE = "arrivals.scale"
# The targets of small_data(), written out again here for the hand check of target_met.
TARGETS = {"chat": {"service_level": 0.8, "max_abandon": 0.1},
           "phone": {"service_level": 0.7, "max_occupancy": 0.9}}


def small_data(*, hours: int = 3, chat: float = 60.0, phone: float = 30.0) -> dict[str, Any]:
    """Two queues (chat transfers 10% to phone), two groups (the phone team also takes chat
    second), hourly intervals from 08:00; the load is high enough that the grids below cross
    the targets."""
    shift = {"start": "08:00", "end": "08:00", "agents": 3} if hours == 24 else \
        {"start": "08:00", "end": f"{8 + hours:02d}:00", "agents": 3}
    return {
        "name": "small", "start": "2026-11-11T08:00", "interval_min": 60,
        "queues": {
            "chat": {"channel": "chat", "aht_s": 300, "patience_s": 120,
                     "target": {"service_level": 0.8, "within_s": 30, "max_abandon": 0.1}},
            "phone": {"aht_s": 240, "patience_s": 180,
                      "target": {"service_level": 0.7, "within_s": 20,
                                 "max_occupancy": 0.9}}},
        "arrivals": {"chat": [chat, 1.5 * chat, chat][:hours] + [chat] * max(0, hours - 3),
                     "phone": [phone, 1.5 * phone, phone][:hours] + [phone] * max(0, hours - 3)},
        "agent_groups": {
            "chat_team": {"skills": {"chat": 1}, "chat_concurrency": 2, "shifts": [shift]},
            "phone_team": {"skills": {"phone": 1, "chat": 2},
                           "shifts": [{**shift, "agents": 4}]}},
        "transfers": [{"from": "chat", "to": "phone", "probability": 0.1}],
    }


def small_scenario(**kw: Any) -> Scenario:
    return scenario_from_dict(small_data(**kw), source="small.yaml")


def write_scenario(folder: Path, data: dict[str, Any] | None = None) -> Path:
    path = folder / "small.yaml"
    path.write_text(yaml.safe_dump(small_data() if data is None else data))
    return path


def task_files(out: Path, part: str = "reps") -> list[Path]:
    """Finished task files (``p00000-r0000.parquet``), not temporary ones (``.p...tmp``)."""
    return sorted(out.joinpath(part).glob("p[0-9]*-r[0-9]*.parquet"))


def sorted_intervals(sweep: Sweep) -> pd.DataFrame:
    return sweep.intervals().sort_values(["point", "rep", "interval", "queue"]) \
        .reset_index(drop=True)


def assert_same_results(a: Sweep, b: Sweep) -> None:
    pd.testing.assert_frame_equal(a.summary(), b.summary())
    pd.testing.assert_frame_equal(a.group_summary(), b.group_summary())
    pd.testing.assert_frame_equal(sorted_intervals(a), sorted_intervals(b))
    pd.testing.assert_frame_equal(
        a.groups().sort_values(["point", "rep", "interval", "group"]).reset_index(drop=True),
        b.groups().sort_values(["point", "rep", "interval", "group"]).reset_index(drop=True))


def sweep_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``peakplan sweep ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        code = main(["sweep", *args])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    assert err.strip() and "\n" not in err.strip(), err
    for w in words:
        assert w in err, err


# --------------------------------------------------------------------------------------------
# 1. Executors: one process, local worker processes and a Dask cluster give the same results
# --------------------------------------------------------------------------------------------
EXEC_AXES = [Axis(PHONE_AGENTS, (3, 4)), Axis(SCALE, (1.0, 1.2))]
EXEC_REPS, EXEC_SEED = 3, 11


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory) -> Sweep:
    out = tmp_path_factory.mktemp("jobs1") / "out"
    return run_sweep(small_scenario(), EXEC_AXES, out=out, reps=EXEC_REPS, seed=EXEC_SEED,
                     jobs=1)


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    try:
        yield cluster
    finally:
        cluster.close()


def test_one_process_runs_every_task(one_process):
    assert (one_process.reused, one_process.computed) == (0, 4 * EXEC_REPS)
    assert len(task_files(one_process.out)) == 4 * EXEC_REPS


# Kept before the Dask test: the pool forks this process, better before the cluster's threads
# exist.
def test_worker_processes_give_the_same_results(one_process, tmp_path):
    two = run_sweep(small_scenario(), EXEC_AXES, out=tmp_path / "out", reps=EXEC_REPS,
                    seed=EXEC_SEED, jobs=2)
    assert (two.reused, two.computed) == (0, 4 * EXEC_REPS)
    assert_same_results(one_process, two)


def test_a_dask_cluster_gives_the_same_results(one_process, dask_cluster, tmp_path):
    on_dask = run_sweep(small_scenario(), EXEC_AXES, out=tmp_path / "out", reps=EXEC_REPS,
                        seed=EXEC_SEED, dask_address=dask_cluster.scheduler_address)
    assert (on_dask.reused, on_dask.computed) == (0, 4 * EXEC_REPS)
    assert_same_results(one_process, on_dask)


# --------------------------------------------------------------------------------------------
# 2. Interrupted sweeps: a real process, real signals, then the rest and only the rest
# --------------------------------------------------------------------------------------------
KILL_VARY = f"{SCALE}=1..1.5:0.1"  # 6 points
KILL_REPS, KILL_SEED = 8, 5        # 48 tasks, a few seconds with --jobs 1
KILL_TOTAL = 6 * KILL_REPS


@pytest.fixture(scope="module")
def kill_case(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A day of 24 intervals on disk, and the same sweep run without interruption."""
    folder = tmp_path_factory.mktemp("kill")
    path = write_scenario(folder, small_data(hours=24, chat=120.0, phone=60.0))
    reference = run_sweep(load_scenario(path), [parse_vary(KILL_VARY)], out=folder / "whole",
                          reps=KILL_REPS, seed=KILL_SEED, jobs=1)
    return SimpleNamespace(path=path, reference=reference)


def peakplan_command() -> list[str]:
    script = Path(sys.executable).with_name("peakplan")
    return [str(script)] if script.exists() else [sys.executable, "-m", "planner.cli"]


def start_and_signal(path: Path, out: Path, sig: signal.Signals, *, jobs: int = 1
                     ) -> tuple[int, str, int]:
    """Start ``peakplan sweep``, send ``sig`` to it once some runs are finished.
    Returns (exit status, stderr, finished runs on disk after the process ended)."""
    proc = subprocess.Popen(
        [*peakplan_command(), "sweep", str(path), "--vary", KILL_VARY, "--reps",
         str(KILL_REPS), "--seed", str(KILL_SEED), "--jobs", str(jobs), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(task_files(out)) < 3:
            if proc.poll() is not None:
                pytest.fail(f"the sweep ended (status {proc.returncode}) before it could be "
                            f"interrupted: {proc.communicate()[1]}")
            if time.monotonic() > deadline:
                pytest.fail("no run finished within 120 s")
            time.sleep(0.01)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err, len(task_files(out))


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_keeps_finished_runs_and_the_rerun_does_only_the_rest(kill_case, tmp_path, jobs):
    out = tmp_path / "out"
    code, err, kept = start_and_signal(kill_case.path, out, signal.SIGINT, jobs=jobs)
    assert code == 130, err
    assert "Traceback" not in err
    # The message names the runs kept, and they are the finished files (with worker processes
    # too: the tasks they had started finish before the message).
    m = re.search(r"interrupted: (\d+) of (\d+) runs are done and kept; run the same command "
                  r"again", err)
    assert m, err
    assert (int(m.group(1)), int(m.group(2))) == (kept, KILL_TOTAL)
    assert 3 <= kept < KILL_TOTAL

    again = run_sweep(load_scenario(kill_case.path), [parse_vary(KILL_VARY)], out=out,
                      reps=KILL_REPS, seed=KILL_SEED, jobs=1)
    assert (again.reused, again.computed) == (kept, KILL_TOTAL - kept)
    assert_same_results(again, kill_case.reference)


@pytest.mark.slow
def test_a_killed_sweep_resumes_from_the_command_line(kill_case, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, kept = start_and_signal(kill_case.path, out, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert 3 <= kept < KILL_TOTAL
    # No summary yet: it is written when every run is done.
    assert not (out / "summary.csv").exists()

    code, stdout, err = sweep_cli(capsys, str(kill_case.path), "--vary", KILL_VARY, "--reps",
                                  str(KILL_REPS), "--seed", str(KILL_SEED), "--jobs", "1",
                                  "--out", str(out), "--json")
    assert code == 0, err
    result = json.loads(stdout)
    assert (result["reused"], result["computed"]) == (kept, KILL_TOTAL - kept)
    assert f"reusing {kept} finished run(s)" in err
    for name in ("summary.csv", "group_summary.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(out / name),
                                      pd.read_csv(kill_case.reference.out / name))
    # Whatever the kill left behind (a temporary file half written, perhaps) is not read as
    # results: the dataset has exactly one row per point, rep, interval and queue.
    intervals = pd.read_parquet(out / "intervals")
    assert len(intervals) == KILL_TOTAL * 24 * 2
    assert not intervals.duplicated(["point", "rep", "interval", "queue"]).any()


def test_a_leftover_temporary_file_is_never_taken_for_a_result(tmp_path):
    base, axes, out = small_scenario(), [Axis(PHONE_AGENTS, (3, 4))], tmp_path / "out"
    first = run_sweep(base, axes, out=out, reps=2, seed=3)
    summary = first.summary()
    # As if the process died while writing task p0/r0: its files are missing, and truncated
    # files under the temporary names are left (parts written in this order; reps/ is last).
    for part in ("intervals", "groups", "group_reps", "reps"):
        done = out / part / "p00000-r0000.parquet"
        data = done.read_bytes()
        done.unlink()
        (out / part / ".p00000-r0000.parquet.123.tmp").write_bytes(data[: len(data) // 2])
    # ... and one whose last file is only temporary, the others complete: not done either.
    (out / "reps" / "p00001-r0001.parquet").rename(
        out / "reps" / ".p00001-r0001.parquet.456.tmp")

    again = run_sweep(base, axes, out=out, reps=2, seed=3)
    assert (again.reused, again.computed) == (2, 2)
    pd.testing.assert_frame_equal(again.summary(), summary)
    intervals = pd.read_parquet(out / "intervals")  # hidden temporary files are skipped
    assert len(intervals) == 2 * 2 * 3 * 2


# --------------------------------------------------------------------------------------------
# 3. Common random numbers
# --------------------------------------------------------------------------------------------
def paired_half_width(reps: pd.DataFrame, queue: str) -> float:
    """95% half-width of the mean per-replication difference point 1 - point 0."""
    sl = reps[reps["queue"] == queue].pivot(index="rep", columns="point",
                                            values="service_level")
    diff = (sl[1] - sl[0]).to_numpy()
    return float(stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / math.sqrt(len(diff)))


@pytest.mark.slow
def test_common_random_numbers_sharpen_the_comparison_of_two_headcounts(tmp_path):
    base, axes, reps = small_scenario(), [Axis(PHONE_AGENTS, (3, 4))], 25
    crn = run_sweep(base, axes, out=tmp_path / "crn", reps=reps, seed=2)
    indep = run_sweep(base, axes, out=tmp_path / "indep", reps=reps, seed=2, crn=False)

    def stacked(sweep: Sweep) -> pd.DataFrame:
        return pd.concat([pd.read_parquet(f) for f in task_files(sweep.out)])

    # With common random numbers replication r of both points sees the same customers (the
    # same arrivals, handle times, patience); the service level of each replication is mostly
    # set by how busy that replication happens to be, and that part is the same at both
    # points, so it cancels in the paired difference: what is left is the effect of the extra
    # agent.  With independent seeds the two points' luck differs, and the variance of the
    # difference is the sum of both points' variances.
    h_crn = paired_half_width(stacked(crn), "all")
    h_indep = paired_half_width(stacked(indep), "all")
    assert h_crn < 0.6 * h_indep, (h_crn, h_indep)
    assert h_crn > 0  # the headcount does change outcomes within a replication

    # The same arrivals: per replication, interval and queue, the contacts arriving from
    # outside (offered minus those transferred in, which depend on service) are equal at both
    # points with CRN; they are not with independent seeds, nor between replications.
    def arriving(sweep: Sweep) -> pd.DataFrame:
        iv = sweep.intervals()
        iv["arriving"] = iv["offered"] - iv["transfers_in"]
        return iv.pivot_table(index=["rep", "interval", "queue"], columns="point",
                              values="arriving")

    same = arriving(crn)
    assert (same[0] == same[1]).all()
    assert same[0].sum() > 0
    assert not (arriving(indep)[0] == arriving(indep)[1]).all()
    per_rep = same[0].unstack("rep")
    assert not (per_rep[0] == per_rep[1]).all()


# --------------------------------------------------------------------------------------------
# 4. Grids
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, values", [
    ("8..16:2", (8, 10, 12, 14, 16)),
    ("8..12", (8, 9, 10, 11, 12)),
    ("8..15:2", (8, 10, 12, 14)),        # the end is included only when the step hits it
    ("5..5", (5,)),
    ("1.0,1.2", (1.0, 1.2)),
    (" 3, 4 ,5 ", (3, 4, 5)),
    ("0.8..1.2:0.2", (0.8, 1.0, 1.2)),   # not 1.2000000000000002
    ("0.1..0.3:0.1", (0.1, 0.2, 0.3)),   # nor 0.30000000000000004, nor a missing last value
    ("1..2:0.25", (1.0, 1.25, 1.5, 1.75, 2.0)),
    ("-1..1", (-1, 0, 1)),
])
def test_parse_values(text, values):
    parsed = parse_values(text)
    assert parsed == values
    assert [type(v) for v in parsed] == [type(v) for v in values]


@pytest.mark.parametrize("text, problem", [
    ("", "expected values"),
    ("1,,2", "expected values"),
    ("abc", "not a number"),
    ("1,x", "not a number"),
    ("16..8", "ends before it starts"),
    ("8..16:0", "must be positive"),
    ("8..16:-2", "expected values|must be positive|not a number"),
    ("1..2:", "not a number"),
    ("nan,1", "not a finite number"),
    ("0..1e6", "at most 10,000"),
])
def test_bad_values_name_vary(text, problem):
    with pytest.raises(InputError, match=problem) as exc:
        parse_values(text)
    assert exc.value.field == "--vary"


def test_parse_vary_names_the_key_path():
    axis = parse_vary(f"{PHONE_AGENTS}=3..5")
    assert axis == Axis(PHONE_AGENTS, (3, 4, 5))
    with pytest.raises(InputError, match="--vary: expected KEY=VALUES"):
        parse_vary("arrivals.scale")
    with pytest.raises(InputError, match="no key path"):
        parse_vary("=1,2")
    with pytest.raises(InputError, match=r"--vary arrivals\.scale: 'x' is not a number"):
        parse_vary("arrivals.scale=1,x")


def test_values_mixing_whole_numbers_and_decimals_are_all_decimals():
    # One Parquet type per key path (see test_results_layout, which reads such a column).
    assert parse_vary("arrivals.scale=1,1.5").values == (1.0, 1.5)
    assert all(isinstance(v, float) for v in Axis(SCALE, (1, 1.5)).values)
    assert all(isinstance(v, int) for v in Axis(PHONE_AGENTS, (3, 4)).values)


def test_read_grid(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text(f"vary:\n  {PHONE_AGENTS}: 8..16:4   # a range\n"
                    f"  {SCALE}: [1.0, 1.2, 1.5]\nreps: 20\nseed: 7\n")
    axes, options = read_grid(path)
    assert axes == [Axis(PHONE_AGENTS, (8, 12, 16)), Axis(SCALE, (1.0, 1.2, 1.5))]
    assert options == {"reps": 20, "seed": 7}
    path.write_text(f"vary: {{{SCALE}: 1.1}}\n")
    assert read_grid(path) == ([Axis(SCALE, (1.1,))], {})


@pytest.mark.parametrize("text, field, problem", [
    ("vary: {arrivals.scale: [1]}\nrep: 3\n", "rep", "unknown key"),
    ("vary: {arrivals.scale: [1]}\nseeds: 3\n", "seeds", "unknown key"),
    ("reps: 3\n", "vary", "expected a mapping"),
    ("vary: [arrivals.scale]\n", "vary", "expected a mapping"),
    ("vary: {}\n", "vary", "expected a mapping"),
    ("vary: {arrivals.scale: [1, x]}\n", "vary.arrivals.scale", "not a number"),
    ("vary: {arrivals.scale: [1, true]}\n", "vary.arrivals.scale", "true/false"),
    ("vary: {arrivals.scale: []}\n", "vary.arrivals.scale", "expected a list"),
    ("vary: {arrivals.scale: '2..1'}\n", "vary.arrivals.scale", "ends before it starts"),
    ("vary: {arrivals.scale: [1]}\nreps: 0\n", "reps", "whole number >= 1"),
    ("vary: {arrivals.scale: [1]}\nreps: 2.5\n", "reps", "whole number"),
    ("vary: {arrivals.scale: [1]}\nseed: -1\n", "seed", "whole number"),
    ("vary: {arrivals.scale: [1]}\nseed: yes\n", "seed", "whole number"),
])
def test_bad_grids_name_the_file_and_key(tmp_path, text, field, problem):
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=problem) as exc:
        read_grid(path)
    assert exc.value.file == str(path)
    assert exc.value.field == field
    assert str(exc.value).startswith(f"{path}: {field}: ")


def test_grid_and_vary_combine_and_flags_override_the_grid(tmp_path, capsys):
    scenario = write_scenario(tmp_path)
    grid = tmp_path / "grid.yaml"
    grid.write_text(f"vary:\n  {PHONE_AGENTS}: [3, 4]\nreps: 3\nseed: 7\n")

    def run(out: str, *flags: str) -> dict[str, Any]:
        code, stdout, err = sweep_cli(capsys, str(scenario), "--grid", str(grid), "--jobs", "1",
                                      "--out", str(tmp_path / out), "--json", *flags)
        assert code == 0, err
        return json.loads(stdout)

    both = run("a", "--vary", f"{SCALE}=1.0,1.2")
    assert (both["points"], both["reps"], both["seed"]) == (4, 3, 7)
    combos = {(r[PHONE_AGENTS], r[SCALE]) for r in both["summary"]}
    assert combos == {(3, 1.0), (3, 1.2), (4, 1.0), (4, 1.2)}
    flags = run("b", "--reps", "2", "--seed", "9")
    assert (flags["points"], flags["reps"], flags["seed"]) == (2, 2, 9)
    assert len(task_files(tmp_path / "b")) == 2 * 2
    assert json.loads((tmp_path / "b" / "sweep.json").read_text())["seed"] == 9

    code, _, err = sweep_cli(capsys, str(scenario), "--grid", str(grid), "--vary",
                             f"{PHONE_AGENTS}=5", "--out", str(tmp_path / "c"))
    assert_one_line_error(code, err, PHONE_AGENTS, "varied twice")
    assert not (tmp_path / "c").exists()


# --------------------------------------------------------------------------------------------
# 5. Every point is validated before anything runs
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("axes, words", [
    ([Axis("agent_groups.nobody.shifts[0].agents", (3,))],
     ["agent_groups.nobody.shifts[0].agents", "no such key"]),
    ([Axis(PHONE_AGENTS, (5, 9)), Axis("agent_groups.phone_team.shifts[1].agents", (1,))],
     ["no such key", "at agent_groups.phone_team.shifts[0].agents=5"]),
    # A later point fails: nothing may run for the earlier ones either.
    ([Axis(SCALE, (1.0, 1.2)), Axis(PHONE_AGENTS, (4, 4.5))],
     [PHONE_AGENTS, "integer", f"at {SCALE}=1.0, {PHONE_AGENTS}=4.5"]),
    ([Axis(SCALE, (1.0, -0.5))], ["arrivals.scale", "non-negative", f"at {SCALE}=-0.5"]),
    ([Axis("queues.chat.target.service_level", (0.8, 1.5))], ["service_level", "=1.5"]),
])
def test_bad_points_are_reported_before_anything_is_written(tmp_path, axes, words):
    out = tmp_path / "out"
    with pytest.raises(InputError) as exc:
        run_sweep(small_scenario(), axes, out=out, reps=2)
    for w in words:
        assert w in str(exc.value)
    assert not out.exists()


def test_bad_points_from_the_command_line(tmp_path, capsys):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "out"
    for vary, words in ((f"{PHONE_AGENTS}=4,4.5", [f"{PHONE_AGENTS}=4.5", "small.yaml"]),
                        (f"{SCALE}=-1,1", [f"at {SCALE}=-1"]),
                        ("queues.email.aht_s=300", ["queues.email.aht_s", "no such key"])):
        code, _, err = sweep_cli(capsys, str(scenario), "--vary", vary, "--out", str(out))
        assert_one_line_error(code, err, *words)
        assert not out.exists()


def test_build_points_is_the_product_of_the_axes():
    points = build_points(small_scenario(), [Axis(PHONE_AGENTS, (3, 4)), Axis(SCALE, (1.0, 2.0))])
    assert [p.params for p in points] == [{PHONE_AGENTS: a, SCALE: s} for a in (3, 4)
                                          for s in (1.0, 2.0)]
    assert [p.index for p in points] == [0, 1, 2, 3]
    last = points[-1].scenario
    assert last.spec.agent_groups["phone_team"].shifts[0].agents == 4
    np.testing.assert_allclose(last.contacts, 2 * small_scenario().contacts)


# --------------------------------------------------------------------------------------------
# 6. The safety of OUT
# --------------------------------------------------------------------------------------------
def test_a_different_sweep_in_the_same_out_is_refused_unless_forced(tmp_path):
    base, axes, out = small_scenario(), [Axis(PHONE_AGENTS, (3, 4))], tmp_path / "out"
    run_sweep(base, axes, out=out, reps=2, seed=1)
    mine = out / "notes.txt"
    mine.write_text("the user's own notes")
    before = {f.name: f.stat().st_mtime_ns for f in task_files(out)}

    changed_data = small_data()
    changed_data["queues"]["phone"]["aht_s"] = 250
    changed = scenario_from_dict(changed_data, source="small.yaml")
    grid = "the grid, seed or seeding changed"
    for scenario, grid_axes, seed, crn, what in (
            (changed, axes, 1, True, "the scenario changed"),
            (base, [Axis(PHONE_AGENTS, (3, 5))], 1, True, grid),
            (base, axes, 2, True, grid),
            (base, axes, 1, False, grid)):
        with pytest.raises(InputError, match=rf"holds results of another sweep \({what}\).*"
                                             "--force") as exc:
            run_sweep(scenario, grid_axes, out=out, reps=2, seed=seed, crn=crn)
        assert exc.value.file == str(out) and exc.value.field == "--out"
    # Nothing was touched by the refusals.
    assert {f.name: f.stat().st_mtime_ns for f in task_files(out)} == before

    # More replications of the same sweep are no different sweep: the first two are reused.
    more = run_sweep(base, axes, out=out, reps=3, seed=1)
    assert (more.reused, more.computed) == (4, 2)

    forced = run_sweep(changed, axes, out=out, reps=2, seed=1, force=True)
    assert (forced.reused, forced.computed) == (0, 4)
    # The old results are gone (no rep 2 of the old sweep left in the dataset) ...
    assert len(task_files(out)) == 4
    assert set(pd.read_parquet(out / "intervals")["rep"]) == {0, 1}
    # ... and they are the new scenario's: the same as a fresh sweep of it.
    assert_same_results(forced, run_sweep(changed, axes, out=tmp_path / "fresh", reps=2,
                                          seed=1))
    # The user's file is still there.
    assert mine.read_text() == "the user's own notes"


def test_a_folder_that_is_not_a_sweep_is_refused_even_with_force(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "report.xlsx").write_text("precious")
    for force in (False, True):
        with pytest.raises(InputError, match="not empty and holds no sweep") as exc:
            run_sweep(small_scenario(), [Axis(SCALE, (1.0,))], out=out, force=force)
        assert exc.value.field == "--out"
    assert sorted(p.name for p in out.iterdir()) == ["report.xlsx"]
    assert (out / "report.xlsx").read_text() == "precious"

    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        run_sweep(small_scenario(), [Axis(SCALE, (1.0,))], out=a_file, force=True)
    # An empty folder is fine.
    (tmp_path / "empty").mkdir()
    fresh = run_sweep(small_scenario(), [Axis(SCALE, (1.0,))], out=tmp_path / "empty")
    assert fresh.computed == 1


def test_the_command_line_refuses_another_sweep_until_force(tmp_path, capsys):
    scenario, out = write_scenario(tmp_path), tmp_path / "out"
    args = [str(scenario), "--vary", f"{SCALE}=1.0,1.1", "--jobs", "1", "--out", str(out)]
    assert sweep_cli(capsys, *args)[0] == 0
    code, _, err = sweep_cli(capsys, *args, "--seed", "2")
    assert_one_line_error(code, err, str(out), "--out", "another sweep", "--force")
    code, stdout, err = sweep_cli(capsys, *args, "--seed", "2", "--force", "--json")
    assert code == 0, err
    assert json.loads(stdout)["computed"] == 2


# --------------------------------------------------------------------------------------------
# 7. What is under OUT
# --------------------------------------------------------------------------------------------
def test_results_layout(tmp_path):
    reps, out = 4, tmp_path / "out"
    axes = [Axis(PHONE_AGENTS, (3, 5)), parse_vary(f"{SCALE}=1,1.2")]
    sweep = run_sweep(small_scenario(), axes, out=out, reps=reps, seed=4)
    n_points, n_intervals = 4, 3

    intervals = pd.read_parquet(out / "intervals")
    assert len(intervals) == n_points * reps * n_intervals * 2
    assert not intervals.duplicated(["point", "rep", "interval", "queue"]).any()
    assert set(QUEUE_COLUMNS) | {"point", "rep", "interval_start", PHONE_AGENTS, SCALE} \
        <= set(intervals.columns)
    starts = small_scenario().interval_starts
    assert (intervals["interval_start"] == starts[intervals["interval"].to_numpy()]).all()
    params = intervals.groupby("point")[[PHONE_AGENTS, SCALE]].agg(set)
    for p in sweep.points:
        assert params.loc[p.index].to_dict() == {k: {v} for k, v in p.params.items()}
    assert intervals[SCALE].dtype == np.float64  # from "1,1.2": one type in every file
    pd.testing.assert_frame_equal(
        intervals.sort_values(["point", "rep", "interval", "queue"]).reset_index(drop=True),
        sorted_intervals(sweep))
    groups = pd.read_parquet(out / "groups")
    assert len(groups) == n_points * reps * n_intervals * 2
    assert set(GROUP_COLUMNS) <= set(groups.columns)

    summary = pd.read_csv(out / "summary.csv")
    in_memory = sweep.summary()
    numbers = [c for c in in_memory.columns if c not in ("queue", "target_met", "target_met_95")]
    pd.testing.assert_frame_equal(summary[numbers], in_memory[numbers], check_dtype=False,
                                  rtol=1e-12)
    assert list(summary["target_met"].fillna("-")) == \
        list(in_memory["target_met"].astype(object).fillna("-"))
    assert len(summary) == n_points * 3  # chat, phone, all
    for col in ("service_level", "asa_s", "abandon_rate", "occupancy"):
        assert {col, f"{col}_ci95"} <= set(summary.columns)
    group_summary = pd.read_csv(out / "group_summary.csv")
    assert set(group_summary["group"]) == {"chat_team", "phone_team"}
    assert {"occupancy", "occupancy_ci95", PHONE_AGENTS, SCALE} <= set(group_summary.columns)

    # One row by hand: the mean and Student-t half-width over the replications.
    per_rep = pd.concat([pd.read_parquet(out / "reps" / f"p00003-r{r:04d}.parquet")
                         for r in range(reps)])
    sl = per_rep.loc[per_rep["queue"] == "chat", "service_level"].to_numpy()
    row = summary[(summary["point"] == 3) & (summary["queue"] == "chat")].iloc[0]
    assert (row[PHONE_AGENTS], row[SCALE]) == (5, 1.2)
    assert row["service_level"] == pytest.approx(sl.mean())
    assert row["service_level_ci95"] == pytest.approx(
        stats.t.ppf(0.975, reps - 1) * sl.std(ddof=1) / math.sqrt(reps))

    # target_met against the scenario's targets, by hand: chat needs SL >= 80% and at most 10%
    # abandoned; phone SL >= 70% and occupancy <= 90%.  _95: on the worse side of the CI.
    s = sweep.summary()
    for _, r in s.iterrows():
        if r["queue"] == "all":
            assert pd.isna(r["target_met"]) and pd.isna(r["target_met_95"])
            continue
        t = TARGETS[r["queue"]]
        sure = {c: r[c] + (r[f"{c}_ci95"] if c != "service_level" else -r[f"{c}_ci95"])
                for c in ("service_level", "abandon_rate", "occupancy")}
        if r["queue"] == "chat":
            met = r["service_level"] >= t["service_level"] and r["abandon_rate"] <= t["max_abandon"]
            met95 = sure["service_level"] >= t["service_level"] and \
                sure["abandon_rate"] <= t["max_abandon"]
        else:
            met = r["service_level"] >= t["service_level"] and r["occupancy"] <= t["max_occupancy"]
            met95 = sure["service_level"] >= t["service_level"] and \
                sure["occupancy"] <= t["max_occupancy"]
        assert (bool(r["target_met"]), bool(r["target_met_95"])) == (met, met95), r
    # The grid crosses the targets, so both answers occur.
    queues = s[s["queue"] != "all"]
    assert queues["target_met"].any() and not queues["target_met"].all()


# --------------------------------------------------------------------------------------------
# 8. The command line
# --------------------------------------------------------------------------------------------
def test_the_command_prints_the_summary_table(tmp_path, capsys):
    scenario = write_scenario(tmp_path)
    code, stdout, err = sweep_cli(capsys, str(scenario), "--vary", f"{PHONE_AGENTS}=3..5",
                                  "--reps", "2", "--jobs", "1", "--out", str(tmp_path / "o"))
    assert code == 0, err
    summary = pd.read_csv(tmp_path / "o" / "summary.csv")
    assert "Service level per point and queue" in stdout
    assert re.search(r"chat SL\s+phone SL\s+abandoned", stdout)
    for agents in (3, 4, 5):
        row = summary[(summary[PHONE_AGENTS] == agents) & (summary["queue"] == "chat")].iloc[0]
        mark = "ok" if row["target_met"] else "MISS"
        shown = f"{100 * row['service_level']:.1f}% ±{100 * row['service_level_ci95']:.1f} {mark}"
        assert re.search(rf"^{agents}\s+{re.escape(shown)}", stdout, re.M), stdout
    assert "3 points x 2 replications: 6 run, 0 reused" in stdout

    # Two varied paths that end alike are told apart by their whole key paths.
    code, stdout, err = sweep_cli(capsys, str(scenario), "--vary", f"{PHONE_AGENTS}=3,4",
                                  "--vary", f"{CHAT_AGENTS}=2", "--jobs", "1",
                                  "--out", str(tmp_path / "o2"))
    assert code == 0, err
    assert PHONE_AGENTS in stdout and CHAT_AGENTS in stdout


def test_json_output(tmp_path, capsys):
    scenario, out = write_scenario(tmp_path), tmp_path / "o"
    args = [str(scenario), "--vary", f"{SCALE}=1.0,1.1", "--reps", "2", "--seed", "3",
            "--jobs", "1", "--out", str(out), "--json"]
    code, stdout, err = sweep_cli(capsys, *args)
    assert code == 0, err
    result = json.loads(stdout)
    assert set(result) == {"out", "points", "reps", "seed", "reused", "computed", "summary"}
    assert (result["out"], result["points"], result["reps"], result["seed"]) == \
        (str(out), 2, 2, 3)
    assert (result["reused"], result["computed"]) == (0, 4)
    assert len(result["summary"]) == 2 * 3
    all_rows = [r for r in result["summary"] if r["queue"] == "all"]
    assert all(r["target_met"] is None for r in all_rows)  # not NaN: valid JSON
    assert {r[SCALE] for r in result["summary"]} == {1.0, 1.1}
    # Again: everything reused, the same summary.
    again = json.loads(sweep_cli(capsys, *args)[1])
    assert (again["reused"], again["computed"]) == (4, 0)
    assert again["summary"] == result["summary"]


def test_bad_flags_give_one_line_and_status_2(tmp_path, capsys):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "o"
    vary = ["--vary", f"{SCALE}=1.0"]
    cases = [
        (["--bogus", *vary], ["unrecognized arguments: --bogus"]),
        ([*vary, "--reps", "x"], ["--reps"]),
        ([*vary, "--reps", "0"], ["--reps", "at least 1"]),
        ([*vary, "--jobs", "0"], ["--jobs", "at least 1"]),
        ([*vary, "--seed", "-1"], ["--seed", ">= 0"]),
        (["--vary", "arrivals.scale"], ["--vary", "KEY=VALUES"]),
        (["--vary", f"{SCALE}=2..1"], [f"--vary {SCALE}", "ends before it starts"]),
        (["--vary", f"{SCALE}=1,,2"], ["--vary"]),
        (["--grid", str(tmp_path / "missing.yaml")], ["missing.yaml", "file not found"]),
        ([], ["--vary", "nothing to vary"]),
    ]
    for flags, words in cases:
        code, _, err = sweep_cli(capsys, str(scenario), *flags, "--out", str(out))
        assert_one_line_error(code, err, *words)
        assert not out.exists(), flags
    code, _, err = sweep_cli(capsys, str(scenario), *vary)  # no --out
    assert_one_line_error(code, err, "--out")
    code, _, err = sweep_cli(capsys, str(tmp_path / "nope.yaml"), *vary, "--out", str(out))
    assert_one_line_error(code, err, "nope.yaml")


def test_the_command_puts_back_the_sigterm_handler(tmp_path, capsys):
    # The command turns SIGTERM into Ctrl-C while it runs; called in-process, it must not leave
    # that behind.
    def mine(signum: int, frame: Any) -> None:
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        code, _, err = sweep_cli(capsys, str(write_scenario(tmp_path)), "--vary", f"{SCALE}=1",
                                 "--jobs", "1", "--out", str(tmp_path / "o"))
        assert code == 0, err
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)
