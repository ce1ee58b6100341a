"""Count a program's Mazurkiewicz traces by brute force: the oracle DPOR is checked against.

Every interleaving is explored, step by step, with one shortcut only: two prefixes that are
the same trace (the same steps, every dependent pair in the same order) reach the same state,
so the second is not explored again. A trace is named canonically by its steps' vector clocks
(thread by thread: how many steps of each thread come before each step), which is the partial
order itself. Every step is a scheduling point here (no quiet accesses), so this also checks
that skipping quiet points loses no trace. Dependence is dpor.py's: the same object (key_of),
at least one write. Each prefix costs one execution replayed from the start: feasible at the
small scales (a few thousand prefixes), not at the seed's.
"""

from typing import Any

from labkit.errors import LabkitError
from labkit.sched.dpor import key_of
from labkit.sched.explore import signature
from labkit.sched.program import Program, outcome_of
from labkit.sched.runtime import WRITE_KINDS, Chooser, Execution


class _Prefix(Chooser):
    """Follows a schedule of thread indices, then pauses and notes what could run next."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.steps = []           # (thread, key, write) per decision
        self.enabled: list[tuple[int, str, Any]] | None = None

    def choose(self, exe, enabled):
        i = exe.decisions
        if i < len(self.prefix):
            return exe.threads[self.prefix[i]]
        self.enabled = [(t.index, t.pending[0], key_of(t.pending[1])) for t in enabled]
        return None

    def on_step(self, exe, t, access):
        self.steps.append((t.index, key_of(access[1]), access[0] in WRITE_KINDS))


def _clocks(steps, nthreads):
    """Vector clock of each step, and what the next step of each kind would join."""
    vc = [[0] * nthreads for _ in range(nthreads)]
    clocks: list[tuple[int, ...]] = []
    last_write: dict[Any, int] = {}
    reads: dict[Any, dict[int, int]] = {}
    for (p, key, write) in steps:
        c = vc[p]
        deps = []
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
        if write:
            last_write[key] = i
            reads.pop(key, None)
        else:
            reads.setdefault(key, {})[p] = i
    return clocks


def _name(steps, clocks, nthreads) -> tuple:
    per: list[list[tuple[int, ...]]] = [[] for _ in range(nthreads)]
    for (p, _, _), c in zip(steps, clocks):
        per[p].append(c)
    return tuple(tuple(x) for x in per)


def enumerate_traces(program: Program, *, limit: int = 200_000, budget: int | None = None) -> dict:
    """Every maximal trace of the program: canonical name -> outcome signature.

    Raises LabkitError past `limit` prefixes (the brute force is not feasible there)."""
    nthreads = len(program.thread_names)
    todo: list[list[int]] = [[]]
    seen = {_name([], [], nthreads)}
    maximal = {}
    runs = 0
    while todo:
        prefix = todo.pop()
        runs += 1
        if runs > limit:
            raise LabkitError(f"more than {limit} prefixes: too many to enumerate the traces")
        instance = program.instantiate()
        chooser = _Prefix(prefix)
        exe = Execution(instance.threads, chooser, budget=budget)
        try:
            exe.start()
            ended = exe.resume()
            if ended:
                outcome = outcome_of(program, exe, None, instance)
        finally:
            exe.close()
        steps = chooser.steps
        clocks = _clocks(steps, nthreads)
        if ended:
            maximal[_name(steps, clocks, nthreads)] = signature(outcome)
            continue
        assert chooser.enabled is not None     # a run that has not ended paused at its prefix's end
        for (p, kind, key) in chooser.enabled:
            more = steps + [(p, key, kind in WRITE_KINDS)]
            name = _name(more, _clocks(more, nthreads), nthreads)
            if name not in seen:
                seen.add(name)
                todo.append(prefix + [p])
    return maximal


def count_traces(program: Program, **kw: Any) -> tuple[int, set]:
    """(number of maximal traces, the set of their outcome signatures)."""
    traces = enumerate_traces(program, **kw)
    return len(traces), set(traces.values())
