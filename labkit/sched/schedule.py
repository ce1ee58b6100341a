"""Schedule strings: the short, exact, copyable form of one interleaving.

How to read and write a schedule:

  - A schedule is a list of runs, separated by spaces (or commas). A run is a thread's name, one
    capital letter, followed by a step count: "R5" means "R takes 5 steps".
  - "R5 W9 R2" means: R takes 5 steps, then W takes 9, then R takes 2.
  - The last run may leave out its count: "R5 W9 R" means "... then R runs to its end" (until
    it finishes, or until it has to wait for a lock).
  - Only the last run may leave out its count. "R W5" is refused, with a message: write "R1 W5"
    for one step of R.
  - Counts go from 1 to 10000000.
  - When the schedule is used up, the run goes on by itself: the thread that ran last keeps
    running while it can, then the first runnable thread in the program's order (R before W). So a schedule only
    has to say where the interesting switches are.

A step is one scheduling point: one shared access (a memory read or write, a lock operation). The
schedules labkit prints always give every count ("R5 W9 R1"), so they replay exactly.

parse_schedule() returns a Schedule: the named steps in order, and the thread (if any) that then
runs to its end.
"""

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from labkit.errors import LabkitError

_TOKEN = re.compile(r"\s*([A-Z])(\d*)\s*,?")
MAX_COUNT = 10_000_000
_ACCEPTED = ("a schedule is runs like 'R5 W9 R2': a thread's letter and its number of steps; "
             "only the last run may leave out its count, meaning 'to its end'")


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: `steps` (one thread name per step), then `to_end`, the thread that runs
    until it finishes or blocks (None when the schedule gives every count)."""

    steps: tuple[str, ...]
    to_end: str | None = None

    def names(self) -> list[str]:
        """One name per step as the string reads, the run-to-end thread counted once (what a
        picture of the schedule's steps draws)."""
        return list(self.steps) + ([self.to_end] if self.to_end else [])

    def __str__(self) -> str:
        text = format_schedule(self.steps)
        return f"{text} {self.to_end}".strip() if self.to_end else text


def parse_schedule(text: str, thread_names: Iterable[str]) -> Schedule:
    """Parse "R5 W9 R" into Schedule(steps=("R",)*5 + ("W",)*9, to_end="R")."""
    if not isinstance(text, str):
        raise LabkitError(f"a schedule must be a string like 'R5 W9 R', not {type(text).__name__}")
    names = set(thread_names)
    text = text.strip()
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise LabkitError(f"cannot read the schedule {text!r} at position {pos} "
                              f"({text[pos:pos + 10]!r}); {_ACCEPTED}")
        tokens.append((m.group(1), m.group(2), pos))
        pos = m.end()
    steps: list[str] = []
    to_end = None
    for i, (name, count, at) in enumerate(tokens):
        if name not in names:
            raise LabkitError(f"the schedule names thread {name!r}, but this program's threads are "
                              f"{', '.join(sorted(names))}")
        if count == "":
            if i != len(tokens) - 1:
                raise LabkitError(
                    f"in the schedule {text!r}, {name!r} at position {at} has no step count; "
                    f"{_ACCEPTED} (for one step write {name}1)")
            to_end = name
            continue
        n = int(count)
        if not 1 <= n <= MAX_COUNT:
            raise LabkitError(f"step count {count} for {name} is out of range (1 to {MAX_COUNT})")
        steps.extend([name] * n)
    return Schedule(tuple(steps), to_end)


def format_schedule(steps: Iterable[str]) -> str:
    """The run-length string of a list of thread names: ["R","R","W"] -> "R2 W1"."""
    return format_runs((name, sum(1 for _ in run)) for name, run in itertools.groupby(steps))


def format_runs(runs: Iterable[tuple[str, int]]) -> str:
    """The string of (thread name, steps) runs, each thread's run already merged: "R2 W1"."""
    return " ".join(f"{name}{count}" for name, count in runs)


def preemptions(steps: Sequence[str], enabled_at: dict) -> int:
    """Switches away from a thread that could have gone on running.

    enabled_at[i]: the threads (or their names) runnable at step i; only the steps where a
    scheduler chose need an entry (a switch is always a choice).
    """
    count = 0
    for i, enabled in enabled_at.items():
        if i == 0:
            continue
        prev = steps[i - 1]
        if steps[i] != prev and any(getattr(t, "name", t) == prev for t in enabled):
            count += 1
    return count
