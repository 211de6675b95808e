"""The discrete-event engine (SimPy): contacts, agents, routing, transfers, abandonment, shifts,
and the peak operations: overflow delays, allocation windows, callbacks, redials.

``run(scenario, seed)`` simulates the scenario's horizon and returns :class:`~sim.records.Records`.

Design of the per-event path (kept lean on purpose; see ../shared/style.md):

* SimPy's environment keeps the clock and the shift and break events, plain SimPy events with
  one bound-method callback (recycled rather than built anew), not a generator per agent.
  Arrival times, handle-time and patience variates are drawn up front with numpy, per queue
  and per source (common random numbers, :mod:`sim.streams`); as the arrivals are known and
  sorted, the run loop merges them with the queued events instead of making each one an event.
* Handling completions, about one per contact, are queued in a calendar of the run's own:
  time buckets sized for about four events each whatever the volume, the current bucket a
  heap, later ones filled unsorted and heapified when reached.  A push or a pop then costs the
  same at 200 agents as at 5,000, where one heap would grow with the team (and SimPy's step
  adds its own overhead to each).  Calendar entries take their event ids from SimPy's counter
  and the run loop merges both queues by (time, id): the order is the one a single SimPy
  queue would give, ties included.  Events due at or after the stop are never queued.
* Abandonment costs no event: a waiting contact's deadline (arrival + patience) is stored, and
  contacts whose deadline has passed are removed from the head of their queue when an agent
  looks at it, recorded as abandoned *at their deadline*.  Patience differs between contacts,
  so an expired contact may sit behind a live head; but a contact is only ever taken from the
  head, after this check, so none is answered after its deadline, and at the end every contact
  left is checked: the records are exact.  (A queue with redials is the exception: there a
  waiting contact has an event at its deadline, since the redial is timed from it.)
* Free agents wait per group in buckets by contacts held, each an insertion-ordered dict in
  free-since order (``OrderedDict``: append, remove, first are O(1)).  The next agent is the
  first of the lowest non-empty bucket: the least loaded, then the one free longest, exactly
  the order of a heap keyed by (held, free since, sequence), at a cost that does not grow with
  the group.  An agent whose state changes is removed from its bucket at once, so nothing
  stale accumulates.
* Chat concurrency with slowdown is exact: an agent holding ``m`` chats works each at rate
  ``1 / (1 + slowdown (m - 1))``.  All its chats progress at the same rate, so an agent-level
  virtual clock ``V`` (``dV/dt = rate``) lets each chat finish at a fixed virtual time; only
  the agent's next completion is due, recomputed whenever ``m`` changes.  An agent's chats
  sit in flat typed arrays (slots per agent), the earliest tracked.  The due completion
  is not pushed anew each time: an agent keeps at most one event at or before its due time on
  the calendar.  A due moved later is left to that event, which on firing re-queues the due
  one (with the time and event id computed when it was set, so the queue's order is the one
  every reschedule pushing an event would give); a due set while a completion is handled (the
  freed slot is refilled at once) is pushed once, at the end.  Only a due moved earlier pushes
  an event ahead of the pending one.
* A voice call takes the whole agent: it goes only to an agent holding nothing and fills all of
  its slots, so an agent of a group with chat concurrency ``k`` holds ``k`` chats or one call.
* Routing tables are computed once per run (:mod:`sim.routing`), with short paths for a queue
  that one group takes and a group with one skill; records are written to flat typed arrays
  and frozen into numpy arrays at the end (:mod:`sim.records`).

Peak operations (issue 15) run on a general path: a scenario that uses none of them runs the
code above untouched (same records, same speed); one that does gets ``_offer``, ``_fill`` and
``_transfer`` replaced by general versions at the start of the run, and its calendar entries
dispatched by kind (:meth:`_Run._dispatch`).  With every feature off the general path gives
the very records of the lean one (tests/test_peak_ops.py).  Everything stays exact, by events
at known times, never by polling:

* **Overflow delays** (``skills: {q: {preference: 2, after_s: 30}}``): group ``g`` may take a
  contact of ``q`` once ``entry + delay[g][q] <= now``, entry being when the contact entered
  the queue (arrival, transfer or redial).  An arrival goes only to groups whose delay is 0
  (preference tiers as ever among them).  A contact that waits gets an event at ``entry + d``
  for every positive delay ``d`` its queue has for any group in any allocation; there, if it
  still waits, free agents of the groups now eligible take work by their own rule.  An agent
  who frees up takes from a queue only if its head is eligible: the queue is in order of entry,
  so if the head is not, no one behind it is.  Invariant kept by both: no free agent is ever
  eligible for a waiting contact it could take.
* **Allocation windows** replace a group's skills (preferences and delays) between clock times
  (:func:`sim.routing.allocation_switches`).  The switches are all queued before the run
  starts, so they have the lowest event ids and come first at their instant (before a
  completion or a shift start at the same time).  At a switch, contacts in hand finish as they
  are; the group's free agents then take waiting contacts under the new allocation.  Delays
  are judged under the allocation in force when an agent decides.
* **Callbacks** (``callback: {offer_after_s, accept, promise_s}``): a contact still waiting at
  ``entry + offer_after_s`` (deadline not reached) is offered one and accepts with probability
  ``accept`` (stream ``(queue, "callback")``); it leaves the queue, without abandoning, for the
  queue's callback list (in order of acceptance, hence of entry) and never abandons there (the
  customer is reached when called back).  Agents choose (:meth:`_Run._choose`): first a callback
  that is due, ``accepted + promise_s - aht_s <= now``, then live contacts, then other callbacks;
  delays apply to callbacks too, from their entry into the queue.  A callback's becoming due
  needs no event of its own: by the invariant above no free agent is eligible for it, so its
  rank only matters when an agent frees up, a switch or a delay's event, where the due time is
  compared exactly.  An accepted callback is offered at once to eligible free agents.
* **Redials** (``redial: {probability, after_s}``): in such a queue a waiting contact has an
  event at its deadline; if it is still waiting it abandons then and, with ``probability``
  (stream ``(queue, "redial")``), its customer calls the queue again after an exponential delay
  of mean ``after_s`` (stream ``(queue, "redial", "delay")``): a new contact with its own handle
  and patience draws (streams ``(queue, "redial", "handle" / "patience")``), the same customer.
* At one instant, a waiting contact's events come in this order: eligible for a group, offered
  a callback, abandoned.
"""

from __future__ import annotations

import math
from array import array
from collections import OrderedDict, deque
from collections.abc import Callable
from heapq import heapify, heappop, heappush

import numpy as np
import simpy
from simpy.events import NORMAL, Event

from sim.agents import BREAK, ON, build_roster
from sim.arrivals import arrival_times
from sim.records import ABANDONED, ANSWERED, CALLBACK, WAITING, Records
from sim.routing import RoutingTable, allocation_switches, build_routing, groups_for
from sim.scenario import Scenario
from sim.streams import VariateBuffer, stream, unit_variates
from sim.uncertainty import volume_multipliers

__all__ = ["run", "DRAIN_S", "uses_peak_operations"]

# After the horizon no contact arrives; the run goes on (agents on their shifts) so that
# contacts of the last intervals are answered or abandon, for at most this long.
DRAIN_S = 4 * 3600.0
_OFF, _ON, _LEAVING = 0, 1, 2
# Calendar entries of the peak-operations path: (time, event id, visit, kind), a kind below 0
# where a completion has its agent (see _dispatch).
_ELIGIBLE, _CALLBACK_OFFER, _ABANDON, _REDIAL = -1, -2, -3, -4


def uses_peak_operations(scenario: Scenario) -> bool:
    """Whether the scenario has overflow delays, allocation windows, callbacks or redials
    (the engine's general path; without them it runs the lean one)."""
    spec = scenario.spec
    return (any(g.has_delays or g.allocation for g in spec.agent_groups.values())
            or any(q.callback is not None or q.redial is not None
                   for q in spec.queues.values()))


def run(scenario: Scenario, seed: int = 0, *, drain_s: float = DRAIN_S) -> Records:
    """Simulate ``scenario`` with random streams spawned from ``seed``."""
    return _Run(scenario, int(seed), drain_s).execute()


class _Run:
    """State of one run.  Lists indexed by visit id (``v_*``) and by agent id (``a_*``)."""

    # Run the general path even without peak operations (tests: it must then give the very
    # records of the lean path).
    force_general = False

    def __init__(self, scenario: Scenario, seed: int, drain_s: float) -> None:
        self.scenario = scenario
        self.seed = seed
        spec = scenario.spec
        self.horizon_s = scenario.horizon_s
        self.stop_s = self.horizon_s + drain_s
        self.env = simpy.Environment()
        routing = build_routing(scenario)
        self.groups_for = routing.groups_for
        self.queues_for = routing.queues_for
        self.priority = routing.priority
        self.speed = routing.speed
        self.transfer_to = routing.transfer_to
        qspecs = [spec.queues[q] for q in scenario.queues]
        self.wrap_s = [qs.wrap_up_s for qs in qspecs]
        # A call needs an agent holding nothing and fills all its slots: a chat-capable agent
        # (a team lead with chat_concurrency 3) must not hold three phone calls at once.
        self.q_voice = [qs.channel == "voice" for qs in qspecs]

        # External arrivals, in time order; visit id = position.
        times, queue, work, deadline = [], [], [], []
        # This run's forecast error per queue (sim.uncertainty): all ones, drawing nothing,
        # without arrivals.uncertainty (x * 1.0 is x: the same arrivals as before).
        volume = volume_multipliers(scenario, seed)
        for q, qs in enumerate(qspecs):
            name = scenario.queues[q]
            t = arrival_times(stream(seed, name, "arrivals"), scenario.contacts[q] * volume[q],
                              interval_s=scenario.interval_s)
            n = t.size
            z = unit_variates(stream(seed, name, "handle"), n, qs.handle_time,
                              qs.handle_time_cv)
            if qs.patience_s is None:
                d = np.full(n, math.inf)
            else:
                d = t + qs.patience_s * unit_variates(stream(seed, name, "patience"), n,
                                                      qs.patience, qs.patience_cv)
            times.append(t)
            queue.append(np.full(n, q, dtype=np.int64))
            work.append(z * qs.aht_s)
            deadline.append(d)
        t_all = np.concatenate(times)
        # Each queue's times are sorted already; only several queues need merging.
        order = (np.argsort(t_all, kind="stable") if len(times) > 1
                 else np.arange(t_all.size))
        n = t_all.size
        self.n_external = n
        # Read in the loop: Python lists (indexing a list is cheaper than an array).  Written
        # in the loop: typed arrays, which become numpy arrays at the end without a copy.
        self.ext_arrival = t_all[order]
        self.ext_queue = np.concatenate(queue)[order]
        self.ext_deadline = np.concatenate(deadline)[order]
        self.v_arrival: list[float] = self.ext_arrival.tolist()
        self.v_queue: list[int] = self.ext_queue.tolist()
        self.v_work: list[float] = np.concatenate(work)[order].tolist()
        self.v_deadline: list[float] = self.ext_deadline.tolist()
        self.v_contact: list[int] = []  # of visits made by transfers (others: their own id)
        self.v_start = array("d", [math.nan]) * n
        self.v_end = array("d", [math.nan]) * n
        self.v_agent = array("q", [-1]) * n
        self.v_abandoned = bytearray(n)
        self.v_transferred = bytearray(n)
        # Draws for visits created by transfers, per target queue, and transfer decisions,
        # per source queue: separate streams so they do not disturb the ones above.
        self.t_draw = [VariateBuffer(stream(seed, q, "transfer")) for q in scenario.queues]
        self.t_work = [VariateBuffer(stream(seed, q, "transfer-in", "handle"), qs.handle_time,
                                     qs.handle_time_cv) for q, qs in zip(scenario.queues,
                                                                          qspecs)]
        self.t_patience = [None if qs.patience_s is None else
                           VariateBuffer(stream(seed, q, "transfer-in", "patience"),
                                         qs.patience, qs.patience_cv)
                           for q, qs in zip(scenario.queues, qspecs)]
        self.aht_s = [qs.aht_s for qs in qspecs]
        self.patience_s = [qs.patience_s for qs in qspecs]
        self.waiting: list[deque[int]] = [deque() for _ in qspecs]

        # Agents.
        roster = build_roster(scenario, until_s=self.stop_s)
        self.r_time: list[float] = roster.time_s.tolist()
        self.r_kind: list[int] = roster.kind.tolist()
        self.r_agent: list[int] = roster.agent.tolist()
        self.r_break: list[float] = roster.break_s.tolist()
        gspecs = list(spec.agent_groups.values())
        # Every queue the group takes at some hour: its slots cannot change with the clock.
        chat_group = [any(spec.queues[q].channel == "chat" for q in g.all_skills)
                      for g in gspecs]
        g_cap = [g.chat_concurrency if chat else 1 for g, chat in zip(gspecs, chat_group)]
        g_slow = [g.chat_slowdown if chat else 0.0 for g, chat in zip(gspecs, chat_group)]
        n_agents = len(roster.group)
        self.a_group: list[int] = roster.group.tolist()
        # Slots, slowdown, virtual clock (chats slowing each other) and handle-time factor per
        # queue are the group's: the hot path reaches them through a_group[a], one list of
        # agents rather than four (with thousands of agents each such list is a cache miss).
        self.g_cap = g_cap
        self.g_slow = g_slow
        self.g_virtual = [c > 1 and s > 0.0 for c, s in zip(g_cap, g_slow)]
        self.g_speed = self.speed
        self.a_cap = [g_cap[g] for g in self.a_group]
        self.a_virtual = [self.g_virtual[g] for g in self.a_group]
        # The only group that takes a queue, and the only queue of a group (-1 if several), for
        # short paths in _offer and _fill.
        self.q_only_group = [tiers[0][0] if len(tiers) == 1 and len(tiers[0]) == 1 else -1
                             for tiers in self.groups_for]
        self.g_only_queue = [tiers[0][0] if len(tiers) == 1 and len(tiers[0]) == 1 else -1
                             for tiers in self.queues_for]
        self.a_held = [0] * n_agents
        self.a_status = [_OFF] * n_agents
        self.a_free = [False] * n_agents  # in its group's bucket free[g][held]
        self.a_shift = [0] * n_agents  # bumped at a shift end: cancels a pending return
        self.a_break_s = [-1.0] * n_agents  # break to take once free (-1: leave the shift)
        self.a_on_since = [0.0] * n_agents
        # Floats changed at every event of the agent live in typed arrays: a list would point
        # to a new float object each time, scattered in memory, and with thousands of agents
        # the cache misses of reaching them cost more than the boxing of an array read.
        self.a_vclock = array("d", [0.0]) * n_agents
        self.a_vtime = array("d", [0.0]) * n_agents
        # The chats of a virtual-clock agent: slots a * c_width .. a * c_width + a_chats[a] - 1
        # of c_fin (virtual finish time) and c_visit, unordered; a_first[a] is the slot of the
        # earliest by (finish, visit), the order a heap of (finish, visit) pairs would give.
        # Flat typed arrays: a per-agent heap of tuples is several objects scattered in memory.
        self.c_width = max([c for c, v in zip(g_cap, self.g_virtual) if v], default=0)
        slots = self.c_width * n_agents
        self.c_fin = array("d", [0.0]) * slots
        self.c_visit = array("q", [0]) * slots
        self.a_chats = [0] * n_agents
        self.a_first = [0] * n_agents
        # The due completion of a virtual-clock agent, (time, event id) as a reschedule would
        # push it (id -1: none due); the time of its earliest event on the calendar (inf:
        # none), and of its later ones, if any, latest pushed (earliest in time) last.
        self.a_due_t = array("d", [0.0]) * n_agents
        self.a_due_id = array("q", [-1]) * n_agents
        self.a_next_t = array("d", [math.inf]) * n_agents
        self.a_later_t: list[list[float] | None] = [None] * n_agents
        self.deferred = -1  # the agent whose completion is being handled: its push waits
        # free[g][h]: agents of group g on the floor holding h contacts with a slot free, in the
        # order they became free; a_seq[a], a global sequence number of when a became free
        # (it orders agents of different groups freed at the same instant).
        self.free: list[list[OrderedDict[int, None]]] = [
            [OrderedDict() for _ in range(cap)] for cap in g_cap]
        self.a_seq = array("q", [0]) * n_agents
        self.seq = 0
        self.seg_agent: list[int] = []
        self.seg_on: list[float] = []
        self.seg_off: list[float] = []
        self.pool: list[Event] = []
        # Handling completions, a few per contact, go to a calendar queue of the run's own
        # rather than to SimPy's heap (see the module docstring): bucket b holds the events of
        # [b w, (b + 1) w) as (time, event id, visit, agent), visit -1 for a virtual-clock
        # agent's due completion.  The width makes about 4 events a bucket on
        # average whatever the team size, so a push or a pop costs the same at 200 agents as
        # at 5,000.  Event ids come from SimPy's counter: the order is (time, id), SimPy's.
        expected = float(scenario.contacts.sum())
        width_s = max(4.0 * self.horizon_s / (1.2 * expected + 1.0), self.stop_s / 2**21)
        self.inv_width = 1.0 / width_s
        self.calendar: list[list[tuple[float, int, int]] | None] = (
            [None] * (int(self.stop_s * self.inv_width) + 1))
        self.cur = 0  # the bucket of the current time (or an earlier one, all empty since)
        self.env_eid = self.env._eid
        self.general = self.force_general or uses_peak_operations(scenario)
        if self.general:
            self._init_general(routing, qspecs)

    # ----------------------------------------------------------------------------------------
    def execute(self) -> Records:
        env = self.env
        self.roster_pos = 0
        if self.general:
            # Allocation switches are all queued first, so that their event ids are the
            # lowest: a switch is applied before anything else at its instant.
            for t, g, alloc in self.switches:
                self._later(t, self._on_switch, (g, alloc))
        if self.r_time:
            self._later(self.r_time[0], self._on_roster, None)
        # Three sources are merged here, in the order one heap of them all would give:
        # the external arrivals (known in advance and sorted, so never queued), the calendar
        # of completions, and SimPy's event queue (shifts, breaks), which the environment
        # steps through.  Calendar and SimPy events are ordered by (time, event id); at equal
        # times a queued event goes before an arrival (an agent frees up before a contact
        # arrives).  Events at or after the stop are never queued.
        queue = env._queue  # SimPy's heap of (time, priority, id, event)
        step = env.step
        offer = self._offer
        finish = self._dispatch if self.general else self._finish
        virtual_done = self._virtual_done
        calendar = self.calendar
        inv_width = self.inv_width
        last = len(calendar) - 1
        arrival, v_queue = self.v_arrival, self.v_queue
        stop = self.stop_s
        inf = math.inf
        n = self.n_external
        k = 0
        cur = 0
        while True:
            ta = arrival[k] if k < n else inf
            bucket = calendar[cur]
            if not bucket:
                # Move to the first bucket holding anything, but never past the bucket of the
                # next arrival or SimPy event (one at that time may queue a completion there).
                ts = queue[0][0] if queue else inf
                bound = ta if ta < ts else ts
                lb = int(bound * inv_width) if bound < stop else last
                while not bucket and cur < lb:
                    cur += 1
                    bucket = calendar[cur]
                    if bucket and len(bucket) > 1:
                        heapify(bucket)  # filled unsorted while in the future
                self.cur = cur
            if bucket:
                tc, eid, x, a = bucket[0]
                if not queue or tc < queue[0][0] or (tc == queue[0][0] and eid < queue[0][2]):
                    if ta < tc:
                        env._now = ta
                        offer(k, v_queue[k], ta)
                        k += 1
                        continue
                    heappop(bucket)
                    env._now = tc
                    if x >= 0:
                        finish(x, a, tc)
                    else:
                        virtual_done(a, eid, tc)
                    continue
            # Nothing in the calendar before the arrival or SimPy event, whichever is first.
            ts = queue[0][0] if queue else inf
            if ta < ts:
                env._now = ta
                offer(k, v_queue[k], ta)
                k += 1
                continue
            if ts >= stop:
                break
            step()
        env._now = stop
        return self._records()

    def _queue_completion(self, t: float, eid: int, x: int, a: int) -> None:
        """Put (t, eid, x, a) in its calendar bucket: kept a heap if it is the current one."""
        if t >= self.stop_s:
            return  # would never be handled
        b = int(t * self.inv_width)
        bucket = self.calendar[b]
        if bucket is None:
            self.calendar[b] = [(t, eid, x, a)]
        elif b == self.cur:
            heappush(bucket, (t, eid, x, a))
        else:
            bucket.append((t, eid, x, a))

    def _later(self, delay: float, callback: Callable[[Event], None], payload: object) -> None:
        """Call ``callback`` in ``delay`` seconds with ``payload`` as the event's value.

        Events are recycled (a callback hands its event back to the pool once it has read the
        payload): SimPy only needs an event with callbacks and a value, and building a fresh
        ``Timeout`` for each of hundreds of thousands of completions is a large share of the
        per-event cost.
        """
        pool = self.pool
        ev = pool.pop() if pool else Event(self.env)
        ev.callbacks = [callback]
        ev._ok = True
        ev._value = payload
        self.env.schedule(ev, NORMAL, delay)

    # ----------------------------------------------------------------------------------------
    # Contacts
    def _offer(self, v: int, q: int, now: float) -> None:
        """A contact enters queue ``q``: to the best free agent, else to the queue."""
        voice = self.q_voice[q]
        only = self.q_only_group[q]
        if only >= 0:
            # One group takes this queue: the common case, kept short.  The least loaded
            # bucket that holds anyone; a call needs an agent holding nothing.
            for bucket in self.free[only]:
                if bucket:
                    a = bucket.popitem(last=False)[0]
                    self.a_free[a] = False
                    self._start(v, q, a, now)
                    if self.a_held[a] < self.g_cap[only]:
                        self._make_available(a, now)
                    return
                if voice:
                    break
            self.waiting[q].append(v)
            return
        free = self.free
        for tier in self.groups_for[q]:
            best = best_bucket = None
            for g in tier:
                for held, bucket in enumerate(free[g]):
                    if bucket:
                        # (contacts held, sequence): the sequence follows free-since.
                        key = (held, self.a_seq[next(iter(bucket))])
                        if best is None or key < best:
                            best, best_bucket = key, bucket
                        break
                    if voice:
                        break  # a call needs an agent holding nothing
            if best is not None:
                a = best_bucket.popitem(last=False)[0]
                self.a_free[a] = False
                self._start(v, q, a, now)
                if self.a_held[a] < self.g_cap[self.a_group[a]]:
                    self._make_available(a, now)
                return
        self.waiting[q].append(v)

    def _make_available(self, a: int, now: float) -> None:
        self.seq += 1
        self.a_seq[a] = self.seq
        self.free[self.a_group[a]][self.a_held[a]][a] = None
        self.a_free[a] = True

    def _unfree(self, a: int) -> None:
        """Take ``a`` out of its bucket (its held count or status is about to change)."""
        if self.a_free[a]:
            self.a_free[a] = False
            del self.free[self.a_group[a]][self.a_held[a]][a]

    def _start(self, v: int, q: int, a: int, now: float) -> None:
        """Agent ``a`` takes visit ``v`` of queue ``q``.

        The agent is not in a bucket here: _offer took it out, _fill runs for agents that
        are not.  Outcome and wait of answered visits follow from start_s (_records)."""
        self.v_start[v] = now
        self.v_agent[v] = a
        g = self.a_group[a]
        work = self.v_work[v] * self.g_speed[g][q] + self.wrap_s[q]
        if self.q_voice[q]:
            self.a_held[a] += self.g_cap[g]  # a call fills every slot; nothing slows it
        elif self.g_virtual[g]:
            self._advance(a, now)
            self.a_held[a] += 1
            # The chat joins the agent's slots; the earliest stays the earliest unless it is.
            fin = self.a_vclock[a] + work
            n = self.a_chats[a]
            i = a * self.c_width + n
            self.c_fin[i] = fin
            self.c_visit[i] = v
            self.a_chats[a] = n + 1
            if n == 0:
                self.a_first[a] = i
            else:
                f = self.a_first[a]
                first = self.c_fin[f]
                if fin < first or (fin == first and v < self.c_visit[f]):
                    self.a_first[a] = i
            self._schedule_virtual(a, now)
            return
        else:
            self.a_held[a] += 1
        # self._queue_completion(now + work, next(self.env_eid), v, a), inlined: this is
        # the hottest path.
        t = now + work
        eid = next(self.env_eid)  # taken even if never queued: ids order ties
        if t < self.stop_s:
            b = int(t * self.inv_width)
            bucket = self.calendar[b]
            if bucket is None:
                self.calendar[b] = [(t, eid, v, a)]
            elif b == self.cur:
                heappush(bucket, (t, eid, v, a))
            else:
                bucket.append((t, eid, v, a))

    # Exact chat slowdown: an agent-level virtual clock (see the module docstring).
    def _advance(self, a: int, now: float) -> None:
        held = self.a_held[a]
        if held:
            self.a_vclock[a] += ((now - self.a_vtime[a])
                                 / (1.0 + self.g_slow[self.a_group[a]] * (held - 1)))
        self.a_vtime[a] = now

    def _schedule_virtual(self, a: int, now: float) -> None:
        """Set the agent's due completion from its earliest chat and its current rate."""
        if self.a_chats[a]:
            rate = 1.0 / (1.0 + self.g_slow[self.a_group[a]] * (self.a_held[a] - 1))
            t = now + max(0.0, (self.c_fin[self.a_first[a]] - self.a_vclock[a]) / rate)
            self.a_due_t[a] = t
            self.a_due_id[a] = next(self.env_eid)  # the id a pushed event would take
            if a != self.deferred:
                self._push_due(a)
        else:
            self.a_due_id[a] = -1

    def _push_due(self, a: int) -> None:
        """Queue the due completion unless an event of the agent comes at or before it."""
        t = self.a_due_t[a]
        first = self.a_next_t[a]
        if first <= t:
            return
        if first < math.inf:
            later = self.a_later_t[a]
            if later is None:
                self.a_later_t[a] = [first]
            else:
                later.append(first)
        self.a_next_t[a] = t
        self._queue_completion(t, self.a_due_id[a], -1, a)

    def _virtual_done(self, a: int, eid: int, now: float) -> None:
        later = self.a_later_t[a]  # this event was the agent's earliest: the next one
        self.a_next_t[a] = later.pop() if later else math.inf
        if eid != self.a_due_id[a]:
            # The due completion moved later (or there is none): queue it now if no other
            # event of the agent comes first.
            if self.a_due_id[a] >= 0:
                self._push_due(a)
            return
        self._advance(a, now)
        v = self._pop_first_chat(a)
        self.a_held[a] -= 1
        # The next due is pushed once, after _finish has refilled the slot (which moves it).
        self.deferred = a
        self._schedule_virtual(a, now)
        self.a_held[a] += 1  # _finish releases the slot
        self._finish(v, a, now)
        self.deferred = -1
        if self.a_due_id[a] >= 0:
            self._push_due(a)

    def _pop_first_chat(self, a: int) -> int:
        """Remove the agent's earliest chat (the last slot fills its place); its visit."""
        c_fin, c_visit = self.c_fin, self.c_visit
        f = self.a_first[a]
        v = c_visit[f]
        n = self.a_chats[a] - 1
        base = a * self.c_width
        last = base + n
        if f != last:
            c_fin[f] = c_fin[last]
            c_visit[f] = c_visit[last]
        self.a_chats[a] = n
        if n:
            best = base
            best_fin = c_fin[base]
            for i in range(base + 1, last):
                fin = c_fin[i]
                if fin < best_fin or (fin == best_fin and c_visit[i] < c_visit[best]):
                    best, best_fin = i, fin
            self.a_first[a] = best
        return v

    def _finish(self, v: int, a: int, now: float) -> None:
        """Visit ``v`` ends: record it, maybe transfer it, and free the agent's slot(s)."""
        self.v_end[v] = now
        q = self.v_queue[v]
        if self.a_free[a]:
            self._unfree(a)
        self.a_held[a] -= self.g_cap[self.a_group[a]] if self.q_voice[q] else 1
        if self.transfer_to[q]:
            u = self.t_draw[q].next()
            for cum, target in self.transfer_to[q]:
                if u < cum:
                    self.v_transferred[v] = 1
                    self._transfer(v, target, now)
                    break
        status = self.a_status[a]
        if status == _ON:
            self._fill(a, now)
        elif status == _LEAVING and self.a_held[a] == 0:
            self._go_off(a, now)

    def _transfer(self, v: int, q: int, now: float) -> None:
        """The contact of visit ``v`` re-enters queue ``q`` now; its patience restarts."""
        nv = len(self.v_arrival)
        self.v_arrival.append(now)
        self.v_queue.append(q)
        self.v_work.append(self.t_work[q].next() * self.aht_s[q])
        patience = self.t_patience[q]
        self.v_deadline.append(math.inf if patience is None else
                               now + patience.next() * self.patience_s[q])
        self.v_contact.append(v if v < self.n_external else
                              self.v_contact[v - self.n_external])
        self.v_start.append(math.nan)
        self.v_end.append(math.nan)
        self.v_agent.append(-1)
        self.v_abandoned.append(0)
        self.v_transferred.append(0)
        self._offer(nv, q, now)

    def _fill(self, a: int, now: float) -> None:
        """An agent on the floor with free slots takes waiting contacts, then waits.

        For each free slot: from the queues of its best preference that have someone waiting,
        the one of highest priority, then the contact that waited longest.  An agent holding
        chats cannot take a call.
        """
        g = self.a_group[a]
        only = self.g_only_queue[g]
        held = self.a_held
        deadline = self.v_deadline
        if only >= 0 and held[a] == 0 and self.g_cap[g] == 1:
            # A dedicated one-slot agent (a single skill): the common case, kept short.
            dq = self.waiting[only]
            while dq and deadline[dq[0]] <= now:
                self.v_abandoned[dq.popleft()] = 1
            if dq:
                self._start(dq.popleft(), only, a, now)
                return
            # self._make_available(a, now), inlined
            self.seq += 1
            self.a_seq[a] = self.seq
            self.free[g][0][a] = None
            self.a_free[a] = True
            return
        waiting = self.waiting
        q_voice = self.q_voice
        tiers = self.queues_for[g]
        cap = self.g_cap[g]
        while held[a] < cap:
            idle = held[a] == 0
            v = -1
            for tier in tiers:
                best_q = -1
                best_key = None
                for q in tier:
                    if q_voice[q] and not idle:
                        continue
                    dq = waiting[q]
                    # Lazy abandonment: contacts whose patience ran out leave from the head.
                    while dq and deadline[dq[0]] <= now:
                        self.v_abandoned[dq.popleft()] = 1
                    if dq:
                        if len(tier) == 1:
                            best_q = q
                            break
                        key = (self.priority[q], self.v_arrival[dq[0]])
                        if best_key is None or key < best_key:
                            best_key, best_q = key, q
                if best_q >= 0:
                    v = waiting[best_q].popleft()
                    break
            if v < 0:
                self._make_available(a, now)
                return
            self._start(v, best_q, a, now)

    # ----------------------------------------------------------------------------------------
    # Peak operations: overflow delays, allocation windows, callbacks, redials (the general
    # path, installed by _init_general in place of _offer, _fill and _transfer).
    def _init_general(self, routing: RoutingTable, qspecs: list) -> None:
        sc, seed = self.scenario, self.seed
        nq = len(sc.queues)
        n = self.n_external
        self.allocs = routing.allocations
        initial, self.switches = allocation_switches(sc, until_s=self.stop_s)
        # The allocation in force per group: its preference tiers, its delay per queue.
        self.g_alloc = list(initial)
        self.queues_for = [self.allocs[g][a].tiers for g, a in enumerate(initial)]
        self.g_delay = [self.allocs[g][a].delay_s for g, a in enumerate(initial)]
        self.groups_for = list(groups_for([self.allocs[g][a].prefs
                                           for g, a in enumerate(initial)], nq))
        # Every positive delay a queue has for any group in any allocation: a waiting contact
        # can become eligible for a group only at entry + one of them, or at a switch.
        self.q_delays = [sorted({d for allocs in self.allocs for al in allocs
                                 for d in (al.delay_s[q],) if d > 0.0}) for q in range(nq)]
        cbs = [qs.callback for qs in qspecs]
        self.has_cb = any(c is not None for c in cbs)
        self.cb_offer = [-1.0 if c is None else c.offer_after_s for c in cbs]
        self.cb_accept = [0.0 if c is None else c.accept for c in cbs]
        self.cb_promise = [math.nan if c is None else c.promise_s for c in cbs]
        # A callback goes before live contacts from acceptance + promise - the queue's AHT.
        self.cb_urgent = [math.inf if c is None else c.promise_s - qs.aht_s
                          for c, qs in zip(cbs, qspecs)]
        self.cb_list: list[deque[int]] = [deque() for _ in range(nq)]
        self.cb_draw = [None if c is None else VariateBuffer(stream(seed, q, "callback"))
                        for c, q in zip(cbs, sc.queues)]
        self.g_cb = [any(cbs[q] is not None for q in self.allocs[g][a].prefs)
                     for g, a in enumerate(initial)]
        rds = [qs.redial for qs in qspecs]
        self.has_rd = any(r is not None for r in rds)
        self.rd_p = [-1.0 if r is None else r.probability for r in rds]
        self.rd_after = [0.0 if r is None else r.after_s for r in rds]
        self.rd_draw = [None if r is None else VariateBuffer(stream(seed, q, "redial"))
                        for r, q in zip(rds, sc.queues)]
        self.rd_delay = [None if r is None else
                         VariateBuffer(stream(seed, q, "redial", "delay"), "exponential", 1.0)
                         for r, q in zip(rds, sc.queues)]
        self.rd_work = [None if r is None else
                        VariateBuffer(stream(seed, q, "redial", "handle"), qs.handle_time,
                                      qs.handle_time_cv)
                        for r, q, qs in zip(rds, sc.queues, qspecs)]
        self.rd_patience = [None if r is None else
                            VariateBuffer(stream(seed, q, "redial", "patience"), qs.patience,
                                          qs.patience_cv)
                            for r, q, qs in zip(rds, sc.queues, qspecs)]
        # Queues whose waiting contacts have events of their own.
        self.q_watch = [bool(self.q_delays[q]) or cbs[q] is not None or rds[q] is not None
                        for q in range(nq)]
        # Per visit, written only when the feature is used.
        if self.has_cb:
            self.v_cb_s = array("d", [math.nan]) * n  # when the caller accepted a callback
            self.v_cb_offered = bytearray(n)
        if self.has_rd:
            self.v_redial = bytearray(n)
            self.v_customer: list[int] = []  # of visits not arrived from outside
        self._offer = self._offer_general
        self._fill = self._fill_general
        self._transfer = self._transfer_general

    def _dispatch(self, x: int, a: int, now: float) -> None:
        """A calendar entry of the general path: a completion (``a`` its agent) or an event
        of visit ``x`` (``a`` its kind)."""
        if a >= 0:
            self._finish(x, a, now)
        elif a == _ELIGIBLE:
            self._on_eligible(x, now)
        elif a == _CALLBACK_OFFER:
            self._on_callback_offer(x, now)
        elif a == _ABANDON:
            self._on_abandon(x, now)
        else:
            self._on_redial(x, now)

    def _push(self, t: float, v: int, kind: int) -> None:
        self._queue_completion(t, next(self.env_eid), v, kind)

    def _new_visit(self, now: float, q: int, work: float, deadline: float, contact: int,
                   customer: int, redial: int) -> int:
        nv = len(self.v_arrival)
        self.v_arrival.append(now)
        self.v_queue.append(q)
        self.v_work.append(work)
        self.v_deadline.append(deadline)
        self.v_contact.append(contact)
        self.v_start.append(math.nan)
        self.v_end.append(math.nan)
        self.v_agent.append(-1)
        self.v_abandoned.append(0)
        self.v_transferred.append(0)
        if self.has_cb:
            self.v_cb_s.append(math.nan)
            self.v_cb_offered.append(0)
        if self.has_rd:
            self.v_redial.append(redial)
            self.v_customer.append(customer)
        return nv

    def _customer(self, v: int) -> int:
        return v if v < self.n_external else self.v_customer[v - self.n_external]

    def _transfer_general(self, v: int, q: int, now: float) -> None:
        """:meth:`_transfer`, keeping the per-visit arrays of the general path."""
        work = self.t_work[q].next() * self.aht_s[q]
        patience = self.t_patience[q]
        deadline = math.inf if patience is None else now + patience.next() * self.patience_s[q]
        contact = v if v < self.n_external else self.v_contact[v - self.n_external]
        nv = self._new_visit(now, q, work, deadline, contact,
                             self._customer(v) if self.has_rd else -1, 0)
        self._offer(nv, q, now)

    def _free_agent(self, q: int, entry: float, now: float) -> int:
        """Take out of its bucket the agent a contact of queue ``q`` that entered it at
        ``entry`` goes to now (-1: none): the best tier of groups for which it is eligible
        (delay passed) with a free agent, then the least loaded, then the one free longest."""
        voice = self.q_voice[q]
        free = self.free
        delay = self.g_delay
        for tier in self.groups_for[q]:
            best = best_bucket = None
            for g in tier:
                if entry + delay[g][q] > now:
                    continue
                for held, bucket in enumerate(free[g]):
                    if bucket:
                        key = (held, self.a_seq[next(iter(bucket))])
                        if best is None or key < best:
                            best, best_bucket = key, bucket
                        break
                    if voice:
                        break
            if best is not None:
                a = best_bucket.popitem(last=False)[0]
                self.a_free[a] = False
                return a
        return -1

    def _offer_general(self, v: int, q: int, now: float) -> None:
        """:meth:`_offer` with overflow delays: only groups whose delay is 0 take an
        arrival; if none can, the contact waits and its own events are queued."""
        a = self._free_agent(q, now, now)
        if a >= 0:
            self._start(v, q, a, now)
            if self.a_held[a] < self.g_cap[self.a_group[a]]:
                self._make_available(a, now)
            return
        self.waiting[q].append(v)
        if not self.q_watch[q]:
            return
        # Events of a waiting contact, in this order at equal times: eligible for a group,
        # offered a callback, abandoned.  None at or after the stop.
        stop = self.stop_s
        deadline = self.v_deadline[v]
        offer = self.cb_offer[q]
        may_callback = offer >= 0.0 and now + offer < deadline
        for d in self.q_delays[q]:
            t = now + d
            if t >= stop:
                break
            if t < deadline or may_callback:  # a callback waits on after its deadline
                self._push(t, v, _ELIGIBLE)
        if may_callback and now + offer < stop:
            self._push(now + offer, v, _CALLBACK_OFFER)
        if self.rd_p[q] >= 0.0 and deadline < stop:
            self._push(deadline, v, _ABANDON)

    def _on_eligible(self, v: int, now: float) -> None:
        """Visit ``v`` has waited one of its queue's overflow delays: if it still waits (in
        the queue, or as a callback), free agents of the groups it is now eligible for
        take work."""
        if self.v_start[v] == self.v_start[v]:
            return  # answered (start is not NaN)
        if not (self.has_cb and self.v_cb_s[v] == self.v_cb_s[v]) \
                and self.v_deadline[v] <= now:
            return  # abandoned
        self._serve_eligible(v, self.v_queue[v], now)

    def _serve_eligible(self, v: int, q: int, now: float) -> None:
        """While ``v`` waits and an agent free now is eligible for it, that agent takes work
        by its own rule (:meth:`_choose`, which finds at least ``v`` or an older contact of
        the queue)."""
        entry = self.v_arrival[v]
        while self.v_start[v] != self.v_start[v]:
            a = self._free_agent(q, entry, now)
            if a < 0:
                return
            held = self.a_held[a]
            self._fill(a, now)
            if self.a_held[a] == held:
                return  # took nothing (not reached: the agent is eligible for v)

    def _on_callback_offer(self, v: int, now: float) -> None:
        """Visit ``v`` has waited ``offer_after_s``: if still waiting, it is offered a
        callback; one who accepts leaves the queue for the callback list."""
        if self.v_start[v] == self.v_start[v] or self.v_deadline[v] <= now:
            return  # answered or abandoned
        q = self.v_queue[v]
        self.v_cb_offered[v] = 1
        if self.cb_draw[q].next() >= self.cb_accept[q]:
            return
        # It leaves the queue lazily, from the head, as abandoned contacts do (_choose): a
        # removal from the middle would cost the queue's length.
        self.v_cb_s[v] = now
        self.cb_list[q].append(v)
        self._serve_eligible(v, q, now)

    def _on_abandon(self, v: int, now: float) -> None:
        """Visit ``v`` of a queue with redials reaches its deadline: unless answered or
        called back, it abandons now, and the customer may call again."""
        if self.v_start[v] == self.v_start[v] or (self.has_cb and
                                                   self.v_cb_s[v] == self.v_cb_s[v]):
            return
        self.v_abandoned[v] = 1  # also found from the queue's head, lazily, as ever
        q = self.v_queue[v]
        if self.rd_draw[q].next() < self.rd_p[q]:
            t = now + self.rd_delay[q].next() * self.rd_after[q]
            if t < self.stop_s:
                self._push(t, v, _REDIAL)

    def _on_redial(self, src: int, now: float) -> None:
        """The customer of abandoned visit ``src`` calls its queue again: a new contact."""
        q = self.v_queue[src]
        work = self.rd_work[q].next() * self.aht_s[q]
        deadline = now + self.rd_patience[q].next() * self.patience_s[q]
        nv = len(self.v_arrival)
        self._new_visit(now, q, work, deadline, nv, self._customer(src), 1)
        self._offer(nv, q, now)

    def _choose(self, a: int, g: int, now: float) -> tuple[int, int, bool] | None:
        """What agent ``a`` of group ``g`` takes next: ``(visit, queue, is a callback)``, or
        None.  First a callback whose promise is near (due: accepted + promise - AHT), then
        a live contact, then any other callback; each time from the best tier of the
        allocation in force where a queue has an eligible head (the queue and the callback
        list are in order of entry into the queue, so the head is eligible first), the queue
        of highest priority, then the due, entry or acceptance time.  An agent holding chats
        takes no call."""
        idle = self.a_held[a] == 0
        tiers = self.queues_for[g]
        delay = self.g_delay[g]
        q_voice = self.q_voice
        arrival = self.v_arrival
        priority = self.priority
        if self.g_cb[g]:
            got = self._callback_head(tiers, delay, idle, now, urgent=True)
            if got is not None:
                return got
        waiting = self.waiting
        deadline = self.v_deadline
        cb_s = self.v_cb_s if self.has_cb else None
        for tier in tiers:
            best_q, best_key = -1, None
            for q in tier:
                if q_voice[q] and not idle:
                    continue
                dq = waiting[q]
                # Lazily from the head: contacts whose patience ran out (abandoned) and
                # callers now on the callback list.
                if cb_s is None:
                    while dq and deadline[dq[0]] <= now:
                        self.v_abandoned[dq.popleft()] = 1
                else:
                    while dq and (deadline[dq[0]] <= now or cb_s[dq[0]] == cb_s[dq[0]]):
                        h = dq.popleft()
                        if cb_s[h] != cb_s[h]:
                            self.v_abandoned[h] = 1
                if dq and arrival[dq[0]] + delay[q] <= now:
                    key = (priority[q], arrival[dq[0]])
                    if best_key is None or key < best_key:
                        best_key, best_q = key, q
            if best_q >= 0:
                return waiting[best_q][0], best_q, False
        if self.g_cb[g]:
            return self._callback_head(tiers, delay, idle, now, urgent=False)
        return None

    def _callback_head(self, tiers: tuple[tuple[int, ...], ...], delay: list[float],
                       idle: bool, now: float, *, urgent: bool) -> tuple[int, int, bool] | None:
        """The callback to make from the best tier with an eligible head (only those whose
        promise is near if ``urgent``): the queue of highest priority, then the earliest due
        (urgent) or accepted."""
        cb_s, arrival, priority, q_voice = self.v_cb_s, self.v_arrival, self.priority, \
            self.q_voice
        for tier in tiers:
            best_q, best_key = -1, None
            for q in tier:
                cbq = self.cb_list[q]
                if not cbq or (q_voice[q] and not idle):
                    continue
                h = cbq[0]
                if arrival[h] + delay[q] > now:
                    continue
                if urgent:
                    due = cb_s[h] + self.cb_urgent[q]
                    if due > now:
                        continue
                    key = (priority[q], due)
                else:
                    key = (priority[q], cb_s[h])
                if best_key is None or key < best_key:
                    best_key, best_q = key, q
            if best_q >= 0:
                return self.cb_list[best_q][0], best_q, True
        return None

    def _fill_general(self, a: int, now: float) -> None:
        """:meth:`_fill` by :meth:`_choose`: delays, the allocation in force, callbacks."""
        g = self.a_group[a]
        cap = self.g_cap[g]
        while self.a_held[a] < cap:
            choice = self._choose(a, g, now)
            if choice is None:
                self._make_available(a, now)
                return
            v, q, callback = choice
            (self.cb_list[q] if callback else self.waiting[q]).popleft()
            self._start(v, q, a, now)

    def _on_switch(self, event: Event) -> None:
        """A group's allocation changes: contacts in hand finish as they are; its free agents
        take waiting contacts under the new one (least loaded, then free longest, first)."""
        g, alloc = event._value
        self.pool.append(event)
        now = self.env._now
        al = self.allocs[g][alloc]
        self.g_alloc[g] = alloc
        self.queues_for[g] = al.tiers
        self.g_delay[g] = al.delay_s
        self.groups_for = list(groups_for([self.allocs[h][x].prefs
                                           for h, x in enumerate(self.g_alloc)],
                                          len(self.scenario.queues)))
        self.g_cb[g] = any(self.cb_offer[q] >= 0.0 for q in al.prefs)
        for a in [a for bucket in self.free[g] for a in bucket]:
            if self.a_free[a] and self._choose(a, g, now) is not None:
                self._unfree(a)
                self._fill(a, now)

    # ----------------------------------------------------------------------------------------
    # Shifts and breaks
    def _on_roster(self, event: Event) -> None:
        self.pool.append(event)
        times = self.r_time
        now = self.env._now
        i = self.roster_pos
        n = len(times)
        while i < n and times[i] <= now:
            kind, a = self.r_kind[i], self.r_agent[i]
            if kind == ON:
                self._come_on(a, now)
            else:
                self._leave(a, now, self.r_break[i] if kind == BREAK else -1.0)
            i += 1
        self.roster_pos = i
        if i < n:
            self._later(times[i] - now, self._on_roster, None)

    def _come_on(self, a: int, now: float) -> None:
        status = self.a_status[a]
        if status == _ON:
            return
        if status == _OFF:
            self.a_on_since[a] = now
        self.a_status[a] = _ON
        self._fill(a, now)

    def _leave(self, a: int, now: float, break_s: float) -> None:
        status = self.a_status[a]
        if status == _OFF:
            if break_s < 0.0:
                self.a_shift[a] += 1  # the shift ends during a break: no return
            return
        if status == _LEAVING:
            if break_s < 0.0:
                self.a_break_s[a] = -1.0  # the shift ends before the break could start
            return
        self._unfree(a)  # no longer available
        self.a_break_s[a] = break_s
        if self.a_held[a] == 0:
            self._go_off(a, now)
        else:
            self.a_status[a] = _LEAVING  # finishes the contacts in hand first

    def _go_off(self, a: int, now: float) -> None:
        self.a_status[a] = _OFF
        self.seg_agent.append(a)
        self.seg_on.append(self.a_on_since[a])
        self.seg_off.append(now)
        if self.a_break_s[a] >= 0.0:
            self._later(self.a_break_s[a], self._on_break_over, (a, self.a_shift[a]))
        else:
            self.a_shift[a] += 1

    def _on_break_over(self, event: Event) -> None:
        a, shift = event._value
        self.pool.append(event)
        if shift == self.a_shift[a] and self.a_status[a] == _OFF:
            self._come_on(a, self.env._now)

    # ----------------------------------------------------------------------------------------
    def _records(self) -> Records:
        stop = self.stop_s
        deadline = self.v_deadline
        cb_s = self.v_cb_s if self.general and self.has_cb else None
        for dq in self.waiting:
            # During the run only queue heads are checked (a contact is only ever taken from
            # the head); a more patient head may hide expired contacts behind it, so at the end
            # every contact left is checked.
            for v in dq:
                if deadline[v] <= stop and (cb_s is None or cb_s[v] != cb_s[v]):
                    self.v_abandoned[v] = 1  # (not a caller now on the callback list)
        for a, status in enumerate(self.a_status):
            if status != _OFF:
                self.seg_agent.append(a)
                self.seg_on.append(self.a_on_since[a])
                self.seg_off.append(stop)
        # Outcomes and waits, from when each visit was answered or gave up.
        n_ext = self.n_external
        arrival = np.concatenate((self.ext_arrival, self.v_arrival[n_ext:]))
        deadline = np.concatenate((self.ext_deadline, self.v_deadline[n_ext:]))
        queue = np.concatenate((self.ext_queue, np.asarray(self.v_queue[n_ext:],
                                                           dtype=np.int64)))
        contact = np.concatenate((np.arange(n_ext, dtype=np.int64),
                                  np.asarray(self.v_contact, dtype=np.int64)))
        transfer_in = np.arange(arrival.size) >= n_ext
        start = np.frombuffer(self.v_start, dtype=float).copy()
        abandoned = np.frombuffer(self.v_abandoned, dtype=bool).copy()
        answered = ~np.isnan(start)
        outcome = np.full(arrival.size, WAITING, dtype=np.int8)
        outcome[answered] = ANSWERED
        outcome[abandoned] = ABANDONED
        wait = np.where(answered, start, np.where(abandoned, deadline, stop)) - arrival
        sc = self.scenario
        extra: dict[str, np.ndarray] = {}
        if self.general and self.has_cb:
            # A caller who accepted a callback waited in the queue until then; start and end
            # are the callback's.
            callback_s = np.frombuffer(self.v_cb_s, dtype=float).copy()
            called = ~np.isnan(callback_s)
            outcome[called] = CALLBACK
            wait[called] = callback_s[called] - arrival[called]
            extra.update(callback_offered=np.frombuffer(self.v_cb_offered, dtype=bool).copy(),
                         callback_s=callback_s,
                         queue_promise_s=np.asarray(self.cb_promise, dtype=float))
        if self.general and self.has_rd:
            redial = np.frombuffer(self.v_redial, dtype=bool).copy()
            transfer_in &= ~redial  # a redial is a new contact, not a transfer
            extra.update(redial=redial,
                         customer=np.concatenate((np.arange(n_ext, dtype=np.int64),
                                                  np.asarray(self.v_customer,
                                                             dtype=np.int64))))
        return Records(
            queues=sc.queues, groups=sc.groups, interval_s=sc.interval_s,
            n_intervals=sc.n_intervals, stop_s=stop, seed=self.seed,
            queue=queue, contact=contact, arrival_s=arrival, outcome=outcome, wait_s=wait,
            start_s=start,
            end_s=np.frombuffer(self.v_end, dtype=float).copy(),
            agent=np.frombuffer(self.v_agent, dtype=np.int64).copy(),
            transfer_in=transfer_in,
            transferred=np.frombuffer(self.v_transferred, dtype=bool).copy(),
            seg_agent=np.asarray(self.seg_agent, dtype=np.int64),
            seg_on_s=np.asarray(self.seg_on, dtype=float),
            seg_off_s=np.asarray(self.seg_off, dtype=float),
            agent_group=np.asarray(self.a_group, dtype=np.int64),
            agent_slots=np.asarray(self.a_cap, dtype=np.int64),
            queue_voice=np.asarray(self.q_voice, dtype=bool), **extra)
