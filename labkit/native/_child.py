"""The child process for a learner's C and for everything that may crash or hang (ThreadSanitizer's
run has a program of its own: tsan_main.c).

    python -m labkit.native._child {race|crash} PARAMS_JSON

or the same, forked from labkit.native._zygote's server (race: the stress runs), which calls run().

Design note: the parent (detect.py, crash.py) builds the C first, so this process only loads it
from the cache. It prints "progress [...]" lines and one "result {...}" line on stdout;
a crash says what it knows on stderr through the C fault reporter (fault.c) and dies of it.
"""

import faulthandler
import json
import os
import signal
import sys
import threading

from labkit.errors import LabkitError
from labkit.native import _cbuild
from labkit.native.detect import run_here


def main(argv):
    run(argv[0], json.loads(argv[1]))


def run(mode: str, p: dict) -> None:
    """One run in this process, which is the run's own (exec'd, or forked by _zygote)."""
    ffi, lib = _cbuild.load(p.get("source"))
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if mode == "crash":
        faulthandler.enable()           # first, so the C reporter chains to it
        if lib.lk_fault_reporter() != 0:
            raise SystemExit("could not install the fault reporter")
        p["crash"] = True
        if p.get("plan"):               # a dump needs to know where the code was loaded
            print("maps", json.dumps(_code_mappings()), flush=True)

    def progress(rounds, overflows, elapsed):
        print("progress", json.dumps([rounds, overflows, elapsed]), flush=True)

    try:
        result = run_here((ffi, lib), p, progress if mode == "race" else None, stop)
    except LabkitError as exc:   # e.g. a learner's file lacks a function: the parent raises it
        print("error", json.dumps(str(exc)), flush=True)
        raise SystemExit(3) from None
    print("result", json.dumps(result.to_json()), flush=True)
    if result.outcome != "ok":   # its C threads are stuck and cannot be joined: end them with us
        os._exit(0)


def _code_mappings():
    """[start, file offset, path] of each executable file mapping (to name native frames)."""
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and "x" in parts[1] and parts[5].startswith("/"):
                start, end = (int(x, 16) for x in parts[0].split("-"))
                out.append([start, end, int(parts[2], 16), parts[5].strip()])
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
