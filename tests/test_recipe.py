"""The replay recipe (issue 12): a program gives the parameters that reproduce a run, one builder
spells them, and the command line reads its own spelling back to the same run."""

import re
import shlex
from pathlib import Path

import pytest

from labkit.cli import build_parser
from labkit.kernel import Scenario
from labkit.sched import Recipe, recipe_text, replay
from labkit.sched.benchprograms import readers_writer

LABKIT = Path(__file__).resolve().parent.parent / "labkit"
WRONG_FIX = LABKIT / "kernel" / "wrong_fixes" / "room_for_one.py"


@pytest.mark.parametrize("program, text", [
    (Scenario(3, "none"), "labkit replay --fix none --kstats 3 'W12 R25 W1 R'"),
    (Scenario(4, "count", writers=2), "labkit replay --fix count --kstats 4 --writers 2 'W12 R25 W1 R'"),
    (readers_writer(2), "replay readers_writer(2) 'W12 R25 W1 R'"),
])
def test_each_program_spells_its_recipe_as_before(program, text):
    assert recipe_text(program.recipe("W12 R25 W1 R")) == text


@pytest.mark.parametrize("scenario", [Scenario(3, "none"), Scenario(5, "count", writers=2),
                                      Scenario(3, str(WRONG_FIX))])
def test_the_command_line_reads_the_recipe_back_to_the_same_run(scenario):
    schedule = "W12 R25 W1 R"
    argv = shlex.split(recipe_text(scenario.recipe(schedule)))
    assert argv[:2] == ["labkit", "replay"]
    args = build_parser().parse_args(argv[1:])
    assert (args.fix, args.kstats, args.writers, args.schedule) == (
        scenario.variant.source or scenario.fix, scenario.kstats, scenario.writers, schedule)
    again = replay(Scenario(args.kstats, args.fix, writers=args.writers), args.schedule)
    first = replay(scenario, schedule)
    assert (again.kind, again.schedule, again.steps) == (first.kind, first.schedule, first.steps)


def test_an_outcome_spells_its_recipe_with_the_one_builder():
    out = replay(Scenario(3, "none"), "W12 R25 W1 R")
    assert out.recipe == Recipe(out.schedule, (("fix", "none"), ("kstats", 3)))
    assert out.replay_command == recipe_text(out.recipe)
    assert out.to_json()["replay_command"] == out.replay_command


def test_only_the_builder_knows_the_replay_syntax():
    """No module but sched/recipe.py writes a `labkit replay` command line of its own."""
    builds = re.compile(r"""f["']labkit replay|["']labkit replay ["']?\s*\+""")
    places = sorted(p.relative_to(LABKIT).as_posix() for p in LABKIT.rglob("*.py") if builds.search(p.read_text()))
    assert places == ["sched/recipe.py"]
