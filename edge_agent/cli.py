"""The ``edge-agent`` command: run | check | test | buffer | demo."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, cast

import structlog

import drivers
from campus_core.clock import now_ms
from campus_core.devices import Driver, Listener
from campus_core.readings import DeviceError, Reading
from campus_core.units import format_duration, format_size

from . import __version__, eventloop, logs
from .agent import Agent, buffer_path, build_drivers, build_encoders
from .buffer import DiskBuffer
from .config import ConfigError, LoadedConfig, load
from .config.hygiene import root_warning, secret_warnings
from .config.model import DevicesSection
from .statedir import StateDirError

DEFAULT_CONFIG = Path("/etc/edge-agent/agent.toml")

log = structlog.get_logger("edge_agent.cli")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-agent",
        description="Per-school edge agent: polls campus devices, buffers on disk, "
        "forwards to the city store.",
    )
    parser.add_argument("--version", action="version", version=f"edge-agent {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str, handler: object) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    def config_arg(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "config",
            nargs="?",
            type=Path,
            default=DEFAULT_CONFIG,
            help=f"agent.toml (default {DEFAULT_CONFIG}); conf.d/*.toml beside it is read too",
        )

    run = command("run", "run the agent until SIGTERM or Ctrl-C", _run)
    config_arg(run)
    run.add_argument(
        "--allow-root",
        action="store_true",
        help="run as root without a warning (the agent needs no privileges)",
    )
    config_arg(command("check", "validate the config and summarise it; exit 1 on any error", _check))
    status = command(
        "status",
        "ask the running agent how it is doing (its health listener); exit 1 when unhealthy or not answering",
        _status,
    )
    config_arg(status)
    status.add_argument(
        "--listen", metavar="HOST:PORT", help="ask this address instead of the config's health.listen"
    )
    test = command(
        "test", "poll every device once and print the points as line protocol; send nothing", _test
    )
    config_arg(test)
    buffer = command("buffer", "inspect the on-disk buffer", _buffer)
    buffer.add_argument(
        "action",
        choices=["stats", "tail", "dead"],
        help="stats: depth per sink; tail: newest points; dead: batches a store refused",
    )
    config_arg(buffer)
    buffer.add_argument("-n", "--lines", type=int, default=20, help="points to show with tail (default 20)")
    buffer.add_argument(
        "--replay",
        metavar="ID",
        type=int,
        nargs="+",
        help="with dead: queue these dead-lettered batches again",
    )
    buffer.add_argument("--replay-all", action="store_true", help="with dead: queue every one again")
    fleet = command("fleet", "the city's config bundles: the one in force, when, the last refusal", _fleet)
    fleet.add_argument("action", choices=["status"], help="status: the bundle in force and the last refusal")
    config_arg(fleet)
    scan = command("scan", "probe a device and print a draft config entry for it", _scan)
    scan.add_argument("protocol", choices=sorted(SCANNERS), help="the device's protocol")
    scan.add_argument(
        "options",
        nargs=argparse.REMAINDER,
        help="the protocol's options; see edge-agent scan PROTOCOL --help",
    )
    demo = command(
        "demo", "start a simulated campus, a local store and the agent, and show what flows", _demo
    )
    demo.add_argument(
        "--state-dir",
        type=Path,
        default=Path("state/demo"),
        help="where the demo keeps its buffer and store data (default ./state/demo)",
    )
    demo.add_argument(
        "--no-store",
        action="store_true",
        help="do not start VictoriaMetrics; readings stay in the local buffer",
    )
    demo.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    return parser


def _load(path: Path) -> LoadedConfig | None:
    try:
        return load(path)
    except ConfigError as exc:
        print(f"edge-agent: {exc}", file=sys.stderr)
        return None


def _run(args: argparse.Namespace) -> int:
    loaded = _load(args.config)
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


def _status(args: argparse.Namespace) -> int:
    from .statusview import Unreachable, fetch, render

    listen = args.listen
    if listen is None:
        loaded = _load(args.config)
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


def _check(args: argparse.Namespace) -> int:
    loaded = _load(args.config)
    if loaded is None:
        return 1
    config = loaded.config
    others = len(loaded.files) - 1
    print(f"config OK: {args.config}" + (f" (+ {others} drop-in and profile files)" if others else ""))
    print(
        f"school {config.agent.school}, campus {config.agent.campus}, "
        f"default interval {format_duration(config.agent.interval)}"
    )
    devices = config.devices.all()
    print(f"devices: {len(devices)}")
    for _, device in devices:
        when = " " * 12 if device.pushed else f"every {format_duration(config.interval_of(device)):<6}"
        print(f"  {device.name:<20} {when} {device.describe()}")
    sinks = config.sinks.all()
    print(f"sinks: {len(sinks) or 'none (readings stay in the local buffer)'}")
    for sink in sinks:
        print(f"  {sink.name:<20} {sink.describe()}")
    print(
        f"buffer: {buffer_path(config)} (max {format_size(config.buffer.max_disk)}, "
        f"sync {config.buffer.sync})"
    )
    health = config.health
    listener = f"http://{health.listen} (/metrics, /healthz)" if health.listen else "listener off"
    own = f", edge_agent point every {format_duration(config.agent.interval)}" if health.self_metrics else ""
    print(f"health: {listener}{own}")
    if config.fleet is not None:
        print(f"fleet: {config.fleet.describe()}")
        bundle = loaded.bundle
        print(
            "  bundle in force: "
            + (
                f"version {bundle.manifest.version} for {bundle.manifest.target}, "
                f"created {bundle.manifest.created.isoformat()}, sha256 {bundle.sha256[:12]}"
                if bundle is not None
                else "none yet (the local config alone)"
            )
        )
    for note in loaded.notes:
        print(f"note: {note}")
    for warning in secret_warnings(config):
        print(f"warning: {warning}")
    return 0


def _test(args: argparse.Namespace) -> int:
    loaded = _load(args.config)
    if loaded is None:
        return 1
    logs.configure("error", "console")
    config = loaded.config
    encoders = build_encoders(config)

    async def poll_all() -> int:
        async def one(driver: Driver) -> tuple[str, list[str] | str]:
            started = time.perf_counter()
            try:
                async with driver:
                    readings = await driver.poll()
            except DeviceError as exc:
                return driver.name, exc.reason
            lines = [line for r in readings if (line := encoders[r.device].encode(r)) is not None]
            print(
                f"# {driver.name}: {len(lines)} point(s) in {time.perf_counter() - started:.3f}s",
                file=sys.stderr,
            )
            return driver.name, lines

        polled = [d for _, d, _ in build_drivers(config) if not isinstance(d, Listener)]
        results = await asyncio.gather(*(one(d) for d in polled))
        failed = 0
        for name, outcome in results:
            if isinstance(outcome, str):
                failed += 1
                print(f"edge-agent test: {name}: FAILED: {outcome}", file=sys.stderr)
            else:
                for line in outcome:
                    print(line)
        print(f"# {len(results) - failed} of {len(results)} device(s) answered", file=sys.stderr)
        return 1 if failed else 0

    async def listen_all(seconds: float = 10.0) -> int:
        """Pushed (MQTT) devices: listen a while in a session of their own, print what arrives."""
        # A clean session of its own (probe=True), so the agent's session is left untouched.
        from drivers.mqtt.listener import MqttListener

        probes = [(device.name, MqttListener(device, probe=True)) for device in config.devices.mqtt]
        if not probes:
            return 0
        print(f"# listening up to {seconds:g}s to {len(probes)} pushed device(s)", file=sys.stderr)
        points = dict.fromkeys((name for name, _ in probes), 0)

        async def deliver(readings: list[Reading]) -> None:
            for reading in readings:
                if (line := encoders[reading.device].encode(reading)) is not None:
                    print(line)
                    points[reading.device] += 1

        tasks = [asyncio.create_task(listener.run(deliver)) for _, listener in probes]
        for _ in range(int(seconds / 0.2)):  # until each showed a point or a failure
            if all(points[name] or listener.stats.connect_failures for name, listener in probes):
                break
            await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        failed = 0
        for name, listener in probes:
            stats = listener.stats
            if not stats.connects:
                failed += 1
                print(
                    f"edge-agent test: {name}: FAILED: {stats.last_error or 'no connection'}", file=sys.stderr
                )
                continue
            rejected = (
                f"; {stats.rejected_total} message(s) rejected, last: {stats.last_reject}"
                if stats.rejected_total
                else ""
            )
            print(f"# {name}: subscribed, {points[name]} point(s){rejected}", file=sys.stderr)
        return 1 if failed else 0

    async def test_all() -> int:
        polled = await poll_all()
        return max(polled, await listen_all())

    return eventloop.run(test_all())


def _buffer(args: argparse.Namespace) -> int:
    loaded = _load(args.config)
    if loaded is None:
        return 1
    path = buffer_path(loaded.config)
    if args.action == "dead":
        return _dead_letters(path, loaded.config.buffer.max_disk, args)
    try:
        disk = DiskBuffer(path, [], loaded.config.buffer.max_disk, readonly=True)
    except FileNotFoundError:
        print(
            f"edge-agent: no buffer at {path} yet (the agent creates it when it first runs)", file=sys.stderr
        )
        return 1
    try:
        if args.action == "tail":
            for line in disk.tail(args.lines):
                print(line)
            return 0
        stats = disk.stats()
        print(
            f"buffer {path}: {stats.points} points in {stats.batches} batches, "
            f"{format_size(stats.bytes)} of {format_size(loaded.config.buffer.max_disk)}"
        )
        now = now_ms()
        for backlog in stats.backlog:
            age = (
                f", oldest {format_duration(max(0.001, (now - backlog.oldest_ms) / 1000))} old"
                if backlog.oldest_ms
                else ""
            )
            print(f"  sink {backlog.sink}: {backlog.points} points to send in {backlog.batches} batches{age}")
        for name, value in sorted(stats.counters.items()):
            print(f"  {name}: {value}")
        return 0
    finally:
        disk.close()


DRIVERS = Path(drivers.__file__).parent
#: ``edge-agent scan <protocol>``: each driver that can scan offers a module with
#: ``add_arguments(parser)`` and ``run(args) -> int`` (its docstring is the help text).
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


def _scan(args: argparse.Namespace) -> int:
    # Imported only here: a scanner's protocol stack is not needed to run the agent.
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


def _fleet(args: argparse.Namespace) -> int:
    from .bundle.status import show

    loaded = _load(args.config)
    if loaded is None:
        return 1
    return show(loaded)


def _dead_letters(path: Path, max_disk: int, args: argparse.Namespace) -> int:
    if not path.exists():
        print(f"edge-agent: no buffer at {path} yet", file=sys.stderr)
        return 1
    replay = args.replay_all or bool(args.replay)
    disk = DiskBuffer(path, [], max_disk, readonly=not replay, owner=False)
    try:
        if replay:
            points = disk.replay_dead(None if args.replay_all else args.replay)
            print(f"queued {points} points again; every sink sends them at its next turn")
            return 0
        letters = disk.dead_letters()
        if not letters:
            print("no dead letters: no store has refused a batch")
        for d in letters:
            made = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.created_ms / 1000))
            print(
                f"{d.id:>5}  sink {d.sink}  {d.points} points from {made}  answered {d.status}: {d.message}"
            )
        if letters:
            print("replay with: edge-agent buffer dead CONFIG --replay ID... | --replay-all")
        return 0
    finally:
        disk.close()


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.state_dir, store=not args.no_store, duration=args.duration)
