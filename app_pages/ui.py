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

import pandas as pd
import streamlit as st

from planner.errors import InputError

__all__ = ["KEEP", "keep_widget_values", "default", "show_error", "percent", "seconds",
           "agents", "number", "as_percent", "column_config", "PERCENT_COLUMNS",
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


def percent(label: str, *, help: str | None = None) -> Any:
    """A column of percentages (values already x100)."""
    return st.column_config.NumberColumn(label, format="%.1f%%", help=help)


def seconds(label: str, *, help: str | None = None) -> Any:
    return st.column_config.NumberColumn(label, format="%.1f s", help=help)


def agents(label: str, *, help: str | None = None) -> Any:
    """A whole number of agents (the label says so: "1 agents" reads badly)."""
    return st.column_config.NumberColumn(label, format="%d", help=help)


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
