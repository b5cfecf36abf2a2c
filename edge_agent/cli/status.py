"""``edge-agent status``: ask the running agent, through its health listener, how it is doing."""

from __future__ import annotations

import argparse
import sys

from ..statusview import Unreachable, fetch, render
from .common import add_config_argument, load_config

HELP = "ask the running agent how it is doing (its health listener); exit 1 when unhealthy or not answering"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CONFIG and ``--listen``."""
    add_config_argument(parser)
    parser.add_argument(
        "--listen", metavar="HOST:PORT", help="ask this address instead of the config's health.listen"
    )


def run(args: argparse.Namespace) -> int:
    """Print the agent's report; 0 when it is healthy."""
    listen = args.listen
    if listen is None:
        loaded = load_config(args.config)
        if loaded is None:
            print(
                "edge-agent status: (the config is read for health.listen; run as root, "
                "or give --listen HOST:PORT)",
                file=sys.stderr,
            )
            return 1
        listen = loaded.config.health.listen
    if not listen:
        print(
            'edge-agent status: the health listener is off (health.listen = ""); '
            "see `edge-agent buffer stats` and the journal instead",
            file=sys.stderr,
        )
        return 1
    try:
        body = fetch(listen)
    except (Unreachable, ValueError) as exc:
        print(
            f"edge-agent status: {exc}; is the agent running? (systemctl status edge-agent)", file=sys.stderr
        )
        return 1
    print(render(body))
    return 0 if body["status"] == "ok" else 1
