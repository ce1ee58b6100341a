"""`labkit mdb`: the small mdb over a simulated crash dump, from the command line.

With -c (repeatable) it runs those commands; without, it reads commands from stdin at a `> `
prompt until end of input or `$q`. When stdin is not a terminal each command is echoed after
the prompt, so a piped session reads like a transcript. mdb's own error answers go to stderr
(in --json mode into the one JSON object); if any command failed the exit status is 2.
"""

import argparse
import os
import sys

from labkit.cli import add_json_flag, emit
from labkit.errors import LabkitError
from labkit.postmortem import GOLDEN, Mdb, load_dump, replay_dump, seed_dump
from labkit.postmortem.mdb import MdbResult
from labkit.sched import Outcome
from labkit.sched.program import Program


class Session:
    """The results of one `labkit mdb` run, for emit()."""

    def __init__(self, scenario: str, results: list):
        self.scenario = scenario
        self.results = results

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_json(self) -> dict:
        return {"scenario": self.scenario, "ok": self.ok,
                "results": [r.to_json() for r in self.results]}

    def __str__(self):
        return "\n".join(r.text for r in self.results if r.ok and r.text)


def register(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser("mdb", help="run mdb commands against a simulated crash dump")
    p.add_argument("--scenario", default=None, choices=sorted(GOLDEN),
                   help="seed: the seed's 5698 headers (default); small: a handful of kstats")
    p.add_argument("--dump", metavar="FILE",
                   help="a dump file written by `labkit replay ... --dump FILE` or `labkit crash "
                        "--schedule ... --dump FILE`")
    p.add_argument("-c", "--command", dest="commands", action="append", metavar="CMD",
                   help="a command to run, e.g. '::status' (repeatable); without -c, read stdin")
    add_json_flag(p)
    p.set_defaults(run=_run)


def _run(args):
    if args.dump and args.scenario:
        raise LabkitError("give --dump FILE or --scenario, not both")
    mdb = Mdb(load_dump(args.dump) if args.dump else seed_dump(args.scenario or "seed"))
    if args.commands:
        results = [mdb.run(c) for c in args.commands]
        if not args.json:
            for r in results:
                _show(r)
    else:
        results = _repl(mdb, quiet=args.json)
    session = Session(args.dump or args.scenario or "seed", results)
    if args.json:
        emit(session, True)
    return 0 if session.ok else 2


def write_dump(program: Program, schedule: str, path: str | os.PathLike) -> Outcome:
    """Replay a schedule and write the dump of its panic, deadlock or hang to path (for
    `labkit replay --dump`); a run that ends well has no dump, and says so."""
    outcome, dump = replay_dump(program, schedule)
    if dump is None:
        raise LabkitError(f"no dump written: the run ended {outcome.kind!r} (schedule "
                          f"{outcome.schedule}); only a panic, a deadlock or a hang leaves one")
    dump.save(path)
    return outcome


def _show(result) -> None:
    if result.ok:
        if result.text:
            print(result.text)
    else:
        print(result.text, file=sys.stderr)


def _repl(mdb, *, quiet: bool) -> list:
    echo = not sys.stdin.isatty()
    results: list[MdbResult] = []
    while True:
        if not quiet:
            print("> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            if not quiet:
                print()
            return results
        command = line.rstrip("\n")
        if not quiet and echo:
            print(command)
        if not command.strip():
            continue
        r = mdb.run(command)
        if r.quit:
            return results
        results.append(r)
        if not quiet:
            sys.stderr.flush()
            _show(r)
            sys.stdout.flush()
