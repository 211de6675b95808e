"""The app's charts (Altair).  Each takes a tidy table and returns a chart; no computation
beyond laying the table out for Vega-Lite.

Times are the scenario's own (``interval_start``, naive local time: Vega-Lite shows it as
written).  Fractions are shown as percentages on the axes.  A line breaks where its value is
missing (an interval without contacts has no service level; a group off the floor has no
occupancy) instead of joining the points on either side.  Titles are the pages' headings.
The line comes first in each layered chart: the legend takes its symbols from the first layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

__all__ = ["agents_needed", "service_level", "service_level_by_queue", "queue_length",
           "occupancy", "difference", "difference_by_queue", "need_vs_roster",
           "need_by_queue", "plan_lines", "sweep_lines", "MISS_COLOUR", "ERLANG_SERIES",
           "PLAN_SERIES", "CURRENT_SERIES", "PLANNED_SERIES",
           "PLAN_SERIES", "FLOOR_SERIES"]

MISS_COLOUR = "#d62728"
# A palette without a strong red, so that red means "misses a target" only.
_SCHEME = alt.Scale(scheme="dark2")
_TIME = alt.X("interval_start:T", title="interval start (scenario time)",
              axis=alt.Axis(format="%H:%M", labelOverlap=True))
_TIME_TOOLTIP = alt.Tooltip("interval_start:T", title="interval", format="%Y-%m-%d %H:%M")


def _layer(*charts: alt.Chart) -> alt.LayerChart:
    """The layers that have rows: an empty layer makes Vega warn "Infinite extent" in the
    browser's console (its scale has no domain)."""
    kept = [c for c in charts if not (isinstance(c.data, pd.DataFrame) and c.data.empty)]
    return alt.layer(*kept)


def _grid(charts: list[alt.Chart], columns: int = 2) -> alt.ConcatChart:
    """Panels in a grid; each panel's title names its series, so no legend."""
    return alt.concat(*charts, columns=columns).configure_legend(disable=True)


def _in_order(frame: pd.DataFrame, order: Sequence[str] | None) -> list[tuple[str, pd.DataFrame]]:
    names = list(order) if order is not None else list(pd.unique(frame["queue"]))
    return [(q, frame[frame["queue"] == q]) for q in names if (frame["queue"] == q).any()]


def _segments(frame: pd.DataFrame, value: str, by: str) -> pd.DataFrame:
    """Rows with a value, and ``_seg`` numbering the unbroken runs of each series, so that a
    line (drawn per series and run) breaks at missing values."""
    frame = frame.sort_values([by, "interval_start"], kind="stable")
    gap = frame[value].isna()
    seg = gap.groupby(frame[by]).cumsum()
    return frame.assign(_seg=seg.to_numpy())[~gap.to_numpy()]


def _colour(field: str, title: str) -> alt.Color:
    return alt.Color(f"{field}:N", title=title, scale=_SCHEME)


def agents_needed(table: pd.DataFrame, totals: pd.DataFrame) -> alt.LayerChart:
    """Agents on the floor per interval, stacked by queue, and the scheduled total (line)."""
    bars = alt.Chart(table).mark_bar().encode(
        x=_TIME,
        y=alt.Y("agents:Q", stack="zero", title="agents"),
        color=_colour("queue", "queue (on the floor)"),
        tooltip=[_TIME_TOOLTIP, "queue:N", alt.Tooltip("contacts:Q", format=",.1f"),
                 alt.Tooltip("agents:Q", title="agents"),
                 alt.Tooltip("scheduled:Q", title="scheduled"),
                 alt.Tooltip("service_level:Q", format=".1%", title="service level")])
    line = alt.Chart(totals).mark_line(color="black", strokeDash=[4, 3], point=True).encode(
        x=_TIME, y=alt.Y("scheduled:Q"),
        tooltip=[_TIME_TOOLTIP, alt.Tooltip("scheduled:Q", title="scheduled (all queues)"),
                 alt.Tooltip("agents:Q", title="on the floor (all queues)")])
    return _layer(bars, line).properties(height=320)


def _band(frame: pd.DataFrame, value: str, by: str, title: str, *,
          clip: bool, high: float | None = 1.0) -> alt.Chart:
    """Mean +/- 95% half-width as a shaded band (per series and unbroken run); ``clip`` keeps
    it within [0, high] (a share, a count)."""
    half = frame[f"{value}_ci95"].fillna(0.0)
    data = frame.assign(_lo=frame[value] - half, _hi=frame[value] + half)
    if clip:
        data["_lo"] = data["_lo"].clip(lower=0.0)
        data["_hi"] = data["_hi"].clip(upper=high)
    return alt.Chart(data).mark_area(opacity=0.15).encode(
        x=_TIME, y="_lo:Q", y2="_hi:Q", color=_colour(by, title), detail="_seg:N")


def service_level(frame: pd.DataFrame) -> alt.LayerChart:
    """Service level per interval and queue (band: 95% CI over replications), the queue's
    target (dashed) and the intervals that miss a target (red rings)."""
    data = _segments(frame, "service_level", "queue")
    y = alt.Y("service_level:Q", title="service level", axis=alt.Axis(format="%"),
              scale=alt.Scale(domain=[0, 1]))
    tips = [_TIME_TOOLTIP, "queue:N",
            alt.Tooltip("service_level:Q", format=".1%", title="service level"),
            alt.Tooltip("service_level_ci95:Q", format=".1%", title="± 95% CI"),
            alt.Tooltip("target:Q", format=".0%", title="target"),
            alt.Tooltip("offered:Q", format=",.1f"),
            alt.Tooltip("asa_s:Q", format=".1f", title="ASA (s)"),
            alt.Tooltip("abandon_rate:Q", format=".1%", title="abandoned")]
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=20)).encode(
        x=_TIME, y=y, color=_colour("queue", "queue"), detail="_seg:N", tooltip=tips)
    targets = data.dropna(subset=["target"]).drop_duplicates("queue")
    rule = alt.Chart(targets).mark_rule(strokeDash=[6, 4]).encode(
        y="target:Q", color=_colour("queue", "queue"),
        tooltip=["queue:N", alt.Tooltip("target:Q", format=".0%", title="target")])
    missed = alt.Chart(data[data["miss"].astype(bool)]).mark_point(
        shape="circle", size=110, filled=False, strokeWidth=2.5, color=MISS_COLOUR).encode(
        x=_TIME, y=y, tooltip=tips)
    return _layer(line, _band(data, "service_level", "queue", "queue", clip=True), rule,
                  missed).properties(height=340)


def service_level_by_queue(frame: pd.DataFrame, *, order: Sequence[str] | None = None,
                           width: int = 380, height: int = 180) -> alt.ConcatChart:
    """:func:`service_level` as small multiples, one panel per queue, each with its target
    line (dashed) and its misses (red rings)."""
    panels = []
    for q, part in _in_order(frame, order):
        target = part["target"].dropna()
        title = f"{q}" + (f" (target {100 * target.iloc[0]:.0f}%)" if len(target) else "")
        panels.append(service_level(part).properties(title=title, width=width,
                                                       height=height))
    return _grid(panels)


def queue_length(frame: pd.DataFrame) -> alt.LayerChart:
    """Mean number waiting per interval and queue (the interval's maximum in the tooltip)."""
    data = _segments(frame, "mean_queue", "queue")
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=15)).encode(
        x=_TIME, y=alt.Y("mean_queue:Q", title="contacts waiting (time average)"),
        color=_colour("queue", "queue"), detail="_seg:N",
        tooltip=[_TIME_TOOLTIP, "queue:N",
                 alt.Tooltip("mean_queue:Q", format=".2f", title="waiting (mean)"),
                 alt.Tooltip("max_queue:Q", format=".1f", title="waiting (max)")])
    return _layer(line, _band(data, "mean_queue", "queue", "queue", clip=True, high=None)
                  ).properties(height=260)


def occupancy(frame: pd.DataFrame) -> alt.LayerChart:
    """Occupancy per interval and agent group (a break where nobody is on the floor)."""
    data = _segments(frame, "occupancy", "group")
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=15)).encode(
        x=_TIME, y=alt.Y("occupancy:Q", title="occupancy", axis=alt.Axis(format="%"),
                         scale=alt.Scale(domain=[0, 1])),
        color=_colour("group", "agent group"), detail="_seg:N",
        tooltip=[_TIME_TOOLTIP, "group:N",
                 alt.Tooltip("occupancy:Q", format=".1%"),
                 alt.Tooltip("agents:Q", format=".1f", title="agents on the floor")])
    burn = alt.Chart(pd.DataFrame({"burn_out": [0.9]})).mark_rule(
        color=MISS_COLOUR, strokeDash=[2, 2]).encode(
        y="burn_out:Q", tooltip=[alt.Tooltip("burn_out:Q", format=".0%",
                                             title="burn-out above")])
    return _layer(line, _band(data, "occupancy", "group", "agent group", clip=True), burn
                  ).properties(height=260)


def difference(frame: pd.DataFrame, value: str, label: str, *, pct: bool) -> alt.LayerChart:
    """B - A per interval and queue with its 95% CI band, and the zero line.  A difference of
    two shares is in percentage points, and its band is clipped to [-100, 100] pp (a share
    lies in [0, 100]%, so the difference of two cannot leave that range)."""
    data = frame.copy()
    if pct:
        data[value] = 100.0 * data[value]
        data[f"{value}_ci95"] = 100.0 * data[f"{value}_ci95"]
    data = _segments(data, value, "queue")
    unit = " (pp)" if pct else ""
    fmt = "+.1f" if pct else "+.2f"
    y = alt.Y(f"{value}:Q", title=f"{label}, B - A{unit}", axis=alt.Axis(format="+,~f"),
              scale=alt.Scale(domain=[-100, 100], clamp=True) if pct and
              data[value].abs().max() > 60 else alt.Scale())
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=20)).encode(
        x=_TIME, y=y, color=_colour("queue", "queue"), detail="_seg:N",
        tooltip=[_TIME_TOOLTIP, "queue:N",
                 alt.Tooltip(f"{value}:Q", format=fmt, title=f"B - A{unit}"),
                 alt.Tooltip(f"{value}_ci95:Q", format=".1f" if pct else ".2f",
                             title=f"± 95% CI{unit}")])
    half = data[f"{value}_ci95"].fillna(0.0)
    band_data = data.assign(_lo=data[value] - half, _hi=data[value] + half)
    if pct:
        band_data["_lo"] = band_data["_lo"].clip(lower=-100.0)
        band_data["_hi"] = band_data["_hi"].clip(upper=100.0)
    band = alt.Chart(band_data).mark_area(opacity=0.15).encode(
        x=_TIME, y="_lo:Q", y2="_hi:Q", color=_colour("queue", "queue"), detail="_seg:N")
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="grey").encode(y="zero:Q")
    return _layer(line, band, zero).properties(height=340)


def difference_by_queue(frame: pd.DataFrame, value: str, label: str, *, pct: bool,
                        order: Sequence[str] | None = None, width: int = 380,
                        height: int = 170) -> alt.ConcatChart:
    """:func:`difference` as small multiples, one panel per queue."""
    panels = [difference(part, value, label, pct=pct).properties(title=str(q), width=width,
                                                                 height=height)
              for q, part in _in_order(frame, order)]
    return _grid(panels)


ERLANG_SERIES = "required: Erlang per queue (summed)"
PLAN_SERIES = "required: plan (pooled, simulated)"
FLOOR_SERIES = "rostered on the floor"


def need_vs_roster(per_interval: pd.DataFrame,
                   plan: pd.DataFrame | None = None) -> alt.LayerChart:
    """Agents required (Erlang per queue, summed over queues) against agents rostered on the
    floor per interval; the gap shaded red where the roster is short of Erlang.  ``plan``
    (``interval_start``, ``required``): a plan's requirement (pooled and simulated, see
    :mod:`app_pages.plans`), drawn as a third line."""
    data = per_interval.copy()
    data["short_lo"] = data[["on_floor", "required"]].min(axis=1)
    series = {"required": ERLANG_SERIES, "on_floor": FLOOR_SERIES}
    if plan is not None:
        data = data.merge(plan.rename(columns={"required": "plan"}), on="interval_start",
                          how="left")
        series = {"required": ERLANG_SERIES, "plan": PLAN_SERIES, "on_floor": FLOOR_SERIES}
    long = data.melt(id_vars=["interval_start", "gap", "on_duty"],
                     value_vars=list(series), var_name="series", value_name="agents")
    long["series"] = long["series"].map(series)
    long = long.dropna(subset=["agents"])
    names = list(series.values())
    colours = {ERLANG_SERIES: "black", PLAN_SERIES: "#7570b3", FLOOR_SERIES: "#1b9e77"}
    dashes = {ERLANG_SERIES: [5, 3], PLAN_SERIES: [2, 2], FLOOR_SERIES: [1, 0]}
    tips = [_TIME_TOOLTIP, alt.Tooltip("series:N", title=""),
            alt.Tooltip("agents:Q", format=",.1f", title="agents"),
            alt.Tooltip("gap:Q", format="+,.1f", title="gap (Erlang - on the floor)"),
            alt.Tooltip("on_duty:Q", format=",.1f", title="on duty (breaks in)")]
    line = alt.Chart(long).mark_line(interpolate="step-after", point=alt.OverlayMarkDef(
        size=12)).encode(
        x=_TIME, y=alt.Y("agents:Q", title="agents"),
        color=alt.Color("series:N", title="", sort=names, scale=alt.Scale(
            domain=names, range=[colours[n] for n in names]),
            legend=alt.Legend(orient="top", labelLimit=0)),
        strokeDash=alt.StrokeDash("series:N", legend=None, sort=names, scale=alt.Scale(
            domain=names, range=[dashes[n] for n in names])), tooltip=tips)
    short = alt.Chart(data).mark_area(interpolate="step-after", opacity=0.3,
                                      color=MISS_COLOUR).encode(
        x=_TIME, y="short_lo:Q", y2="required:Q")
    return _layer(line, short).properties(height=300)


def need_by_queue(per_queue: pd.DataFrame, *, order: Sequence[str] | None = None,
                  width: int = 380, height: int = 150) -> alt.ConcatChart:
    """Per queue: Erlang agents required against agents on the floor in the groups that
    take the queue first (small multiples); red where short."""
    panels = []
    for q, part in _in_order(per_queue, order):
        d = part.assign(lo=part[["first_agents", "required"]].min(axis=1))
        long = d.melt(id_vars=["interval_start", "gap"], value_vars=["required",
                                                                      "first_agents"],
                      var_name="series", value_name="agents")
        long["series"] = long["series"].map({"required": "required (Erlang)",
                                             "first_agents": "first-preference agents"})
        line = alt.Chart(long).mark_line(interpolate="step-after").encode(
            x=_TIME, y=alt.Y("agents:Q", title="agents"),
            color=alt.Color("series:N", title="", scale=alt.Scale(
                domain=["required (Erlang)", "first-preference agents"],
                range=["black", "#1b9e77"])),
            strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(
                domain=["required (Erlang)", "first-preference agents"],
                range=[[5, 3], [1, 0]])),
            tooltip=[_TIME_TOOLTIP, "series:N",
                     alt.Tooltip("agents:Q", format=",.1f"),
                     alt.Tooltip("gap:Q", format="+,.1f", title="gap")])
        short = alt.Chart(d).mark_area(interpolate="step-after", opacity=0.3,
                                       color=MISS_COLOUR).encode(x=_TIME, y="lo:Q",
                                                                 y2="required:Q")
        panels.append(_layer(line, short).properties(
            title=f"{q}: black dashed required (Erlang), green first-preference agents",
            width=width, height=height))
    return _grid(panels)


CURRENT_SERIES = "current roster on the floor"
PLANNED_SERIES = "planned roster on the floor"


def plan_lines(frame: pd.DataFrame) -> alt.LayerChart:
    """Agents per interval, one line per ``series``: the Erlang requirement and the plan's
    (:data:`ERLANG_SERIES`, :data:`PLAN_SERIES`, drawn as on the Scenario page), the current
    and the planned roster on the floor."""
    order = list(pd.unique(frame["series"]))
    colours = {ERLANG_SERIES: "black", PLAN_SERIES: "#7570b3", CURRENT_SERIES: "#999999",
               PLANNED_SERIES: "#1b9e77"}
    dashes = {ERLANG_SERIES: [5, 3], PLAN_SERIES: [2, 2]}
    line = alt.Chart(frame).mark_line(interpolate="step-after").encode(
        x=_TIME, y=alt.Y("agents:Q", title="agents"),
        color=alt.Color("series:N", title="", sort=order, scale=alt.Scale(
            domain=order, range=[colours.get(n, "#e7298a") for n in order]),
            legend=alt.Legend(orient="top", labelLimit=0)),
        strokeDash=alt.StrokeDash("series:N", sort=order, legend=None, scale=alt.Scale(
            domain=order, range=[dashes.get(n, [1, 0]) for n in order])),
        tooltip=[_TIME_TOOLTIP, "series:N", alt.Tooltip("agents:Q", format=",.1f")])
    return _layer(line).properties(height=300)


def sweep_lines(frame: pd.DataFrame, *, x: str, colour: str | None, value: str, label: str,
                pct: bool, tooltip: Sequence[str] = (), x_title: str | None = None,
                colour_title: str | None = None,
                target: float | None = None) -> alt.LayerChart:
    """A measure against one varied parameter, one line per value of another, with 95% CI
    error bars; filled points meet the queue's targets (on the mean), open ones do not;
    ``target`` a dashed line.  Axis and legend titles: ``x_title``, ``colour_title``."""
    data = frame.rename(columns={x: "_x", value: "_y"}).copy()
    half = data[f"{value}_ci95"].fillna(0.0)
    data["_lo"], data["_hi"] = data["_y"] - half, data["_y"] + half
    if pct:  # a share stays in [0, 1] whatever the t interval says
        data["_lo"], data["_hi"] = data["_lo"].clip(lower=0.0), data["_hi"].clip(upper=1.0)
    data["_colour"] = data[colour].astype(str) if colour else "all points"
    met = data["target_met"].astype(str).str.lower() if "target_met" in data.columns \
        else pd.Series("", index=data.index)
    data["target met"] = met.map({"true": "yes", "false": "no"}).fillna("-")
    axis = alt.Axis(format="%") if pct else alt.Axis()
    colour_enc = alt.Color("_colour:N", title=colour_title or colour or "", scale=_SCHEME,
                           legend=alt.Legend(labelLimit=0, titleLimit=0) if colour else None)
    tips = [alt.Tooltip("_x:Q", title=x_title or x),
            alt.Tooltip("_y:Q", title=label, format=".1%" if pct else ".2f"),
            alt.Tooltip(f"{value}_ci95:Q", title="± 95% CI", format=".1%" if pct else ".2f"),
            alt.Tooltip("target met:N")] + [alt.Tooltip(f"{t}:N") for t in tooltip]
    if colour:
        tips.insert(1, alt.Tooltip("_colour:N", title=colour_title or colour))
    whole = bool(pd.api.types.is_integer_dtype(data["_x"]) or
                 (data["_x"].dropna() % 1 == 0).all())
    base = alt.Chart(data).encode(x=alt.X(
        "_x:Q", title=x_title or x, scale=alt.Scale(zero=False),
        axis=alt.Axis(tickMinStep=1, format="d") if whole else alt.Axis()))
    lines = base.mark_line().encode(y=alt.Y("_y:Q", title=label, axis=axis,
                                            scale=alt.Scale(zero=False)), color=colour_enc)
    bars = base.mark_errorbar(ticks=True).encode(y=alt.Y("_lo:Q", title=label), y2="_hi:Q",
                                                 color=colour_enc)
    points = base.mark_point(size=80, strokeWidth=2).encode(
        y="_y:Q", color=colour_enc,
        fill=alt.condition(alt.datum["target met"] == "no", alt.value("white"),
                           alt.Fill("_colour:N", scale=_SCHEME, legend=None)),
        tooltip=tips)
    layers = [bars, lines, points]
    if target is not None:
        layers.append(alt.Chart(pd.DataFrame({"target": [target]})).mark_rule(
            strokeDash=[6, 4], color="grey").encode(
            y="target:Q", tooltip=[alt.Tooltip("target:Q", format=".0%" if pct else "g",
                                               title="target")]))
    return _layer(*layers).properties(height=360)
