"""MdbConsole: a text box and an output area over the small mdb, with history.

A thin front-end over labkit.postmortem.Mdb on a simulated dump (the seed-scale one by
default; `dump=` takes a Dump or the path of a dump file, e.g. one `labkit replay --dump` wrote). Each command's output shows as at mdb's prompt, followed by the command to type on
a real illumos system. `run(cmd)` is what Enter and the Run button do; the history is a list of
MdbResults, and a dropdown puts a past command back in the box. Long outputs (::walk kstat at
seed scale is 5699 lines) are cut in the view, never in the history.
"""

import ipywidgets as W

from labkit.errors import LabkitError
import os

from labkit.postmortem import Dump, Mdb, load_dump, seed_dump
from labkit.postmortem.mdb import MdbResult
from labkit.widgets._base import LabWidget, button, escape, reported

MAX_LINES = 60          # lines of one output shown in the live view and the repr


class MdbConsole(LabWidget):
    def __init__(self, dump=None, *, scenario: str = "seed", commands=()):
        if isinstance(dump, (str, os.PathLike)):
            dump = load_dump(dump)          # a file that is not a dump: a clear LabkitError
        self.mdb = Mdb(seed_dump(scenario) if dump is None else dump)
        d: Dump = self.mdb.dump
        self.scenario = d.scenario or "custom"
        self.title = f"scenario {self.scenario}" + ("" if d.kind == "panic" else f", a {d.kind}")
        self.message = ""
        self._build()
        for c in commands:
            self.run(c)

    @classmethod
    def reconstruct_exercise(cls, path: str = "reconstruct.dump", *, seed: int | None = None) -> "MdbConsole":
        """Write the dump of exercise 8 (reconstruct) to path and open it: made by a schedule the
        seed chose (default labkit.config.SEED, which an instructor may set), never stored."""
        from labkit.postmortem.reconstruct import exercise_dump
        return cls(dump=exercise_dump(path, seed=seed))

    @property
    def history(self) -> list:
        return self.mdb.history

    @property
    def last(self) -> MdbResult | None:
        return self.history[-1] if self.history else None

    # ---- the API the text box and buttons call -------------------------------------------
    @reported
    def run(self, command: str) -> MdbResult | None:
        if not isinstance(command, str) or not command.strip():
            raise LabkitError("type an mdb command first, for example ::status or $c")
        result = self.mdb.run(command.strip())
        self._message.value = ""
        self.message = ""
        self._show(result)
        return result

    def clear(self) -> None:
        """Empty the output area (the history stays)."""
        self._out.value = ""

    # ---- the live view ---------------------------------------------------------------------
    def _build(self):
        self._box = W.Text(placeholder="an mdb command: ::status, $c, kstat_chain_lock/K, ::dcmds",
                           continuous_update=False, layout=W.Layout(width="60%"))
        self._box.add_class("labkit-mdb-input")
        self._box.observe(self._on_enter, names="value")
        run = button("Run", "labkit-mdb-run", style="primary")
        run.on_click(lambda _: self._submit())
        clear = button("Clear", "labkit-mdb-clear")
        clear.on_click(lambda _: self.clear())
        self._past = W.Dropdown(options=[("history", "")], value="", layout=W.Layout(width="25%"))
        self._past.add_class("labkit-mdb-history")
        self._past.observe(self._recall, names="value")
        self._message = W.HTML()
        self._out = W.HTML()
        self._out.add_class("labkit-mdb-output")
        self._illumos = W.HTML()
        self._illumos.add_class("labkit-mdb-illumos")
        self.widget = W.VBox([
            W.HTML(f"<b>mdb</b> on the simulated crash dump ({escape(self.title)}). "
                   "Type a command and press Enter; <code>::dcmds</code> lists what it knows."),
            W.HBox([W.HTML("<code>&gt;</code>"), self._box, run, clear, self._past]),
            self._message, self._out, self._illumos])
        self.widget.add_class("labkit-mdb-console")

    def _on_enter(self, change):
        if change["new"].strip():
            self._submit()

    def _submit(self):
        command = self._box.value
        if self.run(command) is not None:
            self._box.value = ""

    def _recall(self, change):
        if change["new"]:
            self._box.unobserve(self._on_enter, names="value")
            self._box.value = change["new"]
            self._box.observe(self._on_enter, names="value")

    def _show(self, result):
        body = _cut(result.text)
        color = "#b00" if not result.ok else "inherit"
        self._out.value = (self._out.value + f"<pre style='margin:0;color:{color}'>&gt; "
                           f"{escape(result.command)}\n{escape(body)}</pre>")
        if result.illumos is not None:
            self._illumos.value = (f"<span style='color:#555'>On illumos: <code>"
                                   f"{escape(result.illumos.command)}</code>, "
                                   f"{escape(result.illumos.note)}</span>")
        past = list(dict.fromkeys(r.command for r in reversed(self.history)))
        self._past.unobserve(self._recall, names="value")
        self._past.options = [("history", "")] + [(c, c) for c in past]
        self._past.value = ""
        self._past.observe(self._recall, names="value")

    def __repr__(self):
        lines = [f"MdbConsole on the simulated dump ({self.title}): "
                 f"{len(self.history)} command(s) run"]
        if self.message:
            lines.append(self.message)
        r = self.last
        if r is None:
            lines.append("(type a command, or call .run('::status'))")
        else:
            lines.append(f"> {r.command}")
            if r.text:
                lines.append(_cut(r.text))
            if r.illumos is not None:
                lines.append(f"[on illumos: {r.illumos.command}  ({r.illumos.note})]")
        return "\n".join(lines)

    def display(self) -> W.VBox:
        """The live ipywidgets container."""
        return self.widget


def _cut(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= MAX_LINES:
        return text
    return "\n".join(lines[:MAX_LINES] + [f"... {len(lines) - MAX_LINES} more lines "
                                          "(the full text is in .history[-1].text)"])
