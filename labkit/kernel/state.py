"""What a learner stepping the race needs to see: each thread's kernel line, and the shared state.

    state_view(kernel, threads)  -> KernelState: the chain (kid, name, INVALID?, held by),
                                    kstat_chain_lock (owner, waiters bit), and per reader the
                                    count so far, the buffer's size and the copy's position
    kernel_frame(thread)         -> CodeView: the kernel function a paused thread is in, its
                                    source, and the kernel line it is on

Design note: the widgets only draw; this module reads. It reads a paused execution plainly
(outside resume() nothing schedules). The count so far and the copy's position are local
variables of header_kstat_update and header_kstat_snapshot, so they are read off the paused
thread's frames by function name: that works for a learner's own variant of those functions too,
as long as it keeps the C names (`nkstats`, `buf`). The current line is the kernel's line, never
the model's plumbing: the C primitives (mutex_enter, avl_walk, bcopy...) are written here in a few
lines of Python each, and the line shown is the caller's, the one that calls the primitive.
"""

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from labkit.kernel.layout import KSTAT_FLAG_INVALID, SIZEOF_KSTAT_T

if TYPE_CHECKING:
    from labkit.kernel.kstat import Kernel
    from labkit.sched import SimThread

# The C primitives and helpers modelled in Python (kstat_fr.py's first section): a thread paused
# inside one is shown on the line of kernel code that called it.
PLUMBING = frozenset(("mutex_enter", "mutex_tryenter", "mutex_exit", "MUTEX_HELD", "cv_wait", "cv_broadcast",
                      "avl_walk", "bcopy", "delay", "gethrtime", "kstat_zone_find", "getzoneid",
                      "sizeof", "panic", "ASSERT", "ks_flags", "insert", "find", "remove"))


def code_only(line: str) -> str | None:
    """A source line without its comment; None for a line that is only a comment or a docstring.
    (The model's comments explain the model, and would give the learner's puzzles away.)"""
    stripped = line.strip()
    if stripped.startswith("#") or stripped.startswith(('"' * 3, "'" * 3)):
        return None
    if "  #" in line and line.count('"') % 2 == 0 and line.count("'") % 2 == 0:
        line = line[:line.index("  #")].rstrip()
    return line


@dataclass(frozen=True)
class CodeView:
    """One thread's place in the kernel: a function's source with its current line."""

    function: str
    line: int                 # the current line's number in the file
    first_line: int           # the number of the function's first line
    source: tuple             # the function's lines, without their newlines
    callers: tuple = ()       # the kernel functions below it, innermost first

    @property
    def current(self) -> str:
        """The current line, without the model's comment."""
        return (code_only(self.source[self.line - self.first_line]) or "").strip()

    def __str__(self):
        return f"{self.function}() line {self.line}: {self.current}"


@dataclass(frozen=True)
class ChainEntry:
    kid: int
    name: str                 # module:instance:name
    invalid: bool
    held_by: str              # the thread holding it (kstat_hold), or ""


@dataclass(frozen=True)
class ReaderState:
    """Where one reader is in its two passes (None: not reached yet)."""

    thread: str
    counted: int | None = None       # header_kstat_update's nkstats (so far, while counting)
    counting: bool = False           # still in the first pass
    bufsize: int | None = None       # the buffer kmem_zalloc gave the copy (bytes)
    copied: int | None = None        # bytes header_kstat_snapshot has copied so far

    @property
    def header_index(self) -> int | None:
        """The index of the header the copy will write next."""
        return None if self.copied is None else self.copied // SIZEOF_KSTAT_T


@dataclass(frozen=True)
class KernelState:
    chain: tuple                      # ChainEntry per kstat, in kid order
    lock_owner: str                   # the thread owning kstat_chain_lock, or ""
    lock_waiters: bool                # the MUTEX_WAITERS bit of its owner word
    lock_word: int
    readers: tuple = field(default_factory=tuple)   # ReaderState per thread in a header pass

    def __str__(self):
        chain = " ".join(f"{e.kid}{'(INVALID)' if e.invalid else ''}" for e in self.chain)
        owner = self.lock_owner or "nobody"
        lines = [f"chain (kid order): {chain}",
                 f"kstat_chain_lock: owner {owner}, waiters bit {int(self.lock_waiters)} "
                 f"(word {self.lock_word:#x})"]
        for r in self.readers:
            lines.append(f"{r.thread}: " + reader_text(r))
        return "\n".join(lines)


def reader_text(r: ReaderState) -> str:
    parts = []
    if r.counted is not None:
        what = "counting: " if r.counting else "counted "
        parts.append(f"{what}{r.counted} header{'s' if r.counted != 1 else ''}"
                     f"{' so far' if r.counting else ''}")
    if r.bufsize is not None:
        parts.append(f"buffer {r.bufsize:#x} bytes (room for {r.bufsize // SIZEOF_KSTAT_T} "
                     f"headers of {SIZEOF_KSTAT_T:#x})")
    if r.copied is not None:
        parts.append(f"copied {r.copied:#x} bytes: header {r.header_index} goes next, at "
                     f"kbuf+{r.copied:#x}")
    return "; ".join(parts)


def state_view(k: "Kernel", threads: "Iterable[SimThread]") -> KernelState:
    """The shared state that matters to the race, read plainly from kernel `k`."""
    chain = tuple(ChainEntry(ks.ks_kid, f"{ks.ks_module}:{ks.ks_instance}:{ks.ks_name}",
                             bool(ks._flags & KSTAT_FLAG_INVALID),
                             getattr(ks.e_owner, "name", "") or "")
                  for ks in k.avl_bykid.nodes)
    lock = k.chain_lock
    readers = tuple(r for r in (_reader_state(t) for t in threads) if r is not None)
    return KernelState(chain, getattr(lock.owner, "name", "") or "", bool(lock.waiters),
                       lock.owner_word, readers)


def _frames(t):
    f = t.frame
    while f is not None:
        yield f
        f = f.f_back


def _reader_state(t):
    frames = {}
    for f in _frames(t):
        frames.setdefault(f.f_code.co_name, f.f_locals)
    upd, snap, rkd = (frames.get(n) for n in ("header_kstat_update", "header_kstat_snapshot",
                                              "read_kstat_data"))
    counted = bufsize = copied = None
    counting = upd is not None and isinstance(upd.get("nkstats"), int)
    if counting:
        counted = upd["nkstats"]
    elif rkd is not None and isinstance(rkd.get("kbufsize"), int):
        counted = rkd["kbufsize"] // SIZEOF_KSTAT_T     # the first pass is over: its count
    kbuf = rkd.get("kbuf") if rkd is not None else None
    if kbuf is not None:
        bufsize = kbuf.size
        if snap is not None and isinstance(snap.get("buf"), int):
            copied = snap["buf"] - kbuf.addr
    if counted is None and bufsize is None:
        return None
    return ReaderState(t.name, counted, counting, bufsize, copied)


_source_cache: dict = {}   # code object -> (source lines, first line number)


def _source(code):
    got = _source_cache.get(code)
    if got is None:
        try:
            lines, first = inspect.getsourcelines(code)
        except (OSError, TypeError):
            lines, first = [], code.co_firstlineno
        got = _source_cache[code] = (tuple(line.rstrip("\n") for line in lines), first)
    return got


def kernel_frame(t: "SimThread") -> CodeView | None:
    """The kernel function paused thread `t` is in, with the line of kernel code it is on."""
    frames = [f for f in _frames(t) if f.f_code.co_name not in PLUMBING
              and "/labkit/sched/" not in f.f_code.co_filename
              and f.f_code.co_name not in ("<lambda>", "reader", "writer")]
    if not frames:
        return None
    f = frames[0]
    source, first = _source(f.f_code)
    line = f.f_lineno
    if source and 0 <= line - first < len(source):
        # A scheduling point announced in the function itself (`point("alloc", ...)`) is the
        # model's: the kernel's line is the next one, the allocation it announces.
        if source[line - first].lstrip().startswith("point(") and line - first + 1 < len(source):
            line += 1
    else:
        source = (f"(source of {f.f_code.co_name} not available)",)
        first = line
    callers = tuple(g.f_code.co_name for g in frames[1:])
    return CodeView(f.f_code.co_name, line, first, source, callers)
