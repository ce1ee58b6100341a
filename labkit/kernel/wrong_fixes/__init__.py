"""Wrong fixes the course's levels ask the learner to defeat, one learner-format file each.

    path("rele_under_lock")   kstat_install calls kstat_rele while holding kstat_chain_lock
    path("rele_when_busy")    the same mistake on one path only: when W finds the lock busy
    path("room_for_one")      header_kstat_update leaves room for one more header than it counts

Each file is what a learner could have written, so it loads the way a learner's file does
(labkit.kernel.load_variant) and `labkit replay --fix FILE` replays it.
"""

from pathlib import Path

from labkit.errors import choice_error

NAMES = ("rele_under_lock", "rele_when_busy", "room_for_one")


def path(name: str) -> str:
    if name not in NAMES:
        raise choice_error("wrong fix", name, NAMES)
    return str(Path(__file__).with_name(f"{name}.py"))
