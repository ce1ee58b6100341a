"""explore(): run a program under a strategy and gather what its executions came to."""

import contextlib
import gc
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from labkit import config
from labkit.errors import LabkitError, choice_error
from labkit.sched.hb import Race, unique_races
from labkit.sched.outcome import ExploreResult, Outcome, failure_rank
from labkit.sched.dpor import DporSearch
from labkit.sched.program import Program, run_once
from labkit.sched.quiet import Quiet
from labkit.sched.runtime import Chooser, Execution, SimThread, default_choice
from labkit.sched.strategies import pct, random_walk

STRATEGIES = ("dpor", "dfs", "random", "pct")

#: dfs enumerates every interleaving; refuse programs where that is hopeless.
DFS_LIMIT = 200_000


class _Default(Chooser):
    def choose(self, exe: Execution, enabled: list[SimThread]) -> SimThread:
        return default_choice(exe, enabled)


def naive_interleavings(step_counts: Iterable[int]) -> int:
    """How many ways the threads' steps can be interleaved, ignoring locks: a multinomial."""
    total, ways = 0, 1
    for n in step_counts:
        total += n
        ways *= math.comb(total, n)
    return ways


@dataclass(frozen=True)
class Progress:
    """What explore() tells its `progress` hook after each execution."""

    executions: int            # executions run so far
    total: int | None          # how many it will run, when known (None: until the search is complete)
    failing: int               # how many of them did not end "ok"


def outcomes(program: Program, strategy: str = "dpor", *, seed: int | None = None,
             executions: int | None = None, detect_races: bool = True,
             budget: int | None = None, whole_sections: bool = True) -> Iterator[Outcome]:
    """Each execution's Outcome, one at a time, as the search makes them (the same executions,
    in the same order, as explore() with the same arguments). `whole_sections` (dpor only, on by
    default): critical sections with no point inside as one step (dpor.py): the same outcomes,
    fewer runs; False makes every point a step."""
    return iter(_Search(program, strategy, seed, executions, detect_races, budget, whole_sections))


def explore(program: Program, strategy: str = "dpor", *, seed: int | None = None,
            executions: int | None = None, detect_races: bool = True,
            budget: int | None = None,
            progress: Callable[[Progress], None] | None = None,
            stop: Callable[[], bool] | None = None, whole_sections: bool = True) -> ExploreResult:
    """Search the program's schedules. dpor and dfs are exhaustive; random and pct sample.

    `seed` (default config.SEED) seeds random and pct; `executions` caps the executions (random
    and pct default to config.RANDOM_EXECUTIONS). `progress(Progress)` is called after every
    execution; `stop()` is asked after every execution, and True ends the search there (the
    result says `stopped`). `whole_sections` (dpor only, on by default): critical sections with no
    point inside as one step (dpor.py): the same outcomes, fewer executions.
    """
    search = _Search(program, strategy, seed, executions, detect_races, budget, whole_sections)
    with fewer_collections():
        started = time.perf_counter()
        stopped = False
        tally = _Tally(limit=DFS_LIMIT if strategy == "dfs" else None)
        for outcome in search:
            tally.add(outcome)
            if progress is not None:
                progress(Progress(tally.total, search.total, tally.failing))
            if stop is not None and stop():
                stopped = not (search.total is not None and tally.total >= search.total)
                break
        info = search.found()
    return ExploreResult(
        strategy=strategy, seed=search.seed, executions=tally.total, outcomes=tally.counts,
        shortest_failing=tally.shortest, seconds=time.perf_counter() - started,
        program=program.describe(), exhaustive=info.complete and not stopped,
        pruned=info.pruned, learning_runs=info.learning_runs,
        naive_interleavings=info.naive, races=tally.races, outcome_set=tally.seen,
        stopped=stopped)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often during a search, then as before (explore(),
    and the grader's search, sim_checks.explore_scale).

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


@dataclass(frozen=True)
class _Found:
    """What a search learned besides its outcomes, for the result."""

    complete: bool
    pruned: int
    learning_runs: int
    naive: int | None


class _Search:
    """One search in this process: iterate it for its outcomes, then ask found()."""

    def __init__(self, program: Program, strategy: str, seed: int | None,
                 executions: int | None, detect_races: bool, budget: int | None,
                 whole_sections: bool = True) -> None:
        if strategy not in STRATEGIES:
            raise choice_error("strategy", strategy, STRATEGIES)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise LabkitError(f"seed must be a whole number, not {seed!r}")
        if executions is not None and (isinstance(executions, bool) or not isinstance(executions, int)
                                       or executions < 1):
            raise LabkitError(f"executions must be a whole number of at least 1, not {executions!r}")
        self.program = program
        self.strategy = strategy
        self.seed = config.SEED if seed is None else seed
        self.executions = executions
        self.detect_races = detect_races
        self.budget = budget
        self.whole_sections = whole_sections
        self.sampled = strategy in ("random", "pct")
        #: how many executions it will run, when that is known in advance
        self.total = (executions or config.RANDOM_EXECUTIONS) if self.sampled else executions
        self.dpor: DporSearch | None = None
        self.naive: int | None = None

    def __iter__(self) -> Iterator[Outcome]:
        program, budget = self.program, self.budget
        per_thread: list[int] = []
        if self.strategy != "dpor":
            # One plain run to count each thread's steps (quiet: skipped points are counted, not
            # scheduled). DPOR's own first learning run gives the same counts.
            _, exe = run_once(program, _Default(), detect_races=False, budget=budget, quiet=Quiet())
            per_thread = [t.steps for t in exe.threads]
            self.naive = naive_interleavings(per_thread)
        if self.strategy == "dfs" and self.naive is not None and self.naive > DFS_LIMIT * 100_000:
            raise LabkitError(
                f"dfs would have to try up to {self.naive:.3g} interleavings; use --strategy dpor, "
                "or a smaller scenario (--kstats 1 or 2)")
        if not self.sampled:
            self.dpor = DporSearch(program, reduce=(self.strategy == "dpor"),
                                   detect_races=self.detect_races,
                                   max_executions=self.executions, budget=budget,
                                   whole_sections=self.whole_sections)
            yield from self.dpor.outcomes()
            return
        module = random_walk if self.strategy == "random" else pct
        assert self.total is not None
        for c in module.choosers(self.seed, self.total, sum(per_thread), len(per_thread)):
            yield run_once(program, c, detect_races=self.detect_races, budget=budget)[0]

    def found(self) -> _Found:
        d = self.dpor
        if d is None:
            return _Found(False, 0, 0, self.naive)
        naive = self.naive if self.naive is not None else (
            naive_interleavings(d.serial_steps) if d.serial_steps is not None else None)
        return _Found(d.complete, d.pruned, d.learning_runs, naive)


class _Tally:
    """What a search's executions came to, gathered one outcome at a time."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit                  # dfs refuses to go on past this many
        self.counts: dict[str, int] = {}
        self.races: list[Race] = []
        self.seen: set[tuple] = set()
        self.shortest: Outcome | None = None
        self.total = 0

    @property
    def failing(self) -> int:
        return self.total - self.counts.get("ok", 0)

    def add(self, outcome: Outcome) -> None:
        self.total += 1
        self.counts[outcome.kind] = self.counts.get(outcome.kind, 0) + 1
        self.seen.add(signature(outcome))
        self.races = unique_races(self.races, outcome.races)
        if outcome.failed and (self.shortest is None
                               or failure_rank(outcome) < failure_rank(self.shortest)):
            self.shortest = outcome
        if self.limit is not None and self.total > self.limit:
            raise LabkitError(f"dfs passed {self.limit} interleavings; use --strategy dpor")


def signature(outcome: Outcome) -> tuple:
    """What distinguishes one outcome from another, for comparing outcome sets."""
    if outcome.kind == "ok":
        res = outcome.result
        return ("ok", res.signature() if hasattr(res, "signature") else repr(res))
    rec = outcome.panic
    if rec is not None and hasattr(rec, "signature"):
        return (outcome.kind, rec.signature())
    return (outcome.kind, str(outcome.failure) if outcome.kind == "error" else "")
