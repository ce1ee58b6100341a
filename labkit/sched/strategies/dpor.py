"""Exhaustive search with dynamic partial-order reduction (Flanagan & Godefroid 2005, with sleep
sets), and plain depth-first enumeration of every interleaving as its test oracle.

Two steps are dependent when they touch the same object and at least one changes it (a write,
or any lock operation). Schedules that differ only in the order of independent steps end the
same way, so DPOR runs one of each class: after every execution it looks back, with vector
clocks over the dependence order, for pairs of dependent steps of different threads that were
not ordered by anything else (a race), and schedules the other order from the state before the
first. Sleep sets stop it from re-running an order it has already covered.

Stateless: every execution starts from scratch and replays a prefix of choices. The reduced
search also skips the scheduling points of quiet accesses (quiet.py): its states are the
chooser's decisions, not every step, and it starts over whenever it learns a new loud object.
"""

from labkit.sched.program import run_once
from labkit.sched.quiet import Quiet
from labkit.sched.runtime import WRITE_KINDS, Chooser


class _State:
    __slots__ = ("enabled", "pending", "chosen", "backtrack", "done", "sleep", "elsewhere")

    def __init__(self, enabled, pending, sleep):
        self.enabled = enabled      # frozenset of thread indices
        self.pending = pending      # thread index -> (kind, obj) it would do next
        self.chosen = -1
        self.backtrack = set()
        self.done = set()
        self.sleep = sleep
        self.elsewhere = frozenset()  # branches another process explores (see Root)


class Root:
    """One share of the first choice, for a search split between processes (sched/parallel.py).

    `mine`: the threads this search starts with, in turn; `before`: the ones another process
    starts with and explores first, which count as explored here (they join sleep sets just as
    they would in one sequential search); the rest belong to another process too.
    """

    def __init__(self, mine, before=()):
        self.mine = frozenset(mine)
        self.before = frozenset(before)

    def shape(self, st: "_State") -> None:
        st.done.update(self.before & st.enabled)
        st.backtrack.update(self.mine & st.enabled)
        st.elsewhere = st.enabled - self.mine


def _dependent(a, b) -> bool:
    """a, b: (kind, key) pairs. Keys, not objects: states outlive the execution that made them."""
    return a[1] == b[1] and (a[0] in WRITE_KINDS or b[0] in WRITE_KINDS)


class _DporChooser(Chooser):
    def __init__(self, states, prefix, reduce: bool, root: Root | None = None):
        self.states = states
        self.prefix = prefix
        self.reduce = reduce
        self.root = root
        self.clocks = None
        self.table = {}
        self.next_sleep = frozenset()   # the sleep set the next new state starts with

    def choose(self, exe, enabled):
        i = exe.decisions
        if i < len(self.prefix):
            return exe.by_name[self.prefix[i]]
        states = self.states
        if i == len(states):
            # Objects are new in every execution, so a state names them by id(): the sleep-set
            # test only ever compares entries of one state, all made in the same execution.
            pending = {t.index: (t.pending[0], id(t.pending[1]))
                       for t in exe.threads if not t.finished}
            states.append(_State(frozenset(t.index for t in enabled), pending, self.next_sleep))
            if i == 0 and self.root is not None:
                self.root.shape(states[0])
        st = states[i]
        candidates = [t for t in enabled if t.index not in st.sleep and t.index not in st.elsewhere]
        if not candidates:
            exe._stop("pruned")          # every order from here was covered before
        running = exe.running
        choice = running if running in candidates else candidates[0]
        st.chosen = choice.index
        st.done.add(choice.index)
        if not self.reduce:             # plain enumeration: every enabled thread is a branch
            st.backtrack.update(st.enabled)
        return choice

    def on_step(self, exe, t, access):
        i = exe.decisions - 1
        states = self.states
        st = states[i]
        p = t.index
        if self.clocks is None:
            self.clocks = [[0] * len(exe.threads) for _ in exe.threads]
        if not self.reduce:
            return
        # The sleep set of the next state, when that state is new: threads already explored
        # here (or asleep here) whose next step is independent of this one stay asleep.
        if i + 1 == len(states):
            mine = st.pending[p]
            self.next_sleep = frozenset(
                q for q in st.sleep | (st.done - {p})
                if q in st.pending and not _dependent(st.pending[q], mine))
        self._analyse(i, p, access)

    def _analyse(self, i, p, access):
        kind, obj = access[0], access[1]
        vc = self.clocks[p]
        entry = self.table.get(obj)
        write_like = kind in WRITE_KINDS
        deps = []
        if entry is not None:
            if entry[0] is not None:
                deps.append(entry[0])
            if write_like:
                deps.extend(entry[1].values())
            # Lock acquisitions race with the previous acquisition, not only with the release
            # that let them in: the other order means running the critical sections the other way.
            if kind == "acquire" and entry[2] is not None:
                deps.append(entry[2])
        for (j, q, local, _) in deps:           # judged against p's clock before any join
            if q != p and vc[q] < local:          # not ordered before p's step: a race
                st = self.states[j]
                if p in st.enabled:
                    st.backtrack.add(p)
                else:
                    st.backtrack.update(st.enabled)
        for (_, _, _, other_vc) in deps:
            for k, v in enumerate(other_vc):
                if v > vc[k]:
                    vc[k] = v
        vc[p] += 1
        event = (i, p, vc[p], tuple(vc))
        if write_like:
            last_acquire = event if kind == "acquire" else (entry[2] if entry else None)
            self.table[obj] = [event, {}, last_acquire]
        elif entry is None:
            self.table[obj] = [None, {p: event}, None]
        else:
            entry[1][p] = event


class _Serial(Chooser):
    """Threads one after another, from thread `first` on: each runs while it can."""

    def __init__(self, first: int):
        self.first = first
        self.root_enabled = None     # the threads that could go first (seen at the first choice)

    def choose(self, exe, enabled):
        if self.root_enabled is None:
            self.root_enabled = [t.index for t in enabled]
        n = len(exe.threads)
        return min(enabled, key=lambda t: (t.index - self.first) % n)


class DporSearch:
    """Runs executions until every backtrack point is covered. reduce=False enumerates all."""

    def __init__(self, program, *, reduce: bool = True, detect_races: bool = True,
                 max_executions: int | None = None, budget=None, root: Root | None = None,
                 quiet: Quiet | None = None):
        self.program = program
        self.root = root
        self.learned = quiet           # loud objects another search already learned
        self.reduce = reduce
        self.detect_races = detect_races
        self.max_executions = max_executions
        self.budget = budget
        self.pruned = 0
        self.restarts = 0
        self.learning_runs = 0
        self.quiet = None              # what the reduced search learned: quiet.loud
        self.complete = False

    @property
    def serial_steps(self):
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
                quiet.root_enabled = chooser.root_enabled or []
            self.learning_runs += 1
        return quiet

    def outcomes(self):
        """Yield the Outcome of each execution (pruned ones are counted, not yielded)."""
        states: list[_State] = []
        prefix: list[str] = []
        names = None
        runs = 0
        quiet = None
        if self.reduce:
            quiet = self.quiet = self.learned or self.learn()
        while True:
            if self.max_executions is not None and runs >= self.max_executions:
                return
            chooser = _DporChooser(states, prefix, self.reduce, self.root)
            outcome, exe = run_once(self.program, chooser, detect_races=self.detect_races,
                                    budget=self.budget, quiet=quiet)
            names = [t.name for t in exe.threads]
            runs += 1
            if outcome.kind == "pruned":
                self.pruned += 1
            else:
                yield outcome       # a real execution whatever the search learned from it
            if quiet is not None and quiet.grew:
                # Some accesses this search skipped turned out to race: the states so far
                # were built without them, so begin again with that object loud.
                self.restarts += 1
                states.clear()
                prefix = []
                continue
            # Deepest state with an unexplored, non-sleeping alternative.
            for d in range(len(states) - 1, -1, -1):
                st = states[d]
                todo = st.backtrack - st.done - st.sleep - st.elsewhere
                if todo:
                    break
            else:
                self.complete = True
                return
            q = min(todo)
            st.done.add(q)
            st.chosen = q
            del states[d + 1:]
            prefix = [names[states[k].chosen] for k in range(d + 1)]

