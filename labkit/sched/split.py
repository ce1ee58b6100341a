"""One DPOR search on several cores, exactly the sequential one (issue 13): helpers run ahead.

With jobs > 1 the process that runs the search (dpor.DporSearch) forks helpers. A helper takes
a branch b the search will come to later (the last pending branch at the shallowest depth that
has one: a wakeup tree branch that is not the current one), sets up what _backtrack would on
reaching b (the branches before it leave the tree and join the sleep set) and explores b's
subtree with the same code, sending each execution up as a record: what each decision saw (the
threads that could run, the one that ran last, each thread's next step), each step as it ran
(its Event: what it touched), how the run ended (its outcome, the threads left waiting for a
lock) and the caller's observe() value of its Outcome; and the probes it ran.

The search itself decides everything as it does alone. Before each execution it follows the
records: at each decision it asks its own states which thread runs (DporChooser.decide, the code
a live run asks), and takes that step's Event from the records if a helper ran that same prefix
then that thread; if one recorded run goes all the way, the execution is that record: the
search plants its races and backtracks as after a real run, with no run made. Where the records
stop, the program is run for real from the start, its chooser making no decision again for the
prefix it followed (DporChooser.resume). So the search makes the same decisions, offers, probes
and counts as with jobs=1, and yields the same values in the same order: a record only stands
for a run the program would have made the same way. That holds because an execution is a
function of its decisions once the loud keys (quiet.py) and the locks a tryacquire was seen on
are fixed: a helper stops at its first run or probe that learns one (it would restart), and the
search forgets every record when it restarts. Where the helper's trees differ from what the
search has when it gets there (a race found meanwhile was inserted into b), the helper's runs
are only some of the ones needed, never wrong ones.

When the search needs a run inside a branch a live helper is exploring and it is not recorded
yet, it waits for that helper's next run of its own (it is usually that one) rather than run it
twice; if that one is not it either, the helper's trees went another way: it is stopped (its
records stay) and a fresh helper may be forked from the search's states. Helpers may fork
helpers (their records are passed up). How many run at once is bounded by tokens in a pipe
(make's jobserver): jobs - 1 of them; a process takes one to fork and gives it back once its
helper has ended, and lends its own while it waits. A token lost with a killed helper's helpers
only costs parallelism: nobody blocks to take one.

Status (issue 13, task SPEC10's gate): exact (tests/test_split.py), but not yet worth it, so
nothing uses it by default: on fix B at the seed's scale with two writers (114 executions) it saves
14-35% of the wall time and at times costs 10% (benchmarks/bench_split.py; lock: -6% to +43%):
a helper forked early explores b's tree as it was then, the search's later races change it
(half the subtrees), and the runs where the two part are run twice. Adopting a helper's whole
subtree only when nothing it read changed (the first design tried) fell back on the largest
subtrees for that reason and was slower than one process. Task SPLIT2: not killing a helper
that went elsewhere changes nothing, for that never happens on the kstat scenarios: every run
the records lack either has no live helper in its branch (fix B x2: 0 or 30 of 53-59 in four
searches, none x2: 82 of 82-93, lock x2: 7 of 13-15) or is recorded by its helper
(Splitter.waits); the spread in the figures is the load's.

A helper is a fork of the process that runs the search, so it is what that process is: the
same sandbox, rlimits, user and namespace; learner code runs in it as in the parent (no new
trust boundary, if the grader ever uses it). It dies with its parent (PR_SET_PDEATHSIG),
talks only through its pipe (pickled frames, read by a process that runs the same learner
code), is always reaped, and one that dies, hangs (nothing heard for HUNG_S) or sends what cannot
be read costs only its runs: the search runs them itself.
"""

from __future__ import annotations

import copy
import ctypes
import fcntl
import os
import pickle
import select
import signal
import struct
import time
from typing import Any

HUNG_S = 30.0        # a helper heard from less often than this is taken to hang
_HEAD = struct.Struct("!I")
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class Restarted(Exception):
    """A helper's search learned a loud key: its records would be of the old states."""


class _Node:
    """The recorded runs as a tree of their decisions: what decision i saw (`seen`: enabled,
    running, pending) and, per thread taken there, (its step's Event, took, the next _Node);
    or, where a run ended, `end`: (outcome kind, threads left waiting, schedule, value)."""

    __slots__ = ("seen", "next", "end")

    def __init__(self):
        self.seen: tuple | None = None
        self.next: dict = {}
        self.end: tuple | None = None


def _die_with_parent(parent: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(0)


class _Helper:
    __slots__ = ("pid", "fd", "depth", "node", "buf", "own", "ended", "heard")

    def __init__(self, pid: int, fd: int, depth: int, node):
        self.pid: int | None = pid
        self.fd, self.depth, self.node = fd, depth, node
        self.buf = bytearray()
        self.own = 0                # runs of its own it sent (its helpers' are passed on too)
        self.ended = False
        self.heard = time.monotonic()


class Splitter:
    """The helpers of one process's search and the runs they recorded (see the module's note)."""

    def __init__(self, search, jobs: int):
        self.search = search
        self.helpers: list[_Helper] = []
        self.runs = _Node()
        self.nthreads = 0
        self.probed: dict = {}          # probes helpers ran: choices -> Event
        self.debt = 0                   # tokens this process used without taking one
        self.tokens = os.pipe()
        for fd in self.tokens:
            os.set_blocking(fd, False)
        os.write(self.tokens[1], b"t" * (jobs - 1))
        self.upward: int | None = None  # in a helper: the pipe to the process it runs for
        self.followed = self.forked = 0
        # how each run the records lacked went (bench_split.py prints them): no live helper in
        # its branch, a helper recorded it, the helper ended first, or it ran another run (killed)
        self.waits = {"no helper": 0, "recorded": 0, "ended": 0, "went elsewhere": 0}

    # ---- following records --------------------------------------------------------------------
    def follow(self, chooser: Any) -> tuple | None:
        """Follow the records along the search's own decisions: ("end", kind, waiting, schedule,
        value) if a recorded run goes to its end, else ("resume", the decisions followed) or
        None (nothing to follow): the run is made from there."""
        self.poll()
        if self.upward is not None:
            chooser.record, chooser.steps = [], []
        node = self.runs
        if node.seen is None and node.end is None:
            return None
        taken: list[int] = []
        step = None
        i = 0
        while True:
            if step is not None:
                ev, took = step
                ev = copy.copy(ev)         # (plant may mark a run's last step halting)
                if chooser.steps is not None:
                    chooser.steps.append((ev, took))
                chooser._finish(ev, took, self.nthreads)
            if node.end is not None:
                self.followed += 1
                return ("end",) + node.end
            if node.seen is None:
                return ("resume", taken)   # (no record reached this decision)
            enabled, running, pending = node.seen
            p = chooser.decide(i, list(enabled), running, lambda pending=pending: _events(pending))
            if p is None:
                self.followed += 1
                return ("end", "pruned", [], "", None)
            got = node.next.get(p)
            if got is None:
                got = self._wait_for(node, p, i)
            taken.append(p)
            if got is None:
                return ("resume", taken)
            step = got[0], got[1]
            node = got[2]
            i += 1

    def _wait_for(self, node: _Node, p: int, i: int):
        """node.next[p] once the helper exploring this branch has recorded it, or None."""
        states = self.search.states
        for h in self.helpers:
            if not h.ended and h.depth <= i and states[h.depth].current is h.node:
                break
        else:
            self.waits["no helper"] += 1
            return None
        own = h.own
        self._give()             # this process's core is the helpers' meanwhile
        try:
            while p not in node.next and not h.ended and h.own == own:
                select.select([x.fd for x in self.helpers if not x.ended], [], [], 1.0)
                self.poll()
                if not h.ended and time.monotonic() - h.heard > HUNG_S:
                    self._kill(h)
        finally:
            if not self._take():
                self.debt += 1
        if p in node.next:
            self.waits["recorded"] += 1
        elif h.ended:
            self.waits["ended"] += 1
        else:
            self.waits["went elsewhere"] += 1
            self._kill(h)        # its trees went another way: a fresh helper may take over
        return node.next.get(p)

    def _add(self, record) -> None:
        seen, steps, end, nthreads = record
        self.nthreads = nthreads
        node = self.runs
        for i, s in enumerate(seen):
            node.seen = s
            if i == len(steps):
                return                       # blocked there (a pruned run)
            ev, took = steps[i]
            got = node.next.get(ev.p)
            if got is None:
                got = node.next[ev.p] = (ev, took, _Node())
            node = got[2]
        node.end = end

    # ---- in a helper: what it sends ------------------------------------------------------------
    def recorded(self, chooser: Any, outcome: Any, exe: Any, value: object) -> None:
        from labkit.sched.dpor import left_waiting
        if self.upward is None or outcome.kind == "pruned":
            return
        end = (outcome.kind, left_waiting(exe), outcome.schedule, value)
        self._send(("run", os.getpid(), (chooser.record, chooser.steps, end, len(exe.threads))))

    def ran_probe(self, key: tuple, ev: object) -> None:
        if self.upward is not None:
            self._send(("probe", key, ev))

    def _send(self, frame: tuple) -> None:
        data = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
        self._write(_HEAD.pack(len(data)) + data)

    def _write(self, data: bytes) -> None:
        assert self.upward is not None
        view = memoryview(data)
        while view:
            n = os.write(self.upward, view)
            view = view[n:]

    # ---- tokens -------------------------------------------------------------------------------
    def _take(self) -> bool:
        try:
            return len(os.read(self.tokens[0], 1)) == 1
        except BlockingIOError:
            return False

    def _give(self) -> None:
        if self.debt:
            self.debt -= 1
        else:
            os.write(self.tokens[1], b"t")

    # ---- forking helpers ----------------------------------------------------------------------
    def backtracked(self) -> None:
        """After the search's backtrack: stop the helpers whose branch is done, fork one if a
        token is free."""
        states = self.search.states
        for h in list(self.helpers):
            if h.depth >= len(states) or not any(n is h.node for n in states[h.depth].wut):
                self._kill(h)
            if h.ended:
                self.helpers.remove(h)
        taken = {id(h.node) for h in self.helpers}
        for d in range(self.search.floor + 1, len(states)):
            pending = [n for n in states[d].wut[1:] if id(n) not in taken]
            if pending:
                break
        else:
            return
        if not self._take():
            return
        b = pending[-1]
        r, w = os.pipe()
        try:
            fcntl.fcntl(w, F_SETPIPE_SZ, 1 << 20)   # a record is often more than 64 KiB
        except OSError:
            pass
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            self._helper(d, b, w, parent)      # never returns
        os.close(w)
        os.set_blocking(r, False)
        self.forked += 1
        self.helpers.append(_Helper(pid, r, d, b))

    def _helper(self, d: int, b, w: int, parent: int) -> None:
        """In the forked helper: explore b's subtree, sending each run up; then exit."""
        search = self.search
        try:
            _die_with_parent(parent)
            for h in self.helpers:
                if h.pid is not None:
                    os.close(h.fd)
            if self.upward is not None:
                os.close(self.upward)     # (its own parent's pipe)
            self.helpers = []
            self.debt = 0
            self.upward = w
            states = search.states
            st = states[d]
            for n in st.wut[:st.wut.index(b)]:      # as _backtrack does on its way to b
                st.sleep[n.ev.p] = n.ev
            del st.wut[:st.wut.index(b)]
            st.current = b
            del states[d + 1:]
            search.floor = d
            for _ in search.runs():
                pass
        except BaseException:  # noqa: BLE001 - anything (a restart too): its runs so far stand
            pass
        finally:
            try:
                self.forget()         # its helpers' tokens back
            finally:
                os._exit(0)

    # ---- hearing from helpers -----------------------------------------------------------------
    def poll(self) -> None:
        """Take in what the running helpers sent (so that none waits on a full pipe)."""
        for h in self.helpers:
            if not h.ended:
                self._read(h)

    def _read(self, h: _Helper) -> None:
        closed = False
        got = False
        while True:
            try:
                chunk = os.read(h.fd, 1 << 20)
            except BlockingIOError:
                break
            if not chunk:
                closed = True
                break
            h.buf += chunk
            got = True
        if got:
            h.heard = time.monotonic()
        buf = h.buf
        start = 0
        while len(buf) - start >= 4:
            (n,) = _HEAD.unpack_from(buf, start)
            if len(buf) - start < 4 + n:
                break
            data = bytes(buf[start:start + 4 + n])
            start += 4 + n
            try:
                frame = pickle.loads(data[4:])
            except Exception:  # noqa: BLE001 - unreadable: its runs are made here
                self._kill(h)
                return
            if self.upward is not None:
                self._write(data)        # its runs are this helper's to pass on
            if frame[0] == "run":
                if frame[1] == h.pid:
                    h.own += 1
                self._add(frame[2])
            elif frame[0] == "probe":
                self.probed[frame[1]] = frame[2]
        del buf[:start]
        if closed:
            self._kill(h)

    def _kill(self, h: _Helper) -> None:
        h.ended = True
        if h.pid is None:
            return
        try:
            os.kill(h.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(h.pid, 0)
        h.pid = None
        os.close(h.fd)
        self._give()

    def forget(self) -> None:
        """The search restarts: every record is of the old states."""
        for h in self.helpers:
            self._kill(h)
        self.helpers = []
        self.runs = _Node()
        self.probed = {}

    def close(self) -> None:
        self.forget()
        if self.upward is None:
            for fd in self.tokens:
                os.close(fd)


def _events(pending: dict) -> dict:
    from labkit.sched.dpor import Event
    return {q: Event(q, kind, key) for q, (kind, key) in pending.items()}
