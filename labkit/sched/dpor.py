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
    and with the release before it, and later acquires race with it as with an acquire if it
    took the lock (one that found it held took nothing: a later acquire racing with it was
    reversed to a point where the lock's holder still held it, a run blocked at that step,
    trylock(3): 12 of 54).
  - A step that ends the execution (a panic, a learner's exception) disables every other
    thread, so it is dependent on every step of every other thread, and the threads that could
    still have run before it are races with it too. Like any step it is reversed only to where
    it can run: an acquire that ends the run races with the acquire of the section before it,
    never with that section's release (_halting_races).

With whole_sections=True (the default; issue 13; False makes every point a step, as the
benchmarks and test_dpor.py compare) a critical section with no scheduling point inside
(a thread chosen at its acquire of a lock whose next point is its release of that lock, quiet
accesses and signals of condition variables no one else waits on skipped) is one step: its
release needs no decision (runtime.Execution.sections), and its footprint is the lock as a READ,
what it touched quietly and the kernel's note()s, so two such sections commute unless they touch
something in common. Every step's footprint holds its note()s then, and a step's events are
multi-key: races are found key by key with the lock rules above (a whole section races as an
acquire does, and is recorded as a reader of its lock). A footprint is known only once the step
has run, and what a step touches after its point may depend on what it read there: a section
that finds x set reads z, one that finds it unset reads y (benchprograms.branching), and a step
may panic or not. So when a race (e, e') is reversed, e' is taken as it ran only when e wrote
nothing e' touched (besides the lock: changes()); otherwise, and for a step never taken (a
thread that could have run instead of a halting step, or left waiting for a lock), it is first
taken to depend on every step (unknown()), and only if the wakeup sequence is new even then is
the program run up to that step to see what it does there (a probe: DporSearch.probe, a run cut
short, counted in `probes`, not in the executions). Taking e' as it ran when e changed what it
read lost traces (branching(1): 3 of 4), and taking it to touch whatever its thread's steps at
that point ever touched, as before, lost them where a step halts only after the reversal and ran
more than one per trace elsewhere (two writers, no fix: 138 executions for 163 traces; branching(2):
50 for 24, 4 blocked). A lock a tryacquire was seen on has no whole sections (a tryacquire in
the middle of one would find the lock held).

Stateless: every execution starts from scratch and replays its prefix of choices. The search
also skips the scheduling points of quiet accesses (quiet.py): its states are the chooser's
decisions, not every step, and it starts over whenever it learns a new loud object. Its
steps are then a point and the quiet points after it, which a halt cannot split: orders of
every point in which a halt froze a thread inside such a step, or came after another thread's
point that fell inside the halting one, are no executions of it and have no outcome of their
own (traces.py's note: it counts a halted run by these steps; kstat none, 2 writers, plain:
2,488 of 2,494 otherwise).
"""

from collections.abc import Hashable, Iterator, Sequence

from labkit.sched.outcome import Outcome
from labkit.sched.program import run_once
from labkit.sched.quiet import Quiet
from labkit.sched.runtime import WRITE_KINDS, Chooser, current_execution

HALTING = ("panic", "error")      # outcome kinds raised by the last step itself
LOCK_KINDS = ("acquire", "release", "tryacquire")


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
    """One step: thread p's access (`kind`) to the object `key`, and its footprint `fp` (key ->
    written: the point's own access, and with whole sections every note() of the step and, for a
    whole section, what it touched quietly, its lock a read); `halts` once it is seen to end the
    run (or, for unknown(), until it is seen); `held`, the keys of the locks its thread held when
    it was chosen. A thread's pending access, before it runs, is its point alone: only the step
    that ran is recorded, and a wakeup sequence's last step is as it ran or as a probe saw it
    (see the module's note)."""

    __slots__ = ("p", "kind", "key", "write", "halts", "fp", "whole", "held")

    def __init__(self, p: int, kind: str, key, fp: dict | None = None,
                 whole: bool = False, held: frozenset = frozenset()):
        self.p = p
        self.kind = kind
        self.key = key
        self.write = kind in WRITE_KINDS and not whole
        self.halts = False
        self.fp = {key: self.write} if fp is None else fp
        self.whole = whole
        self.held = held

    def __repr__(self):
        return (f"<{self.p}:{self.kind}{' whole' if self.whole else ''} {self.key}"
                f"{' halts' if self.halts else ''}>")


def unknown(p: int, kind: str, key: Hashable) -> Event:
    """Thread p's step at its point (kind, key) where what it touches is not known: taken to
    depend on every step (as a halting step is) until a probe runs it (see Event)."""
    ev = Event(p, kind, key)
    ev.halts = True
    return ev


def changes(a: Event, b: Event) -> bool:
    """Whether b, run without a before it, may touch other things than it did after a: a wrote
    something b read or wrote besides the locks (a lock's state changes no step's footprint)."""
    locks = (a.key, b.key)
    for k, w in a.fp.items():
        if w and k in b.fp and not (k in locks and (a.kind in LOCK_KINDS or b.kind in LOCK_KINDS)):
            return True
    return False


def independent(a: Event, b: Event) -> bool:
    """Two steps of different threads that commute (and neither ends the execution)."""
    if a.halts or b.halts:
        return False
    fa, fb = a.fp, b.fp
    if len(fa) > len(fb):
        fa, fb = fb, fa
    for k, w in fa.items():
        x = fb.get(k)
        if x is not None and (w or x):
            return False
    return True


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


def insert(wut: list[_Node], seq: Sequence[Event], add: bool = True) -> bool:
    """insert_[E](seq, wut): add seq unless a branch of the tree already leads to its trace
    (True if it was new; with add=False, only whether it is)."""
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
            if add:
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


class _Steps(Chooser):
    """What a step touched, known only once it has run (on_step is called before it runs): the
    search's choosers make each step an Event at the next decision or once the run has ended
    (_taken). With whole sections they arm the execution for them and hear its note()s."""

    def __init__(self, search: "DporSearch"):
        self.search = search
        self.sections = search.whole_sections
        self.running: tuple | None = None        # (thread, access, held) of the step not recorded yet
        self.fp: dict = {}                       # what the kernel noted during that step

    def arm(self, exe) -> None:
        """At the first decision: whole sections and note()s for this execution. (The chooser
        keeps no reference to it: an execution and its chooser are then no cycle, and are freed,
        the search's table with them, the moment the search lets go of them, not by the cyclic
        collector: at seed scale the table holds an entry per kstat a whole section read.)"""
        if self.sections:
            exe.sections = True
            exe.tried = self.search.tried
            exe.noting = self.heard

    def heard(self, kind: str, obj: object) -> None:
        """note(): part of the running step's footprint, and of quiet.py's analysis (not the
        code a thread runs before its first point: that is ordered before every step)."""
        exe = current_execution()      # (the one note() is called in: the one armed)
        if exe is None or exe._starting:
            return
        if exe.quiet is not None:
            exe.quiet.note(exe, kind, obj)
        key = key_of(obj)
        fp = self.fp
        fp[key] = kind == "write" or fp.get(key, False)

    def on_step(self, exe, t, access):
        self.running = (t.index, access, t.held)
        if self.fp:
            self.fp = {}

    def _taken(self, exe) -> Event:
        """The step that ran last, as an Event."""
        assert self.running is not None
        p, access, held = self.running
        self.running = None
        kind, key = access[0], key_of(access[1])
        if not self.sections:
            return Event(p, kind, key)
        whole = exe.whole
        fp = self.fp
        self.fp = {}
        if whole is not None:
            # fp and whole, a key written in either written, fp's keys first: made in C (a whole
            # section's footprint at seed scale is every kstat its walks read, 5698)
            merged = fp | whole
            for k, w in fp.items():
                if w:
                    merged[k] = True
            fp = merged
            fp[key] = fp.get(key, False)           # the lock: a read
        else:
            fp[key] = kind in WRITE_KINDS or fp.get(key, False)
        if kind == "tryacquire" and key not in self.search.tried:
            self.search.tried.add(key)     # its lock's sections are not whole from now on
            self.search.grew = True
        return Event(p, kind, key, fp, whole=whole is not None,
                     held=frozenset(key_of(m) for m in held) if held else frozenset())


class _Probe(_Steps):
    """Follows `choices` (a thread per decision) and stops once the last one's step has run:
    `ev` is then that step's Event (None if a choice could not be followed)."""

    def __init__(self, search: "DporSearch", choices: Sequence[int]):
        super().__init__(search)
        self.choices = choices
        self.ev: Event | None = None

    def choose(self, exe, enabled):
        i = exe.decisions
        if i == 0:
            self.arm(exe)
        if i == len(self.choices):
            self.ev = self._taken(exe)
            exe.stop("pruned")
        t = exe.threads[self.choices[i]]
        if t not in enabled:
            exe.stop("pruned")
        return t

    def end(self, outcome_kind: str, exe) -> None:
        if self.running is not None and exe.decisions == len(self.choices):
            self.ev = self._taken(exe)            # the run ended with that step
            self.ev.halts = outcome_kind in HALTING


class _DporChooser(_Steps):
    """Follows the states' current branches, then the wakeup trees, then any awake thread;
    records each step with its vector clock and the races it is in."""

    def __init__(self, search: "DporSearch"):
        super().__init__(search)
        self.states = search.states
        self.events: list[Event] = []            # Event per decision (once it has run)
        self.clocks: list[tuple[int, ...]] = []  # vector clock per decision
        self.local: list[int] = []               # the event's number within its thread (1-based)
        self.races: list[tuple[int, int]] = []   # (i, j): decision i races with the later decision j
        self.vc: list[list[int]] | None = None   # each thread's clock now (lists)
        self.last: list[int] | None = None       # each thread's last decision, or -1
        self.table: dict[Hashable, list] = {}    # key -> [last write, {thread: last read since}, last acquire]
        self.pending_events: dict[int, tuple] = {}   # thread -> (its pending access, its Event)

    def choose(self, exe, enabled):
        i = exe.decisions
        if self.running is not None:
            self._finish(exe)
        elif i == 0:
            self.arm(exe)
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
        # the ones the last state made.
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

    def _finish(self, exe) -> None:
        """Record the step that ran last, now that its footprint is known: the executed Event
        replaces the one its wakeup tree node announced."""
        assert self.running is not None
        p, access, _ = self.running
        # a tryacquire that found the lock held took nothing: no later acquire races with it
        took = access[0] == "acquire" or access[0] == "tryacquire" and access[1] in exe.threads[p].held
        ev = self._taken(exe)
        p, kind, key = ev.p, ev.kind, ev.key
        i = len(self.events)
        if self.vc is None:
            n = len(exe.threads)
            self.vc = [[0] * n for _ in range(n)]
            self.last = [-1] * n
        assert self.vc is not None and self.last is not None
        node = self.states[i].current
        assert node is not None      # (the node choose() followed)
        node.ev = ev
        self.events.append(ev)
        events = self.events
        vc = self.vc[p]
        table = self.table
        preds = []                # decisions this one directly depends on (other threads')
        candidates = []           # the ones it may be in a reversible race with
        entry_l = table.get(key)
        fp = ev.fp
        for k in filter(table.__contains__, fp):    # (in C: a whole section's are mostly new keys)
            w, entry = fp[k], table.get(k)
            assert entry is not None
            last_w = entry[0]
            if last_w is not None:
                preds.append(last_w)
                if k != key or not (kind == "acquire" or (kind == "wakeup"
                                                          and events[last_w].kind == "signal")):
                    candidates.append(last_w)
            if w:
                for r in entry[1].values():
                    preds.append(r)
                    candidates.append(r)
            if k == key and (kind == "acquire" or kind == "tryacquire") and entry[2] is not None:
                candidates.append(entry[2])
        # An acquire cannot go before a step its lock's holder made holding it (the release
        # among them): it races with that holder's acquire instead.
        inside: set[int] = set()
        if kind == "acquire":
            inside = {d for d in preds if key in events[d].held}
            if entry_l is not None and entry_l[0] is not None:
                inside.add(entry_l[0])
        prev = tuple(vc)
        done = set()
        for c in candidates:
            q = events[c].p
            if q == p or c in done or c in inside:
                continue
            done.add(c)
            # Immediate: nothing else that this step depends on comes after c.
            seen = prev[q]
            for d in preds:
                if d != c and d not in inside:
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
        for k, w in ev.fp.items():
            entry = table.get(k)
            if w:
                table[k] = [i, {}, i if k == key and took
                            else (entry[2] if entry else None)]
            elif entry is None:
                table[k] = [None, {p: i}, None]
            else:
                entry[1][p] = i

    # ---- after the execution ------------------------------------------------------------------
    def plant(self, outcome_kind: str, exe) -> None:
        """Insert the wakeup sequence of every race of the finished execution."""
        if self.running is not None:
            self._finish(exe)
        threads = exe.threads
        events, states = self.events, self.states
        n = len(events)
        if n == 0:
            return
        assert self.vc is not None and self.last is not None  # set by the first on_step
        races = self.races
        holder = -1
        if outcome_kind in HALTING:
            x = n - 1
            p = events[x].p
            halting, holder = self._halting_races(x, races)
            races = [r for r in races if r[1] != x] + halting
            # The threads that could have run instead of the halting step.
            st = states[x]
            before = [e.p for e in events[:x]]
            for q in sorted(st.enabled):
                if q != p:
                    ev = st.pending[q]
                    if self.sections:
                        self._offer(st, [unknown(q, ev.kind, ev.key)], before + [q])
                    else:
                        self._offer(st, [ev])
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
            e = events[j]
            # (a halting step moved before a lock holder's section: see _halting_races)
            self._reverse(i, j, e, self.sections and changes(events[i], e)
                          or j == n - 1 and events[i].p == holder)
        for (i, ev) in late:
            self._reverse(i, n, ev, self.sections)

    def _halting_races(self, x: int, races: list[tuple[int, int]]) -> tuple[list, int]:
        """The races of step x, which ended the run (see the module's note). It disables every
        other thread, so it depends on every step of theirs: it races with each other thread's
        last step and with the steps it races with as an ordinary step (`races`), where nothing
        else it depends on (its own previous step, the others' last steps) comes after them.
        A reversal must still put it where it can run: an acquire never before the release of
        its lock (the lock's last write), so that release is no race of x; x's race with the
        holder's acquire (one of its ordinary races) takes the holder's section after x as a
        whole, so the release is not taken to order that thread's steps before x. (It still
        orders the other threads' steps before x: reversing one that came before the release
        would put x inside the section. Racing with the release as with any step, the search
        planted the acquire where the lock was held: a run blocked at that step, section_panic(3):
        15 of 21.) A wakeup, the other step that a step before it enables, never ends a run: it
        runs only to its retake of the mutex.
        Returns the races and the holder's thread (-1 if none). That race is reversed with x
        unknown() (a probe runs it there): x then runs before the holder's whole section, whose
        quiet writes no footprint shows, so there it may read other values and not halt. Taken
        as it halted, it depended on steps it does not touch there, a sleeping thread did not
        cover it, and the search ran a trace twice (relay_late(3): 93 executions, 87 traces)."""
        events, clocks, local = self.events, self.clocks, self.local
        assert self.last is not None
        ex = events[x]
        ex.halts = True
        p, key = ex.p, ex.key
        po = self._po_prev(x)
        lasts = [self.last[q] for q in range(len(self.last)) if q != p and self.last[q] >= 0]
        release = -1              # x cannot run before it
        if ex.kind == "acquire":
            release = next((k for k in range(x - 1, -1, -1) if events[k].fp.get(key)), -1)
        out = []
        for c in dict.fromkeys(lasts + [c for c, j in races if j == x]):
            if c == release:
                continue
            q = events[c].p
            seen = clocks[po][q] if po >= 0 else 0
            for d in lasts:
                if d != c and not (d == release and events[d].p == q):
                    seen = max(seen, clocks[d][q])
            if seen < local[c]:
                out.append((c, x))
        return out, events[release].p if release >= 0 else -1

    def _reverse(self, i: int, j: int, ev: Event, unsure: bool) -> None:
        """Offer notdep(e_i).ev to the state before e_i (ev is e_j, or a step never taken).
        `unsure`: ev may touch other things there than it did here (changes(), or never taken)."""
        events = self.events
        q = events[i].p
        mine = self.local[i]
        v = [events[k] for k in range(i + 1, len(events)) if k != j and self.clocks[k][q] < mine]
        if not unsure:
            v.append(ev)
            self._offer(self.states[i], v)
            return
        v.append(unknown(ev.p, ev.kind, ev.key))
        self._offer(self.states[i], v, [e.p for e in events[:i]] + [e.p for e in v])

    def _po_prev(self, j: int) -> int:
        p = self.events[j].p
        for k in range(j - 1, -1, -1):
            if self.events[k].p == p:
                return k
        return -1

    def _offer(self, st: _State, v, probe: list[int] | None = None) -> None:
        """Insert v in st's wakeup tree unless a sleeping thread or a branch covers it. With
        `probe` (the choices that lead to v's last step from the start), that step is not known
        (unknown()): if v is new even so, it is run (DporSearch.probe) and v asked again."""
        for q, ev in st.sleep.items():
            if weak_initial(q, ev, v):
                return
        if probe is not None:
            if not insert(st.wut, v, add=False):
                return
            ev = self.search.probe(probe)
            if ev is not None:
                v = v[:-1] + [ev]
                for q, sev in st.sleep.items():
                    if weak_initial(q, sev, v):
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
                 max_executions: int | None = None, budget=None, quiet: Quiet | None = None,
                 whole_sections: bool = True):
        self.program = program
        self.whole_sections = whole_sections   # critical sections with no point inside: one step
        self.probes = 0                # runs made to see what a step does elsewhere (probe())
        self._probed: dict[tuple, Event | None] = {}
        self.tried: set = set()        # locks a tryacquire was seen on (runtime.Execution.tried)
        self.grew = False
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
            if quiet.grew or self.grew:
                self.grew = False
                # Some accesses this search skipped turned out to race: the states so far
                # were built without them, so begin again with that object loud.
                self.restarts += 1
                self._probed.clear()
                self.states.clear()
                self.root_wut = []
                continue
            if outcome.kind != "pruned":
                chooser.plant(outcome.kind, exe)
            if not self._backtrack():
                self.complete = True
                return

    def probe(self, choices: Sequence[int]) -> Event | None:
        """The Event of the last of `choices` (a thread per decision) when the program is run
        along them, or None if they cannot be followed: a run cut short there."""
        key = tuple(choices)
        if key in self._probed:
            return self._probed[key]
        chooser = _Probe(self, key)
        outcome, exe = run_once(self.program, chooser, detect_races=False, budget=self.budget,
                                quiet=self.quiet)
        self.probes += 1
        if outcome.kind != "pruned":
            chooser.end(outcome.kind, exe)
        if self.quiet is not None and self.quiet.grew:
            self.grew = True          # it found an object loud: the search starts again
        self._probed[key] = chooser.ev
        return chooser.ev

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
