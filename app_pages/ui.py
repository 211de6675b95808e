"""What the pages share: widget state that survives a change of page, units in tables, errors.

Widget values live in ``st.session_state`` under their ``key``.  Streamlit forgets the value of a
widget that a run does not draw (another page is open); keys starting with :data:`KEEP` are
written back at the start of every run by :func:`keep_widget_values` (Streamlit's documented
way to keep them), so a planner who goes to the Compare page and back finds the Scenario page as
they left it.  Tables hold fractions (0.8) in the model; the app shows them as percentages.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import math

import pandas as pd
import streamlit as st

from sim.errors import InputError

__all__ = ["KEEP", "keep_widget_values", "default", "show_error", "percent", "seconds",
           "agents", "number", "as_percent", "fmt_percent", "fmt_seconds", "fmt_count",
           "kept_upload", "column_config", "table", "path_label", "formats", "editor_height",
           "PERCENT_COLUMNS",
           "SECONDS_COLUMNS", "COUNT_COLUMNS", "LABELS"]

KEEP = "keep."

# Columns of planner/sim tables that are fractions (shown x100 with '%') or seconds.
PERCENT_COLUMNS = ("service_level", "service_level_answered",
                   "service_level_excl_abandoned_within", "abandon_rate", "occupancy",
                   "slot_occupancy", "p_wait", "p_abandon", "target", "callbacks_kept_share")
SECONDS_COLUMNS = ("asa_s", "aht_s", "within_s", "patience_s", "wrap_up_s")
# Headings of the columns of planner/sim tables (others: the name with spaces).
LABELS = {"asa_s": "ASA", "aht_s": "AHT", "traffic_erl": "traffic (Erlangs)",
          "p_wait": "P(wait)", "p_abandon": "P(abandon)", "abandon_rate": "abandoned",
          "mean_queue": "waiting (mean)", "max_queue": "waiting (max)",
          "slot_occupancy": "chat-slot occupancy", "service_level": "service level",
          "interval_start": "interval start", "scheduled": "scheduled (after shrinkage)",
          "agents": "agents (on the floor)", "callbacks_offered": "call-backs offered",
          "callbacks_accepted": "call-backs accepted", "callbacks_made": "call-backs made",
          "callbacks_kept": "call-backs kept",
          "callbacks_kept_share": "kept within the promise (of accepted)",
          "callback_delay_s": "call-back delay (mean)", "customers": "customers (first calls)",
          "redials": "redials"}
# Counts that are means over replications: one decimal.
COUNT_COLUMNS = ("offered", "answered", "abandoned", "contacts", "transfers_in",
                 "transfers_out", "short_abandoned", "left_waiting", "callbacks_offered",
                 "callbacks_accepted", "callbacks_made", "callbacks_kept", "customers",
                 "redials")
# Agents and hours: whole or one decimal, with thousands separators.
AGENT_COLUMNS = ("agents", "scheduled", "required", "on_floor", "on_duty", "first_agents",
                 "gap", "agent_hours", "cost", "cost_per_hour")
DASH = "\u2013"  # what an empty cell shows: never "None" or "nan"


def editor_height(rows: int, *, dynamic: bool = False) -> int:
    """A data editor's height showing every row (and the "add row" line), no inner scroll."""
    return 35 * (rows + 1 + (1 if dynamic else 0)) + 3


def formats(frame: pd.DataFrame) -> dict[str, Any]:
    """Display formats (after :func:`as_percent`): thousands separators for counts, "%",
    " s", " pp" for differences of shares (columns ending ``_pp``)."""
    out: dict[str, Any] = {}
    for c in frame.columns:
        base = c.removesuffix("_ci95")
        if c.endswith("_pp") or c.endswith("_pp_ci95"):
            out[c] = "{:+,.1f} pp" if not c.endswith("_ci95") else "\u00b1{:,.1f} pp"
        elif base in PERCENT_COLUMNS:
            out[c] = "{:.1f}%" if not c.endswith("_ci95") else "\u00b1{:.1f}%"
        elif base in SECONDS_COLUMNS or base.endswith("_s"):
            out[c] = "{:,.1f} s" if not c.endswith("_ci95") else "\u00b1{:,.1f} s"
        elif base in COUNT_COLUMNS or base in AGENT_COLUMNS:
            out[c] = "{:,.1f}" if not c.endswith("_ci95") else "\u00b1{:,.1f}"
        elif c == "interval_start" or pd.api.types.is_datetime64_any_dtype(frame[c]):
            out[c] = lambda t: f"{t:%Y-%m-%d %H:%M}" if pd.notna(t) else DASH
        elif pd.api.types.is_float_dtype(frame[c]):
            out[c] = "{:,.2f}"
    return out


def table(frame: pd.DataFrame, *, key: str, labels: dict[str, str] | None = None,
          percent: bool = True, fmt: dict[str, Any] | None = None,
          highlight: str | None = None, height: int | None = None) -> None:
    """A read-only table: fractions as percentages, counts with thousands separators, units
    in the values, empty cells as a dash; ``highlight`` names a boolean column whose rows are
    tinted red (a miss)."""
    view = as_percent(frame) if percent else frame.copy()
    formats_ = {**formats(view), **(fmt or {})}
    # Streamlit shows an empty cell as "None" whatever the Styler says: a column with empty
    # cells is written out as text (a dash where empty).
    for c in view.columns:
        if view[c].isna().any() and not pd.api.types.is_bool_dtype(view[c]):
            f = formats_.pop(c, None)
            view[c] = [DASH if not _finite_or_value(x) else
                       (f(x) if callable(f) else f.format(x) if f else str(x))
                       for x in view[c]]
    # The formats live in the Styler (one per column), the headings in column_config.
    styled = view.style.format(formats_, na_rep=DASH)
    if highlight is not None and highlight in view.columns:
        styled = styled.apply(lambda row: ["background-color: rgba(214, 39, 40, 0.18)"
                                           if row[highlight] else "" for _ in row], axis=1)
    headings = {c: _label(c, labels) for c in view.columns}
    st.dataframe(styled, hide_index=True, key=key, height=height or "auto",
                 column_config={c: st.column_config.Column(h) for c, h in headings.items()})


def _finite_or_value(x: object) -> bool:
    """Whether a cell has a value (not None, NaN or NaT)."""
    try:
        return not bool(pd.isna(x))
    except (TypeError, ValueError):
        return True


def _label(column: str, labels: dict[str, str] | None) -> str:
    labels = labels or {}
    if column in labels:
        return labels[column]
    base = column.removesuffix("_ci95")
    name = LABELS.get(base, base.replace("_", " "))
    return f"\u00b1 {name} (95% CI)" if column.endswith("_ci95") else name


_FIELDS = {"agents": "agents", "chat_concurrency": "chats at once",
           "chat_slowdown": "slowdown per extra chat", "aht_s": "handle time (s)",
           "wrap_up_s": "wrap-up (s)", "patience_s": "patience (s)", "start": "start",
           "end": "end", "service_level": "service-level target", "within_s": "answered "
           "within (s)"}


def path_label(path: str, scenario: Any | None = None) -> str:
    """A key path as a planner reads it: ``agent_groups.temp.shifts[0].agents`` -> "agents on
    temp's shift 1 (23:00-03:00)", ``arrivals.scale`` -> "volume (x forecast)"."""
    import re

    m = re.fullmatch(r"agent_groups\.([^.]+)\.shifts\[(\d+)\]\.(\w+)", path)
    if m:
        g, i, field = m.group(1), int(m.group(2)), m.group(3)
        when = ""
        try:
            shift = scenario.spec.agent_groups[g].shifts[i]  # type: ignore[union-attr]
            when = f" ({shift.start}-{shift.end})"
        except (AttributeError, KeyError, IndexError):
            pass
        return f"{_FIELDS.get(field, field)} on {g}'s shift {i + 1}{when}"
    if path == "arrivals.scale":
        return "volume (x forecast)"
    m = re.fullmatch(r"arrivals\.scale\.([^.]+)", path)
    if m:
        return f"volume of {m.group(1)} (x forecast)"
    m = re.fullmatch(r"agent_groups\.([^.]+)\.(\w+)", path)
    if m:
        return f"{_FIELDS.get(m.group(2), m.group(2).replace('_', ' '))}, {m.group(1)}"
    m = re.fullmatch(r"queues\.([^.]+)\.(?:target\.)?(\w+)", path)
    if m:
        return f"{_FIELDS.get(m.group(2), m.group(2).replace('_', ' '))}, {m.group(1)}"
    return path.replace("_", " ").replace(".", " \u203a ")


def keep_widget_values() -> None:
    """Write every kept widget value back, so that it survives pages that do not draw it."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(KEEP):
            st.session_state[key] = st.session_state[key]


def default(key: str, value: Any) -> None:
    """Give the widget ``key`` its first value (widgets then take no ``value=``: Streamlit
    warns when both are given)."""
    if key not in st.session_state:
        st.session_state[key] = value


def show_error(exc: InputError) -> None:
    """The message the command line prints for the same input, without 'peakplan: error:'."""
    st.error(str(exc), icon=":material/error:")


def kept_upload(uploaded: Any | None, *, key: str) -> tuple[str, bytes] | None:
    """(name, bytes) of what ``st.file_uploader`` returned, or of the file uploaded earlier:
    an uploader forgets its file when another page is opened, so the bytes are kept in the
    session under ``key`` until another file replaces them or "Forget it" is pressed."""
    if uploaded is not None:
        kept = {"name": str(uploaded.name), "data": bytes(uploaded.getvalue())}
        st.session_state[key] = kept
        return kept["name"], kept["data"]
    kept = st.session_state.get(key)
    if kept is None:
        return None
    c1, c2 = st.columns([3, 1], vertical_alignment="center")
    c1.caption(f"Using {kept['name']}, uploaded earlier.")
    c2.button("Forget it", key=f"{key}.forget", icon=":material/close:",
              on_click=lambda: st.session_state.pop(key, None))
    return kept["name"], kept["data"]


def percent(label: str, *, help: str | None = None) -> Any:
    """A column of percentages (values already x100)."""
    return st.column_config.NumberColumn(label, format="%.1f%%", help=help)


def seconds(label: str, *, help: str | None = None) -> Any:
    return st.column_config.NumberColumn(label, format="%.1f s", help=help)


def agents(label: str, *, help: str | None = None) -> Any:
    """A whole number of agents (the label says so: "1 agents" reads badly)."""
    return st.column_config.NumberColumn(label, format="%d", help=help)


def fmt_percent(fraction: float) -> str:
    """A fraction as "80.0%", or "-" where there is no value (NaN: no contacts, no agents)."""
    return f"{100 * fraction:.1f}%" if _finite(fraction) else "-"


def fmt_seconds(seconds_: float) -> str:
    return f"{seconds_:.1f} s" if _finite(seconds_) else "-"


def fmt_count(n: int, noun: str) -> str:
    """"1 agent", "14 agents"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _finite(x: object) -> bool:
    try:
        return math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def number(label: str, fmt: str = "%.1f", *, help: str | None = None) -> Any:
    return st.column_config.NumberColumn(label, format=fmt, help=help)


def as_percent(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A copy with fraction columns (and their ``_ci95``) multiplied by 100."""
    out = frame.copy()
    names = PERCENT_COLUMNS if columns is None else tuple(columns)
    for c in out.columns:
        base = c.removesuffix("_ci95")
        if base in names and pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c] * 100.0
    return out


def column_config(frame: pd.DataFrame, *, labels: dict[str, str] | None = None
                  ) -> dict[str, Any]:
    """Units for every known column of ``frame`` (after :func:`as_percent`)."""
    labels = labels or {}
    config: dict[str, Any] = {}
    for c in frame.columns:
        base = c.removesuffix("_ci95")
        name = LABELS.get(base, base.replace("_", " "))
        label = labels.get(c, name if not c.endswith("_ci95") else f"± {name} (95% CI)")
        if base in PERCENT_COLUMNS:
            config[c] = percent(label)
        elif base in SECONDS_COLUMNS:
            config[c] = seconds(label)
        elif base in ("agents", "scheduled"):
            config[c] = agents(label) if not c.endswith("_ci95") else number(label)
        elif base in COUNT_COLUMNS:
            config[c] = number(label, "%.1f")
        elif c == "interval_start":
            config[c] = st.column_config.DatetimeColumn("interval start",
                                                        format="YYYY-MM-DD HH:mm")
        elif pd.api.types.is_float_dtype(frame[c]):
            config[c] = number(label, "%.2f")
        else:
            config[c] = st.column_config.Column(label)
    return config
