"""The program protocol, and running a program once under a chooser.

A program (the kernel's Scenario is one) builds fresh state for every execution:

    program.thread_names  -> the threads' one-letter names, in order
    program.instantiate() -> an object with `.threads` (SimThreads) and `.result()`
    program.describe()    -> a small dict echoed in every result (e.g. fix, kstats)
    program.recipe(schedule) -> the Recipe that reproduces a schedule (recipe.py spells it)
"""

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from labkit.sched.hb import RaceDetector
from labkit.sched.outcome import Outcome
from labkit.sched.recipe import Recipe
from labkit.sched.runtime import Chooser, Execution
from labkit.sched.schedule import format_runs, preemptions


class Program(Protocol):
    """What the scheduler needs of a program (the kernel's Scenario is one)."""

    @property
    def thread_names(self) -> Sequence[str]: ...

    def instantiate(self) -> Any: ...

    def describe(self) -> dict: ...

    def recipe(self, schedule: str) -> Recipe: ...


def outcome_of(program: Program, exe: Execution, detector: RaceDetector | None,
               instance: Any) -> Outcome:
    schedule = format_runs(exe.trace.runs())
    result = None
    if exe.outcome_kind == "ok" and hasattr(instance, "result"):
        result = instance.result()
    assert exe.outcome_kind is not None, "an outcome of an execution that has not ended"
    return Outcome(
        kind=exe.outcome_kind,
        schedule=schedule,
        steps=exe.steps,
        preemptions=preemptions(exe.trace, exe.enabled_at),
        recipe=program.recipe(schedule),
        failure=exe.failure,
        races=list(detector.races) if detector is not None else [],
        result=result,
        program=program.describe(),
    )


def run_once(program: Program, chooser: Chooser, *, detect_races: bool = True,
             observers: tuple | list = (), budget: int | None = None,
             quiet: Any = None,
             on_end: Callable[[Execution, Any], None] | None = None) -> tuple[Outcome, Execution]:
    """Run the program once; returns (Outcome, Execution). The execution is closed.

    `quiet` (a quiet.Quiet) lets a search skip the points of accesses no other thread can disturb.
    `on_end(exe, instance)` runs once the execution has ended, before its threads are unwound
    (a post-mortem reads their stacks then).
    """
    instance = program.instantiate()
    detector = RaceDetector() if detect_races else None
    obs = list(observers) + ([detector] if detector is not None else [])
    if quiet is not None:
        quiet.begin()
    exe = Execution(instance.threads, chooser, budget=budget, observers=obs, quiet=quiet)
    try:
        exe.run()
        if on_end is not None:
            on_end(exe, instance)
    finally:
        exe.close()
    return outcome_of(program, exe, detector, instance), exe
