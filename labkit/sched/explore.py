"""explore(): run a program under a strategy and gather what its executions came to."""

import contextlib
import gc
import math
import time

from labkit import config
from labkit.errors import LabkitError, choice_error
from labkit.sched.outcome import ExploreResult
from labkit.sched.program import run_once
from labkit.sched.quiet import Quiet
from labkit.sched.runtime import Chooser, default_choice
from labkit.sched.strategies import pct, random_walk
from labkit.sched.parallel import split_search, workers_available
from labkit.sched.strategies.dpor import DporSearch
from labkit.sched.strategies.replay import replay

STRATEGIES = ("dpor", "dfs", "random", "pct")

#: dfs enumerates every interleaving; refuse programs where that is hopeless.
DFS_LIMIT = 200_000


class _Default(Chooser):
    def choose(self, exe, enabled):
        return default_choice(exe, enabled)


def naive_interleavings(step_counts) -> int:
    """How many ways the threads' steps can be interleaved, ignoring locks: a multinomial."""
    total, ways = 0, 1
    for n in step_counts:
        total += n
        ways *= math.comb(total, n)
    return ways


def explore(program, strategy: str = "dpor", *, seed: int | None = None,
            executions: int | None = None, detect_races: bool = True, budget=None,
            workers: int | None = None) -> ExploreResult:
    """Search the program's schedules. dpor and dfs are exhaustive; random and pct sample.

    `workers` (default config.WORKERS): processes a complete dpor search may use.
    """
    if strategy not in STRATEGIES:
        raise choice_error("strategy", strategy, STRATEGIES)
    seed = config.SEED if seed is None else seed
    if executions is not None and (not isinstance(executions, int) or executions < 1):
        raise LabkitError(f"executions must be a whole number of at least 1, not {executions!r}")
    with _fewer_collections():
        return _explore(program, strategy, seed, executions, detect_races, budget, workers)


@contextlib.contextmanager
def _fewer_collections():
    """Run the cyclic garbage collector less often during a search, then as before.

    An execution keeps thousands of objects alive until it ends (the reader's copy of every
    header, at seed scale 5698) and frees them all at once; with the default threshold the
    collector walks them again and again meanwhile, a fifth of a seed-scale search. They are
    freed at the same moment either way (an execution's leftovers are collected between runs).
    """
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], 20_000), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _explore(program, strategy, seed, executions, detect_races, budget, workers):
    started = time.perf_counter()
    naive = None
    if strategy != "dpor":
        # One plain run to count each thread's steps (quiet: skipped points are counted, not
        # scheduled). DPOR's own first learning run gives the same counts.
        _, exe = run_once(program, _Default(), detect_races=False, budget=budget, quiet=Quiet())
        per_thread = [t.steps for t in exe.threads]
        naive = naive_interleavings(per_thread)

    tally = _Tally(limit=DFS_LIMIT if strategy == "dfs" else None)
    search = None
    workers = config.WORKERS if workers is None else workers
    if strategy == "dpor" and executions is None and workers > 1 and workers_available():
        # Both CPUs: the first choice's branches split between this process and a child.
        tally, search = split_search(program, _Tally, detect_races=detect_races, budget=budget)
    elif strategy in ("dpor", "dfs"):
        if strategy == "dfs" and naive > DFS_LIMIT * 100_000:
            raise LabkitError(
                f"dfs would have to try up to {naive:.3g} interleavings; use --strategy dpor, "
                "or a smaller scenario (--kstats 1 or 2)")
        search = DporSearch(program, reduce=(strategy == "dpor"), detect_races=detect_races,
                            max_executions=executions, budget=budget)
        for outcome in search.outcomes():
            tally.add(outcome)
    else:
        n = executions or config.RANDOM_EXECUTIONS
        module = random_walk if strategy == "random" else pct
        steps = sum(per_thread)
        for c in module.choosers(seed, n, steps, len(per_thread)):
            tally.add(run_once(program, c, detect_races=detect_races, budget=budget)[0])
    if naive is None:
        naive = naive_interleavings(search.serial_steps)
    return ExploreResult(
        strategy=strategy, seed=seed, executions=tally.total, outcomes=tally.counts,
        shortest_failing=tally.shortest, seconds=time.perf_counter() - started,
        program=program.describe(), exhaustive=bool(search and search.complete),
        pruned=search.pruned if search else 0,
        learning_runs=search.learning_runs if search else 0, naive_interleavings=naive,
        races=tally.races, outcome_set=tally.seen)


class _Tally:
    """What a search's executions came to, gathered one outcome at a time."""

    def __init__(self, limit: int | None = None):
        self.limit = limit                  # dfs refuses to go on past this many
        self.counts, self.races, self.seen = {}, [], set()
        self.race_keys = set()
        self.shortest = None
        self.total = 0

    def add(self, outcome) -> None:
        self.total += 1
        self.counts[outcome.kind] = self.counts.get(outcome.kind, 0) + 1
        self.seen.add(signature(outcome))
        self._races(outcome.races)
        if outcome.failed and (self.shortest is None or _rank(outcome) < _rank(self.shortest)):
            self.shortest = outcome
        if self.limit is not None and self.total > self.limit:
            raise LabkitError(f"dfs passed {self.limit} interleavings; use --strategy dpor")

    def _races(self, races) -> None:
        for r in races:
            key = (r.first.function, r.first.line, r.second.function, r.second.line)
            if key not in self.race_keys:
                self.race_keys.add(key)
                self.races.append(r)

    def to_wire(self) -> tuple:
        """Plain data for another process: the best failing run travels as its schedule."""
        best = None if self.shortest is None else (self.shortest.schedule, _rank(self.shortest))
        return (self.total, self.counts, self.seen, self.races, best)

    def merge(self, wire, program) -> None:
        total, counts, seen, races, best = wire
        self.total += total
        for kind, n in counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + n
        self.seen |= seen
        self._races(races)
        if best is not None and (self.shortest is None or best[1] < _rank(self.shortest)):
            self.shortest = replay(program, best[0])     # the same run, as a full Outcome


def _rank(outcome) -> tuple:
    """Failing runs compare by preemptions, then length: the shortest is the easiest to follow."""
    return (outcome.preemptions, outcome.steps)


def signature(outcome) -> tuple:
    """What distinguishes one outcome from another, for comparing outcome sets."""
    if outcome.kind == "ok":
        res = outcome.result
        return ("ok", res.signature() if hasattr(res, "signature") else repr(res))
    rec = outcome.panic
    if rec is not None and hasattr(rec, "signature"):
        return (outcome.kind, rec.signature())
    return (outcome.kind, str(outcome.failure) if outcome.kind == "error" else "")
