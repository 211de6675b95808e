"""The scenario: queues, arrivals, agent groups with skills and shifts, transfers.

One format for the CLI, the app, sweeps and reviews (see the README for an annotated example).
A scenario file is read and validated once, at the edge, into a frozen :class:`Scenario`; every
problem is an :class:`~sim.errors.InputError` that names the file, the key path and what was
expected.  Cross-references (skills and transfers name known queues, every queue with contacts
has a group able to serve it, the forecast matches the queues and the interval) are checked here,
so the simulator never meets a bad scenario.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError,
                      field_serializer, field_validator, model_validator)

from sim.errors import InputError, count
from sim.files import StrictModel, load_yaml, quote, validate
from sim.forecast import read_forecast
from sim.planning import PlanningSpec, check_planning
from sim.targets import QueuePlan, Target
from sim.uncertainty import multiplier_ppf

__all__ = ["QueueSpec", "CallbackSpec", "RedialSpec", "BreakSpec", "ShiftSpec", "SkillSpec",
           "AllocationSpec", "GroupSpec", "TransferSpec", "ArrivalsSpec",
           "UncertaintySpec", "ScenarioSpec", "Scenario", "load_scenario", "scenario_from_dict",
           "clock_to_min", "window_occurrences", "expected_visits", "check_run_size", "LIMITS"]

MAX_SCALE = 1000.0
MAX_CONTACTS = 1e7  # per interval and queue: far beyond any contact centre, within numpy's reach


@dataclass(frozen=True)
class Limits:
    """What one run may ask for: ten times the largest team and peak peakplan is meant for
    (5,000 agents; 11.11 at 5x a normal day), so that a typo (``agents: 1000000``,
    ``--reps 100000``) is refused at once with its estimate instead of running for hours or
    ending in a MemoryError.  The README lists them."""

    agents: int = 100_000            # rostered agents (all shifts of all groups)
    # Contacts offered in one replication, transfers included: the records of 14 million
    # contacts took 4.9 GB, so 2e7 keeps one replication within a third of a 24 GB machine.
    contacts_per_rep: float = 2e7
    reps: int = 10_000               # replications of one run
    points: int = 100_000            # points of a sweep
    horizon_days: float = 92.0       # a quarter: a peak season, not a year of 15-min intervals
    run_contacts: float = 1e9        # contacts over every replication and point of one job (hours)


LIMITS = Limits()
_CLOCK = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")
Distribution = Literal["exponential", "lognormal", "gamma"]


def clock_to_min(text: str) -> int:
    """'HH:MM' (00:00 to 24:00) as minutes after midnight."""
    m = _CLOCK.match(str(text).strip())
    if not m or (int(m.group(1)) == 24 and int(m.group(2)) != 0):
        raise ValueError(f"expected a time of day 'HH:MM' from 00:00 to 24:00, got {quote(text)}")
    return int(m.group(1)) * 60 + int(m.group(2))


def _clock_field(v: str) -> str:
    """Field validator for clock times; the value itself is not repeated in the message, as
    sim.files.validate appends ", got '25:00'"."""
    try:
        clock_to_min(v)
    except ValueError:
        raise ValueError("expected a time of day 'HH:MM' from 00:00 to 24:00") from None
    return v


_Strict = StrictModel
MAX_REDIAL = 0.95  # a redial probability of 1 would make a customer call until answered


class CallbackSpec(_Strict):
    """Virtual hold: a caller still waiting ``offer_after_s`` after entering the queue is
    offered a call-back and accepts with probability ``accept``; the call-back is due within
    ``promise_s`` of acceptance (see sim.engine for how agents serve it)."""

    offer_after_s: float = Field(ge=0.0, description="wait in the queue before the offer")
    accept: float = Field(ge=0.0, le=1.0, description="share of callers offered who accept")
    promise_s: float = Field(gt=0.0, description="call back within this long of acceptance")


class RedialSpec(_Strict):
    """A customer who abandons the queue calls it again with ``probability``, after an
    exponential delay of mean ``after_s``."""

    probability: float = Field(ge=0.0, le=MAX_REDIAL,
                               description=f"at most {MAX_REDIAL:g} (the expected calls of a "
                                           "customer who always abandons, 1 / (1 - p), stay "
                                           "bounded)")
    after_s: float = Field(gt=0.0, description="mean delay before calling again")


class QueueSpec(_Strict):
    """One contact type.  Times in seconds."""

    channel: Literal["chat", "voice"] = "voice"
    aht_s: float = Field(gt=0.0, description="mean handle time (chat: with one chat held), "
                                             "wrap-up excluded")
    handle_time: Distribution = "exponential"
    handle_time_cv: float = Field(1.0, gt=0.0, le=5.0)
    wrap_up_s: float = Field(0.0, ge=0.0)
    patience_s: float | None = Field(None, gt=0.0, description="mean patience; omit for "
                                                               "customers who never leave")
    patience: Distribution = "exponential"
    patience_cv: float = Field(1.0, gt=0.0, le=5.0)
    target: Target = Target()
    priority: int = Field(1, ge=1, description="1 is served first when agents choose")
    callback: CallbackSpec | None = None
    redial: RedialSpec | None = None

    @model_validator(mode="after")
    def _cv_needs_distribution(self) -> QueueSpec:
        if self.handle_time == "exponential" and self.handle_time_cv != 1.0:
            raise ValueError("handle_time_cv needs handle_time: lognormal or gamma "
                             "(an exponential has cv 1)")
        if self.patience == "exponential" and self.patience_cv != 1.0:
            raise ValueError("patience_cv needs patience: lognormal or gamma")
        if self.redial is not None and self.patience_s is None:
            raise ValueError("redial needs patience_s (customers who never abandon never "
                             "call again)")
        return self


class BreakSpec(_Strict):
    start: str
    minutes: float = Field(ge=1.0, description="at least a minute")
    window_min: float = Field(0.0, ge=0.0, description="spread the agents' break starts "
                                                       "evenly over this many minutes")

    _start = field_validator("start")(_clock_field)


class ShiftSpec(_Strict):
    start: str
    end: str
    agents: int = Field(ge=0)
    breaks: tuple[BreakSpec, ...] = ()

    _clock = field_validator("start", "end")(_clock_field)

    @field_validator("start")
    @classmethod
    def _start_in_day(cls, v: str) -> str:
        if clock_to_min(v) == 24 * 60:
            raise ValueError("a shift starts from 00:00 to 23:59 (24:00 is an end)")
        return v

    @property
    def start_min(self) -> int:
        return clock_to_min(self.start)

    @property
    def length_min(self) -> int:
        """Shift length; an end at or before the start crosses midnight."""
        length = clock_to_min(self.end) - self.start_min
        return length if length > 0 else length + 24 * 60

    @model_validator(mode="after")
    def _breaks_inside(self) -> ShiftSpec:
        offsets = []
        for i, b in enumerate(self.breaks):
            offset = (clock_to_min(b.start) - self.start_min) % (24 * 60)
            if offset + b.window_min + b.minutes > self.length_min:
                raise ValueError(f"breaks[{i}] at {b.start} ({b.minutes:g} min) is not inside "
                                 f"the shift {self.start}-{self.end}")
            offsets.append(offset)
        # Agent j of n takes each break at offset + window * j / n (sim.agents): two breaks
        # of one agent start at linear functions of the same share f in [0, 1), so they stay
        # apart for every agent when they are apart at both ends of that range.
        for i, (bi, oi) in enumerate(zip(self.breaks, offsets)):
            for j, (bj, oj) in enumerate(zip(self.breaks, offsets)):
                if j <= i:
                    continue
                gaps = [(oj + bj.window_min * f) - (oi + bi.window_min * f) for f in (0.0, 1.0)]
                if not (all(d >= bi.minutes for d in gaps) or all(d <= -bj.minutes
                                                                  for d in gaps)):
                    raise ValueError(f"breaks[{i}] ({bi.start}, {bi.minutes:g} min) and "
                                     f"breaks[{j}] ({bj.start}, {bj.minutes:g} min) overlap "
                                     "(expected one break after the other for every agent)")
        return self


SKILL_EXAMPLE = "{preference: 2, after_s: 30}"


class SkillSpec(_Strict):
    """A skill written out: its preference and the overflow delay, the wait in the queue
    after which the group takes the queue's contacts (0: at once)."""

    preference: int = Field(ge=1, strict=True, description="1 first (a whole number, as the "
                                                          "bare form)")
    after_s: float = Field(0.0, ge=0.0, description="take contacts once they have waited "
                                                    "this long in the queue")


def _nested_errors(exc: ValidationError, key: str) -> ValidationError:
    """``exc`` with ``key`` put before each error's location: raised inside a field
    validator, pydantic reports the errors at the field's path + that location
    (``agent_groups.gold.skills.presales.after_s``)."""
    return ValidationError.from_exception_data(exc.title, [
        {"type": e["type"], "loc": (key, *e["loc"]), "input": e["input"],
         **({"ctx": e["ctx"]} if "ctx" in e else {})}
        for e in exc.errors(include_url=False)])


def _skills_field() -> Any:
    return Field(description=f"queue -> preference (1 first), or queue -> {SKILL_EXAMPLE}")


class _Skilled(_Strict):
    """Skills as users write them, in a field ``skills`` of the subclass: ``{queue:
    preference}``, or a preference with an overflow delay, ``{queue: {preference: 2,
    after_s: 30}}``.

    ``skills`` is always ``queue -> preference`` (an int), whatever the form written; the
    delays are kept apart (:meth:`delay_s`), and written back in the user's form by
    ``model_dump`` (a mapping only where a delay is set)."""

    _delays: dict[str, float] = PrivateAttr(default_factory=dict)

    @field_validator("skills", mode="before", check_fields=False)
    @classmethod
    def _skills(cls, v: Any) -> Any:
        # Before pydantic's coercion, which would read `true` as preference 1.
        if not isinstance(v, dict):
            return v
        if not v:
            raise ValueError("a group needs at least one skill")
        out: dict[Any, Any] = {}
        for q, p in v.items():
            if isinstance(p, dict):
                try:
                    out[q] = SkillSpec.model_validate(p).preference
                except ValidationError as exc:
                    raise _nested_errors(exc, str(q)) from None
                continue
            if isinstance(p, bool) or not isinstance(p, int) or p < 1:
                raise ValueError(f"preference of {quote(q)} must be a whole number >= 1, "
                                 f"got {quote(p)}" + ("" if isinstance(p, (int, float)) else
                                                      f" (or a mapping: {SKILL_EXAMPLE})"))
            out[q] = p
        return out

    @model_validator(mode="wrap")
    @classmethod
    def _keep_delays(cls, data: Any, handler: Any) -> Any:
        model = handler(data)
        raw = data.get("skills") if isinstance(data, dict) else None
        if isinstance(raw, dict):
            # Valid by now (handler raised otherwise): every mapping is a SkillSpec.
            delays = {str(q): SkillSpec.model_validate(p).after_s for q, p in raw.items()
                      if isinstance(p, dict)}
            model._delays = {q: d for q, d in delays.items() if d > 0.0}
        return model

    @field_serializer("skills", check_fields=False)
    def _skills_as_written(self, skills: dict[str, int]) -> dict[str, Any]:
        return {q: ({"preference": p, "after_s": self._delays[q]} if q in self._delays else p)
                for q, p in skills.items()}

    def delay_s(self, queue: str) -> float:
        """The overflow delay of ``queue`` (0: its contacts are taken at once, or no skill)."""
        return self._delays.get(queue, 0.0)

    @property
    def has_delays(self) -> bool:
        return bool(self._delays)


class AllocationSpec(_Skilled):
    """A daily window in which ``skills`` (preferences and delays) replace the group's own:
    from ``from_`` to ``to`` (clock times; ``to`` at or before ``from`` crosses midnight)."""

    from_: str = Field(alias="from")
    to: str
    skills: dict[str, int] = _skills_field()

    _clock = field_validator("from_", "to")(_clock_field)

    @field_validator("from_")
    @classmethod
    def _from_in_day(cls, v: str) -> str:
        if clock_to_min(v) == 24 * 60:
            raise ValueError("a window starts from 00:00 to 23:59 (24:00 is an end)")
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> AllocationSpec:
        if clock_to_min(self.to) % (24 * 60) == self.start_min:
            raise ValueError(f"the window {self.from_}-{self.to} would last all day (to change "
                             "the skills all day, change the group's skills)")
        return self

    @property
    def start_min(self) -> int:
        return clock_to_min(self.from_)

    @property
    def length_min(self) -> int:
        """Window length; a ``to`` at or before ``from`` crosses midnight."""
        length = clock_to_min(self.to) - self.start_min
        return length if length > 0 else length + 24 * 60


class GroupSpec(_Skilled):
    """Agents alike in skills, speed and concurrency.  ``allocation``: daily windows whose
    skills replace ``skills`` (see :class:`AllocationSpec`)."""

    skills: dict[str, int] = _skills_field()
    speed: dict[str, float] = Field(default_factory=dict,
                                    description="handle-time factor per queue (1.2 = 20% "
                                                "slower)")
    chat_concurrency: int = Field(1, ge=1, le=20)
    chat_slowdown: float = Field(0.0, ge=0.0, le=2.0,
                                 description="extra handle time per extra chat held")
    shifts: tuple[ShiftSpec, ...] = ()
    allocation: tuple[AllocationSpec, ...] = ()

    @field_validator("speed")
    @classmethod
    def _speed(cls, v: dict[str, float]) -> dict[str, float]:
        for q, f in v.items():
            if not f > 0 or not math.isfinite(f):
                raise ValueError(f"speed of {quote(q)} must be a positive factor, "
                                 f"got {quote(f)}")
        return v

    @field_validator("allocation")
    @classmethod
    def _windows_apart(cls, v: tuple[AllocationSpec, ...]) -> tuple[AllocationSpec, ...]:
        day = 24 * 60
        for i, a in enumerate(v):
            for j in range(i + 1, len(v)):
                b = v[j]
                # Arcs on the 24-hour clock: they overlap when either starts inside the other.
                b_in_a = (b.start_min - a.start_min) % day < a.length_min
                if b_in_a or (a.start_min - b.start_min) % day < b.length_min:
                    raise ValueError(f"allocation[{i}] ({a.from_}-{a.to}) and allocation[{j}] "
                                     f"({b.from_}-{b.to}) overlap, got both in force at "
                                     f"{b.from_ if b_in_a else a.from_} (expected one window "
                                     "after the other)")
        return v

    @property
    def all_skills(self) -> tuple[str, ...]:
        """Every queue the group takes at some time of day (its skills and its windows')."""
        seen = dict.fromkeys(self.skills)
        for a in self.allocation:
            seen.update(dict.fromkeys(a.skills))
        return tuple(seen)


class TransferSpec(_Strict):
    from_: str = Field(alias="from")
    to: str
    probability: float = Field(gt=0.0, le=1.0)


class UncertaintySpec(_Strict):
    """Forecast error beyond Poisson noise: each replication multiplies each queue's volume by
    its own draw, gamma with mean 1 and coefficient of variation ``cv``, correlated across
    queues (Gaussian copula, equal pairwise ``correlation``): see :mod:`sim.uncertainty`."""

    cv: float
    correlation: float = 0.0

    @field_validator("cv")
    @classmethod
    def _cv(cls, v: float) -> float:
        if not 0.0 < v <= 1.0:
            raise ValueError("must be above 0 and at most 1 (a coefficient of variation: 0.1 "
                             "= the volume typically off by about 10%)")
        return v

    @field_validator("correlation")
    @classmethod
    def _correlation(cls, v: float) -> float:
        if not 0.0 <= v <= 1.0:
            raise ValueError("must be from 0 to 1 (0: queues independent, 1: one common "
                             "multiplier)")
        return v


UNCERTAINTY_EXAMPLE = "{cv: 0.1, correlation: 0.8}"


class ArrivalsSpec(BaseModel):
    """``file`` (CSV relative to the scenario) or inline per-queue lists; ``scale``;
    ``uncertainty`` (:class:`UncertaintySpec`, none by default)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    file: str | None = None
    scale: float | dict[str, float] = 1.0
    # A declared field, so that it is never read as an inline queue (a queue of that name is
    # refused in _arrival_matrix).
    uncertainty: UncertaintySpec | None = None

    @field_validator("uncertainty", mode="before")
    @classmethod
    def _uncertainty_mapping(cls, v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            raise ValueError(f"is the volume uncertainty ({UNCERTAINTY_EXAMPLE}), not a queue's "
                             "list: a queue cannot be named 'uncertainty'")
        if v is not None and not isinstance(v, (dict, UncertaintySpec)):
            raise ValueError(f"expected a mapping such as {UNCERTAINTY_EXAMPLE}" +
                             (f", got {str(v).lower()}" if isinstance(v, bool) else ""))
        return v

    @field_validator("scale", mode="before")
    @classmethod
    def _scale_not_bool(cls, v: Any) -> Any:
        if isinstance(v, bool) or (isinstance(v, dict) and any(isinstance(x, bool)
                                                               for x in v.values())):
            raise ValueError("scale must be a number (or a number per queue), got true/false")
        return v

    @field_validator("scale")
    @classmethod
    def _scale(cls, v: float | dict[str, float]) -> float | dict[str, float]:
        # A single bad number is appended to the message by sim.files.validate; in a
        # per-queue mapping, name the queue and the value here.
        if not isinstance(v, dict):
            if not (v >= 0 and math.isfinite(v)):
                raise ValueError("scale must be a non-negative number")
            return v
        for q, x in v.items():
            if not (x >= 0 and math.isfinite(x)):
                raise ValueError(f"scale of {quote(q)} must be a non-negative number, "
                                 f"got {quote(x)}")
        return v

    @property
    def inline(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ScenarioSpec(_Strict):
    name: str = "scenario"
    start: dt.datetime = Field(description="the first interval's start, on the team's clock; "
                                           "a UTC offset given is dropped (see the README)")
    interval_min: float = Field(gt=0.0, le=24 * 60, description="at most a day")
    warmup_min: float = Field(0.0, ge=0.0)
    short_abandon_s: float = Field(5.0, ge=0.0, description="abandons within this many "
                                                             "seconds are short abandons")
    queues: dict[str, QueueSpec]
    arrivals: ArrivalsSpec
    agent_groups: dict[str, GroupSpec]
    transfers: tuple[TransferSpec, ...] = ()
    planning: PlanningSpec | None = None

    @field_validator("start")
    @classmethod
    def _wall_clock(cls, v: dt.datetime) -> dt.datetime:
        # The model runs on one clock: the team's, as written (2026-11-11T00:00+08:00 is
        # midnight).  A forecast with UTC offsets is read on the clock of its first offset
        # (sim.forecast), so both name the same clock time.
        return v.replace(tzinfo=None)

    @field_validator("queues", "agent_groups")
    @classmethod
    def _not_empty(cls, v: dict) -> dict:
        if not v:
            raise ValueError("at least one entry is needed")
        for name in v:
            # Ids are matched against forecast files, which are read with spaces stripped.
            if not str(name).strip() or str(name) != str(name).strip():
                raise ValueError(f"id {quote(str(name))} must not be empty or start or end with a "
                                 "space")
        return v


@dataclass(frozen=True)
class Scenario:
    """A validated scenario, ready to simulate or to staff.

    ``contacts[q, i]`` is the expected number of contacts of queue ``queues[q]`` arriving in
    interval ``i`` (scale applied).  Times inside the model are seconds from ``spec.start``.
    """

    spec: ScenarioSpec
    queues: tuple[str, ...]
    groups: tuple[str, ...]
    contacts: np.ndarray = field(repr=False)
    source: str = "scenario"
    base_dir: Path | None = None

    @property
    def n_intervals(self) -> int:
        return int(self.contacts.shape[1])

    @property
    def interval_s(self) -> float:
        return self.spec.interval_min * 60.0

    @property
    def horizon_s(self) -> float:
        return self.n_intervals * self.interval_s

    @property
    def interval_starts(self) -> pd.DatetimeIndex:
        return pd.date_range(self.spec.start, periods=self.n_intervals,
                             freq=pd.Timedelta(minutes=self.spec.interval_min))

    def input_files(self) -> tuple[Path, ...]:
        """The files this scenario was read from (its YAML and its forecast CSV): what no
        result may overwrite."""
        files = [Path(self.source)] if self.base_dir is not None else []
        if self.spec.arrivals.file is not None:
            path = Path(self.spec.arrivals.file)
            files.append(path if path.is_absolute() or self.base_dir is None
                         else self.base_dir / path)
        return tuple(files)

    def queue_plans(self) -> dict[str, QueuePlan]:
        """Erlang staffing inputs per queue.  Chat concurrency and slowdown are those of the
        groups that take the queue first (their mean), the AHT includes wrap-up."""
        plans = {}
        for q, spec in self.spec.queues.items():
            firsts = [g for g in self.spec.agent_groups.values() if q in g.skills and
                      g.skills[q] == min(h.skills[q] for h in self.spec.agent_groups.values()
                                         if q in h.skills)]
            k, s = 1, 0.0
            if spec.channel == "chat" and firsts:
                k = max(1, round(float(np.mean([g.chat_concurrency for g in firsts]))))
                s = float(np.mean([g.chat_slowdown for g in firsts]))
            plans[q] = QueuePlan(channel=spec.channel, aht_s=spec.aht_s + spec.wrap_up_s,
                                 patience_s=spec.patience_s, target=spec.target,
                                 chat_concurrency=k, chat_slowdown=s)
        return plans

    def forecast_frame(self) -> pd.DataFrame:
        """The arrivals as a forecast table (interval_start, queue, contacts, aht_s)."""
        starts = self.interval_starts
        rows = [pd.DataFrame({"interval_start": starts, "queue": q,
                              "contacts": self.contacts[i],
                              "aht_s": self.spec.queues[q].aht_s +
                              self.spec.queues[q].wrap_up_s})
                for i, q in enumerate(self.queues)]
        return pd.concat(rows, ignore_index=True).sort_values(
            ["interval_start", "queue"], kind="stable").reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """The scenario as plain data (YAML-ready), arrivals inline and scale 1."""
        data = self.spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        data["arrivals"] = {q: [float(x) for x in self.contacts[i]]
                            for i, q in enumerate(self.queues)}
        if self.spec.arrivals.uncertainty is not None:
            data["arrivals"] = {"uncertainty": self.spec.arrivals.uncertainty.model_dump(
                mode="json"), **data["arrivals"]}
        data["start"] = self.spec.start.isoformat(timespec="minutes")
        return data

    def scaled(self, factor: float) -> Scenario:
        """The same scenario with every queue's volume multiplied by ``factor`` (a case)."""
        if not (factor >= 0 and math.isfinite(factor)):
            raise InputError(f"a volume factor must be a non-negative number, got {factor!r}",
                             file=self.source)
        contacts = self.contacts * factor
        contacts.setflags(write=False)
        return dataclasses.replace(self, contacts=contacts)

    def with_changes(self, changes: Mapping[str, Any]) -> Scenario:
        """A new scenario with values replaced by key path (``arrivals.scale``,
        ``agent_groups.gold.shifts[0].agents``), validated again."""
        data = self.spec.model_dump(mode="python", by_alias=True)
        data["arrivals"] = {"file": None, "scale": data["arrivals"].get("scale", 1.0),
                            "uncertainty": data["arrivals"].get("uncertainty"),
                            **{q: list(map(float, self._unscaled(q)))
                               for q in self.queues}}
        for path, value in changes.items():
            set_path(data, path, value, source=self.source)
        return scenario_from_dict(data, source=self.source, base_dir=self.base_dir)

    def _unscaled(self, queue: str) -> np.ndarray:
        i = self.queues.index(queue)
        scale = self.spec.arrivals.scale
        factor = scale.get(queue, 1.0) if isinstance(scale, dict) else scale
        return self.contacts[i] / factor if factor else self.contacts[i] * 0.0


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(path: str) -> list[str | int]:
    """'agent_groups.gold.shifts[0].agents' -> ['agent_groups', 'gold', 'shifts', 0, 'agents']."""
    parts: list[str | int] = []
    pos = 0
    for m in _PATH_PART.finditer(path):
        if m.start() != pos and path[pos:m.start()] != ".":
            raise ValueError(f"not a key path: {quote(path)}")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if not parts or pos != len(path):
        raise ValueError(f"not a key path: {quote(path)}")
    return parts


def _kind(value: Any) -> str | None:
    """What sort of value a key holds, for type checks of replaced values (None: anything)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "a number"
    if isinstance(value, (str, dt.datetime, dt.date)):
        return "text or a date-time"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return None


def set_path(data: dict[str, Any], path: str, value: Any, *, source: str) -> None:
    """Replace the value at a key path of plain scenario data (raises InputError)."""
    try:
        parts = parse_path(path)
    except ValueError as exc:
        raise InputError(str(exc), file=source, field=path) from None
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        ok = (isinstance(part, int) and isinstance(node, (list, tuple)) and part < len(node)) \
            or (isinstance(part, str) and isinstance(node, dict) and
                (part in node or (last and part == "scale")))
        if not ok:
            raise InputError("no such key in the scenario", file=source, field=path)
        if last:
            if isinstance(node, tuple):
                raise InputError("cannot be replaced", file=source, field=path)
            if isinstance(node, dict) and part in node and _kind(node[part]) is not None \
                    and _kind(value) is not None and _kind(value) != _kind(node[part]):
                # pydantic would coerce: a start of 1 became 1970-01-01 00:00:01.
                raise InputError(f"holds {_kind(node[part])}, got {_kind(value)} "
                                 f"{quote(value)}", file=source, field=path)
            node[part] = value
        else:
            child = node[part]
            if isinstance(child, tuple):
                child = list(child)
                node[part] = child
            node = child


def _when(t: Any) -> str:
    """A time for a message, with seconds only where they matter (two starts a microsecond
    apart must not read the same)."""
    t = pd.Timestamp(t)
    if t.microsecond:
        return f"{t:%Y-%m-%d %H:%M:%S.%f}"
    return f"{t:%Y-%m-%d %H:%M:%S}" if t.second else f"{t:%Y-%m-%d %H:%M}"


def _arrival_matrix(spec: ScenarioSpec, *, source: str, base_dir: Path | None
                    ) -> np.ndarray:
    queues = list(spec.queues)
    arr = spec.arrivals
    if "uncertainty" in spec.queues:
        # Scenarios are written back with inline arrivals (to_dict, with_changes), where the
        # queue's list and the volume uncertainty would share the key.
        raise InputError("a queue cannot be named 'uncertainty' (arrivals.uncertainty is the "
                         "volume uncertainty): rename the queue", file=source,
                         field="queues.uncertainty")
    inline = arr.inline
    if arr.file is not None and inline:
        raise InputError("give either a forecast file or inline lists, not both", file=source,
                         field="arrivals")
    if arr.file is not None:
        path = Path(arr.file)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            # read_forecast would name only the CSV: say which scenario and key point to it.
            raise InputError(f"forecast file not found: {path}", file=source,
                             field="arrivals.file")
        fc = read_forecast(path, interval_min=spec.interval_min)
        unknown = [q for q in fc.queues if q not in spec.queues]
        if unknown:
            raise InputError(f"queue(s) {', '.join(map(repr, unknown))} are not in the "
                             f"scenario's queues ({', '.join(queues)})", file=fc.source,
                             field="queue")
        first = fc.starts.min()
        if first != pd.Timestamp(spec.start):
            raise InputError(f"the forecast starts at {_when(first)} but the scenario's start "
                             f"is {_when(spec.start)}", file=fc.source,
                             field="interval_start")
        table = fc.frame.pivot(index="queue", columns="interval_start", values="contacts")
        matrix = np.zeros((len(queues), table.shape[1]))
        for i, q in enumerate(queues):
            if q in table.index:
                matrix[i] = table.loc[q].to_numpy(dtype=float)
    else:
        if not inline:
            raise InputError("expected 'file' (a forecast CSV) or a list of contacts per "
                             "interval for each queue", file=source, field="arrivals")
        unknown = [q for q in inline if q not in spec.queues]
        if unknown:
            raise InputError(f"not a queue of the scenario (expected one of "
                             f"{', '.join(queues)})", file=source,
                             field=f"arrivals.{unknown[0]}")
        lengths = {len(v) if isinstance(v, (list, tuple)) else -1 for v in inline.values()}
        for q, v in inline.items():
            if not isinstance(v, (list, tuple)) or not v:
                raise InputError("expected a list of contacts per interval", file=source,
                                 field=f"arrivals.{q}")
            for j, x in enumerate(v):
                if isinstance(x, bool) or not isinstance(x, (int, float)) or not x >= 0 \
                        or not math.isfinite(x):
                    raise InputError(f"expected a non-negative number, got {quote(x)}", file=source,
                                     field=f"arrivals.{q}[{j}]")
        if len(lengths) != 1:
            raise InputError("every queue's list must have the same number of intervals",
                             file=source, field="arrivals")
        matrix = np.zeros((len(queues), lengths.pop()))
        for i, q in enumerate(queues):
            if q in inline:
                matrix[i] = np.asarray(inline[q], dtype=float)
    scale = arr.scale
    for q in (scale if isinstance(scale, dict) else {}):
        if q not in spec.queues:
            raise InputError(f"not a queue of the scenario (expected one of "
                             f"{', '.join(queues)})", file=source, field=f"arrivals.scale.{q}")
    factors = np.array([scale.get(q, 1.0) if isinstance(scale, dict) else scale
                        for q in queues])
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = matrix * factors[:, None]
    if not np.isfinite(scaled).all():
        raise InputError("the scaled volume is too large to compute (check arrivals.scale)",
                         file=source, field="arrivals.scale")
    return scaled


TAIL_P = 0.999  # the volume multiplier's percentile run sizes allow for (check_run_size)
MAX_VISITS = 10.0  # queue entries per arriving contact: 10 is already a broken process


def expected_visits(spec: ScenarioSpec, *, redials: bool = True) -> dict[str, float]:
    """Expected queue entries of a contact that arrives at each queue (1 without transfers
    or redials).

    With ``P[i, j]`` the probability that a contact handled in queue ``i`` is transferred to
    ``j``, the expected first entries are the row sums of ``N = (I - P)^-1`` (the fundamental
    matrix of the absorbing chain).  A contact can never leave when ``P`` has spectral radius
    1 (a cycle of probability-1 transfers): those queues get ``inf``.

    Redials (``redials=True``), an upper bound: a customer's calls to queue ``j`` stop at the
    first one answered (only an abandon leads to a redial), so the transfers out of ``j`` are
    those of one entry, and the calls are at most ``1 / (1 - p_j)`` (every call abandoned,
    each redialled with probability ``p_j``, at most 0.95): the visits are ``N g`` with
    ``g_j = 1 / (1 - p_j)``.
    """
    queues = list(spec.queues)
    n = len(queues)
    g = np.array([1.0 / (1.0 - spec.queues[q].redial.probability)
                  if redials and spec.queues[q].redial is not None else 1.0 for q in queues])
    p = np.zeros((n, n))
    for t in spec.transfers:
        if t.from_ in spec.queues and t.to in spec.queues:
            p[queues.index(t.from_), queues.index(t.to)] += t.probability
    if not p.any():
        return {q: float(x) for q, x in zip(queues, g)}
    # A queue is trapped when no path from it reaches a queue that lets contacts end: those
    # leaving with probability < 1 (power iteration of "can end" over the transfer graph).
    ends = p.sum(axis=1) < 1.0 - 1e-12
    can_end = ends.copy()
    for _ in range(n):
        can_end = can_end | ((p > 0) & can_end[None, :]).any(axis=1)
    # A contact that can reach a trapped queue is trapped with positive probability: its
    # expected visits are infinite too.
    doomed = ~can_end
    for _ in range(n):
        doomed = doomed | ((p > 0) & doomed[None, :]).any(axis=1)
    visits = np.full(n, math.inf)
    ok = np.flatnonzero(~doomed)
    if ok.size:
        sub = p[np.ix_(ok, ok)]
        visits[ok] = np.linalg.solve(np.eye(ok.size) - sub, g[ok])
    return {q: float(v) for q, v in zip(queues, visits)}


def check_run_size(scenario: Scenario, *, reps: int, points: int = 1,
                   where: str = "--reps") -> None:
    """Refuse, before any work, a job beyond :data:`LIMITS` (replications, sweep points,
    contacts over the whole job), with the estimate and the limit in the message.

    Contacts per replication count transfers and redials (:func:`expected_visits`: at most
    ``1 / (1 - p)`` calls per customer of a queue with redial probability ``p``).

    With volume uncertainty the estimate allows for the multiplier's upper tail: the job's
    contacts at the 99.9th percentile of the mean multiplier over its ``reps`` replications
    (queues taken as moving together, the correlation-1 case: x1.03 for cv 0.1 and 100
    replications, x1.34 for one), and one replication at the 99.9th percentile of a single
    multiplier within the per-replication limit."""
    if reps > LIMITS.reps:
        raise InputError(f"{reps:,} replications (at most {LIMITS.reps:,})", field=where)
    if points > LIMITS.points:
        raise InputError(f"{points:,} sweep points (at most {LIMITS.points:,}: vary fewer "
                         "values)", field="--vary")
    visits = expected_visits(scenario.spec)
    per_rep = float(sum(scenario.contacts[i].sum() * visits.get(q, 1.0)
                        for i, q in enumerate(scenario.queues)))
    u = scenario.spec.arrivals.uncertainty
    tail, tail_text = 1.0, ""
    if u is not None:
        one = multiplier_ppf(u.cv, TAIL_P)
        if per_rep * one > LIMITS.contacts_per_rep:
            raise InputError(f"about {count(per_rep * one)} contacts offered in a replication "
                             f"at the volume uncertainty's {100 * TAIL_P:g}th percentile "
                             f"(x{one:.2f} the forecast's {count(per_rep)}; at most "
                             f"{LIMITS.contacts_per_rep:,.0f} per replication: lower the cv or "
                             "the forecast)", file=scenario.source, field="arrivals.uncertainty")
        tail = multiplier_ppf(u.cv, TAIL_P, reps=reps)
        tail_text = f" x{tail:.2f} for the volume uncertainty's {100 * TAIL_P:g}th percentile"
    total = per_rep * tail * reps * points
    if total > LIMITS.run_contacts:
        raise InputError(f"about {count(total)} contacts to simulate ({count(per_rep)} per "
                         f"replication{tail_text} x {reps:,} replications x {points:,} "
                         "point(s); at most "
                         f"{LIMITS.run_contacts:,.0f} in one job: fewer replications or "
                         "points)", field=where)


def window_occurrences(start: dt.datetime, *, start_min: float, length_min: float,
                       until_s: float) -> list[tuple[float, float]]:
    """The occurrences ``(from_s, to_s)``, in seconds from ``start`` (a run's model time), of
    a daily clock window starting ``start_min`` after midnight for ``length_min``, that
    overlap ``[0, until_s)``; the first may start before 0 (a window in force at the start)."""
    day_s = 86_400.0
    offset_s = (start.hour * 60 + start.minute) * 60.0 + start.second
    out = []
    for d in range(-1, math.ceil((until_s + offset_s) / day_s) + 1):
        t0 = d * day_s + start_min * 60.0 - offset_s
        t1 = t0 + length_min * 60.0
        if t1 > 0.0 and t0 < until_s:
            out.append((t0, t1))
    return out


def _cross_check(spec: ScenarioSpec, contacts: np.ndarray, *, source: str) -> None:
    queues = list(spec.queues)
    for g, group in spec.agent_groups.items():
        for q in group.skills:
            if q not in spec.queues:
                raise InputError(f"unknown queue {quote(q)} (expected one of {', '.join(queues)})",
                                 file=source, field=f"agent_groups.{g}.skills")
        for i, window in enumerate(group.allocation):
            for q in window.skills:
                if q not in spec.queues:
                    raise InputError(f"unknown queue {quote(q)} (expected one of "
                                     f"{', '.join(queues)})", file=source,
                                     field=f"agent_groups.{g}.allocation[{i}].skills")
        every = group.all_skills
        for q in group.speed:
            if q not in every:
                raise InputError(f"{quote(q)} is not one of this group's skills", file=source,
                                 field=f"agent_groups.{g}.speed")
    for i, t in enumerate(spec.transfers):
        for key, q in (("from", t.from_), ("to", t.to)):
            if q not in spec.queues:
                raise InputError(f"unknown queue {quote(q)} (expected one of {', '.join(queues)})",
                                 file=source, field=f"transfers[{i}].{key}")
        if t.from_ == t.to:
            raise InputError("a transfer must move to another queue", file=source,
                             field=f"transfers[{i}]")
    out: dict[str, float] = {}
    for t in spec.transfers:
        out[t.from_] = out.get(t.from_, 0.0) + t.probability
    for q, p in out.items():
        if p > 1.0 + 1e-12:
            raise InputError(f"transfer probabilities out of {quote(q)} add up to {p:g} "
                             "(expected at most 1)", file=source, field="transfers")
    # Transfer cycles are judged without redials (which are bounded by their probability cap);
    # the run size below counts both.
    visits = expected_visits(spec, redials=False)
    loops = [q for q, v in visits.items() if not math.isfinite(v)]
    if loops:
        raise InputError(f"transfers from which a contact never leaves: from "
                         f"{', '.join(map(quote, loops))} a contact is transferred on and on "
                         "(expected transfer probabilities that let every contact end; "
                         "lower one of the probabilities in the cycle)", file=source,
                         field="transfers")
    worst = max(visits, key=visits.get) if visits else None
    if worst is not None and visits[worst] > MAX_VISITS:
        raise InputError(f"a contact arriving at {quote(worst)} enters a queue "
                         f"{count(visits[worst])} times on average (at most {MAX_VISITS:g}: "
                         "lower the transfer probabilities of the cycle)", file=source,
                         field="transfers")
    served = {q for g in spec.agent_groups.values() for q in g.all_skills}
    reached = {t.to for t in spec.transfers}
    for i, q in enumerate(queues):
        if q not in served and (contacts[i].sum() > 0 or q in reached):
            raise InputError(f"queue {quote(q)} has contacts but no agent group has it among its "
                             "skills", file=source, field="agent_groups")
    # A queue only allocation windows serve must meet one of them inside the horizon.
    horizon_min = contacts.shape[1] * spec.interval_min
    all_day = {q for g in spec.agent_groups.values() for q in g.skills}
    for i, q in enumerate(queues):
        if q in all_day or q not in served or not (contacts[i].sum() > 0 or q in reached):
            continue
        windows = [(g, w) for g, group in spec.agent_groups.items()
                   for w in group.allocation if q in w.skills]
        if not any(window_occurrences(spec.start, start_min=w.start_min,
                                      length_min=w.length_min, until_s=horizon_min * 60.0)
                   for _, w in windows):
            named = ", ".join(f"{g} {w.from_}-{w.to}" for g, w in windows)
            raise InputError(f"queue {quote(q)} has contacts but only allocation windows serve "
                             f"it ({named}), and none falls inside the horizon "
                             f"({spec.start:%H:%M} for {horizon_min / 60:g} h): its contacts "
                             "would never be answered (expected a group with it among its "
                             "skills, or a window inside the horizon)", file=source,
                             field="agent_groups")
    horizon_days = contacts.shape[1] * spec.interval_min / (24 * 60)
    if horizon_days > LIMITS.horizon_days:
        raise InputError(f"{contacts.shape[1]:,} intervals of {spec.interval_min:g} min make a "
                         f"horizon of {count(horizon_days)} days (at most "
                         f"{LIMITS.horizon_days:g})", file=source, field="interval_min")
    agents = sum(s.agents for g in spec.agent_groups.values() for s in g.shifts)
    if agents > LIMITS.agents:
        raise InputError(f"{agents:,} agents on the roster (at most {LIMITS.agents:,}: check "
                         "the shifts' agents)", file=source, field="agent_groups")
    visits = expected_visits(spec)
    per_rep = float(sum(contacts[i].sum() * visits.get(q, 1.0) for i, q in enumerate(queues)))
    if per_rep > LIMITS.contacts_per_rep:
        redials = " and redials" if any(qs.redial is not None for qs in spec.queues.values()) \
            else ""
        raise InputError(f"about {count(per_rep)} contacts offered over the horizon, transfers"
                         f"{redials} included (at most {LIMITS.contacts_per_rep:,.0f} per "
                         "replication: check the forecast and the scale)", file=source,
                         field="arrivals")
    if spec.warmup_min >= contacts.shape[1] * spec.interval_min:
        raise InputError("warm-up is as long as the whole horizon", file=source,
                         field="warmup_min")
    if spec.planning is not None:
        check_planning(spec.planning, file=source, prefix="planning",
                       grid_min=spec.interval_min, queues=list(spec.queues),
                       groups={g: tuple(s.skills) for g, s in spec.agent_groups.items()})


def scenario_from_dict(data: Mapping[str, Any], *, source: str = "scenario",
                       base_dir: Path | None = None, scale: float | None = None) -> Scenario:
    """Validate plain scenario data (as read from YAML) into a :class:`Scenario`.

    ``scale`` multiplies every queue's volume on top of the file's own scale (the CLI's
    ``--scale``).
    """
    spec = validate(ScenarioSpec, copy.deepcopy(dict(data)), file=source)
    contacts = _arrival_matrix(spec, source=source, base_dir=base_dir)
    if scale is not None:
        if not (0 <= scale <= MAX_SCALE):
            raise InputError(f"must be a number from 0 to {MAX_SCALE:g}, got {scale:g}",
                             field="--scale")
        contacts = contacts * scale
    if contacts.size and contacts.max() > MAX_CONTACTS:
        q, i = np.unravel_index(int(contacts.argmax()), contacts.shape)
        raise InputError(f"{count(contacts[q, i])} contacts in one interval of queue "
                         f"{quote(list(spec.queues)[int(q)])} (at most {MAX_CONTACTS:,.0f}: "
                         "check the forecast and the scale)", file=source, field="arrivals")
    _cross_check(spec, contacts, source=source)
    contacts.setflags(write=False)
    return Scenario(spec=spec, queues=tuple(spec.queues), groups=tuple(spec.agent_groups),
                    contacts=contacts, source=source, base_dir=base_dir)


def load_scenario(path: str | Path, *, scale: float | None = None) -> Scenario:
    """Read and validate a scenario YAML file (and its forecast CSV)."""
    path = Path(path)
    data = load_yaml(path)
    return scenario_from_dict(data, source=str(path), base_dir=path.resolve().parent,
                              scale=scale)
