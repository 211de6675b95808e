"""Planning rules: the shifts agents can be booked on, who can be booked, at what cost.

The ``planning:`` section of a scenario (or a separate rules file, the same keys at the top or
under ``planning:``)::

    planning:
      interval_min: 30                 # the grid shift starts lie on (default: the scenario's)
      patterns:
        day:   {starts: "07:00-11:00", every_min: 30, lengths_h: [8, 9],
                breaks: [{minutes: 45, from_h: 3, to_h: 5}]}   # a 45-min meal starting 3-5 h in
        short: {starts: "17:00-21:00", every_min: 30, lengths_h: [4, 5]}
        night: {starts: ["22:00", "23:00"], lengths_h: [8],
                breaks: [{minutes: 30, from_h: 3, to_h: 5}]}
      groups:
        temp: {patterns: [short, night], cost_per_hour: 1.3, max_agents: 60}
        gold: {patterns: [day], cost_per_hour: 1.0, overtime_h: 3, overtime_cost: 1.5}
      keep: roster                     # roster: the scenario's shifts stay, the plan adds;
                                       # none: every group is planned from scratch

A pattern yields every (start, length) pair: starts from a window ``"HH:MM-HH:MM"`` (both ends
included; a window may cross midnight, ``"22:00-02:00"``) every ``every_min`` minutes, or from
a list of clock times.  A break of ``minutes`` starts between ``from_h`` and ``to_h`` hours into
the shift, on the ``every_min`` grid of the break (default: the rules' ``interval_min``); the
plan chooses how many agents of a booked shift take it at each start.  Breaks are paid: a
booked shift costs ``cost_per_hour`` times its whole length.  ``max_agents`` caps a group's
agents at work at once (kept roster, booked shifts and overtime, breaks included: heads);
``overtime_h`` (at most 3 h a day, the Chinese Labour Law's cap) lets the plan extend the kept
roster's shifts of the group by up to that many hours, at ``overtime_cost`` per hour (default
1.5 times ``cost_per_hour``, the working-day rate).  ``skills`` (a list of queues) is needed
for a group the scenario does not have, and for every group when there is no scenario.

The models here check types and ranges; :func:`check_planning` checks the meaning (patterns
named by groups exist, windows are sane, starts lie on the grid, breaks fit inside every
length) and names the key path of every problem.  Units: minutes (``*_min``), hours (``*_h``),
clock times ``HH:MM`` after midnight.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from sim.errors import InputError
from sim.files import StrictModel, load_yaml, validate

__all__ = ["BreakRule", "PatternSpec", "PlanGroupSpec", "PlanningSpec", "check_planning",
           "load_rules", "planning_from_dict", "MAX_OVERTIME_H", "DAY_MIN"]

DAY_MIN = 24 * 60
MAX_OVERTIME_H = 3.0  # China, Labour Law art. 41: at most 3 hours of overtime a day
_CLOCK = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def _clock_min(text: str) -> int:
    m = _CLOCK.match(str(text).strip())
    if not m or (int(m.group(1)) == 24 and int(m.group(2)) != 0):
        raise ValueError(f"expected a time of day 'HH:MM' from 00:00 to 24:00, got {text!r}")
    return int(m.group(1)) * 60 + int(m.group(2))


def _is_multiple(value: float, step: float) -> bool:
    return step > 0 and abs(value / step - round(value / step)) < 1e-9


class BreakRule(StrictModel):
    """A break of ``minutes`` starting ``from_h`` to ``to_h`` hours into the shift."""

    minutes: float = Field(gt=0.0, le=240.0)
    from_h: float = Field(ge=0.0, le=24.0)
    to_h: float = Field(ge=0.0, le=24.0)
    every_min: float | None = Field(None, gt=0.0, description="grid of break starts (default "
                                                              "the rules' interval_min)")


class PatternSpec(StrictModel):
    """Shifts agents can be booked on: every start of ``starts`` with every length."""

    starts: str | tuple[str, ...] = Field(description="'HH:MM-HH:MM' window or a list of "
                                                      "clock times")
    every_min: float | None = Field(None, gt=0.0, description="start grid inside a window "
                                                              "(default interval_min)")
    lengths_h: tuple[float, ...] = Field(min_length=1)
    breaks: tuple[BreakRule, ...] = ()

    @field_validator("lengths_h")
    @classmethod
    def _lengths(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        for x in v:
            if not (0 < x <= 24) or not math.isfinite(x):
                raise ValueError(f"every length must be above 0 and at most 24 hours, got {x!r}")
        if len(set(v)) != len(v):
            raise ValueError("lengths must differ")
        return v

    def start_mins(self, grid_min: float) -> tuple[int, ...]:
        """The pattern's start times in minutes after midnight (checked: see check_planning)."""
        if isinstance(self.starts, str):
            a_text, b_text = self.starts.split("-")
            a, b = _clock_min(a_text) % DAY_MIN, _clock_min(b_text) % DAY_MIN
            span = (b - a) % DAY_MIN
            step = self.every_min or grid_min
            n = int(math.floor(span / step + 1e-9))
            return tuple(sorted({int(round(a + i * step)) % DAY_MIN for i in range(n + 1)}))
        return tuple(sorted({_clock_min(s) % DAY_MIN for s in self.starts}))


class PlanGroupSpec(StrictModel):
    """Who can be booked, on which patterns, at what cost."""

    patterns: tuple[str, ...] = ()
    cost_per_hour: float = Field(1.0, ge=0.0)
    max_agents: int | None = Field(None, ge=0, description="agents at work at once, at most")
    overtime_h: float = Field(0.0, ge=0.0, le=MAX_OVERTIME_H,
                              description="kept shifts may run this many hours longer")
    overtime_cost: float | None = Field(None, ge=0.0, description="per overtime hour "
                                                                 "(default 1.5 x cost)")
    skills: tuple[str, ...] | None = None

    @property
    def overtime_cost_per_hour(self) -> float:
        return self.overtime_cost if self.overtime_cost is not None else 1.5 * self.cost_per_hour


class PlanningSpec(StrictModel):
    """The ``planning:`` rules (see the module docstring)."""

    interval_min: float | None = Field(None, gt=0.0, le=DAY_MIN)
    patterns: dict[str, PatternSpec] = Field(default_factory=dict)
    groups: dict[str, PlanGroupSpec] = Field(min_length=1)
    keep: Literal["roster", "none"] = "roster"


def _fail(problem: str, *, file: str | Path | None, path: str) -> InputError:
    return InputError(problem, file=file, field=path)


def check_planning(spec: PlanningSpec, *, file: str | Path | None, prefix: str = "planning",
                   grid_min: float | None = None, queues: Collection[str] | None = None,
                   groups: Mapping[str, Collection[str]] | None = None) -> None:
    """Check the rules' meaning; every problem is an :class:`InputError` with its key path.

    ``grid_min`` is the start grid when the rules give no ``interval_min`` (the scenario's
    interval).  ``queues`` and ``groups`` (group -> its skills) are the scenario's, or None
    without a scenario: every group must then list its ``skills``.
    """
    p = f"{prefix}." if prefix else ""
    grid = spec.interval_min if spec.interval_min is not None else grid_min
    if grid is not None and not float(grid).is_integer():
        raise _fail(f"the start grid must be whole minutes, got {grid:g}", file=file,
                    path=f"{p}interval_min")
    for name, pat in spec.patterns.items():
        at = f"{p}patterns.{name}"
        if isinstance(pat.starts, str):
            parts = pat.starts.split("-")
            if len(parts) != 2:
                raise _fail(f"expected a window 'HH:MM-HH:MM' or a list of times, got "
                            f"{pat.starts!r}", file=file, path=f"{at}.starts")
            for part in parts:
                try:
                    _clock_min(part)
                except ValueError as exc:
                    raise _fail(str(exc), file=file, path=f"{at}.starts") from None
            if pat.every_min is not None and not float(pat.every_min).is_integer():
                raise _fail(f"must be whole minutes, got {pat.every_min:g}", file=file,
                            path=f"{at}.every_min")
            if grid is not None and pat.every_min is not None and \
                    not _is_multiple(pat.every_min, grid):
                raise _fail(f"must be a multiple of the start grid ({grid:g} min), got "
                            f"{pat.every_min:g}", file=file, path=f"{at}.every_min")
        else:
            if not pat.starts:
                raise _fail("expected at least one start time", file=file, path=f"{at}.starts")
            if pat.every_min is not None:
                raise _fail("every_min needs a window of starts ('07:00-11:00'), not a list",
                            file=file, path=f"{at}.every_min")
            for i, s in enumerate(pat.starts):
                try:
                    _clock_min(s)
                except ValueError as exc:
                    raise _fail(str(exc), file=file, path=f"{at}.starts[{i}]") from None
        if grid is not None:
            for s in pat.start_mins(grid):
                if not _is_multiple(s, grid):
                    raise _fail(f"start {s // 60:02d}:{s % 60:02d} is not on the "
                                f"{grid:g}-minute grid (interval_min)", file=file,
                                path=f"{at}.starts")
            for i, x in enumerate(pat.lengths_h):
                if not _is_multiple(x * 60.0, 1.0):
                    raise _fail(f"must be whole minutes, got {x:g} h", file=file,
                                path=f"{at}.lengths_h[{i}]")
        previous_end_h = 0.0
        for i, b in enumerate(pat.breaks):
            bat = f"{at}.breaks[{i}]"
            if b.to_h < b.from_h:
                raise _fail(f"the window ends before it starts (from_h {b.from_h:g}, to_h "
                            f"{b.to_h:g})", file=file, path=f"{bat}.to_h")
            if not float(b.minutes).is_integer() or \
                    (b.every_min is not None and not float(b.every_min).is_integer()) or \
                    not _is_multiple(b.from_h * 60.0, 1.0) or \
                    not _is_multiple(b.to_h * 60.0, 1.0):
                raise _fail("break times must be whole minutes", file=file, path=bat)
            if b.from_h < previous_end_h - 1e-9:
                raise _fail("break windows must follow one another without overlapping (the "
                            "previous break may still run at this one's from_h)", file=file,
                            path=f"{bat}.from_h")
            previous_end_h = b.to_h + b.minutes / 60.0
            for j, length in enumerate(pat.lengths_h):
                if b.to_h + b.minutes / 60.0 > length + 1e-9:
                    raise _fail(f"a {b.minutes:g}-min break starting up to {b.to_h:g} h in does "
                                f"not fit inside the {length:g} h shift (lengths_h[{j}])",
                                file=file, path=f"{bat}.to_h")
    for name, g in spec.groups.items():
        at = f"{p}groups.{name}"
        for i, pname in enumerate(g.patterns):
            if pname not in spec.patterns:
                known = ", ".join(spec.patterns) or "none"
                raise _fail(f"unknown pattern {pname!r} (expected one of: {known})",
                            file=file, path=f"{at}.patterns[{i}]")
        if groups is None:
            if not g.skills:
                raise _fail("without a scenario every group must name its skills (the queues "
                            "it serves: skills: [presales, aftersales])", file=file,
                            path=f"{at}.skills")
        elif name in groups:
            if g.skills is not None:
                raise _fail(f"group {name!r} is a group of the scenario: its skills are those "
                            f"of agent_groups.{name}.skills (leave skills out here)",
                            file=file, path=f"{at}.skills")
        elif not g.skills:
            raise _fail(f"{name!r} is not an agent group of the scenario (expected one of: "
                        f"{', '.join(groups)}); a new group must name its skills",
                        file=file, path=f"{at}.skills")
        if g.skills is not None and queues is not None:
            for i, q in enumerate(g.skills):
                if q not in queues:
                    raise _fail(f"unknown queue {q!r} (expected one of: "
                                f"{', '.join(queues)})", file=file, path=f"{at}.skills[{i}]")
        if g.skills is not None and len(set(g.skills)) != len(g.skills):
            raise _fail("skills must differ", file=file, path=f"{at}.skills")
        if g.overtime_cost is not None and g.overtime_h == 0:
            raise _fail("overtime_cost needs overtime_h (the hours a kept shift may run "
                        "longer)", file=file, path=f"{at}.overtime_cost")
        if spec.keep == "none" and g.overtime_h > 0:
            raise _fail("overtime extends the kept roster's shifts; with keep: none there "
                        "are none to extend", file=file, path=f"{at}.overtime_h")


def planning_from_dict(data: Any, *, file: str | Path | None, prefix: str = "planning"
                       ) -> PlanningSpec:
    """Validate plain rules data (types and ranges); the key paths start at ``prefix``."""
    loc = tuple(prefix.split(".")) if prefix else ()
    return validate(PlanningSpec, data, file=file or "rules", prefix=loc)


def load_rules(path: str | Path) -> PlanningSpec:
    """A rules file: the ``planning:`` keys at the top, or under ``planning:``."""
    data = load_yaml(path)
    if "planning" in data:
        extra = sorted(k for k in data if k != "planning")
        if extra:
            raise InputError("unknown key beside 'planning' (a rules file holds the planning "
                             "section only)", file=path, field=extra[0])
        return planning_from_dict(data["planning"], file=path, prefix="planning")
    return planning_from_dict(data, file=path, prefix="")
