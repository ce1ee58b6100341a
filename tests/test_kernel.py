"""The simulated kernel: layout facts, the race's outcomes per variant, the seed-scale panic."""

import json
import subprocess
import sys

import pytest

from labkit.errors import LabkitError
from labkit.kernel import Scenario, layout
from labkit.kernel.layout import SIZEOF_KSTAT32_T, SIZEOF_KSTAT_T
from labkit.sched import Stepper, explore, replay

SEED_PANIC = "W12 R28500 W1 R2"      # the shortest failing schedule at seed scale (golden)


def test_kstat_t_layout_adds_up():
    offs = [(f, o, s) for f, o, s, _ in layout.KSTAT_T_FIELDS]
    for (f1, o1, s1), (f2, o2, _) in zip(offs, offs[1:]):
        assert o1 + s1 <= o2, (f1, f2)
    assert offs[-1][1] + offs[-1][2] == SIZEOF_KSTAT_T == 0xB8
    assert layout.field("ks_flags")[0] == 0x77 and layout.field("ks_data_size")[0] == 0x88
    assert SIZEOF_KSTAT32_T == 0x98 and 0xFFF70 // SIZEOF_KSTAT_T == 0x1642
    assert 0xFFF70 % SIZEOF_KSTAT_T == 0
    assert layout.KSTAT_IOC_READ == 0x4B02 and layout.flag_names(0x3) == "VIRTUAL|VAR_SIZE"


@pytest.mark.parametrize("kstats", [1, 3])
def test_verdicts_per_variant_small(kstats):
    bug = explore(Scenario(kstats, "none"))
    a = explore(Scenario(kstats, "lock"))
    b = explore(Scenario(kstats, "count"))
    assert bug.exhaustive and a.exhaustive and b.exhaustive
    assert bug.panics > 0 and bug.shortest_failing.kind == "panic"
    assert a.panics == a.deadlocks == 0 and set(a.outcomes) == {"ok"}
    assert b.panics == b.deadlocks == 0 and set(b.outcomes) == {"ok"}
    # the race detector: the bug and fix B race on ks_flags, fix A does not
    assert any("ks_flags" in r.second.what for r in bug.races)
    assert any("ks_flags" in r.second.what for r in b.races)
    assert a.races == []


def test_fixes_keep_the_kernel_behaviour():
    """No INVALID kstat is ever copied, and a read after the install sees the new kstat."""
    from labkit.sched.dpor import DporSearch
    for fix in ("lock", "count"):
        for out in DporSearch(Scenario(3, fix)).outcomes():
            res = out.result
            assert res.error == 0
            assert all(h is None or not h[3] & layout.KSTAT_FLAG_INVALID for h in res.headers)
            assert set(res.kids) >= {0, 1, 2}
        after = Stepper(Scenario(3, fix)).run("W").run("R")
        assert 3 in after.outcome.result.kids           # installed before the read: it is there
    # fix B may hand back a zero-filled record: counted INVALID, never copied
    shorts = [o.result.zero_filled for o in DporSearch(Scenario(3, "count")).outcomes()]
    assert 1 in shorts


@pytest.mark.slow
def test_dpor_matches_full_enumeration_on_the_smallest_kernel():
    full = explore(Scenario(1, "none"), "dfs")
    reduced = explore(Scenario(1, "none"), "dpor")
    assert reduced.outcome_set == full.outcome_set
    assert full.panics > 0
    assert reduced.executions * 100 < full.executions


def test_seed_scale_panic_has_the_seeds_numbers():
    out = replay(Scenario.seed("none"), SEED_PANIC)
    rec = out.panic
    assert out.kind == "panic"
    hdr = rec.kernel.header_ksp
    assert hdr.ks_ndata == 0x1642 and hdr.ks_data_size == 0xFFF70
    assert rec.kbuf_size == 0xFFF71 and rec.mapped_size == 0x100000
    assert rec.offset == 0x100000 and rec.header_index == 0x1642
    assert rec.fault_addr == rec.kbuf + 0x100000 and rec.registers["rsi"] == rec.kbuf + 0x100028
    stack = [f.function for f in rec.thread("R").stack]
    assert stack == ["bcopy", "read_kstat_data", "kstat_ioctl", "cdev_ioctl", "spec_ioctl",
                     "fop_ioctl", "ioctl", "_sys_sysenter_post_swapgs"]
    assert "header_kstat_snapshot" in rec.thread("R").call_chain
    w = rec.thread("W")
    assert w.state == "spinning"
    assert [f.function for f in w.stack][:4] == ["mutex_delay_default", "mutex_vector_enter",
                                                 "kstat_rele", "kstat_install"]
    lock = rec.kernel.chain_lock
    assert lock.owner_word == rec.thread("R").addr          # owned by the reader, no waiters bit
    assert replay(Scenario.seed("none"), SEED_PANIC).panic.signature() == rec.signature()


def test_same_schedule_same_fixes_never_panic_at_seed_scale():
    for fix in ("lock", "count"):
        with pytest.raises(LabkitError):
            replay(Scenario.seed(fix), SEED_PANIC)   # W cannot take those steps: the lock orders them
        assert replay(Scenario.seed(fix), "W12 R").kind == "ok"


def test_stepper_reaches_the_panic_by_hand():
    s = Stepper(Scenario.small())
    s.step("W", 12).step("R", 25)
    assert not s.races
    s.step("W")
    assert any("ks_flags" in r.second.what for r in s.races)   # flagged at the unlocked write
    s.run("R")
    assert s.done and s.outcome.kind == "panic"


@pytest.mark.parametrize("args", [dict(kstats=0), dict(kstats=10**6), dict(kstats="3"),
                                  dict(fix="nope"), dict(fix="/no/such.py")])
def test_bad_scenarios_are_refused(args):
    with pytest.raises(LabkitError):
        Scenario(**args)


def test_cli_replay_and_explore_json():
    run = lambda *a: subprocess.run([sys.executable, "-m", "labkit", *a], capture_output=True, text=True)
    r = run("replay", "--kstats", "1", "W12 R15 W1 R2", "--json")
    out = json.loads(r.stdout)
    assert out["outcome"] == "panic" and out["header_index"] == 1 and out["offset"] == 185
    r = run("explore", "--fix", "lock", "--json")
    out = json.loads(r.stdout)
    assert out["panics"] == 0 and out["exhaustive"] and out["fix"] == "lock"
    r = run("replay", "Q1")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "threads are R, W" in r.stderr


MARKS_EVERY_KSTAT = '''
from labkit.kernel.api import *

def header_kstat_update(header_ksp, rw):
    # A (wrong) update that writes into every kstat it walks: a store into boot kstats.
    n = 0
    for ksp in avl_walk(kstat_avl_bykid):
        if ksp.ks_flags & KSTAT_FLAG_INVALID == 0:
            n += 1
        ksp.ks_flags |= KSTAT_FLAG_INVALID
    header_ksp.ks_ndata = n
    header_ksp.ks_data_size = n * sizeof(kstat_t)
    return 0
'''


def test_an_execution_never_sees_another_ones_stores_into_boot_kstats(tmp_path):
    # Boot kstats are shared between a scenario's executions while nothing writes them; this
    # variant writes them all, so each execution must still start from a freshly booted chain.
    path = tmp_path / "marks_every_kstat.py"
    path.write_text(MARKS_EVERY_KSTAT)
    sc = Scenario(4, str(path))
    first = replay(sc, "R")
    again = replay(sc, "R")
    assert first.kind == again.kind
    assert first.result.ndata == again.result.ndata == 4       # all four kstats valid at boot
    assert not any(ks._flags for ks in sc.boot_image().kstats)
    assert explore(sc).outcome_set == explore(sc).outcome_set


def test_stepper_goes_on_when_steps_come_from_other_threads():
    # A notebook may deliver widget clicks on different OS threads; greenlets cannot switch
    # across threads, so the Stepper rebuilds its paused run on the new thread by replaying it.
    import threading

    s = Stepper(Scenario.small())

    def in_thread(fn):
        errors = []

        def body():
            try:
                fn()
            except BaseException as e:     # the assertion below shows it
                errors.append(e)
        t = threading.Thread(target=body)
        t.start()
        t.join()
        assert not errors, errors

    in_thread(lambda: s.step("W", 12))
    s.step("R", 25)
    s.undo()
    in_thread(lambda: s.step("R"))
    assert s.schedule == "W12 R25"
    in_thread(lambda: s.follow("W1 R"))
    assert s.outcome.kind == "panic" and s.schedule == "W12 R25 W1 R2"
