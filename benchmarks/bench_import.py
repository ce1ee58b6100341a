"""How long `import labkit` takes, and the first use of a verb (issue 12's target: under 100 ms).

    .venv/bin/python benchmarks/bench_import.py [--repeat R]

A benchmark, not a test (tests/test_facade.py checks that a bare import loads none of the
layers). Each figure is the best of --repeat fresh interpreters, read from `python -X importtime`
(labkit's own cumulative time, not the interpreter's start-up); the load average is printed
beside them, since other work on the machine moves them.
"""

import argparse
import os
import re
import subprocess
import sys

TARGET_MS = 100.0


def cumulative_ms(code: str, module: str) -> float:
    """labkit's cumulative import time in a fresh interpreter running `code`, in ms."""
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                         text=True, check=True).stderr
    for line in err.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)$", line)
        if m and m.group(2) == module:
            return int(m.group(1)) / 1000
    raise SystemExit(f"bench_import: no import time reported for {module}")


def first_use_ms() -> float:
    """Milliseconds from a bare `import labkit` to `labkit.replay` being usable (fresh interpreter)."""
    code = ("import time, labkit; t = time.perf_counter(); labkit.replay; "
            "print((time.perf_counter() - t) * 1000)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bare = min(cumulative_ms("import labkit", "labkit") for _ in range(args.repeat))
    verb = min(first_use_ms() for _ in range(args.repeat))
    print(f"load average {os.getloadavg()[0]:.2f} (1 min), best of {args.repeat}")
    print(f"import labkit:               {bare:7.1f} ms  (target < {TARGET_MS:.0f} ms: "
          f"{'met' if bare < TARGET_MS else 'NOT met'})")
    print(f"first use of labkit.replay:  {verb:7.1f} ms  (imports the scheduler; not part of the target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
