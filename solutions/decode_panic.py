"""Exercise 1: decode the panic.

Read the panic stack and the mdb output in the seed bug report (notebook 1 shows them), then make
each function below return your answer. Numbers may be ints (0xb8 or 184) or strings ("0xb8").
Check your answers from a notebook:

    from labkit import check
    check("decode_panic")
"""


def ioctl_command():
    """The name of the ioctl command the reader issued (frame `ioctl(d, 4b02, 80475e8)`), e.g. "KSTAT_IOC_WRITE"."""
    ### BEGIN SOLUTION
    return "KSTAT_IOC_READ"  # 0x4b02 = ('K' << 8) | 2
    ### END SOLUTION


def file_descriptor():
    """The file descriptor the ioctl was issued on, as a number."""
    ### BEGIN SOLUTION
    return 0xD
    ### END SOLUTION


def data_model():
    """The reading process's data model, "ILP32" or "LP64" (from the flag argument 0x100001)."""
    ### BEGIN SOLUTION
    return "ILP32"  # 0x100001 = FREAD | DATAMODEL_ILP32
    ### END SOLUTION


def device():
    """The device kstat_ioctl() was called for, as (major, minor), from its first argument 200000000."""
    ### BEGIN SOLUTION
    return (2, 0)  # a 64-bit dev_t: major above bit 32, minor in the low 32 bits
    ### END SOLUTION


def sizeof_kstat_t():
    """sizeof(kstat_t) in bytes, worked out from ks_data_size and ks_ndata of the header kstat."""
    ### BEGIN SOLUTION
    return 0xFFF70 // 0x1642
    ### END SOLUTION


def headers_counted():
    """How many kstat headers the first pass (header_kstat_update) counted."""
    ### BEGIN SOLUTION
    return 0x1642
    ### END SOLUTION


def bytes_mapped():
    """How many bytes were mapped for kbuf: read_kstat_data asks kmem_zalloc for ks_data_size + 1,
    and an allocation this big is rounded up to whole 4 KiB pages, followed by an unmapped page."""
    ### BEGIN SOLUTION
    return (0xFFF70 + 1 + 0xFFF) & ~0xFFF
    ### END SOLUTION


def died_at_offset():
    """The address the analysis says the thread died at, as an offset from the start of kbuf."""
    ### BEGIN SOLUTION
    return 0xFFFFFFA9E29A9028 - 0xFFFFFFA9E28A9000
    ### END SOLUTION


def past_the_end():
    """How many bytes past the end of the counted data (ks_data_size) that offset is."""
    ### BEGIN SOLUTION
    return 0x100028 - 0xFFF70
    ### END SOLUTION


def fault_reading():
    """Notebook 2 reads the report's "died at" address, kbuf+0x100028, two ways. Which one do you
    use for header_index() below? "A": it is the faulting byte itself (what cr2 holds). "B": it is
    bcopy's %rsi, just past the header being copied, and the faulting store was 0x28 below it.
    Either is accepted: header_index() is checked under the reading you name here."""
    ### BEGIN SOLUTION
    return "B"  # A puts the fault past kbuf+0x100000, the first unmapped byte, which the copy met first
    ### END SOLUTION


def header_index():
    """Headers are copied one after another and numbered from 0: under your reading, the index of
    the header the copy was writing when it faulted."""
    ### BEGIN SOLUTION
    return 0x100000 // 0xB8  # B: the fault at kbuf+0x100000 is byte 0x90 of header 5698 (A: 0x100028 // 0xb8 = 5699)
    ### END SOLUTION


def lock_has_waiters():
    """True or False: does `kstat_chain_lock/K` (ffffff50b3da8760) show waiters on the mutex?"""
    ### BEGIN SOLUTION
    return bool(0xFFFFFF50B3DA8760 & 1)  # bit 0 is MUTEX_WAITERS
    ### END SOLUTION


def missing_frame():
    """The function that called bcopy but does not appear on the panic stack."""
    ### BEGIN SOLUTION
    return "header_kstat_snapshot"
    ### END SOLUTION


def writer_function():
    """On the racing thread's stack: the function that cleared KSTAT_FLAG_INVALID before it went
    to take kstat_chain_lock."""
    ### BEGIN SOLUTION
    return "kstat_install"
    ### END SOLUTION
