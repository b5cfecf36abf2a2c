"""OPC UA driver (``[[devices.opcua]]``): CNC controllers, PLCs and robot cells over OPC UA.

``config.py`` is what a technician writes, ``security.py`` secures the channel and checks
the server's certificate, ``session.py`` connects, resolves and reads, ``driver.py`` polls
(and subscribes), ``scan.py`` is ``edge-agent scan opcua``. The driver and asyncua are
imported on first use, not with the config model: a gateway without OPC UA machines never
loads asyncua (about 30 MB and a third of a second).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import NodeSpec, OpcuaDevice

if TYPE_CHECKING:
    from .driver import OpcuaDriver, OpcuaStats

__all__ = ["NodeSpec", "OpcuaDevice", "OpcuaDriver", "OpcuaStats"]


def __getattr__(name: str) -> Any:
    if name in ("OpcuaDriver", "OpcuaStats"):
        from . import driver

        return getattr(driver, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
