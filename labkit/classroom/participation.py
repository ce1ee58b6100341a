"""Participation: the answers a learner recorded in the notebooks, as the grader reports them.

Design note: Question widgets record every answer in the course's exercises/answers.json
(labkit.config.ANSWERS_FILE), so a submission of exercises/ carries them. The grader reads that
file here, in the grading process, never in a learner's check process, and reports how many of
the course's questions were answered and how many before the answer was shown (a prediction).
The file is written by the learner's own notebooks, so it is self-reported and easy to forge:
it is worth no points unless the instructor asks for some (`--participation-points N`), and then
N x (questions predicted / questions in the course).
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

from labkit import config
from labkit.answer_values import cut
from labkit.grading.model import CheckResult, Report

NAME = "participation"
MAX_BYTES = 4 << 20  # a real answers file is a few KiB; a bigger one is not read
ID_SHOWN = 40  # characters of a recorded id the report shows (the learner wrote them)


def read_answers(submission: Path) -> tuple[list[dict], str]:
    """The submission's answer records, and a problem with the file ('' when there is none).

    The file is the learner's, read here in the grader (root, on Gradescope), so it is opened
    once, not through a link and without blocking, and read only if it is a regular file of at
    most MAX_BYTES; JSON nested too deeply for the parser is a problem with the file, not a
    traceback (it stopped `grade --many` for every submission)."""
    name = config.ANSWERS_NAME
    try:
        fd = os.open(Path(submission) / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        return [], f"no {name} in the submission"
    except OSError as exc:
        return [], (f"{name} is a symbolic link and was not read" if exc.errno == errno.ELOOP
                    else f"{name} could not be read ({exc.strerror})")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return [], f"{name} is not a regular file and was not read"
        raw = os.read(fd, MAX_BYTES + 1) if st.st_size <= MAX_BYTES else b""
        if st.st_size > MAX_BYTES or len(raw) > MAX_BYTES:
            return [], f"{name} is larger than {MAX_BYTES >> 20} MiB and was not read"
    except OSError as exc:
        return [], f"{name} could not be read ({exc.strerror})"
    finally:
        os.close(fd)
    try:
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError as exc:
        return [], f"{name} is not valid JSON ({exc})"
    except RecursionError:
        return [], f"{name} is nested too deeply to be read"
    records = data.get("answers") if isinstance(data, dict) else None
    if not isinstance(records, list):
        return [], f"{name} has no \"answers\" list"
    return [r for r in records if isinstance(r, dict) and isinstance(r.get("qid"), str)], ""


def participation(submission: Path, questions: list[str] | None, points: float = 0.0) -> CheckResult:
    """A CheckResult (worth `points`, 0 by default) saying what the learner answered."""
    r = CheckResult(NAME, "Questions answered in the notebooks (participation)", points)
    records, problem = read_answers(submission)
    if problem:
        r.missing(problem + ": the notebooks record answers there when a learner answers a question")
        r.status = "missing" if points else "pass"  # worth nothing: a note, not a failure
        return r
    first: dict[str, dict] = {}
    for rec in records:
        first.setdefault(rec["qid"], rec)
    known = set(questions) if questions is not None else set(first)
    answered = [q for q in first if q in known]
    predicted = [q for q in answered if not first[q].get("revealed_before", False)]
    right_first = [q for q in answered if first[q].get("correct") is True]
    total = len(questions) if questions is not None else len(first)
    r.note(f"answered {len(answered)} of {total} questions, {len(predicted)} of them before "
           f"seeing the answer; {len(right_first)} right at the first attempt")
    # Other records (labkit.widgets.progress names the kinds): "level-N-..." a level of notebook 4
    # reached, "exercise-NAME" a check run from a notebook, "practice-..." a practice prediction.
    levels = sorted({rec["qid"] for rec in records if rec["qid"].startswith("level-") and rec.get("correct")})
    if levels:
        r.note(f"levels passed: {', '.join(cut(q, ID_SHOWN) for q in levels[:20])}"
               + (" ..." if len(levels) > 20 else ""))
    other = sorted(q for q in set(first) - known
                   if not q.startswith(("level-", "exercise-", "practice-")))
    if other:
        r.note(f"{len(other)} recorded ids that are not questions of this course: "
               + ", ".join(cut(q, ID_SHOWN) for q in other[:20]) + (" ..." if len(other) > 20 else ""))
    if points and total:
        r.score = round(points * len(predicted) / total, 2)
    r.status = "pass" if not points or r.score >= points else ("partial" if r.score > 0 else "fail")
    return r


def course_questions() -> list[str] | None:
    """The question ids of the course labkit finds (see labkit.classroom.course), or None."""
    from labkit.classroom.course import course_source, question_ids
    from labkit.errors import LabkitError
    try:
        return question_ids(course_source() / "notebooks")
    except LabkitError:
        return None


def add_participation(report: Report, submission: Path, questions: list[str] | None, points: float = 0.0,
                      always: bool = False) -> Report:
    """Append the participation result to a grading Report (once): when the submission has an
    answers file, when it is worth points, or `always`."""
    if not (always or points or (Path(submission) / config.ANSWERS_NAME).is_file()):
        return report
    if not any(r.name == NAME for r in report.results):
        report.results.append(participation(submission, questions, points))
    return report
