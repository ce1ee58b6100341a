"""The answers file: every answer a learner gives to a Question, appended, never lost.

Format (JSON, UTF-8), at labkit.config.ANSWERS_FILE (env LABKIT_ANSWERS, else the course's
exercises/answers.json, so a submission of exercises/ carries it, else ~/.labkit/answers.json):

    {"version": 1,
     "answers": [{"qid": "03-invalid-flag", "answer": "0x20", "correct": true,
                  "timestamp": "2026-11-27T20:41:07+00:00", "attempt": 1,
                  "revealed_before": false}, ...]}

One record per answer, in the order given. `attempt` counts the learner's answers to that qid;
`revealed_before` is true when the right answer had already been shown, so a grader can tell a
prediction from a copy. A prediction's `correct` is false until the notebook's measurement settles
it (settle()), which rewrites it in the records already made. Writes are atomic: the whole file is rewritten to a temporary file in the
same directory and moved over the old one with os.replace, under an flock (on answers.json.lock,
next to it) so two notebooks answering at once cannot drop each other's records. A file that is not valid JSON is never
overwritten: it is moved aside (answers.json.unreadable-<time>) and a new one is started.
"""

import contextlib
import fcntl
import json
import os
import tempfile
import time
from datetime import datetime, timezone

from labkit import config
from labkit.errors import LabkitError

VERSION = 1


def path() -> str:
    # looked up on every call, so a test (or a notebook) can point config.ANSWERS_FILE elsewhere
    return config.ANSWERS_FILE


def load(file: str | None = None) -> list[dict]:
    """Every recorded answer, oldest first ([] when there is no file yet)."""
    file = file or path()
    try:
        with open(file, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as err:
        raise LabkitError(f"cannot read the answers file {file}: {err}") from None
    return list(data.get("answers", [])) if isinstance(data, dict) else []


def record(qid: str, answer: object, correct: bool, *, revealed_before: bool = False,
           file: str | None = None) -> dict:
    """Append one answer and return its record. The record is on disk when this returns."""
    file = file or path()
    directory = os.path.dirname(os.path.abspath(file))
    try:
        os.makedirs(directory, exist_ok=True)
        with _locked(file):
            answers = _read_or_set_aside(file)
            entry = {"qid": qid, "answer": answer, "correct": bool(correct),
                     "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "attempt": 1 + sum(1 for a in answers if a.get("qid") == qid),
                     "revealed_before": bool(revealed_before)}
            answers.append(entry)
            _write_atomically(file, {"version": VERSION, "answers": answers})
    except OSError as err:
        raise LabkitError(f"could not record your answer in {file}: {err.strerror or err}; "
                          "set LABKIT_ANSWERS to a file you can write") from None
    return entry


def settle(qid: str, correct: dict[int, bool], *, file: str | None = None) -> None:
    """Set `correct` on records of `qid` already written, by attempt number: for a prediction,
    whose right answer is known only once the notebook has measured it (question.Prediction).
    Nothing else in a record changes, and no record is added or dropped."""
    file = file or path()
    try:
        with _locked(file):
            answers = _read_or_set_aside(file)
            for entry in answers:
                if entry.get("qid") == qid and entry.get("attempt") in correct:
                    entry["correct"] = bool(correct[entry["attempt"]])
            _write_atomically(file, {"version": VERSION, "answers": answers})
    except OSError as err:
        raise LabkitError(f"could not update your answers in {file}: {err.strerror or err}; "
                          "set LABKIT_ANSWERS to a file you can write") from None


@contextlib.contextmanager
def _locked(file):
    with open(file + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_or_set_aside(file) -> list:
    try:
        with open(file, encoding="utf-8") as f:
            data = json.load(f)
        if isinstance(data, dict) and isinstance(data.get("answers"), list):
            return data["answers"]
        raise ValueError("not an answers file")
    except FileNotFoundError:
        return []
    except ValueError:
        # Keep what was there: a learner may have edited it by hand. Never overwrite it.
        os.replace(file, f"{file}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
        return []


def _write_atomically(file, data):
    fd, tmp = tempfile.mkstemp(prefix=".answers-", dir=os.path.dirname(os.path.abspath(file)))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
