"""How mdb lays things out on the page: frames, symbolic addresses, labelled words, numbers.

Shared by the small mdb and by the seed parsers' round-trip tests: formatting the parsed seed
must give back the seed's text byte for byte, which pins these rules to the real tool's output
(hex without 0x in stacks, "+0x" offsets, an offset of 0 left out, lines wrapped at 80
columns between arguments, `/K` values starting in column 32).
"""

from collections.abc import Iterable

from labkit.kernel.panic import Frame
from labkit.postmortem.ksyms import symbol_at

WIDTH = 80              # mdb wraps a frame's argument list at the terminal width
LABEL_COLUMN = 32       # where `ADDR/K` starts printing the value


def symbolic(function: str, offset: int) -> str:
    """bcopy+0x194; a bare function name at offset 0; a symbol-less frame is its address."""
    if function.startswith("0x") or offset == 0:
        return function
    return f"{function}+{offset:#x}"


def frame_lines(frame: Frame, *, args: bool = True, indent: str = "") -> list[str]:
    """One frame as mdb prints it in `$c` or `::findstack`, wrapped like mdb wraps it."""
    shown = frame.args if args else ()
    head = f"{indent}{frame.fp:016x} {symbolic(frame.function, frame.offset)}("
    if not shown:
        return [head + ")"]
    tokens = [f"{a:x}, " for a in shown[:-1]] + [f"{shown[-1]:x})"]
    lines, line = [], head
    for tok in tokens:
        if line != head and len(line) + len(tok) > WIDTH:
            lines.append(line)
            line = ""
        line += tok
    lines.append(line)
    return lines


def stack_text(frames: Iterable[Frame], *, args: bool = True, indent: str = "") -> str:
    return "\n".join(line for f in frames for line in frame_lines(f, args=args, indent=indent))


def addr_symbol(addr: int) -> str | None:
    """'kstat_chain_lock' or 'bcopy+0x194' for an address in a symbol, else None."""
    hit = symbol_at(addr)
    return None if hit is None else symbolic(hit[0], hit[1])


def label(addr: int) -> str:
    """How `ADDR/K` labels its line: the symbol if there is one, else 0xADDR."""
    return addr_symbol(addr) or f"{addr:#x}"


def labelled(addr: int, text: str) -> str:
    """A line of `ADDR/FMT` output: the address's label, then the value from column 32."""
    return f"{label(addr) + ':':<{LABEL_COLUMN}}{text}"


def labelled_word(addr: int, value: int) -> str:
    return labelled(addr, f"{value:x}")


def hexval(v: int) -> str:
    """A number in ::print's style: 0 is '0', anything else 0x-prefixed hex."""
    return "0" if v == 0 else f"{v:#x}"
