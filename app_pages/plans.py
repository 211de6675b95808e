"""The plan of the open scenario, for the Scenario page's need-against-roster chart.

A plan's requirement is what its roster was made to cover: per interval and queue the Erlang
requirement, lowered towards the requirement of each pool of cross-skilled queues taken as one
and raised where the simulation missed a target (:mod:`planner.plan`): the ``required``
column of the cover's coverage (``coverage.csv`` of ``peakplan plan --out``), summed over
queues here, against the per-queue Erlang sum the page draws anyway.

A plan is **for** a scenario when it was made for the same demand: the same start, interval
length, queues (channel, handle times, patience, targets...) and contacts per interval and
queue (:func:`demand_of`).  The roster may differ: the plan replaces it, and the roster is
what the page compares with the requirement.  Plans are looked for, the first that fits wins:

1. the Plan page's last result in this session (``st.session_state["plan.last"]``);
2. plan folders in the workspace, newest first: a folder holding ``planned.yaml`` and
   ``coverage.csv``, as ``peakplan plan --out runs/NAME`` writes them, and as the Plan page
   writes them under ``plans/`` when it opens its plan on the Scenario page (so the line is
   still there after a reload).  Only folders inside the workspace are read
   (:mod:`app_pages.workspace`); one that cannot be read is left out and named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from sim.errors import InputError
from sim.files import load_yaml
from sim.scenario import Scenario, scenario_from_dict
from sim.yaml_edit import tidy

from app_pages import workspace

__all__ = ["FOLDER", "PlanNeed", "Demand", "demand_of", "requirement_of", "find",
           "write_folder", "plan_folders"]

FOLDER = "plans"  # where the Plan page keeps the plans it opens on the Scenario page
LABEL = "plan (pooled, simulated)"


@dataclass(frozen=True)
class PlanNeed:
    """``required``: agents per interval (``interval_start``, ``required``: the plan's
    requirement summed over queues); ``source``: where the plan comes from, as the page says
    it."""

    required: pd.DataFrame
    source: str


@dataclass(frozen=True)
class Demand:
    """What a plan depends on besides the roster: ``meta`` (start, interval length, queues,
    as JSON) and ``contacts`` per queue and interval."""

    meta: str
    contacts: np.ndarray

    def same(self, other: Demand) -> bool:
        # Contacts with a tolerance: a plan's planned.yaml writes them as decimal text.
        return self.meta == other.meta and self.contacts.shape == other.contacts.shape \
            and bool(np.allclose(self.contacts, other.contacts, rtol=1e-6, atol=1e-6))


def demand_of(scenario: Scenario) -> Demand:
    """The demand of a scenario (equal for scenarios a plan is for: see the module doc)."""
    spec = scenario.spec
    meta = {"start": spec.start.isoformat(timespec="minutes"),
            "interval_min": float(spec.interval_min),
            "queues": {q: spec.queues[q].model_dump(mode="json", exclude_defaults=True)
                       for q in scenario.queues}}
    return Demand(meta=json.dumps(tidy(meta), sort_keys=True),
                  contacts=np.asarray(scenario.contacts, dtype=np.float64))


def requirement_of(coverage: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """The plan's requirement per interval (``interval_start``, ``required``) from its
    cover's coverage table (per interval and queue)."""
    missing = [c for c in ("interval_start", "queue", "required") if c not in coverage.columns]
    if missing:
        raise InputError(f"no column {missing[0]!r} (expected the coverage of `peakplan plan "
                         "--out`: interval_start, queue, required, ...)", file=source)
    frame = coverage.assign(interval_start=pd.to_datetime(coverage["interval_start"]),
                            required=pd.to_numeric(coverage["required"], errors="coerce"))
    if frame["required"].isna().any():
        raise InputError("a required value is not a number", file=source, field="required")
    return frame.groupby("interval_start", sort=True, as_index=False)["required"].sum()


def plan_folders() -> list[Path]:
    """Plan folders in the workspace (and its ``plans/``), newest first."""
    base = workspace.root()
    found = []
    for parent in (base, base / FOLDER):
        if not parent.is_dir() or not workspace.inside(parent):
            continue
        for p in parent.iterdir():
            try:
                planned, cover = p / "planned.yaml", p / "coverage.csv"
                if (p.is_dir() and workspace.inside(p) and workspace.inside(planned)
                        and workspace.inside(cover) and planned.is_file() and cover.is_file()):
                    found.append((cover.stat().st_mtime, p))
            except OSError:
                continue
    return [p for _, p in sorted(found, key=lambda x: x[0], reverse=True)]


@st.cache_data(show_spinner=False, max_entries=32)
def _read_folder(path: str, stamp: tuple) -> tuple[Demand, pd.DataFrame]:
    """(demand, requirement per interval) of a plan folder; ``stamp`` makes a folder
    written again read again."""
    folder = Path(path)
    shown = workspace.shown(folder)
    planned = scenario_from_dict(load_yaml(folder / "planned.yaml"),
                                 source=f"{shown}/planned.yaml", base_dir=folder)
    try:
        coverage = pd.read_csv(folder / "coverage.csv")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot be read as CSV ({type(exc).__name__})",
                         file=f"{shown}/coverage.csv") from None
    return demand_of(planned), requirement_of(coverage, source=f"{shown}/coverage.csv")


def _stamp(folder: Path) -> tuple:
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                 for p in (folder / "planned.yaml", folder / "coverage.csv"))


def find(scenario: Scenario, *, session_plan: dict | None,
         session_scenario: Scenario | None) -> tuple[PlanNeed | None, list[str]]:
    """The plan for ``scenario`` (see the module docstring), and the problems of plan folders
    that could not be read (one line each)."""
    demand = demand_of(scenario)
    if session_plan is not None and session_scenario is not None and \
            demand_of(session_scenario).same(demand):
        required = requirement_of(session_plan["plan"].cover.coverage, source="plan")
        return PlanNeed(required, f"the Plan page's plan of {session_plan['label']}"), []
    problems = []
    for folder in plan_folders():
        try:
            found, required = _read_folder(str(folder), _stamp(folder))
        except (InputError, OSError) as exc:
            problems.append(str(exc))
            continue
        if found.same(demand):
            return PlanNeed(required, f"{workspace.shown(folder)}/ (coverage.csv)"), problems
    return None, problems


def write_folder(name: str, *, planned_yaml: str, coverage: pd.DataFrame) -> Path:
    """Keep a plan in the workspace as ``plans/<name>/`` (``planned.yaml``, ``coverage.csv``:
    the files of ``peakplan plan --out``), each file written whole (renamed into place)."""
    folder = workspace.root() / FOLDER / name
    folder.mkdir(parents=True, exist_ok=True)
    if not workspace.inside(folder):
        raise InputError("the plans folder leads out of the workspace: not written",
                         file=workspace.label() + FOLDER)
    for file, text in (("planned.yaml", planned_yaml),
                       ("coverage.csv", coverage.to_csv(index=False))):
        tmp = folder / f".{file}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(folder / file)
    return folder
