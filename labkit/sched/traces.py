"""Count a program's Mazurkiewicz traces, one run per trace: the oracle DPOR is checked against.

A trace is named canonically by its steps' vector clocks (thread by thread: how many steps of
each thread come before each step), which is the partial order itself. Every step is a
scheduling point here (no quiet accesses), so this also checks that skipping quiet points loses
no trace. Dependence is dpor.py's: two steps of one thread, or two steps touching the same
object (key_of), at least one writing it; a step that halts the run (panic, error) depends on
every step. Like every trace-based search this rests on independent steps commuting: swapping
two adjacent independent steps reaches the same state, each step touching what it did.

Except in a run that ends in a halt: that one is named by its steps as the search takes them,
each quiet point part of its thread's step before it (_coarse, _in_sections), as with whole
sections below. A halt freezes every thread where it is, and with every point a step it may freeze
one between a point and the quiet points the search runs with it (W's release of the chain lock
and its quiet alloc of a kstat_zone_t: kstat none, 2 writers, plain: 6 of 2,494 traces), or
come after another thread's point that fell between the halting step's point and its quiet
access that halted (a tryenter that found the checker's lock held, just before the checker's
quiet read of x panicked: try_panic(2), 2 of 16, with whole sections too; try_or_mark(1), 3 of
12, 1 of 10 with whole sections). Neither is an execution of the search, by design (quiet.py
merges those points into one step), and none has an outcome of its own: a halt's outcome is its
own record (explore.signature), made of what the halting step read, and what it read is what it
reads in the search's execution of the same steps with the frozen thread's quiet points run
(quiet: no other thread's access between them and the halt conflicts with them, the halting
step's included) or without the point that fell inside (the halting step's quiet accesses do not
conflict with it). So such a fine trace is counted once as the search's trace it becomes, or not
at all (an order in which another thread's point must come inside a step that halts). A run that
ends otherwise is still named with every point a step, and a halted one whose steps could not be
ordered even without its halt (quiet.py's rule let a race through) is an error.

Why it is exact. Fix the order of the threads (their index). Each trace has exactly one
lexicographically least word, its normal form (Anisimov-Knuth): a word is one iff it has no
factor b u a with a < b and a independent of b and of every step of u (moving a before b would
give a smaller word of the same trace; and the first place where a word differs from its
trace's least word is such a factor). Every prefix of a normal form is one, and once p.t has
such a factor so does every extension; only a factor ending with the new step can be new
(_normal). So a depth-first search over words that extends a normal form only by steps that
keep it (_Normal) reaches each maximal trace's normal form exactly once (the normal form is an
execution: the trace's words all are, by commuting), never reaches two words of one trace,
and counts the maximal ones; a word no step can extend in normal form (a dead end) is not
counted. A run follows one path, taking the smallest thread that keeps the form at each
decision and leaving the others for later, so it costs about one replayed execution per
maximal trace, where exploring every prefix up to trace equivalence cost one per prefix.

What a step touches is known only after it runs: its notes (with whole sections) and whether
it halts. So an enabled step is tried, and checked once it has run (the run is abandoned if it
breaks the form), unless its footprint is already known at that node: seen when it was tried
there, or carried from the node before if the step between is independent of it (they
commute, so it touches the same). Steps are tried smallest thread first, so a step that breaks
the form at a node was usually tried where its factor begins and is known (not run again).
In plain mode the footprint is the pending point and only a halt is unknown.

whole_sections=True counts the traces of dpor.py's whole-section search: the same enumeration,
each step's footprint its point and its note()s; each maximal trace is then named by its steps
as that search takes them (_coarse), with the loud keys found by quiet.py's rule over every
trace (_loud) and no whole sections for a lock some trace tried (tryacquire), each such step's
points run together (_in_sections): the order of the steps is the trace's own, as the search
takes them, whichever of its interleavings was run (a trace in which some other thread's point
must come between two points of one such step is no execution of that search, and is left out).
"""
from graphlib import CycleError, TopologicalSorter
from typing import Any

from labkit.errors import LabkitError
from labkit.sched.dpor import HALTING, Event, independent, key_of
from labkit.sched.explore import signature
from labkit.sched.program import Program, outcome_of
from labkit.sched.runtime import WRITE_KINDS, Chooser, Execution


class _Prefix(Chooser):
    """Follows a schedule of thread indices, then pauses and notes what could run next; records
    each step's facts (what _coarse needs) and, with `notes`, the kernel's note()s of each step."""

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
        return self.beyond(exe, enabled)

    def beyond(self, exe, enabled):
        """The choice past the prefix: here none (a pause), noting what could run."""
        self.enabled = [(t.index, t.pending[0], key_of(t.pending[1])) for t in enabled]
        return None

    def on_step(self, exe, t, access):
        self.steps.append((t.index, key_of(access[1]), access[0] in WRITE_KINDS))
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


def _loud(runs, whole: bool) -> set:
    """The keys quiet.py makes loud (its rule, over every execution): two accesses by different
    threads, one a write, holding no lock in common, among the read, write and alloc points of
    objects with a sched_key and the notes (with whole sections also the signals and wakeups:
    quiet.py asks about those only then)."""
    loud = set()
    recorded = _QUIET_KINDS + ("wakeup",) if whole else _PLAIN_QUIET_KINDS
    for steps, facts in runs:
        seen: dict = {}
        for (p, key, write), (kind, quietable, held, notes) in zip(steps, facts):
            accesses = [(k, w, h) for k, w, h in notes]
            if kind in recorded and quietable:
                accesses.insert(0, (key, write, held))
            for k, w, h in accesses:
                mine = seen.setdefault(k, set())
                if any(q != p and (w or v) and not (h & g) for q, v, g in mine):
                    loud.add(k)
                mine.add((p, w, h))
    return loud


_QUIET_KINDS = ("read", "write", "alloc", "signal")   # (a wakeup is recorded, never quiet)
_PLAIN_QUIET_KINDS = ("read", "write", "alloc")       # without whole sections (quiet.skips)


def _coarse(steps, facts, loud, tried: set | None, block_of: list | None = None) -> list:
    """The steps as the reduced search takes them (dpor.py): a quiet point is part of its
    thread's step before it (its notes in that step's footprint); with whole sections (`tried`
    not None: the locks that have none) an acquire whose thread's next point that is not quiet
    is the release of that lock is one step with that release, its footprint the lock as a read,
    what was touched quietly between them and its notes."""
    out: list = []
    at: dict[int, list] = {}       # thread -> [its step in out, lock it took while whole, quiet keys]
    quiet_kinds = _PLAIN_QUIET_KINDS if tried is None else _QUIET_KINDS
    for (p, key, write), (kind, quietable, _, notes) in zip(steps, facts):
        mine = at.get(p)
        if mine is not None and kind in quiet_kinds and quietable and key not in loud:
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
            whole = kind == "acquire" and tried is not None and key not in tried
            at[p] = [len(out) - 1, key if whole else None, {}]
        for k, w, _ in notes:
            fp[k] = w or fp.get(k, False)
        if block_of is not None:
            block_of.append(at[p][0])
    return out


def _in_sections(steps, facts, loud, tried: set | None, nthreads: int,
                 halted: bool) -> list | None:
    """The steps as the reduced search takes them (_coarse), in an order in which each of them
    runs whole: a topological order of them under the trace's own order of their points (any
    one: steps that depend on each other have points that do, so every such order is the same
    trace). None if there is none: some other thread's point must come between two points of
    one such step, so that trace is no execution of that search. A step that ends the run
    (`halted`: the last) depends on every step, so it comes after every other thread's last
    point: a point of another thread that came after the halting step's first point and
    depends on it (a tryenter that found the checker's lock held, just before the checker's
    quiet read panicked) would have to come inside that step."""
    block_of: list[int] = []
    out = _coarse(steps, facts, loud, tried, block_of)
    fine = _fine(steps, facts)
    mine: list[list[int]] = [[] for _ in range(nthreads)]      # thread -> its points
    for i, (p, _) in enumerate(fine):
        mine[p].append(i)
    after: dict[int, set[int]] = {b: set() for b in range(len(out))}   # step -> steps before it
    for i, c in enumerate(_clocks(fine, nthreads)):
        p, b = fine[i][0], block_of[i]
        for q, n in enumerate(c):
            n -= q == p                          # (thread p's point before this one)
            if n and block_of[mine[q][n - 1]] != b:    # q's last point before point i
                after[b].add(block_of[mine[q][n - 1]])
    if halted and fine:
        b = block_of[-1]
        after[b].update(block_of[points[-1]] for points in mine if points)
        after[b].discard(b)
    try:
        return [out[b] for b in TopologicalSorter(after).static_order()]
    except CycleError:
        return None


def _run(program: Program, chooser: Chooser, budget: int | None) -> tuple | None:
    """Run the program once under the chooser: the outcome's signature if the run ended, None
    if the chooser paused it."""
    instance = program.instantiate()
    exe = Execution(instance.threads, chooser, budget=budget)
    try:
        exe.start()
        if not exe.resume():
            return None
        return signature(outcome_of(program, exe, None, instance))
    finally:
        exe.close()


def _normal(path: list, ev: Event) -> bool:
    """Whether the normal form `path` (its nodes' steps) stays one with the step ev after it:
    no factor b u ev with b's thread above ev's and ev independent of b and of all of u (only
    a factor ending with the new step can be new; a halting step depends on every step)."""
    for node in reversed(path):
        q = node.ev.p
        if q == ev.p or not independent(node.ev, ev):
            return True
        if q > ev.p:
            return False
    return True


class _Node:
    """A normal form reached: the step that reached it (ev), what is known there of each
    thread's next step (thread -> its Event as it ran there), and the threads still to take
    there, smallest first."""

    __slots__ = ("ev", "known", "todo")

    def __init__(self, ev: Event, known: dict):
        self.ev, self.known = ev, known
        self.todo: list[int] | None = None     # filled at the node's first decision


class _Normal(_Prefix):
    """Follows the path to its last node, then extends it, smallest thread first, by steps
    that keep the normal form, adding a node for each and leaving the other threads that may
    to later runs; pauses where none may (a dead end) or where the step it took did not."""

    def __init__(self, path: list, whole: bool):
        super().__init__([n.ev.p for n in path[1:]], notes=whole)
        self.path = path

    def took(self, halts: bool) -> bool:
        """The step taken at the last node has run: note what it touched there, and add the
        node it reaches if it keeps the normal form (a halting step does: it depends on every
        step, and ends the run)."""
        parent = self.path[-1]
        i = len(self.steps) - 1
        p, key, write = self.steps[i]
        fp = {key: write}
        for k, w, _ in self.facts[i][3]:     # (the notes: none without whole sections)
            fp[k] = w or fp.get(k, False)
        ev = Event(p, self.facts[i][0], key, fp)     # (facts[i][0]: the step's kind)
        ev.halts = halts
        parent.known[p] = ev
        if not _normal(self.path, ev):
            return False
        # another thread's next step touches the same after a step independent of it
        known = {q: e for q, e in parent.known.items() if q != p and independent(e, ev)}
        self.path.append(_Node(ev, known))
        return True

    def beyond(self, exe, enabled):
        if exe.decisions > len(self.prefix) and not self.took(False):
            return None
        node = self.path[-1]
        if node.todo is None:
            node.todo = [t.index for t in enabled if self.may(node, t)]
        if not node.todo:
            return None                # a dead end: no step keeps the normal form
        return exe.threads[node.todo.pop(0)]

    def may(self, node: _Node, t) -> bool:
        """Whether t's next step may keep the normal form: it does, or what it touches or
        whether it halts is not known yet (then it is tried: took() checks it)."""
        e = node.known.get(t.index)
        if e is not None and e.kind == t.pending[0] and e.key == key_of(t.pending[1]):
            return _normal(self.path, e)
        return True


def _normal_forms(program: Program, whole: bool, limit: int, budget: int | None) -> list:
    """Each maximal trace's lexicographic normal form, run once: (steps, facts, outcome
    signature) per trace, as _Prefix records them."""
    path: list[_Node] = [_Node(Event(-1, "start", None), {})]
    out = []
    runs = 0
    while path:
        runs += 1
        if runs > limit:
            raise LabkitError(f"more than {limit} runs: too many to enumerate the traces")
        chooser = _Normal(path, whole)
        sig = _run(program, chooser, budget)
        if sig is not None and (len(chooser.steps) == len(chooser.prefix)    # (no step at all)
                                or chooser.took(sig[0] in HALTING)):
            out.append((chooser.steps, chooser.facts, sig))
            path.pop()
        while path and path[-1].todo is not None and not path[-1].todo:
            path.pop()
    return out


def enumerate_traces(program: Program, *, limit: int = 200_000, budget: int | None = None,
                     whole_sections: bool = False) -> dict:
    """Every maximal trace of the program: canonical name -> outcome signature.

    `whole_sections`: traces as a search with whole sections counts them (dpor.py): every
    interleaving of the points is still explored up to trace equivalence, each step's notes in
    its footprint, and each trace is then named by its steps as that search takes them.
    Without, a trace that ends in a halt is named so too, quiet points merged (see the module's
    note), and every other one with every point a step.

    Raises LabkitError past `limit` runs (the enumeration is not feasible there)."""
    nthreads = len(program.thread_names)
    ends = _normal_forms(program, whole_sections, limit, budget)
    loud = _loud([(s, f) for s, f, _ in ends], whole_sections)
    tried = ({key for s, f, _ in ends for (_, key, _), fact in zip(s, f) if fact[0] == "tryacquire"}
             if whole_sections else None)
    maximal: dict = {}
    for s, f, sig in ends:
        halted = sig[0] in HALTING
        if not (whole_sections or halted):
            maximal[_name(s, _clocks(s, nthreads), nthreads)] = sig      # every point a step
            continue
        coarse = _in_sections(s, f, loud, tried, nthreads, halted)
        if coarse is None and not whole_sections and _in_sections(s, f, loud, None, nthreads, False) is None:
            raise LabkitError("another thread's point had to come between two points of a step "
                              "with no halt in it: quiet.py's rule let a race through")
        if coarse is not None:
            name = _name(coarse, _clocks(coarse, nthreads), nthreads)
            maximal[name if whole_sections else ("halted", name)] = sig
    return maximal


def count_traces(program: Program, **kw: Any) -> tuple[int, set]:
    """(number of maximal traces, the set of their outcome signatures)."""
    traces = enumerate_traces(program, **kw)
    return len(traces), set(traces.values())
