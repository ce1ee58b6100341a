"""The package's public face: `import labkit` is cheap, its names are pinned, and the
notebooks import from labkit and labkit.widgets only."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import labkit

ROOT = Path(__file__).resolve().parent.parent

#: The facade. A change here is a change of the public API: say so in the commit.
PUBLIC = {
    "Scenario", "SMALL_KSTATS", "SEED_KSTATS", "FIXES", "load_variant",
    "replay", "explore", "outcomes", "Stepper", "STRATEGIES", "parse_schedule", "practice",
    "kstat_fr", "kstat_drv", "layout", "variants",
    "seed_evidence", "seed_dump", "decode", "explain_frame", "read_data", "parse_stack", "Mdb",
    "SEED_DIED_AT", "SEED_KBUF", "MISSING", "replay_dump", "load_dump",
    "check", "EXERCISES", "find_exercises",
    "widgets", "config", "LabkitError",
}

#: labkit.sched's public surface: the verbs and what a program's code is written with; the
#: engine (Execution, Chooser, run_once, stack_of, RaceDetector) is not part of it.
SCHED_PUBLIC = {
    "replay", "explore", "outcomes", "Stepper", "STRATEGIES", "Progress", "exclusive",
    "Outcome", "ExploreResult", "OUTCOME_KINDS", "Race", "ThreadView",
    "Schedule", "parse_schedule", "format_schedule",
    "point", "note", "Mutex", "CondVar", "MUTEX_WAITERS", "SimThread", "Failure", "current_thread",
    "Recipe", "recipe_text",
}


def test_the_facade_exports_exactly_the_public_names():
    assert set(labkit.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(labkit, name) is not None, name
    assert labkit.replay is __import__("labkit.sched", fromlist=["replay"]).replay
    assert labkit.widgets.__name__ == "labkit.widgets"
    with pytest.raises(AttributeError, match="no attribute 'Execution'"):
        labkit.Execution


def test_sched_exports_verbs_not_the_engine():
    import labkit.sched as sched
    assert set(sched.__all__) == SCHED_PUBLIC
    for name in ("Execution", "Chooser", "run_once", "stack_of", "RaceDetector"):
        assert not hasattr(sched, name) or name not in sched.__all__


def test_import_labkit_loads_nothing_heavy():
    """The verbs are imported on first use: a bare `import labkit` loads none of the layers."""
    code = ("import sys, labkit; print(sorted(m for m in sys.modules if m.startswith('labkit') "
            "or m in ('greenlet', 'ipywidgets', 'matplotlib', 'cffi')))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                       text=True, check=True).stdout.replace("'", '"'))
    assert loaded == ["labkit"]


def test_the_layout_comment_names_every_layer():
    doc = labkit.__doc__
    for layer in ("errors, config", "sched/", "kernel/", "postmortem/", "native/", "widgets/",
                  "grading/", "classroom/", "cli/"):
        assert layer in doc, layer
    packages = {p.name + "/" for p in (ROOT / "labkit").iterdir()
                if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= {layer for layer in re.findall(r"^\s+(\w+/)", doc, re.M)}


def _imports(nb: Path):
    cells = json.loads(nb.read_text())["cells"]
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and not source.startswith("%%writefile"):   # a file's text
            for line in source.splitlines():
                m = re.match(r"\s*(?:from\s+(labkit[\w.]*)\s+import|import\s+(labkit[\w.]*))", line)
                if m:
                    yield m.group(1) or m.group(2)


@pytest.mark.parametrize("nb", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_import_only_the_facade_and_widgets(nb):
    assert set(_imports(nb)) <= {"labkit", "labkit.widgets"}
