"""The discrete-event engine (SimPy): contacts, agents, routing, transfers, abandonment, shifts.

``run(scenario, seed)`` simulates the scenario's horizon and returns :class:`~sim.records.Records`.

Design of the per-event path (kept lean on purpose; see ../shared/style.md):

* Events are plain SimPy timeouts with one bound-method callback, not a generator per contact:
  one event per arrival, one per handling completion, and a few per agent shift.  Arrival times,
  handle-time and patience variates are drawn up front with numpy, per queue and per source
  (common random numbers, :mod:`sim.streams`).
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
* Routing tables are computed once per run (:mod:`sim.routing`); records are appended to flat
  lists and frozen into arrays at the end (:mod:`sim.records`).
"""

from __future__ import annotations

import heapq
import math
from collections import deque

import numpy as np
import simpy
from simpy.events import Timeout

from sim.agents import BREAK, OFF, ON, build_roster
from sim.arrivals import arrival_times
from sim.records import ABANDONED, ANSWERED, WAITING, Records
from sim.routing import build_routing
from sim.scenario import Scenario
from sim.streams import VariateBuffer, stream, unit_variates

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
        # Fix: calls used to take one chat slot, so a chat-capable agent (a team lead with
        # chat_concurrency 3) could hold three phone calls at once.  A call now needs an agent
        # holding nothing and fills all its slots.
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
        order = np.argsort(t_all, kind="stable")
        n = t_all.size
        self.n_external = n
        self.v_arrival: list[float] = t_all[order].tolist()
        self.v_queue: list[int] = np.concatenate(queue)[order].tolist()
        self.v_work: list[float] = np.concatenate(work)[order].tolist()
        self.v_deadline: list[float] = np.concatenate(deadline)[order].tolist()
        self.v_contact: list[int] = list(range(n))
        self.v_start: list[float] = [math.nan] * n
        self.v_end: list[float] = [math.nan] * n
        self.v_agent: list[int] = [-1] * n
        self.v_outcome: list[int] = [WAITING] * n
        self.v_wait: list[float] = [math.nan] * n
        self.v_transfer_in: list[bool] = [False] * n
        self.v_transferred: list[bool] = [False] * n
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

    # ----------------------------------------------------------------------------------------
    def execute(self) -> Records:
        env = self.env
        if self.n_external:
            ev = Timeout(env, self.v_arrival[0])
            ev.callbacks.append(self._on_arrival)
            self.next_arrival = 0
        self.roster_pos = 0
        if self.roster.events:
            ev = Timeout(env, self.roster.events[0][0])
            ev.callbacks.append(self._on_roster)
        env.run(until=self.stop_s)
        return self._records()

    # ----------------------------------------------------------------------------------------
    # Contacts
    def _on_arrival(self, event: Timeout) -> None:
        v = self.next_arrival
        self._offer(v, self.v_queue[v], self.env._now)
        v += 1
        self.next_arrival = v
        if v < self.n_external:
            ev = Timeout(self.env, self.v_arrival[v] - self.env._now)
            ev.callbacks.append(self._on_arrival)

    def _offer(self, v: int, q: int, now: float) -> None:
        """A contact enters queue ``q``: to the best free agent, else to the queue."""
        a_token = self.a_token
        voice = self.q_voice[q]
        for tier in self.groups_for[q]:
            best = None
            best_heap = None
            for g in tier:
                heap = self.avail[g]
                while heap and a_token[heap[0][4]] != heap[0][3]:
                    heapq.heappop(heap)
                if voice and heap and heap[0][0] > 0:
                    continue  # the heap is keyed by chats held: nobody here holds nothing
                if heap and (best is None or heap[0] < best):
                    best = heap[0]
                    best_heap = heap
            if best is not None:
                heapq.heappop(best_heap)
                a = best[4]
                self._start(v, a, now)
                if self.a_held[a] < self.a_cap[a]:
                    self._make_available(a, now)
                return
        self.waiting[q].append(v)

    def _make_available(self, a: int, now: float) -> None:
        self.seq += 1
        heapq.heappush(self.avail[self.a_group[a]],
                       (self.a_held[a], now, self.seq, self.a_token[a], a))

    def _start(self, v: int, a: int, now: float) -> None:
        q = self.v_queue[v]
        self.v_start[v] = now
        self.v_agent[v] = a
        self.v_wait[v] = now - self.v_arrival[v]
        self.v_outcome[v] = ANSWERED
        work = self.v_work[v] * self.speed[self.a_group[a]][q] + self.wrap_s[q]
        self.a_token[a] += 1
        if self.q_voice[q]:
            # A call fills every slot (and is never slowed by chats: none are held).
            self.a_held[a] += self.a_cap[a]
            ev = Timeout(self.env, work, (v, a))
            ev.callbacks.append(self._on_done)
        elif self.a_virtual[a]:
            self._advance(a, now)
            self.a_held[a] += 1
            heapq.heappush(self.a_vheap[a], (self.a_vclock[a] + work, v))
            self._schedule_virtual(a, now)
        else:
            self.a_held[a] += 1
            ev = Timeout(self.env, work, (v, a))
            ev.callbacks.append(self._on_done)

    def _on_done(self, event: Timeout) -> None:
        v, a = event._value
        self._finish(v, a, self.env._now)

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
            ev = Timeout(self.env, delay, (a, self.a_vtoken[a]))
            ev.callbacks.append(self._on_virtual_done)

    def _on_virtual_done(self, event: Timeout) -> None:
        a, token = event._value
        if token != self.a_vtoken[a]:
            return  # superseded by a reschedule
        now = self.env._now
        self._advance(a, now)
        _, v = heapq.heappop(self.a_vheap[a])
        self.a_held[a] -= 1
        self._schedule_virtual(a, now)
        self.a_held[a] += 1  # _finish releases the slot
        self._finish(v, a, now)

    def _finish(self, v: int, a: int, now: float) -> None:
        self.v_end[v] = now
        q = self.v_queue[v]
        self.a_held[a] -= self.a_cap[a] if self.q_voice[q] else 1
        self.a_token[a] += 1
        if self.transfer_to[q]:
            u = self.t_draw[q].next()
            for cum, target in self.transfer_to[q]:
                if u < cum:
                    self.v_transferred[v] = True
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
        self.v_contact.append(self.v_contact[v])
        self.v_start.append(math.nan)
        self.v_end.append(math.nan)
        self.v_agent.append(-1)
        self.v_outcome.append(WAITING)
        self.v_wait.append(math.nan)
        self.v_transfer_in.append(True)
        self.v_transferred.append(False)
        self._offer(nv, q, now)

    def _abandon_expired(self, dq: deque[int], now: float) -> None:
        deadline = self.v_deadline
        while dq and deadline[dq[0]] <= now:
            v = dq.popleft()
            self.v_outcome[v] = ABANDONED
            self.v_wait[v] = deadline[v] - self.v_arrival[v]

    def _pick(self, g: int, now: float, idle: bool) -> int:
        """The next waiting contact for an agent of group ``g``, or -1.  An agent holding
        chats (not ``idle``) cannot take a call."""
        waiting = self.waiting
        q_voice = self.q_voice
        for tier in self.queues_for[g]:
            best_q = -1
            best_key = None
            for q in tier:
                if q_voice[q] and not idle:
                    continue
                dq = waiting[q]
                if dq:
                    self._abandon_expired(dq, now)
                    if dq:
                        key = (self.priority[q], self.v_arrival[dq[0]])
                        if best_key is None or key < best_key:
                            best_key, best_q = key, q
            if best_q >= 0:
                return waiting[best_q].popleft()
        return -1

    def _fill(self, a: int, now: float) -> None:
        """An agent on the floor with free slots takes waiting contacts, then waits."""
        g = self.a_group[a]
        cap = self.a_cap[a]
        while self.a_held[a] < cap:
            v = self._pick(g, now, self.a_held[a] == 0)
            if v < 0:
                self._make_available(a, now)
                return
            self._start(v, a, now)

    # ----------------------------------------------------------------------------------------
    # Shifts and breaks
    def _on_roster(self, event: Timeout) -> None:
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
            ev = Timeout(self.env, events[i][0] - now)
            ev.callbacks.append(self._on_roster)

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
            ev = Timeout(self.env, self.a_break_s[a], (a, self.a_shift[a]))
            ev.callbacks.append(self._on_break_over)
        else:
            self.a_shift[a] += 1

    def _on_break_over(self, event: Timeout) -> None:
        a, shift = event._value
        if shift == self.a_shift[a] and self.a_status[a] == _OFF:
            self._come_on(a, self.env._now)

    # ----------------------------------------------------------------------------------------
    def _records(self) -> Records:
        stop = self.stop_s
        deadline = self.v_deadline
        for dq in self.waiting:
            # Fix: only the head used to be checked (_abandon_expired), so a contact whose
            # patience ran out behind a more patient one was reported still waiting.  Heads are
            # checked during the run because that is when a contact could be taken; at the end
            # every contact left is.
            for v in dq:
                if deadline[v] <= stop:
                    self.v_outcome[v] = ABANDONED
                    self.v_wait[v] = deadline[v] - self.v_arrival[v]
                else:
                    self.v_wait[v] = stop - self.v_arrival[v]
        for a, status in enumerate(self.a_status):
            if status != _OFF:
                self.seg_agent.append(a)
                self.seg_on.append(self.a_on_since[a])
                self.seg_off.append(stop)
        sc = self.scenario
        return Records(
            queues=sc.queues, groups=sc.groups, interval_s=sc.interval_s,
            n_intervals=sc.n_intervals, stop_s=stop, seed=self.seed,
            queue=np.asarray(self.v_queue, dtype=np.int64),
            contact=np.asarray(self.v_contact, dtype=np.int64),
            arrival_s=np.asarray(self.v_arrival, dtype=float),
            outcome=np.asarray(self.v_outcome, dtype=np.int8),
            wait_s=np.asarray(self.v_wait, dtype=float),
            start_s=np.asarray(self.v_start, dtype=float),
            end_s=np.asarray(self.v_end, dtype=float),
            agent=np.asarray(self.v_agent, dtype=np.int64),
            transfer_in=np.asarray(self.v_transfer_in, dtype=bool),
            transferred=np.asarray(self.v_transferred, dtype=bool),
            seg_agent=np.asarray(self.seg_agent, dtype=np.int64),
            seg_on_s=np.asarray(self.seg_on, dtype=float),
            seg_off_s=np.asarray(self.seg_off, dtype=float),
            agent_group=np.asarray(self.a_group, dtype=np.int64),
            agent_slots=np.asarray(self.a_cap, dtype=np.int64),
            queue_voice=np.asarray(self.q_voice, dtype=bool))
