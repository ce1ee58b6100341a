"""Benchmark (a script, not a test): how long grading takes, and what isolation costs.

    .venv/bin/python benchmarks/bench_grade.py [--copies 20] [--repeat 3] [--jobs N]
                                               [--scales small,seed] [--only sandbox|plain]
                                               [--checks NAME,NAME...]

Times `labkit grade solutions/` (one submission, every check, full marks expected) and
`labkit grade --many` over a folder of N copies of solutions/ and exercises/ alternately (`--class
right`: N copies of solutions/, a class whose every answer is right), twice:
"plain" (the sandbox's fallback: a worker per check with rlimits, subreaper and memory watcher,
as a learner's notebook gets) and "sandbox" (as root: PID namespace, cgroup, own uid, tmpfs over
the hidden folders). The work is the same, so the difference is what the root sandbox costs.
One submission is graded --repeat times: the best wall time counts (the machine is shared), and
each run's CPU time (grader and every check process) and the load before it are printed too;
then a learner's check of each simulator fix alone (what labkit.grading.check runs), a process's
first ("cold": its fork server started for it) and again ("warm": the server kept). First, the
CPU time of cold builds of the solutions' C (a class's distinct submissions miss the cache).
Targets: the root sandbox costs at most 20% of grading time; one submission under 5 s; 300
submissions with --many under 10 minutes (20 copies here: `--copies 300` measures it, slowly).
`--parts` only times each simulator fix's parts (CPU, in this process) beside the costs the
checks declare for them. `--checks` grades only those checks (e.g. all but the simulator fixes: what a submission costs
apart from the simulator's search); a learner's check of a simulator fix is then timed only if
it is one of them.
Prints one line per measurement and a JSON summary. Quote the load beside the figures.

The same script measures another checkout's labkit ("before"): run it with that checkout's
Python, e.g. /work/main/.venv/bin/python benchmarks/bench_grade.py (labkit is imported from the
interpreter's installation; solutions/ and exercises/ are this script's checkout's).
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cputime
from labkit.grading import forkserver, grade, grade_many, sandbox
from labkit.grading.exercises import CHECKS
from labkit.grading.runner import Job, run_job

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children, and of the fork server that
    stays running (labkit.grading.forkserver.shared) with its own reaped children: every check
    process (a server that has ended is among this process's children)."""
    server = getattr(forkserver, "_shared", None)
    return cputime.total(server._proc.pid if server is not None and server._proc.poll() is None else None)


def cold_builds() -> dict:
    """CPU seconds of a first build of each solution C file (normal, then ThreadSanitizer) in a
    fresh cache, as each check of a class's distinct submissions does; and of the engine objects
    the grader compiles once (labkit versions that have them)."""
    from labkit.native import _cbuild

    def children() -> float:
        t = os.times()
        return t.children_user + t.children_system

    out = {}
    with tempfile.TemporaryDirectory(prefix="labkit-bench-cache-") as cache:
        os.environ["LABKIT_NATIVE_CACHE"] = cache
        try:
            c = children()
            if hasattr(_cbuild, "engine_objects"):
                _cbuild.engine_objects(False)
                _cbuild.engine_objects(True)
            out["engine_once_cpu_s"] = round(children() - c, 2)
            for name in ("fix_a.c", "fix_b.c"):
                c = children()
                _cbuild.build(str(ROOT / "solutions" / name))
                _cbuild.build(str(ROOT / "solutions" / name), tsan=True)
                out[f"{name}_cpu_s"] = round(children() - c, 2)
        finally:
            del os.environ["LABKIT_NATIVE_CACHE"]
    print(f"cold C builds (normal + TSan), CPU: {out} (load {os.getloadavg()[0]:.2f})")
    return out


def measure(label: str, args, folder: str) -> dict:
    out: dict = {"one_runs": []}
    best = None
    for _ in range(args.repeat):
        load, t, c = os.getloadavg()[0], time.perf_counter(), _cpu()
        one = grade(ROOT / "solutions", workers=args.jobs, only=args.checks)
        run = {"wall_s": round(time.perf_counter() - t, 2), "cpu_s": round(_cpu() - c, 2),
               "load_1min_before": round(load, 2)}
        out["one_runs"].append(run)
        print(f"[{label}] one submission (solutions/): {run['wall_s']} s wall, {run['cpu_s']} s CPU, "
              f"score {one.total_text()} (load {load:.2f})")
        if best is None or run["wall_s"] < best[0]["wall_s"]:
            best = (run, one)
    run, one = best
    out["one_s"], out["one_cpu_s"] = run["wall_s"], run["cpu_s"]
    out["one_score"] = one.total_text()
    out["per_check_s"] = {r.name: round(r.seconds, 2) for r in one.results}
    # How much the C checks' free-running second tested (its rounds depend on the CPU it got)
    out["free_rounds"] = {r.name: int(m.group(1)) for r in one.results for ln in r.lines
                          if ln.text.startswith("free-running") and (m := re.search(r"in (\d+) rounds", ln.text))}
    print(f"[{label}] best of {args.repeat}: {out['one_s']} s; each check's worker time in it:")
    for name, s in out["per_check_s"].items():
        print(f"    {name:<16} {s:6.2f} s")
    print(f"[{label}] rounds in the C checks' free-running second: {out['free_rounds']}")
    out["learner_check_s"] = {}
    for name in [n for n in ("fix_a_sim", "fix_b_sim") if args.checks is None or n in args.checks]:
        # what labkit.grading.check(name) runs, alone: a process's first check ("cold": its fork
        # server started for it), then the same check again ("warm": a notebook's next check,
        # with the server kept; labkit versions without a shared server start one every time)
        times = {}
        for kind in ("cold", "warm"):
            if kind == "cold" and hasattr(forkserver, "close_shared"):
                forkserver.close_shared()
            load, t = os.getloadavg()[0], time.perf_counter()
            r = run_job(Job(CHECKS.get(name), ROOT / "solutions"))
            times[kind] = round(time.perf_counter() - t, 2)
            print(f"[{label}] a learner's check of {name} (solutions/), {kind}: {times[kind]} s, "
                  f"{r.score:g}/{r.points:g} (load {load:.2f})")
        out["learner_check_s"][name] = times
    load, t, c = os.getloadavg()[0], time.perf_counter(), _cpu()
    many = grade_many(folder, workers=args.jobs, only=args.checks)
    out["many_s"], out["many_cpu_s"] = round(time.perf_counter() - t, 2), round(_cpu() - c, 2)
    out["many_n"] = len(many.reports)
    print(f"[{label}] {len(many.reports)} submissions (--many, {args.klass} class): {out['many_s']} s wall, "
          f"{out['many_cpu_s']} s CPU, {out['many_s'] / len(many.reports):.2f} s per submission "
          f"(load {load:.2f})")
    return out


def part_costs(repeat: int) -> None:
    """--parts: each simulator fix's parts run in this process on the solution (the search a
    worker runs for that part, without its worker), best CPU of --repeat, beside the cost the
    check declares for it (sim_checks.fix_parts: the costs only order the runner's work)."""
    from labkit.grading.base import Submission
    from labkit.grading.sim_checks import observe_fix

    print(f"load average {os.getloadavg()[0]:.2f}; best CPU of {repeat} per part")
    for name, needs, fix in (("fix_a_sim", "kstat_install", "lock"), ("fix_b_sim", "header_kstat_update", "count")):
        for part, cost in CHECKS.get(name).parts():
            best = float("inf")
            for _ in range(repeat):
                c = time.process_time()
                observe_fix(Submission(str(ROOT / "solutions"), None, {}), f"{name}.py", needs, fix, part)
                best = min(best, time.process_time() - c)
            print(f"    {name} part {part}: {best:5.2f} s CPU (declared cost {cost})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3, help="grade one submission this many times (best counts)")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--scales", default=None, help="set LABKIT_GRADE_SCALES (default: small,seed)")
    ap.add_argument("--only", choices=("sandbox", "plain"), default=None)
    ap.add_argument("--checks", default=None, help="grade only these checks, comma-separated")
    ap.add_argument("--class", dest="klass", choices=("mixed", "right"), default="mixed",
                    help="the --many folder: copies of solutions/ and exercises/ alternately (mixed), "
                         "or of solutions/ only (right: every check runs to its end)")
    ap.add_argument("--parts", action="store_true",
                    help="only time each simulator fix's parts in this process (CPU) beside their declared costs")
    args = ap.parse_args()
    args.checks = args.checks.split(",") if args.checks else None
    if args.scales:
        os.environ["LABKIT_GRADE_SCALES"] = args.scales
    if args.parts:
        part_costs(args.repeat)
        return 0
    out = {"cores": os.cpu_count(), "jobs": args.jobs, "load": os.getloadavg(), "class": args.klass,
           "scales": os.environ.get("LABKIT_GRADE_SCALES", "small,seed"), "checks": args.checks,
           "root_sandbox_available": sandbox.has_pid_namespaces()}
    out["cold_builds"] = cold_builds()
    with tempfile.TemporaryDirectory(prefix="labkit-bench-") as tmp:
        for i in range(args.copies):
            src = ROOT / ("solutions" if i % 2 == 0 or args.klass == "right" else "exercises")
            shutil.copytree(src, Path(tmp) / f"student{i:02d}", ignore=shutil.ignore_patterns("__pycache__"))
        modes = [m for m in ("plain", "sandbox") if args.only in (None, m)]
        for mode in modes:
            if mode == "sandbox" and not out["root_sandbox_available"]:
                print("[sandbox] not available here (needs root and PID namespaces); skipped")
                continue
            # The fallback is what has_pid_namespaces() == False gives (a learner's notebook).
            sandbox._pidns_ok = None if mode == "sandbox" else False
            out[mode] = measure(mode, args, tmp)
    if "plain" in out and "sandbox" in out:
        for k in ("one_s", "many_s"):
            out[f"isolation_cost_{k}"] = round(out["sandbox"][k] / out["plain"][k] - 1, 3)
        print(f"root sandbox cost: one submission {out['isolation_cost_one_s']:+.1%}, "
              f"many {out['isolation_cost_many_s']:+.1%} (target: at most +20%)")
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
