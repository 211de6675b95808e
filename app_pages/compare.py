"""Page 3, Compare: two scenarios side by side, run with the same seed and replications.

Common random numbers: replication ``r`` of both scenarios uses the same random streams, so the
per-replication difference is mostly the change itself; its mean and 95% t interval per
interval and queue are :func:`sim.replications.paired_difference`.
"""

from __future__ import annotations

import streamlit as st

from planner.errors import InputError

from app_pages import charts, inputs, runs, ui

K = f"{ui.KEEP}cmp."
EDITED, ORIGINAL = "Scenario page, as edited", "Scenario page, original"

# The candidates: what the Scenario page holds, and every shipped scenario.
choices: dict[str, tuple[str, str]] = {}
edited = st.session_state.get("scn.edited")
base = st.session_state.get("scn.base")
if edited and base:
    choices[EDITED] = (edited["text"], edited["source"])
    choices[ORIGINAL] = (base["text"], base["source"])
shipped = inputs.shipped_scenarios()
for name, path in shipped.items():
    choices[name] = ("", f"scenarios/{path.name}")  # text read when chosen

names = list(choices)
default_a = ORIGINAL if ORIGINAL in choices else names[0]
default_b = EDITED if EDITED in choices else names[min(1, len(names) - 1)]
for key, value in (("a", default_a), ("b", default_b)):
    if st.session_state.get(K + key) not in choices:
        st.session_state[K + key] = value
ui.default(K + "seed", 1)
ui.default(K + "reps", 3)
ui.default(K + "measure", "service_level")

st.title("Compare")
st.caption("Two scenarios (or the edited one against its original) run with the same seed and "
           "replications: each replication sees the same arrivals, handle times and patience "
           "in both (common random numbers), so the difference shows the change, not noise.")
if EDITED not in choices:
    st.caption("Edit a scenario on the Scenario page to compare it with its original here.")
elif edited and not edited.get("changes"):
    st.caption("The Scenario page has no changes yet: its edited and original scenarios are "
               "the same.")

c1, c2 = st.columns(2)
a = c1.selectbox("A (the reference)", names, key=K + "a")
b = c2.selectbox("B (compared with A)", names, key=K + "b")
c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
c1.number_input("Seed (both)", min_value=0, step=1, key=K + "seed")
c2.number_input("Replications (both)", min_value=2, max_value=200, step=1, key=K + "reps",
                help="At least 2: the confidence interval comes from the spread over "
                     "replications.")


def text_of(label: str) -> tuple[str, str]:
    text, source = choices[label]
    if not text:  # a shipped scenario
        path = shipped[label]
        text = runs.shipped_scenario_text(str(path), path.stat().st_mtime)
    return text, source


seed, reps = int(st.session_state[K + "seed"]), int(st.session_state[K + "reps"])
try:
    (text_a, source_a), (text_b, source_b) = text_of(a), text_of(b)
except InputError as exc:
    ui.show_error(exc)
    st.stop()
if c3.button("Run both", type="primary", key="cmp.run", icon=":material/play_arrow:"):
    st.session_state["cmp.last"] = {"a": (a, text_a, source_a), "b": (b, text_b, source_b),
                                    "seed": seed, "reps": reps}
last = st.session_state.get("cmp.last")
if not last:
    st.info("Press **Run both** to see the difference per interval.")
    st.stop()
if (last["a"][1], last["b"][1], last["seed"], last["reps"]) != (text_a, text_b, seed, reps):
    st.info("The choice, a scenario, the seed or replications changed since this run: press "
            "**Run both** again. Showing the last run.")

(label_a, text_a, source_a), (label_b, text_b, source_b) = last["a"], last["b"]
try:
    sim_a = runs.simulation(text_a, source=source_a, seed=last["seed"], reps=last["reps"])
    sim_b = runs.simulation(text_b, source=source_b, seed=last["seed"], reps=last["reps"])
except InputError as exc:
    ui.show_error(exc)
    st.stop()

qa, qb = set(sim_a.scenario.queues), set(sim_b.scenario.queues)
if not qa & qb:
    st.error("A and B have no queue in common: there is nothing to pair.")
    st.stop()
if qa != qb:
    st.warning(f"Only the queues in both are compared ({', '.join(sorted(qa & qb))}).")
sa, sb = sim_a.scenario, sim_b.scenario
if (sa.spec.start, sa.n_intervals, sa.spec.interval_min) != (sb.spec.start, sb.n_intervals,
                                                              sb.spec.interval_min):
    st.warning(f"A starts {sa.spec.start:%Y-%m-%d %H:%M} with {sa.n_intervals} intervals of "
               f"{sa.spec.interval_min:g} min, B {sb.spec.start:%Y-%m-%d %H:%M} with "
               f"{sb.n_intervals} of {sb.spec.interval_min:g} min: intervals are paired by "
               "position and shown in A's time.")

diff = runs.paired_difference(sim_a, sim_b)

# ---- side by side ------------------------------------------------------------------------
st.subheader("Over the horizon")
cols = ["queue", "offered", "service_level", "service_level_ci95", "asa_s", "asa_s_ci95",
        "abandon_rate", "abandon_rate_ci95", "occupancy"]
c1, c2 = st.columns(2)
for col, label, sim, key in ((c1, label_a, sim_a, "cmp.sum_a"), (c2, label_b, sim_b,
                                                                 "cmp.sum_b")):
    col.markdown(f"**{'A' if key.endswith('a') else 'B'}: {label}** ({sim.scenario.spec.name})")
    view = ui.as_percent(sim.queue_summary()[cols])
    col.dataframe(view, hide_index=True, column_config=ui.column_config(view), key=key)
st.caption(f"Both: seed {sim_a.seed}, {sim_a.reps} replications; ± = 95% confidence interval.")

# ---- per interval --------------------------------------------------------------------------
st.subheader("Difference per interval (B - A)")
measure = st.selectbox("Measure", list(runs.COMPARED), key=K + "measure",
                       format_func=runs.COMPARED.get)
pct = measure in ui.PERCENT_COLUMNS
queues = [q for q in sa.queues if q in qb]
shown = st.multiselect("Queues shown", queues, default=queues,
                       key=f"cmp.shown.{'-'.join(queues)}")
sel = diff[diff["queue"].isin(shown)]
st.markdown(f"**{runs.COMPARED[measure].capitalize()}, B - A**, per interval: mean of the "
            "paired difference over replications; band: its 95% confidence interval.")
st.altair_chart(charts.difference(sel, measure, runs.COMPARED[measure], pct=pct),
                width="stretch", key="cmp.chart")
n_sig = int(((diff[measure].abs() > diff[f"{measure}_ci95"]) & diff[measure].notna()).sum())
st.caption(f"{n_sig} interval x queue cells where the 95% confidence interval of the "
           f"difference in {runs.COMPARED[measure]} excludes zero.")

table = diff[["interval_start", "queue", measure, f"{measure}_ci95"]].copy()
table["clear"] = table[measure].abs() > table[f"{measure}_ci95"]
table = ui.as_percent(table)
st.dataframe(table, hide_index=True, key="cmp.table", column_config={
    **ui.column_config(table, labels={measure: f"{runs.COMPARED[measure]}, B - A"}),
    "clear": st.column_config.CheckboxColumn("CI excludes 0")})
st.download_button("Download the differences (CSV)",
                   diff.to_csv(index=False, date_format="%Y-%m-%dT%H:%M").encode("utf-8"),
                   file_name="difference.csv", mime="text/csv", key="cmp.download",
                   on_click="ignore", icon=":material/download:",
                   help="Per interval and queue: B - A, mean over replications and 95% "
                        "half-width (_ci95), for every compared measure.")
