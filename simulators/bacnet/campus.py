"""The campus's BACnet controllers: ``--bacnet-ahus N --bacnet-vavs N --bacnet-fcus N`` of
``python -m simulators campus``.

AHU ``i`` listens on 127.0.1.i, VAV box ``j`` on 127.0.2.j, fan coil ``k`` on 127.0.3.k, all
on ``--bacnet-port`` (default 15060): each device has a loopback address of its own, as each
controller has an IP address of its own on a school's BMS network. Device instances are
1000 + i, 2000 + j and 3000 + k; every second VAV box shows °F and cfm, as a US-made box
would, so the agent's unit conversion is in the demo too.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..campus import check_loopback
from .device import BacnetSimDevice

__all__ = [
    "BacnetCampus",
    "BacnetInfo",
    "add_arguments",
    "build_bacnet_devices",
    "from_args",
    "render_bacnet_config",
]

#: The agent's own port in the rendered config: never the devices' (tests/drivers/bacnet/plant.py).
AGENT_PORT_OFFSET = 9


@dataclass(frozen=True)
class BacnetInfo:
    """Where and what one simulated controller is."""

    name: str
    kind: str
    host: str
    port: int
    instance: int
    imperial: bool = False
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--bacnet-ahus N --bacnet-vavs N --bacnet-fcus N --bacnet-port P``."""
    parser.add_argument("--bacnet-ahus", type=int, default=0, help="BACnet air-handling units (default 0)")
    parser.add_argument("--bacnet-vavs", type=int, default=0, help="BACnet VAV boxes (default 0)")
    parser.add_argument("--bacnet-fcus", type=int, default=0, help="BACnet fan-coil units (default 0)")
    parser.add_argument(
        "--bacnet-port",
        type=int,
        default=15060,
        help="UDP port of every BACnet device, each on its own 127.0.0.x (default 15060)",
    )


def build_bacnet_devices(ahus: int, vavs: int, port: int, fcus: int = 0) -> list[BacnetInfo]:
    """The controllers of a campus, laid out without starting anything."""
    if min(ahus, vavs, fcus) < 0 or max(ahus, vavs, fcus) > 254:
        raise ValueError(
            "--bacnet-ahus, --bacnet-vavs and --bacnet-fcus are 0..254 (one 127.0.x.y address each)"
        )
    if not 1 <= port <= 65535 - AGENT_PORT_OFFSET:
        raise ValueError(f"--bacnet-port {port}: 1..{65535 - AGENT_PORT_OFFSET}")
    infos = [
        BacnetInfo(
            f"ahu-{i}",
            "bacnet-ahu",
            check_loopback(f"127.0.1.{i}"),
            port,
            1000 + i,
            False,
            {"building": "AB"[(i - 1) % 2], "room": f"plant-{i}"},
        )
        for i in range(1, ahus + 1)
    ]
    infos += [
        BacnetInfo(
            f"vav-{j}",
            "bacnet-vav",
            check_loopback(f"127.0.2.{j}"),
            port,
            2000 + j,
            j % 2 == 0,
            {"building": "AB"[(j - 1) % 2], "room": str(100 + j)},
        )
        for j in range(1, vavs + 1)
    ]
    infos += [
        BacnetInfo(
            f"fcu-{k}",
            "bacnet-fcu",
            check_loopback(f"127.0.3.{k}"),
            port,
            3000 + k,
            False,
            {"building": "AB"[(k - 1) % 2], "room": str(200 + k)},
        )
        for k in range(1, fcus + 1)
    ]
    return infos


def render_bacnet_config(infos: Sequence[BacnetInfo]) -> str:
    """The agent's ``[[devices.bacnet]]`` entries, on the agent's own port beside the devices'."""
    out = []
    for info in infos:
        tags = ", ".join(f'{k} = "{v}"' for k, v in info.tags.items())
        out.append(
            f'[[devices.bacnet]]\nname = "{info.name}"\naddress = "{info.address}"\n'
            f'device_instance = {info.instance}\nprofile = "{info.kind}"\nlocal_address = "127.0.0.1"\n'
            f"port = {info.port + AGENT_PORT_OFFSET}\ntags = {{ {tags} }}\n"
        )
    return "\n".join(out)


class BacnetCampus:
    """The campus's BACnet controllers; start it to serve them all."""

    def __init__(
        self, infos: Sequence[BacnetInfo], seed: int = 1, clock: Callable[[], float] | None = None
    ) -> None:
        self.infos = list(infos)
        self.devices = [
            BacnetSimDevice(
                info.name,
                info.kind,
                info.host,
                info.port,
                instance=info.instance,
                seed=seed + 300 + i,
                imperial=info.imperial,
                clock=clock or time.time,
            )
            for i, info in enumerate(self.infos)
        ]
        self._started: list[BacnetSimDevice] = []

    async def start(self) -> None:
        """Listen on every address; OSError naming the device if one is taken (none left open)."""
        for device in self.devices:
            try:
                await device.start()
            except OSError:
                await self.stop()
                raise
            self._started.append(device)

    async def stop(self) -> None:
        """Stop every device started."""
        while self._started:
            await self._started.pop().stop()


def from_args(args: argparse.Namespace, clock: Callable[[], float] | None = None) -> BacnetCampus | None:
    """The controllers the campus command was asked for (on the campus's simulated time), or None."""
    if not args.bacnet_ahus and not args.bacnet_vavs and not args.bacnet_fcus:
        return None
    layout = build_bacnet_devices(args.bacnet_ahus, args.bacnet_vavs, args.bacnet_port, args.bacnet_fcus)
    return BacnetCampus(layout, args.seed, clock)
