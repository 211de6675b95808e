"""A scenario as the tables a planner edits, and the edited tables back as a scenario.

Four tables, each a data editor on the Scenario page where rows can be added and removed:

* ``groups``: one row per agent group: its name (renaming is an edit), one column per queue
  holding the group's skill for it (:func:`format_skill`: the preference, ``1`` first, then
  ``2``...; ``2 after 30s``: preference 2 with an overflow delay, the group takes the queue's
  contacts once they have waited 30 s; blank: no skill), chats held at once and the slowdown
  per extra chat **in percent** (15 = +15% handle time per extra chat, as on the calculator).
  The hidden column ``was`` keeps a row's name in the scenario, so a renamed group keeps its
  shifts and speed factors.
* ``windows``: one row per allocation window: group, ``from`` and ``to`` (``HH:MM``, daily; a
  ``to`` at or before ``from`` crosses midnight) and one column per queue in the form of the
  groups table: the skills that replace the group's own in the window.
* ``shifts``: one row per shift: group, start and end (``HH:MM``; an end at or before the
  start crosses midnight), agents, and breaks as text, ``13:00 45 min over 90 min; 17:00 15
  min`` (a break of 45 minutes whose starts are spread over 90 minutes).
* ``queues``: handle time **without** wrap-up and the wrap-up (seconds: AHT = both, the
  calculator's convention), and the volume scale of each queue (x the forecast), times the
  page's scale for every queue.

:func:`edited_data` turns the tables into scenario data, :func:`edited_scenario` validates it
(an :class:`InputError` with the key path, as for a file), and :func:`changes_between` gives
the key-path changes from the scenario to the edit (only what differs;
:data:`sim.yaml_edit.DELETE` for what is gone), which :func:`sim.yaml_edit.edit_text` writes
into the user's own file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.scenario import Scenario, scenario_from_dict
from sim.yaml_edit import DELETE, Rename, tidy

__all__ = ["Tables", "tables_of", "conform", "renames", "blank_text", "edited_data",
           "edited_scenario", "changes_between", "describe", "format_breaks", "parse_breaks",
           "format_skill", "parse_skill", "spec_data", "SLOWDOWN_PCT"]

SLOWDOWN_PCT = "chat_slowdown_pct"
_SKILL = re.compile(r"^\s*(\d+)(?:\.0*)?(?:\s+after\s+(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds|m|min|"
                    r"mins|minutes)?)?\s*$", re.IGNORECASE)
_BREAK = re.compile(r"^\s*(\d{1,2}:\d{2})\s+(\d+(?:\.\d+)?)\s*(?:m|min|mins|minutes)?"
                    r"(?:\s*(?:over|,)\s*(\d+(?:\.\d+)?)\s*(?:m|min|mins|minutes)?)?\s*$")


@dataclass(frozen=True)
class Tables:
    """The editable views of one scenario (see the module docstring for their columns);
    ``windows`` None: the groups' allocation windows as the scenario has them."""

    groups: pd.DataFrame
    shifts: pd.DataFrame
    queues: pd.DataFrame
    scale: float = 1.0
    windows: pd.DataFrame | None = None


def format_skill(preference: int, after_s: float = 0.0) -> str:
    """A skill as the tables show it: ``2``, or ``2 after 30s`` with an overflow delay."""
    return f"{preference}" + (f" after {after_s:g}s" if after_s > 0 else "")


def parse_skill(value: Any, *, queue: str, where: str) -> int | dict[str, Any] | None:
    """A skill cell as scenario data: the preference (``2``), ``{preference: 2, after_s:
    30}`` for ``2 after 30s`` (seconds, or ``m``/``min``), None for a blank cell."""
    v = _plain(value)
    if v is None:
        return None
    m = _SKILL.match(str(v))
    if not m or int(m.group(1)) < 1:
        raise InputError(f"preference {v!r} for {queue} is not a whole number from 1 (1 first; "
                         "blank: no skill), or one with an overflow delay ('2 after 30s')",
                         field=where)
    preference = int(m.group(1))
    if m.group(2) is None:
        return preference
    after = float(m.group(2)) * (60.0 if (m.group(3) or "s").lower().startswith("m") else 1.0)
    return {"preference": preference, "after_s": tidy(after)} if after > 0 else preference


def _skill_cells(skilled: Any, queues: list[str]) -> dict[str, str]:
    return {q: format_skill(skilled.skills[q], skilled.delay_s(q)) if q in skilled.skills
            else "" for q in queues}


def format_breaks(breaks: Any) -> str:
    """Breaks as the shifts table shows them: ``13:00 45 min over 90 min; 17:00 15 min``."""
    parts = []
    for b in breaks:
        text = f"{b.start} {b.minutes:g} min"
        if b.window_min:
            text += f" over {b.window_min:g} min"
        parts.append(text)
    return "; ".join(parts)


def parse_breaks(text: Any, *, where: str) -> list[dict[str, Any]]:
    """The breaks column of one shift as scenario data (``where`` names the row)."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return []
    out = []
    for part in str(text).split(";"):
        if not part.strip():
            continue
        m = _BREAK.match(part)
        if not m:
            raise InputError(f"break {part.strip()!r} is not 'HH:MM MINUTES min' or 'HH:MM "
                             "MINUTES min over WINDOW min' (e.g. '13:00 45 min over 90 min'; "
                             "several separated by ';')", field=where)
        b: dict[str, Any] = {"start": m.group(1).zfill(5), "minutes": _num(m.group(2))}
        if m.group(3) is not None and float(m.group(3)) > 0:
            b["window_min"] = _num(m.group(3))
        out.append(b)
    return out


def _num(text: str) -> int | float:
    x = float(text)
    return int(x) if x.is_integer() else x


def _scales(scenario: Scenario) -> tuple[float, dict[str, float]]:
    """(scale for every queue, scale per queue) as the tables show them."""
    scale = scenario.spec.arrivals.scale
    if isinstance(scale, dict):
        return 1.0, {q: float(scale.get(q, 1.0)) for q in scenario.queues}
    return float(scale), {q: 1.0 for q in scenario.queues}


def tables_of(scenario: Scenario) -> Tables:
    spec = scenario.spec
    queues = list(scenario.queues)
    cells = [_skill_cells(g, queues) for g in spec.agent_groups.values()]
    groups = pd.DataFrame({
        "group": pd.Series(list(spec.agent_groups), dtype=object),
        **{q: pd.Series([c[q] for c in cells], dtype=object) for q in queues},
        "chat_concurrency": pd.Series([g.chat_concurrency for g in spec.agent_groups.values()],
                                      dtype="int64"),
        SLOWDOWN_PCT: pd.Series([round(100.0 * g.chat_slowdown, 6)
                                 for g in spec.agent_groups.values()], dtype="float64"),
        "was": pd.Series(list(spec.agent_groups), dtype=object)})
    shifts = pd.DataFrame(
        [{"group": g, "start": s.start, "end": s.end, "agents": int(s.agents),
          "breaks": format_breaks(s.breaks)}
         for g, group in spec.agent_groups.items() for s in group.shifts],
        columns=["group", "start", "end", "agents", "breaks"])
    shifts = shifts.astype({"group": object, "start": object, "end": object, "agents": "int64",
                            "breaks": object})
    windows = pd.DataFrame(
        [{"group": g, "from": a.from_, "to": a.to, **_skill_cells(a, queues)}
         for g, group in spec.agent_groups.items() for a in group.allocation],
        columns=["group", "from", "to", *queues]).astype(object)
    every, per_queue = _scales(scenario)
    qtable = pd.DataFrame(
        {"queue": pd.Series(queues, dtype=object),
         "channel": pd.Series([spec.queues[q].channel for q in queues], dtype=object),
         "aht_s": [float(spec.queues[q].aht_s) for q in queues],
         "wrap_up_s": [float(spec.queues[q].wrap_up_s) for q in queues],
         "scale": [per_queue[q] for q in queues]})
    return Tables(groups=groups, shifts=shifts, queues=qtable, scale=every, windows=windows)


def conform(tables: Tables, base: Scenario, *, source: str = "draft") -> Tables:
    """``tables`` kept from an earlier session (a draft) with the columns and queue rows the
    editors of ``base`` show, in their order: a queue the scenario has gained since gets a
    blank skill column (no skill) and its own row of handle times; one it has lost is left
    out.  A table without one of the editors' other columns is an :class:`InputError`."""
    fresh = tables_of(base)
    queues = set(base.queues)

    def like(frame: pd.DataFrame, model: pd.DataFrame, name: str) -> pd.DataFrame:
        out = frame.reset_index(drop=True).copy()
        for c in model.columns:
            if c in out.columns:
                continue
            if name in ("groups", "windows") and c in queues:
                out[c] = pd.Series([""] * len(out), dtype=object)
            elif name == "groups" and c == "was":
                out[c] = pd.Series([None] * len(out), dtype=object)
            else:
                raise InputError(f"the {name} table has no column {c!r}", file=source,
                                 field=f"tables.{name}")
        out = out[list(model.columns)]
        for c in model.columns:  # text cells as text (a number in a file is a text here)
            if model[c].dtype == object:
                out[c] = pd.Series([v if v is None else str(v) for v in out[c]],
                                   dtype=object, index=out.index)
        return out

    qtable = like(tables.queues, fresh.queues, "queues")
    qtable = qtable[qtable["queue"].isin(queues)].drop_duplicates("queue")
    qtable = pd.concat([qtable, fresh.queues[~fresh.queues["queue"].isin(qtable["queue"])]],
                       ignore_index=True)
    order = {q: i for i, q in enumerate(base.queues)}
    qtable = qtable.sort_values("queue", key=lambda s: s.map(order), kind="stable")
    qtable["channel"] = qtable["queue"].map(
        dict(zip(fresh.queues["queue"], fresh.queues["channel"])))
    windows = fresh.windows if tables.windows is None else like(tables.windows,
                                                                  fresh.windows, "windows")
    return Tables(groups=like(tables.groups, fresh.groups, "groups"),
                  shifts=like(tables.shifts, fresh.shifts, "shifts"),
                  queues=qtable.reset_index(drop=True), scale=float(tables.scale),
                  windows=windows)


def _plain(value: Any) -> Any:
    """A cell as a plain Python value (None for an empty cell, whole floats as int)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def spec_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario's spec as plain data without defaults (what a file needs to say), its
    arrivals reduced to ``scale`` and the keys the tables do not edit (``uncertainty``): the
    two sides of :func:`changes_between`."""
    data = scenario.spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data["arrivals"] = {"scale": scenario.spec.arrivals.scale,
                        **_arrivals_kept(scenario)}
    for g in data.get("agent_groups", {}).values():
        # A window as a planner writes it: from, to, then its skills.
        if g.get("allocation"):
            g["allocation"] = [{"from": a["from"], "to": a["to"], "skills": a["skills"],
                                **{k: v for k, v in a.items()
                                   if k not in ("from", "to", "skills")}}
                               for a in g["allocation"]]
    return data


def renames(base: Scenario, groups: pd.DataFrame) -> dict[str, str]:
    """{name in the scenario: name in the table} of the groups renamed in the table."""
    out = {}
    for row in groups.itertuples(index=False):
        was, now = _plain(getattr(row, "was", None)), _plain(row.group)
        if was in base.spec.agent_groups and now and now != was:
            out[str(was)] = str(now)
    return out


def edited_data(base: Scenario, tables: Tables) -> dict[str, Any]:
    """Scenario data (arrivals inline, unscaled, with the edited scale) of the edited tables.

    Raises :class:`InputError` naming the table, the row and the column for a cell the
    scenario cannot take (a preference that is not a whole number, a break in another form);
    everything else is left to the scenario's own validation."""
    spec = base.spec
    data = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    queues = list(base.queues)
    groups: dict[str, dict[str, Any]] = {}
    was_of: dict[str, str | None] = {}
    for n, row in enumerate(tables.groups.to_dict("records"), start=1):
        name = _plain(row.get("group"))
        was = _plain(row.get("was"))
        if name is None:
            if all(_plain(row.get(q)) is None for q in queues):
                continue  # an empty row just added
            raise InputError("a group needs a name", field=f"groups table, row {n}")
        name = str(name)
        if name in groups:
            raise InputError(f"two groups are named {name!r} (expected different names)",
                             field=f"groups table, row {n}")
        old = spec.agent_groups.get(str(was)) if was is not None else None
        skills = _skills(row, queues, where=f"groups table, {name}")
        g: dict[str, Any] = dict(old.model_dump(mode="json", by_alias=True,
                                                exclude_defaults=True)) if old else {}
        g["skills"] = skills
        if tables.windows is not None:
            g.pop("allocation", None)  # the windows table says which the group has
        g.pop("speed", None)
        g["_speed"] = dict(old.speed) if old else {}
        conc = _plain(row.get("chat_concurrency"))
        g["chat_concurrency"] = int(conc) if conc is not None else 1
        slow = _plain(row.get(SLOWDOWN_PCT))
        g["chat_slowdown"] = tidy(float(slow) / 100.0) if slow is not None else 0.0
        g["shifts"] = []
        groups[name] = g
        was_of[name] = str(was) if was is not None else None
    moved = {w: n for n, w in was_of.items() if w is not None and w != n}
    for where, group, row, cells in _group_rows(tables.shifts, "shifts",
                                                ("start", "end", "agents"), groups, moved):
        agents = cells[2]
        if agents is None:
            agents = 0
        shift: dict[str, Any] = {"start": cells[0] or "", "end": cells[1] or "",
                                 "agents": int(agents) if isinstance(agents, (int, float))
                                 else agents}
        breaks = parse_breaks(row.get("breaks"), where=f"{where}, breaks")
        if breaks:
            shift["breaks"] = breaks
        groups[group]["shifts"].append(shift)
    rules = (data.get("planning") or {}).get("groups")
    if moved and isinstance(rules, dict):
        # A renamed group keeps its planning rules (costs, patterns, caps).
        data["planning"]["groups"] = {moved.get(k, k) if moved.get(k, k) not in rules
                                      else k: v for k, v in rules.items()}
    if tables.windows is not None:
        _windows(tables.windows, groups, moved, queues)
    for g in groups.values():
        # A speed factor stays while the group takes the queue (in its skills or a window's).
        taken = set(g["skills"]) | {q for a in g.get("allocation", []) for q in a["skills"]}
        speed = {q: f for q, f in g.pop("_speed").items() if q in taken}
        if speed:
            g["speed"] = speed
    data["agent_groups"] = groups
    qrows = {str(r["queue"]): r for r in tables.queues.to_dict("records")}
    for q in queues:
        r = qrows.get(q, {})
        for col in ("aht_s", "wrap_up_s"):
            v = _plain(r.get(col))
            if v is not None:
                data["queues"][q][col] = tidy(v)
        if data["queues"][q].get("wrap_up_s") == 0:
            data["queues"][q].pop("wrap_up_s")
    every = float(tables.scale)
    per = {q: float(_plain(qrows.get(q, {}).get("scale")) if _plain(
        qrows.get(q, {}).get("scale")) is not None else 1.0) for q in queues}
    if all(math.isclose(v, 1.0) for v in per.values()):
        scale: float | dict[str, float] = tidy(every)
    else:
        scale = {q: tidy(every * v) for q, v in per.items()}
    data["arrivals"] = {"scale": scale, **_arrivals_kept(base),
                        **{q: [float(x) for x in _unscaled(base, q)] for q in queues}}
    return data


def _arrivals_kept(base: Scenario) -> dict[str, Any]:
    """The keys of ``arrivals`` the tables do not edit (``uncertainty``, and any declared key
    added later), as ``base`` has them: the volume lists and ``scale`` are the tables',
    ``file`` is replaced by the lists inline."""
    from sim.scenario import ArrivalsSpec

    dumped = base.spec.arrivals.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return {k: v for k, v in dumped.items()
            if k in ArrivalsSpec.model_fields and k not in ("file", "scale")}


def _skills(row: dict[str, Any], queues: list[str], *, where: str) -> dict[str, Any]:
    """The skill cells of a row of the groups or windows table as scenario data."""
    out = {}
    for q in queues:
        skill = parse_skill(row.get(q), queue=q, where=where)
        if skill is not None:
            out[q] = skill
    return out


def _group_rows(table: pd.DataFrame, label: str, columns: Sequence[str],
                groups: dict[str, dict[str, Any]], moved: dict[str, str]
                ) -> Iterator[tuple[str, str, dict[str, Any], list[Any]]]:
    """``(where, group, row, cells)`` of each filled row of a table keyed by group (shifts,
    windows): empty rows just added are skipped, a renamed group is followed, and a group not
    in the groups table is an error naming the row."""
    for n, row in enumerate(table.to_dict("records"), start=1):
        group = _plain(row.get("group"))
        cells = [_plain(row.get(c)) for c in columns]
        if group is None and all(c is None for c in cells):
            continue  # an empty row just added
        where = f"{label} table, row {n}"
        group = moved.get(str(group), str(group)) if group is not None else None
        if group not in groups:
            raise InputError(f"group {group!r} is not a group of the groups table (expected "
                             f"one of {', '.join(groups) or 'none'})", field=where)
        yield where, group, row, cells


def _windows(table: pd.DataFrame, groups: dict[str, dict[str, Any]], moved: dict[str, str],
             queues: list[str]) -> None:
    """The windows table's rows as the ``allocation`` of ``groups`` (in place)."""
    from sim.scenario import clock_to_min

    for where, group, row, _ in _group_rows(table, "windows", ("from", "to", *queues),
                                            groups, moved):
        window: dict[str, Any] = {}
        for col in ("from", "to"):
            value = _plain(row.get(col))
            if value is None:
                raise InputError("is empty (expected a time of day 'HH:MM', 00:00 to 24:00)",
                                 field=f"{where} ({group}), {col}")
            try:
                clock_to_min(str(value))
            except ValueError:
                raise InputError(f"{value!r} is not a time of day 'HH:MM' (00:00 to 24:00)",
                                 field=f"{where} ({group}), {col}") from None
            window[col] = str(value).strip().zfill(5)
        window["skills"] = _skills(row, queues, where=f"{where} ({group})")
        if not window["skills"]:
            raise InputError("a window needs at least one skill (a preference for a queue: "
                             "the skills the group has in the window instead of its own)",
                             field=f"{where} ({group})")
        groups[group].setdefault("allocation", []).append(window)


def _unscaled(base: Scenario, queue: str) -> np.ndarray:
    i = base.queues.index(queue)
    scale = base.spec.arrivals.scale
    factor = scale.get(queue, 1.0) if isinstance(scale, dict) else scale
    return base.contacts[i] / factor if factor else base.contacts[i] * 0.0


def edited_scenario(base: Scenario, tables: Tables) -> Scenario:
    """The edited tables as a validated scenario (same source and folder as ``base``)."""
    return scenario_from_dict(edited_data(base, tables), source=base.source,
                              base_dir=base.base_dir)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def _diff(old: Any, new: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for k in old:
            if k not in new:
                out[f"{path}.{k}" if path else k] = DELETE
        for k, v in new.items():
            p = f"{path}.{k}" if path else k
            if k not in old:
                out[p] = v
            else:
                _diff(old[k], v, p, out)
        return
    if isinstance(old, list) and isinstance(new, list) and old and new and \
            all(isinstance(x, dict) for x in old + new):
        # Shifts and breaks: item by item, so a changed head count edits one value of the
        # file; added items at the end, removed ones deleted.
        for i, v in enumerate(new):
            if i < len(old):
                _diff(old[i], v, f"{path}[{i}]", out)
            else:
                out[f"{path}[{i}]"] = v
        for i in range(len(new), len(old)):
            out[f"{path}[{i}]"] = DELETE
        return
    if not _same(old, new):
        out[path] = new


def changes_between(base: Scenario, edited: Scenario,
                    renamed: dict[str, str] | None = None) -> dict[str, Any]:
    """Key-path changes from ``base`` to ``edited`` (values as plain data, :data:`DELETE`
    where a key or item is gone, :class:`~sim.yaml_edit.Rename` for a group renamed, see
    :func:`renames`): what differs, nothing else.  A value set back to its default is a
    deletion of the key (the file then says nothing, as a default needs)."""
    out: dict[str, Any] = {}
    old = spec_data(base)
    new_groups = spec_data(edited)["agent_groups"]
    moved = {a: b for a, b in (renamed or {}).items()
             if a in old["agent_groups"] and b in new_groups and b not in old["agent_groups"]}
    if moved:
        old["agent_groups"] = {moved.get(k, k): v for k, v in old["agent_groups"].items()}
        for a, b in moved.items():
            out[f"agent_groups.{a}"] = Rename(b)
        # The planning rules of a renamed group are renamed with it (edited_data does so).
        rules = (old.get("planning") or {}).get("groups")
        if isinstance(rules, dict):
            old["planning"]["groups"] = {moved.get(k, k): v for k, v in rules.items()}
            for a, b in moved.items():
                if a in rules and b not in rules:
                    out[f"planning.groups.{a}"] = Rename(b)
    _diff(old, spec_data(edited), "", out)
    return out


def describe(base: Scenario, changes: dict[str, Any]) -> pd.DataFrame:
    """The changes as a table: key path, value in the scenario, edited value."""
    spec = spec_data(base)
    rows = []
    for path, new in changes.items():
        node: Any = spec
        for part in path.replace("[", ".").replace("]", "").split("."):
            if isinstance(node, list):
                node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
            elif isinstance(node, dict):
                node = node.get(part)
            else:
                node = None
        edited = "(removed)" if new is DELETE else \
            f"renamed {str(new)!r}" if isinstance(new, Rename) else _show(new)
        rows.append({"key path": path, "scenario": _show(node) if not isinstance(new, Rename)
                     else path.rsplit(".", 1)[-1], "edited": edited})
    return pd.DataFrame(rows, columns=["key path", "scenario", "edited"])


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) or "(none)"
    if isinstance(value, list):
        return "; ".join(_show(v) for v in value) or "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


def blank_text(forecast_name: str, *, forecast: Any, plans: dict[str, Any] | None,
               name: str) -> str:
    """A new scenario file (YAML text with comments) over a forecast: its queues (channel,
    handle time, patience and targets from ``plans``, a targets file's queues, where given),
    one group ``team`` taking every queue and one empty shift to fill in."""
    from sim.yaml_edit import dump, load

    queues: dict[str, Any] = {}
    for q in forecast.queues:
        plan = (plans or {}).get(q)
        spec: dict[str, Any] = {"channel": plan.channel if plan else "voice"}
        aht = plan.aht_s if plan and plan.aht_s else None
        if aht is None and "aht_s" in forecast.frame.columns:
            col = forecast.frame.loc[forecast.frame["queue"] == q, "aht_s"].dropna()
            aht = float(col.mean()) if len(col) else None
        spec["aht_s"] = tidy(float(aht or 300.0))
        if plan and plan.patience_s:
            spec["patience_s"] = plan.patience_s
        if plan:
            spec["target"] = plan.target.model_dump(exclude_none=True)
        queues[q] = spec
    start = forecast.starts.min()
    lines = [
        f"# A new scenario over {forecast_name}, made in the app: add groups and shifts.",
        f"name: {name}",
        f"start: {start:%Y-%m-%dT%H:%M}",
        f"interval_min: {forecast.interval_min:g}",
        "arrivals:",
        f"  file: {forecast_name}",
        "  scale: 1.0",
    ]
    text = "\n".join(lines) + "\n"
    doc = load(text)
    doc["queues"] = queues
    doc["agent_groups"] = {"team": {"skills": {q: 1 for q in forecast.queues},
                                    "shifts": [{"start": "08:00", "end": "17:00",
                                                "agents": 0}]}}
    return _tidy_new(dump(doc))


def _tidy_new(text: str) -> str:
    """Clock times of a new file quoted, as a planner writes them (PyYAML reads 08:00 as a
    number otherwise)."""
    from sim.yaml_edit import edit_text, load

    doc = load(text)
    changes = {}
    for g, group in doc["agent_groups"].items():
        for i, s in enumerate(group["shifts"]):
            changes[f"agent_groups.{g}.shifts[{i}]"] = dict(s)
    return edit_text(text, changes)
