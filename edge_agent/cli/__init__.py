"""The ``edge-agent`` command: one module per command, listed in :data:`COMMANDS`.

Each command module offers ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int`` (the exit code), as ``campus-ops``'s do. Exit codes: 0 all well,
1 the command found a problem (a bad config, a device that failed, an unhealthy agent),
2 a usage error, 70 the agent stopped on an internal error, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from typing import Protocol, cast

from .. import __version__

COMMANDS: dict[str, str] = {
    "run": "edge_agent.cli.run",
    "check": "edge_agent.cli.check",
    "status": "edge_agent.cli.status",
    "test": "edge_agent.cli.test",
    "buffer": "edge_agent.cli.buffer",
    "fleet": "edge_agent.cli.fleet",
    "scan": "edge_agent.cli.scan",
    # ``import`` is a keyword: the modules are named for what they move.
    "import": "edge_agent.cli.import_points",
    "export": "edge_agent.cli.export_points",
    "demo": "edge_agent.cli.demo",
}


class Command(Protocol):
    """What a command module offers."""

    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def parser() -> argparse.ArgumentParser:
    """The whole command line, every command with its options."""
    top = argparse.ArgumentParser(
        prog="edge-agent",
        description="Per-school edge agent: polls campus devices, buffers on disk, "
        "forwards to the city store.",
    )
    top.add_argument("--version", action="version", version=f"edge-agent {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        command = cast(Command, importlib.import_module(module))
        sub = commands.add_parser(name, help=command.HELP, description=command.HELP)
        command.add_arguments(sub)
        sub.set_defaults(handler=command.run)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    top = parser()
    args = top.parse_args(argv)
    if not getattr(args, "command", None):
        top.print_help()
        return 2
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
