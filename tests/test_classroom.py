"""Running a class: the CPU count, the student release, a learner's course copy, participation,
`labkit grade --many` (progress, per-student files, csv, --only), Gradescope's format, and the
command line's conventions (--version, help for every option, --json, files that documents cite).
The autograder zip's own scripts and the Binder steps run in tests/test_classroom_e2e.py."""

import argparse
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from labkit import config
from labkit.classroom import course, participation, release
from labkit.cli import build_parser
from labkit.cli import main as cli
from labkit.grading.grader import grade
from labkit.grading.model import GRADESCOPE_VISIBILITY

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "grading"


# -- one CPU count ------------------------------------------------------------------------------

def _cgroup(tmp_path, membership, files):
    (tmp_path / "cgroup").write_text(membership)
    for rel, text in files.items():
        p = tmp_path / "fs" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return str(tmp_path / "fs"), str(tmp_path / "cgroup")


@pytest.mark.parametrize("membership, files, want", [
    ("0::/pod\n", {"pod/cpu.max": "100000 100000\n"}, 1.0),
    ("0::/pod\n", {"pod/cpu.max": "max 100000\n"}, None),
    ("0::/\n", {"cpu.max": "50000 100000\n"}, 0.5),                       # a container's own root
    ("0::/a/b\n", {"a/cpu.max": "250000 100000\n"}, 2.5),                 # the quota of a parent
    ("4:cpu,cpuacct:/docker/x\n", {"cpu,cpuacct/docker/x/cpu.cfs_quota_us": "150000\n",
                                   "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000\n"}, 1.5),
    ("4:cpu,cpuacct:/docker/x\n", {"cpu,cpuacct/docker/x/cpu.cfs_quota_us": "-1\n",
                                   "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000\n"}, None),
    ("0::/pod\n", {"pod/cpu.max": "garbage\n"}, None),
])
def test_cgroup_quota_v1_and_v2(tmp_path, membership, files, want):
    assert config._cgroup_quota(*_cgroup(tmp_path, membership, files)) == want


def test_cpu_count_respects_affinity_quota_and_override(monkeypatch):
    monkeypatch.delenv("LABKIT_CPUS", raising=False)
    n = config.cpu_count()
    assert 1 <= n <= len(os.sched_getaffinity(0))
    monkeypatch.setattr(config, "_cgroup_quota", lambda: 0.2)
    assert config.cpu_count() == 1                       # a fifth of a CPU still gets one worker
    monkeypatch.setattr(config, "_cgroup_quota", lambda: 64.0)
    assert config.cpu_count() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("LABKIT_CPUS", "3")
    assert config.cpu_count() == 3


def test_work_is_split_by_the_one_cpu_count(monkeypatch):
    # (the DPOR search runs in one process since it became optimal: only the grader splits work)
    src = (ROOT / "labkit" / "grading" / "runner.py").read_text()
    assert "config.cpu_count()" in src and "os.cpu_count" not in src
    for path in (ROOT / "labkit").rglob("*.py"):
        if path.name != "config.py":
            assert "os.cpu_count(" not in path.read_text(), f"{path} counts CPUs by itself"


# -- the answers file lives in the course -------------------------------------------------------

def test_answers_file_is_in_the_course_folder(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "exercises").mkdir()
    monkeypatch.delenv("LABKIT_ANSWERS", raising=False)
    monkeypatch.delenv("LABKIT_EXERCISES", raising=False)
    monkeypatch.chdir(tmp_path / "notebooks")           # where a notebook's kernel starts
    assert config._answers_file() == str(tmp_path / "exercises" / "answers.json")
    monkeypatch.chdir(tmp_path.parent)
    assert config._answers_file() == os.path.expanduser("~/.labkit/answers.json")
    monkeypatch.setenv("LABKIT_ANSWERS", str(tmp_path / "x.json"))
    assert config._answers_file() == str(tmp_path / "x.json")


# -- participation --------------------------------------------------------------------------------

def _answers(folder, records):
    (folder / "answers.json").write_text(json.dumps({"version": 1, "answers": records}))


def test_participation_counts_predictions_and_scores_only_when_asked(tmp_path):
    _answers(tmp_path, [
        {"qid": "a", "answer": "1", "correct": True, "revealed_before": False},
        {"qid": "a", "answer": "2", "correct": False, "revealed_before": True},
        {"qid": "b", "answer": "1", "correct": False, "revealed_before": True},   # after the reveal
        {"qid": "level-3-keys", "answer": "done", "correct": True},
        {"qid": "exercise-fix_a_sim", "answer": "pass", "correct": True},
        {"qid": "old-question", "answer": "x", "correct": True},
        {"qid": 7}, "junk"])
    r = participation.participation(tmp_path, ["a", "b", "c", "d"])
    assert r.points == 0 and r.score == 0 and r.status == "pass"
    assert "answered 2 of 4 questions, 1 of them before seeing the answer" in str(r)
    assert "levels passed: level-3-keys" in str(r)
    assert "1 recorded ids that are not questions of this course: old-question" in str(r)
    r = participation.participation(tmp_path, ["a", "b", "c", "d"], points=4)
    assert r.score == 1 and r.status == "partial"


@pytest.mark.parametrize("content, says", [(None, "no answers.json"), ("{not json", "not valid JSON"),
                                           ('{"answers": 3}', 'no "answers" list')])
def test_participation_bad_answers_file(tmp_path, content, says):
    if content is not None:
        (tmp_path / "answers.json").write_text(content)
    r = participation.participation(tmp_path, ["a"], points=2)
    assert r.score == 0 and r.status == "missing" and says in str(r)


def test_participation_in_a_report_only_with_answers_or_points(tmp_path, capsys):
    shutil.copy(ROOT / "solutions" / "decode_panic.py", tmp_path)
    assert cli(["grade", str(tmp_path), "--only", "decode_panic", "--json"]) == 0
    assert [c["name"] for c in json.loads(capsys.readouterr().out)["checks"]] == ["decode_panic"]
    _answers(tmp_path, [{"qid": "01-fd", "answer": "13", "correct": True, "revealed_before": False}])
    assert cli(["grade", str(tmp_path), "--only", "decode_panic", "--only", "participation",
                "--participation-points", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    part = out["checks"][-1]
    assert part["name"] == "participation" and 0 < part["score"] < 3
    assert out["max_score"] == 13 + 3


# -- labkit grade --many ----------------------------------------------------------------------------

@pytest.fixture
def classroom(tmp_path):
    many = tmp_path / "submissions"
    for name, src in (("alice", "solutions"), ("bob", "exercises"), ("carol", "solutions")):
        (many / name).mkdir(parents=True)
        shutil.copy(ROOT / src / "decode_panic.py", many / name)
    return many


def test_grade_many_progress_files_and_gradebook(classroom, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli(["grade", "--many", str(classroom), "--only", "decode_panic", "--output-dir", str(out),
                "--format", "csv"]) == 0
    captured = capsys.readouterr()
    progress = captured.err.strip().splitlines()
    assert len(progress) == 3 and all(re.match(r"\[\d/3\] (alice|bob|carol): \d+/13$", ln) for ln in progress)
    assert sorted(ln.split("]")[0] for ln in progress) == ["[1/3", "[2/3", "[3/3"]
    rows = captured.out.strip().splitlines()
    assert rows == ["submission,score,max_score,decode_panic", "alice,13,13,13", "bob,0,13,0", "carol,13,13,13"]
    assert (out / "gradebook.csv").read_text().strip().splitlines() == rows
    for name, score in (("alice", 13), ("bob", 0), ("carol", 13)):
        assert json.loads((out / f"{name}.json").read_text())["score"] == score
        assert (out / f"{name}.txt").read_text().rstrip().endswith(f"Score: {score}/13")


def test_grade_only_and_output_dir_mistakes_are_clear(classroom, capsys):
    assert cli(["grade", "--many", str(classroom), "--only", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "--only nosuch: no such check" in err and "decode_panic" in err
    assert cli(["grade", str(classroom / "alice"), "--output-dir", "x"]) == 2
    assert "use it with --many" in capsys.readouterr().err


def test_a_gradescope_output_file_is_written_even_on_an_error(tmp_path, capsys):
    out = tmp_path / "results" / "results.json"
    assert cli(["grade", str(tmp_path / "nope"), "--format", "gradescope", "--output", str(out)]) == 2
    res = json.loads(out.read_text())
    assert res["score"] == 0 and res["tests"][0]["status"] == "failed"
    assert "does not exist" in res["tests"][0]["output"] and "does not exist" in capsys.readouterr().err


def test_grade_many_api_calls_back_once_per_submission(classroom):
    from labkit.grading.grader import grade_many
    seen = []
    many = grade_many(classroom, only=["decode_panic"], on_submission=lambda r, d, t: seen.append((Path(r.submission).name, d, t)))
    assert sorted(n for n, _, _ in seen) == ["alice", "bob", "carol"]
    assert [d for _, d, _ in seen] == [1, 2, 3] and {t for _, _, t in seen} == {3}
    assert {k: r.score for k, r in many.reports.items()} == {"alice": 13, "bob": 0, "carol": 13}


# -- Gradescope's format ----------------------------------------------------------------------------

def test_gradescope_visibility_number_tags_extra_data(tmp_path):
    for f in ("decode_panic.py", "why_fix_b_races.py"):
        shutil.copy(ROOT / "solutions" / f, tmp_path / f)
    report = grade(tmp_path, hidden=DATA / "hidden", only=["decode_panic", "hidden_sizeof", "hidden_partial"])
    gs = report.to_gradescope({"decode_panic": "after_due_date"}, "after_published",
                              extra_data={"versions": {"labkit": "x"}}, instructor_details=True)
    tests = {t["number"]: t for t in gs["tests"]}
    assert list(tests) == ["1", "2", "2.1", "3", "3.1"]
    assert tests["1"]["visibility"] == "after_due_date" and tests["1"]["status"] == "passed"
    assert tests["2"]["visibility"] == "after_published" and "hidden" in tests["2"]["tags"]
    assert tests["3"]["score"] == 1 and tests["3"]["max_score"] == 4 and tests["3"]["status"] == "failed"
    for n in ("2", "3"):  # the learner's entries: verdicts only; the details: instructors only
        assert "SECRET" not in tests[n]["output"]
        assert tests[f"{n}.1"]["visibility"] == "hidden" and tests[f"{n}.1"]["max_score"] == 0
    assert "SECRET-GOOD" in tests["3.1"]["output"]
    assert gs["extra_data"] == {"seed": config.SEED, "versions": {"labkit": "x"}}
    assert gs["score"] == sum(t["score"] for t in gs["tests"]) == 13 + 2 + 1
    assert all(t["visibility"] in GRADESCOPE_VISIBILITY for t in gs["tests"])
    plain = json.dumps(report.to_gradescope())      # `labkit grade --format gradescope`: no details
    assert "SECRET" not in plain


def test_bad_visibility_is_refused():
    from labkit.classroom.autograder import parse_visibility
    from labkit.errors import LabkitError
    assert parse_visibility(["fix_a_c=hidden"]) == {"fix_a_c": "hidden"}
    for bad in ("fix_a_c", "fix_a_c=secret", "=visible"):
        with pytest.raises(LabkitError):
            parse_visibility([bad])


# -- the student release ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "kstat-lab"
    result = release.make_release(out, ROOT, DATA / "hidden")
    return out, result


def test_release_has_the_course_and_nothing_of_solutions(released):
    out, result = released
    assert result.leaks == []
    files = set(result.files)
    assert {"README.md", "binder/postBuild", "binder/apt.txt", "binder/runtime.txt", "pyproject.toml",
            "notebooks/00-welcome.ipynb", "exercises/README.md", "exercises/fix_a.c"} <= files
    assert not any(f.startswith(("solutions/", "tests/", "benchmarks/")) for f in files)
    assert not any("solutions" in Path(f).parts for f in files)
    assert "INSTRUCTORS.md" not in files
    from labkit.grading.authoring import generate
    for rel, text in generate(ROOT / "solutions").items():
        assert (out / "exercises" / rel).read_text() == text
    assert (out / "README.md").read_text() != (ROOT / "README.md").read_text()   # the students' own
    assert release.find_leaks(out, ROOT / "solutions", ROOT / "exercises",
                              sorted((DATA / "hidden").glob("*.py"))) == []


def test_leak_finder_catches_solutions_and_hidden_checks(released, tmp_path):
    out, _ = released
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    assert release.find_leaks(copy, ROOT / "solutions", ROOT / "exercises") == []
    # a solution pasted into a notebook cell, a solution file renamed, a hidden check under labkit/
    nb = json.loads((copy / "notebooks" / "06-fix-a.ipynb").read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                        "source": (ROOT / "solutions" / "fix_a_sim.py").read_text().splitlines(True)})
    (copy / "notebooks" / "06-fix-a.ipynb").write_text(json.dumps(nb))
    shutil.copy(ROOT / "solutions" / "fix_b.c", copy / "exercises" / "my_notes.c")
    shutil.copy(DATA / "hidden" / "instructor.py", copy / "labkit" / "extra.py")
    (copy / "solutions").mkdir()
    leaks = "\n".join(release.find_leaks(copy, ROOT / "solutions", ROOT / "exercises",
                                         sorted((DATA / "hidden").glob("*.py"))))
    assert "notebooks/06-fix-a.ipynb: fix_a_sim.py" in leaks
    assert "exercises/my_notes.c: fix_b.c" in leaks
    assert "labkit/extra.py: hidden checks instructor.py" in leaks
    assert "solutions: a solutions path" in leaks


def test_release_refuses_a_used_folder_and_stale_exercises(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("mine")
    assert cli(["release", str(tmp_path / "out")]) == 2
    assert "not empty" in capsys.readouterr().err
    repo = tmp_path / "repo"
    for part in ("solutions", "exercises", "notebooks"):
        shutil.copytree(ROOT / part, repo / part)
    (repo / "exercises" / "fix_a_sim.py").write_text("stale\n")
    assert cli(["release", str(tmp_path / "new"), "--repo", str(repo)]) == 2
    assert "labkit author" in capsys.readouterr().err


# -- a learner's copy of the course -----------------------------------------------------------------

def test_course_copy_keeps_what_is_there(released, tmp_path, capsys):
    out, _ = released
    home = tmp_path / "home" / "kstat-lab"
    assert cli(["course", str(home), "--from", str(out), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert "notebooks/00-welcome.ipynb" in first["copied"] and first["kept"] == []
    assert not (home / "labkit").exists() and not (home / "binder").exists()
    (home / "exercises" / "fix_a_sim.py").write_text("my work\n")
    (home / "notebooks" / "01-panic-stack.ipynb").unlink()
    assert cli(["course", str(home), "--from", str(out), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["copied"] == ["notebooks/01-panic-stack.ipynb"]
    assert (home / "exercises" / "fix_a_sim.py").read_text() == "my work\n"


def test_course_copy_from_a_checkout_gives_the_students_readme(tmp_path):
    result = course.copy_course(tmp_path / "mine", ROOT)
    assert "README.md" in result.copied and not any(f.startswith("solutions") for f in result.copied)
    assert (tmp_path / "mine" / "README.md").read_text() == (ROOT / "labkit" / "classroom" / "templates" / "README-students.md").read_text()
    assert not (tmp_path / "mine" / "exercises" / "answers.json").exists()


def test_course_copy_from_the_environment_and_bad_sources(released, tmp_path, monkeypatch, capsys):
    out, _ = released
    monkeypatch.setenv("LABKIT_COURSE", str(out))
    assert course.course_source() == out.resolve()
    assert cli(["course", str(tmp_path / "c"), "--from", str(tmp_path)]) == 2
    assert "not a course folder" in capsys.readouterr().err
    assert cli(["course", str(out / "notebooks" / "inside")]) == 2
    assert "inside the course" in capsys.readouterr().err


def test_question_ids_are_the_notebooks_questions():
    ids = course.question_ids(ROOT / "notebooks")
    assert len(ids) == len(set(ids)) > 10 and ids[0].startswith("00-")


# -- conventions of the command line --------------------------------------------------------------

def _leaf_parsers(parser, path=()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for action in subs:
        for name, p in action.choices.items():
            yield from _leaf_parsers(p, path + (name,))


def test_every_option_has_help_text():
    missing = [f"{' '.join(path)} {a.option_strings or a.dest}"
               for path, p in _leaf_parsers(build_parser()) for a in p._actions
               if not isinstance(a, argparse._HelpAction) and not a.help]
    assert missing == []


def test_json_is_taken_by_every_command_but_those_the_readme_names():
    without = sorted(" ".join(path) for path, p in _leaf_parsers(build_parser())
                     if "--json" not in p._option_string_actions)
    assert without == ["lab"]
    readme = (ROOT / "README.md").read_text()
    assert "Every command but `labkit lab` takes `--json`" in readme


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli(["--version"])
    assert exc.value.code == 0
    assert re.fullmatch(r"labkit \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


_CITED = re.compile(r"(?<![\w/.-])([\w-]+\.md)\b")


def test_no_document_cites_a_file_that_is_not_in_the_repository():
    names = {p.name for p in ROOT.rglob("*") if ".venv" not in p.parts and p.is_file()}
    cited = {}
    sources = [ROOT / "README.md", ROOT / "INSTRUCTORS.md", *ROOT.glob("labkit/**/*.py"),
               *ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("tests/**/*.py"), *ROOT.glob("exercises/*")]
    for path in sources:
        if path.is_file():
            for name in _CITED.findall(path.read_text(errors="replace")):
                if name not in names:
                    cited.setdefault(name, str(path.relative_to(ROOT)))
    assert cited == {}


def test_the_example_hidden_checks_pass_the_solutions_and_fail_the_exercises():
    folder = ROOT / "examples" / "hidden"
    names = ["fix_a_sim_at_four_kstats", "decode_panic_again"]
    good = grade(ROOT / "solutions", hidden=folder, only=names)
    bad = grade(ROOT / "exercises", hidden=folder, only=names)
    assert [(r.name, r.status) for r in good.results] == [(n, "pass") for n in names]
    assert all(r.score == 0 for r in bad.results) and len(bad.results) == 2


def test_autograder_build_refuses_hidden_checks_from_solutions(tmp_path, capsys):
    assert cli(["autograder", "build", "-o", str(tmp_path / "a.zip"), "--hidden", str(ROOT / "solutions")]) == 2
    assert "inside solutions/" in capsys.readouterr().err and not (tmp_path / "a.zip").exists()
    assert cli(["autograder", "build", "-o", str(tmp_path / "a.zip"), "--hidden-visibility", "secret"]) == 2
    assert "unknown visibility 'secret'" in capsys.readouterr().err
