"""Replay: follow a schedule string step by step, then the default continuation."""

from labkit.errors import LabkitError
from labkit.sched.program import run_once
from labkit.sched.runtime import Chooser, default_choice
from labkit.sched.schedule import parse_schedule


class ReplayChooser(Chooser):
    def __init__(self, steps: list[str]):
        self.steps = steps
        self.pos = 0

    def choose(self, exe, enabled):
        if self.pos < len(self.steps):
            name = self.steps[self.pos]
            to_end = name.endswith("*")
            name = name.rstrip("*")
            t = exe.by_name[name]
            if t in enabled:
                if not to_end:
                    self.pos += 1
                return t
            if to_end:              # "R" at the end: R runs until it finishes or blocks
                self.pos += 1
                return self.choose(exe, enabled)
            exe._stop("invalid", LabkitError(
                f"schedule step {self.pos + 1} asks for {name}, but {name} cannot run then "
                f"({t.state}"
                + (f", waiting for {t.pending[1].name}" if t.pending and t.pending[0] == "acquire" else "")
                + f"); runnable: {', '.join(x.name for x in enabled)}"
            ))
        return default_choice(exe, enabled)


def replay(program, schedule: str, *, detect_races: bool = True, budget=None, on_end=None):
    """Run the program along `schedule` ("R5 W9 R"); returns the Outcome (on_end: see run_once)."""
    steps = parse_schedule(schedule, program.thread_names)
    outcome, _ = run_once(program, ReplayChooser(steps), detect_races=detect_races, budget=budget,
                          on_end=on_end)
    if outcome.kind == "invalid":      # the schedule asked for a thread that could not run
        raise outcome.failure
    return outcome
