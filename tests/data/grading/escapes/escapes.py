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
