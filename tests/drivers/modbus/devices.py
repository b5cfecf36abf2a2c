"""Device configs for the Modbus tests, built the way the loader builds them from profiles."""

from __future__ import annotations

import tomllib
from typing import Any

from drivers.modbus.config import ModbusDevice
from edge_agent.config.loader import BUNDLED_PROFILES


def from_profile(profile: str, **keys: Any) -> ModbusDevice:
    """A device using a bundled profile, its own keys winning (as ``profile = "..."`` does)."""
    data = tomllib.loads((BUNDLED_PROFILES / f"{profile}.toml").read_text(encoding="utf-8"))
    tags = {**data.pop("tags", {}), **keys.pop("tags", {})}
    return ModbusDevice.model_validate({**data, **keys, "tags": tags})


def from_toml(text: str) -> list[ModbusDevice]:
    """Every ``[[devices.modbus]]`` entry of ``text``, profiles applied."""
    devices = []
    for entry in tomllib.loads(text)["devices"]["modbus"]:
        profile = entry.pop("profile", None)
        devices.append(from_profile(profile, **entry) if profile else ModbusDevice.model_validate(entry))
    return devices
