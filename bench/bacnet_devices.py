"""BACnet figures: objects read per CPU-second through the driver against a bare bacpypes3 client,
and the campus footprint with 50 BACnet devices of 30 objects added.

Part one: 10 simulated air-handling units (30 objects each, in a simulator process of their
own) are read, alternately, by the agent's BacnetDriver (one poll of every device at once,
as the scheduler does each interval) and by a bare bacpypes3 application sending the very
same ReadPropertyMultiple requests (the driver's own plan: present value, status flags and,
where the object has one, reliability) and decoding the answers, nothing more. The CPU time
of this process (user + system) per object read is the figure; 3 rounds, medians.
Part two (``--footprint SECONDS``): bench.footprint's campus (1,000 Modbus meters, 100
switches, 200 MQTT sensors) as it is and with 50 BACnet AHUs of 30 objects at 10 s.
Run: .venv/bin/python -m bench.bacnet_devices [--footprint 60]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog
from bacpypes3.app import Application
from bacpypes3.comm import bind
from bacpypes3.ipv4 import IPv4DatagramServer
from bacpypes3.ipv4.bvll import BVLLCodec
from bacpypes3.ipv4.service import BIPNormal, UDPMultiplexer
from bacpypes3.local.device import DeviceObject
from bacpypes3.pdu import Address, IPv4Address

from drivers.bacnet import BacnetDevice, BacnetDriver
from simulators.bacnet import POINTS
from tests.support.ports import free_udp_port

from . import footprint
from .footprint import FOOTPRINT_KEYS
from .measure import campus_process, only, publish

DEVICES = 10
CYCLES = 40
ROUNDS = 3


def objects() -> list[dict[str, str]]:
    """All thirty objects of a simulated AHU, each as a field."""
    return [{"object": f"{p.object_type},{p.instance}", "field": p.key} for p in POINTS["bacnet-ahu"]]


def _bare_client(port: int) -> tuple[Application, Any]:
    """A bacpypes3 application on 127.0.0.1:port, as a bare script would make one."""
    device = DeviceObject(objectIdentifier=("device", 4194301), objectName="bare", vendorIdentifier=999)
    app = Application.from_object_list([device])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.setblocking(False)
    local = IPv4Address(f"127.0.0.1:{port}")
    sap, codec, mux = BIPNormal(), BVLLCodec(), UDPMultiplexer()
    server = IPv4DatagramServer(local, bind_socket=sock)
    bind(sap, codec, mux.annexJ)
    bind(mux, server)
    app.nsap.bind(sap, address=local)
    return app, server


async def _driver_cycles(drivers: list[BacnetDriver], cycles: int) -> tuple[int, float]:
    cpu = time.process_time()
    read = 0
    for _ in range(cycles):
        for readings in await asyncio.gather(*(d.poll() for d in drivers)):
            read += sum(len(r.fields) for r in readings)
    return read, time.process_time() - cpu


async def _bare_cycles(
    app: Application, plans: list[tuple[Address, list[Any]]], cycles: int
) -> tuple[int, float]:
    cpu = time.process_time()
    read = 0
    for _ in range(cycles):
        for answer in await asyncio.gather(*(app.read_property_multiple(a, list(p)) for a, p in plans)):
            read += sum(1 for _, prop, _, _ in answer if str(prop) == "present-value")
    return read, time.process_time() - cpu


async def measure_reads(port: int) -> dict[str, float]:
    agent_port = free_udp_port()
    configs = [
        BacnetDevice(
            name=f"ahu-{i}",
            address=f"127.0.1.{i}:{port}",
            measurement="hvac",
            local_address="127.0.0.1",
            port=agent_port,
            objects=objects(),
        )
        for i in range(1, DEVICES + 1)
    ]
    drivers = [BacnetDriver(c) for c in configs]
    for driver in drivers:
        await driver.__aenter__()
    await _driver_cycles(drivers, 2)  # found, objects checked, the plan settled
    app, server = _bare_client(free_udp_port())
    plans: list[tuple[Address, list[Any]]] = []
    for config, driver in zip(configs, drivers, strict=True):
        address = Address(config.address)
        await app.who_is(None, None, address)  # as the driver did: the device's I-Am is known
        flat: list[Any] = []
        for object_id, props in driver._items:
            flat += [object_id, list(props)]
        plans.append((address, flat))
    rounds: dict[str, list[float]] = {"driver": [], "bare": []}
    requests = 0
    for _ in range(ROUNDS):
        before = sum(d.stats.rpm_requests for d in drivers)
        read, spent = await _driver_cycles(drivers, CYCLES)
        requests = sum(d.stats.rpm_requests for d in drivers) - before
        rounds["driver"].append(read / spent)
        read, spent = await _bare_cycles(app, plans, CYCLES)
        rounds["bare"].append(read / spent)
    for driver in drivers:
        await driver.__aexit__(None, None, None)
    server.close()
    driver_rate, bare_rate = statistics.median(rounds["driver"]), statistics.median(rounds["bare"])
    return {
        "devices": DEVICES,
        "objects_per_device": len(objects()),
        "driver_objects_per_cpu_second": driver_rate,
        "bare_bacpypes3_objects_per_cpu_second": bare_rate,
        "ratio_driver_to_bare": driver_rate / bare_rate,
        "rpm_requests_per_device_poll": requests / (DEVICES * CYCLES),
        "driver_cpu_ms_per_device_poll": 1000 * len(objects()) / driver_rate,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--footprint",
        type=float,
        default=0,
        metavar="SECONDS",
        help="also measure the campus footprint with and without 50 BACnet devices of 30 objects",
    )
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    port = free_udp_port()
    figures: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as work,
        campus_process(Path(work), only("--bacnet-ahus", str(DEVICES), "--bacnet-port", str(port))),
    ):
        figures.update(asyncio.run(measure_reads(port)))
    if args.footprint:
        keys = (*FOOTPRINT_KEYS, "poll_latency_p99_ms")
        figures.update(footprint.beside(args.footprint, "campus_plus_50_bacnet", keys, bacnet=50))
    publish("bacnet_devices", "BACnet", figures, width=48)
    return 0


if __name__ == "__main__":
    sys.exit(main())
