"""A simulated access switch: many ports, traffic that follows the day, counters that wrap.

Each connected port carries traffic whose rate is a base rate times a sum of waves
(a day, a few minutes, a minute), so the byte counters are the exact integral of the
rate: ground truth for any two instants is :meth:`Switch.mean_bps`. Uplinks carry
hundreds of Mbit/s, so their 32-bit ``ifInOctets`` wrap every minute or so; the 64-bit
``ifHC*`` columns exist only when the switch is built with ``hc=True`` (an older switch
without them makes the agent fall back to the 32-bit ones). :meth:`Switch.restart` is a
reboot: uptime and counters start again from zero.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import ber
from .agent import Getter
from .ber import Oid, Value
from .entity import Nameplate, entity_objects

SYSTEM = (1, 3, 6, 1, 2, 1, 1)
IF_NUMBER = (1, 3, 6, 1, 2, 1, 2, 1, 0)
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX_ENTRY = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
SYS_OBJECT_ID = (1, 3, 6, 1, 4, 1, 99999, 2, 48)
WRAP32 = 2**32
#: Periods (s) and relative amplitudes of the traffic waves: a day, seven minutes, a minute.
WAVES = ((86_400.0, 0.55), (420.0, 0.25), (60.0, 0.1))
PACKET_BYTES = {"in": 700, "out": 900}


@dataclass(frozen=True)
class Port:
    """One port: identity, state and its traffic parameters."""

    index: int
    name: str
    descr: str
    alias: str
    speed_bps: int
    connected: bool
    admin_up: bool
    mac: bytes
    base_bps: dict[str, float]
    phases: dict[str, tuple[float, ...]]
    start: dict[str, int]
    errors_per_s: float
    discards_per_s: float


class Switch:
    """The model of one switch; :meth:`objects` is what its SNMP agent serves."""

    def __init__(
        self,
        name: str,
        seed: int,
        ports: int = 48,
        uplinks: int = 2,
        hc: bool = False,
        wrap_after: float | None = None,
        location: str = "wiring closet",
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``wrap_after`` seconds: start the busiest 32-bit counters that close to their wrap."""
        if ports < 1 or not 0 <= uplinks <= ports:
            raise ValueError("a switch needs at least one port, and no more uplinks than ports")
        self.name, self.hc, self.location, self.clock = name, hc, location, clock
        rng = random.Random(seed)
        self.ports = [self._port(rng, i, ports, uplinks, wrap_after) for i in range(1, ports + 1)]
        self.boot = clock()
        self.restarts = 0
        #: Who the switch says it is (sysDescr, ENTITY-MIB); a test may upgrade or swap it.
        self.nameplate = Nameplate(
            vendor="Simulated Networks",
            model=f"SW-{ports}G",
            serial=f"SN{seed:08d}",
            software=("2.4.1", "2.5.0")[seed % 2],
            firmware="1.0.3",
            hardware="B0",
        )

    def _port(
        self, rng: random.Random, index: int, count: int, uplinks: int, wrap_after: float | None
    ) -> Port:
        uplink = index > count - uplinks
        connected = uplink or rng.random() < 0.8
        speed = 10_000_000_000 if uplink else 1_000_000_000
        if uplink:
            base = {"in": rng.uniform(150e6, 600e6), "out": rng.uniform(80e6, 300e6)}
        else:
            base = (
                {"in": rng.uniform(0.3e6, 25e6), "out": rng.uniform(0.5e6, 60e6)}
                if connected
                else {"in": 0.0, "out": 0.0}
            )
        phases = {d: tuple(rng.uniform(0, 2 * math.pi) for _ in WAVES) for d in ("in", "out")}
        if wrap_after is not None:
            start = {d: (WRAP32 - int(base[d] / 8 * wrap_after)) % WRAP32 for d in ("in", "out")}
        else:
            start = {d: rng.randrange(WRAP32) for d in ("in", "out")}
        name = f"Te1/0/{index - count + uplinks}" if uplink else f"Gi1/0/{index}"
        alias = (
            f"uplink {index - count + uplinks} to core"
            if uplink
            else (f"room {100 + index}" if connected else "")
        )
        mac = bytes([0x02, 0x5E, (index >> 8) & 0xFF, index & 0xFF, rng.randrange(256), rng.randrange(256)])
        errors = rng.choice([0.0] * 8 + [0.02, 0.2]) if connected else 0.0
        discards = 0.05 if uplink else 0.0
        descr = ("TenGigabitEthernet" if uplink else "GigabitEthernet") + name[2:]
        admin_up = connected or rng.random() < 0.5
        return Port(
            index, name, descr, alias, speed, connected, admin_up, mac, base, phases, start, errors, discards
        )

    def restart(self) -> None:
        """A reboot: sysUpTime and every counter start again from zero."""
        self.boot = self.clock()
        self.restarts += 1
        for i, port in enumerate(self.ports):
            self.ports[i] = Port(**{**port.__dict__, "start": {"in": 0, "out": 0}})

    def wrap_in(self, seconds: float) -> None:
        """Aim every busy port's 32-bit octet counters to wrap ``seconds`` from now, exactly.

        ``wrap_after`` aims at the boot and assumes the base rate; a test on a loaded machine
        may start polling after that wrap already went by, so it aims here instead.
        """
        then = self.clock() + seconds
        for i, port in enumerate(self.ports):
            if port.base_bps["in"] or port.base_bps["out"]:
                start = {d: -int(self.bits(port, d, then) / 8) % WRAP32 for d in ("in", "out")}
                self.ports[i] = Port(**{**port.__dict__, "start": start})

    def uptime_ticks(self, now: float) -> int:
        """sysUpTime in hundredths of a second."""
        return int((now - self.boot) * 100) % WRAP32

    def bits(self, port: Port, direction: str, now: float) -> float:
        """Bits the port carried in ``direction`` since the boot: the integral of its rate."""
        base = port.base_bps[direction]
        if base == 0.0:
            return 0.0
        t0 = self.boot
        total = now - t0
        for (period, amplitude), phase in zip(WAVES, port.phases[direction], strict=True):
            omega = 2 * math.pi / period
            total += amplitude / omega * (math.cos(omega * t0 + phase) - math.cos(omega * now + phase))
        return base * max(0.0, total)

    def octets(self, port: Port, direction: str, now: float) -> int:
        """The 64-bit octet counter (``ifHC*Octets``); ``% 2**32`` is ``if*Octets``."""
        return port.start[direction] + int(self.bits(port, direction, now) / 8)

    def mean_bps(self, index: int, direction: str, t1: float, t2: float) -> float:
        """Ground truth: the port's mean rate in bit/s between two instants."""
        port = self.ports[index - 1]
        return (self.bits(port, direction, t2) - self.bits(port, direction, t1)) / (t2 - t1)

    def objects(self) -> dict[Oid, Getter]:
        """system, ifNumber, ifTable, ifXTable and the ENTITY-MIB chassis, every value computed when asked."""
        plate = self.nameplate
        objects: dict[Oid, Getter] = {
            (*SYSTEM, 1, 0): lambda now: (ber.OCTET_STRING, plate.description().encode()),
            (*SYSTEM, 2, 0): _const(ber.OBJECT_ID, SYS_OBJECT_ID),
            (*SYSTEM, 3, 0): lambda now: (ber.TIMETICKS, self.uptime_ticks(now)),
            (*SYSTEM, 4, 0): _const(ber.OCTET_STRING, b"it@school.example"),
            (*SYSTEM, 5, 0): _const(ber.OCTET_STRING, self.name.encode()),
            (*SYSTEM, 6, 0): _const(ber.OCTET_STRING, self.location.encode()),
            (*SYSTEM, 7, 0): _const(ber.INTEGER, 2),
            IF_NUMBER: _const(ber.INTEGER, len(self.ports)),
        }
        for port in self.ports:
            objects.update(self._port_objects(port))
        objects.update(entity_objects(plate, self.name))
        return objects

    def _port_objects(self, port: Port) -> dict[Oid, Getter]:
        i = port.index

        def current() -> Port:
            return self.ports[i - 1]  # restart() replaces the port

        def counter(direction: str, per: int, wide: bool) -> Getter:
            tag, wrap = (ber.COUNTER64, 2**64) if wide else (ber.COUNTER32, WRAP32)
            return lambda now: (tag, self.octets(current(), direction, now) // per % wrap)

        def events(per_s: float) -> Getter:
            return lambda now: (ber.COUNTER32, int(per_s * max(0.0, now - self.boot)) % WRAP32)

        oper = 1 if port.connected and port.admin_up else 2
        high = port.speed_bps // 1_000_000
        table: dict[int, Getter] = {
            1: _const(ber.INTEGER, i),
            2: _const(ber.OCTET_STRING, port.descr.encode()),
            3: _const(ber.INTEGER, 6),
            4: _const(ber.INTEGER, 1500),
            5: _const(ber.GAUGE32, min(port.speed_bps, WRAP32 - 1)),
            6: _const(ber.OCTET_STRING, port.mac),
            7: _const(ber.INTEGER, 1 if port.admin_up else 2),
            8: _const(ber.INTEGER, oper),
            9: _const(ber.TIMETICKS, 0),
            10: counter("in", 1, False),
            11: counter("in", PACKET_BYTES["in"], False),
            12: events(0.5 if port.connected else 0.0),
            13: events(port.discards_per_s),
            14: events(port.errors_per_s),
            15: _const(ber.COUNTER32, 0),
            16: counter("out", 1, False),
            17: counter("out", PACKET_BYTES["out"], False),
            18: events(1.0 if port.connected else 0.0),
            19: events(port.discards_per_s),
            20: events(port.errors_per_s / 4),
            21: _const(ber.GAUGE32, 0),
            22: _const(ber.OBJECT_ID, (0, 0)),
        }
        extended: dict[int, Getter] = {
            1: _const(ber.OCTET_STRING, port.name.encode()),
            2: events(0.3 if port.connected else 0.0),
            3: events(0.5 if port.connected else 0.0),
            4: events(0.6 if port.connected else 0.0),
            5: events(1.0 if port.connected else 0.0),
            14: _const(ber.INTEGER, 1),
            15: _const(ber.GAUGE32, high),
            16: _const(ber.INTEGER, 2),
            17: _const(ber.INTEGER, 1),
            18: _const(ber.OCTET_STRING, port.alias.encode()),
            19: _const(ber.TIMETICKS, 0),
        }
        if self.hc:
            extended.update(
                {
                    6: counter("in", 1, True),
                    7: counter("in", PACKET_BYTES["in"], True),
                    10: counter("out", 1, True),
                    11: counter("out", PACKET_BYTES["out"], True),
                }
            )
        objects: dict[Oid, Getter] = {(*IF_ENTRY, column, i): getter for column, getter in table.items()}
        objects.update({(*IFX_ENTRY, column, i): getter for column, getter in extended.items()})
        return objects


def _const(tag: int, value: object) -> Getter:
    constant: Value = (tag, value)
    return lambda now: constant
