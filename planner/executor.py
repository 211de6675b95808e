"""One executor for every replicated job: sweeps, ``simulate --reps``, reviews and plans.

Work is a function and a list of argument tuples (each a replication or a sweep task, pure of
everything but its arguments); it runs in this process (``jobs=1``), on local worker processes
(``jobs=N``) or on a Dask cluster (``dask_address``), and the results come back in task order,
so the three ways give identical results for the same seeds.

Failure rules, the same for local workers and Dask:

- A worker that dies (killed, out of memory) is replaced and the tasks it held are run once
  more; a task that loses its worker twice stops the job with :class:`WorkerDied`.
- A local worker whose parent dies (``kill -9`` of the command) exits at once, instead of
  sleeping on with its memory: ``PR_SET_PDEATHSIG`` on Linux, and a watchdog thread that checks
  the parent every second elsewhere.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from sim.errors import InputError

__all__ = ["Executor", "WorkerDied", "default_jobs"]

_TRIES = 2  # a task is run at most twice: once, and once more if its worker died


class WorkerDied(Exception):
    """A task lost its worker twice: the job cannot go on (finished work is kept)."""


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when the parent process ends."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the call above took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="peakplan-parent-watch", daemon=True).start()


class Executor:
    """Runs tasks here, on ``jobs`` local processes or on the Dask scheduler at
    ``dask_address``.  Use as a context manager: the pool or client lives until the block
    ends, so that the rounds of a plan reuse their workers."""

    def __init__(self, *, jobs: int = 1, dask_address: str | None = None) -> None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise InputError(f"must be a whole number >= 1, got {jobs!r}", field="--jobs")
        self.jobs = jobs
        self.dask_address = dask_address
        self._pool: ProcessPoolExecutor | None = None
        self._client: Any = None

    @property
    def workers(self) -> int:
        """How many tasks run at once (for progress messages)."""
        if self._client is not None:
            try:
                return max(1, len(self._client.scheduler_info()["workers"]))
            except Exception:  # noqa: BLE001 - only a figure for messages
                return 1
        return self.jobs

    # -- lifetime ---------------------------------------------------------------------------
    def __enter__(self) -> Executor:
        if self.dask_address is not None:
            self._client = _connect(self.dask_address)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def _local_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs,
                                             initializer=_exit_with_parent,
                                             initargs=(os.getpid(),))
        return self._pool

    # -- work -------------------------------------------------------------------------------
    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], *,
            on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
        """``[fn(*t) for t in tasks]``, run as this executor runs; ``on_result(i, result)``
        is called as each task finishes (in any order)."""
        tasks = list(tasks)
        results: list[Any] = [None] * len(tasks)

        def done(i: int, result: Any) -> None:
            results[i] = result
            if on_result is not None:
                on_result(i, result)

        if not tasks:
            return results
        if self.dask_address is not None:
            if self._client is None:
                self._client = _connect(self.dask_address)
            _map_dask(self._client, fn, tasks, done)
        elif self.jobs == 1 or len(tasks) == 1:
            for i, t in enumerate(tasks):
                done(i, fn(*t))
        else:
            self._map_local(fn, tasks, done)
        return results

    def _map_local(self, fn: Callable[..., Any], tasks: list[tuple[Any, ...]],
                   done: Callable[[int, Any], None]) -> None:
        from concurrent.futures.process import BrokenProcessPool

        tries = [0] * len(tasks)
        todo = list(range(len(tasks)))[::-1]
        pending: dict[Future, int] = {}
        try:
            while todo or pending:
                pool = self._local_pool()
                # A few tasks per worker in flight: enough to stay busy, few to cancel on
                # Ctrl-C or to run again when a worker dies.
                while todo and len(pending) < 2 * self.jobs:
                    i = todo.pop()
                    tries[i] += 1
                    pending[pool.submit(fn, *tasks[i])] = i
                finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                broken = False
                for f in finished:
                    i = pending.pop(f)
                    try:
                        result = f.result()
                    except BrokenProcessPool:
                        broken = True
                        todo.append(i)
                        continue
                    done(i, result)
                if broken:
                    # Every task still in flight went down with the pool: run them again on
                    # a new pool, each at most _TRIES times in all.
                    todo.extend(pending.values())
                    pending.clear()
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = None
                    lost = [i for i in todo if tries[i] >= _TRIES]
                    if lost:
                        raise WorkerDied(f"task {lost[0] + 1} of {len(tasks)} lost its worker "
                                         f"{_TRIES} times (killed, or out of memory?)")
        except BaseException:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
            raise


def _connect(address: str) -> Any:
    try:
        from dask.distributed import Client
    except ImportError:
        raise InputError("needs dask.distributed: pip install 'peakplan[dask]'",
                         field="--dask") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach a Dask scheduler at {address!r} ({exc})",
                         field="--dask") from None


def _map_dask(client: Any, fn: Callable[..., Any], tasks: list[tuple[Any, ...]],
              done: Callable[[int, Any], None]) -> None:
    from dask.distributed import as_completed
    from distributed import KilledWorker

    # retries=1: as locally, a task whose worker died runs once more elsewhere.  (Dask also
    # reschedules on its own, up to the scheduler's allowed-failures, then KilledWorker.)
    futures = [client.submit(fn, *t, pure=False, retries=_TRIES - 1) for t in tasks]
    index = {f.key: i for i, f in enumerate(futures)}
    try:
        for f in as_completed(futures):
            try:
                result = f.result()
            except KilledWorker as exc:
                raise WorkerDied(f"a Dask worker died running task {index[f.key] + 1} "
                                 f"({exc})") from None
            done(index[f.key], result)
    except BaseException:
        client.cancel(futures)
        raise
