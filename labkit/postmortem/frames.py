"""What each function on the seed's two stacks does, and why it is there, in our own words.

Notes are keyed by function name, so they explain the seed's frames and our simulated dump's
frames alike. Each note says what the function does, why it is on this stack, names its
arguments (each argument is decoded where a decoder exists), and flags inferences: the lab
separates what the source code shows from what we conclude (see the reference notes).
Two functions are on the stacks but absent from the frame-pointer walk; MISSING says why.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from labkit.errors import LabkitError
from labkit.kernel.panic import Frame
from labkit.postmortem import decode
from labkit.postmortem.mdbfmt import symbolic


@dataclass(frozen=True)
class FrameNote:
    does: str                 # what the function does
    why: str                  # why it is on this stack
    args: tuple = ()          # argument names, in order
    source: str = ""          # where it lives in illumos
    inference: bool = False   # `why` is our conclusion, not read off the source

_KSTAT_C = "usr/src/uts/common/io/kstat.c"
_KSTAT_FR = "usr/src/uts/common/os/kstat_fr.c"
_IOCTL_ARGS = ("vp", "cmd", "arg", "flag", "cr", "rvalp", "ct")

NOTES = {
    # ---- the reader: a 32-bit process's ioctl down to the copy ---------------------------
    "_sys_sysenter_post_swapgs": FrameNote(
        "the kernel's entry point for the sysenter instruction, the fast system-call path "
        "32-bit x86 programs use",
        "the reader entered the kernel here: another sign that the agent is a 32-bit process "
        "(64-bit programs come in through the syscall instruction, sys_syscall)"),
    "ioctl": FrameNote(
        "the ioctl(2) system call: looks up the file descriptor and hands the request to the "
        "file's vnode", "the agent called ioctl(fd, KSTAT_IOC_READ, &ks)",
        ("fdes", "cmd", "arg"), "usr/src/uts/common/syscall/ioctl.c"),
    "fop_ioctl": FrameNote(
        "the VFS layer: calls the ioctl routine of whatever file system the vnode belongs to",
        "/dev/kstat is a device special file, so the call goes on to specfs", _IOCTL_ARGS,
        "usr/src/uts/common/fs/vnode.c"),
    "spec_ioctl": FrameNote(
        "specfs, the file system of device files: turns the vnode into its dev_t",
        "passes the request on to the character-device switch", _IOCTL_ARGS,
        "usr/src/uts/common/fs/specfs/specvnops.c"),
    "cdev_ioctl": FrameNote(
        "the character-device switch: finds the driver by the dev_t's major number and calls "
        "its ioctl entry point", "the major number leads to the kstat driver",
        ("dev", "cmd", "arg", "flag", "cr", "rvalp"), "usr/src/uts/common/os/driver.c"),
    "kstat_ioctl": FrameNote(
        "the kstat driver's ioctl entry point: dispatches on the command",
        "KSTAT_IOC_READ goes to read_kstat_data", ("dev", "cmd", "data", "flag", "cr", "rvalp"),
        _KSTAT_C),
    "read_kstat_data": FrameNote(
        "serves KSTAT_IOC_READ: copies in the caller's kstat_t, holds the kstat by kid, takes "
        "its ks_lock, calls ks_update (the count), allocates kbuf, calls ks_snapshot (the copy) "
        "still under the lock, then copies the result out",
        "it called the header kstat's snapshot routine, which was copying headers into kbuf; "
        "ks_lock is kstat_chain_lock, held from the count to the copy", ("rvalp", "user_ksp", "flag"),
        _KSTAT_C),
    "header_kstat_snapshot": FrameNote(
        "the header kstat's second pass: walks the kstat tree again and copies every visible "
        "kstat_t that is not INVALID into the buffer, 184 bytes each, with no bounds check",
        "it called bcopy for each header; the header whose copy ran off the buffer is the one "
        "that became valid between the two passes", ("ksp", "buf", "rw"), _KSTAT_FR),
    "header_kstat_update": FrameNote(
        "the header kstat's first pass: counts the visible kstats that are not INVALID and "
        "sets ks_ndata and ks_data_size from the count", "", ("ksp", "rw"), _KSTAT_FR),
    "bcopy": FrameNote(
        "copies bytes; hand-written assembly that builds no stack frame and saves no arguments "
        "where mdb could find them",
        "the faulting instruction is in it: the store that ran into the unmapped page after "
        "kbuf. The trap made the kernel panic", ("from", "to", "count"),
        "usr/src/uts/intel/ia32/ml/copy.s"),
    # ---- the writer: zone_create installing the zone's zone_zfs kstat --------------------
    "sys_syscall": FrameNote(
        "the kernel's entry point for the syscall instruction (64-bit programs)",
        "the writer is a 64-bit process: the zone tooling creating a zone"),
    "zone": FrameNote("the zone(2) system call: dispatches zone operations",
                      "the operation was ZONE_CREATE", ("cmd",), "usr/src/uts/common/os/zone.c"),
    "zone_create": FrameNote(
        "creates a zone; late on, past the point where creation can no longer fail, it sets up "
        "the zone's kstats", "it called zone_kstat_create", (), "usr/src/uts/common/os/zone.c"),
    "zone_kstat_create": FrameNote(
        "creates the new zone's kstats", "one of them is the zone_zfs kstat",
        (), "usr/src/uts/common/os/zone.c"),
    "zone_zfs_kstat_create": FrameNote(
        "creates the zone's zone_zfs kstat (kstat_create_zone: born INVALID, already in the tree), "
        "makes it visible to the global zone, and installs it (a SmartOS function)",
        "it called kstat_install on the new kstat", (), "usr/src/uts/common/os/zone.c (SmartOS)"),
    "kstat_install": FrameNote(
        "makes a created kstat live: holds it, checks it, and clears KSTAT_FLAG_INVALID while "
        "holding only the per-kstat hold, not kstat_chain_lock; then releases the hold",
        "it had already cleared the flag (the store that races with the reader's two passes) "
        "and was releasing its hold", ("ksp",), _KSTAT_FR),
    "kstat_rele": FrameNote(
        "releases a kstat hold: takes kstat_chain_lock, clears the owner, wakes waiters, drops "
        "the lock", "it needs kstat_chain_lock, which the reader holds", ("ksp",), _KSTAT_FR),
    "mutex_vector_enter": FrameNote(
        "the slow path of mutex_enter, taken when the mutex is held: spins while the owner is "
        "running on a CPU, sleeps on a turnstile (setting the waiters bit) when it is not",
        "kstat_chain_lock's owner, the reader, was on a CPU, so this thread spun", ("lp",),
        "usr/src/uts/common/os/mutex.c"),
    "mutex_delay_default": FrameNote(
        "a short back-off delay between attempts while spinning on a mutex",
        "the spinning thread was between two looks at the lock word", (),
        "usr/src/uts/intel/ia32/ml/lock_prim.s"),
    "_interrupt": FrameNote(
        "the common entry for a hardware interrupt", "an interrupt arrived while the thread spun; "
        "when a kernel panics it stops the other CPUs with a cross-call interrupt, which would "
        "put such frames on a running thread", inference=True),
    "apix_do_interrupt": FrameNote(
        "the interrupt dispatcher of apix, the x86 interrupt controller support",
        "handling the interrupt that arrived during the spin", inference=True),
    "apix_intr_exit": FrameNote("the end of interrupt handling in apix",
                                "returning from the interrupt", inference=True),
    "apix_setspl": FrameNote("sets the CPU's interrupt priority level",
                             "part of leaving the interrupt", inference=True),
}

# Functions a frame-pointer walk skips, keyed by the frame they hide under.
MISSING = {
    "bcopy": ("header_kstat_snapshot",
              "bcopy builds no frame of its own, so the walk goes from bcopy's return address "
              "straight to the frame below: that of header_kstat_snapshot's caller, "
              "read_kstat_data. header_kstat_snapshot was running (read_kstat_data calls it "
              "through ks_snapshot and it is the one that calls bcopy) but leaves no trace "
              "(inference: the source shows the calls; the walk's rule explains the gap)"),
    "mutex_vector_enter": ("mutex_enter",
                           "mutex_enter is a frameless fast path that jumps to "
                           "mutex_vector_enter when the lock is held, so it never shows"),
}

_NO_SYMBOL = ("an address with no symbol: code the debugger cannot name (inference: the "
              "interrupt handler of some device)")


@dataclass(frozen=True)
class ArgNote:
    name: str
    value: int
    text: str
    decoded: object = None      # a decode.Decoded where there is a decoder for it

    def __str__(self):
        return f"{self.name} = {self.value:x}: {self.text}"


@dataclass(frozen=True)
class FrameExplanation:
    frame: Frame
    note: FrameNote | None
    args: tuple               # ArgNotes
    hides: tuple = ()         # (function, why) a frame hidden right under this one

    @property
    def title(self) -> str:
        return f"{symbolic(self.frame.function, self.frame.offset)}"

    def __str__(self):
        lines = [f"{self.frame.fp:016x} {self.title}"]
        if self.note is None:
            lines.append(f"  {_NO_SYMBOL if self.frame.function.startswith('0x') else 'no notes for this function'}")
        else:
            lines.append(f"  does: {self.note.does}")
            if self.note.why:
                lines.append(f"  here: {self.note.why}" + (" (inference)" if self.note.inference else ""))
            if self.note.source:
                lines.append(f"  source: {self.note.source}")
        lines += [f"  arg {a}" for a in self.args]
        if self.frame.args and not self.args:
            lines.append("  (arguments not named here)")
        if not self.frame.args and self.note and self.note.args:
            lines.append("  no arguments shown: mdb finds them only where the function saved them")
        for fn, why in self.hides:
            lines.append(f"  missing below it: {fn}: {why}")
        return "\n".join(lines)

    __repr__ = __str__


def _arg(name: str, value: int, frame: Frame) -> ArgNote:
    decoders = {"cmd": decode.ioctl_cmd, "flag": decode.ioctl_flag, "dev": decode.dev_t,
                "arg": decode.user_pointer, "data": decode.user_pointer,
                "user_ksp": decode.user_pointer, "fdes": decode.fd}
    if name in decoders:
        d = decoders[name](value)
        return ArgNote(name, value, f"{d.value}: {d.meaning}" if d.value is not None else d.meaning, d)
    if name in ("rvalp",) and abs(value - frame.fp) < 0x2000:
        text = ("where the ioctl's return value goes: an int on this thread's own kernel stack "
                "(it is close to the frame pointers)")
    else:
        text = {"vp": "the vnode of the open /dev/kstat (kernel heap)",
                "cr": "the caller's credentials (a cred_t)",
                "rvalp": "where the ioctl's return value goes",
                "ct": "caller context: none", "lp": "the mutex being entered",
                "ksp": "a kstat_t", "cmd": "the operation"}.get(name, "")
    return ArgNote(name, value, text)


def explain_frame(frame: Frame) -> FrameExplanation:
    note = NOTES.get(frame.function)
    names = note.args if note else ()
    args = tuple(_arg(n, v, frame) for n, v in zip(names, frame.args))
    hides = (MISSING[frame.function],) if frame.function in MISSING else ()
    return FrameExplanation(frame, note, args, hides)


def explain_stack(frames: Sequence[Frame]) -> list[FrameExplanation]:
    if not frames:
        raise LabkitError("an empty stack has nothing to explain")
    return [explain_frame(f) for f in frames]
