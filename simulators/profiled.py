"""A Modbus TCP device serving the register map of any agent profile, every value fixed and distinct.

For tests that hold two profiles of one device against each other (a hand-written profile and
the one ``edge-agent import points`` made from the integrator's point table): served from the
same registers, both must read the same values. Every value differs from the others and
32-bit integers exceed 16 bits, so a register read at the wrong address, with the wrong type
or the wrong word order shows. The map comes from the profile's ``[[registers]]`` as written.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from .registers import RegType, WordOrder, encode

#: Tables in the order SimDevice takes them.
_TABLES: Final = ("coil", "discrete", "holding", "input")


@dataclass(frozen=True)
class ServedValue:
    """One register of the profile as served: its words, and the value an agent should read."""

    field: str
    table: str
    address: int
    words: tuple[int, ...]
    value: float


def _raw(kind: str, index: int) -> float:
    """A raw value of ``kind`` unlike its neighbours'; negative ones for signed types."""
    if kind == "float32":
        return 100.25 + 3 * index  # exact in a float32
    if kind == "int16":
        return -(50 + index) if index % 2 else 50 + index
    if kind == "uint16":
        return 200 + 3 * index
    if kind == "int32":
        return -(70_000 + 11 * index)
    if kind == "uint32":
        return 70_000 + 11 * index
    raise ValueError(f"the profiled device serves int16, uint16, int32, uint32 and float32, not {kind}")


def served_values(registers: Sequence[Mapping[str, Any]]) -> list[ServedValue]:
    """The value each of ``registers`` (a profile's ``[[registers]]``) is served with."""
    served = []
    for index, register in enumerate(registers):
        kind: RegType = register.get("type", "uint16")
        order: WordOrder = register.get("order", "ABCD")
        raw = _raw(kind, index)
        words = encode(raw, kind, order)
        if kind == "float32":
            raw = struct.unpack(">f", struct.pack(">f", raw))[0]
        value = raw * float(register.get("scale", 1.0)) + float(register.get("offset", 0.0))
        served.append(
            ServedValue(
                register["field"], register.get("table", "holding"), register["address"], tuple(words), value
            )
        )
    return served


class ProfiledDevice:
    """``async with ProfiledDevice(profile["registers"], host, port):`` serves them on unit 1."""

    def __init__(self, registers: Sequence[Mapping[str, Any]], host: str, port: int, unit: int = 1) -> None:
        """Lay the registers out; nothing listens until entered."""
        self.values = served_values(registers)
        self.host, self.port, self.unit = host, port, unit
        self._server: ModbusTcpServer | None = None

    def _device(self) -> SimDevice:
        blocks: list[list[SimData]] = []
        for table in _TABLES:
            mine = [v for v in self.values if v.table == table]
            if table in ("coil", "discrete"):
                blocks.append([SimData(0, values=[False], datatype=DataType.BITS)])  # profiles here have none
                continue
            if not mine:
                blocks.append([SimData(0, datatype=DataType.INVALID)])  # reads of it are refused
                continue
            words = [0] * max(v.address + len(v.words) for v in mine)
            for value in mine:
                words[value.address : value.address + len(value.words)] = value.words
            blocks.append([SimData(0, values=words, datatype=DataType.REGISTERS, readonly=True)])
        return SimDevice(id=self.unit, simdata=(blocks[0], blocks[1], blocks[2], blocks[3]))

    async def __aenter__(self) -> ProfiledDevice:
        logging.getLogger("pymodbus").setLevel(logging.WARNING)
        self._server = ModbusTcpServer(self._device(), address=(self.host, self.port))
        await self._server.serve_forever(background=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None
