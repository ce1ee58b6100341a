"""kstat_t and the kernel state around it: the chain, its lock, the hold, the zones.

A Kstat is one `ekstat_t`: the `kstat_t` the course prints (every member of the seed's
`::print kstat_t`, at its real offset, see layout.py) plus the framework's private part: the
owner of the per-kstat hold and its condition variable, and the zones it is visible in.

`ks_flags` is the one member two threads touch concurrently, so reading or writing it is a
scheduling point (the race is on it). The chain itself (the kid-ordered AVL tree) is read one
step at a time by `avl_walk`, each step a scheduling point too. The other members are written
only under `kstat_chain_lock` or by their owner, so they are no scheduling points: but the
search must still see every one that two threads touch, or a critical section that changes one
could commute with another that reads it (the search orders steps by their footprints). So those
members record their accesses with runtime.note(), which is never a point and never a step:
  - a kstat's data members (NOTED_MEMBERS: the header's ks_ndata, ks_data_size, ks_snaptime...)
    as the kstat itself (its sched_key, as its ks_flags points name it);
  - e_zones as the kstat's zones (`("kstat", kid, "zones")`): a cell of its own, so that a walk
    step reading a kstat's zones does not conflict with a clear of its flags (under fix B, where
    that clear is unlocked, one key for both made 823 classes of 75: bench_lock_classes.py);
  - e_owner (the hold), as the kstat's hold (`("kstat", kid, "hold")`): the hold is not the
    kstat_t, so a writer's kstat_hold commutes with a reader's walk over the kstat (e_cv, made
    on first use, is noted when it is made: it is read only in steps that touch e_owner);
  - the Kernel's kstat_chain_id, hrtime (gethrtime) and console, each as itself.
A boot kstat (BootKstat) keeps e_zones a plain slot: its zones never change (kstat_zone_add
only links a zone to its creator's new kstat, and learner code cannot call it), and the walks
read every boot kstat's zones. tests/test_shared_state.py checks that nothing else is shared.
"""

import bisect
import operator
import os
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, cast

from labkit.kernel import symbols
from labkit.kernel.context import kernel
from labkit.kernel.layout import KSTAT_FLAG_INVALID, KSTAT_T_FIELDS, GLOBAL_ZONEID
from labkit.kernel.memory import KernelMemory
from labkit.sched import CondVar, Mutex, SimThread, current_thread, point
from labkit.sched.runtime import SKIPPING, note

if TYPE_CHECKING:                 # panic.py names the Kernel in its record: the types only
    from labkit.kernel.panic import PanicRecord
    from labkit.kernel.scenario import _BootImage


_FIELD_NAMES = tuple(f for f, *_ in KSTAT_T_FIELDS)
_FIELD_INDEX = {f: i for i, f in enumerate(_FIELD_NAMES)}
_KID_AT = _FIELD_INDEX["ks_kid"]
_get_header = operator.itemgetter(*(_FIELD_INDEX[f] for f in ("ks_kid", "ks_module", "ks_name",
                                                                 "ks_flags")))
_GLOBAL_ONLY = (GLOBAL_ZONEID,)
_kid = operator.attrgetter("ks_kid")    # a Kstat's kid (AvlTree.find's key)
kid_of = operator.itemgetter(_KID_AT)   # KstatCopy.kid, as a C function (for map() over 5698 copies)
_get_fields = operator.attrgetter(*("_flags" if f == "ks_flags" else f for f in _FIELD_NAMES))
#: The members that change after kstat_create (fields.STORABLE: a fix may store them under the
#: lock): properties that note each access (see the module's note), over slots named "_" + name.
NOTED_MEMBERS = ("ks_data", "ks_ndata", "ks_data_size", "ks_snaptime", "ks_private")


class Cell:
    """A piece of kernel state that is a plain attribute, as note() names it in every execution."""

    __slots__ = ("sched_key",)

    def __init__(self, key: tuple):
        self.sched_key = key


class KstatCopy(tuple):
    """What bcopy leaves in kernel memory: every kstat_t member's value at the moment of the copy.

    A tuple, in layout order (one is made per header copied, 5698 at seed scale), that also
    answers by member name: copy.get("ks_kid"), dict(copy.items())."""

    __slots__ = ()

    def get(self, name: str, default: Any = None) -> Any:
        i = _FIELD_INDEX.get(name)
        return default if i is None else self[i]

    def keys(self) -> tuple[str, ...]:
        return _FIELD_NAMES

    def items(self) -> Iterator[tuple[str, Any]]:
        return zip(_FIELD_NAMES, self)

    @property
    def kid(self) -> int:
        return self[_KID_AT]

    def header(self) -> tuple:
        """(ks_kid, ks_module, ks_name, ks_flags): what a reader of the chain looks at."""
        return _get_header(self)


def ekstat_addr(kid: int) -> int:
    """Where kstat `kid` lives: the header kstat is static data, the others come from the heap."""
    if kid == 0:
        return symbols.DATA["header_kstat"]
    return symbols.EKSTAT_HEAP + kid * symbols.EKSTAT_STRIDE


class Kstat:
    """One kstat (an ekstat_t). Field names are the C member names."""

    __slots__ = tuple(f for f, *_ in KSTAT_T_FIELDS if f != "ks_flags" and f not in NOTED_MEMBERS) + (
        tuple("_" + f for f in NOTED_MEMBERS)) + (
        "_flags", "addr", "_owner", "_cv", "_zones", "e_size", "label", "sched_key", "hold",
        "flags_what", "copy_what", "image",     # image: a BootKstat's boot image (see below)
        "installed",   # made visible by its own kstat_install (the grader's record, not a kstat_t member)
        "_copy")       # a BootKstat's last copy(), while nothing has changed it (see below)
    image: "_BootImage"     # a BootKstat's only
    # NOTED_MEMBERS, properties made below the class (annotations only: the slots are "_" + name)
    ks_data: int
    ks_ndata: int
    ks_data_size: int
    ks_snaptime: int
    ks_private: int

    def __init__(self, addr: int, kid: int, module: str, instance: int, name: str, ks_class: str,
                 ks_type: int, flags: int, zoneid: int = GLOBAL_ZONEID):
        self.addr = addr
        self.ks_crtime = 0
        self.ks_next = 0
        self.ks_kid = kid
        self.ks_module = module
        self.ks_resv = 0
        self.ks_instance = instance
        self.ks_name = name
        self.ks_type = ks_type
        self.ks_class = ks_class
        self._flags = flags
        # Boot kstats are installed; a new one (INVALID) is only when its own kstat_install
        # clears the flag. Graders judge "a reader never sees an uninstalled kstat" from this,
        # not from flag bits a fix could clear itself.
        self.installed = not flags & KSTAT_FLAG_INVALID
        # (a new kstat's members are set without notes: no other thread can reach it before
        # kstat_create puts it in the chain, a scheduling point)
        self._ks_data = 0
        self._ks_ndata = 0
        self._ks_data_size = 0
        self._ks_snaptime = 0
        self.ks_update: Callable[..., Any] | None = None   # a function (shown by name, as mdb shows symbols)
        self._ks_private = 0
        self.ks_snapshot: Callable[..., Any] | None = None
        self.ks_lock: Mutex | None = None
        self._owner: SimThread | None = None   # e_owner: the thread holding this kstat (kstat_hold)
        self._cv: CondVar | None = None        # e_cv, made on first use (few kstats are ever waited for)
        # e_zones: the zones it is visible in (kstat_zone_add links one more, in a new tuple). The
        # global zone's one tuple for all that are only there: the walks read 5698 a pass, and
        # one tuple stays in the cache where a tuple each would not.
        self._zones: tuple[int, ...] = _GLOBAL_ONLY if zoneid == GLOBAL_ZONEID else (zoneid,)
        self.e_size = 0
        self.label = f"kstat {kid} ({module}:{instance}:{name})"
        # What its scheduling points say they touch, made once: they are read on every access.
        self.flags_what = f"ks_flags of {self.label}"
        self.copy_what = f"the kstat_t of {self.label} (bcopy)"
        self.sched_key = f"kstat {kid}"   # the same kstat in every execution (see sched/quiet.py)
        self.hold = Cell(("kstat", kid, "hold"))   # e_owner, as note() names it
        self._copy = None

    @property
    def e_cv(self) -> CondVar:
        # Read only in a step that touches e_owner (kstat_hold_bykid's wait, kstat_rele; learner
        # code cannot name it), so only its making is noted: of two waiters, the second finds it.
        if self._cv is None:
            note("write", self.hold)
            self._cv = CondVar(f"ekstat {self.ks_kid} e_cv")
        return self._cv

    @property
    def e_owner(self) -> "SimThread | None":
        note("read", self.hold)
        return self._owner

    @e_owner.setter
    def e_owner(self, thread: "SimThread | None") -> None:
        note("write", self.hold)
        # The grader's record of where a hold was taken: the first caller outside kstat_hold_bykid.
        if thread is not None:
            f: FrameType | None = sys._getframe(1)
            while f is not None and f.f_code.co_name in ("__setattr__", "kstat_hold_bykid"):
                f = f.f_back
            if f is not None:
                kernel().hold_sites[self.ks_kid] = (f"{f.f_code.co_name} ({os.path.basename(f.f_code.co_filename)} "
                                                    f"line {f.f_lineno})")
        self._owner = thread

    @property
    def e_zones(self) -> tuple[int, ...]:
        note("read", Cell(("kstat", self.ks_kid, "zones")))
        return self._zones

    @e_zones.setter
    def e_zones(self, zones: tuple[int, ...]) -> None:
        note("write", Cell(("kstat", self.ks_kid, "zones")))
        self._zones = zones

    @property
    def ks_flags(self) -> int:
        # point()'s fast path and its first question to quiet.py, inlined (runtime.SKIPPING): a
        # reader's walk reads every kstat's flags, and its first read of each asks. A no is
        # asked again by point() (quiet.py answers the same access the same way, recording
        # nothing new), which makes the access a scheduling point.
        s = SKIPPING
        if s.room and (self in s.reads or s.exe.quiet.first_read(s.exe, self)):
            s.room -= 1
        else:
            point("read", self, self.flags_what, depth=2)
        return self._flags

    @ks_flags.setter
    def ks_flags(self, value: int) -> None:
        point("write", self, self.flags_what, depth=2)
        if self._flags & KSTAT_FLAG_INVALID and not value & KSTAT_FLAG_INVALID:
            self._made_valid(sys._getframe(1).f_code.co_name)
        self._flags = value

    def _made_valid(self, function: str) -> None:
        """KSTAT_FLAG_INVALID is being cleared (in `function`): by this kstat's own kstat_install,
        while the kernel model's call of it for this kstat runs on this thread (it is now
        installed: Kernel.run_kstat_install's record, which no kstat and no learner code
        reaches), or by anyone else (recorded: readers would see a kstat nobody installed). Not
        decided by names on the Python stack: a learner's helper named kstat_install, called with
        another kstat, forged that kstat's install."""
        k, t = kernel(), current_thread()
        if t is not None and k._installing.get(t) is self:
            self.installed = True
        else:
            k.invalid_cleared.append((self.ks_kid, t.name if t else "boot", function))

    def fields(self) -> dict:
        """Every kstat_t member's value, read plainly (no scheduling): for dumps and displays."""
        return dict(zip(_FIELD_NAMES, _get_fields(self)))

    def copy(self) -> KstatCopy:
        """The members as bcopy copies them (read plainly: bcopy's own point covers the read)."""
        if not self.installed:  # the grader's record: copied before its kstat_install made it visible
            kernel().uninstalled_copies.append(self.ks_kid)
        return KstatCopy(_get_fields(self))

    def __repr__(self):
        return f"<Kstat {self.label} flags={self._flags:#x} @ {self.addr:#x}>"


def _noted(name: str) -> property:
    get, slot = operator.attrgetter("_" + name), "_" + name

    def read(self: Kstat) -> Any:
        note("read", self)
        return get(self)

    def write(self: Kstat, value: Any) -> None:
        note("write", self)
        setattr(self, slot, value)
    return property(read, write, doc=f"{name}: a member that changes after kstat_create (noted)")


for _name in NOTED_MEMBERS:
    setattr(Kstat, _name, _noted(_name))


class BootKstat(Kstat):
    """A kstat installed at boot, shared by every execution of a scenario while none changes it.

    Building 5698 kstats for every execution of a search would cost more than running it, and
    a boot kstat is normally only read. Any store into one (its flags, its hold, its zones,
    waiting on its e_cv) marks the scenario's boot image dirty, and the next execution gets a
    freshly built one, so an execution never sees another's writes."""

    __slots__ = ()
    # Its zones never change (see the module's note): the slot itself, no note, for the walks.
    e_zones = Kstat.__dict__["_zones"]

    @classmethod
    def of(cls, ksp: Kstat, image: "_BootImage") -> "BootKstat":
        """Make a built Kstat a boot kstat of `image` (same layout: only its class changes, so
        building one costs no more than a Kstat)."""
        ksp.image = image
        ksp.__class__ = cls
        return cast(BootKstat, ksp)     # mypy cannot follow a __class__ assignment

    def copy(self) -> KstatCopy:
        """Kstat.copy(), made once while nothing changes the kstat: every copy pass of every
        execution on this image would read the same members (a store forgets it, below). At seed
        scale this spares reading 18 members of 5697 kstats per execution."""
        c = self._copy
        if c is None or not self.installed:   # (an uninstalled copy is recorded every time)
            c = Kstat.copy(self)
            object.__setattr__(self, "_copy", c)
        return c

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        object.__setattr__(self, "_copy", None)
        self.image.dirty = True


class AvlTree:
    """The kid-ordered tree of kstats (kstat_avl_bykid). A sorted list is enough for the model."""

    def __init__(self, name: str):
        self.name = name
        self.nodes: list[Kstat] = []
        self.sched_key = ("tree", name)

    def insert(self, ksp: Kstat) -> None:
        point("write", self, f"{self.name} (insert kid {ksp.ks_kid})", depth=2)
        self.nodes.append(ksp)   # kids only grow, so appending keeps the order

    def remove(self, ksp: Kstat) -> None:
        point("write", self, f"{self.name} (remove kid {ksp.ks_kid})", depth=2)
        self.nodes.remove(ksp)

    def find(self, kid: int) -> Kstat | None:
        point("read", self, f"{self.name} (find kid {kid})", depth=2)
        # A binary search (the nodes are kid-ordered): each kstat_hold_bykid of a new kid would
        # otherwise compare every boot kstat's, 5698 at seed scale, a few times per execution.
        nodes = self.nodes
        i = bisect.bisect_left(nodes, kid, key=_kid)
        return nodes[i] if i < len(nodes) and nodes[i].ks_kid == kid else None


class Kernel:
    """All the state of one simulated kernel; kernel functions reach it through `kernel()`."""

    # set by the scenario that boots it (scenario._Instance): the reader's open file, its vnode,
    # and the user memory its ioctl argument points into
    files: dict[int, dict[str, int]]
    # the function a variant may replace (zone and driver code call it through here)
    kstat_install: Callable[..., Any]
    vnodes: dict[int, int]
    user_memory: dict[int, Any]

    def __init__(self, allocator: str = "firewall"):
        self.memory = KernelMemory(allocator)
        self.chain_lock = Mutex("kstat_chain_lock", symbols.DATA["kstat_chain_lock"])
        self.avl_bykid = AvlTree("kstat_avl_bykid")
        self.chain_id_cell = Cell(("kernel", "kstat_chain_id"))   # (note()'s names, see the module's note)
        self.hrtime_cell = Cell(("kernel", "hrtime"))
        self.console_cell = Cell(("kernel", "console"))
        self._chain_id = 0
        self.header_ksp: Kstat | None = None
        self.hrtime = 0x4D8AC8CE00000      # gethrtime(): advances a little on every call
        self.panic_record: "PanicRecord | None" = None
        self.console: list[str] = []     # cmn_err's messages (kstat_fr.cmn_err)
        self.threads: dict[str, SimThread] = {}   # name -> SimThread, for the dump
        # What happened, recorded for the grader (judged after the run, never from flag bits).
        # Observation, not program state, so no note(): kernel code never reads them, and each
        # entry is made in the step of the access it records, which the search sees (the clear
        # of INVALID or the bcopy, both points; the hold, noted), so what they say follows the
        # order of those accesses; the judge reads them as sets or per kid. visible_at_snapshot
        # is the exception that reads kernel state: _note_snapshot_start notes what it reads.
        self.reader_names = ("R",)         # threads that read the chain (never install)
        self.invalid_cleared: list[tuple[int, str, str]] = []   # (kid, thread, function): INVALID cleared elsewhere
        self.uninstalled_copies: list[int] = []   # kids bcopy copied before they were installed
        self.hold_sites: dict[int, str] = {}      # kid -> where its current hold was taken
        self.visible_at_snapshot: list[int] | None = None   # new kids installed when the copy pass began
        # thread -> the kstat the kernel model's call of kstat_install on it is installing, while
        # that call runs (run_kstat_install): what makes a clear of INVALID an install. A "_" name:
        # learner code can name neither it nor the Kernel.
        self._installing: dict[SimThread | None, Kstat] = {}

    @property
    def kstat_chain_id(self) -> int:
        note("read", self.chain_id_cell)
        return self._chain_id

    @kstat_chain_id.setter
    def kstat_chain_id(self, value: int) -> None:
        note("write", self.chain_id_cell)
        self._chain_id = value

    def run_kstat_install(self, ksp: Kstat) -> Any:
        """The kernel model's one call of kstat_install (the variant's, or the buggy kernel's),
        as zone code makes it: while it runs on this thread, a clear of ksp's INVALID is ksp's
        install (Kstat._made_valid). Not in symbols.FUNCTION_TABLE, so no stack shows it."""
        t = current_thread()
        outer = self._installing.get(t)
        self._installing[t] = ksp
        try:
            return self.kstat_install(ksp)
        finally:
            if outer is None:
                del self._installing[t]
            else:
                self._installing[t] = outer

    def gethrtime(self) -> int:
        note("write", self.hrtime_cell)     # (every call advances the clock)
        self.hrtime += 0x1F3
        return self.hrtime

    def ekstat_addr(self, kid: int) -> int:
        return ekstat_addr(kid)

    def kstat_at(self, addr: int) -> Kstat | None:
        """The kstat whose kstat_t starts at addr (for mdb), or None."""
        for k in self.avl_bykid.nodes:
            if k.addr == addr:
                return k
        return None
