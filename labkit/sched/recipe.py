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
    A program the command line cannot build (a benchmark program) says `call` instead: the Python
    expression that builds it, shown with the schedule (`replay readers_writer(2) '...'`).
    """

    schedule: str
    options: tuple[tuple[str, object], ...] = ()
    call: str | None = None


def recipe_text(recipe: Recipe) -> str:
    """The recipe as a reader types it: a `labkit replay` command line, or the program's call."""
    if recipe.call is None:
        options = "".join(f" --{name} {value}" for name, value in recipe.options)
        return f"labkit replay{options} '{recipe.schedule}'"
    return f"replay {recipe.call} '{recipe.schedule}'"
