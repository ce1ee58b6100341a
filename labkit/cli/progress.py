"""`labkit progress`: which questions were answered (right the first time?), which levels and
exercises passed, read from the answers file (labkit.config.ANSWERS_FILE: LABKIT_ANSWERS, else the
course's exercises/answers.json, else ~/.labkit/answers.json)."""

import argparse

from labkit.cli import add_json_flag, emit


def register(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser("progress", help="questions answered, levels and exercises passed")
    p.add_argument("--file", default=None, help="the answers file (default: $LABKIT_ANSWERS, else the "
                                                 "course's exercises/answers.json, else ~/.labkit/answers.json)")
    add_json_flag(p)
    p.set_defaults(run=_progress)


def _progress(args):
    from labkit.grading.exercises import EXERCISES  # every exercise, listed even if never checked
    from labkit.widgets.progress import progress

    emit(progress(args.file, exercises=EXERCISES), args.json)
    return 0
