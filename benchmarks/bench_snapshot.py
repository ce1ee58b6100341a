"""Would starting a search's runs from a forked snapshot pay (issue 13, task SNAP)? The gate's figures.

    .venv/bin/python benchmarks/bench_snapshot.py [--fix F ...] [--writers W] [--kstats N]
                                                  [--threshold STEPS] [--repeat R]

The idea: a run that diverges from the last one at decision d need not replay the steps before d
if a process forked at a decision k <= d of the last run (a snapshot) is still waiting: a child of
it goes on from there. At the seed's scale an execution's decisions sit in two clusters, before
and after the reader's walk over the 5697 boot kstats (about 22,800 decision-free steps, nearly
all of a run's cost), so a snapshot at the first decision after a long stretch is what could pay.

This measures both sides, for the grader's search (sim_checks.explore_scale: whole critical
sections, no race detection) at the seed's scale with two writers:
  - the saving: the search is run in-process once with every run recorded (CPU time and steps at
    each decision, the threads chosen); a run (execution or probe) that follows the last
    execution's choices up to a snapshot starts there and saves the CPU time the last execution
    had spent until that decision;
  - the cost of one snapshot: the search's first execution is replayed (its recorded choices)
    --repeat times in-process, and --repeat times forking at its first decision after
    --threshold steps, the child finishing the run and exiting, the parent waiting. fork() in the
    parent plus the child's CPU time (its copy-on-write faults and its exit included), less the
    same run's rest in-process, is what every snapshot taken and every run resumed from one pays.
    Means of --repeat (default 10), each.
Then the net saving, two ways: every run takes a snapshot at its first decision after --threshold
steps since the last one (what a real search can do, not knowing its next divergence), and the
bound no policy can beat: a snapshot only where a later run resumes from it (an oracle). Both
leave out what a real chain of processes adds (the search state pickled from process to process,
each outcome sent to the consumer, the snapshots told to exit), so they are upper bounds.
CPU times move with the load, printed beside them; the snapshot's cost is mostly page faults.

The search's runs are recorded by wrapping dpor.run_once's chooser (the benchmark's own hook:
the search itself has none), so the search runs exactly as the grader's does.
"""

import argparse
import gc
import os
import resource
import statistics
import time

from labkit.kernel import SEED_KSTATS, Scenario
from labkit.sched import dpor
from labkit.sched.dpor import DporSearch
from labkit.sched.program import run_once
from labkit.sched.runtime import Chooser

FIXES = ("none", "lock", "count")


class _Recorder(Chooser):
    """Records each decision of one run (steps so far, CPU since the run began, the thread
    chosen) and leaves the choice to the search's own chooser."""

    def __init__(self, inner: Chooser):
        self.inner: Chooser | None = inner
        self.kind = type(inner).__name__     # _DporChooser (an execution), _Probe, _Serial (learning)
        self.at: list[tuple[int, float]] = []
        self.choices: list[int] = []
        self.t0 = time.process_time()

    def choose(self, exe, enabled):
        self.at.append((exe.steps, time.process_time() - self.t0))
        assert self.inner is not None
        t = self.inner.choose(exe, enabled)
        if t is not None:
            self.choices.append(t.index)
        return t

    def on_step(self, exe, thread, access):
        assert self.inner is not None
        self.inner.on_step(exe, thread, access)


def recorded_search(scenario: Scenario) -> tuple[list[_Recorder], float, DporSearch]:
    """Run the grader's search once, every run recorded: (runs in order, CPU seconds, search)."""
    runs: list[_Recorder] = []
    plain = dpor.run_once

    def recording(program, chooser, **kw):
        rec = _Recorder(chooser)
        runs.append(rec)
        try:
            return plain(program, rec, **kw)
        finally:
            rec.inner = None    # it holds the execution (and its kstats): keep the record only

    search = DporSearch(scenario, detect_races=False)
    dpor.run_once = recording
    try:
        t = time.process_time()
        for _ in search.outcomes():
            pass
        cpu = time.process_time() - t
    finally:
        dpor.run_once = plain
    return runs, cpu, search


class _Follow(Chooser):
    """Replays recorded choices as the search's own probe does (dpor._Probe: whole sections armed
    as in the search). With fork, forks at decision `at`: the child goes on, the parent waits for
    it and records fork()'s time plus the child's CPU time, then ends its own run. Without,
    records the CPU time at that decision (mark)."""

    def __init__(self, search: DporSearch, choices: list[int], at: int, fork: bool):
        self.inner = dpor._Probe(search, choices)
        self.at, self.fork = at, fork
        self.child = False
        self.mark = 0.0
        self.cost = 0.0
        self.wall = 0.0

    def choose(self, exe, enabled):
        if exe.decisions == self.at:
            if self.fork:
                gc.freeze()             # as a fork server does: gc would touch every page
                t = time.perf_counter()
                pid = os.fork()
                if pid == 0:
                    self.child = True
                else:
                    forked = time.perf_counter() - t
                    _, status, usage = os.wait4(pid, 0)
                    gc.unfreeze()       # the parent's later searches collect as before
                    assert os.waitstatus_to_exitcode(status) == 0
                    self.cost = forked + usage.ru_utime + usage.ru_stime
                    self.wall = time.perf_counter() - t
                    exe.stop("pruned")
            else:
                self.mark = time.process_time()
        return self.inner.choose(exe, enabled)

    def on_step(self, exe, thread, access):
        self.inner.on_step(exe, thread, access)


def snapshot_cost(scenario: Scenario, search: DporSearch, first: _Recorder, threshold: int,
                  repeat: int) -> tuple[float, float, float, float, int]:
    """(cost of one snapshot, the run's rest in-process, forked, forked's wall clock from fork()
    to the child reaped, the decision forked at). Means, not best-of: a child's CPU time as
    wait4() reports it is sampled at scheduler ticks (here in steps of about 3.6 ms), so one
    run's figure is coarse and the smallest of several is a lucky rounding."""
    at = next((k for k, (steps, _) in enumerate(first.at) if steps >= threshold), None)
    if at is None:
        raise SystemExit(f"no decision after {threshold} steps: lower --threshold")
    rest, forked, wall = [], [], []
    for _ in range(repeat):
        follow = _Follow(search, first.choices, at, fork=False)
        run_once(scenario, follow, detect_races=False, quiet=search.quiet)
        rest.append(time.process_time() - follow.mark)
        follow = _Follow(search, first.choices, at, fork=True)
        run_once(scenario, follow, detect_races=False, quiet=search.quiet)
        if follow.child:
            os._exit(0)                 # the child's run is done: nothing else of it runs
        forked.append(follow.cost)
        wall.append(follow.wall)
    mean = statistics.fmean
    return mean(forked) - mean(rest), mean(rest), mean(forked), mean(wall), at


def rss_mb() -> float:
    """The largest resident size of this process so far, MB (what each fork copies the page
    tables of)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def model(runs: list[_Recorder], threshold: int, cost: float) -> dict:
    """Replays the search's runs against snapshots (see the module's note)."""
    saved = 0.0
    resumed = taken = 0
    used: set[int] = set()
    serial = 0                    # each snapshot's number
    last = None                   # the last execution's (recorder, snapshots: [(decision, cpu, number)])
    for r in runs:
        if r.kind == "_Serial":   # the learning runs come first: nothing to start from
            continue
        inherited: list[tuple[int, float, int]] = []
        if last is not None:
            prev, snaps = last
            d = 0
            while d < min(len(r.choices), len(prev.choices)) and r.choices[d] == prev.choices[d]:
                d += 1
            inherited = [s for s in snaps if s[0] <= d]
            if inherited:
                saved += inherited[-1][1]
                resumed += 1
                used.add(inherited[-1][2])
        if r.kind == "_DporChooser":
            snaps = list(inherited)
            since = 0
            for k, (steps, cpu) in enumerate(r.at):
                if snaps and k <= snaps[-1][0]:
                    since = steps
                elif steps - since >= threshold:
                    snaps.append((k, cpu, serial))
                    since = steps
                    taken += 1
                    serial += 1
            last = (r, snaps)
    return {"resumed": resumed, "taken": taken, "reused": len(used), "saved": saved,
            "every": saved - cost * (taken + resumed), "oracle": saved - cost * (len(used) + resumed)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fix", action="append", choices=FIXES)
    ap.add_argument("--writers", type=int, default=2)
    ap.add_argument("--kstats", type=int, default=SEED_KSTATS)
    ap.add_argument("--threshold", type=int, default=5000,
                    help="steps since the last snapshot before a decision takes one (default 5000)")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    for fix in args.fix or FIXES:
        scenario = Scenario(args.kstats, fix, writers=args.writers)
        runs, cpu, search = recorded_search(scenario)
        first = next(r for r in runs if r.kind == "_DporChooser")
        cost, rest, forked, wall, at = snapshot_cost(scenario, search, first, args.threshold, args.repeat)
        m = model(runs, args.threshold, cost)
        print(f"{fix}, {args.writers} writers, {args.kstats} kstats: {len(runs)} runs "
              f"({search.learning_runs} learning, {search.probes} probes), search {cpu:.3f} s CPU")
        print(f"  one snapshot (fork at decision {at}, step {first.at[at][0]}): the run's rest "
              f"{rest * 1000:.2f} ms in-process, {forked * 1000:.2f} ms forked (fork() and the "
              f"child's CPU; {wall * 1000:.2f} ms wall to the child reaped): costs "
              f"{cost * 1000:.2f} ms; process {rss_mb():.0f} MB")
        print(f"  {m['resumed']} runs could resume from a snapshot, saving {m['saved']:.3f} s; "
              f"snapshots taken {m['taken']}, of them reused {m['reused']}")
        print(f"  net saving: every run snapshots {m['every']:.3f} s "
              f"({100 * m['every'] / cpu:+.1f}%), oracle {m['oracle']:.3f} s "
              f"({100 * m['oracle'] / cpu:+.1f}%)")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
