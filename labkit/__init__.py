"""labkit: the kstat race lab (illumos bug 4997), simulated, reproduced natively, dissected post
mortem, and fixed. This is the front door: a notebook, a script or a test imports from here
(and from labkit.widgets), never from the modules below.

    from labkit import Scenario, replay, explore
    out = replay(Scenario.small(), "W12 R25 W1 R")     # one run along a schedule -> Outcome
    res = explore(Scenario.small(), "random", seed=0)  # a search -> ExploreResult (seed echoed)

The verbs:
    Scenario(kstats, fix)      the reader (R) against zone_create (W) on a simulated kernel
    replay(program, schedule)  one execution along a schedule string ("R5 W9 R")
    explore(program, strategy, seed=, executions=, progress=, stop=)   dpor | dfs | random | pct
    outcomes(program, strategy, ...)   the same search, one Outcome at a time
    Stepper(program)           be the scheduler: step, run, follow, undo
    practice(seed)             a seeded short schedule to predict the outcome of (notebook 4)
    check(name)                check one of your exercises (labkit.grading), points and why
    widgets                    the notebooks' widgets (labkit.widgets)

Layout, lowest layer first (each imports only the layers listed before it):
    errors, config, fixes LabkitError; every default and LABKIT_* variable; the fixes' names
    sched/                the deterministic scheduler: threads, scheduling points, mutex and
                          condition variable, schedules, replay, Stepper, searches (DPOR, random,
                          PCT), the race detector; strategies/ holds only the choosers
    kernel/               the simulated illumos kernel: kstat_t's layout, the chain and its lock,
                          install, the header kstat's update and snapshot, the fixes
    postmortem/           the seed's panic as data, decoders, crash dumps, a small mdb
    native/               the same race in C on real pthreads (detect, crash, forced, TSan)
    widgets/              ipywidgets front-ends over the layers above
    grading/              checks with points, the isolated runner, reports, authoring
    classroom/            a course for a room: the student release, the autograder build
    cli/                  the `labkit` command

Every name here is imported on first use, so `import labkit` stays fast (well under 100 ms).
"""

import importlib
from typing import Any

# name -> (module, attribute); attribute None: the module itself
_EXPORTS: dict[str, tuple[str, str | None]] = {
    # the simulator
    "Scenario": ("labkit.kernel", "Scenario"),
    "SMALL_KSTATS": ("labkit.kernel", "SMALL_KSTATS"),
    "SEED_KSTATS": ("labkit.kernel", "SEED_KSTATS"),
    "FIXES": ("labkit.kernel", "FIXES"),
    "load_variant": ("labkit.kernel", "load_variant"),
    "replay": ("labkit.sched", "replay"),
    "explore": ("labkit.sched", "explore"),
    "outcomes": ("labkit.sched", "outcomes"),
    "Stepper": ("labkit.sched", "Stepper"),
    "STRATEGIES": ("labkit.sched", "STRATEGIES"),
    "parse_schedule": ("labkit.sched", "parse_schedule"),
    "practice": ("labkit.kernel.practice", "practice"),
    # the kernel's source, to read (inspect.getsource) next to the real illumos code
    "kstat_fr": ("labkit.kernel.kstat_fr", None),
    "kstat_drv": ("labkit.kernel.kstat_drv", None),
    "layout": ("labkit.kernel.layout", None),
    "variants": ("labkit.kernel.variants", None),
    # the post-mortem
    "seed_evidence": ("labkit.postmortem", "seed_evidence"),
    "seed_dump": ("labkit.postmortem", "seed_dump"),
    "decode": ("labkit.postmortem", "decode"),
    "explain_frame": ("labkit.postmortem", "explain_frame"),
    "read_data": ("labkit.postmortem", "read_data"),
    "parse_stack": ("labkit.postmortem", "parse_stack"),
    "Mdb": ("labkit.postmortem", "Mdb"),
    "replay_dump": ("labkit.postmortem", "replay_dump"),     # the dump of any run (panic, deadlock, hang)
    "load_dump": ("labkit.postmortem", "load_dump"),         # a dump file, checked (dumpfile.py)
    "SEED_DIED_AT": ("labkit.postmortem", "SEED_DIED_AT"),
    "SEED_KBUF": ("labkit.postmortem", "SEED_KBUF"),
    "MISSING": ("labkit.postmortem.frames", "MISSING"),
    # the exercises
    "check": ("labkit.grading", "check"),
    "EXERCISES": ("labkit.grading", "EXERCISES"),
    "find_exercises": ("labkit.grading.grader", "find_exercises"),
    # the rest
    "widgets": ("labkit.widgets", None),
    "config": ("labkit.config", None),
    "LabkitError": ("labkit.errors", "LabkitError"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'labkit' has no attribute {name!r}") from None
    value = importlib.import_module(module)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value          # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
