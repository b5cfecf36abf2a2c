"""Twenty sensors on one serial bus and twenty on their own TCP links, each with a dead peer.

The bus is asked one request at a time (its reads at the simulator are at least the pause
apart), while the TCP devices are polled meanwhile: they do not wait for the bus, and a
dead unit costs the others nothing beyond its own turns on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict
from pathlib import Path

import pytest

from campus_core.readings import Reading
from drivers.modbus import ModbusDriver
from drivers.modbus.link import Links
from edge_agent.scheduler import DevicePoller
from edge_agent.status import DeviceStatus
from simulators import Campus
from simulators.bus import Bus, build_bus
from simulators.nullmodem import NullModem
from tests.drivers.modbus.devices import from_profile, from_toml
from tests.support.ports import LOOPBACK, free_port, free_port_range

pytestmark = pytest.mark.integration

INTERVAL = 1.0
RUN_FOR = 4.5


async def silent_server() -> tuple[asyncio.Server, int]:
    """Accepts connections and never answers: a controller whose firmware hung."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.read()

    port = free_port()
    return await asyncio.start_server(hold, LOOPBACK, port), port


async def test_links_are_polled_concurrently_and_the_bus_serially(tmp_path: Path) -> None:
    async with (
        NullModem() as modem,
        Bus(build_bus(classrooms=20), serial=modem.a, journal=tmp_path / "bus.jsonl") as bus,
        Campus(
            seed=2, classrooms=20, meters=0, machines=0, base_port=free_port_range(20), host=LOOPBACK
        ) as campus,
    ):
        hung, hung_port = await silent_server()
        configs = from_toml(bus.render_config(serial=modem.b, pause="20ms", timeout="300ms"))
        configs.append(
            from_profile(
                "classroom-iaq",
                name="bus-dead",
                serial=modem.b,
                baudrate=19200,
                unit=99,
                pause="20ms",
                timeout="300ms",
            )
        )
        configs += from_toml(campus.render_config())
        configs.append(
            from_profile("classroom-iaq", name="tcp-dead", host=LOOPBACK, port=hung_port, timeout="1s")
        )
        polled: dict[str, list[int]] = defaultdict(list)
        statuses: dict[str, DeviceStatus] = {}
        links = Links()
        tasks = []
        for config in configs:
            status = statuses[config.name] = DeviceStatus(config.name, "modbus", INTERVAL)

            def record(readings: list[Reading]) -> None:
                for reading in readings:
                    polled[reading.device].append(reading.time_ms)

            poller = DevicePoller(ModbusDriver(config, links), INTERVAL, status, record)
            tasks.append(asyncio.create_task(poller.run()))
        started_ms = time.time() * 1000
        await asyncio.sleep(RUN_FOR)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        hung.close()
    bus_names = [d.name for d in bus.devices]
    tcp_names = [d.name for d in campus.devices]

    # Nobody is starved: every live device polled at (about) its interval.
    for name in tcp_names:
        assert len(polled[name]) >= 4, (name, polled[name])
    for name in bus_names:
        assert len(polled[name]) >= 3, (name, polled[name])
    for dead in ("bus-dead", "tcp-dead"):
        assert statuses[dead].failures >= 1 and not polled[dead]
        assert "no answer from" in (statuses[dead].last_error or "")

    # The bus: one conversation at a time, the pause between two.
    reads = [json.loads(line)["t_ms"] for line in (tmp_path / "bus.jsonl").read_text().splitlines()]
    assert len(reads) >= 20 * 3
    assert min(b - a for a, b in itertools.pairwise(reads)) >= 15  # 20 ms asked, generous margin

    # The links at once: the first bus round takes at least 20 x 20 ms, and the TCP devices'
    # first polls finish before it ends instead of queueing behind it. (Not "after it began":
    # TCP polls take a few ms on loopback and can all be done before the bus's first answer,
    # which a lost first frame on the serial line delays by a whole timeout.)
    first_round = reads[:20]
    assert first_round[-1] - first_round[0] >= 20 * 15
    before_end = [name for name in tcp_names if polled[name][0] < first_round[-1]]
    assert len(before_end) >= 10, (
        first_round[0] - started_ms,
        first_round[-1] - started_ms,
        sorted(polled[n][0] - started_ms for n in tcp_names),
    )
