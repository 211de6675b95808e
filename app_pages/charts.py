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

__all__ = ["agents_needed", "service_level", "queue_length", "occupancy", "difference",
           "sweep_lines", "MISS_COLOUR"]

MISS_COLOUR = "#d62728"
# A palette without a strong red, so that red means "misses a target" only.
_SCHEME = alt.Scale(scheme="dark2")
_TIME = alt.X("interval_start:T", title="interval start (scenario time)",
              axis=alt.Axis(format="%H:%M", labelOverlap=True))
_TIME_TOOLTIP = alt.Tooltip("interval_start:T", title="interval", format="%Y-%m-%d %H:%M")


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
    return alt.layer(bars, line).properties(height=320)


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
    return alt.layer(line, _band(data, "service_level", "queue", "queue", clip=True), rule,
                     missed).properties(height=340)


def queue_length(frame: pd.DataFrame) -> alt.LayerChart:
    """Mean number waiting per interval and queue (the interval's maximum in the tooltip)."""
    data = _segments(frame, "mean_queue", "queue")
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=15)).encode(
        x=_TIME, y=alt.Y("mean_queue:Q", title="contacts waiting (time average)"),
        color=_colour("queue", "queue"), detail="_seg:N",
        tooltip=[_TIME_TOOLTIP, "queue:N",
                 alt.Tooltip("mean_queue:Q", format=".2f", title="waiting (mean)"),
                 alt.Tooltip("max_queue:Q", format=".1f", title="waiting (max)")])
    return alt.layer(line, _band(data, "mean_queue", "queue", "queue", clip=True, high=None)
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
    return alt.layer(line, _band(data, "occupancy", "group", "agent group", clip=True)
                     ).properties(height=260)


def difference(frame: pd.DataFrame, value: str, label: str, *, pct: bool) -> alt.LayerChart:
    """B - A per interval and queue with its 95% CI band, and the zero line."""
    data = _segments(frame, value, "queue")
    fmt = "+.1%" if pct else "+.2f"
    y = alt.Y(f"{value}:Q", title=f"{label}, B - A",
              axis=alt.Axis(format="+.0%" if pct else "+~g"))
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=20)).encode(
        x=_TIME, y=y, color=_colour("queue", "queue"), detail="_seg:N",
        tooltip=[_TIME_TOOLTIP, "queue:N",
                 alt.Tooltip(f"{value}:Q", format=fmt, title="B - A"),
                 alt.Tooltip(f"{value}_ci95:Q", format=".1%" if pct else ".2f",
                             title="± 95% CI")])
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="grey").encode(y="zero:Q")
    return alt.layer(line, _band(data, value, "queue", "queue", clip=False), zero
                     ).properties(height=340)


def sweep_lines(frame: pd.DataFrame, *, x: str, colour: str | None, value: str, label: str,
                pct: bool, tooltip: Sequence[str] = ()) -> alt.LayerChart:
    """A measure against one varied parameter, one line per value of another, with 95% CI
    error bars; filled points meet the queue's targets (on the mean), open ones do not."""
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
    colour_enc = alt.Color("_colour:N", title=colour or "", scale=_SCHEME,
                           legend=alt.Legend() if colour else None)
    tips = [alt.Tooltip("_x:Q", title=x),
            alt.Tooltip("_y:Q", title=label, format=".1%" if pct else ".2f"),
            alt.Tooltip(f"{value}_ci95:Q", title="± 95% CI", format=".1%" if pct else ".2f"),
            alt.Tooltip("target met:N")] + [alt.Tooltip(f"{t}:N") for t in tooltip]
    if colour:
        tips.insert(1, alt.Tooltip("_colour:N", title=colour))
    whole = bool(pd.api.types.is_integer_dtype(data["_x"]) or
                 (data["_x"].dropna() % 1 == 0).all())
    base = alt.Chart(data).encode(x=alt.X(
        "_x:Q", title=x, scale=alt.Scale(zero=False),
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
    return alt.layer(bars, lines, points).properties(height=360)
