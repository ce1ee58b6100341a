"""The `labkit` command: one subcommand module per layer, each registering its own parsers.

Contract (the README says it too): every subcommand but `lab` takes `--json` and then prints exactly one JSON object on
stdout; otherwise it prints for people. Bad input exits 2 with a one-line message, never a traceback.
"""

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Protocol

from labkit.errors import LabkitError

# Each module defines register(subparsers); a parser's `run(args)` returns a result object with
# to_json() (a dict) and __str__ (the text for people), or an int exit code it has already printed for.
_COMMAND_MODULES = ["sim", "native", "mdb", "grade", "author", "lab", "progress", "practice", "classroom"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labkit",
        description="The kstat race lab (illumos bug 4997): simulate, reproduce, dissect and fix the race.",
    )
    parser.add_argument("--version", action="version", version=f"labkit {version()}",
                        help="print labkit's version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"labkit.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"labkit.cli.{name}":
                continue  # that layer's commands are not part of this build
            raise
        module.register(subparsers)
    return parser


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed
    try:
        return installed("labkit")
    except PackageNotFoundError:
        return "(not installed)"


class Reportable(Protocol):
    """What a command prints: a result object for people (str) that also says itself as JSON."""

    def to_json(self) -> dict: ...


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def emit(result: Reportable, as_json: bool) -> None:
    """Print a result object for people, or as one JSON object."""
    if as_json:
        print(json.dumps(result.to_json(), sort_keys=True))
    else:
        print(result)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.run(args)
    except LabkitError as exc:
        print(f"labkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"labkit {args.command}: interrupted", file=sys.stderr)
        return 130
    return status if isinstance(status, int) else 0
