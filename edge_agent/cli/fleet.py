"""``edge-agent fleet status``: the city's config bundle in force, the last fetch and refusal."""

from __future__ import annotations

import argparse

from ..bundle.status import show
from .common import add_config_argument, load_config

HELP = "the city's config bundles: the one in force, when, the last refusal"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """status, CONFIG."""
    parser.add_argument("action", choices=["status"], help="status: the bundle in force and the last refusal")
    add_config_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Print the bundle state; 1 when ``[fleet]`` is unset or the last bundle offered was refused."""
    loaded = load_config(args.config)
    if loaded is None:
        return 1
    return show(loaded)
