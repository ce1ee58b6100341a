"""Benchmark of the post-mortem of any run (a script, not a test): what a dump costs.

    .venv/bin/python benchmarks/bench_dump.py [--repeat 5] [--json FILE]

At the small scale (3 kstats) and the seed's (5698): replaying a panicking schedule into a Dump,
writing it to a file, reading it back (every field checked), the file's size, and one mdb
command on the loaded dump; then `labkit crash --schedule` following the same schedule on real
threads (a child process) into its native dump. Medians over --repeat runs. No target is set
yet; the figures are for the lead's idle-machine run (the load average is printed with them).
"""

import argparse
import json
import os
import statistics
import tempfile
import time

from labkit import Scenario, load_dump, replay_dump
from labkit.native import crash
from labkit.postmortem import Mdb

CASES = {"small": (3, "W12 R25 W1 R"), "seed": (5698, "W12 R28500 W1 R2")}


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench(name, kstats, schedule, repeat, tmp):
    path = os.path.join(tmp, f"{name}.dump")
    rows = {"replay_dump_s": [], "save_s": [], "load_s": [], "mdb_s": [], "native_crash_s": []}
    for _ in range(repeat):
        t, (_, d) = timed(lambda: replay_dump(Scenario(kstats), schedule))
        rows["replay_dump_s"].append(t)
        rows["save_s"].append(timed(lambda: d.save(path))[0])
        t, back = timed(lambda: load_dump(path))
        rows["load_s"].append(t)
        rows["mdb_s"].append(timed(lambda: Mdb(back).run("::walk kstat | ::print kstat_t ks_kid"))[0])
        t, r = timed(lambda: crash(schedule=schedule, kstats=kstats))
        assert r.agrees, str(r)
        rows["native_crash_s"].append(t)
    out = {k: round(statistics.median(v), 4) for k, v in rows.items()}
    out["file_bytes"] = os.path.getsize(path)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    results = {"load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (kstats, schedule) in CASES.items():
            results[name] = bench(name, kstats, schedule, args.repeat, tmp)
            print(f"{name:6} ({kstats} kstats, {schedule}): " + ", ".join(
                f"{k} {v}" for k, v in results[name].items()), flush=True)
    print(f"load average: {results['load_average']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
