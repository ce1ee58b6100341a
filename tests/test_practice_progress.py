"""Practice (labkit.kernel.practice, PracticeWidget, `labkit practice`) and progress
(labkit.widgets.progress, `labkit progress`, the exercise records of labkit.grading.check)."""

import json
import subprocess
import sys

import pytest

from labkit import config
from labkit.errors import LabkitError
from labkit.kernel import Scenario
from labkit.kernel.practice import choices_for, outcome_label, practice
from labkit.sched import replay
from labkit.widgets import PracticeWidget, answer_store, progress


@pytest.fixture(autouse=True)
def answers_file(tmp_path, monkeypatch):
    path = tmp_path / "answers.json"
    monkeypatch.setattr(config, "ANSWERS_FILE", str(path))
    monkeypatch.setenv("LABKIT_ANSWERS", str(path))
    return path


def labkit_cli(*args):
    out = subprocess.run([sys.executable, "-m", "labkit", *args], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("fix", ["none", "count"])
def test_the_same_seed_gives_the_same_exercise_and_the_schedule_replays_it(fix):
    kinds = set()
    for seed in range(12):
        a, b = practice(seed, fix=fix), practice(seed, fix=fix)
        assert a.schedule == b.schedule and a.answer == b.answer
        again = replay(Scenario.small(fix), a.schedule)
        assert outcome_label(again) == a.answer and a.answer in a.choices
        assert len(a.schedule.split()) <= 8          # short enough to reason about
        kinds.add(a.answer.split(":")[0].split(",")[0])
    # every kind of outcome comes up in a dozen seeds
    assert kinds == ({"ok", "panic"} if fix == "none" else {"ok"})
    answers_seen = {practice(s, fix=fix).answer for s in range(12)}
    assert len(answers_seen) >= 3


def test_the_default_seed_is_0_and_shown():
    import labkit

    assert practice().schedule == practice(0).schedule == labkit.practice().schedule
    assert practice().prompt().startswith("seed 0,")
    with pytest.raises(LabkitError, match="whole number"):
        practice(-1)
    with pytest.raises(LabkitError, match="accepted: 'none', 'count'"):
        practice(0, fix="lock")


def test_widget_python_and_command_line_agree():
    seed = 5
    ex = practice(seed)
    pw = PracticeWidget(seed)
    assert pw.exercise is None and "press Show" in repr(pw) and ex.schedule not in repr(pw)
    pw.show()
    assert pw.exercise.schedule == ex.schedule
    out = json.loads(labkit_cli("practice", "--seed", str(seed), "--json"))
    assert out["schedule"] == ex.schedule and out["seed"] == seed and "answer" not in out
    text = labkit_cli("practice", "--seed", str(seed))
    assert ex.schedule in text and ex.answer not in text.split("\n", 1)[0]
    revealed = json.loads(labkit_cli("practice", "--seed", str(seed), "--reveal", "--json"))
    assert revealed["answer"] == ex.answer
    import shlex
    rep = json.loads(labkit_cli(*shlex.split(revealed["replay_command"])[1:], "--json"))
    assert rep["outcome"] == ex.outcome.kind


def test_practice_widget_asks_then_reveals_and_records():
    pw = PracticeWidget(0).show()
    q = pw.question
    assert "Replay it" not in repr(pw) and q.qid == "practice-none-0"
    wrong = next(c for c in choices_for() if c != pw.exercise.answer)
    q.answer_with(wrong)
    q.reveal()
    assert "Replay it" in repr(pw)
    pw.next()
    assert pw.exercise.seed == 1 and pw._seed.value == 1
    recs = answer_store.load()
    assert [r["qid"] for r in recs] == ["practice-none-0"] and not recs[0]["correct"]


def test_progress_counts_questions_levels_exercises_and_practice(answers_file):
    answer_store.record("03-flag", "0x10", False)
    answer_store.record("03-flag", "0x20", True)
    answer_store.record("04-order", "b", True)
    answer_store.record("02-spin", "x", True, revealed_before=True)     # right, but after the reveal
    answer_store.record("level-1-panic", "W12 R25 W1 R2", True)
    answer_store.record("exercise-fix_a_sim", "fail", False)
    answer_store.record("exercise-fix_a_sim", "pass", True)
    answer_store.record("practice-none-0", "ok", True)
    p = progress(exercises=["fix_a_sim", "fix_b_sim"])
    assert set(p.questions) == {"03-flag", "04-order", "02-spin"}
    assert [q for q, v in p.questions.items() if v.first_right] == ["04-order"]
    assert p.questions["03-flag"].attempts == 2 and p.questions["03-flag"].right
    assert p.levels["level-1-panic"] and sum(p.levels.values()) == 1 and len(p.levels) == 5
    assert p.exercises == {"fix_a_sim": True, "fix_b_sim": False}
    assert p.practice == (1, 1)
    out = json.loads(labkit_cli("progress", "--json"))
    assert out["questions_answered"] == 3 and out["questions_first_right"] == 1
    assert out["levels"]["level-1-panic"] and out["exercises"]["fix_a_sim"]
    assert "find_schedule" in out["exercises"]                      # listed, never checked
    assert "levels passed: 1 of 5" in labkit_cli("progress")


def test_progress_of_no_answers_file(tmp_path):
    p = progress(str(tmp_path / "none.json"))
    assert not p.questions and not any(p.levels.values()) and "questions answered: 0" in str(p)


def test_a_check_records_its_verdict_for_progress(tmp_path):
    import labkit.grading

    r = labkit.grading.check("decode_panic", submission=str(tmp_path))
    (rec,) = answer_store.load()
    assert rec["qid"] == "exercise-decode_panic" and rec["correct"] == r.passed
