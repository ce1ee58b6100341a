"""Code that has escaped the learner-code allow-list (as if it had): what the sandbox still stops.

These are hidden checks only because a hidden check's code runs unrestricted in the worker, where
a submission's code runs. Each reports what it could see in its BAD line; the tests read them."""

import os
import time
from pathlib import Path

import labkit.grading
from labkit.grading.hidden import hidden

SOLUTIONS = Path(labkit.grading.__file__).resolve().parents[2] / "solutions"


@hidden(points=1, timeout=20)
def looks_around(sub, ctx):
    seen = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            for what in ("cmdline", "environ"):
                try:
                    seen.append(Path(f"/proc/{pid}/{what}").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
                except OSError:
                    pass
    try:
        listing = sorted(os.listdir(SOLUTIONS))
    except OSError as exc:
        listing = [f"error {exc.errno}"]
    ctx.part(False, 1, bad=f"uid={os.getuid()} pids={sorted(p for p in os.listdir('/proc') if p.isdigit())} "
                           f"solutions={listing} seen={' | '.join(seen)}")


@hidden(points=1, timeout=5)
def leaves_a_daemon(sub):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", "987.654"])
        os._exit(0)
    time.sleep(1)
    return True


@hidden(points=1, timeout=60, native=True)
def hogs_memory(sub):
    hog = []
    for _ in range(64):  # up to 4 GiB, each page touched
        hog.append(bytearray(64 << 20))
    return True


@hidden(points=1, timeout=20)
def plants_a_module(sub, ctx):
    """Writes a file where this check's native builds are cached: a later check must not see it."""
    from labkit.native._cbuild import cache_dir
    d = Path(cache_dir())
    d.mkdir(parents=True, exist_ok=True)
    (d / "planted-by-another-check.so").write_text("not a module")
    ctx.part(False, 1, bad=f"cache={d}")


@hidden(points=1, timeout=20)
def looks_for_a_planted_module(sub, ctx):
    from labkit.native._cbuild import cache_dir
    found = sorted(str(p) for p in Path("/").glob("tmp/**/planted-by-another-check.so"))
    found += [str(p) for p in Path(cache_dir()).glob("planted-by-another-check.so")]
    ctx.part(False, 1, bad=f"found={found}")


# Traces one check leaves where any uid may write, and what another check finds of them (as if
# two submissions graded one after the other); each says what it did in its BAD line.
TRACE = "labkit-trace-left-by-a-check"
SHM_KEY = 0x1AB5EED  # a System V shared memory segment, 0666: it outlives its maker
PORT = 47391          # the test listens on it (loopback), and on an abstract unix socket


def _shm(flags: int) -> int:
    import ctypes
    return ctypes.CDLL(None).shmget(SHM_KEY, 4096, flags)


@hidden(points=1, timeout=20)
def leaves_traces(sub, ctx):
    left = []
    for d in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
        try:
            fd = os.open(f"{d}/{TRACE}", os.O_CREAT | os.O_WRONLY, 0o666)
            os.fchmod(fd, 0o666)
            os.close(fd)
            left.append(d)
        except OSError:
            pass
    if _shm(0o1000 | 0o666) >= 0:     # IPC_CREAT
        left.append("shm")
    ctx.part(False, 1, bad=f"left={left}")


@hidden(points=1, timeout=20)
def finds_traces(sub, ctx):
    import socket
    found = [d for d in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock") if os.path.exists(f"{d}/{TRACE}")]
    if _shm(0) >= 0:
        found.append("shm")
    for family, address in ((socket.AF_UNIX, "\0labkit-threat-test"), (socket.AF_INET, ("127.0.0.1", PORT))):
        s = socket.socket(family)
        try:
            s.connect(address)
            found.append(f"connected to {address!r}")
        except OSError:
            pass
        finally:
            s.close()
    ctx.part(False, 1, bad=f"found={found}")


@hidden(points=1, timeout=20)
def where_it_writes(sub, ctx):
    """The size of the file system under its HOME, TMPDIR and /tmp: what it could fill."""
    sizes = []
    for d in (os.environ["HOME"], os.environ["TMPDIR"], "/tmp"):
        st = os.statvfs(d)
        sizes.append(st.f_blocks * st.f_frsize >> 20)
    ctx.part(False, 1, bad=f"MiB={sizes}")
