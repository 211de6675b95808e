"""``peakplan staff``: called in-process through planner.cli.main, plus one run of the installed
console script.  Bad input must end in exit status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from planner.cli import main
from sim.forecast import read_forecast
from planner.staffing import TABLE_COLUMNS, read_targets, staffing_table

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
KNOWN = ["staff", "--contacts", "100", "--interval-min", "30", "--aht-s", "180",
         "--target-s", "20", "--sl", "0.8", "--shrinkage", "0.3"]

FORECAST = """\
interval_start,queue,contacts
2026-11-11T00:00,presales,120
2026-11-11T00:00,complaints,0
2026-11-11T00:30,presales,80
2026-11-11T00:30,complaints,6
2026-11-11T01:00,presales,30
2026-11-11T01:00,complaints,2
"""
TARGETS = """\
defaults:
  shrinkage: 0.3
  target: {service_level: 0.8, within_s: 30, max_occupancy: 0.85}
queues:
  presales: {channel: chat, aht_s: 420, patience_s: 90, chat_concurrency: 3,
             chat_slowdown: 0.15}
  complaints: {aht_s: 750, target: {within_s: 20, max_occupancy: 0.7}}
"""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``peakplan ARGV``; argparse errors exit by SystemExit."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path):
    """A small forecast and its targets, in a folder of their own."""
    forecast = tmp_path / "forecast.csv"
    forecast.write_text(FORECAST, encoding="utf-8")
    targets = tmp_path / "targets.yaml"
    targets.write_text(TARGETS, encoding="utf-8")
    return forecast, targets


# --------------------------------------------------------------------------------------------
# One interval
# --------------------------------------------------------------------------------------------
def test_public_names_exist():
    import planner.cli
    assert all(hasattr(planner.cli, name) for name in planner.cli.__all__)


def test_known_answer_json(capsys):
    code, out, err = run(capsys, *KNOWN, "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["agents"] == 14
    assert result["scheduled"] == 20
    assert result["service_level"] == pytest.approx(0.888, abs=5e-4)
    assert result["asa_s"] == pytest.approx(7.8, abs=0.05)
    assert result["occupancy"] == pytest.approx(0.714, abs=5e-4)
    assert result["p_wait"] == pytest.approx(0.174, abs=5e-4)
    assert result["model"] == "erlang_c"
    assert result["interval_min"] == 30
    assert "p_abandon" not in result


def test_patience_gives_erlang_a_and_p_abandon(capsys):
    code, out, _ = run(capsys, *KNOWN, "--patience-s", "300", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["model"] == "erlang_a"
    assert 0 < result["p_abandon"] < 0.1
    # Customers who leave relieve the queue: Erlang A needs no more agents than Erlang C.
    assert result["agents"] <= 14
    assert result["service_level"] >= 0.8


def test_max_occupancy_is_honoured(capsys):
    code, out, _ = run(capsys, *KNOWN, "--max-occupancy", "0.7", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["agents"] == 15  # 14 would be 71.4% busy
    assert result["occupancy"] <= 0.7
    assert result["scheduled"] == 22


def test_known_answer_human_readable(capsys):
    code, out, err = run(capsys, *KNOWN)
    assert (code, err) == (0, "")
    assert "Agents needed: 14" in out
    assert "shrinkage: 20" in out
    assert "88.8% answered within 20 s" in out
    assert "erlang c" in out
    assert "abandoned" not in out


def test_one_interval_out_writes_the_row(capsys, tmp_path):
    out_path = tmp_path / "one.csv"
    code, _, _ = run(capsys, *KNOWN, "--json", "--out", str(out_path))
    assert code == 0
    table = pd.read_csv(out_path)
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert table["agents"].tolist() == [14]


# --------------------------------------------------------------------------------------------
# A forecast
# --------------------------------------------------------------------------------------------
def test_forecast_out_writes_the_table_as_csv(capsys, files, tmp_path):
    forecast, targets = files
    out_path = tmp_path / "table.csv"
    code, out, err = run(capsys, "staff", "--forecast", str(forecast), "--targets",
                         str(targets), "--out", str(out_path))
    assert code == 0
    assert f"wrote {out_path}" in err
    written = pd.read_csv(out_path)
    assert list(written.columns) == list(TABLE_COLUMNS)
    expected = staffing_table(read_forecast(forecast), read_targets(targets))
    assert written["agents"].tolist() == expected["agents"].tolist()
    assert written["scheduled"].tolist() == expected["scheduled"].tolist()
    assert written["queue"].tolist() == expected["queue"].tolist()
    assert written["interval_start"].tolist()[:2] == ["2026-11-11T00:00"] * 2
    assert written["service_level"].to_numpy() == pytest.approx(
        expected["service_level"].to_numpy(), nan_ok=True)
    # Nothing is left behind but the table (the temporary file is renamed or removed).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forecast.csv", "table.csv",
                                                          "targets.yaml"]


def test_out_refuses_to_overwrite_without_force(capsys, files, tmp_path):
    forecast, targets = files
    out_path = tmp_path / "table.csv"
    out_path.write_text("precious\n")
    argv = ["staff", "--forecast", str(forecast), "--targets", str(targets),
            "--out", str(out_path)]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("peakplan")
    assert str(out_path) in err and "--force" in err
    assert out_path.read_text() == "precious\n"
    code, _, _ = run(capsys, *argv, "--force")
    assert code == 0
    assert list(pd.read_csv(out_path).columns) == list(TABLE_COLUMNS)


@pytest.mark.parametrize("which", ["forecast", "targets"])
def test_out_never_overwrites_an_input_even_with_force(capsys, files, which):
    forecast, targets = files
    victim = forecast if which == "forecast" else targets
    before = victim.read_bytes()
    code, out, err = run(capsys, "staff", "--forecast", str(forecast), "--targets",
                         str(targets), "--out", str(victim), "--force")
    assert code == 2
    assert err.startswith("peakplan") and str(victim) in err
    assert "refusing to overwrite" in err
    assert victim.read_bytes() == before


def test_out_into_a_folder_or_a_missing_folder(capsys, files, tmp_path):
    forecast, targets = files
    base = ["staff", "--forecast", str(forecast), "--targets", str(targets), "--force"]
    code, out, err = run(capsys, *base, "--out", str(tmp_path))
    assert code == 2 and "is a folder" in err and "Traceback" not in out + err
    code, out, err = run(capsys, *base, "--out", str(tmp_path / "no" / "t.csv"))
    assert code == 2 and "does not exist" in err


def test_out_that_cannot_be_written_is_a_message(capsys, files, tmp_path, monkeypatch):
    forecast, targets = files

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    code, out, err = run(capsys, "staff", "--forecast", str(forecast), "--targets",
                         str(targets), "--out", str(tmp_path / "t.csv"))
    assert code == 2
    assert err.startswith("peakplan") and "Permission denied" in err
    assert "Traceback" not in out + err


def test_forecast_json_parses_and_nan_is_null(capsys, files):
    forecast, targets = files
    code, out, err = run(capsys, "staff", "--forecast", str(forecast), "--targets",
                         str(targets), "--json")
    assert (code, err) == (0, "")

    def no_nan(token):
        raise AssertionError(f"{token} in JSON output")

    data = json.loads(out, parse_constant=no_nan)
    assert data["queues"] == ["complaints", "presales"]
    assert data["interval_min"] == 30
    rows = {(r["interval_start"][11:16], r["queue"]): r for r in data["rows"]}
    assert len(rows) == 6
    assert set(data["rows"][0]) == set(TABLE_COLUMNS)
    idle = rows[("00:00", "complaints")]  # no contacts: no measures
    assert idle["agents"] == 0
    assert all(idle[k] is None for k in ("service_level", "asa_s", "p_wait", "occupancy"))
    assert rows[("00:30", "complaints")]["p_abandon"] is None  # Erlang C: no abandonment
    assert rows[("00:30", "presales")]["model"] == "erlang_a"
    assert 0 <= rows[("00:30", "presales")]["p_abandon"] < 1
    assert [t["agents"] for t in data["totals"]] == [
        sum(r["agents"] for (t, _), r in rows.items() if t == start)
        for start in ("00:00", "00:30", "01:00")]
    peak = max(data["totals"], key=lambda t: t["scheduled"])
    assert data["summary"]["peak_interval_start"] == peak["interval_start"]
    assert data["summary"]["peak_scheduled"] == peak["scheduled"]
    assert data["summary"]["contacts"] == 238


def test_forecast_flags_only(capsys, files):
    # Without --targets every queue takes the flags.
    forecast, _ = files
    code, out, _ = run(capsys, "staff", "--forecast", str(forecast), "--aht-s", "180",
                       "--json")
    assert code == 0
    rows = json.loads(out)["rows"]
    assert {r["model"] for r in rows} == {"erlang_c"}
    assert all(r["aht_s"] == 180 for r in rows)


def test_flags_override_the_targets_file(capsys, files):
    forecast, targets = files
    code, out, _ = run(capsys, "staff", "--forecast", str(forecast), "--targets",
                       str(targets), "--shrinkage", "0", "--json")
    assert code == 0
    assert all(r["scheduled"] == r["agents"] for r in json.loads(out)["rows"])


@pytest.mark.parametrize("name", ["normal_day", "singles_day"])
def test_human_readable_forecast_names_every_queue_and_the_totals(capsys, tmp_path, name):
    forecast = SCENARIOS / f"{name}_forecast.csv"
    code, out, err = run(capsys, "staff", "--forecast", str(forecast), "--targets",
                         str(SCENARIOS / f"{name}_targets.yaml"))
    assert (code, err) == (0, "")
    header = next(line for line in out.splitlines() if "scheduled" in line.split())
    for queue in read_forecast(forecast).queues:
        assert queue in header.split()
    totals = [line for line in out.splitlines() if line.startswith("Contacts:")]
    assert len(totals) == 1
    assert "peak:" in totals[0] and "scheduled agent-hours:" in totals[0]
    assert f"{read_forecast(forecast).frame['contacts'].sum():,.0f}" in totals[0]


# --------------------------------------------------------------------------------------------
# Bad input: exit 2, one line on stderr naming the flag or file, no traceback
# --------------------------------------------------------------------------------------------
ONE = ["staff", "--contacts", "100", "--aht-s", "180"]
BAD_FLAGS = {
    "sl above 1": (ONE + ["--sl", "1.5"], "--sl"),
    "sl not a number": (ONE + ["--sl", "abc"], "--sl"),
    "negative contacts": (["staff", "--contacts", "-5", "--aht-s", "180"], "--contacts"),
    "nan contacts": (["staff", "--contacts", "nan", "--aht-s", "180"], "--contacts"),
    "no aht": (["staff", "--contacts", "100"], "--aht-s"),
    "zero aht": (["staff", "--contacts", "100", "--aht-s", "0"], "--aht-s"),
    "negative target": (ONE + ["--target-s", "-1"], "--target-s"),
    "shrinkage 1": (ONE + ["--shrinkage", "1"], "--shrinkage"),
    "occupancy above 1": (ONE + ["--max-occupancy", "1.2"], "--max-occupancy"),
    "zero interval": (ONE + ["--interval-min", "0"], "--interval-min"),
    "nan interval": (ONE + ["--interval-min", "nan"], "--interval-min"),
    "zero patience": (ONE + ["--patience-s", "0"], "--patience-s"),
    "zero concurrency": (ONE + ["--chat-concurrency", "0"], "--chat-concurrency"),
    "fractional concurrency": (ONE + ["--chat-concurrency", "2.5"], "--chat-concurrency"),
    "unknown channel": (ONE + ["--channel", "email"], "--channel"),
    "abandon cap without patience": (ONE + ["--max-abandon", "0.05"], "--max-abandon"),
    "unknown flag": (ONE + ["--bogus"], "--bogus"),
    "neither contacts nor forecast": (["staff", "--aht-s", "180"], "--contacts"),
    "contacts and forecast": (ONE + ["--forecast", "x.csv"], "--forecast"),
    "no command": ([], "COMMAND"),
    "unknown command": (["stafff"], "stafff"),
}


def assert_one_line_error(code: int, out: str, err: str, *names: str) -> None:
    assert code == 2
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("peakplan")
    for name in names:
        assert name in lines[0], (name, lines[0])


@pytest.mark.parametrize("argv,name", list(BAD_FLAGS.values()), ids=list(BAD_FLAGS))
def test_bad_flags(capsys, argv, name):
    code, out, err = run(capsys, *argv)
    assert_one_line_error(code, out, err, name)
    assert out == ""


def test_targets_without_forecast(capsys, files):
    _, targets = files
    code, out, err = run(capsys, *ONE, "--targets", str(targets))
    assert_one_line_error(code, out, err, "--targets", "--forecast")


def test_bad_override_is_blamed_on_the_flag_not_the_file(capsys, files):
    forecast, targets = files
    code, out, err = run(capsys, "staff", "--forecast", str(forecast), "--targets",
                         str(targets), "--shrinkage", "2")
    assert_one_line_error(code, out, err, "--shrinkage", "got 2")
    assert str(targets) not in err


@pytest.mark.parametrize("case", [
    "missing forecast", "binary forecast", "bad contacts", "missing targets", "invalid yaml",
    "unknown key", "unknown queue", "single interval", "interval mismatch", "no aht",
])
def test_bad_files(capsys, tmp_path, files, case):
    forecast, targets = files
    argv = ["staff", "--forecast", str(forecast), "--targets", str(targets)]
    names = []
    if case == "missing forecast":
        argv[2] = str(tmp_path / "nope.csv")
        names = [argv[2], "not found"]
    elif case == "binary forecast":
        forecast.write_bytes(b"\x00\x01\x02PK\x03\x04" * 10)
        names = [str(forecast), "not a text file"]
    elif case == "bad contacts":
        forecast.write_text(FORECAST.replace(",80\n", ",eighty\n"))
        names = [str(forecast), "contacts", "line 4", "'eighty'"]
    elif case == "missing targets":
        argv[4] = str(tmp_path / "nope.yaml")
        names = [argv[4], "not found"]
    elif case == "invalid yaml":
        targets.write_text(TARGETS.replace("chat_slowdown: 0.15}", "chat_slowdown: 0.15"))
        names = [str(targets), "line", "not valid YAML"]
    elif case == "unknown key":
        targets.write_text(TARGETS.replace("aht_s: 750", "aht: 750"))
        names = [str(targets), "queues.complaints.aht", "unknown key"]
    elif case == "unknown queue":
        forecast.write_text(FORECAST.replace("complaints", "vip"))
        names = [str(forecast), "queue", "'vip'"]
    elif case == "single interval":
        forecast.write_text(FORECAST.splitlines()[0] + "\n2026-11-11T00:00,presales,5\n")
        names = [str(forecast), "--interval-min"]
    elif case == "interval mismatch":
        argv += ["--interval-min", "15"]
        names = [str(forecast), "interval_start", "30 min", "15 min"]
    elif case == "no aht":
        argv = ["staff", "--forecast", str(forecast)]
        names = [str(forecast), "aht_s", "--aht-s"]
    code, out, err = run(capsys, *argv)
    assert_one_line_error(code, out, err, *names)


# --------------------------------------------------------------------------------------------
# The installed console script
# --------------------------------------------------------------------------------------------
def console_script() -> str:
    here = Path(sys.executable).parent / "peakplan"
    found = str(here) if here.exists() else shutil.which("peakplan")
    if found is None:
        pytest.fail("the peakplan console script is not installed (pip install -e .)")
    return found


def test_installed_console_script(tmp_path):
    script = console_script()
    done = subprocess.run([script, *KNOWN, "--json"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["agents"], result["scheduled"]) == (14, 20)
    assert math.isclose(result["service_level"], 0.888, abs_tol=5e-4)
    # And bad input through the real entry point: status 2, one line, no traceback.
    done = subprocess.run([script, "staff", "--forecast", "missing.csv"], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert_one_line_error(done.returncode, done.stdout, done.stderr, "missing.csv")
