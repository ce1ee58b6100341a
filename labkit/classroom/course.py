"""The course's files, and a learner's own copy of them (`labkit course DIR`).

Design note: on a JupyterHub labkit is installed once into the shared environment; each learner
needs only the notebooks and the exercises in their home, opened by the hub's own JupyterLab. The
copy never overwrites a file that is already there (a learner's work is never lost): running it
again only adds what is missing, so an instructor can put it in a hub's start-up hook.

Where the course comes from: $LABKIT_COURSE (a release made by `labkit release`, or a checkout),
else the repository this labkit was installed from (an editable install), else an error that says
how to point at one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from labkit import config
from labkit.errors import LabkitError

#: What a learner's copy holds: the notebooks, the exercises, and the student README.
COURSE_PARTS = ("notebooks", "exercises")
#: Never copied anywhere a learner reads: what the instructor keeps.
PRIVATE_PARTS = ("solutions",)
#: Files a course run leaves behind that are the learner's, not the course's.
LEARNER_FILES = ("answers.json",)
#: Never copied from a checkout: build products, caches, dotfiles.
BUILD_JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.o", "_race.c", "*.egg-info",
                                    ".ipynb_checkpoints", ".*")
_SKIP = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc", ".*", *LEARNER_FILES,
                               "answers.json.*")


def is_course(folder: Path) -> bool:
    return all((folder / part).is_dir() for part in COURSE_PARTS)


def repository_root() -> Path | None:
    """The checkout this labkit was installed from (editable install), if it is one."""
    root = Path(__file__).resolve().parents[2]
    return root if is_course(root) else None


def course_source(source: str | os.PathLike | None = None) -> Path:
    """The folder to copy the course from (see the module's note)."""
    given = source or config.course_dir()
    if given:
        folder = Path(given).expanduser().resolve()
        if not is_course(folder):
            raise LabkitError(f"{given} is not a course folder: it needs notebooks/ and exercises/ "
                              "(make one with `labkit release OUT`)")
        return folder
    root = repository_root()
    if root is None:
        raise LabkitError("cannot find the course to copy: set LABKIT_COURSE to a folder made by "
                          "`labkit release OUT` (or pass --from FOLDER)")
    return root


@dataclass
class CourseCopy:
    source: str
    dest: str
    copied: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # already there: the learner's, left alone

    def to_json(self) -> dict:
        return {"source": self.source, "dest": self.dest, "copied": self.copied, "kept": self.kept}

    def __str__(self) -> str:
        out = [f"labkit course: {len(self.copied)} files copied into {self.dest} (from {self.source})"]
        if self.kept:
            out.append(f"  {len(self.kept)} files were already there and were left as they are")
        out.append(f"  open {Path(self.dest) / 'notebooks' / '00-welcome.ipynb'} in JupyterLab to start")
        return "\n".join(out)


def copy_course(dest: str | os.PathLike, source: str | os.PathLike | None = None) -> CourseCopy:
    """Copy the notebooks, the exercises and the README into `dest`, keeping what is there."""
    src = course_source(source)
    dest = Path(dest).expanduser().resolve()
    if dest.exists() and not dest.is_dir():
        raise LabkitError(f"{dest} exists and is not a folder")
    if dest == src or src in dest.parents:
        raise LabkitError(f"{dest} is inside the course it would copy ({src}); choose another folder")
    result = CourseCopy(str(src), str(dest))
    for rel in course_files(src):
        target = dest / rel
        if target.exists():
            result.kept.append(rel)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(_origin(src, rel), target)
        result.copied.append(rel)
    return result


def _origin(src: Path, rel: str) -> Path:
    # A checkout's README is the developers'; learners get the students' README a release has.
    if rel == "README.md" and (src / "solutions").is_dir():
        return Path(__file__).with_name("templates") / "README-students.md"
    return src / rel


def course_files(src: Path) -> list[str]:
    """The course files under `src` (relative paths): COURSE_PARTS and a README."""
    files = []
    for part in COURSE_PARTS:
        for p in sorted((src / part).rglob("*")):
            rel = p.relative_to(src)
            if p.is_file() and not _SKIP(str(p.parent), [p.name]) and not any(
                    _SKIP(str(src), [x]) for x in rel.parts[:-1]):
                files.append(rel.as_posix())
    files.append("README.md")
    return files


_QUESTION = re.compile(r"""\b(?:Question|ask)\(\s*(?:qid\s*=\s*)?["']([^"']+)["']""")


def question_ids(notebooks: str | os.PathLike) -> list[str]:
    """The ids of the Question widgets asked in the notebooks, in course order."""
    ids: list[str] = []
    for nb in sorted(Path(notebooks).glob("*.ipynb")):
        try:
            cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError) as exc:
            raise LabkitError(f"cannot read the notebook {nb}: {exc}") from None
        for cell in cells:
            if cell.get("cell_type") == "code":
                src = cell.get("source", "")
                for qid in _QUESTION.findall("".join(src) if isinstance(src, list) else src):
                    if qid not in ids:
                        ids.append(qid)
    return ids
