"""Quiet accesses: the memory reads and writes that need no scheduling point during a search.

At seed scale the reader walks 5698 kstats twice, and every walk step, flag read and bcopy is a
scheduling point: about 28,500 points per execution, almost all of them on memory that no other
thread can disturb. A classic reduction (the one behind "preempt only at synchronisation in a
race-free program") lets the exhaustive search skip them: an access to an object needs no
point of its own when, over the execution,

  - only one thread touches the object, or
  - no thread writes it (a read commutes with every other read), or
  - every access to it is made holding one common lock (the lock operations, which stay
    scheduling points, already order those accesses against every other thread's).

Such an access is independent of every step of every other thread that it could be reordered
with, so skipping it merges it into its thread's previous step without losing any outcome.
The conditions are checked on every access as the search runs, skipped or not: the moment an
object breaks all three (the writer's unlocked ks_flags clear does), its key becomes "loud",
its accesses are scheduling points from then on, and the search starts again, so no ordering
is missed. Objects say who they are across executions through `sched_key` (a kstat's key is
its kid); an object without one is always loud.

A skipped access still counts as a step and enters the trace under its thread, so schedule
strings keep counting every point and replay exactly without this reduction (labkit replay).
"""

from typing import Any


class _Many:
    """Marker: more than one thread has touched the object."""


_MANY = _Many()


class Quiet:
    """Decides, access by access, which points a search may skip; learns loud keys as it goes.

    The runtime asks skips() about an access the first time; when the answer is yes it also
    remembers the object in the thread's quiet_reads / quiet_writes, and point() then skips the
    same kind of access by that thread without asking again. Those sets are emptied whenever
    the answer could change: the thread takes or drops a lock (sync.Mutex), or another thread
    touches the object (here).
    """

    def __init__(self) -> None:
        self.loud: set = set()  # keys whose accesses must stay scheduling points (kept across runs)
        self.grew = False      # a key became loud during the last execution: restart the search
        self.seen: dict = {}
        self.serial_steps: list[int] | None = None  # each thread's steps in the first learning run (set by DPOR)

    def begin(self) -> None:
        """A new execution: forget who touched what (the loud keys are kept)."""
        self.seen = {}
        self.grew = False

    def skips(self, exe: Any, kind: str, obj: object) -> bool:
        """Record the access; True if it needs no scheduling point (the runtime then counts it
        as a step with Execution.skip: this module only decides, it never counts)."""
        if kind != "read" and kind != "write" and kind != "alloc":
            return False
        key = getattr(obj, "sched_key", None)
        if key is None or key in self.loud:
            return False
        # Every access is recorded, the ones that stay scheduling points too (a thread's first
        # point, or one past the step budget): they count in whether the object is quiet.
        t = exe.running
        writes = kind != "read"
        entry = self.seen.get(key)
        if entry is None:
            self.seen[key] = [t, writes, t.held]
        else:
            who, written, lockset = entry
            if writes:
                entry[1] = written = True
            if lockset and lockset is not t.held:
                entry[2] = lockset = lockset & t.held
            if who is not t:
                entry[0] = who = _MANY
                _unclear(exe, obj)       # their cleared accesses were judged without this one
            if who is _MANY and written and not lockset:
                self.loud.add(key)
                self.grew = True
                _unclear(exe, obj)
                return False
        if not exe.may_skip:
            return False
        t.quiet_reads.add(obj)
        if writes:
            t.quiet_writes.add(obj)
        return True


def _unclear(exe: Any, obj: object) -> None:
    """No thread may skip accesses to obj without asking skips() again."""
    for t in exe.threads:
        t.quiet_reads.discard(obj)
        t.quiet_writes.discard(obj)
