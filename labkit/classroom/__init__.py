"""labkit.classroom (above grading, below cli): what running a class with the course takes.

Layout: `course` (the course's files: where they come from, a learner's own copy, the questions
in the notebooks), `release` (the student copy of the repository, and the check that nothing of
solutions/ or of the hidden checks reached it), `participation` (the answers a learner recorded,
read from a submission for the instructor), `autograder` (the Gradescope autograder zip) and
`gradescope` (what the zip's run_autograder runs: grade /autograder/submission, always write
/autograder/results/results.json).
"""
