"""Exhaustive verdicts at seed scale: executions explored, the naive interleaving count, time.

    .venv/bin/python benchmarks/bench_explore.py [--kstats N] [--repeat R] [--json FILE]

A benchmark, not a test: it prints figures; the tests check the verdicts themselves. Target on
the course's 2-core machine (issue 13): each seed-scale verdict (5698 kstats) in under 0.5 s.
The search is optimal DPOR in one process: executions = Mazurkiewicz traces, none pruned; each
fix twice, every point a step ("plain") and with whole critical sections ("whole", dpor.py:
a section with no point inside is one step; the runs it cuts short to see what a step does
elsewhere, its probes, are in its time but not in cpu ms/run's count of runs).
Timings move with whatever else the machine runs, so it prints the load average and the time
of a fixed pure-Python loop beside them, takes the best of --repeat runs, and gives the process's
own CPU time too (on a shared, busy machine it moves less than the wall clock), and that CPU
time per execution run (learning runs included): the cost of one execution, which cutting the
number of executions does not move. bench_step.py measures that cost alone, and can count it in
instructions (load-independent).
"""

import argparse
import json
import os
import time

from labkit.kernel import SEED_KSTATS, Scenario
from labkit.sched import explore

TARGET_S = 0.5


def reference_loop() -> float:
    """Seconds for a fixed pure-Python loop: how fast this interpreter runs right now."""
    t = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kstats", type=int, default=SEED_KSTATS)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; reference loop {reference_loop():.3f} s")
    rows = []
    print(f"{'fix':6} {'search':6} {'kstats':>6} {'executions':>10} {'pruned':>6} {'learning':>8} {'panics':>6} "
          f"{'naive interleavings':>20} {'best s':>7} {'best cpu s':>10} {'cpu ms/run':>10} {'runs (s)':>20}")
    for fix, whole in [(f, w) for f in ("none", "lock", "count") for w in (False, True)]:
        times, cpu = [], []
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            r = explore(Scenario(args.kstats, fix), whole_sections=whole)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)   # this process's own CPU: steadier on a busy machine
        naive = f"~10^{len(str(r.naive_interleavings)) - 1}"
        # every execution the search ran (its learning runs and pruned ones too): the cost of one
        # execution, which the number of executions does not move
        runs = r.executions + r.pruned + r.learning_runs
        per_run_ms = 1000 * min(cpu) / runs
        search = "whole" if whole else "plain"
        rows.append({"fix": fix, "search": search, "kstats": args.kstats, "executions": r.executions,
                     "pruned": r.pruned, "learning_runs": r.learning_runs, "panics": r.panics,
                     "exhaustive": r.exhaustive,
                     "naive_interleavings_log10": len(str(r.naive_interleavings)) - 1,
                     "best_seconds": round(min(times), 2), "seconds": [round(x, 2) for x in times],
                     "best_cpu_seconds": round(min(cpu), 2), "cpu_ms_per_run": round(per_run_ms, 2),
                     "shortest_failing": r.shortest_failing.schedule if r.shortest_failing else None})
        print(f"{fix:6} {search:6} {args.kstats:6} {r.executions:10} {r.pruned:6} {r.learning_runs:8} "
              f"{r.panics:6} {naive:>20} {min(times):7.2f} {min(cpu):10.2f} {per_run_ms:10.2f} "
              f"{' '.join(f'{x:.2f}' for x in times):>20}")
    for search in ("plain", "whole"):
        print(f"target: each verdict under {TARGET_S} s; met by the {search} search: "
              f"{all(row['best_seconds'] < TARGET_S for row in rows if row['search'] == search)}")
    print(f"reference loop after: {reference_loop():.3f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
