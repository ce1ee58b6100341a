"""`labkit autograder build`: the Gradescope autograder zip.

Design note: the zip holds, at its root, setup.sh and run_autograder (templates/ here), the labkit
wheel built from this checkout (and its source, for a machine where the wheel's native module
does not load or does not fit the Python there), requirements.txt pinning what grading needs at the versions it was built with,
the instructor's hidden checks (hidden/*.py, each loaded once here so a broken one fails the
build, not a student's submission), and autograder.json (visibility per check, the course's
question ids for participation, the versions). It never holds solutions/: a test opens the zip.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from labkit import config
from labkit.classroom.course import BUILD_JUNK, question_ids, repository_root
from labkit.errors import LabkitError, choice_error
from labkit.grading.model import GRADESCOPE_VISIBILITY

TEMPLATES = Path(__file__).with_name("templates")
SCRIPTS = ("setup.sh", "run_autograder")
#: What grading imports (the notebooks' jupyterlab, ipywidgets and matplotlib it does not).
GRADING_REQUIREMENTS = ("cffi", "pycparser", "greenlet", "setuptools")
SOURCE_TARBALL = "labkit-src.tar.gz"


@dataclass
class Built:
    zip: str
    files: list[str] = field(default_factory=list)
    hidden_checks: list[str] = field(default_factory=list)
    config: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"zip": self.zip, "files": self.files, "hidden_checks": self.hidden_checks,
                "config": self.config}

    def __str__(self) -> str:
        out = [f"labkit autograder build: wrote {self.zip} ({len(self.files)} files)",
               f"  hidden checks: {', '.join(self.hidden_checks) or 'none'}",
               f"  seed {self.config['seed']}; participation points {self.config['participation_points']:g}",
               "  upload it as a Gradescope 'Programming Assignment' autograder (zip file)"]
        return "\n".join(out)


def parse_visibility(items: list[str] | None) -> dict[str, str]:
    """['fix_a_c=after_due_date', ...] -> {'fix_a_c': 'after_due_date'}."""
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise LabkitError(f"--visibility {item!r}: expected CHECK=VALUE, e.g. fix_a_c=after_due_date")
        if value not in GRADESCOPE_VISIBILITY:
            raise choice_error("visibility", value, GRADESCOPE_VISIBILITY)
        out[name] = value
    return out


def _versions() -> dict[str, str]:
    v = {"labkit": metadata.version("labkit"), "python_at_build": platform.python_version()}
    for name in GRADING_REQUIREMENTS:
        v[name] = metadata.version(name)
    return v


SOURCE_FILES = ("labkit", "pyproject.toml", "setup.py", "README.md")


def _build_wheel(repo: Path, out: Path) -> Path:
    """The labkit wheel of `repo`, built with this environment's setuptools and cffi, from a copy
    of its source (so nothing is left in the checkout: no build/, no egg-info)."""
    src = out / "labkit-src"
    src.mkdir()
    for name in SOURCE_FILES:
        if (repo / name).is_dir():
            shutil.copytree(repo / name, src / name, ignore=BUILD_JUNK)
        else:
            shutil.copy2(repo / name, src / name)
    # setuptools logs on stdout, so the name goes to a file of its own (and build_meta rewrites
    # sys.argv, so the folder is read first).
    code = ("import sys; d = sys.argv[1]; from setuptools import build_meta as b; "
            "open(d + '/name', 'w').write(b.build_wheel(d))")
    with tempfile.TemporaryDirectory(prefix="labkit-dist-") as tmp:
        proc = subprocess.run([sys.executable, "-c", code, tmp], cwd=src, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
            raise LabkitError(f"building the labkit wheel failed:\n{tail}")
        name = (Path(tmp) / "name").read_text().strip()
        shutil.copy2(Path(tmp) / name, out / name)
    return out / name


def _source_tarball(repo: Path, out: Path) -> Path:
    """labkit's source alone (labkit/, pyproject.toml, setup.py, README.md): no tests, no solutions."""
    import tarfile
    path = out / SOURCE_TARBALL

    def keep(info: tarfile.TarInfo):
        return None if BUILD_JUNK("", [Path(info.name).name]) else info
    with tarfile.open(path, "w:gz") as tar:
        for name in SOURCE_FILES:
            tar.add(repo / name, f"labkit-src/{name}", filter=keep)
    return path


def build(output: str | os.PathLike, hidden: str | os.PathLike | None = None, visibility: dict[str, str] | None = None,
          hidden_visibility: str = "after_published", participation_points: float = 0.0,
          repo: str | os.PathLike | None = None) -> Built:
    from labkit.grading.hidden import hidden_files, load_hidden

    repo = Path(repo).resolve() if repo else repository_root()
    if repo is None or not (repo / "pyproject.toml").is_file():
        raise LabkitError("labkit autograder build needs the course's repository (pass --repo DIR): "
                          "the wheel is built from it")
    if hidden_visibility not in GRADESCOPE_VISIBILITY:
        raise choice_error("visibility", hidden_visibility, GRADESCOPE_VISIBILITY)
    output = Path(output).resolve()
    hidden_list = hidden_files(hidden) if hidden else []
    solutions = (repo / "solutions").resolve()
    for f in hidden_list:
        if solutions in f.resolve().parents:
            raise LabkitError(f"{f} is inside solutions/: hidden checks must live elsewhere")
    names = [c.name for f in hidden_list for c in load_hidden(f)]
    versions = _versions()
    cfg: dict[str, object] = {"seed": config.SEED, "visibility": visibility or {}, "hidden_visibility": hidden_visibility,
           "participation_points": participation_points,
           "questions": question_ids(repo / "notebooks"), "versions": versions}
    built = Built(str(output), hidden_checks=names, config=cfg)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="labkit-autograder-") as tmp:
        dists = [_build_wheel(repo, Path(tmp)), _source_tarball(repo, Path(tmp))]
        reqs = "".join(f"{n}=={versions[n]}\n" for n in GRADING_REQUIREMENTS)
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as z:
            for name in SCRIPTS:
                info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
                info.external_attr = 0o100755 << 16  # executable, as Gradescope runs them
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, (TEMPLATES / name).read_text())
            for d in dists:
                z.write(d, d.name)
            z.writestr("requirements.txt", reqs)
            z.writestr("autograder.json", json.dumps(cfg, indent=1, sort_keys=True) + "\n")
            for f in hidden_list:
                z.write(f, f"hidden/{f.name}")
            built.files = z.namelist()
    if any("solutions" in Path(n).parts for n in built.files):  # never: say so loudly if it happens
        output.unlink()
        raise LabkitError("refusing to write an autograder that holds solutions/")
    return built
