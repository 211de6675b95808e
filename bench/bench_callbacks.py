"""Call-backs under heavy load: the engine with every queue offering call-backs, vs without.

    .venv/bin/python bench/bench_callbacks.py [--quick]

scenarios/singles_day.yaml at 3x its volume (long queues all day), every queue offering a
call-back after 30 s to callers who accept half the time, promised within the hour.  Timed:
``sim.engine.run`` of that scenario; baseline measured in the same run: the same scenario with
no call-backs (the other peak operations of the shipped scenario still on, so both take the
engine's general path).  Sides interleaved, best of ``--reps`` (default 5; 2 with --quick).

What it watches: a caller who accepts leaves the queue lazily, from the head, as abandoned
contacts do; removing it from the middle of the queue cost the queue's length each time.  The
ratio is the cost of call-backs per replication at this load, work included (served call-backs
and the contacts they no longer block).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from sim.engine import run  # noqa: E402
from sim.scenario import load_scenario, scenario_from_dict  # noqa: E402

SCENARIO = ROOT / "scenarios" / "singles_day.yaml"
FACTOR = 3.0


def scenarios():
    data = load_scenario(SCENARIO).to_dict()
    with_cb = {**data, "queues": {q: {**spec, "callback": {"offer_after_s": 30, "accept": 0.5,
                                                           "promise_s": 3600}}
                                  for q, spec in data["queues"].items()}}
    without = {**data, "queues": {q: {k: v for k, v in spec.items() if k != "callback"}
                                  for q, spec in data["queues"].items()}}
    return (scenario_from_dict(with_cb, source="call-backs on").scaled(FACTOR),
            scenario_from_dict(without, source="call-backs off").scaled(FACTOR))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 repeats")
    ap.add_argument("--reps", type=int, default=None)
    args = ap.parse_args()
    reps = args.reps or (2 if args.quick else 5)
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start")
    on, off = scenarios()
    times: dict[str, list[float]] = {"on": [], "off": []}
    counts = {}
    gc.disable()
    try:
        for rep in range(reps):
            for label, sc in (("on", on), ("off", off)) if rep % 2 == 0 else \
                    (("off", off), ("on", on)):
                t0 = time.perf_counter()
                rec = run(sc, rep + 1)
                times[label].append(time.perf_counter() - t0)
                counts[label] = len(rec.arrival_s)
                if label == "on":
                    counts["accepted"] = int((~np.isnan(rec.callback_s)).sum())
                gc.collect()
    finally:
        gc.enable()
    best_on, best_off = min(times["on"]), min(times["off"])
    print(f"Singles' Day x{FACTOR:g}: {counts['on']:,} contacts with call-backs "
          f"({counts['accepted']:,} accepted), {counts['off']:,} without")
    print(f"    call-backs on   best {best_on:6.3f} s  ({counts['on'] / best_on:,.0f} "
          "contacts/s)")
    print(f"    call-backs off  best {best_off:6.3f} s  ({counts['off'] / best_off:,.0f} "
          "contacts/s; baseline)")
    print(f"    ratio on / off: {best_on / best_off:.2f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
