"""`labkit grade`: grade a submission (a folder laid out like exercises/) or a folder of them."""

import argparse
import json
import sys
from pathlib import Path

from labkit.cli import add_json_flag

FORMATS = ["text", "json", "gradescope", "csv"]


def register(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser("grade", help="grade exercises (one submission, or a folder of them)",
                              description="Run every exercise's check on a submission, each isolated "
                              "in its own process, and report points per check and a total. The "
                              "answers recorded in the submission's answers.json are reported as "
                              "participation (no points unless --participation-points).")
    p.add_argument("submission", nargs="?", default="exercises", metavar="SUBMISSION_DIR",
                   help="a folder laid out like exercises/ (default: ./exercises)")
    p.add_argument("--many", metavar="DIR", type=Path,
                   help="grade each subfolder of DIR as one submission, all in one pool; prints a "
                        "progress line per submission on stderr")
    p.add_argument("--hidden", metavar="DIR", type=Path, help="add the instructor's hidden checks in DIR/*.py")
    p.add_argument("--only", metavar="CHECK", action="append", default=None,
                   help="run only this check (repeat for more; 'participation' is one too)")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="text for people (default), json, gradescope (results.json), or csv (a "
                        "gradebook: one row per submission)")
    p.add_argument("--output", metavar="FILE", type=Path,
                   help="write the report to FILE instead of stdout (e.g. results.json)")
    p.add_argument("--output-dir", metavar="D", type=Path,
                   help="with --many: write D/<submission>.json (results) and D/<submission>.txt "
                        "(feedback) for each submission, and D/gradebook.csv")
    p.add_argument("--participation-points", metavar="N", type=float, default=0.0,
                   help="points for answering the notebooks' questions before seeing the answers "
                        "(default 0: reported, not scored)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="checks run at once (default: the CPUs this process may use)")
    add_json_flag(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from labkit.errors import LabkitError
    try:
        return _run(args)
    except LabkitError as exc:
        if args.format == "gradescope" and args.output is not None:
            # Gradescope reads whatever file is there: leave one that says what went wrong.
            from labkit.classroom.gradescope import failure
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps(failure(f"Your submission could not be graded: {exc}"), indent=1) + "\n")
        raise


def _run(args) -> int:
    from labkit.classroom.participation import add_participation, course_questions
    from labkit.errors import LabkitError
    from labkit.grading.grader import grade, grade_many
    from labkit.grading.model import ManyReport, one_line

    if args.jobs is not None and args.jobs < 1:
        raise LabkitError(f"--jobs must be at least 1, not {args.jobs}")
    if args.participation_points < 0:
        raise LabkitError(f"--participation-points must be 0 or more, not {args.participation_points:g}")
    if args.many is not None and args.submission != "exercises":
        raise LabkitError("give either SUBMISSION_DIR or --many DIR, not both")
    if args.output_dir is not None and args.many is None:
        raise LabkitError("--output-dir writes one file per submission: use it with --many DIR")
    with_participation = not args.only or "participation" in args.only
    only = [n for n in args.only or [] if n != "participation"] or None
    if args.only and only is None:
        only = []  # only participation
    questions = course_questions() if with_participation else None

    def finish(report):
        if with_participation:
            add_participation(report, Path(report.submission), questions, args.participation_points)
        return report

    if args.many is not None:
        def progress(report, done, total):
            finish(report)
            # (the name is the submission's owner's choice: shown on one line, escapes shown)
            print(f"[{done}/{total}] {one_line(Path(report.submission).name)}: "
                  f"{report.score:g}/{report.max_score:g}", file=sys.stderr, flush=True)
        many = grade_many(args.many, args.hidden, args.jobs, only, on_submission=progress)
        for r in many.reports.values():
            if with_participation and not any(c.name == "participation" for c in r.results):
                finish(r)
        if args.output_dir is not None:
            _write_dir(many, args.output_dir)
        report = many
    else:
        # a simulator check's search shows how far it is, on a terminal only (logs stay clean)
        report = finish(grade(args.submission, args.hidden, args.jobs, only,
                              progress=True if sys.stderr.isatty() else None))
    fmt = "json" if args.json and args.output is None else args.format
    if fmt == "csv":
        text = (report if isinstance(report, ManyReport) else
                ManyReport(report.submission, {Path(report.submission).name: report})).to_csv().rstrip("\n")
    elif fmt == "json":
        text = json.dumps(report.to_json(), sort_keys=True)
    elif fmt == "gradescope":
        text = json.dumps(report.to_gradescope(), indent=1)
    else:
        text = str(report)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
        print(json.dumps(report.to_json(), sort_keys=True) if args.json else report)
    else:
        print(text)
    return 0


def _write_dir(many, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, r in many.reports.items():
        (out / f"{name}.json").write_text(json.dumps(r.to_json(), sort_keys=True, indent=1) + "\n")
        (out / f"{name}.txt").write_text(str(r) + "\n")
    (out / "gradebook.csv").write_text(many.to_csv())
