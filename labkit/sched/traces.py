"""Count a program's Mazurkiewicz traces by brute force: the oracle DPOR is checked against.

Every interleaving is explored, step by step, with one shortcut only: two prefixes that are
the same trace (the same steps, every dependent pair in the same order) reach the same state,
so the second is not explored again. A trace is named canonically by its steps' vector clocks
(thread by thread: how many steps of each thread come before each step), which is the partial
order itself. Every step is a scheduling point here (no quiet accesses), so this also checks
that skipping quiet points loses no trace. Dependence is dpor.py's: the same object (key_of),
at least one write. Each prefix costs one execution replayed from the start: feasible at the
small scales (a few thousand prefixes), not at the seed's.

whole_sections=True counts the traces of dpor.py's whole-section search: the same exploration,
each step's footprint its point and its note()s; each maximal execution is then named by its
steps as that search groups them (_coarse), with the loud keys found by quiet.py's rule over
every execution (_loud) and no whole sections for a lock some execution tried (tryacquire).
"""

from typing import Any

from labkit.errors import LabkitError
from labkit.sched.dpor import key_of
from labkit.sched.explore import signature
from labkit.sched.program import Program, outcome_of
from labkit.sched.runtime import WRITE_KINDS, Chooser, Execution


class _Prefix(Chooser):
    """Follows a schedule of thread indices, then pauses and notes what could run next. With
    `notes`, it also records the kernel's note()s of each step and what whole sections need."""

    def __init__(self, prefix, notes: bool = False):
        self.prefix = prefix
        self.steps: list[tuple] = []   # (thread, key, write) per decision
        self.facts: list[tuple] = []           # per decision: (kind, quietable, held lock keys, [(key, written, held)])
        self.notes = notes
        self.enabled: list[tuple[int, str, Any]] | None = None

    def heard(self, exe, kind, obj):
        if not exe._starting and self.facts:
            t = exe.running
            self.facts[-1][3].append((key_of(obj), kind == "write",
                                      frozenset(key_of(m) for m in t.held)))

    def choose(self, exe, enabled):
        i = exe.decisions
        if i == 0 and self.notes:
            exe.noting = lambda kind, obj: self.heard(exe, kind, obj)
        if i < len(self.prefix):
            return exe.threads[self.prefix[i]]
        self.enabled = [(t.index, t.pending[0], key_of(t.pending[1])) for t in enabled]
        return None

    def on_step(self, exe, t, access):
        self.steps.append((t.index, key_of(access[1]), access[0] in WRITE_KINDS))
        if self.notes:
            self.facts.append((access[0], getattr(access[1], "sched_key", None) is not None,
                               frozenset(key_of(m) for m in t.held), []))


def _clocks(steps, nthreads):
    """Vector clock of each step (a step: (thread, key, written) or (thread, {key: written}))."""
    vc = [[0] * nthreads for _ in range(nthreads)]
    clocks: list[tuple[int, ...]] = []
    last_write: dict[Any, int] = {}
    reads: dict[Any, dict[int, int]] = {}
    for step in steps:
        p = step[0]
        fp = step[1] if len(step) == 2 else {step[1]: step[2]}
        c = vc[p]
        deps = []
        for key, write in fp.items():
            if key in last_write:
                deps.append(last_write[key])
            if write:
                deps.extend(reads.get(key, {}).values())
        for d in deps:
            for k, v in enumerate(clocks[d]):
                if v > c[k]:
                    c[k] = v
        c[p] += 1
        clocks.append(tuple(c))
        i = len(clocks) - 1
        for key, write in fp.items():
            if write:
                last_write[key] = i
                reads.pop(key, None)
            else:
                reads.setdefault(key, {})[p] = i
    return clocks


def _name(steps, clocks, nthreads) -> tuple:
    per: list[list[tuple[int, ...]]] = [[] for _ in range(nthreads)]
    for step, c in zip(steps, clocks):
        per[step[0]].append(c)
    return tuple(tuple(x) for x in per)


def _fine(steps, facts) -> list:
    """Every point a step, its footprint its access and its notes."""
    out = []
    for (p, key, write), f in zip(steps, facts):
        fp = {key: write}
        for k, w, _ in f[3]:
            fp[k] = w or fp.get(k, False)
        out.append((p, fp))
    return out


def _loud(runs) -> set:
    """The keys quiet.py makes loud (its rule, over every execution): two accesses by different
    threads, one a write, holding no lock in common, among the read, write and alloc points of
    objects with a sched_key and the notes."""
    loud = set()
    for steps, facts in runs:
        seen: dict = {}
        for (p, key, write), (kind, quietable, held, notes) in zip(steps, facts):
            accesses = [(k, w, h) for k, w, h in notes]
            if (kind in _QUIET_KINDS or kind == "wakeup") and quietable:
                accesses.insert(0, (key, write, held))
            for k, w, h in accesses:
                mine = seen.setdefault(k, set())
                if any(q != p and (w or v) and not (h & g) for q, v, g in mine):
                    loud.add(k)
                mine.add((p, w, h))
    return loud


_QUIET_KINDS = ("read", "write", "alloc", "signal")   # (a wakeup is recorded, never quiet)


def _coarse(steps, facts, loud, tried) -> list:
    """The steps as a reduced search with whole sections takes them (dpor.py): a quiet point is
    part of its thread's step before it (its notes in that step's footprint), and an acquire
    whose thread's next point that is not quiet is the release of that lock is one step with
    that release, its footprint the lock as a read, what was touched quietly between them and
    its notes."""
    out: list = []
    at: dict[int, list] = {}       # thread -> [its step in out, lock it took while whole, quiet keys]
    for (p, key, write), (kind, quietable, _, notes) in zip(steps, facts):
        mine = at.get(p)
        if mine is not None and kind in _QUIET_KINDS and quietable and key not in loud:
            fp = out[mine[0]][1]
            if mine[1] is not None:
                mine[2][key] = write or mine[2].get(key, False)
        elif mine is not None and mine[1] is not None and kind == "release" and key == mine[1]:
            fp = out[mine[0]][1]
            for k, w in mine[2].items():
                fp[k] = w or fp.get(k, False)
            fp[key] = False
            mine[1] = None
        else:
            fp = {key: write}
            out.append((p, fp))
            at[p] = [len(out) - 1, key if kind == "acquire" and key not in tried else None, {}]
        for k, w, _ in notes:
            fp[k] = w or fp.get(k, False)
    return out


def enumerate_traces(program: Program, *, limit: int = 200_000, budget: int | None = None,
                     whole_sections: bool = False) -> dict:
    """Every maximal trace of the program: canonical name -> outcome signature.

    `whole_sections`: traces as a search with whole sections counts them (dpor.py): every
    interleaving of the points is still explored, each step's notes in its footprint, and each
    execution is then named by its steps as that search takes them (_coarse).

    Raises LabkitError past `limit` prefixes (the brute force is not feasible there)."""
    nthreads = len(program.thread_names)
    todo: list[list[int]] = [[]]
    seen = {_name([], [], nthreads)}
    maximal = {}
    runs = 0
    ends = []
    while todo:
        prefix = todo.pop()
        runs += 1
        if runs > limit:
            raise LabkitError(f"more than {limit} prefixes: too many to enumerate the traces")
        instance = program.instantiate()
        chooser = _Prefix(prefix, notes=whole_sections)
        exe = Execution(instance.threads, chooser, budget=budget)
        try:
            exe.start()
            ended = exe.resume()
            if ended:
                outcome = outcome_of(program, exe, None, instance)
        finally:
            exe.close()
        steps = _fine(chooser.steps, chooser.facts) if whole_sections else chooser.steps
        clocks = _clocks(steps, nthreads)
        if ended:
            if whole_sections:
                ends.append((chooser.steps, chooser.facts, signature(outcome)))
            else:
                maximal[_name(steps, clocks, nthreads)] = signature(outcome)
            continue
        assert chooser.enabled is not None     # a run that has not ended paused at its prefix's end
        for (p, kind, key) in chooser.enabled:
            more = steps + [(p, key, kind in WRITE_KINDS)]
            name = _name(more, _clocks(more, nthreads), nthreads)
            if name not in seen:
                seen.add(name)
                todo.append(prefix + [p])
    if whole_sections:
        loud = _loud([(s, f) for s, f, _ in ends])
        tried = {key for s, f, _ in ends for (_, key, _), fact in zip(s, f) if fact[0] == "tryacquire"}
        for s, f, sig in ends:
            coarse = _coarse(s, f, loud, tried)
            maximal[_name(coarse, _clocks(coarse, nthreads), nthreads)] = sig
    return maximal


def count_traces(program: Program, **kw: Any) -> tuple[int, set]:
    """(number of maximal traces, the set of their outcome signatures)."""
    traces = enumerate_traces(program, **kw)
    return len(traces), set(traces.values())
