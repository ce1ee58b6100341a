"""`labkit explore` and `labkit replay`: the simulator from the command line."""

import argparse

from labkit.cli import add_json_flag, emit
from labkit.fixes import FIX_HELP
from labkit.kernel import SEED_KSTATS, SMALL_KSTATS, Scenario
from labkit.sched import STRATEGIES, explore, replay


def _fix_arg(p):
    p.add_argument("--fix", default="none",
                   help=f"{FIX_HELP}; or a .py file of your own")
    p.add_argument("--kstats", type=int, default=SMALL_KSTATS,
                   help=f"visible kstats, the header kstat included (default {SMALL_KSTATS}; "
                        f"the seed's kernel had {SEED_KSTATS})")
    p.add_argument("--writers", type=int, default=1, choices=(1, 2),
                   help="concurrent zone_create threads: 1 (W) or 2 (W and X), as the grader also runs")


def register(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser("explore", help="search the interleavings of reader and zone_create")
    _fix_arg(p)
    p.add_argument("--strategy", default="dpor", choices=STRATEGIES,
                   help="how to search: dpor (every schedule, reduced; the default), dfs, random, pct")
    p.add_argument("--seed", type=int, default=None, help="seed for random and pct (default 0)")
    p.add_argument("--executions", type=int, default=None, help="cap on executions")
    add_json_flag(p)
    p.set_defaults(run=_explore)

    p = subparsers.add_parser("replay", help="run one schedule, e.g. 'W12 R15 W1 R'")
    _fix_arg(p)
    p.add_argument("schedule", help="who runs how many steps, e.g. 'W12 R25 W1 R': W takes 12, R 25, W 1, then R runs on")
    p.add_argument("--dump", metavar="FILE",
                   help="write the crash dump of a panic, deadlock or hang to FILE (open it with "
                        "labkit mdb --dump FILE)")
    add_json_flag(p)
    p.set_defaults(run=_replay)


def _explore(args):
    result = explore(Scenario(args.kstats, args.fix, writers=args.writers), args.strategy, seed=args.seed,
                     executions=args.executions)
    emit(result, args.json)
    return 0


def _replay(args):
    if args.dump:
        from labkit.cli.mdb import write_dump
        emit(write_dump(Scenario(args.kstats, args.fix, writers=args.writers), args.schedule, args.dump), args.json)
        if not args.json:
            print(f"dump written to {args.dump}; open it with: labkit mdb --dump {args.dump}")
        return 0
    outcome = replay(Scenario(args.kstats, args.fix, writers=args.writers), args.schedule)
    emit(outcome, args.json)
    return 0
