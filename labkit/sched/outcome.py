"""What an execution and an exploration come to: values, never hangs or tracebacks."""

from dataclasses import dataclass, field
from typing import Any

from labkit.sched.recipe import Recipe, recipe_text

#: How an execution can end, and what each means. An Outcome's kind is always one of these.
OUTCOME_KINDS = ("ok", "panic", "error", "deadlock", "hang")

#: Ends a chooser may give a run that are not outcomes: the run is abandoned, never reported.
#: "pruned": a search saw that every order from here was covered before (DPOR's sleep sets);
#: "invalid": a replayed schedule asked for a thread that could not run then (replay() raises
#: the LabkitError it carries).
STOP_KINDS = ("pruned", "invalid")

#: Every kind Execution.stop accepts: the one list the engine checks against.
ALL_KINDS = OUTCOME_KINDS + STOP_KINDS


def failure_rank(outcome: "Outcome") -> tuple[int, int]:
    """How failing runs compare, the one ranking: by preemptions, then length; the shortest
    failing run is the easiest to follow by hand."""
    return (outcome.preemptions, outcome.steps)


@dataclass
class Outcome:
    """One execution's end. `schedule` replays it exactly; `recipe` says how (replay_command spells it)."""

    kind: str                     # one of OUTCOME_KINDS
    schedule: str
    steps: int
    preemptions: int
    recipe: Recipe
    failure: object = None        # the Failure (its .record: e.g. a PanicRecord) or the exception
    races: list = field(default_factory=list)
    result: object = None         # what the program reports after the run (e.g. the reader's copy)
    program: dict = field(default_factory=dict)

    @property
    def replay_command(self) -> str:
        """The command that reproduces this run, as a reader types it."""
        return recipe_text(self.recipe)

    @property
    def failed(self) -> bool:
        return self.kind != "ok"

    @property
    def panic(self) -> Any:
        """The panic record, for a panic outcome."""
        return getattr(self.failure, "record", None) if self.kind == "panic" else None

    def summary(self) -> str:
        """One line for people; never raises, whatever the kind."""
        kind = self.kind
        if kind == "ok":
            return "finished normally"
        if kind == "panic":
            return f"PANIC: {self.failure}"
        if kind == "error":
            return f"the code raised {type(self.failure).__name__}: {self.failure}"
        if kind == "deadlock":
            return "DEADLOCK: every remaining thread is waiting"
        if kind == "hang":
            return f"HANG: still running after {self.steps} steps"
        if kind == "pruned":
            return "abandoned by the search: every order from here was covered before"
        if kind == "invalid":
            return f"the schedule could not be followed: {self.failure}"
        return f"ended as {kind!r}" + (f": {self.failure}" if self.failure is not None else "")

    def __str__(self) -> str:
        lines = [f"outcome: {self.kind}: {self.summary()}",
                 f"schedule: {self.schedule}  ({self.steps} steps, {self.preemptions} preemptions)"]
        for race in self.races:
            lines.append(str(race))
        if self.panic is not None:
            lines.append(str(self.panic))
        if self.failed:
            lines.append(f"replay: {self.replay_command}")
        return "\n".join(lines)

    __repr__ = __str__

    def to_json(self) -> dict:
        out = {"outcome": self.kind, "schedule": self.schedule, "steps": self.steps,
               "preemptions": self.preemptions, "replay_command": self.replay_command,
               "races": [r.to_json() for r in self.races], **self.program}
        if self.kind == "panic" and self.panic is not None and hasattr(self.panic, "to_json"):
            out.update(self.panic.to_json())
        elif self.failed and self.failure is not None:
            out["message"] = str(self.failure)
        if self.result is not None and hasattr(self.result, "to_json"):
            out["result"] = self.result.to_json()
        return out


@dataclass
class ExploreResult:
    """What a search over schedules found."""

    strategy: str
    seed: int
    executions: int
    outcomes: dict                 # kind -> how many executions ended that way
    shortest_failing: Outcome | None
    seconds: float
    program: dict = field(default_factory=dict)   # e.g. fix, kstats
    exhaustive: bool = False       # True when every schedule's outcome is covered
    pruned: int = 0                # executions cut short as redundant (DPOR sleep sets)
    learning_runs: int = 0         # serial runs that taught DPOR which accesses can race
    naive_interleavings: int | None = None
    races: list = field(default_factory=list)
    outcome_set: set = field(default_factory=set)   # distinct (kind, detail) pairs seen
    stopped: bool = False          # the caller's stop hook ended the search early

    @property
    def panics(self) -> int:
        return self.outcomes.get("panic", 0)

    @property
    def deadlocks(self) -> int:
        return self.outcomes.get("deadlock", 0)

    def __str__(self) -> str:
        prog = ", ".join(f"{k}={v}" for k, v in self.program.items())
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(self.outcomes.items())) or "none"
        lines = [f"explore ({prog}) strategy={self.strategy} seed={self.seed}",
                 f"  executions: {self.executions}" + _extra_runs(self.pruned, self.learning_runs),
                 f"  outcomes:   {counts}"]
        if self.naive_interleavings is not None:
            lines.append(f"  a naive search would face about {_approx(self.naive_interleavings)} interleavings")
        if self.exhaustive:
            verdict = ("every schedule checked: no failure is possible" if self.shortest_failing is None
                       else "every schedule checked: failures ARE possible")
            lines.append(f"  verdict:    {verdict}")
        if self.races:
            lines.append(f"  data races: {len(self.races)} (first: {self.races[0].second.what})")
        if self.shortest_failing is not None:
            sf = self.shortest_failing
            lines.append(f"  shortest failing schedule ({sf.preemptions} preemptions): {sf.schedule}")
            lines.append(f"  replay it:  {sf.replay_command}")
        if self.stopped:
            lines.append("  stopped early: these counts cover only the executions run so far")
        lines.append(f"  time:       {self.seconds:.2f} s")
        return "\n".join(lines)

    __repr__ = __str__

    def to_json(self) -> dict:
        sf = self.shortest_failing
        return {**self.program, "strategy": self.strategy, "seed": self.seed,
                "executions": self.executions, "pruned": self.pruned,
                "learning_runs": self.learning_runs,
                "panics": self.panics, "deadlocks": self.deadlocks,
                "outcomes": dict(self.outcomes), "exhaustive": self.exhaustive,
                "naive_interleavings": self.naive_interleavings,
                "shortest_failing": None if sf is None else {
                    "kind": sf.kind, "schedule": sf.schedule, "preemptions": sf.preemptions,
                    "replay_command": sf.replay_command},
                "races": [r.to_json() for r in self.races],
                "seconds": round(self.seconds, 3)}


def _extra_runs(pruned: int, learning: int) -> str:
    parts = ([f"+{pruned} pruned as redundant"] if pruned else []) + (
        [f"+{learning} learning runs"] if learning else [])
    return f" ({', '.join(parts)})" if parts else ""


def _approx(n: int) -> str:
    s = str(n)
    return s if len(s) <= 12 else f"10^{len(s) - 1}"
