"""A small mdb over a simulated crash dump: `Mdb(dump).run("::status") -> MdbResult`.

The command line is mdb's: `[EXPR]::dcmd [args]`, `[EXPR]$c`, `EXPR/FMT` (read memory),
`EXPR=FMT` (print a value), and `::walk W | ::dcmd` (each address the walk yields runs the
dcmd). Output is laid out like mdb's, and every error is answered the way mdb answers it
("mdb: invalid command '::foo': unknown dcmd name"): a result with ok=False, never an
exception. Each result also says what to type on a real illumos system (`.illumos`), so a
learner can move on to the real tool. The dcmds themselves live in dcmds.py.
"""

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from labkit.errors import LabkitError
from labkit.postmortem import dcmds
from labkit.postmortem.dcmds import Illumos, MdbError
from labkit.postmortem.dump import Dump, DumpFault
from labkit.postmortem.ksyms import lookup
from labkit.postmortem.mdbexpr import MASK, Evaluator, ExprError
from labkit.postmortem.mdbfmt import addr_symbol, labelled, labelled_word

# /FMT and =FMT: (bytes read, how the value prints)
_FORMATS = {"K": (8, "hex"), "J": (8, "hex"), "X": (4, "hex"), "B": (1, "hex"),
            "D": (4, "signed"), "E": (8, "unsigned"), "a": (8, "symbol"), "s": (0, "string")}


@dataclass
class MdbResult:
    command: str
    text: str
    ok: bool = True
    illumos: Illumos | None = None
    addresses: list = field(default_factory=list, repr=False)   # what a walk yields, for pipes
    quit: bool = False

    @property
    def error(self) -> bool:
        return not self.ok

    def __str__(self):
        return self.text

    def to_json(self) -> dict:
        return {"command": self.command, "ok": self.ok, "output": self.text,
                "illumos": None if self.illumos is None else
                {"command": self.illumos.command, "note": self.illumos.note}}


class Mdb:
    """The debugger: parses a command line, evaluates its address, runs its verb."""

    def __init__(self, dump: Dump):
        if not isinstance(dump, Dump):
            raise LabkitError(f"Mdb needs a Dump (see labkit.postmortem.seed_dump), not {dump!r}")
        self.dump = dump
        self.dot = 0
        self.history: list[MdbResult] = []

    # ---- the public face ---------------------------------------------------------------
    def run(self, command: str) -> MdbResult:
        if not isinstance(command, str):
            raise LabkitError(f"an mdb command is a string, not {type(command).__name__}")
        line = command.strip()
        try:
            result = self._pipeline(line) if line else MdbResult(command, "")
        except MdbError as e:
            result = MdbResult(command, f"mdb: {e}", ok=False,
                               illumos=Illumos(line, "mdb answers bad input the same way"))
        except Exception as e:   # a bug of ours: say so in one line rather than a traceback
            result = MdbResult(command, f"mdb: internal error in labkit's mdb ({type(e).__name__}: "
                                        f"{e}); please report it with this command", ok=False,
                               illumos=Illumos(line, "the real mdb would have answered"))
        result.command = command
        self.history.append(result)
        return result

    def transcript(self, commands: Iterable[str]) -> str:
        """Run each command and lay the session out as it reads at mdb's prompt."""
        parts = []
        for c in commands:
            out = self.run(c).text
            parts.append(f"> {c}" + (f"\n{out}" if out else ""))
        return "\n".join(parts) + "\n"

    # ---- parsing -----------------------------------------------------------------------
    def _pipeline(self, line: str) -> MdbResult:
        left, bar, right = line.partition("|")
        if bar and "::" in left and "::" in right:       # a pipe, not bitwise or
            first = self._single(left.strip())
            outs = [self._single(right.strip(), addr).text for addr in first.addresses]
            later = self._single(right.strip(), 0, dry=True)
            assert first.illumos is not None and later.illumos is not None   # _single always says
            return MdbResult(line, "\n".join(o for o in outs if o),
                             illumos=Illumos(f"{first.illumos.command} | {later.illumos.command}",
                                             first.illumos.note))
        return self._single(line)

    def _single(self, line: str, piped: int | None = None, *, dry: bool = False) -> MdbResult:
        cut = min((i for i in (line.find("::"), line.find("$"), line.find("/"), line.find("="))
                   if i >= 0), default=-1)
        if cut < 0:
            # a bare expression sets dot (as in mdb), and prints nothing
            self.dot = self.evaluate(line)
            return MdbResult(line, "", illumos=Illumos(line, "a bare expression sets dot"))
        expr, verb = line[:cut].strip(), line[cut:]
        addr = piped if piped is not None else (self.evaluate(expr) if expr else None)
        if addr is not None and not dry:
            self.dot = addr
        if verb.startswith("::"):
            if not verb[2:].strip():
                raise MdbError('syntax error near "::"')
            name, *args = verb[2:].split()
            if name not in dcmds.DCMDS:
                raise MdbError(f"invalid command '::{name}': unknown dcmd name")
            d = dcmds.DCMDS[name]
            illumos = d.illumos(line, args)
            if dry:
                return MdbResult(line, "", illumos=illumos)
            text, addresses = d.run(self, addr, args)
            return MdbResult(line, text, illumos=illumos, addresses=addresses,
                             quit=name == "quit")
        if verb[0] == "$":
            return self._dollar(line, addr, verb[1:].strip())
        return self._format(line, addr, verb[0], verb[1:].strip())

    def _dollar(self, line, addr, what) -> MdbResult:
        if what == "q":
            return MdbResult(line, "", quit=True, illumos=Illumos("$q", "leaves mdb"))
        if what in ("c", "C"):
            text, _ = dcmds.DCMDS["stack"].run(self, addr, [])
            return MdbResult(line, text, illumos=Illumos(
                line, "$c (or ::stack) prints the panicking thread's stack; ADDR$c a thread's"))
        if what == "r":
            return MdbResult(line, dcmds.registers_text(self.dump), illumos=Illumos(
                "$r", "on a dump, $r shows the registers saved when the kernel panicked"))
        raise MdbError(f"invalid command '${what}': unknown dcmd name")

    def _format(self, line, addr, verb, fmt) -> MdbResult:
        count = 1
        digits = "".join(c for c in fmt if c.isdigit())
        letter = fmt[len(digits):]
        if digits:
            count = int(digits)
        if letter not in _FORMATS or count < 1:
            raise MdbError(f"invalid format '{fmt}'" if fmt else 'syntax error near "\\n"')
        size, kind = _FORMATS[letter]
        if addr is None:
            addr = self.dot
        note = dcmds.SAME
        if verb == "=":
            text = "\n".join(_show(addr & _mask(size), kind, size) for _ in range(count))
            return MdbResult(line, text, illumos=Illumos(line, note))
        if kind == "string":
            text = labelled(addr, self._string(addr))
            return MdbResult(line, text, illumos=Illumos(line, note))
        values = []
        for i in range(count):
            raw = self._read(addr + i * size, size)
            values.append(int.from_bytes(raw, "little"))
        if size == 8 and kind == "hex":
            text = "\n".join(labelled_word(addr + i * 8, v) for i, v in enumerate(values))
        else:
            text = labelled(addr, " ".join(_show(v, kind, size).strip() for v in values))
        return MdbResult(line, text, illumos=Illumos(line, note))

    # ---- services for the dcmds --------------------------------------------------------
    def evaluate(self, text: str) -> int:
        try:
            return Evaluator(self._resolve, self._register, self._deref, self.dot).evaluate(text)
        except ExprError as e:
            raise MdbError(str(e)) from None

    def _resolve(self, name: str) -> int:
        try:
            return lookup(name)
        except LabkitError:
            raise ExprError("failed to dereference symbol: unknown symbol name") from None

    def _register(self, name: str) -> int:
        regs = self.dump.registers
        if name not in regs:
            raise ExprError(f"failed to get value of register {name}: the dump saved only "
                            + ", ".join(sorted(regs)))
        return regs[name]

    def _deref(self, addr: int) -> int:
        return struct.unpack("<Q", self._read(addr, 8))[0]

    def _read(self, addr: int, size: int) -> bytes:
        try:
            return self.dump.read(addr, size)
        except DumpFault as e:
            raise MdbError(f"failed to read data from target: {e}") from None

    def _string(self, addr: int) -> str:
        out = bytearray()
        while len(out) < 256:
            b = self._read(addr + len(out), 1)
            if b == b"\0":
                break
            out += b
        return out.decode(errors="replace")


def _mask(size: int) -> int:
    return MASK if size in (0, 8) else (1 << 8 * size) - 1


def _show(v: int, kind: str, size: int) -> str:
    """A value as `=FMT` prints it: right-aligned in 16 columns, as mdb does for a 64-bit target."""
    if kind == "symbol":
        return addr_symbol(v) or f"{v:x}"
    if kind == "signed" and v >= 1 << (8 * size - 1):
        v -= 1 << 8 * size
    return f"{v:x}".rjust(16) if kind == "hex" else f"{v}".rjust(16)
