"""Tests of labkit.widgets, driven through each widget's Python API (what its buttons call).

Schedules are not hard-coded: the golden one comes from DPOR on the small scenario, and the
stepping tests move a thread until its *next access* is the one the lesson is about, so a change
in how many scheduling points the kernel code has does not break them.
"""

import json
import os
import threading
import time

import matplotlib
import pytest

from labkit import config
from labkit.errors import LabkitError
from labkit.kernel import Scenario
from labkit.sched import explore
from labkit.widgets import (ExplorerWidget, NativeRaceWidget, Question, SchedulerWidget, answer_store,
                            plot_lanes)
from stepping import step_until, view

matplotlib.use("Agg")


@pytest.fixture
def answers_file(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "answers.json"
    monkeypatch.setattr(config, "ANSWERS_FILE", str(path))
    return path


@pytest.fixture(scope="module")
def golden():
    return explore(Scenario.small(), "dpor").shortest_failing.schedule


# ---- Question ---------------------------------------------------------------------------

def test_question_records_before_reveal_and_reveal_needs_an_answer(answers_file):
    q = Question("t-int", "How many headers did the count pass find?", 5698, kind="int",
                 explanation="0xfff70 / 0xb8 = 0x1642")
    text = repr(q)
    assert "How many headers" in text and "answer hidden until you answer" in text
    assert "5698" not in text
    assert q._reveal_btn.disabled
    with pytest.raises(LabkitError, match="answer first"):
        q.reveal()
    rec = q.answer_with("0x1642")
    assert rec["correct"] and rec["answer"] == 5698 and rec["attempt"] == 1
    on_disk = json.loads(answers_file.read_text())
    assert on_disk["version"] == 1 and on_disk["answers"][0]["qid"] == "t-int"
    assert on_disk["answers"][0]["revealed_before"] is False
    assert not q._reveal_btn.disabled
    assert "5698" in repr(q) and "0xfff70" not in repr(q)    # own answer shown, explanation hidden
    out = q.reveal()
    assert "0x1642" in out and "right" in out and "0xfff70" in repr(q)


def test_bad_int_answer_is_refused_in_the_widget_and_nothing_is_lost(answers_file):
    q = Question("t-bad", "A number?", 184, kind="int")
    q.answer_with("0xb8")
    q._input.value = "zz"
    q._answer_btn.click()                       # what the browser does
    assert "'zz' is not a whole number" in q._status.value
    assert q._input.value == "zz"               # what the learner typed stays
    with pytest.raises(LabkitError, match="not a whole number"):
        q.answer_with("zz")
    recs = answer_store.load()
    assert [r["answer"] for r in recs] == [184] and q.given == 184


def test_answers_accumulate_across_questions_and_attempts(answers_file):
    c = Question("t-choice", "Which flag?", "0x20", choices=["0x01", "0x10", "0x20"])
    assert "( ) 0x10" in repr(c)
    assert c.answer_with("0x10")["correct"] is False
    c.reveal()
    again = c.answer_with("0x20")
    assert again["attempt"] == 2 and again["revealed_before"] is True
    t = Question("t-text", "Which lock?", ["kstat_chain_lock", "the chain lock"], kind="text")
    assert t.answer_with("  The   Chain lock ")["correct"]
    with pytest.raises(LabkitError, match="not one of the choices"):
        c.answer_with("0x40")
    assert [r["qid"] for r in answer_store.load()] == ["t-choice", "t-choice", "t-text"]


def test_unreadable_answers_file_is_set_aside_not_overwritten(answers_file):
    answers_file.parent.mkdir(parents=True)
    answers_file.write_text("{ half a file")
    Question("t-x", "?", 1, kind="int").answer_with(1)
    aside = [p for p in answers_file.parent.iterdir() if ".unreadable-" in p.name]
    assert len(aside) == 1 and aside[0].read_text() == "{ half a file"
    assert len(answer_store.load()) == 1


def test_concurrent_answers_are_all_kept(answers_file):
    qs = [Question(f"t-{i}", "?", i, kind="int") for i in range(8)]
    threads = [threading.Thread(target=q.answer_with, args=(q._answer,)) for q in qs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["qid"] for r in answer_store.load()) == sorted(q.qid for q in qs)


def test_a_prediction_settled_by_the_measurement_records_right_answers_as_right(answers_file):
    # notebook 5's 05-time: answered before the measurement, settled by it; progress reads the file
    from labkit.widgets import ask
    from labkit.widgets.progress import progress
    q = ask("05-time")
    first = q.answer_with("under 10 ms")
    assert first["correct"] is False and q._answer is None      # not known yet
    with pytest.raises(LabkitError, match="run the measurement"):
        q.reveal()
    q.answer_with("between 10 ms and 0.5 s")
    assert q.settle(0.2, "median") == "median: between 10 ms and 0.5 s"
    assert [r["correct"] for r in answer_store.load()] == [False, True]
    assert [r["correct"] for r in q.records] == [False, True] and q.correct is True
    assert "right" in q.reveal()
    assert q.settle(0.004, "median again") == "median again: under 10 ms"     # a re-run re-settles
    assert [r["correct"] for r in answer_store.load()] == [True, False]
    assert progress().questions["05-time"].first_right


@pytest.mark.parametrize("median, choice", [(0.0, "under 10 ms"), (0.0099, "under 10 ms"),
                                            (0.01, "between 10 ms and 0.5 s"),
                                            (0.4999, "between 10 ms and 0.5 s"),
                                            (0.5, "no overflow within 0.5 s in most runs"),
                                            (float("inf"), "no overflow within 0.5 s in most runs")])
def test_every_measured_median_falls_in_one_choice(answers_file, median, choice):
    from labkit.widgets import ask
    q = ask("05-time")
    assert q.settle(median, "m") == f"m: {choice}"      # an infinite median (no overflow) too
    assert q.answer_with(choice)["correct"] is True


def test_question_definitions_are_checked():
    with pytest.raises(LabkitError, match="not one of its choices"):
        Question("q", "?", "c", choices=["a", "b"])
    with pytest.raises(LabkitError, match="unknown question kind"):
        Question("q", "?", 1, kind="float")


def test_question_shows_live_and_text_forms():
    data, _ = Question("q-show", "Shown?", 1, kind="int")._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"].startswith("Question q-show: Shown?")


# ---- SchedulerWidget -------------------------------------------------------------------

def test_step_to_the_race_warning_then_the_panic_then_undo_and_reset():
    sw = SchedulerWidget()
    assert "runnable: R, W" in repr(sw)
    # W creates its kstat (INVALID, in the tree) and stops just before clearing the flag
    step_until(sw, "W", lambda v: v.next_access.startswith("write ks_flags"))
    # R counts (the new kstat is INVALID, so not counted) and starts the copy
    step_until(sw, "R", lambda v: v.function == "header_kstat_snapshot")
    assert not sw.races and not sw._race.value
    sw.step("W")                                   # the unlocked write
    assert sw.races and "ks_flags" in str(sw.races[0])
    assert "race detector" in sw._race.value
    sw.run("R")
    assert sw.outcome.kind == "panic" and sw.outcome.panic.header_index == sw.outcome.panic.counted
    assert "BAD TRAP" in sw._panic.value and "panic" in repr(sw)
    panicked = sw.schedule
    assert sw._schedule.value == panicked and panicked in sw.replay_command
    sw.step("R")                                   # refused, explained, nothing changed
    assert "has ended" in sw.message and sw.schedule == panicked
    sw.undo()
    assert sw.outcome is None and sw.stepper.steps == sum(
        int(p[1:] or 1) for p in panicked.split()) - 1
    sw.reset()
    assert sw.schedule == "" and not sw.races and not sw._panic.value


def test_scheduler_buttons_and_follow(golden):
    sw = SchedulerWidget()
    info, (step1, stepn, run) = sw._lanes["W"]
    step1.click()
    assert sw.schedule == "W1"
    sw._n.value = 3
    stepn.click()
    assert sw.schedule == "W4"
    sw.reset().follow(golden)
    assert sw.outcome.kind == "panic" and sw.schedule == golden
    assert all(b.disabled for _, bs in sw._lanes.values() for b in bs)


def test_scheduler_refusals_are_messages():
    sw = SchedulerWidget()
    sw.step("Q")
    assert "there is no thread 'Q'" in sw.message and "refused" in repr(sw)
    sw.follow("X5")
    assert "names thread 'X'" in sw.message
    sw.undo()
    assert "nothing to undo" in sw.message


def test_fix_a_cannot_follow_the_panicking_schedule(golden):
    sw = SchedulerWidget(fix="lock").follow(golden)
    assert sw.outcome is None and "cannot run now" in sw.message


def test_lane_plot_of_the_panic(golden):
    fig = plot_lanes(Scenario.small(), golden)
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert "panic" in labels and any(lab.startswith("data race") for lab in labels)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["R", "W"]


# ---- ExplorerWidget --------------------------------------------------------------------

def test_explorer_finds_the_panic_exhaustively_and_sampling_is_seeded():
    ex = ExplorerWidget(batch=40)
    assert "nothing run yet" in repr(ex) and "seed 0" in repr(ex)
    d = ex.run("dpor")
    assert d.exhaustive and d.panics > 0
    r1 = ex.run("random", executions=120)
    assert r1.executions == 120 and ex.curves["random"][-1][0] == 120 and len(ex.curves["random"]) == 3
    r2 = ExplorerWidget(batch=40).run("random", executions=120)
    assert r1.outcomes == r2.outcomes                           # same seed, same answer
    assert ex.shortest_failing.preemptions <= d.shortest_failing.preemptions
    assert "dpor" in repr(ex) and "every schedule covered" in repr(ex)
    assert len(ex.plot().axes) == 2


@pytest.mark.parametrize("strategy, seed, executions", [("random", 3, 150), ("pct", 0, 80),
                                                        ("dpor", 0, None)])
def test_explorer_run_is_the_command_line_run(strategy, seed, executions, capsys):
    """The seed and count the widget shows reproduce `labkit explore` exactly."""
    from labkit.cli import main
    args = ["explore", "--strategy", strategy, "--seed", str(seed), "--json"]
    if executions is not None:
        args += ["--executions", str(executions)]
    assert main(args) == 0
    cli = json.loads(capsys.readouterr().out)
    widget = ExplorerWidget(seed=seed, executions=executions).run(strategy).to_json()
    cli.pop("seconds"), widget.pop("seconds")
    assert widget == cli
    assert widget["executions"] == (executions or widget["executions"]) and widget["seed"] == seed


@pytest.mark.parametrize("typed", ["5698", "05698", "0x1642", " 5_698 ", "5,698"])
def test_a_question_reads_a_number_as_the_grader_does(typed, answers_file):
    """One normaliser of answers: what the widget accepts, the grader accepts, and alike."""
    from labkit.answer_values import normalise
    q = Question("t-same", "How many?", 5698, kind="int")
    assert q.answer_with(typed)["correct"] and normalise("int", typed) == 5698


def test_explorer_fix_a_has_no_failure():
    r = ExplorerWidget(fix="lock").run("dpor")
    assert r.exhaustive and r.shortest_failing is None and set(r.outcomes) == {"ok"}


def test_explorer_stop_between_batches():
    ex = ExplorerWidget(batch=10)
    ex.start("random", executions=100_000)
    time.sleep(0.3)
    ex.stop()
    ex.wait(30)
    r = ex.results["random"]
    assert ex.stopped and 0 < r.executions < 100_000 and "stopped after" in repr(ex)


def test_explorer_bad_input_is_a_message():
    ex = ExplorerWidget()
    assert ex.run("dfs-please") is None
    assert "unknown strategy 'dfs-please'" in ex.message and "refused" in repr(ex)
    assert ex.run("random", executions=0) is None and "executions must be" in ex.message
    assert "labkit-error" in ex._message.value and not ex.results
    with pytest.raises(LabkitError, match="seed must be"):
        ExplorerWidget(seed=-1)


# ---- NativeRaceWidget ------------------------------------------------------------------

def test_native_run_and_stop_in_the_background():
    nw = NativeRaceWidget(seconds=5.0)
    assert "nothing run yet" in repr(nw) and "seed=0" in repr(nw)
    started = time.monotonic()
    nw.start("run")
    time.sleep(0.3)
    assert nw.run() is None and "still running" in nw.message
    nw.stop()
    nw.wait(10)
    res = nw.last["run"]
    assert time.monotonic() - started < 3, "Stop did not end the run"
    assert 0 < res.seconds < 3 and res.rounds > 0 and nw.busy is None
    assert nw._bar.value > 0 and "rounds" in nw._status.value
    assert "last run: RaceResult(fix='none', seed=0" in repr(nw)


def test_native_forced_overflows_every_round_and_fix_a_never():
    assert NativeRaceWidget().forced(rounds=10).overflows == 10
    assert NativeRaceWidget("lock").forced(rounds=10).overflows == 0


def test_native_repeat_stops_each_run_at_its_first_overflow():
    nw = NativeRaceWidget()
    runs = nw.repeat(3, seconds=5.0)
    assert [r.seed for r in runs] == [0, 1, 2]
    hit = [r for r in runs if r.overflows]
    assert hit, runs                  # at ~20+ overflows/s, three misses in 5 s each: < 1e-100
    # Each was stopped by its first overflow, not by its 5 s window: the stop is asked for from the
    # progress feed (every few tens of ms), so a few more rounds may overflow before it lands, and
    # under load it lands later; a bound of 4 s holds whatever the load (the first overflow comes
    # within ~0.1 s here; a tight bound on seconds, or "one overflow", failed on loaded machines).
    assert all(r.seconds < 4.0 and r.first_overflow_round <= r.rounds for r in hit), runs
    assert len(nw.plot().axes) == 2 and "overflowed" in repr(nw)


def test_native_crash_happens_in_a_child():
    nw = NativeRaceWidget()
    res = nw.crash()
    assert res.crashed and res.fault_addr == res.guard and res.header_index == res.counted
    assert "fault address" in repr(nw) and "fault address" in nw._result.value


def test_native_bad_input():
    with pytest.raises(LabkitError, match="unknown fix"):
        NativeRaceWidget("both")
    nw = NativeRaceWidget()
    assert nw.repeat(0) is None and "repeats must be" in nw.message
    assert nw.run(seconds=0.1, window_ns=-1) is None and "window_ns" in nw.message
    assert nw.busy is None and "problem: window_ns" in repr(nw)
    nw.start("run", window_ns=-5)
    nw.wait(10)
    assert "window_ns" in nw.message and "labkit-error" in nw._message.value


def test_native_learners_unfinished_c_is_a_message_not_a_crash():
    stub = os.path.join(os.path.dirname(__file__), "..", "exercises", "fix_a.c")
    nw = NativeRaceWidget(source=stub)
    assert nw.forced() is None and "not implemented yet" in nw.message


def test_plot_buttons_fill_the_output_or_explain():
    sw = SchedulerWidget().step("W", 3)
    sw._show_plot()
    assert sw._plot_out.outputs and not sw.message
    nw = NativeRaceWidget()
    nw._show_plot()                                  # nothing repeated yet: a message, no figure
    assert "nothing to plot yet" in nw.message and not nw._plot_out.outputs


def test_an_unexpected_error_in_a_click_is_shown_in_the_widget(monkeypatch):
    # A click handler's traceback would go to a log the learner never sees: it must be the message.
    from labkit.widgets.scheduler import SchedulerWidget

    sw = SchedulerWidget()

    def broken(*a, **k):
        raise RuntimeError("boom")
    monkeypatch.setattr(sw.stepper, "step", broken)
    sw.step("W")
    assert "unexpected error" in sw.message and "RuntimeError: boom" in sw.message
    assert "unexpected error" in repr(sw)


def test_explorer_gives_a_share_only_for_sampled_runs():
    ex = ExplorerWidget(seed=0)
    ex.run("random", executions=50)
    ex.run("dpor")
    random_line, dpor_line = repr(ex).splitlines()[1:3]
    assert "% of sampled runs" in random_line
    assert "%" not in dpor_line and "not a rate" in dpor_line
    row = ex._results.value.split("<tr><td>dpor")[1]
    assert "%" not in row.split("</tr>")[0]
