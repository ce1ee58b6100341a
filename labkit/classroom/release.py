"""`labkit release OUT`: the student copy of the course, and the check that it gives nothing away.

Design note: the release is what learners (and a hub, and Binder) get: the notebooks, exercises/
(regenerated from solutions/ and checked up to date first), a README for students, labkit's source
(so `pip install .` and Binder's postBuild work from the release alone), binder/ and the licenses.
It leaves out solutions/, the tests (they hold hidden-check examples and solution-based fixtures),
the benchmarks and the instructors' guide. `find_leaks` then reads every file of the release for
anything of solutions/: a path, or a line that only the solutions have (the lines a generated
exercise replaced with a stub), and for the text of any hidden-check file it is given.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from labkit.classroom.course import BUILD_JUNK, repository_root
from labkit.errors import LabkitError

TEMPLATES = Path(__file__).with_name("templates")
#: Copied from the repository as they are (folders and files), when present.
RELEASED = ("notebooks", "binder", "labkit", "pyproject.toml", "setup.py", "LICENSE", "LICENSE-COURSE")
MIN_LEAK = 20  # a solution's comment line at least this long is its own
WINDOW = 3  # consecutive solution-only lines that are a solution


@dataclass
class Release:
    out: str
    files: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"out": self.out, "files": self.files, "leaks": self.leaks}

    def __str__(self) -> str:
        out = [f"labkit release: wrote the student copy to {self.out} ({len(self.files)} files)",
               "  no solutions/, no hidden checks; checked: nothing of solutions/ is in it",
               "  publish it as its own git repository (for nbgitpuller or Binder), or point",
               "  LABKIT_COURSE at it so `labkit course DIR` copies it into each learner's home"]
        return "\n".join(out)


def make_release(out: str | os.PathLike, repo: str | os.PathLike | None = None, hidden: str | os.PathLike | None = None) -> Release:
    from labkit.grading.authoring import author

    repo = Path(repo).resolve() if repo else repository_root()
    if repo is None or not (repo / "solutions").is_dir():
        raise LabkitError("labkit release needs the course's repository with solutions/ (pass --repo DIR)")
    out = Path(out).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise LabkitError(f"{out} already exists and is not empty; give a new folder")
    if out == repo or repo in out.parents:
        raise LabkitError(f"{out} is inside the repository; give a folder outside it")
    stale = author(repo / "solutions", repo / "exercises", check=True)
    if not stale.ok:
        raise LabkitError(f"exercises/ is not up to date with solutions/; run `labkit author` first\n{stale}")
    out.mkdir(parents=True, exist_ok=True)
    for name in RELEASED:
        src = repo / name
        if src.is_dir():
            shutil.copytree(src, out / name, ignore=BUILD_JUNK)
        elif src.is_file():
            shutil.copy2(src, out / name)
    from labkit.grading.authoring import generate
    for rel, text in generate(repo / "solutions").items():  # exactly the generated exercises
        target = out / "exercises" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    shutil.copy2(TEMPLATES / "README-students.md", out / "README.md")
    result = Release(str(out), sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()))
    hidden_files = sorted(Path(hidden).glob("*.py")) if hidden else []
    result.leaks = find_leaks(out, repo / "solutions", repo / "exercises", hidden_files)
    if result.leaks:
        raise LabkitError("the release would give away solutions or hidden checks:\n  " + "\n  ".join(result.leaks[:20]))
    return result


def _code_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def solution_windows(solutions: Path, exercises: Path) -> dict[tuple[str, ...], str]:
    """Runs of WINDOW lines that only solutions/ has (what a stub replaced) -> the file they are from.

    One line alone ("mutex_enter(&kstat_chain_lock);") is everywhere in the kernel code; a run of
    consecutive lines of a solution, or a long comment line of one, is the solution itself.
    """
    kept = {ln for ex in exercises.rglob("*") if ex.is_file()
            for ln in _code_lines(ex.read_text(errors="replace"))}
    found: dict[tuple[str, ...], str] = {}
    for sol in sorted(p for p in solutions.rglob("*") if p.is_file()):
        rel = sol.relative_to(solutions).as_posix()
        lines = _code_lines(sol.read_text(errors="replace"))
        for i, ln in enumerate(lines):
            if ln in kept:
                continue
            if ln.startswith(("#", "/*", "*", "//")) and len(ln) >= MIN_LEAK:
                found.setdefault((ln,), rel)  # the solution's explanation
            run = tuple(lines[i:i + WINDOW])
            if len(run) == WINDOW and not any(x in kept for x in run):
                found.setdefault(run, rel)
    return found


def _text_of(p: Path) -> str:
    """A file's text; for a notebook, the text of its cells and outputs (JSON escapes undone)."""
    raw = p.read_bytes().decode("utf-8", errors="replace")
    if p.suffix == ".ipynb":
        try:
            data = json.loads(raw)
        except ValueError:
            return raw
        parts: list[str] = []

        def walk(x):
            if isinstance(x, str):
                parts.append(x)
            elif isinstance(x, list):
                if all(isinstance(y, str) for y in x):
                    parts.append("".join(x))
                else:
                    for y in x:
                        walk(y)
            elif isinstance(x, dict):
                for y in x.values():
                    walk(y)
        walk(data)
        return "\n".join(parts)
    return raw


def find_leaks(out: Path, solutions: Path, exercises: Path, hidden_files: Iterable[Path] = ()) -> list[str]:
    """Everything in `out` that comes from solutions/ or from a hidden-check file."""
    leaks = [f"{p.relative_to(out)}: a solutions path" for p in out.rglob("*")
             if "solutions" in p.relative_to(out).parts]
    secret = solution_windows(solutions, exercises)
    for h in hidden_files:  # any line of a hidden check's own code
        for ln in _code_lines(h.read_text(errors="replace")):
            if len(ln) >= MIN_LEAK and not ln.startswith(("from ", "import ", "@hidden")):
                secret.setdefault((ln,), f"hidden checks {h.name}")
    sizes = sorted({len(k) for k in secret})
    for p in sorted(out.rglob("*")):
        if not p.is_file():
            continue
        lines = _code_lines(_text_of(p))
        rel = p.relative_to(out).as_posix()
        hits = set()
        for n in sizes:
            for i in range(len(lines) - n + 1):
                where = secret.get(tuple(lines[i:i + n]))
                if where is not None:
                    hits.add(f"{rel}: {where} ({lines[i][:60]} ...)")
        leaks += sorted(hits)
    return leaks
