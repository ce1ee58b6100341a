"""Schedule strings: the short, exact, copyable form of one interleaving.

A schedule is a list of thread names, one per scheduling step. Its string form runs them
together: "R5 W9 R" means "R takes 5 steps, W takes 9, then R". A run without a count is one
step, except that a schedule may end with a bare name, which is then run to its end.
After the string is used up, the default continuation takes over: the thread that ran last keeps
running while it can, then the lowest-numbered runnable thread. So a string only has to say
where the interesting switches are.
"""

import itertools
import re

from labkit.errors import LabkitError

_TOKEN = re.compile(r"\s*([A-Z])(\d*)\s*,?")


def parse_schedule(text: str, thread_names) -> list[str]:
    """Parse "R5 W9 R" into ["R"]*5 + ["W"]*9 + ["R"] ; a trailing bare name is marked with '*'.

    The result is a list of names; a final entry "R*" means "R until it finishes or blocks".
    """
    if not isinstance(text, str):
        raise LabkitError(f"a schedule must be a string like 'R5 W9 R', not {type(text).__name__}")
    names = set(thread_names)
    steps: list[str] = []
    pos = 0
    text = text.strip()
    tokens = []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise LabkitError(
                f"cannot read the schedule {text!r} at position {pos} ({text[pos:pos + 10]!r}); "
                "a schedule is thread names with optional step counts, like 'R5 W9 R'"
            )
        tokens.append((m.group(1), m.group(2)))
        pos = m.end()
    for i, (name, count) in enumerate(tokens):
        if name not in names:
            raise LabkitError(
                f"the schedule names thread {name!r}, but this program's threads are "
                f"{', '.join(sorted(names))}"
            )
        if count == "":
            steps.append(name + "*" if i == len(tokens) - 1 and len(tokens) > 0 else name)
        else:
            n = int(count)
            if n == 0 or n > 10_000_000:
                raise LabkitError(f"step count {count} for {name} is out of range (1 to 10000000)")
            steps.extend([name] * n)
    return steps


def format_schedule(steps) -> str:
    """The run-length string of a list of thread names: ["R","R","W"] -> "R2 W1"."""
    return " ".join(f"{name}{sum(1 for _ in run)}" for name, run in itertools.groupby(steps))


def preemptions(steps, enabled_at: dict) -> int:
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
