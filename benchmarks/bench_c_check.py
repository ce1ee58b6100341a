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

--cold: each check with an empty build cache (the engine's objects built once beforehand, as the
grader does for its checks: what a class's distinct submissions cost), and a count of the
compiler's runs on the learner's file, by phase (the static check's object and preprocessing, each
build's syntax check and object), then each of those commands alone, best CPU of 5.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
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


class Compiles:
    """The compiler's runs on one file, each with the phase it ran in (subprocess.Popen wrapped:
    the static check and the builds run their compilers from this process)."""

    def __init__(self, path: str) -> None:
        from labkit.native import _cbuild
        self.path, self.cc, self.phase = path, _cbuild.compiler(), ""
        self.runs: list[tuple[str, list[str]]] = []
        real, me = subprocess.Popen, self

        class Counted(real):   # type: ignore[misc, valid-type]
            def __init__(self, args, *a, **k):
                if isinstance(args, (list, tuple)) and args and args[0] == me.cc and me.path in map(str, args):
                    me.runs.append((me.phase, [str(x) for x in args]))
                super().__init__(args, *a, **k)
        self._real, subprocess.Popen = real, Counted   # type: ignore[misc]

    def close(self) -> None:
        subprocess.Popen = self._real   # type: ignore[misc]

    @staticmethod
    def kind(argv: list[str]) -> str:
        what = "-E" if "-E" in argv else "-fsyntax-only" if "-fsyntax-only" in argv else "-c"
        return what + (" (ThreadSanitizer)" if "-fsanitize=thread" in argv else "")

    @staticmethod
    def cost(argv: list[str], path: str, filename: str, tries: int = 5) -> float:
        """The best CPU time of the command alone, on a new copy of the file that was at `path`
        (its object written to a scratch folder)."""
        with tempfile.TemporaryDirectory(prefix="bench-cc-") as tmp:
            shutil.copy(os.path.join(ROOT, "solutions", filename), tmp)
            argv = [os.path.join(tmp, filename) if a == path else a for a in argv]
            if "-o" in argv:
                argv = argv[:argv.index("-o") + 1] + [os.path.join(tmp, "x.o")] + argv[argv.index("-o") + 2:]
            best = float("inf")
            for _ in range(tries):
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                best = min(best, r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        return best


def one_check(filename: str, compiles: "Compiles | None" = None) -> dict[str, tuple[float, float]]:
    from labkit.grading import native_checks as nc
    from labkit.native import _zygote, race, tsan
    path = nc._alone(os.path.join(ROOT, "solutions", filename))
    phases: dict[str, tuple[float, float]] = {}
    if compiles is not None:
        compiles.path = path

    def timed(name, fn):
        if compiles is not None:
            compiles.phase = name
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
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)
    return phases


def cold_check(filename: str, compiles: Compiles) -> dict[str, tuple[float, float]]:
    """one_check with an empty build cache; the engine's objects come from a folder built first
    ($LABKIT_NATIVE_ENGINE, as the grader's checks get theirs)."""
    from labkit.native import _cbuild
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        engine = os.path.join(tmp, "engine")
        for tsan in (False, True):
            _cbuild.engine_objects(tsan, into=engine)
        saved = {k: os.environ.get(k) for k in ("LABKIT_NATIVE_CACHE", "LABKIT_NATIVE_ENGINE")}
        os.environ.update(LABKIT_NATIVE_CACHE=os.path.join(tmp, "cache"), LABKIT_NATIVE_ENGINE=engine)
        try:
            return one_check(filename, compiles)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fix", action="append", choices=["fix_a.c", "fix_b.c"], help="default: both")
    ap.add_argument("--repeat", type=int, default=3, help="checks per fix (medians are printed)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--cold", action="store_true",
                    help="an empty build cache for each check, and the compiler's runs on the learner's file")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    out: dict[str, Any] = {"load_before": os.getloadavg(), "cores": os.cpu_count(), "fixes": {}}
    for filename in args.fix or ["fix_a.c", "fix_b.c"]:
        compiles = Compiles("") if args.cold else None
        try:
            runs = [cold_check(filename, compiles) if compiles else one_check(filename) for _ in range(args.repeat)]
            last = compiles.path if compiles else ""
        finally:
            if compiles:
                compiles.close()
        if compiles:
            first = [(phase, cmd) for phase, cmd in compiles.runs if last in cmd]   # the last check's
            print(f"{filename}: {len(first)} runs of the compiler on the learner's file in one cold check, "
                  f"each alone (best CPU s of 5):")
            for phase, cmd in first:
                print(f"    {phase:28} {Compiles.kind(cmd):30} {Compiles.cost(cmd, last, filename):5.3f}")
            out.setdefault("compiles", {})[filename] = [[phase, Compiles.kind(cmd)] for phase, cmd in first]
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
