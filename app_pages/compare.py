"""Page 3, Compare: two scenarios side by side, run with the same seed and replications.

Common random numbers: replication ``r`` of both scenarios uses the same random streams, so the
per-replication difference is mostly the change itself; its mean and 95% t interval per
interval and queue are :func:`sim.replications.paired_difference`.  Intervals are paired by
position, so A and B must have the same interval length and number of intervals (refused
otherwise); a different start is allowed and said.  The Scenario page's edited scenario is
offered only while it is that page's latest edit (not after a rejected one).
"""

from __future__ import annotations

import streamlit as st

from sim.errors import InputError

from app_pages import charts, inputs, runs, ui

K = f"{ui.KEEP}cmp."
EDITED, ORIGINAL = "Scenario page, as edited", "Scenario page, original"

# The candidates: what the Scenario page holds, and every shipped scenario.
choices: dict[str, tuple[str, str]] = {}
edited = st.session_state.get("scn.edited")
base = st.session_state.get("scn.base")
rejected = st.session_state.get("scn.rejected")
if base:
    choices[ORIGINAL] = (base["text"], base["source"])
# The edited scenario only while it is the latest edit of the scenario the page shows: after
# a rejected edit, or a change of scenario, what is kept is out of date.
current = bool(edited and base and edited.get("token") == base.get("token")
               and not rejected)
if current:
    choices[EDITED] = (edited["text"], edited["source"])
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
if rejected:
    st.warning("The latest edit on the Scenario page was rejected, so there is no edited "
               f"scenario to compare: correct it there first.\n\n{rejected['message']}",
               icon=":material/warning:")
elif EDITED not in choices:
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
        text = runs.shipped_text(path)
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
    sa, sb = runs.scenario_of(text_a, source_a), runs.scenario_of(text_b, source_b)
except InputError as exc:
    ui.show_error(exc)
    st.stop()

qa, qb = set(sa.queues), set(sb.queues)
if not qa & qb:
    st.error("A and B have no queue in common: there is nothing to pair.")
    st.stop()
if qa != qb:
    st.warning(f"Only the queues in both are compared ({', '.join(sorted(qa & qb))}).")
# Intervals are paired by position: only the same grid of intervals pairs like with like.
if (sa.n_intervals, sa.spec.interval_min) != (sb.n_intervals, sb.spec.interval_min):
    st.error(f"A has {sa.n_intervals} intervals of {sa.spec.interval_min:g} min, B "
             f"{sb.n_intervals} of {sb.spec.interval_min:g} min: intervals cannot be paired "
             "(expected the same interval length and number of intervals).",
             icon=":material/error:")
    st.stop()
if sa.spec.start != sb.spec.start:
    st.warning(f"A starts {sa.spec.start:%Y-%m-%d %H:%M}, B {sb.spec.start:%Y-%m-%d %H:%M}: "
               "intervals are paired by position (B's first with A's first...) and shown in "
               "A's time.", icon=":material/warning:")

try:
    runs.check_run(text_a, source_a, reps=last["reps"])
    runs.check_run(text_b, source_b, reps=last["reps"])
    both = runs.compared(text_a, source_a, text_b, source_b, seed=last["seed"],
                         reps=last["reps"])
except InputError as exc:
    ui.show_error(exc)
    st.stop()
diff = both.difference

# ---- side by side ------------------------------------------------------------------------
st.subheader("Over the horizon")
cols = ["queue", "offered", "service_level", "service_level_ci95", "asa_s", "asa_s_ci95",
        "abandon_rate", "abandon_rate_ci95", "occupancy"]
c1, c2 = st.columns(2)
for col, label, scenario, summary, key in (
        (c1, label_a, sa, both.summary_a, "cmp.sum_a"),
        (c2, label_b, sb, both.summary_b, "cmp.sum_b")):
    col.markdown(f"**{'A' if key.endswith('a') else 'B'}: {label}** ({scenario.spec.name})")
    view = ui.as_percent(summary[cols])
    col.dataframe(view, hide_index=True, column_config=ui.column_config(view), key=key)
st.caption(f"Both: seed {last['seed']}, {last['reps']} replications; ± = 95% confidence "
           "interval.")

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
