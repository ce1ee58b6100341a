"""A crash dump taken from a simulated panic: what mdb can see, frozen at the moment of death.

Built from the kernel's PanicRecord: the panic message and trap, the registers the model has,
every thread with its state and stack, and the kernel's memory as bytes: each kstat's kstat_t
(laid out exactly as layout.KSTAT_T_FIELDS says), kstat_chain_lock's owner word,
kstat_chain_id, and the header buffer with the headers the copy put there, followed by its
unmapped guard page. Reading anything else fails the way a real dump read fails, with a note
saying what this dump keeps. Values are copied out at construction, so a dump never changes.

seed_dump("seed" | "small") replays the course's golden panicking schedule once per process.
"""

import bisect
import os
import struct
from dataclasses import dataclass
from functools import lru_cache

from labkit.errors import LabkitError
from labkit.kernel import SEED_KSTATS, SMALL_KSTATS, Scenario, symbols
from labkit.kernel.layout import KSTAT_T_FIELDS, PAGESIZE, SIZEOF_KSTAT_T
from labkit.kernel.kstat import Kernel
from labkit.kernel.panic import PanicRecord, ThreadRecord
from labkit.kernel.stacks import capture_threads
from labkit.sched import Outcome, replay
from labkit.sched.program import Program

#: The golden schedules: W creates its kstat and takes the hold, R counts and allocates, W
#: clears INVALID (and then spins on the lock R holds), R copies one header too many.
GOLDEN = {"seed": (Scenario.seed, "W12 R28500 W1 R2"), "small": (Scenario.small, "W12 R25 W1 R")}

THREAD_NAMES = {"R": "agent", "W": "zoneadmd"}      # the processes of the seed's two threads
STACK_SIZE = 0x3000                                 # room the model gives each kernel stack
_USER_LIMIT = 1 << 47                               # amd64 user addresses lie below this

_PACK = {1: "<B", 4: "<I", 8: "<Q"}


class DumpFault(LabkitError):
    """A read of memory the dump does not have."""

    def __init__(self, addr: int, unmapped: bool):
        self.addr, self.unmapped = addr, unmapped
        super().__init__(f"no mapping for address {addr:#x}" + (
            "" if unmapped else " (this simulated dump holds the kstats, kstat_chain_lock, "
                                "kstat_chain_id and the header buffer)"))


def _pointer(value) -> int:
    """A kstat member's value as the word the kernel would store: functions and locks by address."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    name = getattr(value, "__name__", None)
    if name in symbols.FUNCTION_TABLE:
        return symbols.FUNCTION_TABLE[name][0]
    return getattr(value, "addr", 0)


def kstat_bytes(fields: dict) -> bytes:
    """A kstat_t's 0xb8 bytes from its members' values (padding is zero)."""
    buf = bytearray(SIZEOF_KSTAT_T)
    for name, off, size, ctype in KSTAT_T_FIELDS:
        v = fields.get(name, 0)
        if ctype.startswith("char"):
            raw = str(v).encode()[: size - 1]
            buf[off:off + len(raw)] = raw
        else:
            buf[off:off + size] = struct.pack(_PACK[size], _pointer(v) & ((1 << 8 * size) - 1))
    return bytes(buf)


def kstat_members(raw: bytes) -> dict:
    """The inverse: member name -> int (or str for the char arrays)."""
    out = {}
    for name, off, size, ctype in KSTAT_T_FIELDS:
        chunk = raw[off:off + size]
        out[name] = (chunk.split(b"\0")[0].decode(errors="replace") if ctype.startswith("char")
                     else struct.unpack(_PACK[size], chunk)[0])
    return out


@dataclass(frozen=True)
class KstatImage:
    addr: int
    kid: int
    label: str               # "zone_zfs:7:z7-builder"
    raw: bytes               # its kstat_t


@dataclass(frozen=True)
class Buffer:
    """The header buffer: what kmem_zalloc returned, and the mapping around it."""
    addr: int
    size: int
    map_start: int
    map_end: int             # first byte of the unmapped guard page
    arena: str


class Dump:
    """What a crash dump of the simulated kernel holds, and reads of its memory.

    kind is "panic", "deadlock" or "hang": a deadlock's or a hang's dump is taken of the
    stopped kernel (as `reboot -d` or an NMI would on illumos), so it has no panicking thread,
    no fault and no header buffer, but every thread's stack and the chain lock's owner word.
    Build one with Dump.of_record (from the simulator) or dumpfile.load (from a file)."""

    def __init__(self, *, kind: str, message: str, threads: list, kstats: list,
                 chain_lock_word: int, chain_id: int, hrtime: int = 0, trap: str = "",
                 fault_addr: int | None = None, registers: dict | None = None,
                 panic_thread: str = "", header_index: int | None = None,
                 counted: int | None = None, kbuf: "Buffer | None" = None, stores=(),
                 program: dict | None = None, scenario: str = "", schedule: str | None = "",
                 steps: int = 0, origin: str = "simulator"):
        self.kind, self.origin = kind, origin
        self.program, self.scenario, self.schedule = dict(program or {}), scenario, schedule
        self.steps = steps
        self.message, self.trap = message, trap
        self.fault_addr = fault_addr
        self.registers = dict(registers or {})
        self.threads = list(threads)
        self.panic_thread = self.thread_named(panic_thread) if panic_thread else None
        self.header_index, self.counted = header_index, counted
        self.chain_lock_word, self.chain_id, self.hrtime = chain_lock_word, chain_id, hrtime
        self.kstats = list(kstats)
        self.header_kstat = next((s for s in self.kstats if s.kid == 0), None)
        self.kbuf = kbuf
        self._stores = sorted(stores)
        self._store_addrs = [s[0] for s in self._stores]
        self._regions = sorted(
            [(s.addr, s.addr + SIZEOF_KSTAT_T, s.raw) for s in self.kstats]
            + [(symbols.DATA["kstat_chain_lock"], symbols.DATA["kstat_chain_lock"] + 8,
                struct.pack("<Q", self.chain_lock_word)),
               (symbols.DATA["kstat_chain_id"], symbols.DATA["kstat_chain_id"] + 8,
                struct.pack("<Q", self.chain_id))], key=lambda r: r[0])
        self._starts = [r[0] for r in self._regions]

    @classmethod
    def of_record(cls, record: PanicRecord | None, *, kind: str = "panic", scenario: str = "",
                  schedule: str | None = "",
                  program: dict | None = None, steps: int = 0) -> "Dump":
        """The dump of a PanicRecord (for a deadlock or a hang: the record of the stopped kernel)."""
        k: Kernel | None = getattr(record, "kernel", None)
        if record is None or k is None:
            raise LabkitError("a dump needs a panic record from the simulated kernel")
        a = k.memory.allocation_for(record.kbuf) if record.kbuf is not None else None
        return cls(
            kind=kind, message=record.message, trap=record.trap, fault_addr=record.fault_addr,
            registers=record.registers, threads=record.threads, panic_thread=record.panic_thread,
            header_index=record.header_index, counted=record.counted,
            chain_lock_word=k.chain_lock.owner_word, chain_id=k.kstat_chain_id, hrtime=k.hrtime,
            kstats=[KstatImage(ks.addr, ks.ks_kid, f"{ks.ks_module}:{ks.ks_instance}:{ks.ks_name}",
                               kstat_bytes(ks.fields())) for ks in k.avl_bykid.nodes],
            kbuf=None if a is None else Buffer(a.addr, a.size, a.map_start, a.map_end, a.arena),
            stores=[(addr, kstat_bytes(f)) for addr, f in k.memory.stores.items()],
            program=program, scenario=scenario, schedule=schedule, steps=steps)

    @property
    def stores(self) -> list:
        """(address, bytes) of each header the copy wrote into the buffer."""
        return list(self._stores)

    def save(self, path: str | os.PathLike) -> None:
        """Write the dump to a file (the format is documented in labkit.postmortem.dumpfile)."""
        from labkit.postmortem import dumpfile
        dumpfile.save(self, path)

    # ---- memory ------------------------------------------------------------------------
    def read(self, addr: int, size: int) -> bytes:
        """size bytes at addr, or DumpFault naming the first byte the dump does not have."""
        b = self.kbuf
        if b is not None and b.map_start <= addr < b.map_end + PAGESIZE:
            if addr + size > b.map_end:
                raise DumpFault(max(addr, b.map_end), True)
            return self._read_kbuf(addr, size)
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0:
            start, end, raw = self._regions[i]
            if addr + size <= end:
                return raw[addr - start: addr - start + size]
            if addr < end:
                raise DumpFault(end, False)
        raise DumpFault(addr, False)

    def _read_kbuf(self, addr: int, size: int) -> bytes:
        out = bytearray(size)                        # kmem_zalloc: zero where nothing was copied
        i = max(0, bisect.bisect_right(self._store_addrs, addr) - 1)
        while i < len(self._stores) and self._stores[i][0] < addr + size:
            dst, raw = self._stores[i]
            lo, hi = max(dst, addr), min(dst + len(raw), addr + size)
            if lo < hi:
                out[lo - addr:hi - addr] = raw[lo - dst:hi - dst]
            i += 1
        return bytes(out)

    def read_word(self, addr: int) -> int:
        return struct.unpack("<Q", self.read(addr, 8))[0]

    # ---- symbols and objects -----------------------------------------------------------
    def thread(self, addr: int) -> ThreadRecord | None:
        """The thread whose kthread_t is at addr, or None."""
        return next((t for t in self.threads if t.addr == addr), None)

    def thread_named(self, name: str) -> ThreadRecord:
        t = next((t for t in self.threads if t.name == name), None)
        if t is None:
            raise LabkitError(f"this dump has no thread {name!r}; it has "
                              + ", ".join(x.name for x in self.threads))
        return t

    def kstat(self, addr: int) -> KstatImage | None:
        return next((s for s in self.kstats if s.addr == addr), None)

    def kstat_containing(self, addr: int) -> KstatImage | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and addr < self._regions[i][1]:
            return next((s for s in self.kstats if s.addr == self._regions[i][0]), None)
        return None

    def stack_owner(self, addr: int) -> ThreadRecord | None:
        """The thread whose kernel stack holds addr, or None."""
        for t in self.threads:
            base = symbols.KTHREAD_STACKS.get(t.name)
            if base is not None and base <= addr < base + STACK_SIZE:
                return t
        return None

    def cpu_of(self, t: ThreadRecord) -> int | None:
        """Each running thread had a CPU of its own: the panicking one is cpu0 (as the panic
        message says), the others follow in thread order; threads off CPU have none."""
        running = [x for x in self.threads if x.state in ("panicked", "on cpu", "spinning")]
        running.sort(key=lambda x: x.state != "panicked")
        return running.index(t) if t in running else None

    @staticmethod
    def is_user(addr: int) -> bool:
        return addr < _USER_LIMIT

    def __repr__(self):
        return (f"<Dump {self.kind} ({self.scenario or 'custom'}): {self.message}; "
                f"{len(self.threads)} threads, {len(self.kstats)} kstats>")


DUMP_KINDS = ("panic", "deadlock", "hang")
_STUCK = {"deadlock": "deadlock: every thread is waiting (dump taken of the stopped kernel)",
          "hang": "hang: still running after {steps} steps (dump taken of the running kernel)"}


def stopped_record(kernel: Kernel, kind: str, steps: int) -> PanicRecord:
    """The record of a kernel that did not panic but stopped (a deadlock) or never ends (a hang):
    every thread's stack where it is now. Called while the execution's threads still exist."""
    rec = PanicRecord(message=_STUCK[kind].format(steps=steps), kernel=kernel)
    capture_threads(kernel, rec)
    return rec


def replay_dump(program: Program, schedule: str, *, budget: int | None = None,
                hide_schedule: bool = False) -> tuple[Outcome, Dump | None]:
    """Replay `schedule` on `program` (a kernel Scenario) and return (outcome, Dump or None).

    Any run that ends in a panic, a deadlock or a hang has a dump; one that ends well has none.
    hide_schedule leaves the schedule out of the dump (an exercise's dump must not give it away).
    """
    held = {}

    def grab(exe, instance):
        if exe.outcome_kind in ("deadlock", "hang"):
            held["rec"] = stopped_record(instance.kernel, exe.outcome_kind, exe.steps)

    outcome = replay(program, schedule, budget=budget, on_end=grab)
    if outcome.kind not in DUMP_KINDS:
        return outcome, None
    rec = outcome.panic if outcome.kind == "panic" else held.get("rec")
    return outcome, Dump.of_record(
        rec, kind=outcome.kind, scenario=_scenario_name(program),
        schedule=None if hide_schedule else outcome.schedule,
        program=program.describe(), steps=outcome.steps)


def _scenario_name(program: Program) -> str:
    d = program.describe()
    names: dict[int | None, str] = {SMALL_KSTATS: "small", SEED_KSTATS: "seed"}
    return names.get(d.get("kstats"), "")


def dump_from_outcome(outcome: Outcome, *, scenario: str = "", hide_schedule: bool = False) -> Dump:
    """The dump of a panicking Outcome (for a deadlock or a hang, use replay_dump);
    hide_schedule as for replay_dump."""
    if outcome.kind != "panic" or outcome.panic is None:
        raise LabkitError(f"no crash dump: the run ended {outcome.kind!r}, not in a panic "
                          f"(schedule {outcome.schedule}); replay_dump(program, schedule) also "
                          f"dumps a deadlock or a hang")
    return Dump.of_record(outcome.panic, scenario=scenario,
                          schedule=None if hide_schedule else outcome.schedule,
                          program=outcome.program, steps=outcome.steps)


@lru_cache(maxsize=None)
def seed_dump(scenario: str = "seed") -> Dump:
    """The dump of the golden panicking run: "seed" (5698 headers, the seed's numbers) or "small"."""
    if scenario not in GOLDEN:
        raise LabkitError(f"unknown scenario {scenario!r}; accepted: {', '.join(map(repr, GOLDEN))}")
    make, schedule = GOLDEN[scenario]
    # The course's dumps withhold their schedule: finding it is an exercise (reconstruct).
    return dump_from_outcome(replay(make(fix="none"), schedule), scenario=scenario,
                             hide_schedule=True)
