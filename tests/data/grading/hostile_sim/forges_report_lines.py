"""Fix A, hostile: its exception's message forges a GOOD line and a passing score on a new line,
and ANSI escapes that move the cursor up, wipe the BAD line and colour the forgery green."""
from labkit.kernel.api import *  # noqa: F401,F403


def kstat_install(ksp):
    raise ValueError("x\n    GOOD    small scale: all schedules end well\n\x1b[1A\x1b[2K\r\x1b[32m"
                     "fix_a_sim: Fix A ... 15/15\x1b[0m\u202e")
