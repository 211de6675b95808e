"""Page 1, Staffing calculator: agents needed for one interval or a whole forecast (Erlang).

The same path as ``peakplan staff``: a forecast (one row for one interval, or a CSV) and a
:class:`~planner.staffing.QueuePlan` per queue go to :func:`planner.staffing.staffing_table`.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from sim.errors import InputError
from sim.files import validate
from sim.forecast import Forecast, forecast_from_frame, read_forecast
from planner.staffing import QueuePlan, interval_totals, peak_summary, read_targets

from app_pages import charts, inputs, runs, ui

K = f"{ui.KEEP}calc."
# It opens on the peak: Singles' Day's forecast and targets (the one-interval mode holds the
# README's known answer, 100 calls in 30 min at 180 s -> 14 agents).
PEAK = "singles_day_forecast.csv"
for key, value in {"mode": "A forecast (CSV)", "contacts": 100.0, "interval_min": 30,
                   "aht_s": 180.0, "wrap_up_s": 0.0, "channel": "voice", "chat_concurrency": 3,
                   "chat_slowdown_pct": 15.0, "sl_pct": 80, "within_s": 20.0,
                   "max_asa_s": 0.0, "max_occupancy_pct": 0, "patience_s": 0.0,
                   "max_abandon_pct": 0.0, "shrinkage_pct": 30.0,
                   "forecast_source": "Shipped",
                   "targets_source": "Shipped targets file"}.items():
    ui.default(K + key, value)

st.title("Staffing calculator")
st.caption("Agents needed per interval and queue to meet every target: Erlang C, or Erlang A "
           "when customers abandon (a patience is given). Scheduled agents add shrinkage. "
           "The same figures as `peakplan staff`.")



def matching_targets(forecast: str | None) -> str | None:
    """The shipped targets file of a shipped forecast (normal_day_forecast.csv ->
    normal_day_targets.yaml), if there is one."""
    name = str(forecast or "").replace("_forecast.csv", "_targets.yaml")
    return name if name in inputs.shipped_targets() else None


def follow_forecast() -> None:
    """Another shipped forecast: take its targets file too."""
    match = matching_targets(st.session_state.get(K + "forecast"))
    if match:
        st.session_state[K + "targets"] = match


mode = st.radio("Contacts", ["One interval", "A forecast (CSV)"], key=K + "mode",
                horizontal=True)

# ---- where the contacts come from ---------------------------------------------------------
forecast_pick = upload = targets_pick = targets_upload = None
if mode == "One interval":
    c1, c2 = st.columns(2)
    c1.number_input("Contacts in the interval", min_value=0.0, step=10.0, key=K + "contacts")
    c2.selectbox("Interval length (min)", [15, 30, 60], key=K + "interval_min")
else:
    c1, c2 = st.columns(2)
    with c1:
        source = st.radio("Forecast", ["Shipped", "Upload a CSV"], key=K + "forecast_source",
                          horizontal=True)
        if source == "Shipped":
            shipped = inputs.shipped_forecasts()
            ui.default(K + "forecast", PEAK if PEAK in shipped else next(iter(shipped), None))
            forecast_pick = st.selectbox("Shipped forecast", list(shipped), key=K + "forecast",
                                         on_change=follow_forecast)
        else:
            upload = ui.kept_upload(st.file_uploader(
                "Forecast CSV (interval_start, queue, contacts[, aht_s])", type=["csv"],
                key="calc.forecast_upload"), key="calc.kept_forecast")
            st.selectbox("Interval length (min), for a forecast of a single interval",
                         [15, 30, 60], key=K + "interval_min",
                         help="A forecast of several intervals gives its own length.")
    with c2:
        tsource = st.radio("Targets per queue", ["Settings below", "Shipped targets file",
                                                 "Upload a targets file"],
                           key=K + "targets_source", horizontal=True)
        if tsource == "Shipped targets file":
            shipped_t = inputs.shipped_targets()
            ui.default(K + "targets", matching_targets(st.session_state.get(K + "forecast"))
                       or next(iter(shipped_t), None))
            targets_pick = st.selectbox("Shipped targets", list(shipped_t), key=K + "targets")
        elif tsource == "Upload a targets file":
            targets_upload = ui.kept_upload(st.file_uploader(
                "Targets YAML", type=["yaml", "yml"], key="calc.targets_upload"),
                key="calc.kept_targets")

# ---- the settings of a queue (every queue of a forecast, unless a targets file is used) ----
uses_settings = mode == "One interval" or st.session_state[K + "targets_source"] == \
    "Settings below"
with st.expander("Targets, handle time, shrinkage, occupancy cap, patience",
                 expanded=uses_settings):
    if not uses_settings:
        st.caption("A targets file is used: these settings are not.")
    a, b, c, d = st.columns(4)
    a.number_input("Handle time, without wrap-up (s)", min_value=1.0, step=10.0,
                   key=K + "aht_s", help="Talk or chat time + hold (chat: with one chat held), "
                                         "as on the Scenario page.")
    a.number_input("Wrap-up (s)", min_value=0.0, step=10.0, key=K + "wrap_up_s",
                   help="After-contact work. AHT = handle time + wrap-up; for a forecast, "
                        "used where the CSV has no aht_s.")
    a.selectbox("Channel", ["voice", "chat"], key=K + "channel")
    if st.session_state[K + "channel"] == "chat":
        a.number_input("Chats held at once", min_value=1, max_value=20, step=1,
                       key=K + "chat_concurrency")
        a.number_input("Slowdown per extra chat (%)", min_value=0.0, max_value=200.0,
                       step=5.0, key=K + "chat_slowdown_pct")
    b.slider("Service level target (%)", min_value=1, max_value=99, key=K + "sl_pct")
    b.number_input("... answered within (s)", min_value=0.0, step=5.0, key=K + "within_s")
    b.number_input("Max ASA (s), 0 = none", min_value=0.0, step=5.0, key=K + "max_asa_s")
    c.slider("Occupancy cap (%), 0 = none", min_value=0, max_value=100,
             key=K + "max_occupancy_pct")
    c.number_input("Shrinkage (%)", min_value=0.0, max_value=95.0, step=1.0,
                   key=K + "shrinkage_pct")
    d.number_input("Mean patience (s), 0 = customers never leave (Erlang C)", min_value=0.0,
                   step=10.0, key=K + "patience_s")
    d.number_input("Max abandoned (%), 0 = none", min_value=0.0, max_value=100.0, step=1.0,
                   key=K + "max_abandon_pct")


def settings_plan() -> QueuePlan:
    """The settings above as a QueuePlan (validated like a targets file's queue)."""
    s = st.session_state
    patience = s[K + "patience_s"] or None
    if s[K + "max_abandon_pct"] and patience is None:
        # Erlang C has no abandonment: the cap would be dropped without a word.
        raise InputError("needs a mean patience (abandonment is modelled by Erlang A only)",
                         field="max abandoned")
    chat = s[K + "channel"] == "chat"
    data = {"channel": s[K + "channel"], "aht_s": s[K + "aht_s"] + s[K + "wrap_up_s"],
            "patience_s": patience,
            "shrinkage": s[K + "shrinkage_pct"] / 100.0,
            "chat_concurrency": int(s[K + "chat_concurrency"]) if chat else 1,
            "chat_slowdown": s[K + "chat_slowdown_pct"] / 100.0 if chat else 0.0,
            "target": {"service_level": s[K + "sl_pct"] / 100.0,
                       "within_s": s[K + "within_s"],
                       "max_asa_s": s[K + "max_asa_s"] or None,
                       "max_abandon": s[K + "max_abandon_pct"] / 100.0 or None,
                       "max_occupancy": s[K + "max_occupancy_pct"] / 100.0 or None}}
    return validate(QueuePlan, data, file="settings")


def the_forecast() -> Forecast | None:
    if mode == "One interval":
        return forecast_from_frame(
            pd.DataFrame({"interval_start": [pd.Timestamp("2000-01-01")], "queue": ["queue"],
                          "contacts": [st.session_state[K + "contacts"]]}),
            source="one interval", interval_min=float(st.session_state[K + "interval_min"]))
    if forecast_pick is not None:
        path = inputs.shipped_forecasts()[forecast_pick]
        return with_length(lambda minutes: read_forecast(path, interval_min=minutes))
    if upload is not None:
        up = inputs.Upload(*upload)
        return with_length(lambda minutes: runs.uploaded_forecast(up, interval_min=minutes))
    return None


def with_length(read: Callable[[float | None], Forecast]) -> Forecast:
    """The forecast, with its interval length read from the file; a file of one interval
    cannot give it, and takes the page's "Interval length" instead (like --interval-min).
    Given always, it would be refused for a file whose intervals are another length."""
    try:
        return read(None)
    except InputError as exc:
        if not exc.problem.startswith("a single interval"):
            raise
    return read(float(st.session_state[K + "interval_min"]))


def the_plans(forecast: Forecast) -> dict[str, QueuePlan] | None:
    if mode == "One interval" or st.session_state[K + "targets_source"] == "Settings below":
        plan = settings_plan()
        return {q: plan for q in forecast.queues}
    if targets_pick is not None:
        return read_targets(inputs.shipped_targets()[targets_pick])
    if targets_upload is not None:
        return runs.uploaded_targets(inputs.Upload(*targets_upload))
    return None


def show_one(table: pd.DataFrame, plan: QueuePlan) -> None:
    row = table.iloc[0]
    t = plan.target
    st.subheader("Agents needed")
    m = st.columns(3) + st.columns(3)
    m[0].metric("Agents on the floor", ui.fmt_count(int(row["agents"]), "agent"))
    m[1].metric("Scheduled", ui.fmt_count(int(row["scheduled"]), "agent"),
                help=f"Agents on the floor / (1 - shrinkage), shrinkage "
                     f"{100 * plan.shrinkage:g}%.")
    m[2].metric("Service level", ui.fmt_percent(row["service_level"]),
                help=f"Answered within {t.within_s or 0:g} s / offered.")
    m[3].metric("ASA", ui.fmt_seconds(row["asa_s"]))
    m[4].metric("Occupancy", ui.fmt_percent(row["occupancy"]))
    m[5].metric("P(abandon)" if plan.patience_s else "P(wait)",
                ui.fmt_percent(row["p_abandon"] if plan.patience_s else row["p_wait"]))
    st.caption(f"Scheduled after {100 * plan.shrinkage:g}% shrinkage; service level within "
               f"{t.within_s or 0:g} s. Offered: {row['contacts']:,g} contacts, AHT "
               f"{row['aht_s']:g} s (handle time + wrap-up) = {row['traffic_erl']:.2f} "
               f"Erlangs ({row['model'].replace('_', ' ')}).")


try:
    forecast = the_forecast()
    plans = the_plans(forecast) if forecast is not None else None
    if forecast is None or plans is None:
        st.info("Choose or upload the files above.")
        st.stop()
    table = runs.staffing(forecast, plans)
except InputError as exc:
    ui.show_error(exc)
    st.stop()

if mode == "One interval":
    show_one(table, plans["queue"])
else:
    totals = interval_totals(table)
    summary = peak_summary(table, interval_min=forecast.interval_min)
    m = st.columns(4)
    m[0].metric("Contacts", f"{summary['contacts']:,.0f}")
    m[1].metric("Peak, scheduled", ui.fmt_count(int(summary["peak_scheduled"]), "agent"),
                help=f"{summary['peak_agents']} on the floor")
    m[2].metric("Peak interval", f"{summary['peak_interval_start']:%H:%M}",
                help=f"{summary['peak_interval_start']:%Y-%m-%d %H:%M}")
    m[3].metric("Scheduled agent-hours", f"{summary['scheduled_agent_hours']:,.1f} h")
    st.markdown("**Agents needed per interval**: bars on the floor by queue; dashed line: "
                "scheduled after shrinkage, all queues")
    st.altair_chart(charts.agents_needed(table, totals), width="stretch", key="calc.chart")
    st.caption(f"Per {forecast.interval_min:g}-minute interval. Totals add the queues up: "
               "what dedicated per-queue teams need; a multi-skilled team needs at most that "
               "(the Scenario page simulates the pooled team).")

st.subheader("Requirement table")
# A column with no value at all (P(abandon) under Erlang C) is left out; one interval has no
# time or queue of its own to show.
shown = table.dropna(axis="columns", how="all")
if mode == "One interval":
    shown = shown.drop(columns=["interval_start", "queue"], errors="ignore")
ui.table(shown, key="calc.table", labels={"aht_s": "AHT (with wrap-up)",
                                          "chat_slowdown": "slowdown per extra chat"},
         fmt={"chat_slowdown": "{:.0%}"} if "chat_slowdown" in shown.columns else None)
st.download_button("Download the table (CSV)",
                   table.to_csv(index=False, date_format="%Y-%m-%dT%H:%M").encode("utf-8"),
                   file_name="staffing.csv", mime="text/csv", key="calc.download",
                   on_click="ignore", icon=":material/download:")
