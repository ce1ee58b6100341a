"""Exhaustive search on two CPUs: the first choice's branches split between this process and a child.

DPOR's executions are independent once the first choice is made: the branch that starts with
the first thread and the branches that start with the others share nothing but what the
learning runs found out. So after learning, this process forks: the child searches the
branches that start with the other threads (with the first one counted as explored, as a
sequential search would count it), this process searches the first branch, and the child sends
back what it found. The union is what one sequential search finds; a test checks that.

Only the summary crosses the pipe (counts, outcome signatures, races, the best failing
schedule), never live objects; the parent replays the child's best failing schedule to hand
back a full Outcome. The child runs only simulator code and leaves with os._exit, so nothing
of the parent (a notebook kernel's sockets, say) is touched twice.
"""

import os
import pickle

from labkit import config
from labkit.sched.strategies.dpor import DporSearch, Root


def workers_available() -> bool:
    return hasattr(os, "fork") and config.cpu_count() > 1


class Split:
    """What a split search did, for the report: the learning runs, the searches' shares."""

    def __init__(self, learner, searches):
        self.learning_runs = learner.learning_runs
        self.serial_steps = learner.serial_steps
        self.pruned = sum(s.pruned for s in searches)
        self.complete = all(s.complete for s in searches)


def split_search(program, tally_factory, *, detect_races: bool, budget):
    """Run a DPOR search split in two processes; returns (tally, Split), the tally merged.

    `tally_factory()` makes an object with add(outcome), to_wire() and merge(wire, program)
    (explore's _Tally). One process does it all when only one thread can go first.
    """
    learner = DporSearch(program, detect_races=detect_races, budget=budget)
    quiet = learner.learn()
    # A search's first choice is the lowest-numbered thread that can run (dpor._DporChooser).
    enabled = quiet.root_enabled
    chosen = min(enabled) if enabled else None
    others = [i for i in enabled or () if i != chosen]
    mine = DporSearch(program, detect_races=detect_races, budget=budget, quiet=quiet,
                      root=Root([chosen]) if others else None)
    if not others:
        return _run(mine, tally_factory()), Split(learner, [mine])
    theirs = DporSearch(program, detect_races=detect_races, budget=budget, quiet=quiet,
                        root=Root(others, before=[chosen]))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                     # the child: search, report, leave
        code = 0
        try:
            os.close(read_end)
            tally = _run(theirs, tally_factory())
            data = pickle.dumps((tally.to_wire(), theirs.pruned, theirs.complete))
        except BaseException as e:                   # report it: the parent raises it
            data = pickle.dumps(("error", f"{type(e).__name__}: {e}"))
            code = 1
        with os.fdopen(write_end, "wb") as f:
            f.write(data)
        os._exit(code)
    os.close(write_end)
    try:
        tally = _run(mine, tally_factory())
    finally:
        with os.fdopen(read_end, "rb") as f:
            data = f.read()
        os.waitpid(pid, 0)
    report = pickle.loads(data) if data else ("error", "the search's second process died")
    if report[0] == "error":
        raise RuntimeError(f"the second search process failed: {report[1]}")
    wire, theirs.pruned, theirs.complete = report
    tally.merge(wire, program)
    return tally, Split(learner, [mine, theirs])


def _run(search, tally):
    for outcome in search.outcomes():
        tally.add(outcome)
    return tally
