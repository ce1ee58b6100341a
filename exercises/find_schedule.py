"""Exercise 2: find a schedule that panics the buggy kernel.

In the small scenario (3 kstats: `labkit replay --fix none --kstats 3 SCHEDULE`), thread R reads
the header kstat and thread W creates and installs a new kstat. A schedule says who runs and for
how many steps: "W5 R10 W2 R" runs W for 5 steps, R for 10, W for 2, then R until it is done (and
then whoever is left). Step through the race in the notebook (or try schedules with
`labkit replay`) until the kernel panics, then return that schedule.

Check it: from labkit import check; check("find_schedule")
"""


def panicking_schedule():
    """A schedule string whose replay on the buggy small scenario ends in a panic."""
    raise NotImplementedError("find_schedule.py: panicking_schedule() is not implemented yet")
