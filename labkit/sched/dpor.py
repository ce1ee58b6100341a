"""Exhaustive search with optimal dynamic partial-order reduction: one execution per Mazurkiewicz
trace, and none that ends blocked by its sleep set (Abdulla, Aronis, Jonsson, Sagonas: "Optimal
dynamic partial order reduction", POPL 2014; JACM 2017, Algorithm "Optimal-DPOR").

Two steps are dependent when they touch the same object and at least one changes it (a write,
or any lock operation). Executions that differ only in the order of independent steps are one
trace: they end the same way. After every execution the search looks, with vector clocks over
the dependence order, for races: a step e of one thread and a later dependent step e' of
another with nothing ordering them but each other. For each race it builds the wakeup sequence
v = notdep(e).e' (the steps after e that do not depend on it, then e') that reverses it, and
inserts v in the wakeup tree of the state before e, unless a thread in that state's sleep set
could start v (then the reversed order was explored already). Each state explores its wakeup
tree's branches in order; a branch explored joins the sleep set. Wakeup trees are what make it
optimal: a new execution is started only along a sequence known to reach a new trace.

Three modelling choices, stated because the trace count depends on them:
  - Objects are named across executions by key_of(): their sched_key, else their name (a Mutex,
    a CondVar), else their type. Naming two objects alike only adds dependences (never loses an
    order); the trace oracle (traces.py) uses the same names.
  - Locks: acquire and release are writes of the lock. A release and the next acquire are not a
    reversible race (the acquire cannot go first), so an acquire races with the previous
    acquire instead, the release between them ignored (the other order runs the critical
    sections the other way round). A blocked acquire is not enabled. Likewise a CondVar wakeup
    never races with the signal that enabled it. A tryacquire (mutex_tryenter) is always
    enabled and its result depends on the order, so it races both with the previous acquire
    and with the release before it, and later acquires race with it as with an acquire.
  - A step that ends the execution (a panic, a learner's exception) disables every other
    thread, so it is dependent on every step of every other thread, and the threads that could
    still have run before it are races with it too.

Stateless: every execution starts from scratch and replays its prefix of choices. The search
also skips the scheduling points of quiet accesses (quiet.py): its states are the chooser's
decisions, not every step, and it starts over whenever it learns a new loud object.
"""

from collections.abc import Hashable, Iterator, Sequence

from labkit.sched.outcome import Outcome
from labkit.sched.program import run_once
from labkit.sched.quiet import Quiet
from labkit.sched.runtime import WRITE_KINDS, Chooser

HALTING = ("panic", "error")      # outcome kinds raised by the last step itself


def key_of(obj: object) -> Hashable:
    """What names an object in every execution (see the module's note)."""
    key = getattr(obj, "sched_key", None)
    if key is not None:
        return key
    name = getattr(obj, "name", None)
    if isinstance(name, str):
        return (type(obj).__name__, name)
    return (type(obj).__name__,)


class Event:
    """One step: thread p's access to the object `key`; `halts` once it is seen to end the run."""

    __slots__ = ("p", "kind", "key", "write", "halts")

    def __init__(self, p: int, kind: str, key):
        self.p = p
        self.kind = kind
        self.key = key
        self.write = kind in WRITE_KINDS
        self.halts = False

    def __repr__(self):
        return f"<{self.p}:{self.kind} {self.key}{' halts' if self.halts else ''}>"


def independent(a: Event, b: Event) -> bool:
    """Two steps of different threads that commute (and neither ends the execution)."""
    if a.halts or b.halts:
        return False
    return a.key != b.key or not (a.write or b.write)


class _Node:
    """A wakeup tree node: the step `ev` to take, then the subtree `children` (ordered)."""

    __slots__ = ("ev", "children")

    def __init__(self, ev: Event):
        self.ev = ev
        self.children: list[_Node] = []


def _chain(seq) -> list:
    """A wakeup tree branch made of the events of seq, one under the other."""
    top = None
    for ev in reversed(seq):
        node = _Node(ev)
        if top is not None:
            node.children.append(top)
        top = node
    return [top] if top is not None else []


def weak_initial(p: int, ev_p: Event | None, seq: Sequence[Event]) -> bool:
    """p ∈ WI(seq): seq can start with p's next step ev_p up to trace equivalence (p's first step
    in seq depends on nothing before it), or p is not in seq and its next step commutes with all."""
    for i, e in enumerate(seq):
        if e.p == p:
            return all(independent(seq[k], e) for k in range(i))
    return ev_p is not None and all(independent(ev_p, e) for e in seq)


def _without(seq, p: int) -> list:
    """seq with p's first step removed (seq itself when p has none)."""
    for i, e in enumerate(seq):
        if e.p == p:
            return seq[:i] + seq[i + 1:]
    return seq


def insert(wut: list[_Node], seq: Sequence[Event]) -> bool:
    """insert_[E](seq, wut): add seq unless a branch of the tree already leads to its trace."""
    nodes = wut
    at = None
    while True:
        if not nodes and at is not None:
            return False            # a leaf that seq extends: exploring the leaf will get there
        for node in nodes:
            if weak_initial(node.ev.p, node.ev, seq):
                seq = _without(seq, node.ev.p)
                nodes = node.children
                at = node
                break
        else:
            if not seq:
                return False
            nodes.extend(_chain(seq))
            return True


class _State:
    __slots__ = ("enabled", "pending", "sleep", "wut", "current")

    def __init__(self, enabled, pending, sleep, wut):
        self.enabled = enabled      # frozenset of thread indices
        self.pending = pending      # thread index -> Event it would do next
        self.sleep = sleep          # thread index -> Event: explored from here (or covered)
        self.wut = wut              # the wakeup tree: branches still to explore, in order
        self.current: _Node | None = None   # the branch being explored


class _DporChooser(Chooser):
    """Follows the states' current branches, then the wakeup trees, then any awake thread;
    records each step with its vector clock and the races it is in."""

    def __init__(self, search: "DporSearch"):
        self.search = search
        self.states = search.states
        self.events: list[Event] = []            # Event per decision
        self.clocks: list[tuple[int, ...]] = []  # vector clock per decision
        self.local: list[int] = []               # the event's number within its thread (1-based)
        self.races: list[tuple[int, int]] = []   # (i, j): decision i races with the later decision j
        self.vc: list[list[int]] | None = None   # each thread's clock now (lists)
        self.last: list[int] | None = None       # each thread's last decision, or -1
        self.table: dict[Hashable, list] = {}    # key -> [last write, {thread: last read since}, last acquire]
        self.pending_events: dict[int, tuple] = {}   # thread -> (its pending access, its Event)

    def choose(self, exe, enabled):
        i = exe.decisions
        states = self.states
        if i == len(states):
            self._new_state(exe, i, enabled)
        st = states[i]
        if st.current is None:    # nothing in the wakeup tree: take any thread awake here
            cands = [t for t in enabled if t.index not in st.sleep]
            if not cands:
                self.search.pruned += 1
                exe.stop("pruned")        # sleep-set blocked (optimal DPOR never gets here)
            running = exe.running
            t = running if running in cands else cands[0]
            node = _Node(st.pending[t.index])
            st.wut.append(node)
            st.current = node
        t = exe.threads[st.current.ev.p]
        if t not in enabled:               # a wakeup sequence that cannot be followed
            self.search.pruned += 1
            exe.stop("pruned")
        return t

    def _new_state(self, exe, i, enabled):
        # A thread's pending access is a new tuple each time it moves: the others' Events are
        # the ones the last state made. (plant() may mark one of them `halts`, in every state
        # that shares it: that only adds dependences, so it can cost executions, never miss one;
        # the kstat searches explore exactly the same schedules either way.)
        cache = self.pending_events
        pending = {}
        for t in exe.threads:
            if not t.finished:
                got = cache.get(t.index)
                if got is None or got[0] is not t.pending:
                    got = cache[t.index] = (t.pending, Event(t.index, t.pending[0], key_of(t.pending[1])))
                pending[t.index] = got[1]
        if i == 0:
            sleep, wut = {}, self.search.root_wut
        else:
            parent = self.states[i - 1]
            done = parent.current.ev
            sleep = {q: ev for q, ev in parent.sleep.items() if independent(ev, done)}
            wut = parent.current.children
        st = _State(frozenset(t.index for t in enabled), pending, sleep, wut)
        if st.wut:
            st.current = st.wut[0]
        self.states.append(st)

    def on_step(self, exe, t, access):
        i = exe.decisions - 1
        p = t.index
        if self.vc is None:
            n = len(exe.threads)
            self.vc = [[0] * n for _ in range(n)]
            self.last = [-1] * n
        assert self.vc is not None and self.last is not None
        st = self.states[i]
        ev = st.current.ev
        if ev.key != key_of(access[1]) or ev.kind != access[0]:
            ev = Event(p, access[0], key_of(access[1]))   # pragma: no cover (determinism)
        self.events.append(ev)
        kind, key = ev.kind, ev.key
        vc = self.vc[p]
        entry = self.table.get(key)
        preds = []                # decisions this one directly depends on (other threads')
        candidates = []           # the ones it may be in a reversible race with
        if entry is not None:
            w = entry[0]
            if w is not None:
                preds.append(w)
                if kind != "acquire" and not (kind == "wakeup" and self.events[w].kind == "signal"):
                    candidates.append(w)
            if ev.write:
                for r in entry[1].values():
                    preds.append(r)
                    candidates.append(r)
            if (kind == "acquire" or kind == "tryacquire") and entry[2] is not None:
                candidates.append(entry[2])
        prev = tuple(vc)
        for c in candidates:
            q = self.events[c].p
            if q == p:
                continue
            # Immediate: nothing else that this step depends on comes after c.
            seen = prev[q]
            for d in preds:
                if d != c and not (kind == "acquire" and entry is not None and d == entry[0]):
                    seen = max(seen, self.clocks[d][q])
            if seen < self.local[c]:
                self.races.append((c, i))
        for d in preds:
            for k, v in enumerate(self.clocks[d]):
                if v > vc[k]:
                    vc[k] = v
        vc[p] += 1
        self.clocks.append(tuple(vc))
        self.local.append(vc[p])
        self.last[p] = i
        if ev.write:
            self.table[key] = [i, {}, i if kind == "acquire" or kind == "tryacquire"
                               else (entry[2] if entry else None)]
        elif entry is None:
            self.table[key] = [None, {p: i}, None]
        else:
            entry[1][p] = i

    # ---- after the execution ------------------------------------------------------------------
    def plant(self, outcome_kind: str, threads) -> None:
        """Insert the wakeup sequence of every race of the finished execution."""
        events, states = self.events, self.states
        n = len(events)
        if n == 0:
            return
        assert self.vc is not None and self.last is not None  # set by the first on_step
        races = self.races
        if outcome_kind in HALTING:
            x = n - 1
            events[x].halts = True
            races = [r for r in races if r[1] != x]
            p = events[x].p
            po = self._po_prev(x)
            lasts = [self.last[q] for q in range(len(self.last))
                     if q != p and self.last[q] >= 0]
            for c in lasts:
                q = events[c].p
                seen = self.clocks[po][q] if po >= 0 else 0
                for d in lasts:
                    if d != c:
                        seen = max(seen, self.clocks[d][q])
                if seen < self.local[c]:
                    races.append((c, x))
            # The threads that could have run instead of the halting step.
            st = states[x]
            for q in sorted(st.enabled):
                if q != p:
                    self._offer(st, [st.pending[q]])
        # A thread left waiting for a lock races with the acquire that took it last: the other
        # order is its own acquire first (a deadlock, or a halt, left it waiting).
        late = []
        halted = events[n - 1].p if outcome_kind in HALTING else -1
        for t in threads:
            if t.finished or t.index == halted or t.pending is None or t.pending[0] != "acquire":
                continue
            entry = self.table.get(key_of(t.pending[1]))
            a = entry[2] if entry is not None else None
            if a is not None and events[a].p != t.index and (
                    self.vc[t.index][events[a].p] < self.local[a]):
                late.append((a, Event(t.index, "acquire", key_of(t.pending[1]))))
        for (i, j) in races:
            self._reverse(i, j, events[j])
        for (i, ev) in late:
            self._reverse(i, n, ev)

    def _reverse(self, i: int, j: int, ev: Event) -> None:
        """Offer notdep(e_i).ev to the state before e_i (ev is e_j, or a step never taken)."""
        events = self.events
        q = events[i].p
        mine = self.local[i]
        v = [events[k] for k in range(i + 1, len(events)) if k != j and self.clocks[k][q] < mine]
        v.append(ev)
        self._offer(self.states[i], v)

    def _po_prev(self, j: int) -> int:
        p = self.events[j].p
        for k in range(j - 1, -1, -1):
            if self.events[k].p == p:
                return k
        return -1

    def _offer(self, st: _State, v) -> None:
        for q, ev in st.sleep.items():
            if weak_initial(q, ev, v):
                return
        insert(st.wut, v)


class _Serial(Chooser):
    """Threads one after another, from thread `first` on: each runs while it can."""

    def __init__(self, first: int):
        self.first = first

    def choose(self, exe, enabled):
        n = len(exe.threads)
        return min(enabled, key=lambda t: (t.index - self.first) % n)


class _Enumerate(Chooser):
    """Plain depth-first enumeration of every interleaving (dfs, and the tests' oracle)."""

    def __init__(self, stack, prefix):
        self.stack = stack        # per decision: [enabled thread indices, position chosen]
        self.prefix = prefix

    def choose(self, exe, enabled):
        i = exe.decisions
        if i < len(self.prefix):
            return exe.threads[self.prefix[i]]
        self.stack.append([[t.index for t in enabled], 0])
        return enabled[0]


class DporSearch:
    """Runs executions until every wakeup tree is explored. reduce=False enumerates all."""

    def __init__(self, program, *, reduce: bool = True, detect_races: bool = True,
                 max_executions: int | None = None, budget=None, quiet: Quiet | None = None):
        self.program = program
        self.learned = quiet           # loud objects another search already learned
        self.reduce = reduce
        self.detect_races = detect_races
        self.max_executions = max_executions
        self.budget = budget
        self.pruned = 0                # executions that ended sleep-set blocked (expected: none)
        self.restarts = 0
        self.repeated = 0              # runs after a restart that repeated one made before it
        self.learning_runs = 0
        self.quiet: Quiet | None = None   # what the reduced search learned: quiet.loud
        self.complete = False
        self.states: list[_State] = []
        self.root_wut: list[_Node] = []

    @property
    def serial_steps(self) -> list[int] | None:
        """Each thread's steps in the first learning run (None before a reduced search runs)."""
        return self.quiet.serial_steps if self.quiet is not None else None

    def learn(self) -> Quiet:
        """Learn the loud objects first from the serial runs (each thread in turn runs to its
        end): one execution each, they spare most restarts of the search. They are not part of
        it (it finds their outcomes too), so they are counted apart."""
        quiet = self.quiet = Quiet()
        for first in range(len(self.program.thread_names)):
            chooser = _Serial(first)
            _, exe = run_once(self.program, chooser, detect_races=False, budget=self.budget,
                              quiet=quiet)
            if first == 0:
                quiet.serial_steps = [t.steps for t in exe.threads]
            self.learning_runs += 1
        return quiet

    def outcomes(self) -> Iterator[Outcome]:
        """Yield the Outcome of each execution (blocked ones are counted, not yielded)."""
        if not self.reduce:
            yield from self._enumerate()
            return
        quiet = self.quiet = self.learned or self.learn()
        runs = 0
        before = set()      # schedules yielded, so that a restart does not yield them twice
        while True:
            if self.max_executions is not None and runs >= self.max_executions:
                return
            chooser = _DporChooser(self)
            outcome, exe = run_once(self.program, chooser, detect_races=self.detect_races,
                                    budget=self.budget, quiet=quiet)
            runs += 1
            if outcome.kind == "pruned":
                pass
            elif self.restarts and outcome.schedule in before:
                self.repeated += 1  # the same interleaving as a run before the restart
            else:
                before.add(outcome.schedule)
                yield outcome       # a real execution whatever the search learned from it
            if quiet.grew:
                # Some accesses this search skipped turned out to race: the states so far
                # were built without them, so begin again with that object loud.
                self.restarts += 1
                self.states.clear()
                self.root_wut = []
                continue
            if outcome.kind != "pruned":
                chooser.plant(outcome.kind, exe.threads)
            if not self._backtrack():
                self.complete = True
                return

    def _backtrack(self) -> bool:
        """Leave the branch just explored; False when no state has one left."""
        states = self.states
        for d in range(len(states) - 1, -1, -1):
            st = states[d]
            cur = st.current
            if cur is None:            # the run was blocked here before it chose
                continue
            st.sleep[cur.ev.p] = cur.ev
            st.wut.remove(cur)
            if st.wut:
                st.current = st.wut[0]
                del states[d + 1:]
                return True
        return False

    def _enumerate(self):
        stack: list[list] = []          # [choices, which one] per decision
        runs = 0
        prefix: list[int] = []
        while True:
            if self.max_executions is not None and runs >= self.max_executions:
                return
            outcome, _ = run_once(self.program, _Enumerate(stack, prefix),
                                  detect_races=self.detect_races, budget=self.budget)
            runs += 1
            yield outcome
            while stack and stack[-1][1] + 1 >= len(stack[-1][0]):
                stack.pop()
            if not stack:
                self.complete = True
                return
            stack[-1][1] += 1
            prefix = [s[0][s[1]] for s in stack]
