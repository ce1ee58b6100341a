"""The one exception type a learner, an instructor or a script should ever see from labkit.

Every bad input is turned into a LabkitError whose message says what was wrong and what is
accepted. The `labkit` command prints it as one line (exit code 2) instead of a traceback.
"""

from collections.abc import Iterable


class LabkitError(ValueError):
    """Bad input or an impossible request, explained in one sentence."""


def choice_error(what: str, got: object, accepted: Iterable[object]) -> LabkitError:
    """The standard wording for "X is not one of the accepted values"."""
    accepted = ", ".join(repr(a) for a in accepted)
    return LabkitError(f"unknown {what} {got!r}; accepted: {accepted}")
