"""The interval staffing table: agents needed per interval and queue, by Erlang C or Erlang A.

Model and assumptions
---------------------
Each interval and queue is treated as its own steady-state queue (the stationary independent
period-by-period approximation, SIPP): contacts arrive as a Poisson process at the interval's
mean rate, handle times are exponential with the interval's AHT, and agents serve one queue.
Erlang A is used where the queue has a patience (customers abandon), Erlang C otherwise.
SIPP misjudges intervals where the rate jumps (the midnight spike of 11.11) and handle times that
spill into the next interval; the simulator shows where.  Per-queue agents assume dedicated
teams: a multi-skilled team pools its agents and needs at most the sum (the simulator measures
the pooled team).

Chat concurrency (approximation, as in ../shared/domain.md): an agent who holds up to ``k``
chats is treated as ``k`` independent slots, each chat taking the handle time slowed to
``aht_s * (1 + chat_slowdown * (k - 1))`` (the agent at full concurrency).  The Erlang formula
gives the slots needed and agents are ``ceil(slots / k)``.  Because the slowdown of a full agent
is applied to every chat, the approximation errs on the side of more agents when agents hold
fewer than ``k`` chats; occupancy for chat is the share of chat slots in use.

Scheduled agents add shrinkage: ``ceil(agents / (1 - shrinkage))``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner import erlang
from sim.errors import InputError, count
from sim.files import load_yaml, quote, validate
from sim.forecast import Forecast
from sim.scenario import LIMITS
from sim.targets import QueuePlan, Target

# (There is no TargetsFile class: read_targets validates each queue as a QueuePlan.  Listing a
# name that does not exist made `from planner.staffing import *` fail with AttributeError.)
__all__ = ["Target", "QueuePlan", "TABLE_COLUMNS", "staffing_table", "interval_totals",
           "scheduled_agents", "peak_summary", "read_targets"]

# Rounding guard for ceil(agents / (1 - shrinkage)): 21 / (1 - 0.3) is 30.000000000000004 in
# binary floating point and must give 30 scheduled agents, not 31 (14 / 0.7 happens to round to
# exactly 20.0, but 21, 42, 84, ... at 30% do not).
_CEIL_GUARD = 1e-9


TABLE_COLUMNS = {
    "interval_start": "start of the interval (scenario time)",
    "queue": "queue id",
    "channel": "voice or chat",
    "contacts": "contacts offered in the interval",
    "aht_s": "mean handle time (s), before chat slowdown",
    "traffic_erl": "offered load in Erlangs (chat: in chat slots, with slowdown)",
    "model": "erlang_c or erlang_a",
    "agents": "agents needed on the floor",
    "scheduled": "agents to schedule: ceil(agents / (1 - shrinkage))",
    "service_level": "answered within target / offered, with those agents",
    "asa_s": "mean wait of answered contacts (s)",
    "p_wait": "probability that a contact waits",
    "p_abandon": "abandoned / offered (Erlang A; NaN under Erlang C)",
    "occupancy": "busy share of staffed agent (chat: slot) time",
}


def scheduled_agents(agents: np.ndarray | int, shrinkage: float) -> np.ndarray:
    """Agents to schedule so that ``agents`` are available after ``shrinkage``."""
    return np.ceil(np.asarray(agents, dtype=float) / (1.0 - shrinkage) - _CEIL_GUARD
                   ).astype(np.int64)


def _queue_rows(frame: pd.DataFrame, plan: QueuePlan, *, queue: str, interval_s: float,
                source: str) -> pd.DataFrame:
    contacts = frame["contacts"].to_numpy(dtype=float)
    aht = frame["aht_s"].to_numpy(dtype=float).copy()
    if np.isnan(aht).any():
        if plan.aht_s is None:
            raise InputError(f"queue {queue!r} has intervals without aht_s and no default "
                             "handle time (expected an aht_s column in the forecast, or "
                             "aht_s for the queue in the targets, or --aht-s)",
                             file=source, field="aht_s")
        aht[np.isnan(aht)] = plan.aht_s
    k = plan.chat_concurrency if plan.channel == "chat" else 1
    aht_slot = aht * (1.0 + plan.chat_slowdown * (k - 1))
    rate = contacts / interval_s
    t = plan.target
    if t.max_abandon is not None and plan.patience_s is None:
        raise InputError(f"queue {queue!r} has an abandonment target (max_abandon) but no "
                         "patience_s: abandonment needs the customers' mean patience "
                         "(Erlang A)", file=source, field="patience_s")
    traffic = rate * aht_slot
    cap = (t.max_occupancy or 1.0) * k
    if traffic.size and traffic.max() / cap > LIMITS.agents:
        i = int(traffic.argmax())
        raise InputError(f"queue {quote(queue)} needs more than {count(traffic[i] / cap)} agents "
                         f"in one interval ({count(contacts[i])} contacts; at most "
                         f"{LIMITS.agents:,} agents: check the volume and the handle time)",
                         file=source, field="contacts")
    try:
        slots = erlang.agents_needed(
            rate_per_s=rate, aht_s=aht_slot, target_s=t.within_s if t.service_level else None,
            service_level=t.service_level if t.within_s is not None else None,
            patience_s=plan.patience_s, max_asa_s=t.max_asa_s,
            max_abandon=t.max_abandon,
            max_occupancy=t.max_occupancy)
    except ValueError as exc:
        raise InputError(f"queue {queue!r}: {exc}", file=source) from None
    agents = np.ceil(slots / k).astype(np.int64)
    if agents.size and agents.max() > LIMITS.agents:
        raise InputError(f"queue {quote(queue)} needs {agents.max():,} agents in one interval "
                         f"(at most {LIMITS.agents:,}: check the volume, the handle time and "
                         "the targets)", file=source, field="contacts")
    n = (agents * k).astype(float)
    within = t.within_s or 0.0
    if plan.patience_s is not None:
        r = erlang.erlang_a(rate_per_s=rate, aht_s=aht_slot, patience_s=plan.patience_s,
                            agents=n, target_s=within)
        sl, asa, p_wait, p_ab, occ = (r.service_level, r.asa_s, r.p_wait, r.p_abandon,
                                      r.occupancy)
        model = "erlang_a"
    else:
        sl = erlang.service_level(traffic=traffic, agents=n, aht_s=aht_slot, target_s=within)
        asa = erlang.asa_s(traffic=traffic, agents=n, aht_s=aht_slot)
        p_wait = erlang.erlang_c(traffic, n)
        p_ab = np.full_like(traffic, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            occ = np.where(n > 0, traffic / np.where(n > 0, n, 1.0), np.nan)
        model = "erlang_c"
    idle = contacts == 0
    out = pd.DataFrame({
        "interval_start": frame["interval_start"].to_numpy(),
        "queue": queue,
        "channel": plan.channel,
        "contacts": contacts,
        "aht_s": aht,
        "traffic_erl": traffic,
        "model": model,
        "agents": agents,
        "scheduled": scheduled_agents(agents, plan.shrinkage),
        "service_level": np.where(idle, np.nan, sl),
        "asa_s": np.where(idle, np.nan, asa),
        "p_wait": np.where(idle, np.nan, p_wait),
        "p_abandon": np.where(idle, np.nan, p_ab),
        "occupancy": np.where(idle, np.nan, occ),
    })
    return out


def staffing_table(forecast: Forecast, plans: Mapping[str, QueuePlan]) -> pd.DataFrame:
    """Agents needed per interval and queue (columns: :data:`TABLE_COLUMNS`).

    ``plans`` maps every queue of the forecast to its :class:`QueuePlan`; a forecast queue
    without a plan is an :class:`InputError`.
    """
    unknown = [q for q in forecast.queues if q not in plans]
    if unknown:
        known = ", ".join(sorted(plans)) or "none"
        raise InputError(f"unknown queue(s) {', '.join(map(repr, unknown))} (expected one of: "
                         f"{known})", file=forecast.source, field="queue")
    interval_s = forecast.interval_min * 60.0
    days = len(forecast.starts) * forecast.interval_min / (24 * 60)
    if days > LIMITS.horizon_days:
        raise InputError(f"{len(forecast.starts):,} intervals of {forecast.interval_min:g} min "
                         f"make {count(days)} days (at most {LIMITS.horizon_days:g}: staff a peak "
                         "season at a time)", file=forecast.source, field="interval_start")
    parts = [
        _queue_rows(rows, plans[q], queue=q, interval_s=interval_s, source=forecast.source)
        for q, rows in forecast.frame.groupby("queue", sort=True)
    ]
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values(["interval_start", "queue"], kind="stable").reset_index(drop=True)


def interval_totals(table: pd.DataFrame) -> pd.DataFrame:
    """Per interval: contacts, agents and scheduled agents summed over queues.

    The sums are what dedicated per-queue teams need; a pooled multi-skilled team needs at
    most that.
    """
    totals = table.groupby("interval_start", sort=True)[["contacts", "agents",
                                                           "scheduled"]].sum()
    return totals.reset_index()


def peak_summary(table: pd.DataFrame, *, interval_min: float) -> dict[str, object]:
    """Headline figures: contacts, the peak interval's agents and scheduled agents, and the
    agent-hours to schedule over the whole table."""
    totals = interval_totals(table)
    i = int(totals["scheduled"].to_numpy().argmax())
    return {"contacts": float(totals["contacts"].sum()),
            "peak_interval_start": totals["interval_start"].iloc[i],
            "peak_agents": int(totals["agents"].iloc[i]),
            "peak_scheduled": int(totals["scheduled"].iloc[i]),
            "scheduled_agent_hours": float(totals["scheduled"].sum() * interval_min / 60.0)}


def merge_plan(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with the keys of ``override``; the ``target`` mapping is merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        if key == "target" and isinstance(value, Mapping) and isinstance(merged.get(key),
                                                                          Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def read_targets(path: str | Path, *, overrides: Mapping[str, Any] | None = None
                 ) -> dict[str, QueuePlan]:
    """Per-queue plans from a targets YAML file::

        defaults:                 # applies to every queue; each queue may override any key
          shrinkage: 0.3
          target: {service_level: 0.8, within_s: 20}
        queues:
          presales: {channel: chat, aht_s: 420, patience_s: 120, chat_concurrency: 3,
                     chat_slowdown: 0.15, target: {within_s: 30}}
          complaints: {aht_s: 720, target: {max_occupancy: 0.7}}

    ``overrides`` (from CLI flags) win over the file for every queue.
    """
    data = load_yaml(path)
    unknown = sorted(set(data) - {"defaults", "queues"})
    if unknown:
        raise InputError("unknown key (expected 'defaults' and 'queues')", file=path,
                         field=unknown[0])
    defaults = data.get("defaults") or {}
    queues = data.get("queues")
    if not isinstance(defaults, Mapping):
        raise InputError("expected a mapping of queue settings", file=path, field="defaults")
    if not isinstance(queues, Mapping) or not queues:
        raise InputError("expected a mapping of queue ids to their settings", file=path,
                         field="queues")
    # Check the defaults on their own first: merged into a queue, a bad default would be
    # reported at queues.<first queue>.<key>, a key that is not in that queue's settings.
    validate(QueuePlan, defaults, file=path, prefix=("defaults",))
    plans = {}
    for name, settings in queues.items():
        if settings is None:
            settings = {}
        if not isinstance(settings, Mapping):
            raise InputError("expected a mapping of settings", file=path,
                             field=f"queues.{name}")
        merged = merge_plan(merge_plan(defaults, settings), overrides or {})
        plans[str(name)] = validate(QueuePlan, merged, file=path, prefix=("queues", name))
    return plans
