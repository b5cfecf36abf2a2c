"""A simulated UPS speaking UPS-MIB (RFC 1628): mains, load, and power cuts that drain it.

Every ``cycle`` seconds (from a seeded offset) the mains fail for ``outage`` seconds:
the output switches to battery, the charge drains with the load, the minutes remaining
fall, the battery goes low under 25 %, and alarms appear. When the mains return the
battery recharges. Every value is a function of the time, like the switch's counters.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import ber
from .agent import Getter
from .ber import Oid
from .entity import Nameplate, entity_objects

SYSTEM: Oid = (1, 3, 6, 1, 2, 1, 1)
UPS: Oid = (1, 3, 6, 1, 2, 1, 33, 1)
SYS_OBJECT_ID: Oid = (1, 3, 6, 1, 4, 1, 99999, 3, 1)
ALARM_ON_BATTERY: Oid = (*UPS, 6, 3, 2)
ALARM_LOW_BATTERY: Oid = (*UPS, 6, 3, 3)
RATED_W = 3000
FULL_RUNTIME_MIN = 40.0


@dataclass(frozen=True)
class UpsState:
    """The UPS at one instant."""

    on_battery: bool
    seconds_on_battery: int
    charge_pct: float
    load_pct: float
    input_voltage_v: float

    @property
    def battery_status(self) -> int:
        """upsBatteryStatus: 2 normal, 3 low."""
        return 3 if self.charge_pct < 25 else 2

    @property
    def minutes_remaining(self) -> int:
        """upsEstimatedMinutesRemaining at the present load."""
        return max(0, int(FULL_RUNTIME_MIN * self.charge_pct / 100 * 50 / max(self.load_pct, 5)))


class Ups:
    """The model of one UPS; :meth:`objects` is what its SNMP agent serves."""

    def __init__(
        self,
        name: str,
        seed: int,
        cycle: float = 3600.0,
        outage: float = 300.0,
        location: str = "wiring closet",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 < outage < cycle:
            raise ValueError("an outage must be shorter than the cycle it repeats in")
        rng = random.Random(seed)
        self.name, self.location, self.clock = name, location, clock
        self.cycle, self.outage = cycle, outage
        self.offset = rng.uniform(0, cycle)
        self.base_load = rng.uniform(20, 45)
        self.phase = rng.uniform(0, 2 * math.pi)
        self.boot = clock()
        #: Who the UPS says it is (ENTITY-MIB); a test may upgrade or swap it.
        self.nameplate = Nameplate(
            vendor="Simulated Power",
            model="SP-3000",
            serial=f"UPS{seed:08d}",
            software="1.7",
            firmware="1.7",
            hardware="A2",
        )

    def restart(self) -> None:
        """A reboot of its network card: sysUpTime starts again from zero."""
        self.boot = self.clock()

    def state(self, now: float) -> UpsState:
        """Mains or battery, charge, load and input voltage at ``now``."""
        into = (now - self.offset) % self.cycle
        load = self.base_load + 8 * math.sin(2 * math.pi * now / 900 + self.phase)
        drain = 100 * 0.6 / self.outage  # a cut takes 60 % of the charge
        recharge = 100 * 0.6 / (self.cycle - self.outage) * 1.5  # full again before the next cut
        if into < self.outage:
            charge = 100 - drain * into
            return UpsState(True, int(into), charge, load, 0.0)
        charge = min(100.0, 40 + recharge * (into - self.outage))
        voltage = 228 + 4 * math.sin(2 * math.pi * now / 600 + self.phase)
        return UpsState(False, 0, charge, load, voltage)

    def line_bads(self, now: float) -> int:
        """upsInputLineBads: mains failures since the UPS started."""
        return int((now - self.offset) // self.cycle - (self.boot - self.offset) // self.cycle)

    def objects(self) -> dict[Oid, Getter]:
        """system, and UPS-MIB's ident, battery, input, output and alarm groups."""

        def value(tag: int, compute: Callable[[UpsState], object]) -> Getter:
            return lambda now: (tag, compute(self.state(now)))

        def text(content: str) -> Getter:
            return lambda now: (ber.OCTET_STRING, content.encode())

        def alarms(now: float) -> list[Oid]:
            state = self.state(now)
            present = [ALARM_ON_BATTERY] if state.on_battery else []
            return present + ([ALARM_LOW_BATTERY] if state.battery_status == 3 else [])

        objects: dict[Oid, Getter] = {
            (*SYSTEM, 1, 0): text("Simulated online UPS SP-3000, agent 1.7"),
            (*SYSTEM, 4, 0): text("facilities@school.example"),
            (*SYSTEM, 2, 0): lambda now: (ber.OBJECT_ID, SYS_OBJECT_ID),
            (*SYSTEM, 3, 0): lambda now: (ber.TIMETICKS, int((now - self.boot) * 100) % 2**32),
            (*SYSTEM, 5, 0): text(self.name),
            (*SYSTEM, 6, 0): text(self.location),
            (*UPS, 1, 1, 0): text("Simulated Power"),
            (*UPS, 1, 2, 0): text("SP-3000"),
            (*UPS, 1, 5, 0): text(self.name),
            (*UPS, 2, 1, 0): value(ber.INTEGER, lambda s: s.battery_status),
            (*UPS, 2, 2, 0): value(ber.INTEGER, lambda s: s.seconds_on_battery),
            (*UPS, 2, 3, 0): value(ber.INTEGER, lambda s: s.minutes_remaining),
            (*UPS, 2, 4, 0): value(ber.INTEGER, lambda s: round(s.charge_pct)),
            (*UPS, 2, 5, 0): value(ber.INTEGER, lambda s: round((48 + 6 * s.charge_pct / 100) * 10)),
            (*UPS, 2, 7, 0): value(ber.INTEGER, lambda s: 27 if s.on_battery else 25),
            (*UPS, 3, 1, 0): lambda now: (ber.COUNTER32, self.line_bads(now)),
            (*UPS, 3, 2, 0): value(ber.INTEGER, lambda s: 1),
            (*UPS, 3, 3, 1, 1, 1): value(ber.INTEGER, lambda s: 1),
            (*UPS, 3, 3, 1, 2, 1): value(ber.INTEGER, lambda s: 0 if s.on_battery else 500),
            (*UPS, 3, 3, 1, 3, 1): value(ber.INTEGER, lambda s: round(s.input_voltage_v)),
            (*UPS, 4, 1, 0): value(ber.INTEGER, lambda s: 5 if s.on_battery else 3),
            (*UPS, 4, 2, 0): value(ber.INTEGER, lambda s: 500),
            (*UPS, 4, 3, 0): value(ber.INTEGER, lambda s: 1),
            (*UPS, 4, 4, 1, 1, 1): value(ber.INTEGER, lambda s: 1),
            (*UPS, 4, 4, 1, 2, 1): value(ber.INTEGER, lambda s: 230),
            (*UPS, 4, 4, 1, 3, 1): value(ber.INTEGER, lambda s: round(s.load_pct / 100 * RATED_W / 230 * 10)),
            (*UPS, 4, 4, 1, 4, 1): value(ber.INTEGER, lambda s: round(s.load_pct / 100 * RATED_W)),
            (*UPS, 4, 4, 1, 5, 1): value(ber.INTEGER, lambda s: round(s.load_pct)),
            (*UPS, 6, 1, 0): lambda now: (ber.GAUGE32, len(alarms(now))),
            (*UPS, 9, 5, 0): value(ber.INTEGER, lambda s: 3000),
            (*UPS, 9, 6, 0): value(ber.INTEGER, lambda s: RATED_W),
        }
        objects.update(entity_objects(self.nameplate, self.name))
        return objects
