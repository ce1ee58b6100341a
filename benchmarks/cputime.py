"""CPU seconds as the grading benchmarks count them (imported by bench_grade.py, bench_c_check.py).

A server process that forks the work and reaps it (labkit.grading.forkserver's shared server,
labkit.native._zygote's) keeps running between measurements, so its CPU and its reaped children's
reach this process's os.times() only once it has ended and been waited for: until then they are
read from its /proc/PID/stat.
"""

import os

TICK = os.sysconf("SC_CLK_TCK")


def of_process(pid: int, children: bool = True) -> float:
    """utime + stime of a live process, and (children) its reaped children's; 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()   # (the name may hold spaces and ')')
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15 if children else 13]) / TICK


def total(server: int | None = None) -> float:
    """This process's CPU and its waited-for children's, plus a live server's (of_process)."""
    t = os.times()
    mine = t.user + t.system + t.children_user + t.children_system
    return mine + (of_process(server) if server is not None else 0.0)
