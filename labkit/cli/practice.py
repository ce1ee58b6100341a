"""`labkit practice`: the seeded practice exercise (the same as PracticeWidget's for that seed).

Prints the schedule and the choices; `--reveal` adds the answer and the replay command."""

import argparse
import json

from labkit.cli import add_json_flag
from labkit.kernel.practice import PRACTICE_FIXES, practice


def register(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser("practice", help="a seeded schedule to predict the outcome of")
    p.add_argument("--seed", type=int, default=None, help="which exercise (default 0)")
    p.add_argument("--fix", default="none", choices=PRACTICE_FIXES,
                   help="the kernel to practise on: none (the bug, default) or count (fix B)")
    p.add_argument("--reveal", action="store_true", help="also print the answer and how to replay it")
    add_json_flag(p)
    p.set_defaults(run=_practice)


def _practice(args):
    ex = practice(args.seed, fix=args.fix)
    if args.json:
        print(json.dumps(ex.to_json(reveal=args.reveal), sort_keys=True))
        return 0
    print(ex)
    if args.reveal:
        print(f"answer: {ex.answer}\nreplay: {ex.replay_command}")
    else:
        print("(predict, then run again with --reveal)")
    return 0
