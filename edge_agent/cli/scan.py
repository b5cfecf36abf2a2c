"""``edge-agent scan PROTOCOL``: probe a device read-only and print a draft config entry for it.

Every protocol of the config whose driver folder has a ``scan.py`` can scan; that module
offers ``add_arguments(parser)`` and ``run(args) -> int``, and its docstring is the help.
It is imported only when asked for: a scanner's protocol stack is not needed to run the agent.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Protocol, cast

import drivers

from ..config.model import DevicesSection

HELP = "probe a device and print a draft config entry for it"

DRIVERS = Path(drivers.__file__).parent
#: ``edge-agent scan <protocol>``: every protocol of the config whose driver has a scan.py.
SCANNERS = {
    protocol: f"drivers.{protocol}.scan"
    for protocol in DevicesSection.model_fields
    if (DRIVERS / protocol / "scan.py").is_file()
}


class Scanner(Protocol):
    """A driver's scan module."""

    __doc__: str | None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the protocol's options (host, credentials...)."""

    def run(self, args: argparse.Namespace) -> int:
        """Probe and print a draft ``[[devices.<protocol>]]`` entry; return the exit code."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PROTOCOL, then the protocol's own options."""
    parser.add_argument("protocol", choices=sorted(SCANNERS), help="the device's protocol")
    parser.add_argument(
        "options",
        nargs=argparse.REMAINDER,
        help="the protocol's options; see edge-agent scan PROTOCOL --help",
    )


def run(args: argparse.Namespace) -> int:
    """Hand the options to the protocol's scanner."""
    module = SCANNERS[args.protocol]
    try:
        scanner = cast(Scanner, importlib.import_module(module))
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):
            raise
        print(f"edge-agent scan: scanning {args.protocol} devices is not available yet", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog=f"edge-agent scan {args.protocol}", description=scanner.__doc__)
    scanner.add_arguments(parser)
    return int(scanner.run(parser.parse_args(args.options)))
