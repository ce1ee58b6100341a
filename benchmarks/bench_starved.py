"""Benchmark (a script, not a test): can a right C fix lose points on a machine that starves it?

    .venv/bin/python benchmarks/bench_starved.py [--fix solutions/fix_a.c] [--runs 5]
                                                 [--stop 6] [--quota PERCENT] [--hogs N]
                                                 [--whole CHECK]

Runs the C checks' two stress runs (labkit.grading.native_checks: forced, 500 rounds; free, 1 s;
two writers, seed 0, the check's timeout) on a right fix, --runs times each, while the run is
starved, and prints each outcome (a right fix must always end "ok"). With --whole CHECK, grades
that check of solutions/ instead (labkit.grading.grade: the whole check in its worker, with its
timeout, LABKIT_GRADE_TIMEOUT if set, its stress runs and ThreadSanitizer), --runs times; a right
fix must always score full marks. Starved by:
  --stop S     the run's child process is stopped (SIGSTOP) 0.3 s after it starts, for S seconds,
               then continued (SIGCONT): a thread gets no CPU for S s, as on a paused VM;
  --quota P    this process and its children run in a cpu cgroup (v1 or v2, needs root) limited
               to P percent of one CPU (cfs quota P ms per 100 ms);
  --hogs N     N busy loops, pinned with this process and its children to CPU 0 (taskset).
Prints the load before each run. Quote the command and the load beside the figures.
"""

import argparse
import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path

from labkit.grading import grade
from labkit.grading import native_checks as nc
from labkit.grading.runner import timeout_for
from labkit.native import race

ROOT = Path(__file__).resolve().parents[1]


def _children():
    me = str(os.getpid())
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1] == me:
                    out.append(int(pid))
            except (OSError, IndexError):
                pass
    return out


def _stopper(seconds):
    def run():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _children():
            time.sleep(0.01)
        time.sleep(0.3)
        for pid in _children():
            os.kill(pid, signal.SIGSTOP)
        time.sleep(seconds)
        for pid in _children():
            os.kill(pid, signal.SIGCONT)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _quota(percent):
    v2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
    base = Path("/sys/fs/cgroup") if v2 else Path("/sys/fs/cgroup/cpu")
    cg = base / f"labkit-starved-{os.getpid()}"
    cg.mkdir()
    if v2:
        (cg / "cpu.max").write_text(f"{int(percent * 1000)} 100000")
    else:
        (cg / "cpu.cfs_period_us").write_text("100000")
        (cg / "cpu.cfs_quota_us").write_text(str(int(percent * 1000)))
    (cg / "cgroup.procs").write_text(str(os.getpid()))
    return cg


def _hog():
    while True:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fix", default=str(ROOT / "solutions" / "fix_a.c"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--stop", type=float, default=None)
    ap.add_argument("--quota", type=float, default=None)
    ap.add_argument("--hogs", type=int, default=0)
    ap.add_argument("--whole", default=None, help="a check to grade whole (fix_a_c, fix_b_c)")
    a = ap.parse_args()
    hang_after = max(5.0, min(20.0, timeout_for(nc.CHECKS.get("fix_a_c")) / 4))
    hogs = []
    if a.hogs:
        os.sched_setaffinity(0, {0})
        for _ in range(a.hogs):
            p = multiprocessing.Process(target=_hog, daemon=True)
            p.start()
            hogs.append(p)
    cg = _quota(a.quota) if a.quota else None
    print(f"fix {a.whole or a.fix}; stop {a.stop} s, quota {a.quota} %, hogs {a.hogs} on CPU 0", flush=True)
    bad = 0
    try:
        for i in range(a.runs if a.whole else 0):
            load = os.getloadavg()[0]
            stopper = _stopper(a.stop) if a.stop else None
            t0 = time.monotonic()
            (r,) = grade(ROOT / "solutions", only=[a.whole]).results
            wall = time.monotonic() - t0
            if stopper:
                stopper.join()
            bad += r.score != r.points
            print(f"run {i} {a.whole} (timeout {timeout_for(nc.CHECKS.get(a.whole)):g} s): load {load:.2f}, "
                  f"{wall:.1f} s, {r.status} {r.score:g}/{r.points:g}"
                  f"{': ' + str(r)[:400] if r.score != r.points else ''}", flush=True)
        for i in range(0 if a.whole else a.runs):
            for forced in (True, False):
                load = os.getloadavg()[0]
                stopper = _stopper(a.stop) if a.stop else None
                t0 = time.monotonic()
                if forced:
                    r = race(source=a.fix, rounds=nc.FORCED_ROUNDS, forced=True, seed=nc.SEED,
                             timeout=hang_after, writers=nc.WRITERS)
                else:
                    r = race(source=a.fix, seconds=nc.FREE_SECONDS, seed=nc.SEED,
                             timeout=hang_after + nc.FREE_SECONDS, writers=nc.WRITERS)
                wall = time.monotonic() - t0
                if stopper:
                    stopper.join()
                wrong = r.outcome != "ok" or nc._stress_wrong(r.to_json())
                bad += bool(wrong)
                print(f"run {i} {'forced' if forced else 'free'}: load {load:.2f}, {wall:.1f} s, "
                      f"outcome {r.outcome}, {r.rounds} rounds, {r.installs} installs"
                      f"{': ' + str(wrong if wrong is not True else r.detail)[:300] if wrong else ''}",
                      flush=True)
    finally:
        for p in hogs:
            p.kill()
        if cg is not None:
            (cg.parent / "cgroup.procs").write_text(str(os.getpid()))
            cg.rmdir()
    print(f"{bad} of {(1 if a.whole else 2) * a.runs} runs of a right fix judged wrong")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
