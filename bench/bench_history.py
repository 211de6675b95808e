"""Reading contact logs of a few million rows: rows per second of planner.history.read_log
against plain ``pandas.read_csv`` of the same file, measured in the same run.

    .venv/bin/python bench/bench_history.py [--quick] [--rows N]

Writes a synthetic log in the generic format (N rows, default 3,000,000: 4 queues over 90
days, 10% abandoned, 1 in 10,000 rows broken on purpose) and the same contacts
in the tab-separated per-call bank format, then times, interleaved, best of 2 each:

* ``baseline``: ``pandas.read_csv(path)`` with its defaults (type inference, NaN detection),
  which reads the file into a frame but checks nothing;
* ``read_log``: planner.history.read_log (pandas' C reader in chunks of 500,000 rows, every
  cell checked, bad rows counted with line numbers, times parsed);
* ``analyse``: read_log plus planner.history.analyse (KPIs per interval, day and period,
  agents on duty, calibration, forecast with its rolling error, scenario skeleton).

Then read_log + analyse run once more in a fresh process, which prints its time and peak
resident memory: what a user's ``peakplan history`` needs for such a file.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planner import history as H  # noqa: E402


def make_log(rows: int, *, seed: int = 1) -> pd.DataFrame:
    """A generic log of ``rows`` visits: 4 queues, 90 days, 08:00-22:00, whole seconds."""
    rng = np.random.default_rng(seed)
    days = 90
    t0 = pd.Timestamp("2026-08-01")
    day = rng.integers(0, days, rows)
    tod = rng.integers(8 * 3600, 22 * 3600, rows)
    at = t0 + pd.to_timedelta(np.sort(day * 86400 + tod), unit="s")
    ans = rng.random(rows) > 0.1
    wait = np.where(ans, rng.exponential(25, rows), rng.exponential(60, rows) + 1).round()
    handle = np.where(ans, rng.lognormal(5.4, 0.6, rows).round(), np.nan)
    queues = np.array(["presales", "aftersales", "complaints", "privileged"])
    agents = np.char.add("A", rng.integers(0, 300, rows).astype(str))
    return pd.DataFrame({
        "arrived_at": at, "queue": queues[rng.integers(0, 4, rows)],
        "outcome": np.where(ans, "answered", "abandoned"), "wait_s": wait,
        "handle_s": handle, "agent": np.where(ans, agents, "")})


def write_csv(frame: pd.DataFrame, path: Path, sep: str) -> None:
    """Arrow's CSV writer (pandas' takes minutes for millions of rows); NaN as empty."""
    frame = frame.copy()
    for c in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[c]):  # as exports write them
            frame[c] = frame[c].dt.strftime("%Y-%m-%d %H:%M:%S")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pacsv.write_csv(table, path, pacsv.WriteOptions(delimiter=sep, quoting_style="none"))


def best(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
        finally:
            gc.enable()
    return min(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200,000 rows, one repeat")
    ap.add_argument("--rows", type=int, default=3_000_000)
    args = ap.parse_args()
    rows = 200_000 if args.quick else args.rows
    repeats = 1 if args.quick else 2
    code = hashlib.sha256((ROOT / "planner" / "history.py").read_bytes()).hexdigest()[:12]
    print(f"planner/history.py sha256 {code}; python {sys.version.split()[0]}, pandas "
          f"{pd.__version__}, numpy {np.__version__}; {rows:,} rows")
    with tempfile.TemporaryDirectory(prefix="peakplan-bench-") as tmp:
        t = time.perf_counter()
        log = make_log(rows)
        bad = np.arange(5, rows, 10_000)
        log.loc[bad, "wait_s"] = -1.0  # rejected on purpose: counted, never dropped silently
        generic = Path(tmp) / "log.csv"
        write_csv(log, generic, ",")
        bank = Path(tmp) / "bank.tsv"
        clean = log.drop(index=bad).reset_index(drop=True)
        write_csv(H.to_bank_format(clean, seed=2), bank, "\t")
        print(f"wrote {generic.stat().st_size / 1e6:,.0f} MB generic and "
              f"{bank.stat().st_size / 1e6:,.0f} MB bank files in "
              f"{time.perf_counter() - t:.0f} s")
        bank_map = H.load_column_map("bank")
        print(f"{'file':<10}{'what':<12}{'best s':>9}{'rows/s':>14}{'vs baseline':>13}")
        for name, path, cmap, n in (("generic", generic, None, rows),
                                    ("bank", bank, bank_map, len(clean))):
            sep = "\t" if cmap is not None else ","
            base_s = read_s = 0.0
            for _ in range(repeats):  # interleaved: the machine's noise hits both sides
                s, _ = best(lambda: pd.read_csv(path, sep=sep), 1)
                base_s = s if base_s == 0 else min(base_s, s)
                s, got = best(lambda: H.read_log(path, columns=cmap), 1)
                read_s = s if read_s == 0 else min(read_s, s)
            want = len(bad) if cmap is None else 0
            assert got.rows_rejected == want, (got.rows_rejected, want)
            print(f"{name:<10}{'baseline':<12}{base_s:>9.2f}{n / base_s:>14,.0f}{1.0:>13.2f}")
            print(f"{name:<10}{'read_log':<12}{read_s:>9.2f}{n / read_s:>14,.0f}"
                  f"{base_s / read_s:>13.2f}")
        s, h = best(lambda: H.analyse(H.read_log(generic)), 1)
        print(f"{'generic':<10}{'analyse':<12}{s:>9.2f}{rows / s:>14,.0f}"
              f"  ({len(h.intervals):,} interval x queue rows, {len(h.log.days)} days, "
              f"{h.log.rows_rejected:,} rejected, first at line {h.log.bad_rows[0][0]})")
        # What a user's process needs: read and analyse in a fresh process, its peak memory.
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent.
        child = ("import sys, time; sys.path.insert(0, sys.argv[2]); "
                 "from planner import history as H; t = time.perf_counter(); "
                 "H.analyse(H.read_log(sys.argv[1])); s = time.perf_counter() - t; "
                 "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]; "
                 "print(f'{s:.1f} s, peak resident memory "
                 "{int(hwm[0].split()[1]) / 1024:,.0f} MB')")
        out = subprocess.run([sys.executable, "-c", child, str(generic), str(ROOT)],
                             capture_output=True, text=True, check=True).stdout.strip()
        print(f"read_log + analyse of the generic file in a fresh process: {out}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this benchmark process {peak:,.0f} MB (it holds the "
          "generated frames too)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
