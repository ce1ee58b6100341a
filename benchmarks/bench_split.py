"""Benchmark (a script, not a test): one DPOR search with helper processes (DporSearch(jobs=2),
labkit/sched/split.py) against the same search alone (jobs=1), issue 13.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_split.py [--repeat 3] [--kstats 5698]
                                                              [--fixes none,lock,count]

For each fix at --kstats (default the seed's) with one writer and with two, runs the grader's
search (whole sections, no race detection, what sim_checks.explore_scale keeps of each execution) --repeat
times each way and prints the best wall time of each, the CPU time (the helpers' included), how
many executions the search followed from its helpers' records instead of running them, the
helpers forked, and how each run the records lacked went (Splitter.waits: no live helper in its
branch, its helper recorded it, its helper ended first, or went elsewhere and was killed). Both ways must give the same observations in the same order (checked: the
script stops if not). Quote the load (printed) beside the figures: on 2 cores another
process's work takes the core the helpers need.
"""

import argparse
import os
import resource
import sys
import time

from labkit.grading.sim_checks import observe_execution
from labkit.kernel import SEED_KSTATS, Scenario
from labkit.sched.dpor import DporSearch
from labkit.sched.outcome import failure_rank


def _observed(outcome, scenario: Scenario) -> tuple:
    """What sim_checks.explore_scale keeps of an execution (plain data, as a helper sends it)."""
    return (observe_execution(outcome, scenario), failure_rank(outcome), outcome.schedule,
            outcome.replay_command)


def _children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def once(scenario: Scenario, jobs: int) -> dict:
    c, k, t = time.process_time(), _children(), time.perf_counter()
    search = DporSearch(scenario, detect_races=False, jobs=jobs,
                        observe=lambda o: _observed(o, scenario))
    got = list(search.outcomes())
    wall = time.perf_counter() - t
    sp = search.split
    return {"wall": wall, "cpu": time.process_time() - c + _children() - k, "got": got,
            "counters": (search.probes, search.pruned, search.restarts, search.repeated),
            "followed": sp.followed if sp else 0, "forked": sp.forked if sp else 0,
            "waits": sp.waits if sp else {}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--kstats", type=int, default=SEED_KSTATS)
    ap.add_argument("--fixes", default="none,lock,count")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores; best wall of {args.repeat}")
    for fix in args.fixes.split(","):
        for writers in (1, 2):
            scenario = Scenario(args.kstats, fix, writers=writers)
            best = {}
            for _ in range(args.repeat):
                for jobs in (1, 2):
                    r = once(scenario, jobs)
                    if jobs not in best or r["wall"] < best[jobs]["wall"]:
                        best[jobs] = r
            a, b = best[1], best[2]
            if a["got"] != b["got"] or a["counters"] != b["counters"]:
                print(f"{fix} x{writers}: jobs=2 differs from jobs=1", file=sys.stderr)
                return 1
            n = len(a["got"])
            print(f"  {fix:<5} {args.kstats} kstats x{writers}: {n:4d} executions; alone "
                  f"{a['wall']:5.2f} s wall {a['cpu']:5.2f} s CPU; with helpers {b['wall']:5.2f} s "
                  f"wall {b['cpu']:5.2f} s CPU ({b['wall'] / a['wall'] - 1:+.0%} wall), "
                  f"{b['followed']} followed, {b['forked']} helpers")
            print("        runs not yet recorded: " + ", ".join(f"{k} {v}" for k, v in b["waits"].items()))
    print(f"load average after {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
