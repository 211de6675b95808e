"""Searching the cover's integer programme (:mod:`planner.shifts`) in its independent parts.

A part is a connected component of the programme's constraint matrix (:func:`blocks`: the days
of a week that no shift joins, say); the sum of the parts' optima is the optimum, so each part
is solved and proved apart, and one hard part does not hold back the others.  A part is
searched in steps (:class:`Part`): a warm start (LP relaxation and its roundings: a plan and a
bound), then the whole part pruned by the plan in hand.  :class:`HallPart` searches a part in a
second form of the same programme (the Hall form of :mod:`planner.shifts`) and hands what it
finds back.  The parts share the time limit (:func:`share_out`): one after another in this
process, or two at a time in forked child processes (:func:`in_children`), each reporting every
better plan as it finds it, so that a part stopped at its time keeps what it found.  HiGHS can
overrun its time limit at the root of a large programme: such searches run in a child process
of their own, stopped when their time is up (:func:`run_milp_guarded`).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

__all__ = ["Part", "HallPart", "Task", "blocks", "cost_scale", "whole_numbers", "task_warm",
           "task_search", "task_hall", "worker_count", "share_out", "in_children",
           "run_milp", "run_milp_guarded", "GUARD_VARIABLES", "GUARD_GRACE_S", "MAX_WORKERS"]


_NOTHING = "no plan found in the time allowed"


def cost_scale(cost: np.ndarray) -> float | None:
    """The smallest of 1, 2, 4, 5, 10, ... 10,000 that makes every cost a whole number (within
    float noise), or None."""
    for scale in (1, 2, 4, 5, 10, 20, 25, 50, 100, 1000, 10_000):
        c = cost * scale
        if np.all(np.abs(c - np.round(c)) <= 1e-7 * np.maximum(1.0, np.abs(c))):
            return float(scale)
    return None


def whole_numbers(values: np.ndarray) -> bool:
    v = np.asarray(values, dtype=float)
    return bool(np.all(np.abs(v - np.round(v)) <= 1e-9))


def blocks(a: sparse.csr_matrix) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rows, columns) of the programme's independent parts: the connected components of its
    rows and columns joined by nonzeros (columns in no row go with the first part; rows with
    no column are left out: the programme's rows of that kind are caps of at least 0)."""
    m, n = a.shape
    if m == 0:
        return [(np.zeros(0, dtype=np.int64), np.arange(n))]
    graph = sparse.bmat([[None, a], [a.T, None]], format="csr")
    k, label = connected_components(graph, directed=False)
    row_label, col_label = label[:m], label[m:]
    # Rows that reach no column (a head cap at an hour no shift can be booked) bind nothing.
    parts = [(np.flatnonzero(row_label == c), np.flatnonzero(col_label == c))
             for c in np.unique(row_label[np.isin(row_label, col_label)])]
    alone = np.flatnonzero(~np.isin(col_label, row_label))
    if not parts:
        parts = [(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))]
    if alone.size:
        rows, cols = parts[0]
        parts[0] = (rows, np.sort(np.concatenate((cols, alone))))
    return parts


class Part:
    """One independent part of the programme, solved in steps.

    HiGHS alone often finds only poor plans when there are many breaks to place, and may
    overrun its time limit at the root; so (:meth:`warm`): the LP relaxation (a lower bound);
    the agents of every shift fixed to the LP's rounded up (more agents never cover less),
    leaving where breaks and overtime go, a small programme; then each shift's agents between
    the LP's rounded down and up.  Then (:meth:`search`) the whole programme with the time
    given, pruned by the plan in hand: it may prove it optimal, or beat it.  The gap is
    measured against the best lower bound known; with ``whole`` costs every plan costs a whole
    number, so a bound is rounded up.
    """

    def __init__(self, cost: np.ndarray, integer: np.ndarray, upper: np.ndarray,
                 a: sparse.csr_matrix, row_lo: np.ndarray, row_hi: np.ndarray,
                 shift_col: np.ndarray, *, mip_rel_gap: float, whole: bool) -> None:
        self.cost, self.integer, self.upper = cost, integer, upper
        self.constraints = [LinearConstraint(a, row_lo, row_hi)] if a.shape[0] else []
        self.ncols = np.flatnonzero(shift_col)
        self.mip_rel_gap, self.whole = mip_rel_gap, whole
        self.nv = cost.size
        self.res: Any = None
        self.bound = -np.inf
        self.proved = False
        if self.nv == 0:
            from scipy.optimize import OptimizeResult
            self.res = OptimizeResult(x=np.zeros(0), fun=0.0)
            self.bound, self.proved = 0.0, True

    def _run(self, lower: np.ndarray, *, integral: bool, limit_s: float,
             top: np.ndarray | None = None, cutoff: float | None = None) -> Any:
        options = {"time_limit": max(0.1, float(limit_s)), "mip_rel_gap": self.mip_rel_gap,
                   "disp": False}
        if cutoff is not None:
            # HiGHS's own option (scipy passes it on, with a warning): prune every branch
            # that cannot beat the plan in hand.
            options["objective_bound"] = float(cutoff)
        args = (self.cost, self.integer if integral else np.zeros(self.nv), lower,
                self.upper if top is None else top, self.constraints, options)
        if integral and self.nv > GUARD_VARIABLES:
            return run_milp_guarded(args, limit_s=float(limit_s))
        return run_milp(*args)

    def _better(self, new: Any) -> None:
        if new.x is not None and (self.res is None or new.fun < self.res.fun - 1e-9):
            self.res = new
            _report()

    def _raise_bound(self, value: float | None) -> None:
        if value is not None and np.isfinite(value):
            self.bound = max(self.bound, math.ceil(value - 1e-6) if self.whole else value)

    def open(self) -> bool:
        if self.proved:
            return False
        if self.res is None:
            return True
        fun = float(self.res.fun)
        tol = 1e-6 if self.whole else self.mip_rel_gap * max(abs(fun), 1e-9)
        return fun - self.bound > tol

    def gap_abs(self) -> float:
        return math.inf if self.res is None else float(self.res.fun) - self.bound

    def lower_bound(self) -> float:
        fun = float(self.res.fun)
        return fun if not self.open() else min(self.bound, fun)

    def message(self) -> str:
        if self.res is None:
            return _NOTHING
        return "optimal" if not self.open() else "time limit reached"

    def state(self) -> tuple[tuple[np.ndarray, float] | None, float, bool]:
        """What :meth:`warm` and :meth:`search` change (sent back from a child process)."""
        res = None if self.res is None else (np.asarray(self.res.x), float(self.res.fun))
        return res, float(self.bound), bool(self.proved)

    def restore(self, state: tuple[tuple[np.ndarray, float] | None, float, bool]) -> None:
        from scipy.optimize import OptimizeResult

        res, bound, proved = state
        if res is not None:
            self._better(OptimizeResult(x=res[0], fun=res[1]))
        self.bound = max(self.bound, bound)
        self.proved = self.proved or proved

    def warm(self, limit_s: float) -> None:
        if self.nv == 0:
            return
        started = time.perf_counter()
        lp = self._run(np.zeros(self.nv), integral=False, limit_s=limit_s / 2.0)
        if lp.x is None:
            return
        self._raise_bound(float(lp.fun))
        ncols = self.ncols
        lower, top = np.zeros(self.nv), self.upper.copy()
        lower[ncols] = top[ncols] = np.ceil(lp.x[ncols] - 1e-6)
        left = limit_s - (time.perf_counter() - started)
        first = self._run(lower, integral=True, limit_s=left / 2.0, top=top)
        if first.x is None:  # rounding up broke a head cap: round down instead
            lower[ncols] = top[ncols] = np.floor(lp.x[ncols] + 1e-6)
            left = limit_s - (time.perf_counter() - started)
            first = self._run(lower, integral=True, limit_s=left / 2.0, top=top)
        self._better(first)
        left = limit_s - (time.perf_counter() - started)
        if self.open() and left > 0.2:
            lower[ncols] = np.floor(lp.x[ncols] + 1e-6)
            top[ncols] = np.ceil(lp.x[ncols] - 1e-6)
            self._better(self._run(lower, integral=True, limit_s=left, top=top))

    def search(self, limit_s: float) -> None:
        if not self.open():
            return
        cutoff = float(self.res.fun) + 1e-6 if self.res is not None else None
        full = self._run(np.zeros(self.nv), integral=True, limit_s=limit_s, cutoff=cutoff)
        self._raise_bound(getattr(full, "mip_dual_bound", None))
        self.proved = full.status == 0 and (full.x is not None or self.res is not None)
        self._better(full)


class HallPart:
    """A part of the programme in the Hall form (:func:`planner.shifts._demand_form`): the
    same plans (the columns both forms share) and the same optimum, with the allocation
    columns gone."""

    def __init__(self, block: Part, positions: np.ndarray) -> None:
        self.block = block
        self.positions = positions  # of the Hall form's columns among the part's columns

    def search_for(self, part: Part, limit_s: float) -> None:
        """Search with ``part``'s plan in hand; a better plan, a raised bound or a proof go
        back to ``part`` (:meth:`adopt`)."""
        from scipy.optimize import OptimizeResult

        hb = self.block
        if part.res is not None:
            hb._better(OptimizeResult(x=np.asarray(part.res.x)[self.positions],
                                      fun=float(part.res.fun)))
        hb.bound = max(hb.bound, part.bound)
        hb.search(limit_s)
        self.adopt(part)

    def adopt(self, part: Part) -> None:
        """What the Hall form found, in ``part``: a better plan (the allocation columns the
        Hall form has none of set to 0: the allocation is recomputed from the agents on duty,
        see :func:`planner.shifts._allocate`), its bound, its proof."""
        from scipy.optimize import OptimizeResult

        hb = self.block
        if hb.res is not None and (part.res is None or hb.res.fun < part.res.fun - 1e-9):
            x = np.zeros(part.nv)
            x[self.positions] = hb.res.x
            part.res = OptimizeResult(x=x, fun=float(hb.res.fun))
        part.bound = max(part.bound, hb.bound)
        part.proved = part.proved or (hb.proved and part.res is not None
                                      and part.res.fun <= hb.res.fun + 1e-9)


# A task of the search: run(limit_s) in this process, state() after it, restore(state) here.
Task = tuple[Callable[[float], None], Callable[[], Any], Callable[[Any], None]]


def task_warm(part: Part) -> Task:
    return part.warm, part.state, part.restore


def task_search(part: Part) -> Task:
    return part.search, part.state, part.restore


def task_hall(hall: HallPart, part: Part) -> Task:
    def restore(state: Any) -> None:
        part.restore(state[0])
        hall.block.restore(state[1])
        hall.adopt(part)

    return (lambda limit_s: hall.search_for(part, limit_s),
            lambda: (part.state(), hall.block.state()), restore)


def worker_count() -> int:
    """Child processes the independent parts are searched in at once: one per core this
    process may use, at most two (the machines this is planned for), on Linux (fork); 1: one
    after another here."""
    import sys

    from planner.executor import default_jobs

    if not sys.platform.startswith("linux"):
        return 1
    return max(1, min(MAX_WORKERS, default_jobs()))


MAX_WORKERS = 2


def share_out(tasks: list[Task], budget_s: float, *, workers: int,
               always: bool = False) -> None:
    """Run ``tasks`` in ``budget_s`` seconds.  With one worker (or one task) one after
    another in this process, each given an equal share of the time left (a task that ends
    early leaves its time to the next); else in forked child processes, ``workers`` at a
    time, each started with ``workers / tasks not yet done`` of the time left.  A share under
    0.2 s is not worth a start, unless ``always`` (each task then gets at least 0.2 s)."""
    started = time.perf_counter()
    if workers < 2 or len(tasks) < 2:
        for i, (run, _, _) in enumerate(tasks):
            share = (budget_s - (time.perf_counter() - started)) / (len(tasks) - i)
            if always or share > 0.2:
                run(max(0.2, share))
        return
    states = in_children(tasks, started + budget_s, workers=workers, always=always)
    for (_, _, restore), state in zip(tasks, states):
        if state is not None:
            restore(state)


def in_children(tasks: list[Task], deadline: float, *, workers: int,
                 always: bool) -> list[Any]:
    """Each task's state after running in a forked child: its last, or the last it reported
    (a better plan found: :func:`_report`) before it was stopped, ``2 x GUARD_GRACE_S``
    after its time limit (its own guard of a long search gets the first chance); None if it
    was not started or found nothing.  A child and every process it started are one process
    group, stopped together."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("fork")
    out: list[Any] = [None] * len(tasks)
    pending = list(range(len(tasks)))
    running: dict[Any, tuple[int, Any, float]] = {}
    try:
        while pending or running:
            while pending and len(running) < workers:
                i = pending.pop(0)
                now = time.perf_counter()
                share = (deadline - now) * workers / (len(pending) + 1 + len(running))
                share = min(share, deadline - now)
                if not always and share <= 0.2:
                    continue
                share = max(0.2, share)
                parent, child = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_task_child, args=(child, tasks[i], share))
                proc.start()
                child.close()
                running[parent] = (i, proc, now + share + 2 * GUARD_GRACE_S)
            if not running:
                break
            timeout = max(0.0, min(d for _, _, d in running.values()) - time.perf_counter())
            for conn in wait(list(running), timeout=timeout):
                i, proc, _ = running[conn]
                try:
                    kind, value = conn.recv()
                except EOFError:
                    kind, value = "lost", None
                if kind == "partial":
                    out[i] = value
                    continue
                running.pop(conn)
                conn.close()
                _stop(proc, grace_s=5.0)
                if kind == "error":
                    raise RuntimeError(f"a search of the cover failed in its process:\n{value}")
                if kind == "ok":
                    out[i] = value
            now = time.perf_counter()
            for conn, (i, proc, stop_at) in list(running.items()):
                if now >= stop_at:
                    _stop(proc, grace_s=0.0)
                    conn.close()
                    running.pop(conn)
    finally:
        for conn, (_, proc, _) in running.items():
            _stop(proc, grace_s=0.0)
            conn.close()
    return out


def _stop(proc: Any, *, grace_s: float) -> None:
    """Wait up to ``grace_s`` for a child to end, then kill it with its process group (the
    guarded searches it started: :func:`run_milp_guarded`)."""
    import os
    import signal

    proc.join(grace_s)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.is_alive():
        proc.kill()
    proc.join()


# In a child of in_children: sends its task's state when a part finds a better plan.
_REPORT: Callable[[], None] | None = None


def _report() -> None:
    if _REPORT is not None:
        _REPORT()


def _task_child(conn: Any, task: Task, limit_s: float) -> None:
    import os
    import traceback

    global _REPORT
    os.setpgrp()  # a group of its own, with the searches it starts: stopped together
    run, state, _ = task
    _REPORT = lambda: conn.send(("partial", state()))  # noqa: E731
    try:
        run(limit_s)
        conn.send(("ok", state()))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


# HiGHS can overrun its time limit by minutes on large programmes (at the root node): above
# this many variables a search runs in a child process that is stopped when its time is up.
GUARD_VARIABLES = 4000
GUARD_GRACE_S = 2.0


def run_milp(cost: np.ndarray, integrality: np.ndarray, lower: np.ndarray, upper: np.ndarray,
          constraints: list, options: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # objective_bound: passed verbatim
        return milp(cost, integrality=integrality, bounds=Bounds(lower, upper),
                    constraints=constraints, options=options)


def _milp_child(conn: Any, args: tuple) -> None:
    res = run_milp(*args)
    conn.send({"x": res.x, "fun": res.fun, "status": res.status, "message": res.message,
               "mip_gap": getattr(res, "mip_gap", None),
               "mip_dual_bound": getattr(res, "mip_dual_bound", None)})
    conn.close()


def run_milp_guarded(args: tuple, *, limit_s: float) -> Any:
    """:func:`milp` in a forked child, stopped ``GUARD_GRACE_S`` after its time limit (then:
    no solution, status 1)."""
    import multiprocessing as mp
    from scipy.optimize import OptimizeResult

    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_milp_child, args=(child, args), daemon=True)
    proc.start()
    child.close()
    out = None
    if parent.poll(limit_s + GUARD_GRACE_S):
        try:
            out = parent.recv()
        except EOFError:
            out = None
    if proc.is_alive():
        proc.kill()
    proc.join()
    if out is None:
        return OptimizeResult(x=None, fun=None, status=1, message="stopped at the time limit",
                              mip_gap=None, mip_dual_bound=None)
    return OptimizeResult(**out)
