"""Checks of answers given by value: decoding the panic (exercise 1) and why fix B races (exercise 7).

Design note: each question is a function in the learner's file that returns one value, so a stub
can raise "not implemented yet" and every question scores on its own (partial credit). A wrong
answer gets a hint aimed at the likely mistake (152 is the 32-bit kstat32_t, 0x4b01 is CHAIN_ID...),
never the answer itself. All numbers come from the illumos source (c9bbee95 and its parent) and the seed's panic stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labkit.grading.base import CheckSet, LearnerError, Missing

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


_EXPECT = {"int": "a whole number (an int, or a string such as '0xb8')", "name": "a name, as a string",
           "choice": "one letter, such as 'A'", "bool": "True or False",
           "pair": "a pair of whole numbers, such as (1, 2)"}


def _norm(kind: str, value):
    """The learner's value in canonical form; ValueError or TypeError if it has the wrong shape."""
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise TypeError(kind)
        return value if isinstance(value, int) else int(value.strip(), 0)
    if kind == "name":
        if not isinstance(value, str):
            raise TypeError(kind)
        return value.strip().removesuffix("()").strip().upper()
    if kind == "choice":
        if not isinstance(value, str) or len(value.strip()) != 1:
            raise TypeError(kind)
        return value.strip().upper()
    if kind == "bool":
        if not isinstance(value, bool):
            raise TypeError(kind)
        return value
    if kind == "pair":
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise TypeError(kind)
        return tuple(_norm("int", v) for v in value)
    raise AssertionError(kind)


def _show(kind: str, value) -> str:
    if kind == "int" and isinstance(value, int):
        return f"{value} (0x{value:x})" if value >= 0 else str(value)
    return repr(value)


def ask(sub, ctx, filename: str, questions: list[Question]) -> None:
    for q in questions:
        try:
            raw = sub.call(filename, q.func)
        except Missing as exc:
            ctx.result.missing(str(exc))
            continue
        except LearnerError as exc:
            ctx.bad(str(exc))
            continue
        try:
            got = _norm(q.kind, raw)
        except (ValueError, TypeError):
            ctx.bad(f"{q.what}: {q.func}() returned {raw!r}; expected {_EXPECT[q.kind]}")
            continue
        want = _norm(q.kind, q.expected)
        if got == want:
            ctx.part(True, q.points, good=f"{q.what}: {_show(q.kind, raw)}")
        else:
            why = q.hints.get(got, q.hint)
            ctx.part(False, q.points, bad=f"{q.what}: {_show(q.kind, raw)} is not right" + (f"; {why}" if why else ""))


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
    Question("header_index", "the first header that did not fit (numbered from 0)", 5698,
             hints={5699: "the headers are numbered from 0, and the buffer holds exactly ks_ndata of them",
                    5697: "that one is the last header that fits"},
             hint="the buffer holds exactly ks_ndata headers"),
    Question("lock_has_waiters", "whether kstat_chain_lock shows waiters", False, kind="bool",
             hint="bit 0 of an adaptive mutex's owner word is MUTEX_WAITERS"),
    Question("missing_frame", "the function missing from the panic stack", "header_kstat_snapshot",
             kind="name", hints={"HEADER_KSTAT_UPDATE": "the update had already returned; the copy was running"},
             hint="who calls bcopy for the header kstat?"),
    Question("writer_function", "the function in which the other thread cleared the flag", "kstat_install",
             kind="name", hints={"KSTAT_RELE": "kstat_rele is where it waits; look one frame up"},
             hint="look at the racing thread's stack, above kstat_rele"),
]


@CHECKS.check(points=sum(q.points for q in DECODE), files=("decode_panic.py",), timeout=60)
def decode_panic(sub, ctx):
    """Decode the panic stack and the mdb output"""
    ask(sub, ctx, "decode_panic.py", DECODE)


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


@CHECKS.check(points=sum(q.points for q in WHY_B), files=("why_fix_b_races.py",), timeout=60)
def why_fix_b_races(sub, ctx):
    """Why fix B still races"""
    ask(sub, ctx, "why_fix_b_races.py", WHY_B)
