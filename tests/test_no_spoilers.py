"""No notebook gives an answer away before the learner has answered (tests/spoilers.py).

This file checks what a notebook shows as saved (markdown, shown source, saved outputs); the
nbval run checks what each cell prints when it runs (the hook in the repository's conftest.py).
"""

import pytest

import spoilers
from labkit.widgets.questions import QUESTIONS


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=spoilers.PENDING[p.name]))
    if p.name in spoilers.PENDING else p for p in spoilers.NOTEBOOKS], ids=lambda p: p.stem)
def test_notebook_gives_nothing_away(path):
    problems = spoilers.static_problems(path)
    assert not problems, "\n".join(problems)


def test_every_question_and_exercise_has_spoiler_patterns():
    import nbformat
    asked = set()
    for path in spoilers.NOTEBOOKS:
        for cell in nbformat.read(str(path), as_version=4).cells:
            asked |= set(spoilers.asked_in(cell))
    questions = {name for kind, name in asked if kind == "question"}
    exercises = {name for kind, name in asked if kind == "exercise"}
    assert questions <= set(spoilers.SPOILERS), questions - set(spoilers.SPOILERS)
    assert exercises <= set(spoilers.EXERCISES), exercises - set(spoilers.EXERCISES)
    assert set(QUESTIONS) <= set(spoilers.SPOILERS), set(QUESTIONS) - set(spoilers.SPOILERS)


@pytest.mark.parametrize("qid", sorted(QUESTIONS))
def test_a_question_s_own_answer_is_caught(qid):
    """The patterns of each question catch its answer as the bank states it, and in another
    radix or quoting: a pattern table that misses its own answer could never fail."""
    patterns = spoilers.SPOILERS[qid]
    if QUESTIONS[qid].get("prediction"):    # its answer is the notebook's own measurement
        assert patterns, qid
        return
    answer = QUESTIONS[qid]["answer"]
    if isinstance(answer, int):
        numeric = [p for p in patterns if isinstance(p, int)]
        if numeric:
            assert spoilers.found(f"it is {answer:#x}.", patterns)
            assert spoilers.found(f"it is `{answer}`.", patterns)
        else:   # the number is part of the data shown; the phrases must name it in context
            assert any(spoilers.normalize(f"#{answer}") in spoilers.normalize(p) for p in patterns), qid
    elif len(str(answer)) >= 12 and qid not in spoilers.NAMED_IN_DATA:    # a distinctive answer text is itself a pattern
        for text in (f"The answer: {answer}.", f"the ANSWER:  `{answer}`", f'"{str(answer).upper()}"'):
            assert spoilers.found(text, patterns), (qid, text)
    else:                           # "no", "K", "0x20": only phrases can tell them
        assert patterns, qid


def test_matching_is_blind_to_formatting():
    assert spoilers.found("ks_ndata = 0x1642", [5698])
    assert spoilers.found("ks_ndata = 5698", [0x1642])
    assert spoilers.found("      1642", [5698])                  # mdb's bare hex
    assert spoilers.found("ks_data_size = fff70", [0xFFF70])
    assert not spoilers.found("notebook 2 and 3", [5698])
    assert spoilers.found("the MAJOR  number is `0x2`", ["major number is #2"])
    assert spoilers.found("**Header** index 5698", ["header index #5698"])
    assert spoilers.found("Header index 0x1642", ["header index #5698"])
    assert not spoilers.found("header index 5697", ["header index #5698"])


def test_a_panicking_schedule_is_recognised_however_written():
    for text in ("replay(Scenario.small(), 'W12 R25 W1 R')", "try W12,R25,W1,R2 next", "W12R25W1R"):
        assert any("find_schedule" in h for h in spoilers.schedule_spoilers(text)), text
    assert any("reconstruct" in h for h in spoilers.schedule_spoilers("schedule W12 R11417 W1 R"))
    assert not spoilers.schedule_spoilers("'W12 R' lets W take 12 steps, then R runs")


def test_the_run_time_rule_sees_a_cell_printing_a_later_answer():
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print(0xfff70 // 0x1642)"),
        nbformat.v4.new_code_cell('ask("02-sizeof")'),
    ])
    printed = [nbformat.v4.new_output("stream", name="stdout", text="0xfff70 / 0x1642 = 0xb8 = 184 bytes\n")]
    assert spoilers.run_time_problems(nb, 0, printed)
    assert not spoilers.run_time_problems(nb, 1, printed)   # after the question: a reveal


def test_the_nbval_run_applies_the_run_time_rule(pytestconfig):
    assert pytestconfig.pluginmanager.hasplugin(str(spoilers.ROOT / "conftest.py")) or any(
        getattr(p, "__file__", "") == str(spoilers.ROOT / "conftest.py")
        for p in pytestconfig.pluginmanager.get_plugins())


def test_the_markdown_just_below_a_question_counts(tmp_path):
    """A question answered by the markdown right under it fails; the same text further down,
    past the cells that share its screen, is a summary and passes."""
    import nbformat
    answer = QUESTIONS["07-short-copy"]["answer"]
    for gap, caught in ((0, True), (spoilers.BELOW, False)):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell('ask("07-short-copy")'),
                    *[nbformat.v4.new_code_cell("1") for _ in range(gap)],
                    nbformat.v4.new_markdown_cell(f"So R got {answer}.")]
        path = tmp_path / f"below{gap}.ipynb"
        nbformat.write(nb, str(path))
        problems = [p for p in spoilers.static_problems(path) if "just below" in p]
        assert bool(problems) is caught, (gap, problems)
