"""Two writers: the reader against two concurrent zone_create calls (threads W and X).

A fix that leaves room for exactly one kstat turning valid between the reader's passes survives
every schedule of one writer; with two writers it does not. X makes zone 8's zone_zfs kstat the
way W makes zone 7's. (A minimal piece for notebook 4's level 4: the grader's own two-writer
scenario may replace it.)
"""

from labkit.kernel import symbols
from labkit.kernel.scenario import NEW_ZONEID, SMALL_KSTATS, Scenario, _Instance
from labkit.kernel.zone import ZONE_CREATE, sys_syscall
from labkit.sched import Recipe, SimThread

SECOND_ZONEID = NEW_ZONEID + 1
SECOND_ZONE_NAME = f"z{SECOND_ZONEID}-builder"
# X's kthread_t: as far past W's as W's is past R's (the address is only a label in dumps)
_X_THREAD = symbols.THREADS["W"] + (symbols.THREADS["W"] - symbols.THREADS["R"])


class TwoWriters(Scenario):
    """Scenario with a second writer X; schedules name R, W and X."""

    thread_names = ("R", "W", "X")

    def __init__(self, kstats: int = SMALL_KSTATS, fix="none", **kw):
        super().__init__(kstats, fix, **kw)
        if "user_bufsize" not in kw:          # room for both new kstats in the caller's buffer
            self.user_bufsize += self.user_bufsize // (kstats + 1)

    def instantiate(self) -> _Instance:
        inst = _Instance(self)

        def second_writer():
            sys_syscall(ZONE_CREATE, SECOND_ZONE_NAME, SECOND_ZONEID)

        x = SimThread("X", second_writer, _X_THREAD, inst.kernel)
        inst.threads.append(x)
        inst.kernel.threads["X"] = x
        return inst

    def describe(self) -> dict:
        return {**super().describe(), "writers": 2}

    def recipe(self, schedule: str) -> Recipe:
        # `labkit replay --writers 2` runs Scenario's second writer, not this one: a Python line
        fix = self.variant.source or self.fix
        return Recipe(schedule, call=f"TwoWriters({self.kstats}, {fix!r})", module=__name__)

    def __repr__(self):
        return super().__repr__().replace("Scenario(", "TwoWriters(", 1)
