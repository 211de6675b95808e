"""Time ``sim.engine.run`` against a minimal hand-written heapq simulation of the same queue.

The model is one queue, M/M/30+M, first come first served: Poisson arrivals of 600 contacts an
hour (10 a minute), exponential handle times of mean 180 s (30 Erlangs on 30 agents),
exponential patience of mean 120 s, no wrap-up, no breaks.  The horizon is 550 one-hour
intervals, about 330,000 contacts.  For the engine it is a scenario built with
``scenario_from_dict`` (inline arrivals, one group with a 00:00-24:00 shift of 30 agents; the
shift ends and starts again at the same instant each midnight, which changes no outcome).
Beside it, in the same run, two plain-Python simulations of the same model (no SimPy):

* the *heapq event simulation*, the minimal hand-written discrete-event simulation the aim is
  measured against: one heap of ``(time, kind, id)`` events holding the next arrival and every
  service in progress, the same events the engine schedules;
* the *specialised loop*, leaner still, for scale: it uses what only this model allows (the
  arrivals are walked in order instead of being put on a heap; agents are interchangeable, so
  the heap holds bare completion times and a count stands for the free agents).  It is not an
  event simulation any more, and has no counterpart for skills, shifts or chat.

Both abandon lazily, like the engine: a contact whose deadline (arrival + patience) has passed
is dropped when an agent looks at the queue.  Sanity check, printed: P(abandon) and ASA of the
engine and of the specialised loop, with standard errors from 50 batch means over arrival time,
against each other and against Erlang A (``planner.erlang.erlang_a``); the two loops get the
same draws and must agree contact by contact.  The bench exits 1 if a difference exceeds 4
standard errors, the loops disagree, or the engine leaves a contact waiting.

Calibration, printed: the same model written the idiomatic SimPy way (a process per customer)
on 55 hours, against the heapq event simulation.  The issue puts such a model at about a ninth
of a minimal loop; here it reaches about a seventeenth of the heapq event simulation, so that
simulation is, if anything, leaner than the baseline the aim was set against.

What is timed: the whole of ``sim.engine.run(scenario, seed)``, setup included (variate draws,
roster, routing, freezing the records), since that is what a user pays; building the scenario
is not timed.  The loops are timed with their numpy draws.  Repeats are interleaved (engine,
minimal, event heap, then again) so that a noisy spell hits every side; gc is off while
timing.  The tables give the best and median wall time and the best CPU time of the process
(close to the wall time unless the run waited for a core), and the ratio of contacts per
second engine / heapq event simulation on wall times (aim: at least 0.5).  Every repeat uses the same
seed, so each does the same work.

Then ``sim.engine.run`` on ``scenarios/singles_day.yaml`` (4 queues, chat concurrency with
slowdown, transfers, shifts and breaks), for contacts per second on a realistic day; loading
the file is not timed.

Last, the cost per contact as the team grows (issue 12): Singles' Day with every shift's
agents and ``arrivals.scale`` multiplied together by 1, 10 and 25 (207, 2,070 and 5,175
agents on the roster; the same contacts per agent).  Rounds are interleaved (x1, x10, x25,
then again; x1 runs several times a round, it is short), and the cost per contact is the
median CPU time of a run over its contacts: CPU, not wall, because on a shared machine the
wall time of a long run counts more of other processes' turns.  Printed: contacts per second
at each factor and the per-contact cost of x10 and x25 against x1 of the same run (aim: x25
within 1.2 times x1).

Run: ``.venv/bin/python bench/bench_engine.py`` (or ``make bench``); ``--quick`` is a smoke
run on 55 hours with one repeat per side.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import math
import pathlib
import platform
import statistics
import sys
import time
from collections import deque
from dataclasses import dataclass
from heapq import heappop, heappush
from typing import Any, Callable

import numpy as np
import simpy

import sim.engine
from planner.erlang import erlang_a
from sim.records import ABANDONED, ANSWERED, Records
from sim.scenario import Scenario, load_scenario, scenario_from_dict

CONTACTS_PER_HOUR = 600.0
AHT_S = 180.0
PATIENCE_S = 120.0
AGENTS = 30
HOURS, QUICK_HOURS = 550, 55
SEED = 1
REPEATS = 3
BATCHES = 50
Z_LIMIT = 4.0
RATIO_AIM = 0.5
SCALE_FACTORS = (1, 10, 25)
SCALE_AIM = 1.2  # per-contact cost at x25 / at x1
SMALL_RUNS = 5  # x1 runs per round: a run of x1 is about 0.2 s
SINGLES_DAY = pathlib.Path(__file__).resolve().parent.parent / "scenarios" / "singles_day.yaml"


# --------------------------------------------------------------------------------------------
# The model three ways
# --------------------------------------------------------------------------------------------
def single_queue_scenario(*, hours: int) -> Scenario:
    """The M/M/30+M queue as a peakplan scenario of ``hours`` one-hour intervals."""
    return scenario_from_dict({
        "name": "single queue M/M/30+M",
        "start": "2026-01-05T00:00",
        "interval_min": 60,
        "queues": {"calls": {"aht_s": AHT_S, "handle_time": "exponential",
                             "patience_s": PATIENCE_S, "patience": "exponential"}},
        "arrivals": {"calls": [CONTACTS_PER_HOUR] * hours},
        "agent_groups": {"team": {"skills": {"calls": 1},
                                  "shifts": [{"start": "00:00", "end": "24:00",
                                              "agents": AGENTS}]}},
    }, source="bench_engine.py")


def draw_contacts(seed: int, *, hours: int) -> tuple[list[float], list[float], list[float]]:
    """Sorted arrival times, handle times and deadlines (arrival + patience), in seconds.

    A Poisson process of constant rate is, given its count, that many uniform points."""
    rng = np.random.default_rng(seed)
    horizon_s = hours * 3600.0
    n = rng.poisson(CONTACTS_PER_HOUR * hours)
    arrival_s = np.sort(rng.random(n) * horizon_s)
    work_s = rng.exponential(AHT_S, n)
    deadline_s = arrival_s + rng.exponential(PATIENCE_S, n)
    # Python floats: indexing a list is several times cheaper than indexing an array.
    return arrival_s.tolist(), work_s.tolist(), deadline_s.tolist()


def minimal_loop(arrival_s: list[float], work_s: list[float], deadline_s: list[float], *,
                 agents: int) -> tuple[list[float], list[bool]]:
    """FCFS M/M/c+M by hand; ``(wait_s, answered)`` per contact.

    The arrivals are sorted, so they are walked, not heaped; the agents are interchangeable, so
    the heap holds bare completion times and ``free`` counts the idle agents.  An abandoned
    contact's wait is its patience.  No contact is left waiting at the end: an agent only
    counts as free once the queue is empty.
    """
    n = len(arrival_s)
    wait_s = [math.nan] * n
    answered = [False] * n
    busy: list[float] = []  # completion times of the services in progress
    free = agents
    waiting: deque[int] = deque()
    popleft, append = waiting.popleft, waiting.append
    # A last arrival at infinity completes every service still in progress, then stops.
    for i, t in enumerate(arrival_s + [math.inf]):
        while busy and busy[0] <= t:
            now = heappop(busy)
            while waiting:
                j = popleft()
                if deadline_s[j] > now:
                    wait_s[j] = now - arrival_s[j]
                    answered[j] = True
                    heappush(busy, now + work_s[j])
                    break
                wait_s[j] = deadline_s[j] - arrival_s[j]  # gave up before this agent came
            else:
                free += 1
        if i == n:
            break
        if free:
            free -= 1
            wait_s[i] = 0.0
            answered[i] = True
            heappush(busy, t + work_s[i])
        else:
            append(i)
    return wait_s, answered


ARRIVAL, DONE = 0, 1


def event_heap_loop(arrival_s: list[float], work_s: list[float], deadline_s: list[float], *,
                    agents: int) -> tuple[list[float], list[bool]]:
    """The same model with one heap of ``(time, kind, id)`` events, as the engine schedules
    them: only the next arrival is on the heap, plus one completion per service."""
    n = len(arrival_s)
    wait_s = [math.nan] * n
    answered = [False] * n
    free = agents
    waiting: deque[int] = deque()
    popleft, append = waiting.popleft, waiting.append
    events = [(arrival_s[0], ARRIVAL, 0)] if n else []
    while events:
        now, kind, i = heappop(events)
        if kind == ARRIVAL:
            if i + 1 < n:
                heappush(events, (arrival_s[i + 1], ARRIVAL, i + 1))
            if free:
                free -= 1
                wait_s[i] = 0.0
                answered[i] = True
                heappush(events, (now + work_s[i], DONE, i))
            else:
                append(i)
        else:
            while waiting:
                j = popleft()
                if deadline_s[j] > now:
                    wait_s[j] = now - arrival_s[j]
                    answered[j] = True
                    heappush(events, (now + work_s[j], DONE, j))
                    break
                wait_s[j] = deadline_s[j] - arrival_s[j]
            else:
                free += 1
    return wait_s, answered


@dataclass(frozen=True)
class Outcomes:
    """Per contact: arrival time, answered or abandoned, wait (to answer or to abandon)."""

    arrival_s: np.ndarray
    answered: np.ndarray
    abandoned: np.ndarray
    wait_s: np.ndarray


def loop_run(loop: Callable[..., tuple[list[float], list[bool]]], *, seed: int,
             hours: int) -> Outcomes:
    """Draws and one run of ``loop``: the timed unit of a hand-written simulation."""
    arrival_s, work_s, deadline_s = draw_contacts(seed, hours=hours)
    wait_s, answered = loop(arrival_s, work_s, deadline_s, agents=AGENTS)
    answered_arr = np.asarray(answered, dtype=bool)
    return Outcomes(arrival_s=np.asarray(arrival_s), answered=answered_arr,
                    abandoned=~answered_arr, wait_s=np.asarray(wait_s))


def engine_outcomes(records: Records) -> Outcomes:
    """The engine's records in the loops' terms (contacts still waiting count as neither)."""
    return Outcomes(arrival_s=records.arrival_s, answered=records.outcome == ANSWERED,
                    abandoned=records.outcome == ABANDONED, wait_s=records.wait_s)


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    value: float
    se: float

    def __str__(self) -> str:
        digits = 4 if self.value < 1.0 else 2
        return f"{self.value:.{digits}f} ± {self.se:.{digits}f}"


def estimates(out: Outcomes, *, horizon_s: float) -> tuple[Estimate, Estimate]:
    """P(abandon) and ASA (s), each with the standard error of ``BATCHES`` batch means.

    Batches are slices of arrival time; contacts far apart in time are nearly independent, so
    the spread of the batch values gives an honest error where per-contact variance would not.
    """
    batch = np.minimum((out.arrival_s / horizon_s * BATCHES).astype(np.int64), BATCHES - 1)
    offered = np.bincount(batch, minlength=BATCHES)
    abandoned = np.bincount(batch, weights=out.abandoned, minlength=BATCHES)
    answered = np.bincount(batch, weights=out.answered, minlength=BATCHES)
    wait = np.bincount(batch, weights=np.where(out.answered, out.wait_s, 0.0),
                       minlength=BATCHES)

    def se(per_batch: np.ndarray) -> float:
        return float(np.std(per_batch, ddof=1) / math.sqrt(BATCHES))

    return (Estimate(abandoned.sum() / offered.sum(), se(abandoned / offered)),
            Estimate(wait.sum() / answered.sum(), se(wait / answered)))


def z_score(a: Estimate, b: Estimate | float) -> float:
    if isinstance(b, float):
        return (a.value - b) / a.se
    return (a.value - b.value) / math.hypot(a.se, b.se)


# --------------------------------------------------------------------------------------------
# Timing and printing
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Timing:
    """Wall time (perf_counter) and CPU time of this process (process_time), in seconds.

    On a shared machine the wall time also counts the spells when another process held the
    core; the CPU time does not, so the two side by side show whether a slow run was waiting.
    """

    wall_s: float
    cpu_s: float


def timed_once(fn: Callable[[], Any]) -> tuple[Timing, Any]:
    """The timing of one call with gc off, and its result."""
    gc.collect()
    gc.disable()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        return Timing(time.perf_counter() - wall, time.process_time() - cpu), result
    finally:
        gc.enable()


def sha12(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1e3:,.0f} ms" if seconds < 1.0 else f"{seconds:,.2f} s"


def timing_row(label: str, contacts: int, timings: list[Timing]) -> str:
    wall = [t.wall_s for t in timings]
    best, median = min(wall), statistics.median(wall)
    cpu = min(t.cpu_s for t in timings)
    return (f"{label:<33} {contacts:>9,} {len(wall):>7} {fmt_s(best):>10} {fmt_s(median):>10} "
            f"{fmt_s(cpu):>10} {contacts / best:>12,.0f} {contacts / median:>12,.0f}")


TIMING_HEAD = (f"{'timing (one run per call)':<33} {'contacts':>9} {'repeats':>7} {'best':>10} "
               f"{'median':>10} {'CPU best':>10} {'contacts/s':>12} {'(median)':>12}")


# The three sides of the single-queue comparison: key -> (timing label, sanity-check label).
SIDES = {"engine": ("peakplan sim.engine.run (SimPy)", "engine"),
         "minimal": ("specialised loop (no event heap)", "specialised loop"),
         "event_heap": ("heapq event simulation", "heapq event simulation")}


def single_queue(*, hours: int, repeats: int, quick: bool) -> bool:
    """Time and check the single-queue model; print its tables; True if the check passes."""
    scenario = single_queue_scenario(hours=hours)
    calls: dict[str, Callable[[], Any]] = {
        "engine": lambda: sim.engine.run(scenario, SEED),
        "minimal": lambda: loop_run(minimal_loop, seed=SEED, hours=hours),
        "event_heap": lambda: loop_run(event_heap_loop, seed=SEED, hours=hours),
    }
    times: dict[str, list[Timing]] = {side: [] for side in SIDES}
    results: dict[str, Any] = {}
    for _ in range(repeats):
        for side, call in calls.items():
            timing, results[side] = timed_once(call)
            times[side].append(timing)
    outcomes: dict[str, Outcomes] = {**results, "engine": engine_outcomes(results["engine"])}
    contacts = {side: int(o.arrival_s.size) for side, o in outcomes.items()}

    print()
    print(f"== Single queue M/M/{AGENTS}+M, FCFS: {CONTACTS_PER_HOUR:.0f} contacts/h for "
          f"{hours} h ({CONTACTS_PER_HOUR * hours:,.0f} expected), AHT {AHT_S:.0f} s and "
          f"patience {PATIENCE_S:.0f} s exponential, {AGENTS} agents, seed {SEED}"
          + ("  [--quick]" if quick else ""))
    print(TIMING_HEAD)
    for side, (label, _) in SIDES.items():
        print(timing_row(label, contacts[side], times[side]))

    def ratio(base: str, pick: Callable[[list[float]], float]) -> float:
        """Contacts per second (wall) of the engine / those of ``base``."""
        def speed(side: str) -> float:
            return contacts[side] / pick([t.wall_s for t in times[side]])
        return speed("engine") / speed(base)

    for base in ("event_heap", "minimal"):
        best, median = ratio(base, min), ratio(base, statistics.median)
        if base != "event_heap":
            verdict = "for scale"
        elif quick:
            verdict = "quick run: too little work for a meaningful ratio"
        else:
            verdict = f"aim >= {RATIO_AIM}: " + ("met" if best >= RATIO_AIM else "NOT met")
        print(f"contacts/s engine / {SIDES[base][1]}: best {best:.3f}, median {median:.3f}  "
              f"({verdict})")
    # The same on CPU time: on a shared machine the wall times also count other processes.
    cpu_best = {side: min(t.cpu_s for t in times[side]) for side in SIDES}
    print(f"on CPU time (best): engine / heapq event simulation "
          f"{contacts['engine'] / cpu_best['engine'] / (contacts['event_heap'] / cpu_best['event_heap']):.3f}"
          f", engine / specialised loop "
          f"{contacts['engine'] / cpu_best['engine'] / (contacts['minimal'] / cpu_best['minimal']):.3f}")

    # Same seed, same draws: the two loops must agree contact by contact, not just on average.
    same = (np.array_equal(outcomes["minimal"].answered, outcomes["event_heap"].answered)
            and np.array_equal(outcomes["minimal"].wait_s, outcomes["event_heap"].wait_s))
    horizon_s = hours * 3600.0
    est = {side: estimates(outcomes[side], horizon_s=horizon_s)
           for side in ("engine", "minimal")}
    theory = erlang_a(rate_per_s=CONTACTS_PER_HOUR / 3600.0, aht_s=AHT_S,
                      patience_s=PATIENCE_S, agents=AGENTS)
    exact = (float(theory.p_abandon), float(theory.asa_s))
    left = int((~(outcomes["engine"].answered | outcomes["engine"].abandoned)).sum())
    print()
    print(f"{'sanity check (± batch-means SE)':<33} {'P(abandon)':>18} {'ASA (s)':>15}")
    for side, (p_abandon, asa) in est.items():
        print(f"{SIDES[side][1]:<33} {str(p_abandon):>18} {str(asa):>15}")
    print(f"{'Erlang A (theory)':<33} {exact[0]:>18.4f} {exact[1]:>15.2f}")
    rows = (("z engine - specialised loop", est["engine"], est["minimal"]),
            ("z engine - theory", est["engine"], exact),
            ("z specialised loop - theory", est["minimal"], exact))
    zs: list[float] = []
    for title, measured, reference in rows:
        z = [z_score(m, r) for m, r in zip(measured, reference)]
        zs += z
        print(f"{title:<33} {z[0]:>18.2f} {z[1]:>15.2f}")
    within = all(abs(z) <= Z_LIMIT for z in zs)
    ok = within and same and left == 0
    print(f"statistics: {'consistent' if ok else 'INCONSISTENT'}: every |z| <= {Z_LIMIT:g}: "
          f"{'yes' if within else 'NO'}; event simulation = specialised loop contact by contact: "
          f"{'yes' if same else 'NO'}; engine contacts left waiting at the end: {left}")
    return ok


def idiomatic_simpy(*, hours: int, seed: int = SEED) -> int:
    """The same model written the idiomatic SimPy way: a process per customer, a Resource for
    the agents, patience as a timeout raced against the request.  Returns contacts offered."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=AGENTS)
    horizon_s = hours * 3600.0
    offered = 0

    def customer() -> Any:
        with agents.request() as request:
            got = yield request | env.timeout(rng.exponential(PATIENCE_S))
            if request in got:
                yield env.timeout(rng.exponential(AHT_S))

    def source() -> Any:
        nonlocal offered
        while True:
            yield env.timeout(rng.exponential(3600.0 / CONTACTS_PER_HOUR))
            if env.now >= horizon_s:
                return
            offered += 1
            env.process(customer())

    env.process(source())
    env.run()
    return offered


def calibration(*, hours: int) -> None:
    """Where the aim stands: idiomatic SimPy against the heapq event simulation (the issue
    puts an idiomatic SimPy model at about a ninth of a minimal loop)."""
    timing_i, offered = timed_once(lambda: idiomatic_simpy(hours=hours))
    timing_h, out = timed_once(lambda: loop_run(event_heap_loop, seed=SEED, hours=hours))
    speed_i = offered / timing_i.wall_s
    speed_h = out.arrival_s.size / timing_h.wall_s
    print()
    print(f"calibration ({hours} h, one run each): idiomatic SimPy (process per customer) "
          f"{speed_i:,.0f} contacts/s = {speed_i / speed_h:.3f} of the heapq event "
          f"simulation ({speed_h:,.0f} contacts/s)")


def singles_day(*, repeats: int) -> None:
    """Time the engine on the shipped Singles' Day scenario."""
    scenario = load_scenario(SINGLES_DAY)
    times: list[Timing] = []
    records: Records | None = None
    for _ in range(repeats):
        timing, records = timed_once(lambda: sim.engine.run(scenario, SEED))
        times.append(timing)
    assert records is not None
    contacts = int((~records.transfer_in).sum())
    visits = int(records.queue.size)
    spec = scenario.spec
    agents = sum(s.agents for g in spec.agent_groups.values() for s in g.shifts)
    print()
    print(f"== Singles' Day (scenarios/singles_day.yaml): {scenario.n_intervals} x "
          f"{spec.interval_min:g}-min intervals, {len(scenario.queues)} queues, "
          f"{len(scenario.groups)} groups, {agents} agents, seed {SEED}")
    # The scenario gets re-staffed and re-forecast: the hashes say which version was timed.
    files = [SINGLES_DAY] + ([SINGLES_DAY.parent / spec.arrivals.file]
                             if spec.arrivals.file else [])
    print("; ".join(f"{f.name} sha256 {sha12(f)}" for f in files))
    print(TIMING_HEAD)
    print(timing_row("peakplan sim.engine.run (SimPy)", contacts, times))
    print(f"visits (a transfer starts a new one): {visits:,}, "
          f"{visits / min(t.wall_s for t in times):,.0f} visits/s (best)")


def scaled_singles_day(factor: int) -> Scenario:
    """Singles' Day with every shift's agents and the arrivals' scale multiplied by
    ``factor``: the same contacts per agent on a team ``factor`` times larger."""
    scenario = load_scenario(SINGLES_DAY)
    changes: dict[str, Any] = {"arrivals.scale": scenario.spec.arrivals.scale * factor}
    for g, group in scenario.spec.agent_groups.items():
        for i, shift in enumerate(group.shifts):
            changes[f"agent_groups.{g}.shifts[{i}].agents"] = shift.agents * factor
    return scenario.with_changes(changes)


def team_scaling(*, repeats: int, quick: bool) -> bool:
    """Per-contact cost of the engine on Singles' Day scaled x1, x10, x25; True if x25 is
    within SCALE_AIM of x1 (always True on --quick, which is too short to tell)."""
    factors = SCALE_FACTORS[:2] if quick else SCALE_FACTORS
    scenarios = {f: scaled_singles_day(f) for f in factors}
    times: dict[int, list[Timing]] = {f: [] for f in factors}
    contacts: dict[int, int] = {}
    for _ in range(repeats):
        for f in factors:
            for _ in range(SMALL_RUNS if f == 1 else 1):
                timing, records = timed_once(lambda: sim.engine.run(scenarios[f], SEED))
                times[f].append(timing)
                contacts[f] = int((~records.transfer_in).sum())
    print()
    print(f"== Team size: Singles' Day with roster and volume scaled together, seed {SEED}"
          + ("  [--quick]" if quick else ""))
    print(f"{'factor':<8} {'agents':>7} {'contacts':>9} {'runs':>5} {'wall median':>12} "
          f"{'CPU median':>11} {'contacts/s':>11} {'us/contact':>11} {'cost / x1':>10}")
    cost: dict[int, float] = {}
    for f in factors:
        spec = scenarios[f].spec
        agents = sum(s.agents for g in spec.agent_groups.values() for s in g.shifts)
        wall = statistics.median(t.wall_s for t in times[f])
        cpu = statistics.median(t.cpu_s for t in times[f])
        cost[f] = cpu / contacts[f]
        print(f"x{f:<7} {agents:>7,} {contacts[f]:>9,} {len(times[f]):>5} {fmt_s(wall):>12} "
              f"{fmt_s(cpu):>11} {contacts[f] / cpu:>11,.0f} {cost[f] * 1e6:>11.2f} "
              f"{cost[f] / cost[1]:>10.3f}")
    top = factors[-1]
    ratio = cost[top] / cost[1]
    ok = quick or ratio <= SCALE_AIM
    verdict = ("quick run: x25 left out" if quick else
               f"aim <= {SCALE_AIM}: " + ("met" if ok else "NOT met"))
    print(f"per-contact CPU cost x{top} / x1: {ratio:.3f}  ({verdict})")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_HOURS} hours, one repeat per side")
    args = parser.parse_args(argv)
    hours, repeats = (QUICK_HOURS, 1) if args.quick else (HOURS, REPEATS)

    # sim/engine.py changes: its hash ties the figures to the code that made them.
    print(f"sim/engine.py sha256 {sha12(pathlib.Path(sim.engine.__file__))}; "
          f"python {platform.python_version()}, simpy {simpy.__version__}, "
          f"numpy {np.__version__}")
    ok = single_queue(hours=hours, repeats=repeats, quick=args.quick)
    calibration(hours=QUICK_HOURS)
    singles_day(repeats=repeats)
    team_scaling(repeats=repeats, quick=args.quick)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
