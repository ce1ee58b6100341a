"""The process one check runs in: `python -m labkit.grading.worker OUT CHECK SUBMISSION [HIDDEN_FILE]`.

Design note: the parent (runner.py) starts this in a fresh session with resource limits and a
timeout; this side only runs the check and writes its CheckResult as JSON to OUT. Writing to a file,
not stdout, keeps the result apart from whatever the learner's code prints.
"""

from __future__ import annotations

import json
import sys
import time

from labkit.errors import LabkitError
from labkit.grading.base import Ctx, LearnerError, Missing, Submission, describe_exception


def run_check(check, submission_dir) -> "CheckResult":  # noqa: F821
    ctx = Ctx(check)
    sub = Submission(submission_dir)
    start = time.monotonic()
    try:
        for name in check.files:
            sub.file(name)
        check.fn(sub, ctx)
        result = ctx.finish()
    except Missing as exc:
        result = ctx.result
        result.missing(str(exc))
        result.score, result.status = 0.0, "missing"
    except (LearnerError, LabkitError) as exc:
        result = ctx.result
        result.bad(str(exc))
        result.score, result.status = 0.0, "fail"
    except Exception as exc:  # most likely a learner's value our checking code could not digest
        result = ctx.result
        result.bad(f"the check could not finish: {describe_exception(exc)}")
        result.score, result.status = 0.0, "error"
    result.seconds = time.monotonic() - start
    return result


def load_check(name: str, hidden_file: str | None):
    if hidden_file:
        from labkit.grading.hidden import load_hidden
        return load_hidden(hidden_file).get(name)
    from labkit.grading.exercises import CHECKS
    return CHECKS.get(name)


def main(argv: list[str]) -> int:
    out, name, submission = argv[:3]
    hidden_file = argv[3] if len(argv) > 3 else None
    result = run_check(load_check(name, hidden_file), submission)
    with open(out, "w") as f:
        json.dump(result.to_json(), f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
