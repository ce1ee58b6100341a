"""Benchmark of one C check's phases (a script, not a test): where a fix_a_c or fix_b_c check's time goes.

    .venv/bin/python benchmarks/bench_c_check.py [--fix fix_a.c] [--repeat 3] [--json FILE]

For each built-in solution (solutions/fix_a.c, fix_b.c) it runs what observe_c_fix runs, with the
same arguments, one phase after another: the static check, the three stress runs of
native_checks._RUNS, and ThreadSanitizer. Each phase's wall time and CPU time, the children's
included: a stress run's child is forked by labkit.native._zygote's server and reaped there, so
its CPU is read from the live server's /proc stat (its own time and its reaped children's) until
the server is stopped and waited for; the server's own start-up is a line of its own. The
free-running run is a window of FREE_SECONDS by design (its CPU is the writers and the reader
spinning on the cores they get): the last column is each phase's share of the check's CPU. Figures
are medians of --repeat checks; quote them with the load (printed before and after).
"""

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

import cputime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def reaped(server: int | None) -> None:
    """Wait until the server has reaped its children (it does once the caller has read their exit):
    only then is their CPU in its stat."""
    deadline = time.monotonic() + 5
    while server is not None and time.monotonic() < deadline:
        try:
            with open(f"/proc/{server}/task/{server}/children") as f:
                if not f.read().split():
                    return
        except OSError:
            return
        time.sleep(0.005)


def one_check(filename: str) -> dict[str, tuple[float, float]]:
    from labkit.grading import native_checks as nc
    from labkit.native import _zygote, race, tsan
    path = nc._alone(os.path.join(ROOT, "solutions", filename))
    phases: dict[str, tuple[float, float]] = {}

    def timed(name, fn):
        server = _zygote.server_pid()
        w, c = time.perf_counter(), cputime.total(server)
        out = fn()
        server = server if server is not None else _zygote.server_pid()
        reaped(server)
        phases[name] = (time.perf_counter() - w, cputime.total(server) - c)
        return out

    timed("zygote server start (warm)", _zygote.warm)   # its imports: counted below, at stop
    assert not timed("static check", lambda: nc.static_check(path, nc.CHANGES[filename]))
    for run, (_, args) in nc._RUNS.items():
        r = timed(f"stress: {run}", lambda args=args: race(source=path, seed=nc.SEED, timeout=60,
                                                            writers=nc.WRITERS, **args))
        assert r.outcome == "ok" and r.overflows == 0, r
    timed("ThreadSanitizer", lambda: tsan(source=path, timeout=40, writers=nc.WRITERS))
    # what the server spent itself (its imports, its forks) and has not been counted yet
    server = _zygote.server_pid()
    w, before = time.perf_counter(), cputime.total(None)
    own = cputime.of_process(server, children=False)
    _zygote.stop()
    w0, c0 = phases["zygote server start (warm)"]
    phases["zygote server start (warm)"] = (w0 + time.perf_counter() - w, c0 + own)
    assert cputime.total(None) - before >= own - 0.02   # its time is counted in ours once it is reaped
    return phases


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fix", action="append", choices=["fix_a.c", "fix_b.c"], help="default: both")
    ap.add_argument("--repeat", type=int, default=3, help="checks per fix (medians are printed)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    out: dict[str, Any] = {"load_before": os.getloadavg(), "cores": os.cpu_count(), "fixes": {}}
    for filename in args.fix or ["fix_a.c", "fix_b.c"]:
        runs = [one_check(filename) for _ in range(args.repeat)]
        med = {name: (statistics.median(r[name][0] for r in runs), statistics.median(r[name][1] for r in runs))
               for name in runs[0]}
        total = sum(c for _, c in med.values())
        print(f"{filename}: median of {args.repeat} checks, wall / CPU s (children's included), share of CPU")
        for name, (wall, cpu) in med.items():
            print(f"    {name:28} {wall:5.2f} {cpu:5.2f}  {cpu / total:4.0%}")
        print(f"    {'the check':28} {sum(w for w, _ in med.values()):5.2f} {total:5.2f}")
        out["fixes"][filename] = {name: dict(wall_s=round(w, 3), cpu_s=round(c, 3)) for name, (w, c) in med.items()}
    out["load_after"] = os.getloadavg()
    print(f"load before {out['load_before'][0]:.2f}, after {out['load_after'][0]:.2f} (1 min), {out['cores']} cores")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
