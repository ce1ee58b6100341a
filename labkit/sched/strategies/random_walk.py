"""Seeded random scheduling: at every step, any runnable thread, uniformly."""

import random
from collections.abc import Iterator

from labkit.sched.runtime import Chooser, Execution, SimThread


class RandomChooser(Chooser):
    def __init__(self, rng: random.Random):
        self.rng = rng

    def choose(self, exe: Execution, enabled: list[SimThread]) -> SimThread:
        return enabled[self.rng.randrange(len(enabled))] if len(enabled) > 1 else enabled[0]


def choosers(seed: int, executions: int, expected_steps: int, n_threads: int = 2) -> Iterator[RandomChooser]:
    """One chooser per execution, all drawn from one seeded generator."""
    rng = random.Random(seed)
    for _ in range(executions):
        yield RandomChooser(rng)
