"""``campus-ops console``: the command line of the city console (the package's docstring says more)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from aiohttp import web

from campus_core.units import parse_duration
from campus_ops.roster import RosterError, load_roster

from . import auth, runbooks
from .app import make_app
from .context import Context, Settings
from .page import CHARTS_DEFAULT, CHARTS_HINT

HELP = "serve the city console: schools, devices and alerts in a browser (read-only)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--store URL [--vmalert URL] [--roster FILE] [--listen 127.0.0.1:8090]`` and the rest."""
    parser.add_argument("--store", required=True, help="the store's URL (VictoriaMetrics, PromQL API)")
    parser.add_argument(
        "--vmalert", help="vmalert's URL, for the alerts (without it the alert panels say so)"
    )
    parser.add_argument(
        "--roster", type=Path, help="the roster: school names, and schools that never reported"
    )
    parser.add_argument(
        "--listen",
        default="127.0.0.1:8090",
        help="HOST:PORT to serve on (default %(default)s); beyond loopback it needs a credential",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        help="the operators' read token: sent to the store and vmalert, and asked of every browser",
    )
    parser.add_argument(
        "--basic-auth-file", type=Path, help="user:password lines: browsers sign in with one of them"
    )
    parser.add_argument(
        "--timeout", default="10s", help="per request to the store or vmalert (default %(default)s)"
    )
    parser.add_argument(
        "--stale", default="5m", help="as campus-ops fleet: quiet longer is silent (default %(default)s)"
    )
    parser.add_argument(
        "--backlog",
        default="15m",
        help="as campus-ops fleet: an older backlog is degraded (default %(default)s)",
    )
    parser.add_argument(
        "--lookback",
        default="30d",
        help="as campus-ops fleet: how far back gateways are looked for (default %(default)s)",
    )
    parser.add_argument(
        "--charts", type=Path, help="the chart library's file (default: where `npm ci` puts it)"
    )
    parser.add_argument("--runbooks", type=Path, help="docs/central.md, whose runbooks the alerts link to")


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; 2 when the options or a file cannot be used."""
    try:
        timeout_s, stale_s, backlog_s, lookback_s = (
            parse_duration(v) for v in (args.timeout, args.stale, args.backlog, args.lookback)
        )
        listen = auth.parse_listen(args.listen)
        credentials = auth.Credentials(
            token=auth.read_token(args.token_file) if args.token_file else None,
            users=auth.read_users(args.basic_auth_file) if args.basic_auth_file else {},
        )
        roster = load_roster(args.roster) if args.roster else None
    except (ValueError, auth.AuthError, RosterError) as exc:
        print(f"campus-ops console: {exc}", file=sys.stderr)
        return 2
    refused = auth.refusal(listen, credentials)
    if refused:
        print(f"campus-ops console: refusing to start: {refused}", file=sys.stderr)
        return 2
    charts = args.charts or CHARTS_DEFAULT
    if not charts.is_file():
        print(f"campus-ops console: no chart library at {charts}: {CHARTS_HINT}", file=sys.stderr)
    settings = Settings(
        store_url=args.store,
        vmalert_url=args.vmalert,
        roster=roster,
        token=credentials.token,
        timeout_s=timeout_s,
        stale_s=stale_s,
        backlog_s=backlog_s,
        lookback=f"{int(lookback_s)}s",
        charts_js=charts,
    )
    sections = runbooks.load(args.runbooks)  # read here, before the event loop runs
    try:
        return asyncio.run(_serve(settings, credentials, listen, sections))
    except OSError as exc:
        print(f"campus-ops console: cannot listen on {listen}: {exc.strerror or exc}", file=sys.stderr)
        return 2


async def _serve(
    settings: Settings,
    credentials: auth.Credentials,
    listen: auth.Listen,
    sections: dict[str, tuple[str, list[str]]],
) -> int:
    app = make_app(Context(settings), credentials, settings.charts_js, sections)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, listen.host, listen.port).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        where = f"http://{listen}/"
        print(f"campus-ops console: serving {where} (store {settings.store_url})", flush=True)
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
    return 0
