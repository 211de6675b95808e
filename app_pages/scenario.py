"""Page 2, Scenario: pick or upload a scenario, edit what planners change most, simulate.

The chosen scenario is in the URL (``?scenario=singles_day``).  Edits are kept in
``st.session_state`` (they survive reruns and visits to other pages) and become key-path
changes (:mod:`app_pages.edits`) that :meth:`Scenario.with_changes` validates; the edited
scenario is what runs, what the Compare page offers and what "Download" saves.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from sim.errors import InputError

from app_pages import charts, edits, inputs, runs, ui

K = f"{ui.KEEP}scn."
UPLOAD = "upload"
shipped = inputs.shipped_scenarios()
options = [*shipped, UPLOAD]
FIRST = "singles_day" if "singles_day" in shipped else next(iter(shipped), UPLOAD)

# The URL names the scenario on first load (a link to ?scenario=normal_day opens that one).
if K + "choice" not in st.session_state:
    wanted = st.query_params.get("scenario")
    if wanted is not None and wanted not in shipped:
        st.warning(f"There is no shipped scenario {wanted!r} (expected one of "
                   f"{', '.join(shipped)}): showing {FIRST}.")
    st.session_state[K + "choice"] = wanted if wanted in shipped else FIRST
ui.default(K + "seed", 1)
ui.default(K + "reps", 3)
ui.default(K + "scale", 1.0)

st.title("Scenario")
st.caption("Simulate a day with the roster, skills and routing you have: service level, "
           "queues and occupancy per interval, with 95% confidence intervals over "
           "replications (`peakplan simulate`).")

choice = st.selectbox(
    "Scenario", options, key=K + "choice",
    format_func=lambda c: "Upload a scenario file..." if c == UPLOAD
    else f"{c} (scenarios/{shipped[c].name})")
if choice == UPLOAD:
    st.query_params.pop("scenario", None)
else:
    st.query_params["scenario"] = choice


def uploaded() -> tuple[str, str] | None:
    """(YAML text, file name) of the uploaded scenario, or None; shows the problem of a bad
    upload as the command line would print it."""
    c1, c2 = st.columns(2)
    up = c1.file_uploader("Scenario (YAML)", type=["yaml", "yml"], key="scn.upload")
    fc = c2.file_uploader("Its forecast CSV (needed when the scenario's arrivals.file names "
                          "one)", type=["csv"], key="scn.upload_forecast")
    if up is None:
        kept = st.session_state.get("scn.uploaded")
        if kept:
            st.caption(f"Using {kept['name']}, uploaded earlier.")
            return kept["text"], kept["name"]
        return None
    a, f = inputs.Upload.of(up), inputs.Upload.of(fc)
    try:
        text = runs.uploaded_scenario_text(a.name, a.data, f.name if f else None,
                                           f.data if f else None)
    except InputError as exc:
        st.session_state.pop("scn.uploaded", None)
        ui.show_error(exc)
        return None
    st.session_state["scn.uploaded"] = {"text": text, "name": a.name}
    return text, a.name


if choice == UPLOAD:
    got = uploaded()
    if got is None:
        st.info("Upload a scenario file: the format of `peakplan simulate` (see the README). "
                "Arrivals inline, or the forecast CSV uploaded with it.")
        st.stop()
    text, source = got
else:
    path = shipped[choice]
    source = f"scenarios/{path.name}"
    try:
        text = runs.shipped_text(path)
    except InputError as exc:
        ui.show_error(exc)
        st.stop()
base = runs.scenario_of(text, source)
token = hashlib.sha256(text.encode()).hexdigest()[:12]
st.session_state["scn.base"] = {"text": text, "source": source, "label": choice,
                                "token": token}

# ---- the edit tables -------------------------------------------------------------------
# The editors' keys end in ``version``, which only ever grows in a session: a data editor's
# state holds its edits as changes to rows of the table it was given, so an old key given
# fresh tables (back to a scenario seen before) would apply an old edit again, unseen.
state = st.session_state.get("scn.edits")
if state is None or state["token"] != token:
    version = 0 if state is None else state["version"] + 1
    state = {"token": token, "version": version, "tables": edits.tables_of(base)}
    st.session_state["scn.edits"] = state
    st.session_state[K + "scale"] = 1.0


def reset() -> None:
    state["version"] += 1
    state["tables"] = edits.tables_of(base)
    st.session_state[K + "scale"] = 1.0


v = f"{token}.{state['version']}"
tables: edits.Tables = state["tables"]
spec = base.spec
st.markdown(f"**{spec.name}**: {base.n_intervals} intervals of {spec.interval_min:g} min "
            f"from {spec.start:%Y-%m-%d %H:%M}, {len(base.queues)} queues, "
            f"{len(base.groups)} agent groups, {base.contacts.sum():,.0f} contacts.")

tab_heads, tab_skills, tab_chat, tab_volume = st.tabs(
    ["Headcount", "Skills", "Chat and handle times", "Volume"])
with tab_heads:
    st.caption("Agents per shift and group; shift hours as HH:MM (an end at or before the "
               "start crosses midnight).")
    shifts = st.data_editor(
        tables.shifts, key=f"scn.shifts.{v}", num_rows="fixed", hide_index=True,
        disabled=["group", "shift"],
        column_config={"group": "agent group", "shift": "shift #",
                       "start": st.column_config.TextColumn("start", max_chars=5),
                       "end": st.column_config.TextColumn("end", max_chars=5),
                       "agents": st.column_config.NumberColumn(
                           "agents", min_value=0, step=1, format="%d")})
with tab_skills:
    st.caption("Which queues each group takes: the preference (1 first, then 2...); blank = "
               "no skill. An agent who frees up takes its best-preference queue first.")
    skills = st.data_editor(
        tables.skills, key=f"scn.skills.{v}", num_rows="fixed",
        column_config={q: st.column_config.NumberColumn(q, min_value=1, step=1, format="%d")
                       for q in base.queues})
with tab_chat:
    c1, c2 = st.columns(2)
    with c1:
        st.caption("Chats an agent holds at once, and the extra handle time per extra chat.")
        groups = st.data_editor(
            tables.groups, key=f"scn.groups.{v}", num_rows="fixed", hide_index=True,
            disabled=["group"],
            column_config={"group": "agent group",
                           "chat_concurrency": st.column_config.NumberColumn(
                               "chats at once", min_value=1, max_value=20, step=1,
                               format="%d"),
                           "chat_slowdown": st.column_config.NumberColumn(
                               "slowdown per extra chat", min_value=0.0, max_value=2.0,
                               step=0.05, format="%.2f")})
    with c2:
        st.caption("Mean handle time per queue (chat: with one chat held) and after-contact "
                   "work.")
        queues = st.data_editor(
            tables.queues, key=f"scn.queues.{v}", num_rows="fixed", hide_index=True,
            disabled=["queue", "channel"],
            column_config={"aht_s": st.column_config.NumberColumn(
                               "handle time (s)", min_value=1.0, step=10.0, format="%.0f s"),
                           "wrap_up_s": st.column_config.NumberColumn(
                               "wrap-up (s)", min_value=0.0, step=10.0, format="%.0f s")})
with tab_volume:
    scale = st.number_input("Volume scale (x the forecast, every queue)", min_value=0.0,
                            max_value=20.0, step=0.05, format="%.2f", key=K + "scale")

tables = edits.Tables(shifts=shifts, skills=skills, groups=groups, queues=queues,
                      scale=float(scale))
state["tables"] = tables
edited = None
try:
    changes = edits.changes_from(base, tables)
    edited = base.with_changes(changes) if changes else base
except InputError as exc:
    changes = None
    ui.show_error(exc)
    # The Compare page must not offer the last accepted edit as "as edited".
    st.session_state["scn.rejected"] = {"token": token, "message": str(exc)}
else:
    st.session_state.pop("scn.rejected", None)

if changes:
    with st.expander(f"Your changes ({len(changes)})", expanded=False):
        st.dataframe(edits.describe(base, changes), hide_index=True, key="scn.changes")
c1, c2 = st.columns([1, 3])
c1.button("Undo all changes", on_click=reset, key="scn.reset", icon=":material/undo:",
          disabled=changes == {})  # None: an edit was rejected, and undoing helps
if edited is None:
    st.stop()

edited_text = inputs.scenario_text(edited)
st.session_state["scn.edited"] = {"text": edited_text, "source": source,
                                  "changes": len(changes or {}), "token": token}
stem = Path(source).stem
c2.download_button("Download the edited scenario (YAML)", edited_text.encode("utf-8"),
                   file_name=f"{stem}_edited.yaml" if changes else f"{stem}.yaml",
                   mime="application/x-yaml", key="scn.download_yaml", on_click="ignore",
                   icon=":material/download:",
                   help="Arrivals inline (the volume scale applied): it runs on its own with "
                        "`peakplan simulate`.")

# ---- run ---------------------------------------------------------------------------------
st.subheader("Simulate")
c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
c1.number_input("Seed", min_value=0, step=1, key=K + "seed",
                help="The same seed gives the same result.")
c2.number_input("Replications", min_value=1, max_value=200, step=1, key=K + "reps",
                help="More replications: narrower confidence intervals, longer runs.")
seed, reps = int(st.session_state[K + "seed"]), int(st.session_state[K + "reps"])
if c3.button("Run the simulation", type="primary", key="scn.run",
             icon=":material/play_arrow:"):
    st.session_state["scn.last_run"] = {"text": edited_text, "source": source, "seed": seed,
                                        "reps": reps, "token": token}
last = st.session_state.get("scn.last_run")
if not last or last["token"] != token:
    st.info("Press **Run the simulation** to see service level, queues and occupancy per "
            "interval.")
    st.stop()
if (last["text"], last["seed"], last["reps"]) != (edited_text, seed, reps):
    st.info("The scenario, seed or replications changed since this run: press **Run the "
            "simulation** again to see the effect. Showing the last run.")

try:
    runs.check_run(last["text"], last["source"], reps=last["reps"])
    sim = runs.simulation_tables(last["text"], source=last["source"], seed=last["seed"],
                                 reps=last["reps"])
except InputError as exc:
    ui.show_error(exc)
    st.stop()
intervals, groups_i, summary = sim.intervals, sim.groups, sim.summary

# ---- results -----------------------------------------------------------------------------
n_miss = int(intervals["miss"].sum())
n_busy = int((intervals["offered"] > 0).sum())
all_row = summary[summary["queue"] == "all"].iloc[0]
m = st.columns(4)
m[0].metric("Service level, all queues", ui.fmt_percent(all_row["service_level"]),
            help="Answered within the queue's target time / offered, over the horizon.")
m[1].metric("Abandoned", ui.fmt_percent(all_row["abandon_rate"]))
m[2].metric("ASA", ui.fmt_seconds(all_row["asa_s"]), help="Mean wait of answered contacts.")
m[3].metric("Intervals missing a target", f"{n_miss} of {n_busy}",
            help="Interval x queue cells with contacts whose mean misses the queue's "
                 "service-level, ASA or abandonment target.")
st.caption(f"{sim.reps} replication{'s' if sim.reps > 1 else ''}, seed {sim.seed}; "
           "± = 95% confidence interval over replications.")

shown_queues = st.multiselect("Queues shown in the charts", list(sim.queues),
                              default=list(sim.queues), key=f"scn.shown.{token}")
sel = intervals[intervals["queue"].isin(shown_queues)]
st.markdown("**Service level per interval** against the queue's target (dashed); band: 95% "
            "confidence interval; :red[red rings]: intervals that miss a target.")
st.altair_chart(charts.service_level(sel), width="stretch", key="scn.chart.sl")
c1, c2 = st.columns(2)
c1.markdown("**Queue length**: contacts waiting, time average per interval")
c1.altair_chart(charts.queue_length(sel), width="stretch", key="scn.chart.queue")
c2.markdown("**Occupancy per agent group**: time busy / time on the floor")
c2.altair_chart(charts.occupancy(groups_i), width="stretch", key="scn.chart.occupancy")

st.subheader("Over the horizon")
cols = ["queue", "offered", "service_level", "service_level_ci95", "target", "asa_s",
        "asa_s_ci95", "abandon_rate", "abandon_rate_ci95", "occupancy", "occupancy_ci95",
        "mean_queue", "max_queue"]
view = ui.as_percent(summary[cols])
st.dataframe(view, hide_index=True, column_config=ui.column_config(
    view, labels={"target": "SL target", "occupancy": "occupancy of its agents"}),
    key="scn.summary")
gview = ui.as_percent(sim.group_summary[["group", "occupancy", "occupancy_ci95",
                                           "slot_occupancy", "slot_occupancy_ci95"]])
st.dataframe(gview, hide_index=True, column_config=ui.column_config(gview),
             key="scn.group_summary")

st.subheader("Per interval")
only = st.toggle("Only intervals that miss a target", key=K + "only_misses")
table = intervals[["interval_start", "queue", "offered", "service_level", "service_level_ci95",
                   "target", "asa_s", "abandon_rate", "mean_queue", "max_queue", "miss"]]
if only:
    table = table[table["miss"]]
table = ui.as_percent(table)
fmt = {c: "{:.1f}%" for c in ("service_level", "service_level_ci95", "target", "abandon_rate")}
fmt.update({"asa_s": "{:.1f} s", "offered": "{:.1f}", "mean_queue": "{:.2f}",
            "max_queue": "{:.1f}", "interval_start": lambda t: f"{t:%Y-%m-%d %H:%M}"})
styled = table.style.format(fmt, na_rep="-").apply(
    lambda row: ["background-color: rgba(214, 39, 40, 0.18)" if row["miss"] else ""
                 for _ in row], axis=1)
st.dataframe(styled, hide_index=True, key="scn.intervals", column_config={
    "interval_start": "interval start", "service_level": "service level",
    "service_level_ci95": "± (95% CI)", "target": "SL target", "asa_s": "ASA",
    "abandon_rate": "abandoned", "mean_queue": "waiting (mean)", "max_queue": "waiting (max)",
    "miss": "misses a target"})

out = intervals.copy()
st.download_button("Download the results (CSV)",
                   out.to_csv(index=False, date_format="%Y-%m-%dT%H:%M").encode("utf-8"),
                   file_name=f"{stem}_intervals.csv", mime="text/csv",
                   key="scn.download_csv", on_click="ignore", icon=":material/download:",
                   help="Per interval and queue: mean and 95% half-width (_ci95) over "
                        "replications, the queue's targets and whether it missed one.")
