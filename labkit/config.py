"""Defaults, each a documented field with an environment override: every LABKIT_* variable
labkit reads is read here (a test holds the rest of the package to it).

CI and nbval shrink work by setting the environment, never by editing notebooks
(the idea is Loom's LOOM_MAX_PREEMPTIONS). Every random choice in labkit takes a seed
that defaults to SEED, and every result echoes the seed it used.

Fields in capitals are read once, at import; the functions at the end read their variable when
called, for settings a process may change for itself or its children (the grader's, the
course's folders).
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

#: The answers file's name inside a course's exercises/ folder (so it travels with a submission).
ANSWERS_NAME = "answers.json"


def _answers_file() -> str:
    # Inside a course (a folder with notebooks/ and exercises/, where a notebook's kernel starts),
    # answers live in its exercises/, so uploading exercises/ hands them to the instructor's grader.
    # Outside one (a Python prompt anywhere): ~/.labkit/answers.json.
    env = os.environ.get("LABKIT_ANSWERS")
    if env:
        return os.path.expanduser(env)
    exercises = os.environ.get("LABKIT_EXERCISES")
    if exercises and os.path.isdir(exercises):
        return os.path.join(exercises, ANSWERS_NAME)
    try:
        here = os.getcwd()
    except OSError:
        here = ""
    while here:
        if os.path.isdir(os.path.join(here, "notebooks")) and os.path.isdir(os.path.join(here, "exercises")):
            return os.path.join(here, "exercises", ANSWERS_NAME)
        parent = os.path.dirname(here)
        here = "" if parent == here else parent
    return os.path.expanduser("~/.labkit/answers.json")


#: Where Question widgets record a learner's answers (a JSON file; format in labkit.widgets.answer_store):
#: $LABKIT_ANSWERS, else the course's exercises/answers.json, else ~/.labkit/answers.json.
ANSWERS_FILE = _answers_file()

#: Processes an exhaustive (dpor) search may use: with 2 or more, and more than one CPU, the
#: branches of its first choice are split between this process and a forked child.
WORKERS = _int_env("LABKIT_WORKERS", 2)

#: Seconds a simulated execution waits for another OS thread's execution to finish (the
#: simulator runs one execution at a time per process) before it refuses as "busy".
SIM_WAIT_S = _int_env("LABKIT_SIM_WAIT_S", 60)


def cpu_count() -> int:
    """The CPUs this process may really use: its affinity mask, capped by a cgroup CPU quota.

    os.cpu_count() counts the machine's cores; a JupyterHub pod or a Gradescope container limited
    to one CPU by its cgroup still sees them all, and starting one check per core there makes
    wall-clock timeouts fire. `LABKIT_CPUS` overrides the answer (a whole number, at least 1).
    """
    override = _int_env("LABKIT_CPUS", 0)
    if override >= 1:
        return override
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        n = min(n, max(1, int(quota + 0.5)))  # 1.5 CPUs -> 2; 0.2 CPUs -> 1
    return max(1, n)


def _cgroup_quota(root: str = "/sys/fs/cgroup", membership: str = "/proc/self/cgroup") -> float | None:
    """CPUs allowed by this process's cgroup (v2 cpu.max, or v1 cfs quota/period); None if unlimited."""
    try:
        with open(membership) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, rel = (line.split(":", 2) + ["", ""])[:3]
        rel = rel.lstrip("/")
        if controllers == "":  # cgroup v2: "0::/path"
            for d in _ancestors(os.path.join(root, rel), root):
                text = _read(os.path.join(d, "cpu.max"))
                if text:
                    quota, _, period = text.partition(" ")
                    ratio = _ratio(quota, period)
                    if ratio is not None:
                        return ratio
        elif "cpu" in controllers.split(","):  # cgroup v1: "4:cpu,cpuacct:/path"
            for base in (os.path.join(root, controllers), os.path.join(root, "cpu")):
                for d in _ancestors(os.path.join(base, rel), base):
                    quota, period = _read(os.path.join(d, "cpu.cfs_quota_us")), _read(os.path.join(d, "cpu.cfs_period_us"))
                    ratio = _ratio(quota, period)  # v1 writes -1 for no quota
                    if ratio is not None:
                        return ratio
    return None


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:  # "max", or nothing there
        return None
    return q / p if q > 0 and p > 0 else None


def _ancestors(path: str, stop: str):
    # A container often sees its own cgroup as "/", mounted at the root: look up to the mount point.
    path = os.path.normpath(path)
    stop = os.path.normpath(stop)
    while True:
        yield path
        if path == stop or len(path) <= len(stop):
            return
        path = os.path.dirname(path)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except (OSError, ValueError):
        return ""


# ---- read when asked ---------------------------------------------------------------------------

def _text_env(name: str) -> str | None:
    return os.environ.get(name) or None


def grade_timeout() -> float | None:
    """LABKIT_GRADE_TIMEOUT: seconds every check may take, instead of each check's own limit."""
    raw = _text_env("LABKIT_GRADE_TIMEOUT")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"labkit: environment variable LABKIT_GRADE_TIMEOUT={raw!r} is not a number") from None


def grade_user() -> str | None:
    """LABKIT_GRADE_USER: the user checks run as when the grader runs as root (Gradescope)."""
    return _text_env("LABKIT_GRADE_USER")


def exercises_dir() -> str | None:
    """LABKIT_EXERCISES: the learner's exercises/ folder, when not found above the current one."""
    return _text_env("LABKIT_EXERCISES")


def course_dir() -> str | None:
    """LABKIT_COURSE: the folder a course copy is made from."""
    return _text_env("LABKIT_COURSE")


def native_cache() -> str:
    """LABKIT_NATIVE_CACHE: where first-use builds of C live (default ~/.cache/labkit/native)."""
    return _text_env("LABKIT_NATIVE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "labkit", "native")


def native_engine() -> str | None:
    """LABKIT_NATIVE_ENGINE: a folder of prebuilt engine objects (the grader's, for its checks)."""
    return _text_env("LABKIT_NATIVE_ENGINE")


# The grader's settings are read on every use (not once at import), so a test, a notebook or an
# instructor's script can change them for the next check; the grader passes them to its workers.

def grade_scales() -> str:
    """LABKIT_GRADE_SCALES: the scales the grader explores a simulator fix at, comma-separated:
    "small" (3 kstats, one writer and two concurrent writers), "seed" (5698 kstats, one writer and two)
    or a number of kstats. Default "small,seed"; "small" alone (CI) still gives a right fix full marks."""
    return os.environ.get("LABKIT_GRADE_SCALES") or "small,seed"


def grade_memory_mb() -> int:
    """LABKIT_GRADE_MEMORY_MB: memory one check may use, all its processes together, in MiB
    (default 2048): a cgroup when the grader is root, else RLIMIT_AS for Python checks and a
    resident-memory watcher for native ones."""
    return _int_env("LABKIT_GRADE_MEMORY_MB", 2048)


#: The settings a check's worker inherits from the grader (runner.py passes only these on, with
#: CC: nothing else of the grader's environment reaches learner code).
WORKER_SETTINGS = ("LABKIT_GRADE_SCALES", "LABKIT_GRADE_TIMEOUT", "LABKIT_GRADE_MEMORY_MB",
                   "LABKIT_STEP_BUDGET", "LABKIT_WORKERS", "LABKIT_SEED")
# (Not LABKIT_NATIVE_CACHE: each check builds learner C into a cache of its own; see grading/runner.py.)


def take_result_fd() -> int:
    """LABKIT_RESULT_FD: the pipe a check's worker writes its one report to (the grader sets it).
    Taken out of the environment as it is read, so the learner code the worker runs never sees it."""
    return int(os.environ.pop("LABKIT_RESULT_FD"))


def take_progress_fd() -> int | None:
    """LABKIT_PROGRESS_FD: the pipe a check's worker writes progress lines to, if the grader gave
    one (they are for display only). Taken out of the environment as it is read, like the result's."""
    raw = os.environ.pop("LABKIT_PROGRESS_FD", None)
    return int(raw) if raw else None
