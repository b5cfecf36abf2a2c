"""Modbus link figures: twenty sensors on one serial bus, twenty on their own TCP links.

Polls both groups for a while (1 s interval, the bus with a 20 ms pause and a dead unit,
the TCP group with a hung device) and prints, per group, polls per device, the share of
polls on time, and poll latency (p50/p95/max), so the cost of sharing a bus and of a dead
unit can be read off. Loopback ptys and sockets: figures for the agent's own overhead and
scheduling, not for a 9600-baud wire. Run: .venv/bin/python -m bench.modbus_links
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
import tomllib
from collections import defaultdict
from typing import Any

from campus_core.readings import Reading
from drivers.modbus import ModbusDevice, ModbusDriver
from drivers.modbus.link import Links
from edge_agent.config.loader import BUNDLED_PROFILES
from edge_agent.scheduler import DevicePoller
from edge_agent.status import DeviceStatus
from simulators import Campus
from simulators.bus import Bus, build_bus
from simulators.nullmodem import NullModem

INTERVAL = 1.0
SECONDS = 20.0
UNITS = 20


def device(entry: dict[str, Any]) -> ModbusDevice:
    profile = tomllib.loads((BUNDLED_PROFILES / f"{entry.pop('profile')}.toml").read_text())
    tags = {**profile.pop("tags", {}), **entry.pop("tags", {})}
    return ModbusDevice.model_validate({**profile, **entry, "tags": tags})


async def measure() -> dict[str, dict[str, float]]:
    async with (
        NullModem() as modem,
        Bus(build_bus(classrooms=UNITS), serial=modem.a) as bus,
        Campus(classrooms=UNITS, meters=0, machines=0, base_port=16500) as campus,
    ):
        # The simulators turn pymodbus' logger up to WARNING; its frame dumps would drown the figures.
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
        entries = tomllib.loads(bus.render_config(serial=modem.b, pause="20ms", timeout="300ms"))
        configs = [device(e) for e in entries["devices"]["modbus"]]
        configs.append(
            device(
                {
                    "name": "bus-dead",
                    "serial": modem.b,
                    "baudrate": 19200,
                    "unit": 99,
                    "pause": "20ms",
                    "timeout": "300ms",
                    "profile": "classroom-iaq",
                }
            )
        )
        configs += [device(e) for e in tomllib.loads(campus.render_config())["devices"]["modbus"]]
        latency: dict[str, list[float]] = defaultdict(list)
        links = Links()
        tasks = []
        for config in configs:
            status = DeviceStatus(config.name, "modbus", INTERVAL)
            driver = ModbusDriver(config, links)

            def record(readings: list[Reading], status: DeviceStatus = status) -> None:
                latency[readings[0].device].append(status.last_latency_s)

            tasks.append(asyncio.create_task(DevicePoller(driver, INTERVAL, status, record).run()))
        await asyncio.sleep(SECONDS)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    figures = {}
    for group, names in (
        ("bus (20 units, 20 ms pause, 1 dead)", [d.name for d in bus.devices]),
        ("tcp (20 links)", [d.name for d in campus.devices]),
    ):
        samples = sorted(s for n in names for s in latency[n])
        polls = [len(latency[n]) for n in names]
        figures[group] = {
            "polls_per_device_min": min(polls),
            "expected": SECONDS / INTERVAL,
            "latency_p50_ms": 1000 * statistics.median(samples),
            "latency_p95_ms": 1000 * samples[int(0.95 * (len(samples) - 1))],
            "latency_max_ms": 1000 * samples[-1],
        }
    return figures


def main() -> None:
    """Print the figures."""
    started = time.perf_counter()
    figures = asyncio.run(measure())
    for group, values in figures.items():
        print(f"{group}:")
        for key, value in values.items():
            print(f"  {key:<22} {value:8.1f}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
