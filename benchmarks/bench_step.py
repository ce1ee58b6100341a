"""The cost of one execution at seed scale: what a search pays per execution, whatever their number.

    .venv/bin/python benchmarks/bench_step.py [--kstats N] [--repeat R] [--fix F ...] [--instructions]
    .venv/bin/python benchmarks/bench_step.py --searches [--kstats N] [--repeat R] [--fix F ...]

An execution at the seed's scale (5698 kstats) replays the reader's two walks over the chain,
about 28,500 steps, nearly all of them skipped as quiet by the reduced search. This times the
executions a search starts with (DporSearch.learn(): one serial run per thread, skipping as the
search does) and prints the best CPU time per execution and per 1000 steps, with the load
average beside it. On a shared machine CPU time still moves with the load (two cores, shared
caches), so --instructions also counts the instructions of one execution under valgrind
(cachegrind, no cache simulation: the same count on a busy machine as on an idle one; it takes
about a minute per variant). A benchmark, not a test: tests/test_engine_speed.py checks that the
cheap paths change nothing.

--searches times whole searches instead: the grader's (sim_checks.explore_scale: every schedule
class, whole critical sections, no race detection) over one writer and two, best of --repeat,
wall and CPU, with the executions it yielded and every run it made (learning runs and the runs
a restart repeats included). Run it with another checkout's interpreter to time that checkout
(labkit is imported from the interpreter's installation).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

from labkit.kernel import SEED_KSTATS, Scenario
from labkit.sched.dpor import DporSearch

FIXES = ("none", "lock", "count")


def learn(scenario: Scenario) -> tuple[int, int]:
    """Run a search's learning executions once: (executions, steps of the first). The scenario is
    made once (its boot image, 5697 kstats, is made once per scenario, not per execution)."""
    search = DporSearch(scenario, detect_races=False)
    quiet = search.learn()
    assert quiet.serial_steps is not None
    return search.learning_runs, sum(quiet.serial_steps)


def instructions(kstats: int, fix: str) -> int:
    """Instructions of one learning execution: valgrind's count for 6 rounds less that for 1, / 5
    (the difference leaves out the interpreter's start-up, the imports and the boot image)."""
    counts = []
    for rounds in (1, 6):
        proc = subprocess.run(
            ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
             sys.executable, __file__, "--child", fix, str(kstats), str(rounds)],
            capture_output=True, text=True, check=True)
        m = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
        if m is None:
            raise SystemExit(f"valgrind printed no instruction count:\n{proc.stderr[-2000:]}")
        counts.append(int(m.group(1).replace(",", "")))
    runs = learn(Scenario(kstats, fix))[0]
    return (counts[1] - counts[0]) // (5 * runs)


def searches(kstats: int, fixes, repeat: int) -> None:
    """Best wall and CPU time of the grader's search per (fix, writers); see the module's note."""
    from labkit.sched import outcomes

    print(f"load average {os.getloadavg()[0]:.2f}; kstats {kstats}; best of {repeat}; "
          f"the grader's search (whole sections)")
    print(f"{'fix':6} {'writers':>7} {'executions':>10} {'best s':>7} {'best cpu s':>10} {'runs (s)':>24}")
    for fix in fixes:
        for writers in (1, 2):
            times, cpu = [], []
            for _ in range(repeat):
                scenario = Scenario(kstats, fix, writers=writers)   # (as each grading part makes it)
                t, c = time.perf_counter(), time.process_time()
                n = sum(1 for _ in outcomes(scenario, "dpor", detect_races=False, whole_sections=True))
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            print(f"{fix:6} {writers:7} {n:10} {min(times):7.2f} {min(cpu):10.2f} "
                  f"{' '.join(f'{x:.2f}' for x in times):>24}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kstats", type=int, default=SEED_KSTATS)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--fix", choices=FIXES, action="append", help="a variant to measure (default: all three)")
    ap.add_argument("--instructions", action="store_true",
                    help="also count each execution's instructions under valgrind (slow, load-independent)")
    ap.add_argument("--searches", action="store_true",
                    help="time the grader's whole searches (one writer and two) instead")
    ap.add_argument("--child", nargs=3, metavar=("FIX", "KSTATS", "ROUNDS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        scenario = Scenario(int(args.child[1]), args.child[0])
        learn(scenario)                   # (its boot image built: not counted in either)
        for _ in range(int(args.child[2])):
            learn(scenario)
        return
    if args.searches:
        searches(args.kstats, args.fix or FIXES, args.repeat)
        return
    if args.instructions and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install -y valgrind)")
    print(f"load average {os.getloadavg()[0]:.2f}; kstats {args.kstats}; best of {args.repeat}")
    print(f"{'fix':6} {'steps':>6} {'cpu ms/run':>10} {'cpu ns/step':>11}"
          + (f" {'instructions/run':>17}" if args.instructions else ""))
    for fix in args.fix or FIXES:
        best, scenario = float("inf"), Scenario(args.kstats, fix)
        for _ in range(args.repeat):
            c = time.process_time()
            runs, steps = learn(scenario)
            best = min(best, (time.process_time() - c) / runs)
        line = f"{fix:6} {steps:6} {1000 * best:10.2f} {1e9 * best / steps:11.0f}"
        if args.instructions:
            line += f" {instructions(args.kstats, fix):17,}"
        print(line)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
