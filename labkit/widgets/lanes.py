"""The lanes of an interleaving, as a picture: one row per thread, one box per step.

Design note: a schedule string says which thread ran at each step but not what it did, so
`trace()` walks the schedule again one step at a time on a fresh Stepper (a program plus a
schedule is deterministic, so this is the same run) and notes each step's function and access.
That costs a few milliseconds a step: meant for the small scenario and for schedules a learner
made by hand, not for seed-scale runs of 100,000 steps.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from labkit.errors import LabkitError
from labkit.sched import Stepper, parse_schedule
from labkit.sched.program import Program

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Beyond this many steps a per-step picture is unreadable (and slow to trace).
MAX_STEPS = 2_000


@dataclass(frozen=True)
class TraceStep:
    number: int          # 1-based, as the race detector counts steps
    thread: str
    function: str
    line: int
    access: str


def trace(program: Program, schedule: str) -> tuple[list[TraceStep], Stepper]:
    """(steps, outcome) of the run that follows `schedule` on `program`."""
    names = parse_schedule(schedule, program.thread_names).names() if schedule else []
    if len(names) > MAX_STEPS:
        raise LabkitError(f"a lane picture of {len(names)} steps would be unreadable; "
                          f"plot at most {MAX_STEPS} (use the small scenario)")
    s = Stepper(program)
    steps = []
    for name in names:
        if s.done:
            break
        view = next(v for v in s.threads() if v.name == name)
        steps.append(TraceStep(s.steps + 1, name, view.function, view.line, view.next_access))
        s.step(name)   # a step the schedule cannot take raises a LabkitError saying why
    return steps, s


def plot_lanes(program: Program, schedule: str, *, title: str = "") -> "Figure":
    """A matplotlib Figure of the interleaving: each step a box in its thread's lane, coloured
    by the function it ran in (so the count pass, the allocation and the copy stand out), with
    the race detector's warnings and the panic marked."""
    import matplotlib.pyplot as plt

    steps, stepper = trace(program, schedule)
    names = list(program.thread_names)
    fig, ax = plt.subplots(figsize=(10, 1.4 + 0.6 * len(names)))
    cmap = plt.get_cmap("tab20")
    palette = [cmap(i) for i in range(cmap.N)]     # its 20 colours, as RGBA
    colors: dict[str, object] = {}
    for st in steps:
        color = colors.setdefault(st.function, palette[len(colors) % len(palette)])
        ax.broken_barh([(st.number - 1, 1)], (names.index(st.thread) - 0.3, 0.6),
                       facecolors=color, edgecolors="white", linewidth=0.3, label=f"{st.function}()")
    for race in stepper.races:
        s = race.second
        ax.plot([s.step - 0.5], [names.index(s.thread) - 0.45], marker="v", color="red",
                markersize=9, linestyle="none", label="data race: " + _short(s.what))
    outcome = stepper.outcome
    if stepper.done and outcome is not None and outcome.kind != "ok":
        rec = outcome.panic
        who = rec.panic_thread if rec is not None else steps[-1].thread if steps else names[0]
        ax.plot([len(steps) + 0.3], [names.index(who)], marker="X", color="black", markersize=12,
                linestyle="none", label=outcome.kind)
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.4, -0.8)
    ax.set_xlim(0, max(1, len(steps)) + 1)
    ax.set_xlabel("scheduling step")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if unique:
        ax.legend(unique.values(), unique.keys(), loc="upper left", bbox_to_anchor=(1.0, 1.05),
                  fontsize=7, frameon=False)
    ax.set_title(title or f"schedule {schedule or '(none)'}", fontsize=9)
    fig.tight_layout()
    plt.close(fig)     # the caller displays it (once); pyplot must not show it again
    return fig


def _short(what: str) -> str:
    return what.split(" (")[0]
