"""What every labkit widget shares: a plain-text form next to the live one.

Design note: a widget object here is a plain Python object that *has* an ipywidgets box
(`.widget`) rather than *being* one, so its methods (step, run, answer_with, ...) stay a small,
documented API that tests and a browser can drive, and its `__repr__` is the text a static page
or nbval shows. Jupyter asks `_repr_mimebundle_` for both at once: the live view for the browser,
our repr as text/plain for everything else.
"""

import contextlib
import functools
import threading
from typing import Any

import ipywidgets as W

from labkit.errors import LabkitError
from labkit.sched import exclusive


class LabWidget:
    """Base class: subclasses build `self.widget` (with a `self._message` HTML) and `__repr__`."""

    widget: W.Widget
    message: str = ""
    _message: W.HTML          # where refusals are shown
    _plot_out: W.Output       # where the Plot button draws (widgets that have one)

    def plot(self) -> Any:
        """The widget's picture (a matplotlib figure), for widgets with a Plot button."""
        raise NotImplementedError

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        data = self.widget._repr_mimebundle_(include=include, exclude=exclude, **kwargs)
        if isinstance(data, tuple):            # (data, metadata) in some ipywidgets versions
            data, meta = data
        else:
            meta = {}
        data = dict(data or {})
        data["text/plain"] = repr(self)
        return data, meta

    def _report(self, err) -> None:
        """A refusal, kept for the repr and shown in the widget."""
        self.message = str(err)
        self._message.value = error_html(err)

    def _show_plot(self, _=None) -> None:
        """The Plot button: the widget's plot() into its Output area (a refusal goes to the message)."""
        fig = self.plot()
        self._plot_out.outputs = ()
        if fig is not None:
            # append_display_data, not `with out: display()`: it works from any thread (a
            # background run's button) and needs no kernel capturing output at that moment
            self._plot_out.append_display_data(fig)

    @staticmethod
    def _guard(message_widget: W.HTML, fn):
        """Wrap a button callback: a LabkitError becomes one sentence in the widget, never a
        traceback in the browser's log, and whatever the learner typed stays where it was."""
        def handler(*_):
            message_widget.value = ""
            try:
                fn()
            except LabkitError as err:
                message_widget.value = error_html(err)
        return handler


class Background:
    """Mixin for widgets whose long actions run in a thread, so the notebook stays responsive.

    The action polls `self._stop` (a threading.Event) and ends early when Stop sets it; a
    background thread has no cell to print a traceback in, so whatever it raises becomes the
    widget's message.
    """

    def _init_background(self):
        self._stop = threading.Event()
        self._stopped_by_user = False
        self._thread = None

    def _launch(self, fn) -> threading.Thread:
        self._stop.clear()          # here, not in the thread: a stop() right after start() counts
        self._stopped_by_user = False
        self._thread = threading.Thread(target=self._background(fn), daemon=True)
        self._thread.start()
        return self._thread

    def _background(self, fn):
        def body():
            try:
                fn()
            except Exception as err:
                self._report(err if isinstance(err, LabkitError) else f"{type(err).__name__}: {err}")
            finally:
                self._finished()
        return body

    def _finished(self):
        """Called in the thread when the action ends; subclasses may clear a busy flag."""

    def stop(self) -> None:
        self._stopped_by_user = True
        self._stop.set()

    def wait(self, timeout=None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def reported(method):
    """For a widget's actions: a LabkitError (bad input, busy, a learner's code that stopped)
    becomes the widget's message and the action returns None, as a button click would; the
    learner sees one sentence, never a traceback, and nothing they did is lost."""
    @functools.wraps(method)
    def action(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except LabkitError as err:
            self._report(err)
            return None
        except Exception as err:        # a bug of labkit's: say so in the widget, not in a log
            self._report(unexpected(err))
            return None
    return action


def unexpected(err: Exception) -> str:
    """One line for an error labkit did not expect (a click handler's traceback goes nowhere)."""
    return f"labkit hit an unexpected error, please report it: {type(err).__name__}: {err}"


def button(description: str, css: str, *, tooltip: str = "", style: str = "", disabled=False) -> W.Button:
    """A button with a stable CSS class, so browser tests find it without depending on layout."""
    b = W.Button(description=description, tooltip=tooltip or description, button_style=style,
                 disabled=disabled, layout=W.Layout(width="auto"))
    b.add_class(css)
    return b


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def error_html(err) -> str:
    return f"<span class='labkit-error' style='color:#b00'>{escape(str(err))}</span>"


#: How long a click waits for the simulator (another thread's execution) before saying it is busy.
SIM_WAIT_S = 3.0


def simulator(wait: float = SIM_WAIT_S) -> contextlib.AbstractContextManager[None]:
    """Hold the simulator around a widget action of several calls (a Stepper click): the
    global-execution lock of labkit.sched (sched.exclusive), with a click's short wait. A
    background exploration takes it one execution at a time, so a click waits at most one."""
    return exclusive(wait)
