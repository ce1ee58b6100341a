"""How much a lock-aware reduction could save the DPOR search: classes of its executions (issue 13).

    .venv/bin/python benchmarks/bench_lock_classes.py [--fix F]... [--wrong] [--writers W] [--kstats N]
                                                      [--programs] [--json FILE]

The search (dpor.py) makes every acquire of a lock race with the acquire before it, so it runs
every order of the critical sections: one execution per Mazurkiewicz trace under lock-as-write.
This measures (on the kstat scenarios, or with --programs on the benchmark programs) what two coarser equivalences would leave, by replaying each of the search's
executions with every shared access recorded and naming it canonically:

  - "lock-aware": the order of conflicting data accesses only (same object, at least one write),
    lock operations ordering nothing (the equivalence of LAPOR, Kokologiannakis, Raad, Vafeiadis,
    OOPSLA 2019). A lower bound for any search that lets critical sections commute.
  - "atomic CS": only critical sections with no loud access inside (no scheduling point other
    than the lock's and a CondVar signal: quiet.py skips every access in them) commute; they
    read the lock once, every other acquire and release writes it. What a DPOR that treats such
    a critical section as one step with its recorded footprint could reach. "pairwise": the
    same, with an access loud only when it and another thread's access, one of them a write,
    hold no lock in common (over all the search's executions), instead of quiet.py's rule.

  - "noted": atomic CS with pairwise loudness over what the search itself sees of a step (its
    point and the kernel's runtime.note()s), not over every member: what a search that lets
    sections commute by their footprint would reach with the kernel's notes. "n.mixed" counts
    its classes whose executions ended differently: 0, or a note is missing or too coarse to
    matter. (At load 3.9-4.4, 2026-12-02: two writers, 1 kstat, lock 27 = pairwise 27,
    count 96 (75), none 158 (135); one writer, 3 kstats, 7 (7) / 12 (11) / 14 (13); n.mixed 0.)

Each of the search's executions is one trace, so the classes among them are the classes of the
program. The replay records every scheduling point (quiet accesses too: a replay has no quiet
reduction) and, through properties this script puts on the kernel's classes (measurement
instrumentation, in this process only), every member of every Kstat and the Kernel's
kstat_chain_id and hrtime (the kernel model notes them too, with runtime.note(), and
tests/test_shared_state.py checks, by a replay like this one, that it notes every member two
threads share; this script records them its own way, whatever the search hears). Not recorded: the grader's own records
(hold_sites, invalid_cleared, ...) and a Mutex's waiters bit. "mixed" counts the classes whose
executions ended differently (kind, panic signature, the reader's result and the grader's facts):
it must be 0, or the recording missed an access that matters.
A benchmark, not a test; timings move with the machine's load, printed beside them.
"""

import argparse
import glob
import json
import os
import time
from pathlib import Path

from labkit.kernel import SMALL_KSTATS, Scenario
from labkit.kernel.kstat import Kernel, Kstat
from labkit.sched import benchprograms as bp
from labkit.sched import runtime
from labkit.sched.dpor import DporSearch, key_of
from labkit.sched.explore import signature
from labkit.sched.program import run_once
from labkit.sched.runtime import WRITE_KINDS
from labkit.sched.schedule import parse_schedule
from labkit.sched.strategies.replay import ReplayChooser

ROOT = Path(__file__).resolve().parent.parent
LOCK_KINDS = ("acquire", "release", "tryacquire")
_log: list | None = None      # (thread index, kind, key) of every access of the replay running now


def _record(kind: str, key) -> None:
    exe = runtime._current
    if _log is not None and exe is not None and exe.running is not None:
        _log.append((exe.running.index, kind, key))


def _instrument() -> None:
    """Record reads and writes of every Kstat member and of Kernel.kstat_chain_id and hrtime."""
    kid_slot = Kstat.__dict__["ks_kid"]
    for name in Kstat.__slots__:
        if name in ("sched_key", "label", "flags_what", "copy_what", "image", "_copy", "addr", "_cv", "hold"):
            continue              # set once at creation, or the simulator's own bookkeeping
        slot = Kstat.__dict__[name]

        def prop(slot=slot, name=name):
            def get(self):
                _record("read", ("member", kid_slot.__get__(self), name))
                return slot.__get__(self)

            def put(self, value):
                try:
                    kid = kid_slot.__get__(self)
                except AttributeError:   # (being built: ks_kid not set yet)
                    kid = None
                _record("write", ("member", kid, name))
                slot.__set__(self, value)
            return property(get, put)
        setattr(Kstat, name, prop())
    for attr in ("kstat_chain_id", "hrtime"):
        def kprop(attr=attr):
            hidden = "_bench_" + attr

            def get(self):
                _record("read", ("kernel", attr))
                return self.__dict__[hidden]

            def put(self, value):
                _record("write", ("kernel", attr))
                self.__dict__[hidden] = value
            return property(get, put)
        setattr(Kernel, attr, kprop())


_flog: list | None = None     # the same replay as the search would see it: points and note()s only


class _Points:
    def on_step(self, exe, t, access):
        if _log is not None:
            _log.append((t.index, access[0], key_of(access[1])))
        if _flog is not None:
            _flog.append((t.index, access[0], key_of(access[1])))
            if exe.noting is None:     # (a thread's code before its first point runs before any step)
                exe.noting = lambda kind, obj: _flog.append((exe.running.index, kind, key_of(obj)))


def atomic_cs(log: list, loud: set) -> list:
    """The log with each critical section's lock operations rewritten for the "atomic CS"
    equivalence: one read of the lock if nothing loud happened inside, else writes (and a
    tryacquire, with the release after it, always writes)."""
    out: list[list] = []
    inside: dict[int, list] = {}     # thread -> [index of its acquire in out, atomic so far]
    for p, kind, key in log:
        if kind == "acquire":
            inside[p] = [len(out), True]
            out.append([p, "write", ("lock", key)])
        elif kind == "release" and p in inside:
            at, atomic = inside.pop(p)
            if atomic:
                out[at][1] = "read"
            else:
                out.append([p, "write", ("lock", key)])
        elif kind in LOCK_KINDS:       # a tryacquire, and the release after one: writes of the lock
            out.append([p, "write", ("lock", key)])
        else:
            if p in inside and key in loud:
                inside[p][1] = False
            out.append([p, kind, key])
    return [tuple(x) for x in out]


def unprotected(log: list) -> set:
    """The objects of the log with two accesses of different threads, at least one a write,
    made holding no lock in common (the pairwise lockset rule; quiet.py asks instead for one
    lock common to every access, so a writer's own unlocked read of its ks_flags makes that
    kstat loud). Only scheduling points count, as in quiet.py: the recorded members are not."""
    held: dict[int, frozenset] = {}
    seen: dict = {}              # key -> {(thread, write, locks held)}
    for p, kind, key in log:
        if kind == "acquire":
            held[p] = held.get(p, frozenset()) | {key}
        elif kind == "release":
            held[p] = held.get(p, frozenset()) - {key}
        elif kind not in LOCK_KINDS and key[0] not in ("member", "kernel"):   # (points only)
            seen.setdefault(key, set()).add((p, kind in WRITE_KINDS, held.get(p, frozenset())))
    return {key for key, accesses in seen.items()
            if any(p != q and (w or v) and not (h & g)
                   for p, w, h in accesses for q, v, g in accesses)}


def canonical(log: list, kind: str, nthreads: int) -> tuple:
    """The order of conflicting accesses, object by object (lock operations left out): the
    writes in order, and the set of reads between each two; a halting run also names how far
    each thread got."""
    local = [0] * nthreads
    per_key: dict = {}
    for p, k, key in log:
        if k in LOCK_KINDS:
            continue
        local[p] += 1
        event = (p, local[p], k)
        seq = per_key.setdefault(key, [])
        if k in WRITE_KINDS:
            seq.append(event)
        else:
            if not seq or not isinstance(seq[-1], set):
                seq.append(set())
            seq[-1].add(event)
    name = frozenset((key, tuple(frozenset(x) if isinstance(x, set) else x for x in seq))
                     for key, seq in per_key.items())
    return (name, tuple(local) if kind in ("panic", "error") else ())


def measure(prog) -> dict:
    global _log, _flog
    search = DporSearch(prog, detect_races=False)
    t = time.perf_counter()
    runs = list(search.outcomes())
    search_s = time.perf_counter() - t
    loud = search.quiet.loud if search.quiet is not None else set()
    lock_aware: dict = {}
    atomic: set = set()
    pairwise: set = set()
    logs = []
    n = len(prog.thread_names)
    flogs = []
    for o in runs:
        _log, _flog = [], []
        out, _ = run_once(prog, ReplayChooser(parse_schedule(o.schedule, prog.thread_names)),
                          detect_races=False, observers=[_Points()])
        log, _log = _log, None
        flog, _flog = _flog, None
        assert out.kind == o.kind, (o.schedule, o.kind, out.kind)
        facts = getattr(out.result, "facts", None)      # (the kstat scenarios' grader's record)
        ended = repr(signature(out)) + (repr(facts()) if facts is not None else "")
        lock_aware.setdefault(canonical(log, out.kind, n), set()).add(ended)
        atomic.add(canonical(atomic_cs(log, loud), out.kind, n))
        logs.append((log, out.kind))
        flogs.append((flog, out.kind, ended))
    racy = set().union(*(unprotected(log) for log, _ in logs)) if logs else set()
    for log, kind in logs:
        pairwise.add(canonical(atomic_cs(log, racy), kind, n))
    # "noted": atomic CS with pairwise loudness over what the search itself sees (points and the
    # kernel's note()s), which is what a search that lets sections commute by footprint would
    # reach; "noted mixed" counts its classes whose executions ended differently (0: no order that
    # matters is lost by what the kernel leaves unnoted, on these runs)
    fracy = set().union(*(unprotected(f) for f, _, _ in flogs)) if flogs else set()
    noted: dict = {}
    for flog, kind, ended in flogs:
        noted.setdefault(canonical(atomic_cs(flog, fracy), kind, n), set()).add(ended)
    return {"executions": len(runs), "blocked": search.pruned, "lock_aware": len(lock_aware),
            "atomic_cs": len(atomic), "atomic_cs_pairwise": len(pairwise), "mixed": sum(1 for v in lock_aware.values() if len(v) > 1),
            "noted": len(noted), "noted_mixed": sum(1 for v in noted.values() if len(v) > 1),
            "search_seconds": round(search_s, 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fix", action="append", default=None,
                    help="none, lock, count or a .py file (default: the three built-in ones)")
    ap.add_argument("--wrong", action="store_true",
                    help="also every wrong fix of labkit/kernel/wrong_fixes and tests/data/grading/wrong_sim")
    ap.add_argument("--programs", action="store_true",
                    help="the benchmark programs (labkit/sched/benchprograms.py) instead of the kstat scenarios")
    ap.add_argument("--writers", type=int, default=2)
    ap.add_argument("--kstats", type=int, default=None, help="default: 1 with two writers, else 3")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    kstats = args.kstats if args.kstats is not None else (1 if args.writers == 2 else SMALL_KSTATS)
    fixes = args.fix or ["none", "lock", "count"]
    if args.wrong:
        for pattern in ("labkit/kernel/wrong_fixes/*.py", "tests/data/grading/wrong_sim/*.py"):
            fixes += [f for f in sorted(glob.glob(str(ROOT / pattern)))
                      if not f.endswith("__init__.py")
                      and Path(f).stem not in ("loops_forever", "eats_memory")]   # (they hang / fill memory)
    _instrument()
    print(f"load average {os.getloadavg()[0]:.2f}" + ("" if args.programs else f"; writers={args.writers} kstats={kstats}"))
    print(f"{'fix':28} {'executions':>10} {'blocked':>7} {'lock-aware':>10} {'atomic CS':>9} "
          f"{'pairwise':>8} {'mixed':>5} {'noted':>5} {'n.mixed':>7} {'search s':>8}")
    rows = []
    todo = ([(repr(p), p) for p in bp.SMALL] if args.programs else
            [(Path(fix).stem, Scenario(kstats, fix, writers=args.writers)) for fix in fixes])
    for name, prog in todo:
        row = {"fix": name, **measure(prog)}
        rows.append(row)
        print(f"{row['fix']:28} {row['executions']:10} {row['blocked']:7} {row['lock_aware']:10} "
              f"{row['atomic_cs']:9} {row['atomic_cs_pairwise']:8} {row['mixed']:5} {row['noted']:5} "
              f"{row['noted_mixed']:7} {row['search_seconds']:8.2f}", flush=True)
    print(f"load average after {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
