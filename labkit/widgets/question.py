"""Predict, then reveal: a question whose answer is recorded before the right one is shown.

    q = Question("03-flag", "Which bit is KSTAT_FLAG_INVALID?", "0x20",
                 choices=["0x01", "0x10", "0x20"], explanation="...")
    q                      # the widget (text form: prompt, choices, "answer hidden until you answer")
    q.answer_with("0x10")  # what the Answer button does: validate, record to the file, enable Reveal
    q.reveal()             # what the Reveal button does: show the right answer and the explanation

Kinds: "choice" (one of `choices`), "int" (typed; decimal or 0x hex, so 5698 and 0x1642 are the
same answer), "text" (compared without case or extra spaces; `answer` may be a list of accepted
texts). A bad value ("zz" for an int) is refused with one sentence in the widget; nothing is
recorded and what the learner typed stays in the box.

The answers file (labkit.config.ANSWERS_FILE; env LABKIT_ANSWERS; default the course's exercises/answers.json)
is JSON: {"version": 1, "answers": [{"qid", "answer", "correct", "timestamp" (UTC, ISO 8601),
"attempt", "revealed_before"}, ...]}, one record per answer, appended atomically; read it with
labkit.widgets.answer_store.load(). Full details in labkit/widgets/answer_store.py.
"""

import ipywidgets as W

from labkit.answer_values import normalise
from labkit.errors import LabkitError, choice_error
from labkit.widgets import answer_store as store
from labkit.widgets._base import LabWidget, button, escape

KINDS = ("choice", "int", "text")


class Question(LabWidget):
    def __init__(self, qid: str, prompt: str, answer, *, choices=None, kind: str = "choice",
                 explanation: str = ""):
        if not isinstance(qid, str) or not qid.strip():
            raise LabkitError(f"a question needs a non-empty text id, not {qid!r}")
        if kind not in KINDS:
            raise choice_error("question kind", kind, KINDS)
        if kind == "choice":
            if not choices:
                raise LabkitError(f"question {qid!r} is a choice question but has no choices")
            choices = [str(c) for c in choices]
            if str(answer) not in choices:
                raise LabkitError(f"question {qid!r}: the answer {answer!r} is not one of its choices")
            answer = str(answer)
        elif kind == "int":
            answer = normalise("int", answer)
        else:
            accepted = [answer] if isinstance(answer, str) else list(answer)
            answer = accepted[0]
            self._accepted = {normalise("text", a) for a in accepted}
        self.qid, self.prompt, self.kind = qid, prompt, kind
        self.choices, self.explanation = choices, explanation
        self._answer = answer
        self.given: object = None  # the learner's latest answer (parsed), None before any
        self.correct: bool | None = None
        self.revealed = False
        self.records: list[dict] = []
        self._build()

    # ---- the API the buttons (and tests) use --------------------------------------------
    @property
    def answered(self) -> bool:
        return self.given is not None

    def answer_with(self, value: object) -> dict:
        """Check and record an answer; returns the record written to the answers file."""
        parsed = self._parse(value)
        correct = self._is_correct(parsed)
        # Recorded first: if the file cannot be written, the learner hears so and nothing is shown.
        rec = store.record(self.qid, parsed, correct, revealed_before=self.revealed)
        self.given, self.correct = parsed, correct
        self.records.append(rec)
        self._reveal_btn.disabled = False
        self._status.value = (f"Recorded your answer <b>{escape(_show(parsed))}</b> "
                              f"(attempt {rec['attempt']}).")
        if self.revealed:
            self._show_reveal()
        else:
            self._status.value += " Now press <i>Reveal</i>."
        return rec

    def reveal(self) -> str:
        """Show the right answer and the explanation; only after an answer was recorded."""
        if not self.answered:
            raise LabkitError("answer first: your prediction is recorded before the answer is shown")
        self.revealed = True
        self._show_reveal()
        return self._reveal_text()

    # ---- the live widget ----------------------------------------------------------------
    def _build(self):
        prompt = W.HTML(f"<b>{escape(self.prompt)}</b>")
        if self.kind == "choice":
            self._input = W.RadioButtons(options=self.choices, value=None,
                                         layout=W.Layout(width="max-content"))
        else:
            self._input = W.Text(placeholder="a whole number (5698 or 0x1642)" if self.kind == "int"
                                 else "your answer")
        self._input.add_class("labkit-question-input")
        self._answer_btn = button("Answer", "labkit-question-answer", style="primary")
        self._reveal_btn = button("Reveal", "labkit-question-reveal", disabled=True,
                                  tooltip="Shows the right answer; enabled once you have answered")
        self._status = W.HTML()
        self._status.add_class("labkit-question-status")
        self._revealed = W.HTML()
        self._revealed.add_class("labkit-question-revealed")
        self._answer_btn.on_click(self._guard(self._status, self._answer_from_input))
        self._reveal_btn.on_click(self._guard(self._status, self.reveal))
        self.widget = W.VBox([prompt, self._input, W.HBox([self._answer_btn, self._reveal_btn]),
                              self._status, self._revealed])
        self.widget.add_class("labkit-question")

    def _answer_from_input(self):
        if self._input.value in (None, ""):
            raise LabkitError("choose or type an answer first")
        self.answer_with(self._input.value)

    def _show_reveal(self):
        mark = "right" if self.correct else "not quite"
        self._revealed.value = (f"<div style='border-left:3px solid {'#2a2' if self.correct else '#c80'};"
                                f"padding-left:8px'><b>Answer:</b> {escape(_show(self._answer))} "
                                f"(you: {escape(_show(self.given))}, {mark})<br>"
                                f"{escape(self.explanation)}</div>")

    def _reveal_text(self):
        mark = "right" if self.correct else "not quite"
        text = f"answer: {_show(self._answer)}  (you answered {_show(self.given)}: {mark})"
        return text + (f"\n{self.explanation}" if self.explanation else "")

    # ---- checking -----------------------------------------------------------------------
    def _parse(self, value):
        # the one normaliser of answers (labkit.answer_values), as the grader reads them
        if self.kind == "choice":
            return normalise("choice", value if isinstance(value, str) else str(value), self.choices)
        if self.kind == "int":
            return normalise("int", value)
        text = str(value).strip()
        if not text:
            raise LabkitError("type an answer first")
        return text

    def _is_correct(self, parsed) -> bool:
        if self.kind == "text":
            return normalise("text", parsed) in self._accepted
        return parsed == self._answer

    def __repr__(self):
        lines = [f"Question {self.qid}: {self.prompt}"]
        if self.choices:
            lines += [f"  ( ) {c}" for c in self.choices]
        elif self.kind == "int":
            lines.append("  (a whole number; decimal or 0x hex)")
        if not self.answered:
            lines.append("answer hidden until you answer")
        elif not self.revealed:
            lines.append(f"your answer: {_show(self.given)} (recorded); press Reveal to see the answer")
        else:
            lines.append(self._reveal_text())
        return "\n".join(lines)


def _show(value) -> str:
    return f"{value} ({value:#x})" if isinstance(value, int) and abs(value) >= 16 else str(value)


def ask(qid: str) -> Question:
    """The course's question `qid` (labkit/widgets/questions.py), as a live Question.

    Notebooks ask through this, so that no answer or explanation is in a cell's shown source.
    """
    from labkit.widgets.questions import QUESTIONS

    if qid not in QUESTIONS:
        raise LabkitError(f"there is no course question {qid!r}; the questions are: "
                          f"{', '.join(sorted(QUESTIONS))}")
    spec = dict(QUESTIONS[qid])
    if spec.pop("prediction", False):
        return Prediction(qid, spec.pop("prompt"), **spec)
    return Question(qid, spec.pop("prompt"), spec.pop("answer"), **spec)


class Prediction(Question):
    """A question whose right answer is what the notebook's own run measures.

    The learner answers first (recorded; whether it is right is not known yet). `settle(value,
    how)` then picks the choice whose range holds the measured value, and Reveal shows it with
    the measurement. ranges: [(upper_bound, choice), ...], ascending; a value below a bound
    falls in that choice.
    """

    def __init__(self, qid: str, prompt: str, *, ranges, explanation: str = ""):
        self._ranges = [(float(b), str(c)) for b, c in ranges]
        super().__init__(qid, prompt, self._ranges[0][1], choices=[c for _, c in self._ranges],
                         explanation=explanation)
        self._answer = None
        self._why = explanation
        self.measured: float | None = None

    def settle(self, value: float, how: str) -> str:
        """Set the right answer from a measured value; returns the choice it falls in. The
        answers already recorded are marked right or wrong by it, on disk too."""
        self.measured = value
        # the last range takes everything above its predecessor (an infinite median included)
        self._answer = next((c for bound, c in self._ranges if value < bound), self._ranges[-1][1])
        self.explanation = f"{how}: {self._answer}. {self._why}"
        if self.records:
            verdicts = {r["attempt"]: r["answer"] == self._answer for r in self.records}
            store.settle(self.qid, verdicts)
            for r in self.records:
                r["correct"] = verdicts[r["attempt"]]
        if self.given is not None:
            self.correct = self.given == self._answer
        if self.revealed:
            self._show_reveal()
        return f"{how}: {self._answer}"

    def _is_correct(self, parsed) -> bool:
        return self._answer is not None and parsed == self._answer

    def reveal(self) -> str:
        if self._answer is None and self.answered:
            raise LabkitError("run the measurement below first: what it measures is this question's answer")
        return super().reveal()
