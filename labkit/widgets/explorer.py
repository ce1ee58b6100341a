"""Random vs PCT vs exhaustive: how each strategy fares at finding the race, over labkit.sched.explore.

    ex = ExplorerWidget()                 # Scenario.small(), buggy kernel, seed 0 (shown)
    ex.run("random", executions=1000)     # -> ExploreResult; progress shown, Stop honoured
    ex.run("pct"); ex.run("dpor")
    ex.compare()                          # all three
    ex.results["random"].panics, ex.shortest_failing, ex.plot()

Design note: explore() has no progress or stop hook, so the sampling strategies (random, PCT) run
as batches of `batch` executions, each its own explore() call with seed `seed * 100000 + k` for
batch k; the widget sums the batches, draws the progress bar and checks the Stop button between
them, and keeps the running count of failures for the plot. The exhaustive strategy (dpor) is one
call: it cannot be interrupted, which is cheap at the small scale (a tenth of a second) and why the
seed's 5698-kstat scale belongs to the command line (`labkit explore --kstats 5698`), not here.
The button runs work in a background thread so the notebook stays responsive; method calls
(run, compare) run in the caller's thread, which is what tests and notebook cells want.

Browser hooks (CSS classes): `labkit-explore-strategy` (toggle: random, pct, dpor),
`labkit-explore-seed`, `labkit-explore-executions`, `labkit-explore-run` ("Run"),
`labkit-explore-compare` ("Run all three"), `labkit-explore-stop` ("Stop"),
`labkit-explore-progress`, `labkit-explore-results`, `labkit-explore-plot`, `labkit-explore-message`.
"""

import threading

import ipywidgets as W

from labkit import config
from labkit.errors import LabkitError, choice_error
from labkit.kernel import SMALL_KSTATS, Scenario
from labkit.sched import ExploreResult, explore
from labkit.widgets._base import Background, LabWidget, button, error_html, escape, reported, simulator
from labkit.widgets.dump_actions import DumpActions

SAMPLED = ("random", "pct")
OFFERED = ("random", "pct", "dpor")


def batch_seed(seed: int, k: int) -> int:
    """The seed of batch k: distinct for every (seed, k) below 100000 batches."""
    return seed * 100_000 + k


class ExplorerWidget(Background, LabWidget):
    def __init__(self, scenario=None, *, fix="none", kstats: int = SMALL_KSTATS, seed=None,
                 executions=None, batch: int = 50):
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
    def run(self, strategy: str = "random", *, executions=None, seed=None) -> ExploreResult:
        """Run one strategy to the end (or to Stop); returns its result and keeps it in .results."""
        if strategy not in OFFERED:
            raise choice_error("strategy", strategy, OFFERED)
        seed = self.seed if seed is None else _whole(seed, "seed", 0)
        n = self.executions if executions is None else _whole(executions, "executions", 1)
        if threading.current_thread() is not self._thread:
            self._stop.clear()
        self.stopped = False
        self.message = ""
        if strategy in SAMPLED:
            result = self._sampled(strategy, n, seed)
        else:
            self._progress(0, 1, f"{strategy}: exhaustive search running (it cannot be stopped midway)")
            with simulator(wait=60):
                result = explore(self.program, strategy, seed=seed)
            self.curves[strategy] = [(result.executions, result.executions - result.outcomes.get("ok", 0))]
            self._progress(1, 1, f"{strategy}: {result.executions} executions, done")
        self.results[strategy] = result
        self._refresh()
        return result

    def compare(self, strategies=OFFERED, *, executions=None) -> dict:
        """Run each strategy in turn (stops after the current one if Stop is pressed)."""
        for s in strategies:
            self.run(s, executions=executions)
            if self.stopped:
                break
        return dict(self.results)

    @reported
    def start(self, strategy: str = "random", **kw) -> threading.Thread:
        """Like run() or compare() (strategy="all"), in a background thread."""
        if self._thread is not None and self._thread.is_alive():
            raise LabkitError("an exploration is already running; press Stop or wait for it")
        target = (lambda: self.compare(**kw)) if strategy == "all" else (lambda: self.run(strategy, **kw))
        return self._launch(target)

    @property
    def shortest_failing(self):
        """The failing execution with the fewest preemptions over every strategy run so far."""
        found = [r.shortest_failing for r in self.results.values() if r.shortest_failing is not None]
        return min(found, key=lambda o: (o.preemptions, o.steps), default=None)

    @reported
    def plot(self):
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

    # ---- batches ------------------------------------------------------------------------
    def _sampled(self, strategy, n, seed):
        parts, done, curve = [], 0, []
        k = 0
        while done < n and not self._stop.is_set():
            size = min(self.batch, n - done)
            with simulator(wait=60):
                parts.append(explore(self.program, strategy, seed=batch_seed(seed, k), executions=size))
            done += size
            k += 1
            curve.append((done, sum(_failures(p) for p in parts)))
            self._progress(done, n, f"{strategy}: {done}/{n} executions, {curve[-1][1]} failing")
        self.stopped = done < n
        if self.stopped:
            self.message = f"stopped after {done} of {n} executions"
        self.curves[strategy] = curve
        return merge(parts, strategy, seed)

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

    def _progress(self, value, total, text):
        self._bar.max = max(1, total)
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


def merge(parts, strategy, seed) -> ExploreResult:
    """One ExploreResult from the batches of one sampled run."""
    outcomes, races, keys, seen = {}, [], set(), set()
    for p in parts:
        for k, v in p.outcomes.items():
            outcomes[k] = outcomes.get(k, 0) + v
        for r in p.races:
            key = (r.first.function, r.first.line, r.second.function, r.second.line)
            if key not in keys:
                keys.add(key)
                races.append(r)
        seen |= p.outcome_set
    failing = [p.shortest_failing for p in parts if p.shortest_failing is not None]
    first = parts[0] if parts else None
    return ExploreResult(
        strategy=strategy, seed=seed, executions=sum(p.executions for p in parts), outcomes=outcomes,
        shortest_failing=min(failing, key=lambda o: (o.preemptions, o.steps), default=None),
        seconds=sum(p.seconds for p in parts), program=first.program if first else {},
        naive_interleavings=first.naive_interleavings if first else None, races=races,
        outcome_set=seen)


def _failures(result) -> int:
    return result.executions - result.outcomes.get("ok", 0)


def _failing_text(result) -> str:
    """How many failed, and a share only where a share means something (a sampled run)."""
    n = _failures(result)
    if result.exhaustive or result.strategy not in SAMPLED:
        return f"{n:4} failing (one execution per class of equivalent schedules: not a rate)"
    return f"{n:4} failing ({100 * n / max(1, result.executions):.2f}% of sampled runs)"


def _whole(value, what, low):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise LabkitError(f"{what} must be a whole number of at least {low}, not {value!r}")
    return value
