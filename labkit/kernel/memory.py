"""Page-granular kernel memory: where a store past a buffer becomes a page fault.

Two allocators, as the course needs them:
- "firewall" (the seed's kernel): allocations above 128 KiB come from the oversize arena,
  rounded up to whole pages and followed by an unmapped guard page; the buffer starts at the
  first page, so an overflow first runs through the rounding slack and faults at the first
  byte of the guard page. 0xfff71 bytes are mapped as 0x100000. Smaller allocations come from
  caches with no guard: an overflow there corrupts a neighbour silently.
- "redzone" (the small scenarios, by default): a debugging allocator that places every
  allocation so it ends flush against an unmapped page, so even a small buffer faults on its
  first stray byte. This is the course's choice, so that the small scenarios panic the way the
  seed did (Electric Fence and libumem work this way; illumos' kmem does not): a real 0x229-byte
  kmem_zalloc comes from a kmem cache with no guard page.
- "slab" (what illumos really does with a small buffer, on a kernel with kmem's redzone checking,
  kmem_flags KMF_REDZONE): allocations up to 128 KiB come from the kmem_alloc_N cache of the
  next size up (kmem.c's kmem_alloc_sizes[]), laid end to end in a slab with no guard page. An
  overflow silently lands in the next buffer; kmem_free() then finds the redzone past the buffer
  written and panics ("kernel heap corruption detected"), long after the store that did it.
  Larger allocations are oversize, as under "firewall".

Memory holds no bytes: a store records what was copied where (a snapshot of a kstat's fields),
which is all the model needs to hand the reader its headers.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from labkit.kernel.layout import KMEM_OVERSIZE_THRESHOLD, PAGESIZE, SIZEOF_KSTAT_T
from labkit.kernel.symbols import OVERSIZE_ARENA, SMALL_HEAP

ALLOCATORS = ("firewall", "redzone", "slab")

# kmem.c (c9bbee95): the kmem_alloc_N cache sizes; a small allocation takes the first that fits.
KMEM_ALLOC_SIZES = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
                    448, 512, 640, 768, 896, 1152, 1344, 1600, 2048, 2688, 4096)


def roundup(n: int, to: int) -> int:
    return (n + to - 1) // to * to


@dataclass
class Allocation:
    addr: int              # what kmem_zalloc returned
    size: int              # bytes asked for
    map_start: int         # first mapped byte
    map_end: int           # first byte past the mapping (the guard page, if guarded)
    guarded: bool
    arena: str


class KmemCache:
    """The kmem cache a small allocation comes from (one of the kmem_alloc_NNN caches).

    The model gives a new kstat its address by kid, so these allocations move nothing the
    reader can see; they are scheduling points of their own cache, independent of the
    reader's oversize allocation (the two really are separate allocators)."""

    __slots__ = ("name", "sched_key")

    def __init__(self, name: str):
        self.name = name
        self.sched_key = ("kmem cache", name)


@dataclass(eq=False)   # compared by identity: it is a scheduling object
class KernelMemory:
    allocator: str = "firewall"
    allocations: list = field(default_factory=list)
    stores: dict = field(default_factory=dict)     # addr -> record copied there
    _next_big: int = OVERSIZE_ARENA
    _next_small: int = SMALL_HEAP
    caches: dict = field(default_factory=dict)
    before_zalloc: Callable[[], None] | None = None   # the grader's record, kept out of kernel code (scenario.py)
    # The mapped bytes [safe_lo, safe_hi) of the allocation the last store checked went into: a
    # store inside them cannot fault, so bcopy, which copies thousands of headers into one buffer,
    # tests this range and searches the allocations (store_fault) only when a store leaves it.
    safe_lo: int = 0
    safe_hi: int = 0
    sched_key = ("kmem", "arena")      # the same allocator in every execution (sched/quiet.py)

    def cache(self, ctype: str) -> KmemCache:
        """The kmem cache small allocations of a C type come from (the model keeps no sizes)."""
        name = f"kmem cache for {ctype}"
        c = self.caches.get(name)
        if c is None:
            c = self.caches[name] = KmemCache(name)
        return c

    def kmem_zalloc(self, size: int) -> Allocation:
        if self.before_zalloc is not None:
            self.before_zalloc()
        if self.allocator == "redzone" or size > KMEM_OVERSIZE_THRESHOLD:
            mapped = roundup(size, PAGESIZE)
            start = self._next_big
            self._next_big += mapped + PAGESIZE          # leave the guard page unmapped
            addr = start if self.allocator == "firewall" else start + mapped - size
            a = Allocation(addr, size, start, start + mapped, True,
                           "kmem_oversize (firewall)" if self.allocator == "firewall" else "redzone")
        else:
            chunk = next((c for c in KMEM_ALLOC_SIZES if c >= size), roundup(size, PAGESIZE))
            addr = self._next_small
            self._next_small += chunk     # the next buffer of the slab starts right after
            a = Allocation(addr, size, addr, self._next_small, False, f"kmem_alloc_{chunk}")
        self.allocations.append(a)
        return a

    def first_unmapped(self, addr: int, length: int, alloc: Allocation | None) -> int | None:
        """The first byte of [addr, addr+length) that is not mapped, or None.

        Only guarded allocations can fault; an unguarded overflow lands in a neighbour.
        """
        if alloc is None or not alloc.guarded:
            return None
        end = addr + length
        if addr < alloc.map_start:
            return addr
        if end > alloc.map_end:
            return max(addr, alloc.map_end)
        return None

    def store_fault(self, addr: int, length: int) -> tuple[Allocation | None, int | None]:
        """A store of length bytes at addr: the allocation it goes into and the first byte of it
        that is not mapped (None: it does not fault). Remembers that allocation's mapped bytes."""
        alloc = self.allocation_for(addr)
        bad = self.first_unmapped(addr, length, alloc)
        if alloc is not None and bad is None:
            self.safe_lo, self.safe_hi = alloc.map_start, alloc.map_end
        return alloc, bad

    def allocation_for(self, addr: int) -> Allocation | None:
        """The allocation addr lies in, or whose guard page it lies in (None if neither)."""
        for a in reversed(self.allocations):
            if a.map_start <= addr < a.map_end + (PAGESIZE if a.guarded else 0):
                return a
        return None

    def kmem_free(self, alloc: Allocation) -> str | None:
        """Free an allocation. Under "slab" (kmem's redzone checking) a buffer written past its end
        is found here, as kmem_free() finds it: the message of the panic that follows, or None."""
        if self.allocator != "slab" or alloc.guarded:
            return None
        end = alloc.addr + alloc.size
        past = sorted(a for a in self.stores if alloc.addr <= a < alloc.map_end + SIZEOF_KSTAT_T
                      and a + SIZEOF_KSTAT_T > end)
        if not past:
            return None
        last = past[-1] + SIZEOF_KSTAT_T
        into_next = max(0, last - alloc.map_end)
        return (f"kernel heap corruption detected: kmem_free({alloc.addr:#x}, {alloc.size:#x}): "
                f"redzone violation: write past end of buffer (a {alloc.arena} buffer: the copy ran "
                f"{last - end:#x} bytes past its end, {into_next:#x} of them into the next buffer "
                "of the slab, with no fault at the time)")
