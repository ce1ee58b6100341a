"""StackExplorer: click a frame of a panic stack, read what the function does and its arguments.

A thin front-end over labkit.postmortem: the frames come from the seed's evidence (or from a
simulated dump's thread), the words from postmortem.frames, the decoded arguments from
postmortem.decode. `select(i)` is what a click does; the repr shows the stack with the selected
frame marked and its explanation, so a static page or nbval reads the same as the live view.
"""

import ipywidgets as W

from labkit.errors import LabkitError
from labkit.postmortem import Dump, explain_stack, seed_evidence
from labkit.postmortem.frames import FrameExplanation
from labkit.postmortem.mdbfmt import frame_lines
from labkit.widgets._base import LabWidget, button, escape, reported


class StackExplorer(LabWidget):
    def __init__(self, frames=None, *, title: str = "the seed's panic stack"):
        frames = seed_evidence().panic_stack if frames is None else list(frames)
        self.explanations = explain_stack(frames)
        self.title = title
        self.selected: int | None = None
        self.message = ""
        self._build()

    @classmethod
    def racing_thread(cls) -> "StackExplorer":
        """The seed's other stack: the thread found spinning on kstat_chain_lock."""
        ev = seed_evidence()
        return cls(ev.racing_thread.frames,
                   title=f"the seed's racing thread {ev.racing_thread.thread:x}")

    @classmethod
    def from_dump(cls, dump: Dump, thread: str = "R") -> "StackExplorer":
        """A thread's stack in a simulated dump (thread "R", the reader, or "W", the writer)."""
        t = next((t for t in dump.threads if t.name == thread), None)
        if t is None or not t.stack:
            raise LabkitError(f"the dump has no stack for thread {thread!r}; threads: "
                              + ", ".join(x.name for x in dump.threads))
        return cls(t.stack, title=f"thread {thread} ({t.state}) of the simulated dump")

    # ---- the API the buttons call --------------------------------------------------------
    @reported
    def select(self, frame: int | str) -> FrameExplanation | None:
        """Select a frame by its index (0 = innermost) or by its function name."""
        self.selected = self._index(frame)
        self._show()
        return self.explanations[self.selected]

    def _index(self, frame) -> int:
        names = [e.frame.function for e in self.explanations]
        if isinstance(frame, str):
            if frame not in names:
                raise LabkitError(f"no frame {frame!r} on this stack; frames: {', '.join(names)}")
            return names.index(frame)
        if isinstance(frame, bool) or not isinstance(frame, int) or not 0 <= frame < len(names):
            raise LabkitError(f"a frame is a function name or an index from 0 to {len(names) - 1}, "
                              f"not {frame!r}")
        return frame

    # ---- the live view ---------------------------------------------------------------------
    def _build(self):
        self._buttons = []
        for i, e in enumerate(self.explanations):
            b = button(" ".join(s.strip() for s in frame_lines(e.frame)), "labkit-stack-frame",
                       tooltip=f"what {e.frame.function} does")
            b.layout = W.Layout(width="auto", justify_content="flex-start")
            b.style.font_family = "monospace"
            b.on_click(lambda _, i=i: self.select(i))
            self._buttons.append(b)
        self._detail = W.HTML("<i>Click a frame to see what the function does and why it is here.</i>")
        self._detail.add_class("labkit-stack-detail")
        self._message = W.HTML()
        self.widget = W.VBox([W.HTML(f"<b>{escape(self.title)}</b> (innermost frame first)"),
                              W.VBox(self._buttons), self._message, self._detail])
        self.widget.add_class("labkit-stack-explorer")

    def _show(self):
        self._message.value = ""
        for i, b in enumerate(self._buttons):
            b.button_style = "info" if i == self.selected else ""
        e = self.explanations[self.selected]
        rows = [f"<h4 style='margin:4px 0'>{escape(e.title)}</h4>"]
        if e.note is not None:
            rows.append(f"<p><b>What it does:</b> {escape(e.note.does)}</p>")
            if e.note.why:
                tag = " <i>(inference)</i>" if e.note.inference else ""
                rows.append(f"<p><b>Why it is on this stack:</b> {escape(e.note.why)}{tag}</p>")
            if e.note.source:
                rows.append(f"<p><b>Source:</b> <code>{escape(e.note.source)}</code></p>")
        else:
            rows.append(f"<p>{escape(str(e).splitlines()[1].strip())}</p>")
        for a in e.args:
            steps = ""
            if a.decoded is not None:
                steps = "<ol>" + "".join(f"<li>{escape(s)}</li>" for s in a.decoded.steps) + "</ol>"
            rows.append(f"<p><code>{escape(a.name)} = {a.value:x}</code>: {escape(a.text)}{steps}</p>")
        for fn, why in e.hides:
            rows.append(f"<p><b>Missing right below it: <code>{escape(fn)}</code>.</b> {escape(why)}</p>")
        self._detail.value = "".join(rows)

    def __repr__(self):
        lines = [f"StackExplorer: {self.title} (innermost frame first)"]
        for i, e in enumerate(self.explanations):
            mark = ">" if i == self.selected else " "
            lines += [f"{mark} {line}" for line in frame_lines(e.frame)]
        if self.message:
            lines.append(self.message)
        if self.selected is None:
            lines.append(f"(select a frame: .select(0) or .select({self.explanations[-1].frame.function!r}))")
        else:
            lines.append("")
            lines.append(str(self.explanations[self.selected]))
        return "\n".join(lines)

    def display(self) -> W.VBox:
        """The live ipywidgets container."""
        return self.widget
