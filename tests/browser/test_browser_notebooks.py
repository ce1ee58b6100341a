"""Every notebook of the course, opened in JupyterLab and run top to bottom as a learner would.

Passes only if every code cell ran, no cell shows an error (except cells tagged
`raises-exception`, which the course means to fail), no widget failed to render, and the page
logged no console error.
"""

import pytest

from labserver import CELLS_JS, REPO, open_notebook, run_all

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))

# Widget outputs that failed to render: ipywidgets writes these into the output area instead of
# the view (a missing model, a Python exception in the widget's construction on the JS side).
WIDGET_FAILURE_TEXT = ["Error displaying widget", "Failed to load model class", "Model not found"]


def test_notebooks_discovered():
    # guards the parametrization below: an empty glob would make it pass by running nothing
    assert NOTEBOOKS and "00-welcome.ipynb" in NOTEBOOKS


def cell_errors(cells):
    problems = []
    for c in cells:
        for out in c["outputs"]:
            if out.get("output_type") == "error" and "raises-exception" not in c["tags"]:
                problems.append(f"cell {c['index']}: {out.get('ename')}: {out.get('evalue')}")
            text = out.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            if out.get("output_type") == "stream" and out.get("name") == "stderr" and "Traceback" in text:
                problems.append(f"cell {c['index']}: a traceback on stderr:\n{text[-1500:]}")
    return problems


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_clean(page, lab, name):
    panel = open_notebook(page, lab, f"notebooks/{name}")
    run = run_all(page)
    assert run["error"] is None, f"run-all-cells failed: {run['error']}"

    cells = page.evaluate(CELLS_JS)
    errors = cell_errors(cells)
    assert not errors, "\n".join(errors)
    code = [c for c in cells if c["source"].strip()]
    assert code, f"{name} has no code cell"
    not_run = [c["index"] for c in code if c["executionCount"] is None]
    assert not not_run, f"cells never ran: {not_run}"

    # What the learner sees, too: no rendered traceback outside the cells meant to raise
    # (JupyterLab renders error outputs and stderr with the same mime type), and every widget view.
    dom_cells = panel.locator(".jp-Cell")
    assert dom_cells.count() == len(page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.widgets.map(c => 1)"))
    for c in cells:
        if "raises-exception" in c["tags"]:
            continue
        tracebacks = dom_cells.nth(c["index"]).locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]', has_text="Traceback")
        assert tracebacks.count() == 0, f"cell {c['index']} shows: {tracebacks.first.inner_text()}"
    outputs_text = panel.inner_text()
    broken = [t for t in WIDGET_FAILURE_TEXT if t in outputs_text]
    assert not broken, f"a widget failed to render: {broken}"
    for c in cells:
        # every widget the kernel displayed has a rendered view in its cell (JupyterLab gives
        # widget outputs no data-mime-type, so count views under the cell's own output area)
        n = sum("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in c["outputs"])
        views = dom_cells.nth(c["index"]).locator(
            ".jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output > .jupyter-widgets")
        assert views.count() == n, f"cell {c['index']}: {n} widget outputs but {views.count()} rendered views"

    assert not page.console_log.unexpected(), "\n".join(page.console_log.unexpected())
    # Every error the kernel sent is one of the outputs above (all in raises-exception cells);
    # one more came from a widget callback, which has no cell to show it in.
    shown = sum(o.get("output_type") == "error" for c in cells for o in c["outputs"])
    extra = page.console_log.kernel_errors
    assert len(extra) == shown, f"{len(extra)} kernel errors for {shown} error outputs: {extra}"
