"""The deterministic scheduler (layer 1): simulated threads, scheduling points, a mutex and
condition-variable model, strategies, and a happens-before race detector.

    point(kind, obj, what)   announce a shared access (kernel code calls this, learners never do)
    Mutex, CondVar           adaptive mutex with an owner word; condition variable
    replay(program, "R5 W9 R")      one execution along a schedule -> Outcome
    explore(program, strategy=...)  dpor | dfs | random | pct -> ExploreResult
    Stepper(program)         manual stepping with undo, for the widgets

A program is anything with thread_names, instantiate(), describe() and replay_command()
(see program.py); the kernel's Scenario is the one the course uses.
"""

from labkit.sched.explore import STRATEGIES, explore, naive_interleavings, signature
from labkit.sched.hb import Race, RaceDetector
from labkit.sched.outcome import OUTCOME_KINDS, ExploreResult, Outcome
from labkit.sched.program import run_once
from labkit.sched.runtime import (Chooser, Execution, Failure, SimThread, current_thread,
                                  point, stack_of)
from labkit.sched.schedule import format_schedule, parse_schedule
from labkit.sched.strategies.manual import Stepper, ThreadView
from labkit.sched.strategies.replay import replay
from labkit.sched.sync import MUTEX_WAITERS, CondVar, Mutex

__all__ = [
    "STRATEGIES", "explore", "naive_interleavings", "signature", "Race", "RaceDetector",
    "OUTCOME_KINDS", "ExploreResult", "Outcome", "run_once", "Chooser", "Execution", "Failure",
    "SimThread", "current_thread", "point", "stack_of", "format_schedule", "parse_schedule",
    "Stepper", "ThreadView", "replay", "MUTEX_WAITERS", "CondVar", "Mutex",
]
