"""Simulated OPC UA machines for the driver's tests, each on a free loopback port."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from drivers.opcua import OpcuaDevice
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[3]
PROFILES = REPO / "configs" / "profiles"


def from_profile(name: str, url: str, profile: str, **entry: Any) -> OpcuaDevice:
    """A device entry filled from a bundled profile, as the loader fills it."""
    keys = tomllib.loads((PROFILES / f"{profile}.toml").read_text())
    return OpcuaDevice(**{"name": name, "url": url, "timeout": 2.0, **keys, **entry})


def cnc(name: str, url: str, **entry: Any) -> OpcuaDevice:
    """The umati CNC profile, rooted where the simulator puts the machine."""
    return from_profile(name, url, "opcua-cnc-umati", root=f"Machines/{name}", **entry)


def port() -> int:
    """A free TCP port on 127.0.0.1."""
    return free_port()
