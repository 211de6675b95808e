"""A scenario as the tables a planner edits, and the edited tables back as key-path changes.

What planners change most, without touching YAML: agents per shift and group (and the shift's
hours), which queues each group takes and in which order (a grid of groups x queues holding the
preference, 1 first, blank for no skill), chat concurrency, handle times per queue and the
volume.  The edited tables become ``{key path: value}`` changes, only where a value differs
from the scenario, which :meth:`Scenario.with_changes` applies and validates like any scenario
file: a rejected value gets the same message, with its key path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.scenario import Scenario

__all__ = ["Tables", "tables_of", "changes_from", "describe"]


@dataclass(frozen=True)
class Tables:
    """The editable views of one scenario (see :func:`tables_of` for their columns)."""

    shifts: pd.DataFrame
    skills: pd.DataFrame
    groups: pd.DataFrame
    queues: pd.DataFrame
    scale: float = 1.0


def tables_of(scenario: Scenario) -> Tables:
    """``shifts``: group, shift (index in the group), start, end, agents; ``skills``: one row per
    group, one nullable whole-number column per queue; ``groups``: group, chat_concurrency,
    chat_slowdown; ``queues``: queue, channel, aht_s, wrap_up_s."""
    spec = scenario.spec
    shifts = pd.DataFrame(
        [{"group": g, "shift": i, "start": s.start, "end": s.end, "agents": int(s.agents)}
         for g, group in spec.agent_groups.items() for i, s in enumerate(group.shifts)],
        columns=["group", "shift", "start", "end", "agents"])
    shifts = shifts.astype({"group": object, "shift": "int64", "start": object, "end": object,
                            "agents": "int64"})
    skills = pd.DataFrame(
        {q: pd.array([group.skills.get(q) for group in spec.agent_groups.values()],
                     dtype="Int64") for q in scenario.queues},
        index=pd.Index(list(spec.agent_groups), name="group", dtype=object))
    groups = pd.DataFrame(
        {"group": list(spec.agent_groups),
         "chat_concurrency": [g.chat_concurrency for g in spec.agent_groups.values()],
         "chat_slowdown": [float(g.chat_slowdown) for g in spec.agent_groups.values()]}
    ).astype({"group": object, "chat_concurrency": "int64", "chat_slowdown": "float64"})
    queues = pd.DataFrame(
        {"queue": list(spec.queues),
         "channel": [q.channel for q in spec.queues.values()],
         "aht_s": [float(q.aht_s) for q in spec.queues.values()],
         "wrap_up_s": [float(q.wrap_up_s) for q in spec.queues.values()]}
    ).astype({"queue": object, "channel": object})
    return Tables(shifts=shifts, skills=skills, groups=groups, queues=queues, scale=1.0)


def _plain(value: Any) -> Any:
    """A cell as a plain Python value for the scenario (whole numbers as int)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _differs(new: Any, old: Any) -> bool:
    if isinstance(new, (int, float)) and isinstance(old, (int, float)) \
            and not isinstance(new, bool):
        return not math.isclose(float(new), float(old), rel_tol=0.0, abs_tol=1e-12)
    return new != old


def changes_from(base: Scenario, edited: Tables) -> dict[str, Any]:
    """Key-path changes that turn ``base`` into the edited tables (only what differs).

    A skill taken away also takes away the group's speed factor for that queue (the scenario
    allows a speed only for a group's skills, and the app has no speed column to fix it in).
    """
    spec = base.spec
    out: dict[str, Any] = {}
    for row in edited.shifts.itertuples(index=False):
        g, i = str(row.group), int(row.shift)
        old = spec.agent_groups[g].shifts[i]
        for col in ("start", "end", "agents"):
            new = _plain(getattr(row, col))
            if new is None:
                new = ""  # a cleared cell: let the scenario name what it expected
            if _differs(new, getattr(old, col)):
                out[f"agent_groups.{g}.shifts[{i}].{col}"] = new
    for g, row in edited.skills.iterrows():
        group = spec.agent_groups[str(g)]
        skills = {str(q): _plain(v) for q, v in row.items() if _plain(v) is not None}
        if skills != dict(group.skills):
            out[f"agent_groups.{g}.skills"] = skills
            speed = {q: f for q, f in group.speed.items() if q in skills}
            if speed != dict(group.speed):
                out[f"agent_groups.{g}.speed"] = speed
    for row in edited.groups.itertuples(index=False):
        group = spec.agent_groups[str(row.group)]
        for col in ("chat_concurrency", "chat_slowdown"):
            new = _plain(getattr(row, col))
            if new is not None and _differs(new, getattr(group, col)):
                out[f"agent_groups.{row.group}.{col}"] = new
    for row in edited.queues.itertuples(index=False):
        queue = spec.queues[str(row.queue)]
        for col in ("aht_s", "wrap_up_s"):
            new = _plain(getattr(row, col))
            if new is not None and _differs(new, getattr(queue, col)):
                out[f"queues.{row.queue}.{col}"] = new
    if _differs(float(edited.scale), 1.0):
        out["arrivals.scale"] = float(edited.scale)
    return out


def describe(base: Scenario, changes: dict[str, Any]) -> pd.DataFrame:
    """The changes as a table: key path, value in the scenario, edited value."""
    spec = base.spec.model_dump(mode="json", by_alias=True)
    spec["arrivals"] = {"scale": 1.0}
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
        rows.append({"key path": path, "scenario": _show(node), "edited": _show(new)})
    return pd.DataFrame(rows, columns=["key path", "scenario", "edited"])


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)
