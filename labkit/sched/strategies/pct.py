"""PCT, probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010).

Each execution gives the threads random distinct priorities and picks depth-1 random change
points among the expected number of steps; the highest-priority runnable thread always runs,
and at the i-th change point the running thread drops to priority i (below every initial one).
A bug that needs d ordering constraints is found with probability at least 1/(n k^(d-1)) per run,
which suits bugs like this one: one thread must stop at exactly the wrong moment.
"""

import random
from collections.abc import Iterator

from labkit.sched.runtime import Chooser, Execution, SimThread


class PctChooser(Chooser):
    def __init__(self, rng: random.Random, n_threads: int, expected_steps: int, depth: int = 2):
        prios = list(range(depth, depth + n_threads))
        rng.shuffle(prios)
        self.priority = prios
        k = max(2, expected_steps)
        self.change_at = {s: depth - 1 - i for i, s in
                          enumerate(sorted(rng.sample(range(1, k), min(depth - 1, k - 1))))}

    def choose(self, exe: Execution, enabled: list[SimThread]) -> SimThread:
        best = max(enabled, key=lambda t: self.priority[t.index])
        low = self.change_at.get(exe.steps)
        if low is not None:
            self.priority[best.index] = low
            best = max(enabled, key=lambda t: self.priority[t.index])
        return best


def choosers(seed: int, executions: int, expected_steps: int, n_threads: int = 2, depth: int = 2) -> Iterator[PctChooser]:
    rng = random.Random(seed)
    for _ in range(executions):
        yield PctChooser(rng, n_threads, expected_steps, depth)
