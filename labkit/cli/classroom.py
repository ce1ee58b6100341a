"""`labkit autograder build`, `labkit release` and `labkit course`: running a class (labkit.classroom)."""

import argparse
from pathlib import Path

from labkit.cli import add_json_flag, emit


def register(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser("autograder", help="the Gradescope autograder (instructors)",
                              description="Make the zip to upload as a Gradescope autograder.")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="write the autograder zip",
                       description="Write a Gradescope autograder zip: setup.sh and run_autograder at "
                       "its root, the labkit wheel, and your hidden checks; never solutions/.")
    b.add_argument("-o", "--output", type=Path, default=Path("autograder.zip"), metavar="FILE.zip",
                   help="where to write the zip (default: autograder.zip)")
    b.add_argument("--hidden", type=Path, metavar="DIR", help="your hidden checks, DIR/*.py")
    b.add_argument("--visibility", action="append", metavar="CHECK=VALUE",
                   help="Gradescope visibility of one check: visible, after_due_date, "
                        "after_published or hidden (repeat for more; default visible)")
    b.add_argument("--hidden-visibility", default="after_published", metavar="VALUE",
                   help="visibility of the hidden checks' verdicts (default after_published); "
                        "their details are shown to instructors only")
    b.add_argument("--participation-points", type=float, default=0.0, metavar="N",
                   help="points for the notebooks' questions answered before the reveal (default 0)")
    _repo_arg(b)
    add_json_flag(b)
    b.set_defaults(run=_build)

    p = subparsers.add_parser("release", help="write the student copy of the course (instructors)",
                              description="Write the student copy: notebooks, exercises, a README "
                              "for students, labkit's source and binder/; no solutions/, no hidden "
                              "checks. Every file is then checked for anything of solutions/.")
    p.add_argument("out", type=Path, metavar="OUT", help="a new (or empty) folder")
    p.add_argument("--hidden", type=Path, metavar="DIR",
                   help="your hidden checks: also check that none of their text is in the release")
    _repo_arg(p)
    add_json_flag(p)
    p.set_defaults(run=_release)

    p = subparsers.add_parser("course", help="copy the course into a folder of your own",
                              description="Copy the notebooks and exercises into DIR (on a JupyterHub: "
                              "into your home). Files already there are kept, never overwritten.")
    p.add_argument("dir", type=Path, metavar="DIR", help="where to put the course, e.g. ~/kstat-lab")
    p.add_argument("--from", dest="source", type=Path, metavar="FOLDER",
                   help="the course to copy (default: $LABKIT_COURSE, else this labkit's repository)")
    add_json_flag(p)
    p.set_defaults(run=_course)


def _repo_arg(p) -> None:
    p.add_argument("--repo", type=Path, metavar="DIR", help="the course repository (default: this labkit's)")


def _build(args) -> int:
    from labkit.classroom.autograder import build, parse_visibility
    emit(build(args.output, args.hidden, parse_visibility(args.visibility), args.hidden_visibility,
               args.participation_points, args.repo), args.json)
    return 0


def _release(args) -> int:
    from labkit.classroom.release import make_release
    emit(make_release(args.out, args.repo, args.hidden), args.json)
    return 0


def _course(args) -> int:
    from labkit.classroom.course import copy_course
    emit(copy_course(args.dir, args.source), args.json)
    return 0
