"""Benchmark (a script, not a test): grading a class, and the Gradescope autograder.

    .venv/bin/python benchmarks/bench_classroom.py [--copies 20] [--json FILE]

1. `labkit grade --many` over --copies submissions (solutions/ and exercises/ alternately, so half
   run every check to its end), with --output-dir and --format csv: wall time, and the peak memory
   of the whole process tree (the grader and its check processes; PSS summed, sampled every 50 ms).
2. The autograder: `labkit autograder build`, its setup.sh against a temporary /autograder
   (LABKIT_AUTOGRADER_ROOT), then run_autograder on one submission (solutions/ in exercises/):
   the time of each step and the score.
Prints one line per measurement, `uptime` before and after, and a JSON summary.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
LABKIT = [sys.executable, "-m", "labkit"]


def measure(argv, env=None, cwd=None):
    """(seconds, peak MiB of the process tree, CompletedProcess-like (returncode, stdout)).

    Memory is each process's proportional share (PSS): the checks' workers are forks of one
    fork server and share its pages, which resident sizes (RSS) would count once per worker."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    top = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [top, *top.children(recursive=True)]
            peak = max(peak, sum(_pss(p) for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, err = proc.communicate()
    return time.perf_counter() - start, peak / (1 << 20), proc.returncode, out, err


def _pss(p: psutil.Process) -> int:
    try:
        return p.memory_full_info().pss
    except psutil.Error:    # (gone meanwhile, or not ours to read)
        return 0


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _system_python() -> str:
    for p in ("/usr/bin/python3.13", "/usr/bin/python3.12", "/usr/bin/python3.11"):
        if os.access(p, os.X_OK):
            return p
    return sys.executable


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--json", default=None, help="also write the summary to this file")
    args = ap.parse_args()
    out = {"uptime_before": uptime(), "copies": args.copies}
    print(out["uptime_before"])
    with tempfile.TemporaryDirectory(prefix="labkit-bench-classroom-") as tmp:
        tmp = Path(tmp)
        subs = tmp / "submissions"
        for i in range(args.copies):
            src = ROOT / ("solutions" if i % 2 == 0 else "exercises")
            shutil.copytree(src, subs / f"student{i:02d}", ignore=shutil.ignore_patterns("__pycache__"))
        secs, mib, code, stdout, err = measure(LABKIT + ["grade", "--many", str(subs), "--output-dir",
                                                         str(tmp / "feedback"), "--format", "csv"])
        if code != 0:
            print(err, file=sys.stderr)
            return 1
        out["many_s"], out["many_peak_mib"] = round(secs, 1), round(mib)
        out["many_progress_lines"] = len(err.strip().splitlines())
        print(f"grade --many, {args.copies} submissions: {secs:.1f} s, peak {mib:.0f} MiB "
              f"(process tree), {out['many_progress_lines']} progress lines")

        secs, _, code, stdout, err = measure(LABKIT + ["autograder", "build", "-o", str(tmp / "ag.zip"), "--json"])
        if code != 0:
            print(err, file=sys.stderr)
            return 1
        out["build_s"] = round(secs, 1)
        root = Path(tempfile.mkdtemp(prefix="labkit-bench-ag-", dir="/tmp"))
        try:
            os.chmod(root, 0o755)
            with zipfile.ZipFile(tmp / "ag.zip") as z:
                z.extractall(root / "source")
            for name in ("setup.sh", "run_autograder"):
                os.chmod(root / "source" / name, 0o755)
            shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
            env = dict(os.environ, LABKIT_AUTOGRADER_ROOT=str(root), LABKIT_AUTOGRADER_PYTHON=_system_python())
            secs, _, code, stdout, err = measure(["bash", str(root / "source" / "setup.sh")], env, root / "source")
            if code != 0:
                print(stdout[-2000:], err[-2000:], file=sys.stderr)
                return 1
            out["setup_s"] = round(secs, 1)
            shutil.copytree(ROOT / "solutions", root / "submission" / "exercises")
            secs, mib, code, stdout, err = measure([str(root / "run_autograder")], env, root)
            res = json.loads((root / "results" / "results.json").read_text())
            out["run_autograder_s"], out["run_autograder_peak_mib"] = round(secs, 1), round(mib)
            out["run_autograder_score"] = res["score"]
        finally:
            shutil.rmtree(root, ignore_errors=True)
        print(f"autograder build: {out['build_s']} s; setup.sh: {out['setup_s']} s; run_autograder on "
              f"solutions/: {out['run_autograder_s']} s, peak {out['run_autograder_peak_mib']} MiB, "
              f"score {out['run_autograder_score']}")
    out["uptime_after"] = uptime()
    print(out["uptime_after"])
    print(json.dumps(out, sort_keys=True))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
