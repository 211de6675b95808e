"""Reading an upload in a child process with a time limit, so one file cannot stall the server.

Streamlit serves every user from one Python process: a parse that runs for minutes (a YAML
"billion laughs", a CSV of millions of columns) would hold the interpreter, and everyone's
page, for as long.  :func:`call` runs ``fn(*args)`` in a fresh interpreter instead, waits for it
at most ``limit_s`` seconds (:data:`LIMIT_S`), and kills it when the time is up; the page then
shows an :class:`~sim.errors.InputError` saying so.  The child's memory is capped too
(:data:`MEMORY_LIMIT_BYTES` beyond what the interpreter holds once it has imported the readers).

Why a fresh interpreter (``subprocess``) and not ``multiprocessing``: Streamlit installs the app
script as ``__main__``, and multiprocessing's spawn and forkserver children re-run ``__main__``
(the whole app) before the function; ``fork`` of the threaded server may deadlock the child.  A
child imports the readers (about 1.5 s) before the clock starts, then says it is ready; one
spare child is kept started, so an upload does not wait for those imports.  Each child reads
one request and ends: nothing of one user's file stays for the next.

``fn`` and its arguments travel by pickle: ``fn`` must be importable by name in the child (a
function of a module, e.g. :func:`app_pages.inputs.read_uploaded_forecast`), and so must the
value it returns.  Only :class:`InputError` comes back as itself; any other exception of the
child is a bug, raised here as :class:`ChildFailed` (one line; the child's traceback goes to
the console's log, never to the page).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import pickle
import select
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sim.errors import InputError

__all__ = ["LIMIT_S", "MEMORY_LIMIT_BYTES", "MAX_CHILDREN", "Busy", "ChildFailed", "call",
           "warm_up"]

LIMIT_S = 10.0  # a week of 15-min intervals for 20 queues reads in well under 1 s
START_S = 60.0  # the child's imports, on a loaded machine
MEMORY_LIMIT_BYTES = 4 << 30  # address space beyond the child's start (pyarrow reserves ~1 GiB)
MAX_CHILDREN = 4  # readers at once, whoever asks: the rest wait (at most LIMIT_S) or are told
PRELOAD = ("app_pages.inputs",)  # imported before the clock starts
READY = b"R"

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
_slots = threading.BoundedSemaphore(MAX_CHILDREN)
_log = logging.getLogger("peakplan.app")


class Busy(InputError):
    """Every reader is taken (other users' uploads): nothing wrong with this file."""


class ChildFailed(RuntimeError):
    """The child raised something other than :class:`InputError`, or died (a bug)."""


def call(fn: Callable[..., T], *args: Any, what: str, limit_s: float | None = None,
         **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a child process, killed after ``limit_s`` seconds
    (:data:`LIMIT_S` when not given).

    ``what`` names the input in the messages (the uploaded file's name).  Raises the child's
    :class:`InputError`; an :class:`InputError` when the time or memory limit is hit;
    :class:`Busy` when no reader frees up within ``limit_s``.
    """
    limit_s = LIMIT_S if limit_s is None else limit_s
    if not _slots.acquire(timeout=limit_s):
        raise Busy(f"the app is busy reading other uploads (at most {MAX_CHILDREN} at once): "
                   "try again in a moment", file=what)
    try:
        outcome = _run(pickle.dumps((fn, args, kwargs, limit_s)), limit_s=limit_s, what=what)
    finally:
        _slots.release()
    kind, *rest = outcome
    if kind == "ok":
        return rest[0]
    if kind == "input":
        problem, file, field = rest
        raise InputError(problem, file=file, field=field)
    if kind == "memory":
        raise InputError(f"needs more memory than the app gives one upload "
                         f"({MEMORY_LIMIT_BYTES >> 30} GiB beyond the reader's own): expected "
                         "a smaller file", file=what)
    name, text = rest
    _log.error("the reader of %s failed:\n%s", what, text)
    raise ChildFailed(f"{name} in the reader of {what} (its traceback is in the console)")


def _start() -> subprocess.Popen:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        # The server's own module path: the child imports what the server would.
        [sys.executable, "-c", _CHILD, json.dumps([str(ROOT), *sys.path]), *PRELOAD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)


def _take() -> subprocess.Popen:
    """A child for one request: the spare started by the previous call (its imports done by
    now, so an upload is read at once), and a new spare in its place."""
    global _spare
    with _spare_lock:
        proc, _spare = _spare, _start()
    if proc is None or proc.poll() is not None:
        proc = _start()
    return proc


def warm_up() -> None:
    """Start the spare child if there is none (cheap when there is: the app calls it on every
    run, so the first upload does not wait for the reader's imports either)."""
    global _spare
    with _spare_lock:
        if _spare is None or _spare.poll() is not None:
            _spare = _start()


def _stop_spare() -> None:
    with _spare_lock:
        if _spare is not None and _spare.poll() is None:
            _spare.kill()
            _spare.wait()


_spare: subprocess.Popen | None = None
_spare_lock = threading.Lock()
atexit.register(_stop_spare)


def _run(request: bytes, *, limit_s: float, what: str) -> tuple:
    proc = _take()
    try:
        ready, _, _ = select.select([proc.stdout], [], [], START_S)
        # os.read, not proc.stdout.read: communicate() below reads the descriptor directly.
        if not ready or os.read(proc.stdout.fileno(), 1) != READY:  # type: ignore[union-attr]
            proc.kill()
            _, err = proc.communicate()
            _log.error("the reader for %s did not start (exit status %s):\n%s", what,
                       proc.returncode, err.decode(errors="replace")[-4000:])
            raise ChildFailed(f"the reader for {what} did not start (the details are in the "
                              "console)")
        try:
            out, err = proc.communicate(request, timeout=limit_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            _log.warning("reading %s took over %g s: stopped", what, limit_s)
            raise InputError(f"reading it took longer than {limit_s:g} s, the app's limit for "
                             "one upload, and was stopped (a forecast of a week of 15-minute "
                             "intervals for 20 queues takes well under a second: expected a "
                             "smaller or simpler file)", file=what) from None
        if not out:
            # Started fine, then died without a word: the memory cap (a C library aborting
            # on a failed allocation) or a kill from outside, not a bug of the reader.
            _log.warning("the reader for %s stopped with exit status %s: %s", what,
                         proc.returncode, err.decode(errors="replace")[-4000:])
            raise InputError(f"could not be read: the reader stopped (exit status "
                             f"{proc.returncode}), most likely out of memory (the app gives "
                             f"one upload {MEMORY_LIMIT_BYTES >> 30} GiB): expected a smaller "
                             "file", file=what)
        return pickle.loads(out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()


# The child: import the readers, cap memory, say it is ready, run the request from stdin,
# write the pickled outcome to stdout.  Kept as text so the child imports nothing of the app
# that is not needed (in particular not Streamlit, nor the app script).
_CHILD = f"""
import importlib, json, os, pickle, resource, signal, sys, traceback
sys.path[:0] = [p for p in json.loads(sys.argv[1]) if p not in sys.path]
for name in sys.argv[2:]:
    importlib.import_module(name)
from sim.errors import InputError
def vm():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize"))
try:
    resource.setrlimit(resource.RLIMIT_AS, (vm() + {MEMORY_LIMIT_BYTES}, resource.RLIM_INFINITY))
except (OSError, ValueError, StopIteration):
    pass  # not Linux: the time limit still holds
out = sys.stdout.buffer
out.write({READY!r}); out.flush()
try:
    fn, args, kwargs, limit_s = pickle.loads(sys.stdin.buffer.read())
    # Should the server die before it can kill this child, SIGALRM's default action ends it.
    signal.alarm(int(limit_s) + 5)
    outcome = ("ok", fn(*args, **kwargs))
except InputError as exc:
    outcome = ("input", exc.problem, exc.file, exc.field)
except MemoryError:
    outcome = ("memory",)
except BaseException as exc:
    outcome = ("bug", type(exc).__name__, traceback.format_exc())
try:
    data = pickle.dumps(outcome)
except MemoryError:
    data = pickle.dumps(("memory",))
except Exception as exc:
    data = pickle.dumps(("bug", type(exc).__name__, traceback.format_exc()))
out.write(data); out.flush()
os._exit(0)  # now: the interpreter's shutdown (pandas, pyarrow) takes a second
"""
