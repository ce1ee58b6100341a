"""A check that goes for the fork server its worker was forked from, and one that looks for what
the first left behind (as if two checks of a notebook, one after the other, shared the server).

Hidden checks only because a hidden check's code runs unrestricted in the worker, where a
submission's code runs (as escapes.py). Each says what it did or saw in its BAD line."""

import ctypes
import os
import signal

from labkit.grading import worker
from labkit.grading.hidden import hidden

CAP_SYS_PTRACE = 19
PTRACE_PEEKDATA, PTRACE_POKEDATA, PTRACE_ATTACH, PTRACE_DETACH = 2, 5, 16, 17
WRITTEN = 4194305        # what the first check writes over worker.MAX_JOB (4 MiB) in the server


def _server() -> int:
    """The fork server: the parent of this worker's monitor (the worker's parent)."""
    with open(f"/proc/{os.getppid()}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _as_an_unprivileged_user() -> None:
    """Give up CAP_SYS_PTRACE: as the learner's own uid without root (a learner's check() in a
    notebook), this process may ptrace a process of its uid only if that process is dumpable."""
    libc = ctypes.CDLL(None, use_errno=True)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    # (from the effective set only: a tracer must hold every capability its tracee has, as a
    # learner's uid and its server, neither with any, do)
    data[0].effective &= ~(1 << CAP_SYS_PTRACE)
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


@hidden(points=1, timeout=20)
def tampers_with_the_server(sub, ctx):
    server = _server()
    worker.TAMPERED = True            # its own copy of the module (copy-on-write)
    _as_an_unprivileged_user()
    libc = ctypes.CDLL(None, use_errno=True)
    did = []
    # The server's objects are where this worker's are (a fork): the int worker.MAX_JOB's one
    # 30-bit digit is 24 bytes into it (CPython 3.11's layout).
    digit = id(worker.MAX_JOB) + 24
    libc.ptrace.restype = ctypes.c_long
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    if libc.ptrace(PTRACE_ATTACH, server, None, None) == 0:
        os.waitpid(server, 0)                      # (stopped, as an attach leaves it)
        word = libc.ptrace(PTRACE_PEEKDATA, server, digit, None) & ~0xFFFFFFFF | WRITTEN
        if libc.ptrace(PTRACE_POKEDATA, server, digit, word) == 0:
            did.append("wrote its memory")
        libc.ptrace(PTRACE_DETACH, server, None, None)
    else:
        did.append(f"ptrace {os.strerror(ctypes.get_errno())}")
    try:
        os.close(os.open(f"/proc/{server}/mem", os.O_RDWR))
        did.append("opened its memory")
    except OSError as exc:
        did.append(f"mem {exc.strerror}")
    ctx.part(False, 1, bad=f"server={server} did={did}")


@hidden(points=1, timeout=20)
def kills_the_server(sub, ctx):
    server = _server()
    os.kill(server, signal.SIGKILL)
    ctx.part(False, 1, bad=f"server={server} killed")


@hidden(points=1, timeout=20)
def looks_for_tampering(sub, ctx):
    ctx.part(False, 1, bad=f"server={_server()} tampered={hasattr(worker, 'TAMPERED')} "
                           f"max_job={worker.MAX_JOB}")
