"""Erlang A staffing of a week: the vectorised closed form against Erlang C of the same week
(aim: at most 5x its time) and against the one-interval-at-a-time sum it replaced (answers
identical).

A week of 15-minute intervals for 6 queues (4,032 answers), 80% in 20 s, patience per queue;
each timing is the median of interleaved repeats in one process (the machine is shared).

    .venv/bin/python bench/bench_erlang_a.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from planner import erlang  # noqa: E402
from test_erlang_vectorised import week  # noqa: E402

AIM_VS_C = 5.0


def per_interval(lam, *args, **kwargs):
    return np.zeros((len(erlang._A_FIELDS), lam.size)), np.zeros(lam.size, dtype=bool)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    data = week(days=7)
    c_args = {"rate_per_s": data["rate_per_s"], "aht_s": data["aht_s"]}
    targets = {"target_s": 20.0, "service_level": 0.8}
    times: dict[str, list[float]] = {"erlang_c": [], "erlang_a": []}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        c = erlang.agents_needed(**c_args, **targets)
        t1 = time.perf_counter()
        a = erlang.agents_needed(**data, **targets)
        t2 = time.perf_counter()
        times["erlang_c"].append(t1 - t0)
        times["erlang_a"].append(t2 - t1)
    closed = erlang._erlang_a_closed
    erlang._erlang_a_closed = per_interval
    try:
        t0 = time.perf_counter()
        before = erlang.agents_needed(**data, **targets)
        old = time.perf_counter() - t0
    finally:
        erlang._erlang_a_closed = closed
    tc, ta = statistics.median(times["erlang_c"]), statistics.median(times["erlang_a"])
    print(f"week of 15-min intervals x 6 queues = {data['rate_per_s'].size:,} answers "
          f"(agents per cell up to {a.max()}; Erlang C up to {c.max()})")
    print(f"  Erlang C agents_needed          {1000 * tc:9.1f} ms  (baseline)")
    print(f"  Erlang A agents_needed          {1000 * ta:9.1f} ms  {ta / tc:6.2f} x Erlang C "
          f"(aim <= {AIM_VS_C:g}x): {'met' if ta / tc <= AIM_VS_C else 'NOT met'}")
    print(f"  Erlang A one interval at a time {1000 * old:9.1f} ms  {old / ta:6.1f} x slower "
          f"than vectorised; answers identical: {bool(np.array_equal(a, before))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
