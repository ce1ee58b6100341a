"""Quiet accesses: the memory reads and writes that need no scheduling point during a search.

At seed scale the reader walks 5698 kstats twice, and every walk step, flag read and bcopy is a
scheduling point: about 28,500 points per execution, almost all of them on memory that no other
thread can disturb. A classic reduction (the one behind "preempt only at synchronisation in a
race-free program") lets the exhaustive search skip them: an access to an object needs no
point of its own when, over the execution,

  - only one thread touches the object, or
  - no thread writes it (a read commutes with every other read), or
  - every two accesses to it by different threads, one of them a write, are made holding a
    lock in common (pairwise: the lock operations, which stay scheduling points, already order
    the two; a thread's own unlocked accesses, such as the writer's read of ks_flags before it
    takes the chain lock, conflict with no one).

Such an access is independent of every step of every other thread that it could be reordered
with, so skipping it merges it into its thread's previous step without losing any outcome.
(Not of a halt, which disables it: with every point a step a panic could come between it and
the point before it, but such a run ends as the one with the access made before the halt, or
the other thread's point that fell inside left out, does: traces.py's note.)
The conditions are checked on every access as the search runs, skipped or not: the moment an
object breaks all three (the writer's unlocked ks_flags clear does), its key becomes "loud",
its accesses are scheduling points from then on, and the search starts again, so no ordering
is missed. Objects say who they are across executions through `sched_key` (a kstat's key is
its kid); an object without one is always loud.

A skipped access still counts as a step and enters the trace under its thread, so schedule
strings keep counting every point and replay exactly without this reduction (labkit replay).
"""

from typing import Any


class Quiet:
    """Decides, access by access, which points a search may skip; learns loud keys as it goes.

    The runtime asks skips() about an access the first time; when the answer is yes it also
    remembers the object in the thread's quiet_reads / quiet_writes, and point() then skips the
    same kind of access by that thread without asking again. Those sets are emptied when the
    answer could change: the thread takes or drops a lock (sync.Mutex: its lockset is part of
    the access), or the object becomes loud (here). Another thread's access to the object needs
    no emptying: it is checked against every kind of access this thread recorded, the skipped
    ones included (a skipped access is one recorded before: the same thread, locks and kind).
    """

    def __init__(self) -> None:
        self.loud: set = set()  # keys whose accesses must stay scheduling points (kept across runs)
        self.grew = False      # a key became loud during the last execution: restart the search
        # key -> every kind of access made to it in this execution: (thread, lockset, written)
        # while it is one kind (most keys: at seed scale a walk reads 5698 kstats once each, so a
        # tuple, not two dicts, per key), else {thread: {lockset: written}}
        self.seen: dict = {}
        self._read: tuple = (None, None, False)    # the last first read's record (skips())
        self.serial_steps: list[int] | None = None  # each thread's steps in the first learning run (set by DPOR)

    def begin(self) -> None:
        """A new execution: forget who touched what (the loud keys are kept)."""
        self.seen = {}
        self._read = (None, None, False)
        self.grew = False

    def _record(self, exe: Any, key: Any, writes: bool, obj: object) -> bool:
        """Record the running thread's access; False (and the key loud) if it conflicts with
        another thread's access, one of the two a write, and the two hold no lock in common."""
        t = exe.running
        entry = self.seen.setdefault(key, (t, t.held, writes))
        return type(entry) is tuple and entry[0] is t and entry[1] is t.held and not writes or self._again(exe, key, entry, writes, obj)

    def _again(self, exe: Any, key: Any, entry: Any, writes: bool, obj: object) -> bool:
        """_record of a key recorded before in this execution (or just now: then it is alone)."""
        t = exe.running
        held = t.held
        if type(entry) is tuple:
            q, locks, written = entry
            if q is t:
                if locks == held:
                    if writes and not written:
                        self.seen[key] = (t, held, True)
                    return True
            elif (writes or written) and not (held & locks):
                return self._loud(exe, key, obj)
            self.seen[key] = entry = {q: {locks: written}}
        for q, kinds in entry.items():
            if q is not t:
                for locks, written in kinds.items():
                    if (writes or written) and not (held & locks):
                        return self._loud(exe, key, obj)
        mine = entry.get(t)
        if mine is None:
            entry[t] = {held: writes}
        elif not mine.get(held, False):
            mine[held] = writes
        return True

    def _loud(self, exe: Any, key: Any, obj: object) -> bool:
        self.loud.add(key)
        self.grew = True
        _unclear(exe, obj)
        return False

    def skips(self, exe: Any, kind: str, obj: object) -> bool:
        """Record the access; True if it needs no scheduling point (the runtime then counts it
        as a step with Execution.skip: this module only decides, it never counts).

        Called once per kstat and execution at seed scale (5698 times): its common case, a
        thread's first access to a key, is _record's written out (first_read() for a read)."""
        if kind == "read":
            if getattr(obj, "sched_key", None) is None:
                return False
            return self.first_read(exe, obj, not exe._starting and exe.steps < exe.budget)
        if kind != "write" and kind != "alloc":
            if (kind == "signal" or kind == "wakeup") and exe.sections:
                return self._condvar(exe, kind, obj)
            return False
        key = getattr(obj, "sched_key", None)
        if key is None or key in self.loud:
            return False
        # Every access is recorded, the ones that stay scheduling points too (a thread's first
        # point, or one past the step budget): they count in whether the object is quiet.
        t = exe.running
        mark = (t, t.held, True)
        entry = self.seen.setdefault(key, mark)
        if entry is not mark and not self._again(exe, key, entry, True, obj):
            return False
        if exe._starting or exe.steps >= exe.budget:   # (not exe.may_skip, inlined)
            return False
        t.quiet_reads.add(obj)
        t.quiet_writes.add(obj)
        if exe.quietly is not None:
            exe.quietly[key] = True
        return True

    def first_read(self, exe: Any, obj: Any, may_skip: bool = True) -> bool:
        """skips(exe, "read", obj) of an object with a sched_key, told whether the execution may
        skip a point now (exe.may_skip: not the thread's first point, steps left). A kstat's
        ks_flags asks this itself where point()'s fast path is armed (runtime.SKIPPING: then it
        may), on a walk's first read of each kstat: 5698 times an execution at seed scale, the
        most asked question of a search, so none of skips()'s other questions is asked."""
        key = obj.sched_key
        if key in self.loud:
            return False
        # Recorded even when it stays a point (as skips() records every access). Every first
        # read by one thread with the same locks shares one record: no tuple made per kstat.
        t = exe.running
        mark = self._read
        if mark[0] is not t or mark[1] is not t.held:
            mark = self._read = (t, t.held, False)
        entry = self.seen.setdefault(key, mark)
        if entry is not mark and not self._again(exe, key, entry, False, obj) or not may_skip:
            return False
        t.quiet_reads.add(obj)
        inside = exe.quietly
        if inside is not None:   # in what may turn out a whole section: part of its footprint
            inside.setdefault(key, False)
        return True

    def _condvar(self, exe: Any, kind: str, obj: object) -> bool:
        """With whole sections (runtime.Execution.sections): a signal of a condition variable no
        other thread waits on is quiet too, as a write of it (so a critical section that wakes
        no one is still whole); a wait is recorded as a write of it and stays a point. Not put
        in the thread's quiet sets: the fast path is for reads and writes."""
        key = getattr(obj, "sched_key", None)
        if key is None or key in self.loud:
            return False
        if not self._record(exe, key, True, obj) or kind == "wakeup" or not exe.may_skip:
            return False
        inside = exe.quietly
        if inside is not None:
            inside[key] = True
        return True

    def note(self, exe: Any, kind: str, obj: object) -> bool:
        """A footprint-only access (runtime.note): never a point, but recorded as any access is,
        so that it makes its key loud when it conflicts. True while the key is quiet."""
        key = getattr(obj, "sched_key", None)
        if key is None or key in self.loud:
            return False
        return self._record(exe, key, kind != "read", obj)


def _unclear(exe: Any, obj: object) -> None:
    """No thread may skip accesses to obj without asking skips() again."""
    for t in exe.threads:
        t.quiet_reads.discard(obj)
        t.quiet_writes.discard(obj)
