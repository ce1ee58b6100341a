"""The scheduler as a game: levels with a goal and no recipe (The Deadlock Empire is the model).

    lv = LevelWidget(1)          # or LevelWidget("panic"); LEVELS lists them all
    lv.scheduler.step("W", 3)    # the level's scheduler: the same SchedulerWidget, same API
    lv.hint()                    # the next hint, once a try has failed (one more per failed try)
    lv.prove()                   # level 5: let the exhaustive search judge every schedule
    lv.passed                    # the goal was reached; recorded in the answers file

Design note: a level is data (a Level: its scenario, its goal check, its hints); the widget only
watches its SchedulerWidget and checks the goal whenever a run ends. A run that ends without the
goal is a failed try, and each failed try lets one more hint be opened. Reaching the goal is
recorded the way answers are (labkit.widgets.answer_store, qid "level-N-key", the schedule as the
answer), so `labkit progress` and notebook 8 can show it. The goal checks are plain functions of
an Outcome (`Level.reached`), so tests check them without a widget.

Browser hooks (CSS classes): `labkit-level` (the box), `labkit-level-goal`, `labkit-level-status`
(`labkit-level-passed` once passed), `labkit-level-hint-button`, `labkit-level-hints`,
`labkit-level-prove`, `labkit-level-proof`, `labkit-level-question` (level 3's follow-up).
"""

from dataclasses import dataclass

import ipywidgets as W

from labkit.errors import LabkitError, choice_error
from labkit.kernel import Scenario, load_variant
from labkit.kernel.wrong_fixes import path as wrong_fix
from labkit.sched import ExploreResult, explore
from labkit.widgets import answer_store as store
from labkit.widgets._base import LabWidget, button, error_html, escape, simulator, unexpected
from labkit.widgets.question import ask
from labkit.widgets.scheduler import SchedulerWidget


def _panicked(outcome) -> bool:
    return outcome.kind == "panic"


def _short_copy(outcome) -> bool:
    result = outcome.result
    return outcome.kind == "ok" and result is not None and result.zero_filled > 0


def _stuck(outcome) -> bool:
    return outcome.kind == "deadlock"


def _never(outcome) -> bool:
    return False       # level 5 is passed by the proof, not by a run


@dataclass(frozen=True)
class Level:
    number: int
    key: str
    title: str
    goal: str
    make_scenario: object          # () -> a program for the Stepper
    reached: object                # (Outcome) -> bool: the goal check of an ended run
    hints: tuple
    prove: bool = False            # passed by an exhaustive search finding no failure
    question: str = ""             # the course question (qid) asked once the goal is reached

    @property
    def qid(self) -> str:
        return f"level-{self.number}-{self.key}"


LEVELS = (
    Level(1, "panic", "The buggy kernel",
          "Make the kernel panic.",
          lambda: Scenario.small("none"), _panicked,
          ("The reader sizes its buffer in its first pass and fills it in its second. What would "
           "have to be different between the two passes?",
           "Look at the chain in the state view: one kstat is INVALID. Who changes that, and "
           "which lock does that thread hold when it does?",
           "R holds kstat_chain_lock through both passes, but W's store to ks_flags takes no "
           "lock at all. Where must R be when W makes that store?")),
    Level(2, "short-copy", "Fix B: count the INVALID kstats too",
          "Under fix B, make the reader receive a header that was never copied (a record the "
          "buffer's zero fill left empty).",
          lambda: Scenario.small("count"), _short_copy,
          ("Fix B's first pass counts every kstat in the chain, INVALID or not. The copy still "
           "skips the INVALID ones.",
           "So the count and the copy can still disagree, the other way round. Which kstat would "
           "the copy have to skip?",
           "W's kstat has to be in the chain when R counts, and still INVALID when R's copy "
           "passes it.")),
    Level(3, "stuck", "A wrong fix A",
          "This kernel's kstat_install clears KSTAT_FLAG_INVALID under kstat_chain_lock. It takes "
          "the lock with mutex_tryenter() when the lock is free, and waits for it in mutex_enter() "
          "when it is not. Find a schedule after which no thread can ever run again.",
          lambda: Scenario.small(load_variant(wrong_fix("rele_when_busy"))), _stuck,
          ("Compare kstat_install's two paths, line by line. Which one did W take in your run?",
           "What is the first thing kstat_rele() does?",
           "W takes the other path only if another thread holds kstat_chain_lock at the moment W "
           "tries it. When does the reader hold it?"),
          question="04-recursive-mutex"),
    Level(4, "two-writers", "Room for one more",
          "This kernel's first pass leaves room in the buffer for one more header than it "
          "counts. Two zones are being created at once, by W and X. Make the kernel panic.",
          lambda: Scenario.small(load_variant(wrong_fix("room_for_one")), writers=2), _panicked,
          ("With one writer, this fix survives every schedule. What is different here?",
           "Each writer's new kstat is INVALID when it enters the chain, and each writer clears "
           "its own flag.",
           "The spare room holds one header. How many could turn valid between R's passes?")),
    Level(5, "fix-a", "Fix A, as illumos shipped it",
          "Try to make this kernel panic. When you have tried, press Prove: the exhaustive "
          "search then checks every schedule that could matter.",
          lambda: Scenario.small("lock"), _never,
          ("Where is R when W wants to clear its flag now? Look at the owner of "
           "kstat_chain_lock.",
           "Can W's store land between R's two passes?"),
          prove=True),
)


def find_level(which: int | str) -> Level:
    for lv in LEVELS:
        if which in (lv.number, lv.key, lv.qid):
            return lv
    raise choice_error("level", which, [lv.number for lv in LEVELS] + [lv.key for lv in LEVELS])


class LevelWidget(LabWidget):
    def __init__(self, which):
        self.level = find_level(which)
        self.scheduler = SchedulerWidget(self.level.make_scenario())
        self.tries = 0                # runs that ended without the goal
        self.hints_shown = 0
        self.passed = False
        self.proof = None             # level 5: the ExploreResult of prove()
        self.record = None            # the answers-file record of the pass
        self.message = ""
        self._ended = False           # the current run has ended and was counted
        self.question = ask(self.level.question) if self.level.question else None
        self._build()
        self.scheduler.on_change.append(self._after_action)
        self._show()

    # ---- what the buttons call -------------------------------------------------------------
    def hint(self) -> str | None:
        """Open the next hint, if a failed try has unlocked one."""
        if self.hints_shown >= self.hints_unlocked:
            self._say("no hint yet: a hint opens after each try that ends without the goal"
                      if self.hints_shown < len(self.level.hints) else "that was the last hint")
            return None
        self.hints_shown += 1
        self._show()
        return self.level.hints[self.hints_shown - 1]

    def prove(self) -> ExploreResult | None:
        """Level 5: the exhaustive search over every schedule (after at least one try)."""
        self.message = ""
        if not self.level.prove:
            return self._say("this level is passed by a schedule, not by a proof")
        if self.tries == 0:
            return self._say("try first: run the threads until the run ends at least once")
        try:
            with simulator():
                self.proof = explore(self.scheduler.program, "dpor")
        except LabkitError as err:
            return self._say(str(err))
        except Exception as err:           # a bug of labkit's: shown, not lost in a log
            return self._say(unexpected(err))
        if self.proof.exhaustive and self.proof.shortest_failing is None:
            self._pass(f"proved: {self.proof.executions} executions")
        self._show()
        return self.proof

    @property
    def hints_unlocked(self) -> int:
        return min(self.tries, len(self.level.hints))

    # ---- goal checking -----------------------------------------------------------------------
    def _after_action(self, sw):
        self.message = ""
        outcome = sw.outcome
        if outcome is None:
            self._ended = False           # undo or reset: a new try is under way
        elif not self._ended:
            self._ended = True
            if not self.passed and self.level.reached(outcome):
                self._pass(sw.schedule)
            elif not self.passed:
                self.tries += 1
        self._show()

    def _pass(self, answer: str):
        self.passed = True
        try:
            self.record = store.record(self.level.qid, answer, True)
        except LabkitError as err:        # the pass stands; say why it was not saved
            self.message = str(err)

    def _say(self, text: str):
        self.message = text
        self._show()
        return None

    # ---- the view ------------------------------------------------------------------------------
    def _build(self):
        lv = self.level
        goal = W.HTML(f"<h4 style='margin:2px 0'>Level {lv.number} · {escape(lv.title)}</h4>"
                      f"<b>Goal:</b> {escape(lv.goal)}")
        goal.add_class("labkit-level-goal")
        self._status = W.HTML()
        self._status.add_class("labkit-level-status")
        self._hint_button = button("Hint", "labkit-level-hint-button",
                                   tooltip="a hint opens after each try that misses the goal")
        self._hint_button.on_click(lambda _: self.hint())
        self._hints = W.HTML()
        self._hints.add_class("labkit-level-hints")
        self._message = W.HTML()
        self._message.add_class("labkit-level-message")
        row = [self._hint_button]
        self._proof = W.HTML()
        self._proof.add_class("labkit-level-proof")
        if lv.prove:
            prove = button("Prove", "labkit-level-prove",
                           tooltip="check every schedule that could matter (exhaustive search)")
            prove.on_click(lambda _: self.prove())
            row.append(prove)
        self._question_box = W.VBox([])
        self._question_box.add_class("labkit-level-question")
        self.widget = W.VBox([goal, self.scheduler.widget, W.HBox(row + [self._status]),
                              self._hints, self._proof, self._message, self._question_box],
                             layout=W.Layout(border="2px solid #88a", padding="6px"))
        self.widget.add_class("labkit-level")

    def _show(self):
        if self.passed:
            self._status.value = ("<b class='labkit-level-passed' style='color:#2a2'>"
                                  f"✔ goal reached</b> (recorded as {escape(self.level.qid)})")
        else:
            tries = f"{self.tries} tr{'y' if self.tries == 1 else 'ies'} so far"
            self._status.value = f"<span>goal not reached yet · {tries}</span>"
        waiting = self.hints_unlocked - self.hints_shown
        self._hint_button.disabled = waiting <= 0
        self._hint_button.description = f"Hint ({waiting} ready)" if waiting > 0 else "Hint"
        self._hints.value = "".join(
            f"<div style='margin:2px 0'>💡 <b>Hint {i + 1}:</b> {escape(h)}</div>"
            for i, h in enumerate(self.level.hints[:self.hints_shown]))
        if self.proof is not None:
            self._proof.value = f"<pre style='white-space:pre-wrap'>{escape(_proof_text(self.proof))}</pre>"
        self._message.value = error_html(self.message) if self.message else ""
        if self.passed and self.question is not None and not self._question_box.children:
            self._question_box.children = [self.question.widget]

    def __repr__(self):
        lv = self.level
        lines = [f"Level {lv.number} · {lv.title}", f"goal: {lv.goal}",
                 "goal reached" if self.passed else f"goal not reached yet ({self.tries} tries)"]
        lines += [f"hint {i + 1}: {h}" for i, h in enumerate(lv.hints[:self.hints_shown])]
        if self.proof is not None:
            lines.append(_proof_text(self.proof))
        if self.message:
            lines.append(f"note: {self.message}")
        if self.passed and self.question is not None:
            lines.append(repr(self.question))
        return "\n".join(lines) + "\n" + repr(self.scheduler)


def _proof_text(r) -> str:
    if r.exhaustive and r.shortest_failing is None:
        return (f"every schedule checked ({r.executions} executions, each standing for a class of "
                f"schedules that differ only in the order of independent steps): none panics, none "
                f"deadlocks")
    if r.shortest_failing is not None:
        return f"a failing schedule exists: {r.shortest_failing.schedule}"
    return f"the search stopped after {r.executions} executions without covering every schedule"
