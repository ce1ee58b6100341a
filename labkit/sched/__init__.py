"""The deterministic scheduler (layer 1): simulated threads, scheduling points, a mutex and
condition-variable model, strategies, and a happens-before race detector.

The verbs (what a course, a test or a script uses):

    replay(program, "R5 W9 R")        one execution along a schedule -> Outcome
    explore(program, strategy=..., seed=, executions=, progress=, stop=)
                                      dpor | dfs | random | pct -> ExploreResult
    outcomes(program, strategy=...)   the same search, one Outcome at a time
    Stepper(program)                  manual stepping with undo, for the widgets
    parse_schedule, format_schedule   the schedule grammar (schedule.py says it in words)
    exclusive(wait=)                  hold the simulator for this OS thread (the global-execution lock)

What a program's code uses (the kernel is such a program):

    point(kind, obj, what)            announce a shared access (kernel code calls this, learners never do)
    note(kind, obj)                   state read or changed without a scheduling point (a step's footprint)
    Mutex, CondVar, MUTEX_WAITERS     adaptive mutex with an owner word; condition variable
    SimThread, Failure, current_thread
    Recipe, recipe_text               what reproduces a run (program.recipe(schedule)), and its one spelling

A program is anything with thread_names, instantiate(), describe() and recipe()
(program.Program); the kernel's Scenario is the one the course uses.

Layout: runtime.py (executions, threads, scheduling points, the lock), sync.py (who may
proceed), schedule.py, outcome.py (the kinds an execution can end with), recipe.py, program.py (running a
program once), replay.py, stepper.py, explore.py (the searches, their hooks), dpor.py (the
optimal search), traces.py (its oracle: the traces counted, one run each), benchprograms.py (classic DPOR
benchmarks), quiet.py, hb.py; strategies/ holds only the choosers (one small file each). The engine's own
names (Execution, Chooser, run_once, stack_of, RaceDetector) are imported from their modules.
"""

from labkit.sched.explore import STRATEGIES, Progress, explore, outcomes
from labkit.sched.hb import Race
from labkit.sched.outcome import OUTCOME_KINDS, ExploreResult, Outcome
from labkit.sched.recipe import Recipe, recipe_text
from labkit.sched.replay import replay
from labkit.sched.runtime import Failure, SimThread, current_thread, exclusive, note, point
from labkit.sched.schedule import Schedule, format_schedule, parse_schedule
from labkit.sched.stepper import Stepper, ThreadView
from labkit.sched.sync import MUTEX_WAITERS, CondVar, Mutex

__all__ = [
    "replay", "explore", "outcomes", "Stepper", "STRATEGIES", "Progress", "exclusive",
    "Outcome", "ExploreResult", "OUTCOME_KINDS", "Race", "ThreadView",
    "Schedule", "parse_schedule", "format_schedule",
    "point", "note", "Mutex", "CondVar", "MUTEX_WAITERS", "SimThread", "Failure", "current_thread",
    "Recipe", "recipe_text",
]
