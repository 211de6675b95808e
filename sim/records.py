"""What a simulation run leaves behind: immutable records of contacts and agent time.

The engine only appends to flat lists while it runs; at the end they become read-only numpy
arrays here.  Every measure (service level, ASA, occupancy, queue length) is computed afterwards
from these records by the pure functions of :mod:`sim.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Records", "WAITING", "ANSWERED", "ABANDONED", "CALLBACK", "OUTCOMES"]

# Outcome of a contact's visit to a queue.  CALLBACK: the caller accepted a callback (whether
# or not an agent had called back by the end of the run: see start_s).
WAITING, ANSWERED, ABANDONED, CALLBACK = 0, 1, 2, 3
OUTCOMES = ("waiting", "answered", "abandoned", "callback")


@dataclass(frozen=True)
class Records:
    """One row per *visit* of a contact to a queue (a transfer starts a new visit), and one
    row per stretch of time an agent was on the floor and available.  Times in seconds from
    the scenario's start.

    Visits: ``queue`` (index into ``queues``), ``contact`` (the id shared by a contact's
    visits), ``arrival_s``, ``outcome`` (WAITING at the end of the run, ANSWERED, ABANDONED,
    CALLBACK),
    ``wait_s`` (arrival to answer or abandonment; to the end of the run if still waiting),
    ``start_s`` and ``end_s`` of handling, wrap-up included (NaN if not started / not
    finished), ``agent`` (-1 if none), ``transfer_in`` (the visit was created by a transfer),
    ``transferred`` (it ended in a transfer to another queue).

    ``stop_s`` is when the run stopped (the horizon plus the time to drain the queues).

    Callbacks (``None`` unless a queue offers them): ``callback_offered`` (the caller was
    still waiting when the queue's ``offer_after_s`` had passed and was offered a callback),
    ``callback_s`` (when the caller accepted, NaN otherwise); such a visit has outcome
    CALLBACK, ``wait_s`` its time in the queue until it accepted, and ``start_s``, ``end_s``
    and ``agent`` are those of the callback (NaN / -1 while not made); per queue
    ``queue_promise_s`` (NaN: no callbacks).  Redials (``None`` unless a queue has them):
    ``redial`` (the visit is a customer's new call after abandoning; a new contact) and
    ``customer`` (the id shared by a customer's contacts: the first visit's).

    Agent time: ``seg_agent``, ``seg_on_s``, ``seg_off_s``; per agent ``agent_group`` and
    ``agent_slots`` (chat concurrency, 1 for voice); per queue ``queue_voice`` (a call takes
    every slot of its agent; None: no voice queue).
    """

    queues: tuple[str, ...]
    groups: tuple[str, ...]
    interval_s: float
    n_intervals: int
    stop_s: float
    seed: int
    queue: np.ndarray
    contact: np.ndarray
    arrival_s: np.ndarray
    outcome: np.ndarray
    wait_s: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    agent: np.ndarray
    transfer_in: np.ndarray
    transferred: np.ndarray
    seg_agent: np.ndarray
    seg_on_s: np.ndarray
    seg_off_s: np.ndarray
    agent_group: np.ndarray
    agent_slots: np.ndarray
    queue_voice: np.ndarray | None = None
    callback_offered: np.ndarray | None = None
    callback_s: np.ndarray | None = None
    queue_promise_s: np.ndarray | None = None
    redial: np.ndarray | None = None
    customer: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.queue_voice is None:
            object.__setattr__(self, "queue_voice", np.zeros(len(self.queues), dtype=bool))
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    @property
    def horizon_s(self) -> float:
        return self.interval_s * self.n_intervals

    def visits(self) -> pd.DataFrame:
        """The visits as a DataFrame (queue and outcome as names), for export."""
        names = np.array(OUTCOMES)
        columns = {
            "contact": self.contact, "queue": np.asarray(self.queues)[self.queue],
            "arrival_s": self.arrival_s, "outcome": names[self.outcome],
            "wait_s": self.wait_s, "start_s": self.start_s, "end_s": self.end_s,
            "agent": self.agent, "transfer_in": self.transfer_in,
            "transferred": self.transferred}
        for name in ("callback_offered", "callback_s", "redial", "customer"):
            if getattr(self, name) is not None:
                columns[name] = getattr(self, name)
        return pd.DataFrame(columns)
