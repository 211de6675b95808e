"""Page 4, Sweeps and plans: explore the output folder of ``peakplan sweep``.

Reads ``summary.csv`` (per point and queue: mean and 95% half-width over replications, and
whether the queue meets its targets), ``sweep.json`` (the grid) and, for one point at a time,
the ``intervals/`` Parquet dataset (see :mod:`planner.sweep`).

Folders are opened only inside the workspace (:mod:`app_pages.workspace`: ``runs/`` beside the
app, or the folder of the environment variable ``PEAKPLAN_WORKSPACE``): the sweeps found there
are offered in a list, and a name typed is taken relative to it.
"""

from __future__ import annotations

import streamlit as st

from sim.errors import InputError

from app_pages import charts, inputs, runs, ui, workspace

K = f"{ui.KEEP}swp."
NONE = "(none)"
MEASURES = {"service_level": "service level", "abandon_rate": "abandoned", "asa_s": "ASA (s)",
            "occupancy": "occupancy", "mean_queue": "queue length"}

found = runs.sweep_folders()
where = workspace.label()
ui.default(K + "source", "Folder")
ui.default(K + "path", found[0] if found else "")

st.title("Sweeps and plans")
st.caption("Results of `peakplan sweep`: service level and more against the values varied, "
           "with 95% confidence intervals over replications.")

source = st.radio("Open", ["Folder", "Upload summary.csv"], key=K + "source", horizontal=True)
results: runs.SweepResults | None = None
try:
    if source == "Folder":
        def pick() -> None:
            st.session_state[K + "path"] = st.session_state["swp.found"]

        if found:
            st.selectbox(f"Sweeps found in the workspace, {where} (newest first)", found,
                         index=None, placeholder="choose one, or type its name below",
                         key="swp.found", on_change=pick)
        path = st.text_input(f"Sweep folder in the workspace ({where}): the --out of "
                             "peakplan sweep", key=K + "path", placeholder="peak-grid",
                             max_chars=500)
        if not path.strip():
            st.info(f"No sweep found in the workspace ({where}). Run one, e.g. `peakplan sweep "
                    "scenarios/singles_day.yaml --vary 'agent_groups.temp.shifts[0].agents="
                    f"40..60:10' --vary arrivals.scale=1.0,1.2 --reps 5 --out {where}grid`, or "
                    "type the name of a sweep folder above.")
            st.stop()
        results = runs.read_sweep_folder(path)
    else:
        up = st.file_uploader("summary.csv of a sweep", type=["csv"], key="swp.upload")
        kept = ui.kept_upload(up, key="swp.uploaded")
        if kept is None:
            st.info("Upload the summary.csv of a sweep.")
            st.stop()
        results = runs.read_sweep_summary(kept[1], name=kept[0])
except InputError as exc:
    ui.show_error(exc)
    st.stop()

summary, params = results.summary, list(results.params)
if not params:
    st.error("This sweep varies nothing: there is nothing to plot against.")
    st.stop()
manifest = results.manifest or {}


def swept_scenario() -> object | None:
    """The shipped scenario the sweep ran on (sweep.json names it by its name), for the
    shifts' hours in labels and the queues' targets."""
    for path in inputs.shipped_scenarios().values():
        try:
            sc = runs.scenario_of(runs.shipped_text(path), f"scenarios/{path.name}")
        except InputError:
            continue
        if sc.spec.name == manifest.get("scenario"):
            return sc
    return None


swept = swept_scenario()
label = {p: ui.path_label(p, swept) for p in params}
label[NONE] = NONE
st.markdown(f"**{manifest.get('scenario', 'sweep')}**: {summary['point'].nunique()} points, "
            f"varied: {', '.join(f'{label[p]} (`{p}`)' for p in params)}"
            + (f"; seed {manifest['seed']}" if "seed" in manifest else "")
            + ("" if manifest.get("common_random_numbers", True) else "; independent seeds"))

# ---- chart ---------------------------------------------------------------------------------
queues = [q for q in summary["queue"].astype(str).unique() if q != "all"] + ["all"]
x_default = next((p for p in params if p.endswith(".agents")), params[0])
colour_default = next((p for p in params if p == "arrivals.scale" and p != x_default),
                      next((p for p in params if p != x_default), NONE))
for key, value, allowed in (("x", x_default, params), ("colour", colour_default,
                                                       [*params, NONE]),
                            ("queue", queues[0], queues), ("measure", "service_level",
                                                           list(MEASURES))):
    if st.session_state.get(K + key) not in allowed:
        st.session_state[K + key] = value

c = st.columns(4)
x = c[0].selectbox("x axis", params, key=K + "x", format_func=label.get)
colour = c[1].selectbox("one line per", [p for p in [*params, NONE] if p != x],
                        key=K + "colour", format_func=label.get) if len(params) > 1 else NONE
queue = c[2].selectbox("queue", queues, key=K + "queue")
measure = c[3].selectbox("measure", [k for k in MEASURES if k in summary.columns],
                         key=K + "measure", format_func=MEASURES.get)

# Every other varied key path is held at one value.
rest = [p for p in params if p not in (x, colour)]
sel = summary[summary["queue"].astype(str) == queue]
if rest:
    cols = st.columns(len(rest))
    for col, p in zip(cols, rest):
        values = sorted(sel[p].dropna().unique().tolist())
        v = col.selectbox(f"{label[p]} held at", values, key=f"swp.hold.{p}")
        sel = sel[sel[p] == v]

target = None
if swept is not None and queue in swept.spec.queues:
    t = swept.spec.queues[queue].target
    target = {"service_level": t.service_level, "asa_s": t.max_asa_s,
              "abandon_rate": t.max_abandon, "occupancy": t.max_occupancy}.get(measure)
st.markdown(f"**{MEASURES[measure].capitalize()} of {queue}** against {label[x]}"
            + (f", one line per {label[colour]}" if colour != NONE else "")
            + ": bars are 95% confidence intervals; open points miss a target (on the mean)"
            + (f"; dashed: the target, {100 * target:.0f}%" if target is not None and
               measure in ui.PERCENT_COLUMNS else f"; dashed: the target, {target:g}"
               if target is not None else "") + ".")
st.altair_chart(charts.sweep_lines(sel, x=x, colour=None if colour == NONE else colour,
                                   value=measure, label=MEASURES[measure],
                                   pct=measure in ui.PERCENT_COLUMNS, tooltip=["point"],
                                   x_title=label[x], colour_title=label.get(colour),
                                   target=target),
                width="stretch", key="swp.chart")

# ---- table -----------------------------------------------------------------------------------
st.subheader("Summary per point and queue")
cols = ["point", *params, "queue"] + [c for c in summary.columns if c in (
    "service_level", "service_level_ci95", "asa_s", "asa_s_ci95", "abandon_rate",
    "abandon_rate_ci95", "occupancy", "occupancy_ci95", "target_met", "target_met_95")]
ui.table(summary[cols], key="swp.summary", labels={
    **{p: label[p] for p in params}, "target_met": "targets met (mean)",
    "target_met_95": "targets met (95% sure)"})

# ---- one point per interval --------------------------------------------------------------
if results.has_intervals:
    st.subheader("One point per interval")
    points = summary.drop_duplicates("point").set_index("point")[params]
    labels = {int(p): ", ".join(f"{label[k]} {v:g}" if isinstance(v, (int, float))
                                else f"{label[k]} {v}" for k, v in row.items())
              for p, row in points.iterrows()}
    point = st.selectbox("Point", list(labels), format_func=lambda p: f"{p}: {labels[p]}",
                         key="swp.point")
    folder = results.folder
    try:
        stamp = (folder / "summary.csv").stat().st_mtime  # type: ignore[operator]
        frame = runs.sweep_intervals(str(folder), stamp, int(point))
    except InputError as exc:
        ui.show_error(exc)
        st.stop()
    except OSError as exc:  # deleted or changed since the page read it
        ui.show_error(InputError(f"can no longer be read ({exc.strerror}): open it again",
                                 file=results.source))
        st.stop()
    frame = frame.assign(target=float("nan"), miss=False)
    st.markdown("**Service level per interval** at this point; band: 95% confidence interval")
    st.altair_chart(charts.service_level(frame), width="stretch", key="swp.point_chart")
    st.caption("The folder does not keep the targets per interval: see `target_met` in the "
               "summary above for the whole horizon.")
    st.download_button("Download this point per interval (CSV)",
                       frame.drop(columns=["target", "miss"]).to_csv(
                           index=False, date_format="%Y-%m-%dT%H:%M").encode("utf-8"),
                       file_name=f"point{point}_intervals.csv", mime="text/csv",
                       key="swp.download", on_click="ignore", icon=":material/download:")
