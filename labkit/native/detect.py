"""Detect mode: the race on real threads, every copy bounds-checked, safe in a notebook.

Design note: lk_start returns at once and the C threads run with the GIL released, so this
module polls (every POLL_S) to feed a progress callback and to honour a stop Event. A learner's
C runs in a child process (labkit.native._child, forked by _zygote), because a bad pointer in it would otherwise
kill the notebook's kernel; the child streams the same progress lines back.
"""

import json
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from labkit.errors import LabkitError
from labkit.native import _args, _cbuild, _zygote
from labkit.native.results import RaceResult

POLL_S = 0.05
#: A learner's C in a child: a thread that makes no progress this long (no round of R's, no
#: install of W's or X's) stops the run, reported with who holds kstat_chain_lock and where each
#: thread is (engine.c lk_stuck). At most this, and well inside the child's timeout. Counted in
#: the time the run was given the CPU (_Stall), so that a loaded or paused machine cannot fake it.
STALL_S = 5.0
#: What one poll may add to a thread's time without progress: a poll that comes later than this
#: after the one before means this process was not running (stopped, or starved of CPU).
MAX_POLL_CREDIT_S = 2 * POLL_S
#: progress(rounds, overflows, elapsed_s), called about every POLL_S seconds
Progress = Callable[[int, int, float], None]
_one_run = threading.Lock()   # the chain is a C global: one in-process run at a time


def race(fix: str | None = None, *, seconds: float | None = None, rounds: int | None = None,
         window_ns: int | None = None, seed: int = 0, source: str | os.PathLike | None = None,
         progress: Progress | None = None, stop: threading.Event | None = None, forced: bool = False,
         timeout: float | None = None, interrupts: bool = True, writers: int = 1,
         kstats: int | None = None) -> RaceResult:
    """Run reader R and writer W for `seconds` (default 1) or `rounds` reader rounds.

    progress(rounds, overflows, elapsed_s) is called about every 50 ms; setting the
    threading.Event `stop` ends the run early. `source` is a learner's C file (see
    learner_template.c), run in a child process that is killed after `timeout` seconds of the
    time it had a CPU (ChildClock: a starved machine gets more time, up to 4 times it, at least a
    minute more, on the wall clock).
    interrupts=False turns off the writer's delayed installs (about one in 512 is held up to
    20 µs between its hold and its clear: the engine's stand-in for an interrupt, a modelling
    choice), to show what the race does without them. writers=2 adds thread X, a second
    zone_create at the same time (forced mode then has both clear between R's passes in odd
    rounds, and X install only after R's read in even ones). `kstats`: the chain's length
    besides the header kstat (default 64; the seed's kernel had 5698).
    """
    variant, label = _args.variant(fix, source)
    window_ns, seed = _args.window(window_ns), _args.seed(seed)
    seconds, rounds = _args.budget(seconds, rounds)
    params = dict(variant=variant, label=label, seconds=seconds, rounds=rounds,
                  window_ns=window_ns, seed=seed, forced=bool(forced), interrupts=bool(interrupts),
                  writers=_args.writers(writers), nkstats=_args.kstats(kstats))
    if source is None:
        return run_here(_cbuild.load(), params, progress, stop)
    _cbuild.load(source)   # compile errors surface here, in the caller, as a LabkitError
    params["source"] = os.fspath(source)
    if timeout is None:
        timeout = (seconds or 0) + 60
    params["stall_s"] = min(STALL_S, timeout / 3)
    return _run_child(params, progress, stop, timeout)


def run_here(ffi_lib: tuple[Any, Any], p: dict, progress: Progress | None = None,
             stop: threading.Event | None = None) -> RaceResult:
    ffi, lib = ffi_lib
    if not _one_run.acquire(blocking=False):
        raise LabkitError("another native race is running in this process; wait for it or stop it")
    try:
        lib.lk_set_interrupts(int(p.get("interrupts", True)))   # the delayed installs: a model choice
        lib.lk_set_writers(int(p.get("writers", 1)))
        if lib.lk_setup(p["variant"].encode(), int(p.get("crash", False)), int(p["forced"]), p["window_ns"], p["seed"],
                        p.get("nkstats", _args.KSTATS)) != 0:
            raise LabkitError(_text(ffi, lib.lk_error()))
        plan = p.get("plan")     # crash --schedule: one round in a simulator schedule's order
        if plan and lib.lk_schedule(int(plan["create_after"]), plan["clear_phase"], int(plan["firewall"])) != 0:
            raise LabkitError(_text(ffi, lib.lk_error()))
        max_ns = int(p["seconds"] * 1e9) if p["seconds"] else 0
        lib.lk_start(p["rounds"] or 0, max_ns)
        stats = ffi.new("struct lk_stats *")
        stall_s = p.get("stall_s")   # set for a learner's C in a child (_run_child)
        watch = _Stall(float(stall_s)) if stall_s else None
        stuck = None
        try:
            while True:
                lib.lk_poll(stats)
                if stats.done:
                    break
                if progress is not None:
                    progress(stats.rounds, stats.overflows, stats.elapsed_ns / 1e9)
                if stop is not None and stop.is_set():
                    break
                if watch is not None and watch.stalled(stats):
                    stuck = _stuck(ffi, lib, why_stuck(watch.who(), watch.seconds))
                    break
                time.sleep(POLL_S)
        finally:
            if watch is None:
                lib.lk_stop()
            elif stuck is None and not _stopped(lib, watch.seconds):
                stuck = _stuck(ffi, lib, why_stuck("", watch.seconds))
        lib.lk_poll(stats)
        if stuck is not None:   # its threads cannot be joined: the child process reports and ends
            error = _text(ffi, lib.lk_error()) if stats.error else None
            return hung(p, stuck, error)
        if stats.error:
            raise LabkitError(_text(ffi, lib.lk_error()))
        if plan and stats.forced_timeouts:
            raise LabkitError("the native threads could not follow the schedule: one waited 5 s "
                              "for the other to reach its point (a machine this loaded?)")
        if progress is not None:
            progress(stats.rounds, stats.overflows, stats.elapsed_ns / 1e9)
    finally:
        _one_run.release()
    return result(stat_values(ffi, stats), p)


def _stopped(lib: Any, seconds: float, scheduled: "Scheduled | None" = None) -> bool:
    """Stop the run and wait for its threads to end, for at most `seconds` of the time this process
    had a CPU (lk_stop_within, POLL_S at a time: a starved machine must not make a thread that
    is about to return look stuck). True: stopped and joined."""
    scheduled = scheduled or Scheduled()
    waited = 0.0
    while lib.lk_stop_within(int(POLL_S * 1e9)) != 0:
        waited += scheduled.tick()
        if waited > seconds:
            return False
    return True


def _is_stopped(pid: int) -> bool:
    """Whether process pid is stopped by a signal or a tracer (state T or t in /proc/pid/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
    except (OSError, IndexError):
        return False


def runqueue_waits(pid: int | str = "self") -> dict[int, int]:
    """Each thread of process `pid` (this one by default): the nanoseconds it has waited,
    runnable, for a CPU (the kernel's schedstat run_delay); empty where /proc has no schedstat
    (or the process is gone)."""
    out: dict[int, int] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                out[int(tid)] = int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return out


class Scheduled:
    """The time a process was given the CPU, not the wall clock's, counted poll by poll: a machine
    that gives it no CPU (a paused VM, a SIGSTOP, a cgroup's CPU quota, other work on its cores)
    must not make a right fix look stuck or slow (measured: benchmarks/bench_starved.py). Each
    tick() is the time since the last one, at most max_credit (MAX_POLL_CREDIT_S for a poller that
    ticks every POLL_S: a later tick means the poller itself was not running), less the longest
    time any thread of the process waited, runnable, for a CPU meanwhile. A sleeping thread (a
    deadlock's) and a spinning one both count."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 waits: Callable[[], dict[int, int]] = runqueue_waits,
                 max_credit: float = MAX_POLL_CREDIT_S) -> None:
        self.clock, self.waits, self.max_credit = clock, waits, max_credit
        self.at, self.waited = clock(), waits()

    def tick(self) -> float:
        now, waited = self.clock(), self.waits()
        starved = max((waited[t] - self.waited[t] for t in waited if t in self.waited), default=0) / 1e9
        credit = max(0.0, min(now - self.at, self.max_credit) - starved)
        self.at, self.waited = now, waited
        return credit

class _Stall:
    """Whether a thread of a run has made no progress (R: a round; W, X: an install) for `seconds`
    of the time the run was scheduled (Scheduled), not of the wall clock."""

    NAMES = "RWX"

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic,
                 waits: Callable[[], dict[int, int]] = runqueue_waits) -> None:
        self.seconds = seconds
        self.scheduled = Scheduled(clock, waits)
        self.last: list[int] = []
        self.quiet = [0.0] * 3

    def stalled(self, s: Any) -> bool:
        credit = self.scheduled.tick()
        marks = [int(s.progress[i]) for i in range(3)]
        for i, mark in enumerate(marks):
            if not self.last or mark != self.last[i] or s.exited[i]:
                self.quiet[i] = 0.0
            else:
                self.quiet[i] += credit
        self.last = marks
        return max(self.quiet) > self.seconds

    def who(self) -> str:
        """'W and X': the threads quiet too long."""
        return listed(n for n, q in zip(self.NAMES, self.quiet) if q > self.seconds)


def listed(names: Iterable[str]) -> str:
    """'R, W and X': the names, listed."""
    names = list(names)
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def why_stuck(who: str, seconds: float) -> str:
    """Why a run's threads cannot be joined: `who` ('W and X', _Stall.who) made no progress for
    `seconds`, or (who '') the run was over and a thread did not end within them."""
    if not who:
        return f"the run was over, but a thread did not end within {seconds:g} s (of the time the run had a CPU)"
    return f"{who} made no progress for {seconds:g} s (of the time the run had a CPU)"


def text(raw: bytes) -> str:
    """A C string of the engine's as text. It may quote a kstat's module or name, which learner C
    can overwrite with any bytes: bytes that are not UTF-8 are shown as escapes (\\xff), not a
    UnicodeDecodeError in place of the message."""
    return raw.decode("utf-8", "backslashreplace")


def _text(ffi, cdata) -> str:
    return text(ffi.string(cdata))


def _stuck(ffi, lib, why: str) -> tuple[str | None, str]:
    """(the chain lock's holder or None, what the record says of every thread)."""
    buf = ffi.new("char[]", 1024)
    owner = lib.lk_stuck(buf, len(buf))
    return stuck_record(owner, why, _text(ffi, buf))


def stuck_record(owner: int, why: str, record: str) -> tuple[str | None, str]:
    """What hung() takes: lk_stuck's holder (0: none) and text, after why_stuck's words."""
    return (chr(owner) if owner else None), f"{why}: {record}"


def hung(p: dict, stuck: tuple[str | None, str], error: str | None = None) -> RaceResult:
    """A run whose threads cannot be joined. If the engine had stopped it with an error first (a
    thread that panics on illumos, leaving another waiting forever), the error is the outcome."""
    return RaceResult(fix=p["label"], rounds=0, overflows=0, first_overflow_round=None,
                      time_to_first_overflow_s=None, rounds_per_s=0.0, seed=p["seed"],
                      window_ns=p["window_ns"], forced=p["forced"], source=p.get("source"),
                      writers=p.get("writers", 1), outcome="error" if error else "hang",
                      detail=f"{error} (then {stuck[1]})" if error else stuck[1],
                      lock_held_by=None if error else stuck[0])


#: The fields of struct lk_stats a result is made of (result()): its counts, and its C strings.
#: ThreadSanitizer's program (tsan_main.c) prints the same, by these names.
STAT_NUMBERS = ("rounds", "overflows", "first_overflow_round", "first_overflow_ns", "short_rounds", "installs",
                "elapsed_ns", "writers", "uninstalled_rounds", "missing_rounds", "duplicate_rounds",
                "forged_rounds", "holds_left", "lock_held_by", "lock_left", "holds_kept")
STAT_TEXTS = ("first_uninstalled", "first_missing", "first_duplicate", "first_forged", "first_held",
              "lock_site", "first_kept")


def stat_values(ffi: Any, s: Any) -> dict:
    """A struct lk_stats as the plain values result() takes (its texts read with text())."""
    return {**{k: int(getattr(s, k)) for k in STAT_NUMBERS}, **{k: _text(ffi, getattr(s, k)) for k in STAT_TEXTS}}


def result(s: dict, p: dict) -> RaceResult:
    """The result of a run that finished, from its stats' plain values (stat_values, or
    ThreadSanitizer's program's line) and its parameters."""
    elapsed = s["elapsed_ns"] / 1e9
    found = s["overflows"] > 0
    return RaceResult(
        fix=p["label"], rounds=s["rounds"], overflows=s["overflows"],
        first_overflow_round=s["first_overflow_round"] if found else None,
        time_to_first_overflow_s=s["first_overflow_ns"] / 1e9 if found else None,
        rounds_per_s=round(s["rounds"] / elapsed, 1) if elapsed > 0 else 0.0,
        seed=p["seed"], window_ns=p["window_ns"], seconds=round(elapsed, 4),
        short_rounds=s["short_rounds"], installs=s["installs"], forced=p["forced"],
        source=p.get("source"), writers=s["writers"],
        uninstalled_copies=s["uninstalled_rounds"], first_uninstalled=s["first_uninstalled"],
        missing_copies=s["missing_rounds"], first_missing=s["first_missing"],
        duplicate_copies=s["duplicate_rounds"], first_duplicate=s["first_duplicate"],
        forged_copies=s["forged_rounds"], first_forged=s["first_forged"],
        holds_left=s["holds_left"], first_held=s["first_held"],
        lock_held_by=chr(s["lock_held_by"]) if s["lock_held_by"] else None, lock_left=s["lock_left"],
        lock_site=s["lock_site"], holds_kept=s["holds_kept"],
        first_kept=s["first_kept"])


class ChildClock:
    """A child's timeout, counted in the time the child was given the CPU (Scheduled), not on the
    wall clock: a right fix starved to 1% of a CPU took 11.6-14 s of a 20 s wall-clock timeout
    (bench_starved.py --quota 1.5) and would have been killed as hung at about 1%. The wall clock
    still ends it after WALL_FACTOR times the timeout (at least WALL_MIN_S more), so that nothing
    lives forever however starved."""

    WALL_FACTOR, WALL_MIN_S = 4, 60.0

    def __init__(self, pid: int, timeout: float, clock: Callable[[], float] = time.monotonic,
                 waits: Callable[[], dict[int, int]] | None = None,
                 stopped: Callable[[], bool] | None = None) -> None:
        self.timeout, self.clock, self.ran = timeout, clock, 0.0
        self.start = clock()
        self.wall = max(self.WALL_FACTOR * timeout, timeout + self.WALL_MIN_S)
        self.scheduled = Scheduled(clock, waits or (lambda: runqueue_waits(pid)))
        self.stopped = stopped or (lambda: _is_stopped(pid))

    def over(self) -> str | None:
        """Called about every POLL_S: None, or why the child must be killed now. A child stopped
        by a signal (SIGSTOP) is not runnable, so its run-queue waits do not grow: its state says."""
        credit = self.scheduled.tick()
        if not self.stopped():
            self.ran += credit
        wall = self.clock() - self.start
        if self.ran > self.timeout:
            return f"no result after {self.timeout:.0f} s of the time it had a CPU ({wall:.0f} s in all)"
        if wall > self.wall:
            return (f"no result after {wall:.0f} s (only {self.ran:.1f} s of them with a CPU: a machine "
                    f"this starved cannot judge it)")
        return None


def _run_child(p, progress, stop, timeout):
    try:
        child = _zygote.spawn("race", p)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabkitError(f"could not start the native run's child process: {exc}") from None
    clock = ChildClock(child.pid, timeout)
    result, outcome, detail, pending, error = None, "ok", "", b"", None
    try:
        while True:
            ready, _, _ = select.select([child.stdout], [], [], POLL_S)
            if ready:
                chunk = os.read(child.stdout.fileno(), 65536)
                if not chunk:
                    break
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    kind, _, rest = line.decode().partition(" ")
                    if kind == "progress" and progress is not None:
                        progress(*json.loads(rest))
                    elif kind == "result":
                        result = json.loads(rest)
                    elif kind == "error":
                        error = json.loads(rest)
            late = clock.over()
            if late:
                outcome, detail = "hang", f"{late}; the child was killed"
                break
            if stop is not None and stop.is_set() and child.poll() is None:
                child.send_signal(signal.SIGINT)   # the child stops its threads and reports
    finally:
        if child.poll() is None:
            child.kill()
        err = child.communicate()[1].decode(errors="replace")
    if error is not None:
        raise LabkitError(error)
    if result is not None and outcome == "ok":
        return RaceResult(**result)   # (a run that stopped making progress says so: outcome "hang")
    if outcome == "ok":
        code = child.returncode
        outcome = "crash" if code < 0 else "error"
        detail = (f"the child died of signal {-code}" if code < 0 else f"exit code {code}") + \
            (": " + err.strip().splitlines()[-1] if err.strip() else "")
    return RaceResult(fix=p["label"], rounds=0, overflows=0, first_overflow_round=None,
                      time_to_first_overflow_s=None, rounds_per_s=0.0, seed=p["seed"],
                      window_ns=p["window_ns"], forced=p["forced"], source=p.get("source"),
                      writers=p.get("writers", 1), outcome=outcome, detail=detail)
