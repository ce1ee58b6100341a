"""The scheduler's code and state views (labkit.kernel.state, drawn by SchedulerWidget).

The views must show the kernel's line, never the model's plumbing, at every step of a run, and
the state that decides the race: the chain's INVALID flags, the chain lock's owner and waiters
bit, the count, the buffer and the copy's position. Schedules come from DPOR, not constants.
"""

import pytest

from labkit.kernel import Scenario
from labkit.kernel.layout import SIZEOF_KSTAT_T
from labkit.kernel.state import PLUMBING, code_only, kernel_frame, state_view
from labkit.sched import Stepper, explore
from labkit.widgets import SchedulerWidget


@pytest.fixture(scope="module")
def golden():
    return explore(Scenario.small(), "dpor").shortest_failing.schedule


def _lines_of_every_step(scenario, schedule):
    """Step the schedule one step at a time, then let W and then R run to the end, one step at
    a time, collecting every unfinished thread's code view before each step."""
    st = Stepper(scenario)
    seen = []
    # every run of the golden schedule has its count ("W12 R25 W1 R2"): one name per step
    steps = [tok[0] for tok in schedule.split() for _ in range(int(tok[1:]))]
    while not st.done:
        seen += [kernel_frame(t) for t in st.exe.threads if not t.finished]
        name = steps.pop(0) if steps else next(n for n in ("W", "R") if n in st.runnable)
        st.step(name)
    return st, seen


@pytest.mark.parametrize("fix", ["none", "lock", "count"])
def test_the_current_line_is_the_kernels_never_the_plumbing(fix, golden):
    schedule = golden if fix == "none" else ""     # fix A refuses the golden schedule
    _, seen = _lines_of_every_step(Scenario.small(fix), schedule)
    assert seen and all(v is not None for v in seen)
    for v in seen:
        assert v.function not in PLUMBING, v
        assert "resolve(" not in v.current and not v.current.startswith("point("), v
        assert v.first_line <= v.line < v.first_line + len(v.source)
    functions = {v.function for v in seen}
    assert {"kstat_install", "kstat_rele", "header_kstat_update"} <= functions


def test_state_at_the_moment_of_the_race(golden):
    # The golden schedule's last switch is R's fatal copy: stop just before W's unlocked write.
    parts = golden.split()
    w_first, r_count = parts[0], parts[1]
    sw = SchedulerWidget().follow(f"{w_first} {r_count}")
    st = sw.kernel_state()
    new = st.chain[-1]
    assert [e.kid for e in st.chain] == [0, 1, 2, 3] and new.invalid and new.held_by == "W"
    assert not any(e.invalid for e in st.chain[:-1])
    assert st.lock_owner == "R" and not st.lock_waiters
    (reader,) = st.readers
    assert reader.counted == 3 and not reader.counting
    assert reader.bufsize == 3 * SIZEOF_KSTAT_T + 1
    assert reader.copied == 3 * SIZEOF_KSTAT_T and reader.header_index == 3
    assert str(sw.code_views()["W"]).startswith("kstat_install()")
    sw.step("W")
    st = sw.kernel_state()
    assert not st.chain[-1].invalid                    # W cleared the flag, holding no lock
    assert str(sw.code_views()["W"]).startswith("kstat_rele()")
    assert "mutex_enter(kstat_chain_lock)" in str(sw.code_views()["W"])
    assert "INVALID" not in sw._state.value.split("kid 3")[1].split("</td>")[0]
    assert "owner <b>R</b>, waiters bit 0" in sw._state.value


def test_count_so_far_grows_during_the_first_pass():
    st = Stepper(Scenario.small())
    counts = []
    while not st.done:
        (r,) = [t for t in st.exe.threads if t.name == "R"]
        view = state_view(st.instance.kernel, st.exe.threads).readers
        if view and view[0].counting:
            counts.append(view[0].counted)
        if "R" not in st.runnable:
            break
        st.step("R")
    assert counts and counts[0] == 0 and counts[-1] == 3 and counts == sorted(counts)


def test_the_code_view_hides_the_models_comments():
    assert code_only("    # Now the kstat is ready") is None
    assert code_only("    bcopy(ksp, buf, sizeof(Kstat))      # no bounds check") == \
        "    bcopy(ksp, buf, sizeof(Kstat))"
    assert code_only('    panic(f"a # b")') == '    panic(f"a # b")'
    sw = SchedulerWidget().step("W", 12)
    html = sw._lanes["W"][0].value
    code = html.split("<pre")[1]
    assert "labkit-code-current" in code and "Now the kstat is ready" not in code
    assert "Nothing here holds" not in code and "ksp.ks_flags &amp;= ~KSTAT_FLAG_INVALID" in code


def test_keys_step_and_undo():
    sw = SchedulerWidget()
    sw._keys.value = "w"
    assert sw.schedule == "W1" and sw._keys.value == ""
    sw._keys.value = "r"
    assert sw.schedule == "W1 R1"
    sw._keys.value = "u"
    assert sw.schedule == "W1"
    sw._keys.value = "x"
    assert "the key 'x' does nothing" in sw.message and sw.schedule == "W1"


def test_seed_scale_chain_is_shown_by_its_ends():
    sw = SchedulerWidget(kstats=200).step("W", 12)
    html = sw._state.value
    assert html.count("kid ") < 15 and "kid 199" in html and "kid 200" in html and "…" in html
