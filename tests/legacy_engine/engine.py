"""The discrete-event engine (SimPy): contacts, agents, routing, transfers, abandonment, shifts.

``run(scenario, seed)`` simulates the scenario's horizon and returns :class:`~sim.records.Records`.

Design of the per-event path (kept lean on purpose; see ../shared/style.md):

* SimPy's environment holds the events, which are plain SimPy events with one bound-method
  callback, not a generator per contact: one per handling completion, a few per agent shift.
  Events are recycled rather than built anew.  Arrival times, handle-time and patience
  variates are drawn up front with numpy, per queue and per source (common random numbers,
  :mod:`sim.streams`); as the arrivals are known and sorted, the run loop merges them with
  SimPy's event queue instead of making each one an event.
* Abandonment costs no event: a waiting contact's deadline (arrival + patience) is stored, and
  contacts whose deadline has passed are removed from the head of their queue when an agent
  looks at it, recorded as abandoned *at their deadline*.  Patience differs between contacts,
  so an expired contact may sit behind a live head; but a contact is only ever taken from the
  head, after this check, so none is answered after its deadline, and at the end every contact
  left is checked: the records are exact.
* Free agents wait in one heap per group keyed by (contacts held, free since); entries made
  stale by a change of the agent's state are skipped by a token check, not searched for.
* Chat concurrency with slowdown is exact: an agent holding ``m`` chats works each at rate
  ``1 / (1 + slowdown (m - 1))``.  All its chats progress at the same rate, so an agent-level
  virtual clock ``V`` (``dV/dt = rate``) lets each chat finish at a fixed virtual time; only
  the agent's next completion is scheduled, and rescheduled when ``m`` changes.
* A voice call takes the whole agent: it goes only to an agent holding nothing and fills all of
  its slots, so an agent of a group with chat concurrency ``k`` holds ``k`` chats or one call.
* Routing tables are computed once per run (:mod:`sim.routing`), with short paths for a queue
  that one group takes and a group with one skill; records are written to flat typed arrays
  and frozen into numpy arrays at the end (:mod:`sim.records`).
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Callable
from heapq import heappop, heappush

import numpy as np
import simpy
from simpy.events import NORMAL, Event

from .agents import BREAK, ON, build_roster
from .arrivals import arrival_times
from sim.records import ABANDONED, ANSWERED, WAITING, Records
from .routing import build_routing
from sim.scenario import Scenario
from .streams import VariateBuffer, stream, unit_variates

__all__ = ["run", "DRAIN_S"]

# After the horizon no contact arrives; the run goes on (agents on their shifts) so that
# contacts of the last intervals are answered or abandon, for at most this long.
DRAIN_S = 4 * 3600.0
_OFF, _ON, _LEAVING = 0, 1, 2


def run(scenario: Scenario, seed: int = 0, *, drain_s: float = DRAIN_S) -> Records:
    """Simulate ``scenario`` with random streams spawned from ``seed``."""
    return _Run(scenario, int(seed), drain_s).execute()


class _Run:
    """State of one run.  Lists indexed by visit id (``v_*``) and by agent id (``a_*``)."""

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
        for q, qs in enumerate(qspecs):
            name = scenario.queues[q]
            t = arrival_times(stream(seed, name, "arrivals"), scenario.contacts[q],
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
        self.roster = roster
        gspecs = list(spec.agent_groups.values())
        chat_group = [any(spec.queues[q].channel == "chat" for q in g.skills) for g in gspecs]
        n_agents = len(roster.group)
        self.a_group: list[int] = roster.group.tolist()
        self.a_cap = [gspecs[g].chat_concurrency if chat_group[g] else 1 for g in self.a_group]
        self.a_slow = [gspecs[g].chat_slowdown if chat_group[g] else 0.0 for g in self.a_group]
        self.a_virtual = [c > 1 and s > 0.0 for c, s in zip(self.a_cap, self.a_slow)]
        self.a_speed = [self.speed[g] for g in self.a_group]  # handle-time factor per queue
        # The only group that takes a queue, and the only queue of a group (-1 if several), for
        # short paths in _offer and _fill.
        self.q_only_group = [tiers[0][0] if len(tiers) == 1 and len(tiers[0]) == 1 else -1
                             for tiers in self.groups_for]
        self.g_only_queue = [tiers[0][0] if len(tiers) == 1 and len(tiers[0]) == 1 else -1
                             for tiers in self.queues_for]
        self.a_held = [0] * n_agents
        self.a_status = [_OFF] * n_agents
        self.a_token = [0] * n_agents
        self.a_shift = [0] * n_agents  # bumped at a shift end: cancels a pending return
        self.a_break_s = [-1.0] * n_agents  # break to take once free (-1: leave the shift)
        self.a_on_since = [0.0] * n_agents
        self.a_vclock = [0.0] * n_agents
        self.a_vtime = [0.0] * n_agents
        self.a_vheap: list[list[tuple[float, int]]] = [[] for _ in range(n_agents)]
        self.a_vtoken = [0] * n_agents
        self.avail: list[list[tuple[int, float, int, int, int]]] = [[] for _ in gspecs]
        self.seq = 0
        self.seg_agent: list[int] = []
        self.seg_on: list[float] = []
        self.seg_off: list[float] = []
        self.pool: list[Event] = []
        # Bound once: the hot path schedules with SimPy's own heap and event ids, as
        # Environment.schedule does, without the call.
        # SimPy only reads an event's callback list (nobody waits on these events), so one
        # list serves every completion.
        self.on_done_callbacks = [self._on_done]
        self.env_queue = self.env._queue
        self.env_eid = self.env._eid

    # ----------------------------------------------------------------------------------------
    def execute(self) -> Records:
        env = self.env
        self.roster_pos = 0
        if self.roster.events:
            self._later(self.roster.events[0][0], self._on_roster, None)
        # The external arrivals are known in advance and sorted: rather than one SimPy event
        # each, they are merged here with SimPy's own event queue (completions, shifts,
        # breaks), which the environment steps through.  At equal times the scheduled event
        # goes first (an agent frees up before a contact arrives).
        queue = env._queue  # SimPy's heap of (time, priority, id, event)
        step = env.step
        offer = self._offer
        arrival, v_queue = self.v_arrival, self.v_queue
        stop = self.stop_s
        n = self.n_external
        k = 0
        while True:
            if k < n:
                t = arrival[k]
                if not queue or t < queue[0][0]:
                    env._now = t
                    offer(k, v_queue[k], t)
                    k += 1
                    continue
            if not queue or queue[0][0] >= stop:
                break
            step()
        env._now = stop
        return self._records()

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
        a_token = self.a_token
        avail = self.avail
        voice = self.q_voice[q]
        only = self.q_only_group[q]
        if only >= 0:
            # One group takes this queue: the common case, kept short.
            heap = avail[only]
            while heap:
                e = heap[0]
                if a_token[e[4]] == e[3]:
                    if voice and e[0]:
                        break  # the most free agent holds chats: none is free for a call
                    heappop(heap)
                    a = e[4]
                    self._start(v, a, now)
                    if self.a_held[a] < self.a_cap[a]:
                        self._make_available(a, now)
                    return
                heappop(heap)  # stale: the agent's state changed since
            self.waiting[q].append(v)
            return
        for tier in self.groups_for[q]:
            best = best_heap = None
            for g in tier:
                heap = avail[g]
                while heap:
                    e = heap[0]
                    if a_token[e[4]] == e[3]:
                        # Keyed by contacts held: if the head holds any, nobody here is free
                        # for a call.
                        if not (voice and e[0]) and (best is None or e < best):
                            best, best_heap = e, heap
                        break
                    heappop(heap)  # stale: the agent's state changed since
            if best is not None:
                heappop(best_heap)
                a = best[4]
                self._start(v, a, now)
                if self.a_held[a] < self.a_cap[a]:
                    self._make_available(a, now)
                return
        self.waiting[q].append(v)

    def _make_available(self, a: int, now: float) -> None:
        self.seq += 1
        heappush(self.avail[self.a_group[a]],
                       (self.a_held[a], now, self.seq, self.a_token[a], a))

    def _start(self, v: int, a: int, now: float) -> None:
        # Outcome and wait of answered visits follow from start_s; _records fills them in.
        q = self.v_queue[v]
        self.v_start[v] = now
        self.v_agent[v] = a
        work = self.v_work[v] * self.a_speed[a][q] + self.wrap_s[q]
        self.a_token[a] += 1
        if self.q_voice[q]:
            self.a_held[a] += self.a_cap[a]  # a call fills every slot; nothing slows it
        elif self.a_virtual[a]:
            self._advance(a, now)
            self.a_held[a] += 1
            heappush(self.a_vheap[a], (self.a_vclock[a] + work, v))
            self._schedule_virtual(a, now)
            return
        else:
            self.a_held[a] += 1
        # self._later(work, self._on_done, (v, a)), inlined: this is the hottest path.
        pool = self.pool
        if pool:
            ev = pool.pop()  # recycled: already marked ok
        else:
            ev = Event(self.env)
            ev._ok = True
        ev.callbacks = self.on_done_callbacks
        ev._value = v  # its agent is v_agent[v]
        heappush(self.env_queue, (now + work, NORMAL, next(self.env_eid), ev))

    def _on_done(self, event: Event) -> None:
        v = event._value
        self.pool.append(event)
        self._finish(v, self.v_agent[v], self.env._now)

    # Exact chat slowdown: an agent-level virtual clock (see the module docstring).
    def _advance(self, a: int, now: float) -> None:
        held = self.a_held[a]
        if held:
            self.a_vclock[a] += (now - self.a_vtime[a]) / (1.0 + self.a_slow[a] * (held - 1))
        self.a_vtime[a] = now

    def _schedule_virtual(self, a: int, now: float) -> None:
        self.a_vtoken[a] += 1
        heap = self.a_vheap[a]
        if heap:
            rate = 1.0 / (1.0 + self.a_slow[a] * (self.a_held[a] - 1))
            delay = max(0.0, (heap[0][0] - self.a_vclock[a]) / rate)
            self._later(delay, self._on_virtual_done, (a, self.a_vtoken[a]))

    def _on_virtual_done(self, event: Event) -> None:
        a, token = event._value
        self.pool.append(event)
        if token != self.a_vtoken[a]:
            return  # superseded by a reschedule
        now = self.env._now
        self._advance(a, now)
        _, v = heappop(self.a_vheap[a])
        self.a_held[a] -= 1
        self._schedule_virtual(a, now)
        self.a_held[a] += 1  # _finish releases the slot
        self._finish(v, a, now)

    def _finish(self, v: int, a: int, now: float) -> None:
        """Visit ``v`` ends: record it, maybe transfer it, and free the agent's slot(s)."""
        self.v_end[v] = now
        q = self.v_queue[v]
        self.a_held[a] -= self.a_cap[a] if self.q_voice[q] else 1
        self.a_token[a] += 1
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
        waiting = self.waiting
        q_voice = self.q_voice
        deadline = self.v_deadline
        tiers = self.queues_for[self.a_group[a]]
        cap = self.a_cap[a]
        held = self.a_held
        only = self.g_only_queue[self.a_group[a]]
        if only >= 0 and cap == 1 and held[a] == 0:
            # A dedicated one-slot agent (a single skill): the common case, kept short.
            dq = waiting[only]
            while dq and deadline[dq[0]] <= now:
                self.v_abandoned[dq.popleft()] = 1
            if dq:
                self._start(dq.popleft(), a, now)
            else:
                self._make_available(a, now)
            return
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
            self._start(v, a, now)

    # ----------------------------------------------------------------------------------------
    # Shifts and breaks
    def _on_roster(self, event: Event) -> None:
        self.pool.append(event)
        events = self.roster.events
        now = self.env._now
        i = self.roster_pos
        while i < len(events) and events[i][0] <= now:
            _, kind, a, break_s = events[i]
            i += 1
            if kind == ON:
                self._come_on(a, now)
            else:
                self._leave(a, now, break_s if kind == BREAK else -1.0)
        self.roster_pos = i
        if i < len(events):
            self._later(events[i][0] - now, self._on_roster, None)

    def _come_on(self, a: int, now: float) -> None:
        status = self.a_status[a]
        if status == _ON:
            return
        if status == _OFF:
            self.a_on_since[a] = now
        self.a_status[a] = _ON
        self.a_token[a] += 1
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
        self.a_token[a] += 1  # no longer available
        self.a_break_s[a] = break_s
        if self.a_held[a] == 0:
            self._go_off(a, now)
        else:
            self.a_status[a] = _LEAVING  # finishes the contacts in hand first

    def _go_off(self, a: int, now: float) -> None:
        self.a_status[a] = _OFF
        self.a_token[a] += 1
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
        for dq in self.waiting:
            # During the run only queue heads are checked (a contact is only ever taken from
            # the head); a more patient head may hide expired contacts behind it, so at the end
            # every contact left is checked.
            for v in dq:
                if deadline[v] <= stop:
                    self.v_abandoned[v] = 1
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
            queue_voice=np.asarray(self.q_voice, dtype=bool))
