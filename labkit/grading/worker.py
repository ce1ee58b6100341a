"""The process one check runs in: main(), in a fork of the fork server (forkserver.py), its job as
JSON on stdin. (`python -m labkit.grading.worker` runs the same, started afresh.)

Design note: this is the only process where a learner's code runs (the learner's C runs in its
own children). It reports observations, plain JSON data, on the pipe whose number is in
$LABKIT_RESULT_FD, and nothing else it does matters: the grader (runner.py) checks the shape of
that data and judges it where learner code never ran. Nothing of the job is on the command line
or in the fork server (an instructor's hidden checks come as source text on stdin, not as a path),
so /proc/<pid>/cmdline names nothing. When the grader is root, this process starts as PID 1 of its own PID namespace and
mount namespace: it hides the paths it is told to (tmpfs over them) and drops to its own uid
before it loads anything of the learner's.
"""

from __future__ import annotations

import json
from typing import Any
import os
import sys

from labkit import config

#: Longest job description read from stdin (an instructor's hidden file comes in it).
MAX_JOB = 4 << 20


def observe(check: Any, submission_dir: str, shown_as: str | None = None, part: Any = None,
            skipped: dict | None = None) -> dict:
    """Run the check's observing half (or one part of it) on the submission; {"kind": ..., ...}
    as plain data."""
    from labkit.errors import LabkitError
    from labkit.grading.base import Ctx, LearnerError, Missing, Submission
    sub = Submission(submission_dir, shown_as, skipped)
    try:
        for name in check.files:
            sub.file(name)
        if check.judge is None:  # a hidden check scores itself; the grader re-adds and clamps
            ctx = Ctx(check)
            check.fn(sub, ctx)
            r = ctx.result
            return {"kind": "parts", "parts": ctx.parts,
                    "lines": [[ln.kind, ln.text] for ln in r.lines]}
        data = check.fn(sub) if check.parts is None else check.fn(sub, part)
        return {"kind": "observed", "data": data}
    except Missing as exc:
        return {"kind": "missing", "text": str(exc)}
    except (LearnerError, LabkitError) as exc:
        return {"kind": "learner_error", "text": str(exc)}
    except MemoryError:
        return {"kind": "learner_error", "text": "the check ran out of memory while running your "
                                                 "code (every check's memory is bounded)"}
    except RecursionError:
        return {"kind": "learner_error", "text": "your code recursed too deeply"}
    except Exception as exc:  # most likely a learner's value our checking code could not digest
        return {"kind": "error", "text": f"{type(exc).__name__}: {str(exc)[:300]}"}


def load_check(job: dict) -> Any:
    hidden = job.get("hidden")
    if hidden:
        from labkit.grading.hidden import load_hidden_source
        return load_hidden_source(hidden["source"], hidden["name"]).get(job["check"])
    from labkit.grading.exercises import CHECKS
    return CHECKS.get(job["check"])


def _init_process() -> None:
    """As PID 1 of the check's namespace we would ignore even a SIGSEGV sent to ourselves (the
    kernel shields PID 1), so the check runs in a child, and PID 1 only waits for it and passes on
    how it ended: an exit code, or 128 + the signal that killed it. When PID 1 exits, the kernel
    kills everything left in the namespace."""
    child = os.fork()
    if child == 0:
        return
    while True:
        pid, status = os.waitpid(-1, 0)  # also reaps orphans reparented to us
        if pid == child:
            break
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def main() -> int:
    if os.getpid() == 1:
        _init_process()
    out = os.fdopen(config.take_result_fd(), "w")
    progress_fd = config.take_progress_fd()   # lines for whoever watches (display only)
    job = json.loads(sys.stdin.read(MAX_JOB))
    sys.stdin.close()
    from labkit.grading import sandbox
    if job.get("uid") is not None:  # root, in our own namespaces: hide, then drop root for good
        here = os.path.dirname(os.path.abspath(__file__))  # labkit/grading: the package's root is 2 up
        python = [sys.base_prefix, sys.prefix, os.path.dirname(os.path.dirname(here))]
        sandbox.expose(python, job["stash"])
        sandbox.hide_paths(job.get("hide", []))
        sandbox.private_folders(os.getcwd(), [config.native_engine() or "", *python],
                                job["uid"], config.grade_memory_mb() << 20)
        sandbox.drop_privileges(job["uid"])
    else:
        sandbox.become_subreaper()
    from labkit.grading.base import set_progress_fd
    set_progress_fd(progress_fd)
    check = load_check(job)  # the hidden source is compiled before any learner code runs
    report = observe(check, job["submission"], job.get("shown_as"), job.get("part"), job.get("skipped"))
    sandbox.kill_descendants()
    report["check"], report["part"] = check.name, job.get("part")
    out.write(json.dumps(report))
    out.flush()
    os._exit(0)  # no atexit or finaliser a learner's code may have left behind runs after this


if __name__ == "__main__":
    sys.exit(main())
