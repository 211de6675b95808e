"""Page 4, Plan: ``peakplan plan`` from the app: the cheapest bookable roster that meets the
targets, under planning rules edited in the page.

The scenario is the Scenario page's (as edited, or its original), a saved what-if or a shipped
scenario.  The rules start as the scenario's ``planning:`` section, or the stated defaults
(:func:`planner.plan.default_rules`) when it has none, written as YAML in a text box: pattern
windows, lengths and breaks, costs, caps and overtime per group (the format of
:mod:`sim.planning`, checked with the same messages).  :func:`planner.plan.plan_roster` runs
with a progress bar; the page shows required (Erlang) against the current roster and the
planned one on the floor per interval, the shifts to book with hours and cost, and the
verified result; ``planned.yaml`` downloads, and "Open on the Scenario page" saves it as a
what-if and opens it there (with the plan's files in ``plans/`` of the workspace, so the
Scenario page draws the plan's requirement: :mod:`app_pages.plans`).
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st
import yaml

from planner.plan import DEFAULT_RULES_TEXT, default_rules, plan_roster
from sim.errors import InputError
from sim.files import parse_yaml
from sim.planning import check_planning, planning_from_dict
from sim.scenario import scenario_from_dict
from sim.yaml_edit import tidy

from app_pages import charts, inputs, plans, runs, ui, whatifs, workspace
from app_pages.choices import scenario_choices, text_of

K = f"{ui.KEEP}plan."

choices = scenario_choices()
names = list(choices)
if st.session_state.get(K + "scenario") not in choices:
    st.session_state[K + "scenario"] = names[0] if names else None
ui.default(K + "reps", 3)
ui.default(K + "seed", 1)
ui.default(K + "rounds", 4)
ui.default(K + "time_limit_s", 30)

st.title("Plan")
st.caption("`peakplan plan` from the app: the cheapest roster the planning rules allow that "
           "covers the Erlang requirement (an integer programme, optimal for each "
           "requirement), simulated and adjusted until every judged interval meets its "
           "targets, then verified with fresh seeds.")

label = st.selectbox("Scenario", names, key=K + "scenario")
try:
    text, source = text_of(choices, label)
    scenario = runs.scenario_of(text, source)
except InputError as exc:
    ui.show_error(exc)
    st.stop()

own = getattr(scenario.spec, "planning", None)
rules_key = f"plan.rules.{hash((text, source)) & 0xFFFFFFFF:x}"
if rules_key not in st.session_state:
    spec = own if own is not None else default_rules(scenario)
    st.session_state[rules_key] = yaml.safe_dump(
        tidy(spec.model_dump(mode="json", exclude_defaults=True)), sort_keys=False,
        width=100)
if own is None:
    st.caption(f"This scenario has no `planning:` rules: {DEFAULT_RULES_TEXT}.")
st.text_area("Planning rules (the `planning:` section: patterns, groups, costs, caps)",
             key=rules_key, height=260)
c1, c2, c3, c4, c5 = st.columns([1, 1, 1, 1, 1.4], vertical_alignment="bottom")
c1.number_input("Replications", min_value=1, max_value=50, step=1, key=K + "reps")
c2.number_input("Seed", min_value=0, step=1, key=K + "seed")
c3.number_input("Rounds at most", min_value=1, max_value=20, step=1, key=K + "rounds")
c4.number_input("Solver time limit (s)", min_value=1, max_value=600, step=5,
                key=K + "time_limit_s")

try:
    # Typed by the user on a shared server: the hardened reader (no aliases, bounded depth and
    # size, no duplicate keys), as for every file a user gives.
    data = parse_yaml(st.session_state[rules_key], source="rules")
    rules = planning_from_dict(data, file="rules", prefix="planning")
    check_planning(rules, file="rules", grid_min=scenario.spec.interval_min,
                   queues=scenario.queues,
                   groups={g: tuple(s.skills) for g, s in scenario.spec.agent_groups.items()})
except InputError as exc:
    ui.show_error(exc)
    st.stop()

args = {"text": text, "source": source, "rules": st.session_state[rules_key],
        "reps": int(st.session_state[K + "reps"]), "seed": int(st.session_state[K + "seed"]),
        "rounds": int(st.session_state[K + "rounds"]),
        "time_limit_s": float(st.session_state[K + "time_limit_s"])}
if c5.button("Plan the roster", type="primary", key="plan.run", icon=":material/play_arrow:"):
    bar = st.progress(0.0, text="Planning...")

    def progress(stage: str, done: int, total: int) -> None:
        bar.progress(done / total if total else 0.0, text=f"{stage}" + (
            f": {done} of {total} replications" if total else ""))

    try:
        result = plan_roster(scenario, rules, reps=args["reps"], seed=args["seed"],
                             max_rounds=args["rounds"], time_limit_s=args["time_limit_s"],
                             progress=progress)
    except InputError as exc:
        bar.empty()
        ui.show_error(exc)
        st.stop()
    bar.empty()
    planned = scenario_from_dict(result.planned, source=source) if result.planned else None
    planned_text = inputs.scenario_text(planned) if planned is not None else None
    st.session_state["plan.last"] = {**args, "label": label, "plan": result,
                                     "planned_text": planned_text}
last = st.session_state.get("plan.last")
if not last:
    st.info("Press **Plan the roster**. Each round solves the cover and simulates it: a minute "
            "or two for Singles' Day.")
    st.stop()
if {k: v for k, v in last.items() if k not in ("label", "plan", "planned_text")} != args:
    st.info("The scenario, the rules or the settings changed since this plan: press **Plan "
            "the roster** again. Showing the last one.")
plan = last["plan"]
cover = plan.cover

st.subheader(f"Plan: {last['label']}")
m = st.columns(4)
m[0].metric("Cost of the booked shifts", f"{cover.cost:,.1f}")
m[1].metric("Agent-hours", f"{plan.total_agent_hours:,.1f} h",
            help=f"Kept roster {cover.kept_agent_hours:,.1f} h + booked "
                 f"{cover.agent_hours:,.1f} h; the per-queue Erlang plan: "
                 f"{plan.erlang_agent_hours:,.1f} h.")
m[2].metric("Solver", cover.status.replace("_", " "),
            help=f"gap {100 * cover.mip_gap:.2f}%, {cover.solve_s:.1f} s")
m[3].metric("Agent-intervals short", f"{cover.shortfall_agent_intervals:,.1f}",
            help="Where the rules cannot cover the requirement.")
for note in plan.notes:
    st.caption(note)

current = runs.coverage(last["text"], last["source"]).per_interval
need = plans.requirement_of(cover.coverage, source="the plan's coverage")
lines = [current[["interval_start", "required"]].rename(columns={"required": "agents"})
         .assign(series=charts.ERLANG_SERIES),
         need.rename(columns={"required": "agents"}).assign(series=charts.PLAN_SERIES),
         current[["interval_start", "on_floor"]].rename(columns={"on_floor": "agents"})
         .assign(series=charts.CURRENT_SERIES)]
if last["planned_text"]:
    after = runs.coverage(last["planned_text"], last["source"]).per_interval
    lines.append(after[["interval_start", "on_floor"]].rename(columns={"on_floor": "agents"})
                 .assign(series=charts.PLANNED_SERIES))
st.markdown("**Required against the current and the planned roster** per interval: the "
            "Erlang requirement summed over queues, the requirement the plan covers (pooled "
            "queues, raised where the simulation missed a target), and the agents on the "
            "floor.")
st.altair_chart(charts.plan_lines(pd.concat(lines, ignore_index=True)), width="stretch",
                key="plan.chart")

st.markdown("**Shifts to book** (group, pattern, start-end, breaks, agents, hours, cost)")
ui.table(cover.shifts, key="plan.shifts", percent=False,
         fmt={"agents": "{:,.0f}", "hours": "{:,.1f}", "cost": "{:,.1f}"})
if plan.verified_queues is not None:
    st.markdown(f"**Verified** with fresh seeds (seed {plan.verify_seed}), per queue:")
    ui.table(plan.verified_queues, key="plan.verified")

c1, c2 = st.columns(2)
if plan.planned is not None:
    planned_yaml = "# The roster planned by peakplan's app (Plan page).\n" + yaml.safe_dump(
        tidy(plan.planned), sort_keys=False, allow_unicode=True, width=100)
    c1.download_button("Download planned.yaml", planned_yaml.encode("utf-8"),
                       file_name="planned.yaml", mime="application/x-yaml",
                       key="plan.download", on_click="ignore", icon=":material/download:")

    def open_planned() -> None:
        words = re.sub(r"[^A-Za-z0-9 _-]", "", scenario.spec.name)[:40].strip()
        name = f"planned {words}" if words else "planned roster"
        try:
            stem = whatifs.slug(name)
            whatifs.save(name, planned_yaml, overwrite=True)
            # The plan too (the files of `peakplan plan --out`): its requirement is drawn on
            # the Scenario page, after a reload as well.
            plans.write_folder(stem, planned_yaml=planned_yaml, coverage=cover.coverage)
        except OSError as exc:
            st.session_state["plan.open_error"] = f"{workspace.label()}: not written ({exc})"
            return
        except InputError as exc:
            st.session_state["plan.open_error"] = str(exc)
            return
        st.session_state[f"{ui.KEEP}scn.choice"] = f"whatif:{stem}"
        st.session_state["plan.open"] = True

    c2.button("Open the planned scenario on the Scenario page", key="plan.open_button",
              on_click=open_planned, icon=":material/open_in_new:",
              help="Saved as a what-if in the workspace, then opened.")
    if st.session_state.pop("plan.open", False):
        st.switch_page("app_pages/scenario.py")
    if st.session_state.get("plan.open_error"):
        st.error(st.session_state.pop("plan.open_error"), icon=":material/error:")

