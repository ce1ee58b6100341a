"""Rules the whole package keeps: every LABKIT_* variable is read in config.py, and no two
modules share a name that makes a reader ask which one is meant."""

import re
from collections import Counter
from pathlib import Path

LABKIT = Path(__file__).resolve().parent.parent / "labkit"

# A read of the environment: os.environ.get("LABKIT_..."), os.getenv(...), os.environ["LABKIT_..."]
# not followed by an assignment, or "LABKIT_..." in os.environ. Setting one for a child is fine.
_READ = re.compile(r"""os\.environ\.get\(\s*["']LABKIT_|os\.getenv\(\s*["']LABKIT_|"""
                   r"""os\.environ\[\s*["']LABKIT_\w+["']\s*\](?!\s*=[^=])|["']LABKIT_\w+["']\s+in\s+os\.environ""")


def test_every_labkit_variable_is_read_in_config():
    readers = sorted(str(p.relative_to(LABKIT)) for p in LABKIT.rglob("*.py")
                     if p.name != "config.py" and _READ.search(p.read_text()))
    assert readers == [], f"read these LABKIT_* variables through labkit.config: {readers}"


def test_the_environment_pattern_catches_a_read():
    assert _READ.search('x = os.environ.get("LABKIT_SEED")')
    assert _READ.search("if 'LABKIT_X' in os.environ:")
    assert not _READ.search('os.environ["LABKIT_EXERCISES"] = path')


def test_no_two_modules_share_a_name_that_collides():
    names = Counter(p.stem for p in LABKIT.rglob("*.py") if p.stem != "__init__")
    # each package's __main__ and the layer packages' own short names are fine twice; these
    # names were two different things in two layers (issue 12)
    for name in ("answers", "question"):
        assert names[name] <= 1, f"two modules named {name}.py"
