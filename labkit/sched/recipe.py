"""The replay recipe: the parameters that reproduce one run, and the one builder of its text.

A program says how to reproduce a schedule it ran with a Recipe (program.recipe(schedule)); every
place that shows it (an Outcome and an ExploreResult, the widgets, the grader's messages, the
command line) spells it with recipe_text(). The builder lives here, not in labkit.cli, because the
layers that show a recipe (sched's own summaries, widgets, grading) may not import the command
line; so a Recipe carries the command line's pieces (the option names of `labkit replay`) and the
builder only puts them together.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """What reproduces one run of a program.

    `options`: the program's parameters as `labkit replay`'s options, in order, e.g.
    (("fix", "none"), ("kstats", 3)) for `labkit replay --fix none --kstats 3 '...'`.
    A program the command line cannot build says `call` instead: the Python expression that builds
    it, e.g. "TwoWriters(3, 'none')", with the `module` its class is imported from (a
    `python -c` line); without a module the recipe is only the call and the schedule (a benchmark
    program's `replay ReadersWriter(2) '...'`).
    """

    schedule: str
    options: tuple[tuple[str, object], ...] = ()
    call: str | None = None
    module: str | None = None


def recipe_text(recipe: Recipe) -> str:
    """The recipe as a reader types it: a `labkit replay` command line, or a Python one."""
    if recipe.call is None:
        options = "".join(f" --{name} {value}" for name, value in recipe.options)
        return f"labkit replay{options} '{recipe.schedule}'"
    if recipe.module is None:
        return f"replay {recipe.call} '{recipe.schedule}'"
    cls = recipe.call.split("(", 1)[0]
    return (f"python -c \"from {recipe.module} import {cls}; from labkit.sched import replay; "
            f"print(replay({recipe.call}, {recipe.schedule!r}))\"")
