"""DumpActions: "open in mdb" and "save dump" for a widget whose run ended badly.

A small piece any widget can hold: it is given callables for the program and the schedule of
the run to dump (and whether that run has ended: a dump is of a run's end), and replays that schedule once (labkit.postmortem.replay_dump: the same run,
deterministically) when asked. "open in mdb" shows an MdbConsole on the dump below the buttons;
"save dump" writes it to the file named in the box, for `labkit mdb --dump FILE`. A run that
ended well has no dump, and says so. CSS classes for the browser tests: labkit-dump-open,
labkit-dump-save, labkit-dump-file, labkit-dump-message, labkit-dump-console.
"""

from typing import TYPE_CHECKING

import ipywidgets as W

from labkit.errors import LabkitError
from labkit.postmortem import Dump, replay_dump

from labkit.widgets._base import button, error_html, escape, simulator

if TYPE_CHECKING:                 # imported on first use (open_in_mdb): here the type only
    from labkit.widgets.mdb_console import MdbConsole

DEFAULT_FILE = "my-run.dump"


class DumpActions:
    def __init__(self, program, schedule, ended=lambda: True):
        self._program, self._schedule, self._ended = program, schedule, ended   # read at click time
        self.console = None
        self.message = ""
        self._open = button("Open in mdb", "labkit-dump-open", tooltip="debug this run's crash dump")
        self._save = button("Save dump", "labkit-dump-save", tooltip="write the dump to the file named here")
        self._file = W.Text(value=DEFAULT_FILE, layout=W.Layout(width="180px"))
        self._file.add_class("labkit-dump-file")
        self._open.on_click(lambda _: self.open_in_mdb())
        self._save.on_click(lambda _: self.save(self._file.value))
        self._message = W.HTML()
        self._message.add_class("labkit-dump-message")
        self._console_box = W.VBox()
        self._console_box.add_class("labkit-dump-console")
        self.widget = W.VBox([W.HBox([self._open, self._save, self._file]), self._message,
                              self._console_box])

    def dump(self) -> Dump:
        """The Dump of the run as it is now (LabkitError if it has not ended in a panic,
        deadlock or hang)."""
        schedule = self._schedule()
        if not schedule:
            raise LabkitError("no run to dump yet: take some steps first")
        if not self._ended():
            raise LabkitError("this run has not ended yet: a crash dump is taken when it panics, "
                              "deadlocks or hangs")
        with simulator():
            outcome, d = replay_dump(self._program(), schedule)
        if d is None:
            raise LabkitError(f"this run ended {outcome.kind!r}: only a panic, a deadlock or a "
                              "hang leaves a crash dump")
        return d

    def open_in_mdb(self) -> "MdbConsole | None":
        """An MdbConsole on this run's dump, shown below the buttons; returns it (or None)."""
        from labkit.widgets.mdb_console import MdbConsole
        try:
            self.console = MdbConsole(self.dump(), commands=["::status"])
        except LabkitError as e:
            return self._say(e)
        self._console_box.children = [self.console.widget]
        self._say("")
        return self.console

    def save(self, path: str = DEFAULT_FILE) -> str | None:
        """Write this run's dump to path; returns the path (or None, with the reason shown)."""
        try:
            if not isinstance(path, str) or not path.strip():
                raise LabkitError("name the file to write the dump to, e.g. my-run.dump")
            self.dump().save(path.strip())
        except (LabkitError, OSError) as e:
            return self._say(e)
        self._say("")
        self._message.value = (f"dump written to <code>{escape(path.strip())}</code>; open it with "
                               f"<code>labkit mdb --dump {escape(path.strip())}</code>")
        self.message = f"dump written to {path.strip()}"
        return path.strip()

    def _say(self, err):
        self.message = str(err)
        self._message.value = error_html(err) if self.message else ""
        return None

    def __repr__(self):
        return f"<DumpActions: {self.message or 'open in mdb / save dump'}>"
