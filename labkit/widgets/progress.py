"""Progress: which questions were answered (and right the first time), which levels and exercises
passed. Read from the answers file, where Questions, levels and checks all record.

    p = progress()               # labkit.config.ANSWERS_FILE unless a file is given
    p.questions                  # qid -> QuestionProgress (attempts, right the first time)
    p.levels                     # level qid -> passed (every level of notebook 4, passed or not)
    p.exercises                  # exercise name -> passed (its last check)
    p.practice                   # (answered, right) over the practice exercises
    print(p); p.to_json()        # what `labkit progress` prints

Record kinds by qid: "level-N-key" a level's goal reached (labkit.widgets.levels), "exercise-NAME"
an exercise's check (labkit.grading.check: correct means it passed), "practice-FIX-SEED" a
practice prediction (labkit.widgets.practice); every other qid is a notebook question.
"right the first time" means the learner's first answer to it was right and was given before the
answer had been revealed.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from labkit.widgets import answer_store as store
from labkit.widgets._base import escape
from labkit.widgets.levels import LEVELS


@dataclass(frozen=True)
class QuestionProgress:
    qid: str
    attempts: int
    first_right: bool
    right: bool                  # some answer was right


@dataclass(frozen=True)
class Progress:
    questions: dict
    levels: dict
    exercises: dict
    practice: tuple              # (answered, right the first time)
    file: str

    def to_json(self) -> dict:
        return {"file": self.file,
                "questions": {q: {"attempts": p.attempts, "first_right": p.first_right,
                                  "right": p.right} for q, p in self.questions.items()},
                "questions_answered": len(self.questions),
                "questions_first_right": sum(p.first_right for p in self.questions.values()),
                "levels": dict(self.levels),
                "exercises": dict(self.exercises),
                "practice": {"answered": self.practice[0], "first_right": self.practice[1]}}

    def __str__(self):
        qs = self.questions.values()
        lines = [f"progress (from {self.file})",
                 f"questions answered: {len(self.questions)}, right the first time: "
                 f"{sum(p.first_right for p in qs)}"]
        for p in self.questions.values():
            mark = "right first time" if p.first_right else ("right later" if p.right else "not right yet")
            lines.append(f"  {p.qid:28} {mark} ({p.attempts} answer{'s' if p.attempts != 1 else ''})")
        lines.append(f"levels passed: {sum(self.levels.values())} of {len(self.levels)}")
        for qid, ok in self.levels.items():
            lines.append(f"  {qid:28} {'passed' if ok else 'not yet'}")
        if self.exercises:
            lines.append(f"exercises passed: {sum(self.exercises.values())} of {len(self.exercises)}")
            for name, ok in self.exercises.items():
                lines.append(f"  {name:28} {'passed' if ok else 'not yet'}")
        else:
            lines.append("exercises: none checked yet (labkit.grading.check records each check)")
        lines.append(f"practice: {self.practice[0]} answered, {self.practice[1]} right the first time")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        return "<pre class='labkit-progress'>" + escape(str(self)) + "</pre>"


def progress(file: str | None = None, *, exercises: Iterable[str] = ()) -> Progress:
    """The learner's progress; `exercises` names exercises to list even if never checked."""
    records = store.load(file)
    by_qid: dict[str, list[dict]] = {}
    for r in records:
        by_qid.setdefault(r.get("qid", ""), []).append(r)
    questions, levels, practice = {}, {lv.qid: False for lv in LEVELS}, [0, 0]
    ex = {name: False for name in exercises}
    for qid, recs in by_qid.items():
        first_right = bool(recs[0].get("correct")) and not recs[0].get("revealed_before")
        if qid.startswith("level-"):
            levels[qid] = levels.get(qid, False) or any(r.get("correct") for r in recs)
        elif qid.startswith("exercise-"):
            ex[qid[len("exercise-"):]] = bool(recs[-1].get("correct"))
        elif qid.startswith("practice-"):
            practice[0] += 1
            practice[1] += first_right
        elif qid:
            questions[qid] = QuestionProgress(qid, len(recs), first_right,
                                              any(r.get("correct") for r in recs))
    return Progress(questions, levels, ex, tuple(practice), file or store.path())
