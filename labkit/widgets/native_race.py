"""The real race on real threads, over labkit.native: run it, time it, crash it, force it, TSan it.

    nw = NativeRaceWidget()                  # fix "none", window labkit.config.WINDOW_NS, seed 0
    nw.run(seconds=0.5)                      # detect mode: bounds-checked, safe -> RaceResult
    nw.repeat(10, seconds=0.5)               # time to first overflow over 10 runs (seeds 0..9)
    nw.crash()                               # a real SIGSEGV, in a child process -> CrashResult
    nw.forced()                              # the losing interleaving imposed every round
    nw.tsan()                                # ThreadSanitizer's report -> TsanResult
    nw.plot()                                # the repeated runs' times to first overflow
    nw.start("run"); nw.stop(); nw.wait()    # what the buttons do: in a background thread

Design note: the widget adds no C and no signals of its own. labkit.native already runs detect
mode with every copy bounds-checked (an overflow is counted, never performed), and runs crash
mode, a learner's C and ThreadSanitizer in child processes, so nothing a button does can kill
the notebook's kernel. The widget feeds race()'s progress callback into a progress bar and hands
it the threading.Event the Stop button sets. A repeated run stops each run at its first overflow
(that is all the plot needs) and uses seeds seed, seed+1, ...; every result echoes its seed.

Browser hooks (CSS classes): `labkit-native-fix`, `labkit-native-window` (the window slider, ns),
`labkit-native-seed`, `labkit-native-seconds`, `labkit-native-repeats`, buttons
`labkit-native-run` ("Run"), `labkit-native-stop` ("Stop"), `labkit-native-repeat` ("Repeat"),
`labkit-native-crash` ("Crash it (child process)"), `labkit-native-forced` ("Forced interleaving"),
`labkit-native-tsan` ("ThreadSanitizer"); `labkit-native-progress`, `labkit-native-status`,
`labkit-native-result`, `labkit-native-plot`, `labkit-native-message`.
"""

import contextlib
import threading
from typing import TYPE_CHECKING, Any

import ipywidgets as W

from labkit import config, native
from labkit.native import results as native_results
from labkit.errors import LabkitError, choice_error
from labkit.fixes import FIX_NAMES
from labkit.widgets._base import Background, LabWidget, button, escape, reported

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SECONDS = 1.0            # one run: a second, as the course promises
WINDOW_MAX_NS = 50_000


class NativeRaceWidget(Background, LabWidget):
    def __init__(self, fix="none", *, window_ns=None, seed=None, seconds=SECONDS, source=None):
        if source is None and fix not in FIX_NAMES:
            raise choice_error("fix", fix, FIX_NAMES)
        self.fix, self.source = fix, source
        self.window_ns = config.WINDOW_NS if window_ns is None else window_ns
        self.seed = config.SEED if seed is None else seed
        self.seconds = seconds
        self.last = {}           # "run" | "crash" | "forced" | "tsan" -> the latest result
        self.runs = []           # RaceResults of the latest repeat()
        self.sweep_rows: list[dict] = []   # the latest sweep(): rate per window, delays on and off
        self.message = ""
        self.busy = None         # what is running now, if anything
        self._init_background()
        self._build()

    # ---- the API the buttons use ----------------------------------------------------------
    @reported
    def run(self, *, seconds: float | None = None, window_ns: int | None = None, seed: int | None = None,
            stop_at_first: bool = False) -> "native_results.RaceResult | None":
        """One detect-mode run; Stop (or stop_at_first and an overflow) ends it early."""
        seconds = self.seconds if seconds is None else seconds
        with self._task("run"):
            res = self._race(seconds, window_ns, seed, stop_at_first,
                             lambda r, o, t: self._progress(t, seconds, f"{r:,} rounds, {o} overflows"))
        self.last["run"] = res
        return self._show(res)

    @reported
    def repeat(self, n: int = 10, *, seconds: float | None = None,
               window_ns: int | None = None) -> "list[native_results.RaceResult] | None":
        """n runs with seeds seed..seed+n-1, each ending at its first overflow (or after `seconds`)."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1000:
            raise LabkitError(f"repeats must be a whole number from 1 to 1000, not {n!r}")
        seconds = self.seconds if seconds is None else seconds
        self.runs = []
        with self._task("repeat"):
            for i in range(n):
                if self._stopped_by_user:
                    break
                res = self._race(seconds, window_ns, self.seed + i, True, None)
                self.runs.append(res)
                found = sum(1 for r in self.runs if r.overflows)
                self._progress(i + 1, n, f"run {i + 1}/{n}: {found} overflowed")
        self._show_text(self._repeat_text())
        return list(self.runs)

    @reported
    def crash(self, *, window_ns: int | None = None, seed: int | None = None) -> "native_results.CrashResult | None":
        """The overflow as a real page fault, in a child process: its fault address."""
        with self._task("crash"):
            self._progress(0, 1, "running in a child process ...")
            res = native.crash(self._fix(), source=self.source, seed=self.seed if seed is None else seed,
                               window_ns=self.window_ns if window_ns is None else window_ns)
            self._progress(1, 1, "child finished")
        self.last["crash"] = res
        return self._show(res)

    @reported
    def forced(self, rounds: int = 20) -> "native_results.RaceResult | native_results.CrashResult | None":
        """Impose count -> W clears -> copy on every round (deterministic, detect mode)."""
        with self._task("forced"):
            res = native.forced(self._fix(), source=self.source, rounds=rounds)
        self.last["forced"] = res
        return self._show(res)

    @reported
    def tsan(self, seconds: float = 0.5) -> "native_results.TsanResult | None":
        """ThreadSanitizer's report on the same C (built and run in a child)."""
        with self._task("tsan"):
            self._progress(0, 1, "ThreadSanitizer: building and running in a child ...")
            res = native.tsan(self._fix(), source=self.source, seconds=seconds)
            self._progress(1, 1, "ThreadSanitizer finished")
        self.last["tsan"] = res
        return self._show(res)

    @reported
    def start(self, what: str = "run", **kw: Any) -> threading.Thread:
        """Any of run, repeat, crash, forced, tsan, in a background thread (what buttons do)."""
        if what not in ("run", "repeat", "crash", "forced", "tsan"):
            raise choice_error("action", what, ("run", "repeat", "crash", "forced", "tsan"))
        if self.busy:
            raise LabkitError(f"{self.busy} is still running; press Stop or wait for it")
        self.busy = what        # claimed before the thread starts, so a second click is refused
        return self._launch(lambda: getattr(self, what)(**kw))

    @reported
    def plot(self) -> "Figure | None":
        """Time to the first overflow over the repeated runs; runs without one shown at the limit."""
        import matplotlib.pyplot as plt

        if not self.runs:
            raise LabkitError("nothing to plot yet: repeat(n) first")
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
        hit = [(i, r.time_to_first_overflow_s * 1e3) for i, r in enumerate(self.runs) if r.overflows]
        miss = [(i, r.seconds * 1e3) for i, r in enumerate(self.runs) if not r.overflows]
        if hit:
            left.plot(*zip(*hit), "o", color="#c44e52", label="first overflow")
        if miss:
            left.plot(*zip(*miss), "^", color="#888", label="none before the time limit")
        left.set_xlabel(f"run (seed {self.seed} + run)")
        left.set_ylabel("time to first overflow (ms)")
        left.legend(fontsize=8)
        times = sorted(t for _, t in hit)
        if times:
            right.step([0] + times, [0] + [(k + 1) / len(self.runs) for k in range(len(times))], where="post")
        right.set_xlabel("time (ms)")
        right.set_ylabel("fraction of runs overflowed by then")
        right.set_ylim(0, 1.05)
        r0 = self.runs[0]
        fig.suptitle(f"fix={r0.fix}, window_ns={r0.window_ns}, {len(self.runs)} runs", fontsize=9)
        fig.tight_layout()
        plt.close(fig)
        return fig

    # ---- plumbing -----------------------------------------------------------------------
    def _fix(self):
        return None if self.source is not None else self.fix

    def _race(self, seconds, window_ns, seed, stop_at_first, progress):
        stop = self._stop

        def feed(rounds, overflows, elapsed):
            if stop_at_first and overflows:
                stop.set()
            if progress is not None:
                progress(rounds, overflows, elapsed)

        res = native.race(self._fix(), source=self.source, seconds=seconds,
                          window_ns=self.window_ns if window_ns is None else window_ns,
                          seed=self.seed if seed is None else seed, progress=feed, stop=stop)
        if not self._stopped_by_user:
            stop.clear()    # our own early end at the first overflow: the next run goes on
        return res

    @contextlib.contextmanager
    def _task(self, what):
        """One thing at a time: the native race is one C global per process."""
        mine = self._thread is not None and threading.current_thread() is self._thread
        if self.busy and not mine:
            raise LabkitError(f"{self.busy} is still running; press Stop or wait for it")
        if not mine:
            self._stop.clear()
            self._stopped_by_user = False
        self.busy = what
        self.message = self._message.value = ""
        self._result.value = ""
        try:
            yield
        finally:
            self.busy = None

    def _finished(self):
        self.busy = None

    def _progress(self, value, total, text):
        self._bar.max = 1000
        self._bar.value = int(1000 * min(1.0, value / total)) if total else 0
        self._status.value = text

    def _show(self, res):
        self._show_text(str(res))
        return res

    def _show_text(self, text):
        self._result.value = f"<pre style='white-space:pre-wrap'>{escape(text)}</pre>"

    def median_first_overflow(self) -> float:
        """The median time to the first overflow over the last repeat(), in seconds (a run
        without an overflow counts as never)."""
        if not self.runs:
            raise LabkitError("no runs yet: call repeat(n) first")
        return native_results.median_first_overflow(self.runs)

    def sweep(self, windows: tuple[int, ...] | None = None, *, seconds: float = 0.4) -> list[dict]:
        """The buggy kernel's overflow rate for each window, with and without the delayed
        installs (labkit.native.sweep); kept for plot_sweep()."""
        from labkit.native.sweep import WINDOWS_NS, window_sweep
        with self._task("sweep"):
            self._progress(0, 1, "measuring each window, with and without the delayed installs ...")
            self.sweep_rows = window_sweep(WINDOWS_NS if windows is None else windows,
                                           seconds=seconds, seed=self.seed)
        self._show_text(self.sweep_text())
        return self.sweep_rows

    def sweep_text(self) -> str:
        lines = [f"window_ns  delayed installs  rounds   overflows  per second  rounds per overflow"
                 f"  (seed {self.seed})"]
        for r in self.sweep_rows:
            per = f"{r['rounds'] / r['overflows']:,.0f}" if r["overflows"] else "none seen"
            lines.append(f"{r['window_ns']:9}  {'on' if r['interrupts'] else 'off':16}  "
                         f"{r['rounds']:7}  {r['overflows']:9}  {r['overflows_per_s']:10.1f}  {per:>19}")
        return "\n".join(lines)

    def plot_sweep(self) -> "Figure":
        """The overflow rate against the window, one line with the delayed installs, one without."""
        import matplotlib.pyplot as plt

        if not self.sweep_rows:
            raise LabkitError("nothing measured yet: call sweep() first")
        fig, ax = plt.subplots(figsize=(8, 3.2))
        for on, style in ((True, "o-"), (False, "s--")):
            pts = [(r["window_ns"] / 1000, r["overflows_per_s"]) for r in self.sweep_rows
                   if r["interrupts"] == on]
            ax.plot(*zip(*pts), style, label="with delayed installs" if on else "without")
        ax.set_xlabel("window (µs) added to R's allocate-and-zero step")
        ax.set_ylabel("overflows per second")
        ax.set_title(f"buggy kernel, detect mode, this machine (seed {self.seed})")
        ax.legend()
        fig.tight_layout()
        return fig

    @staticmethod
    def c_source() -> str:
        """The C the native race runs as its kernel: the buggy kernel, as a learner's file starts."""
        with open(native.TEMPLATE, encoding="utf-8") as f:
            return f.read()

    def _repeat_text(self):
        if not self.runs:
            return "no runs yet"
        found = sum(1 for r in self.runs if r.overflows)
        head = (f"{len(self.runs)} runs (fix={self.runs[0].fix}, window_ns={self.runs[0].window_ns}, "
                f"seeds {self.seed}..{self.seed + len(self.runs) - 1}): {found} overflowed")
        median = native_results.median_first_overflow(self.runs)
        if found:
            head += ("; median time to first overflow "
                     + (f"{median * 1e3:.1f} ms" if median != float("inf") else "more than the run (most runs had none)"))
        return head

    # ---- the live view ------------------------------------------------------------------
    def _build(self):
        self._message = W.HTML()
        self._message.add_class("labkit-native-message")
        self._fix_w = W.Dropdown(options=FIX_NAMES, value=self.fix if self.source is None else "none",
                                 description="fix", disabled=self.source is not None,
                                 layout=W.Layout(width="160px"))
        self._fix_w.add_class("labkit-native-fix")
        self._window = W.IntSlider(value=min(self.window_ns, WINDOW_MAX_NS), min=0, max=WINDOW_MAX_NS,
                                   step=500, description="window (ns)", continuous_update=False,
                                   style={"description_width": "initial"}, layout=W.Layout(width="420px"))
        self._window.add_class("labkit-native-window")
        self._seed_w = W.BoundedIntText(value=self.seed, min=0, max=2**31 - 1, description="seed",
                                        layout=W.Layout(width="140px"))
        self._seed_w.add_class("labkit-native-seed")
        self._seconds_w = W.BoundedFloatText(value=self.seconds, min=0.05, max=60, step=0.5,
                                             description="seconds", layout=W.Layout(width="160px"))
        self._seconds_w.add_class("labkit-native-seconds")
        self._repeats_w = W.BoundedIntText(value=10, min=1, max=1000, description="repeats",
                                           layout=W.Layout(width="150px"))
        self._repeats_w.add_class("labkit-native-repeats")
        actions = [("Run", "labkit-native-run", "run", "primary"),
                   ("Stop", "labkit-native-stop", None, "danger"),
                   ("Repeat", "labkit-native-repeat", "repeat", ""),
                   ("Crash it (child process)", "labkit-native-crash", "crash", "warning"),
                   ("Forced interleaving", "labkit-native-forced", "forced", ""),
                   ("ThreadSanitizer", "labkit-native-tsan", "tsan", "")]
        row = []
        for label, css, what, style in actions:
            b = button(label, css, style=style)
            if what is None:
                b.on_click(lambda _: self.stop())
            else:
                b.on_click(self._guard(self._message, lambda what=what: self._click(what)))
            row.append(b)
        self._bar = W.IntProgress(value=0, min=0, max=1000)
        self._bar.add_class("labkit-native-progress")
        self._status = W.Label()
        self._status.add_class("labkit-native-status")
        self._result = W.HTML()
        self._result.add_class("labkit-native-result")
        plotb = button("Plot", "labkit-native-plot-button")
        plotb.on_click(self._show_plot)
        self._plot_out = W.Output()
        self._plot_out.add_class("labkit-native-plot")
        src = f" — your C: {escape(str(self.source))}" if self.source else ""
        self.widget = W.VBox([
            W.HTML(f"<b>The race on real threads</b>{src}"),
            W.HBox([self._fix_w, self._window]), W.HBox([self._seed_w, self._seconds_w, self._repeats_w]),
            W.HBox(row + [plotb]), W.HBox([self._bar, self._status]), self._message, self._result,
            self._plot_out])
        self.widget.add_class("labkit-native-race")

    def _click(self, what):
        self.fix = self._fix_w.value
        self.window_ns, self.seed = self._window.value, self._seed_w.value
        self.seconds = self._seconds_w.value
        kw = {"n": self._repeats_w.value} if what == "repeat" else {}
        self.start(what, **kw)

    def __repr__(self):
        what = f"source={str(self.source)!r}" if self.source else f"fix={self.fix!r}"
        lines = [f"NativeRaceWidget({what}, window_ns={self.window_ns}, seed={self.seed}, "
                 f"seconds={self.seconds})"]
        if self.busy:
            lines.append(f"  running: {self.busy}")
        for what, res in self.last.items():
            lines.append(f"  last {what}: " + str(res).replace("\n", "\n    "))
        if self.runs:
            lines.append("  " + self._repeat_text())
        if not self.last and not self.runs:
            lines.append("  nothing run yet: run(), repeat(n), crash(), forced(), tsan()")
        if self.message:
            lines.append(f"  problem: {self.message}")
        return "\n".join(lines)
