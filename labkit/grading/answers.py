"""Checks of answers given by value: decoding the panic (exercise 1) and why fix B races (exercise 7).

Design note: each question is a function in the learner's file that returns one value, so a stub
can raise "not implemented yet" and every question scores on its own (partial credit). A wrong
answer gets a hint aimed at the likely mistake (152 is the 32-bit kstat32_t, 0x4b01 is CHAIN_ID...),
never the answer itself. All numbers come from the illumos source (c9bbee95 and its parent) and the seed's panic stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labkit.answer_values import EXPECTED, AnswerError, cut, normalise, shown
from labkit.grading.base import CheckSet, LearnerError, Missing, Submission

CHECKS = CheckSet()


@dataclass
class Question:
    func: str
    what: str  # how the GOOD/BAD line names the question
    expected: object
    points: float = 1
    kind: str = "int"  # int | name | choice | bool | pair
    hints: dict = field(default_factory=dict)  # a likely wrong answer -> why it is wrong
    hint: str = ""  # for any other wrong answer
    # A question whose right answer depends on the learner's own earlier answer (which reading of
    # the fault address they used): `expected` and `hints` are then keyed by that answer.
    reading_from: str = ""


def ask(sub: Submission, filename: str, questions: list[Question]) -> dict:
    """In the worker: each question's value, made a plain built-in by the one normaliser
    (labkit.answer_values), so no method of a learner's object runs and only data leaves."""
    out: dict[str, dict] = {}
    sub.module(filename)  # a file the loader refuses is one BAD line, not one per question
    for q in questions:
        try:
            raw = sub.call(filename, q.func)
        except Missing as exc:
            out[q.func] = {"missing": str(exc)}
            continue
        except LearnerError as exc:
            out[q.func] = {"error": str(exc)}
            continue
        try:
            value = normalise(q.kind, raw)
        except AnswerError as exc:
            why = str(exc)
            extra = "" if why.startswith(("expected", "not ")) else f" ({why})"
            out[q.func] = {"error": f"{q.what}: {q.func}() returned {shown(raw)}; "
                                    f"expected {EXPECTED[q.kind]}{extra}"}
            continue
        out[q.func] = {"value": list(value) if q.kind == "pair" else value}
    return {"answers": out}


def judge(data: dict, ctx: Any, questions: list[Question]) -> None:
    """In the grader: compare each reported value (normalised again: it is plain data, checked)
    with the expected one. A question not reported scores nothing."""
    answers = data["answers"]
    for q in questions:
        a = answers.get(q.func)
        if not isinstance(a, dict) or len(a) != 1:
            ctx.part(False, q.points, bad=f"{q.what}: no answer was reported")
        elif "missing" in a:
            ctx.result.missing(cut(str(a["missing"]), 300))
        elif "error" in a:
            ctx.part(False, q.points, bad=cut(str(a["error"]), 300))
        else:
            try:
                got = normalise(q.kind, tuple(a["value"]) if q.kind == "pair" and type(a["value"]) is list
                                else a["value"])
            except (AnswerError, KeyError):
                ctx.part(False, q.points, bad=f"{q.what}: the reported answer is not {EXPECTED[q.kind]}")
                continue
            expected, hints, what = q.expected, q.hints, q.what
            if q.reading_from:
                readings: dict = q.expected if isinstance(q.expected, dict) else {}
                reading = _reading(answers.get(q.reading_from), readings)
                if reading is None:
                    ctx.part(False, q.points, bad=f"{q.what}: say which reading you used in "
                             f"{q.reading_from}() ({' or '.join(map(repr, readings))}); this answer is "
                             "checked under that reading")
                    continue
                expected, hints, what = readings[reading], q.hints.get(reading, {}), f"{q.what} (reading {reading})"
            # a frozenset of answers: any one is right (the reading a learner chose is theirs)
            wants = expected if isinstance(expected, frozenset) else (expected,)
            if got in {normalise(q.kind, w) for w in wants}:
                ctx.part(True, q.points, good=f"{what}: {_show(q.kind, got)}")
            else:
                why = hints.get(got, q.hint)
                ctx.part(False, q.points, bad=f"{what}: {_show(q.kind, got)} is not right"
                         + (f"; {why}" if why else ""))


def _reading(answer, readings: dict):
    """The reading a learner said they used (one of `readings`' keys), or None if they said none."""
    if not isinstance(answer, dict) or set(answer) != {"value"}:
        return None
    try:
        said = normalise("choice", answer["value"])
    except AnswerError:
        return None
    return said if said in readings else None


def _show(kind: str, value) -> str:
    """A normalised value (a plain built-in) as a GOOD/BAD line shows it."""
    if kind == "int":
        return f"{value} (0x{value:x})" if value >= 0 else str(value)
    return shown(value)


DECODE = [
    Question("ioctl_command", "the ioctl command", "KSTAT_IOC_READ", kind="name",
             hints={"KSTAT_IOC_CHAIN_ID": "that is 0x4b01; the stack shows 0x4b02",
                    "KSTAT_IOC_WRITE": "that is 0x4b03; the stack shows 0x4b02"},
             hint="split 0x4b02 into ('K' << 8) | n and look n up in <sys/kstat.h>"),
    Question("file_descriptor", "the file descriptor", 13,
             hint="ioctl(d, ...) shows its arguments in hex"),
    Question("data_model", "the caller's data model", "ILP32", kind="name",
             hints={"LP64": "flag 0x100001 has bit 0x00100000 set, which is DATAMODEL_ILP32"},
             hint="answer 'ILP32' or 'LP64', from the flag 0x100001"),
    Question("device", "the device (major, minor)", (2, 0), kind="pair",
             hint="a 64-bit dev_t keeps the minor number in its low 32 bits"),
    Question("sizeof_kstat_t", "sizeof(kstat_t)", 184,
             hints={152: "that is kstat32_t; the kernel counts in its own 64-bit kstat_t"},
             hint="divide ks_data_size by ks_ndata"),
    Question("headers_counted", "headers the first pass counted", 5698,
             hint="ks_ndata is that count, printed in hex"),
    Question("bytes_mapped", "bytes mapped for kbuf", 0x100000,
             hints={0xfff71: "that is what was asked for; big allocations are rounded up to whole pages",
                    0xfff70: "kmem_zalloc is asked for one byte more, then rounded up to whole pages"},
             hint="kmem_zalloc(ks_data_size + 1), rounded up to 4 KiB pages"),
    Question("died_at_offset", "where the analysis says it died, as an offset into kbuf", 0x100028,
             hint="subtract the kbuf address from the address it died at"),
    Question("past_the_end", "how far past the end of ks_data_size that is", 0xb8,
             hint="subtract ks_data_size from the offset it died at"),
    # The report's address kbuf+0x100028 read two ways (notebook 2, section 5): A, it is the byte
    # that faulted; B, it is bcopy's %rsi and the faulting store was 0x28 below it. Either is
    # accepted, under the reading the learner names; the reading itself scores nothing.
    Question("fault_reading", "the reading of the report's address you used", frozenset("AB"), points=0, kind="choice",
             hint="answer 'A' (the address is the faulting byte) or 'B' (it is bcopy's %rsi)"),
    Question("header_index", "the header the copy was writing when it faulted (numbered from 0)",
             {"A": 5699, "B": 5698}, reading_from="fault_reading",
             hints={"A": {5698: "under reading A the faulting byte is kbuf+0x100028 itself: which header holds it?",
                          5700: "the headers are numbered from 0"},
                    "B": {5699: "under reading B the faulting byte is 0x28 below the report's address",
                          5697: "that one is the last header that fits"}},
             hint="divide the faulting byte's offset into kbuf by sizeof (kstat_t)"),
    Question("lock_has_waiters", "whether kstat_chain_lock shows waiters", False, kind="bool",
             hint="bit 0 of an adaptive mutex's owner word is MUTEX_WAITERS"),
    Question("missing_frame", "the function missing from the panic stack", "header_kstat_snapshot",
             kind="name", hints={"HEADER_KSTAT_UPDATE": "the update had already returned; the copy was running"},
             hint="who calls bcopy for the header kstat?"),
    Question("writer_function", "the function in which the other thread cleared the flag", "kstat_install",
             kind="name", hints={"KSTAT_RELE": "kstat_rele is where it waits; look one frame up"},
             hint="look at the racing thread's stack, above kstat_rele"),
]


@CHECKS.check(points=sum(q.points for q in DECODE), files=("decode_panic.py",), timeout=60,
              judge=lambda data, ctx: judge(data, ctx, DECODE))
def decode_panic(sub: Submission) -> dict:
    """Decode the panic stack and the mdb output"""
    return ask(sub, "decode_panic.py", DECODE)


WHY_B = [
    Question("why_still_a_data_race", "why fix B still has a data race", "B", points=3, kind="choice",
             hints={"A": "header_kstat_update() asserts that the chain lock is held: it is",
                    "C": "kstat_rele() still takes the chain lock",
                    "D": "that was the bug; fix B makes the count an upper bound"},
             hint="which write is not under kstat_chain_lock?"),
    Question("what_the_reader_can_get", "what a reader can get with fix B", "C", points=2, kind="choice",
             hints={"A": "fix B counts every kstat, so the copy never has more than the count",
                    "B": "the snapshot still skips INVALID kstats",
                    "D": "a kstat counted while INVALID is not copied"},
             hint="compare what the first pass counts with what the second pass copies"),
]


@CHECKS.check(points=sum(q.points for q in WHY_B), files=("why_fix_b_races.py",), timeout=60,
              judge=lambda data, ctx: judge(data, ctx, WHY_B))
def why_fix_b_races(sub: Submission) -> dict:
    """Why fix B still races"""
    return ask(sub, "why_fix_b_races.py", WHY_B)
