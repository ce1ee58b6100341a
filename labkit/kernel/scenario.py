"""Scenarios: a booted kernel with N visible kstats, a reader and a writer, ready to schedule.

Thread R is the 32-bit monitoring agent: ioctl(13, KSTAT_IOC_READ, 0x80475e8) on /dev/kstat for
the header kstat (kid 0), with a buffer big enough for every kstat. Thread W is zone_create
making a new zone's zone_zfs kstat. The small scenario has a handful of kstats, for stepping by
hand; the seed scenario has 5698 visible headers, as the seed's dump does (ks_ndata = 0x1642).

`writers=2` adds thread X, a second zone_create running at the same time (zone 8): a fix right for
one concurrent install only must fail there, so the grader explores both, and notebook 4's level 4
has the learner find that schedule by hand (the one way to have two writers: `labkit replay
--writers 2`, `Scenario(..., writers=2)`). The course steps through the one-writer scenario.
"""

import itertools
import operator
import os
from typing import Any

from labkit.errors import LabkitError
from labkit.kernel import symbols
from labkit.kernel.context import booting
from labkit.kernel.kstat import BootKstat, Kernel, Kstat, ekstat_addr, kid_of
from labkit.kernel.kstat_drv import UserKstat, _sys_sysenter_post_swapgs
from labkit.kernel.memory import ALLOCATORS
from labkit.kernel.layout import (DATAMODEL_ILP32, FREAD, GLOBAL_ZONEID, KSTAT_FLAG_INVALID,
                                  KSTAT_FLAG_VAR_SIZE,
                                  KSTAT_FLAG_VIRTUAL, KSTAT_IOC_READ, KSTAT_TYPE_NAMED,
                                  KSTAT_TYPE_RAW, SIZEOF_KSTAT_T)
from labkit.kernel.variants import Variant, resolve_variant
from labkit.kernel.zone import ZONE_CREATE, sys_syscall, zone_kstat_install
from labkit.sched import Recipe, SimThread
from labkit.sched.runtime import note

SMALL_KSTATS = 3
SEED_KSTATS = 5698
MAX_KSTATS = 100_000

AGENT_FD = 0xD
AGENT_ARG = 0x080475E8          # the user address of the agent's kstat_t (a 32-bit stack)
KSTAT_DEV = 0x200000000         # major 2, minor 0 with 32 minor bits
NEW_ZONEID = 7
NEW_ZONE_NAME = "z7-builder"
#: The second writer (writers=2): thread X, installing zone 8's zone_zfs kstat at the same time.
#: Modelling choice: X's kstat_create ran before the reader started (so it is INVALID in the chain
#: from the start) and X runs only kstat_install. Both writers then clear INVALID between R's two
#: passes in some schedule, which is what a fix right for one concurrent install only misses, and
#: the search stays small (with X's create and zone_add too it has some 60,000 executions).
SECOND_ZONEID, SECOND_ZONE_NAME = 8, "z8-builder"
MAX_WRITERS = 2

_owner = operator.attrgetter("_owner")     # a Kstat's e_owner, read plainly (a SimThread: true)
_BOOT_MODULES = ("cpu_info", "cpu", "zfs", "sd", "e1000g", "ip", "tcp", "udp", "vmem", "unix")


class ReadResult:
    """What the reader got back: the header kstat's numbers and the headers themselves."""

    def __init__(self, error: int | None, chain_id: int | None, user: UserKstat, facts: dict | None = None):
        self._facts = facts or {}
        self.error = error
        self.chain_id = chain_id
        self.ndata = user.ks_ndata
        self.data_size = user.ks_data_size
        self.record_size = user.record_size
        self.records = user.data           # bcopy's KstatCopy per header, None where none was copied
        self._headers: list | None = None
        self._kids: tuple | None = None
        self._copies: list | None = None

    @property
    def headers(self) -> list:
        """(kid, module, name, flags) per record, or None for a record left zero. Made on demand:
        a search keeps a result per execution and most only ever need the kids."""
        if self._headers is None:
            self._headers = [None if r is None else r.header() for r in self.records]
        return self._headers

    def _copied(self) -> list:
        """The records bcopy wrote, in order (made once, in C: a KstatCopy is never empty, so
        filter() drops exactly the None; at seed scale there are 5698, every execution)."""
        if self._copies is None:
            self._copies = list(filter(None, self.records))
        return self._copies

    def _record_kids(self) -> tuple:
        """Each record's kid, None where none was copied: made once, by C code when the records
        left zero are all at the end (a search asks for it once per outcome)."""
        if self._kids is None:
            recs, copied = self.records, self._copied()
            if copied == recs[:len(copied)]:     # (identical objects: one pointer test each)
                self._kids = tuple(map(kid_of, copied)) + (None,) * (len(recs) - len(copied))
            else:
                self._kids = tuple(None if r is None else r.kid for r in recs)
        return self._kids

    @property
    def kids(self) -> list:
        return list(map(kid_of, self._copied()))

    @property
    def zero_filled(self) -> int:
        """Records the count promised but the copy never wrote (left zero by kmem_zalloc)."""
        return len(self.records) - len(self._copied())

    def facts(self) -> dict:
        """What happened in the run, as plain data (see Kernel: recorded for the grader)."""
        return dict(self._facts)

    def signature(self) -> tuple:
        return (self.error, self.ndata, self._record_kids())

    def to_json(self) -> dict:
        return {"error": self.error, "ndata": self.ndata, "data_size": self.data_size,
                "kids": self.kids, "zero_filled": self.zero_filled}

    def __repr__(self):
        return (f"<ReadResult error={self.error} ndata={self.ndata} kids={self.kids} "
                f"zero_filled={self.zero_filled}>")


class _Instance:
    def __init__(self, scenario: "Scenario"):
        self.scenario = scenario
        k = Kernel(scenario.allocator)
        variant = scenario.variant
        k.kstat_install = variant.get("kstat_install")
        self.kernel = k
        with booting(k):
            hdr = Kstat(k.ekstat_addr(0), 0, "unix", 0, "kstat_headers", "kstat", KSTAT_TYPE_RAW,
                        KSTAT_FLAG_VIRTUAL | KSTAT_FLAG_VAR_SIZE)
            hdr.ks_update = variant.get("header_kstat_update")
            hdr.ks_snapshot = variant.get("header_kstat_snapshot")
            hdr.ks_lock = k.chain_lock
            k.header_ksp = hdr
            # installed at boot: valid, in the chain
            k.avl_bykid.nodes = [hdr] + scenario.boot_image().kstats
            k.kstat_chain_id = scenario.kstats
        k.files = {AGENT_FD: {"vnode": 0xFFFFFF43157EDB00, "flag": FREAD | DATAMODEL_ILP32,
                              "cred": 0xFFFFFF4366DA4D70,
                              "rval_addr": symbols.KTHREAD_STACKS["R"] + 0x2E68}}
        k.vnodes = {0xFFFFFF43157EDB00: KSTAT_DEV}
        self.user = UserKstat(ks_kid=0, ks_data_size=scenario.user_bufsize)
        k.user_memory = {AGENT_ARG: self.user}
        self._error = None

        def reader():
            self._error = _sys_sysenter_post_swapgs(AGENT_FD, KSTAT_IOC_READ, AGENT_ARG)

        def writer():
            sys_syscall(ZONE_CREATE, NEW_ZONE_NAME, NEW_ZONEID)

        self.threads = [SimThread("R", reader, symbols.THREADS["R"], k),
                        SimThread("W", writer, symbols.THREADS["W"], k)]
        if scenario.writers == 2:
            second = self._second_kstat(k)
            self.threads.append(SimThread("X", lambda: zone_kstat_install(second),
                                          symbols.THREADS["W"] + 0x1000, k))
        k.threads = {t.name: t for t in self.threads}
        k.memory.before_zalloc = self._note_snapshot_start

    @staticmethod
    def _second_kstat(k: Kernel) -> Kstat:
        """Zone 8's zone_zfs kstat as kstat_create_zone and kstat_zone_add left it: INVALID, in the
        chain, visible in the global zone; kstat_install not yet run."""
        kid = k.kstat_chain_id
        k.kstat_chain_id += 1
        ksp = Kstat(k.ekstat_addr(kid), kid, "zone_zfs", SECOND_ZONEID, SECOND_ZONE_NAME, "zone_zfs",
                    KSTAT_TYPE_NAMED, KSTAT_FLAG_VIRTUAL | KSTAT_FLAG_INVALID, SECOND_ZONEID)
        ksp.ks_ndata = 6
        ksp.e_zones = (SECOND_ZONEID, GLOBAL_ZONEID)
        k.avl_bykid.nodes.append(ksp)
        return ksp

    def _new_kstats(self) -> list:
        """The kstats made during the run (kids from scenario.kstats up; the chain is kid-ordered)."""
        return self.kernel.avl_bykid.nodes[self.scenario.kstats:]

    def _note_snapshot_start(self) -> None:
        """Called before every kmem_zalloc, kbuf's among them, which read_kstat_data makes just
        before the copy pass (still under the lock, with no scheduling point in between): the
        grader's record of the new kstats installed by then, each of which the copy must give the
        reader. Kept out of the kernel's own code."""
        new = self._new_kstats()
        for n in new:      # it reads kernel state (whether each is installed): the search must see it
            note("read", n)
        self.kernel.visible_at_snapshot = [n.ks_kid for n in new
                                           if n.installed and not n._flags & KSTAT_FLAG_INVALID]

    def result(self) -> ReadResult:
        error, chain_id = self._error if self._error else (None, None)
        return ReadResult(error, chain_id, self.user, self._facts())

    def _facts(self) -> dict:
        k = self.kernel
        owner = k.chain_lock.owner
        return {
            "new_kids": [n.ks_kid for n in self._new_kstats()],
            "invalid_cleared": [list(x) for x in k.invalid_cleared[:8]],
            "uninstalled_copies": sorted(set(k.uninstalled_copies)),
            "visible_at_snapshot": k.visible_at_snapshot,
            # (judged for executions that ended well, where every writer's kstat_install returned)
            "not_visible_at_end": [n.ks_kid for n in self._new_kstats()
                                   if n._flags & KSTAT_FLAG_INVALID or not n.installed],
            # (e_owner, read plainly; the kstats held picked out in C: 5698 at seed scale, each run)
            "holds_left": [[n.ks_kid, n._owner.name, k.hold_sites.get(n.ks_kid, "?")]  # type: ignore[union-attr]
                           for n in itertools.compress(k.avl_bykid.nodes, map(_owner, k.avl_bykid.nodes))],
            "lock_held_by": owner.name if owner is not None else None,
        }


class _BootImage:
    """The kstats a scenario's kernel boots with (all but the header kstat), built once.

    Every execution's chain holds these same objects; they are BootKstats, so a store into one
    sets `dirty` and the scenario builds a new image for the next execution."""

    def __init__(self, kstats: int):
        self.dirty = False
        self.kstats: list[Kstat] = []
        for kid in range(1, kstats):
            mod = _BOOT_MODULES[kid % len(_BOOT_MODULES)]
            ks = Kstat(ekstat_addr(kid), kid, mod, kid // len(_BOOT_MODULES), f"{mod}{kid}", "misc",
                       KSTAT_TYPE_NAMED, 0)
            self.kstats.append(BootKstat.of(ks, self))


class Scenario:
    """A program for the scheduler: the kstat reader against zone_create, on one kernel variant."""

    thread_names: tuple[str, ...] = ("R", "W")

    def __init__(self, kstats: int = SMALL_KSTATS, fix: "str | os.PathLike[str] | Variant" = "none", *, allocator: str | None = None,
                 user_bufsize: int | None = None, writers: int = 1):
        if isinstance(writers, bool) or not isinstance(writers, int) or not 1 <= writers <= MAX_WRITERS:
            raise LabkitError(f"writers must be 1 or {MAX_WRITERS} (concurrent zone_create threads), not {writers!r}")
        self.writers = writers
        if writers == 2:
            self.thread_names = ("R", "W", "X")
        if isinstance(kstats, bool) or not isinstance(kstats, int):
            raise LabkitError(f"kstats must be a whole number, not {kstats!r}")
        if not 1 <= kstats <= MAX_KSTATS:
            raise LabkitError(f"kstats must be from 1 (only the header kstat itself) to {MAX_KSTATS}, "
                              f"not {kstats}; the seed's kernel had {SEED_KSTATS}")
        self.kstats = kstats
        self.variant = resolve_variant(fix)
        if allocator is None:
            allocator = "firewall" if kstats * SIZEOF_KSTAT_T > 128 * 1024 else "redzone"
        if allocator not in ALLOCATORS:
            raise LabkitError(f"unknown allocator {allocator!r}; accepted: "
                              + ", ".join(repr(a) for a in ALLOCATORS))
        self.allocator = allocator
        # By default the agent's buffer has room for every kstat, the new ones included.
        self.user_bufsize = (kstats + writers) * SIZEOF_KSTAT_T if user_bufsize is None else user_bufsize
        self._boot: _BootImage | None = None

    def boot_image(self) -> _BootImage:
        """The boot kstats for the next execution: the last ones, unless an execution wrote them."""
        if self._boot is None or self._boot.dirty:
            self._boot = _BootImage(self.kstats)
        return self._boot

    @classmethod
    def small(cls, fix: "str | os.PathLike[str] | Variant" = "none", **kw: Any) -> "Scenario":
        return cls(SMALL_KSTATS, fix, **kw)

    @classmethod
    def seed(cls, fix: "str | os.PathLike[str] | Variant" = "none", **kw: Any) -> "Scenario":
        return cls(SEED_KSTATS, fix, **kw)

    @property
    def fix(self) -> str:
        return self.variant.name

    def instantiate(self) -> _Instance:
        return _Instance(self)

    def describe(self) -> dict:
        out = {"fix": self.fix, "kstats": self.kstats}
        if self.writers != 1:
            out["writers"] = self.writers
        return out

    def recipe(self, schedule: str) -> Recipe:
        writers = (("writers", self.writers),) if self.writers != 1 else ()
        return Recipe(schedule, (("fix", self.variant.source or self.fix), ("kstats", self.kstats)) + writers)

    def __repr__(self):
        writers = f", writers={self.writers}" if self.writers != 1 else ""
        return f"Scenario(kstats={self.kstats}, fix={self.fix!r}, allocator={self.allocator!r}{writers})"
