"""replay(): one execution along a schedule string (the grammar is in schedule.py)."""

from collections.abc import Callable
from typing import Any

from labkit.sched.outcome import Outcome
from labkit.sched.program import Program, run_once
from labkit.sched.runtime import Execution
from labkit.sched.schedule import parse_schedule
from labkit.sched.strategies.replay import ReplayChooser


def replay(program: Program, schedule: str, *, detect_races: bool = True,
           budget: int | None = None,
           on_end: Callable[[Execution, Any], None] | None = None) -> Outcome:
    """Run the program along `schedule` ("R5 W9 R"); returns the Outcome (on_end: see run_once).

    A schedule that asks for a thread that cannot run at that step is a LabkitError saying why.
    """
    parsed = parse_schedule(schedule, program.thread_names)
    outcome, _ = run_once(program, ReplayChooser(parsed), detect_races=detect_races, budget=budget,
                          on_end=on_end)
    if outcome.kind == "invalid":      # the schedule asked for a thread that could not run
        assert isinstance(outcome.failure, Exception)
        raise outcome.failure
    return outcome
