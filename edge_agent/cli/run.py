"""``edge-agent run``: the agent itself, until SIGTERM or Ctrl-C; SIGHUP reloads the config."""

from __future__ import annotations

import argparse
import asyncio
import signal

import structlog

from .. import eventloop, logs
from ..agent import Agent
from ..config.hygiene import root_warning, secret_warnings
from ..statedir import StateDirError
from .common import add_config_argument, load_config

HELP = "run the agent until SIGTERM or Ctrl-C"

log = structlog.get_logger("edge_agent.cli")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CONFIG and ``--allow-root``."""
    add_config_argument(parser)
    parser.add_argument(
        "--allow-root",
        action="store_true",
        help="run as root without a warning (the agent needs no privileges)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the agent; 1 when it cannot start, 70 when it stopped on an internal error."""
    loaded = load_config(args.config)
    if loaded is None:
        return 1
    logs.configure(loaded.config.log.level, loaded.config.log.format)
    for warning in [root_warning(args.allow_root), *secret_warnings(loaded.config)]:
        if warning:
            log.warning(warning)
    agent = Agent(loaded, args.config)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, agent.stop)
        loop.add_signal_handler(signal.SIGHUP, agent.reload)  # systemctl reload
        await agent.run()

    try:
        eventloop.run(serve())
    except StateDirError as exc:
        log.error("cannot start", reason=str(exc))
        return 1
    except Exception:
        # A bug, not a bad device or store (those are retried): say so in one structured line
        # with the traceback, and exit non-zero so the service manager restarts the agent.
        # The agent shut down as on SIGTERM first: what is on disk stays, the buffer closed.
        log.exception("agent stopped by an internal error; restart it (systemd does)")
        return 70  # EX_SOFTWARE
    return 0
