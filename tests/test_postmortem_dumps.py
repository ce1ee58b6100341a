"""The dump of any run: panics, deadlocks and hangs (a learner's own variant included) dumped,
written to a file and read back equal; mdb golden transcripts on replayed dumps; every kind of
bad dump file refused with a clear error; `labkit replay --dump` and `labkit mdb --dump`.

Golden transcripts: tests/data/postmortem/ (LABKIT_REGEN=1 regenerates them, see test_postmortem).
"""

import base64
import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from labkit.errors import LabkitError
from labkit.kernel import Scenario, symbols
from labkit.postmortem import DumpFileError, Mdb, load_dump, replay_dump, seed_dump
from labkit.postmortem.dumpfile import MAX_THREADS, from_text, to_data

HERE = Path(__file__).parent
DATA = HERE / "data" / "postmortem"
DEADLOCK_FIX = HERE / "data" / "grading" / "wrong_sim" / "rele_under_lock.py"   # self-deadlock
HANG_FIX = DATA / "waits_for_its_own_flag.py"
W = symbols.THREADS["W"]
R = symbols.THREADS["R"]

RUNS = {   # name: (scenario, schedule, replay budget, the outcome it must have)
    "panic_small": (lambda: Scenario.small("none"), "W12 R25 W1 R", None, "panic"),
    "deadlock_wrong_fix": (lambda: Scenario.small(str(DEADLOCK_FIX)), "W", None, "deadlock"),
    "hang_wrong_fix": (lambda: Scenario.small(str(HANG_FIX)), "W", 400, "hang"),
}


def golden(name, text):
    from tests.test_postmortem import golden as check
    check(name, text)


@pytest.fixture(scope="module")
def dumps():
    out = {}
    for name, (make, schedule, budget, kind) in RUNS.items():
        outcome, d = replay_dump(make(), schedule, budget=budget)
        assert outcome.kind == kind == d.kind, name
        out[name] = d
    return out


# ---- the file round trip ----------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_kind_of_dump_round_trips_through_the_file(dumps, name, tmp_path):
    d = dumps[name]
    d.save(tmp_path / "run.dump")
    back = load_dump(tmp_path / "run.dump")
    assert to_data(back) == to_data(d)
    commands = ["::status", "::threadlist -v", "::mutex", "kstat_chain_lock/K", "::walk kstat",
                f"{W:x}::findstack -v", f"{R:x}::findstack", "::msgbuf"]
    assert Mdb(back).transcript(commands) == Mdb(d).transcript(commands)


def test_the_seed_scale_dump_round_trips_and_stays_small(tmp_path):
    d = seed_dump("seed")
    d.save(tmp_path / "seed.dump")
    assert (tmp_path / "seed.dump").stat().st_size < 2 << 20
    back = load_dump(tmp_path / "seed.dump")
    assert to_data(back) == to_data(d)
    assert back.read(d.kbuf.addr + 5697 * 0xB8, 0xB8) == d.read(d.kbuf.addr + 5697 * 0xB8, 0xB8)


def test_a_run_that_ends_well_has_no_dump():
    outcome, d = replay_dump(Scenario.small("lock"), "W12 R")
    assert outcome.kind == "ok" and d is None


def test_an_exercise_dump_can_withhold_its_schedule(tmp_path):
    _, d = replay_dump(Scenario.small("none"), "W12 R25 W1 R", hide_schedule=True)
    d.save(tmp_path / "x.dump")
    text = (tmp_path / "x.dump").read_text()
    assert json.loads(text)["schedule"] is None and "W12" not in text
    assert "schedule not recorded in this dump" in Mdb(load_dump(tmp_path / "x.dump")).run("::status").text


# ---- what the dumps show ----------------------------------------------------------------
def test_a_deadlock_shows_every_stack_and_the_lock_owner_and_waiters(dumps):
    d = dumps["deadlock_wrong_fix"]
    m = Mdb(d)
    assert d.panic_thread is None and d.chain_lock_word == W | 1      # W owns it; waiters bit set
    mutex = m.run("::mutex").text
    assert f"adapt {W:x}" in mutex and mutex.splitlines()[1].endswith("yes")
    assert "it waits for itself" in mutex and f"waiter: thread {R:x}" in mutex
    for t in (R, W):
        stack = m.run(f"{t:x}::findstack").text
        assert "mutex_vector_enter" in stack and "turnstile_block" in stack
    assert "no thread panicked" in m.run("$c").text and not m.run("$c").ok


def test_a_hang_shows_the_running_thread(dumps):
    m = Mdb(dumps["hang_wrong_fix"])
    assert "hung system" in m.run("::status").text
    lines = m.run("::threadlist").text
    assert "zoneadmd (running)" in lines


def test_every_dcmd_answers_on_every_dump(dumps):
    from labkit.postmortem.dcmds import DCMDS
    for name, d in dumps.items():
        m = Mdb(d)
        for dcmd in DCMDS:
            if dcmd in ("findstack", "print", "sizeof", "offsetof", "walk", "whatis", "quit"):
                continue          # they need an argument; exercised below
            r = m.run(f"::{dcmd}")
            assert r.text and "internal error" not in r.text, (name, dcmd, r.text)
        for cmd in (f"{W:x}::findstack", "header_kstat::print kstat_t", "::sizeof kstat_t",
                    "::offsetof kstat_t ks_flags", "::walk thread", "header_kstat::whatis"):
            r = m.run(cmd)
            assert r.ok and r.text, (name, cmd, r.text)


def test_golden_transcripts_of_replayed_dumps(dumps):
    common = ["::status", "::msgbuf", "::threadlist", "::mutex", "kstat_chain_lock/K",
              f"{R:x}::findstack -v", f"{W:x}::findstack -v"]
    golden("dump_panic_small.txt", Mdb(dumps["panic_small"]).transcript(
        common + ["$c", "<cr2::whatis", "::walk kstat | ::print kstat_t ks_kid ks_name ks_flags"]))
    golden("dump_deadlock_wrong_fix.txt", Mdb(dumps["deadlock_wrong_fix"]).transcript(common + ["$c"]))
    golden("dump_hang_wrong_fix.txt", Mdb(dumps["hang_wrong_fix"]).transcript(common))


# ---- bad files --------------------------------------------------------------------------
def _good(dumps):
    return to_data(dumps["panic_small"])


def _with(data, **changes):
    out = json.loads(json.dumps(data))
    out.update(changes)
    return json.dumps(out).encode()


def _bad_cases(good):
    bomb = base64.b64encode(zlib.compress(b"\0" * (50 << 20))).decode()
    return [
        (b"\x80\x04\x95pickle", "not JSON text"),
        (b"[1, 2, 3]", "not a labkit dump"),
        (json.dumps({"hello": 1}).encode(), "not a labkit dump"),
        (_with(good, version=2), "version 2; this labkit reads version 1 only (it was written by a newer labkit"),
        (_with(good, version="1"), "version '1'"),
        (_with(good, kind="explosion"), "field 'kind' must be one of"),
        (_with(good, chain_lock_word=1 << 70), "field 'chain_lock_word' must be a whole number"),
        (_with(good, fault_addr="ffff"), "field 'fault_addr'"),
        (_with(good, counted=-3), "field 'counted'"),
        (_with(good, threads="R and W"), "field 'threads' must be a list"),
        (_with(good, threads=[good["threads"][0]] * (MAX_THREADS + 1)), "field 'threads' must be a list of at most"),
        (_with(good, threads=[good["threads"][0]] * 2), "names each thread once"),
        (_with(good, panic_thread="Q"), "field 'panic_thread'"),
        (_with(good, kstat_bytes="!!!"), "field 'kstat_bytes' is not zlib-compressed base64"),
        (_with(good, kstat_bytes=bomb), "field 'kstat_bytes' must hold"),
        (_with(good, kstats=good["kstats"][:-1]), "field 'kstat_bytes' must hold"),
        (_with(good, kbuf={"addr": 5, "size": 1 << 40, "map_start": 0, "map_end": 9, "arena": "x"}),
         "field 'kbuf.size'"),
        (_with(good, registers={"rax": 1}), "field 'registers'"),
        (json.dumps(good).encode()[:500], "not JSON text"),
    ]


def test_bad_dump_files_get_a_clear_error(dumps, tmp_path):
    for i, (raw, message) in enumerate(_bad_cases(_good(dumps))):
        path = tmp_path / f"bad{i}.dump"
        path.write_bytes(raw)
        with pytest.raises(DumpFileError) as e:
            load_dump(path)
        assert message in str(e.value), (i, str(e.value))
        assert str(path) in str(e.value)
    with pytest.raises(DumpFileError, match="cannot read the dump file"):
        load_dump(tmp_path / "missing.dump")
    assert issubclass(DumpFileError, LabkitError)


def test_a_valid_but_odd_dump_never_breaks_mdb(dumps):
    good = _good(dumps)
    odd = from_text(_with(good, registers={}, fault_addr=0x1234, header_index=None, kbuf=None,
                          stores=[], store_bytes=base64.b64encode(zlib.compress(b"")).decode()))
    m = Mdb(odd)
    for cmd in ("::status", "::msgbuf", "::panicinfo", "$c", "$r", "<cr2::whatis", "::mutex",
                "::threadlist -v", "::cpuinfo", "1234::whatis", "1234/K"):
        r = m.run(cmd)
        assert "internal error" not in r.text, (cmd, r.text)


# ---- the command line and the console -----------------------------------------------------
def _labkit(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "labkit", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_replay_dump_and_mdb_dump_on_the_command_line(tmp_path):
    f = tmp_path / "dl.dump"
    r = _labkit("replay", "--fix", str(DEADLOCK_FIX), "--kstats", "3", "W", "--dump", str(f))
    assert r.returncode == 0 and "DEADLOCK" in r.stdout and f"labkit mdb --dump {f}" in r.stdout, r.stderr
    r = _labkit("mdb", "--dump", str(f), "--json", "-c", "::mutex", "-c", "::status")
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["ok"] and "it waits for itself" in out["results"][0]["output"]
    r = _labkit("replay", "--fix", "lock", "W12 R", "--dump", str(tmp_path / "none.dump"))
    assert r.returncode == 2 and "no dump written: the run ended 'ok'" in r.stderr
    assert not (tmp_path / "none.dump").exists()
    (tmp_path / "bad.dump").write_text("not a dump")
    r = _labkit("mdb", "--dump", str(tmp_path / "bad.dump"), "-c", "::status")
    assert r.returncode == 2 and "is not a labkit dump" in r.stderr and "Traceback" not in r.stderr
    r = _labkit("mdb", "--dump", str(f), "--scenario", "small")
    assert r.returncode == 2 and "not both" in r.stderr


def test_mdb_console_opens_a_dump_file(dumps, tmp_path):
    from labkit.widgets.mdb_console import MdbConsole
    dumps["deadlock_wrong_fix"].save(tmp_path / "dl.dump")
    c = MdbConsole(dump=tmp_path / "dl.dump", commands=["::mutex"])
    assert "a deadlock" in repr(c) and "it waits for itself" in repr(c)
    (tmp_path / "bad.dump").write_text("{}")
    with pytest.raises(LabkitError, match="not a labkit dump"):
        MdbConsole(dump=str(tmp_path / "bad.dump"))


def test_scheduler_and_explorer_open_and_save_the_dump_of_their_run(tmp_path):
    from labkit.kernel.wrong_fixes import path
    from labkit.widgets.explorer import ExplorerWidget
    from labkit.widgets.scheduler import SchedulerWidget
    sw = SchedulerWidget(kstats=3)
    assert sw.open_in_mdb() is None and "no run to dump yet" in sw.dumps.message
    sw.step("W", 12).step("R", 25)
    assert sw.open_in_mdb() is None and "has not ended yet" in sw.dumps.message
    sw.step("W").run("R")
    console = sw.open_in_mdb()
    assert "schedule W12 R25 W1 R2" in repr(console) and console.widget in sw.dumps._console_box.children
    sw.dumps._file.value = str(tmp_path / "mine.dump")
    sw.dumps._save.click()                                    # what the button does
    assert load_dump(tmp_path / "mine.dump").header_index == 3
    dl = SchedulerWidget(Scenario.small(path("rele_under_lock"))).run("W")
    assert "a deadlock" in repr(dl.open_in_mdb())
    ok = SchedulerWidget(kstats=3).run("W").run("R")
    assert ok.save_dump(str(tmp_path / "ok.dump")) is None and "ended 'ok'" in ok.dumps.message
    ex = ExplorerWidget(kstats=3, executions=200)
    assert ex.dumps.open_in_mdb() is None and "no run to dump yet" in ex.dumps.message
    ex.run("dpor")
    assert ex.shortest_failing is not None and "panic message" in repr(ex.dumps.open_in_mdb())
