"""Request planning: coalesce a device's registers into as few reads as the protocol allows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .config import BIT_TABLES, Register
from .decode import Decoder, decoder_for

#: Protocol limits per read request (Modbus application protocol v1.1b3, 6.1-6.4).
MAX_REGISTERS = 125
MAX_BITS = 2000


@dataclass(frozen=True, slots=True)
class Slot:
    """Where one field sits inside a request's answer, and how to decode it."""

    field: str
    offset: int
    width: int
    decode: Decoder


@dataclass(frozen=True, slots=True)
class Request:
    """One read request: a table, a start address, a count, and the fields it carries."""

    table: str
    address: int
    count: int
    slots: tuple[Slot, ...]

    @property
    def end(self) -> int:
        """One past the last address read."""
        return self.address + self.count


def plan(registers: Iterable[Register], max_gap: int) -> list[Request]:
    """Group registers by table and merge neighbours into reads within protocol limits.

    Two registers share a read when the unused addresses between them are at most
    ``max_gap`` and the read stays within 125 registers (2000 bits for coils and
    discrete inputs). Requests come out in table, then address order.
    """
    by_table: dict[str, list[Register]] = {}
    for register in registers:
        by_table.setdefault(register.table, []).append(register)
    requests: list[Request] = []
    for table in sorted(by_table):
        limit = MAX_BITS if table in BIT_TABLES else MAX_REGISTERS
        ordered = sorted(by_table[table], key=lambda r: r.address)
        group: list[Register] = []
        start = end = 0
        for register in ordered:
            reg_end = register.address + register.width
            if group and (register.address - end > max_gap or max(end, reg_end) - start > limit):
                requests.append(_request(table, start, end, group))
                group = []
            if not group:
                start, end = register.address, reg_end
            end = max(end, reg_end)
            group.append(register)
        if group:
            requests.append(_request(table, start, end, group))
    return requests


def _request(table: str, start: int, end: int, group: Sequence[Register]) -> Request:
    slots = tuple(
        Slot(r.field, r.address - start, r.width, decoder_for(r)) for r in group
    )
    return Request(table, start, end - start, slots)
