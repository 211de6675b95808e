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
           "kept_upload", "column_config", "PERCENT_COLUMNS",
           "SECONDS_COLUMNS", "COUNT_COLUMNS", "LABELS"]

KEEP = "keep."

# Columns of planner/sim tables that are fractions (shown x100 with '%') or seconds.
PERCENT_COLUMNS = ("service_level", "service_level_answered",
                   "service_level_excl_abandoned_within", "abandon_rate", "occupancy",
                   "slot_occupancy", "p_wait", "p_abandon", "target")
SECONDS_COLUMNS = ("asa_s", "aht_s", "within_s", "patience_s", "wrap_up_s")
# Headings of the columns of planner/sim tables (others: the name with spaces).
LABELS = {"asa_s": "ASA", "aht_s": "AHT", "traffic_erl": "traffic (Erlangs)",
          "p_wait": "P(wait)", "p_abandon": "P(abandon)", "abandon_rate": "abandoned",
          "mean_queue": "waiting (mean)", "max_queue": "waiting (max)",
          "slot_occupancy": "chat-slot occupancy", "service_level": "service level",
          "interval_start": "interval start", "scheduled": "scheduled (after shrinkage)",
          "agents": "agents (on the floor)"}
# Counts that are means over replications: one decimal.
COUNT_COLUMNS = ("offered", "answered", "abandoned", "contacts", "transfers_in",
                 "transfers_out", "short_abandoned", "left_waiting")


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
