"""Practice in OSTEP's style, as a widget: a seeded schedule, your prediction, then the reveal.

    pw = PracticeWidget()            # seed 0, the buggy small kernel; fix="count" for fix B
    pw.show()                        # the exercise of the seed in the box (what Show does)
    pw.question.answer_with(...)     # predict (recorded, qid "practice-FIX-SEED"), then reveal
    pw.next()                        # the next seed; pw.show(seed) any seed

The widget opens with the seed in its box and no exercise yet: an exercise appears when the
learner asks for it (Show), so a notebook's output never holds one of its schedules (some panic,
and a panicking schedule is exercise 2's answer).

Handing out panicking schedules is deliberate, not a leak: "panic" is one of the outcomes to
predict, and a practice that never panicked would let the learner rule it out unseen. Notebook 4
offers practice only after level 1 and exercise 2 have asked for a panic, so no schedule is shown
before that question; and a schedule is no more given away here than by `labkit explore`, which
prints the shortest failing one to anyone who runs it.

The exercise itself comes from labkit.kernel.practice (the same seed gives the same schedule in
Python and on the command line: `labkit practice --seed S`); the widget only asks and reveals.
The reveal says how to replay the run (`labkit replay ...`) and shows where each thread was.

Browser hooks: `labkit-practice`, `labkit-practice-seed` (the seed box), `labkit-practice-show`,
`labkit-practice-next`, `labkit-practice-question` (a Question widget inside).
"""

import ipywidgets as W

from labkit.errors import LabkitError
from labkit.kernel.practice import Practice, practice
from labkit.widgets._base import LabWidget, button, simulator
from labkit.widgets.question import Question


class PracticeWidget(LabWidget):
    def __init__(self, seed: int = 0, *, fix: str = "none"):
        self.fix = fix
        self.exercise: Practice | None = None
        self.question: Question | None = None
        self.message = ""
        self._seed = W.BoundedIntText(value=0, min=0, max=10**9, description="seed",
                                      layout=W.Layout(width="160px"))
        self._seed.add_class("labkit-practice-seed")
        show = button("Show", "labkit-practice-show", tooltip="the exercise of this seed")
        nxt = button("Next", "labkit-practice-next", tooltip="the next seed's exercise")
        show.on_click(lambda _: self.show())
        nxt.on_click(lambda _: self.next())
        self._message = W.HTML()
        self._box = W.VBox([])
        self._box.add_class("labkit-practice-question")
        self.widget = W.VBox([W.HBox([self._seed, show, nxt]), self._message, self._box])
        self.widget.add_class("labkit-practice")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise LabkitError(f"a seed is a whole number from 0 up, not {seed!r}")
        self._seed.value = seed

    def show(self, seed: int | None = None) -> "PracticeWidget":
        """The exercise of `seed` (default: the seed in the box)."""
        seed = self._seed.value if seed is None else seed
        self.message = self._message.value = ""
        try:
            with simulator():
                ex = practice(seed, fix=self.fix)
        except LabkitError as err:
            self._report(err)
            return self
        self.exercise = ex
        self._seed.value = seed
        q = self.question = Question(ex.qid, ex.prompt(), ex.answer, choices=ex.choices,
                                     explanation=_explain(ex))
        self._box.children = [q.widget]
        return self

    def next(self) -> "PracticeWidget":
        return self.show((self.exercise.seed + 1) if self.exercise else self._seed.value)

    def __repr__(self):
        text = (repr(self.question) if self.question is not None else
                f"Practice, seed {self._seed.value} ({self.fix}): press Show for its exercise")
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

