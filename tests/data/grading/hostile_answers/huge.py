"""A 500 KB answer string."""


def ioctl_command():
    return "KSTAT_IOC_WRITE " + "A" * 500_000


def headers_counted():
    return [0] * (10 ** 10)
