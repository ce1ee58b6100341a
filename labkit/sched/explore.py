"""explore(): run a program under a strategy and gather what its executions came to."""

import math
import time

from labkit import config
from labkit.errors import LabkitError, choice_error
from labkit.sched.outcome import ExploreResult
from labkit.sched.program import run_once
from labkit.sched.quiet import Quiet
from labkit.sched.runtime import Chooser, default_choice
from labkit.sched.strategies import pct, random_walk
from labkit.sched.strategies.dpor import DporSearch

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
            executions: int | None = None, detect_races: bool = True, budget=None) -> ExploreResult:
    """Search the program's schedules. dpor and dfs are exhaustive; random and pct sample."""
    if strategy not in STRATEGIES:
        raise choice_error("strategy", strategy, STRATEGIES)
    seed = config.SEED if seed is None else seed
    if executions is not None and (not isinstance(executions, int) or executions < 1):
        raise LabkitError(f"executions must be a whole number of at least 1, not {executions!r}")
    started = time.perf_counter()
    naive = None
    if strategy != "dpor":
        # One plain run to count each thread's steps (quiet: skipped points are counted, not
        # scheduled). DPOR's own first learning run gives the same counts.
        _, exe = run_once(program, _Default(), detect_races=False, budget=budget, quiet=Quiet())
        per_thread = [t.steps for t in exe.threads]
        naive = naive_interleavings(per_thread)

    if strategy in ("dpor", "dfs"):
        if strategy == "dfs" and naive > DFS_LIMIT * 100_000:
            raise LabkitError(
                f"dfs would have to try up to {naive:.3g} interleavings; use --strategy dpor, "
                "or a smaller scenario (--kstats 1 or 2)")
        search = DporSearch(program, reduce=(strategy == "dpor"), detect_races=detect_races,
                            max_executions=executions, budget=budget)
        outcomes = search.outcomes()
    else:
        n = executions or config.RANDOM_EXECUTIONS
        module = random_walk if strategy == "random" else pct
        steps = sum(per_thread)
        search = None
        outcomes = (run_once(program, c, detect_races=detect_races, budget=budget)[0]
                    for c in module.choosers(seed, n, steps, len(per_thread)))

    counts, races, seen, shortest, total = {}, [], set(), None, 0
    race_keys = set()
    for outcome in outcomes:
        total += 1
        counts[outcome.kind] = counts.get(outcome.kind, 0) + 1
        seen.add(signature(outcome))
        for r in outcome.races:
            key = (r.first.function, r.first.line, r.second.function, r.second.line)
            if key not in race_keys:
                race_keys.add(key)
                races.append(r)
        if outcome.failed and (shortest is None or
                               (outcome.preemptions, outcome.steps) < (shortest.preemptions, shortest.steps)):
            shortest = outcome
        if strategy == "dfs" and total > DFS_LIMIT:
            raise LabkitError(f"dfs passed {DFS_LIMIT} interleavings; use --strategy dpor")
    if naive is None:
        naive = naive_interleavings(search.serial_steps)
    return ExploreResult(
        strategy=strategy, seed=seed, executions=total, outcomes=counts,
        shortest_failing=shortest, seconds=time.perf_counter() - started,
        program=program.describe(), exhaustive=bool(search and search.complete),
        pruned=search.pruned if search else 0,
        learning_runs=search.learning_runs if search else 0, naive_interleavings=naive, races=races,
        outcome_set=seen)


def signature(outcome) -> tuple:
    """What distinguishes one outcome from another, for comparing outcome sets."""
    if outcome.kind == "ok":
        res = outcome.result
        return ("ok", res.signature() if hasattr(res, "signature") else repr(res))
    rec = outcome.panic
    if rec is not None and hasattr(rec, "signature"):
        return (outcome.kind, rec.signature())
    return (outcome.kind, str(outcome.failure) if outcome.kind == "error" else "")
