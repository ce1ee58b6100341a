"""pytest's hook for the nbval run of the notebooks (not course material).

nbval executes every cell; after each one this checks that what it printed gives away no answer
of a question or exercise further down the notebook (tests/spoilers.py, the no-spoiler rule),
so nothing has to run a notebook twice.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "tests"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    outputs = getattr(item, "test_outputs", None)
    nb = getattr(item.parent, "nb", None)
    import spoilers

    name = Path(str(getattr(item.parent, "fspath", ""))).name
    if outputs is not None and nb is not None and hasattr(item, "cell") and name not in spoilers.PENDING:
        index = next(i for i, c in enumerate(nb.cells) if c is item.cell)
        problems = spoilers.run_time_problems(nb, index, outputs)
        if problems:
            pytest.fail(f"{name}: " + "\n".join(problems), pytrace=False)
    return result
