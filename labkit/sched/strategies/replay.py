"""Replay: follow a parsed schedule step by step, then the default continuation."""

from labkit.errors import LabkitError
from labkit.sched.runtime import Chooser, Execution, SimThread, default_choice
from labkit.sched.schedule import Schedule


class ReplayChooser(Chooser):
    def __init__(self, schedule: Schedule):
        self.steps = schedule.steps
        self.to_end = schedule.to_end
        self.pos = 0

    def choose(self, exe: Execution, enabled: list[SimThread]) -> SimThread:
        if self.pos < len(self.steps):
            name = self.steps[self.pos]
            t = exe.by_name[name]
            if t in enabled:
                self.pos += 1
                return t
            exe.stop("invalid", LabkitError(
                f"schedule step {self.pos + 1} asks for {name}, but {name} cannot run then "
                f"({t.state}"
                + (f", waiting for {t.pending[1].name}" if t.pending and t.pending[0] == "acquire" else "")
                + f"); runnable: {', '.join(x.name for x in enabled)}"
            ))
        if self.to_end is not None:
            t = exe.by_name[self.to_end]
            if t in enabled:        # "R" at the end: R runs until it finishes or blocks
                return t
            self.to_end = None
        return default_choice(exe, enabled)
