"""Run one check in its own process, with a timeout and resource limits, and classify how it ended.

Design note: a learner's code may crash (a C fix that segfaults), deadlock, loop forever, eat memory
or print without end. Each check therefore runs in a fresh process in its own session, in a scratch
directory, under rlimits (no core files, bounded output files, bounded CPU, bounded address space
except for native checks, because ThreadSanitizer reserves terabytes of address space). On timeout
the whole process group is killed. Whatever happens becomes a CheckResult that says what went wrong,
and the caller goes on with the next check. Jobs run in parallel on a thread pool (threads only wait
on processes), so a folder of submissions is graded across all cores in one command.

`LABKIT_GRADE_TIMEOUT` (seconds) overrides every check's own timeout, for CI or a slow machine.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from labkit import config
from labkit.errors import LabkitError
from labkit.grading.base import Check
from labkit.grading.model import CheckResult

_MiB = 1 << 20
OUTPUT_LIMIT = 64 * _MiB  # RLIMIT_FSIZE: a learner's endless print stops here
MEMORY_LIMIT = 4096 * _MiB  # RLIMIT_AS for pure-Python checks

_SIGNAL_HINTS = {
    signal.SIGSEGV: "a segmentation fault: a bad pointer, or a write past the end of a buffer",
    signal.SIGBUS: "a bus error: a bad pointer",
    signal.SIGABRT: "an abort: an assertion failed, or the code called abort()",
    signal.SIGFPE: "an arithmetic fault, such as a division by zero",
    signal.SIGXCPU: "the CPU-time limit was exceeded (an endless loop?)",
    signal.SIGXFSZ: "it wrote more than 64 MiB of output",
    signal.SIGKILL: "it was killed (perhaps out of memory)",
}


@dataclass
class Job:
    check: Check
    submission: Path
    hidden_file: str | None = None
    key: str = ""  # which submission this job belongs to when grading many


def timeout_for(check: Check) -> float:
    override = config.grade_timeout()
    return override if override is not None else check.timeout


def grade_user() -> tuple[int, int] | None:
    """The (uid, gid) checks run as: $LABKIT_GRADE_USER's, when the grader runs as root; else None.

    A stopgap until the grader's own sandbox: run_autograder (labkit.classroom) sets it on
    Gradescope, where everything runs as root, so a learner's code cannot write the results file
    or anything else of the grader's.
    """
    name = config.grade_user()
    if not name:
        return None
    import pwd
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise LabkitError(f"LABKIT_GRADE_USER={name}: no such user (create it, or unset the variable)") from None
    if os.geteuid() != 0:
        raise LabkitError(f"LABKIT_GRADE_USER={name}: running checks as another user needs root")
    return entry.pw_uid, entry.pw_gid


def _limits(check: Check, timeout: float, user: tuple[int, int] | None = None):
    def apply():
        if user is not None:
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT, OUTPUT_LIMIT))
        cpu = int(2 * timeout) + 10  # two cores' worth: the wall-clock timeout is the real bound
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        if not check.native:
            resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    return apply


def run_job(job: Job) -> CheckResult:
    check = job.check
    timeout = timeout_for(check)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="labkit-grade-") as scratch:
        out = Path(scratch) / "result.json"
        argv = [sys.executable, "-m", "labkit.grading.worker", str(out), check.name,
                str(Path(job.submission).resolve())]
        if job.hidden_file:
            argv.append(str(Path(job.hidden_file).resolve()))
        env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
        user = grade_user()
        if user is not None:  # the check's own home and build cache, in its scratch folder
            os.chown(scratch, *user)
            env["HOME"] = scratch
            env.pop("LABKIT_NATIVE_CACHE", None)
        with open(Path(scratch) / "stdout", "w+b") as so, open(Path(scratch) / "stderr", "w+b") as se:
            proc = subprocess.Popen(argv, cwd=scratch, env=env, stdin=subprocess.DEVNULL, stdout=so,
                                    stderr=se, start_new_session=True,
                                    preexec_fn=_limits(check, timeout, user))
            timed_out = False
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            _kill_group(proc)
            se.seek(0)
            stderr = se.read().decode(errors="replace")
        result = _classify(check, proc.returncode, timed_out, timeout, out, stderr)
    result.seconds = time.monotonic() - start
    return result


def _kill_group(proc: subprocess.Popen) -> None:
    # The worker leads its own session; kill it and anything the learner's code left behind.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _classify(check: Check, code, timed_out, timeout, out: Path, stderr: str) -> CheckResult:
    if not timed_out and out.is_file():
        try:
            return CheckResult.from_json(json.loads(out.read_text()))
        except (ValueError, KeyError):
            pass
    r = CheckResult(check.name, check.title, check.points, hidden=check.hidden, bonus=check.bonus)
    if timed_out:
        r.status = "timeout"
        r.bad(f"did not finish within {timeout:.0f} s and was stopped: a deadlock, or a loop that "
              f"never ends? (grading went on with the next check)")
    elif code is not None and code < 0:
        r.status = "crash"
        sig = signal.Signals(-code)
        r.bad(f"the check's process died of {sig.name}: {_SIGNAL_HINTS.get(sig, 'a fatal signal')}")
    else:
        r.status = "error"
        r.bad(f"the check's process exited with code {code} before reporting a result")
    tail = _tail(stderr)
    if tail:
        r.note("last lines of its error output:\n" + tail)
    return r


def _tail(text: str, lines: int = 8, width: int = 200) -> str:
    kept = [ln[:width] for ln in text.strip().splitlines()[-lines:]]
    return "\n".join("        " + ln for ln in kept)


def run_jobs(jobs: list[Job], workers: int | None = None, on_done=None) -> list[CheckResult]:
    """Run jobs in parallel (default: one per usable CPU); results come back in the jobs' order.

    Costly jobs go first (longest-processing-time order), so a long one does not start last
    while the other cores sit idle. `on_done(index, result)`, if given, is called as each job ends.
    """
    workers = workers or config.cpu_count()
    order = sorted(range(len(jobs)), key=lambda i: (-jobs[i].check.cost, i))
    results: list[CheckResult | None] = [None] * len(jobs)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_job, jobs[i]): i for i in order}
        for fut in as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            if on_done is not None:
                on_done(i, results[i])
    return results
