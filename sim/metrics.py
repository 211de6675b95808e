"""Measures from the records of a run: pure functions, pandas out.

Definitions (../shared/domain.md): a contact's visit to a queue counts in the interval in which
it *arrived* there; **offered** counts every visit (a transferred contact is offered again in
the queue it moves to and counted as a transfer in), **answered** and **abandoned** as it ended;
**service level** = answered within target / offered, with the two variants answered within
target / answered and answered within target / (offered - abandoned within target); **ASA** =
mean wait of answered visits, zero waits included; **AHT** = mean handling time of answered
visits, wrap-up included; **occupancy** of a group = time its agents held at least one contact /
time they were on the floor (and, for chat, ``slot_occupancy`` = chat-slot time in use / slot
time available).  Queue length is the number of contacts waiting, as a time average and maximum
per interval.

Callbacks (columns :data:`CALLBACK_COLUMNS`, only when the run's queues offer them), as
contact centres report virtual hold: a caller who accepts a callback stays **offered** (an
arrival) but leaves the live denominators: service level = answered within target /
(offered - callbacks accepted) (and the variants likewise), abandon rate = abandoned /
(offered - callbacks accepted); it is neither answered nor abandoned, and ASA and AHT are of
live answered visits only.  Its time in the queue until it accepted counts in the queue
length.  Callbacks are reported apart, in the interval the caller arrived in: offered,
accepted, made (an agent called back before the run stopped), kept (called back within the
promise of acceptance) and the mean callback delay (acceptance to call-back, of those made).
An agent's time on a callback counts in its occupancy like any contact's.

Redials (columns :data:`REDIAL_COLUMNS`, only when the run's queues have them): a redial is a
new offered contact (it counts in offered, answered, abandoned, service level like any);
``customers`` counts first calls (offered visits that are neither redials nor made by a
transfer), so unique customers over any span are the sum of ``customers``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.records import ABANDONED, ANSWERED, CALLBACK, WAITING, Records

__all__ = ["queue_intervals", "group_intervals", "summary", "group_summary", "handled_by_group",
           "kept_share", "queue_occupancy", "mean_ci", "transfer_matrix", "target_deficit",
           "replication_summary", "summary_columns", "rates", "ratio", "group_summary_columns",
           "QUEUE_COLUMNS", "CALLBACK_COLUMNS", "REDIAL_COLUMNS", "GROUP_COLUMNS"]

QUEUE_COLUMNS = {
    "interval": "interval index (0 = the scenario's start)",
    "queue": "queue id",
    "offered": "visits arriving in the interval (transfers in included)",
    "answered": "of those, answered",
    "abandoned": "of those, abandoned",
    "short_abandoned": "of those, abandoned within short_abandon_s",
    "left_waiting": "still waiting when the run stopped",
    "answered_within": "answered within the queue's target time",
    "abandoned_within": "abandoned within the queue's target time",
    "service_level": "answered_within / offered",
    "service_level_answered": "answered_within / answered",
    "service_level_excl_abandoned_within": "answered_within / (offered - abandoned_within)",
    "abandon_rate": "abandoned / offered",
    "asa_s": "mean wait of answered visits (s)",
    "aht_s": "mean handling time of answered visits, wrap-up included (s)",
    "transfers_in": "visits created by a transfer into this queue",
    "transfers_out": "visits that ended in a transfer to another queue",
    "mean_queue": "time-average number waiting during the interval",
    "max_queue": "largest number waiting during the interval",
}
# Added to QUEUE_COLUMNS when a queue of the run offers callbacks / has redials.
CALLBACK_COLUMNS = {
    "callbacks_offered": "visits offered a callback (still waiting after offer_after_s)",
    "callbacks_accepted": "of those, accepted: left the queue for the callback list",
    "callbacks_made": "of those, called back by an agent before the run stopped",
    "callbacks_kept": "of those, called back within promise_s of acceptance",
    "callback_delay_s": "mean time from acceptance to call-back of callbacks made (s)",
}
REDIAL_COLUMNS = {
    "customers": "first calls: offered visits that are neither redials nor transfers in "
                 "(unique customers)",
    "redials": "offered visits that are redials (a customer calling again after abandoning)",
}
GROUP_COLUMNS = {
    "interval": "interval index",
    "group": "agent group id",
    "staffed_s": "agent time on the floor (s)",
    "busy_s": "agent time holding at least one contact (s)",
    "slot_busy_s": "contact-slot time in use (s), a call using every slot of its agent",
    "staffed_slot_s": "contact-slot time available (s)",
    "agents": "mean number of agents on the floor",
    "occupancy": "busy_s / staffed_s",
    "slot_occupancy": "slot_busy_s / staffed_slot_s",
}
_COUNTS = ["offered", "answered", "abandoned", "short_abandoned", "left_waiting",
           "answered_within", "abandoned_within", "transfers_in", "transfers_out"]
_EXTRA_COUNTS = ["callbacks_offered", "callbacks_accepted", "callbacks_made", "callbacks_kept",
                 "customers", "redials"]


def kept_share(row: Mapping[str, Any]) -> float:
    """Call-backs kept within the promise as a share of those accepted, from a row of a
    queue summary (means over replications): NaN when none was accepted, or the row has no
    call-back columns."""
    try:
        accepted, kept = float(row["callbacks_accepted"]), float(row["callbacks_kept"])
    except (KeyError, TypeError, ValueError):
        return float("nan")
    return kept / accepted if accepted > 0 else float("nan")


def ratio(num: Any, den: Any) -> np.ndarray:
    """num / den where den > 0, NaN elsewhere (no contacts: no service level)."""
    return _ratio(num, den)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast_shapes(num.shape, den.shape), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def rates(counts: Mapping[str, Any], wait_sum: Any) -> dict[str, np.ndarray]:
    """The shares and ASA of the module doc from counts (``offered``, ``answered``,
    ``abandoned``, ``answered_within``, ``abandoned_within``, and ``callbacks_accepted``
    where callbacks are offered) and the total wait of answered visits: the one definition
    for intervals, whole horizons and contact logs alike."""
    live = counts["offered"]
    if "callbacks_accepted" in counts:
        # Callers who accepted a callback leave the live denominators (the module doc).
        live = np.asarray(live, dtype=float) - np.asarray(counts["callbacks_accepted"],
                                                          dtype=float)
    return {
        "service_level": _ratio(counts["answered_within"], live),
        "service_level_answered": _ratio(counts["answered_within"], counts["answered"]),
        "service_level_excl_abandoned_within": _ratio(
            counts["answered_within"],
            np.asarray(live, dtype=float)
            - np.asarray(counts["abandoned_within"], dtype=float)),
        "abandon_rate": _ratio(counts["abandoned"], live),
        "asa_s": _ratio(wait_sum, counts["answered"]),
    }


def _overlap(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray,
             weights: np.ndarray | None = None) -> np.ndarray:
    """Total (weighted) length of the stretches [starts, ends) inside each
    [edges[k], edges[k+1]).

    With F(x) = sum of the parts of the stretches before x (sorted prefix sums, no loop over
    stretches), the answer is diff(F(edges)).
    """
    w = np.ones(starts.size) if weights is None else np.asarray(weights, dtype=float)
    i, j = np.argsort(starts), np.argsort(ends)
    s, ws = starts[i], w[i]
    e, we = ends[j], w[j]
    cs = np.concatenate(([0.0], np.cumsum(ws * s)))
    ce = np.concatenate(([0.0], np.cumsum(we * e)))
    ks = np.concatenate(([0.0], np.cumsum(ws)))
    ke = np.concatenate(([0.0], np.cumsum(we)))
    ns = np.searchsorted(s, edges, side="left")
    ne = np.searchsorted(e, edges, side="left")
    f = (ks[ns] * edges - cs[ns]) - (ke[ne] * edges - ce[ne])
    return np.diff(f)


def _overlap_by(key: np.ndarray, n: int, starts: np.ndarray, ends: np.ndarray,
                edges: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """:func:`_overlap` for each ``key`` in ``range(n)`` at once: shape ``(n, len(edges)-1)``.

    One sort by (key, start) and one by (key, end): each key's stretches are then a contiguous
    block of each order, and one prefix sum over the whole array serves every block.
    """
    w = np.ones(starts.size) if weights is None else np.asarray(weights, dtype=float)
    out = np.zeros((n, len(edges) - 1))
    if starts.size == 0:
        return out
    i, j = np.lexsort((starts, key)), np.lexsort((ends, key))
    s, ws, e, we = starts[i], w[i], ends[j], w[j]
    bounds = np.searchsorted(key[i], np.arange(n + 1))  # key[i] and key[j] are both sorted
    cs = np.concatenate(([0.0], np.cumsum(ws * s)))
    ce = np.concatenate(([0.0], np.cumsum(we * e)))
    ks = np.concatenate(([0.0], np.cumsum(ws)))
    ke = np.concatenate(([0.0], np.cumsum(we)))
    for g in range(n):
        a, b = bounds[g], bounds[g + 1]
        if a == b:
            continue
        ns = a + np.searchsorted(s[a:b], edges, side="left")
        ne = a + np.searchsorted(e[a:b], edges, side="left")
        f = ((ks[ns] - ks[a]) * edges - (cs[ns] - cs[a])) - \
            ((ke[ne] - ke[a]) * edges - (ce[ne] - ce[a]))
        out[g] = np.diff(f)
    # Differences of prefix sums leave rounding noise (1e-12 s) where nothing overlaps: an
    # interval nobody staffed must have staffed time 0, not a ratio of noise (occupancy 4.0).
    out[np.abs(out) < 1e-6] = 0.0
    return out


def _max_level(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Largest number of overlapping stretches within each [edges[k], edges[k+1])."""
    n = len(edges) - 1
    if starts.size == 0:
        return np.zeros(n)
    times = np.concatenate((ends, starts))
    delta = np.concatenate((-np.ones(ends.size), np.ones(starts.size)))
    order = np.argsort(times, kind="stable")  # at a tie the departure counts first
    times, level = times[order], np.cumsum(delta[order])
    first = np.searchsorted(times, edges[:-1], side="left")
    last = np.searchsorted(times, edges[1:], side="left")
    at_start = np.where(first > 0, level[np.maximum(first - 1, 0)], 0.0)
    out = at_start.copy()
    has = last > first
    if has.any():
        # Intervals with events are contiguous runs of the event array; the runs of empty
        # intervals between them are empty, so reduceat's segments are exactly the intervals.
        peaks = np.maximum.reduceat(level[:last[-1]], first[has])
        out[has] = np.maximum(out[has], peaks)
    return out


def queue_intervals(records: Records, *, within_s: Sequence[float],
                    short_abandon_s: float = 5.0) -> pd.DataFrame:
    """Per interval and queue (columns :data:`QUEUE_COLUMNS`), from one run's records.

    ``within_s[q]`` is the service-level target time of queue ``q``.
    """
    r = records
    nq, ni = len(r.queues), r.n_intervals
    interval = np.floor(r.arrival_s / r.interval_s).astype(np.int64)
    keep = interval < ni  # transfers made while the queues drain after the horizon
    q, k = r.queue[keep], interval[keep]
    outcome, wait = r.outcome[keep], r.wait_s[keep]
    target = np.asarray(within_s, dtype=float)[q]
    cell = q * ni + k

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(cell[mask], minlength=nq * ni).astype(float)

    def total(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.bincount(cell[mask], weights=values[mask], minlength=nq * ni)

    answered = outcome == ANSWERED
    abandoned = outcome == ABANDONED
    finished = answered & ~np.isnan(r.end_s[keep])
    handle = r.end_s[keep] - r.start_s[keep]
    data = {
        "offered": count(np.ones(q.size, dtype=bool)),
        "answered": count(answered),
        "abandoned": count(abandoned),
        "short_abandoned": count(abandoned & (wait <= short_abandon_s)),
        "left_waiting": count(outcome == WAITING),
        "answered_within": count(answered & (wait <= target)),
        "abandoned_within": count(abandoned & (wait <= target)),
        "transfers_in": count(r.transfer_in[keep]),
        "transfers_out": count(r.transferred[keep]),
    }
    wait_sum = total(wait, answered)
    handle_sum = total(handle, finished)
    handled = count(finished)
    edges = np.arange(ni + 1) * r.interval_s
    waited = r.wait_s > 0
    wq = r.queue[waited]
    ws, we = r.arrival_s[waited], r.arrival_s[waited] + r.wait_s[waited]
    mean_q = _overlap_by(wq, nq, ws, we, edges) / r.interval_s
    max_q = np.zeros((nq, ni))
    for i in range(nq):
        m = wq == i
        max_q[i] = _max_level(ws[m], we[m], edges)
    columns = list(QUEUE_COLUMNS)
    if r.callback_s is not None:
        accepted_s = r.callback_s[keep]
        made = (outcome == CALLBACK) & ~np.isnan(r.start_s[keep])
        delay = np.where(made, r.start_s[keep] - accepted_s, 0.0)
        promise = np.asarray(r.queue_promise_s, dtype=float)[q]
        data["callbacks_offered"] = count(r.callback_offered[keep])
        data["callbacks_accepted"] = count(outcome == CALLBACK)
        data["callbacks_made"] = count(made)
        data["callbacks_kept"] = count(made & (delay <= promise))
        data["callback_delay_s"] = _ratio(total(delay, made), data["callbacks_made"])
        columns += list(CALLBACK_COLUMNS)
    if r.redial is not None:
        data["redials"] = count(r.redial[keep])
        # First calls: neither a redial nor a visit made by a transfer (the same customer
        # entering another queue), so that customers add up to unique customers over any span.
        data["customers"] = count(~r.redial[keep] & ~r.transfer_in[keep])
        columns += list(REDIAL_COLUMNS)
    data.update(rates(data, wait_sum))
    data["aht_s"] = _ratio(handle_sum, handled)
    data["mean_queue"] = mean_q.reshape(-1)
    data["max_queue"] = max_q.reshape(-1)
    return _interval_major(data, r.queues, ni, "queue", columns)


def _interval_major(data: dict[str, np.ndarray], names: Sequence[str], ni: int, key: str,
                    columns: Sequence[str]) -> pd.DataFrame:
    """One frame, rows by interval then name, from arrays laid out name-major (one DataFrame
    built once: with Arrow strings every column added or sorted afterwards costs ~1 ms)."""
    order = np.argsort(np.asarray(names, dtype=object), kind="stable")
    rows = (order[None, :] * ni + np.arange(ni)[:, None]).reshape(-1)
    out = {"interval": np.repeat(np.arange(ni), len(names)),
           key: np.asarray(names, dtype=object)[np.tile(order, ni)]}
    for c in columns:
        if c not in out:
            out[c] = np.asarray(data[c])[rows]
    return pd.DataFrame(out)


def _busy_blocks(agent: np.ndarray, start: np.ndarray, end: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge each agent's handling stretches into blocks where it held at least one."""
    if agent.size == 0:
        return agent, start, end
    order = np.lexsort((start, agent))
    ag, s, e = agent[order], start[order], end[order]
    # Running maximum of the end within each agent: offset agents so maxima never cross.
    big = float(max(np.max(e), 1.0)) * 2.0 + 1.0
    reach = np.maximum.accumulate(ag * big + e) - ag * big
    new = np.ones(ag.size, dtype=bool)
    new[1:] = (ag[1:] != ag[:-1]) | (s[1:] > reach[:-1])
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, ag.size - 1)
    return ag[first], s[first], reach[last]


def group_intervals(records: Records) -> pd.DataFrame:
    """Per interval and agent group (columns :data:`GROUP_COLUMNS`)."""
    r = records
    ng, ni = len(r.groups), r.n_intervals
    edges = np.arange(ni + 1) * r.interval_s
    started = r.agent >= 0
    end = np.where(np.isnan(r.end_s), r.stop_s, r.end_s)
    v_agent, v_start, v_end = r.agent[started], r.start_s[started], end[started]
    # A call takes every slot of its agent; a chat one.
    v_slots = np.where(r.queue_voice[r.queue[started]], r.agent_slots[v_agent], 1)
    b_agent, b_start, b_end = _busy_blocks(v_agent, v_start, v_end)
    b_group = r.agent_group[b_agent] if b_agent.size else np.zeros(0, dtype=np.int64)
    data = {"staffed_s": _overlap_by(r.agent_group[r.seg_agent], ng, r.seg_on_s, r.seg_off_s,
                                     edges),
            "busy_s": _overlap_by(b_group, ng, b_start, b_end, edges),
            "slot_busy_s": _overlap_by(r.agent_group[v_agent], ng, v_start, v_end, edges,
                                       v_slots)}
    k = np.ones(ng)
    for g in range(ng):
        slots = r.agent_slots[r.agent_group == g]
        k[g] = int(slots[0]) if slots.size else 1
    data["staffed_slot_s"] = data["staffed_s"] * k[:, None]
    flat = {c: v.reshape(-1) for c, v in data.items()}
    flat["agents"] = flat["staffed_s"] / r.interval_s
    flat["occupancy"] = _ratio(flat["busy_s"], flat["staffed_s"])
    flat["slot_occupancy"] = _ratio(flat["slot_busy_s"], flat["staffed_slot_s"])
    return _interval_major(flat, r.groups, ni, "group", list(GROUP_COLUMNS))


def _codes(values: pd.Series | np.ndarray, *, sort: bool) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), sort=sort)
    return codes, np.asarray(uniques, dtype=object)


def summary(queue_frame: pd.DataFrame, *, first_interval: int = 0) -> pd.DataFrame:
    """Whole-horizon measures per queue from :func:`queue_intervals`, from ``first_interval``
    on (to leave out a warm-up), plus an ``all`` row over every queue (index ``queue``)."""
    names, out = summary_columns(queue_frame, first_interval=first_interval)
    return pd.DataFrame(out, index=pd.Index(names, name="queue"))


def summary_columns(queue_frame: pd.DataFrame, *, first_interval: int = 0
                    ) -> tuple[list[str], dict[str, np.ndarray]]:
    """:func:`summary` as (row names, columns): for callers that add columns before making
    one frame."""
    keep = queue_frame["interval"].to_numpy() >= first_interval
    counts = _COUNTS + [c for c in _EXTRA_COUNTS if c in queue_frame.columns]
    col = {c: queue_frame[c].to_numpy()[keep] for c in
           (*counts, "queue", "asa_s", "mean_queue", "max_queue")}
    codes, names = _codes(col["queue"], sort=True)
    n = names.size
    sums = {c: np.bincount(codes, weights=col[c].astype(float), minlength=n)
            for c in counts}
    sums = {c: np.append(v, v.sum()) for c, v in sums.items()}
    answered = col["answered"].astype(float)
    wait = np.nan_to_num(col["asa_s"].astype(float)) * answered
    wait_sum = np.bincount(codes, weights=wait, minlength=n)
    # Time-average queue over the horizon: the mean of the per-interval averages per queue;
    # for "all", the sum over queues (contacts waiting anywhere).  Queues are not one line: the
    # "all" row has no joint maximum.
    per_interval = np.bincount(codes, minlength=n)
    mean_q = _ratio(np.bincount(codes, weights=col["mean_queue"].astype(float), minlength=n),
                    per_interval)
    max_q = np.full(n, -np.inf)
    np.maximum.at(max_q, codes, col["max_queue"].astype(float))
    out = {c: sums[c] for c in counts}
    if "callbacks_made" in sums:
        made = col["callbacks_made"].astype(float)
        delay = np.bincount(codes, weights=np.nan_to_num(
            queue_frame["callback_delay_s"].to_numpy(dtype=float)[keep]) * made, minlength=n)
        out["callback_delay_s"] = _ratio(np.append(delay, delay.sum()), sums["callbacks_made"])
    out.update(rates(sums, np.append(wait_sum, wait_sum.sum())))
    out["mean_queue"] = np.append(mean_q, np.nansum(mean_q))
    out["max_queue"] = np.append(max_q, np.nan)
    return list(names) + ["all"], out


def group_summary(group_frame: pd.DataFrame, *, first_interval: int = 0) -> pd.DataFrame:
    """Whole-horizon occupancy per group from :func:`group_intervals` (index ``group``)."""
    names, per = group_summary_columns(group_frame, first_interval=first_interval)
    return pd.DataFrame(per, index=pd.Index(names, name="group"))


def group_summary_columns(group_frame: pd.DataFrame, *, first_interval: int = 0
                          ) -> tuple[list[str], dict[str, np.ndarray]]:
    """:func:`group_summary` as (row names, columns)."""
    keep = group_frame["interval"].to_numpy() >= first_interval
    codes, names = _codes(group_frame["group"].to_numpy()[keep], sort=True)
    cols = ["staffed_s", "busy_s", "slot_busy_s", "staffed_slot_s"]
    per = {c: np.bincount(codes, weights=group_frame[c].to_numpy(dtype=float)[keep],
                          minlength=names.size) for c in cols}
    per["occupancy"] = _ratio(per["busy_s"], per["staffed_s"])
    per["slot_occupancy"] = _ratio(per["slot_busy_s"], per["staffed_slot_s"])
    return list(names), per


def replication_summary(frames: Sequence[pd.DataFrame], *, keys: Sequence[str],
                        level: float = 0.95) -> pd.DataFrame:
    """Mean and confidence half-width across replications of numeric columns.

    ``frames`` are the same table from independent replications; rows are matched on
    ``keys`` (see :func:`mean_ci`).
    """
    return mean_ci(pd.concat(list(frames), ignore_index=True), keys=keys, level=level)


def mean_ci(stacked: pd.DataFrame, *, keys: Sequence[str], level: float = 0.95,
            exclude: Sequence[str] = ("rep",)) -> pd.DataFrame:
    """Per group of ``keys`` (one row per replication each): the mean of every numeric column
    and its confidence half-width, Student's t over the replications (``*_ci95`` columns;
    NaN with a single replication).  Columns in ``exclude`` are left out.  Groups come in the
    order they first appear; NaN values are skipped (a replication without contacts in an
    interval has no service level there).

    numpy group-bys over one factorisation of the keys (pandas' groupby costs about a
    millisecond per call and column set, and summaries run after every replication).
    """
    keys = list(keys)
    dtypes = stacked.dtypes  # once: a column look-up costs about 0.5 ms with Arrow strings
    numeric = [c for c, d in dtypes.items()
               if c not in keys and c not in exclude
               and pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d)]
    if stacked.empty:
        empty = {c: [] for c in keys}
        empty.update({c: [] for name in numeric for c in (name, f"{name}_ci95")})
        return pd.DataFrame(empty)
    combined = np.zeros(len(stacked), dtype=np.int64)
    for k in keys:
        codes, uniques = pd.factorize(stacked[k], sort=False)
        combined = combined * (len(uniques) + 1) + codes
    group, firsts = pd.factorize(combined, sort=False)
    m = len(firsts)
    first_row = np.full(m, len(stacked), dtype=np.int64)
    np.minimum.at(first_row, group, np.arange(len(stacked)))
    out = {k: stacked[k].to_numpy()[first_row] for k in keys}
    values = stacked[numeric].to_numpy(dtype=float)
    valid = ~np.isnan(values)
    x = np.where(valid, values, 0.0)
    n = np.stack([np.bincount(group, weights=valid[:, j], minlength=m)
                  for j in range(len(numeric))], axis=1) if numeric else np.zeros((m, 0))
    total = np.stack([np.bincount(group, weights=x[:, j], minlength=m)
                      for j in range(len(numeric))], axis=1) if numeric else n
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        dev = np.where(valid, values - mean[group], 0.0) ** 2
        ss = np.stack([np.bincount(group, weights=dev[:, j], minlength=m)
                       for j in range(len(numeric))], axis=1) if numeric else n
        sd = np.sqrt(ss / (n - 1))
        # Student's t once per distinct count (scipy's ppf has a fixed cost per call).
        counts, where = np.unique(np.maximum(n - 1, 1), return_inverse=True)
        t = stats.t.ppf(0.5 + level / 2.0, counts)[where].reshape(n.shape)
        half = np.where(n > 1, t * sd / np.sqrt(n), np.nan)
    for j, c in enumerate(numeric):
        out[c] = mean[:, j]
        out[f"{c}_ci95"] = half[:, j]
    return pd.DataFrame(out)


def handled_by_group(records: Records, *, first_s: float = 0.0) -> pd.DataFrame:
    """Handling time (s) of each queue's visits by each agent group, for visits that arrived
    from ``first_s`` on (columns ``queue``, ``group``, ``handle_s``)."""
    r = records
    m = (r.agent >= 0) & (r.arrival_s >= first_s) & (r.arrival_s < r.horizon_s)
    end = np.where(np.isnan(r.end_s), r.stop_s, r.end_s)
    ng = len(r.groups)
    cell = r.queue[m] * ng + r.agent_group[r.agent[m]]
    handle = np.bincount(cell, weights=(end - r.start_s)[m], minlength=len(r.queues) * ng)
    return pd.DataFrame({"queue": np.repeat(np.asarray(r.queues, dtype=object), ng),
                         "group": np.tile(np.asarray(r.groups, dtype=object), len(r.queues)),
                         "handle_s": handle})


def queue_occupancy(handled: pd.DataFrame, groups: pd.DataFrame | Mapping[str, float]
                    ) -> dict[str, float]:
    """Occupancy seen by each queue: the occupancy of the groups that handled it, weighted by
    the time each spent on it (``groups``: :func:`group_summary` with ``group`` a column, or
    a mapping of group to occupancy)."""
    occ = groups if isinstance(groups, Mapping) else \
        dict(zip(groups["group"], groups["occupancy"].to_numpy(dtype=float)))
    w = handled["handle_s"].to_numpy(dtype=float)
    o = np.array([occ.get(g, np.nan) for g in handled["group"]], dtype=float)
    keep = w > 0
    codes, names = _codes(handled["queue"].to_numpy()[keep], sort=True)
    w, o = w[keep], o[keep]
    num = np.bincount(codes, weights=w * o, minlength=names.size)
    den = np.bincount(codes, weights=w, minlength=names.size)
    out = {str(q): float(a / b) for q, a, b in zip(names, num, den)}
    out["all"] = float((w * o).sum() / w.sum()) if w.sum() > 0 else float("nan")
    return out


def transfer_matrix(records: Records) -> pd.DataFrame:
    """Transfers between queues: one row per (``from_queue``, ``to_queue``) pair that occurred,
    with ``transfers`` (visits that moved), from the visits that ended in a transfer and the
    visit each one started (same contact, the next visit)."""
    r = records
    # A contact's visits are recorded in the order they happened (a transfer's new visit
    # comes later); a stable sort by contact keeps that order.
    order = np.argsort(r.contact, kind="stable")
    contact, queue = r.contact[order], r.queue[order]
    moved = r.transferred[order][:-1] & (contact[1:] == contact[:-1])
    src, dst = queue[:-1][moved], queue[1:][moved]
    names = np.asarray(r.queues, dtype=object)
    nq = len(names)
    counts = np.bincount(src * nq + dst, minlength=nq * nq)
    pairs = sorted(np.flatnonzero(counts), key=lambda p: (names[p // nq], names[p % nq]))
    pairs = np.asarray(pairs, dtype=np.int64)
    return pd.DataFrame({"from_queue": names[pairs // nq], "to_queue": names[pairs % nq],
                         "transfers": counts[pairs].astype(np.int64)})


def target_deficit(frame: pd.DataFrame, targets: Mapping[str, Any]) -> pd.Series:
    """How far each row (a queue's figures; column ``queue``) misses the worst of its queue's
    targets, relative to the target: (target - service level) / target, (ASA - max) / max,
    (abandoned - max) / max and, where the frame has ``occupancy``, (occupancy - max) / max.

    Above 0: a miss (0.25 = a quarter off); 0 or below: every target met; NaN when the queue
    sets none of these targets or the figures are missing (no contacts).  ``targets`` maps a
    queue to its target (``service_level``, ``max_asa_s``, ``max_abandon``, ``max_occupancy``,
    None when not set).  The one definition of "misses its target" for every report.
    """
    q = frame["queue"]

    def limit(attr: str) -> pd.Series:
        return q.map({k: getattr(t, attr) for k, t in targets.items()}).astype(float)

    sl = limit("service_level")
    parts = [(sl - frame["service_level"]) / sl]
    for column, attr in (("asa_s", "max_asa_s"), ("abandon_rate", "max_abandon"),
                         ("occupancy", "max_occupancy")):
        if column in frame.columns:
            cap = limit(attr)
            parts.append((frame[column] - cap) / cap)
    return pd.concat(parts, axis=1).max(axis=1, skipna=True)
