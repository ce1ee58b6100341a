"""Suite-wide set-up: a test run never writes into the learner's home.

Question widgets record answers to $LABKIT_ANSWERS (default ~/.labkit/answers.json). nbval's
kernels and the browser tests' JupyterLab (and its kernels) are child processes that inherit
this process's environment, so pointing the variable at a temporary file here, before any
kernel starts, covers every notebook the suite runs. It is set unconditionally: a learner's own
LABKIT_ANSWERS must not collect test answers either.
"""

import os
import shutil
import tempfile

_answers_dir = tempfile.mkdtemp(prefix="labkit-test-answers-")
os.environ["LABKIT_ANSWERS"] = os.path.join(_answers_dir, "answers.json")


def pytest_unconfigure(config):
    shutil.rmtree(_answers_dir, ignore_errors=True)
