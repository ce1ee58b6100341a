"""Random vs PCT vs exhaustive: how each strategy fares at finding the race, over labkit.sched.explore.

    ex = ExplorerWidget()                 # Scenario.small(), buggy kernel, seed 0 (shown)
    ex.run("random", executions=1000)     # -> ExploreResult; progress shown, Stop honoured
    ex.run("pct"); ex.run("dpor")
    ex.compare()                          # all three
    ex.results["random"].panics, ex.shortest_failing, ex.plot()

Design note: every run is one explore() call with the seed and count the widget shows, so it is
exactly the run `labkit explore --strategy S --seed N --executions K` makes (a test checks it).
The widget only listens: explore()'s progress hook feeds the progress bar and, every `batch`
executions, a point of the failures-found curve for the plot; its stop hook is the Stop button.
The simulator lock is taken one execution at a time (labkit.sched), so the scheduler widget
stays usable during a long run. The seed's 5698-kstat scale belongs to the command line
(`labkit explore --kstats 5698`), not here. The button runs work in a background thread so the
notebook stays responsive; method calls (run, compare) run in the caller's thread, which is what
tests and notebook cells want.

Browser hooks (CSS classes): `labkit-explore-strategy` (toggle: random, pct, dpor),
`labkit-explore-seed`, `labkit-explore-executions`, `labkit-explore-run` ("Run"),
`labkit-explore-compare` ("Run all three"), `labkit-explore-stop` ("Stop"),
`labkit-explore-progress`, `labkit-explore-results`, `labkit-explore-plot`, `labkit-explore-message`.
"""

import threading
from typing import Any

import ipywidgets as W

from labkit import config
from labkit.errors import LabkitError, choice_error
from labkit.kernel import SMALL_KSTATS, Scenario
from labkit.sched import ExploreResult, Outcome, Progress, explore
from labkit.sched.outcome import failure_rank
from labkit.widgets._base import Background, LabWidget, button, error_html, escape, reported
from labkit.widgets.dump_actions import DumpActions

SAMPLED = ("random", "pct")
OFFERED = ("random", "pct", "dpor")


class ExplorerWidget(Background, LabWidget):
    """Runs explore() on one scenario, strategy by strategy, with a progress bar and Stop."""

    def __init__(self, scenario: Scenario | None = None, *, fix: str = "none",
                 kstats: int = SMALL_KSTATS, seed: int | None = None,
                 executions: int | None = None, batch: int = 50) -> None:
        self.program = scenario if scenario is not None else Scenario(kstats, fix)
        self.seed = config.SEED if seed is None else _whole(seed, "seed", 0)
        self.executions = _whole(executions or config.RANDOM_EXECUTIONS, "executions", 1)
        self.batch = _whole(batch, "batch", 1)
        self.results: dict[str, ExploreResult] = {}
        self.curves: dict[str, list[tuple[int, int]]] = {}   # strategy -> (executions, failures)
        self.stopped = False
        self.message = ""
        self._init_background()
        self._build()
        # "Open in mdb" / "Save dump" of the shortest failing run (labkit.widgets.dump_actions)
        self.dumps = DumpActions(lambda: self.program,
                                 lambda: self.shortest_failing and self.shortest_failing.schedule)
        self.widget.children += (self.dumps.widget,)
        self._refresh()

    # ---- the API the buttons use ----------------------------------------------------------
    @reported
    def run(self, strategy: str = "random", *, executions: int | None = None,
            seed: int | None = None) -> ExploreResult:
        """Run one strategy to the end (or to Stop); returns its result and keeps it in .results.

        The same as `labkit explore --strategy STRATEGY --seed SEED --executions N` on this
        scenario (dpor: every schedule, so no count)."""
        if strategy not in OFFERED:
            raise choice_error("strategy", strategy, OFFERED)
        seed = self.seed if seed is None else _whole(seed, "seed", 0)
        n = self.executions if executions is None else _whole(executions, "executions", 1)
        if threading.current_thread() is not self._thread:
            self._stop.clear()
        self.stopped = False
        self.message = ""
        curve: list[tuple[int, int]] = []
        what = "executions" if strategy in SAMPLED else "executions (exhaustive search)"
        self._progress(0, n if strategy in SAMPLED else 0, f"{strategy}: running")

        def progress(p: Progress) -> None:
            if p.executions % self.batch == 0 or p.executions == p.total:
                curve.append((p.executions, p.failing))
                self._progress(p.executions, p.total or 0,
                               f"{strategy}: {p.executions}" + (f"/{p.total}" if p.total else "")
                               + f" {what}, {p.failing} failing")

        result = explore(self.program, strategy, seed=seed,
                         executions=n if strategy in SAMPLED else None,
                         progress=progress, stop=self._stop.is_set)
        if not curve or curve[-1][0] != result.executions:
            curve.append((result.executions, _failures(result)))
        self.curves[strategy] = curve
        self.stopped = result.stopped
        if self.stopped:
            self.message = f"stopped after {result.executions} of {n if strategy in SAMPLED else 'all'} executions"
        self._progress(result.executions, result.executions,
                       f"{strategy}: {result.executions} executions, {_failures(result)} failing, "
                       + ("stopped" if self.stopped else "done"))
        self.results[strategy] = result
        self._refresh()
        return result

    def compare(self, strategies: tuple[str, ...] = OFFERED, *,
                executions: int | None = None) -> dict[str, ExploreResult]:
        """Run each strategy in turn (stops after the current one if Stop is pressed)."""
        for s in strategies:
            self.run(s, executions=executions)
            if self.stopped:
                break
        return dict(self.results)

    @reported
    def start(self, strategy: str = "random", **kw: Any) -> threading.Thread:
        """Like run() or compare() (strategy="all"), in a background thread."""
        if self._thread is not None and self._thread.is_alive():
            raise LabkitError("an exploration is already running; press Stop or wait for it")
        target = (lambda: self.compare(**kw)) if strategy == "all" else (lambda: self.run(strategy, **kw))
        return self._launch(target)

    @property
    def shortest_failing(self) -> Outcome | None:
        """The failing execution with the fewest preemptions over every strategy run so far."""
        found = [r.shortest_failing for r in self.results.values() if r.shortest_failing is not None]
        return min(found, key=failure_rank, default=None)

    @reported
    def plot(self) -> Any:  # a matplotlib Figure (matplotlib is imported only when asked)
        """Failures found against executions tried, per strategy, and each one's failure rate."""
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
        for name, curve in self.curves.items():
            xs, ys = zip(*([(0, 0)] + curve))
            left.plot(xs, ys, marker="o" if name not in SAMPLED else None, label=name)
        left.set_xlabel("executions tried")
        left.set_ylabel("failing executions found")
        left.legend(fontsize=8)
        # A share is only meaningful for sampled runs: dpor runs one schedule per class of
        # equivalent schedules, and classes are not equally likely, so no rate is drawn for it.
        names = [n for n in self.results if n in SAMPLED]
        rates = [100 * _failures(self.results[n]) / max(1, self.results[n].executions) for n in names]
        bars = right.bar(names, rates, color=["#c44e52" if n in SAMPLED else "#8c8c8c" for n in names])
        for b, n in zip(bars, names):
            r = self.results[n]
            what = "runs" if n in SAMPLED else "classes"   # dpor runs one schedule per class
            right.annotate(f"{_failures(r)}/{r.executions} {what}",
                           (b.get_x() + b.get_width() / 2, b.get_height()),
                           ha="center", va="bottom", fontsize=8)
        right.set_ylabel("% of sampled runs failing")
        fig.suptitle(f"{self.program!r}, seed {self.seed}", fontsize=9)
        fig.tight_layout()
        plt.close(fig)
        return fig

    # ---- the live view ------------------------------------------------------------------
    def _build(self):
        self._message = W.HTML()
        self._message.add_class("labkit-explore-message")
        self._strategy = W.ToggleButtons(options=OFFERED, value="random")
        self._strategy.add_class("labkit-explore-strategy")
        self._seed = W.IntText(value=self.seed, description="seed", layout=W.Layout(width="140px"))
        self._seed.add_class("labkit-explore-seed")
        self._n = W.BoundedIntText(value=self.executions, min=1, max=1_000_000, description="executions",
                                   layout=W.Layout(width="200px"))
        self._n.add_class("labkit-explore-executions")
        runb = button("Run", "labkit-explore-run", style="primary")
        allb = button("Run all three", "labkit-explore-compare")
        stopb = button("Stop", "labkit-explore-stop", style="danger")
        plotb = button("Plot", "labkit-explore-plot-button")
        runb.on_click(self._guard_click(lambda: self.start(self._strategy.value, **self._form())))
        allb.on_click(self._guard_click(lambda: self.start("all", executions=self._form()["executions"])))
        stopb.on_click(lambda _: self.stop())
        plotb.on_click(self._show_plot)
        self._bar = W.IntProgress(value=0, min=0, max=1)
        self._bar.add_class("labkit-explore-progress")
        self._bar_label = W.Label()
        self._results = W.HTML()
        self._results.add_class("labkit-explore-results")
        self._plot_out = W.Output()
        self._plot_out.add_class("labkit-explore-plot")
        self.widget = W.VBox([
            W.HTML(f"<b>Explore schedules</b> — {escape(repr(self.program))}"),
            self._strategy, W.HBox([self._seed, self._n, runb, allb, stopb, plotb]),
            W.HBox([self._bar, self._bar_label]), self._message, self._results, self._plot_out])
        self.widget.add_class("labkit-explorer")

    def _form(self):
        self.seed = self._seed.value
        return {"executions": self._n.value, "seed": self._seed.value}

    def _guard_click(self, fn):
        return self._guard(self._message, fn)

    def _progress(self, value: int, total: int, text: str) -> None:
        self._bar.max = max(1, total or value)      # no total (exhaustive): the bar stays full
        self._bar.value = value
        self._bar_label.value = text

    def _refresh(self):
        rows = "".join(
            f"<tr><td>{escape(n)}</td><td>{r.seed if n in SAMPLED else '—'}</td><td>{r.executions}</td>"
            f"<td>{escape(_failing_text(r))}</td>"
            f"<td><code>{escape(r.shortest_failing.schedule) if r.shortest_failing else '—'}</code></td>"
            f"<td>{'every schedule' if r.exhaustive else 'sampled'}</td><td>{r.seconds:.2f} s</td></tr>"
            for n, r in self.results.items())
        self._results.value = "" if not rows else (
            "<table><tr><th>strategy</th><th>seed</th><th>executions</th><th>failing</th>"
            "<th>shortest failing schedule</th><th>coverage</th><th>time</th></tr>" + rows + "</table>")
        self._message.value = error_html(self.message) if self.message else ""

    def __repr__(self):
        lines = [f"ExplorerWidget on {self.program!r}, seed {self.seed}"]
        if not self.results:
            lines.append("  nothing run yet: run('random'), run('pct'), run('dpor') or compare()")
        for n, r in self.results.items():
            sf = r.shortest_failing
            lines.append(f"  {n:6} {r.executions:6} executions, {_failing_text(r)}"
                         + (", every schedule covered" if r.exhaustive else "")
                         + (f"; shortest failing: {sf.schedule} ({sf.preemptions} preemptions)" if sf else ""))
        if self.message:
            lines.append(f"  {'' if self.stopped else 'refused: '}{self.message}")
        return "\n".join(lines)


def _failures(result: ExploreResult) -> int:
    return result.executions - result.outcomes.get("ok", 0)


def _failing_text(result) -> str:
    """How many failed, and a share only where a share means something (a sampled run)."""
    n = _failures(result)
    if result.exhaustive or result.strategy not in SAMPLED:
        return f"{n:4} failing (one execution per class of equivalent schedules: not a rate)"
    return f"{n:4} failing ({100 * n / max(1, result.executions):.2f}% of sampled runs)"


def _whole(value: object, what: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise LabkitError(f"{what} must be a whole number of at least {low}, not {value!r}")
    return value
