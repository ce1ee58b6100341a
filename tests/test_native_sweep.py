"""The writer's delayed installs can be turned off, and the window sweep reports every point."""

from labkit.native import race
from labkit.native.sweep import window_sweep


def test_a_run_without_delayed_installs_is_a_normal_run():
    r = race("none", seconds=0.2, window_ns=0, interrupts=False)
    assert r.rounds > 0 and r.overflows >= 0


def test_forced_mode_still_overflows_every_round_without_delayed_installs():
    r = race("none", rounds=20, forced=True, interrupts=False)
    assert r.overflows == r.rounds == 20


def test_the_sweep_has_one_row_per_window_and_setting():
    rows = window_sweep((0, 2000), seconds=0.1)
    assert [(r["window_ns"], r["interrupts"]) for r in rows] == [(0, True), (2000, True), (0, False), (2000, False)]
    assert all(r["rounds"] > 0 and r["overflows_per_s"] >= 0 for r in rows)
