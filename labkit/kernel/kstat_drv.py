"""The /dev/kstat driver and the system-call path above it (usr/src/uts/common/io/kstat.c).

The reader thread enters here: a 32-bit process calls ioctl(fd, KSTAT_IOC_READ, &kstat), the
call goes through the vnode layer to kstat_ioctl, and read_kstat_data does the work. The
functions on the path exist so that a panic stack shows them, with their real arguments.
"""

from dataclasses import dataclass, field

from labkit.kernel.context import kernel
from labkit.kernel.kstat_fr import (getzoneid, kstat_hold_bykid, kstat_rele, mutex_enter,
                                    mutex_exit, panic)
from labkit.kernel.layout import (DATAMODEL_ILP32, EAGAIN, ENOMEM, ENXIO, FMODELS,
                                  KSTAT_FLAG_INVALID, KSTAT_IOC_READ, KSTAT_READ, NBITSMINOR,
                                  SIZEOF_KSTAT32_T)
from labkit.sched import point


@dataclass
class UserKstat:
    """The kstat_t a user process passes to KSTAT_IOC_READ, living in its address space."""

    ks_kid: int
    ks_data_size: int          # how big the caller's data buffer is
    ks_ndata: int = 0
    ks_flags: int = 0
    ks_snaptime: int = 0
    data: list = field(default_factory=list)   # what was copied out: a KstatCopy per record
    record_size: int = 0


def _sys_sysenter_post_swapgs(fdes: int, cmd: int, arg: int):
    return ioctl(fdes, cmd, arg)


class Rval:
    """ioctl's int *rvalp: where the call's return value goes (it lives on the thread's stack)."""

    def __init__(self, addr: int):
        self.addr = addr
        self.value = 0


def ioctl(fdes: int, cmd: int, arg: int):
    k = kernel()
    f = k.files[fdes]
    rval = Rval(f["rval_addr"])
    error = fop_ioctl(f["vnode"], cmd, arg, f["flag"], f["cred"], rval, 0)
    return error, rval.value


def fop_ioctl(vp: int, cmd: int, arg: int, flag: int, cr: int, rvalp, ct: int):
    return spec_ioctl(vp, cmd, arg, flag, cr, rvalp, ct)


def spec_ioctl(vp: int, cmd: int, arg: int, flag: int, cr: int, rvalp, ct: int):
    dev = kernel().vnodes[vp]
    return cdev_ioctl(dev, cmd, arg, flag, cr, rvalp)


def cdev_ioctl(dev: int, cmd: int, arg: int, flag: int, cr: int, rvalp):
    return kstat_ioctl(dev, cmd, arg, flag, cr, rvalp)


def kstat_ioctl(dev: int, cmd: int, data: int, flag: int, cr: int, rvalp):
    if cmd == KSTAT_IOC_READ:
        return read_kstat_data(rvalp, data, flag)
    return 22  # EINVAL: the course only reads


def getminor(dev: int) -> int:
    return dev & ((1 << NBITSMINOR) - 1)


def read_kstat_data(rvalp, user_ksp: int, flag: int):
    k = kernel()
    user = k.user_memory[user_ksp]                 # copyin of the caller's kstat_t
    model = flag & FMODELS
    ksp = kstat_hold_bykid(user.ks_kid, getzoneid())
    if ksp is None:
        return ENXIO
    if ksp.ks_flags & KSTAT_FLAG_INVALID:
        kstat_rele(ksp)
        return EAGAIN
    mutex_enter(ksp.ks_lock)                       # KSTAT_ENTER: for kid 0, kstat_chain_lock
    error = ksp.ks_update(ksp, KSTAT_READ)         # header_kstat_update: the first pass
    if error:
        return _out(ksp, error)
    kbufsize = ksp.ks_data_size
    if kbufsize > user.ks_data_size:               # libkstat grows its buffer and retries
        user.ks_data_size = kbufsize
        return _out(ksp, ENOMEM)
    point("alloc", k.memory, f"kmem_zalloc({kbufsize + 1:#x}, KM_NOSLEEP)", depth=1)
    kbuf = k.memory.kmem_zalloc(kbufsize + 1)      # the reader keeps the lock all along
    error = ksp.ks_snapshot(ksp, kbuf.addr, KSTAT_READ)   # header_kstat_snapshot: the copy
    user.ks_ndata = ksp.ks_ndata
    user.ks_data_size = ksp.ks_data_size
    user.ks_flags = ksp._flags
    user.ks_snaptime = ksp.ks_snaptime
    rvalp.value = k.kstat_chain_id
    _out(ksp, error)
    if error:
        return error
    records = list(map(k.memory.stores.get, range(kbuf.addr, kbuf.addr + ksp.ks_ndata * 0xB8, 0xB8)))
    # A 32-bit caller of kid 0 gets the array repacked in place as kstat32_t records.
    user.record_size = SIZEOF_KSTAT32_T if model == DATAMODEL_ILP32 else 0xB8
    user.data = records
    problem = k.memory.kmem_free(kbuf)             # kmem_free(kbuf, kbufsize + 1)
    if problem:
        panic(problem)                             # kmem's redzone check ("slab" memory only)
    return 0


def _out(ksp, error):
    mutex_exit(ksp.ks_lock)                        # KSTAT_EXIT
    kstat_rele(ksp)
    return error
