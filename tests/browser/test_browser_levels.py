"""Notebook 4's levels, played in the browser by clicks as a learner plays them: step a thread
while reading its lane until it is where the plan needs it, watch the code and state views, reach
the goal, and see the pass recorded. No schedule string is typed: the tests read the page.
"""

import re

import pytest
from playwright.sync_api import expect

from test_browser_widgets import course, fill_and_commit, nb, recorded_answers, widget_cell  # noqa: F401

pytestmark = pytest.mark.browser

MAX_CLICKS = 80


def level_box(page, panel, n):
    return widget_cell(page, panel, rf"^level{n} = LevelWidget\({n}\)").locator(".labkit-level")


def lane(level, name):
    return level.locator(f".labkit-sched-lane.labkit-lane-{name}").first


def click_and_wait(level, css):
    """Click a step button and wait until the schedule box shows the step."""
    box = level.locator(".labkit-sched-schedule input")
    before = box.input_value()
    level.locator(css).click()
    expect(box).not_to_have_value(before)


def step_until(level, name, text):
    """Step thread `name` one access at a time until its lane says `text` (as a learner would)."""
    info = lane(level, name)
    for _ in range(MAX_CLICKS):
        if text in info.inner_text():
            return
        click_and_wait(level, f".labkit-sched-step.labkit-lane-{name}")
    raise AssertionError(f"{name}'s lane never said {text!r}: {info.inner_text()}")


def current_line(level, name):
    return lane(level, name).locator(".labkit-code-current")


def run(level, name):
    level.locator(f".labkit-sched-run.labkit-lane-{name}").click()


def expect_passed(level):
    expect(level.locator(".labkit-level-passed")).to_contain_text("goal reached", timeout=20_000)


def test_level_1_to_the_panic_with_a_hint_first(nb, lab):
    page, panel = nb("04-interleaving.ipynb")
    level = level_box(page, panel, 1)
    state = level.locator(".labkit-sched-state")
    hint = level.locator(".labkit-level-hint-button")
    expect(hint).to_be_disabled()
    # a try that misses: R alone, then W
    run(level, "R")
    expect(lane(level, "R")).to_contain_text("finished")
    run(level, "W")
    expect(level.locator(".labkit-sched-panic")).to_contain_text("finished normally")
    expect(level.locator(".labkit-level-status")).to_contain_text("1 try so far")
    hint.click()
    expect(level.locator(".labkit-level-hints")).to_contain_text("Hint 1")
    expect(hint).to_be_disabled()
    level.locator(".labkit-sched-reset").click()
    expect(level.locator(".labkit-sched-schedule input")).to_have_value("")
    # the plan: W makes its kstat, R counts without it, W clears the flag, R copies
    step_until(level, "W", "next: write ks_flags")
    expect(current_line(level, "W")).to_contain_text("ksp.ks_flags &= ~KSTAT_FLAG_INVALID")
    expect(state.locator(".labkit-sched-chain")).to_contain_text("INVALID")
    step_until(level, "R", "in header_kstat_snapshot")
    expect(state.locator(".labkit-sched-lock")).to_contain_text("owner R, waiters bit 0")
    expect(state.locator(".labkit-sched-reader")).to_contain_text("counted 3 headers")
    expect(state.locator(".labkit-sched-reader")).to_contain_text("buffer 0x229 bytes")
    click_and_wait(level, ".labkit-sched-step.labkit-lane-W")
    expect(state.locator(".labkit-sched-chain")).not_to_contain_text("INVALID")
    expect(current_line(level, "W")).to_contain_text("mutex_enter(kstat_chain_lock)")
    expect(lane(level, "W")).to_contain_text("spinning")
    expect(lane(level, "W")).not_to_contain_text("resolve(")      # the kernel's line, not the model's
    run(level, "R")
    expect(level.locator(".labkit-sched-panic")).to_contain_text("BAD TRAP")
    expect_passed(level)
    assert any(r["qid"] == "level-1-panic" and r["correct"] for r in recorded_answers(lab))


def test_level_2_the_short_copy(nb, lab):
    page, panel = nb("04-interleaving.ipynb")
    level = level_box(page, panel, 2)
    step_until(level, "W", "next: write ks_flags")
    run(level, "R")
    expect(lane(level, "R")).to_contain_text("finished")
    run(level, "W")
    expect(level.locator(".labkit-sched-panic")).to_contain_text("zero_filled=1")
    expect_passed(level)
    assert any(r["qid"] == "level-2-short-copy" for r in recorded_answers(lab))


def test_level_3_the_hang_then_what_illumos_does(nb, lab):
    page, panel = nb("04-interleaving.ipynb")
    level = level_box(page, panel, 3)
    question = level.locator(".labkit-level-question")
    expect(question).not_to_contain_text("recursive")              # asked only after the goal
    run(level, "W")                                                # W alone: the lock is free
    expect(lane(level, "W")).to_contain_text("finished")
    run(level, "R")
    expect(level.locator(".labkit-sched-panic")).to_contain_text("finished normally")
    expect(level.locator(".labkit-level-status")).to_contain_text("1 try so far")
    level.locator(".labkit-sched-reset").click()
    expect(level.locator(".labkit-sched-schedule input")).to_have_value("")
    step_until(level, "W", "next: tryacquire kstat_chain_lock")
    expect(current_line(level, "W")).to_contain_text("if mutex_tryenter(kstat_chain_lock):")
    step_until(level, "R", "in header_kstat_update")
    expect(level.locator(".labkit-sched-lock")).to_contain_text("owner R")
    click_and_wait(level, ".labkit-sched-step.labkit-lane-W")     # busy: the other path
    expect(current_line(level, "W")).to_contain_text("mutex_enter(kstat_chain_lock)")
    expect(lane(level, "W")).to_contain_text("spinning")
    run(level, "R")
    expect(lane(level, "R")).to_contain_text("finished")
    run(level, "W")
    expect(lane(level, "W")).to_contain_text("in kstat_rele")
    expect(level.locator(".labkit-sched-panic")).to_contain_text("DEADLOCK")
    expect_passed(level)
    q = question.locator(".labkit-question")
    q.locator(".labkit-question-input label", has_text=re.compile("recursive mutex_enter")).click()
    q.locator(".labkit-question-answer").click()
    q.locator(".labkit-question-reveal").click()
    expect(q.locator(".labkit-question-revealed")).to_contain_text("mutex_panic")
    expect(q.locator(".labkit-question-revealed")).to_contain_text("model's choice")
    assert any(r["qid"] == "04-recursive-mutex" and r["correct"] for r in recorded_answers(lab))


def test_level_4_two_writers_between_the_passes(nb):
    page, panel = nb("04-interleaving.ipynb")
    level = level_box(page, panel, 4)
    step_until(level, "W", "next: write ks_flags")
    step_until(level, "X", "next: write ks_flags")
    step_until(level, "R", "in header_kstat_snapshot")
    expect(level.locator(".labkit-sched-reader")).to_contain_text("room for 4 headers")
    click_and_wait(level, ".labkit-sched-step.labkit-lane-W")
    click_and_wait(level, ".labkit-sched-step.labkit-lane-X")
    run(level, "R")
    expect(level.locator(".labkit-sched-panic")).to_contain_text("BAD TRAP")
    expect_passed(level)


def test_level_5_try_then_prove(nb, lab):
    page, panel = nb("04-interleaving.ipynb")
    level = level_box(page, panel, 5)
    step_until(level, "W", "next: write ks_flags")
    # under fix A, W holds the chain lock while it clears the flag: R cannot get in
    expect(level.locator(".labkit-sched-lock")).to_contain_text("owner W")
    expect(level.locator(".labkit-sched-step.labkit-lane-R")).to_be_disabled()
    # the keys box steps too: "w" is one step of W
    box = level.locator(".labkit-sched-schedule input")
    before = box.input_value()
    level.locator(".labkit-sched-keys input").press_sequentially("w")
    expect(box).not_to_have_value(before)
    run(level, "W")
    run(level, "R")
    expect(level.locator(".labkit-sched-panic")).to_contain_text("finished normally")
    expect(level.locator(".labkit-level-passed")).to_have_count(0)
    level.locator(".labkit-level-prove").click()
    expect(level.locator(".labkit-level-proof")).to_contain_text("every schedule checked", timeout=30_000)
    expect_passed(level)
    assert any(r["qid"] == "level-5-fix-a" for r in recorded_answers(lab))


def test_practice_predict_then_reveal(nb, lab):
    page, panel = nb("04-interleaving.ipynb")
    pw = widget_cell(page, panel, r"^practice = PracticeWidget\(seed=0\)").locator(".labkit-practice")
    expect(pw.locator(".labkit-question")).to_have_count(0)      # nothing until Show
    pw.locator(".labkit-practice-show").click()
    q = pw.locator(".labkit-question")
    expect(q).to_contain_text("seed 0,")
    expect(pw).not_to_contain_text("Replay it")
    q.locator(".labkit-question-input label", has_text=re.compile(r"^ok: the reader gets 3 headers$")).click()
    q.locator(".labkit-question-answer").click()
    q.locator(".labkit-question-reveal").click()
    expect(q.locator(".labkit-question-revealed")).to_contain_text("labkit replay --fix none")
    pw.locator(".labkit-practice-next").click()
    expect(pw.locator(".labkit-question")).to_contain_text("seed 1,")
    assert any(r["qid"] == "practice-none-0" for r in recorded_answers(lab))
