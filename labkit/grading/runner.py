"""Run one check in its own sandboxed process, then judge what it observed, here.

Design note: a learner's code may crash (a C fix that segfaults), deadlock, loop forever, eat memory,
print without end, fork daemons, or try to forge its result. Each check therefore runs in a fresh
worker (worker.py, forked by forkserver.py from a process that has imported the checks' code, so
it starts in milliseconds) inside the sandbox of sandbox.py (its own PID namespace, cgroup and uid when the
grader is root; a subreaper and a memory watcher otherwise), under rlimits (no core files, bounded
output files and CPU, bounded address space for Python checks), with a minimal environment and a
private copy of the submission in a scratch folder. The worker sends back plain observations on a
pipe; its files, output and exit code decide nothing. Here, where learner code never ran, the
observations' shape and check name are checked and the check's `judge` turns them into a verdict,
its score clamped to [0, points]. Whatever happens becomes a CheckResult that says what went wrong,
and the caller goes on with the next check. Jobs run in parallel on a thread pool (threads only
wait on processes), so a folder of submissions is graded across all cores in one command. A check
that alone is more than a core's share of the work (a learner's one check of a simulator fix) runs
as one worker per part (each in a sandbox of its own, under the check's limits), and is judged
once from the parts' observations, merged into what the whole check would have observed; the parts
share the check's timeout (Budget: the time they had a CPU, summed; a starved machine does not
make a right fix time out, and a wall-clock backstop ends any check). The
native engine's objects are compiled here, once, into a folder only the grader writes; checks
link them (EngineBuild).
See threat_model.py for what this guarantees and what it does not.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from labkit import config
from labkit.answer_values import cut
from labkit.errors import LabkitError
from labkit.grading import forkserver, sandbox
from labkit.grading.base import Check, Ctx, Missing
from labkit.grading.forkserver import ForkServer, Worker
from labkit.grading.model import CheckResult
from labkit.grading.submission_copy import copy_submission
from labkit.native.detect import ChildClock, Scheduled, runqueue_waits

_MiB = 1 << 20
OUTPUT_LIMIT = 64 * _MiB  # RLIMIT_FSIZE: a learner's endless print stops here
MAX_REPORT = 16 * _MiB  # the most the grader reads of a worker's observations
LEARNER_TEXT = 300  # characters of learner-made text (messages, values) a report shows
BUDGET_POLL_S = 0.25  # how often a worker's wait looks at its check's budget (Budget)

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
    hide: tuple = field(default_factory=tuple)  # folders learner code must not see (root only)
    progress: Callable[[str], None] | None = None  # shown a line while it runs (sim checks send them)
    left_out: dict = field(default_factory=dict)  # files an earlier copy left out, and why (Gradescope's)


def timeout_for(check: Check) -> float:
    return config.grade_timeout() or check.timeout


def grade_user() -> tuple[int, int] | None:
    """The (uid, gid) of $LABKIT_GRADE_USER, when the grader runs as root; else None.

    Set by run_autograder (labkit.classroom) on Gradescope. In root mode every check runs under
    its own uid anyway (sandbox.take_uid); a named user replaces that uid, for an instructor who
    wants checks to run as an account of theirs."""
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


def memory_limit() -> int:
    return config.grade_memory_mb() * _MiB


def _rlimits(check: Check, timeout: float) -> dict:
    """The worker's rlimits, {name: [soft, hard]} as forkserver sets them."""
    cpu = int(2 * timeout) + 10  # two cores' worth: the check's Budget is the real bound
    limits = {"core": [0, 0], "fsize": [OUTPUT_LIMIT, OUTPUT_LIMIT], "cpu": [cpu, cpu + 5]}
    if not check.native:
        mem = memory_limit() + 512 * _MiB  # address space: a little above the memory bound
        limits["as"] = [mem, mem]
    return limits


def _engine_home(root: bool) -> str:
    """Where the grader keeps the engine objects its checks link (they only read them).

    As root, a folder of /tmp that must be root's own and writable by nobody else (a folder
    someone else made there is not used: a fresh private one is); otherwise the grader's own cache."""
    if not root:
        from labkit.native._cbuild import engine_dir
        return engine_dir()
    d = Path(tempfile.gettempdir()) / f"labkit-grade-engine-{os.geteuid()}"
    try:
        d.mkdir(mode=0o755)
    except FileExistsError:
        pass
    st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        d = Path(tempfile.mkdtemp(prefix="labkit-grade-engine-"))
    os.chmod(d, 0o755)
    return str(d)


class EngineBuild:
    """The native engine's objects (both flavours), compiled by the grader once for all its
    checks, in a thread, while the first checks already run; a native check waits for it.

    Only the grader writes them: a check's learner code can read them, never replace them. If
    they cannot be built (no compiler), `folder()` is None and each check builds (and fails)
    as before, saying why."""

    def __init__(self, root: bool) -> None:
        self.root = root
        self._folder: str | None = None
        self._thread = threading.Thread(target=self._build, daemon=True)
        self._thread.start()

    def _build(self) -> None:
        try:
            from labkit.native import _cbuild
            home = _engine_home(self.root)
            for tsan in (False, True):
                _cbuild.engine_objects(tsan, into=home)
            self._folder = home
        except Exception:  # the checks' own builds then report the problem in the learner's terms
            self._folder = None

    def folder(self) -> str | None:
        self._thread.join()
        return self._folder


def _base_env() -> dict:
    """A minimal environment: nothing of the grader's own (paths, tokens) reaches learner code.
    The fork server starts with it (a forked worker's /proc/self/environ is the server's)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
           "PYTHONDONTWRITEBYTECODE": "1"}
    for k, v in os.environ.items():
        if k == "CC" or k in config.WORKER_SETTINGS:
            env[k] = v
    return env


def _env(scratch: Path, engine: str | None = None) -> dict:
    """A check's environment: the minimal one, with its own HOME and TMPDIR."""
    env = dict(_base_env(), HOME=str(scratch / "home"), TMPDIR=str(scratch / "tmp"))
    # No LABKIT_NATIVE_CACHE: a check's builds of learner C go to its own HOME's cache, inside
    # its scratch folder. A cache shared by the checks' uids would let one submission plant a
    # module for C that another submission (or the untouched template) will load.
    if engine is not None:
        env["LABKIT_NATIVE_ENGINE"] = engine
    return env


_cgroup_ids = itertools.count()


@dataclass
class Unit:
    """What one worker process left behind: its observations (raw) and how it ended.

    A check runs as one unit, or, if it declares parts (Check.parts), as one unit per part, each a
    worker of its own in its own sandbox; the grader judges them together (judge_units)."""
    part: object = None  # the part this worker observed (None: the whole check)
    raw: bytes = b""
    code: int | None = None
    timed_out: bool = False
    timeout: float = 0.0
    over_memory: bool = False
    stderr: str = ""
    start: float = 0.0
    end: float = 0.0
    late: str = ""  # timed out: how ("within 120 s of the time it had a CPU (130 s in all)")


class Budget:
    """A check's timeout, shared by all its workers: the time they had a CPU, summed, may not pass
    it, nor may their wall time, summed, pass a backstop of ChildClock's (four times it, at least a
    minute more).

    So a check split into parts (units_of) gets no more time than the whole check would: a part
    that hangs spends the budget of the others as it runs, and a part that starts after the budget
    is spent does not run. The time a worker had a CPU is its wall time less the longest time any
    thread of its tree waited, runnable, for one (detect.Scheduled, as a stress run's child is
    timed: `waits` reads the tree's run-queue waits), so that a right fix on a loaded machine is
    not stopped as hung: measured, benchmarks/bench_starved.py --whole. A worker begun without
    `waits` is counted by the wall clock."""

    #: the most one look at a worker's clock may add (it is looked at every BUDGET_POLL_S or sooner)
    MAX_CREDIT_S = 2 * BUDGET_POLL_S

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self.backstop = max(ChildClock.WALL_FACTOR * seconds, seconds + ChildClock.WALL_MIN_S)
        self._lock = threading.Lock()
        self._ran = self._wall = 0.0   # of the workers that have ended
        self._running: dict[int, list] = {}   # worker key -> [start, Scheduled or None, time with a CPU]
        self._keys = itertools.count()

    def begin(self, waits: Callable[[], dict[int, int]] | None = None) -> int:
        with self._lock:
            key = next(self._keys)
            clock = Scheduled(self.clock, waits, self.MAX_CREDIT_S) if waits is not None else None
            self._running[key] = [self.clock(), clock, 0.0]
            return key

    def end(self, key: int) -> None:
        with self._lock:
            self._tick()
            start, _, ran = self._running.pop(key)
            self._ran += ran
            self._wall += self.clock() - start

    def _tick(self) -> None:
        now = self.clock()
        for run in self._running.values():
            run[2] = run[2] + run[1].tick() if run[1] is not None else now - run[0]

    def _spent(self) -> tuple[float, float]:
        """(the time with a CPU, the wall time) all workers have spent, those running too."""
        self._tick()
        now = self.clock()
        return (self._ran + sum(r[2] for r in self._running.values()),
                self._wall + sum(now - r[0] for r in self._running.values()))

    def left(self) -> tuple[float, int]:
        """(seconds left, workers running now): of the time with a CPU, or of the backstop."""
        with self._lock:
            ran, wall = self._spent()
            return min(self.seconds - ran, self.backstop - wall), len(self._running)

    def why(self) -> str:
        """How a spent budget was spent, for a timed-out check's message."""
        with self._lock:
            ran, wall = self._spent()
        if ran >= self.seconds:
            return f"within {self.seconds:.0f} s of the time it had a CPU ({wall:.0f} s in all)"
        return (f"in {wall:.0f} s (only {ran:.1f} s of them with a CPU: a machine this starved "
                f"cannot judge it)")


def parts_of(check: Check) -> list[tuple[object, float]]:
    """[(part, cost)] for a check that can be split into parts, else [(None, its cost)]."""
    return check.parts() if check.parts is not None else [(None, check.cost)]


def units_of(jobs: list[Job], workers: int) -> list[tuple[int, object, float]]:
    """(job index, part, cost) of every worker to run. A check is split into its parts only when
    it alone costs more than a core's fair share of all the work (a learner's one check, or a
    grader with many cores): then splitting shortens the whole; otherwise the cores are kept
    busy by other checks anyway, and one worker per check starts fewer processes."""
    split = [parts_of(j.check) for j in jobs]
    whole = [sum(cost for _, cost in parts) for parts in split]
    fair = sum(whole) / max(1, workers)
    units = []
    for i, parts in enumerate(split):
        if parts[0][0] is not None and len(parts) > 1 and workers > 1 and whole[i] > fair:
            units += [(i, part, cost) for part, cost in parts]
        else:
            units.append((i, None, whole[i]))
    return units


def run_job(job: Job) -> CheckResult:
    """One check, its parts (if any) in parallel, judged here."""
    return run_jobs([job])[0]


def run_unit(job: Job, part: object = None, engine: EngineBuild | None = None,
             server: ForkServer | None = None, budget: Budget | None = None) -> Unit:
    """Run one worker (the whole check, or one part of it) in its sandbox; what it left behind.
    A native check links the engine objects of `engine` (else it compiles the engine itself);
    the worker is forked by `server` (else by this process's shared one). It runs within
    `budget`, its check's timeout (shared by the check's parts)."""
    check = job.check
    budget = budget or Budget(timeout_for(check))
    timeout = budget.seconds
    start = time.monotonic()
    if budget.left()[0] <= 0:   # the check's other parts have spent its time: this one is not run
        return Unit(part, b"", None, True, timeout, False, "", start, start, budget.why())
    server = server or forkserver.shared(_base_env())
    engine_folder = engine.folder() if engine is not None and check.native else None
    root = sandbox.has_pid_namespaces()
    named = grade_user()
    uid = (named[0] if named else sandbox.take_uid()) if root else None
    cgroup = (sandbox.Cgroup(f"labkit-grade-{os.getpid()}-{next(_cgroup_ids)}", memory_limit())
              if root and sandbox.Cgroup.available() else None)
    scratch = Path(tempfile.mkdtemp(prefix="labkit-grade-"))
    try:
        sub = scratch / "submission"
        skipped = {**copy_submission(job.submission, sub, check.files), **job.left_out}
        for d in ("home", "tmp"):
            (scratch / d).mkdir()
        if uid is not None:
            for p in [scratch, *scratch.rglob("*")]:
                if p.name != "stash":
                    os.chown(p, uid, uid)
            os.chmod(scratch, 0o700)
        hidden = None
        if job.hidden_file:
            hidden = {"name": Path(job.hidden_file).name, "source": Path(job.hidden_file).read_text()}
        (scratch / "stash").mkdir(mode=0o700)
        spec = {"check": check.name, "part": part, "submission": str(sub), "hidden": hidden, "uid": uid,
                "shown_as": str(Path(job.submission).resolve()), "skipped": skipped,
                "stash": str(scratch / "stash"),
                "hide": [str(Path(p).resolve()) for p in job.hide]}
        read_fd, write_fd = os.pipe()
        fds = {"LABKIT_RESULT_FD": write_fd}
        progress_fds: tuple = ()
        if job.progress is not None:   # the worker's progress lines, on a pipe of their own
            progress_fds = os.pipe()
            fds["LABKIT_PROGRESS_FD"] = progress_fds[1]
        spec_r, spec_w = os.pipe()
        with open(scratch / "stderr", "w+b") as se:
            request = {"cwd": str(scratch), "env": _env(scratch, engine_folder), "pidns": root,
                       "rlimits": _rlimits(check, timeout),
                       "cgroup": [str(d / "cgroup.procs") for d in cgroup.dirs] if cgroup else []}
            try:
                proc = server.spawn(request, spec_r, se.fileno(), fds)
            except BaseException:
                for f in (read_fd, spec_w, *progress_fds[:1]):
                    os.close(f)
                raise
            finally:
                for f in (spec_r, write_fd, *progress_fds[1:]):
                    os.close(f)
            chunks: list[bytes] = []
            reader = threading.Thread(target=_read_report, args=(read_fd, chunks), daemon=True)
            reader.start()
            shower = None
            if progress_fds:
                shower = threading.Thread(target=_show_progress, args=(progress_fds[0], job.progress),
                                          daemon=True)
                shower.start()
            try:
                with open(spec_w, "wb") as stdin:
                    stdin.write(json.dumps(spec).encode())
            except BrokenPipeError:
                pass
            key = budget.begin(_tree_waits(proc))
            try:
                timed_out, over_memory = _wait(proc, budget, watch_memory=cgroup is None)
            finally:
                budget.end(key)
            if cgroup is not None:
                over_memory = over_memory or cgroup.hit_memory_limit()
                cgroup.kill()
            else:
                sandbox.kill_tree(proc.pid)
            _kill_group(proc)
            reader.join(10)
            if shower is not None:
                shower.join(10)
            se.seek(0)
            stderr = se.read(64 * 1024).decode(errors="replace")
        return Unit(part, b"".join(chunks), proc.returncode, timed_out, timeout, over_memory, stderr,
                    start, time.monotonic(), budget.why() if timed_out else "")
    finally:
        if cgroup is not None:
            cgroup.close()
        if uid is not None and not named:
            sandbox.give_uid(uid)
        shutil.rmtree(scratch, ignore_errors=True)


def _read_report(fd: int, chunks: list) -> None:
    size = 0
    with os.fdopen(fd, "rb") as f:
        while True:
            b = f.read(1 << 16)
            if not b:
                return
            size += len(b)
            if size > MAX_REPORT:
                chunks.clear()
                chunks.append(b"\0too big")
                return
            chunks.append(b)


def _show_progress(fd: int, show: Callable[[str], None]) -> None:
    """Pass each progress line of the worker to `show`, printable and cut short: display only (a
    learner's code could write on this pipe too; nothing here reaches a verdict)."""
    with os.fdopen(fd, "rb") as f:
        while raw := f.readline(4096):     # (a line is at most this long: the rest is the next one)
            text = "".join(c for c in raw.decode(errors="replace") if c.isprintable())[:200]
            if text:
                try:
                    show(text)
                except Exception:   # a display that fails must not fail the check
                    pass


def _tree_waits(proc: Worker) -> Callable[[], dict[int, int]]:
    """What a worker's Budget clock reads: each thread of its tree, the time it has waited,
    runnable, for a CPU (proc.pid is the fork server's monitor, which runs nothing of the check's)."""
    def waits() -> dict[int, int]:
        out: dict[int, int] = {}
        for pid in sandbox.tree(proc.pid) - {proc.pid}:
            out.update(runqueue_waits(pid))
        return out
    return waits


def _wait(proc, budget: Budget, watch_memory: bool) -> tuple[bool, bool]:
    """(timed out, over memory). Without a cgroup, the tree's resident memory is watched."""
    limit = memory_limit()
    while True:
        left, running = budget.left()
        if left <= 0:
            return True, False
        # When the budget would run out if the workers of the check running now go on, looked at
        # again at least every BUDGET_POLL_S (another part may start and spend it faster).
        wait = min(left / max(1, running), BUDGET_POLL_S)
        try:
            proc.wait(min(wait, sandbox.WATCH_SECONDS) if watch_memory else wait)
            return False, False
        except subprocess.TimeoutExpired:
            pass
        # (proc.pid is the fork server's monitor: it runs nothing of the check's and its pages are
        # the server's; the worker's own tree is what the check uses)
        if watch_memory and sandbox.rss(sandbox.tree(proc.pid) - {proc.pid}) > limit:
            return False, True


def _kill_group(proc: Worker) -> None:
    # The worker leads its own session; kill it and anything left in its group.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


REPORT_KINDS = ("observed", "parts", "missing", "learner_error", "error")


def judge_report(check: Check, raw: bytes, code: int | None, timed_out: bool, timeout: float,
                 over_memory: bool, stderr: str) -> CheckResult:
    """The verdict on one worker's observations (plain data) and nothing else."""
    return judge_units(check, [Unit(None, raw, code, timed_out, timeout, over_memory, stderr)])


def judge_units(check: Check, units: list[Unit]) -> CheckResult:
    """The verdict, made here from the workers' observations (plain data) and nothing else.

    A check in parts is judged as one: the first part (in the check's order) that did not report
    observations decides the result (its timeout, crash, missing file or learner error), else the
    parts' observations are merged (Check.merge, in the order the grader asked for them) and judged
    as the whole check's observations would be."""
    reports = []
    for unit in units:
        screened = _screen(check, unit)
        if isinstance(screened, CheckResult):
            return screened
        reports.append(screened)
    kinds = {r["kind"] for r in reports}
    ctx = Ctx(check)
    r = ctx.result
    try:
        if kinds == {"parts"} and len(reports) == 1 and check.judge is None:
            _judge_parts(reports[0], ctx)
        elif kinds == {"observed"} and check.judge is not None:
            data = [rep["data"] for rep in reports]
            whole = len(units) == 1 and units[0].part is None
            if whole:
                check.judge(data[0], ctx)
            elif check.merge is None:
                raise ValueError("parts from a check that cannot merge them")
            else:
                check.judge(check.merge(data), ctx)
        else:
            raise ValueError(f"reports of kinds {sorted(kinds)}")
    except Missing as exc:  # judged from the data: a stub still in place
        r = Ctx(check).result
        r.missing(cut(str(exc), LEARNER_TEXT))
        r.score, r.status = 0.0, "missing"
        return r
    except Exception as exc:  # malformed observations: they earn nothing
        ctx = Ctx(check)
        ctx.bad(f"the check's observations were not in the expected form "
                f"({type(exc).__name__}: {cut(str(exc), 120)}); nothing is scored")
        r = ctx.finish()
        r.status = "error"
        return r
    return ctx.finish()


def _screen(check: Check, unit: Unit) -> CheckResult | dict:
    """One worker's report if it is one of this check (and part) with observations to judge; else
    the result it comes to on its own (timed out, out of memory, crashed, missing, learner error)."""
    r = Ctx(check).result
    if unit.timed_out:
        r.status = "timeout"
        r.bad(f"did not finish {unit.late or f'within {unit.timeout:.0f} s'} and was stopped: a deadlock, "
              f"or a loop that never ends? (grading went on with the next check)")
        return r
    if unit.over_memory:
        r.status = "crash"
        r.bad(f"used more than {config.grade_memory_mb()} MiB of memory and was stopped (every check's "
              f"memory is bounded; is something allocated in a loop and never freed?)")
        return r
    code, raw = unit.code, unit.raw
    report = _parse(raw)
    if report is None or report.get("check") != check.name or report.get("kind") not in REPORT_KINDS \
            or report.get("part") != unit.part:
        if code is not None and code > 128 and sandbox.has_pid_namespaces():
            code = 128 - code  # the namespace's PID 1 passes a signal on as 128 + its number
        if code is not None and code < 0:
            r.status = "crash"
            sig = signal.Signals(-code)
            r.bad(f"the check's process died of {sig.name}: {_SIGNAL_HINTS.get(sig, 'a fatal signal')}")
        else:
            r.status = "error"
            r.bad("the check's process ended without reporting what it observed"
                  + (" (its report was not in the expected form)" if raw else ""))
        tail = _tail(unit.stderr)
        if tail:
            r.note("last lines of its error output:\n" + tail)
        return r
    kind = report["kind"]
    text = cut(str(report.get("text", "")), LEARNER_TEXT)
    if kind == "missing":
        r.missing(text)
        r.score, r.status = 0.0, "missing"
        return r
    if kind == "learner_error":
        r.bad(text)
        r.score, r.status = 0.0, "fail"
        return r
    if kind == "error":
        r.bad(f"the check could not finish: {text}")
        r.score, r.status = 0.0, "error"
        return r
    return report


def _parse(raw: bytes):
    try:
        report = json.loads(raw.decode())
    except (ValueError, UnicodeDecodeError):
        return None
    return report if isinstance(report, dict) else None


def _judge_parts(report: dict, ctx: Ctx) -> None:
    """A hidden check's own parts: each must be [bool, points within the check's, bool]."""
    limit = ctx.check.points
    for ok, points, required in report["parts"]:
        if type(ok) is not bool or type(required) is not bool or not isinstance(points, (int, float)) \
                or isinstance(points, bool) or not math.isfinite(points) or not 0 <= points <= limit:
            raise ValueError("a part is not [passed, points, required]")
        ctx.part(ok, points, required=required)
    for kind, text in report["lines"]:
        if kind not in ("GOOD", "BAD", "MISSING", "NOTE"):
            raise ValueError(f"line kind {kind!r}")
        getattr(ctx.result, kind.lower())(cut(str(text), LEARNER_TEXT))


def _tail(text: str, lines: int = 8, width: int = 200) -> str:
    kept = [ln[:width] for ln in text.strip().splitlines()[-lines:]]
    return "\n".join("        " + ln for ln in kept)


def run_jobs(jobs: list[Job], workers: int | None = None,
             on_done: Callable[[int, CheckResult], None] | None = None) -> list[CheckResult]:
    """Run jobs in parallel (default: one per usable CPU); results come back in the jobs' order.

    Each job runs as one worker, or one per part of its check (units_of), all in one pool. Costly
    workers go first (longest-processing-time order), so a long one does not start last while the
    other cores sit idle. A job is judged as soon as its last worker ends; `on_done(index, result)`,
    if given, is then called.
    """
    workers = workers or config.cpu_count()
    units = units_of(jobs, workers)
    order = sorted(range(len(units)), key=lambda u: (-units[u][2], u))
    engine = EngineBuild(sandbox.has_pid_namespaces()) if any(j.check.native for j in jobs) else None
    return _run_units(jobs, units, order, workers, engine, forkserver.shared(_base_env()), on_done)


def _run_units(jobs, units, order, workers, engine, server, on_done) -> list[CheckResult]:
    left = [0] * len(jobs)
    for i, _, _ in units:
        left[i] += 1
    done_units: list[dict[int, Unit]] = [{} for _ in jobs]
    results: list[CheckResult | None] = [None] * len(jobs)
    budgets = [Budget(timeout_for(j.check)) for j in jobs]   # a check's parts share its timeout
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_unit, jobs[units[u][0]], units[u][1], engine, server,
                               budgets[units[u][0]]): u for u in order}
        for fut in as_completed(futures):
            u = futures[fut]
            i = units[u][0]
            done_units[i][u] = fut.result()
            left[i] -= 1
            if left[i]:
                continue
            ran = [done_units[i][k] for k in sorted(done_units[i])]  # in the check's order of parts
            result = judge_units(jobs[i].check, ran)
            result.seconds = sum(x.end - x.start for x in ran)  # the time its workers ran
            results[i] = result
            if on_done is not None:
                on_done(i, result)
    return [r for r in results if r is not None]   # every job's, in order: all have been judged
