"""What two concurrent writers at the seed's scale would cost the simulator checks (issue 10).

    .venv/bin/python benchmarks/bench_seed_two_writers.py [--sample N] [--full]

The grader explores every schedule of fix A and fix B with two writers at the small scale and at
the seed's (the search with whole critical sections, the default, made that affordable). For each
built-in fix this prints the executions of the exhaustive DPOR search with two writers
at the small scale and at 30 kstats (the count does not grow with the chain: the extra kstats
add no dependent steps), the time per execution at the seed's 5698 kstats over the first
--sample executions, and the estimate: executions times that. --full runs the seed-scale search
to its end instead of estimating (seconds per fix). Timings move with the machine's load,
printed beside them.
"""

import argparse
import os
import time

from labkit.kernel import SEED_KSTATS, SMALL_KSTATS, Scenario
from labkit.sched import explore


def timed(scenario, cap=None):
    t = time.perf_counter()
    r = explore(scenario, "dpor", executions=cap)
    return r, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    total = 0.0
    for fix in ("lock", "count"):
        small, small_s = timed(Scenario(SMALL_KSTATS, fix, writers=2))
        mid, _ = timed(Scenario(30, fix, writers=2))
        assert small.exhaustive and mid.exhaustive
        if args.full:
            seed, seed_s = timed(Scenario(SEED_KSTATS, fix, writers=2))
            line = f"seed: {seed.executions} executions in {seed_s:.0f} s (exhaustive: {seed.exhaustive})"
            total += seed_s
        else:
            sample, sample_s = timed(Scenario(SEED_KSTATS, fix, writers=2), args.sample)
            per = sample_s / max(1, sample.executions)
            estimate = per * small.executions
            total += estimate
            line = (f"seed: {per:.3f} s per execution over {sample.executions}, "
                    f"so about {estimate:.0f} s for the whole search")
        print(f"{fix:6} 2 writers: {small.executions} executions at {SMALL_KSTATS} kstats ({small_s:.1f} s), "
              f"{mid.executions} at 30; {line}  [load {os.getloadavg()[0]:.2f}]", flush=True)
    print(f"both fixes at the seed's scale with two writers: about {total / 60:.1f} min per grading "
          f"of the solutions  [load {os.getloadavg()[0]:.2f}]")


if __name__ == "__main__":
    main()
