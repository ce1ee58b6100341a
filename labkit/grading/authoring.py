"""Authoring: `solutions/` is the single source; `exercises/` is generated from it (nbgrader style).

Markers (each on a line of its own):
  Python:  `### BEGIN SOLUTION` ... `### END SOLUTION`
  C:       `/* BEGIN SOLUTION */` ... `/* END SOLUTION */`
Everything between a pair, markers included, is replaced in the exercise by a stub at the BEGIN
marker's indentation: in Python `raise NotImplementedError("<file>: <function>() is not implemented
yet")`, in C a call to `lk_assert_failed("<function>: not implemented yet", ...)`, which the native
engine reports and aborts on. The function's signature and docstring (or comment) stay, because they
sit outside the markers. Other files are copied as they are; `__pycache__` and dotfiles are skipped.

Design note: generation is a pure function from the solutions tree to {relative path: text}, so
`--check` is the same code as writing, compared instead of written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from labkit import config
from labkit.errors import LabkitError

_MARKERS = {
    ".py": (re.compile(r"^(\s*)### BEGIN SOLUTION\s*$"), re.compile(r"^\s*### END SOLUTION\s*$")),
    ".c": (re.compile(r"^(\s*)/\* BEGIN SOLUTION \*/\s*$"), re.compile(r"^\s*/\* END SOLUTION \*/\s*$")),
}
_PY_DEF = re.compile(r"^(\s*)def (\w+)\(")
_C_DEF = re.compile(r"^(\w+)\s*\(")  # illumos style: the function's name starts its own line


def _stub(suffix: str, indent: str, filename: str, func: str, returns: bool) -> str:
    if suffix == ".py":
        return f'{indent}raise NotImplementedError("{filename}: {func}() is not implemented yet")'
    # lk_assert_failed records the error and returns; the engine then stops the run and reports it.
    return (f'{indent}/* Your code here. Until then this stops the run with a clear message. */\n'
            f'{indent}lk_assert_failed("{func}: not implemented yet", __FILE__, __LINE__);'
            + (f'\n{indent}return (0);' if returns else ''))


def strip_solutions(text: str, filename: str) -> str:
    """The exercise version of one solution file's text."""
    suffix = Path(filename).suffix
    if suffix not in _MARKERS:
        return text
    begin, end = _MARKERS[suffix]
    out: list[str] = []
    func, returns, previous = "?", False, ""
    inside = None  # line number of the open BEGIN marker
    for n, line in enumerate(text.splitlines(), 1):
        if inside is None:
            m = (_PY_DEF if suffix == ".py" else _C_DEF).match(line)
            if m and m.lastindex is not None:    # the name is the pattern's last group
                func = m.group(m.lastindex)
                returns = previous.strip() not in ("void", "static void")  # C: the type's own line
            previous = line
            b = begin.match(line)
            if b:
                inside = n
                out.append(_stub(suffix, b.group(1), filename, func, returns))
            elif end.match(line):
                raise LabkitError(f"{filename} line {n}: END SOLUTION without a BEGIN SOLUTION")
            else:
                out.append(line)
        else:
            if begin.match(line):
                raise LabkitError(f"{filename} line {n}: BEGIN SOLUTION inside the one opened on line {inside}")
            if end.match(line):
                inside = None
    if inside is not None:
        raise LabkitError(f"{filename} line {inside}: BEGIN SOLUTION is never closed")
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def generate(solutions: Path) -> dict[str, str]:
    """{relative path: exercise text} for every file under solutions/."""
    solutions = Path(solutions)
    if not solutions.is_dir():
        raise LabkitError(f"no solutions folder at {solutions}")
    files = {}
    for path in sorted(solutions.rglob("*")):
        rel = path.relative_to(solutions)
        if path.is_dir() or any(p.startswith(".") or p == "__pycache__" for p in rel.parts):
            continue
        files[rel.as_posix()] = strip_solutions(path.read_text(), rel.as_posix())
    return files


@dataclass
class AuthorResult:
    exercises: str
    written: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # differ from what solutions/ would generate
    missing: list[str] = field(default_factory=list)  # would be generated, not there
    extra: list[str] = field(default_factory=list)  # there, not generated from solutions/
    check: bool = False

    @property
    def ok(self) -> bool:
        return not (self.stale or self.missing or self.extra) if self.check else True

    def to_json(self) -> dict:
        return {"exercises": self.exercises, "check": self.check, "ok": self.ok,
                "written": self.written, "stale": self.stale, "missing": self.missing,
                "extra": self.extra}

    def __str__(self) -> str:
        if not self.check:
            return f"wrote {len(self.written)} files to {self.exercises}: " + ", ".join(self.written)
        if self.ok:
            return f"{self.exercises} is up to date with solutions/"
        out = [f"{self.exercises} is out of date; run `labkit author` to regenerate it:"]
        out += [f"  stale:   {f}" for f in self.stale]
        out += [f"  missing: {f}" for f in self.missing]
        out += [f"  extra:   {f} (not generated from solutions/)" for f in self.extra]
        return "\n".join(out)


def author(solutions: Path, exercises: Path, check: bool = False) -> AuthorResult:
    wanted = generate(solutions)
    exercises = Path(exercises)
    result = AuthorResult(str(exercises), check=check)
    present = {p.relative_to(exercises).as_posix() for p in exercises.rglob("*")
               if p.is_file() and not p.name.startswith(config.ANSWERS_NAME)  # the learner's answers
               and not any(x.startswith(".") or x == "__pycache__"
                                          for x in p.relative_to(exercises).parts)} if exercises.is_dir() else set()
    for rel, text in wanted.items():
        target = exercises / rel
        if rel not in present:
            result.missing.append(rel)
        elif target.read_text() != text:
            result.stale.append(rel)
        else:
            continue
        if not check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            result.written.append(rel)
    result.extra = sorted(present - set(wanted))
    return result
