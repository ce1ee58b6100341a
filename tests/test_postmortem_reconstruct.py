"""The dump-first exercise: a dump made by a schedule chosen by a seed (never stored in the
file), the learner's (kstats, schedule) replayed and its dump compared with the target's part by
part, partial credit for what matches, and the instructor's seed changing the target."""

import json
import shutil
from pathlib import Path

import pytest

from labkit import config
from labkit.errors import LabkitError
from labkit.grading.exercises import CHECKS
from labkit.grading.runner import Job, run_job
from labkit.kernel import Scenario
from labkit.postmortem import load_dump, replay_dump
from labkit.postmortem.reconstruct import (KSTATS, compare, exercise_dump, signature, target,
                                           target_dump)

ROOT = Path(__file__).resolve().parents[1]


def points(parts):
    return sum(p.points for p in parts if p.ok)


def test_the_seed_chooses_the_target_and_the_same_seed_the_same_one():
    targets = {s: target(s) for s in range(8)}
    assert {p.kstats for p, _ in targets.values()} <= set(KSTATS)
    assert len({(p.kstats, sched) for p, sched in targets.values()}) > 4      # seeds differ
    assert target(3)[1] == targets[3][1]
    for p, sched in targets.values():
        assert replay_dump(p, sched)[0].kind == "panic"
    with pytest.raises(LabkitError, match="whole number"):
        target(-1)


def test_the_dump_file_never_holds_the_schedule(tmp_path):
    path = exercise_dump(tmp_path / "r.dump", seed=0)
    text = Path(path).read_text()
    _, schedule = target(0)
    assert json.loads(text)["schedule"] is None and schedule not in text and "W12" not in text
    d = load_dump(path)
    assert d.kind == "panic" and d.counted == target(0)[0].kstats


def test_the_comparison_gives_partial_credit_for_what_matches():
    want = signature(target_dump(0))
    program, schedule = target(0)
    assert points(compare(want, signature(replay_dump(program, schedule)[1]))) == 5
    # the right interleaving on a kernel of another size: a panic, W in the same place, but
    # other counts and another fault
    wrong_size = compare(want, signature(replay_dump(Scenario(3), "W12 R25 W1 R")[1]))
    assert points(wrong_size) == 3 and [p.ok for p in wrong_size] == [True, False, False, True]
    assert "count pass found 3 headers" in wrong_size[1].bad
    # no panic at all: the required part fails and nothing else is compared
    ok = compare(want, signature(replay_dump(program, "W12 R")[1]))
    assert points(ok) == 0 and len(ok) == 1 and ok[0].required
    # the messages never name the hidden schedule
    assert all(schedule not in p.bad + p.good for p in wrong_size + ok)


def run(submission):
    return run_job(Job(CHECKS.get("reconstruct"), Path(submission)))


@pytest.mark.parametrize("answer,score,says", [
    ("(10, 'W12 R27 W1 R')", 5, "each thread is where the dump shows it"),
    ("(3, 'W12 R25 W1 R')", 3, "the dump's header kstat says 10"),
    ("(10, 'W12 R')", 0, "ends 'ok'"),
    ("'W12 R38 W1 R'", 0, "expected (kstats, schedule)"),
    ("(10, 'W12 Q')", 0, "names thread 'Q'"),
])
def test_the_check_grades_answers(tmp_path, answer, score, says):
    (tmp_path / "reconstruct.py").write_text(f"def schedule_from_dump():\n    return {answer}\n")
    r = run(tmp_path)
    assert r.score == score and says in str(r), str(r)


def test_the_solution_scores_full_marks_and_the_instructors_seed_changes_the_target(tmp_path, monkeypatch):
    shutil.copy(ROOT / "solutions" / "reconstruct.py", tmp_path / "reconstruct.py")
    assert run(tmp_path).score == 5
    seed = next(s for s in range(1, 50) if target(s)[0].kstats != 10)
    monkeypatch.setattr(config, "SEED", seed)            # in this process
    monkeypatch.setenv("LABKIT_SEED", str(seed))         # and in the grader's worker
    r = run(tmp_path)
    assert r.score < 5, str(r)
