"""Simulated BACnet/IP controllers (bacpypes3 servers): an air-handling unit and its VAV boxes."""

from __future__ import annotations

from .device import POINTS, BacnetSimDevice, Point

__all__ = ["POINTS", "BacnetSimDevice", "Point"]
