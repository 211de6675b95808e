"""The forecast reader: what a valid CSV gives, and an InputError for every way it can be wrong.

Every error test checks the three things a person needs to fix the file (style.md, principle
11): which file, which field or line, and what was expected.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.errors import InputError
from sim.forecast import Forecast, forecast_from_frame, read_forecast
from planner.staffing import QueuePlan, staffing_table

HEADER = "interval_start,queue,contacts\n"


def write(tmp_path: Path, text: str | bytes, name: str = "forecast.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def raises_for(path: Path, pattern: str):
    """pytest.raises(InputError) whose message starts with the file and then matches
    ``pattern``."""
    return pytest.raises(InputError, match="^" + re.escape(str(path)) + ": " + pattern)


# --------------------------------------------------------------------------------------------
# What a valid forecast gives
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("step_min", [15, 30])
def test_interval_length_is_read_from_the_spacing(tmp_path, step_min):
    starts = pd.date_range("2026-11-11T00:00", periods=4, freq=f"{step_min}min")
    text = HEADER + "".join(f"{t:%Y-%m-%dT%H:%M},presales,{i}\n" for i, t in enumerate(starts))
    forecast = read_forecast(write(tmp_path, text))
    assert forecast.interval_min == step_min
    assert list(forecast.starts) == list(starts)


def test_valid_forecast_frame_is_sorted_typed_and_names_its_source(tmp_path):
    # Rows out of order, spaces after commas, an aht_s column: all normalised.
    path = write(tmp_path, "interval_start, queue, contacts, aht_s\n"
                           "2026-11-11T00:30, presales, 7, 400\n"
                           "2026-11-11T00:00, presales, 5.5, 410\n"
                           "2026-11-11T00:00, aftersales, 3, 600\n"
                           "2026-11-11T00:30, aftersales, 0, 620\n")
    forecast = read_forecast(path)
    assert isinstance(forecast, Forecast)
    assert forecast.source == str(path)
    assert forecast.queues == ["aftersales", "presales"]
    frame = forecast.frame
    assert list(frame.columns) == ["interval_start", "queue", "contacts", "aht_s"]
    assert [(f"{t:%H:%M}", q, c, a) for t, q, c, a in frame.itertuples(index=False)] == [
        ("00:00", "aftersales", 3.0, 600.0), ("00:00", "presales", 5.5, 410.0),
        ("00:30", "aftersales", 0.0, 620.0), ("00:30", "presales", 7.0, 400.0)]
    assert frame["contacts"].dtype == float and frame["aht_s"].dtype == float


def test_missing_queue_rows_are_filled_with_zero_contacts(tmp_path):
    path = write(tmp_path, HEADER + "2026-11-11T00:00,presales,5\n"
                                    "2026-11-11T00:15,presales,6\n"
                                    "2026-11-11T00:15,complaints,2\n"
                                    "2026-11-11T00:30,presales,7\n")
    forecast = read_forecast(path)
    assert forecast.interval_min == 15
    frame = forecast.frame
    assert len(frame) == 3 * 2  # the full grid of intervals x queues
    complaints = frame[frame["queue"] == "complaints"]
    assert complaints["contacts"].tolist() == [0.0, 2.0, 0.0]
    assert complaints["aht_s"].isna().all()  # no handle time given: the queue's default


def test_without_aht_column_aht_is_nan(tmp_path):
    path = write(tmp_path, HEADER + "2026-11-11T00:00,a,1\n2026-11-11T00:30,a,2\n")
    assert read_forecast(path).frame["aht_s"].isna().all()


def test_blank_aht_cells_are_nan_in_csv_and_in_a_frame_of_numbers(tmp_path):
    path = write(tmp_path, "interval_start,queue,contacts,aht_s\n"
                           "2026-11-11T00:00,a,1,300\n2026-11-11T00:30,a,2,\n")
    assert read_forecast(path).frame["aht_s"].tolist()[0] == 300.0
    assert np.isnan(read_forecast(path).frame["aht_s"].tolist()[1])
    # The same forecast built in code, with NaN / None for the blank (the app does this).
    for blank in (np.nan, None):
        frame = pd.DataFrame({"interval_start": ["2026-11-11T00:00", "2026-11-11T00:30"],
                              "queue": ["a", "a"], "contacts": [1, 2],
                              "aht_s": [300.0, blank]})
        aht = forecast_from_frame(frame).frame["aht_s"].to_numpy()
        assert aht[0] == 300.0 and np.isnan(aht[1])


def test_single_interval_needs_and_takes_the_given_length(tmp_path):
    path = write(tmp_path, HEADER + "2026-11-11T00:00,a,100\n")
    assert read_forecast(path, interval_min=30).interval_min == 30.0


def test_given_length_must_agree_with_the_spacing(tmp_path):
    path = write(tmp_path, HEADER + "2026-11-11T00:00,a,1\n2026-11-11T00:30,a,2\n")
    assert read_forecast(path, interval_min=30).interval_min == 30
    with raises_for(path, r"interval_start: intervals are 30 min apart but the interval "
                          r"length given is 15 min"):
        read_forecast(path, interval_min=15)


def test_utf8_bom_and_blank_lines_are_accepted(tmp_path):
    path = write(tmp_path, "\ufeff" + HEADER + "2026-11-11T00:00,a,1\n\n"
                           "2026-11-11T00:30,a,2\n\n\n")
    forecast = read_forecast(path)
    assert forecast.frame["contacts"].tolist() == [1.0, 2.0]


@pytest.mark.parametrize("bad", [0.0, -30.0, float("nan"), float("inf")])
def test_interval_length_must_be_a_positive_finite_number(bad):
    frame = pd.DataFrame({"interval_start": ["2026-11-11T00:00"], "queue": ["a"],
                          "contacts": [1]})
    with pytest.raises(InputError, match=r"^cli: interval length must be positive"):
        forecast_from_frame(frame, source="cli", interval_min=bad)


# --------------------------------------------------------------------------------------------
# Every way the file can be wrong: file, field/line, and what was expected
# --------------------------------------------------------------------------------------------
BAD_ROWS = {
    # name: (CSV text, the message after "FILE: ")
    "missing contacts column": (
        "interval_start,queue\n2026-11-11T00:00,a\n",
        r"missing column\(s\) contacts \(expected columns interval_start, queue, contacts "
        r"and optionally aht_s; found interval_start, queue\)"),
    "missing two columns": (
        "time,queue,volume\n2026-11-11T00:00,a,3\n",
        r"missing column\(s\) interval_start, contacts \(expected columns"),
    "negative contacts": (
        HEADER + "2026-11-11T00:00,a,5\n2026-11-11T00:30,a,-1\n",
        r"contacts: line 3: '-1' is not a non-negative number"),
    "non-numeric contacts": (
        HEADER + "2026-11-11T00:00,a,5\n2026-11-11T00:30,a,lots\n",
        r"contacts: line 3: 'lots' is not a non-negative number"),
    "blank contacts": (
        HEADER + "2026-11-11T00:00,a,\n2026-11-11T00:30,a,5\n",
        r"contacts: line 2: '' is not a non-negative number"),
    "infinite contacts": (
        HEADER + "2026-11-11T00:00,a,5\n2026-11-11T00:30,a,inf\n",
        r"contacts: line 3: 'inf' is not a non-negative number"),
    "non-numeric aht_s": (
        "interval_start,queue,contacts,aht_s\n2026-11-11T00:00,a,5,180\n"
        "2026-11-11T00:30,a,5,3min\n",
        r"aht_s: line 3: '3min' is not a positive number of seconds"),
    "zero aht_s": (
        "interval_start,queue,contacts,aht_s\n2026-11-11T00:00,a,5,0\n"
        "2026-11-11T00:30,a,5,180\n",
        r"aht_s: line 2: '0' is not a positive number of seconds"),
    "negative aht_s": (
        "interval_start,queue,contacts,aht_s\n2026-11-11T00:00,a,5,180\n"
        "2026-11-11T00:30,a,5,-3\n",
        r"aht_s: line 3: '-3' is not a positive number of seconds"),
    "unparseable date": (
        HEADER + "2026-11-11T00:00,a,5\nyesterday,a,5\n",
        r"interval_start: line 3: 'yesterday' is not a date-time \(expected ISO format such as "
        r"2026-11-11T00:00\)"),
    "impossible date": (
        HEADER + "2026-11-11T00:00,a,5\n2026-13-45T00:00,a,5\n",
        r"interval_start: line 3: '2026-13-45T00:00' is not a date-time \(expected ISO"),
    "empty queue id": (
        HEADER + "2026-11-11T00:00,,5\n2026-11-11T00:30,a,5\n",
        r"queue: line 2: empty queue id"),
    "duplicate row": (
        HEADER + "2026-11-11T00:00,a,5\n2026-11-11T00:30,a,5\n2026-11-11T00:00,a,6\n",
        r"line 4: a second row for queue 'a' at 2026-11-11 00:00 \(expected one row per "
        r"interval and queue\)"),
    "uneven intervals": (
        HEADER + "2026-11-11T00:00,a,5\n2026-11-11T00:30,a,5\n2026-11-11T01:15,a,5\n",
        r"interval_start: uneven intervals: 2026-11-11 00:30 is followed by 2026-11-11 01:15 "
        r"but the shortest step is 30 min \(expected evenly spaced interval starts\)"),
    "single interval without length": (
        HEADER + "2026-11-11T00:00,a,5\n",
        r"a single interval: its length cannot be read from the file \(give the interval "
        r"length, e.g. --interval-min 30\)"),
    "header only": (
        HEADER,
        r"no rows \(expected at least one interval\)"),
    "empty file": (
        "",
        r"empty file \(expected a CSV whose first line is interval_start,queue,contacts"),
    "only blank lines": (
        "\n  \n\n",
        r"empty file \(expected a CSV whose first line is interval_start,queue,contacts"),
    "more fields than the header": (
        HEADER + "2026-11-11T00:00,a,5,7,8\n2026-11-11T00:30,a,5,7,8\n",
        r"line 2: more fields than the 3 column names of the header \(expected a CSV"),
    "binary file": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
        r"not a text file \(expected a CSV whose first line is interval_start,queue,contacts"),
    "every byte": (
        bytes(range(256)) * 4,
        r"not a text file \(expected a CSV"),
    "latin-1 text": (
        (HEADER + "2026-11-11T00:00,caf\xe9,5\n").encode("latin-1"),
        r"not a text file: byte 50 is not UTF-8 \(expected a CSV"),
}


@pytest.mark.parametrize("text,message", list(BAD_ROWS.values()), ids=list(BAD_ROWS))
def test_bad_forecast_names_file_field_and_expectation(tmp_path, text, message):
    path = write(tmp_path, text)
    with raises_for(path, message) as info:
        read_forecast(path)
    assert info.value.file == str(path)


def test_line_numbers_count_blank_lines(tmp_path):
    # pandas skips blank lines: the message must still name the line an editor shows.
    path = write(tmp_path, "\n" + HEADER + "2026-11-11T00:00,a,5\n\n   \n"
                                           "2026-11-11T00:30,a,-2\n")
    with raises_for(path, r"contacts: line 6: '-2'"):
        read_forecast(path)


def test_error_carries_the_field(tmp_path):
    path = write(tmp_path, HEADER + "2026-11-11T00:00,a,5\n2026-11-11T00:30,a,-1\n")
    with pytest.raises(InputError) as info:
        read_forecast(path)
    assert (info.value.file, info.value.field) == (str(path), "contacts")
    assert "line 3" in info.value.problem


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_missing_file(tmp_path, kind):
    path = tmp_path / "nope.csv" if kind == "missing" else tmp_path
    with raises_for(path, r"file not found \(expected a forecast CSV\)"):
        read_forecast(path)


def test_input_error_is_a_value_error():
    # Callers that catch ValueError (argument errors) also catch bad input.
    assert issubclass(InputError, ValueError)
    assert str(InputError("bad", file="f.csv", field="x")) == "f.csv: x: bad"
    assert str(InputError("bad")) == "bad"


def test_unknown_queue_names_the_forecast_and_the_known_queues(tmp_path):
    path = write(tmp_path, HEADER + "2026-11-11T00:00,presales,5\n"
                                    "2026-11-11T00:00,complaints,1\n"
                                    "2026-11-11T00:30,presales,5\n")
    forecast = read_forecast(path)
    plans = {"presales": QueuePlan(aht_s=300), "aftersales": QueuePlan(aht_s=600)}
    with raises_for(path, r"queue: unknown queue\(s\) 'complaints' \(expected one of: "
                          r"aftersales, presales\)"):
        staffing_table(forecast, plans)
    # A plan for a queue the forecast does not have is fine (the targets may cover more).
    plans["complaints"] = QueuePlan(aht_s=700)
    assert set(staffing_table(forecast, plans)["queue"]) == {"presales", "complaints"}


# --------------------------------------------------------------------------------------------
# Time zones and daylight saving time (see the module doc of sim/forecast.py)
# --------------------------------------------------------------------------------------------
def _rows(times: list[str], queue: str = "q") -> str:
    return HEADER + "".join(f"{t},{queue},{10 + i}\n" for i, t in enumerate(times))


def test_spring_forward_with_offsets_is_evenly_spaced_on_the_starting_clock(tmp_path):
    # 02:00-03:00 does not exist on 29 March 2026 in Central Europe: 01:30+01:00 is followed
    # 30 minutes later by 03:00+02:00.
    path = write(tmp_path, _rows(["2026-03-29T01:00+01:00", "2026-03-29T01:30+01:00",
                                  "2026-03-29T03:00+02:00", "2026-03-29T03:30+02:00"]))
    fc = read_forecast(path)
    assert fc.interval_min == 30.0
    assert fc.utc_offset == pd.Timedelta(hours=1)
    assert list(fc.starts) == list(pd.date_range("2026-03-29T01:00", periods=4, freq="30min"))
    assert fc.frame["contacts"].tolist() == [10.0, 11.0, 12.0, 13.0]
    assert fc.starts.tz is None


def test_repeated_autumn_hour_with_offsets_is_evenly_spaced(tmp_path):
    # 02:00-03:00 happens twice on 25 October 2026: first at +02:00, then at +01:00.
    times = ["2026-10-25T01:30+02:00", "2026-10-25T02:00+02:00", "2026-10-25T02:30+02:00",
             "2026-10-25T02:00+01:00", "2026-10-25T02:30+01:00", "2026-10-25T03:00+01:00"]
    fc = read_forecast(write(tmp_path, _rows(times)))
    assert fc.interval_min == 30.0
    assert fc.utc_offset == pd.Timedelta(hours=2)
    assert list(fc.starts) == list(pd.date_range("2026-10-25T01:30", periods=6, freq="30min"))
    assert fc.frame["contacts"].tolist() == [10.0, 11.0, 12.0, 13.0, 14.0, 15.0]


def test_offsets_take_the_clock_of_the_earliest_time_whatever_the_row_order(tmp_path):
    times = ["2026-03-29T03:00+02:00", "2026-03-29T01:30+01:00"]
    fc = read_forecast(write(tmp_path, _rows(times)))
    assert fc.utc_offset == pd.Timedelta(hours=1)
    assert list(fc.starts) == [pd.Timestamp("2026-03-29T01:30"), pd.Timestamp("2026-03-29T02:00")]


def test_one_offset_throughout_keeps_the_wall_clock(tmp_path):
    fc = read_forecast(write(tmp_path, _rows(["2026-11-11T00:00+08:00",
                                              "2026-11-11T00:30+08:00"])))
    assert fc.utc_offset == pd.Timedelta(hours=8)
    assert list(fc.starts) == [pd.Timestamp("2026-11-11T00:00"), pd.Timestamp("2026-11-11T00:30")]


def test_naive_times_have_no_offset(tmp_path):
    fc = read_forecast(write(tmp_path, _rows(["2026-11-11T00:00", "2026-11-11T00:30"])))
    assert fc.utc_offset is None


def test_naive_repeated_autumn_hour_is_named_as_such(tmp_path):
    times = ["2026-10-25T01:30", "2026-10-25T02:00", "2026-10-25T02:30", "2026-10-25T02:00",
             "2026-10-25T02:30", "2026-10-25T03:00"]
    path = write(tmp_path, _rows(times))
    with raises_for(path, r"line 5: a second row for queue 'q' at 2026-10-25 02:00 \(expected "
                          r"one row per interval and queue; a whole hour is given twice, as "
                          r"when the clocks go back .*daylight saving time: give the times "
                          r"with their UTC offsets, e\.g\. 2026-10-25T02:00\+02:00"):
        read_forecast(path)


def test_naive_spring_gap_is_named_as_such(tmp_path):
    path = write(tmp_path, _rows(["2026-03-29T01:00", "2026-03-29T01:30", "2026-03-29T03:00",
                                  "2026-03-29T03:30"]))
    with raises_for(path, r"interval_start: uneven intervals: 2026-03-29 01:30 is followed by "
                          r"2026-03-29 03:00 but the shortest step is 30 min \(expected evenly "
                          r"spaced interval starts; if the clocks went forward here \(daylight "
                          r"saving time\), give the times with their UTC offsets"):
        read_forecast(path)


def test_mixing_naive_and_offset_times_is_refused(tmp_path):
    path = write(tmp_path, _rows(["2026-03-29T01:00", "2026-03-29T01:30+01:00",
                                  "2026-03-29T03:00+02:00"]))
    with raises_for(path, r"interval_start: line 2: '2026-03-29T01:00' has no UTC offset but "
                          r"line 3: '2026-03-29T01:30\+01:00' has one"):
        read_forecast(path)


def test_bad_time_among_changing_offsets_is_named(tmp_path):
    path = write(tmp_path, _rows(["2026-03-29T01:30+01:00", "soon", "2026-03-29T03:00+02:00"]))
    with raises_for(path, r"interval_start: line 3: 'soon' is not a date-time"):
        read_forecast(path)


def test_staffing_across_the_spring_switch_through_the_cli(tmp_path, capsys):
    from planner.cli import main

    path = write(tmp_path, _rows(["2026-03-29T01:00+01:00", "2026-03-29T01:30+01:00",
                                  "2026-03-29T03:00+02:00", "2026-03-29T03:30+02:00"]))
    code = main(["staff", "--forecast", str(path), "--aht-s", "300", "--sl", "0.8",
                 "--target-s", "20", "--json"])
    assert code == 0, capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Messages stay short and say what differs
# --------------------------------------------------------------------------------------------
def test_long_garbage_header_is_cut_in_the_message(tmp_path):
    garbage = "".join(chr(0x2500 + i % 100) for i in range(400))
    path = write(tmp_path, garbage + "\n1\n")
    with pytest.raises(InputError, match=r"missing column\(s\)") as info:
        read_forecast(path)
    message = str(info.value)
    assert "..." in message and len(message) < len(str(path)) + 250
    assert "\n" not in message


def test_long_bad_cell_is_cut_in_the_message(tmp_path):
    path = write(tmp_path, HEADER + "2026-11-11T00:00,a," + "x" * 400 + "\n")
    with raises_for(path, r"contacts: line 2: 'x{70,80}\.\.\. is not a non-negative number"):
        read_forecast(path)


def test_interval_length_mismatch_shows_the_digits_that_differ(tmp_path):
    path = write(tmp_path, _rows(["2026-11-11T00:00", "2026-11-11T00:30"]))
    with raises_for(path, r"interval_start: intervals are 30 min apart but the interval length "
                          r"given is 30\.0000001 min"):
        read_forecast(path, interval_min=30.0000001)


def test_a_year_of_local_times_with_both_switches_reads_evenly_and_quickly():
    """Offsets as a team's calendar gives them (Europe/Berlin: +01:00, +02:00 from 29 March,
    +01:00 again from 25 October): one even grid in elapsed time, read in seconds."""
    local = pd.date_range("2026-01-01", "2026-12-31 23:30", freq="30min", tz="Europe/Berlin")
    text = [t.isoformat(timespec="minutes") for t in local]
    raw = pd.DataFrame({"interval_start": text * 2, "queue": ["a"] * len(text) + ["b"] * len(text),
                        "contacts": "5"})
    start = time.perf_counter()
    fc = forecast_from_frame(raw)
    assert time.perf_counter() - start < 10.0
    assert fc.interval_min == 30.0 and fc.utc_offset == pd.Timedelta(hours=1)
    assert len(fc.starts) == len(local)  # no interval lost or merged at either switch
    expected = local.tz_convert("UTC").tz_localize(None) + pd.Timedelta(hours=1)
    assert (fc.starts == expected).all()
