"""`labkit race`, `labkit crash`, `labkit tsan`: the native race (labkit.native) from a shell.

Each prints for people, or with --json exactly one JSON object (the contract in labkit/cli/__init__.py).
Argument errors come back from labkit.native as LabkitError, printed by labkit.cli as one line.
"""

import argparse

from labkit.cli import add_json_flag, emit
from labkit.fixes import FIX_HELP, FIX_NAMES


def _common(p, window=True):
    p.add_argument("--fix", choices=FIX_NAMES, default=None, help=f"{FIX_HELP} (default: none)")
    p.add_argument("--source", metavar="FILE.c",
                   help="run your own kstat code instead (start from labkit/native/learner_template.c)")
    if window:
        p.add_argument("--window-ns", type=int, default=None, metavar="W",
                       help="widen the reader's allocate-and-zero step by W ns (default: labkit.config.WINDOW_NS)")
        p.add_argument("--seed", type=int, default=0, help="seed of the writer's random choices (default 0)")
    add_json_flag(p)


def _writers(p):
    p.add_argument("--writers", type=int, choices=(1, 2), default=1,
                   help="2 adds thread X, a second zone_create at the same time as W's (default 1)")


def register(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser("race", help="run the race on real threads, overflows counted, never performed")
    _common(p)
    p.add_argument("--seconds", type=float, default=None, metavar="S", help="run this long (default 1)")
    p.add_argument("--rounds", type=int, default=None, metavar="N", help="or this many reader rounds")
    p.add_argument("--forced", action="store_true", help="impose count -> W clears -> copy every round")
    _writers(p)
    p.set_defaults(run=_race)

    p = subparsers.add_parser("crash", help="run the race into a guard page: a real SIGSEGV, in a child process")
    _common(p)
    p.add_argument("--seconds", type=float, default=None, metavar="S", help="give up after S seconds (default 3)")
    p.add_argument("--forced", action="store_true", help="impose the losing interleaving: crash at once")
    p.add_argument("--schedule", metavar="SCHEDULE",
                   help="follow a simulator schedule, e.g. 'W12 R25 W1 R' (with --kstats): one round")
    p.add_argument("--kstats", type=int, default=None, metavar="N",
                   help="with --schedule: the simulator's number of kstats (e.g. 3, or 5698)")
    p.add_argument("--dump", metavar="FILE", default=None,
                   help="with --schedule: where the crash dump goes (default labkit-native.dump)")
    p.set_defaults(run=_crash)

    p = subparsers.add_parser("tsan", help="run the race under ThreadSanitizer and show the racing accesses")
    _common(p, window=False)
    _writers(p)
    p.set_defaults(run=_tsan)


def _race(args: argparse.Namespace) -> int:
    from labkit.native import race
    emit(race(args.fix, seconds=args.seconds, rounds=args.rounds, window_ns=args.window_ns,
              seed=args.seed, source=args.source, forced=args.forced, writers=args.writers), args.json)
    return 0


def _crash(args: argparse.Namespace) -> int:
    from labkit.native import crash
    if args.schedule is not None or args.kstats is not None:
        emit(crash(args.fix, source=args.source, forced=args.forced, window_ns=args.window_ns,
                   schedule=args.schedule, kstats=args.kstats,
                   dump=args.dump or "labkit-native.dump"), args.json)
        return 0
    emit(crash(args.fix, window_ns=args.window_ns, seed=args.seed, source=args.source,
               forced=args.forced, seconds=args.seconds), args.json)
    return 0


def _tsan(args: argparse.Namespace) -> int:
    from labkit.native import tsan
    emit(tsan(args.fix, source=args.source, writers=args.writers), args.json)
    return 0
