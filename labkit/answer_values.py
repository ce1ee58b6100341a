"""The one answer normaliser: a learner's value (typed in a widget, or returned by an exercise
function) turned into a plain built-in value before anything compares it.

What is accepted, per kind:
  int     an int (not a bool), or a string of one: decimal "5698", leading zeros "05698", hex
          "0x1642" (any case), with optional spaces, "_" or "," between digits, and a sign.
  name    a string, such as "kstat_install" or "kstat_install()": compared in capitals, spaces
          around and a trailing "()" dropped.
  choice  one letter (or one of the given choices), in any case.
  bool    True or False (also the strings "true"/"false", "yes"/"no", any case).
  pair    a tuple or list of two whole numbers, each accepted as for int.
  text    any string; compared with runs of spaces made one and case folded.

Design note: a learner's object is hostile (an int subclass whose __eq__ is always true, a str
subclass whose strip() lies). So the type is tested with `type(v) is ...`, never isinstance, and
only then is the value copied into a fresh built-in (`int(v)`, `str(v)` of an exact str); no
method of a learner's object is ever called. Everything else is refused with a message saying what
is accepted. Only labkit.errors is imported: the widgets and the grader both sit above this.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labkit.errors import LabkitError

KINDS = ("int", "name", "choice", "bool", "pair", "text")

#: What each kind accepts, in the words error messages use.
EXPECTED = {
    "int": "a whole number: an int, or a string such as '5698', '05698' or '0x1642'",
    "name": "a name, as a string such as 'kstat_install'",
    "choice": "one letter, such as 'A'",
    "bool": "True or False",
    "pair": "a pair of whole numbers, such as (2, 0)",
    "text": "some text",
}

#: Longest string accepted at all: longer answers are refused before any parsing (a 500 KB answer
#: is not an answer).
MAX_TEXT = 200
#: Largest whole number accepted, in bits: every answer of the course fits in 64.
MAX_INT_BITS = 128


class AnswerError(LabkitError):
    """The value has the wrong shape for its kind; the message says what is accepted."""


def _plain_str(value) -> str:
    if type(value) is not str:
        raise AnswerError("not a string")
    text = str.__str__(value)  # an exact str already; this copies nothing a learner controls
    if len(text) > MAX_TEXT:
        raise AnswerError(f"a string of {len(text)} characters (at most {MAX_TEXT} are read)")
    return text


def parse_int(value: object) -> int:
    """A whole number from an exact int or a string of one (see the module docstring)."""
    if type(value) is int:
        # bounded before anything prints it: str() of a 5000-digit int raises (Python's own limit)
        if value.bit_length() > MAX_INT_BITS:
            raise AnswerError(f"a whole number of {value.bit_length()} bits is larger than any "
                              f"answer here (at most {MAX_INT_BITS} bits)")
        return int(value)
    if type(value) is not str:
        raise AnswerError(f"not a whole number; expected {EXPECTED['int']}")
    text = _plain_str(value).strip().replace("_", "").replace(",", "").replace(" ", "")
    try:
        return int(text, 0)
    except ValueError:
        try:
            return int(text, 10)  # "05698": int(.., 0) refuses leading zeros
        except ValueError:
            raise AnswerError(f"{text[:40]!r} is not a whole number; type digits like 5698 "
                              f"or hex like 0x1642") from None


def normalise(kind: str, value: Any, choices: Sequence | None = None) -> Any:
    """`value` as a plain built-in of `kind`; AnswerError (saying what is accepted) otherwise."""
    if kind == "int":
        return parse_int(value)
    if kind == "name":
        return _plain_str(value).strip().removesuffix("()").strip().upper()
    if kind == "choice":
        text = _plain_str(value).strip()
        if choices is not None:
            for c in choices:
                if text.casefold() == str(c).casefold():
                    return c
            raise AnswerError(f"{text[:40]!r} is not one of the choices: {', '.join(map(str, choices))}")
        if len(text) != 1:
            raise AnswerError(f"expected {EXPECTED['choice']}")
        return text.upper()
    if kind == "bool":
        if type(value) is bool:
            return value is True
        if type(value) is str:
            t = _plain_str(value).strip().casefold()
            if t in ("true", "yes"):
                return True
            if t in ("false", "no"):
                return False
        raise AnswerError(f"expected {EXPECTED['bool']}")
    if kind == "pair":
        if type(value) not in (tuple, list) or len(value) != 2:
            raise AnswerError(f"expected {EXPECTED['pair']}")
        items = tuple.__iter__(value) if type(value) is tuple else list.__iter__(value)
        return tuple(parse_int(v) for v in items)
    if kind == "text":
        return " ".join(_plain_str(value).split()).casefold()
    raise LabkitError(f"unknown answer kind {kind!r}; accepted: {', '.join(KINDS)}")


def shown(value: Any, limit: int = 80) -> str:
    """A learner's value as a report may show it: a plain value's repr, cut to `limit` characters
    (saying so); an object of any other type by its type's name only (its __repr__ is not called)."""
    def too_big(v) -> bool:        # an int whose repr could be too long to make
        return type(v) is int and v.bit_length() > MAX_INT_BITS

    if too_big(value):
        text = f"a whole number of {value.bit_length()} bits"
    elif type(value) in (int, bool, float, type(None)):
        text = repr(value)
    elif type(value) is str:
        text = str.__repr__(value)
    elif type(value) in (tuple, list) and len(value) <= 8 and all(
            type(v) in (int, str, bool) and not too_big(v) for v in value):
        text = repr(tuple(int(v) if type(v) is int else str.__str__(v) if type(v) is str else v is True
                          for v in value))
    else:
        return f"an object of type {type(value).__name__}"
    return cut(text, limit)


def cut(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters not shown)"
