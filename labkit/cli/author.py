"""`labkit author [--check]`: regenerate exercises/ from solutions/, or check that it is up to date."""

import argparse
from pathlib import Path

from labkit.cli import add_json_flag, emit


def _root() -> Path:
    # The course repository holding this labkit (an editable install), else the current folder.
    repo = Path(__file__).resolve().parents[2]
    return repo if (repo / "solutions").is_dir() else Path.cwd()


def register(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser("author", help="generate exercises/ from solutions/ (instructors)",
                              description="Write exercises/ from solutions/: every solution region "
                              "becomes a stub that fails clearly. With --check, write nothing and "
                              "exit 1 if exercises/ is out of date.")
    p.add_argument("--check", action="store_true", help="only check; exit 1 naming the stale files")
    p.add_argument("--solutions", type=Path, default=None, help="default: <repo>/solutions")
    p.add_argument("--exercises", type=Path, default=None, help="default: <repo>/exercises")
    add_json_flag(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from labkit.grading.authoring import author
    root = _root()
    result = author(args.solutions or root / "solutions", args.exercises or root / "exercises", args.check)
    emit(result, args.json)
    return 0 if result.ok else 1
