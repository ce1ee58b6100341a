"""The post-mortem kit: the seed's evidence parsed, every decoder against the reference numbers,
the crash dump of the seed-scale panic, the small mdb (golden transcripts, error answers), and
`labkit mdb`.

Golden transcripts live in tests/data/postmortem/. After a deliberate change to mdb's output,
regenerate them with `LABKIT_REGEN=1 .venv/bin/python -m pytest -p no:cacheprovider
tests/test_postmortem.py` and review the diff; without LABKIT_REGEN a mismatch fails.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.errors import LabkitError
from labkit.kernel import Scenario, symbols
from labkit.kernel.layout import KSTAT_T_FIELDS, SIZEOF_KSTAT_T
from labkit.postmortem import (SEED_DIED_AT, SEED_KBUF, Dump, Mdb, decode, dump_from_outcome,
                               explain_frame, explain_stack, parse_findstack, parse_print,
                               parse_stack, parse_word, read_data, seed_dump, seed_evidence)
from labkit.postmortem.mdbfmt import stack_text
from labkit.sched import replay

GOLDEN_DIR = Path(__file__).parent / "data" / "postmortem"
W = symbols.THREADS["W"]
R = symbols.THREADS["R"]


@pytest.fixture(scope="module")
def dump():
    """The seed-scale dump: replayed once for the whole module (seed_dump caches it too)."""
    return seed_dump("seed")


@pytest.fixture
def mdb(dump):
    return Mdb(dump)


def golden(name: str, text: str) -> None:
    path = GOLDEN_DIR / name
    if os.environ.get("LABKIT_REGEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run with LABKIT_REGEN=1 to create it"
    expected = path.read_text()
    assert text == expected, f"{name} differs from the golden transcript (LABKIT_REGEN=1 regenerates it)"


# ---- the seed's evidence ----------------------------------------------------------------
def test_panic_stack_parses_and_formats_back_byte_for_byte():
    frames = parse_stack(read_data("panic_stack"))
    assert [f.function for f in frames] == [
        "bcopy", "read_kstat_data", "kstat_ioctl", "cdev_ioctl", "spec_ioctl", "fop_ioctl",
        "ioctl", "_sys_sysenter_post_swapgs"]
    assert frames[0].fp == 0xFFFFFF01F5292A60 and frames[0].offset == 0x194 and frames[0].args == ()
    assert frames[1].args == (0xFFFFFF01F5292E68, 0x80475E8, 0x100001)
    assert frames[2].args == (0x200000000, 0x4B02, 0x80475E8, 0x100001, 0xFFFFFF4366DA4D70,
                              0xFFFFFF01F5292E68)        # joined across mdb's line wrap
    assert frames[6].args == (0xD, 0x4B02, 0x80475E8)
    assert stack_text(frames) == read_data("panic_stack").rstrip("\n")


def test_print_kstat_t_parses_into_the_members_in_layout_order():
    hdr = parse_print(read_data("print_kstat_t"))
    assert hdr.addr == 0xFFFFFFFFFBC15A50 and hdr.type == "kstat_t"
    assert list(hdr.members) == [f[0] for f in KSTAT_T_FIELDS]
    assert hdr["ks_ndata"] == 0x1642 and hdr["ks_data_size"] == 0xFFF70 and hdr["ks_flags"] == 0x3
    assert hdr["ks_name"] == "kstat_headers" and hdr["ks_module"] == "unix"
    assert hdr["ks_update"] == "header_kstat_update" and hdr["ks_lock"] == "kstat_chain_lock"
    assert hdr["ks_snaptime"] == 0x4D8AC8CEE4D68


def test_chain_lock_word_and_findstack_parse():
    assert parse_word(read_data("chain_lock")) == ("kstat_chain_lock", 0xFFFFFF50B3DA8760)
    fs = parse_findstack(read_data("findstack"))
    assert fs.thread == 0xFFFFFF435CBC3BE0 and fs.sp == 0xFFFFFF0204739940
    names = [f.function for f in fs.frames]
    assert len(names) == 14 and names[2] == "0xffffff42ecdf5540"
    assert names[5:9] == ["mutex_delay_default", "mutex_vector_enter", "kstat_rele", "kstat_install"]
    text = read_data("findstack").splitlines()
    assert stack_text(fs.frames, indent="  ").splitlines() == text[2:]


@pytest.mark.parametrize("bad", ["", "hello world", "ffff bcopy+0x194"])
def test_parsers_refuse_what_is_not_mdb_output(bad):
    with pytest.raises(LabkitError):
        parse_findstack(bad)
    if bad:
        with pytest.raises(LabkitError):
            parse_stack(bad)


def test_unknown_evidence_name_is_refused():
    with pytest.raises(LabkitError, match="accepted"):
        read_data("vmcore")


# ---- decoders: the seed's numbers -----------------------------------------------
def test_ioctl_cmd():
    d = decode.ioctl_cmd(0x4B02)
    assert d.value == "KSTAT_IOC_READ" and d["group"] == "K" and d["number"] == 2
    assert decode.ioctl_cmd(0x4B01).value == "KSTAT_IOC_CHAIN_ID"
    assert decode.ioctl_cmd(0x4B03).value == "KSTAT_IOC_WRITE"
    assert decode.ioctl_cmd(0x5402).value is None           # another driver's letter
    assert "('K' << 8)" in str(d)


def test_ioctl_flag():
    d = decode.ioctl_flag(0x100001)
    assert d.value == "FREAD | DATAMODEL_ILP32" and d["model"] == "DATAMODEL_ILP32"
    assert "0x98" in d.meaning                                 # kstat32_t records on the way out
    assert decode.ioctl_flag(0x200003).value == "FREAD | FWRITE | DATAMODEL_LP64"
    assert decode.ioctl_flag(0x1)["model"] == "no data model"


def test_dev_t_user_pointer_and_fd():
    assert decode.dev_t(0x200000000).value == (2, 0)
    assert decode.dev_t(0x300000005)["minor"] == 5
    u = decode.user_pointer(0x80475E8)
    assert u.value == "user stack" and u["below_stack_top"] == 0xA18
    assert decode.user_pointer(0xFFFFFF01F5292E68).value == "user address"
    assert "not an address a 32-bit process" in decode.user_pointer(0xFFFFFF01F5292E68).meaning
    assert decode.fd(0xD).value == 13


def test_ks_flags():
    d = decode.ks_flags(0x3)
    assert d.value == "VIRTUAL | VAR_SIZE" and d["invalid"] is False
    new = decode.ks_flags(0x21)                       # a freshly created VIRTUAL kstat
    assert new["invalid"] is True and "INVALID" in new.value


def test_mutex_owner(dump):
    d = decode.mutex_owner(0xFFFFFF50B3DA8760)
    assert d.value == 0xFFFFFF50B3DA8760 and d["waiters"] is False
    w = decode.mutex_owner(0xFFFFFF50B3DA8761)
    assert w.value == 0xFFFFFF50B3DA8760 and w["waiters"] is True
    assert decode.mutex_owner(0).meaning == "nobody holds the lock"
    sim = decode.mutex_owner(dump.chain_lock_word, {R: "R (the reader)"})
    assert sim.value == dump.panic_thread.addr == R and sim["thread"] == "R (the reader)"


def test_kstat_size():
    d = decode.kstat_size(0xFFF70, 0x1642)
    assert d.value == SIZEOF_KSTAT_T == 0xB8 and d["remainder"] == 0
    assert "sizeof (kstat_t)" in " ".join(d.steps)
    assert decode.kstat_size(0xFFF71, 0x1642)["remainder"] == 1
    with pytest.raises(LabkitError):
        decode.kstat_size(0xFFF70, 0)


def test_fault_arithmetic_of_the_seed():
    d = decode.fault_arithmetic(SEED_KBUF, SEED_DIED_AT, 0xFFF70)
    assert d.value == 0x100028 and d["past_count"] == 0xB8 and d["alloc_size"] == 0xFFF71
    assert d["mapped"] == 0x100000 and d["header_index"] == 5699 and d["within_header"] == 0
    assert d["headers_counted"] == 5698 and d["in_guard_page"]
    with pytest.raises(LabkitError):
        decode.fault_arithmetic(SEED_KBUF, SEED_KBUF - 1, 0xFFF70)


def test_the_two_readings_of_the_seed_fault_address():
    r = decode.fault_readings(SEED_KBUF, SEED_DIED_AT, 0xFFF70)
    a, b = r.as_fault_byte, r.as_register
    assert (a.header_index, a.extra_headers, a.consistent, a.inference) == (5699, 2, False, False)
    assert (b.header_index, b.extra_headers, b.consistent, b.inference) == (5698, 1, True, True)
    assert b.fault_byte - SEED_KBUF == 0x100000
    assert "Not verified" in b.explanation


def test_the_readings_agree_with_the_simulated_dump(dump):
    """Our dump has both registers: %rsi reads like the seed's number, cr2 is the faulting byte."""
    regs, kbuf = dump.registers, dump.kbuf.addr
    assert regs["rsi"] - kbuf == SEED_DIED_AT - SEED_KBUF
    r = decode.fault_readings(kbuf, regs["rsi"], 0xFFF70)
    assert r.as_register.fault_byte == regs["cr2"] == dump.fault_addr
    assert r.as_register.header_index == dump.header_index
    assert decode.fault_readings(kbuf, regs["cr2"], 0xFFF70).as_fault_byte.consistent


@pytest.mark.parametrize("call", [lambda: decode.ioctl_cmd(-1), lambda: decode.ioctl_cmd("4b02"),
                                  lambda: decode.ioctl_flag(True), lambda: decode.dev_t(2**64),
                                  lambda: decode.ks_flags(0x100), lambda: decode.mutex_owner(None)])
def test_decoders_refuse_bad_input(call):
    with pytest.raises(LabkitError):
        call()


# ---- frame notes ------------------------------------------------------------------------
def test_every_seed_frame_is_explained():
    ev = seed_evidence()
    for f in ev.panic_stack + ev.racing_thread.frames:
        e = explain_frame(f)
        assert (e.note is None) == f.function.startswith("0x"), f.function
        assert str(e)
    bcopy, rkd = explain_stack(ev.panic_stack)[:2]
    assert bcopy.hides[0][0] == "header_kstat_snapshot" and "inference" in bcopy.hides[0][1]
    assert [a.name for a in rkd.args] == ["rvalp", "user_ksp", "flag"]
    assert rkd.args[2].decoded.value == "FREAD | DATAMODEL_ILP32"
    assert "own kernel stack" in rkd.args[0].text
    ioctl = explain_frame(ev.panic_stack[6])
    assert [a.decoded.value for a in ioctl.args] == [13, "KSTAT_IOC_READ", "user stack"]
    mve = explain_frame(ev.racing_thread.frames[6])
    assert mve.hides[0][0] == "mutex_enter"
    with pytest.raises(LabkitError):
        explain_stack([])


# ---- the dump ---------------------------------------------------------------------------
def test_seed_scale_dump_has_the_seeds_numbers(dump):
    assert dump.counted == 0x1642 and dump.header_index == 5698
    assert dump.kbuf.size == 0xFFF71 and dump.kbuf.map_end - dump.kbuf.map_start == 0x100000
    assert dump.fault_addr - dump.kbuf.addr == 0x100000
    assert dump.chain_lock_word == R == dump.panic_thread.addr
    w = dump.thread_named("W")
    assert w.state == "spinning"
    assert [f.function for f in w.stack][:3] == ["mutex_delay_default", "mutex_vector_enter", "kstat_rele"]
    assert seed_dump("seed") is dump                        # cached: one replay per process


def test_dump_memory_reads(dump):
    from labkit.postmortem import DumpFault
    from labkit.postmortem.dump import kstat_members
    hdr = kstat_members(dump.read(symbols.DATA["header_kstat"], SIZEOF_KSTAT_T))
    assert hdr["ks_ndata"] == 0x1642 and hdr["ks_update"] == symbols.FUNCTION_TABLE["header_kstat_update"][0]
    last = kstat_members(dump.read(dump.kbuf.addr + 5697 * SIZEOF_KSTAT_T, SIZEOF_KSTAT_T))
    assert last["ks_kid"] == 5697                            # the last header that fit
    with pytest.raises(DumpFault) as e:
        dump.read(dump.kbuf.addr + 5698 * SIZEOF_KSTAT_T, SIZEOF_KSTAT_T)
    assert e.value.addr == dump.fault_addr and e.value.unmapped
    with pytest.raises(DumpFault):
        dump.read(0, 8)


def test_no_dump_without_a_panic():
    with pytest.raises(LabkitError, match="not in a panic"):
        dump_from_outcome(replay(Scenario.small("lock"), "W12 R"))
    with pytest.raises(LabkitError, match="accepted"):
        seed_dump("huge")
    with pytest.raises(LabkitError):
        Mdb("not a dump")
    with pytest.raises(LabkitError):
        Dump.of_record(None)


# ---- mdb reproduces the seed's findings ---------------------------------------------------
def test_print_matches_the_seed_except_addresses_and_time(mdb):
    ours = parse_print("> header_kstat::print kstat_t\n" + mdb.run("header_kstat::print kstat_t").text)
    seed = seed_evidence().header_kstat
    assert list(ours.members) == list(seed.members)
    for name in seed.members:
        if name != "ks_snaptime":
            assert ours[name] == seed[name], name


def test_stacks_match_the_seeds_structure(mdb, dump):
    seed = seed_evidence()
    ours = parse_stack(mdb.run("$c").text)
    assert [(f.function, f.offset) for f in ours] == [(f.function, f.offset) for f in seed.panic_stack]
    # the arguments that are not addresses are the seed's own
    assert ours[6].args == seed.panic_stack[6].args and ours[1].args[1:] == seed.panic_stack[1].args[1:]
    found = parse_findstack(mdb.run(f"{W:x}::findstack").text)
    assert found.thread == W
    assert [(f.function, f.offset) for f in found.frames] == \
        [(f.function, f.offset) for f in seed.racing_thread.frames[5:]]


def test_lock_word_names_the_racing_reader(mdb):
    label, word = parse_word(mdb.run("kstat_chain_lock/K").text)
    assert label == "kstat_chain_lock" and word == R
    assert mdb.run("*kstat_chain_lock=K").text.strip() == f"{R:x}"
    assert "thread structure" in mdb.run("*kstat_chain_lock::whatis").text


@pytest.mark.parametrize("cmd, out", [
    ("0xfff70%0xb8=K", "1642"), ("0xfff70%0xb8=D", "5698"), ("fff71#1000=K", "100000"),
    ("0t184=K", "b8"), ("::sizeof kstat_t", "sizeof (kstat_t) = 0xb8"),
    ("::sizeof kstat32_t", "sizeof (kstat32_t) = 0x98"),
    ("::offsetof kstat_t ks_flags", "offsetof (kstat_t, ks_flags) = 0x77, sizeof (...->ks_flags) = 0x1"),
    ("<rsi-<cr2=K", "28"), ("<rip=a", "bcopy+0x194"), ("header_kstat+0x80/D", "5698"),
    ("kstat_chain_id/X", "1643"), ("header_kstat_update=a", "header_kstat_update"),
    ("(2+3)*4=D", "20"), ("1<<4|1=K", "11"),
])
def test_arithmetic_formats_and_types(mdb, cmd, out):
    r = mdb.run(cmd)
    assert r.ok, r.text
    # ADDR/FMT output starts with the address's label ("header_kstat+0x80:"): compare the value
    shown = r.text.split(":", 1)[1] if "/" in cmd else r.text
    assert shown.strip() == out


def test_walks_and_pipes(mdb, dump):
    r = mdb.run("::walk kstat")
    lines = r.text.splitlines()
    assert len(lines) == len(dump.kstats) == 5699 and r.addresses[0] == symbols.DATA["header_kstat"]
    new = mdb.run(f"{lines[-1]}::print kstat_t ks_name ks_flags").text
    assert new == 'ks_name = [ "z7-builder" ]\nks_flags = 0x1'     # installed: INVALID cleared
    piped = mdb.run("::walk thread | ::findstack").text
    assert piped.count("stack pointer for thread") == 2
    assert mdb.run("::walk kstat").illumos.command == "kstat_avl_bykid::walk avl"


def test_every_result_names_its_illumos_equivalent(mdb):
    for cmd in ("::status", "$c", "::threadlist", "kstat_chain_lock/K", "::whatis <cr2", "::foo"):
        r = mdb.run(cmd)
        assert r.illumos is not None and r.illumos.command and r.illumos.note, cmd
    assert mdb.run("::status").illumos.note.startswith("on illumos: mdb unix.0 vmcore.0")
    assert [h.command for h in mdb.history][-1] == "::status"


@pytest.mark.parametrize("cmd, message", [
    ("::foo", "mdb: invalid command '::foo': unknown dcmd name"),
    ("$z", "mdb: invalid command '$z': unknown dcmd name"),
    ("nosuch/K", "mdb: failed to dereference symbol: unknown symbol name"),
    ("0/K", "mdb: failed to read data from target: no mapping for address 0x0"),
    ("::print foo_t", "mdb: failed to look up type foo_t"),
    ("header_kstat::print kstat_t ks_foo", "mdb: failed to find member ks_foo of kstat_t: Member name not found"),
    ("::offsetof kstat_t ks_bar", "mdb: failed to find member ks_bar of kstat_t"),
    ("<cr2-0x90::print kstat_t", "mdb: failed to read kstat_t at"),
    ("1234::findstack", "mdb: failed to read thread at 1234"),
    ("::findstack", "mdb: ::findstack requires an address"),
    ("::walk nope", "mdb: failed to perform walk: unknown walk name"),
    ("1%0=K", "mdb: attempted to divide by zero"),
    ("(1+=K", "mdb: syntax error"), ("1 2=K", 'mdb: syntax error near "2"'),
    ("kstat_chain_lock/Q", "mdb: invalid format 'Q'"), ("<rax=K", "mdb: failed to get value of register rax"),
    ("::threadlist -x", "mdb: illegal option -- x"), ("::offsetof kstat_t", "mdb: ::offsetof requires"),
    ("@@@", "mdb: syntax error"),
])
def test_bad_input_is_answered_like_mdb(mdb, cmd, message):
    r = mdb.run(cmd)
    assert not r.ok and r.error and r.text.startswith(message), r.text
    assert str(r) == r.text


def test_odd_input_never_raises(mdb):
    for cmd in ["", "   ", "::", "$", "/", "=", "::print", "0x::print kstat_t", ")(", "*0=K",
                "::walk", "::sizeof", "ffffffffffffffffffffff=K", "::whatis 0", "| ::print",
                "::walk kstat | ::nope", "-1=K", "~0/K", ".=K", "::print -t", "$c $c"]:
        r = mdb.run(cmd)
        assert "internal error" not in r.text, (cmd, r.text)
    with pytest.raises(LabkitError):
        mdb.run(None)


# ---- golden transcripts -----------------------------------------------------------------
SEED_WALK = [
    "::status", "::msgbuf", "$c", "::panicinfo",
    "header_kstat::print kstat_t",
    "header_kstat::print -t kstat_t ks_ndata ks_data_size ks_flags ks_lock",
    "0xfff70%0xb8=K", "0xfff70%0xb8=D", "::sizeof kstat_t", "::offsetof kstat_t ks_data_size",
    "fff71#1000=K", "$r", "<cr2::whatis", "::whatis <rsi", "<rsi-<cr2=K",
    "<cr2-0x90::print kstat_t", "<cr2-0x90-0xb8::print kstat_t ks_kid ks_module ks_name",
    "<rdi::print kstat_t ks_kid ks_module ks_name ks_flags", "<rdi::whatis",
    "kstat_chain_lock/K", "*kstat_chain_lock::whatis", "::threadlist", "::cpuinfo",
    f"{W:x}::findstack", f"{W:x}::findstack -v", "::whatis 80475e8", "::dcmds",
]


def test_golden_post_mortem_walk_at_seed_scale(dump):
    golden("seed_walk.txt", Mdb(dump).transcript(SEED_WALK))


def test_golden_walk_on_the_small_dump():
    golden("small_walk.txt", Mdb(seed_dump("small")).transcript(
        ["::status", "$c", "::walk kstat", "::walk kstat | ::print kstat_t ks_kid ks_name ks_flags",
         "<cr2::whatis", "header_kstat::print kstat_t ks_ndata ks_data_size"]))


# ---- labkit mdb ---------------------------------------------------------------------------
def _labkit(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "labkit", "mdb", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_cli_json():
    r = _labkit("--json", "-c", "header_kstat::print kstat_t ks_ndata", "-c", "kstat_chain_lock/K")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["scenario"] == "seed" and out["ok"] is True
    assert out["results"][0]["output"] == "ks_ndata = 0x1642"
    assert out["results"][1]["output"].split()[-1] == f"{R:x}"
    assert out["results"][1]["illumos"]["command"] == "kstat_chain_lock/K"


def test_cli_errors_and_stdin_session():
    r = _labkit("--scenario", "small", "--json", "-c", "::nope")
    out = json.loads(r.stdout)
    assert r.returncode == 2 and out["ok"] is False and "unknown dcmd name" in out["results"][0]["output"]
    r = _labkit("--scenario", "small", stdin="::sizeof kstat_t\n::nope\n$q\n::status\n")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "> ::sizeof kstat_t\nsizeof (kstat_t) = 0xb8\n> ::nope\n> $q\n" == r.stdout
    assert "mdb: invalid command '::nope': unknown dcmd name" in r.stderr
    r = _labkit("--scenario", "nope")
    assert r.returncode == 2 and "Traceback" not in r.stderr


# ---- the two widgets over this layer ------------------------------------------------------
def test_stack_explorer_select_and_repr():
    from labkit.widgets.stack_explorer import StackExplorer
    s = StackExplorer()
    assert "select a frame" in repr(s)
    e = s.select("kstat_ioctl")
    assert s.selected == 2 and e.args[1].decoded.value == "KSTAT_IOC_READ"
    assert "> ffffff01f5292c80 kstat_ioctl+0x83" in repr(s) and "KSTAT_IOC_READ" in repr(s)
    s._buttons[0].click()                                   # what a click does
    assert s.selected == 0 and "header_kstat_snapshot" in s._detail.value
    assert s.select(99) is None and "index from 0 to 7" in s.message   # refused in one sentence
    assert s.selected == 0
    w = StackExplorer.from_dump(seed_dump("small"), "W")
    assert w.explanations[1].frame.function == "mutex_vector_enter"
    with pytest.raises(LabkitError):
        StackExplorer.from_dump(seed_dump("small"), "Q")


def test_mdb_console_runs_keeps_history_and_cuts_long_output(dump):
    from labkit.widgets.mdb_console import MAX_LINES, MdbConsole
    c = MdbConsole(dump, commands=["::sizeof kstat_t"])
    assert "sizeof (kstat_t) = 0xb8" in repr(c)
    c._box.value = "kstat_chain_lock/K"                     # Enter in the text box
    assert c.last.command == "kstat_chain_lock/K" and c._box.value == ""
    assert f"{R:x}" in c._out.value and "kstat_chain_lock/K" in c._illumos.value
    assert c.run("  ") is None and "type an mdb command" in c.message
    r = c.run("::walk kstat")
    assert len(r.text.splitlines()) == 5699 and "5639 more lines" in repr(c)
    assert len(repr(c).splitlines()) < MAX_LINES + 5
    c._past.value = "::sizeof kstat_t"                      # recall from the history
    assert c._box.value == "::sizeof kstat_t" and len(c.history) == 3
    assert not c.run("::nope").ok and "#b00" in c._out.value
