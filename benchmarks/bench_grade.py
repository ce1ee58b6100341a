"""Benchmark (a script, not a test): how long grading takes, and what isolation costs.

    .venv/bin/python benchmarks/bench_grade.py [--copies 20] [--jobs N] [--scales small,seed]
                                               [--only sandbox|plain]

Times `labkit grade solutions/` (one submission, every check, full marks expected) and
`labkit grade --many` over a folder of N copies of solutions/ and exercises/ alternately, twice:
"plain" (the sandbox's fallback: a worker per check with rlimits, subreaper and memory watcher,
as a learner's notebook gets) and "sandbox" (as root: PID namespace, cgroup, own uid, tmpfs over
the hidden folders). The work is the same, so the difference is what the root sandbox costs.
Target: it costs at most 20% of grading time; one submission under 60 s. Prints one line per
measurement and a JSON summary. Quote `uptime`'s load beside the figures: the machine is shared.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from labkit.grading import grade, grade_many, sandbox

ROOT = Path(__file__).resolve().parents[1]


def measure(label: str, args, folder: str) -> dict:
    out = {}
    t = time.perf_counter()
    one = grade(ROOT / "solutions", workers=args.jobs)
    out["one_s"] = round(time.perf_counter() - t, 2)
    out["one_score"] = f"{one.score:g}/{one.max_score:g}"
    out["per_check_s"] = {r.name: round(r.seconds, 2) for r in one.results}
    print(f"[{label}] one submission (solutions/): {out['one_s']} s, score {out['one_score']}")
    for name, s in out["per_check_s"].items():
        print(f"    {name:<16} {s:6.2f} s")
    t = time.perf_counter()
    many = grade_many(folder, workers=args.jobs)
    out["many_s"] = round(time.perf_counter() - t, 2)
    out["many_n"] = len(many.reports)
    print(f"[{label}] {len(many.reports)} submissions (--many): {out['many_s']} s, "
          f"{out['many_s'] / len(many.reports):.2f} s per submission")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--scales", default=None, help="set LABKIT_GRADE_SCALES (default: small,seed)")
    ap.add_argument("--only", choices=("sandbox", "plain"), default=None)
    args = ap.parse_args()
    if args.scales:
        os.environ["LABKIT_GRADE_SCALES"] = args.scales
    out = {"cores": os.cpu_count(), "jobs": args.jobs, "load": os.getloadavg(),
           "scales": os.environ.get("LABKIT_GRADE_SCALES", "small,seed"),
           "root_sandbox_available": sandbox.has_pid_namespaces()}
    with tempfile.TemporaryDirectory(prefix="labkit-bench-") as tmp:
        for i in range(args.copies):
            src = ROOT / ("solutions" if i % 2 == 0 else "exercises")
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
