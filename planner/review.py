"""Capacity review before a sales peak: is the roster enough, where does it break, what fixes it.

``build_review`` runs the scenario under each volume case (the forecast scaled: low, base,
high) with replications and common random numbers, beside the Erlang requirement per interval
and queue; names the intervals and queues that miss their targets; and, for the base case,
finds the agents to add per interval and group: it starts from the Erlang gap and checks by
simulation that the added agents bring every interval to target, adding more where it does not.
``render_html`` turns the result into a self-contained HTML report (charts inline as SVG, no
network needed to open it); every number in it comes from the review's tables.

An interval and queue *misses* when the mean service level over the replications is below the
queue's target; intervals with fewer than ``min_contacts`` contacts offered on average are too
small to judge and are not counted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import io
import platform
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.files import quote
from sim.forecast import forecast_from_frame
from planner.staffing import staffing_table
from sim import metrics
from sim.replications import Mapper, Simulation, first_interval, simulate
from sim.scenario import Scenario, scenario_from_dict
from sim.uncertainty import describe as describe_uncertainty, multiplier_ppf

__all__ = ["Case", "parse_cases", "resolve_cases", "fix_case_of", "CaseResult", "Fix", "Review",
           "build_review", "render_html", "verdict_lines", "DEFAULT_CASES"]

DEFAULT_CASES = "low=0.8,base=1.0,high=1.3"
BAND = (0.1, 0.9)  # the band across replications drawn around the mean
BURN_OUT = 0.9     # occupancy above this burns agents out (domain notes)
MAX_FACTOR = 100.0  # a volume case beyond 100x the forecast is a typo, not a what-if
RESERVED_CASES = {"fix", "fixed"}


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """A volume case: the forecast multiplied by ``factor``.

    ``percentile``: a case ``pNN`` (named so), whose factor is the NN-th percentile of the
    scenario's volume multiplier (``arrivals.uncertainty``; NaN until :func:`resolve_cases`
    sets it); it runs with that fixed factor and the per-replication draw switched off, so its
    replications vary by Poisson noise only.  A ``NAME=FACTOR`` case keeps the draw: with
    uncertainty, each replication's volume is ``factor`` times its own multiplier."""

    name: str
    factor: float
    percentile: int | None = None

    @property
    def text(self) -> str:
        """The case as ``--cases`` takes it: ``low=0.8`` or ``p10``."""
        return self.name if self.percentile is not None else f"{self.name}={self.factor:g}"


_PERCENTILE = re.compile(r"\s*[pP](\d+)\s*")


def parse_cases(text: str) -> list[Case]:
    """``'low=0.8,base=1.0,high=1.3'`` or ``'p10,p50,p90'`` (or both mixed) -> cases (names
    unique, factors positive, percentiles 1 to 99)."""
    cases = []
    for part in text.split(","):
        p = _PERCENTILE.fullmatch(part)
        if p:
            if not 1 <= int(p.group(1)) <= 99:
                raise InputError(f"a percentile case is p1 to p99, got {quote(part.strip())}",
                                 field="--cases")
            n = int(p.group(1))
            cases.append(Case(f"p{n}", float("nan"), percentile=n))
            continue
        m = re.fullmatch(r"\s*([A-Za-z][\w-]*)\s*=\s*(\S+)\s*", part)
        if not m:
            raise InputError(f"expected NAME=FACTOR (e.g. {DEFAULT_CASES}) or a percentile of "
                             f"the volume uncertainty (e.g. p10,p50,p90), got {quote(part)}",
                             field="--cases")
        if _PERCENTILE.fullmatch(m.group(1)):
            raise InputError(f"{m.group(1)!r} names a percentile case: write it alone (its "
                             "factor comes from arrivals.uncertainty), or choose another name",
                             field="--cases")
        try:
            factor = float(m.group(2))
        except ValueError:
            raise InputError(f"the factor of {m.group(1)!r} is not a number: "
                             f"{m.group(2)!r}", field="--cases") from None
        if not (0 < factor <= MAX_FACTOR):
            raise InputError(f"the factor of {m.group(1)!r} must be above 0 and at most "
                             f"{MAX_FACTOR:g}, got {m.group(2)}", field="--cases")
        if m.group(1) in RESERVED_CASES:
            raise InputError(f"{m.group(1)!r} names the fixed roster's tables; choose another "
                             "case name", field="--cases")
        cases.append(Case(m.group(1), factor))
    names = [c.name for c in cases]
    if len(set(names)) != len(names):
        raise InputError("case names must differ", field="--cases")
    return cases


def resolve_cases(cases: Sequence[Case], scenario: Scenario) -> list[Case]:
    """The cases with the factor of each percentile case set from the scenario's volume
    uncertainty (the gamma's quantile: p50 is its median, a little below 1)."""
    u = scenario.spec.arrivals.uncertainty
    out = []
    for c in cases:
        if c.percentile is not None:
            if u is None:
                raise InputError(f"{c.name!r} is a percentile of the volume uncertainty, and "
                                 f"{scenario.source} has none: add arrivals.uncertainty "
                                 "(e.g. uncertainty: {cv: 0.1}) to the scenario, or give the "
                                 "cases as NAME=FACTOR", field="--cases")
            c = dataclasses.replace(c, factor=multiplier_ppf(u.cv, c.percentile / 100.0))
        out.append(c)
    return out


def fix_case_of(cases: Sequence[Case], typed: str | None, *,
                field: str = "--fix-case") -> str | None:
    """The case whose gap the review closes, for ``--fix-case`` as typed: ``None`` (not
    given): ``base``, else the case nearest x1 (``p50`` of percentile cases); ``none``: no
    case; a name: that case (an error if it is not one of them)."""
    if not cases or (typed is not None and typed.lower() == "none"):
        return None
    names = [c.name for c in cases]
    if typed is not None:
        if typed not in names:
            raise InputError(f"{typed!r} is not one of the cases ({', '.join(names)})",
                             field=field)
        return typed
    if "base" in names:
        return "base"
    return min(cases, key=lambda c: abs(c.factor - 1.0)).name


def _without_uncertainty(scenario: Scenario) -> Scenario:
    """The scenario with no per-replication volume draw (a percentile case's fixed factor)."""
    spec = scenario.spec
    if spec.arrivals.uncertainty is None:
        return scenario
    arrivals = spec.arrivals.model_copy(update={"uncertainty": None})
    return dataclasses.replace(scenario, spec=spec.model_copy(update={"arrivals": arrivals}))


# --------------------------------------------------------------------------------------------
# One case
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseResult:
    """A case simulated and staffed.

    ``intervals``: per interval and queue, ``offered`` (mean), ``service_level``, ``asa_s`` and
    ``abandon_rate`` as mean and ``_p10``/``_p90`` across replications, ``target`` (service
    level), ``miss`` (any of the queue's targets missed, after warm-up, judged intervals only),
    ``deficit``, ``required`` (Erlang agents), ``first_agents`` (agents on the floor in the
    groups that take the queue at its best preference) and ``short`` (required -
    first_agents, at least 0).
    ``staffing``: per interval, ``required`` (Erlang, summed over queues), ``rostered`` (mean
    agents on the floor in the simulation) and ``gap`` = required - rostered.
    ``groups``: per interval and group, ``occupancy`` mean and band, ``agents``.
    ``summary``: per queue over the horizon (mean and ``_ci95``), ``transfers``: mean per run
    between each pair of queues.
    """

    case: Case
    scenario: Scenario
    simulation: Simulation
    erlang: pd.DataFrame
    intervals: pd.DataFrame
    staffing: pd.DataFrame
    groups: pd.DataFrame
    summary: pd.DataFrame
    transfers: pd.DataFrame

    @property
    def misses(self) -> pd.DataFrame:
        return self.intervals[self.intervals["miss"]]

    @property
    def clean(self) -> bool:
        return not bool(self.intervals["miss"].any())

    @property
    def worst(self) -> pd.Series | None:
        """The interval and queue furthest from its targets (relative deficit), or None."""
        m = self.misses
        if m.empty:
            return None
        return m.loc[m["deficit"].idxmax()]

    @property
    def abandoned(self) -> tuple[float, float]:
        row = self.summary.set_index("queue").loc["all"]
        return float(row["abandoned"]), float(row["abandoned_ci95"])


def _band(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    g = frame.groupby(keys, sort=True)[columns]
    out = g.mean()
    lo, hi = g.quantile(BAND[0]), g.quantile(BAND[1])
    for c in columns:
        out[f"{c}_p10"] = lo[c]
        out[f"{c}_p90"] = hi[c]
    return out.reset_index()


def _judge(intervals: pd.DataFrame, scenario: Scenario, judged: pd.Series) -> pd.DataFrame:
    """Add ``target`` (the service-level target, NaN if none), ``deficit`` (how far the worst
    of the queue's targets is missed, relative: 0.25 = a quarter off; see
    :func:`sim.metrics.target_deficit`) and ``miss`` (a judged interval with a deficit)."""
    out = intervals.copy()
    targets = {q: scenario.spec.queues[q].target for q in scenario.queues}
    deficit = metrics.target_deficit(out, targets)
    out["target"] = out["queue"].map({q: t.service_level for q, t in targets.items()}
                                     ).astype(float)
    out["deficit"] = deficit.fillna(0.0).clip(lower=0.0)
    out["miss"] = judged & (deficit > 0)
    return out


def _able_shares(scenario: Scenario) -> dict[str, dict[str, float]]:
    """queue -> {group: share}: the groups that take the queue at the best preference any
    group has for it (as Erlang staffing assumes, Scenario.queue_plans); a group that is such
    a group for several queues counts for each in equal shares."""
    best = {q: min((g.skills[q] for g in scenario.spec.agent_groups.values()
                    if q in g.skills), default=None) for q in scenario.queues}
    takes: dict[str, list[str]] = {name: [q for q, p in g.skills.items() if best[q] == p]
                                   for name, g in scenario.spec.agent_groups.items()}
    out: dict[str, dict[str, float]] = {q: {} for q in scenario.queues}
    for name, queues in takes.items():
        for q in queues:
            out[q][name] = 1.0 / len(queues)
    return out


def _run_case(case: Case, scenario: Scenario, *, seed: int, reps: int,
              min_contacts: float, mapper: Mapper | None = None) -> CaseResult:
    sc = scenario.scaled(case.factor)
    sim = simulate(sc, seed=seed, reps=reps, mapper=mapper)
    starts = sc.interval_starts
    forecast = forecast_from_frame(sc.forecast_frame(), source=sc.source,
                                   interval_min=sc.spec.interval_min)
    erlang = staffing_table(forecast, sc.queue_plans())
    qi = sim.queue_intervals
    intervals = _band(qi, ["interval", "queue"], ["service_level", "asa_s", "abandon_rate"])
    counts = qi.groupby(["interval", "queue"], sort=True)[["offered", "abandoned"]].mean()
    intervals = intervals.merge(counts.reset_index(), on=["interval", "queue"])
    intervals.insert(1, "interval_start", starts[intervals["interval"].to_numpy()])
    judged = (intervals["offered"] >= min_contacts) & (intervals["interval"] >=
                                                        first_interval(sc))
    intervals = _judge(intervals, sc, judged)
    gi = sim.group_intervals
    groups = _band(gi, ["interval", "group"], ["occupancy"])
    groups = groups.merge(gi.groupby(["interval", "group"])["agents"].mean().reset_index(),
                          on=["interval", "group"])
    groups.insert(1, "interval_start", starts[groups["interval"].to_numpy()])
    # Per interval and queue: Erlang agents needed, and agents on the floor in the groups that
    # take that queue at its best preference: the queue's own shortage.
    first_share = _able_shares(sc)
    floor = gi.groupby(["interval", "group"], sort=True)["agents"].mean().unstack(fill_value=0)
    need = erlang.assign(interval=erlang.groupby("queue").cumcount())
    need["first_agents"] = [float(sum(floor.loc[i].get(g, 0.0) * w
                                      for g, w in first_share[q].items()))
                            for i, q in zip(need["interval"], need["queue"])]
    need["short"] = (need["agents"] - need["first_agents"]).clip(lower=0.0)
    intervals = intervals.merge(need[["interval", "queue", "agents", "first_agents",
                                      "short"]].rename(columns={"agents": "required"}),
                                on=["interval", "queue"])
    required = erlang.groupby("interval_start", sort=True)["agents"].sum().to_numpy()
    rostered = gi.groupby("interval", sort=True)["agents"].sum().to_numpy() / reps
    staffing = pd.DataFrame({"interval": np.arange(sc.n_intervals), "interval_start": starts,
                             "required": required, "rostered": rostered,
                             "gap": required - rostered})
    t = sim.transfers
    transfers = (t.groupby(["from_queue", "to_queue"])["transfers"].sum() / reps
                 ).rename("transfers").reset_index() if not t.empty else t
    return CaseResult(case=case, scenario=sc, simulation=sim, erlang=erlang,
                      intervals=intervals, staffing=staffing, groups=groups,
                      summary=sim.queue_summary(), transfers=transfers)


# --------------------------------------------------------------------------------------------
# Closing the gap
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fix:
    """What closes the gap: the shifts to book (``shifts``: planner.shifts.SHIFT_COLUMNS) from
    ``peakplan plan`` on the case, their ``cost`` and ``agent_hours``, the ``rules`` used, and
    the simulated result of the roster with them (same seeds as the case); ``closed`` when
    every judged interval then meets its targets; ``rounds``: covers the plan solved;
    ``status``: the last cover's solver status."""

    shifts: pd.DataFrame
    result: CaseResult
    rounds: int
    closed: bool
    cost: float
    agent_hours: float
    rules: str
    status: str


def can_add_shifts(scenario: Scenario) -> bool:
    """Interval-long shifts can be written only when intervals start on whole minutes."""
    spec = scenario.spec
    return float(spec.interval_min).is_integer() and spec.start.second == 0 \
        and spec.start.microsecond == 0



# --------------------------------------------------------------------------------------------
# The review
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Review:
    scenario: Scenario
    seed: int
    reps: int
    cases: list[CaseResult]
    fix: Fix | None
    fix_case: str | None
    fix_note: str | None
    min_contacts: float
    created: str
    versions: dict[str, str]
    scenario_text: str

    def case(self, name: str) -> CaseResult:
        return next(c for c in self.cases if c.case.name == name)


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("peakplan", "numpy", "pandas", "scipy", "simpy", "matplotlib"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _plan_fix(base: CaseResult, *, seed: int, reps: int, min_contacts: float,
              max_rounds: int, progress: Callable[[str], None] | None,
              mapper: Mapper | None = None) -> Fix:
    """The plan of ``peakplan plan`` for the case (its scenario's ``planning:`` rules, else
    the stated defaults), then the case run again on the planned roster."""
    from planner.plan import DEFAULT_RULES_TEXT, default_rules, plan_roster

    sc = base.scenario
    rules = sc.spec.planning if sc.spec.planning is not None else default_rules(sc)
    told = {"stage": ""}

    def tell(stage: str, done: int, total: int) -> None:
        if progress is not None and stage != told["stage"]:
            told["stage"] = stage
            progress(f"closing the gap: {stage}")

    # The review calls an interval missed when its mean misses: the plan it asks for must
    # raise there too, so it tests at 0.5 (the mean), not the command line's 0.9.
    plan = plan_roster(sc, rules, reps=reps, seed=seed, max_rounds=max_rounds,
                       confidence=0.5, min_contacts=min_contacts, mapper=mapper, progress=tell)
    fixed = scenario_from_dict(plan.planned, source=sc.source, base_dir=sc.base_dir)
    result = _run_case(Case(f"{base.case.name}+fix", 1.0), fixed, seed=seed, reps=reps,
                       min_contacts=min_contacts, mapper=mapper)
    return Fix(shifts=plan.cover.shifts, result=result, rounds=len(plan.rounds),
               closed=result.clean, cost=plan.cover.cost, agent_hours=plan.cover.agent_hours,
               rules=("the scenario's planning rules" if sc.spec.planning is not None
                      else DEFAULT_RULES_TEXT),
               status=plan.cover.status)


def build_review(scenario: Scenario, *, cases: Sequence[Case] | None = None, reps: int = 20,
                 seed: int = 1, fix_case: str | None = "base", min_contacts: float = 5.0,
                 max_rounds: int = 8, progress: Callable[[str], None] | None = None,
                 mapper: Mapper | None = None) -> Review:
    """Run every case and, for ``fix_case`` (if it misses anywhere), close the gap.

    ``mapper`` runs the replications (``planner.executor.Executor.map``: processes or Dask);
    the results do not depend on it."""
    if reps < 1:
        raise InputError(f"must be at least 1, got {reps}", field="--reps")
    cases = resolve_cases(list(cases) if cases is not None else parse_cases(DEFAULT_CASES),
                          scenario)
    results = []
    for c in cases:
        if progress is not None:
            what = "" if c.percentile is None else \
                f", percentile {c.percentile} of the volume uncertainty"
            progress(f"case {c.name} (volume x{c.factor:g}{what}): {reps} replications")
        results.append(_run_case(c, scenario if c.percentile is None else
                                 _without_uncertainty(scenario), seed=seed, reps=reps,
                                 min_contacts=min_contacts, mapper=mapper))
    fix = None
    chosen = next((r for r in results if r.case.name == fix_case), None)
    if chosen is None and fix_case is not None and results:
        # "base" (the default) with no base case: the case nearest x1.
        nearest = fix_case_of([r.case for r in results], None)
        chosen = next(r for r in results if r.case.name == nearest)
    fix_note = None
    if chosen is not None and not chosen.clean:
        if can_add_shifts(scenario):
            fix = _plan_fix(chosen, seed=seed, reps=reps, min_contacts=min_contacts,
                            max_rounds=max_rounds, progress=progress, mapper=mapper)
        else:
            fix_note = ("the gap is not closed: intervals that do not start on whole minutes "
                        "cannot be written as shifts")
    text = ""
    source = Path(scenario.source)
    if source.is_file():
        text = source.read_text(encoding="utf-8")
    return Review(scenario=scenario, seed=seed, reps=reps, cases=results, fix=fix,
                  fix_case=chosen.case.name if chosen is not None else None,
                  fix_note=fix_note,
                  min_contacts=min_contacts,
                  created=dt.datetime.now().isoformat(timespec="seconds"),
                  versions=_versions(), scenario_text=text)


def _plus_minus(value: float, ci: float, fmt: str = ",.0f") -> str:
    """'1,234 ±56', or '1,234' when there is no interval (a single replication)."""
    return f"{value:{fmt}}" + (f" ±{ci:{fmt}}" if np.isfinite(ci) else "")


def _when_format(scenario: Scenario) -> str:
    """Times of day, with the date on horizons of more than a day."""
    return "%m-%d %H:%M" if scenario.horizon_s > 86_400 else "%H:%M"


def describe_miss(row: pd.Series, scenario: Scenario) -> str:
    """What an interval and queue misses: 'SL 23% < 80%', 'ASA 40 s > 20 s', ..."""
    t = scenario.spec.queues[row["queue"]].target
    parts = []
    if t.service_level is not None and row["service_level"] < t.service_level:
        parts.append(f"SL {100 * row['service_level']:.0f}% < {100 * t.service_level:.0f}%")
    if t.max_asa_s is not None and row["asa_s"] > t.max_asa_s:
        parts.append(f"ASA {row['asa_s']:.0f} s > {t.max_asa_s:g} s")
    if t.max_abandon is not None and row["abandon_rate"] > t.max_abandon:
        parts.append(f"abandoned {100 * row['abandon_rate']:.0f}% > {100 * t.max_abandon:g}%")
    return ", ".join(parts)


def verdict_lines(review: Review) -> list[str]:
    """The short verdict for the terminal, one block per case."""
    lines = []
    when = _when_format(review.scenario)
    for r in review.cases:
        ab, ab_ci = r.abandoned
        head = f"{r.case.name} (volume x{r.case.factor:g}): "
        abandoned = f"expected abandoned {_plus_minus(ab, ab_ci)} contacts"
        if r.clean:
            lines.append(head + f"every interval meets its targets; {abandoned}")
            continue
        m = r.misses
        w = r.worst
        lines.append(head + f"{len(m)} interval x queue miss their targets "
                            f"({m['interval'].nunique()} intervals); {abandoned}")
        lines.append(f"  worst: {w['interval_start']:{when}} {w['queue']} "
                     f"({describe_miss(w, r.scenario)}); agents short there (Erlang): "
                     f"{w['short']:.0f}")
        spans = _spans(m, when)
        lines.append("  misses: " + "; ".join(spans[:8]) + (" ..." if len(spans) > 8 else ""))
    if review.fix is not None:
        f = review.fix
        state = "closes every gap" if f.closed else \
            f"leaves {int(f.result.intervals['miss'].sum())} misses"
        lines.append(f"fix for {review.fix_case}: book {int(f.shifts['agents'].sum())} agents "
                     f"on {len(f.shifts)} shifts ({f.agent_hours:,.1f} agent-hours, cost "
                     f"{f.cost:,.1f}; {f.rounds} rounds): {state}")
        for _, r in f.shifts.iterrows():
            lines.append(f"  {r['group']} {r['start']}-{r['end']} ({r['pattern']}): "
                         f"{int(r['agents'])} agent{'s' if int(r['agents']) != 1 else ''}"
                         + (f", breaks {r['breaks']}" if r["breaks"] else ""))
    elif review.fix_note:
        lines.append(f"fix for {review.fix_case}: {review.fix_note}")
    return lines


def _spans(misses: pd.DataFrame, when: str = "%H:%M") -> list[str]:
    """Runs of consecutive missed intervals per queue: 'aftersales 00:00-00:30'."""
    out = []
    for q, m in misses.sort_values("interval").groupby("queue", sort=True):
        idx = m["interval"].to_numpy()
        starts = m["interval_start"].to_list()
        first = 0
        for k in range(1, len(idx) + 1):
            if k == len(idx) or idx[k] != idx[k - 1] + 1:
                out.append(f"{q} {starts[first]:{when}}" +
                           (f"-{starts[k - 1]:{when}}" if k - 1 > first else ""))
                first = k
    return out


# --------------------------------------------------------------------------------------------
# The HTML report
# --------------------------------------------------------------------------------------------
def _svg(fig: Any) -> str:
    import warnings

    import matplotlib.pyplot as plt

    buf = io.StringIO()
    with warnings.catch_warnings():
        # A horizon of a few intervals leaves AutoDateLocator no tick it likes: it says so on
        # the terminal and then draws the axis anyway, which is all a report needs.
        warnings.filterwarnings("ignore", message="AutoDateLocator was unable",
                                category=UserWarning)
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _figure(rows: int, cols: int, *, width: float = 11.0, height: float = 2.4) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Queue and group names are text, never math ("$" in a name must not be parsed).
    plt.rcParams.update({"font.size": 8, "svg.fonttype": "none", "text.parse_math": False})
    fig, axes = plt.subplots(rows, cols, figsize=(width, height * rows), squeeze=False,
                             sharex=True)
    return fig, axes


def _time_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=5))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.grid(alpha=0.3)


def _table(frame: pd.DataFrame, formats: dict[str, Callable[[Any], str]] | None = None,
           *, cls: str = "") -> str:
    formats = formats or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for c in frame.columns:
            v = row[c]
            text = formats[c](v) if c in formats else (
                f"{v:%Y-%m-%d %H:%M}" if isinstance(v, pd.Timestamp) else str(v))
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>' + "".join(body)
            + "</tbody></table>")


def pct(x: Any) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{100 * x:.1f}%"


def sec(x: Any) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.1f} s"


def num(x: Any) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:,.0f}"


def _forecast_chart(review: Review) -> str:
    sc = review.scenario
    fig, axes = _figure(1, 1, height=2.8)
    ax = axes[0][0]
    styles = ["-", "--", "-.", ":"]
    for i, q in enumerate(sc.queues):
        ax.plot(sc.interval_starts, sc.contacts[i], label=q, ls=styles[i % len(styles)])
    ax.set_ylabel(f"contacts per {sc.spec.interval_min:g} min")
    ax.legend(ncol=len(sc.queues), loc="upper right")
    _time_axis(ax)
    return _svg(fig)


def _staffing_chart(review: Review) -> str:
    fig, axes = _figure(1, 1, height=3.0)
    ax = axes[0][0]
    for r in review.cases:
        ax.plot(r.staffing["interval_start"], r.staffing["required"],
                label=f"required, {r.case.name} (Erlang)")
    base = review.cases[0].staffing
    ax.plot(base["interval_start"], base["rostered"], color="black", lw=2,
            label="rostered (on the floor)")
    ax.set_ylabel("agents")
    ax.legend(loc="upper right", fontsize=7)
    _time_axis(ax)
    return _svg(fig)


def _queue_chart(result: CaseResult, column: str, *, label: str, target: bool,
                 scale: float = 1.0) -> str:
    queues = list(result.scenario.queues)
    fig, axes = _figure(1, len(queues), height=2.4)
    for ax, q in zip(axes[0], queues):
        f = result.intervals[result.intervals["queue"] == q]
        x = f["interval_start"]
        ax.fill_between(x, scale * f[f"{column}_p10"], scale * f[f"{column}_p90"], alpha=0.25,
                        label="10th-90th percentile")
        ax.plot(x, scale * f[column], label="mean")
        if target:
            ax.axhline(scale * f["target"].iloc[0], color="red", ls="--", lw=1, label="target")
        miss = f[f["miss"]]
        if target and not miss.empty:
            ax.scatter(miss["interval_start"], scale * miss[column], color="red", s=8,
                       zorder=3, label="misses")
        ax.set_title(q)
        _time_axis(ax)
    axes[0][0].set_ylabel(label)
    axes[0][0].legend(fontsize=6, loc="lower left")
    fig.autofmt_xdate()
    return _svg(fig)


def _occupancy_chart(result: CaseResult) -> str:
    fig, axes = _figure(1, 1, height=2.8)
    ax = axes[0][0]
    for g, f in result.groups.groupby("group"):
        ax.plot(f["interval_start"], 100 * f["occupancy"], label=g)
    ax.axhline(100 * BURN_OUT, color="red", ls="--", lw=1, label="burn-out risk (90%)")
    ax.set_ylabel("occupancy %")
    ax.set_ylim(0, 105)
    ax.legend(ncol=4, fontsize=7, loc="lower right")
    _time_axis(ax)
    return _svg(fig)


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;
max-width:1200px}
h1{font-size:22px} h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
h3{font-size:15px} table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right} th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left} .clean{color:#17752b;font-weight:bold}
.short{color:#b3261e;font-weight:bold} .note{color:#555;font-size:12px}
pre{background:#f7f7f7;padding:8px;font-size:11px;overflow-x:auto}
svg{max-width:100%;height:auto}
"""


def render_html(review: Review) -> str:
    """The report as one self-contained HTML page."""
    sc = review.scenario
    spec = sc.spec
    parts: list[str] = []
    add = parts.append
    add(f"<h1>Capacity review: {html.escape(spec.name)}</h1>")
    add(f'<p class="note">{sc.n_intervals} intervals of {spec.interval_min:g} min from '
        f"{spec.start:%Y-%m-%d %H:%M}; {review.reps} replications per case, seed "
        f"{review.seed}; made {html.escape(review.created)}.</p>")

    # Verdict
    add("<h2>Verdict</h2>")
    when = _when_format(sc)
    rows = []
    for r in review.cases:
        ab, ab_ci = r.abandoned
        w = r.worst
        rows.append({"case": f"{r.case.name} (x{r.case.factor:g})",
                     "verdict": "meets every target" if r.clean else "short",
                     "misses (interval x queue)": len(r.misses),
                     "worst interval": "-" if w is None else
                     f"{w['interval_start']:{when}} {w['queue']} "
                     f"{describe_miss(w, r.scenario)}",
                     "agents short at worst (Erlang)": "-" if w is None else num(w["short"]),
                     "abandoned (mean ±95% CI)": _plus_minus(ab, ab_ci)})
    add(_table(pd.DataFrame(rows), cls="verdict"))
    for line in verdict_lines(review):
        add(f'<p class="note">{html.escape(line)}</p>')

    # Forecast
    add("<h2>Forecast</h2>")
    add(_forecast_chart(review))
    totals = pd.DataFrame({"interval_start": sc.interval_starts,
                           "contacts": sc.contacts.sum(axis=0)})
    peaks = totals.nlargest(3, "contacts").sort_values("interval_start")
    per_queue = {q: sc.contacts[i] for i, q in enumerate(sc.queues)}
    peaks = peaks.assign(**{q: [per_queue[q][i] for i in peaks.index] for q in sc.queues})
    add("<h3>Peak intervals (base volume)</h3>")
    add(_table(peaks, {c: num for c in ["contacts", *sc.queues]}, cls="peaks"))

    # Required vs rostered
    add("<h2>Required (Erlang) against rostered agents</h2>")
    add('<p class="note">Required: the Erlang agents of every queue added up (dedicated '
        "per-queue teams; a multi-skilled team needs at most that). Rostered: the mean number "
        "on the floor in the simulation, breaks taken out.</p>")
    add(_staffing_chart(review))
    wide = review.cases[0].staffing[["interval_start", "rostered"]].copy()
    for r in review.cases:
        wide[f"required {r.case.name}"] = r.staffing["required"].to_numpy()
        wide[f"gap {r.case.name}"] = r.staffing["gap"].to_numpy()
    add("<details><summary>Table per interval</summary>")
    add(_table(wide, {c: (lambda v: f"{v:.1f}") for c in wide.columns if c !=
                      "interval_start"}, cls="staffing"))
    add("</details>")

    # Simulated service per case
    for r in review.cases:
        add(f"<h2>Simulated service: {html.escape(r.case.name)} (volume x{r.case.factor:g})"
            "</h2>")
        add(_queue_chart(r, "service_level", label="service level %", target=True,
                         scale=100))
        add(_queue_chart(r, "asa_s", label="ASA (s)", target=False))
        add(_queue_chart(r, "abandon_rate", label="abandoned %", target=False, scale=100))
        s = r.summary[["queue", "offered", "service_level", "service_level_ci95", "asa_s",
                       "abandon_rate", "abandoned", "occupancy"]]
        add(_table(s, {"offered": num, "service_level": pct, "service_level_ci95": pct,
                       "asa_s": sec, "abandon_rate": pct, "abandoned": num,
                       "occupancy": pct}, cls=f"summary summary-{r.case.name}"))
        if not r.misses.empty:
            m = r.misses[["interval_start", "queue", "offered", "service_level", "target",
                          "abandon_rate"]]
            add("<details><summary>Intervals that miss their target</summary>")
            add(_table(m, {"offered": num, "service_level": pct, "target": pct,
                           "abandon_rate": pct}, cls=f"misses misses-{r.case.name}"))
            add("</details>")

    # Occupancy
    base = next((r for r in review.cases if r.case.name == review.fix_case), review.cases[0])
    add(f"<h2>Occupancy per agent group ({html.escape(base.case.name)})</h2>")
    add(_occupancy_chart(base))
    occ = base.simulation.group_summary()[["group", "occupancy", "occupancy_ci95",
                                           "slot_occupancy"]]
    add(_table(occ, {"occupancy": pct, "occupancy_ci95": pct, "slot_occupancy": pct},
               cls="occupancy"))
    hot = base.groups[base.groups["occupancy"] > BURN_OUT]
    if not hot.empty:
        add(f'<p class="short">Above {100 * BURN_OUT:.0f}% (burn-out risk): ' +
            html.escape(", ".join(f"{g} ({len(f)} intervals)"
                                  for g, f in hot.groupby("group"))) + "</p>")

    # Transfers
    add(f"<h2>Transfers between queues ({html.escape(base.case.name)})</h2>")
    if base.transfers.empty:
        add("<p>No transfers.</p>")
    else:
        add(_table(base.transfers, {"transfers": lambda v: f"{v:,.1f}"}, cls="transfers"))
        add('<p class="note">Mean per run of the horizon.</p>')

    # Fix
    add("<h2>What closes the gap</h2>")
    if review.fix is None and review.fix_note:
        add(f'<p class="short">{html.escape(review.fix_note)}.</p>')
    elif review.fix is None:
        add('<p class="clean">Nothing to close: the case meets every target.</p>')
    else:
        f = review.fix
        add(f"<p>The cheapest shifts to book under {html.escape(f.rules)} "
            f"(<code>peakplan plan</code>: an integer programme over the shift patterns, the "
            f"requirement checked by simulation, {f.rounds} round{'s' if f.rounds > 1 else ''}, "
            f"cover {html.escape(f.status)}): <b>{int(f.shifts['agents'].sum())} agents on "
            f"{len(f.shifts)} shifts, {f.agent_hours:,.1f} agent-hours, cost "
            f"{f.cost:,.1f}</b> for the {html.escape(review.fix_case or '')} case; with them "
            f"the case, simulated again with the same seeds, "
            + ("<span class='clean'>meets every target</span>." if f.closed else
               f"<span class='short'>still has {len(f.result.misses)} misses</span>.")
            + "</p>")
        add(_table(f.shifts.drop(columns=[c for c in ("day",) if c in f.shifts.columns]),
                   {"agents": num, "hours": lambda v: f"{v:,.1f}",
                    "cost": lambda v: f"{v:,.1f}"}, cls="extra"))
        add("<h3>Simulated result of the fixed roster</h3>")
        add(_queue_chart(f.result, "service_level", label="service level %", target=True,
                         scale=100))
        s = f.result.summary[["queue", "offered", "service_level", "service_level_ci95",
                              "asa_s", "abandon_rate", "occupancy"]]
        add(_table(s, {"offered": num, "service_level": pct, "service_level_ci95": pct,
                       "asa_s": sec, "abandon_rate": pct, "occupancy": pct},
                   cls="summary summary-fix"))

    # Assumptions
    add("<h2>Assumptions and reproduction</h2>")
    digest = hashlib.sha256(review.scenario_text.encode()).hexdigest()[:16] \
        if review.scenario_text else "-"
    u = sc.spec.arrivals.uncertainty
    facts = pd.DataFrame({"": ["scenario file", "scenario sha256", "cases", "replications",
                               "seed", "misses counted from", "volume uncertainty",
                               *[f"version {k}" for k in review.versions]],
                          "value": [sc.source, digest,
                                    ", ".join(f"{r.case.name}=x{r.case.factor:g}"
                                              for r in review.cases),
                                    str(review.reps), str(review.seed),
                                    f"{review.min_contacts:g} contacts offered per interval",
                                    "none" if u is None else
                                    f"{describe_uncertainty(u)}: one multiplier per "
                                    "replication and queue in NAME=FACTOR cases (their bands "
                                    "and CIs include forecast risk); pNN cases are that "
                                    "percentile's fixed factor, without the draw",
                                    *review.versions.values()]})
    add(_table(facts, cls="assumptions"))
    cmd = (f"peakplan review {sc.source} --cases "
           + ",".join(r.case.text for r in review.cases)
           + f" --reps {review.reps} --seed {review.seed}")
    add(f"<p>Reproduce with: <code>{html.escape(cmd)}</code></p>")
    add("<p class='note'>Model: per-interval Erlang C/A for the requirement (SIPP: it misjudges "
        "intervals where the rate jumps); the simulator plays every contact with skills, "
        "routing, transfers, chat concurrency, abandonment, shifts and breaks. A miss is a mean "
        "service level below target over the replications.</p>")
    if review.scenario_text:
        add("<details><summary>Scenario file</summary><pre>"
            f"{html.escape(review.scenario_text)}</pre></details>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Capacity review: {html.escape(spec.name)}</title>"
            f"<style>{_CSS}</style></head><body>" + "\n".join(parts) + "</body></html>")


def review_tables(review: Review) -> dict[str, pd.DataFrame]:
    """The review's tables, for CSV export beside the report."""
    tables: dict[str, pd.DataFrame] = {}
    for r in review.cases:
        tables[f"{r.case.name}_intervals"] = r.intervals
        tables[f"{r.case.name}_staffing"] = r.staffing
        tables[f"{r.case.name}_summary"] = r.summary
    if review.fix is not None:
        tables["fix_shifts"] = review.fix.shifts
        tables["fix_intervals"] = review.fix.result.intervals
        tables["fix_summary"] = review.fix.result.summary
    return tables

