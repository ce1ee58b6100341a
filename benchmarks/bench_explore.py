"""Exhaustive verdicts at seed scale: executions explored, the naive interleaving count, time.

    .venv/bin/python benchmarks/bench_explore.py [--kstats N] [--json FILE]

A benchmark, not a test: it prints figures; the tests check the verdicts themselves.
"""

import argparse
import json
import time

from labkit.kernel import SEED_KSTATS, Scenario
from labkit.sched import explore


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kstats", type=int, default=SEED_KSTATS)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rows = []
    print(f"{'fix':6} {'kstats':>6} {'executions':>10} {'pruned':>6} {'panics':>6} "
          f"{'naive interleavings':>20} {'seconds':>8}")
    for fix in ("none", "lock", "count"):
        t = time.perf_counter()
        r = explore(Scenario(args.kstats, fix))
        secs = time.perf_counter() - t
        rows.append({"fix": fix, "kstats": args.kstats, "executions": r.executions,
                     "pruned": r.pruned, "panics": r.panics, "exhaustive": r.exhaustive,
                     "naive_interleavings_log10": len(str(r.naive_interleavings)) - 1,
                     "seconds": round(secs, 2)})
        print(f"{fix:6} {args.kstats:6} {r.executions:10} {r.pruned:6} {r.panics:6} "
              f"{'~10^' + str(len(str(r.naive_interleavings)) - 1):>20} {secs:8.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
