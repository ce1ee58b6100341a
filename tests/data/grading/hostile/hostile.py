"""Checks whose own code misbehaves, to show that each costs only itself (runner tests)."""

import os
import signal
import sys

from labkit.grading.hidden import hidden


@hidden(points=1, timeout=3)
def segfaults(sub):
    os.kill(os.getpid(), signal.SIGSEGV)


@hidden(points=1, timeout=3)
def loops_forever(sub):
    while True:
        pass


@hidden(points=1, timeout=3)
def forks_a_sleeper(sub):
    # The child would outlive the check if the runner killed only the worker, not its group.
    if os.fork() == 0:
        import time
        time.sleep(600)
    while True:
        pass


@hidden(points=1, timeout=10)
def exits(sub):
    sys.stderr.write("about to leave\n")
    os._exit(3)


@hidden(points=1, timeout=10)
def eats_memory(sub):
    hog = bytearray(8 << 30)  # beyond the 4 GiB address-space limit of a Python check
    return len(hog) > 0


@hidden(points=1, timeout=10)
def passes_after_all(sub):
    return True
