"""What the results cost beside the run: per-interval metrics and replication summaries as a
share of one Singles' Day replication's wall time (aim: at most 10%).

The baseline is the engine run itself, measured in the same process and interleaved with the
metrics (these machines are shared and noisy): each round times one run, then the metrics of
its records (queue and group intervals, handling by group, transfers, the replication's
whole-horizon summaries), and the median of each over the rounds is reported.

    .venv/bin/python bench/bench_results.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim import metrics  # noqa: E402
from sim.engine import run  # noqa: E402
from sim.replications import _replicate, measure, rep_seed, rep_summaries, simulate  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

AIM = 0.10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    scenario = load_scenario(root / "scenarios" / "singles_day.yaml")
    _replicate(scenario, 1, 0)  # warm caches and imports
    runs, results = [], []
    for r in range(args.rounds):
        t0 = time.perf_counter()
        records = run(scenario, rep_seed(1, r))
        t1 = time.perf_counter()
        qi, gi, handled = measure(scenario, records)
        metrics.transfer_matrix(records)
        rep_summaries(scenario, qi, gi, handled)
        t2 = time.perf_counter()
        runs.append(t1 - t0)
        results.append(t2 - t1)
    sim = simulate(scenario, seed=1, reps=10)
    t0 = time.perf_counter()
    sim.queue_summary(), sim.group_summary(), sim.queue_interval_summary(), \
        sim.group_interval_summary()
    summaries = (time.perf_counter() - t0) / 10  # per replication
    run_s, result_s = statistics.median(runs), statistics.median(results)
    share = (result_s + summaries) / (run_s + result_s + summaries)
    contacts = int(records.queue.size)
    print(f"Singles' Day, one replication ({contacts:,} visits), median of {args.rounds}:")
    print(f"  engine run            {1000 * run_s:8.1f} ms   (baseline)")
    print(f"  metrics of the run    {1000 * result_s:8.1f} ms   {result_s / run_s:6.3f} x run")
    print(f"  summaries over reps   {1000 * summaries:8.1f} ms   per replication (10 reps)")
    print(f"results share of a replication's wall time: {100 * share:.1f}% "
          f"(aim <= {100 * AIM:.0f}%): {'met' if share <= AIM else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
