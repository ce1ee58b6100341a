"""Grading a submission, a folder of submissions, or one exercise from a notebook.

Design note: all three build a flat list of jobs (check x submission) and hand it to the runner, so
every check of every submission runs isolated and the pool keeps all cores busy.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from labkit import config
from labkit.errors import LabkitError
from labkit.grading.exercises import CHECKS
from labkit.grading.hidden import hidden_files, load_hidden
from labkit.grading.model import CheckResult, ManyReport, Report
from labkit.grading.runner import Job, run_job, run_jobs


#: The course's solutions, when labkit runs from a checkout: learner code must never see them.
SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


def _hide(hidden, folder=None) -> tuple:
    """Folders hidden from every check (root mode mounts an empty tmpfs over each)."""
    return tuple(str(Path(p).resolve()) for p in (SOLUTIONS, hidden, folder)
                 if p is not None and Path(p).is_dir())


def _jobs(submission: Path, hidden: str | os.PathLike | None, key: str = "",
          only: list[str] | None = None, folder=None) -> list[Job]:
    hide = _hide(hidden, folder)
    jobs = [Job(c, submission, None, key, hide) for c in CHECKS]
    if hidden is not None:
        names = set(CHECKS.names())
        for f in hidden_files(hidden):
            for c in load_hidden(f):
                if c.name in names:
                    raise LabkitError(f"hidden check {c.name!r} in {f} has the name of another check")
                names.add(c.name)
                jobs.append(Job(c, submission, str(f), key, hide))
    if only is not None:
        known = [j.check.name for j in jobs]
        unknown = [n for n in only if n not in known]
        if unknown:
            raise LabkitError(f"--only {', '.join(unknown)}: no such check; the checks are: {', '.join(known)}")
        jobs = [j for j in jobs if j.check.name in only]
    return jobs


def _submission(path) -> Path:
    p = Path(path).resolve()
    if not p.is_dir():
        what = "is not a folder" if p.exists() else "does not exist"
        raise LabkitError(f"submission folder {path} {what} (it should be laid out like exercises/)")
    return p


def grade(submission: str | os.PathLike = "exercises", hidden: str | os.PathLike | None = None, workers: int | None = None,
          only: list[str] | None = None, progress: bool | Callable[[str], None] | None = None,
          left_out: dict[str, str] | None = None) -> Report:
    """Grade one submission; `only` names the checks to run (default: all); `progress` as for
    check(), each line named by its check (checks run at the same time share the line);
    `left_out`, what a copy of the submission made before (Gradescope's) left out and why, as
    submission_copy.copy_submission returns it: a check that needs such a file says why."""
    start = time.monotonic()
    sub = _submission(submission)
    jobs = _jobs(sub, hidden, only=only)
    for j in jobs:
        j.left_out = dict(left_out or {})
    show = progress_shower(progress)
    if show is not None:
        for j in jobs:
            j.progress = lambda text, name=j.check.name: show(f"{name}: {text}")
    try:
        results = run_jobs(jobs, workers)
    finally:
        if isinstance(show, _LineShower):
            show.end()
    return Report(str(submission), results, config.SEED, time.monotonic() - start)


def grade_many(folder: str | os.PathLike, hidden: str | os.PathLike | None = None, workers: int | None = None,
               only: list[str] | None = None,
               on_submission: Callable[[Report, int, int], None] | None = None) -> ManyReport:
    """Grade every subfolder of `folder` as one submission, all checks of all of them in one pool.

    `on_submission(report, done, total)`, if given, is called as each submission's last check ends
    (a progress line; the reports come in the order they finish).
    """
    start = time.monotonic()
    root = _submission(folder)
    subs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if not subs:
        raise LabkitError(f"{folder} has no submission folders in it")
    jobs = [j for s in subs for j in _jobs(s, hidden, s.name, only, root)]
    left = {s.name: 0 for s in subs}
    for j in jobs:
        left[j.key] += 1
    partial: dict[str, dict[int, CheckResult]] = {s.name: {} for s in subs}

    def done(i: int, result: CheckResult) -> None:
        key = jobs[i].key
        partial[key][i] = result
        left[key] -= 1
        if left[key] == 0 and on_submission is not None:
            finished = sum(1 for n in left.values() if n == 0)
            on_submission(_report(root / key, partial[key]), finished, len(subs))

    run_jobs(jobs, workers, done)
    reports = {s.name: _report(s, partial[s.name]) for s in subs}
    return ManyReport(str(folder), reports, time.monotonic() - start)


def _report(submission: Path, results: dict[int, CheckResult]) -> Report:
    ordered = [results[i] for i in sorted(results)]
    return Report(str(submission), ordered, config.SEED, sum(r.seconds for r in ordered))


def find_exercises() -> Path:
    """The learner's exercises/: $LABKIT_EXERCISES, or the nearest exercises/ above the current folder."""
    env = config.exercises_dir()
    if env:
        return _submission(env)
    here = Path.cwd().resolve()
    for d in [here, *here.parents]:
        if (d / "exercises").is_dir():
            return d / "exercises"
    raise LabkitError("cannot find your exercises/ folder; pass it: check(name, submission='path/to/exercises')")


def check(name: str, submission: str | os.PathLike | None = None,
          progress: bool | Callable[[str], None] | None = None) -> CheckResult:
    """Run one exercise's visible check on your work, isolated, with the grader's verdict.

    `progress`: True shows how far a long check is (a simulator fix's search) on one line that
    updates in place; a function gets each line instead; False shows nothing; None (default)
    is True in a notebook or on a terminal, where someone is waiting, and False elsewhere.
    """
    c = CHECKS.get(name)
    sub = _submission(submission) if submission is not None else find_exercises()
    show = progress_shower(_someone_watches() if progress is None else progress)
    try:
        result = run_job(Job(c, sub, hide=_hide(None), progress=show))
    finally:
        if isinstance(show, _LineShower):
            show.end()
    _record_progress(name, result)
    return result


def _someone_watches() -> bool:
    """Whether check()'s caller sees stderr as it is written: a terminal, or a Jupyter kernel's
    cell output (ipykernel's stream is no tty, but the notebook shows it at once)."""
    try:
        if sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):    # no stderr, or a closed one
        pass
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


class _LineShower:
    """Writes each progress line over the last on stderr (the line that updates in place), and
    wipes it when the check ends: the verdict follows on a clean line, and what a saved notebook
    keeps of it is the same blank line in every run."""

    def __init__(self) -> None:
        self.width = 0         # the longest line written (0: none yet)

    def __call__(self, text: str) -> None:
        self.width = max(self.width, len(text), 78)
        sys.stderr.write(f"\r{text:<{self.width}}")
        sys.stderr.flush()

    def end(self) -> None:
        if self.width:
            sys.stderr.write(f"\r{'':<{self.width}}\r")
            sys.stderr.flush()


def progress_shower(progress: bool | Callable[[str], None] | None) -> Callable[[str], None] | None:
    """check()'s `progress` as a function of one line (None: nothing shown; True: a _LineShower).
    runner.py calls it from its own thread, one whole line at a time."""
    if progress is None or progress is False:
        return None
    if progress is True:
        return _LineShower()
    if callable(progress):
        return progress
    raise LabkitError(f"progress must be True, False, None or a function of one line, not {progress!r}")


def _record_progress(name: str, result: CheckResult) -> None:
    """For `labkit progress`: the check's verdict, recorded like an answer ("exercise-NAME")."""
    from labkit.widgets import answer_store

    try:
        answer_store.record(f"exercise-{name}", result.status, result.passed)
    except LabkitError:
        pass        # progress is a convenience: an unwritable answers file never fails a check
