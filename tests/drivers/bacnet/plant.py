"""Simulated BACnet controllers for the driver's tests, each on its own loopback address and a free port.

The agent's endpoint is on 127.0.0.1 at another free port: bacpypes3 takes any datagram to
a 127.x address on its *own* port as addressed to itself, so the agent and the devices must
never share a port number on loopback.
"""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path
from typing import Any

from drivers.bacnet import BacnetDevice
from simulators.bacnet import BacnetSimDevice
from tests.support.ports import free_udp_port

REPO = Path(__file__).resolve().parents[3]
PROFILES = REPO / "configs" / "profiles"
AGENT = "127.0.0.1"
_HOSTS = itertools.cycle(range(21, 200))


def sim(kind: str = "bacnet-ahu", name: str = "ahu-1", **options: Any) -> BacnetSimDevice:
    """A controller on the next loopback address (127.0.0.21, .22, ...) at a free port."""
    return BacnetSimDevice(
        name,
        kind,
        f"127.0.0.{next(_HOSTS)}",
        free_udp_port(),
        instance=options.pop("instance", 2101),
        **options,
    )


def agent_port() -> int:
    """A free UDP port for the agent's own endpoint."""
    return free_udp_port()


def entry(device: BacnetSimDevice, port: int, profile: str | None = None, **keys: Any) -> BacnetDevice:
    """A [[devices.bacnet]] entry for ``device``, from its bundled profile unless objects are given."""
    base: dict[str, Any] = {}
    if "objects" not in keys:
        base = tomllib.loads((PROFILES / f"{profile or device.kind}.toml").read_text())
    return BacnetDevice(
        **{
            "name": device.name,
            "address": device.address,
            "local_address": AGENT,
            "port": port,
            "timeout": 1.0,
            "measurement": "hvac",
            **base,
            **keys,
        }
    )


def objects(device: BacnetSimDevice) -> list[dict[str, str]]:
    """One object entry per point of ``device``, named by type and instance."""
    return [{"object": f"{p.object_type},{p.instance}", "field": p.key} for p in device.points]
