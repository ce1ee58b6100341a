"""Decoders: every number a learner meets in the seed's stack and mdb output, worked out.

Each decoder returns a Decoded: the decoded value, its named parts, the steps of the working
(one line each, so a notebook can reveal them one at a time) and what the number tells us.
The constants come from labkit.kernel.layout and .symbols; nothing is repeated here except
what only a post-mortem needs (the mutex owner mask, a 32-bit process's stack top, and the
displacement of bcopy's faulting store, which is an inference: see fault_readings).
"""

from dataclasses import dataclass, field

from labkit.errors import LabkitError
from labkit.kernel.layout import (DATAMODEL_ILP32, DATAMODEL_LP64, FMODELS, FREAD, FWRITE,
                                  KSTAT_FLAG_INVALID, KSTAT_FLAG_NAMES,
                                  KSTAT_IOC_CHAIN_ID, KSTAT_IOC_READ, KSTAT_IOC_WRITE,
                                  NBITSMINOR, PAGESIZE, SIZEOF_KSTAT32_T, SIZEOF_KSTAT_T)
from labkit.kernel.memory import roundup
from labkit.sched import MUTEX_WAITERS

#: MUTEX_OWNER(): an adaptive mutex's owner word with its low bits masked off (kthread_t's are
#: aligned, so the low 3 bits are free for flags; bit 0 is MUTEX_WAITERS).
MUTEX_OWNER_MASK = ~0x7 & (2**64 - 1)

#: USRSTACK32 on illumos x86: a 32-bit process's stack grows down from just below its text,
#: which the i386 ABI links at 0x08048000.
USRSTACK32 = 0x08048000

#: bcopy+0x194, the seed's faulting instruction, is (inference, from the shipped bcopy rebuilt
#: from source) `mov %r10, -0x28(%rsi)`: the copy's tail stores below %rsi, which points at
#: the end of the header being copied.
BCOPY_STORE_DISP = 0x28

KSTAT_IOCTLS = {KSTAT_IOC_CHAIN_ID: "KSTAT_IOC_CHAIN_ID", KSTAT_IOC_READ: "KSTAT_IOC_READ",
                KSTAT_IOC_WRITE: "KSTAT_IOC_WRITE"}
DATA_MODELS = {DATAMODEL_ILP32: "DATAMODEL_ILP32", DATAMODEL_LP64: "DATAMODEL_LP64"}
OPEN_MODES = {FREAD: "FREAD", FWRITE: "FWRITE"}


@dataclass(frozen=True)
class Decoded:
    what: str                 # what the number is: "ioctl command"
    raw: int                  # the number as found
    value: object             # the decoded value: "KSTAT_IOC_READ", (2, 0), 0xb8 ...
    steps: tuple              # the working, one step per line
    meaning: str              # what it tells us, in a sentence
    parts: dict = field(default_factory=dict)   # named parts of the value

    def __getitem__(self, name):
        return self.parts[name]

    def __str__(self):
        value = f"{self.value:#x}" if isinstance(self.value, int) else str(self.value)
        lines = [f"{self.what} {self.raw:#x} -> {value}"]
        lines += [f"  {i}. {s}" for i, s in enumerate(self.steps, 1)]
        lines.append(f"  so: {self.meaning}")
        return "\n".join(lines)

    __repr__ = __str__


def _word(value, what: str, bits: int = 64) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LabkitError(f"{what} must be a whole number, not {value!r}")
    if not 0 <= value < 2**bits:
        raise LabkitError(f"{what} must fit in {bits} unsigned bits, not {value:#x}")
    return value


def ioctl_cmd(cmd: int) -> Decoded:
    """0x4b02 -> KSTAT_IOC_READ."""
    cmd = _word(cmd, "an ioctl command", 32)
    group, number = cmd >> 8, cmd & 0xFF
    name = KSTAT_IOCTLS.get(cmd)
    letter = chr(group) if 0x20 < group < 0x7F else None
    steps = [f"{cmd:#x} is two bytes: {group:#04x} and {number:#04x}"]
    if letter:
        steps.append(f"{group:#x} is the ASCII code of {letter!r}; a driver's ioctls share one "
                     f"letter, and /dev/kstat's are ('K' << 8) | n")
    if name:
        others = ", ".join(f"{n} is {c:#x}" for c, n in KSTAT_IOCTLS.items() if c != cmd)
        steps.append(f"n = {number}: {name} ({others})")
        meaning = {KSTAT_IOC_READ: "the caller asked the kstat driver for one kstat's data "
                                   "(here the header kstat: the list of all kstats)",
                   KSTAT_IOC_CHAIN_ID: "the caller asked for the chain id (has the list changed?)",
                   KSTAT_IOC_WRITE: "the caller wrote to a writable kstat"}[cmd]
    else:
        meaning = "not one of /dev/kstat's ioctls"
    return Decoded("ioctl command", cmd, name, tuple(steps), meaning,
                   {"group": letter or group, "number": number})


def ioctl_flag(flag: int) -> Decoded:
    """0x100001 -> FREAD | DATAMODEL_ILP32."""
    flag = _word(flag, "an ioctl flag word", 32)
    model, mode = flag & FMODELS, flag & ~FMODELS
    mode_names = [n for bit, n in OPEN_MODES.items() if mode & bit]
    unknown = mode & ~(FREAD | FWRITE)
    model_name = DATA_MODELS.get(model, f"unknown model {model:#x}" if model else "no data model")
    steps = [f"the data-model field is the bits under FMODELS ({FMODELS:#010x}): "
             f"{flag:#x} & {FMODELS:#010x} = {model:#010x} = {model_name}",
             f"the rest is the file's open mode: {mode:#x} = "
             + (" | ".join(mode_names) if mode_names else "none")
             + (f" (and unknown bits {unknown:#x})" if unknown else "")]
    names = mode_names + ([model_name] if model in DATA_MODELS else [])
    if model == DATAMODEL_ILP32:
        meaning = ("a 32-bit process made the call: read_kstat_data copies in a kstat32_t and, "
                   f"for the header kstat, repacks the headers into {SIZEOF_KSTAT32_T:#x}-byte "
                   "kstat32_t records on the way out")
    elif model == DATAMODEL_LP64:
        meaning = "a 64-bit process made the call: kstat_t's travel as they are"
    else:
        meaning = "no data model is set: not a flag word the ioctl path would pass"
    return Decoded("ioctl flag", flag, " | ".join(names) or "0", tuple(steps), meaning,
                   {"mode": mode_names, "model": model_name})


def dev_t(dev: int) -> Decoded:
    """0x200000000 -> major 2, minor 0 (a 64-bit kernel's dev_t has 32 minor bits)."""
    dev = _word(dev, "a dev_t")
    major, minor = dev >> NBITSMINOR, dev & ((1 << NBITSMINOR) - 1)
    steps = [f"a 64-bit kernel's dev_t keeps the minor number in its low {NBITSMINOR} bits "
             "and the major number above them",
             f"{dev:#x} >> {NBITSMINOR} = {major}: the major number (which driver)",
             f"{dev:#x} & {(1 << NBITSMINOR) - 1:#x} = {minor}: the minor number (which of its devices)"]
    return Decoded("dev_t", dev, (major, minor), tuple(steps),
                   f"major {major}, minor {minor}: the device node the ioctl was made on; "
                   "kstat_ioctl is the driver entry point that received it",
                   {"major": major, "minor": minor})


def user_pointer(addr: int) -> Decoded:
    """0x80475e8: an address in a 32-bit process's stack."""
    addr = _word(addr, "an address")
    steps = [f"{addr:#x} {'fits' if addr < 2**32 else 'does not fit'} in 32 bits; kernel "
             "addresses on amd64 are at the very top (0xfffff...)"]
    if addr < USRSTACK32 and USRSTACK32 - addr < 0x100000:
        steps.append(f"a 32-bit x86 process's stack grows down from {USRSTACK32:#x}; "
                     f"{addr:#x} is {USRSTACK32 - addr:#x} bytes below that")
        meaning = ("a user address on a 32-bit process's stack: most likely a local kstat_t of "
                   "the agent, which the kernel copies in (copyin), never dereferences")
    elif addr < 2**32:
        meaning = "a user address a 32-bit process could pass"
    else:
        meaning = "not an address a 32-bit process could pass"
    return Decoded("user pointer", addr, "user stack" if len(steps) == 2 else "user address",
                   tuple(steps), meaning, {"below_stack_top": USRSTACK32 - addr})


def ks_flags(flags: int) -> Decoded:
    """0x3 -> VIRTUAL | VAR_SIZE (INVALID clear)."""
    flags = _word(flags, "ks_flags", 8)
    what = {"VIRTUAL": "the kstat supplies its own data through its snapshot routine "
                       "(ks_data stays 0)",
            "VAR_SIZE": "its size changes: ks_update recomputes ks_ndata and ks_data_size "
                        "on every read",
            "WRITABLE": "user processes may write it", "PERSISTENT": "it survives deletion",
            "DORMANT": "it is a persistent kstat waiting to be revived",
            "INVALID": "it is created but not yet installed: readers must not see it"}
    steps = [f"bit {bit:#04x} {name}: {what[name]}" for bit, name in sorted(KSTAT_FLAG_NAMES.items())
             if flags & bit]
    unknown = flags & ~sum(KSTAT_FLAG_NAMES)
    if unknown:
        steps.append(f"bits {unknown:#x}: not kstat flags")
    if not flags & KSTAT_FLAG_INVALID:
        steps.append(f"bit {KSTAT_FLAG_INVALID:#04x} INVALID is clear: the kstat is installed")
    names = [n for bit, n in sorted(KSTAT_FLAG_NAMES.items()) if flags & bit]
    return Decoded("ks_flags", flags, " | ".join(names) or "0", tuple(steps),
                   "the kstat's flags: " + (" and ".join(names) if names else "none"),
                   {"names": names, "invalid": bool(flags & KSTAT_FLAG_INVALID)})


def mutex_owner(word: int, threads: dict | None = None) -> Decoded:
    """An adaptive mutex's first word: the owner thread and the waiters bit."""
    word = _word(word, "a mutex word")
    owner, waiters = word & MUTEX_OWNER_MASK, bool(word & MUTEX_WAITERS)
    who = (threads or {}).get(owner)
    steps = ["an adaptive kmutex's first word holds the owner's kthread_t address, "
             "with bit 0 = MUTEX_WAITERS",
             f"owner: {word:#x} & ~0x7 = {owner:#x}" + (f" ({who})" if who else ""),
             f"waiters: bit 0 is {int(waiters)}"]
    if owner == 0:
        meaning = "nobody holds the lock"
    elif waiters:
        meaning = "held, and some thread has gone to sleep waiting for it"
    else:
        meaning = ("held, and no waiter has gone to sleep: a thread that wants it while the owner "
                   "runs spins instead, which leaves the bit clear")
    return Decoded("mutex owner word", word, owner, tuple(steps), meaning,
                   {"owner": owner, "waiters": waiters, "thread": who})


def kstat_size(data_size: int, ndata: int) -> Decoded:
    """ks_data_size / ks_ndata: 0xfff70 / 0x1642 = 0xb8 = sizeof (kstat_t)."""
    data_size, ndata = _word(data_size, "ks_data_size"), _word(ndata, "ks_ndata", 32)
    if ndata == 0:
        raise LabkitError("ks_ndata is 0: there is nothing to divide ks_data_size by")
    size, rest = divmod(data_size, ndata)
    steps = [f"ks_data_size / ks_ndata = {data_size:#x} / {ndata:#x} = {size:#x} "
             f"remainder {rest:#x} (decimal: {data_size} / {ndata} = {size})"]
    if rest == 0 and size == SIZEOF_KSTAT_T:
        steps.append(f"{size:#x} = {size} bytes is sizeof (kstat_t) on amd64")
        meaning = ("the header kstat's data is an array of whole kstat_t's, one per kstat the "
                   f"first pass counted: {ndata} of them")
    else:
        meaning = f"not whole kstat_t's ({SIZEOF_KSTAT_T:#x} bytes each)"
    return Decoded("record size", data_size, size, tuple(steps), meaning,
                   {"remainder": rest, "records": ndata})


def fault_arithmetic(kbuf: int, addr: int, data_size: int) -> Decoded:
    """Where an address lies relative to the header buffer: offset, past the end, which header."""
    kbuf, addr, data_size = _word(kbuf, "kbuf"), _word(addr, "the address"), _word(data_size, "ks_data_size")
    offset = addr - kbuf
    if offset < 0:
        raise LabkitError(f"{addr:#x} lies before the buffer at {kbuf:#x}")
    alloc = data_size + 1                   # read_kstat_data asks for kbufsize + 1
    mapped = roundup(alloc, PAGESIZE)
    index, within = divmod(offset, SIZEOF_KSTAT_T)
    parts = {"offset": offset, "alloc_size": alloc, "mapped": mapped,
             "past_count": offset - data_size, "past_alloc": offset - alloc,
             "past_mapped": offset - mapped, "header_index": index, "within_header": within,
             "headers_counted": data_size // SIZEOF_KSTAT_T,
             "in_guard_page": mapped <= offset < mapped + PAGESIZE}
    steps = [f"offset from the buffer: {addr:#x} - {kbuf:#x} = {offset:#x}",
             f"the count promised {data_size:#x} bytes ({parts['headers_counted']} headers); "
             f"the offset is {offset - data_size:#x} past that",
             f"kmem_zalloc was asked for {data_size:#x} + 1 = {alloc:#x} bytes, rounded up to "
             f"whole pages: {mapped:#x} mapped, and the page after it left unmapped",
             f"{offset:#x} / {SIZEOF_KSTAT_T:#x} = {index} remainder {within:#x}: byte {within:#x} "
             f"of header index {index} (0-based)"]
    meaning = (f"the address is in the unmapped page right after the buffer, in header index {index}"
               if parts["in_guard_page"] else
               f"the address is {'inside' if offset < mapped else 'beyond'} the buffer's mapping")
    return Decoded("fault address", addr, offset, tuple(steps), meaning, parts)


@dataclass(frozen=True)
class Reading:
    name: str
    fault_byte: int           # the first byte the faulting store touched
    header_index: int         # the header the copy was writing
    extra_headers: int        # headers copied beyond the count, this one included
    consistent: bool          # does it agree with a page-rounded mapping and a guard page?
    inference: bool           # rests on an inference, not on what the dump shows
    explanation: str


@dataclass(frozen=True)
class FaultReadings:
    addr: int
    kbuf: int
    data_size: int
    as_fault_byte: Reading
    as_register: Reading

    def __str__(self):
        out = [f"two readings of {self.addr:#x} (kbuf {self.kbuf:#x}):"]
        for r in (self.as_fault_byte, self.as_register):
            tag = " [inference]" if r.inference else ""
            out.append(f"  {r.name}{tag}: faulting byte kbuf+{r.fault_byte - self.kbuf:#x}, "
                       f"header index {r.header_index}, {_headers(r.extra_headers)} too many; "
                       f"{'consistent' if r.consistent else 'inconsistent'}")
            out.append(f"    {r.explanation}")
        return "\n".join(out)

    __repr__ = __str__


def _headers(n: int) -> str:
    return f"{n} header" if n == 1 else f"{n} headers"


def fault_readings(kbuf: int, addr: int, data_size: int) -> FaultReadings:
    """The two readings of a reported fault address, and what each implies.

    A: the address is the faulting byte itself (what a trap's cr2 holds).
    B: the address is bcopy's %rsi, the end of the header being copied; the faulting store
       was BCOPY_STORE_DISP below it (an inference from bcopy's code, not in the report).
    """
    arith = fault_arithmetic(kbuf, addr, data_size)
    counted, mapped = arith["headers_counted"], arith["mapped"]
    guard = kbuf + mapped
    # A: a store at addr belongs to header offset // 184; every header before it was copied
    # completely first, so the copy touched every byte up to addr: it faults at the first
    # unmapped byte on the way, the guard page's first byte, unless addr is that byte.
    a_index = arith["header_index"]
    a_ok = addr == guard
    a = Reading("the faulting byte", addr, a_index, a_index - counted + 1, a_ok, False,
                f"the copy was writing header {a_index}: {_headers(a_index - counted + 1)} more than "
                f"were counted" + ("." if a_ok else
                f". But the copy wrote every byte before it in order, and {guard:#x} (kbuf+{mapped:#x}, "
                f"the first unmapped byte) comes earlier: the copy would have faulted there."))
    # B: %rsi = dst + 184 points just past the header being copied.
    b_byte = addr - BCOPY_STORE_DISP
    b_index = (addr - SIZEOF_KSTAT_T - kbuf) // SIZEOF_KSTAT_T
    b_ok = b_byte == guard
    b = Reading("bcopy's %rsi (end of the header being copied)", b_byte, b_index,
                b_index - counted + 1, b_ok, True,
                f"the store at -{BCOPY_STORE_DISP:#x}(%rsi) hit {b_byte:#x} = kbuf+{b_byte - kbuf:#x}"
                + (", the first byte of the unmapped page: " if b_ok else ": ")
                + f"the copy was writing header {b_index}, only {_headers(b_index - counted + 1)} "
                  "beyond the count. Not verified: the report has no registers.")
    return FaultReadings(addr, kbuf, data_size, a, b)


def fd(fdes: int) -> Decoded:
    """ioctl's first argument: 'd' is file descriptor 13."""
    fdes = _word(fdes, "a file descriptor", 32)
    return Decoded("file descriptor", fdes, fdes,
                   (f"mdb prints arguments in hex: d = {fdes:#x} = {fdes}",),
                   f"file descriptor {fdes} of the calling process: its open /dev/kstat")
