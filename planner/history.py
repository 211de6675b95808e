"""The team's own history: a contact log read into KPIs, calibrated parameters, a forecast and
a backtest of the simulator.  Pure functions (the shell is :mod:`planner.history_cli`).

The contact log
---------------
One row per *visit* of a contact to a queue (a transferred contact has a row in each queue it
entered, as in :mod:`sim.metrics`).  Columns, under these names or through a column map
(:func:`load_column_map`):

=================  ==========================================================================
``arrived_at``     date-time the contact entered the queue (local time, no UTC offset)
``queue``          queue id
``outcome``        ``answered`` or ``abandoned`` (a map may also name ``phantom`` rows, counted
                   apart, and ``not_offered`` rows, that never reached the queue)
``wait_s``         seconds in the queue until answered or abandoned
``handle_s``       seconds of talk/chat and hold (answered only); wrap-up in ``wrap_s``
``wrap_s``         optional: after-contact work, seconds (0 when absent)
``agent``          optional: agent id (agents on duty and occupancy come from it)
``group``          optional: the agent's group (else agents are grouped by the queues they
                   answered)
``transferred_to`` optional: the queue an answered visit was transferred to (empty: none)
``answered_at``    optional: date-time answered (default ``arrived_at + wait_s``)
``ended_at``       optional: date-time the handling ended, wrap-up included (default
                   ``answered_at + handle_s + wrap_s``)
``channel``        optional: ``voice`` or ``chat`` (the scenario skeleton's channel)
=================  ==========================================================================

A row that cannot be read (a time that is no time, an unknown outcome, a negative wait, an
answered row without handle time, a line with more or fewer fields than the header, an empty
line) is *rejected*: counted, with the line numbers of the first few, and left out of every
figure.  Line numbers count physical lines (header = 1); quoted fields may not span lines.

Files are read as a stream of blocks by Arrow's CSV reader, only the mapped columns converted
(as text; numbers and times are then parsed by Arrow's C kernels, pandas only for the odd
cell): a few million rows take seconds and a few hundred MB (bench/bench_history.py).

Models and assumptions
----------------------
* **Intervals** start at midnight; a visit counts in the interval it arrived in.  KPIs are
  those of ``peakplan simulate`` (:data:`sim.metrics.QUEUE_COLUMNS`), plus
  ``transfer_share`` (transfers out / answered) and ``first_contact_resolution`` (1 - it).
* **Agents on duty**: the log has no log-in times, so an agent counts as on duty on a day from
  the start of the interval of their first answer to the end of the interval in which their
  last contact ended.  Occupancy = time handling (merged per agent) / time on duty.
* **Handle time** (``handle_s + wrap_s`` is the AHT; the fit is of ``handle_s``): exponential,
  lognormal and gamma by maximum likelihood, the family chosen by AIC; the cv is the sample
  cv with a delta-method 95% interval; the goodness of fit is the Kolmogorov-Smirnov
  distance of the chosen fit.
* **Patience** is censored: an answered visit's wait is a lower bound of its patience.  For
  exponential patience the maximum-likelihood mean is total time waited by every visit /
  abandons, and 2 x total / mean is chi-square with 2 x abandons degrees of freedom (exact
  under type-II censoring, close otherwise): its 95% interval.  The Kaplan-Meier curve shows
  the shape; the naive mean wait of abandoned visits is reported only to show its bias.
* **Transfers**: share of a queue's answered visits transferred to each other queue, with a
  Wilson 95% interval (the simulator decides a transfer when an answered visit ends).
* **Overdispersion**: sum over days and intervals of (count - E)^2 / E over the degrees of
  freedom, with E = the day's total x the intraday profile share (1: Poisson).
* **Forecast** of day D per queue: the profile (share of the day per interval) and the level
  (mean daily total) of the *matching days* (the same weekday in the last ``weeks`` weeks
  before D, or dates given), times ``1 + uplift``.  Its error is measured by running the same
  method on every earlier day that has matching days before it; low/high are the 5% and 95%
  quantiles of actual / forecast daily totals.  Only external arrivals are forecast
  (transfers in are the simulator's to make).
* **Backtest** of day D: the scenario with the calibrated queues, D's external arrivals per
  interval as the expected counts (the simulator draws Poisson counts around them), and the
  staffing D had.  The band of a measure in an interval is the k-th lowest to k-th highest
  replication value, k = floor(0.025 (reps + 1)) (at least 1): with 39 replications the
  lowest and highest, which a new value from the same model falls outside with probability
  2/40 = 5%.  Drawing Poisson counts around the day's own counts spreads the simulated
  values more than the day itself could vary, so a model that matches the team puts fewer
  than 5% outside (about 1-2% in the tests); many more outside says it does not.  The
  queues are calibrated on the whole log, the backtest day included.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from scipy import optimize, special, stats

from sim.errors import InputError
from sim import metrics
from sim.files import load_yaml, quote
from sim.metrics import ratio
from sim.records import ABANDONED, ANSWERED, Records

__all__ = ["LOG_FIELDS", "ColumnMap", "GENERIC", "load_column_map", "ContactLog", "read_log",
           "log_from_frame", "interval_kpis", "day_kpis", "period_kpis", "agent_intervals",
           "HandleFit", "fit_handle_time", "PatienceFit", "fit_patience", "kaplan_meier",
           "transfer_shares", "overdispersion", "QueueCalibration", "calibrate",
           "daily_counts", "DayForecast", "forecast_day", "ForecastError", "forecast_errors",
           "scenario_skeleton", "staffing_shifts", "Backtest", "backtest",
           "log_from_records", "to_bank_format", "default_interval_min", "BLOCK_BYTES",
           "History", "analyse", "summary_json", "forecast_csv", "parse_uplift", "MEASURES",
           "band_rank"]

COLUMNS_DIR = Path(__file__).resolve().parent / "columns"
BLOCK_BYTES = 32 << 20  # about 400,000 rows of a typical export per block
MAX_BAD_SHOWN = 5
LOG_FIELDS = ("arrived_at", "queue", "outcome", "wait_s", "handle_s", "wrap_s", "agent",
              "group", "transferred_to", "answered_at", "ended_at", "channel")
_REQUIRED = ("arrived_at", "queue", "outcome", "wait_s")
_TIMES = ("arrived_at", "answered_at", "ended_at")
_DURATIONS = ("wait_s", "handle_s", "wrap_s")
_TEXT = ("queue", "agent", "group", "transferred_to", "channel")
_OUTCOMES = ("answered", "abandoned", "phantom", "not_offered")
_NS = 1e9


# --------------------------------------------------------------------------------------------
# Column maps
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ColumnMap:
    """How to read one export format into the log's fields.

    ``fields[name]`` is a column name or a mapping: ``{column, format}`` (a date-time with a
    strptime format), ``{date, time, date_format}`` (a date column plus a time-of-day column
    such as ``7:21:32``), ``{column, unit}`` (a duration in ``s``, ``min`` or ``ms``; numbers or
    ``H:MM:SS``).  ``outcome_values`` maps raw outcome values to ``answered``, ``abandoned``,
    ``phantom`` or ``not_offered``.  ``zero_wait_abandoned``: ``offered`` (default) or
    ``not_offered`` (hung up before the queue, as in the per-call bank format).  ``missing``:
    cell values that mean "empty" (``NO_SERVER``).
    """

    name: str
    fields: Mapping[str, Any]
    separator: str = ","
    encoding: str = "utf-8"
    outcome_values: Mapping[str, str] = field(default_factory=lambda: {
        o: o for o in _OUTCOMES})
    zero_wait_abandoned: str = "offered"
    missing: tuple[str, ...] = ()
    source: str = "generic"

    def columns(self) -> list[str]:
        """The file columns this map reads."""
        out: list[str] = []
        for spec in self.fields.values():
            if isinstance(spec, str):
                out.append(spec)
            else:
                out.extend(spec[k] for k in ("column", "date", "time") if k in spec)
        return list(dict.fromkeys(out))


GENERIC = ColumnMap(name="generic", fields={f: f for f in LOG_FIELDS})


def load_column_map(name_or_path: str | Path) -> ColumnMap:
    """A shipped map by name (``bank``: planner/columns/bank.yaml) or a YAML file."""
    text = str(name_or_path)
    path = Path(text)
    if not path.suffix and (COLUMNS_DIR / f"{text}.yaml").is_file():
        path = COLUMNS_DIR / f"{text}.yaml"
    if not path.is_file():
        shipped = sorted(p.stem for p in COLUMNS_DIR.glob("*.yaml"))
        raise InputError(f"no column map {quote(text)} (expected a YAML file or one of "
                         f"{', '.join(shipped)})", field="--columns")
    data = load_yaml(path)
    src = str(path)
    allowed = {"name", "description", "separator", "encoding", "fields", "outcome",
               "zero_wait_abandoned", "missing"}
    for k in data:
        if k not in allowed:
            raise InputError(f"unknown key (expected one of {', '.join(sorted(allowed))})",
                             file=src, field=str(k))
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise InputError("expected a mapping of log fields to columns", file=src,
                         field="fields")
    for f, spec in fields.items():
        if f not in LOG_FIELDS:
            raise InputError(f"not a log field (expected one of {', '.join(LOG_FIELDS)})",
                             file=src, field=f"fields.{f}")
        if isinstance(spec, str):
            continue
        if not isinstance(spec, dict):
            raise InputError(f"expected a column name or a mapping, got {quote(spec)}",
                             file=src, field=f"fields.{f}")
        keys = set(spec)
        ok = ({"column"} <= keys <= {"column", "format", "unit"}
              or {"date", "time"} <= keys <= {"date", "time", "date_format"})
        if not ok or any(not isinstance(v, str) for v in spec.values()):
            raise InputError("expected {column: NAME[, format: STRPTIME | unit: s|min|ms]} or "
                             "{date: NAME, time: NAME[, date_format: STRPTIME]}", file=src,
                             field=f"fields.{f}")
        if "unit" in spec and spec["unit"] not in ("s", "min", "ms"):
            raise InputError(f"unit must be s, min or ms, got {quote(spec['unit'])}",
                             file=src, field=f"fields.{f}.unit")
    outcome = data.get("outcome", {})
    values = {o: o for o in _OUTCOMES}
    if outcome:
        if not isinstance(outcome, dict) or set(outcome) - {"column", "values"}:
            raise InputError("expected {column: NAME, values: {RAW: answered|abandoned|"
                             "phantom|not_offered}}", file=src, field="outcome")
        if "column" in outcome:
            fields = {**fields, "outcome": outcome["column"]}
        if "values" in outcome:
            values = {str(k): str(v) for k, v in outcome["values"].items()}
            for k, v in values.items():
                if v not in _OUTCOMES:
                    raise InputError(f"expected one of {', '.join(_OUTCOMES)}, got {quote(v)}",
                                     file=src, field=f"outcome.values.{k}")
    missing_fields = [f for f in _REQUIRED if f not in fields]
    if missing_fields:
        raise InputError(f"the map must give {', '.join(missing_fields)}", file=src,
                         field="fields")
    if "handle_s" not in fields and not {"answered_at", "ended_at"} <= set(fields):
        raise InputError("the map must give handle_s (or answered_at and ended_at)",
                         file=src, field="fields")
    zwa = data.get("zero_wait_abandoned", "offered")
    if zwa not in ("offered", "not_offered"):
        raise InputError(f"expected offered or not_offered, got {quote(zwa)}", file=src,
                         field="zero_wait_abandoned")
    sep = data.get("separator", ",")
    if not isinstance(sep, str) or len(sep) != 1:
        raise InputError(f"expected one character, got {quote(sep)}", file=src,
                         field="separator")
    missing = data.get("missing", [])
    if not isinstance(missing, list) or any(not isinstance(m, str) for m in missing):
        raise InputError("expected a list of texts", file=src, field="missing")
    return ColumnMap(name=str(data.get("name", path.stem)), fields=fields, separator=sep,
                     encoding=str(data.get("encoding", "utf-8")), outcome_values=values,
                     zero_wait_abandoned=zwa, missing=tuple(missing), source=src)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ContactLog:
    """A read log.  ``frame``: one row per offered visit, columns ``arrived_at``,
    ``answered_at``, ``ended_at`` (datetime64), ``queue`` (str), ``outcome`` (int8:
    sim.records.ANSWERED / ABANDONED), ``wait_s``, ``handle_s`` (NaN unless answered),
    ``wrap_s`` (float), ``agent``, ``group``, ``transferred_to``, ``channel`` (text, missing
    where empty; columns absent from the file are all missing).

    ``rows_read``: data rows in the file; ``rows_rejected`` and ``bad_rows`` (the first few
    ``(line, reason)``); ``phantom`` and ``not_offered``: rows per queue reported apart."""

    frame: pd.DataFrame
    rows_read: int
    rows_rejected: int
    bad_rows: tuple[tuple[int, str], ...]
    phantom: Mapping[str, int]
    not_offered: Mapping[str, int]
    source: str
    has: frozenset[str]

    @property
    def queues(self) -> list[str]:
        return sorted(self.frame["queue"].unique())

    @property
    def days(self) -> list[pd.Timestamp]:
        return sorted(pd.DatetimeIndex(self.frame["arrived_at"].dt.normalize().unique()))


_UNIT_S = {"s": 1.0, "min": 60.0, "ms": 1e-3}
_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"


def _arrow(cells: pd.Series) -> pa.Array:
    a = pa.array(cells, type=pa.string())
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def _duration(cells: pd.Series, unit: str) -> np.ndarray:
    """Seconds from numbers in ``unit`` or ``H:MM:SS`` clock texts (NaN: empty or neither).

    Arrow's cast parses numbers in C; cells that are no plain number (clock texts, bad
    values) are left to pandas, a few at a time."""
    a = _arrow(cells)
    number = pc.match_substring_regex(a, _NUMBER)
    s = np.array(pc.cast(pc.if_else(number, a, pa.scalar(None, pa.string())),
                         pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    other = ~number.to_numpy(zero_copy_only=False) & _filled(cells)
    if other.any():
        idx = np.flatnonzero(other)
        rest = cells.iloc[idx]
        v = np.array(pd.to_numeric(rest, errors="coerce"), dtype=float)
        clock = np.isnan(v) & rest.str.contains(":", regex=False).to_numpy(dtype=bool)
        if clock.any():
            v[clock] = pd.to_timedelta(rest[clock], errors="coerce").dt.total_seconds(
            ).to_numpy(dtype=float) / _UNIT_S[unit]
        s[idx] = v
    return s * _UNIT_S[unit]


def _datetime(raw: pd.DataFrame, spec: Any) -> pd.Series:
    """Date-times (NaT where unreadable), by Arrow's C parsers first, pandas' after."""
    if isinstance(spec, str) or "column" in spec:
        cells = raw[_column(spec)]
        fmt = None if isinstance(spec, str) else spec.get("format")
    else:
        # One strptime pass over "date time" (times like 7:21:32).
        cells = raw[spec["date"]] + " " + raw[spec["time"]]
        fmt = (spec.get("date_format") or "%Y-%m-%d") + " %H:%M:%S"
    a = _arrow(cells)
    a = pc.if_else(pc.equal(a, ""), pa.scalar(None, pa.string()), a)
    if fmt is not None:
        t = pc.strptime(a, format=fmt, unit="us", error_is_null=True)
        out = pd.Series(t.to_numpy(zero_copy_only=False), index=cells.index)
    else:
        try:
            t = pc.cast(a, pa.timestamp("us"))
            out = pd.Series(t.to_numpy(zero_copy_only=False), index=cells.index)
        except pa.ArrowInvalid:
            # Not all plain ISO: pandas reads offsets and odd forms (and gives NaT).
            out = pd.to_datetime(cells.where(cells != "", None), errors="coerce",
                                 format="ISO8601")
            if getattr(out.dt, "tz", None) is not None:
                out = out.dt.tz_localize(None)
    return out.astype("datetime64[ns]")


def _filled(cells: pd.Series) -> np.ndarray:
    """Which cells are not empty (Arrow's comparison: no Python objects)."""
    return pc.not_equal(_arrow(cells), "").to_numpy(zero_copy_only=False)


def _column(spec: Any) -> str:
    return spec if isinstance(spec, str) else spec["column"]


def _parse_chunk(raw: pd.DataFrame, cmap: ColumnMap, first_row: int,
                 bad: list[tuple[int, str]], counts: dict[str, dict[str, int]]
                 ) -> tuple[pd.DataFrame, int]:
    """Typed rows of one chunk of text cells; rejected rows go to ``bad`` as (row index in
    the file's data rows, reason).  Returns (good rows, number rejected)."""
    n = len(raw)
    f = cmap.fields
    # Reason codes per row (0: fine); the first reason found is kept.
    reasons: list[str] = [""]
    code = np.zeros(n, dtype=np.int16)

    def reject(mask: np.ndarray, why: str) -> None:
        m = np.asarray(mask, dtype=bool) & (code == 0)
        if m.any():
            reasons.append(why)
            code[m] = len(reasons) - 1

    text = {}
    for name in ("queue", "outcome", "agent", "group", "transferred_to", "channel"):
        if name in f:
            col = raw[_column(f[name])].str.strip()
            if cmap.missing:
                col = col.where(~col.isin(cmap.missing), "")
            text[name] = col
    empty_line = ~np.logical_or.reduce([_filled(raw[c]) for c in raw.columns])
    reject(empty_line, "empty line")
    out: dict[str, Any] = {}
    for name in _TIMES:
        if name in f:
            cols = [f[name]] if isinstance(f[name], str) else \
                [f[name][k] for k in ("column", "date", "time") if k in f[name]]
            t = _datetime(raw, f[name])
            if name == "arrived_at":
                reject(t.isna().to_numpy(), f"arrived_at: not a date-time "
                       f"({'+'.join(cols)})")
            else:
                given = np.logical_and.reduce([_filled(raw[c]) for c in cols])
                reject(given & t.isna().to_numpy(), f"{name}: not a date-time")
            out[name] = t
    q = text["queue"]
    reject((q == "").to_numpy(), "queue: empty")
    kind_s = text["outcome"].map(cmap.outcome_values)
    reject(kind_s.isna().to_numpy(),
           f"outcome: expected one of {', '.join(cmap.outcome_values)}")
    kind = kind_s.fillna("").to_numpy(dtype=object)
    for name in _DURATIONS:
        if name in f:
            spec = f[name]
            cells = raw[_column(spec)]
            v = _duration(cells, "s" if isinstance(spec, str) else spec.get("unit", "s"))
            given = _filled(cells)
            reject(given & ~(np.isfinite(v) & (v >= 0)),
                   f"{name}: expected a number of seconds >= 0")
            out[name] = np.where(given, v, np.nan)
    answered = kind == "answered"
    offered_kind = answered | (kind == "abandoned")
    wait = out["wait_s"]
    reject(offered_kind & np.isnan(wait), "wait_s: empty")
    if "handle_s" not in out:
        if "answered_at" in out and "ended_at" in out:
            h = (out["ended_at"] - out["answered_at"]).dt.total_seconds().to_numpy()
            out["handle_s"] = h - np.nan_to_num(out.get("wrap_s", np.zeros(n)))
        else:
            out["handle_s"] = np.full(n, np.nan)
    reject(answered & np.isnan(out["handle_s"]), "handle_s: empty for an answered contact")
    ok = code == 0
    rejected = int((~ok).sum())
    for i in np.flatnonzero(~ok)[:MAX_BAD_SHOWN]:
        bad.append((first_row + int(i), reasons[code[i]]))
    # Reported apart, not offered.
    zero_wait = np.nan_to_num(wait, nan=-1.0) == 0.0
    not_offered = ok & ((kind == "not_offered") |
                        ((kind == "abandoned") & zero_wait &
                         (cmap.zero_wait_abandoned == "not_offered")))
    phantom = ok & (kind == "phantom")
    for label, m in (("phantom", phantom), ("not_offered", not_offered)):
        if m.any():
            for name, c in q[m].value_counts().items():
                counts[label][str(name)] = counts[label].get(str(name), 0) + int(c)
    keep = ok & offered_kind & ~not_offered
    idx = np.flatnonzero(keep)
    ans = answered[idx]
    frame = pd.DataFrame({
        "arrived_at": out["arrived_at"].to_numpy()[idx],
        "queue": q.take(idx).to_numpy(),
        "outcome": np.where(ans, ANSWERED, ABANDONED).astype(np.int8),
        "wait_s": wait[idx],
        "handle_s": np.where(ans, out["handle_s"][idx], np.nan),
        "wrap_s": np.where(ans, np.nan_to_num(out["wrap_s"][idx]) if "wrap_s" in out
                           else 0.0, 0.0),
    })
    for name in ("answered_at", "ended_at"):
        frame[name] = out[name].to_numpy()[idx] if name in out else \
            np.full(idx.size, np.datetime64("NaT"), dtype="datetime64[ns]")
    for name in ("agent", "group", "transferred_to", "channel"):
        if name in text:
            v = text[name].take(idx).reset_index(drop=True)
            frame[name] = v.where(v != "", None).to_numpy()
        else:
            frame[name] = None
    return frame, rejected


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Derived times where the file gave none, answered visits only."""
    ans = frame["outcome"].to_numpy() == ANSWERED
    wait = pd.to_timedelta(frame["wait_s"], unit="s")
    at = frame["answered_at"].where(frame["answered_at"].notna(), frame["arrived_at"] + wait)
    frame["answered_at"] = at.where(ans)
    work = pd.to_timedelta(frame["handle_s"].fillna(0) + frame["wrap_s"].fillna(0), unit="s")
    end = frame["ended_at"].where(frame["ended_at"].notna(), frame["answered_at"] + work)
    frame["ended_at"] = end.where(ans)
    return frame.sort_values("arrived_at", kind="stable").reset_index(drop=True)


def read_log(path: str | Path, *, columns: ColumnMap | None = None,
             block_bytes: int = BLOCK_BYTES) -> ContactLog:
    """Read a contact log (CSV) with a column map: Arrow's streaming CSV reader, blocks of
    ``block_bytes``, only the mapped columns converted (as text, then parsed here)."""
    cmap = columns or GENERIC
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise InputError("file not found", file=src)
    try:
        header = pd.read_csv(path, sep=cmap.separator, nrows=0, encoding=cmap.encoding,
                             engine="c")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError,
            OSError) as exc:
        raise InputError(f"cannot be read as a contact log ({type(exc).__name__}: "
                         f"{str(exc).strip()[:120]})", file=src) from None
    present = [str(c).strip() for c in header.columns]
    if cmap is GENERIC:
        use = [c for c in LOG_FIELDS if c in present]
        cmap = ColumnMap(name="generic", fields={c: c for c in use})
        lacking = [c for c in _REQUIRED if c not in present]
        if "handle_s" not in present and not {"answered_at", "ended_at"} <= set(present):
            lacking.append("handle_s")
    else:
        lacking = [c for c in cmap.columns() if c not in present]
    if lacking:
        raise InputError(f"missing column(s) {', '.join(lacking)} (the file has "
                         f"{', '.join(present[:20]) or 'none'}; the column map is "
                         f"{cmap.name}: see --columns)", file=src)
    bad: list[tuple[int, str]] = []
    counts: dict[str, dict[str, int]] = {"phantom": {}, "not_offered": {}}
    parts, rows, rejected = [], 0, 0
    skipped: list[tuple[int, str]] = []
    wanted = cmap.columns()
    names = {c.strip(): str(c) for c in header.columns}

    def invalid(row: Any) -> str:
        # Arrow checks every line's field count, whichever columns are converted.
        skipped.append((int(row.number) if row.number is not None else -1,
                        f"{row.actual_columns} fields (the header has "
                        f"{row.expected_columns})"))
        return "skip"

    try:
        reader = pacsv.open_csv(
            path, read_options=pacsv.ReadOptions(encoding=cmap.encoding, use_threads=False,
                                                 block_size=block_bytes),
            parse_options=pacsv.ParseOptions(delimiter=cmap.separator,
                                             ignore_empty_lines=False,
                                             invalid_row_handler=invalid),
            convert_options=pacsv.ConvertOptions(
                include_columns=[names[c] for c in wanted],
                column_types={names[c]: pa.string() for c in wanted},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
        for batch in reader:
            raw = batch.to_pandas()
            raw.columns = [str(c).strip() for c in raw.columns]
            frame, r = _parse_chunk(raw, cmap, rows, bad, counts)
            parts.append(frame)
            rows += len(raw)
            rejected += r
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"cannot be read as a contact log ({type(exc).__name__}: "
                         f"{str(exc).strip()[:120]})", file=src) from None
    # Data row k (0-based, of the rows read) is on line k + 2 plus the lines skipped before.
    lines = sorted(n for n, _ in skipped)
    shown = []
    for row, why in sorted(bad)[:MAX_BAD_SHOWN]:
        line = row + 2
        for n in lines:
            if n <= line:
                line += 1
        shown.append((line, why))
    shown = sorted(shown + skipped)[:MAX_BAD_SHOWN]
    frame = _finish(pd.concat(parts, ignore_index=True) if parts else
                    _parse_chunk(pd.DataFrame({c: [] for c in cmap.columns()}, dtype=str),
                                 cmap, 0, [], counts)[0])
    total_rejected = rejected + len(skipped)
    if frame.empty:
        detail = f" ({total_rejected:,} rejected, first: line {shown[0][0]}: {shown[0][1]})" \
            if shown else ""
        raise InputError(f"no answered or abandoned contacts in the log{detail}", file=src)
    has = frozenset(c for c in LOG_FIELDS if c in cmap.fields)
    return ContactLog(frame=frame, rows_read=rows + len(skipped),
                      rows_rejected=total_rejected, bad_rows=tuple(shown),
                      phantom=counts["phantom"], not_offered=counts["not_offered"],
                      source=src, has=has)


def log_from_frame(raw: pd.DataFrame, *, columns: ColumnMap | None = None,
                   source: str = "log") -> ContactLog:
    """A log from a DataFrame in the generic format (or a map's columns): as read_log."""
    cmap = columns or ColumnMap(name="generic",
                                fields={c: c for c in LOG_FIELDS if c in raw.columns})
    text = raw[[c for c in cmap.columns()]].astype(object).where(raw.notna(), "").astype(str)
    bad: list[tuple[int, str]] = []
    counts: dict[str, dict[str, int]] = {"phantom": {}, "not_offered": {}}
    frame, rejected = _parse_chunk(text, cmap, 0, bad, counts)
    return ContactLog(frame=_finish(frame), rows_read=len(raw), rows_rejected=rejected,
                      bad_rows=tuple((r + 2, w) for r, w in bad), phantom=counts["phantom"],
                      not_offered=counts["not_offered"], source=source,
                      has=frozenset(cmap.fields))


# --------------------------------------------------------------------------------------------
# KPIs
# --------------------------------------------------------------------------------------------
def default_interval_min(log: ContactLog) -> float:
    """15 minutes where the mean handle time is under 7.5 minutes, else 30 (domain notes)."""
    h = log.frame["handle_s"].to_numpy(dtype=float)
    aht = float(np.nanmean(h)) if np.isfinite(h).any() else 0.0
    return 15.0 if aht < 450.0 else 30.0


_KPI_COUNTS = ["offered", "answered", "abandoned", "short_abandoned", "answered_within",
               "abandoned_within", "transfers_in", "transfers_out"]


def _kpi_table(keys: pd.DataFrame, frame: pd.DataFrame, transfer_keys: pd.DataFrame | None,
               *, target_s: float, short_abandon_s: float) -> pd.DataFrame:
    """KPIs per distinct row of ``keys`` (one row of keys per visit of ``frame``)."""
    grouped = keys.groupby(list(keys.columns), sort=True)
    codes = grouped.ngroup().to_numpy()
    uniq = grouped.size().index
    m = len(uniq)
    ans = frame["outcome"].to_numpy() == ANSWERED
    abd = ~ans
    wait = frame["wait_s"].to_numpy(dtype=float)
    work = frame["handle_s"].to_numpy(dtype=float) + frame["wrap_s"].to_numpy(dtype=float)

    def cnt(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes[mask], minlength=m).astype(float)

    data = {"offered": cnt(np.ones(len(frame), dtype=bool)), "answered": cnt(ans),
            "abandoned": cnt(abd), "short_abandoned": cnt(abd & (wait <= short_abandon_s)),
            "answered_within": cnt(ans & (wait <= target_s)),
            "abandoned_within": cnt(abd & (wait <= target_s)),
            "transfers_out": cnt(frame["transferred_to"].notna().to_numpy())}
    tin = np.zeros(m)
    if transfer_keys is not None and len(transfer_keys):
        pos = uniq.get_indexer(pd.MultiIndex.from_frame(transfer_keys))
        pos = pos[pos >= 0]
        tin = np.bincount(pos, minlength=m).astype(float)
    data["transfers_in"] = tin
    wait_sum = np.bincount(codes[ans], weights=wait[ans], minlength=m)
    work_sum = np.bincount(codes[ans], weights=work[ans], minlength=m)
    out = pd.DataFrame(uniq.to_frame(index=False))
    for c in _KPI_COUNTS:
        out[c] = data[c]
    _add_ratios(out, wait_sum, work_sum)
    return out


def _add_ratios(out: pd.DataFrame, wait_sum: np.ndarray, work_sum: np.ndarray) -> None:
    for column, values in metrics.rates(out, wait_sum).items():
        out[column] = values
    out["aht_s"] = ratio(work_sum, out["answered"])
    out["transfer_share"] = ratio(out["transfers_out"], out["answered"])
    out["first_contact_resolution"] = 1.0 - out["transfer_share"]
    out["_wait_sum"] = wait_sum
    out["_work_sum"] = work_sum


def _transfer_arrivals(frame: pd.DataFrame) -> pd.DataFrame:
    """(time, queue) of the visits that transfers created: a transfer enters its target
    queue when the transferring visit ends."""
    moved = frame["transferred_to"].notna().to_numpy()
    return pd.DataFrame({"at": frame["ended_at"].to_numpy()[moved],
                         "queue": frame["transferred_to"].to_numpy(dtype=object)[moved]})


def interval_kpis(log: ContactLog, *, interval_min: float, target_s: float = 20.0,
                  short_abandon_s: float = 5.0) -> pd.DataFrame:
    """Per interval and queue (intervals with contacts): ``interval_start``, ``queue`` and
    the columns of :data:`sim.metrics.QUEUE_COLUMNS` that a log can give, plus
    ``transfer_share`` and ``first_contact_resolution``."""
    f = log.frame
    step = pd.Timedelta(minutes=interval_min)
    start = f["arrived_at"].dt.floor(step) if 1440 % interval_min == 0 else \
        f["arrived_at"].dt.normalize() + ((f["arrived_at"] - f["arrived_at"].dt.normalize())
                                          // step) * step
    keys = pd.DataFrame({"interval_start": start.to_numpy(), "queue": f["queue"].to_numpy()})
    tr = _transfer_arrivals(f)
    tkeys = pd.DataFrame({"interval_start": tr["at"].dt.floor(step).to_numpy(),
                          "queue": tr["queue"].to_numpy()}) if len(tr) else None
    out = _kpi_table(keys, f, tkeys, target_s=target_s, short_abandon_s=short_abandon_s)
    return out.drop(columns=["_wait_sum", "_work_sum"])


def _sum_kpis(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    t = table.assign(_w=np.nan_to_num(table["asa_s"] * table["answered"]),
                     _h=np.nan_to_num(table["aht_s"] * table["answered"]))
    sums = t.groupby(keys, sort=True)[[*_KPI_COUNTS, "_w", "_h"]].sum().reset_index()
    out = sums.drop(columns=["_w", "_h"])
    _add_ratios(out, sums["_w"].to_numpy(), sums["_h"].to_numpy())
    return out.drop(columns=["_wait_sum", "_work_sum"])


def day_kpis(intervals: pd.DataFrame) -> pd.DataFrame:
    """Per day and queue, from :func:`interval_kpis` (column ``day``)."""
    t = intervals.assign(day=intervals["interval_start"].dt.normalize())
    return _sum_kpis(t, ["day", "queue"])


def period_kpis(intervals: pd.DataFrame) -> pd.DataFrame:
    """Over the whole log per queue, and an ``all`` row."""
    per = _sum_kpis(intervals, ["queue"])
    every = _sum_kpis(intervals.assign(queue="all"), ["queue"])
    return pd.concat([per, every], ignore_index=True)


@dataclass(frozen=True)
class _Agents:
    """The answered visits that name an agent, as codes: ``rows`` (positions in the log's
    frame), ``agent`` (code per row), ``names`` and ``group`` (per agent code), ``start_s`` and
    ``end_s`` of handling (seconds from ``t0``, the first day's midnight), and ``duty``: one
    row per agent and day with ``agent`` (code), ``group``, ``day``, ``on_s``, ``off_s``
    (interval-aligned: from the interval of the first answer to the end of the interval of
    the last end)."""

    t0: pd.Timestamp
    rows: np.ndarray
    agent: np.ndarray
    names: np.ndarray
    group: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    duty: pd.DataFrame


def _agents(log: ContactLog, *, interval_min: float) -> _Agents | None:
    """None when no answered visit names an agent."""
    f = log.frame
    rows = np.flatnonzero((f["outcome"].to_numpy() == ANSWERED) & f["agent"].notna().to_numpy())
    if rows.size == 0:
        return None
    t0 = f["arrived_at"].min().normalize()
    code, names = pd.factorize(f["agent"].take(rows), sort=True)
    names = np.asarray(names, dtype=object)
    groups = f["group"].take(rows)
    # An agent's group: the first named in the log; without one, the agents who answered the
    # same queues form a group ("presales+aftersales").
    first = np.full(names.size, rows.size, dtype=np.int64)
    np.minimum.at(first, code, np.arange(rows.size))
    group = np.asarray(groups.to_numpy(dtype=object)[first], dtype=object)
    missing = pd.isna(group)
    if missing.any():
        qcode, qnames = pd.factorize(f["queue"].take(rows), sort=True)
        pairs = np.unique(code.astype(np.int64) * len(qnames) + qcode)
        sets: dict[int, list[str]] = {}
        for p in pairs:
            sets.setdefault(int(p // len(qnames)), []).append(str(qnames[p % len(qnames)]))
        for a in np.flatnonzero(missing):
            group[a] = "+".join(sets[a])
    start = (f["answered_at"].to_numpy()[rows] - t0.to_datetime64()) / np.timedelta64(1, "s")
    end = (f["ended_at"].to_numpy()[rows] - t0.to_datetime64()) / np.timedelta64(1, "s")
    step = interval_min * 60.0
    day = np.floor(start / 86_400.0).astype(np.int64)
    key = code.astype(np.int64) * (int(day.max()) + 1) + day
    uniq, inv = np.unique(key, return_inverse=True)
    on = np.full(uniq.size, np.inf)
    off = np.full(uniq.size, -np.inf)
    np.minimum.at(on, inv, start)
    np.maximum.at(off, inv, end)
    on = np.floor(on / step) * step
    off = np.maximum(np.ceil(off / step) * step, on + step)
    a = (uniq // (int(day.max()) + 1)).astype(np.int64)
    d = uniq % (int(day.max()) + 1)
    duty = pd.DataFrame({"agent": a, "group": group[a],
                         "day": t0 + pd.to_timedelta(d, unit="D"), "on_s": on, "off_s": off})
    return _Agents(t0=t0, rows=rows, agent=code.astype(np.int64), names=names, group=group,
                   start_s=start, end_s=end, duty=duty)


def agent_intervals(log: ContactLog, *, interval_min: float,
                    agents: _Agents | None = None) -> pd.DataFrame:
    """Per interval and agent group: ``interval_start``, ``group``, ``agents`` (mean on duty),
    ``staffed_s``, ``busy_s`` (time holding at least one contact), ``occupancy``.  Empty when
    the log has no agent column."""
    from sim.metrics import _busy_blocks, _overlap  # the simulator's own interval arithmetic

    cols = ["interval_start", "group", "agents", "staffed_s", "busy_s", "occupancy"]
    ag = agents if agents is not None else _agents(log, interval_min=interval_min)
    if ag is None:
        return pd.DataFrame(columns=cols)
    duty = ag.duty
    step = interval_min * 60.0
    n = int(math.ceil(duty["off_s"].max() / step))
    edges = np.arange(n + 1) * step
    b_agent, b_s, b_e = _busy_blocks(ag.agent, ag.start_s, ag.end_s)
    b_group = ag.group[b_agent]
    d_group = duty["group"].to_numpy(dtype=object)
    rows = []
    for g in sorted(set(ag.group)):
        dm = d_group == g
        staffed = _overlap(duty["on_s"].to_numpy()[dm], duty["off_s"].to_numpy()[dm], edges)
        bm = b_group == g
        busy = _overlap(b_s[bm], b_e[bm], edges)
        keep = staffed > 0
        rows.append(pd.DataFrame({
            "interval_start": ag.t0 + pd.to_timedelta(edges[:-1][keep], unit="s"),
            "group": g, "agents": staffed[keep] / step, "staffed_s": staffed[keep],
            "busy_s": busy[keep], "occupancy": ratio(busy[keep], staffed[keep])}))
    return pd.concat(rows, ignore_index=True).sort_values(
        ["interval_start", "group"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HandleFit:
    """Handle time (s) of answered visits: mean with its 95% interval, sample cv with its
    delta-method 95% interval, the family with the best AIC and its KS distance, and the
    log-likelihood of each family.  ``params``: scipy parameters of the chosen family."""

    n: int
    mean_s: float
    mean_s_ci95: tuple[float, float]
    cv: float
    cv_ci95: tuple[float, float]
    family: str
    family_cv: float
    ks: float
    loglik: Mapping[str, float]
    params: Mapping[str, float]

    def dist(self) -> Any:
        p = self.params
        if self.family == "exponential":
            return stats.expon(scale=p["scale"])
        if self.family == "lognormal":
            return stats.lognorm(p["s"], scale=p["scale"])
        return stats.gamma(p["a"], scale=p["scale"])


def fit_handle_time(values: np.ndarray, *, seed: int = 0, ks_sample: int = 200_000
                    ) -> HandleFit | None:
    """Fit answered handle times (s); None without any value, the mean only (exponential,
    no intervals) with fewer than two positive values."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    pos = x[x > 0]
    if x.size == 0:
        return None
    n = x.size
    if pos.size < 2 or n < 2:
        # Too few to fit or spread: the mean only, exponential by default.
        m = float(x.mean())
        return HandleFit(n=n, mean_s=m, mean_s_ci95=(math.nan, math.nan), cv=math.nan,
                         cv_ci95=(math.nan, math.nan), family="exponential",
                         family_cv=1.0, ks=math.nan, loglik={}, params={"scale": max(m, 1e-9)})
    mean = float(x.mean())
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))
    # Delta method for cv = sd / mean with the sample's own third and fourth moments.
    d = x - mean
    m2, m3, m4 = float(np.mean(d ** 2)), float(np.mean(d ** 3)), float(np.mean(d ** 4))
    cv = sd / mean if mean > 0 else math.nan
    var_cv = (cv * cv * m2 / (mean * mean) + (cv / (2 * m2)) ** 2 * (m4 - m2 * m2)
              - 2 * (cv / mean) * (cv / (2 * m2)) * m3) / n if m2 > 0 else math.nan
    cv_half = 1.96 * math.sqrt(max(var_cv, 0.0))
    logs = np.log(pos)
    mu, sigma = float(logs.mean()), float(logs.std())
    pm = float(pos.mean())
    rhs = math.log(pm) - mu
    if rhs > 1e-12:
        # MLE of the gamma shape: log k - digamma(k) = log(mean) - mean(log x).
        k = optimize.brentq(lambda a: math.log(a) - special.digamma(a) - rhs, 1e-4, 1e7)
    else:
        k = 1e7
    fams = {"exponential": ({"scale": pm}, stats.expon(scale=pm), 1),
            "lognormal": ({"s": max(sigma, 1e-9), "scale": math.exp(mu)},
                          stats.lognorm(max(sigma, 1e-9), scale=math.exp(mu)), 2),
            "gamma": ({"a": k, "scale": pm / k}, stats.gamma(k, scale=pm / k), 2)}
    loglik = {name: float(np.sum(dist.logpdf(pos))) for name, (_, dist, _) in fams.items()}
    aic = {name: 2 * fams[name][2] - 2 * loglik[name] for name in fams}
    best = min(aic, key=aic.get)
    rng = np.random.default_rng(seed)
    sample = pos if pos.size <= ks_sample else rng.choice(pos, ks_sample, replace=False)
    ks = float(stats.kstest(sample, fams[best][1].cdf).statistic)
    family_cv = {"exponential": 1.0, "lognormal": math.sqrt(math.expm1(sigma * sigma)),
                 "gamma": 1.0 / math.sqrt(k)}[best]
    return HandleFit(n=n, mean_s=mean, mean_s_ci95=(mean - half, mean + half), cv=cv,
                     cv_ci95=(cv - cv_half, cv + cv_half), family=best, family_cv=family_cv,
                     ks=ks, loglik=loglik, params=fams[best][0])


@dataclass(frozen=True)
class PatienceFit:
    """Exponential patience from censored waits: ``patience_s`` = total wait / abandons and
    its 95% interval; ``naive_patience_s`` = mean wait of abandoned visits (biased low);
    ``km``: Kaplan-Meier survival (columns ``t_s``, ``survival``), at most ~300 points."""

    visits: int
    abandons: int
    total_wait_s: float
    patience_s: float
    patience_s_ci95: tuple[float, float]
    naive_patience_s: float
    km: pd.DataFrame = field(repr=False)


def kaplan_meier(times: np.ndarray, events: np.ndarray, *, points: int = 300
                 ) -> pd.DataFrame:
    """Kaplan-Meier survival of right-censored ``times`` (``events`` true: observed).

    S(t) = prod over event times t_i <= t of (1 - d_i / n_i), n_i at risk just before t_i
    (a censored time equal to an event time is at risk at it)."""
    t = np.asarray(times, dtype=float)
    ev = np.asarray(events, dtype=bool)
    if t.size == 0:
        return pd.DataFrame({"t_s": [0.0], "survival": [1.0]})
    uniq, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=ev, minlength=uniq.size)
    total = np.bincount(inv, minlength=uniq.size)
    at_risk = t.size - np.concatenate(([0], np.cumsum(total)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(d > 0, 1.0 - d / at_risk, 1.0)
    surv = np.cumprod(factor)
    has = d > 0
    tt, ss = np.concatenate(([0.0], uniq[has])), np.concatenate(([1.0], surv[has]))
    if tt.size > points:
        pick = np.unique(np.linspace(0, tt.size - 1, points).round().astype(int))
        tt, ss = tt[pick], ss[pick]
    return pd.DataFrame({"t_s": tt, "survival": ss})


def fit_patience(wait_s: np.ndarray, abandoned: np.ndarray) -> PatienceFit:
    """Exponential patience by maximum likelihood with answered waits censored."""
    w = np.asarray(wait_s, dtype=float)
    ab = np.asarray(abandoned, dtype=bool)
    total = float(w.sum())
    k = int(ab.sum())
    if k == 0:
        # No abandons: a one-sided bound only (the mean is at least this, 97.5%).
        lo = 2 * total / stats.chi2.ppf(0.975, 2) if total > 0 else 0.0
        est, ci = math.inf, (lo, math.inf)
    else:
        est = total / k
        ci = (2 * total / stats.chi2.ppf(0.975, 2 * k), 2 * total / stats.chi2.ppf(0.025, 2 * k))
    naive = float(w[ab].mean()) if k else math.nan
    return PatienceFit(visits=int(w.size), abandons=k, total_wait_s=total, patience_s=est,
                       patience_s_ci95=ci, naive_patience_s=naive, km=kaplan_meier(w, ab))


def _wilson(k: float, n: float) -> tuple[float, float]:
    if n <= 0:
        return (math.nan, math.nan)
    z = 1.959964
    p = k / n
    den = 1 + z * z / n
    c = (p + z * z / (2 * n)) / den
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, c - h), min(1.0, c + h))


def transfer_shares(log: ContactLog) -> pd.DataFrame:
    """Per (``from_queue``, ``to_queue``): ``transfers``, ``answered`` (of the from queue),
    ``share`` and its Wilson 95% interval ``share_lo``, ``share_hi``."""
    f = log.frame
    ans = f[f["outcome"] == ANSWERED]
    n = ans.groupby("queue").size()
    moved = ans[ans["transferred_to"].notna()]
    if moved.empty:
        return pd.DataFrame(columns=["from_queue", "to_queue", "transfers", "answered",
                                     "share", "share_lo", "share_hi"])
    c = moved.groupby(["queue", "transferred_to"]).size().reset_index(name="transfers")
    c = c.rename(columns={"queue": "from_queue", "transferred_to": "to_queue"})
    c["answered"] = c["from_queue"].map(n).astype(float)
    c["share"] = c["transfers"] / c["answered"]
    ci = [_wilson(k, m) for k, m in zip(c["transfers"], c["answered"])]
    c["share_lo"] = [a for a, _ in ci]
    c["share_hi"] = [b for _, b in ci]
    return c


def daily_counts(log: ContactLog, *, interval_min: float) -> dict[str, pd.DataFrame]:
    """External arrivals (offered minus transfers in) per queue: a frame per queue with one
    row per day that has any contact (index ``day``) and one column per interval of the day."""
    f = log.frame
    per_day = int(round(1440 / interval_min))
    day_ns, step_ns = 86_400 * 10**9, int(round(interval_min * 60)) * 10**9

    def split(times: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        ns = times.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        day = ns // day_ns
        return day, ((ns - day * day_ns) // step_ns).clip(0, per_day - 1)

    arrival_day, _ = split(f["arrived_at"])
    day_nums = np.unique(arrival_day)
    days = pd.DatetimeIndex((day_nums * day_ns).astype("datetime64[ns]"))

    def grid(times: pd.Series, queues: np.ndarray) -> dict[str, np.ndarray]:
        day, slot = split(times)
        pos = np.searchsorted(day_nums, day).clip(0, len(day_nums) - 1)
        ok = day_nums[pos] == day  # transfers into a day without arrivals are left out
        codes, names = pd.factorize(queues[ok])
        cell = (codes * len(days) + pos[ok]) * per_day + slot[ok]
        counts = np.bincount(cell, minlength=len(names) * len(days) * per_day).astype(float)
        counts = counts.reshape(len(names), len(days), per_day)
        return {str(q): counts[i] for i, q in enumerate(names)}

    offered = grid(f["arrived_at"], f["queue"].to_numpy(dtype=object))
    tr = _transfer_arrivals(f)
    tin = grid(tr["at"], tr["queue"].to_numpy(dtype=object)) if len(tr) else {}
    out = {}
    for q, mat in offered.items():
        ext = np.maximum(mat - tin.get(q, 0.0), 0.0)
        out[q] = pd.DataFrame(ext, index=pd.Index(days, name="day"))
    return out


def overdispersion(counts: pd.DataFrame) -> float:
    """Variance / mean of interval counts against the intraday profile (days x intervals);
    NaN with fewer than two days."""
    c = counts.to_numpy(dtype=float)
    if c.shape[0] < 2 or c.sum() <= 0:
        return math.nan
    totals = c.sum(axis=1, keepdims=True)
    share = c.sum(axis=0, keepdims=True) / c.sum()
    e = totals * share
    used = e > 0
    dof = int(used.sum()) - int((totals > 0).sum()) - int((share > 0).sum()) + 1
    if dof <= 0:
        return math.nan
    return float(((c - e) ** 2 / np.where(used, e, 1.0))[used].sum() / dof)


@dataclass(frozen=True)
class QueueCalibration:
    """The calibrated parameters of one queue (times in seconds)."""

    queue: str
    channel: str
    offered: int
    answered: int
    abandoned: int
    handle: HandleFit | None
    wrap_s: float
    patience: PatienceFit
    overdispersion: float

    def spec(self, *, target_s: float) -> dict[str, Any]:
        """The queue as scenario data (``queues.NAME``)."""
        h = self.handle
        out: dict[str, Any] = {"channel": self.channel,
                               "aht_s": round(h.mean_s, 1) if h and h.mean_s > 0 else 1.0}
        if h is not None and h.family != "exponential":
            out["handle_time"] = h.family
            out["handle_time_cv"] = round(float(min(max(h.cv, 0.05), 5.0)), 3)
        if self.wrap_s > 0:
            out["wrap_up_s"] = round(self.wrap_s, 1)
        if math.isfinite(self.patience.patience_s):
            out["patience_s"] = round(self.patience.patience_s, 1)
        out["target"] = {"within_s": float(target_s)}
        return out


def calibrate(log: ContactLog, *, interval_min: float,
              counts: Mapping[str, pd.DataFrame] | None = None
              ) -> dict[str, QueueCalibration]:
    """Calibrated parameters per queue (``counts``: :func:`daily_counts`, if made already)."""
    f = log.frame
    counts = daily_counts(log, interval_min=interval_min) if counts is None else counts
    out = {}
    for q, part in f.groupby("queue", sort=True):
        ans = part["outcome"].to_numpy() == ANSWERED
        ch = part["channel"].dropna()
        channel = str(ch.mode().iloc[0]) if len(ch) and str(ch.mode().iloc[0]) in (
            "voice", "chat") else "voice"
        out[str(q)] = QueueCalibration(
            queue=str(q), channel=channel, offered=len(part), answered=int(ans.sum()),
            abandoned=int((~ans).sum()),
            handle=fit_handle_time(part["handle_s"].to_numpy()[ans]),
            wrap_s=float(part["wrap_s"].to_numpy()[ans].mean()) if ans.any() else 0.0,
            patience=fit_patience(part["wait_s"].to_numpy(), ~ans),
            overdispersion=overdispersion(counts[str(q)]) if str(q) in counts else math.nan)
    return out


# --------------------------------------------------------------------------------------------
# Forecast
# --------------------------------------------------------------------------------------------
def _matching(days: pd.DatetimeIndex, target: pd.Timestamp, *, weeks: int,
              profile_from: Sequence[pd.Timestamp] | None) -> list[pd.Timestamp]:
    if profile_from:
        return [d for d in profile_from if d in set(days)]
    before = [d for d in days if d < target]
    same = [d for d in before if d.weekday() == target.weekday()]
    return same[-weeks:] if same else before[-weeks:]


def _method(counts: Mapping[str, pd.DataFrame], days: Sequence[pd.Timestamp]
            ) -> dict[str, np.ndarray]:
    """Level x profile per queue from ``days``: the mean of those days' counts per interval
    (mean level times pooled shares is the same thing)."""
    out = {}
    for q, c in counts.items():
        rows = c.loc[c.index.isin(days)]
        out[q] = rows.to_numpy(dtype=float).mean(axis=0) if len(rows) else \
            np.zeros(c.shape[1])
    return out


@dataclass(frozen=True)
class ForecastError:
    """The method's rolling-origin error over the log: per day ``day``, ``actual`` and
    ``forecast`` (totals over queues), ``mae`` (per interval and queue) and, where the day a
    week before is in the log, ``mae_same_day_last_week``."""

    days: pd.DataFrame
    mae: float
    mae_same_day_last_week: float
    compared_days: int
    ratio_q05: float
    ratio_q95: float


def forecast_errors(counts: Mapping[str, pd.DataFrame], *, weeks: int = 4) -> ForecastError:
    """Run the method on every day of the log that has a matching day before it."""
    days = pd.DatetimeIndex(sorted(set().union(*[set(c.index) for c in counts.values()])))
    rows = []
    for d in days:
        match = _matching(days, d, weeks=weeks, profile_from=None)
        if not match or match[-1].weekday() != d.weekday():
            continue
        fc = _method(counts, match)
        act = {q: c.loc[d].to_numpy(dtype=float) if d in c.index else np.zeros(c.shape[1])
               for q, c in counts.items()}
        err = np.concatenate([np.abs(fc[q] - act[q]) for q in counts])
        last = d - pd.Timedelta(days=7)
        sdlw = np.nan
        if last in days:
            prev = {q: c.loc[last].to_numpy(dtype=float) if last in c.index else
                    np.zeros(c.shape[1]) for q, c in counts.items()}
            sdlw = float(np.concatenate([np.abs(prev[q] - act[q]) for q in counts]).mean())
        rows.append({"day": d, "actual": float(sum(a.sum() for a in act.values())),
                     "forecast": float(sum(f.sum() for f in fc.values())),
                     "mae": float(err.mean()), "mae_same_day_last_week": sdlw})
    table = pd.DataFrame(rows, columns=["day", "actual", "forecast", "mae",
                                        "mae_same_day_last_week"])
    both = table.dropna(subset=["mae_same_day_last_week"])
    ratio = (table["actual"] / table["forecast"]).replace([np.inf, -np.inf], np.nan).dropna()
    q05, q95 = (float(ratio.quantile(0.05)), float(ratio.quantile(0.95))) \
        if len(ratio) >= 5 else (math.nan, math.nan)
    return ForecastError(days=table, mae=float(both["mae"].mean()) if len(both) else
                         float(table["mae"].mean()) if len(table) else math.nan,
                         mae_same_day_last_week=float(both["mae_same_day_last_week"].mean())
                         if len(both) else math.nan, compared_days=len(both),
                         ratio_q05=q05, ratio_q95=q95)


@dataclass(frozen=True)
class DayForecast:
    """The forecast of one day: ``frame`` with ``interval_start``, ``queue``, ``contacts``
    (base), ``low``, ``high``; ``factors`` low/base/high on the base (for review --cases);
    ``matching_days`` the days it was made from; ``band_from`` what the band rests on."""

    day: pd.Timestamp
    frame: pd.DataFrame
    factors: Mapping[str, float]
    matching_days: tuple[pd.Timestamp, ...]
    uplift: float
    band_from: str
    error: ForecastError

    def cases(self) -> str:
        return ",".join(f"{k}={v:.3g}" for k, v in self.factors.items())


def forecast_day(counts: Mapping[str, pd.DataFrame], *, day: pd.Timestamp,
                 interval_min: float, uplift: float = 0.0,
                 profile_from: Sequence[pd.Timestamp] | None = None,
                 weeks: int = 4) -> DayForecast:
    """Forecast ``day`` from the days before it (see the module doc)."""
    day = pd.Timestamp(day).normalize()
    days = pd.DatetimeIndex(sorted(set().union(*[set(c.index) for c in counts.values()])))
    if profile_from:
        missing = [d for d in profile_from if d not in set(days)]
        if missing:
            raise InputError(f"{', '.join(f'{d:%Y-%m-%d}' for d in missing)} not in the log "
                             f"(it has {days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d})",
                             field="--profile-from")
    match = _matching(days, day, weeks=weeks, profile_from=profile_from)
    if not match:
        raise InputError(f"no day in the log before {day:%Y-%m-%d} to forecast it from",
                         field="--forecast-for")
    base = _method(counts, match)
    factor = 1.0 + uplift
    err = forecast_errors(counts, weeks=weeks)
    total = sum(v.sum() for v in base.values()) * factor
    if math.isfinite(err.ratio_q05):
        lo, hi = min(err.ratio_q05, 1.0), max(err.ratio_q95, 1.0)
        band_from = (f"5% and 95% quantiles of actual / forecast over {len(err.days)} past "
                     "days")
    else:
        z = 1.645 / math.sqrt(max(total, 1.0))
        lo, hi = max(1.0 - z, 0.0), 1.0 + z
        band_from = ("Poisson noise of the daily total only (fewer than 5 past days to "
                     "measure the method's error)")
    starts = day + pd.to_timedelta(np.arange(int(round(1440 / interval_min))) * interval_min,
                                   unit="min")
    parts = [pd.DataFrame({"interval_start": starts, "queue": q,
                           "contacts": base[q] * factor, "low": base[q] * factor * lo,
                           "high": base[q] * factor * hi}) for q in sorted(base)]
    frame = pd.concat(parts, ignore_index=True).sort_values(
        ["interval_start", "queue"], kind="stable").reset_index(drop=True)
    return DayForecast(day=day, frame=frame, factors={"low": lo, "base": 1.0, "high": hi},
                       matching_days=tuple(match), uplift=uplift, band_from=band_from,
                       error=err)


# --------------------------------------------------------------------------------------------
# Scenarios: skeleton and backtest
# --------------------------------------------------------------------------------------------
def _clock(minutes: float) -> str:
    m = int(round(minutes))
    return f"{m // 60:02d}:{m % 60:02d}"


def staffing_shifts(agents: np.ndarray, *, interval_min: float) -> list[dict[str, Any]]:
    """Shifts that put exactly ``agents[i]`` agents (rounded) on the floor in interval ``i``
    of a day: for each level k, one shift per run of intervals with at least k agents."""
    n = np.rint(np.asarray(agents, dtype=float)).astype(int)
    runs: dict[tuple[int, int], int] = {}
    for k in range(1, int(n.max(initial=0)) + 1):
        on = np.concatenate(([False], n >= k, [False]))
        starts = np.flatnonzero(on[1:] & ~on[:-1])
        ends = np.flatnonzero(~on[1:] & on[:-1])
        for s, e in zip(starts, ends):
            runs[(int(s), int(e))] = runs.get((int(s), int(e)), 0) + 1
    return [{"start": _clock(s * interval_min), "end": _clock(e * interval_min),
             "agents": c} for (s, e), c in sorted(runs.items())]


def _log_groups(log: ContactLog, *, day: pd.Timestamp, interval_min: float,
                agents: _Agents | None = None) -> dict[str, dict[str, Any]]:
    """Agent groups of ``day`` from the log: skills = the queues the group answered over the
    whole log (preference 1 for the one it answered most, 2 for the next, ...), shifts = its
    agents on duty per interval that day."""
    ag = agents if agents is not None else _agents(log, interval_min=interval_min)
    if ag is None:
        return {}
    per_day = int(round(1440 / interval_min))
    step = interval_min * 60.0
    offset = (pd.Timestamp(day) - ag.t0).total_seconds()
    gcode, gnames = pd.factorize(ag.group[ag.agent], sort=True)
    qcode, qnames = pd.factorize(log.frame["queue"].take(ag.rows), sort=True)
    answered = np.bincount(gcode * len(qnames) + qcode,
                           minlength=len(gnames) * len(qnames)).reshape(len(gnames), -1)
    duty = ag.duty
    today = duty[duty["day"] == pd.Timestamp(day)]
    groups = {}
    for i, g in enumerate(gnames):
        order = [j for j in np.argsort(-answered[i], kind="stable") if answered[i, j] > 0]
        dm = today[today["group"].to_numpy(dtype=object) == g]
        n = np.zeros(per_day)
        for on, off in zip(dm["on_s"] - offset, dm["off_s"] - offset):
            a, b = int(max(on // step, 0)), int(min(math.ceil(off / step), per_day))
            n[a:b] += 1
        groups[str(g)] = {"skills": {str(qnames[j]): k + 1 for k, j in enumerate(order)},
                          "shifts": staffing_shifts(n, interval_min=interval_min)}
    return groups


def _roster_groups(roster: Any, queues: Sequence[str]) -> dict[str, Any]:
    data = roster.spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    groups = data["agent_groups"]
    for g, spec in groups.items():
        extra = [q for q in spec.get("skills", {}) if q not in queues]
        if extra:
            raise InputError(f"group {quote(g)} serves {', '.join(map(quote, extra))}, not "
                             f"queues of the log ({', '.join(queues)})", file=roster.source,
                             field=f"agent_groups.{g}.skills")
    return groups


def scenario_skeleton(calibration: Mapping[str, QueueCalibration], transfers: pd.DataFrame,
                      *, start: pd.Timestamp, interval_min: float, target_s: float,
                      arrivals: Mapping[str, Sequence[float]] | str,
                      groups: Mapping[str, Any] | None = None,
                      name: str = "from history") -> dict[str, Any]:
    """Scenario data with the calibrated queues and transfers.  ``arrivals``: a forecast file
    name (relative to the scenario) or inline counts per queue; ``groups``: agent groups
    (default: one group ``agents`` with every skill and no shifts, to fill in)."""
    queues = {q: c.spec(target_s=target_s) for q, c in sorted(calibration.items())}
    data: dict[str, Any] = {"name": name, "start": pd.Timestamp(start).isoformat(
        timespec="minutes"), "interval_min": float(interval_min), "queues": queues}
    data["arrivals"] = {"file": arrivals} if isinstance(arrivals, str) else \
        {q: [float(x) for x in v] for q, v in arrivals.items()}
    data["agent_groups"] = dict(groups) if groups else {
        "agents": {"skills": {q: 1 for q in queues}, "shifts": []}}
    data["transfers"] = [{"from": r.from_queue, "to": r.to_queue,
                          "probability": round(float(r.share), 4)}
                         for r in transfers.itertuples() if r.share > 0
                         and r.from_queue in queues and r.to_queue in queues]
    if not data["transfers"]:
        del data["transfers"]
    return data


@dataclass(frozen=True)
class Backtest:
    """Simulated vs actual per interval and queue of one day.  ``table``: ``interval_start``,
    ``queue``, ``offered`` (actual), and for each of service_level, abandon_rate, asa_s:
    ``actual_*``, ``sim_*`` (mean over replications), ``sim_*_ci95``, ``lo_*``, ``hi_*`` (the
    band), ``outside_*``.  ``band_coverage``: the band's nominal coverage."""

    day: pd.Timestamp
    reps: int
    seed: int
    table: pd.DataFrame
    mae: Mapping[str, float]
    outside: Mapping[str, float]
    outside_share: float
    compared: int
    band_coverage: float
    staffing_from: str
    scenario: dict[str, Any] = field(repr=False)


MEASURES = ("service_level", "abandon_rate", "asa_s")


def band_rank(reps: int) -> int:
    """k of the band (k-th lowest to k-th highest of ``reps`` values)."""
    return max(1, int(math.floor(0.025 * (reps + 1))))


def backtest(log: ContactLog, calibration: Mapping[str, QueueCalibration],
             transfers: pd.DataFrame, *, day: pd.Timestamp, interval_min: float,
             target_s: float, short_abandon_s: float = 5.0, reps: int = 39, seed: int = 1,
             roster: Any = None, mapper: Callable[..., list] | None = None,
             progress: Callable[[int], None] | None = None) -> Backtest:
    """Simulate ``day`` with its arrivals and staffing; compare with the log."""
    from sim.replications import simulate
    from sim.scenario import check_run_size, scenario_from_dict

    day = pd.Timestamp(day).normalize()
    counts = daily_counts(log, interval_min=interval_min)
    days = log.days
    if day not in set(days):
        raise InputError(f"{day:%Y-%m-%d} is not in the log (it has {days[0]:%Y-%m-%d} to "
                         f"{days[-1]:%Y-%m-%d})", field="--backtest")
    queues = sorted(calibration)
    per_day = int(round(1440 / interval_min))
    arrivals = {q: (counts[q].loc[day].to_numpy() if q in counts and day in counts[q].index
                    else np.zeros(per_day)) for q in queues}
    if roster is not None:
        groups, staffing_from = _roster_groups(roster, queues), f"roster {roster.source}"
    else:
        groups = _log_groups(log, day=day, interval_min=interval_min)
        staffing_from = "agents on duty in the log"
        if not groups:
            raise InputError("the log has no agent column, so the staffing of the day is "
                             "unknown: give --roster SCENARIO.yaml", field="--backtest")
    data = scenario_skeleton(calibration, transfers, start=day, interval_min=interval_min,
                             target_s=target_s, arrivals=arrivals, groups=groups,
                             name=f"backtest {day:%Y-%m-%d}")
    data["short_abandon_s"] = float(short_abandon_s)
    scenario = scenario_from_dict(data, source=f"backtest of {day:%Y-%m-%d}")
    check_run_size(scenario, reps=reps)
    sim = simulate(scenario, seed=seed, reps=reps, mapper=mapper, progress=progress)
    qi = sim.queue_intervals
    summ = sim.queue_interval_summary()
    actual = interval_kpis(log, interval_min=interval_min, target_s=target_s,
                           short_abandon_s=short_abandon_s)
    actual = actual[actual["interval_start"].dt.normalize() == day]
    starts = scenario.interval_starts
    k = band_rank(reps)
    table = pd.DataFrame({"interval": np.repeat(np.arange(per_day), len(queues)),
                          "queue": np.tile(np.asarray(queues, dtype=object), per_day)})
    table.insert(0, "interval_start", starts[table["interval"].to_numpy()])
    act = actual.set_index(["interval_start", "queue"])
    idx = pd.MultiIndex.from_frame(table[["interval_start", "queue"]])
    table["offered"] = act["offered"].reindex(idx).fillna(0.0).to_numpy()
    s = summ.set_index(["interval", "queue"])
    sidx = pd.MultiIndex.from_frame(table[["interval", "queue"]])
    mae, outside, flags = {}, {}, []
    for m in MEASURES:
        a = act[m].reindex(idx).to_numpy(dtype=float)
        table[f"actual_{m}"] = a
        table[f"sim_{m}"] = s[m].reindex(sidx).to_numpy(dtype=float)
        table[f"sim_{m}_ci95"] = s[f"{m}_ci95"].reindex(sidx).to_numpy(dtype=float)
        wide = qi.pivot_table(index=["interval", "queue"], columns="rep", values=m,
                              dropna=False).reindex(sidx).to_numpy(dtype=float)
        srt = np.sort(wide, axis=1)  # NaN last
        nv = np.sum(~np.isnan(wide), axis=1)
        kk = np.array([band_rank(int(v)) for v in nv])
        ok_band = nv >= 2
        rows = np.arange(len(table))
        lo = np.where(ok_band, srt[rows, np.clip(kk - 1, 0, srt.shape[1] - 1)], np.nan)
        hi = np.where(ok_band, srt[rows, np.clip(nv - kk, 0, srt.shape[1] - 1)], np.nan)
        table[f"lo_{m}"], table[f"hi_{m}"] = lo, hi
        valid = ~np.isnan(a) & ok_band
        out_m = valid & ((a < lo - 1e-12) | (a > hi + 1e-12))
        table[f"outside_{m}"] = np.where(valid, out_m, False)
        flags.append((valid, out_m))
        both = valid & ~np.isnan(table[f"sim_{m}"].to_numpy())
        mae[m] = float(np.mean(np.abs(a[both] - table[f"sim_{m}"].to_numpy()[both]))) \
            if both.any() else math.nan
        outside[m] = float(out_m.sum() / valid.sum()) if valid.any() else math.nan
    n_valid = sum(int(v.sum()) for v, _ in flags)
    n_out = sum(int(o.sum()) for _, o in flags)
    return Backtest(day=day, reps=reps, seed=seed, table=table, mae=mae, outside=outside,
                    outside_share=n_out / n_valid if n_valid else math.nan, compared=n_valid,
                    band_coverage=1.0 - 2.0 * k / (reps + 1), staffing_from=staffing_from,
                    scenario=data)


# --------------------------------------------------------------------------------------------
# Synthetic logs (tests, benchmarks, demos)
# --------------------------------------------------------------------------------------------
def log_from_records(records: Records, *, start: pd.Timestamp, whole_seconds: bool = False
                     ) -> pd.DataFrame:
    """The visits of a simulation run as a contact log in the generic format (visits still
    waiting when the run stopped are left out).  ``whole_seconds``: times rounded to the
    second, as exports give them (abandoned waits to at least 1 s)."""
    r = records
    order = np.lexsort((r.arrival_s, r.contact))
    nxt = np.full(r.queue.size, -1)
    same = r.contact[order][1:] == r.contact[order][:-1]
    nxt[order[:-1][same]] = r.queue[order[1:][same]]
    names = np.asarray(r.queues, dtype=object)
    keep = r.outcome != 0
    arrival, wait = r.arrival_s[keep], r.wait_s[keep]
    handle = (r.end_s - r.start_s)[keep]
    answered = r.outcome[keep] == ANSWERED
    if whole_seconds:
        arrival = np.round(arrival)
        # An abandon is exported after at least a second: a 0 would read as a hang-up in the
        # voice menu in the per-call format.
        wait = np.where(answered, np.round(wait), np.maximum(np.round(wait), 1.0))
        handle = np.round(handle)
    agent = r.agent[keep]
    t0 = pd.Timestamp(start)
    frame = pd.DataFrame({
        "arrived_at": t0 + pd.to_timedelta(arrival, unit="s"),
        "queue": names[r.queue[keep]],
        "outcome": np.where(answered, "answered", "abandoned"),
        "wait_s": wait,
        "handle_s": np.where(answered, handle, np.nan),
        "agent": np.where(agent >= 0, np.char.add("A", agent.astype(str)), ""),
        "group": np.where(agent >= 0, np.asarray(r.groups, dtype=object)[
            r.agent_group[np.maximum(agent, 0)]], ""),
        "transferred_to": np.where(r.transferred[keep] & (nxt[keep] >= 0),
                                   names[np.maximum(nxt[keep], 0)], ""),
    })
    return frame.sort_values("arrived_at", kind="stable").reset_index(drop=True)


def _hms(seconds: np.ndarray) -> np.ndarray:
    """Clock texts like 7:21:32 (hours not padded, as in the per-call format; past midnight
    the clock wraps)."""
    t = pa.array(np.asarray(np.round(seconds), dtype=np.int64) % 86_400, pa.int64()).cast(
        pa.timestamp("s"))
    text = pc.replace_substring_regex(pc.strftime(t, format="%H:%M:%S"), r"^0(\d)", r"\1")
    return text.to_numpy(zero_copy_only=False)


def to_bank_format(log: pd.DataFrame, *, seed: int = 0, menu_hangups: int = 0,
                   phantoms: int = 0) -> pd.DataFrame:
    """A generic log (whole seconds, no transfers) in the classic per-call bank format, plus
    ``menu_hangups`` calls that hung up in the voice menu (HANG, q_time 0) and ``phantoms``
    PHANTOM rows.  Queue times are ``vru_exit``; the VRU takes a few seconds before."""
    rng = np.random.default_rng(seed)
    n = len(log)
    arrived = pd.to_datetime(log["arrived_at"])
    day = arrived.dt.normalize()
    tod = (arrived - day).dt.total_seconds().to_numpy()
    vru = rng.integers(1, 30, n)
    wait = log["wait_s"].to_numpy(dtype=float)
    ans = (log["outcome"] == "answered").to_numpy()
    handle = np.nan_to_num(log["handle_s"].to_numpy(dtype=float))
    server = np.where(ans, log.get("agent", pd.Series([""] * n)).replace("", "NO_SERVER")
                      .to_numpy(dtype=object), "NO_SERVER")
    queued = wait > 0
    frame = pd.DataFrame({
        "vru+line": [f"AA010{1 + i % 6}" for i in range(n)],
        "call_id": np.arange(1, n + 1) + 30000, "customer_id": rng.integers(1, 10**8, n),
        "priority": rng.integers(0, 3, n), "type": log["queue"].to_numpy(dtype=object),
        "date": day.dt.strftime("%y%m%d").to_numpy(), "vru_entry": _hms(tod - vru),
        "vru_exit": _hms(tod), "vru_time": vru,
        "q_start": np.where(queued, _hms(tod), "0:00:00"),
        "q_exit": np.where(queued, _hms(tod + wait), "0:00:00"),
        "q_time": wait.astype(np.int64), "outcome": np.where(ans, "AGENT", "HANG"),
        "ser_start": np.where(ans, _hms(tod + wait), "0:00:00"),
        "ser_exit": np.where(ans, _hms(tod + wait + handle), "0:00:00"),
        "ser_time": np.where(ans, handle, 0).astype(np.int64), "server": server})
    extra = []
    for kind, count in (("HANG", menu_hangups), ("PHANTOM", phantoms)):
        if count:
            pick = rng.integers(0, n, count)
            rows = frame.iloc[pick].copy()
            rows["outcome"] = kind
            rows["q_start"] = rows["q_exit"] = rows["ser_start"] = rows["ser_exit"] = \
                "0:00:00"
            rows["q_time"] = 0
            rows["ser_time"] = 0
            rows["server"] = "NO_SERVER"
            extra.append(rows)
    return pd.concat([frame, *extra], ignore_index=True)


# --------------------------------------------------------------------------------------------
# Everything at once (what ``peakplan history`` reports)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class History:
    """The analysis of one log: KPIs, calibration, forecast and scenario skeleton."""

    log: ContactLog
    interval_min: float
    target_s: float
    short_abandon_s: float
    intervals: pd.DataFrame
    days: pd.DataFrame
    period: pd.DataFrame
    agents: pd.DataFrame
    calibration: Mapping[str, QueueCalibration]
    transfers: pd.DataFrame
    forecast: DayForecast
    skeleton: dict[str, Any]


def parse_uplift(text: str) -> float:
    """``'5'`` or ``'5%'`` -> 0.05 (5% more), ``'x5'`` -> 4.0 (five times the volume)."""
    t = str(text).strip().lower()
    try:
        if t.startswith("x") or t.endswith("x"):
            value = float(t.strip("x")) - 1.0
        else:
            value = float(t.rstrip("%")) / 100.0
    except ValueError:
        raise InputError(f"expected a percentage (5 or 5%) or a factor (x5), got {quote(text)}",
                         field="--uplift") from None
    if not (math.isfinite(value) and -1.0 < value <= 99.0):
        raise InputError(f"expected more than -100% and at most x100, got {quote(text)}",
                         field="--uplift")
    return value


def analyse(log: ContactLog, *, interval_min: float | None = None, target_s: float = 20.0,
            short_abandon_s: float = 5.0, forecast_for: pd.Timestamp | None = None,
            uplift: float = 0.0, profile_from: Sequence[pd.Timestamp] | None = None,
            weeks: int = 4, roster: Any = None) -> History:
    """KPIs, calibration, the forecast (default: the day after the log) and the skeleton."""
    step = interval_min or default_interval_min(log)
    if not (0 < step <= 1440 and 1440 % step == 0 and float(step).is_integer()):
        raise InputError(f"expected whole minutes that divide a day (15, 30, 60), got "
                         f"{step:g}", field="--interval-min")
    intervals = interval_kpis(log, interval_min=step, target_s=target_s,
                              short_abandon_s=short_abandon_s)
    counts = daily_counts(log, interval_min=step)
    cal = calibrate(log, interval_min=step, counts=counts)
    transfers = transfer_shares(log)
    day = pd.Timestamp(forecast_for).normalize() if forecast_for is not None else \
        log.days[-1] + pd.Timedelta(days=1)
    fc = forecast_day(counts, day=day, interval_min=step, uplift=uplift,
                      profile_from=profile_from, weeks=weeks)
    queues = sorted(cal)
    agents = _agents(log, interval_min=step)
    if roster is not None:
        groups = _roster_groups(roster, queues)
    else:
        last = fc.matching_days[-1] if fc.matching_days else log.days[-1]
        groups = _log_groups(log, day=last, interval_min=step, agents=agents) or None
    skeleton = scenario_skeleton(cal, transfers, start=day, interval_min=step,
                                 target_s=target_s, arrivals="forecast.csv", groups=groups,
                                 name=f"from history {day:%Y-%m-%d}")
    skeleton["short_abandon_s"] = float(short_abandon_s)
    return History(log=log, interval_min=step, target_s=target_s,
                   short_abandon_s=short_abandon_s, intervals=intervals,
                   days=day_kpis(intervals), period=period_kpis(intervals),
                   agents=agent_intervals(log, interval_min=step, agents=agents),
                   calibration=cal,
                   transfers=transfers, forecast=fc, skeleton=skeleton)


def forecast_csv(h: History) -> pd.DataFrame:
    """The forecast in peakplan's format (interval_start, queue, contacts, aht_s)."""
    f = h.forecast.frame
    aht = {q: (c.handle.mean_s + c.wrap_s) if c.handle else math.nan
           for q, c in h.calibration.items()}
    return pd.DataFrame({"interval_start": f["interval_start"].dt.strftime("%Y-%m-%dT%H:%M"),
                         "queue": f["queue"], "contacts": f["contacts"].round(3),
                         "aht_s": f["queue"].map(aht).round(1)})


def summary_json(h: History, bt: Backtest | None = None) -> dict[str, Any]:
    """The ``--json`` object (keys documented in the README)."""
    per = h.period.set_index("queue")
    tr = h.transfers
    queues = {}
    for q, c in sorted(h.calibration.items()):
        row = per.loc[q]
        hf = c.handle
        p = c.patience
        out_tr = tr[tr["from_queue"] == q] if len(tr) else tr
        queues[q] = {
            "offered": int(row["offered"]), "answered": int(row["answered"]),
            "abandoned": int(row["abandoned"]),
            "short_abandoned": int(row["short_abandoned"]),
            "service_level": float(row["service_level"]),
            "service_level_answered": float(row["service_level_answered"]),
            "service_level_excl_abandoned_within":
                float(row["service_level_excl_abandoned_within"]),
            "abandon_rate": float(row["abandon_rate"]), "asa_s": float(row["asa_s"]),
            "aht_s": float(row["aht_s"]),
            "handle_time": None if hf is None else {
                "family": hf.family, "cv": hf.cv, "cv_ci95": list(hf.cv_ci95),
                "family_cv": hf.family_cv, "mean_s": hf.mean_s,
                "mean_s_ci95": list(hf.mean_s_ci95), "ks": hf.ks,
                "loglik": dict(hf.loglik)},
            "wrap_s": c.wrap_s,
            "patience_s": p.patience_s, "patience_s_ci95": list(p.patience_s_ci95),
            "naive_patience_s": p.naive_patience_s,
            "transfer_share": float(row["transfer_share"]),
            "first_contact_resolution": float(row["first_contact_resolution"]),
            "transfers_to": {r.to_queue: {"share": r.share, "ci95": [r.share_lo, r.share_hi]}
                             for r in out_tr.itertuples()},
            "overdispersion": c.overdispersion,
            "phantom": int(h.log.phantom.get(q, 0)),
            "not_offered": int(h.log.not_offered.get(q, 0)),
        }
    fc = h.forecast
    err = fc.error
    out: dict[str, Any] = {
        "source": h.log.source, "rows_read": h.log.rows_read,
        "rows_rejected": h.log.rows_rejected,
        "rejected_first": [{"line": n, "reason": r} for n, r in h.log.bad_rows],
        "phantom": int(sum(h.log.phantom.values())),
        "not_offered": int(sum(h.log.not_offered.values())),
        "days": len(h.log.days), "first_day": f"{h.log.days[0]:%Y-%m-%d}",
        "last_day": f"{h.log.days[-1]:%Y-%m-%d}", "interval_min": h.interval_min,
        "target_s": h.target_s, "queues": queues,
        "forecast": {"day": f"{fc.day:%Y-%m-%d}", "uplift": fc.uplift,
                     "matching_days": [f"{d:%Y-%m-%d}" for d in fc.matching_days],
                     "contacts": float(fc.frame["contacts"].sum()),
                     "low": float(fc.frame["low"].sum()), "high": float(fc.frame["high"].sum()),
                     "cases": fc.cases(), "band_from": fc.band_from,
                     "backtest_days": err.compared_days, "mae": err.mae,
                     "mae_same_day_last_week": err.mae_same_day_last_week},
    }
    if not h.agents.empty:
        g = h.agents.groupby("group")[["staffed_s", "busy_s"]].sum()
        out["groups"] = {str(k): {"staffed_s": float(r.staffed_s), "busy_s": float(r.busy_s),
                                  "occupancy": float(r.busy_s / r.staffed_s)
                                  if r.staffed_s > 0 else None} for k, r in g.iterrows()}
    if bt is not None:
        out["backtest"] = {"day": f"{bt.day:%Y-%m-%d}", "reps": bt.reps, "seed": bt.seed,
                           "staffing_from": bt.staffing_from,
                           "mae_service_level": bt.mae["service_level"],
                           "mae_abandon_rate": bt.mae["abandon_rate"],
                           "mae_asa_s": bt.mae["asa_s"],
                           "outside_band_share": bt.outside_share,
                           "outside_band_share_by_measure": dict(bt.outside),
                           "compared": bt.compared, "band_coverage": bt.band_coverage}
    return out
