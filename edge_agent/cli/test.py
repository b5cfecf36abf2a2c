"""``edge-agent test``: poll every device once, listen a while to pushed ones, print line protocol.

Nothing is buffered or sent: what a technician sees is what the agent would hand the store.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from campus_core.devices import Driver, Listener
from campus_core.readings import DeviceError, Reading

from .. import eventloop, logs
from ..agent import build_drivers, build_encoders
from ..config import AgentConfig
from ..normalise import PointEncoder
from .common import add_config_argument, load_config

HELP = "poll every device once and print the points as line protocol; send nothing"

#: How long pushed devices are listened to, at most.
LISTEN_SECONDS = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CONFIG."""
    add_config_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Points on stdout, one line per device on stderr; 1 when a device failed."""
    loaded = load_config(args.config)
    if loaded is None:
        return 1
    logs.configure("error", "console")
    config = loaded.config
    encoders = build_encoders(config)

    async def test_all() -> int:
        polled = await poll_all(config, encoders)
        return max(polled, await listen_all(config, encoders))

    return eventloop.run(test_all())


async def poll_all(config: AgentConfig, encoders: dict[str, PointEncoder]) -> int:
    """Poll every polled device once, side by side; 1 if any failed."""

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


async def listen_all(
    config: AgentConfig, encoders: dict[str, PointEncoder], seconds: float = LISTEN_SECONDS
) -> int:
    """Pushed (MQTT) devices: listen a while in a session of their own, print what arrives."""
    # A clean session of its own (probe=True), so the agent's session is left untouched.
    from drivers.mqtt import MqttListener

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
            print(f"edge-agent test: {name}: FAILED: {stats.last_error or 'no connection'}", file=sys.stderr)
            continue
        rejected = (
            f"; {stats.rejected_total} message(s) rejected, last: {stats.last_reject}"
            if stats.rejected_total
            else ""
        )
        print(f"# {name}: subscribed, {points[name]} point(s){rejected}", file=sys.stderr)
    return 1 if failed else 0
