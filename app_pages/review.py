"""Page 5, Capacity review: ``peakplan review`` on the open what-if, from the app.

The scenario is the Scenario page's (as edited, or its original), a saved what-if or a shipped
scenario; the volume cases, replications, seed and the case whose gap is closed are the
command line's flags.  :func:`planner.review.build_review` runs with a progress line per step;
the verdict (:func:`planner.review.verdict_lines`) and the report
(:func:`planner.review.render_html`) are shown in the page, and the report and its tables
(:func:`planner.review.review_tables`, one CSV each, in a zip) can be downloaded.  The whole
job is checked against the command line's limits before it starts.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from planner.review import DEFAULT_CASES, build_review, fix_case_of, parse_cases, \
    render_html, resolve_cases, review_tables, verdict_lines
from sim.errors import InputError
from sim.scenario import check_run_size

from app_pages import runs, ui
from app_pages.choices import scenario_choices, text_of

K = f"{ui.KEEP}rev."


@dataclass(frozen=True)
class ReviewOutput:
    """What the page shows of a review: the verdict lines, the report, its tables."""

    verdict: tuple[str, ...]
    html: str
    tables: dict[str, pd.DataFrame]
    clean: bool


def reviewed(text: str, source: str, *, cases: str, reps: int, seed: int,
             fix_case: str | None) -> ReviewOutput:
    """:func:`planner.review.build_review` of the scenario written as ``text`` (``cases`` as
    ``--cases`` takes them), with a progress line per step.  Kept in the session (not a
    cache: the progress belongs to the run the planner asked for)."""
    scenario = runs.scenario_of(text, source)
    status = st.status(f"Reviewing {scenario.spec.name}...", expanded=True)
    review = build_review(scenario, cases=parse_cases(cases), reps=reps, seed=seed,
                          fix_case=fix_case, progress=lambda msg: status.write(msg))
    status.update(label="Review done", state="complete", expanded=False)
    return ReviewOutput(verdict=tuple(verdict_lines(review)), html=render_html(review),
                        tables=review_tables(review),
                        clean=all(r.clean for r in review.cases))


choices = scenario_choices()
names = list(choices)
if st.session_state.get(K + "scenario") not in choices:
    st.session_state[K + "scenario"] = names[0] if names else None
ui.default(K + "cases", DEFAULT_CASES)
ui.default(K + "reps", 5)
ui.default(K + "seed", 1)
ui.default(K + "fix", "")  # blank: --fix-case not given (base, else the case nearest x1)

st.title("Capacity review")
st.caption("`peakplan review` from the app: the scenario under low, base and high volume "
           "(or percentiles of its volume uncertainty: p10, p50, p90), with replications "
           "and common random numbers, beside the Erlang requirement; the intervals and "
           "queues that miss their targets; and, for one case, the agents to add per "
           "interval and group until every interval meets its targets, checked by "
           "simulation.")

c1, c2 = st.columns([2, 2])
label = c1.selectbox("Scenario", names, key=K + "scenario")
c2.text_input("Volume cases (NAME=FACTOR or pNN, ...)", key=K + "cases", max_chars=200,
              help="The forecast multiplied by each factor (--cases); pNN (p10,p50,p90, "
                   "mixable with NAME=FACTOR): the NN-th percentile of the scenario's "
                   "arrivals.uncertainty as a fixed factor.")
c1, c2, c3, c4 = st.columns([1, 1, 1, 1.4], vertical_alignment="bottom")
c1.number_input("Replications per case", min_value=1, max_value=200, step=1, key=K + "reps")
c2.number_input("Seed", min_value=0, step=1, key=K + "seed")
c3.text_input("Close the gap of case", key=K + "fix", max_chars=40,
              placeholder="base, or nearest x1",
              help="--fix-case: blank for base, or the case nearest x1 when there is no "
                   "base (e.g. p50); 'none' to skip (quicker).")

try:
    text, source = text_of(choices, label)
    cases = parse_cases(st.session_state[K + "cases"])
    reps, seed = int(st.session_state[K + "reps"]), int(st.session_state[K + "seed"])
    scenario = runs.scenario_of(text, source)
    # The factor of a percentile case comes from arrivals.uncertainty (none: the library's
    # message, before anything runs).
    resolved = resolve_cases(cases, scenario)
    fix = str(st.session_state[K + "fix"]).strip()
    # Blank: --fix-case not given (base, else the case nearest x1), as the command line.
    closed = fix_case = fix_case_of(resolved, fix or None, field="close the gap of")
    check_run_size(scenario, reps=reps * len(cases) * (2 if fix_case else 1),
                   where="replications")
except InputError as exc:
    ui.show_error(exc)
    st.stop()

described = ", ".join(f"{c.name} x{c.factor:.3g}" + (" (percentile of the volume uncertainty)"
                                                     if c.percentile is not None else "")
                      for c in resolved)
st.caption(f"Cases: {described}; "
           + (f"the gap of **{closed}** is closed, if it has one." if closed
              else "no gap is closed."))
args = {"text": text, "source": source, "cases": ",".join(c.text for c in cases),
        "reps": reps, "seed": seed, "fix_case": fix_case}
if c4.button("Run the review", type="primary", key="rev.run", icon=":material/play_arrow:"):
    try:
        out = reviewed(text, source, cases=args["cases"], reps=reps, seed=seed,
                       fix_case=fix_case)
    except InputError as exc:
        ui.show_error(exc)
        st.stop()
    st.session_state["rev.last"] = {**args, "label": label, "out": out}
last = st.session_state.get("rev.last")
if not last:
    st.info("Press **Run the review**. A review runs every case with its replications, then "
            "closes the gap of one case in rounds of simulations: a minute or more for "
            "Singles' Day.")
    st.stop()
if {k: v for k, v in last.items() if k not in ("label", "out")} != args:
    st.info("The scenario or the settings changed since this review: press **Run the "
            "review** again. Showing the last one.")
out = last["out"]

st.subheader(f"Verdict: {last['label']}")
(st.success if out.clean else st.warning)("\n\n".join(
    line.replace("  ", "\u2003") for line in out.verdict),
    icon=":material/check:" if out.clean else ":material/warning:")
c1, c2 = st.columns(2)
c1.download_button("Download the report (HTML)", out.html.encode("utf-8"),
                   file_name="report.html", mime="text/html", key="rev.download_html",
                   on_click="ignore", icon=":material/download:",
                   help="Self-contained: charts inline, opens without a network.")
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    for name, frame in out.tables.items():
        z.writestr(f"{name}.csv", frame.to_csv(index=False))
c2.download_button(f"Download its tables ({len(out.tables)} CSV files, zip)", buf.getvalue(),
                   file_name="review_tables.zip", mime="application/zip",
                   key="rev.download_csv", on_click="ignore", icon=":material/download:")
st.subheader("Report")
components.html(out.html, height=1400, scrolling=True)
