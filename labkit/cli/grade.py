"""`labkit grade`: grade a submission (a folder laid out like exercises/) or a folder of them."""

import json
from pathlib import Path

from labkit.cli import add_json_flag


def register(subparsers) -> None:
    p = subparsers.add_parser("grade", help="grade exercises (one submission, or a folder of them)",
                              description="Run every exercise's check on a submission, each isolated "
                              "in its own process, and report points per check and a total.")
    p.add_argument("submission", nargs="?", default="exercises", metavar="SUBMISSION_DIR",
                   help="a folder laid out like exercises/ (default: ./exercises)")
    p.add_argument("--many", metavar="DIR", type=Path,
                   help="grade each subfolder of DIR as one submission, in parallel")
    p.add_argument("--hidden", metavar="DIR", type=Path, help="add the instructor's hidden checks in DIR/*.py")
    p.add_argument("--format", choices=["text", "json", "gradescope"], default="text")
    p.add_argument("--output", metavar="FILE", type=Path,
                   help="write the JSON or Gradescope report to FILE (e.g. /autograder/results/results.json)")
    p.add_argument("--jobs", type=int, default=None, metavar="N", help="checks run at once (default: one per core)")
    add_json_flag(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from labkit.errors import LabkitError
    from labkit.grading.grader import grade, grade_many

    if args.jobs is not None and args.jobs < 1:
        raise LabkitError(f"--jobs must be at least 1, not {args.jobs}")
    if args.many is not None and args.submission != "exercises":
        raise LabkitError("give either SUBMISSION_DIR or --many DIR, not both")
    if args.many is not None:
        report = grade_many(args.many, args.hidden, args.jobs)
    else:
        report = grade(args.submission, args.hidden, args.jobs)
    fmt = "json" if args.json else args.format
    text = None
    if fmt == "json":
        text = json.dumps(report.to_json(), sort_keys=True)
    elif fmt == "gradescope":
        text = json.dumps(report.to_gradescope(), indent=1)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text((text or json.dumps(report.to_json(), sort_keys=True)) + "\n")
        if not args.json:
            print(report)
    else:
        print(text if text is not None else report)
    return 0
