"""Plausible wrong answers, each with its own hint."""


def ioctl_command():
    return "KSTAT_IOC_CHAIN_ID"


def file_descriptor():
    return "0xd"  # right, as a string


def data_model():
    return "LP64"


def device():
    return 2


def sizeof_kstat_t():
    return 152


def headers_counted():
    return 0x1642


def bytes_mapped():
    return 0xFFF71


def died_at_offset():
    return 0x100028


def past_the_end():
    return 0xB8


def fault_reading():
    return "a"  # reading A, in any case


def header_index():
    return 5698  # right under reading B, not under A


def lock_has_waiters():
    return False


def missing_frame():
    raise KeyError("oops")


def writer_function():
    return "kstat_rele"
