"""Results of grading, as plain objects: a line, one check's result, a whole report.

Design note: a check's verdict is a list of GOOD / BAD / MISSING lines (MIT gradelib style) plus a
score; the report only adds them up. Everything round-trips through JSON because every check runs in
its own process and sends its result back as JSON. Hidden checks are redacted here, in one place
(`CheckResult.public()`), so no output path can leak an instructor's expected values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GOOD, BAD, MISSING, NOTE = "GOOD", "BAD", "MISSING", "NOTE"

# How a check ended. "pass"/"partial"/"fail" are verdicts on the learner's work; the rest say the
# learner's code never let the check finish, and why.
STATUSES = ("pass", "partial", "fail", "missing", "crash", "timeout", "error")

#: Gradescope's visibility settings for a test (its autograder specification).
GRADESCOPE_VISIBILITY = ("visible", "after_due_date", "after_published", "hidden")


#: Where a line's text starts in a report (`    GOOD    text`): a continuation line of a text is
#: indented at least this far, so no text can start what looks like a line of the report.
TEXT_COLUMN = 12


def printable(text: str) -> str:
    """`text` with every character a terminal or viewer would act on shown as an escape (ANSI
    sequences, carriage returns, backspaces, right-to-left overrides, line separators): a
    learner's exception message or value cannot recolour, move or overwrite a report. Newlines
    stay (compiler output has them); tabs become spaces."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == "\n" else " " if c == "\t"
                   else c.encode("unicode_escape").decode("ascii") for c in text)


def one_line(text: str) -> str:
    """`text` as printable() shows it, its newlines shown as escapes too (a name, a path)."""
    return printable(str(text)).replace("\n", "\\n")


@dataclass
class Line:
    kind: str  # GOOD | BAD | MISSING | NOTE
    text: str

    def __post_init__(self) -> None:
        # Every line is made here (a check's, the grader's, one read back from JSON), so every
        # output form (text, JSON, Gradescope, a notebook) gets the same safe text.
        self.text = printable(str(self.text))

    def __str__(self) -> str:
        first, *rest = self.text.split("\n")
        pad = " " * TEXT_COLUMN
        return "\n".join([f"{self.kind:<7} {first}"]
                         + [ln if ln.startswith(pad) or not ln.strip() else pad + ln for ln in rest])


@dataclass
class CheckResult:
    name: str
    title: str
    points: float  # the most this check can give
    score: float = 0.0
    status: str = "fail"
    lines: list[Line] = field(default_factory=list)
    hidden: bool = False
    bonus: bool = False
    seconds: float = 0.0

    # -- building -------------------------------------------------------------------------------
    def good(self, text: str) -> None:
        self.lines.append(Line(GOOD, text))

    def bad(self, text: str) -> None:
        self.lines.append(Line(BAD, text))

    def missing(self, text: str) -> None:
        self.lines.append(Line(MISSING, text))

    def note(self, text: str) -> None:
        self.lines.append(Line(NOTE, text))

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    # -- redaction ------------------------------------------------------------------------------
    def public(self) -> "CheckResult":
        """What a learner may see: for a hidden check, only its name, points and verdict."""
        if not self.hidden:
            return self
        verdict = {"pass": "passed", "partial": "partly passed", "fail": "failed",
                   "missing": "found nothing to check", "crash": "crashed",
                   "timeout": "ran out of time", "error": "could not run"}[self.status]
        return CheckResult(self.name, self.title, self.points, self.score, self.status,
                           [Line(NOTE, f"hidden check {verdict}; its details are not shown")],
                           hidden=True, bonus=self.bonus, seconds=self.seconds)

    # -- JSON -----------------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "points": self.points, "score": self.score,
                "status": self.status, "hidden": self.hidden, "bonus": self.bonus,
                "seconds": round(self.seconds, 3),
                "lines": [{"kind": ln.kind, "text": ln.text} for ln in self.lines]}

    @classmethod
    def from_json(cls, data: dict) -> "CheckResult":
        lines = [Line(d["kind"], d["text"]) for d in data.get("lines", [])]
        return cls(data["name"], data["title"], data["points"], data["score"], data["status"], lines,
                   data.get("hidden", False), data.get("bonus", False), data.get("seconds", 0.0))

    # -- text -----------------------------------------------------------------------------------
    def headline(self) -> str:
        tag = " (bonus)" if self.bonus else ""
        tag += " (hidden)" if self.hidden else ""
        status = "" if self.status in ("pass", "partial", "fail") else f" [{self.status}]"
        return f"{self.name}: {self.title}{tag} ... {_fmt(self.score)}/{_fmt(self.points)}{status}"

    def __str__(self) -> str:
        return "\n".join([self.headline()] + [f"    {ln}" for ln in self.lines])

    def __repr__(self) -> str:  # a notebook shows the same text as the grader prints
        return str(self)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


@dataclass
class Report:
    submission: str
    results: list[CheckResult]
    seed: int = 0
    seconds: float = 0.0

    @property
    def score(self) -> float:
        """Every point earned, the bonus included (the gradebook's total, as Gradescope adds it)."""
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        """Bonus points are not part of the maximum: they can only add."""
        return sum(r.points for r in self.results if not r.bonus)

    @property
    def bonus_score(self) -> float:
        return sum(r.score for r in self.results if r.bonus)

    @property
    def bonus_max(self) -> float:
        return sum(r.points for r in self.results if r.bonus)

    def total_text(self) -> str:
        """'78/78, bonus 5/5': the score against the maximum, and the bonus apart from both."""
        text = f"{_fmt(self.score - self.bonus_score)}/{_fmt(self.max_score)}"
        if any(r.bonus for r in self.results):
            text += f", bonus {_fmt(self.bonus_score)}/{_fmt(self.bonus_max)}"
        return text

    def public(self) -> "Report":
        return Report(self.submission, [r.public() for r in self.results], self.seed, self.seconds)

    def to_json(self) -> dict:
        pub = self.public()
        return {"submission": self.submission, "seed": self.seed, "score": pub.score,
                "max_score": pub.max_score, "bonus_score": pub.bonus_score, "bonus_max": pub.bonus_max,
                "seconds": round(self.seconds, 3),
                "checks": [r.to_json() for r in pub.results]}

    def to_gradescope(self, visibility: dict[str, str] | None = None, hidden_visibility: str = "visible",
                      extra_data: dict | None = None, instructor_details: bool = False) -> dict:
        """Gradescope's results.json: a total, one entry per check, the seed in extra_data.

        `visibility` maps a check's name to one of GRADESCOPE_VISIBILITY (default "visible";
        `hidden_visibility` for hidden checks). A hidden check's entry shows only its verdict;
        with `instructor_details` (the autograder's run on Gradescope, which shows tests of
        visibility "hidden" to instructors only) its details follow in an entry worth 0 points.
        """
        visibility = visibility or {}
        tests = []
        for n, (full, r) in enumerate(zip(self.results, self.public().results), 1):
            vis = visibility.get(r.name, hidden_visibility if r.hidden else "visible")
            tags = [r.name] + [t for t, on in (("hidden", r.hidden), ("bonus", r.bonus)) if on]
            tests.append({"name": f"{r.name}: {r.title}" + (" (bonus)" if r.bonus else ""),
                          "number": str(n), "tags": tags, "score": r.score, "max_score": r.points,
                          "output": "\n".join(str(ln) for ln in r.lines),
                          "status": "passed" if r.passed else "failed", "visibility": vis})
            if full.hidden and instructor_details:
                tests.append({"name": f"{r.name}: details (instructors only)", "number": f"{n}.1",
                              "tags": tags, "score": 0, "max_score": 0,
                              "output": "\n".join(str(ln) for ln in full.lines),
                              "status": "passed" if full.passed else "failed", "visibility": "hidden"})
        return {"score": self.score, "execution_time": round(self.seconds, 3),
                "output": f"labkit grade, seed {self.seed}: {self.total_text()}",
                "visibility": "visible", "stdout_visibility": "hidden",
                "extra_data": {"seed": self.seed, **(extra_data or {})}, "tests": tests}

    def __str__(self) -> str:
        out = [f"labkit grade {one_line(self.submission)} (seed {self.seed})", ""]
        out += [str(r) for r in self.public().results]
        out += ["", f"Score: {self.total_text()}"]
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)


# A spreadsheet opening the gradebook runs a cell that starts with one of these as a formula
# (a submission folder named '=HYPERLINK(...)' would be a link in the instructor's sheet):
# such a name is written with a leading apostrophe, which spreadsheets show as text (OWASP's
# advice for CSV injection). Control characters are escaped first, as in the text report: the
# csv module does not quote a lone carriage return, which would split the row.
_FORMULA_START = ("=", "+", "-", "@")


def _cell(name: str) -> str:
    name = one_line(name)
    return "'" + name if name.startswith(_FORMULA_START) else name


@dataclass
class ManyReport:
    """The reports of a folder of submissions, graded in one run."""

    folder: str
    reports: dict[str, Report]
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"folder": self.folder, "seconds": round(self.seconds, 3),
                "submissions": {k: r.to_json() for k, r in self.reports.items()}}

    def to_gradescope(self) -> dict:
        return {k: r.to_gradescope() for k, r in self.reports.items()}

    def to_csv(self) -> str:
        """A gradebook: one row per submission, its total and each check's score."""
        import csv
        import io
        names: list[str] = []
        for r in self.reports.values():
            names += [c.name for c in r.results if c.name not in names]
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["submission", "score", "max_score", *names])
        for k, r in self.reports.items():
            by = {c.name: c.score for c in r.results}
            w.writerow([_cell(k), _fmt(r.score), _fmt(r.max_score), *(_fmt(by[n]) if n in by else "" for n in names)])
        return out.getvalue()

    def __str__(self) -> str:
        names = {k: one_line(k) for k in self.reports}   # a folder's name is its owner's choice
        width = max([len(n) for n in names.values()] + [10])
        out = [f"labkit grade --many {one_line(self.folder)}: {len(self.reports)} submissions", ""]
        for k, r in self.reports.items():
            out.append(f"{names[k]:<{width}}  {r.total_text()}")
        return "\n".join(out)
