"""Where things live in the simulated kernel: function and data symbols, thread addresses.

The addresses are our own (a simulated kernel has no reason to copy the seed's), but they sit
in the same ranges as on a real amd64 illumos kernel, so a learner who has read the seed's dump
recognises them: text and static data near 0xfffffffffb800000, heap near 0xffffff0..., the
oversize arena (where the 1 MiB header buffer comes from) near 0xffffffa9....

Call-site offsets: where a frame's return address points inside its function. Where the seed's
panic stack shows a frame we model, we use the seed's offset, so our stacks read like it.
"""

TEXT_BASE = 0xFFFFFFFFFB800000

# (function, size) in the order they are laid out in text.
FUNCTIONS = (
    ("_sys_sysenter_post_swapgs", 0x200), ("sys_syscall", 0x200), ("ioctl", 0x200),
    ("fop_ioctl", 0x100), ("spec_ioctl", 0x100), ("cdev_ioctl", 0x100), ("kstat_ioctl", 0x200),
    ("read_kstat_data", 0x400), ("header_kstat_update", 0x100), ("header_kstat_snapshot", 0x100),
    ("bcopy", 0x200), ("kmem_zalloc", 0x100), ("kmem_alloc", 0x100), ("mutex_enter", 0x40),
    ("mutex_exit", 0x40), ("mutex_vector_enter", 0x200), ("mutex_delay_default", 0x40),
    ("turnstile_block", 0x300), ("cv_wait", 0x100), ("cv_broadcast", 0x80), ("swtch", 0x200),
    ("kstat_hold", 0x100), ("kstat_hold_bykid", 0x80), ("kstat_rele", 0x80),
    ("kstat_create_zone", 0x600), ("kstat_zone_add", 0x100), ("kstat_zone_find", 0x80),
    ("kstat_install", 0x200), ("zone", 0x300), ("zone_create", 0x1000),
    ("zone_kstat_create", 0x200), ("zone_zfs_kstat_create", 0x200), ("panic", 0x100),
    ("die", 0x100), ("trap", 0x800),
)


def _layout():
    table, addr = {}, TEXT_BASE
    for name, size in FUNCTIONS:
        table[name] = (addr, size)
        addr += size
    return table


FUNCTION_TABLE = _layout()

# Return-address offsets (caller's offset for the call it is in), from the seed where known.
CALL_SITE = {
    "bcopy": 0x194,                      # the faulting store (the trap's %rip)
    "read_kstat_data": 0x102, "kstat_ioctl": 0x83, "cdev_ioctl": 0x39, "spec_ioctl": 0x60,
    "fop_ioctl": 0x55, "ioctl": 0x9B, "_sys_sysenter_post_swapgs": 0x149,
    "mutex_delay_default": 0xC, "mutex_vector_enter": 0xCC, "kstat_rele": 0x1F,
    "kstat_install": 0x94, "zone_zfs_kstat_create": 0x183, "zone_kstat_create": 0xA0,
    "zone_create": 0x8B2, "zone": 0x1D4, "sys_syscall": 0x17A,
    "header_kstat_snapshot": 0x6B, "header_kstat_update": 0x58, "kstat_hold": 0x5C,
    "kstat_hold_bykid": 0x1A, "kstat_create_zone": 0x2F1, "kstat_zone_add": 0x4D,
    "kmem_zalloc": 0x2B, "mutex_enter": 0x0, "turnstile_block": 0x1E4, "cv_wait": 0x8D,
    "swtch": 0x18B,
}

# Static data.
DATA = {
    "kstat_chain_lock": 0xFFFFFFFFFBC4E8A0,
    "kstat_chain_id": 0xFFFFFFFFFBC4E8B0,
    "kstat_avl_bykid": 0xFFFFFFFFFBC4E8C0,
    "kstat_avl_byname": 0xFFFFFFFFFBC4E8E8,
    "header_kstat": 0xFFFFFFFFFBC1C7F0,   # the kid-0 kstat. A name of the simulator's own: illumos
                                          # has no such symbol (it carves the header kstat from
                                          # kstat_initial[]; the seed prints it by address)
}

EKSTAT_HEAP = 0xFFFFFF4310000000       # ekstat_t allocations (kmem caches)
EKSTAT_STRIDE = 0x140                   # the simulator's spacing of ekstat_ts (its own choice: illumos
                                        # vmem_allocs each from kstat_arena, 0x110 bytes on amd64)
SMALL_HEAP = 0xFFFFFF4380000000         # other small kmem allocations
OVERSIZE_ARENA = 0xFFFFFFA9E2000000     # page-granular large allocations, one guard page each

THREADS = {"R": 0xFFFFFF0A1C2E3B40, "W": 0xFFFFFF0A1D5F0C20}
KTHREAD_STACKS = {"R": 0xFFFFFF01F4A10000, "W": 0xFFFFFF0204C20000}


def symbol_at(addr: int) -> tuple[str, int] | None:
    """(name, offset) of the text or data symbol containing addr, or None."""
    for name, (start, size) in FUNCTION_TABLE.items():
        if start <= addr < start + size:
            return name, addr - start
    for name, start in DATA.items():
        if start <= addr < start + 0x20:
            return name, addr - start
    return None
