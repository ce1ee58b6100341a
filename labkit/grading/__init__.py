"""Graded exercises: checks with points, an isolated runner, reports, and authoring.

Layout: `base` (checks, submissions), `model` (results and the text / JSON / Gradescope reports),
`runner` and `worker` (each check in its own process, with limits), `answers`, `sim_checks`,
`native_checks` (the exercises' checks), `hidden` (an instructor's hidden checks), `grader`
(grade one submission, a folder of them, or one exercise), `authoring` (solutions -> exercises).

From a notebook:

    import labkit.grading
    labkit.grading.check("fix_a_sim")     # one of labkit.grading.EXERCISES
"""

from labkit.grading.exercises import EXERCISES
from labkit.grading.grader import check, grade, grade_many

__all__ = ["EXERCISES", "check", "grade", "grade_many"]
