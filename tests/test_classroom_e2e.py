"""The classroom's real formats end to end: the built autograder zip's own setup.sh and
run_autograder against a temporary folder laid out like Gradescope's /autograder, and the steps
repo2docker (Binder) runs from binder/, in a fresh venv, without the Makefile.

Both install into fresh venvs (pip answers from its cache or index), so they are marked slow;
together about a minute and a half on an idle machine.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from labkit.classroom import release
from labkit.classroom.autograder import build
from labkit.grading import EXERCISES

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "grading"
pytestmark = pytest.mark.slow


def _system_python() -> str:
    # A Python >= 3.11 outside /root (setup.sh's venv must be usable by the unprivileged user
    # the checks run as): the system's, else the one running the tests.
    for p in ("/usr/bin/python3.13", "/usr/bin/python3.12", "/usr/bin/python3.11"):
        if os.access(p, os.X_OK):
            return p
    return sys.executable


HIDDEN_CHECK = '''
from labkit.grading.hidden import hidden

@hidden(points=2)
def sizeof_again(sub):
    """sizeof(kstat_t), asked again"""
    assert sub.call("decode_panic.py", "sizeof_kstat_t") in (184, "184", "0xb8"), "INSTRUCTOR-ONLY"
'''


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    """The built zip, unpacked as Gradescope does, with setup.sh already run."""
    tmp = tmp_path_factory.mktemp("autograder")
    hidden = tmp / "hidden"
    hidden.mkdir()
    (hidden / "mine.py").write_text(HIDDEN_CHECK)
    built = build(tmp / "autograder.zip", hidden, {"fix_b_c": "after_due_date"})
    root = Path(tempfile.mkdtemp(prefix="labkit-autograder-root-", dir="/tmp"))
    os.chmod(root, 0o755)
    (root / "source").mkdir()
    with zipfile.ZipFile(built.zip) as z:
        z.extractall(root / "source")
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
    for name in ("setup.sh", "run_autograder"):
        os.chmod(root / "source" / name, modes[name] & 0o777)
    env = dict(os.environ, LABKIT_AUTOGRADER_ROOT=str(root), LABKIT_AUTOGRADER_PYTHON=_system_python())
    env.pop("LABKIT_GRADE_USER", None)
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], cwd=root / "source", env=env,
                           capture_output=True, text=True, timeout=600)
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")   # as Gradescope does
    yield root, built, modes, env
    shutil.rmtree(root, ignore_errors=True)


def _submit(root: Path, env, fill) -> dict:
    sub = root / "submission"
    shutil.rmtree(sub, ignore_errors=True)
    sub.mkdir()
    fill(sub)
    shutil.rmtree(root / "results", ignore_errors=True)
    proc = subprocess.run([str(root / "run_autograder")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads((root / "results" / "results.json").read_text())


def test_zip_layout_and_nothing_of_solutions(autograder, tmp_path):
    root, built, modes, _ = autograder
    assert {"setup.sh", "run_autograder", "requirements.txt", "autograder.json", "hidden/mine.py",
            "labkit-src.tar.gz"} <= set(built.files)
    assert any(f.startswith("labkit-") and f.endswith(".whl") for f in built.files)
    assert all(modes[n] & stat.S_IXUSR for n in ("setup.sh", "run_autograder"))
    assert not any("solutions" in Path(f).parts for f in built.files)
    # Unpack everything (the wheel and the source too) and look for any text of solutions/.
    flat = tmp_path / "flat"
    shutil.copytree(root / "source", flat, ignore=shutil.ignore_patterns("*.whl", "*.tar.gz"))
    whl = next((root / "source").glob("*.whl"))
    zipfile.ZipFile(whl).extractall(flat / "wheel")
    shutil.unpack_archive(root / "source" / "labkit-src.tar.gz", flat / "src")
    assert release.find_leaks(flat, ROOT / "solutions", ROOT / "exercises") == []


def test_solutions_nested_in_exercises_get_full_marks(autograder):
    root, _, _, env = autograder
    res = _submit(root, env, lambda sub: shutil.copytree(ROOT / "solutions", sub / "exercises"))
    tests = {t["name"].split(":")[0]: t for t in res["tests"] if not t["number"].endswith(".1")}
    assert set(EXERCISES) | {"sizeof_again", "participation"} == set(tests)
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in tests.values()), res
    assert res["score"] == sum(t["max_score"] for t in tests.values())
    assert tests["fix_b_c"]["visibility"] == "after_due_date"
    assert tests["sizeof_again"]["visibility"] == "after_published"
    assert "INSTRUCTOR-ONLY" not in tests["sizeof_again"]["output"]
    assert res["extra_data"]["seed"] == 0 and res["extra_data"]["graded_folder"] == "exercises"
    assert {"labkit", "cffi", "greenlet", "python"} <= set(res["extra_data"]["versions"])
    assert res["extra_data"]["built_with"]["labkit"] == res["extra_data"]["versions"]["labkit"]
    if os.geteuid() == 0:  # the checks ran as the unprivileged user setup.sh made
        assert (root / "work" / "submission").stat().st_uid != 0


def test_untouched_exercises_flat_get_zero(autograder):
    root, _, _, env = autograder
    res = _submit(root, env, lambda sub: [shutil.copy(p, sub) for p in (ROOT / "exercises").iterdir()])
    scored = [t for t in res["tests"] if t["max_score"]]
    assert res["score"] == 0 and scored and all(t["status"] == "failed" for t in scored)
    assert res["extra_data"]["graded_folder"] == "."


def test_a_crashing_submission_still_gets_a_results_file(autograder):
    root, _, _, env = autograder

    # A C fix that segfaults kills its check's process; Python that would crash or exit at import
    # is refused by the restricted loader before it runs (labkit.learner_code).
    def fill(sub):
        shutil.copy(DATA / "wrong_c" / "segfault.c", sub / "fix_a.c")
        (sub / "why_fix_b_races.py").write_text("import os\nos._exit(7)\n")
    res = _submit(root, env, fill)
    tests = {t["name"].split(":")[0]: t for t in res["tests"]}
    crashed, refused = tests["fix_a_c"], tests["why_fix_b_races"]
    assert crashed["status"] == "failed" and crashed["score"] == 0
    assert refused["status"] == "failed" and refused["score"] == 0 and "not allowed" in refused["output"]
    assert res["score"] == 0


def test_an_empty_upload_and_a_broken_setup_still_get_a_results_file(autograder, tmp_path):
    root, _, _, env = autograder
    res = _submit(root, env, lambda sub: (sub / "notes.txt").write_text("hi"))
    assert res["score"] == 0 and res["tests"][0]["status"] == "failed"
    assert "no exercise files were found" in res["tests"][0]["output"]
    broken = tmp_path / "broken"          # no labkit-venv: Python cannot even start
    (broken / "submission").mkdir(parents=True)
    shutil.copy(root / "run_autograder", broken / "run_autograder")
    proc = subprocess.run([str(broken / "run_autograder")], env=dict(env, LABKIT_AUTOGRADER_ROOT=str(broken)),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    res = json.loads((broken / "results" / "results.json").read_text())
    assert res["score"] == 0 and "could not start" in res["tests"][0]["output"]


def test_binder_steps_in_a_fresh_venv(tmp_path):
    """What repo2docker does with binder/: its Python (runtime.txt), its apt packages (apt.txt),
    then postBuild from the repository's root; here in a fresh venv, on a copy of the release."""
    binder = ROOT / "binder"
    runtime = (binder / "runtime.txt").read_text().strip()
    assert runtime.startswith("python-") and tuple(map(int, runtime[7:].split("."))) >= (3, 11)
    assert "gcc" in (binder / "apt.txt").read_text().split()
    assert shutil.which("gcc"), "apt.txt's gcc"
    repo = tmp_path / "release"
    release.make_release(repo, ROOT)
    assert (repo / "binder" / "postBuild").stat().st_mode & stat.S_IXUSR
    venv = tmp_path / "venv"
    subprocess.run([_system_python(), "-m", "venv", str(venv)], check=True, timeout=120)
    env = dict(os.environ, PATH=f"{venv / 'bin'}:{os.environ['PATH']}", VIRTUAL_ENV=str(venv))
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([str(repo / "binder" / "postBuild")], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "labkit 0.1.0 is installed" in proc.stdout or "is installed" in proc.stdout
    out = subprocess.run([str(venv / "bin" / "labkit"), "--version"], capture_output=True, text=True, env=env)
    assert out.stdout.startswith("labkit ")
    # A hub's shared environment: labkit installed once (not editable), the course copied into a
    # learner's home from $LABKIT_COURSE, and graded there.
    home = tmp_path / "home" / "kstat-lab"
    out = subprocess.run([str(venv / "bin" / "labkit"), "course", str(home), "--json"], capture_output=True,
                         text=True, env=dict(env, LABKIT_COURSE=str(repo)), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "notebooks/00-welcome.ipynb" in json.loads(out.stdout)["copied"]
    out = subprocess.run([str(venv / "bin" / "labkit"), "grade", "--only", "decode_panic", "--json"],
                         capture_output=True, text=True, env=env, cwd=home, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["score"] == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="the checks change user only when the grader runs as root")
def test_learner_code_runs_unprivileged_and_cannot_touch_the_autograder(autograder):
    root, _, _, env = autograder
    hidden = root / "source" / "hidden" / "mine.py"
    before = hidden.read_text()
    code = ("import os\n"
            f"def tamper():\n"
            f"    for path in ({str(hidden)!r}, {str(root / 'source' / 'autograder.json')!r}):\n"
            "        try:\n"
            "            open(path, 'a').write('# forged')\n"
            "        except OSError:\n"
            "            pass\n"
            "def file_descriptor():\n"
            "    tamper()\n"
            "    return os.getuid()\n")
    res = _submit(root, env, lambda sub: (sub / "decode_panic.py").write_text(code))
    out = next(t for t in res["tests"] if t["name"].startswith("decode_panic"))["output"]
    assert "not allowed" in out    # the restricted loader refuses `import os` and open()
    assert hidden.read_text() == before and "forged" not in (root / "source" / "autograder.json").read_text()
