"""Page 2, Scenario: open a scenario (shipped, a saved what-if, a new one over a forecast, or
an upload), build and change its roster, see need against roster and cost, simulate, save.

The open scenario is in the address (``?scenario=singles_day``, ``?whatif=peak_plus_temps``,
``?new=singles_day_forecast.csv``), so a reload opens it again; a saved what-if is a YAML file
in the workspace (:mod:`app_pages.whatifs`).  Edits are kept in ``st.session_state`` and
become a scenario through :mod:`app_pages.edits` (validated like a file: a rejected value gets
the same message, with its key path or its table cell); the edited scenario is what runs,
what the Compare page offers, and, written into the user's own file with its comments kept
(:mod:`sim.yaml_edit`), what "Download" and "Save" write.  Unsaved edits are a draft in the
workspace, named by the address (``?draft=ID``), so a reload restores them
(:mod:`app_pages.drafts`).  Need against roster draws the Erlang requirement per queue, the
roster on the floor and, when a plan was made for this demand, the plan's pooled requirement
(:mod:`app_pages.plans`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st
import yaml

from sim.errors import InputError
from sim.forecast import read_forecast
from sim.planning import load_rules
from sim.replications import rep_seed
from sim.scenario import expected_visits, scenario_from_dict
from sim.uncertainty import describe as describe_uncertainty, volume_multipliers
from sim.yaml_edit import edit_text
from planner.staffing import read_targets

from app_pages import (charts, drafts, edits, inputs, plans, roster, runs, ui, whatifs,
                       workspace)

K = f"{ui.KEEP}scn."
UPLOAD = "upload"
NO_RULES = "none: agent-hours only"
shipped = inputs.shipped_scenarios()
forecasts = inputs.shipped_forecasts()
saved = whatifs.names()
options = [*shipped, *(f"whatif:{n}" for n in saved), *(f"new:{f}" for f in forecasts),
           UPLOAD]
FIRST = "singles_day" if "singles_day" in shipped else next(iter(shipped), UPLOAD)


def label_of(choice: str) -> str:
    if choice == UPLOAD:
        return "Upload a scenario file..."
    if choice.startswith("whatif:"):
        return f"what-if: {choice[7:]} ({whatifs.shown(choice[7:])})"
    if choice.startswith("new:"):
        return f"new scenario over {choice[4:]} (blank roster)"
    return f"{choice} (scenarios/{shipped[choice].name})"


def choice_from_url() -> str:
    """The scenario the address names (a what-if first), or Singles' Day."""
    q = st.query_params
    if q.get("whatif"):
        wanted = f"whatif:{q['whatif']}"
        if wanted in options:
            return wanted
        st.warning(f"There is no saved what-if {q['whatif']!r} in the workspace (saved: "
                   f"{', '.join(saved) or 'none'}): showing {FIRST}.")
    elif q.get("new"):
        wanted = f"new:{q['new']}"
        if wanted in options:
            return wanted
        st.warning(f"There is no shipped forecast {q['new']!r}: showing {FIRST}.")
    elif q.get("scenario") is not None:
        if q["scenario"] in shipped:
            return q["scenario"]
        st.warning(f"There is no shipped scenario {q['scenario']!r} (expected one of "
                   f"{', '.join(shipped)}): showing {FIRST}.")
    return FIRST


def draft_to_restore() -> drafts.Draft | None:
    """The draft the address named at a reload (``?draft=ID``, recorded by
    :func:`drafts.follow_address`), read and its scenario chosen; None when there is none, or
    it cannot be restored (said on the page)."""
    kept = st.session_state.get(drafts.SESSION)
    if not kept or not kept.get("pending"):
        return None
    kept["pending"] = False
    try:
        draft = drafts.read(drafts.check_id(kept["id"]))
        if draft.choice == UPLOAD:
            if not draft.upload:
                raise InputError("it has no uploaded file", file=drafts.shown(draft.id))
            raw = drafts.read_upload(draft.id)
            text_ = runs.uploaded_scenario_text(draft.upload, raw.encode("utf-8"), None, None)
            st.session_state["scn.uploaded"] = {"text": text_, "name": draft.upload,
                                                "raw": raw}
        elif draft.choice not in options:
            raise InputError(f"its scenario, {draft.source}, is no longer in the workspace",
                             file=drafts.shown(draft.id))
    except InputError as exc:
        st.warning(f"The unsaved changes in the address could not be restored: {exc}",
                   icon=":material/warning:")
        drafts.forget(delete=False)
        return None
    st.session_state[K + "choice"] = draft.choice
    return draft


restoring = draft_to_restore()
if st.session_state.get(K + "choice") not in options:
    st.session_state[K + "choice"] = choice_from_url()
ui.default(K + "seed", 1)
ui.default(K + "reps", 3)
ui.default(K + "scale", 1.0)

st.title("Scenario")
st.caption("Build the roster (groups, skills, shifts, breaks), see where it falls short of "
           "the Erlang requirement and what it costs, then simulate the day: service level, "
           "queues and occupancy per interval with 95% confidence intervals over "
           "replications (`peakplan simulate`). Save it as a named what-if to compare.")

choice = st.selectbox("Scenario", options, key=K + "choice", format_func=label_of)
for k in ("scenario", "whatif", "new"):
    st.query_params.pop(k, None)
if choice.startswith("whatif:"):
    st.query_params["whatif"] = choice[7:]
elif choice.startswith("new:"):
    st.query_params["new"] = choice[4:]
elif choice != UPLOAD:
    st.query_params["scenario"] = choice


def uploaded() -> tuple[str, str, str] | None:
    """(self-contained YAML text, file name, the file as uploaded) of the uploaded scenario,
    or None; shows the problem of a bad upload as the command line would print it."""
    c1, c2 = st.columns(2)
    up = c1.file_uploader("Scenario (YAML)", type=["yaml", "yml"], key="scn.upload")
    fc = c2.file_uploader("Its forecast CSV (needed when the scenario's arrivals.file names "
                          "one)", type=["csv"], key="scn.upload_forecast")
    if up is None:
        kept = st.session_state.get("scn.uploaded")
        if kept:
            st.caption(f"Using {kept['name']}, uploaded earlier.")
            return kept["text"], kept["name"], kept["raw"]
        return None
    a, f = inputs.Upload.of(up), inputs.Upload.of(fc)
    try:
        text = runs.uploaded_scenario_text(a.name, a.data, f.name if f else None,
                                           f.data if f else None)
    except InputError as exc:
        st.session_state.pop("scn.uploaded", None)
        ui.show_error(exc)
        return None
    raw = a.data.decode("utf-8", errors="replace")
    # A file naming its forecast cannot be saved with it: its arrivals go inline instead.
    if "file:" in raw and f is not None:
        raw = text
    st.session_state["scn.uploaded"] = {"text": text, "name": a.name, "raw": raw}
    return text, a.name, raw


# ---- open it: the text that runs (arrivals inline) and the file the edits are written into --
forecast_file: Path | None = None  # the CSV a saved what-if needs beside it
try:
    if choice == UPLOAD:
        got = uploaded()
        if got is None:
            st.info("Upload a scenario file: the format of `peakplan simulate` (see the "
                    "README). Arrivals inline, or the forecast CSV uploaded with it.")
            st.stop()
        text, source, document = got
    elif choice.startswith("whatif:"):
        path = whatifs.path_of(choice[7:])
        source = whatifs.shown(choice[7:])
        document = path.read_text(encoding="utf-8")
        try:
            text = runs.shipped_text(path)
        except InputError as exc:
            raise InputError(exc.problem, file=source, field=exc.field) from None
        forecast_file = whatifs.forecast_of(path)
    elif choice.startswith("new:"):
        fname = choice[4:]
        fpath = forecasts[fname]
        tpath = inputs.SCENARIOS / fname.replace("_forecast.csv", "_targets.yaml")
        source = f"new over {fname}"
        document = edits.blank_text(fname, forecast=read_forecast(fpath),
                                    plans=read_targets(tpath) if tpath.is_file() else None,
                                    name=f"new over {fname}")
        text = inputs.scenario_text(scenario_from_dict(
            yaml.safe_load(document), source=source, base_dir=inputs.SCENARIOS))
        forecast_file = fpath
    else:
        path = shipped[choice]
        source = f"scenarios/{path.name}"
        document = path.read_text(encoding="utf-8")
        text = runs.shipped_text(path)
        forecast_file = whatifs.forecast_of(path)
except InputError as exc:
    ui.show_error(exc)
    st.stop()
base = runs.scenario_of(text, source)
token = hashlib.sha256((text + source).encode()).hexdigest()[:12]
st.session_state["scn.base"] = {"text": text, "source": source, "label": label_of(choice),
                                "token": token}

# ---- the edit tables -------------------------------------------------------------------
# The editors' keys end in ``version``, which only ever grows in a session: a data editor's
# state holds its edits as changes to rows of the table it was given, so an old key given
# fresh tables (back to a scenario seen before) would apply an old edit again, unseen.
state = st.session_state.get("scn.edits")
if state is None or state["token"] != token:
    version = 0 if state is None else state["version"] + 1
    first = edits.tables_of(base)
    # "input": what the editors of this version were given (never their output: an editor
    # given other data under the same key drops its edits); "tables": the latest edit.
    state = {"token": token, "version": version, "input": first, "tables": first}
    st.session_state["scn.edits"] = state
    st.session_state[K + "scale"] = first.scale
if restoring is not None:
    # A reload: the editors start from the draft's tables, as they were before it.
    try:
        kept_tables = edits.conform(restoring.tables, base, source=drafts.shown(restoring.id))
    except InputError as exc:
        st.warning(f"The unsaved changes in the address could not be restored: {exc}",
                   icon=":material/warning:")
        drafts.forget(delete=False)
    else:
        state = {"token": token, "version": state["version"] + 1, "input": kept_tables,
                 "tables": kept_tables}
        st.session_state["scn.edits"] = state
        st.session_state[K + "scale"] = kept_tables.scale
        st.session_state[drafts.SESSION]["restored"] = {"saved": restoring.saved,
                                                        "stale": restoring.token != token}


def reset() -> None:
    state["version"] += 1
    state["input"] = state["tables"] = edits.tables_of(base)
    st.session_state[K + "scale"] = state["tables"].scale


def discard_draft() -> None:
    reset()
    drafts.forget(delete=True)


restored = (st.session_state.get(drafts.SESSION) or {}).get("restored")
if restored:
    when = restored["saved"]
    c1, c2 = st.columns([5, 1], vertical_alignment="center")
    c1.info(f"**Unsaved changes restored**: your edits as they were at {when:%H:%M} on "
            f"{when:%Y-%m-%d}, kept as a draft in {workspace.label()}{drafts.FOLDER}/ as you "
            "go on. Save them as a what-if to keep them by name, or discard them."
            + (f" {source} has changed since: the groups, shifts, windows and handle "
               "times are the draft's, not the file's new values." if restored["stale"]
               else ""),
            icon=":material/restore:")
    c2.button("Discard draft", key="scn.discard_draft", on_click=discard_draft,
              icon=":material/delete:", help="Back to the scenario as saved; the draft "
                                             "is removed.")


# Streamlit forgets an editor's edits when a run does not draw it (another page was open):
# the latest tables then become the editors' input, under new keys.
if state["tables"] is not state["input"] and not any(
        f"scn.{t}.{token}.{state['version']}" in st.session_state
        for t in ("groups", "windows", "shifts", "queues")):
    state["input"] = state["tables"]
    state["version"] += 1
v = f"{token}.{state['version']}"
tables: edits.Tables = state["input"]
spec = base.spec
queues = list(base.queues)

tab_groups, tab_shifts, tab_queues = st.tabs(
    ["Groups and skills", "Shifts and breaks", "Queues and volume"])
SKILL_HELP = ("1, 2... (1 first) or blank (no skill); `2 after 30s`: preference 2, taken "
              "only once the contact has waited 30 s")
# The choice of groups comes from the editors' input, not from the groups just edited: a
# keyed editor with rows to add is a new widget when its column settings change, and would
# drop its edits (a shift edited, then a group renamed).  A change of groups draws the
# editors again with new input below.
offered = [str(g) for g in tables.groups["group"].dropna().tolist() if str(g).strip()]
with tab_groups:
    st.caption("One row per agent group. Per queue: the group's preference (1 first, then "
               "2...; blank = no skill); an agent who frees up takes its best-preference "
               "queue first. An overflow delay: `2 after 30s` = the group takes the queue's "
               "contacts only once they have waited 30 s (the queue's own agents first). "
               "Rename a group here (its shifts and windows follow), add one in the last "
               "row, remove one with the row's checkbox and the bin.")
    groups = st.data_editor(
        tables.groups, key=f"scn.groups.{v}", num_rows="dynamic", hide_index=True,
        height=ui.editor_height(len(tables.groups), dynamic=True),
        column_order=["group", *queues, "chat_concurrency", edits.SLOWDOWN_PCT],
        column_config={
            "group": st.column_config.TextColumn("agent group", required=True,
                                                 max_chars=40),
            **{q: st.column_config.TextColumn(q, max_chars=20, default="",
                                              help=f"skill for {q}: {SKILL_HELP}")
               for q in queues},
            "chat_concurrency": st.column_config.NumberColumn(
                "chats at once", min_value=1, max_value=20, step=1, format="%d",
                default=1),
            edits.SLOWDOWN_PCT: st.column_config.NumberColumn(
                "slowdown per extra chat (%)", min_value=0.0, max_value=200.0, step=5.0,
                format="%.0f%%", default=0.0,
                help="Extra handle time per extra chat held: 15 = +15% (the calculator's "
                     "unit).")})
    st.caption("**Skill windows**: every day from one time to another, a group's skills "
               "are these instead of its own (say, gold agents take after-sales first "
               "20:00-22:00); a contact in hand is finished under the old ones. One row per "
               "window, skills as above; add one in the last row.")
    windows = st.data_editor(
        tables.windows, key=f"scn.windows.{v}", num_rows="dynamic", hide_index=True,
        height=ui.editor_height(len(tables.windows), dynamic=True),
        column_order=["group", "from", "to", *queues],
        column_config={
            "group": st.column_config.SelectboxColumn(
                "agent group", options=offered, required=True,
                default=offered[0] if offered else None),
            "from": st.column_config.TextColumn("from", max_chars=5, default="20:00",
                                                help="HH:MM, every day"),
            "to": st.column_config.TextColumn("to", max_chars=5, default="22:00",
                                              help="HH:MM; at or before 'from': the next "
                                                   "day"),
            **{q: st.column_config.TextColumn(q, max_chars=20, default="",
                                              help=f"skill for {q} in the window: "
                                                   f"{SKILL_HELP}")
               for q in queues}})
with tab_shifts:
    st.caption("One row per shift: agents work it every day of the horizon; times HH:MM (an "
               "end at or before the start crosses midnight). Breaks: `13:00 45 min over 90 "
               "min` (a 45-minute break whose starts are spread over 90 minutes), several "
               "separated by `;`. Add a shift in the last row.")
    group_names = [str(g) for g in groups["group"].dropna().tolist() if str(g).strip()]
    shifts = st.data_editor(
        tables.shifts, key=f"scn.shifts.{v}", num_rows="dynamic", hide_index=True,
        height=ui.editor_height(len(tables.shifts), dynamic=True),
        column_config={
            "group": st.column_config.SelectboxColumn(
                "agent group", options=offered, required=True,
                default=offered[0] if offered else None),
            "start": st.column_config.TextColumn("start", max_chars=5, default="09:00"),
            "end": st.column_config.TextColumn("end", max_chars=5, default="18:00"),
            "agents": st.column_config.NumberColumn("agents", min_value=0, step=1,
                                                    format="%d", default=0),
            "breaks": st.column_config.TextColumn("breaks", width="large", default="")})
    def add_shift() -> None:
        """Append the shift of the "Add a shift" form to the latest tables."""
        ss = st.session_state
        row = {"group": ss.get("scn.add.group"), "start": ss.get("scn.add.start", ""),
               "end": ss.get("scn.add.end", ""), "agents": int(ss.get("scn.add.agents", 0)),
               "breaks": ss.get("scn.add.breaks", "")}
        latest = state["tables"]
        shifts_ = pd.concat([latest.shifts, pd.DataFrame([row])], ignore_index=True)
        state["input"] = state["tables"] = dataclasses.replace(
            latest, shifts=shifts_.astype({"agents": "int64"}))
        state["version"] += 1

    with st.popover("Add a shift", icon=":material/add:"):
        a1, a2, a3 = st.columns(3)
        a1.selectbox("Agent group", group_names, key="scn.add.group")
        a2.text_input("Start (HH:MM)", value="18:00", key="scn.add.start", max_chars=5)
        a3.text_input("End (HH:MM)", value="23:00", key="scn.add.end", max_chars=5)
        a1.number_input("Agents", min_value=0, value=10, step=1, key="scn.add.agents")
        st.text_input("Breaks", value="", key="scn.add.breaks",
                      placeholder="20:00 15 min over 30 min")
        st.button("Add it", key="scn.add.go", on_click=add_shift, type="primary")
with tab_queues:
    st.caption("Handle time without wrap-up, and the wrap-up after it (seconds): AHT = both, "
               "as on the calculator; chat: with one chat held. Volume: x the forecast per "
               "queue, times the scale for every queue below.")
    qtable = st.data_editor(
        tables.queues, key=f"scn.queues.{v}", num_rows="fixed", hide_index=True,
        height=ui.editor_height(len(tables.queues)),
        disabled=["queue", "channel"],
        column_config={"aht_s": st.column_config.NumberColumn(
                           "handle time, without wrap-up (s)", min_value=1.0, step=10.0,
                           format="%.0f s"),
                       "wrap_up_s": st.column_config.NumberColumn(
                           "wrap-up (s)", min_value=0.0, step=10.0, format="%.0f s"),
                       "scale": st.column_config.NumberColumn(
                           "volume (x forecast)", min_value=0.0, max_value=20.0, step=0.05,
                           format="%.2f")})
    scale = st.number_input("Volume scale for every queue (x the forecast)", min_value=0.0,
                            max_value=20.0, step=0.05, format="%.2f", key=K + "scale")
    uncertainty = spec.arrivals.uncertainty
    if uncertainty is not None:
        # Read-only: the tables do not edit it (an edit keeps it as the file has it).
        st.info(f"**Volume uncertainty in force** (`arrivals.uncertainty`, "
                f"{describe_uncertainty(uncertainty)}): cv **{uncertainty.cv:g}**, "
                f"correlation **{uncertainty.correlation:g}**. Each replication multiplies "
                "each queue's volume by its own draw (gamma, mean 1), so the simulation's "
                "95% confidence intervals include forecast risk, not only Poisson noise. "
                "Change it in the scenario file.", icon=":material/ssid_chart:")
    else:
        st.caption("No volume uncertainty (`arrivals.uncertainty`): the confidence "
                   "intervals are Poisson noise on the forecast only.")

tables = edits.Tables(groups=groups, shifts=shifts, queues=qtable, scale=float(scale),
                      windows=windows)
# A group added, removed or renamed changes the shifts' and windows' choice of groups: the
# tables are taken as they are now and the editors drawn again with them.
before = [str(g) for g in state["input"].groups["group"].tolist()]
after = [str(g) for g in groups["group"].tolist()]
# A shift or window added or removed changes the table's height (drawn to show every row).
resized = len(shifts) != len(state["input"].shifts) or \
    len(windows) != len(state["input"].windows)
if (before != after and all(g and g != "None" for g in after)) or resized:
    old_names = dict(zip(state["input"].groups.index, before))
    renamed_now = {old_names[i]: str(n) for i, n in zip(groups.index, groups["group"])
                   if i in old_names and old_names[i] != str(n)}
    # A group removed takes its shifts and windows with it.
    removed = set(before) - set(after) - set(renamed_now)

    def follow(frame: pd.DataFrame) -> pd.DataFrame:
        moved = frame.assign(group=frame["group"].map(lambda g: renamed_now.get(str(g), g)))
        return moved[~moved["group"].astype(str).isin(removed)].reset_index(drop=True)

    state["input"] = state["tables"] = edits.Tables(
        groups=groups.reset_index(drop=True), shifts=follow(shifts), queues=qtable,
        scale=float(scale), windows=follow(windows))
    state["version"] += 1
    st.rerun()
state["tables"] = tables

edited = None
changes: dict | None = None
try:
    edited = edits.edited_scenario(base, tables)
    changes = edits.changes_between(base, edited, edits.renames(base, groups))
    edited_doc = edit_text(document, changes, source=source)
except InputError as exc:
    ui.show_error(exc)
    # The Compare page must not offer the last accepted edit as "as edited".
    st.session_state["scn.rejected"] = {"token": token, "message": str(exc)}
    edited = None
else:
    st.session_state.pop("scn.rejected", None)

# ---- the draft: unsaved edits (a rejected one too) kept in the workspace for a reload --------
kept = st.session_state.get(drafts.SESSION)
if changes == {}:
    if kept is not None:
        drafts.forget(delete=True)
else:
    if kept is None:
        kept = st.session_state[drafts.SESSION] = {"id": drafts.new_id()}
    content = drafts.body(choice=choice, source=source, token=token, tables=tables,
                          changes=None if changes is None else len(changes),
                          upload=source if choice == UPLOAD else None)
    if kept.get("written") != content:
        try:
            if choice == UPLOAD and kept.get("upload_of") != token:
                drafts.write_upload(kept["id"], document)
                kept["upload_of"] = token
            drafts.write(kept["id"], content)
            kept["written"] = content
        except (OSError, InputError) as exc:
            st.warning(f"Your changes could not be kept as a draft in the workspace ({exc}): "
                       "a reload of the page would lose them; save them as a what-if.",
                       icon=":material/warning:")
    st.query_params["draft"] = kept["id"]

if changes:
    with st.expander(f"Your changes ({len(changes)})", expanded=False):
        st.dataframe(edits.describe(base, changes), hide_index=True, key="scn.changes")
c1, c2, c3 = st.columns([1, 1.4, 2])
c1.button("Undo all changes", on_click=reset, key="scn.reset", icon=":material/undo:",
          disabled=changes == {})  # None: an edit was rejected, and undoing helps
kept = st.session_state.get(drafts.SESSION)
if kept is not None and kept.get("written") and not kept.get("restored"):
    st.caption(f"Unsaved changes, kept as a draft in {workspace.label()}{drafts.FOLDER}/: a "
               "reload of the page keeps them. Save them as a what-if to keep them by name.")
if edited is None:
    st.stop()

edited_text = inputs.scenario_text(edited) if changes else text
st.session_state["scn.edited"] = {"text": edited_text, "source": source,
                                  "changes": len(changes or {}), "token": token,
                                  "document": edited_doc, "label": label_of(choice)}
stem = Path(source).stem.replace(" ", "_")
c2.download_button("Download the edited scenario (YAML)", edited_doc.encode("utf-8"),
                   file_name=f"{stem}_edited.yaml" if changes else f"{stem}.yaml",
                   mime="application/x-yaml", key="scn.download_yaml", on_click="ignore",
                   icon=":material/download:",
                   help="Your file with its comments, only the edited values changed. "
                        + (f"Its arrivals are the forecast {forecast_file.name}: keep it "
                           "next to the file." if forecast_file else ""))


def save_whatif() -> None:
    name = str(st.session_state.get("scn.whatif_name", "")).strip()
    try:
        whatifs.save(name, st.session_state["scn.edited"]["document"],
                     forecast=forecast_file,
                     overwrite=bool(st.session_state.get("scn.whatif_replace")))
    except InputError as exc:
        st.session_state["scn.save_error"] = str(exc)
        return
    st.session_state.pop("scn.save_error", None)
    drafts.forget(delete=True)  # saved: nothing is unsaved any more
    stem_ = whatifs.slug(name)
    # Where it came from, so that the Compare page offers the two side by side.
    st.session_state.setdefault("scn.whatif_from", {})[stem_] = choice
    st.session_state[K + "choice"] = f"whatif:{stem_}"
    st.session_state["scn.saved"] = stem_


with c3.popover("Save as a what-if", icon=":material/save:"):
    st.text_input("Name", key="scn.whatif_name", max_chars=60,
                  placeholder="peak plus 10 temps")
    st.checkbox("Replace a what-if of that name", key="scn.whatif_replace")
    st.button("Save in the workspace", key="scn.save", on_click=save_whatif,
              type="primary")
    st.caption(f"Saved as YAML in {whatifs.folder().name}/ of the workspace: "
               "`peakplan simulate` reads it too. Open, compare or delete it later.")
if st.session_state.get("scn.save_error"):
    st.error(st.session_state["scn.save_error"], icon=":material/error:")
if st.session_state.get("scn.saved") and choice == f"whatif:{st.session_state['scn.saved']}":
    st.success(f"Saved as {whatifs.shown(st.session_state['scn.saved'])}.",
               icon=":material/check:")
if choice.startswith("whatif:"):
    def delete_whatif() -> None:
        whatifs.delete(choice[7:])
        st.session_state[K + "choice"] = FIRST
        st.session_state.pop("scn.saved", None)

    c3.button(f"Delete the what-if {choice[7:]!r}", key="scn.delete", on_click=delete_whatif,
              icon=":material/delete:")

# ---- need against roster, and cost ---------------------------------------------------------
contacts = float(edited.contacts.sum())
visits = expected_visits(edited.spec)
offered = float(sum(edited.contacts[i].sum() * visits.get(q, 1.0)
                    for i, q in enumerate(edited.queues)))
st.markdown(
    f"**{edited.spec.name}**: {edited.n_intervals} intervals of "
    f"{edited.spec.interval_min:g} min from {edited.spec.start:%Y-%m-%d %H:%M}, "
    f"{len(edited.queues)} queues, {len(edited.groups)} agent groups; "
    f"**{contacts:,.0f} contacts** arrive (the forecast x the volume scale); with transfers "
    f"(a transferred contact is offered again in the queue it enters) about "
    f"**{offered:,.0f} offered** in the queues.")

cover = runs.coverage(edited_text, source)
base_cover = runs.coverage(text, source) if changes else cover
rules_files = {p.name: p for p in sorted(inputs.SCENARIOS.glob("*_rules.yaml"))}
own = getattr(edited.spec, "planning", None)
cost_options = (["the scenario's planning: rules"] if own is not None else []) + \
    list(rules_files) + [NO_RULES]
match = f"{Path(source).stem}_rules.yaml"
if st.session_state.get(K + "rules") not in cost_options:
    st.session_state[K + "rules"] = cost_options[0] if own is not None else (
        match if match in rules_files else NO_RULES)

st.subheader("Need against roster")
c1, c2 = st.columns([3, 1])
rules_pick = c2.selectbox("Costs from", cost_options, key=K + "rules",
                          help="cost_per_hour per group of planning rules; a group they do "
                               "not name costs 1.0 per hour.")
rules = None
try:
    if rules_pick == "the scenario's planning: rules":
        rules = own
    elif rules_pick != NO_RULES:
        rules = load_rules(rules_files[rules_pick])
except InputError as exc:
    ui.show_error(exc)
cost = roster.roster_cost(edited, cover, rules, rules_pick if rules else None)
base_cost = roster.roster_cost(base, base_cover, rules, rules_pick if rules else None)
per = cover.per_interval
short = per[per["gap"] > 0.5]
m = c2.container()
m.metric("Agent-hours (paid)", f"{cost.total_hours:,.1f} h",
         delta=f"{cost.total_hours - base_cost.total_hours:+,.1f} h" if changes else None,
         delta_color="off")
if cost.total_cost is not None:
    m.metric("Cost", f"{cost.total_cost:,.1f}",
             delta=f"{cost.total_cost - base_cost.total_cost:+,.1f}" if changes else None,
             delta_color="inverse", help="Agent-hours x cost_per_hour (cost units).")
else:
    m.caption("Cost needs planning rules (`planning:` in the scenario, or a rules file).")
m.metric("Most heads on duty", f"{cover.peak_heads:,.0f}")
m.metric("Intervals short of Erlang", f"{short['interval'].nunique()} of {len(per)}",
         help="Rostered agents on the floor below the Erlang requirement summed over "
              "queues (by more than half an agent). Erlang staffs each queue alone: a "
              "cross-skilled team may need less; the simulation says.")
# The plan's requirement (pooled, simulated), when a plan was made for this demand.
session_plan = st.session_state.get("plan.last")
try:
    planned_for = runs.scenario_of(session_plan["text"], session_plan["source"]) \
        if session_plan else None
except InputError:
    session_plan = planned_for = None
plan_need, plan_problems = plans.find(edited, session_plan=session_plan,
                                      session_scenario=planned_for)
if plan_need is not None:
    per = per.merge(plan_need.required.rename(columns={"required": "plan"}),
                    on="interval_start", how="left")
with c1:
    st.markdown("**Required against rostered on the floor** per interval; :red[red]: short "
                "of Erlang.")
    st.altair_chart(charts.need_vs_roster(
        per.drop(columns=["plan"], errors="ignore"),
        plan_need.required if plan_need is not None else None),
        width="stretch", key="scn.chart.need")
    hours = edited.interval_s / 3600.0
    if plan_need is not None:
        st.caption(
            f"Purple, dotted: the requirement of {plan_need.source}, "
            f"{per['plan'].sum() * hours:,.1f} agent-hours against Erlang's "
            f"{per['required'].sum() * hours:,.1f}: Erlang per queue, lowered where "
            "cross-skilled groups pool queues and raised where the simulation missed a "
            "target; what the planned roster was made to cover.")
    else:
        st.caption("Erlang staffs each queue alone. A plan for this forecast (the Plan page, "
                   "or `peakplan plan --out` into the workspace) adds its pooled, simulated "
                   "requirement here.")
    for problem in plan_problems:
        st.caption(f"A plan folder was left out: {problem}")
with st.expander("Per queue, headcount and cost per group"):
    st.markdown("**Per queue**: Erlang agents against agents on the floor in the groups that "
                "take the queue first (a group first for several queues is shared equally).")
    st.altair_chart(charts.need_by_queue(cover.per_queue, order=queues),
                    key="scn.chart.need_queue")
    cg = cost.per_group.copy()
    if changes:
        cg = cg.merge(base_cost.per_group[["group", "agent_hours"]].rename(
            columns={"agent_hours": "agent_hours_before"}), on="group", how="left")
    ui.table(cg, key="scn.cost", percent=False, labels={
        "agent_hours": "agent-hours", "cost_per_hour": "cost per hour",
        "agent_hours_before": "agent-hours before the edits"})
    if cost.unpriced:
        st.caption(f"Not in the rules, counted at 1.0 per hour: {', '.join(cost.unpriced)}.")
    ui.table(per[["interval_start", "required",
                  *(["plan"] if "plan" in per.columns else []), "on_floor", "on_duty",
                  "gap"]],
             key="scn.need_table", percent=False,
             labels={"required": "required (Erlang per queue)",
                     "plan": "required (plan: pooled, simulated)", "on_floor": "on the floor",
                     "on_duty": "on duty (breaks in)", "gap": "gap (Erlang - on the floor)"},
             fmt={"plan": "{:,.1f}"})

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
                                        "reps": reps, "token": token,
                                        "base_text": text if changes else None}
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
    effect = None
    if last.get("base_text") and last["reps"] >= 2:
        runs.check_run(last["base_text"], last["source"], reps=last["reps"])
        effect = runs.effect(last["base_text"], last["source"], last["text"],
                             last["source"], seed=last["seed"], reps=last["reps"])
except InputError as exc:
    ui.show_error(exc)
    st.stop()
intervals, groups_i, summary = sim.intervals, sim.groups, sim.summary
ran = runs.scenario_of(last["text"], last["source"])

# ---- results -----------------------------------------------------------------------------
counts = runs.miss_counts(intervals, ran)
all_row = summary[summary["queue"] == "all"].iloc[0]
burn = groups_i[groups_i["occupancy"] > roster.BURN_OUT]
m = st.columns(5)
m[0].metric("Service level", ui.fmt_percent(all_row["service_level"]),
            help="All queues: answered within the queue's target time / offered, over the "
                 "horizon.")
m[1].metric("Abandoned", ui.fmt_percent(all_row["abandon_rate"]),
            help=f"{all_row['abandoned']:,.0f} contacts, all queues.")
m[2].metric("ASA", ui.fmt_seconds(all_row["asa_s"]), help="Mean wait of answered contacts.")
m[3].metric("Intervals missing a target", f"{counts['missing']} of {counts['judged']}",
            help=f"{ran.spec.interval_min:g}-minute intervals in which at least one queue "
                 "misses its service-level, ASA or abandonment target on the mean over "
                 f"replications ({counts['cells']} interval x queue cells). Judged: queues "
                 f"with at least {runs.MIN_CONTACTS:g} contacts forecast in the interval, "
                 "after the warm-up (the review's rule), so the count of judged intervals is "
                 f"the same in every run. Clear misses (the 95% interval wholly below the "
                 f"target): {counts['sure']}.")
m[4].metric("Burn-out intervals", f"{burn['interval'].nunique()}",
            help="Intervals in which an agent group's occupancy is above 90% (the review's "
                 "flag): " + (", ".join(sorted(burn['group'].unique())) or "none"))
st.caption(f"{sim.reps} replication{'s' if sim.reps > 1 else ''}, seed {sim.seed}; "
           "± = 95% confidence interval over replications.")
ran_u = ran.spec.arrivals.uncertainty
if ran_u is not None:
    # The multipliers are a pure function of the seed (as `peakplan simulate` prints them).
    drawn = [volume_multipliers(ran, rep_seed(sim.seed, r)) for r in range(sim.reps)]
    st.caption(f"Volume uncertainty ({describe_uncertainty(ran_u)}): each replication's "
               "volume per queue is the forecast times its own draw"
               + (", so the ± intervals include forecast risk" if sim.reps > 1 else "")
               + "; drawn: " + ", ".join(
                   f"{q} x{min(d[i] for d in drawn):.2f}" + (
                       f" to x{max(d[i] for d in drawn):.2f}" if sim.reps > 1 else "")
                   for i, q in enumerate(ran.queues)) + ".")
if effect is not None:
    e = effect.set_index("queue").loc["all"]
    st.markdown(
        f"**Effect of your changes** (same seed and replications, common random numbers): "
        f"{cost.total_hours - base_cost.total_hours:+,.1f} agent-hours"
        + (f", {cost.total_cost - base_cost.total_cost:+,.1f} cost units"
           if cost.total_cost is not None else "")
        + f"; abandoned {e['abandoned']:+,.0f} ±{e['abandoned_ci95']:,.0f} contacts; "
          f"service level {e['service_level_pp']:+.1f} ±{e['service_level_pp_ci95']:.1f} pp.")

shown_queues = st.multiselect("Queues shown", list(sim.queues), default=list(sim.queues),
                              key=f"scn.shown.{token}")
sel = intervals[intervals["queue"].isin(shown_queues)]
st.markdown("**Service level per interval**, one panel per queue, against its target "
            "(dashed); band: 95% confidence interval; :red[red rings]: intervals that miss a "
            "target.")
if not sel.empty:
    st.altair_chart(charts.service_level_by_queue(sel, order=shown_queues),
                    key="scn.chart.sl")
c1, c2 = st.columns(2)
c1.markdown("**Queue length**: contacts waiting, time average per interval")
c1.altair_chart(charts.queue_length(sel), width="stretch", key="scn.chart.queue")
c2.markdown("**Occupancy per agent group**: time busy / time on the floor; "
            ":red[dotted]: 90%, above which agents burn out")
c2.altair_chart(charts.occupancy(groups_i), width="stretch", key="scn.chart.occupancy")

st.subheader("Over the horizon")
cols = ["queue", "offered", "service_level", "service_level_ci95", "target", "asa_s",
        "asa_s_ci95", "abandon_rate", "abandon_rate_ci95", "occupancy", "occupancy_ci95",
        "mean_queue", "max_queue"]
ui.table(summary[cols], key="scn.summary",
         labels={"target": "SL target", "occupancy": "occupancy of its agents",
                 "offered": "offered (transfers counted again)"})
ui.table(sim.group_summary[["group", "occupancy", "occupancy_ci95", "slot_occupancy",
                            "slot_occupancy_ci95"]], key="scn.group_summary")
by_queue = summary.set_index("queue")
callback_qs = [q for q in runs.callback_queues(ran) if q in by_queue.index]
if callback_qs and "callbacks_offered" in by_queue.columns:
    st.markdown("**Call-backs** (virtual hold), per queue that offers them, mean per "
                "replication")
    ui.table(pd.DataFrame([{"queue": q, **runs.callback_kpis(by_queue.loc[q])}
                           for q in callback_qs]), key="scn.callbacks")
    st.caption(runs.CALLBACK_NOTE)
redial_qs = [q for q in runs.redial_queues(ran) if q in by_queue.index]
if redial_qs and "redials" in by_queue.columns:
    st.markdown("**Redials**: customers who abandoned and called again, per queue, mean per "
                "replication")
    ui.table(pd.DataFrame([{"queue": q, **runs.redial_kpis(by_queue.loc[q])}
                           for q in redial_qs]), key="scn.redials")
    st.caption(runs.REDIAL_NOTE)

st.subheader("Per interval")
only = st.toggle("Only intervals that miss a target", key=K + "only_misses")
table = intervals[["interval_start", "queue", "offered", "service_level", "service_level_ci95",
                   "target", "asa_s", "abandon_rate", "mean_queue", "max_queue", "miss"]]
if only:
    table = table[table["miss"]]
ui.table(table, key="scn.intervals", highlight="miss",
         labels={"service_level_ci95": "± (95% CI)", "target": "SL target",
                 "miss": "misses a target"},
         fmt={"mean_queue": "{:,.2f}"})

out = intervals.copy()
st.download_button("Download the results (CSV)",
                   out.to_csv(index=False, date_format="%Y-%m-%dT%H:%M").encode("utf-8"),
                   file_name=f"{stem}_intervals.csv", mime="text/csv",
                   key="scn.download_csv", on_click="ignore", icon=":material/download:",
                   help="Per interval and queue: mean and 95% half-width (_ci95) over "
                        "replications, the queue's targets and whether it missed one.")
