"""BACnet/IP driver (``[[devices.bacnet]]``): air-handling units, VAV boxes, fan coils, BMS panels.

``config.py`` is what a technician writes, ``units.py`` checks field names against BACnet
engineering units (the table of units, suffixes and conversions is campus_core.bacnet_units,
shared with the point-table import), ``link.py`` is the agent's own UDP endpoint (shared by the devices
naming it, with foreign-device registration), ``plan.py`` sizes ReadPropertyMultiple
requests, ``session.py`` finds a device and reads it, ``objects.py`` finds the configured
objects and converts their values, ``cov.py`` keeps change-of-value subscriptions,
``driver.py`` polls, ``scan.py`` is ``edge-agent scan bacnet``. The driver and bacpypes3 are
imported on first use, not with the config model: a gateway without BACnet devices never
loads bacpypes3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import BacnetDevice, ObjectSpec

if TYPE_CHECKING:
    from .driver import BacnetDriver, BacnetStats

__all__ = ["BacnetDevice", "BacnetDriver", "BacnetStats", "ObjectSpec"]


def __getattr__(name: str) -> Any:
    if name in ("BacnetDriver", "BacnetStats"):
        from . import driver

        return getattr(driver, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
