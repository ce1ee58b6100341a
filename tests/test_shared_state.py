"""No silent state: every piece of kernel-model state two simulated threads touch is seen by the search.

The search orders steps by what it sees of them: a scheduling point's object, and what the
running step declares with runtime.note(). A plain attribute one thread changes and another
reads, seen by neither, is an order the search may lose once critical sections commute by their
footprint (an atomic critical section is one step whose footprint is what it touched). This
test replays executions with every member of the kernel's objects recorded (measurement-only
instrumentation, as benchmarks/bench_lock_classes.py does, undone after the test) and checks
each pair of conflicting accesses by two threads (same member or container, one a write) is
ordered by the steps' recorded footprints alone, with lock operations ordering nothing (the
strictest equivalence, LAPOR's: what holds here holds for any search that lets sections
commute). An unordered pair is state the search cannot see.

Steps: everything a thread does from one scheduling point to its next is the step of the first.
A thread's code before its first point runs at the start of every execution, in thread order,
before any step (Execution.start), so it is ordered before everything. The step that ends a
panicking or failing execution depends on every step (dpor.py), so it is ordered after them.

Not recorded, as not program state: the grader's records (Kernel.hold_sites, invalid_cleared,
uninstalled_copies, visible_at_snapshot, and _installing, which each thread reads only its own
entry of, for that record; see kstat.Kernel for why they are observation), a
BootKstat's cached copy and its image (the simulator's memo of a boot kstat's members, dropped by
any store), the scheduler's own objects (Mutex, CondVar, SimThread: the search sees their
operations as points) and process-wide caches of strings (kstat_fr._walk_labels).

Coverage: the one-writer small scenarios replay every execution of their search (one per
class); the two-writer ones a seeded sample of random schedules (seed 0, the same every run).
"""

import glob
import random
import sys
from pathlib import Path

import pytest

from labkit.kernel import SMALL_KSTATS, Scenario
from labkit.kernel.kstat import AvlTree, BootKstat, Kernel, Kstat
from labkit.kernel.memory import KernelMemory
from labkit.sched import runtime
from labkit.sched.dpor import DporSearch, key_of
from labkit.sched.runtime import WRITE_KINDS, Chooser, Execution
from labkit.sched.schedule import parse_schedule
from labkit.sched.strategies.replay import ReplayChooser

ROOT = Path(__file__).resolve().parent.parent
LOCK_KINDS = ("acquire", "release", "tryacquire")
RANDOM_SCHEDULES = 120          # per two-writer scenario, seed 0
HANGS_OR_HOGS = ("loops_forever", "eats_memory")

# Members that are not program state (see the module's note).
_NOT_STATE = {
    Kernel: {"hold_sites", "invalid_cleared", "uninstalled_copies", "visible_at_snapshot", "_installing"},
    Kstat: {"_copy", "image"},
}

# Members that hold a function as data (the rest of the callables read are methods).
_CALLABLE_DATA = ("ks_update", "ks_snapshot", "kstat_install", "before_zalloc")

_log: list | None = None        # (thread index, "read"/"write", location) of the replay running now


def _record(kind: str, loc) -> None:
    exe = runtime._current
    if _log is not None and exe is not None and exe.running is not None:
        _log.append(("mem", exe.running.index, kind, loc))


_READS = ("__getitem__", "__iter__", "__len__", "__contains__", "get", "index", "count", "keys",
          "values", "items", "copy", "__reversed__")
_WRITES = ("__setitem__", "__delitem__", "append", "extend", "insert", "remove", "pop", "clear",
           "setdefault", "update", "sort", "reverse", "__iadd__", "popitem")


def _recorded(method, kind):
    def call(self, *a, **kw):
        _record(kind, self.loc)
        return method(self, *a, **kw)
    return call


def _recording(base):
    """A subclass of list or dict that records every read and every change of itself."""
    ns = {"__slots__": ("loc",)}
    for names, kind in ((_READS, "read"), (_WRITES, "write")):
        for name in names:
            if hasattr(base, name):
                ns[name] = _recorded(getattr(base, name), kind)
    return type("Recording" + base.__name__.title(), (base,), ns)


RecordingList, RecordingDict = _recording(list), _recording(dict)


def _wrap(owner, name, value):
    """A list or dict member becomes a recording one, named by its owner and member."""
    if type(value) is list:
        out = RecordingList(value)
    elif type(value) is dict:
        out = RecordingDict(value)
    else:
        return value
    out.loc = (owner, name + "[]")     # its contents (the member itself is the reference)
    return out


class _Instrumented:
    """Every data member of the kernel's classes recorded on each read and store; undone on exit."""

    CLASSES = (Kstat, BootKstat, Kernel, KernelMemory, AvlTree)

    def __enter__(self):
        self.saved = []
        for cls in self.CLASSES:
            for name in ("__getattribute__", "__setattr__"):
                self.saved.append((cls, name, cls.__dict__.get(name)))
        for cls in self.CLASSES:
            # Properties are left out: what they read and store underneath is recorded (a point
            # inside one, as ks_flags has, starts a step before the member it reads).
            skip = set().union(*(v for k, v in _NOT_STATE.items() if issubclass(cls, k)),
                               (n for n in dir(cls) if isinstance(getattr(cls, n, None), property)),
                               ("sched_key",))     # (read by the scheduler, on any thread)
            get0, set0 = cls.__getattribute__, cls.__setattr__

            def get(self, name, _get0=get0, _skip=skip):
                value = _get0(self, name)
                if name[0] != "_" or name[1] != "_":
                    if name not in _skip and (not callable(value) or name in _CALLABLE_DATA):
                        _record("read", (self, name))
                return value

            def put(self, name, value, _set0=set0, _skip=skip):
                if name not in _skip:
                    _record("write", (self, name))
                    value = _wrap(self, name, value)
                _set0(self, name, value)
            if cls is not BootKstat:        # (it has Kstat's, which records for it)
                cls.__getattribute__ = get
            cls.__setattr__ = put           # (BootKstat's own, wrapped: it marks its image dirty)
        return self

    def __exit__(self, *exc):
        for cls, name, value in reversed(self.saved):
            if value is None:
                if name in cls.__dict__:
                    delattr(cls, name)
            else:
                setattr(cls, name, value)


class _Log(Chooser):
    """Observer: each step's thread and access, in the log."""

    def on_step(self, exe, t, access):
        if _log is not None:
            _log.append(("step", t.index, access[0], key_of(access[1])))


def _site() -> str:
    """Which note() call is noting: the function that called it (a property's, by its name)."""
    code = sys._getframe(3).f_code
    return code.co_qualname.split(".<locals>.")[0] if ".<locals>." in code.co_qualname else code.co_name


def replay(prog, chooser, drop: str | None = None) -> tuple[list, str]:
    """Run one execution with everything recorded: (log, outcome kind). `drop` names a function
    whose note() calls are left out (to show they are needed)."""
    global _log
    instance = prog.instantiate()
    k = instance.kernel
    for owner in (k, k.memory, k.avl_bykid):          # containers made before the run
        skip = set().union(*(v for c, v in _NOT_STATE.items() if isinstance(owner, c)))
        for name, value in list(vars(owner).items()):
            if name not in skip:
                object.__setattr__(owner, name, _wrap(owner, name, value))
    exe = Execution(instance.threads, chooser, observers=[_Log()])

    def noting(kind, obj):
        if drop is None or _site() != drop:
            _log.append(("note", exe.running.index, kind, key_of(obj)))
    exe.noting = noting
    _log = []
    try:
        exe.run()
    finally:
        exe.close()
        log, _log = _log, None
    return log, exe.outcome_kind


def unordered(log: list, kind: str, nthreads: int) -> list:
    """The pairs of conflicting member accesses by two threads that the steps' recorded
    footprints (lock operations left out) do not order: [(location, first, second)]."""
    steps: list[list] = []      # [thread, footprint {key: writes?}, accesses [(kind, loc)]]
    current: dict[int, list] = {}
    for entry in log:
        what, p, k, x = entry
        if what == "step":
            steps.append([p, {}, []])
            current[p] = steps[-1]
            if k not in LOCK_KINDS:
                steps[-1][1][x] = steps[-1][1].get(x, False) or k in WRITE_KINDS
        elif p in current:      # (before a thread's first step: ordered before everything)
            s = current[p]
            if what == "note":
                s[1][x] = s[1].get(x, False) or k == "write"
            else:
                s[2].append((k, x))
    # vector clocks over the footprints' dependences and program order
    clocks = []
    last_write: dict = {}
    reads: dict = {}
    local = [0] * nthreads
    prev = [None] * nthreads
    halting = kind in ("panic", "error")
    for i, (p, foot, _) in enumerate(steps):
        vc = list(prev[p]) if prev[p] is not None else [0] * nthreads
        if halting and i == len(steps) - 1:
            for c in clocks:
                vc = [max(a, b) for a, b in zip(vc, c)]
        for key, writes in foot.items():
            deps = [last_write.get(key)] + (list(reads.get(key, {}).values()) if writes else [])
            for d in deps:
                if d is not None:
                    vc = [max(a, b) for a, b in zip(vc, clocks[d])]
        local[p] += 1
        vc[p] = local[p]
        clocks.append(vc)
        prev[p] = vc
        for key, writes in foot.items():
            if writes:
                last_write[key] = i
                reads[key] = {}
            else:
                reads.setdefault(key, {})[p] = i
    # each member access against the last write and, for a write, the reads since
    found = []
    mw: dict = {}
    mr: dict = {}

    def ordered(a, b):          # step a before step b, both in the run's order
        return steps[a][0] == steps[b][0] or clocks[b][steps[a][0]] >= clocks[a][steps[a][0]]
    for i, (p, _, accesses) in enumerate(steps):
        for k, loc in accesses:
            before = [mw.get(loc)] + (list(mr.get(loc, {}).values()) if k == "write" else [])
            for b in before:
                if b is not None and not ordered(b, i):
                    found.append((loc, steps[b][0], p))
            if k == "write":
                mw[loc] = i
                mr[loc] = {}
            else:
                mr.setdefault(loc, {})[p] = i
    return found


def _name(loc) -> str:
    owner, member = loc
    label = getattr(owner, "label", None) or type(owner).__name__
    return f"{label}.{member}"


PEEKS = str(ROOT / "tests/data/shared_state/peeks_header.py")   # shares the header's ks_ndata
HOLDS = str(ROOT / "tests/data/shared_state/holds_header.py")   # shares the header's hold


def _fixes() -> list:
    out = ["none", "lock", "count"]
    for pattern in ("labkit/kernel/wrong_fixes/*.py", "tests/data/grading/wrong_sim/*.py",
                    "tests/data/shared_state/*.py"):
        out += [f for f in sorted(glob.glob(str(ROOT / pattern)))
                if not f.endswith("__init__.py") and Path(f).stem not in HANGS_OR_HOGS]
    return out


def _problems(prog, choosers, drop: str | None = None) -> set:
    names = prog.thread_names
    out = set()
    with _Instrumented():
        for chooser in choosers:
            log, kind = replay(prog, chooser, drop)
            for loc, p, q in unordered(log, kind, len(names)):
                out.add(f"{_name(loc)}: {names[p]} then {names[q]}")
    return out


def _choosers(prog):
    """Every execution of the search (one writer), or the seeded random sample (two)."""
    if prog.writers == 1:
        return [ReplayChooser(parse_schedule(o.schedule, prog.thread_names))
                for o in DporSearch(prog, detect_races=False).outcomes()]
    rng = random.Random(0)
    return [_Random(rng) for _ in range(RANDOM_SCHEDULES)]


class _Random(Chooser):
    def __init__(self, rng):
        self.rng = rng

    def choose(self, exe, enabled):
        return enabled[self.rng.randrange(len(enabled))]


@pytest.mark.parametrize("writers", (1, 2))
@pytest.mark.parametrize("fix", _fixes(), ids=lambda f: Path(f).stem)
def test_every_shared_member_is_seen(fix, writers):
    prog = Scenario(SMALL_KSTATS, fix, writers=writers)
    problems = _problems(prog, _choosers(prog))
    assert not problems, "state two threads share that the search cannot see:\n" + "\n".join(sorted(problems))


# Each note() call of the kernel model, by the function making it, and a scenario where leaving it
# out leaves two threads' accesses unordered: the check fails without any one of them. Random
# schedules (seed 0): the search's own executions may all order the pair some other way (in the
# buggy kernel the writer's clear must fall between the copy pass's start and its reaching the
# new kstat for _note_snapshot_start's reads to matter: 1 schedule in about 200).
NEEDED = [("kstat_chain_id", "none", 1, "Kernel._chain_id", 120),
          ("gethrtime", PEEKS, 1, "Kernel.hrtime", 120),
          ("e_zones", "none", 1, "._zones", 120),
          ("_note_snapshot_start", "none", 1, ".installed", 250),
          ("e_owner", HOLDS, 1, "._owner", 120), ("e_cv", HOLDS, 2, "._cv", 120),
          ("_noted", PEEKS, 1, "._ks_ndata", 120), ("cmn_err", PEEKS, 2, "Kernel.console[]", 120)]


@pytest.mark.parametrize("site,fix,writers,member,schedules", NEEDED, ids=[n[0] for n in NEEDED])
def test_each_note_is_needed(site, fix, writers, member, schedules):
    prog = Scenario(SMALL_KSTATS, fix, writers=writers)
    rng = random.Random(0)
    problems = _problems(prog, [_Random(rng) for _ in range(schedules)], drop=site)
    assert any(member in p for p in problems), (site, sorted(problems))
