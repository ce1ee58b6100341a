"""Exercise 8 (bonus): from a crash dump back to the interleaving.

You get a crash dump and nothing else. Write it, then open it in mdb:

    from labkit.postmortem.reconstruct import exercise_dump
    exercise_dump("reconstruct.dump")        # notebook 09 does this for you
    labkit mdb --dump reconstruct.dump       # or MdbConsole(dump="reconstruct.dump")

It was made on the buggy kernel (fix none) by a schedule you have not seen (your instructor's
seed chose it; the file does not hold it), on a kernel whose number of kstats you can read in it.

Work out how many kstats that kernel had (the header kstat included, as `labkit replay --kstats`
counts them) and which steps of R and W happened in which order, and return both: a schedule
whose replay on that kernel leaves the same dump, with the same counts, the same fault, each
thread in the same place. The grader replays your schedule and compares the two dumps part by part, with
partial credit. `labkit replay --fix none --kstats N 'SCHEDULE' --dump mine.dump` lets you
compare for yourself.

Check it: from labkit import check; check("reconstruct")
"""


def schedule_from_dump():
    """(kstats, schedule): the kernel's size and a schedule that reproduce the dump."""
    raise NotImplementedError("reconstruct.py: schedule_from_dump() is not implemented yet")
