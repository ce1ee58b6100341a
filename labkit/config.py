"""Defaults, each a documented field with an environment override.

CI and nbval shrink work by setting the environment, never by editing notebooks
(the idea is Loom's LOOM_MAX_PREEMPTIONS). Every random choice in labkit takes a seed
that defaults to SEED, and every result echoes the seed it used.
"""

import os


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw, 0)
    except ValueError:
        raise SystemExit(f"labkit: environment variable {name}={raw!r} is not a whole number") from None


#: The seed every random choice starts from unless told otherwise.
SEED = _int_env("LABKIT_SEED", 0)

#: Scheduling points one simulated execution may take before it is called a hang.
STEP_BUDGET = _int_env("LABKIT_STEP_BUDGET", 200_000)

#: Executions the random and PCT strategies try by default.
RANDOM_EXECUTIONS = _int_env("LABKIT_RANDOM_EXECUTIONS", 200)

#: Default widening of the native reader's allocate-and-zero step, in nanoseconds (the teaching window).
WINDOW_NS = _int_env("LABKIT_WINDOW_NS", 5_000)

#: Where Question widgets record a learner's answers (a JSON file; format in labkit.widgets.question).
#: The grader side reads the same file, so it lives outside the repository by default.
ANSWERS_FILE = os.path.expanduser(os.environ.get("LABKIT_ANSWERS") or "~/.labkit/answers.json")

#: Processes an exhaustive (dpor) search may use: with 2 or more, and more than one CPU, the
#: branches of its first choice are split between this process and a forked child.
WORKERS = _int_env("LABKIT_WORKERS", 2)
