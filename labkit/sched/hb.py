"""A happens-before data race detector for simulated executions (the vector-clock method of
ThreadSanitizer and FastTrack, reduced to what the model needs).

Two accesses to the same memory race when at least one writes and neither happens before the
other. "Happens before" is program order plus synchronisation: a mutex release happens before
the next acquire of that mutex, and a condition variable's wake-up happens before the woken
thread runs on. The detector runs as an observer at each step, so a race is reported at the
moment its second access is made, naming both accesses, before any crash it may lead to.
"""

from collections.abc import Iterable
from typing import Any
from dataclasses import dataclass


@dataclass(frozen=True)
class AccessInfo:
    thread: str
    kind: str            # "read" or "write"
    what: str            # the location, e.g. "ks_flags of kstat 7 (zone_zfs)"
    function: str
    line: int
    filename: str
    locks: tuple         # names of the mutexes the thread held
    step: int

    def describe(self) -> str:
        held = ", ".join(self.locks) if self.locks else "no lock"
        return (f"{self.thread} {self.kind}s {self.what} in {self.function}() line {self.line}, "
                f"holding {held}")

    def to_json(self) -> dict:
        return {"thread": self.thread, "kind": self.kind, "what": self.what,
                "function": self.function, "line": self.line, "file": self.filename,
                "locks": list(self.locks), "step": self.step}


@dataclass(frozen=True)
class Race:
    first: AccessInfo
    second: AccessInfo

    @property
    def key(self) -> tuple:
        """What makes two reports the same race: the same two lines of code, in the same order
        (whichever run, step or thread found it)."""
        return (self.first.function, self.first.line, self.second.function, self.second.line)

    def __str__(self) -> str:
        return (f"DATA RACE at step {self.second.step} on {self.second.what}:\n"
                f"  {self.second.describe()}\n"
                f"  races with earlier {self.first.describe()} (step {self.first.step}),\n"
                f"  and neither access happens before the other.")

    def to_json(self) -> dict:
        return {"first": self.first.to_json(), "second": self.second.to_json()}


def unique_races(known: list[Race], more: Iterable[Race]) -> list[Race]:
    """known, then each race of `more` whose key is new: the one de-duplication of race reports
    across executions."""
    keys = {r.key for r in known}
    out = list(known)
    for r in more:
        if r.key not in keys:
            keys.add(r.key)
            out.append(r)
    return out


class RaceDetector:
    """Observer: call on_step(exe, thread, access) for every step; read `races` afterwards."""

    def __init__(self):
        self.clocks = {}       # thread index -> list[int]
        self.sync = {}         # mutex or condvar -> clock released into it
        self.held = {}         # thread index -> list of mutex names
        self.last_write = {}   # memory object -> (thread index, epoch, AccessInfo)
        self.reads = {}        # memory object -> {thread index: (epoch, AccessInfo)}
        self.races = []
        self._seen = set()

    def _clock(self, exe, t):
        c = self.clocks.get(t.index)
        if c is None:
            c = [0] * len(exe.threads)
            c[t.index] = 1
            self.clocks[t.index] = c
        return c

    def on_step(self, exe: Any, t: Any, access: tuple) -> None:
        kind, obj, what = access
        c = self._clock(exe, t)
        if kind == "read" or kind == "write":
            self._memory(exe, t, c, kind, obj, what)
        elif kind == "acquire" or (kind == "tryacquire" and obj.owner is None):
            self._join(c, self.sync.get(obj))     # (a tryenter that will fail orders nothing)
            self.held.setdefault(t.index, []).append(obj.name)
        elif kind == "release":
            self.sync[obj] = list(c)
            c[t.index] += 1
            held = self.held.get(t.index, [])
            if obj.name in held:
                held.remove(obj.name)
        elif kind == "signal":      # the sleepers it wakes are ordered after it
            self.sync[obj] = list(c)
            c[t.index] += 1
        elif kind == "wakeup":
            self._join(c, self.sync.get(obj))

    @staticmethod
    def _join(c, other):
        if other:
            for i, v in enumerate(other):
                if v > c[i]:
                    c[i] = v

    def _info(self, exe, t, kind, what):
        """The facts of an access, kept as a cheap tuple; _report makes an AccessInfo of it."""
        frame = t.frame
        return (t.name, kind, what, frame.f_code if frame is not None else None,
                frame.f_lineno if frame is not None else 0,
                tuple(self.held.get(t.index, ())), exe.steps)

    @staticmethod
    def _full(info) -> AccessInfo:
        name, kind, what, code, line, locks, step = info
        return AccessInfo(thread=name, kind=kind, what=what or "memory",
                          function=code.co_name if code else "?", line=line,
                          filename=code.co_filename if code else "?", locks=locks, step=step)

    def _memory(self, exe, t, c, kind, obj, what):
        me = t.index
        w = self.last_write.get(obj)
        info = None
        if w is not None and w[0] != me and w[1] > c[w[0]]:
            info = self._info(exe, t, kind, what)
            self._report(w[2], info)
        if kind == "write":
            for r_thread, (epoch, r_info) in self.reads.get(obj, {}).items():
                if r_thread != me and epoch > c[r_thread]:
                    info = info or self._info(exe, t, kind, what)
                    self._report(r_info, info)
            info = info or self._info(exe, t, kind, what)
            self.last_write[obj] = (me, c[me], info)
            self.reads.pop(obj, None)
        else:
            # Only remember reads of objects another thread may write: cheap for the common case.
            info = info or self._info(exe, t, kind, what)
            self.reads.setdefault(obj, {})[me] = (c[me], info)

    def _report(self, first, second):
        key = (first[0], first[3], first[4], second[0], second[3], second[4])
        if key in self._seen:
            return
        self._seen.add(key)
        self.races.append(Race(self._full(first), self._full(second)))
