"""The levels of notebook 4 (labkit.widgets.levels): each goal is reached by a right schedule and
not by a wrong one; hints open one per failed try; a pass is recorded like an answer.

Schedules are not constants: threads are stepped until their next access is the one the level is
about, so a change in how many scheduling points the kernel has does not break these tests.
"""

import pytest

from labkit import config
from labkit.kernel import Scenario
from labkit.sched import explore, replay
from labkit.widgets import LEVELS, LevelWidget, answer_store, progress
from labkit.widgets.levels import find_level
from stepping import step_until, view


@pytest.fixture(autouse=True)
def answers_file(tmp_path, monkeypatch):
    path = tmp_path / "answers.json"
    monkeypatch.setattr(config, "ANSWERS_FILE", str(path))
    return path


def before_clear(sw, name):
    step_until(sw, name, lambda v: v.next_access.startswith("write ks_flags"))


def copying(sw):
    step_until(sw, "R", lambda v: v.function == "header_kstat_snapshot")


def finish(sw):
    while sw.outcome is None:
        sw.run(sw.stepper.runnable[0])


def test_levels_are_numbered_and_findable():
    assert [lv.number for lv in LEVELS] == [1, 2, 3, 4, 5]
    assert find_level("short-copy").number == 2 and find_level("level-3-stuck").number == 3
    with pytest.raises(Exception, match="unknown level"):
        find_level(9)


def test_level_1_panic_needs_the_clear_between_the_passes(answers_file):
    lv = LevelWidget(1)
    sw = lv.scheduler
    sw.run("R")
    finish(sw)                                  # R alone first: no panic
    assert sw.outcome.kind == "ok" and not lv.passed and lv.tries == 1
    sw.reset()
    before_clear(sw, "W")
    copying(sw)
    sw.step("W")
    sw.run("R")
    assert lv.passed and sw.outcome.kind == "panic"
    (rec,) = answer_store.load()
    assert rec["qid"] == "level-1-panic" and rec["correct"] and rec["answer"] == sw.schedule
    assert "goal reached" in repr(lv) and "labkit-level-passed" in lv._status.value


def test_level_2_short_copy_under_fix_b():
    lv = LevelWidget(2)
    sw = lv.scheduler
    sw.run("W")
    finish(sw)                                  # W's kstat valid before R counts: a full copy
    assert sw.outcome.result.zero_filled == 0 and not lv.passed
    sw.reset()
    before_clear(sw, "W")                        # in the chain, still INVALID
    sw.run("R")
    finish(sw)
    assert lv.passed and sw.outcome.result.zero_filled == 1


def test_level_3_has_a_goal_to_find_some_schedules_end_well():
    # the trace oracle and DPOR agree (mutex_tryenter's races included): both kinds
    from labkit.sched.traces import count_traces
    program = find_level(3).make_scenario()
    traces, outcome_set = count_traces(program)
    r = explore(program, "dpor", detect_races=False)
    assert r.exhaustive and r.executions == traces and r.outcome_set == outcome_set
    assert {o[0] for o in outcome_set} == {"ok", "deadlock"}


def test_level_3_hangs_when_w_finds_the_lock_busy_and_then_asks():
    lv = LevelWidget(3)
    assert lv.question is not None and not lv._question_box.children
    assert "recursive" not in repr(lv)          # asked only once the goal is reached
    sw = lv.scheduler
    sw.run("W")
    finish(sw)                                  # W alone: the lock is free, the fast path
    assert sw.outcome.kind == "ok" and not lv.passed and lv.tries == 1
    sw.reset()
    step_until(sw, "W", lambda v: v.next_access == "tryacquire kstat_chain_lock")
    step_until(sw, "R", lambda v: v.function == "header_kstat_update")    # R holds the lock
    assert sw.kernel_state().lock_owner == "R"
    sw.step("W")                                # mutex_tryenter fails: the other path
    assert view(sw, "W").next_access == "acquire kstat_chain_lock" and not lv.passed
    finish(sw)
    assert sw.outcome.kind == "deadlock" and lv.passed
    assert lv._question_box.children == (lv.question.widget,)
    assert "recursive mutex_enter" in repr(lv)   # the question's choices, now shown
    assert lv.question.revealed is False


def test_level_3s_goal_is_not_reached_under_the_real_fix_a():
    level = find_level(3)
    r = explore(Scenario.small("lock"), "dpor")
    assert r.exhaustive and not r.deadlocks
    assert not level.reached(replay(Scenario.small("lock"), "W1 R"))


def test_level_4_needs_both_writers_between_the_passes():
    lv = LevelWidget(4)
    sw = lv.scheduler
    assert sw.program.thread_names == ("R", "W", "X")
    before_clear(sw, "W")
    before_clear(sw, "X")
    copying(sw)
    sw.step("W")                                 # one install between the passes: covered
    sw.run("R")
    finish(sw)
    assert sw.outcome.kind == "ok" and not lv.passed and lv.tries == 1
    sw.reset()
    before_clear(sw, "W")
    before_clear(sw, "X")
    copying(sw)
    sw.step("W")
    sw.step("X")                                 # two: one more than the room
    sw.run("R")
    assert sw.outcome.kind == "panic" and lv.passed


def test_level_5_is_passed_by_the_proof_after_a_try():
    lv = LevelWidget(5)
    assert lv.prove() is None and "try first" in lv.message and not lv.passed
    sw = lv.scheduler
    before_clear(sw, "W")                        # under fix A, W holds the chain lock here
    assert sw.stepper.runnable == ["W"] and sw.kernel_state().lock_owner == "W"
    finish(sw)
    assert sw.outcome.kind == "ok" and lv.tries == 1 and not lv.passed
    proof = lv.prove()
    assert proof.exhaustive and proof.shortest_failing is None and lv.passed
    assert "every schedule checked" in repr(lv)
    assert [r["qid"] for r in answer_store.load()] == ["level-5-fix-a"]


def test_hints_open_one_at_a_time_after_failed_tries():
    lv = LevelWidget(1)
    assert lv.hint() is None and "after each try" in lv.message
    assert lv._hint_button.disabled
    sw = lv.scheduler
    for tries in (1, 2):
        sw.reset().run("R")
        finish(sw)
        assert lv.tries == tries and not lv._hint_button.disabled
        assert lv.hint() == lv.level.hints[tries - 1]
        assert lv.hint() is None                 # the next one waits for the next failed try
    assert lv.level.hints[1] in repr(lv) and lv.level.hints[2] not in repr(lv)
    sw.undo()
    sw.run(sw.stepper.runnable[0])               # the same end again after an undo: a new try
    assert lv.tries == 3


def test_a_pass_shows_in_progress():
    lv = LevelWidget(2)
    before_clear(lv.scheduler, "W")
    lv.scheduler.run("R")
    finish(lv.scheduler)
    p = progress()
    assert p.levels["level-2-short-copy"] and not p.levels["level-1-panic"]
    assert "levels passed: 1 of 5" in str(p)


def test_notebook_4_is_saved_without_outputs_or_widget_state():
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).parents[1] / "notebooks" / "04-interleaving.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and not any(c["outputs"] for c in code)
    assert "widgets" not in nb["metadata"]
    for n in range(1, len(LEVELS) + 1):                 # every level is in the notebook
        assert sum(f"LevelWidget({n})" in "".join(c["source"]) for c in code) == 1


def test_level_4s_fix_survives_every_schedule_of_one_writer():
    # level 4's first hint says so: the room for one more header covers one concurrent install
    from labkit.kernel import load_variant
    from labkit.kernel.wrong_fixes import path

    r = explore(Scenario.small(load_variant(path("room_for_one"))), "dpor")
    assert r.exhaustive and r.shortest_failing is None
