"""Benchmark (a script, not a test): how long grading takes.

    .venv/bin/python benchmarks/bench_grade.py [--copies 20] [--jobs N]

Times `labkit grade solutions/` (one submission, every check, full marks expected) and
`labkit grade --many` over a folder of N copies of solutions/ and exercises/ alternately.
Target: one submission under 60 s. Prints one line per measurement and a JSON summary.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from labkit.grading import grade, grade_many

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--scales", default=None, help="set LABKIT_GRADE_SCALES (default: small,seed)")
    args = ap.parse_args()
    if args.scales:
        os.environ["LABKIT_GRADE_SCALES"] = args.scales
    out = {"cores": os.cpu_count(), "jobs": args.jobs or os.cpu_count(),
           "scales": os.environ.get("LABKIT_GRADE_SCALES", "small,seed")}

    t = time.perf_counter()
    one = grade(ROOT / "solutions", workers=args.jobs)
    out["one_submission_s"] = round(time.perf_counter() - t, 2)
    out["one_submission_score"] = f"{one.score:g}/{one.max_score:g}"
    out["per_check_s"] = {r.name: round(r.seconds, 2) for r in one.results}
    print(f"one submission (solutions/): {out['one_submission_s']} s, score {out['one_submission_score']}")
    for name, s in out["per_check_s"].items():
        print(f"    {name:<16} {s:6.2f} s")

    with tempfile.TemporaryDirectory(prefix="labkit-bench-") as tmp:
        for i in range(args.copies):
            src = ROOT / ("solutions" if i % 2 == 0 else "exercises")
            shutil.copytree(src, Path(tmp) / f"student{i:02d}", ignore=shutil.ignore_patterns("__pycache__"))
        t = time.perf_counter()
        many = grade_many(tmp, workers=args.jobs)
        out["many_s"] = round(time.perf_counter() - t, 2)
    out["many_submissions"] = len(many.reports)
    print(f"{len(many.reports)} submissions (--many): {out['many_s']} s, "
          f"{out['many_s'] / len(many.reports):.2f} s per submission")
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
