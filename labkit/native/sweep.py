"""The overflow rate against the race window, with and without the writer's delayed installs.

Why the real bug was rare and tests missed it is a question of rates: how often W's clear lands
between one of R's counts and its copy. window_sweep() measures it on this machine, detect mode
(safe), for each window and with the engine's delayed installs on and off; both the window and
the delays are this engine's modelling choices (see engine.c), and the sweep shows what each does.
"""

from labkit.native.detect import race

WINDOWS_NS = (0, 2000, 5000, 10000)


def window_sweep(windows: tuple[int, ...] = WINDOWS_NS, *, seconds: float = 0.4,
                 seed: int = 0) -> list[dict]:
    """One detect-mode run per (window, delays on/off): overflows per second of each."""
    rows = []
    for interrupts in (True, False):
        for w in windows:
            r = race("none", seconds=seconds, window_ns=w, seed=seed, interrupts=interrupts)
            rows.append({"window_ns": w, "interrupts": interrupts, "rounds": r.rounds,
                         "overflows": r.overflows, "seconds": r.seconds,
                         "overflows_per_s": r.overflows / r.seconds if r.seconds else 0.0})
    return rows
