"""The contact forecast: contacts per interval and queue, read from CSV and checked once.

CSV columns: ``interval_start`` (ISO date-time of the interval's start), ``queue`` (queue id),
``contacts`` (expected contacts arriving in the interval, a non-negative number) and optionally
``aht_s`` (mean handle time in seconds for that interval and queue).  Intervals are evenly
spaced in elapsed time (15 or 30 minutes in practice); the spacing is read from the file.  A
queue with no row for an interval that another queue has is taken to have no contacts then.

Time zones and daylight saving time
-----------------------------------
The queueing model needs intervals evenly spaced in *elapsed* time, and a local wall clock is
not: it skips an hour when the clocks go forward and repeats one when they go back.  So:

* Times without a UTC offset (``2026-11-11T00:00``) are read as they are, on one clock with no
  switch.  Across a switch such a forecast has a one-hour gap (refused as uneven intervals) or
  a repeated hour (refused as a second row for the same time); both messages say so and ask
  for UTC offsets.
* Times with a UTC offset (``2026-03-29T01:30+01:00``, ``...T03:00+02:00``, or ``Z``) are
  instants.  They may change offset within the file (a DST switch).  Every time is then shown
  on one fixed clock: the offset of the forecast's earliest time (the team's clock when the
  forecast starts).  The spring gap and the repeated autumn hour come out evenly spaced: with
  30-minute intervals, ``01:30+01:00, 03:00+02:00`` read as ``01:30, 02:00``;
  ``02:30+02:00, 02:00+01:00`` as ``02:30, 03:00``.  Labels after the switch are thus an hour
  off the wall clock (earlier after the spring switch, later after the autumn one).
* Mixing times with and without an offset is refused: which clock the others are on cannot be
  told.

:class:`Forecast` keeps its times naive, on that clock, with the offset in ``utc_offset``
(``None`` for times without offsets): compare a time with an offset against them as
``t.tz_convert("UTC").tz_localize(None) + forecast.utc_offset``.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.files import quote

__all__ = ["Forecast", "read_forecast", "forecast_from_frame"]

REQUIRED_COLUMNS = ("interval_start", "queue", "contacts")
# A UTC offset ending an ISO time: Z, +01, +0100 or +01:00 after the time of day.
_OFFSET = r"[T ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


@dataclass(frozen=True)
class Forecast:
    """A validated forecast.

    ``frame`` has one row per interval and queue, sorted by interval then queue, with columns
    ``interval_start`` (Timestamp, naive), ``queue`` (str), ``contacts`` (float) and ``aht_s``
    (float, NaN where the file gave none).  ``interval_min`` is the interval length in minutes.
    ``utc_offset`` is the UTC offset of the clock the naive times are on when the file gave
    offsets (that of its earliest time, see the module doc), ``None`` when it gave none.
    """

    frame: pd.DataFrame
    interval_min: float
    source: str
    utc_offset: dt.timedelta | None = None

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
        first = first if len(first) <= 120 else first[:117] + "..."
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
        found = ", ".join(_name(c) for c in raw.columns[:8])
        if len(raw.columns) > 8:
            found += f" and {len(raw.columns) - 8:,} more"
        raise InputError(f"missing column(s) {', '.join(missing)} (expected columns "
                         f"{', '.join(REQUIRED_COLUMNS)} and optionally aht_s; found "
                         f"{found or 'none'})", file=source)
    if raw.empty:
        raise InputError("no rows (expected at least one interval)", file=source)

    starts, utc_offset = _parse_starts(raw["interval_start"], source=source, lines=lines)
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
        hint = ""
        if utc_offset is None and _repeats_an_hour(starts[queue == queue.iloc[i]]):
            at = f"{starts.iloc[i]:%Y-%m-%dT%H:%M}"
            hint = ("; a whole hour is given twice, as when the clocks go back at the end of "
                    "daylight saving time: give the times with their UTC offsets, e.g. "
                    f"{at}+02:00 for the first and {at}+01:00 for the second")
        raise InputError(f"line {lines[i]}: a second row for queue {quote(queue.iloc[i])} at "
                         f"{_when(starts.iloc[i])} (expected one row per interval and "
                         f"queue{hint})", file=source)

    unique = np.sort(frame["interval_start"].unique())
    if len(unique) >= 2:
        # Microseconds, not seconds: sub-second steps must not round to 0 or look even.
        steps = np.diff(unique).astype("timedelta64[us]").astype(np.int64)
        step_us = int(steps.min())
        if (steps != step_us).any():
            i = int(np.flatnonzero(steps != step_us)[0])
            hint = ""
            if utc_offset is None and steps[i] - step_us == 3_600_000_000:
                before, after = pd.Timestamp(unique[i]), pd.Timestamp(unique[i + 1])
                hint = ("; if the clocks went forward here (daylight saving time), give the "
                        f"times with their UTC offsets, e.g. {before:%Y-%m-%dT%H:%M}+01:00 "
                        f"then {after:%Y-%m-%dT%H:%M}+02:00")
            raise InputError(
                f"uneven intervals: {_when(unique[i])} is followed by {_when(unique[i + 1])} "
                f"but the shortest step is {step_us / 6e7:.10g} min (expected evenly spaced "
                f"interval starts{hint})", file=source, field="interval_start")
        found_min = step_us / 6e7
        if interval_min is not None and abs(interval_min - found_min) > 1e-9:
            # .10g: 30.0000001 must not read as 30 on both sides.
            raise InputError(f"intervals are {found_min:.10g} min apart but the interval "
                             f"length given is {interval_min:.10g} min", file=source,
                             field="interval_start")
        interval_min = found_min
    elif interval_min is None:
        raise InputError("a single interval: its length cannot be read from the file "
                         "(give the interval length, e.g. --interval-min 30)", file=source)
    # isfinite: NaN passes "<= 0" and would reach the Erlang formulas as a NaN rate.
    if not (math.isfinite(interval_min) and interval_min > 0):
        raise InputError(f"interval length must be positive, got {interval_min:.10g} min",
                         file=source)

    # Complete the grid: a queue without a row in an interval has no contacts then.
    grid = pd.MultiIndex.from_product([pd.DatetimeIndex(unique), sorted(queue.unique())],
                                      names=["interval_start", "queue"])
    frame = frame.set_index(["interval_start", "queue"]).reindex(grid)
    frame["contacts"] = frame["contacts"].fillna(0.0)
    frame = frame.reset_index()
    return Forecast(frame=frame, interval_min=float(interval_min), source=source,
                    utc_offset=utc_offset)


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
        raise InputError(f"line {lines[int(label)]}: {quote(cell)} is not {expected}",
                         file=source, field=field)
    return values.astype(float)


def _when(t: object) -> str:
    """A time for a message: to the minute, with seconds only when it has some."""
    t = pd.Timestamp(t)
    return f"{t:%Y-%m-%d %H:%M:%S}" if t.second or t.microsecond else f"{t:%Y-%m-%d %H:%M}"


def _parse_starts(cells: pd.Series, *, source: str, lines: np.ndarray
                  ) -> tuple[pd.Series, dt.timedelta | None]:
    """Interval starts as naive times and the UTC offset of their clock (see the module doc)."""
    text = cells.astype(str).str.strip()
    try:
        starts = pd.to_datetime(text, errors="coerce", format="ISO8601")
    except ValueError:
        # pandas refuses offsets that differ ("Mixed timezones detected"): a DST switch, or
        # times with and without an offset.  As UTC every time parses; which ones carry an
        # offset is read from the text (one by one only if that reading disagrees).
        utc = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
        _refuse_bad_times(utc.isna(), cells, source=source, lines=lines)
        aware = text.str.contains(_OFFSET, regex=True).to_numpy(dtype=bool)
        if not aware.any():  # the text reading missed an offset pandas saw
            aware = text.map(lambda u: pd.to_datetime(u, format="ISO8601").tzinfo is not None
                             ).to_numpy(dtype=bool)
        if not aware.all():
            i = int(np.flatnonzero(~aware)[0])
            k = int(np.flatnonzero(aware)[0])
            raise InputError(
                f"line {lines[i]}: {quote(cells.iloc[i])} has no UTC offset but line "
                f"{lines[k]}: {quote(cells.iloc[k])} has one (give every time with its "
                "offset, or none: the clock of the others cannot be told)",
                file=source, field="interval_start")
    else:
        _refuse_bad_times(starts.isna(), cells, source=source, lines=lines)
        if starts.dt.tz is None:
            return starts, None
        utc = starts.dt.tz_convert("UTC")
    # The clock of the earliest time: the team's clock when the forecast starts.
    first = int(np.argmin(utc.to_numpy()))
    offset = pd.to_datetime(text.iloc[first], format="ISO8601").utcoffset()
    return utc.dt.tz_localize(None) + offset, offset


def _refuse_bad_times(bad: pd.Series, cells: pd.Series, *, source: str,
                      lines: np.ndarray) -> None:
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"line {lines[i]}: {quote(str(cells.iloc[i]))} is not a date-time "
                         "(expected ISO format such as 2026-11-11T00:00)",
                         file=source, field="interval_start")


def _repeats_an_hour(starts: pd.Series) -> bool:
    """Whether the times given twice are exactly one hour of consecutive intervals, each given
    twice: the local times of the hour that repeats when the clocks go back."""
    counts = starts.value_counts()
    twice = np.sort(counts.index[counts > 1].to_numpy())
    unique = np.sort(counts.index.to_numpy())
    if (counts > 2).any() or len(unique) < 2:
        return False
    step = np.diff(unique).min()
    hour = np.timedelta64(3600, "s")
    return bool(len(twice) * step == hour and twice[-1] - twice[0] == hour - step)


def _name(column: object) -> str:
    """A column name for a message: as it is if short and printable, else quoted and cut."""
    text = str(column)
    return text if text.isprintable() and len(text) <= 40 else quote(text, 40)
