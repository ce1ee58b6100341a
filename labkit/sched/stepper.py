"""Manual stepping: the learner is the scheduler.

A Stepper keeps one paused execution. `step("W")` lets W perform its pending access and run to
its next scheduling point; `run("R")` lets R go on until it blocks or ends; `undo()` goes back a
step by replaying the history from the start (a program plus a schedule is deterministic, so
this is exact). The widgets drive this class; it also reads well on its own.
"""

import greenlet
from dataclasses import dataclass

from labkit.errors import LabkitError
from labkit.sched.hb import Race, RaceDetector
from labkit.sched.outcome import Outcome
from labkit.sched.program import Program, outcome_of
from labkit.sched.runtime import Execution, stack_of
from labkit.sched.schedule import Schedule, format_schedule, parse_schedule
from labkit.sched.strategies.manual import ManualChooser


@dataclass(frozen=True)
class ThreadView:
    """What a lane of the scheduler widget shows for one thread."""

    name: str
    state: str           # runnable, spinning, blocked, finished
    next_access: str     # e.g. "write ks_flags of kstat 7 (zone_zfs)"
    function: str
    line: int
    source_line: str
    stack: tuple         # (function, lineno) innermost first

    def __str__(self):
        if self.state == "finished":
            return f"{self.name}: finished"
        return (f"{self.name}: {self.state:9} next: {self.next_access}  "
                f"[{self.function}() line {self.line}: {self.source_line.strip()}]")


class Stepper:
    """One paused execution the caller schedules by hand: step, run, follow, undo, reset."""

    def __init__(self, program: Program, *, detect_races: bool = True) -> None:
        self.program = program
        self.detect_races = detect_races
        self.history: list[str] = []
        self._start()

    def _start(self) -> None:
        self.instance = self.program.instantiate()
        self.detector = RaceDetector() if self.detect_races else None
        self.chooser = ManualChooser()
        self.exe = Execution(self.instance.threads, self.chooser,
                             observers=[self.detector] if self.detector else [])
        self.exe.start()
        self._outcome: Outcome | None = None
        if self.exe.outcome_kind is None:
            self.exe.resume()       # pauses at the first choice
        self._finish_if_done()

    def _finish_if_done(self) -> None:
        if self.exe.outcome_kind is not None and self._outcome is None:
            self._outcome = outcome_of(self.program, self.exe, self.detector, self.instance)
            self.exe.close()

    # ---- what the learner sees -------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._outcome is not None

    @property
    def outcome(self) -> Outcome | None:
        """The Outcome once the execution has ended, else None."""
        return self._outcome

    @property
    def runnable(self) -> list[str]:
        if self.done:
            return []
        return [t.name for t in self.exe.enabled()]

    @property
    def races(self) -> list[Race]:
        return list(self.detector.races) if self.detector else []

    @property
    def schedule(self) -> str:
        return format_schedule(self.history)

    @property
    def steps(self) -> int:
        return len(self.history)

    def threads(self) -> list[ThreadView]:
        out = []
        if not self.done:
            self.exe.enabled()   # refresh each thread's waiting state
        for t in self.exe.threads:
            stack = stack_of(t)
            fn, line, src = (stack[0] if stack else ("", 0, ""))
            if t.pending is None:
                access = ""
            else:
                kind, obj, what = t.pending
                access = f"{kind} {what or getattr(obj, 'name', '')}".strip()
            out.append(ThreadView(t.name, t.state, access, fn, line, src,
                                  tuple((f, n) for f, n, _ in stack)))
        return out

    def __str__(self) -> str:
        lines = [f"schedule so far: {self.schedule or '(none)'}  ({self.steps} steps)"]
        lines += [str(v) for v in self.threads()]
        if self.races:
            lines.append(str(self.races[0]))
        if self.done:
            lines.append(str(self._outcome))
        else:
            lines.append(f"runnable: {', '.join(self.runnable) or 'none'}")
        return "\n".join(lines)

    __repr__ = __str__

    # ---- what the learner does -------------------------------------------------------------
    def step(self, name: str, count: int = 1) -> "Stepper":
        """Let thread `name` take `count` steps (fewer if it blocks or the run ends)."""
        self._check_can_run(name)
        if not isinstance(count, int) or count < 1:
            raise LabkitError(f"count must be a whole number of at least 1, not {count!r}")
        self._go(name, count)
        return self

    def run(self, name: str) -> "Stepper":
        """Let thread `name` run until it blocks, finishes, or the run ends."""
        self._check_can_run(name)
        self._go(name, 10 ** 9)
        return self

    def _on_this_thread(self) -> None:
        """Called from another OS thread than the run's: rebuild the run here by replaying it
        (the same schedule always gives the same run), so stepping can go on."""
        # Greenlets only switch within the OS thread that made them, and a notebook may deliver
        # widget clicks on different threads. (Thread ids are reused; greenlets are not.)
        if self.done or self.exe.main is greenlet.getcurrent():
            return
        history = self.history
        self.exe.close()
        self.history = []
        self._start()
        self.follow(history)

    def _go(self, name: str, count: int) -> None:
        self._on_this_thread()
        t = self.exe.by_name[name]
        before = self.exe.steps
        self.chooser.want, self.chooser.remaining = t, count
        self.exe.resume()
        self.history.extend([name] * (self.exe.steps - before))
        self._finish_if_done()

    def _check_can_run(self, name: str) -> None:
        if name not in self.exe.by_name:
            raise LabkitError(f"there is no thread {name!r}; the threads are "
                              f"{', '.join(self.exe.by_name)}")
        if self.done:
            raise LabkitError(f"this run has ended ({self.exe.outcome_kind}); use undo() or reset()")
        if name not in self.runnable:
            t = self.exe.by_name[name]
            why = f"waiting for {t.pending[1].name}" if t.pending and t.pending[0] == "acquire" else t.state
            raise LabkitError(f"{name} cannot run now ({why}); runnable: {', '.join(self.runnable)}")

    def undo(self, n: int = 1) -> "Stepper":
        """Take back the last n steps (replays the rest from the start)."""
        keep = self.history[:max(0, len(self.history) - n)]
        self.reset()
        self.follow(keep)
        return self

    def reset(self) -> "Stepper":
        if not self.done:
            self.exe.close()      # (greenlets of another thread are left to the collector)
        self.history = []
        self._start()
        return self

    def follow(self, schedule: "str | Schedule | list[str]") -> "Stepper":
        """Apply a schedule (a string like "R5 W9 R", a parsed Schedule, or a list of names,
        one per step) from where we are."""
        if isinstance(schedule, str):
            schedule = parse_schedule(schedule, self.exe.by_name)
        elif not isinstance(schedule, Schedule):
            schedule = Schedule(tuple(schedule))
        steps = schedule.steps
        i = 0
        while i < len(steps) and not self.done:
            name = steps[i]
            j = i
            while j < len(steps) and steps[j] == name:
                j += 1
            self.step(name, j - i)
            i = j
        if schedule.to_end is not None and not self.done:
            self.run(schedule.to_end)
        return self
