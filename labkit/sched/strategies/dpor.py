"""Moved to labkit.sched.dpor (the search is a driver, not a chooser); kept for old imports."""

from labkit.sched.dpor import DporSearch  # noqa: F401
