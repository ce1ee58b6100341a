"""Practice in OSTEP's style: a seeded generator of short schedules for the small kernel.

    p = practice(seed=0)          # fix="none" (the bug) or "count" (fix B); kstats=3
    p.schedule                    # e.g. "W9 R14 W3 R": what to predict the outcome of
    p.choices                     # the outcomes to choose from (the same four every time)
    p.answer                      # the right one (p.outcome: the run itself)
    p.replay_command              # labkit replay ... : the same run from the command line

Design note: the seed picks everything (seed 0 unless told otherwise, and echoed): first which
kind of outcome this exercise will have, so that the kinds come up about equally often (a
uniformly random schedule almost never panics), then random bursts of steps (1 to 30 for one
thread at a time) until a run of that kind comes up. So the same seed gives the same schedule
in a widget, in Python and on the command line (`labkit practice --seed S`), and the schedule
string replays it exactly (`labkit replay`).
"""

import random
from dataclasses import dataclass
from typing import Any

from labkit import config
from labkit.errors import LabkitError, choice_error
from labkit.kernel.scenario import SMALL_KSTATS, Scenario
from labkit.sched.outcome import Outcome
from labkit.sched.recipe import recipe_text
from labkit.sched.program import run_once
from labkit.sched.runtime import Chooser

PRACTICE_FIXES = ("none", "count")
MAX_BURST = 30
_TRIES = 400        # bursty runs tried per exercise before settling for the last one


def outcome_label(outcome: Outcome, kstats: int = SMALL_KSTATS) -> str:
    """One of `choices_for(kstats)`: what became of the reader's copy."""
    if outcome.kind == "panic":
        return f"panic: header {outcome.panic.header_index} is written past the buffer"
    if outcome.kind != "ok":
        return f"{outcome.kind}"
    result: Any = outcome.result       # the scenario's ReadResult
    if result.zero_filled:
        return "ok, but the reader gets a zero-filled header (a short copy)"
    return f"ok: the reader gets {len(result.kids)} headers"


def choices_for(kstats: int = SMALL_KSTATS) -> list:
    return [f"ok: the reader gets {kstats} headers",
            f"ok: the reader gets {kstats + 1} headers",
            "ok, but the reader gets a zero-filled header (a short copy)",
            f"panic: header {kstats} is written past the buffer"]


class _Bursts(Chooser):
    """One thread at a time for a random number of steps, then a random runnable thread."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.current = None
        self.left = 0

    def choose(self, exe, enabled):
        if self.left <= 0 or self.current not in enabled:
            self.current = enabled[self.rng.randrange(len(enabled))]
            self.left = self.rng.randint(1, MAX_BURST)
        self.left -= 1
        return self.current


@dataclass(frozen=True)
class Practice:
    seed: int
    fix: str
    kstats: int
    schedule: str
    outcome: Outcome          # the run itself (the answer: keep it out of sight)

    @property
    def choices(self) -> list:
        return choices_for(self.kstats)

    @property
    def answer(self) -> str:
        return outcome_label(self.outcome, self.kstats)

    @property
    def replay_command(self) -> str:
        return recipe_text(Scenario(self.kstats, self.fix).recipe(self.schedule))

    @property
    def qid(self) -> str:
        return f"practice-{self.fix}-{self.seed}"

    def prompt(self) -> str:
        fix = {"none": "the buggy kernel", "count": "fix B"}[self.fix]
        return (f"seed {self.seed}, {fix}, {self.kstats} kstats: the schedule {self.schedule!r} "
                "(each letter a thread, each number its steps). What becomes of the reader's copy?")

    def to_json(self, reveal: bool = False) -> dict:
        out = {"seed": self.seed, "fix": self.fix, "kstats": self.kstats,
               "schedule": self.schedule, "choices": self.choices}
        if reveal:
            out.update(answer=self.answer, replay_command=self.replay_command,
                       outcome=self.outcome.kind)
        return out

    def __str__(self):
        lines = [self.prompt()] + [f"  ( ) {c}" for c in self.choices]
        return "\n".join(lines)


def practice(seed: int | None = None, *, fix: str = "none", kstats: int = SMALL_KSTATS) -> Practice:
    """The practice exercise of `seed` (default labkit.config.SEED, 0)."""
    seed = config.SEED if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LabkitError(f"a seed is a whole number from 0 up, not {seed!r}")
    if fix not in PRACTICE_FIXES:
        raise choice_error("practice fix", fix, PRACTICE_FIXES)
    scenario = Scenario(kstats, fix)
    if kstats > 50:
        raise LabkitError(f"practice is for the small kernel: kstats from 1 to 50, not {kstats}")
    rng = random.Random(seed)
    kinds = (["ok", "panic"] if fix == "none" else ["ok", "short"])
    want = kinds[rng.randrange(len(kinds))]
    for _ in range(_TRIES):
        outcome, _ = run_once(scenario, _Bursts(rng), detect_races=False)
        if _kind(outcome) == want:
            break
    return Practice(seed, fix, kstats, outcome.schedule, outcome)


def _kind(outcome: Outcome) -> str:
    if outcome.kind == "panic":
        return "panic"
    result: Any = outcome.result       # the scenario's ReadResult
    return "short" if outcome.kind == "ok" and result.zero_filled else "ok"
