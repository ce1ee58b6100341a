"""Checks, the set they belong to, and the submission they look at.

Design note: a check is a function `fn(sub, ctx)` with declared points; it records parts with
`ctx.part(ok, points, good=..., bad=...)` and the score is the sum of the parts that passed, unless a
part marked `required` failed, which zeroes the check (a fix that still panics earns nothing for being
tidy). Titles are derived from the function's docstring's first line (gradelib derives them from the
name). Checks live in a `CheckSet` object, never a module-level list, so the built-in set and an
instructor's hidden set are separate values.

Checks run inside a worker process (see runner.py). A learner's Python is loaded only through
labkit.learner_code (an allow-list on its syntax tree: no imports but the kernel API, no "_"
names, no attribute stores but ks_* fields); see threat_model.py for what that guarantees.
"""

from __future__ import annotations

import os
import time
import traceback
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from labkit import learner_code
from labkit.kernel import fields
from labkit.errors import LabkitError
from labkit.grading.model import CheckResult

NOT_IMPLEMENTED = "not implemented yet"


class Missing(Exception):
    """The submission lacks what a check needs (no file, or a stub still raising)."""


class LearnerError(Exception):
    """The learner's code raised; the message is already written for the learner."""


@dataclass
class Check:
    name: str
    fn: Callable
    points: float
    title: str
    files: tuple[str, ...] = ()
    timeout: float = 120.0
    bonus: bool = False
    hidden: bool = False
    native: bool = False  # runs ThreadSanitizer or a guard page: needs a large address space
    cost: float = 0.2  # about an idle core's seconds (a light check's); the runner starts costly checks first
    # judge(data, ctx), run by the grader on what the worker observed (plain JSON data). A check
    # without one (an instructor's hidden check) scores itself in the worker with ctx.part(); the
    # grader then re-adds and clamps the parts it reports.
    judge: Callable | None = None
    # A check that observes independent things (the simulator's scales and writer counts) can be
    # split: parts() gives [(part, cost)], the part a JSON value. fn(sub, part) observes one part,
    # fn(sub, None) the whole check; when the runner splits it (runner.units_of), each part runs as
    # a worker of its own, in parallel, and the grader passes merge(list of the parts'
    # observations, in parts() order), the same data as the whole check's, to judge.
    parts: Callable[[], list[tuple[object, float]]] | None = None
    merge: Callable[[list], object] | None = None


class CheckSet:
    """An ordered set of checks (the built-in exercises, or one instructor's hidden file)."""

    def __init__(self, hidden: bool = False):
        self.hidden = hidden
        self._checks: dict[str, Check] = {}

    def check(self, points: float, *, name: str | None = None, title: str | None = None,
              files: tuple[str, ...] = (), timeout: float = 120.0, bonus: bool = False,
              native: bool = False, cost: float = 0.2, judge: Callable | None = None,
              parts: Callable | None = None,
              merge: Callable | None = None) -> Callable[[Callable], Callable]:
        def register(fn):
            cname = name or fn.__name__
            doc = (fn.__doc__ or "").strip().splitlines()
            ctitle = title or (doc[0].rstrip(".") if doc else cname.replace("_", " ").capitalize())
            if cname in self._checks:
                raise LabkitError(f"two checks are named {cname!r}")
            self._checks[cname] = Check(cname, fn, points, ctitle, tuple(files), timeout, bonus,
                                        self.hidden, native, cost, judge, parts, merge)
            return fn
        return register

    def __iter__(self):
        return iter(self._checks.values())

    def __len__(self):
        return len(self._checks)

    def names(self) -> list[str]:
        return list(self._checks)

    def get(self, name: str) -> Check:
        try:
            return self._checks[name]
        except KeyError:
            from labkit.errors import choice_error
            raise choice_error("check", name, self.names()) from None


class Ctx:
    """What a check records its findings into; becomes a CheckResult."""

    def __init__(self, check: Check):
        self.check = check
        self.result = CheckResult(check.name, check.title, check.points, hidden=check.hidden,
                                  bonus=check.bonus)
        self._earned = 0.0
        self._required_failed = False
        self.parts: list[list] = []  # [ok, points, required]: what a hidden check reports

    def part(self, ok: bool, points: float = 0, *, good: str = "", bad: str = "",
             required: bool = False) -> bool:
        ok = ok is True or (type(ok) is bool and ok)
        self.parts.append([ok, float(points), bool(required)])
        if ok:
            self._earned += points
            if good:
                self.result.good(good)
        else:
            self._required_failed |= required
            if bad:
                self.result.bad(bad)
        return ok

    def good(self, text: str) -> None:
        self.result.good(text)

    def bad(self, text: str) -> None:
        self.result.bad(text)

    def note(self, text: str) -> None:
        self.result.note(text)

    def finish(self) -> CheckResult:
        r = self.result
        r.score = 0.0 if self._required_failed else max(0.0, min(self._earned, r.points))
        r.status = "pass" if r.score >= r.points else ("partial" if r.score > 0 else "fail")
        return r


#: What a learner's Python may import: the kernel's API, as `from labkit.kernel.api import *`.
ALLOWED_IMPORTS = ("labkit.kernel.api",)
#: Why anything else of labkit is refused (the package's own fixes are not the learner's work).
REFUSED_IMPORTS = {"labkit": "a submission must be your own code: labkit's built-in fixes, "
                             "checks and solutions earn nothing, and only the kernel API may be imported"}


class Submission:
    """A folder laid out like exercises/."""

    def __init__(self, path, shown_as=None, skipped: dict | None = None):
        self.path = Path(path).resolve()
        self.skipped = dict(skipped or {})   # name -> why the grader did not copy it (its words)
        # The grader copies a submission into the check's own folder; messages and replay
        # commands name the learner's folder instead.
        self.shown_as = Path(shown_as) if shown_as else self.path
        self._modules: dict[str, types.ModuleType] = {}

    def file(self, name: str) -> Path:
        p = self.path / name
        if name in self.skipped:
            raise Missing(f"{name} {self.skipped[name]}")
        if not p.is_file():
            rest = self.skipped.get("")     # submission_copy.SKIPPED_REST: why files past its bounds were left out
            raise Missing(f"{name}: file not found in {self.shown_as}" + (f" (or it {rest})" if rest else ""))
        return p

    def shown(self, name: str) -> str:
        """The learner's own path of file `name`, for messages and commands."""
        return str(self.shown_as / name)

    def module(self, name: str) -> types.ModuleType:
        """The learner's Python file `name` (e.g. "decode_panic.py"), loaded by the one loader of
        learner files under its allow-list (labkit.learner_code): only the kernel API may be
        imported, never labkit's own fixes or the grader."""
        if name in self._modules:
            return self._modules[name]
        try:
            mod = learner_code.load(self.file(name), allowed_modules=ALLOWED_IMPORTS,
                                    refused_modules=REFUSED_IMPORTS, prefix="submission",
                                    field_access=fields)
        except learner_code.LearnerCodeError as exc:
            raise LearnerError(str(exc)) from None
        self._modules[name] = mod
        return mod

    def call(self, name: str, func: str, *args: Any) -> Any:
        """Call the learner's `func` from file `name`; stubs become Missing, errors LearnerError."""
        mod = self.module(name)
        fn = learner_code.functions(mod, [func]).get(func)
        if fn is None:
            raise Missing(f"{name}: no function {func}()")
        try:
            return fn(*args)
        except NotImplementedError:
            raise Missing(f"{name}: {func}() is {NOT_IMPLEMENTED}") from None
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise LearnerError(learner_code.describe(exc, self.file(name), f"{func}() raised")) from None


def describe_exception(exc: BaseException, learner_file: Path | None = None) -> str:
    """`TypeError: ... (fix_a_sim.py line 12)`: the exception and the learner's deepest line in it."""
    where = ""
    if learner_file is not None:
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if Path(f.filename).resolve() == Path(learner_file).resolve()]
        if frames:
            where = f" ({Path(learner_file).name} line {frames[-1].lineno}: {(frames[-1].line or '').strip()})"
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0] if msg else ''}{where}"


# ---- progress: how far a running check is, for whoever watches it ------------------------------
# The worker sends these lines on their own pipe (runner.py shows them in the notebook or on the
# command line). They are display only: the grader never reads a verdict from them, so a line a
# learner's code forged could only show a wrong count while the check runs.
PROGRESS_EVERY_S = 0.2     # at most five lines a second (the small scale runs thousands of executions)


class _ProgressPipe:
    fd: int | None = None      # where progress() writes (None: nowhere)
    last = 0.0                 # when it last wrote


def set_progress_fd(fd: int | None) -> None:
    """Where progress() writes (the worker sets it from $LABKIT_PROGRESS_FD; None: nowhere)."""
    _ProgressPipe.fd, _ProgressPipe.last = fd, 0.0


def progress(text: str, final: bool = False) -> None:
    """Say how far the check is, one line; dropped when lines come faster than PROGRESS_EVERY_S
    unless `final` (the last line of a stage). Called once per execution of a search: it does
    nothing more than a test when no one watches."""
    fd = _ProgressPipe.fd
    if fd is None:
        return
    now = time.monotonic()
    if not final and now - _ProgressPipe.last < PROGRESS_EVERY_S:
        return
    _ProgressPipe.last = now
    try:
        os.write(fd, (" ".join(text.split())[:200] + "\n").encode())
    except OSError:
        set_progress_fd(None)   # nobody is watching any more: the check goes on regardless
