"""Rules the whole package keeps: every LABKIT_* variable is read in config.py, and no two
modules share a name that makes a reader ask which one is meant."""

import re
from collections import Counter
from pathlib import Path

LABKIT = Path(__file__).resolve().parent.parent / "labkit"

# A read of the environment: os.environ.get/pop/setdefault("LABKIT_..."), os.getenv(...), os.environ["LABKIT_..."]
# not followed by an assignment, or "LABKIT_..." in os.environ. Setting one for a child is fine.
_READ = re.compile(r"""os\.environ\.(?:get|pop|setdefault)\(\s*["']LABKIT_|os\.getenv\(\s*["']LABKIT_|"""
                   r"""os\.environ\[\s*["']LABKIT_\w+["']\s*\](?!\s*=[^=])|["']LABKIT_\w+["']\s+in\s+os\.environ""")


def test_every_labkit_variable_is_read_in_config():
    readers = sorted(str(p.relative_to(LABKIT)) for p in LABKIT.rglob("*.py")
                     if p.name != "config.py" and _READ.search(p.read_text()))
    assert readers == [], f"read these LABKIT_* variables through labkit.config: {readers}"


def test_the_environment_pattern_catches_a_read():
    assert _READ.search('x = os.environ.get("LABKIT_SEED")')
    assert _READ.search("if 'LABKIT_X' in os.environ:")
    assert _READ.search('fd = int(os.environ.pop("LABKIT_RESULT_FD"))')
    assert _READ.search('os.environ.setdefault("LABKIT_GRADE_USER", "x")')
    assert not _READ.search('os.environ["LABKIT_EXERCISES"] = path')


def test_no_two_modules_share_a_name_that_collides():
    names = Counter(p.stem for p in LABKIT.rglob("*.py") if p.stem != "__init__")
    # each package's __main__ and the layer packages' own short names are fine twice; these
    # names were two different things in two layers (issue 12)
    for name in ("answers", "question"):
        assert names[name] <= 1, f"two modules named {name}.py"


# ---- type hints on every public function ---------------------------------------------------

#: Kernel code that mirrors illumos C line for line: learners read it next to the C (notebooks
#: print it with inspect.getsource) and write their fixes in its style, so it stays unannotated.
KERNEL_SOURCE = {"kernel/kstat_fr.py", "kernel/kstat_drv.py", "kernel/zone.py",
                 "kernel/variants.py:kstat_install", "kernel/variants.py:header_kstat_update"}


def _public_functions_missing_hints():
    import ast
    for path in sorted(LABKIT.rglob("*.py")):
        rel = path.relative_to(LABKIT).as_posix()
        if rel in KERNEL_SOURCE or rel.startswith("kernel/wrong_fixes/") or any(
                part.startswith("_") and part != "__init__.py" for part in rel.split("/")):
            continue
        tree = ast.parse(path.read_text())
        defs = [(node, "") for node in tree.body]
        defs += [(m, node.name + ".") for node in tree.body
                 if isinstance(node, ast.ClassDef) and not node.name.startswith("_") for m in node.body]
        for fn, owner in defs:
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or fn.name.startswith("_"):
                continue
            if f"{rel}:{fn.name}" in KERNEL_SOURCE:
                continue
            args = fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
            if owner and args and args[0].arg in ("self", "cls"):
                args = args[1:]
            extra = [a for a in (fn.args.vararg, fn.args.kwarg) if a is not None]
            if fn.returns is None or any(a.annotation is None for a in args + extra):
                yield f"{rel}:{owner}{fn.name}"


def test_every_public_function_has_type_hints():
    """Every argument and the return of every public function and method (issue 12: no list of
    exceptions is left; the kernel code that mirrors illumos C is the one exemption, above)."""
    missing = list(_public_functions_missing_hints())
    assert missing == [], f"annotate these public functions (arguments and return): {missing}"


def test_the_hint_check_sees_a_missing_hint(tmp_path, monkeypatch):
    (tmp_path / "mod.py").write_text("def typed(a: int) -> int:\n    return a\n\n"
                                     "def untyped(a):\n    return a\n\n"
                                     "class C:\n    def m(self, x: int):\n        pass\n")
    monkeypatch.setattr(__import__(__name__), "LABKIT", tmp_path)
    assert sorted(_public_functions_missing_hints()) == ["mod.py:C.m", "mod.py:untyped"]


def test_learner_python_has_one_loader():
    """Only labkit.learner_code runs a Python file of a learner's; the other places that run
    files run a compiled C module (native/_cbuild.py) or an instructor's hidden checks."""
    runs = re.compile(r"exec_module\(|spec_from_file_location\(|runpy\.|\bexec\(")
    places = sorted(str(p.relative_to(LABKIT)) for p in LABKIT.rglob("*.py") if runs.search(p.read_text()))
    assert places == ["grading/hidden.py", "learner_code.py", "native/_cbuild.py"]
