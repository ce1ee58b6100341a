"""Practice in OSTEP's style, as a widget: a seeded schedule, your prediction, then the reveal.

    pw = PracticeWidget()            # seed 0, the buggy small kernel; fix="count" for fix B
    pw.question.answer_with(...)     # predict (recorded, qid "practice-FIX-SEED"), then reveal
    pw.next()                        # the next seed; pw.show(seed) any seed

The exercise itself comes from labkit.kernel.practice (the same seed gives the same schedule in
Python and on the command line: `labkit practice --seed S`); the widget only asks and reveals.
The reveal says how to replay the run (`labkit replay ...`) and shows where each thread was.

Browser hooks: `labkit-practice`, `labkit-practice-seed` (the seed box), `labkit-practice-show`,
`labkit-practice-next`, `labkit-practice-question` (a Question widget inside).
"""

import ipywidgets as W

from labkit.errors import LabkitError
from labkit.kernel.practice import practice
from labkit.widgets._base import LabWidget, button, simulator
from labkit.widgets.question import Question


class PracticeWidget(LabWidget):
    def __init__(self, seed: int = 0, *, fix: str = "none"):
        self.fix = fix
        self.exercise = None
        self.question = None
        self.message = ""
        self._seed = W.BoundedIntText(value=0, min=0, max=10**9, description="seed",
                                      layout=W.Layout(width="160px"))
        self._seed.add_class("labkit-practice-seed")
        show = button("Show", "labkit-practice-show", tooltip="the exercise of this seed")
        nxt = button("Next", "labkit-practice-next", tooltip="the next seed's exercise")
        show.on_click(lambda _: self.show(self._seed.value))
        nxt.on_click(lambda _: self.next())
        self._message = W.HTML()
        self._box = W.VBox([])
        self._box.add_class("labkit-practice-question")
        self.widget = W.VBox([W.HBox([self._seed, show, nxt]), self._message, self._box])
        self.widget.add_class("labkit-practice")
        self.show(seed)

    def show(self, seed: int) -> "PracticeWidget":
        self.message = self._message.value = ""
        try:
            with simulator():
                ex = practice(seed, fix=self.fix)
        except LabkitError as err:
            self._report(err)
            return self
        self.exercise = ex
        self._seed.value = seed
        self.question = Question(ex.qid, ex.prompt(), ex.answer, choices=ex.choices,
                                 explanation=_explain(ex))
        self._box.children = [self.question.widget]
        return self

    def next(self) -> "PracticeWidget":
        return self.show((self.exercise.seed + 1) if self.exercise else 0)

    def __repr__(self):
        text = repr(self.question) if self.question is not None else "no exercise"
        return text + (f"\nrefused: {self.message}" if self.message else "")


def _explain(ex) -> str:
    o = ex.outcome
    if o.kind == "panic":
        p = o.panic
        what = (f"R counted {p.counted} headers; W's flag cleared between R's passes, so the copy "
                f"found one more and header {p.header_index} went past the buffer "
                f"(kbuf+{p.offset:#x}).")
    elif o.result.zero_filled:
        what = ("R's count included W's kstat while it was INVALID, and the copy skipped it: "
                f"{o.result.zero_filled} record left zero-filled.")
    elif len(o.result.kids) > ex.kstats:
        what = "W's kstat was valid before R counted: both passes saw it."
    else:
        what = "W's kstat was not valid (or not yet in the chain) in either pass."
    return f"{what} Replay it: {ex.replay_command}"

