"""Stacks as a debugger would see them, taken from the simulated threads' real Python frames.

The kernel functions are Python functions named like their C originals, so a thread's stack is
its chain of Python frames, kept to the names in the kernel's symbol table. Two things a real
frame-pointer walk does are modelled, because the seed's stacks show them:
- bcopy builds no frame of its own, so a walk that starts in bcopy goes straight from bcopy to
  its caller's caller: header_kstat_snapshot vanishes from the panic stack.
- mutex_enter is a frameless fast path; a thread that finds the mutex held goes into
  mutex_vector_enter, and spins there (mutex_delay_default) while the owner runs, or blocks
  (turnstile_block, swtch) when it does not.
"""

import sys
from types import FrameType
from typing import TYPE_CHECKING

from labkit.kernel import symbols
from labkit.kernel.panic import Frame, KernelPanic, PanicRecord, ThreadRecord, offset_in

if TYPE_CHECKING:                 # kstat_fr.py panics through here: the types only
    from labkit.kernel.kstat import Kernel, Kstat
    from labkit.kernel.memory import Allocation

FRAMELESS = {"bcopy"}      # leaf routines that do not push a frame
_NOT_SHOWN = {"mutex_enter", "mutex_exit", "cv_wait"}   # modelled below by their slow paths


def _python_chain(frame):
    """[(function, args)] for kernel functions on a Python frame chain, innermost first."""
    out = []
    while frame is not None:
        name = frame.f_code.co_name
        if name in symbols.FUNCTION_TABLE:
            code = frame.f_code
            args = []
            for var in code.co_varnames[:code.co_argcount]:
                v = frame.f_locals.get(var)
                if isinstance(v, bool):
                    continue
                if isinstance(v, int):
                    args.append(v)
                elif hasattr(v, "addr"):
                    args.append(v.addr)
            out.append((name, tuple(args)))
        frame = frame.f_back
    return out


def _frames(thread_name: str, chain, top=()):
    """Frames with deterministic frame pointers: innermost at the lowest address."""
    base = symbols.KTHREAD_STACKS.get(thread_name, 0xFFFFFF0200000000) + 0x2E00
    names = list(top) + chain
    n = len(names)
    return [Frame(base + 0x40 * (i - n), fn, offset_in(fn), args) for i, (fn, args) in enumerate(names)]


def capture_threads(k: "Kernel", rec: PanicRecord, panicking_frame: FrameType | None = None) -> None:
    """Fill rec.threads with every thread's state and stack at this moment."""
    from labkit.sched import current_thread

    me = current_thread()
    rec.panic_thread = me.name if me is not None else ""
    for t in k.threads.values():
        if t is me:
            chain = _python_chain(panicking_frame or sys._getframe(1))
            state = "panicked"
        else:
            chain = _python_chain(t.frame)
            state = {"runnable": "on cpu", "spinning": "spinning", "blocked": "blocked",
                     "finished": "finished"}[t.state]
        true_chain = [fn for fn, _ in chain]
        shown = [(fn, a) for fn, a in chain if fn not in _NOT_SHOWN]
        top: tuple[tuple[str, tuple], ...] = ()
        if state == "panicked" and shown and shown[0][0] in FRAMELESS and len(shown) > 1:
            shown = [shown[0]] + shown[2:]          # the frameless leaf hides its caller
        elif state == "spinning":
            top = (("mutex_delay_default", ()), ("mutex_vector_enter", (k.chain_lock.addr,)))
        elif state == "blocked" and t.pending and t.pending[0] == "acquire":
            top = (("swtch", ()), ("turnstile_block", ()), ("mutex_vector_enter", (t.pending[1].addr,)))
        elif state == "blocked":
            top = (("swtch", ()), ("cv_wait", ()))
        frames = _frames(t.name, shown, top) if state != "finished" else []
        rec.threads.append(ThreadRecord(
            name=t.name, addr=t.addr, state=state, stack=frames, call_chain=true_chain,
            sp=(frames[0].fp - 0x30) if frames else 0))


def page_fault(k: "Kernel", fault_addr: int, src: "Kstat", dst: int, size: int, alloc: "Allocation | None") -> None:
    """A store to an unmapped page in kernel mode: trap, and panic."""
    hdr = k.header_ksp
    assert hdr is not None and alloc is not None   # a fault in the copy: into kbuf, by the header kstat's read
    rec = PanicRecord(
        message=f"BAD TRAP: type=e (#pf Page fault) rp={symbols.KTHREAD_STACKS['R'] + 0x2960:x} "
                f"addr={fault_addr:x}",
        trap="#pf Page fault",
        fault_addr=fault_addr, kbuf=alloc.addr, kbuf_size=alloc.size,
        mapped_size=alloc.map_end - alloc.map_start, offset=fault_addr - alloc.addr,
        header_index=(dst - alloc.addr) // 0xB8, counted=hdr.ks_ndata, kernel=k,
        registers={
            "rip": symbols.FUNCTION_TABLE["bcopy"][0] + symbols.CALL_SITE["bcopy"],
            # bcopy's tail copies address backwards from the end of the copy, so %rsi holds
            # dst + size and the faulting store is at a negative offset from it.
            "rsi": dst + size,
            "rdi": src.addr,
            "rdx": size,
            "cr2": fault_addr,
        })
    capture_threads(k, rec, sys._getframe(1))   # from bcopy outward
    k.panic_record = rec
    raise KernelPanic(rec.message, rec)
