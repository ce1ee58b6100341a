"""The native race following a simulator schedule (labkit crash --schedule): for a set of
schedules at the small and the seed scale, the real SIGSEGV on real threads has the simulator's
outcome, header index and offset; the crash leaves a dump in the labkit format that mdb opens;
a schedule the engine cannot follow is refused with the reason.

Each case is one child process (about half a second); the seed-scale ones copy 1 MiB.
"""

import json
import subprocess
import sys

import pytest

from labkit.errors import LabkitError
from labkit.native import crash
from labkit.native.follow import plan
from labkit.postmortem import Mdb, load_dump

CASES = [   # (kstats, fix, schedule, the order the plan must impose)
    (3, "none", "W12 R25 W1 R", "between"),          # the small panic
    (3, "none", "W12 R", "after"),                   # R reads while W holds its kstat
    (3, "none", "W", "before"),                      # W installs first
    (3, "none", "R", "after"),                       # R reads before W creates anything
    (3, "count", "W12 R20 W1 R", "between"),         # fix B: the same order, no overflow
    (5698, "none", "W12 R11417 W1 R", "between"),    # the seed's numbers
    (5698, "none", "W12 R28500 W1 R2", "between"),
    (5698, "none", "W12 R5000 W1 R", "before"),      # W clears during the count: counted
]


@pytest.mark.parametrize("kstats,fix,schedule,order", CASES)
def test_native_crash_agrees_with_the_simulator(kstats, fix, schedule, order, tmp_path):
    assert plan(schedule, kstats, fix)["clear"] == order
    r = crash(fix, schedule=schedule, kstats=kstats, dump=tmp_path / "n.dump")
    sim = r.simulator
    assert r.agrees, str(r)
    assert r.crashed == (sim["outcome"] == "panic")
    if r.crashed:
        assert (r.header_index, r.offset, r.counted) == (sim["header_index"], sim["offset"], sim["counted"])
        d = load_dump(tmp_path / "n.dump")
        assert d.origin == "native" and d.kind == "panic" and d.header_index == r.header_index
        assert d.fault_addr - d.kbuf.addr == r.offset and d.counted == sim["counted"]
        m = Mdb(d)
        stack = [f.function for f in d.thread_named("R").stack]
        assert stack[:3] == ["lk_bcopy", "snapshot", "reader"], stack
        assert "kstat_rele" in [f.function for f in d.thread_named("W").stack]
        assert "zoneadmd" in m.run("::mutex").text and m.run("<cr2::whatis").text.find("guard page") > 0
        walk = m.run("::walk kstat").text.splitlines()
        assert len(walk) == kstats + 1                 # the header, the boot kstats, W's
    else:
        assert not (tmp_path / "n.dump").exists()


def test_schedules_the_engine_cannot_follow_are_refused_with_the_reason():
    with pytest.raises(LabkitError, match="cannot follow 'W12 R25 W1 R': the simulator cannot"):
        crash("lock", schedule="W12 R25 W1 R", kstats=3)       # W cannot take the lock R holds
    with pytest.raises(LabkitError, match="no simulator twin"):
        plan("W12 R25 W1 R", 3, "learner")
    with pytest.raises(LabkitError, match="both a schedule and a number of kstats"):
        crash(schedule="W12 R25 W1 R")
    with pytest.raises(LabkitError, match="cannot read the schedule"):
        crash(schedule="W12 ?", kstats=3)


def test_crash_schedule_on_the_command_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "labkit", "crash", "--schedule", "W12 R25 W1 R",
                        "--kstats", "3", "--json"], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path)
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["crashed"] and out["agrees"] and out["header_index"] == 3
    assert out["dump_file"] == "labkit-native.dump" and (tmp_path / "labkit-native.dump").exists()
    r = subprocess.run([sys.executable, "-m", "labkit", "mdb", "--dump", "labkit-native.dump",
                        "-c", "::status"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0 and "C model on real threads" in r.stdout
    r = subprocess.run([sys.executable, "-m", "labkit", "crash", "--fix", "lock", "--schedule",
                        "W12 R25 W1 R", "--kstats", "3"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "cannot follow" in r.stderr and "Traceback" not in r.stderr


def test_one_schedule_of_every_class_the_search_finds_agrees():
    """Not only hand-picked schedules: every equivalence class the exhaustive search (dpor) visits
    at the small scale, one schedule per order of the points that matter, on the buggy kernel
    and on fix B."""
    from labkit import Scenario
    from labkit.sched import outcomes
    for fix in ("none", "count"):
        classes = {}
        for o in outcomes(Scenario.small(fix), "dpor"):
            p = plan(o.schedule, 3, fix)
            classes.setdefault((p["create_after"], p["clear"], o.kind), o.schedule)
        assert len(classes) >= 3, classes
        for order, schedule in classes.items():
            r = crash(fix, schedule=schedule, kstats=3)
            assert r.agrees, (fix, order, str(r))
