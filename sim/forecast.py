"""The contact forecast: contacts per interval and queue, read from CSV and checked once.

CSV columns: ``interval_start`` (ISO date-time of the interval's start, in the team's local
time), ``queue`` (queue id), ``contacts`` (expected contacts arriving in the interval, a
non-negative number) and optionally ``aht_s`` (mean handle time in seconds for that interval and
queue).  Intervals are evenly spaced (15 or 30 minutes in practice); the spacing is read from the
file.  A queue with no row for an interval that another queue has is taken to have no contacts
then.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError

__all__ = ["Forecast", "read_forecast", "forecast_from_frame"]

REQUIRED_COLUMNS = ("interval_start", "queue", "contacts")


@dataclass(frozen=True)
class Forecast:
    """A validated forecast.

    ``frame`` has one row per interval and queue, sorted by interval then queue, with columns
    ``interval_start`` (Timestamp), ``queue`` (str), ``contacts`` (float) and ``aht_s`` (float,
    NaN where the file gave none).  ``interval_min`` is the interval length in minutes.
    """

    frame: pd.DataFrame
    interval_min: float
    source: str

    @property
    def queues(self) -> list[str]:
        return sorted(self.frame["queue"].unique())

    @property
    def starts(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.frame["interval_start"].unique())


def read_forecast(path: str | Path, *, interval_min: float | None = None) -> Forecast:
    """Read and validate a forecast CSV; every problem is an :class:`InputError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found (expected a forecast CSV)", file=path)
    expected = f"expected a CSV whose first line is {','.join(REQUIRED_COLUMNS)}[,aht_s]"
    # Decode here rather than in pandas: a binary file (NUL bytes, or not UTF-8) must be named
    # as such, not reported as a tokenizer error about "fields in line 3".
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        raise InputError(f"not a text file ({expected})", file=path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not a text file: byte {exc.start} is not UTF-8 ({expected})",
                         file=path) from None
    if not text.strip():
        raise InputError(f"empty file ({expected})", file=path)
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                          skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"not a readable CSV ({first})", file=path) from None
    # pandas skips blank lines, so "row + 2" names the wrong line after a blank one: count the
    # file's own non-blank lines (header first).  Quoted newlines break the count; then fall
    # back to row + 2.
    filled = [i + 1 for i, line in enumerate(text.splitlines()) if line.strip()]
    if not isinstance(raw.index, pd.RangeIndex):
        # pandas takes the extra leading fields of rows longer than the header as an index,
        # which shifts every column: the dates would be read from the contacts column.
        raise InputError(f"line {filled[1]}: more fields than the {len(raw.columns)} column "
                         f"names of the header ({expected})", file=path)
    lines = filled[1:] if len(filled) - 1 == len(raw) else None
    return forecast_from_frame(raw, source=str(path), interval_min=interval_min,
                               line_numbers=lines)


def forecast_from_frame(raw: pd.DataFrame, *, source: str = "forecast",
                        interval_min: float | None = None,
                        line_numbers: list[int] | None = None) -> Forecast:
    """Validate a forecast given as a DataFrame of strings or numbers (see the module doc).

    ``line_numbers`` gives the file line of each row for messages (default: row + 2, the
    header being line 1).
    """
    raw = raw.rename(columns=lambda c: str(c).strip()).reset_index(drop=True)
    lines = (np.asarray(line_numbers, dtype=np.int64) if line_numbers is not None
             else np.arange(len(raw), dtype=np.int64) + 2)
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} (expected columns "
                         f"{', '.join(REQUIRED_COLUMNS)} and optionally aht_s; found "
                         f"{', '.join(map(str, raw.columns)) or 'none'})", file=source)
    if raw.empty:
        raise InputError("no rows (expected at least one interval)", file=source)

    starts = pd.to_datetime(raw["interval_start"].astype(str).str.strip(), errors="coerce",
                            format="ISO8601")
    bad = starts.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"line {lines[i]}: {raw['interval_start'].iloc[i]!r} is not a "
                         "date-time (expected ISO format such as 2026-11-11T00:00)",
                         file=source, field="interval_start")
    if starts.dt.tz is not None:
        starts = starts.dt.tz_localize(None)
    queue = raw["queue"].astype(str).str.strip()
    if (queue == "").any():
        i = int(np.flatnonzero((queue == "").to_numpy())[0])
        raise InputError(f"line {lines[i]}: empty queue id", file=source, field="queue")

    contacts = _numbers(raw["contacts"], field="contacts", positive=False, source=source,
                        lines=lines)
    aht_s = pd.Series(np.nan, index=raw.index)
    if "aht_s" in raw.columns:
        # A blank cell means: use the queue's default handle time.  In a frame of numbers a
        # blank is NaN/None (whose str() is "nan"/"None": not to be parsed as a number).
        given = raw["aht_s"].notna() & (raw["aht_s"].astype(str).str.strip() != "")
        aht_s[given] = _numbers(raw.loc[given, "aht_s"], field="aht_s", positive=True,
                                source=source, lines=lines)

    frame = pd.DataFrame({"interval_start": starts, "queue": queue, "contacts": contacts,
                          "aht_s": aht_s.astype(float)})
    dup = frame.duplicated(["interval_start", "queue"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"line {lines[i]}: a second row for queue {queue.iloc[i]!r} at "
                         f"{starts.iloc[i]:%Y-%m-%d %H:%M} (expected one row per interval "
                         "and queue)", file=source)

    unique = np.sort(frame["interval_start"].unique())
    if len(unique) >= 2:
        steps = np.diff(unique).astype("timedelta64[s]").astype(np.int64)
        step_s = int(steps.min())
        if (steps != step_s).any():
            i = int(np.flatnonzero(steps != step_s)[0])
            raise InputError(
                "uneven intervals: "
                f"{pd.Timestamp(unique[i]):%Y-%m-%d %H:%M} is followed by "
                f"{pd.Timestamp(unique[i + 1]):%Y-%m-%d %H:%M} but the shortest step is "
                f"{step_s / 60:g} min (expected evenly spaced interval starts)",
                file=source, field="interval_start")
        found_min = step_s / 60.0
        if interval_min is not None and abs(interval_min - found_min) > 1e-9:
            raise InputError(f"intervals are {found_min:g} min apart but the interval length "
                             f"given is {interval_min:g} min", file=source,
                             field="interval_start")
        interval_min = found_min
    elif interval_min is None:
        raise InputError("a single interval: its length cannot be read from the file "
                         "(give the interval length, e.g. --interval-min 30)", file=source)
    # isfinite: NaN passes "<= 0" and would reach the Erlang formulas as a NaN rate.
    if not (math.isfinite(interval_min) and interval_min > 0):
        raise InputError(f"interval length must be positive, got {interval_min:g} min",
                         file=source)

    # Complete the grid: a queue without a row in an interval has no contacts then.
    grid = pd.MultiIndex.from_product([pd.DatetimeIndex(unique), sorted(queue.unique())],
                                      names=["interval_start", "queue"])
    frame = frame.set_index(["interval_start", "queue"]).reindex(grid)
    frame["contacts"] = frame["contacts"].fillna(0.0)
    frame = frame.reset_index()
    return Forecast(frame=frame, interval_min=float(interval_min), source=source)


def _numbers(cells: pd.Series, *, field: str, positive: bool, source: str,
             lines: np.ndarray) -> pd.Series:
    """Parse a column of cells as finite numbers (> 0 if ``positive``, else >= 0)."""
    values = pd.to_numeric(cells.astype(str).str.strip(), errors="coerce")
    wrong = values.isna() | ~np.isfinite(values)
    wrong |= (values <= 0) if positive else (values < 0)
    if wrong.any():
        label = wrong.index[np.flatnonzero(wrong.to_numpy())[0]]
        expected = "a positive number of seconds" if positive else "a non-negative number"
        cell = str(cells.loc[label])  # str(): a numeric cell would show as np.float64(-1.0)
        raise InputError(f"line {lines[int(label)]}: {cell!r} is not {expected}",
                         file=source, field=field)
    return values.astype(float)
