"""Simulated SNMP devices: access switches with many ports and UPSes, on loopback UDP.

Switch ``i`` (1-based) listens on ``base_port + i - 1``, then the UPSes follow. Every
device answers SNMPv1 and v2c with community ``public``. Example::

    async with SnmpCampus(seed=1, switches=1, ups=1, base_port=16100) as campus:
        switch = campus.switch("switch-1")
        print(campus.agents["switch-1"].requests)     # requests served, by PDU type
        print(switch.mean_bps(47, "in", t1, t2))       # ground truth for a rate
"""

from __future__ import annotations

import argparse
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from .agent import SimulatedAgent
from .switch import Switch
from .ups import Ups

__all__ = [
    "SimulatedAgent",
    "SnmpCampus",
    "SnmpDeviceInfo",
    "Switch",
    "Ups",
    "add_arguments",
    "build_snmp_devices",
    "from_args",
    "render_snmp_config",
]

COMMUNITY = "public"


@dataclass(frozen=True)
class SnmpDeviceInfo:
    """Where and what one simulated SNMP device is."""

    name: str
    kind: str
    host: str
    port: int
    profiles: tuple[str, ...]
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        """``host:port`` (UDP), IPv6 bracketed."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def build_snmp_devices(
    switches: int, ups: int, base_port: int, host: str = "127.0.0.1"
) -> list[SnmpDeviceInfo]:
    """Lay out the devices without starting anything; ValueError for a bad host or port range."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"host {host!r} is not a loopback address; refusing to bind")
    if min(switches, ups) < 0:
        raise ValueError("device counts must not be negative")
    if base_port < 1 or base_port + switches + ups - 1 > 65535:
        raise ValueError(f"SNMP ports {base_port}..{base_port + switches + ups - 1} do not fit in 1..65535")
    devices = [
        SnmpDeviceInfo(
            f"switch-{i}",
            "switch",
            host,
            base_port + i - 1,
            ("system", "if-mib"),
            {"building": "AB"[(i - 1) % 2], "room": f"closet-{i}"},
        )
        for i in range(1, switches + 1)
    ]
    devices += [
        SnmpDeviceInfo(
            f"ups-{i}",
            "ups",
            host,
            base_port + switches + i - 1,
            ("system", "ups-mib"),
            {"building": "AB"[(i - 1) % 2], "room": f"closet-{i}"},
        )
        for i in range(1, ups + 1)
    ]
    return devices


def render_snmp_config(devices: list[SnmpDeviceInfo]) -> str:
    """The agent's ``[[devices.snmp]]`` TOML entries for ``devices``."""
    blocks = []
    for device in devices:
        tags = ", ".join(f'{key} = "{value}"' for key, value in device.tags.items())
        profiles = ", ".join(f'"{p}"' for p in device.profiles)
        blocks.append(
            "\n".join(
                [
                    "[[devices.snmp]]",
                    f'name = "{device.name}"',
                    f'host = "{device.host}"',
                    f"port = {device.port}",
                    'version = "2c"',
                    f'community = "{COMMUNITY}"',
                    f"profile = [{profiles}]",
                    f"tags = {{ {tags} }}",
                ]
            )
        )
    return "\n\n".join(blocks) + ("\n" if blocks else "")


class SnmpCampus:
    """The simulated SNMP devices; start it to serve them all."""

    def __init__(
        self,
        seed: int = 1,
        switches: int = 1,
        ups: int = 1,
        base_port: int = 16100,
        host: str = "127.0.0.1",
        ports: int = 48,
        hc: bool = False,
        wrap_after: float | None = None,
        max_size: int = 65_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.devices = build_snmp_devices(switches, ups, base_port, host)
        self.models: dict[str, Switch | Ups] = {}
        for index, device in enumerate(self.devices):
            location = f"building {device.tags['building']}, {device.tags['room']}"
            device_seed = seed + 100 + index
            self.models[device.name] = (
                Switch(
                    device.name,
                    device_seed,
                    ports=ports,
                    hc=hc,
                    wrap_after=wrap_after,
                    location=location,
                    clock=clock,
                )
                if device.kind == "switch"
                else Ups(device.name, device_seed, location=location, clock=clock)
            )
        self.agents = {
            d.name: SimulatedAgent(self.models[d.name], d.host, d.port, COMMUNITY, max_size, clock)
            for d in self.devices
        }
        self._started: list[SimulatedAgent] = []

    def switch(self, name: str) -> Switch:
        """The model of switch ``name``."""
        model = self.models[name]
        assert isinstance(model, Switch)
        return model

    def ups(self, name: str) -> Ups:
        """The model of UPS ``name``."""
        model = self.models[name]
        assert isinstance(model, Ups)
        return model

    def render_config(self) -> str:
        """The agent's ``[[devices.snmp]]`` TOML for these devices."""
        return render_snmp_config(self.devices)

    async def start(self) -> None:
        """Listen on every port; OSError naming the device if one is taken (none left open)."""
        try:
            for device in self.devices:
                agent = self.agents[device.name]
                try:
                    await agent.start()
                except OSError as exc:
                    raise OSError(f"{device.name}: cannot listen on udp {device.endpoint}: {exc}") from exc
                self._started.append(agent)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop listening."""
        started, self._started = self._started, []
        for agent in started:
            agent.close()

    async def __aenter__(self) -> SnmpCampus:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``campus`` options for SNMP devices."""
    group = parser.add_argument_group("SNMP devices (UDP, SNMPv1/v2c, community public)")
    group.add_argument("--switches", type=int, default=0, help="simulated access switches (default 0)")
    group.add_argument("--ups", type=int, default=0, help="simulated UPSes (default 0)")
    group.add_argument("--switch-ports", type=int, default=48, help="ports per switch (default 48)")
    group.add_argument(
        "--switch-hc",
        action="store_true",
        help="give the switches 64-bit ifHC* counters (default: 32-bit only, which wrap)",
    )
    group.add_argument(
        "--snmp-port",
        type=int,
        default=16100,
        help="UDP port of the first SNMP device, then +1 each (default 16100)",
    )


def from_args(args: argparse.Namespace, clock: Callable[[], float] | None = None) -> SnmpCampus | None:
    """The SNMP devices the ``campus`` options ask for, or None when there are none."""
    if args.switches == 0 and args.ups == 0:
        return None
    return SnmpCampus(
        args.seed,
        args.switches,
        args.ups,
        args.snmp_port,
        args.host,
        args.switch_ports,
        args.switch_hc,
        clock=clock or time.time,
    )
