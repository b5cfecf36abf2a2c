"""ENTITY-MIB (RFC 4133) for the simulated devices: one chassis row that says who the device is.

The physical entity table of a real switch lists the chassis, its modules, fans, power
supplies and ports; the asset register reads only the chassis (class 3), so the
simulators serve that row and a power supply inside it, enough to show that the chassis
is found by its class. Every value is read from the device model when asked, so a test
that upgrades a simulated device's firmware sees the next probe read the new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import ber
from .agent import Getter
from .ber import Oid

ENT_PHYSICAL: Oid = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)
CHASSIS, POWER_SUPPLY = 3, 6


@dataclass
class Nameplate:
    """What a simulated device's chassis states; change it to "upgrade" or "swap" the device."""

    vendor: str
    model: str
    serial: str
    software: str
    firmware: str
    hardware: str

    def description(self) -> str:
        """sysDescr as such devices write it."""
        return f"{self.vendor} {self.model}, software {self.software}"


def entity_objects(plate: Nameplate, name: str) -> dict[Oid, Getter]:
    """entPhysicalTable: the chassis (index 1) and one power supply (index 2) inside it."""

    def text(read: Callable[[], str]) -> Getter:
        return lambda now: (ber.OCTET_STRING, read().encode())

    def number(value: int) -> Getter:
        return lambda now: (ber.INTEGER, value)

    chassis: dict[int, Getter] = {
        2: text(plate.description),
        3: lambda now: (ber.OBJECT_ID, (0, 0)),
        4: number(0),
        5: number(CHASSIS),
        6: number(-1),
        7: text(lambda: name),
        8: text(lambda: plate.hardware),
        9: text(lambda: plate.firmware),
        10: text(lambda: plate.software),
        11: text(lambda: plate.serial),
        12: text(lambda: plate.vendor),
        13: text(lambda: plate.model),
    }
    supply: dict[int, Getter] = {
        2: text(lambda: "power supply"),
        3: lambda now: (ber.OBJECT_ID, (0, 0)),
        4: number(1),
        5: number(POWER_SUPPLY),
        6: number(1),
        7: text(lambda: "PSU 1"),
        8: text(lambda: ""),
        9: text(lambda: ""),
        10: text(lambda: ""),
        11: text(lambda: f"{plate.serial}-P1"),
        12: text(lambda: plate.vendor),
        13: text(lambda: "PSU-150"),
    }
    objects: dict[Oid, Getter] = {(*ENT_PHYSICAL, column, 1): get for column, get in chassis.items()}
    objects.update({(*ENT_PHYSICAL, column, 2): get for column, get in supply.items()})
    return objects
