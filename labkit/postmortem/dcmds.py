"""The dcmds of the small mdb: each prints what the real one prints, from the simulated dump.

A dcmd is run(mdb, addr, args) -> (text, addresses) plus what to type on illumos. They read
the dump only through it (never the live kernel objects), so what they show is what a real
debugger could show. Where our output leaves out what the model does not have (a process
table, CPU structures), the illumos note says so.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labkit.kernel.layout import KSTAT_T_FIELDS, SIZEOF_KSTAT32_T, SIZEOF_KSTAT_T
from labkit.kernel.panic import Frame
from labkit.postmortem import ksyms
from labkit.postmortem.dump import THREAD_NAMES, Dump, DumpFault, kstat_members
from labkit.postmortem.mdbfmt import addr_symbol, hexval, stack_text
from labkit.sched import MUTEX_WAITERS

if TYPE_CHECKING:                     # mdb.py imports this module: the type only, for the hints
    from labkit.postmortem.mdb import Mdb

#: What a dcmd returns: its text, or its text and the addresses it hands on down a pipe (`|`).
DcmdOutput = str | tuple[str, list[int]]

MUTEX_OWNER_BITS = 0x7        # MUTEX_OWNER() masks the low bits off the owner word

TYPES = {"kstat_t": SIZEOF_KSTAT_T, "struct kstat": SIZEOF_KSTAT_T, "kstat32_t": SIZEOF_KSTAT32_T,
         "kmutex_t": 8}
MEMBER_TYPES = {"kstat_t", "struct kstat"}           # the types whose members we know
SAME = "the same command on a real dump (its addresses differ)"

# Which kernel module each function lives in (the message buffer prints module:function).
_MODULES = {"read_kstat_data": "kstat", "kstat_ioctl": "kstat"}
# Hand-written assembly: it saves no arguments where mdb looks for them, so mdb shows none.
_ASSEMBLY = {"bcopy", "_sys_sysenter_post_swapgs", "sys_syscall", "mutex_delay_default"}
_UNIX = {"bcopy", "mutex_enter", "mutex_exit", "mutex_vector_enter", "mutex_delay_default",
         "_sys_sysenter_post_swapgs", "sys_syscall", "panic", "die", "trap"}


class MdbError(Exception):
    """An mdb error message (without the "mdb: " prefix)."""


@dataclass(frozen=True)
class Illumos:
    command: str     # what to type on a real illumos system
    note: str        # one line on how it differs, or what it needs

    def __str__(self):
        return f"on illumos: {self.command}    ({self.note})"


@dataclass(frozen=True)
class Dcmd:
    name: str
    usage: str
    help: str
    fn: Callable[["Mdb", int | None, list[str]], DcmdOutput]
    note: str = SAME
    real: str = ""                 # the illumos command, if it differs

    def run(self, mdb: "Mdb", addr: int | None, args: list[str]) -> tuple[str, list[int]]:
        out = self.fn(mdb, addr, args)
        return out if isinstance(out, tuple) else (out, [])

    def illumos(self, line: str, args: list[str]) -> Illumos:
        return Illumos(self.real or line, self.note)



def _options(args, allowed: str):
    opts = {a[1:] for a in args if a.startswith("-")}
    bad = [o for o in opts if len(o) != 1 or o not in allowed]
    if bad:
        raise MdbError(f"illegal option -- {bad[0]}")
    return opts, [a for a in args if not a.startswith("-")]


def _needs(addr, what):
    if addr is None:
        raise MdbError(f"{what} requires an address")
    return addr


# ---- the panic ------------------------------------------------------------------------
def status(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    d = mdb.dump
    what = {"panic": "panic message:", "deadlock": "dump taken of a deadlocked system (no panic):",
            "hang": "dump taken of a hung system (no panic):"}[d.kind]
    origin = ("labkit (the C model on real threads; the kernel parts are the model's)"
              if d.origin == "native" else "labkit (simulated)")
    counted = f" ({d.counted} headers counted)" if d.counted is not None else ""
    schedule = d.schedule if d.schedule is not None else "not recorded in this dump"
    fix = d.program.get("fix")
    return "\n".join([
        f"debugging crash dump vmcore.0 (64-bit) from {origin}",
        "operating system: 5.11 labkit kstat race lab (i86pc)",
        f"scenario: {d.scenario or 'custom'}{counted}" + (f", fix {fix}" if fix and fix != "none" else "")
        + f", schedule {schedule}",
        what, d.message,
        "dump content: kernel pages only (the kstats, kstat_chain_lock, kstat_chain_id, "
        + ("the header buffer, " if d.kbuf is not None else "") + f"{len(d.threads)} threads)"])


def _panicking(d):
    if d.panic_thread is None:
        raise MdbError(f"this dump was taken of a {d.kind}, not a panic: no thread panicked "
                       "(::threadlist lists the threads, THREAD::findstack shows one)")
    return d.panic_thread


def registers_text(d: Dump) -> str:
    lines = []
    for name in ("rdi", "rsi", "rdx", "rip", "cr2"):
        if name in d.registers:
            v = d.registers[name]
            sym = addr_symbol(v)
            lines.append(f"%{name:<3} = 0x{v:016x}" + (f" {sym}" if sym else ""))
    return "\n".join(lines)


def _module_frame(f) -> str:
    mod = _MODULES.get(f.function, "unix" if f.function in _UNIX else "genunix")
    return f"{f.fp:016x} {mod}:{f.function}+{f.offset:x} ()"


def msgbuf(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    d = mdb.dump
    if d.panic_thread is None:
        return "\n".join([f"NOTICE: {d.message}", "", "dumping to /dev/zvol/dsk/zones/dump, "
                          "offset 65536, content: kernel"])
    t = d.panic_thread
    lines = [f"panic[cpu{d.cpu_of(t)}]/thread={t.addr:x}: ", d.message, "", ""]
    if d.fault_addr is not None:
        lines += [f"{THREAD_NAMES.get(t.name, t.name)}: {d.trap}",
                  f"Bad kernel fault at addr=0x{d.fault_addr:x}",
                  f"pc=0x{d.registers.get('rip', 0):x}", f"cr2: {d.registers.get('cr2', d.fault_addr):x}",
                  *["        " + " ".join(f"{r}: {d.registers[r]:16x}" for r in ("rdi", "rsi", "rdx")
                                           if r in d.registers)][:1 if "rdi" in d.registers else 0], ""]
    lines += [_module_frame(f) for f in t.stack]
    lines += ["", "syncing file systems... done", "dumping to /dev/zvol/dsk/zones/dump, offset "
              "65536, content: kernel"]
    return "\n".join(lines)


def panicinfo(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    d = mdb.dump
    t = _panicking(d)
    rows = [("cpu", f"{d.cpu_of(t)}"), ("thread", f"{t.addr:x}"), ("message", d.message)]
    rows += [(r, f"{d.registers[r]:x}") for r in ("rdi", "rsi", "rdx", "rip", "cr2") if r in d.registers]
    return "\n".join(f"{k:>16} {v:>16}" for k, v in rows)


# ---- threads and stacks ---------------------------------------------------------------
def _thread_at(mdb, addr):
    t = mdb.dump.thread(addr)
    if t is None:
        raise MdbError(f"failed to read thread at {addr:x}: not a kthread_t in this dump "
                     "(::threadlist lists the threads)")
    return t


def stack(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    t = _panicking(mdb.dump) if addr is None else _thread_at(mdb, addr)
    return stack_text(_shown(t), args=True)


def _shown(t):
    """The model knows every argument; mdb shows none for assembly routines (they save none)."""
    return [Frame(f.fp, f.function, f.offset, () if f.function in _ASSEMBLY else f.args)
            for f in t.stack]


def findstack(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    opts, _ = _options(args, "v")
    t = _thread_at(mdb, _needs(addr, "::findstack"))
    head = f"stack pointer for thread {t.addr:x}: {t.sp:x}"
    if not t.stack:
        return head + "\n  (the thread has exited)"
    return head + "\n" + stack_text(_shown(t), args="v" in opts, indent="  ")


def _what(t) -> str:
    return {"panicked": "panicking", "spinning": "spinning on kstat_chain_lock",
            "blocked": "blocked", "on cpu": "running"}.get(t.state, t.state)


def threadlist(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    opts, _ = _options(args, "v")
    d = mdb.dump
    lines = [f"{'ADDR':>16} {'STATE':<9} {'CPU':>3} CMD/WCHAN"]
    for t in d.threads:
        cpu = d.cpu_of(t)
        lines.append(f"{t.addr:016x} {t.state:<9} {'-' if cpu is None else cpu:>3} "
                     f"{THREAD_NAMES.get(t.name, t.name)} ({_what(t)})")
        if "v" in opts and t.stack:
            lines.append(stack_text(_shown(t), args=False, indent="  "))
    return "\n".join(lines), [t.addr for t in d.threads]


def cpuinfo(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    d = mdb.dump
    lines = [f"{'ID':>3} {'THREAD':<16} {'STATE':<9} PROC"]
    for t in sorted(d.threads, key=lambda x: (d.cpu_of(x) is None, d.cpu_of(x) or 0)):
        if d.cpu_of(t) is not None:
            lines.append(f"{d.cpu_of(t):>3} {t.addr:016x} {t.state:<9} {THREAD_NAMES.get(t.name, t.name)}")
    return "\n".join(lines)


# ---- locks ----------------------------------------------------------------------------
def mutex(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    d = mdb.dump
    lock = ksyms.lookup("kstat_chain_lock")
    addr = lock if addr is None else addr
    if addr != lock:
        raise MdbError(f"{addr:x} is not a mutex this dump holds (it keeps kstat_chain_lock, "
                       f"at {lock:x})")
    word = d.chain_lock_word
    owner = word & ~MUTEX_OWNER_BITS
    head = f"{'ADDR':>16}  TYPE {'HELD':>16} MINSPL OLDSPL WAITERS"
    row = (f"{addr:016x} adapt {owner if owner else 0:>16x}      -      - "
           f"{'yes' if word & MUTEX_WAITERS else 'no':>7}")
    lines = [head, row, ""]
    t = d.thread(owner) if owner else None
    lines.append("owner: " + (f"thread {owner:x} ({THREAD_NAMES.get(t.name, t.name)}, {_what(t)})"
                              if t is not None else "none: the lock is free" if not owner
                              else f"{owner:x}, not a thread in this dump"))
    waiting = [(x, "blocked" if x.state == "blocked" else "spinning") for x in d.threads
               if x.state in ("blocked", "spinning") and _waits_on(x, addr)]
    for x, how in waiting:
        lines.append(f"waiter: thread {x.addr:x} ({THREAD_NAMES.get(x.name, x.name)}), {how} in "
                     f"{'mutex_enter' if d.origin == 'native' else 'mutex_vector_enter'}" + (" (the owner: it waits for itself)" if x.addr == owner else ""))
        if x.addr == owner:
            lines.append("    (a real kmutex would have panicked here: mutex_vector_enter calls "
                         "mutex_panic(\"recursive mutex_enter\") when the owner is the caller, in "
                         "mutex.c; the simulator's mutex leaves that check out, so the thread waits)")
    if not waiting:
        lines.append("waiters: none")
    lines.append("(the waiters bit is set only by a waiter that blocked; one that spins leaves it clear)")
    return "\n".join(lines)


def _waits_on(t, lock: int) -> bool:
    # A native dump's frames carry no arguments; its mutex_enter is only ever on the chain lock.
    return any((f.function == "mutex_vector_enter" and lock in f.args)
               or (f.function == "mutex_enter" and not f.args) for f in t.stack)


# ---- types and memory -----------------------------------------------------------------
def _type(args, dcmd):
    if not args:
        raise MdbError(f"{dcmd} requires a type name")
    name = " ".join(args[:2]) if args[0] == "struct" and len(args) > 1 else args[0]
    if name not in TYPES:
        raise MdbError(f"failed to look up type {name}: no type by that name in this dump's type data")
    return name, args[2:] if args[0] == "struct" else args[1:]


def _member(name, member):
    for f in KSTAT_T_FIELDS:
        if f[0] == member:
            return f
    raise MdbError(f"failed to find member {member} of {name}: Member name not found")


def _value(ctype, v) -> str:
    if ctype.startswith("char"):
        return f'[ "{v}" ]'
    if "*" in ctype or "(" in ctype:
        hit = ksyms.symbol_at(v) if v else None
        if hit and hit[1] == 0:
            return hit[0]            # pointers that point at a symbol print as its name
    return hexval(v)


def print_(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    opts, rest = _options(args, "t")
    name, members = _type(rest, "::print")
    if name not in MEMBER_TYPES:
        raise MdbError(f"::print of {name} is not in this small mdb (it knows kstat_t's members)")
    addr = mdb.dot if addr is None else addr
    wanted = [_member(name, m) for m in members] or list(KSTAT_T_FIELDS)
    try:
        raw = mdb.dump.read(addr, SIZEOF_KSTAT_T)
    except DumpFault as e:
        raise MdbError(f"failed to read {name} at {addr:x}: {e}") from None
    values = kstat_members(raw)
    indent = "" if members else "    "
    return "\n".join(f"{indent}{_typed(f[3]) if 't' in opts else ''}{f[0]} = {_value(f[3], values[f[0]])}"
                     for f in wanted)


def _typed(ctype: str) -> str:
    """'void *' binds to the name as in C ("void *ks_lock"); other types are followed by a space."""
    return ctype if ctype.endswith("*") else ctype + " "


def sizeof(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    name, _ = _type(args, "::sizeof")
    return f"sizeof ({name}) = {TYPES[name]:#x}"


def offsetof(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    name, rest = _type(args, "::offsetof")
    if len(rest) != 1:
        raise MdbError("::offsetof requires a type and one member name")
    if name not in MEMBER_TYPES:
        raise MdbError(f"failed to find member {rest[0]} of {name}: Member name not found")
    f = _member(name, rest[0])
    return f"offsetof ({name}, {f[0]}) = {f[1]:#x}, sizeof (...->{f[0]}) = {f[2]:#x}"


def walk(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    if len(args) != 1:
        raise MdbError("::walk requires a walker name (kstat or thread)")
    d = mdb.dump
    walkers = {"kstat": [s.addr for s in d.kstats], "thread": [t.addr for t in d.threads]}
    if args[0] not in walkers:
        raise MdbError("failed to perform walk: unknown walk name")
    addrs = walkers[args[0]]
    return "\n".join(f"{a:x}" for a in addrs), addrs


def whatis(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    targets = [mdb.evaluate(a) for a in args] if args else [_needs(addr, "::whatis")]
    return "\n".join(_whatis_one(mdb.dump, a) for a in targets)


def _whatis_one(d, a) -> str:
    b = d.kbuf
    if b is not None and b.map_start <= a < b.map_end:
        off = a - b.addr
        where = (f"header index {off // SIZEOF_KSTAT_T}, byte {off % SIZEOF_KSTAT_T:#x} of it"
                 if 0 <= off < b.size else "the rounding slack after the buffer")
        return (f"{a:x} is {b.map_start:x}+{a - b.map_start:x}, allocated from {b.arena}\n"
                f"    (read_kstat_data's header buffer: kmem_zalloc({b.size:#x}); {where})")
    if b is not None and b.map_end <= a < b.map_end + 0x1000:
        return (f"{a:x} is {b.map_start:x}+{a - b.map_start:x}: in the unmapped guard page "
                f"after a {b.arena} allocation of {b.size:#x} bytes")
    ks = d.kstat_containing(a)
    if ks is not None:
        # illumos: boot-time kstats are carved from the static kstat_initial[] (no symbol names
        # the header kstat); later ones come from vmem_alloc(kstat_arena), 0x110 bytes on amd64.
        origin = ("in unix's data (kstat_initial[], the boot-time kstat space: the kid 0 ekstat_t)"
                  if ks.kid == 0 else "allocated from kstat_arena (vmem_alloc; an ekstat_t)")
        return f"{a:x} is {ks.addr:x}+{a - ks.addr:x}, {origin}: kstat {ks.kid} {ks.label}"
    t = d.thread(a)
    if t is not None:
        return f"{a:x} is allocated as a thread structure ({THREAD_NAMES.get(t.name, t.name)})"
    t = d.stack_owner(a)
    if t is not None:
        return f"{a:x} is in thread {t.addr:x}'s stack"
    hit = ksyms.symbol_at(a)
    if hit is not None:
        return f"{a:x} is {hit[0]}+{hit[1]:x}, in the kernel's {hit[2]}"
    if d.is_user(a):
        return f"{a:x} is a user address: a kernel crash dump does not hold user memory"
    return f"{a:x} is unknown"


def dcmds_(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    return "\n".join(f"{d.usage:<38} - {d.help}" for d in DCMDS.values())


def quit_(mdb: "Mdb", addr: int | None, args: list[str]) -> DcmdOutput:
    return ""


DCMDS = {d.name: d for d in (
    Dcmd("status", "::status", "what this dump is and why the system panicked", status,
         "on illumos: mdb unix.0 vmcore.0 (savecore's files), then ::status"),
    Dcmd("msgbuf", "::msgbuf", "the kernel's last console messages: the panic", msgbuf,
         "real dumps hold the whole message buffer; this one holds the panic"),
    Dcmd("panicinfo", "::panicinfo", "the panic's CPU, thread, message and registers", panicinfo,
         "a real ::panicinfo lists every register; the model saved five"),
    Dcmd("stack", "[THREAD]::stack", "a stack: the panicking thread's, or THREAD's ($c)", stack,
         "$c and ::stack are the same"),
    Dcmd("findstack", "THREAD::findstack [-v]", "a thread's stack from its saved stack pointer "
         "(-v: with arguments)", findstack),
    Dcmd("threadlist", "::threadlist [-v]", "every thread (-v: with stacks)", threadlist,
         "a real ::threadlist shows PROC and LWP columns and hundreds of threads"),
    Dcmd("mutex", "[ADDR]::mutex", "a mutex's owner, waiters bit and waiting threads "
         "(default kstat_chain_lock)", mutex,
         "a real ::mutex prints the first two lines; ::wchaninfo -v lists who waits",
         "kstat_chain_lock::mutex"),
    Dcmd("cpuinfo", "::cpuinfo", "which thread each CPU was running", cpuinfo,
         "::cpuinfo -v also shows each CPU's run queue; look for threads on CPU"),
    Dcmd("print", "ADDR::print [-t] kstat_t [member...]", "a kstat_t at ADDR", print_,
         "real mdb prints any type in the kernel's CTF data, inside braces"),
    Dcmd("sizeof", "::sizeof TYPE", "the size of a type", sizeof),
    Dcmd("offsetof", "::offsetof TYPE MEMBER", "where a member lies in its type", offsetof),
    Dcmd("walk", "::walk kstat | thread", "the kstats in kid order, or the threads", walk,
         "illumos has no kstat walker: kstat_avl_bykid::walk avl walks the tree by kid",
         "kstat_avl_bykid::walk avl"),
    Dcmd("whatis", "ADDR::whatis", "what ADDR belongs to", whatis,
         "real ::whatis searches every kmem cache and vmem arena"),
    Dcmd("dcmds", "::dcmds", "the dcmds this small mdb knows", dcmds_,
         "real mdb knows hundreds; ::help NAME explains one"),
    Dcmd("quit", "::quit ($q)", "leave mdb", quit_, "$q also works"),
)}
