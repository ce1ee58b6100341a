"""The deterministic runtime: simulated threads that switch only at scheduling points.

Each simulated thread is a greenlet, so kernel code running on it reads like plain code: no
`yield`, no callbacks. Code announces every shared access with `point(kind, obj)` *before* doing
it; the thread pauses there, and a Chooser (a strategy) picks which thread performs its pending
access next. Between points a thread runs alone, so a program plus a schedule always gives the
same trace.

Kinds of access: "read", "write" (memory), "acquire", "release", "tryacquire" (a Mutex;
mutex_tryenter, never held back), "wakeup" (a CondVar sleeper waiting to be woken), "alloc" (the
kernel allocator). An "acquire" of a held mutex, and
a "wakeup" of a thread still asleep, are not enabled: that thread cannot be chosen.

When the chosen thread is the one already running, nothing switches (the common, fast case).
An execution ends in an Outcome: ok, panic (the program raised a Failure), error (the program
raised anything else: a learner's bug, reported, never propagated), deadlock (threads remain and
none can run), or hang (the step budget ran out).
"""

import bisect
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import greenlet

from labkit import config
from labkit.errors import LabkitError
from labkit.sched.outcome import ALL_KINDS

_current = None            # the Execution running now (one at a time per process)

# The lock that guards _current. Only one execution may run at a moment in a process, but a
# notebook runs widget clicks and background explorations on several OS threads; every
# Execution takes this lock while it runs (start, resume), and widgets that drive several
# calls as one action (a Stepper click) may hold it around them with exclusive(). Reentrant:
# the holder's own executions go straight in.
_LOCK = threading.RLock()
if hasattr(os, "register_at_fork"):
    # A forked child (a grading worker, say) must not inherit it held by some other thread.
    os.register_at_fork(after_in_child=lambda: globals().update(_LOCK=threading.RLock()))


@contextlib.contextmanager
def exclusive(wait: float | None = None) -> Iterator[None]:
    """Hold the simulator for this OS thread: no other thread's execution runs meanwhile.

    Waits up to `wait` seconds (default config.SIM_WAIT_S) for another thread's execution to
    end, then refuses with a LabkitError that says the simulator is busy.
    """
    lock = _LOCK
    if not lock.acquire(timeout=config.SIM_WAIT_S if wait is None else wait):
        raise LabkitError("the simulator is busy with another run (an exploration, say); "
                          "press Stop there or wait for it to finish")
    try:
        yield
    finally:
        lock.release()

# Kinds of access that the object accessed may hold back (sync.py decides).
_GATED = frozenset(("acquire", "wakeup"))

# Kinds that change the object they touch: two accesses to one object conflict unless both are reads.
WRITE_KINDS = frozenset(("write", "acquire", "release", "tryacquire", "alloc", "signal", "wakeup"))


class Failure(Exception):
    """Raised by a program to end the execution as a failure of a known kind (e.g. a panic).

    `record` is whatever the program wants the Outcome to carry (the kernel's PanicRecord).
    """

    kind = "panic"

    def __init__(self, message: str, record=None):
        super().__init__(message)
        self.record = record


class _Stop(BaseException):
    """Thrown into abandoned thread greenlets so they unwind without running more program code."""


class _Halt(BaseException):
    """Raised in the driver's own greenlet when the execution ends or pauses there."""


class _Skipping:
    """What the running thread may skip without asking quiet.py again: the fast path of point().

    One object for the process (one execution runs at a time), armed by the execution for its
    running thread at each decision and disarmed whenever it stops running: `reads` and `writes`
    are that thread's quiet_reads and quiet_writes (the same sets, so what quiet.py clears is
    cleared here), `room` how many more steps it may skip before the step budget. A skipped step
    only takes one from `room`; the execution credits the steps skipped (granted - room) to the
    thread and to its own count before anything reads them (Execution.settle), so a skip costs a
    test and a decrement. Primitives that run once per kstat at seed scale (the walk, the flag
    read, bcopy) make the same test inline, sparing the call:

        if SKIPPING.room and obj in SKIPPING.reads: SKIPPING.room -= 1   else: point(...)
    """

    __slots__ = ("reads", "writes", "room", "granted", "thread", "exe")

    def __init__(self) -> None:
        self.disarm()

    reads: "set | frozenset"
    writes: "set | frozenset"
    thread: "SimThread | None"
    exe: Any                  # the Execution it is armed for (None when disarmed)

    def disarm(self) -> None:
        self.reads = self.writes = frozenset()
        self.room = self.granted = 0
        self.thread = self.exe = None


SKIPPING = _Skipping()


def point(kind: str, obj: object, what: str = "", depth: int = 1) -> None:
    """Announce the calling thread's next shared access; it may let other threads run first.

    `depth` says which caller frame is the line doing the access (1: the caller of point()).
    """
    s = SKIPPING
    if s.room:
        if obj in (s.reads if kind == "read" else s.writes):
            s.room -= 1      # an access this thread was already cleared to skip (see _Skipping)
            return
        # Armed (room left): the running thread is s.thread, its search has a Quiet, and the
        # budget is not reached, which is all quiet.py reads of the step counts: it may decide
        # before they are settled (a first access to each kstat at seed scale comes here).
        exe = s.exe
        if exe.quiet.skips(exe, kind, obj):
            s.room -= 1
            return
        exe.settle()
        exe._point(kind, obj, what, sys._getframe(depth))
        return
    exe = _current
    if exe is not None:
        t = exe.running
        if t is not None:
            if exe.quiet is not None:
                n = s.granted - s.room
                if n:                   # settle(), inlined: quiet.py may read the step counts
                    s.granted = s.room
                    exe.steps += n
                    t.steps += n
                if exe.quiet.skips(exe, kind, obj):
                    if s.room:          # skip(), inlined: counted as the fast path counts
                        s.room -= 1
                    else:
                        exe.skip(t)
                    return
            exe._point(kind, obj, what, sys._getframe(depth))


NOTE_KINDS = ("read", "write")


def note(kind: str, obj: object) -> None:
    """Framework state the running simulated thread read ("read") or changed ("write") without a
    scheduling point: part of the running step's footprint, and of quiet.py's conflict analysis.

    For state the kernel model keeps as plain attributes (kstat_chain_id, hrtime, a header's
    ks_ndata, ...): never a scheduling point, never a step, so schedule strings mean what they
    meant. `obj` names the state across executions as point()'s objects do (a `sched_key`).
    Outside a search (no execution, or one without a reduced search listening) it costs a
    global lookup and one test.
    """
    exe = _current
    if exe is not None and exe.noting is not None:
        if kind not in NOTE_KINDS:
            raise AssertionError(f"note() takes 'read' or 'write', not {kind!r}")
        exe.noting(kind, obj)


def current_thread() -> "SimThread | None":
    """The simulated thread running now, or None outside an execution."""
    exe = _current
    return exe.running if exe is not None else None


def current_execution() -> "Execution | None":
    return _current


class SimThread:
    """One simulated thread: a name (one capital letter, used in schedule strings) and a function."""

    __slots__ = ("name", "index", "fn", "addr", "glet", "pending", "finished", "waiting",
                 "steps", "frame", "context", "held", "quiet_reads", "quiet_writes")

    def __init__(self, name: str, fn: Callable[[], Any], addr: int = 0, context: Any = None) -> None:
        if not (len(name) == 1 and name.isupper()):
            raise ValueError(f"thread names are one capital letter, not {name!r}")
        self.name = name
        self.fn = fn
        self.addr = addr
        self.index = -1
        self.glet: Any = None  # its greenlet, once the execution starts it
        self.pending: Any = None  # (kind, obj, what) of the access it will do next
        self.frame: Any = None  # the Python frame that announced it (for "current line" displays)
        self.finished = False
        self.waiting = ""      # "" (runnable), "spinning" or "blocked": set when it cannot run
        self.steps = 0
        self.context = context  # the program's own state (the kernel uses it to find itself)
        self.held: frozenset = frozenset()  # the Mutexes it holds (for quiet.py's common-lock test)
        self.quiet_reads: set = set()   # objects whose reads (writes) quiet.py lets it skip, for now
        self.quiet_writes: set = set()  # (both changed in place, never replaced: SKIPPING holds them)

    def set_held(self, held: frozenset) -> None:
        """Its locks changed: what quiet.py let it skip was judged under the old ones."""
        self.held = held
        self.quiet_reads.clear()
        self.quiet_writes.clear()

    @property
    def state(self) -> str:
        if self.finished:
            return "finished"
        return self.waiting or "runnable"

    def __repr__(self) -> str:
        return f"<SimThread {self.name} {self.state}>"


class Chooser:
    """The strategy protocol: pick the next thread among the enabled ones, or None to pause.

    A chooser may also end the run with exe.stop(kind, failure), kind one of outcome.STOP_KINDS.
    """

    def choose(self, exe: "Execution", enabled: list) -> "SimThread | None":
        raise NotImplementedError

    def on_step(self, exe: "Execution", thread: SimThread, access: tuple) -> None:
        """Called after each choice, before the access is performed."""


def default_choice(exe: "Execution", enabled: list) -> SimThread:
    """The default continuation: the running thread while it can, else the lowest-numbered one."""
    running = exe.running
    if running is not None and running in enabled:
        return running
    return enabled[0]


class Trace(Sequence):
    """An execution's thread name per step, read from its decisions: every step from one decision
    to the next is the thread chosen at the first (a skipped step is the running thread's)."""

    __slots__ = ("exe", "_at")

    def __init__(self, exe: "Execution") -> None:
        self.exe = exe
        self._at = 0      # the decision the last lookup fell in: readers mostly go step by step

    def __len__(self) -> int:
        return self.exe.steps

    def __getitem__(self, i):
        if isinstance(i, slice):
            return list(self)[i]
        n = self.exe.steps
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("trace index out of range")
        chosen = self.exe.chosen
        k = self._at
        if k < len(chosen) and chosen[k][0] <= i and (k + 1 == len(chosen) or i < chosen[k + 1][0]):
            return chosen[k][1]
        if k + 1 < len(chosen) and chosen[k + 1][0] <= i and (k + 2 == len(chosen) or i < chosen[k + 2][0]):
            self._at = k + 1
            return chosen[k + 1][1]
        self._at = k = bisect.bisect_right(chosen, (i, "\x7f")) - 1
        return chosen[k][1]

    def runs(self) -> list[tuple[str, int]]:
        """(thread name, steps) per run of one thread, as a schedule string writes them."""
        chosen = self.exe.chosen
        out: list[tuple[str, int]] = []
        ends = [step for step, _ in chosen[1:]] + [self.exe.steps]
        for (step, name), end in zip(chosen, ends):
            if out and out[-1][0] == name:
                out[-1] = (name, out[-1][1] + end - step)
            else:
                out.append((name, end - step))
        return out

    def __iter__(self) -> Iterator[str]:
        for name, count in self.runs():
            for _ in range(count):
                yield name

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, (list, tuple, Trace)) else NotImplemented

    def __repr__(self) -> str:
        return f"<Trace {' '.join(f'{n}{c}' for n, c in self.runs())}>"


class Execution:
    """One run of a program's threads under a chooser."""

    def __init__(self, threads: list[SimThread], chooser: Chooser, budget: int | None = None,
                 observers: tuple | list = (), quiet: Any = None) -> None:
        self.threads = list(threads)
        for i, t in enumerate(self.threads):
            t.index = i
        self.by_name = {t.name: t for t in self.threads}
        self.chooser = chooser
        self.budget = config.STEP_BUDGET if budget is None else budget
        self.observers = list(observers)
        self.steps = 0
        self.decisions = 0         # steps the chooser chose (steps quiet.py skipped are not)
        self.quiet = quiet         # a quiet.Quiet during a reduced search, else None
        self.noting: Callable[[str, object], None] | None = None   # who hears note(): the search
        # Whole sections (a search sets `sections`, dpor.py): a thread chosen at its acquire of
        # a lock whose very next point is its release of that lock runs the section as one
        # step, the release made without a decision (a skipped step, as quiet.py's are, so
        # schedule strings count it as before). `quietly` gathers what quiet.py let the step
        # skip since the acquire (key -> written), `whole` is that once the release is made.
        self.sections = False
        self.tried: set = set()    # the locks (sched_key) a tryacquire was seen on: never whole,
        #                            (a tryacquire in the middle of a section would find it held)
        self._open: Any = None     # the lock the running step took, while no point followed
        self.quietly: dict | None = None
        self.whole: dict | None = None
        self.chosen: list[tuple[int, str]] = []  # (step, thread name) of each decision, in order
        self.enabled_at: dict[int, list[SimThread]] = {}   # step -> threads runnable at that choice
        self.running: SimThread | None = None
        self.outcome_kind: str | None = None
        self.failure: object = None
        self.main: Any = None      # the driver's greenlet
        self._paused_in: Any = None
        self._starting = False

    @property
    def trace(self) -> Trace:
        """The thread name per step (a view of the decisions: made on demand, so an execution
        holds no cycle and is freed the moment its last reference goes)."""
        return Trace(self)

    # ---- driving --------------------------------------------------------------------------
    def start(self) -> None:
        """Create the threads and run each up to its first scheduling point."""
        global _current
        self.main = greenlet.getcurrent()
        lock = _LOCK
        if not lock.acquire(timeout=config.SIM_WAIT_S):
            raise LabkitError("the simulator is busy with another run; wait for it to finish")
        _current = self
        self._starting = True
        SKIPPING.disarm()         # (no thread skips before its first point)
        try:
            for t in self.threads:
                t.glet = greenlet.greenlet(self._thread_main, parent=self.main)
                self.running = t
                t.glet.switch(t)
                if self.outcome_kind is not None:
                    return
        finally:
            self._starting = False
            self.running = None
            _current = None
            lock.release()
        self._paused_in = self.main

    def resume(self) -> bool:
        """Run until the chooser pauses or the execution ends; True once it has ended."""
        global _current
        if self.outcome_kind is not None:
            return True
        lock = _LOCK
        if not lock.acquire(timeout=config.SIM_WAIT_S):
            raise LabkitError("the simulator is busy with another run; wait for it to finish")
        _current = self
        where = self._paused_in
        self._paused_in = None
        try:
            if where is self.main or where is None:
                self._decide()
            else:
                where.switch()
        except _Halt:
            pass
        finally:
            self.settle()
            SKIPPING.disarm()
            _current = None   # outside resume(), kernel objects read plainly (no scheduling)
            lock.release()
        return self.outcome_kind is not None

    def run(self) -> str:
        self.start()
        while not self.resume():
            pass
        assert self.outcome_kind is not None
        return self.outcome_kind

    def close(self) -> None:
        """Unwind every unfinished thread greenlet so nothing of this execution lingers."""
        global _current
        for t in self.threads:
            g = t.glet
            if g is not None and not g.dead and g is not greenlet.getcurrent():
                try:
                    g.throw(_Stop)
                except _Stop:
                    pass
                except greenlet.error:
                    pass    # it belongs to another OS thread: left for the garbage collector
        if _current is self:
            _current = None

    # ---- inside threads -------------------------------------------------------------------
    def _thread_main(self, t: SimThread) -> None:
        try:
            t.fn()
        except _Stop:
            return
        except greenlet.GreenletExit:
            return
        except Failure as f:
            # A Failure subclass with a kind of its own is still a failure: an error, not a
            # kind no report knows.
            self.stop(f.kind if f.kind in ("panic", "error") else "error", f)
        except RecursionError as e:
            self.stop("error", e)
        except Exception as e:  # a learner's bug: reported as an outcome, never propagated
            self.stop("error", e)
        else:
            t.finished = True
            t.pending = None
            t.frame = None
            if self._starting:
                self.main.switch()
            self._decide()

    def _point(self, kind: str, obj: object, what: str, frame: Any) -> None:
        t = self.running
        assert t is not None      # point() only calls this inside a running thread
        t.pending = (kind, obj, what)
        t.frame = frame
        if self._starting:
            self.main.switch()    # start(): stop at the first point; the real run starts later
            return
        lock = self._open
        if lock is not None:
            self._open = None
            if obj is lock and kind == "release" and self.steps < self.budget:
                self.whole, self.quietly = self.quietly, None
                self.skip(t)      # a whole section: its release is part of the acquire's step
                for obs in self.observers:
                    obs.on_step(self, t, t.pending)    # (the race detector orders by it)
                return
            self.quietly = None
        self._decide()

    def enabled(self) -> list[SimThread]:
        """The threads that can perform their pending access now (and mark why the others wait).

        Whether a thread may go on is the synchronisation object's decision (sync.py): an
        object that can hold threads back has a `waiting(thread, kind)` method that says ""
        (it may proceed), "spinning" or "blocked".
        """
        out = []
        spinners = False
        for t in self.threads:
            if t.finished:
                continue
            kind, obj, _ = t.pending
            gate = getattr(obj, "waiting", None) if kind in _GATED else None
            why = gate(t, kind) if gate is not None else ""
            t.waiting = why
            if why:
                spinners = spinners or why == "spinning"
            else:
                out.append(t)
        if spinners:
            # Asked again once every thread's state is known: a spinner whose owner has since
            # blocked blocks too.
            for t in self.threads:
                if t.waiting == "spinning":
                    kind, obj, _ = t.pending
                    t.waiting = obj.waiting(t, kind)
        return out

    def skip(self, t: SimThread) -> None:
        """Count t's access as a step without a scheduling point (quiet.py decided it may), so
        schedules still count every point. The fast path (SKIPPING) counts the same steps in
        bulk: its room is the budget left, and settle() credits them here, to the same counts.

        The trace needs no entry for it: a skipped step is always the running thread's, the
        thread chosen at the last decision, so the decisions alone give every step's thread."""
        self.steps += 1
        t.steps += 1
        s = SKIPPING
        if s.thread is t and s.room:
            s.room -= 1          # (the fast path's room is the budget left: one step less)
            s.granted -= 1

    def settle(self) -> None:
        """Credit the steps the running thread skipped on the fast path (SKIPPING): done before
        anything reads the step counts, at every point that is not skipped there."""
        s = SKIPPING
        n = s.granted - s.room
        if n:
            s.granted = s.room
            self.steps += n
            assert s.thread is not None
            s.thread.steps += n

    @property
    def may_skip(self) -> bool:
        """Whether an access may be skipped now: not a thread's first point, not past the budget."""
        return not self._starting and self.steps < self.budget

    def _decide(self) -> None:
        # settle() and, below, the arming of SKIPPING for the thread chosen, written out: this
        # runs once per decision, some 300,000 times in a two-writer search, where calls cost
        # more than they save
        s = SKIPPING
        n = s.granted - s.room
        if n:
            s.granted = s.room
            self.steps += n
            s.thread.steps += n    # type: ignore[union-attr]  # armed: its thread is set
        while True:
            enabled = self.enabled()
            if not enabled:
                self.stop("ok" if all(t.finished for t in self.threads) else "deadlock")
            if self.steps >= self.budget:
                self.stop("hang")
            choice = self.chooser.choose(self, enabled)
            if choice is None:                    # pause: hand control back to the driver
                me = greenlet.getcurrent()
                self._paused_in = me
                if me is self.main:
                    raise _Halt
                self.main.switch()
                continue
            access = choice.pending
            self.steps += 1
            self.decisions += 1
            choice.steps += 1
            self.enabled_at[self.steps - 1] = enabled    # a fresh list each step: kept as it is
            self.chosen.append((self.steps - 1, choice.name))
            self.chooser.on_step(self, choice, access)
            for obs in self.observers:
                obs.on_step(self, choice, access)
            if self.sections:
                self.whole = None
                if access[0] == "acquire" and getattr(access[1], "sched_key", None) not in self.tried:
                    self._open, self.quietly = access[1], {}
                else:
                    self._open = self.quietly = None
            if self.quiet is None or self._starting:
                s.disarm()
            else:
                s.reads, s.writes, s.thread, s.exe = choice.quiet_reads, choice.quiet_writes, choice, self
                room = self.budget - self.steps
                s.room = s.granted = room if room > 0 else 0
            if choice is self.running and greenlet.getcurrent() is choice.glet:
                return
            self.running = choice
            choice.glet.switch()
            return

    def stop(self, kind: str, failure: object = None) -> None:
        """End the execution as `kind` (one of outcome.ALL_KINDS); never returns."""
        if kind not in ALL_KINDS:
            raise AssertionError(f"unknown way for an execution to end: {kind!r}")
        self.settle()
        SKIPPING.disarm()
        self.outcome_kind = kind
        self.failure = failure
        self._paused_in = None
        if greenlet.getcurrent() is self.main:
            raise _Halt
        self.main.switch()
        raise AssertionError("a stopped execution was resumed")  # pragma: no cover


_SCHED_DIR = __file__.rsplit("/", 1)[0]


def stack_of(t: SimThread) -> list[tuple[str, int, str]]:
    """A paused thread's program frames, innermost first: (function, lineno, source line)."""
    import linecache

    out = []
    f = t.frame
    while f is not None:
        filename = f.f_code.co_filename
        if not filename.startswith(_SCHED_DIR):
            out.append((f.f_code.co_name, f.f_lineno, linecache.getline(filename, f.f_lineno)))
        f = f.f_back
    return out
