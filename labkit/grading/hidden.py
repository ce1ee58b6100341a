"""Hidden checks: an instructor's own checks, graded like the others but never shown in detail.

Format. `labkit grade --hidden DIR` loads every `*.py` file in DIR (sorted by name; files starting
with `_` are skipped). In a file, each check is a function marked with `@hidden(points=...)`:

    from labkit.grading.hidden import hidden

    @hidden(points=2)
    def fix_a_sim_keeps_kids(sub):
        '''Fix A keeps every kid'''           # first docstring line: the title (else from the name)
        ns = sub.module("fix_a_sim.py")       # the learner's files, through labkit.grading.base.Submission
        assert ..., "why it failed"          # any AssertionError: the check fails

A function of one argument `sub` passes if it returns without raising (and does not return False).
A function of two, `(sub, ctx)`, scores itself with `ctx.part(ok, points, good=..., bad=...)` for
partial credit, like the built-in checks in labkit/grading/. Keyword options of `@hidden`: `title`,
`timeout` (seconds), `bonus`, `native` (set it when the check builds C or runs ThreadSanitizer).

Whatever a hidden check prints, asserts or raises stays in the grader: the learner sees its name,
title, points and verdict only (CheckResult.public()). Names must not clash with built-in checks.
"""

from __future__ import annotations

import inspect
import os
import types
from collections.abc import Callable
from pathlib import Path

from labkit.errors import LabkitError
from labkit.grading.base import CheckSet


def hidden(points: float, *, title: str | None = None, timeout: float = 120.0, bonus: bool = False,
           native: bool = False) -> Callable[[Callable], Callable]:
    def mark(fn):
        fn._labkit_hidden = dict(points=points, title=title, timeout=timeout, bonus=bonus, native=native)
        return fn
    return mark


def _runner(fn, points):
    two = len(inspect.signature(fn).parameters) >= 2

    def run(sub, ctx):
        try:
            if two:
                fn(sub, ctx)
                return
            ok = fn(sub) is not False
        except AssertionError as exc:
            ctx.part(False, points, bad=f"assertion failed: {exc}")
            return
        ctx.part(ok, points, good="passed", bad="returned False")
    return run


def load_hidden(path: str | os.PathLike) -> CheckSet:
    """The checks defined in one hidden-check file."""
    path = Path(path).resolve()
    return load_hidden_source(path.read_text(), path.name)


def load_hidden_source(source: str, name: str) -> CheckSet:
    """The checks of a hidden-check file given as text: the worker gets the text on its stdin,
    never the path (learner code must not learn where the hidden checks are)."""
    mod = types.ModuleType(f"_labkit_hidden_{Path(name).stem}")
    try:
        exec(compile(source, name, "exec"), vars(mod))
    except Exception as exc:
        raise LabkitError(f"hidden checks {name}: cannot load: {type(exc).__name__}: {exc}") from None
    checks = CheckSet(hidden=True)
    for name, fn in vars(mod).items():
        opts = getattr(fn, "_labkit_hidden", None)
        if opts is None or not callable(fn):
            continue
        checks.check(opts["points"], name=name, title=opts["title"] or _title(fn, name),
                     timeout=opts["timeout"], bonus=opts["bonus"], native=opts["native"])(
            _runner(fn, opts["points"]))
    return checks


def _title(fn, name):
    doc = (fn.__doc__ or "").strip().splitlines()
    return doc[0].rstrip(".") if doc else name.replace("_", " ").capitalize()


def hidden_files(folder: str | os.PathLike) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise LabkitError(f"--hidden {folder}: no such folder")
    files = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
    if not files:
        raise LabkitError(f"--hidden {folder}: no *.py files with hidden checks in it")
    return files
