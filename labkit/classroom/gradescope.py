"""What the autograder zip's run_autograder runs: `python -m labkit.classroom.gradescope --root R`.

Design note: Gradescope puts the learner's upload in R/submission (R is /autograder there) and
reads R/results/results.json. An upload may be the exercise files themselves or any folder
holding them (exercises/, or a zip's top folder); the shallowest folder with exercise files is
graded. Its top-level regular files are copied into a fresh folder by the grader's one bounded
copy (labkit.grading.submission_copy: no symlinks, which could point at the autograder's own
files; at most 64 files and 8 MiB; a check that needs a file left out says why), and, when this
runs as root, the checks run as the unprivileged user setup.sh made (LABKIT_GRADE_USER).
Whatever goes wrong, a results file is written: an error becomes one failed test whose output
says what happened.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from labkit import config
from labkit.errors import LabkitError

CONFIG = "autograder.json"
GRADE_USER = "labkit-student"


def exercise_files() -> set[str]:
    from labkit.grading.exercises import CHECKS
    return {f for c in CHECKS for f in c.files}


def find_submission(upload: Path) -> Path:
    """The shallowest folder under `upload` (itself included) holding exercise files."""
    names = exercise_files()
    if not upload.is_dir():
        raise LabkitError(f"there is no submission folder ({upload})")
    level = [upload]
    for _ in range(4):
        hits = [d for d in level if any((d / n).is_file() and not (d / n).is_symlink() for n in names)]
        if hits:
            named = [d for d in hits if d.name == "exercises"]
            return (named or hits)[0]
        level = sorted(c for d in level for c in d.iterdir()
                       if c.is_dir() and not c.is_symlink() and not c.name.startswith(("__MACOSX", ".")))
    raise LabkitError("no exercise files were found in your upload: upload the files of your "
                      "exercises/ folder (" + ", ".join(sorted(names)[:4]) + ", ...) or the folder itself")


def copy_upload(found: Path, dest: Path) -> dict[str, str]:
    """Copy the upload's folder `found` into a fresh `dest` by the grader's one bounded copy
    (labkit.grading.submission_copy: top-level regular files, never through a link, at most 64
    files and 8 MiB, the exercise files and the answers file first); what it left out and why."""
    from labkit.grading.submission_copy import copy_submission
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    return copy_submission(found, dest, (*sorted(exercise_files()), config.ANSWERS_NAME))


def _give_to(user: str, folder: Path) -> None:
    import pwd
    entry = pwd.getpwnam(user)
    for p in [folder, *folder.rglob("*")]:
        os.chown(p, entry.pw_uid, entry.pw_gid)


def grade_upload(root: Path) -> dict:
    """Grade R/submission with the autograder's configuration; the results.json object."""
    from labkit.classroom.participation import add_participation
    from labkit.grading.grader import grade

    source = root / "source"
    cfg = json.loads((source / CONFIG).read_text())
    found = find_submission(root / "submission")
    work = root / "work" / "submission"
    left_out = copy_upload(found, work)
    if os.geteuid() == 0:
        user = config.grade_user() or cfg.get("grade_user", GRADE_USER)
        os.environ["LABKIT_GRADE_USER"] = user       # for the grader's run_job (config.grade_user)
        _give_to(user, work.parent)
    hidden = source / "hidden"
    report = grade(work, hidden if hidden.is_dir() else None, left_out=left_out)
    add_participation(report, work, cfg.get("questions"), cfg.get("participation_points", 0), always=True)
    result = report.to_gradescope(cfg.get("visibility"), cfg.get("hidden_visibility", "after_published"),
                                  extra_data={"versions": _installed_versions(), "built_with": cfg.get("versions", {}),
                                              "graded_folder": str(found.relative_to(root / "submission"))},
                                  instructor_details=True)
    return result


def _installed_versions() -> dict[str, str]:
    """What this grading ran with: Python, labkit and what grading imports."""
    import importlib.metadata as metadata
    import platform
    from labkit.classroom.autograder import GRADING_REQUIREMENTS
    out = {"python": platform.python_version()}
    for name in ("labkit", *GRADING_REQUIREMENTS):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def failure(message: str) -> dict:
    return {"score": 0, "stdout_visibility": "hidden", "output": message,
            "tests": [{"name": "autograder", "number": "0", "status": "failed", "score": 0,
                       "max_score": 0, "visibility": "visible", "output": message}]}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m labkit.classroom.gradescope",
                                 description="Grade a Gradescope submission; always write results.json.")
    ap.add_argument("--root", type=Path, default=Path("/autograder"),
                    help="the autograder's root folder (default /autograder)")
    args = ap.parse_args(argv)
    start = time.monotonic()
    out = args.root / "results" / "results.json"
    try:
        result = grade_upload(args.root)
    except LabkitError as exc:
        result = failure(f"Your submission could not be graded: {exc}")
    except Exception as exc:  # never leave Gradescope without a results file
        traceback.print_exc()  # into R/results/stdout: the instructor's debugging view
        result = failure(f"The autograder failed ({type(exc).__name__}: {exc}); this is not your "
                         "fault. Tell your instructor.")
    result.setdefault("execution_time", round(time.monotonic() - start, 3))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, out)
    print(f"labkit autograder: {result.get('score', 0)} points; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
