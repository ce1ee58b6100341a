"""labkit.widgets (layer 5): thin ipywidgets front-ends over the layers below.

Design note: a widget here holds no machinery of its own. It drives an API of a lower layer
(labkit.sched, labkit.kernel, labkit.postmortem, labkit.native) and adds only buttons, lanes,
progress bars and plots; it never imports labkit.grading or labkit.cli. Every widget is a plain
object with a small method API (what its buttons call, so tests and a browser can drive it), a
live view (`.widget`, shown when it is the value of a cell), and a plain-text repr for static
pages and nbval. Long work runs in a background thread or in small batches, shows a progress
bar and can be stopped. Buttons carry stable CSS classes (`labkit-...`) for browser tests.

    Question(qid, prompt, answer, *, choices, kind, explanation)   predict, then reveal; answers
                                      are recorded (labkit.config.ANSWERS_FILE) before the reveal
    ask(qid)                          the course's question qid (widgets/questions.py): no answer
                                      in a notebook's shown source
    answer_store.load()               every recorded answer, for the grader side
    SchedulerWidget(scenario, fix=)   you are the scheduler: step R and W over a Stepper, undo,
                                      reset, see the race warning and the panic, copy the schedule
    plot_lanes(program, schedule)     the lanes of an interleaving, as a matplotlib figure
    ExplorerWidget(scenario, seed=0)  random vs PCT vs exhaustive (dpor): counts, how rare the
                                      failures are, the shortest failing schedule, a plot
    NativeRaceWidget(fix, window_ns=, seed=0)   the C race on real threads: run/stop with a
                                      progress bar, repeated runs and their time to first
                                      overflow, a real crash in a child, the forced interleaving, TSan
    StackExplorer, MdbConsole         the seed's panic stack frame by frame, and a small mdb over
                                      the simulated dump (labkit.postmortem)
    LevelWidget(n), LEVELS            the scheduler as a game: five levels, each a goal, hints
                                      after failed tries, the pass recorded like an answer
    PracticeWidget(seed=0)            a seeded schedule: predict its outcome, then the reveal
    progress()                        questions answered, levels and exercises passed

Layout: _base.py (the shared text/live display), answer_store.py (the answers file), question.py,
lanes.py (the lane picture), scheduler.py, levels.py, practice.py, progress.py, explorer.py, native_race.py, stack_explorer.py,
mdb_console.py.
"""

from labkit.widgets import answer_store
from labkit.widgets.explorer import ExplorerWidget
from labkit.widgets.lanes import plot_lanes
from labkit.widgets.levels import LEVELS, LevelWidget
from labkit.widgets.mdb_console import MdbConsole
from labkit.widgets.native_race import NativeRaceWidget
from labkit.widgets.practice import PracticeWidget
from labkit.widgets.progress import progress
from labkit.widgets.question import Question, ask
from labkit.widgets.scheduler import SchedulerWidget
from labkit.widgets.stack_explorer import StackExplorer

__all__ = ["Question", "ask", "answer_store", "plot_lanes", "SchedulerWidget", "ExplorerWidget",
           "NativeRaceWidget", "StackExplorer", "MdbConsole", "LEVELS", "LevelWidget",
           "PracticeWidget", "progress"]
