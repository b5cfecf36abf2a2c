"""The ``campus-ops`` command: one subcommand per module, listed in :data:`COMMANDS`.

Each command module offers ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int`` (the exit code). Modules are imported only when their command runs,
so one command's dependencies never slow another down or break it.

Exit codes: 0 all well, 1 the command found a problem it was asked to look for (a school
silent, a bundle that does not verify), 2 it could not do its work (bad input, a store that
does not answer).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Protocol, cast

from . import __version__

COMMANDS: dict[str, str] = {
    "assets": "campus_ops.assets",
    "bundle": "campus_ops.bundle",
    "console": "campus_ops.console.command",
    "dashboards": "campus_ops.dashboards",
    "fleet": "campus_ops.fleet",
    "vmauth": "campus_ops.vmauth",
}


class Command(Protocol):
    """What a command module offers."""

    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(name: str) -> Command:
    module: ModuleType = importlib.import_module(COMMANDS[name])
    return cast(Command, module)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="campus-ops",
        description="The central operator's tools: fleet view, console, store identities, config bundles.",
    )
    parser.add_argument("--version", action="version", version=f"campus-ops {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    args_list = list(sys.argv[1:] if argv is None else argv)
    # Only the chosen command's module is imported; the others show by name in --help.
    chosen = next((arg for arg in args_list if not arg.startswith("-")), None)
    for name in COMMANDS:
        if name == chosen:
            command = _load(name)
            sub = subcommands.add_parser(name, help=command.HELP, description=command.HELP)
            command.add_arguments(sub)
            sub.set_defaults(run=command.run)
        else:
            subcommands.add_parser(name, help=f"see campus-ops {name} --help")
    args = parser.parse_args(args_list)
    if not getattr(args, "command", None) or not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
