"""The panic record: what the simulated kernel leaves behind when it dies.

It holds what a crash dump would let a debugger see (the post-mortem kit builds its dump and its
mdb on it): the trap, the faulting address and the buffer it ran past, the registers the model
has, every thread with its state and its stack as a frame-pointer walk would print it, and the
frozen kernel itself (kstats, the chain lock, memory).
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labkit.kernel import symbols
from labkit.sched import Failure

if TYPE_CHECKING:                  # kstat.py raises panics: the type only, for the hint
    from labkit.kernel.kstat import Kernel


@dataclass(frozen=True)
class Frame:
    fp: int                 # the frame pointer mdb prints in the first column
    function: str
    offset: int             # return address (or %rip) offset into the function
    args: tuple = ()        # the function's integer arguments, where the model knows them

    def __str__(self):
        args = ", ".join(f"{a:x}" for a in self.args)
        return f"{self.fp:016x} {self.function}+{self.offset:#x}({args})"


@dataclass
class ThreadRecord:
    name: str               # "R" (the kstat reader) or "W" (the zone_create writer)
    addr: int               # its kthread_t
    state: str              # "panicked", "on cpu", "spinning", "blocked", "sleeping", "finished"
    stack: list             # Frames, innermost first, as a frame-pointer walk shows them
    call_chain: list        # every function really active, innermost first (no frames elided)
    description: str = ""
    sp: int = 0             # saved stack pointer (what ::findstack prints)


@dataclass
class PanicRecord:
    message: str
    fault_addr: int | None = None
    kbuf: int | None = None
    kbuf_size: int | None = None       # what kmem_zalloc was asked for (ks_data_size + 1)
    mapped_size: int | None = None     # what was mapped for it (whole pages)
    offset: int | None = None          # fault_addr - kbuf
    header_index: int | None = None    # which header the copy was writing
    counted: int | None = None         # headers the first pass counted (ks_ndata)
    registers: dict = field(default_factory=dict)
    panic_thread: str = ""
    threads: list = field(default_factory=list)
    kernel: "Kernel | None" = None
    trap: str = ""

    @property
    def past_end(self) -> int | None:
        """How far past the end of the allocated size the fault was."""
        if self.offset is None or self.kbuf_size is None:
            return None
        return self.offset - self.kbuf_size

    def thread(self, name: str) -> ThreadRecord:
        for t in self.threads:
            if t.name == name:
                return t
        raise KeyError(name)

    def signature(self) -> tuple:
        return (self.message if self.fault_addr is None else "page fault",
                self.header_index, self.offset, self.counted)

    def __str__(self):
        lines = [f"panic[cpu0]/thread={self.thread(self.panic_thread).addr:x}: {self.message}"
                 if self.panic_thread else f"panic: {self.message}"]
        if self.fault_addr is not None:
            lines.append(
                f"  the copy of header {self.header_index} (0-based) wrote at kbuf+{self.offset:#x}; "
                f"the buffer is {self.kbuf_size:#x} bytes ({self.counted} headers counted + 1), "
                f"mapped as {self.mapped_size:#x}, and the next page is unmapped")
        for t in self.threads:
            lines.append(f"  thread {t.name} {t.addr:x} ({t.state}):")
            lines += [f"    {f}" for f in t.stack]
        return "\n".join(lines)

    def to_json(self) -> dict:
        out: dict[str, Any] = {"message": self.message, "panic_thread": self.panic_thread,
               "stack": [f"{f.function}+{f.offset:#x}" for f in self.thread(self.panic_thread).stack]
               if self.panic_thread else []}
        for k in ("fault_addr", "kbuf", "kbuf_size", "mapped_size", "offset", "header_index",
                  "counted"):
            out[k] = getattr(self, k)
        out["threads"] = {t.name: {"state": t.state,
                                   "stack": [f"{f.function}+{f.offset:#x}" for f in t.stack]}
                          for t in self.threads}
        return out


class KernelPanic(Failure):
    kind = "panic"


def offset_in(function: str) -> int:
    return symbols.CALL_SITE.get(function, 0x10)
