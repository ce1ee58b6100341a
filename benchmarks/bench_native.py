"""Benchmark of the native race (a script, not a test): how fast and how often, per variant.

    .venv/bin/python benchmarks/bench_native.py [--runs 20] [--rounds 1000000] [--json FILE]

For each variant and for the teaching window (labkit.config.WINDOW_NS) and a window of 0:
reader rounds per second, overflows per second, and the median time to the first overflow over
--runs runs (each stopped at its first overflow, or at --cap seconds); then --rounds reader rounds
per variant to check that the fixes never overflow; and resident memory before and after those
rounds. Targets on the 2-core lab machine: buggy at the teaching window, median time to first
overflow under 100 ms; fixes A and B, zero overflows in at least 10**6 rounds; growth under 1 MB.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import threading

from labkit import config, native


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGESIZE") // 1024


def first_overflow(fix, window_ns, seed, cap):
    stop = threading.Event()

    def progress(rounds, overflows, elapsed):
        if overflows:
            stop.set()

    r = native.race(fix, seconds=cap, window_ns=window_ns, seed=seed, progress=progress, stop=stop)
    return r.time_to_first_overflow_s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="runs for the median time to first overflow")
    ap.add_argument("--rounds", type=int, default=10**6, help="reader rounds for the fixes and memory")
    ap.add_argument("--seconds", type=float, default=2.0, help="length of the throughput runs")
    ap.add_argument("--cap", type=float, default=5.0, help="a first-overflow run gives up after this")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)

    rows = []
    for window in (config.WINDOW_NS, 0):
        for fix in ("none", "lock", "count"):
            r = native.race(fix, seconds=args.seconds, window_ns=window)
            row = dict(fix=fix, window_ns=window, rounds_per_s=r.rounds_per_s,
                       overflows_per_s=round(r.overflows / r.seconds, 1), median_first_s=None,
                       found=None)
            if fix == "none":
                times = [first_overflow(fix, window, seed, args.cap) for seed in range(args.runs)]
                found = [t for t in times if t is not None]
                row["found"] = f"{len(found)}/{args.runs}"
                # a run that found nothing counts as longer than any that did
                ranked = sorted(found) + [float("inf")] * (len(times) - len(found))
                row["median_first_s"] = statistics.median(ranked)
            rows.append(row)

    long_runs, before = [], rss_kib()
    for fix in ("none", "lock", "count"):
        r = native.race(fix, rounds=args.rounds)
        long_runs.append(dict(fix=fix, window_ns=r.window_ns, rounds=r.rounds, overflows=r.overflows,
                              seconds=r.seconds))
    after = rss_kib()
    memory = dict(rss_before_kib=before, rss_after_kib=after, growth_kib=after - before,
                  ru_maxrss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

    print(f"{'fix':6} {'window_ns':>9} {'rounds/s':>10} {'overflows/s':>12} {'median first':>13} {'found':>6}")
    for row in rows:
        med = row["median_first_s"]
        med = "-" if med is None else ("never" if med == float("inf") else f"{med * 1000:.1f} ms")
        print(f"{row['fix']:6} {row['window_ns']:>9} {row['rounds_per_s']:>10,.0f} "
              f"{row['overflows_per_s']:>12} {med:>13} {row['found'] or '-':>6}")
    print()
    for run in long_runs:
        print(f"{run['fix']:6} {run['rounds']:>9,} reader rounds (window {run['window_ns']} ns) in "
              f"{run['seconds']:.1f} s: {run['overflows']} overflows")
    print(f"resident memory: {before} KiB before, {after} KiB after ({after - before:+} KiB); "
          f"ru_maxrss {memory['ru_maxrss_kib']} KiB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(rows=rows, long_runs=long_runs, memory=memory, cpus=os.cpu_count()), f,
                      indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
