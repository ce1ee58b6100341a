"""Benchmark of the course itself (a script, not a test): notebook run times and a scheduler click.

    .venv/bin/python benchmarks/bench_notebooks.py [--clicks 30] [--no-browser] [--json FILE]

1. Each notebook of notebooks/, executed top to bottom by nbclient in a fresh kernel (kernel
   start included: that is what a learner's "Restart and run all" costs), and the whole course
   (their sum). Targets on the 2-core lab machine: each notebook under 30 s, the course under 3 min.
2. The round trip of one scheduler step in the browser: a real JupyterLab and headless Chromium
   (tests/browser/labserver.py), 04-interleaving's sandbox SchedulerWidget and level 1's, a
   click on "Step W", timed in the page from the click until the schedule box and W's lane both
   show the new step. Median over --clicks clicks each; target under 100 ms.

Runs work on a temporary copy of notebooks/ and exercises/ (nothing in the repository is written)
and records any Question answers to a temporary file. Prints a table and the targets; a missed
target is reported, not an error: the exit status is non-zero only if something failed to run.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

NOTEBOOK_TARGET_S = 30.0
COURSE_TARGET_S = 180.0
STEP_TARGET_MS = 100.0
CELL_TIMEOUT_S = 600


def run_notebooks(course: Path, kernel_log: Path):
    rows = []
    for path in sorted((course / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        t = time.perf_counter()
        # raises CellExecutionError on an error output not tagged raises-exception; the kernel
        # process's own log (not the cells' output) goes to a file, shown if something fails
        with open(kernel_log, "ab") as log:
            client.execute(stderr=log)
        secs = time.perf_counter() - t
        rows.append({"notebook": path.name, "seconds": round(secs, 2)})
        print(f"  {path.name:28} {secs:7.2f} s  {'ok' if secs < NOTEBOOK_TARGET_S else 'MISSED'}", flush=True)
    return rows


# Runs in the page: click "Step W" and poll (1 ms timers, not animation frames, whose 16 ms
# granularity would swamp the figure) until the schedule box shows the step. The widget redraws
# the lanes first and the schedule box last, in one kernel reply whose updates the page applies
# in order, so a changed box means the lanes are already redrawn. (W's lane text itself may read
# the same after a step inside a loop, so it cannot be the signal.)
STEP_JS = """async (el) => {
  const btn = el.querySelector('.labkit-sched-step.labkit-lane-W');
  const box = el.querySelector('.labkit-sched-schedule input');
  const before = box.value;
  const t0 = performance.now();
  btn.click();
  while (box.value === before) {
    if (performance.now() - t0 > 10000) throw new Error('no update 10 s after the click');
    await new Promise(r => setTimeout(r, 1));
  }
  return performance.now() - t0;
}"""


# The schedulers timed: the sandbox, and a level's (the same scheduler inside a LevelWidget,
# which also checks its goal on every step).
TIMED_CELLS = {"sandbox": "sw = SchedulerWidget()", "level 1": "level1 = LevelWidget(1)"}


def scheduler_step_ms(clicks: int) -> dict:
    """name -> the click round trips (ms) of each scheduler in TIMED_CELLS."""
    from playwright.sync_api import sync_playwright

    from labserver import CELLS_JS, LabServer, launch_chromium, open_notebook, run_all

    with LabServer() as lab, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        panel = open_notebook(page, lab, "notebooks/04-interleaving.ipynb")
        run = run_all(page)
        if run["error"]:
            raise RuntimeError(f"04-interleaving did not run: {run['error']}")
        cells = page.evaluate(CELLS_JS)
        out = {}
        for name, source in TIMED_CELLS.items():
            idx = [c["index"] for c in cells if c["source"].startswith(source)]
            if len(idx) != 1:
                raise RuntimeError(f"04-interleaving has no single `{source}` cell")
            sched = panel.locator(".jp-Cell").nth(idx[0]).locator(".labkit-scheduler")
            sched.scroll_into_view_if_needed()
            step_w = sched.locator(".labkit-sched-step.labkit-lane-W")
            box = sched.locator(".labkit-sched-schedule input")
            times = []
            for _ in range(2 + clicks):              # the first two warm the kernel and the views
                if step_w.is_disabled():             # W has finished: start again (not timed)
                    sched.locator(".labkit-sched-reset").click()
                    page.wait_for_function("(e) => e.value === ''", arg=box.element_handle(), timeout=10_000)
                    page.wait_for_function("(e) => !e.disabled", arg=step_w.element_handle(), timeout=10_000)
                times.append(sched.evaluate(STEP_JS))
            out[name] = times[2:]
        browser.close()
        lab.delete_all_sessions()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clicks", type=int, default=30)
    ap.add_argument("--no-browser", action="store_true", help="skip the scheduler click timing")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="labkit-bench-"))
    course = tmp / "course"
    for part in ("notebooks", "exercises"):
        shutil.copytree(REPO / part, course / part,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    # kernels inherit these: answers go to a temporary file, checks find the copied exercises
    os.environ["LABKIT_ANSWERS"] = str(tmp / "answers.json")
    os.environ["LABKIT_EXERCISES"] = str(course / "exercises")
    try:
        print("notebook run times (nbclient, fresh kernel each):", flush=True)
        rows = run_notebooks(course, tmp / "kernels.log")
        total = sum(r["seconds"] for r in rows)
        step = None
        if not args.no_browser:
            print(f"scheduler step round trip in the browser ({args.clicks} clicks)...", flush=True)
            step = {name: {"clicks": len(times), "median_ms": round(statistics.median(times), 1),
                           "p90_ms": round(sorted(times)[int(0.9 * (len(times) - 1))], 1),
                           "max_ms": round(max(times), 1)}
                    for name, times in scheduler_step_ms(args.clicks).items()}
    except Exception:
        log = tmp / "kernels.log"
        if log.exists():
            print("kernel log:\n" + log.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    slowest = max(rows, key=lambda r: r["seconds"])
    print()
    print(f"{'figure':34} {'measured':>12} {'target':>10}  verdict")
    print(f"{'slowest notebook (' + slowest['notebook'] + ')':34} {slowest['seconds']:10.2f} s "
          f"{'< 30 s':>10}  {'ok' if slowest['seconds'] < NOTEBOOK_TARGET_S else 'MISSED'}")
    print(f"{'whole course (' + str(len(rows)) + ' notebooks)':34} {total:10.2f} s {'< 180 s':>10}  "
          f"{'ok' if total < COURSE_TARGET_S else 'MISSED'}")
    for name, st in (step or {}).items():
        print(f"{'step (' + name + '), median':34} {st['median_ms']:9.1f} ms {'< 100 ms':>10}  "
              f"{'ok' if st['median_ms'] < STEP_TARGET_MS else 'MISSED'}")
        print(f"{'step (' + name + '), p90 / max':34} {st['p90_ms']:6.1f}/{st['max_ms']:.0f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"notebooks": rows, "course_seconds": round(total, 2), "scheduler_step": step,
                       "targets": {"notebook_s": NOTEBOOK_TARGET_S, "course_s": COURSE_TARGET_S,
                                   "step_median_ms": STEP_TARGET_MS}}, f, indent=2)


if __name__ == "__main__":
    main()
