"""The seed's evidence, as data: the bug report's debugger output, parsed into structures.

The four pieces of debugger output in the bug report (the panic stack, `::print kstat_t` of
the header kstat, `kstat_chain_lock/K`, and `::findstack` of the racing thread) are kept
verbatim in data/*.txt, so what the course shows is exactly what the engineers saw. This
module only reads them: frames (frame pointer, function, offset, arguments), struct members
with their values, a word with its label, a thread's stack pointer and frames.

The parsers take mdb's own formats, so they read our simulated mdb's output just as well
(the tests use that: formatting the parsed seed gives back the seed's text).
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from labkit.errors import LabkitError
from labkit.kernel.panic import Frame

DATA_FILES = {
    "panic_stack": "panic_stack.txt",
    "print_kstat_t": "print_kstat_t.txt",
    "chain_lock": "kstat_chain_lock_K.txt",
    "findstack": "findstack.txt",
    # The fix itself, as `git show c9bbee95 -- usr/src/uts/common/os/kstat_fr.c` prints it from
    # illumos-gate (e-mail addresses left out, as the bug report prints them).
    "fix_commit": "c9bbee95_diff.txt",
}

# Two addresses the report states in its prose (not in debugger output): the buffer that was
# allocated, and where the thread "died". Which of two things the second one is, is a question
# the course asks (see decode.fault_readings).
SEED_KBUF = 0xFFFFFFA9E28A9000
SEED_DIED_AT = 0xFFFFFFA9E29A9028

# "ffffff01f5292c40 read_kstat_data+0x102(ffffff01f5292e68, 80475e8, 100001)"; a frame with no
# symbol shows a bare address ("0xffffff42ecdf5540()"), and an offset of 0 is not printed.
_FRAME = re.compile(r"^\s*([0-9a-f]+) (0x[0-9a-f]+|[A-Za-z_][\w`.]*)(?:\+0x([0-9a-f]+))?\((.*)\)\s*$")
_MEMBER = re.compile(r"^\s*(?:(.+?)\s+)??(\w+) = (.*?)\s*$")
_WORD = re.compile(r"^(\S+):\s+([0-9a-f]+)\s*$")
_FINDSTACK_HEAD = re.compile(r"^stack pointer for thread ([0-9a-f]+): ([0-9a-f]+)\s*$")


def read_data(name: str) -> str:
    """The verbatim text of one evidence file (name: a key of DATA_FILES)."""
    if name not in DATA_FILES:
        raise LabkitError(f"unknown evidence {name!r}; accepted: {', '.join(DATA_FILES)}")
    return resources.files("labkit.postmortem").joinpath("data", DATA_FILES[name]).read_text()


def _command(lines: list[str]) -> tuple[str, list[str]]:
    """Split off a leading "> cmd" prompt line, if there is one."""
    if lines and lines[0].startswith("> "):
        return lines[0][2:].strip(), lines[1:]
    return "", lines


def _join_wrapped(lines: list[str]) -> list[str]:
    """mdb wraps a frame's long argument list at 80 columns: glue the pieces back together."""
    out: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        if out and not out[-1].rstrip().endswith(")"):
            out[-1] = out[-1].rstrip() + " " + line.strip()
        else:
            out.append(line.rstrip())
    return out


def parse_frame(line: str) -> Frame:
    m = _FRAME.match(line)
    if not m:
        raise LabkitError(f"not a stack frame line: {line!r}")
    fp, function, offset, args = m.groups()
    args = tuple(int(a, 16) for a in args.split(",") if a.strip())
    return Frame(int(fp, 16), function, int(offset, 16) if offset else 0, args)


def parse_stack(text: str) -> list[Frame]:
    """A `$c`-style stack (innermost frame first) into Frames."""
    _, lines = _command(text.splitlines())
    return [parse_frame(line) for line in _join_wrapped(lines)]


@dataclass(frozen=True)
class Member:
    name: str
    raw: str            # as printed: "0x1642", '[ "unix" ]', "header_kstat_update"
    ctype: str = ""     # only with ::print -t

    @property
    def value(self) -> int | str:
        """An int for numbers, a str for char arrays and for symbol names."""
        if self.raw.startswith("["):
            return self.raw.strip("[] ").strip('"')
        try:
            return int(self.raw, 0)
        except ValueError:
            return self.raw


@dataclass(frozen=True)
class PrintedStruct:
    addr: int | None
    type: str
    members: dict          # name -> Member, in printed order

    def __getitem__(self, name: str):
        return self.members[name].value


def parse_print(text: str) -> PrintedStruct:
    """`ADDR::print [-t] TYPE` output into its members."""
    cmd, lines = _command(text.splitlines())
    addr, ctype = None, ""
    m = re.match(r"^([0-9a-fx]+)?::print(?:\s+-t)?\s+(\S+)", cmd)
    if m:
        addr = int(m.group(1), 16) if m.group(1) else None
        ctype = m.group(2)
    members = {}
    for line in lines:
        if not line.strip() or line.strip() in ("{", "}") or line.rstrip().endswith("{"):
            continue
        mm = _MEMBER.match(line)
        if not mm:
            raise LabkitError(f"not a struct member line: {line!r}")
        members[mm.group(2)] = Member(mm.group(2), mm.group(3), mm.group(1) or "")
    return PrintedStruct(addr, ctype, members)


def parse_word(text: str) -> tuple[str, int]:
    """`SYM/K` output ("kstat_chain_lock:   ffffff50b3da8760") into (label, value)."""
    _, lines = _command(text.splitlines())
    for line in lines:
        m = _WORD.match(line)
        if m:
            return m.group(1), int(m.group(2), 16)
    raise LabkitError(f"no 'label: value' line in {text!r}")


@dataclass(frozen=True)
class FoundStack:
    thread: int
    sp: int
    frames: list


def parse_findstack(text: str) -> FoundStack:
    """`THREAD::findstack` output into the thread, its stack pointer and its frames."""
    _, lines = _command(text.splitlines())
    m = _FINDSTACK_HEAD.match(lines[0]) if lines else None
    if not m:
        raise LabkitError("findstack output starts with 'stack pointer for thread T: SP'")
    # a sleeping thread's first line is "[ sp function+off() ]": the frame it switched out in
    frames = [parse_frame(line.strip().strip("[]")) for line in _join_wrapped(lines[1:])]
    return FoundStack(int(m.group(1), 16), int(m.group(2), 16), frames)


@dataclass(frozen=True)
class SeedEvidence:
    panic_stack: list          # Frames of the panicking thread, innermost first
    header_kstat: PrintedStruct
    chain_lock: tuple          # ("kstat_chain_lock", owner word)
    racing_thread: FoundStack


@lru_cache(maxsize=1)
def seed_evidence() -> SeedEvidence:
    """Everything the bug report's debugger output says, parsed."""
    return SeedEvidence(parse_stack(read_data("panic_stack")),
                        parse_print(read_data("print_kstat_t")),
                        parse_word(read_data("chain_lock")),
                        parse_findstack(read_data("findstack")))
