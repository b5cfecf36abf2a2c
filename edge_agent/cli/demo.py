"""``edge-agent demo``: a simulated campus, a local store and the agent, with a live view."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "start a simulated campus, a local store and the agent, and show what flows"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--state-dir``, ``--no-store``, ``--duration``."""
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path("state/demo"),
        help="where the demo keeps its buffer and store data (default ./state/demo)",
    )
    parser.add_argument(
        "--no-store",
        action="store_true",
        help="do not start VictoriaMetrics; readings stay in the local buffer",
    )
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")


def run(args: argparse.Namespace) -> int:
    """Run the demo until Ctrl-C (or ``--duration``)."""
    # Imported here: the demo pulls in the simulators, which the agent's other commands never need.
    from ..demo import run_demo

    return run_demo(args.state_dir, store=not args.no_store, duration=args.duration)
