"""Exercise 1: decode the panic.

Read the panic stack and the mdb output in the seed bug report (notebook 1 shows them), then make
each function below return your answer. Numbers may be ints (0xb8 or 184) or strings ("0xb8").
Check your answers from a notebook:

    from labkit import check
    check("decode_panic")
"""


def ioctl_command():
    """The name of the ioctl command the reader issued (frame `ioctl(d, 4b02, 80475e8)`), e.g. "KSTAT_IOC_WRITE"."""
    raise NotImplementedError("decode_panic.py: ioctl_command() is not implemented yet")


def file_descriptor():
    """The file descriptor the ioctl was issued on, as a number."""
    raise NotImplementedError("decode_panic.py: file_descriptor() is not implemented yet")


def data_model():
    """The reading process's data model, "ILP32" or "LP64" (from the flag argument 0x100001)."""
    raise NotImplementedError("decode_panic.py: data_model() is not implemented yet")


def device():
    """The device kstat_ioctl() was called for, as (major, minor), from its first argument 200000000."""
    raise NotImplementedError("decode_panic.py: device() is not implemented yet")


def sizeof_kstat_t():
    """sizeof(kstat_t) in bytes, worked out from ks_data_size and ks_ndata of the header kstat."""
    raise NotImplementedError("decode_panic.py: sizeof_kstat_t() is not implemented yet")


def headers_counted():
    """How many kstat headers the first pass (header_kstat_update) counted."""
    raise NotImplementedError("decode_panic.py: headers_counted() is not implemented yet")


def bytes_mapped():
    """How many bytes were mapped for kbuf: read_kstat_data asks kmem_zalloc for ks_data_size + 1,
    and an allocation this big is rounded up to whole 4 KiB pages, followed by an unmapped page."""
    raise NotImplementedError("decode_panic.py: bytes_mapped() is not implemented yet")


def died_at_offset():
    """The address the analysis says the thread died at, as an offset from the start of kbuf."""
    raise NotImplementedError("decode_panic.py: died_at_offset() is not implemented yet")


def past_the_end():
    """How many bytes past the end of the counted data (ks_data_size) that offset is."""
    raise NotImplementedError("decode_panic.py: past_the_end() is not implemented yet")


def fault_reading():
    """Notebook 2 reads the report's "died at" address, kbuf+0x100028, two ways. Which one do you
    use for header_index() below? "A": it is the faulting byte itself (what cr2 holds). "B": it is
    bcopy's %rsi, just past the header being copied, and the faulting store was 0x28 below it.
    Either is accepted: header_index() is checked under the reading you name here."""
    raise NotImplementedError("decode_panic.py: fault_reading() is not implemented yet")


def header_index():
    """Headers are copied one after another and numbered from 0: under your reading, the index of
    the header the copy was writing when it faulted."""
    raise NotImplementedError("decode_panic.py: header_index() is not implemented yet")


def lock_has_waiters():
    """True or False: does `kstat_chain_lock/K` (ffffff50b3da8760) show waiters on the mutex?"""
    raise NotImplementedError("decode_panic.py: lock_has_waiters() is not implemented yet")


def missing_frame():
    """The function that called bcopy but does not appear on the panic stack."""
    raise NotImplementedError("decode_panic.py: missing_frame() is not implemented yet")


def writer_function():
    """On the racing thread's stack: the function that cleared KSTAT_FLAG_INVALID before it went
    to take kstat_chain_lock."""
    raise NotImplementedError("decode_panic.py: writer_function() is not implemented yet")
