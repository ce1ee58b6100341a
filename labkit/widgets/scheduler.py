"""You are the scheduler: step the reader and the writer by hand over labkit.sched.Stepper.

    sw = SchedulerWidget()             # Scenario.small(), the buggy kernel; fix="lock"/"count" too
    sw.step("W", 12); sw.step("R", 25); sw.step("W")   # the race detector speaks here
    sw.run("R")                        # ... and the kernel panics in bcopy
    sw.schedule                        # "W12 R25 W1 R2": copy it, replay it
    sw.undo(); sw.reset(); sw.follow("W12 R25")
    sw.plot()                          # the lanes of what you scheduled, as a figure

Design note: every action is a Stepper call followed by a redraw; the widget keeps no state the
Stepper does not have, so what you see is exactly what `repr(sw.stepper)` says. A refused action
(a thread that cannot run, a run that has ended, a malformed schedule) becomes a message in the
widget and changes nothing. The simulation is deterministic: there is no seed to choose.

Browser hooks (CSS classes): each lane `labkit-sched-lane labkit-lane-R`; its buttons
`labkit-sched-step` ("Step R"), `labkit-sched-stepn` ("Step R ×N"), `labkit-sched-run` ("Run R");
`labkit-sched-n` (N), `labkit-sched-undo`, `labkit-sched-reset`, `labkit-sched-schedule` (the
schedule string), `labkit-sched-follow-input` + `labkit-sched-follow`, `labkit-sched-plot`,
`labkit-sched-race` (the race detector's warning), `labkit-sched-panic` (the outcome),
`labkit-sched-message` (refusals).
"""

from typing import TYPE_CHECKING

import ipywidgets as W

from labkit.errors import LabkitError
from labkit.kernel import SMALL_KSTATS, Scenario
from labkit.kernel.state import CodeView, KernelState, code_only, kernel_frame, reader_text, state_view
from labkit.sched import Outcome, Race, Stepper, recipe_text
from labkit.widgets._base import (LabWidget, button, error_html, escape, reported, simulator,
                                  unexpected)
from labkit.widgets.dump_actions import DumpActions
from labkit.widgets.lanes import plot_lanes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from labkit.widgets.mdb_console import MdbConsole

STATE_COLORS = {"runnable": "#2a7", "spinning": "#c80", "blocked": "#b33", "finished": "#888"}


class SchedulerWidget(LabWidget):
    def __init__(self, scenario=None, *, fix="none", kstats: int = SMALL_KSTATS, n: int = 5):
        self.program = scenario if scenario is not None else Scenario(kstats, fix)
        with simulator():
            self.stepper = Stepper(self.program)
        self.message = ""
        self.on_change: list = []  # callables run after every action (a level checks its goal)
        self._build(n)
        # "Open in mdb" / "Save dump" of the run's end (labkit.widgets.dump_actions)
        self.dumps = DumpActions(lambda: self.program, lambda: self.schedule, lambda: self.stepper.done)
        self.widget.children += (self.dumps.widget,)
        with simulator():
            self._refresh()

    # ---- what the buttons call (and tests, and the browser) -----------------------------
    def step(self, name: str, count: int = 1) -> "SchedulerWidget":
        return self._act(lambda: self.stepper.step(name, count))

    def run(self, name: str) -> "SchedulerWidget":
        return self._act(lambda: self.stepper.run(name))

    def undo(self, n: int = 1) -> "SchedulerWidget":
        if not self.stepper.steps:
            return self._act(lambda: _refuse("nothing to undo: no step taken yet"))
        return self._act(lambda: self.stepper.undo(n))

    def reset(self) -> "SchedulerWidget":
        return self._act(self.stepper.reset)

    def follow(self, schedule: str) -> "SchedulerWidget":
        """Apply a schedule string ("R5 W9 R") from where the run is now."""
        return self._act(lambda: self.stepper.follow(schedule))

    def open_in_mdb(self) -> "MdbConsole | None":
        """An MdbConsole on the crash dump of this run's panic, deadlock or hang."""
        return self.dumps.open_in_mdb()

    def save_dump(self, path: str = "my-run.dump") -> str | None:
        """Write the crash dump of this run's end to path (for labkit mdb --dump path)."""
        return self.dumps.save(path)

    @reported
    def plot(self) -> "Figure | None":
        """The lanes of the steps taken so far, as a matplotlib figure."""
        with simulator():
            return plot_lanes(self.program, self.schedule,
                              title=f"{self.program!r}: {self.schedule or 'no steps yet'}")

    @property
    def schedule(self) -> str:
        return self.stepper.schedule

    @property
    def outcome(self) -> Outcome | None:
        return self.stepper.outcome

    @property
    def races(self) -> list[Race]:
        return self.stepper.races

    def code_views(self) -> dict:
        """Per thread: the kernel function it is in and its current line (a CodeView), or None
        once it has finished."""
        return {t.name: (None if t.finished else kernel_frame(t)) for t in self.stepper.exe.threads}

    def kernel_state(self) -> KernelState:
        """The shared state that matters (labkit.kernel.state.KernelState), read now."""
        return state_view(self.stepper.instance.kernel, self.stepper.exe.threads)

    @property
    def replay_command(self) -> str:
        return recipe_text(self.program.recipe(self.schedule))

    def _act(self, fn) -> "SchedulerWidget":
        self.message = ""
        try:
            with simulator():
                try:
                    fn()
                except LabkitError as err:
                    self.message = str(err)
                except Exception as err:     # a bug of labkit's: shown, not lost in a log
                    self.message = unexpected(err)
                self._refresh()
        except LabkitError as busy:      # the simulator is busy elsewhere: nothing changed
            self.message = str(busy)
            self._message.value = error_html(busy)
        for listener in self.on_change:
            listener(self)
        return self

    # ---- the live view ------------------------------------------------------------------
    def _build(self, n):
        self._n = W.BoundedIntText(value=n, min=1, max=100_000, description="N", layout=W.Layout(width="130px"))
        self._n.add_class("labkit-sched-n")
        self._lanes = {}
        lanes = []
        for name in self.program.thread_names:
            info = W.HTML()
            step1 = button(f"Step {name}", "labkit-sched-step", tooltip=f"let {name} take one step")
            stepn = button(f"Step {name} ×N", "labkit-sched-stepn", tooltip=f"let {name} take N steps")
            runb = button(f"Run {name}", "labkit-sched-run", tooltip=f"let {name} run until it blocks or ends")
            step1.on_click(lambda _, t=name: self.step(t))
            stepn.on_click(lambda _, t=name: self.step(t, self._n.value))
            runb.on_click(lambda _, t=name: self.run(t))
            for b in (step1, stepn, runb):
                b.add_class(f"labkit-lane-{name}")
            lane = W.VBox([W.HBox([step1, stepn, runb]), info],
                          layout=W.Layout(border="1px solid #ccc", padding="4px", margin="2px",
                                          width=f"{max(30, 96 // len(self.program.thread_names))}%"))
            lane.add_class("labkit-sched-lane")
            lane.add_class(f"labkit-lane-{name}")
            self._lanes[name] = (info, (step1, stepn, runb))
            lanes.append(lane)
        undo = button("Undo", "labkit-sched-undo", tooltip="take back the last step")
        reset = button("Reset", "labkit-sched-reset", tooltip="start again from the beginning")
        plot = button("Plot lanes", "labkit-sched-plot", tooltip="draw the interleaving so far")
        undo.on_click(lambda _: self.undo())
        reset.on_click(lambda _: self.reset())
        self._schedule = W.Text(description="schedule", layout=W.Layout(width="420px"))
        self._schedule.add_class("labkit-sched-schedule")
        self._follow_in = W.Text(placeholder="e.g. R5 W9 R", layout=W.Layout(width="200px"))
        self._follow_in.add_class("labkit-sched-follow-input")
        follow = button("Follow", "labkit-sched-follow", tooltip="apply this schedule from here")
        follow.on_click(lambda _: self.follow(self._follow_in.value))
        self._replay = W.HTML()
        self._message = W.HTML()
        self._message.add_class("labkit-sched-message")
        self._race = W.HTML()
        self._race.add_class("labkit-sched-race")
        self._panic = W.HTML()
        self._panic.add_class("labkit-sched-panic")
        self._plot_out = W.Output()
        plot.on_click(self._show_plot)
        self._state = W.HTML()
        self._state.add_class("labkit-sched-state")
        # Keyboard steps: ipywidgets has no key events, but a text box that reacts to each
        # character typed is one. The box empties itself after every key.
        letters = "/".join(n.lower() for n in self.program.thread_names)
        self._keys = W.Text(placeholder=f"keys: {letters} step, u undo", continuous_update=True,
                            layout=W.Layout(width="190px"))
        self._keys.add_class("labkit-sched-keys")
        self._keys.observe(self._on_key, names="value")
        self.widget = W.VBox([
            W.HTML(f"<b>You are the scheduler</b> — {escape(repr(self.program))}"),
            W.HBox(lanes, layout=W.Layout(align_items="flex-start")),
            self._state,
            W.HBox([self._n, undo, reset, plot, self._keys]),
            W.HBox([self._schedule, self._follow_in, follow]),
            self._replay, self._message, self._race, self._panic, self._plot_out])
        self.widget.add_class("labkit-scheduler")

    def _on_key(self, change):
        typed = change["new"]
        if not typed:
            return
        self._keys.value = ""
        key = typed[-1]
        if key.upper() in self.program.thread_names:
            self.step(key.upper())
        elif key in "uU":
            self.undo()
        else:
            self._act(lambda: _refuse(f"the key {key!r} does nothing here; keys: "
                                      f"{', '.join(n.lower() for n in self.program.thread_names)} "
                                      "step that thread, u undoes a step"))

    def _refresh(self):
        s = self.stepper
        runnable = set(s.runnable)
        code = self.code_views()
        for view in s.threads():
            info, buttons = self._lanes[view.name]
            info.value = _lane_html(view, code.get(view.name))
            for b in buttons:
                b.disabled = view.name not in runnable
        self._state.value = _state_html(self.kernel_state())
        self._schedule.value = s.schedule
        self._replay.value = (f"<small>replay it: <code>{escape(self.replay_command)}</code></small>"
                              if s.steps else "")
        self._message.value = error_html(self.message) if self.message else ""
        self._race.value = "" if not s.races else (
            "<pre style='border:2px solid #c00;background:#fee;padding:4px;white-space:pre-wrap'>"
            "⚠ race detector: " + escape(str(s.races[0])) + "</pre>")
        self._panic.value = "" if not s.done else (
            f"<pre style='border:2px solid {'#2a2' if s.outcome.kind == 'ok' else '#000'};"
            f"padding:4px;white-space:pre-wrap'>{escape(_outcome_text(s.outcome))}</pre>")

    def __repr__(self):
        s, code = self.stepper, self.code_views()
        lines = [f"SchedulerWidget on {self.program!r}",
                 f"schedule so far: {s.schedule or '(none)'}  ({s.steps} steps)"]
        for view in s.threads():
            where = code.get(view.name)
            lines.append(f"{view.name}: {view.state}" if where is None else
                         f"{view.name}: {view.state:9} next: {view.next_access}  [{where}]")
        lines.append(str(self.kernel_state()))
        if s.races:
            lines.append(str(s.races[0]))
        lines.append(str(s.outcome) if s.done else f"runnable: {', '.join(s.runnable) or 'none'}")
        text = "\n".join(lines)
        return text + (f"\nrefused: {self.message}" if self.message else "")


def _refuse(message):
    raise LabkitError(message)


def _lane_html(view, code) -> str:
    color = STATE_COLORS.get(view.state, "#333")
    head = f"<b>{view.name}</b> <span style='color:{color}'>[{view.state}]</span>"
    if view.state == "finished" or code is None:
        return head
    callers = " ← ".join((code.function,) + code.callers[:4])
    return (f"{head} next: <b>{escape(view.next_access)}</b><br>"
            f"<small>in {escape(callers)}</small>" + code_html(code))


def code_html(code: CodeView) -> str:
    """A kernel function's source with its current line marked (▶, highlighted)."""
    rows = []
    for i, text in enumerate(code.source):
        n = code.first_line + i
        here = n == code.line
        # The model's comments explain the model (and would give the game away): the view
        # shows the code only.
        text = code_only(text)
        if text is None:
            continue
        style = " style='background:#ffe58a;font-weight:bold'" if here else ""
        cls = " class='labkit-code-current'" if here else ""
        rows.append(f"<span{cls}{style}>{'▶' if here else ' '}{n:4} {escape(text)}</span>")
    return ("<pre class='labkit-sched-code' style='font-size:11px;line-height:1.25;max-height:22em;"
            "overflow:auto;margin:2px 0;padding:2px;background:#f7f7f7'>" + "\n".join(rows) + "</pre>")


CHAIN_SHOWN = 12    # a seed-scale chain has 5698 kstats: show its ends and every interesting one


def _state_html(st) -> str:
    entries = list(st.chain)
    if len(entries) > CHAIN_SHOWN:
        keep = {0, 1, len(entries) - 1, len(entries) - 2}
        keep |= {i for i, e in enumerate(entries) if e.invalid or e.held_by}
        entries = [e if i in keep else None for i, e in enumerate(entries)
                   if i in keep or (i - 1) in keep]
    cells = []
    for e in entries:
        if e is None:
            cells.append("<td>…</td>")
            continue
        flag = "<b style='color:#b33'>INVALID</b>" if e.invalid else "valid"
        held = f"<br>held by {e.held_by}" if e.held_by else ""
        cells.append(f"<td title='{escape(e.name)}' style='border:1px solid #bbb;padding:1px 4px'>"
                     f"kid {e.kid}<br>{flag}{held}</td>")
    owner = (f"owner <b>{st.lock_owner}</b>" if st.lock_owner else "free")
    rows = [f"<b>kstat_avl_bykid</b> (kid order)<table class='labkit-sched-chain' "
            f"style='border-collapse:collapse'><tr>{''.join(cells)}</tr></table>",
            f"<b>kstat_chain_lock</b>: <span class='labkit-sched-lock'>{owner}, waiters bit "
            f"{int(st.lock_waiters)}</span> <small>(owner word {st.lock_word:#x})</small>"]
    for r in st.readers:
        rows.append(f"<span class='labkit-sched-reader'><b>{r.thread}</b>: {escape(reader_text(r))}</span>")
    return "<div style='margin:4px 0'>" + "<br>".join(rows) + "</div>"


def _outcome_text(outcome) -> str:
    if outcome.kind == "ok":
        return f"finished normally: {outcome.result!r}"
    rec = outcome.panic
    return str(rec) if rec is not None else str(outcome)
