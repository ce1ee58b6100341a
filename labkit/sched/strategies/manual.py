"""The manual chooser: it runs the thread it is told to, for as many steps as it is told, then
pauses the execution (returns None) so the driver (sched.stepper.Stepper) can ask the learner."""

from labkit.sched.runtime import Chooser, Execution, SimThread


class ManualChooser(Chooser):
    def __init__(self) -> None:
        self.want: SimThread | None = None
        self.remaining = 0

    def choose(self, exe: Execution, enabled: list[SimThread]) -> SimThread | None:
        if self.want is not None and self.remaining > 0 and self.want in enabled:
            self.remaining -= 1
            return self.want
        self.want = None
        return None
