"""The history report: one self-contained HTML page (charts as inline SVG, no scripts, no
files beside it), like the capacity review's.  Pure: :func:`render_html` of an analysis
(:class:`planner.history.History`) and an optional backtest.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from planner.history import Backtest, History, forecast_csv

__all__ = ["render_html"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px;
       color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em;
     border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.note { color: #555; font-size: 0.9em; }
svg { max-width: 100%; height: auto; }
"""


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _figure(rows: int, cols: int, *, width: float = 11.0, height: float = 2.4,
            sharex: bool = True) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Names are text, never math ("$" in a queue name must not be parsed).
    plt.rcParams.update({"font.size": 8, "svg.fonttype": "none", "text.parse_math": False})
    return plt.subplots(rows, cols, figsize=(width, height * rows), squeeze=False,
                        sharex=sharex)


def _num(v: Any, digits: int = 1) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(x):
        return "-"
    return f"{x:,.{digits}f}"


def _pct(v: Any) -> str:
    x = float(v)
    return "-" if not math.isfinite(x) else f"{100 * x:.1f}%"


def _table(frame: pd.DataFrame, formats: dict[str, Callable[[Any], str]] | None = None) -> str:
    formats = formats or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for c, v in zip(frame.columns, row):
            text = formats[c](v) if c in formats else (
                f"{v:%Y-%m-%d %H:%M}" if isinstance(v, pd.Timestamp) else
                _num(v) if isinstance(v, (float, np.floating)) else str(v))
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _time_of_day(intervals: pd.DataFrame) -> pd.DataFrame:
    """KPIs by time of day over every day: counts summed, ratios of the sums."""
    t = intervals.assign(tod=intervals["interval_start"] -
                         intervals["interval_start"].dt.normalize())
    g = t.assign(w=np.nan_to_num(t["asa_s"] * t["answered"])).groupby(
        ["tod", "queue"], sort=True)[["offered", "answered", "answered_within", "abandoned",
                                      "w"]].sum().reset_index()
    days = max(intervals["interval_start"].dt.normalize().nunique(), 1)
    g["offered_per_day"] = g["offered"] / days
    with np.errstate(invalid="ignore", divide="ignore"):
        g["service_level"] = np.where(g["offered"] > 0, g["answered_within"] / g["offered"],
                                      np.nan)
        g["abandon_rate"] = np.where(g["offered"] > 0, g["abandoned"] / g["offered"], np.nan)
    g["hours"] = g["tod"].dt.total_seconds() / 3600.0
    return g


def _kpi_chart(h: History) -> str:
    g = _time_of_day(h.intervals)
    queues = sorted(g["queue"].unique())
    fig, axes = _figure(3, 1, height=2.0)
    for q in queues:
        part = g[g["queue"] == q]
        axes[0][0].plot(part["hours"], part["offered_per_day"], label=q)
        axes[1][0].plot(part["hours"], 100 * part["service_level"], label=q)
        axes[2][0].plot(part["hours"], 100 * part["abandon_rate"], label=q)
    axes[0][0].set_ylabel("offered / day")
    axes[1][0].set_ylabel(f"SL({h.target_s:g} s) %")
    axes[2][0].set_ylabel("abandoned %")
    axes[2][0].set_xlabel("hour of day")
    for ax in axes[:, 0]:
        ax.grid(alpha=0.3)
    axes[0][0].legend(loc="upper right", fontsize=7)
    return _svg(fig)


def _fit_charts(h: History) -> str:
    from scipy import stats

    queues = sorted(h.calibration)
    fig, axes = _figure(len(queues), 2, height=2.3, sharex=False)
    f = h.log.frame
    for i, q in enumerate(queues):
        c = h.calibration[q]
        ax = axes[i][0]
        x = f.loc[(f["queue"] == q) & f["handle_s"].notna(), "handle_s"].to_numpy(dtype=float)
        if c.handle is not None and x.size:
            top = float(np.quantile(x, 0.99))
            ax.hist(x[x <= top], bins=50, density=True, color="#bbb", label="log")
            grid = np.linspace(max(top / 500, 1e-3), top, 300)
            ax.plot(grid, c.handle.dist().pdf(grid), color="C0",
                    label=f"{c.handle.family} (cv {c.handle.cv:.2f}, KS {c.handle.ks:.3f})")
            ax.legend(fontsize=7)
        ax.set_title(f"{q}: handle time (s)", fontsize=8)
        ax = axes[i][1]
        km = c.patience.km
        ax.step(km["t_s"], km["survival"], where="post", color="#555",
                label="Kaplan-Meier (censored)")
        tmax = float(km["t_s"].max()) if len(km) else 1.0
        grid = np.linspace(0, max(tmax, 1.0), 200)
        if math.isfinite(c.patience.patience_s):
            ax.plot(grid, np.exp(-grid / c.patience.patience_s), color="C0",
                    label=f"exponential, mean {c.patience.patience_s:.0f} s")
        if math.isfinite(c.patience.naive_patience_s):
            ax.plot(grid, stats.expon(scale=c.patience.naive_patience_s).sf(grid),
                    color="C3", ls="--",
                    label=f"naive (abandoned only), {c.patience.naive_patience_s:.0f} s")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{q}: patience survival P(still waiting at t s)", fontsize=8)
        ax.legend(fontsize=7)
        for a in axes[i]:
            a.grid(alpha=0.3)
    return _svg(fig)


def _forecast_chart(h: History) -> str:
    fc = h.forecast.frame
    queues = sorted(fc["queue"].unique())
    fig, axes = _figure(len(queues), 1, height=2.0)
    for i, q in enumerate(queues):
        p = fc[fc["queue"] == q]
        hrs = (p["interval_start"] - p["interval_start"].dt.normalize()).dt.total_seconds() \
            / 3600
        ax = axes[i][0]
        ax.fill_between(hrs, p["low"], p["high"], alpha=0.25, color="C0", label="low-high")
        ax.plot(hrs, p["contacts"], color="C0", label="base")
        ax.set_ylabel(f"{q}\ncontacts")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    axes[-1][0].set_xlabel("hour of day")
    return _svg(fig)


def _backtest_chart(bt: Backtest) -> str:
    t = bt.table
    queues = sorted(t["queue"].unique())
    labels = {"service_level": "SL %", "abandon_rate": "abandoned %", "asa_s": "ASA s"}
    fig, axes = _figure(len(queues), 3, height=2.2, width=12.0)
    for i, q in enumerate(queues):
        p = t[t["queue"] == q]
        hrs = (p["interval_start"] - p["interval_start"].dt.normalize()).dt.total_seconds() \
            / 3600
        for j, (m, lab) in enumerate(labels.items()):
            k = 1.0 if m == "asa_s" else 100.0
            ax = axes[i][j]
            ax.fill_between(hrs, k * p[f"lo_{m}"], k * p[f"hi_{m}"], alpha=0.25, color="C0",
                            step="mid", label="simulated band")
            ax.plot(hrs, k * p[f"sim_{m}"], color="C0", label="simulated mean")
            out = p[f"outside_{m}"].to_numpy(dtype=bool)
            ax.plot(hrs, k * p[f"actual_{m}"], "o", ms=2.5, color="k", label="actual")
            ax.plot(hrs[out], k * p[f"actual_{m}"][out], "o", ms=4, color="C3",
                    label="outside band")
            ax.set_title(f"{q}: {lab}", fontsize=8)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=6)
    return _svg(fig)


def render_html(h: History, bt: Backtest | None = None) -> str:
    """The report as one self-contained HTML page."""
    log = h.log
    parts: list[str] = []
    add = parts.append
    add(f"<h1>Contact history: {html.escape(log.source)}</h1>")
    add(f'<p class="note">{log.rows_read:,} rows read, {log.rows_rejected:,} rejected, '
        f"{sum(log.phantom.values()):,} phantom and {sum(log.not_offered.values()):,} not "
        f"offered (left in the voice menu) reported apart; {len(log.days)} days from "
        f"{log.days[0]:%Y-%m-%d} to {log.days[-1]:%Y-%m-%d}; intervals of "
        f"{h.interval_min:g} min; service level within {h.target_s:g} s.</p>")
    if log.bad_rows:
        add("<p class='note'>First rejected rows: " + "; ".join(
            f"line {n}: {html.escape(r)}" for n, r in log.bad_rows) + "</p>")

    add("<h2>KPIs over the period</h2>")
    cols = ["queue", "offered", "answered", "abandoned", "short_abandoned", "service_level",
            "service_level_answered", "service_level_excl_abandoned_within", "abandon_rate",
            "asa_s", "aht_s", "transfer_share", "first_contact_resolution"]
    pct = {c: _pct for c in cols if c.startswith("service_level") or c in
           ("abandon_rate", "transfer_share", "first_contact_resolution")}
    counts = {c: (lambda v: _num(v, 0)) for c in ("offered", "answered", "abandoned",
                                                   "short_abandoned")}
    add(_table(h.period[cols], {**pct, **counts}))
    add("<h3>By time of day (all days together)</h3>")
    add(_kpi_chart(h))
    recent = h.days[h.days["day"] >= h.days["day"].max() - pd.Timedelta(days=91)]
    add(f"<details><summary>Per day (the last {recent['day'].nunique()} days; every day in "
        "kpi_days.csv)</summary>")
    add(_table(recent[["day", *cols]].assign(day=recent["day"].dt.strftime("%Y-%m-%d")),
               {**pct, **counts}))
    add("</details>")
    if not h.agents.empty:
        add("<h3>Agents on duty and occupancy per group</h3>")
        add('<p class="note">On duty: from the first answer to the end of the last contact of '
            "each agent and day (the log has no log-in times).</p>")
        g = h.agents.groupby("group")[["staffed_s", "busy_s"]].sum().reset_index()
        g["agent_hours"] = g["staffed_s"] / 3600
        g["occupancy"] = g["busy_s"] / g["staffed_s"]
        add(_table(g[["group", "agent_hours", "occupancy"]], {"occupancy": _pct}))

    add("<h2>Calibrated parameters</h2>")
    rows = []
    for q, c in sorted(h.calibration.items()):
        hf, p = c.handle, c.patience
        rows.append({
            "queue": q, "handle time": "-" if hf is None else hf.family,
            "mean handle s (95% CI)": "-" if hf is None else
            f"{hf.mean_s:.1f} ({hf.mean_s_ci95[0]:.1f}-{hf.mean_s_ci95[1]:.1f})",
            "cv (95% CI)": "-" if hf is None else
            f"{hf.cv:.3f} ({hf.cv_ci95[0]:.3f}-{hf.cv_ci95[1]:.3f})",
            "KS distance": "-" if hf is None else f"{hf.ks:.3f}",
            "wrap s": f"{c.wrap_s:.1f}",
            "patience s (95% CI)": "no abandons" if not math.isfinite(p.patience_s) else
            f"{p.patience_s:.0f} ({p.patience_s_ci95[0]:.0f}-{p.patience_s_ci95[1]:.0f})",
            "naive (biased) s": _num(p.naive_patience_s, 0),
            "abandons / visits": f"{p.abandons:,} / {p.visits:,}",
            "overdispersion": _num(c.overdispersion, 2)})
    add(_table(pd.DataFrame(rows)))
    add('<p class="note">Patience: exponential maximum likelihood with answered waits as '
        "censored times (total time waited / abandons), 95% interval from the chi-square "
        "distribution. The naive mean wait of abandoned contacts ignores everyone who was "
        "answered first and is biased low; it is shown only for comparison. Overdispersion: "
        "variance / mean of interval counts against the intraday profile (1 = Poisson).</p>")
    add(_fit_charts(h))
    if len(h.transfers):
        add("<h3>Transfers</h3>")
        add(_table(h.transfers, {c: _pct for c in ("share", "share_lo", "share_hi")}))

    fc = h.forecast
    add(f"<h2>Forecast for {fc.day:%Y-%m-%d}</h2>")
    add(f'<p class="note">Profile and level from {len(fc.matching_days)} matching day(s) ('
        + ", ".join(f"{d:%Y-%m-%d}" for d in fc.matching_days)
        + f"), uplift {100 * fc.uplift:+.0f}%. Low/high: {html.escape(fc.band_from)}. "
          f"Cases for <code>peakplan review --cases {html.escape(fc.cases())}</code>.</p>")
    add(_forecast_chart(h))
    e = fc.error
    add(f'<p class="note">The method on the log\'s own past: mean absolute error per '
        f"interval and queue {_num(e.mae, 2)} contacts, against "
        f"{_num(e.mae_same_day_last_week, 2)} for the same day last week, over "
        f"{e.compared_days} days.</p>")
    totals = forecast_csv(h).groupby("queue")["contacts"].sum().reset_index()
    add(_table(totals))

    if bt is not None:
        add(f"<h2>Backtest of {bt.day:%Y-%m-%d}</h2>")
        add(f'<p class="note">The day simulated {bt.reps} times (seed {bt.seed}) with its own '
            f"arrivals per interval and the staffing from {html.escape(bt.staffing_from)}, "
            f"against what the log says happened. Band: {100 * bt.band_coverage:.0f}% of "
            "replications (a value from the same model falls outside it that often).</p>")
        add(_table(pd.DataFrame([{
            "measure": m, "mean absolute error": _num(bt.mae[m], 3 if m != "asa_s" else 1),
            "intervals outside the band": _pct(bt.outside[m])} for m in bt.mae])))
        add(f'<p class="note">Outside the band over every measure: '
            f"{_pct(bt.outside_share)} of {bt.compared} interval values (about "
            f"{100 - 100 * bt.band_coverage:.0f}% if the simulator matches the team).</p>")
        add(_backtest_chart(bt))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Contact history</title>"
            f"<style>{_CSS}</style></head><body>" + "\n".join(parts) + "</body></html>")
