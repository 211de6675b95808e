"""Page 3, Compare: two to five scenarios side by side, run with the same seed and replications.

The candidates: what the Scenario page holds (its original and, while it is that page's
latest accepted edit, the edited scenario), the saved what-ifs of the workspace and the
shipped scenarios.  The first chosen is the baseline unless another is picked.

Common random numbers: replication ``r`` of every scenario uses the same random streams, so
the per-replication difference from the baseline is mostly the change itself; its mean and
95% t interval over replications are :func:`app_pages.runs.summary_difference` (over the
horizon) and :func:`sim.replications.paired_difference` (per interval and queue).  Differences
of shares (service level, abandonment) are in percentage points, their intervals within
[-100, 100] pp.  Intervals are paired by position, so every scenario must have the baseline's
interval length and number of intervals (refused otherwise); a different start is said.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from scipy import stats

from sim.errors import InputError
from sim.planning import load_rules

from app_pages import charts, inputs, roster, runs, ui
from app_pages.choices import EDITED, ORIGINAL, scenario_choices, text_of

K = f"{ui.KEEP}cmp."
MAX_CHOSEN = 5
FEW_REPS = 10  # below this the bands of a difference are wide: say so

choices = scenario_choices(edited_first=False)
edited = st.session_state.get("scn.edited")
base = st.session_state.get("scn.base")
rejected = st.session_state.get("scn.rejected")
current = EDITED in choices

names = list(choices)
default = [c for c in (ORIGINAL, EDITED) if c in choices] or names[:2]
# A what-if just saved on the Scenario page: against the scenario it was made from.
opened = str(base.get("label", "")) if base else ""
origin = st.session_state.get("scn.whatif_from", {})
for stem, came_from in origin.items():
    if opened.startswith(f"what-if: {stem} ") and came_from in choices and \
            not (edited and edited.get("changes")):
        default = [came_from, f"what-if: {stem}"]
if len(default) < 2:
    default = (default + [n for n in names if n not in default])[:2]
chosen_now = [c for c in st.session_state.get(K + "chosen", []) if c in choices]
if K + "chosen" not in st.session_state or chosen_now != st.session_state[K + "chosen"]:
    st.session_state[K + "chosen"] = chosen_now or default
ui.default(K + "seed", 1)
ui.default(K + "reps", 5)
ui.default(K + "measure", "service_level")
ui.default(K + "queue", "all")

st.title("Compare")
st.caption("Two to five scenarios (what-ifs, the edited one against its original, shipped "
           "ones) run with the same seed and replications: each replication sees the same "
           "arrivals, handle times and patience in all (common random numbers), so a "
           "difference shows the change, not noise.")
if rejected:
    st.warning("The latest edit on the Scenario page was rejected, so there is no edited "
               f"scenario to compare: correct it there first.\n\n{rejected['message']}",
               icon=":material/warning:")
elif EDITED not in choices:
    st.caption("Edit a scenario on the Scenario page to compare it with its original here.")
elif edited and not edited.get("changes"):
    st.caption("The Scenario page has no changes yet: its edited and original scenarios are "
               "the same.")

chosen = st.multiselect(f"Scenarios (2 to {MAX_CHOSEN})", names, key=K + "chosen",
                        max_selections=MAX_CHOSEN)
if st.session_state.get(K + "baseline") not in chosen and chosen:
    st.session_state[K + "baseline"] = chosen[0]
c1, c2, c3, c4 = st.columns([2, 1, 1, 1.5], vertical_alignment="bottom")
baseline = c1.selectbox("Baseline (the others are compared with it)", chosen or [""],
                        key=K + "baseline")
c2.number_input("Seed (all)", min_value=0, step=1, key=K + "seed")
c3.number_input("Replications (all)", min_value=2, max_value=200, step=1, key=K + "reps",
                help="At least 2: the confidence interval comes from the spread over "
                     "replications; 10 or more tell small changes apart.")
if len(chosen) < 2:
    st.info("Choose at least two scenarios.")
    st.stop()


seed, reps = int(st.session_state[K + "seed"]), int(st.session_state[K + "reps"])
order = [baseline, *[c for c in chosen if c != baseline]]
try:
    texts = {label: text_of(choices, label) for label in order}
except InputError as exc:
    ui.show_error(exc)
    st.stop()
if c4.button("Run all", type="primary", key="cmp.run", icon=":material/play_arrow:"):
    st.session_state["cmp.last"] = {"order": order, "texts": texts, "seed": seed,
                                    "reps": reps}
last = st.session_state.get("cmp.last")
if not last:
    st.info("Press **Run all** to see them side by side.")
    st.stop()
if (last["order"], last["texts"], last["seed"], last["reps"]) != (order, texts, seed, reps):
    st.info("The choice, a scenario, the seed or replications changed since this run: press "
            "**Run all** again. Showing the last run.")

order, texts = last["order"], last["texts"]
seed, reps = last["seed"], last["reps"]
try:
    scenarios = {label: runs.scenario_of(*texts[label]) for label in order}
except InputError as exc:
    ui.show_error(exc)
    st.stop()
ref = scenarios[order[0]]
for label in order[1:]:
    sc = scenarios[label]
    if not set(sc.queues) & set(ref.queues):
        st.error(f"{label} and the baseline {order[0]} have no queue in common: there is "
                 "nothing to pair.", icon=":material/error:")
        st.stop()
    # Intervals are paired by position: only the same grid of intervals pairs like with like.
    if (sc.n_intervals, sc.spec.interval_min) != (ref.n_intervals, ref.spec.interval_min):
        st.error(f"The baseline {order[0]} has {ref.n_intervals} intervals of "
                 f"{ref.spec.interval_min:g} min, {label} {sc.n_intervals} of "
                 f"{sc.spec.interval_min:g} min: intervals cannot be paired (expected the "
                 "same interval length and number of intervals).", icon=":material/error:")
        st.stop()
    if set(sc.queues) != set(ref.queues):
        st.warning(f"{label}: only the queues it shares with the baseline are compared "
                   f"({', '.join(sorted(set(sc.queues) & set(ref.queues)))}).")
    if sc.spec.start != ref.spec.start:
        st.warning(f"The baseline starts {ref.spec.start:%Y-%m-%d %H:%M}, {label} "
                   f"{sc.spec.start:%Y-%m-%d %H:%M}: intervals are paired by position "
                   "(the first with the first...) and shown in the baseline's time.",
                   icon=":material/warning:")

sims = {}
try:
    for label in order:
        runs.check_run(*texts[label], reps=reps)
    for label in order:
        text, source = texts[label]
        sims[label] = runs.simulation(text, source=source, seed=seed, reps=reps)
except InputError as exc:
    ui.show_error(exc)
    st.stop()


def rules_for() -> object | None:
    """The planning rules every roster is priced with (one set, so costs compare): the
    baseline's ``planning:`` section, else the rules file the Scenario page prices with."""
    own = getattr(scenarios[order[0]].spec, "planning", None)
    if own is not None:
        return own
    pick = st.session_state.get(f"{ui.KEEP}scn.rules")
    path = inputs.SCENARIOS / str(pick)
    if pick and path.is_file():
        try:
            return load_rules(path)
        except InputError:
            return None
    return None


rules = rules_for()

# ---- side by side ------------------------------------------------------------------------
st.subheader("Side by side, over the horizon")
queue_options = ["all", *ref.queues]
queue = st.selectbox("Queue", queue_options, key=K + "queue",
                     format_func=lambda q: "all queues" if q == "all" else q)


def shown_in(queues: list[str]) -> bool:
    """Whether the queue chosen (or all queues) is one of ``queues``."""
    return bool(queues) and (queue == "all" or queue in queues)


# Call-back and redial measures, when a scenario compared has them in the queue shown.
with_callbacks = any(shown_in(runs.callback_queues(sc)) for sc in scenarios.values())
with_redials = any(shown_in(runs.redial_queues(sc)) for sc in scenarios.values())
rows = []
for label in order:
    s = sims[label].queue_summary().set_index("queue")
    sc = scenarios[label]
    cover = runs.coverage(*texts[label])
    cost = roster.roster_cost(sc, cover, rules, "rules" if rules else None)
    r = s.loc[queue] if queue in s.index else pd.Series(dtype=float)
    rows.append({"scenario": label, "service_level": r.get("service_level"),
                 "service_level_ci95": r.get("service_level_ci95"),
                 "abandon_rate": r.get("abandon_rate"),
                 "abandon_rate_ci95": r.get("abandon_rate_ci95"),
                 "asa_s": r.get("asa_s"), "asa_s_ci95": r.get("asa_s_ci95"),
                 "occupancy": r.get("occupancy"), "occupancy_ci95": r.get("occupancy_ci95"),
                 **(runs.callback_kpis(r) if with_callbacks else {}),
                 **(runs.redial_kpis(r) if with_redials else {}),
                 "agent_hours": cost.total_hours, "cost": cost.total_cost})
side = pd.DataFrame(rows)
if rules is None:
    side = side.drop(columns=["cost"])
ui.table(side, key="cmp.side", labels={"agent_hours": "agent-hours (all groups)",
                                       "occupancy": "occupancy of its agents"})
t = stats.t.ppf(0.975, reps - 1)
st.caption(f"All: seed {seed}, {reps} replications; ± = 95% confidence interval. Agent-hours "
           "and cost are the roster's (all queues)"
           + (" under the baseline's planning rules" if rules is not None else
              "; cost needs planning rules (the baseline's planning: section, or a rules "
              "file chosen on the Scenario page)") + ".")
if with_callbacks:
    st.caption(f"Call-backs (a dash: the scenario offers none there): {runs.CALLBACK_NOTE}")
if with_redials:
    st.caption(f"Redials (a dash: the scenario has none there): {runs.REDIAL_NOTE}")
if reps < FEW_REPS:
    st.warning(f"With {reps} replications the 95% intervals are wide (mean ± {t:.2f} x the "
               "standard error, Student's t with "
               f"{reps - 1} degrees of freedom): they can swamp the differences. Use "
               f"{FEW_REPS} or more replications to tell small changes apart.",
               icon=":material/info:")

st.markdown(f"**Difference from the baseline** ({order[0]}), replication by replication: "
            "shares in percentage points (pp).")
drows = []
for label in order[1:]:
    d = runs.summary_difference(sims[order[0]], sims[label]).set_index("queue")
    if queue not in d.index:
        continue
    r = d.loc[queue]
    cover_a, cover_b = runs.coverage(*texts[order[0]]), runs.coverage(*texts[label])
    cost_a = roster.roster_cost(scenarios[order[0]], cover_a, rules, None)
    cost_b = roster.roster_cost(scenarios[label], cover_b, rules, None)
    drows.append({"scenario": label, "service_level_pp": r["service_level_pp"],
                  "service_level_pp_ci95": r["service_level_pp_ci95"],
                  "abandon_rate_pp": r["abandon_rate_pp"],
                  "abandon_rate_pp_ci95": r["abandon_rate_pp_ci95"],
                  "abandoned": r["abandoned"], "abandoned_ci95": r["abandoned_ci95"],
                  "asa_s": r["asa_s"], "asa_s_ci95": r["asa_s_ci95"],
                  "agent_hours": cost_b.total_hours - cost_a.total_hours,
                  "cost": (cost_b.total_cost - cost_a.total_cost)
                  if cost_a.total_cost is not None else None})
if drows:
    dframe = pd.DataFrame(drows)
    if rules is None:
        dframe = dframe.drop(columns=["cost"])
    ui.table(dframe, key="cmp.diff_side", percent=False,
             labels={"service_level_pp": "service level", "abandon_rate_pp": "abandoned",
                     "abandoned": "abandoned (contacts)", "asa_s": "ASA",
                     "agent_hours": "agent-hours", "service_level_pp_ci95": "±",
                     "abandon_rate_pp_ci95": "±", "abandoned_ci95": "±", "asa_s_ci95": "±"},
             fmt={"abandoned": "{:+,.0f}", "asa_s": "{:+,.1f} s", "agent_hours": "{:+,.1f}",
                  "cost": "{:+,.1f}"})

# ---- per interval --------------------------------------------------------------------------
st.subheader("Difference per interval, against the baseline")
c1, c2 = st.columns(2)
other = c1.selectbox("Scenario", order[1:], key="cmp.other")
measure = c2.selectbox("Measure", list(runs.COMPARED), key=K + "measure",
                       format_func=runs.COMPARED.get)
pct = measure in ui.PERCENT_COLUMNS
diff = runs.paired_difference(sims[order[0]], sims[other])
queues = [q for q in ref.queues if q in set(diff["queue"])]
unit = " (pp)" if pct else ""
st.markdown(f"**{runs.COMPARED[measure].capitalize()}, {other} - {order[0]}**{unit}, per "
            "interval, one panel per queue: mean of the paired difference over replications; "
            "band: its 95% confidence interval" + (", within [-100, 100] pp" if pct else "")
            + ".")
st.altair_chart(charts.difference_by_queue(diff, measure, runs.COMPARED[measure], pct=pct,
                                          order=queues), key="cmp.chart")
n_sig = int(((diff[measure].abs() > diff[f"{measure}_ci95"]) & diff[measure].notna()).sum())
st.caption(f"{n_sig} interval x queue cells where the 95% confidence interval of the "
           f"difference in {runs.COMPARED[measure]} excludes zero.")

table = diff[["interval_start", "queue", measure, f"{measure}_ci95"]].copy()
table["clear"] = table[measure].abs() > table[f"{measure}_ci95"]
if pct:
    lo = (100 * (table[measure] - table[f"{measure}_ci95"])).clip(lower=-100.0)
    hi = (100 * (table[measure] + table[f"{measure}_ci95"])).clip(upper=100.0)
    table[measure] = 100 * table[measure]
    table[f"{measure}_ci95"] = 100 * table[f"{measure}_ci95"]
    table["low"], table["high"] = lo, hi
    fmt = {measure: "{:+.1f} pp", f"{measure}_ci95": "±{:.1f} pp", "low": "{:+.1f} pp",
           "high": "{:+.1f} pp"}
else:
    fmt = {measure: "{:+,.2f}", f"{measure}_ci95": "±{:,.2f}"}
ui.table(table, key="cmp.table", percent=False, fmt=fmt,
         labels={measure: f"{runs.COMPARED[measure]}, B - A", f"{measure}_ci95": "± (95% CI)",
                 "clear": "CI excludes 0", "low": "95% CI from", "high": "to"})
st.download_button("Download the differences (CSV)",
                   diff.to_csv(index=False, date_format="%Y-%m-%dT%H:%M").encode("utf-8"),
                   file_name="difference.csv", mime="text/csv", key="cmp.download",
                   on_click="ignore", icon=":material/download:",
                   help="Per interval and queue: B - A, mean over replications and 95% "
                        "half-width (_ci95), for every compared measure (shares as "
                        "fractions).")
