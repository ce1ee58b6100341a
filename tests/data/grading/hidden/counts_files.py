"""A hidden check that says what the grader copied into its folder (for test_grading_threats)."""
import os

from labkit.grading.hidden import hidden


@hidden(points=1)
def counts_files(sub, ctx):
    names = sorted(os.listdir(sub.path))
    size = sum(os.path.getsize(os.path.join(sub.path, n)) for n in names)
    ctx.part(True, 1, good=f"files={len(names)} bytes={size} first={names[:1]}")
