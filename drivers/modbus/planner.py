"""Request planning: coalesce a device's registers into as few reads as the protocol allows.

A plan is a list of :class:`Request`; each carries the :class:`Slot` of every value it
reads. When a device refuses a coalesced read (exception 2, an address it does not have
inside the span), :func:`sub_request` cuts the request down to some of its slots; the driver
then keeps the pieces as its new plan (see ``holes.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .config import BIT_TABLES, PROTOCOL_MAX_BITS, PROTOCOL_MAX_REGISTERS, Register
from .decode import Decoder, TextDecoder, WholeRead, decoder_for, text_for, whole_read

#: Protocol limits per read request (Modbus application protocol v1.1b3, 6.1-6.4).
MAX_REGISTERS = PROTOCOL_MAX_REGISTERS
MAX_BITS = PROTOCOL_MAX_BITS


@dataclass(frozen=True, slots=True)
class Slot:
    """Where one value sits inside a request's answer, and what it becomes.

    ``field`` (with ``decode``) names the number it yields, ``tag`` (with ``text``) the text.
    ``address`` is the absolute address, ``offset`` the position within the request.
    """

    field: str | None
    offset: int
    width: int
    decode: Decoder | None
    tag: str | None = None
    text: TextDecoder | None = None
    address: int = 0

    @property
    def name(self) -> str:
        """The field (or tag) name, for log lines."""
        return self.field or self.tag or "?"


@dataclass(frozen=True, slots=True)
class Request:
    """One read request: a table, a start address, a count, and the values it carries."""

    table: str
    address: int
    count: int
    slots: tuple[Slot, ...]
    #: Every field in one unpack, when the values allow (decode.WholeRead); else slot by slot.
    whole: WholeRead | None = None

    @property
    def end(self) -> int:
        """One past the last address read."""
        return self.address + self.count

    def describe(self) -> str:
        """``input 0-17`` for log lines."""
        if self.count == 1:
            return f"{self.table} {self.address}"
        return f"{self.table} {self.address}-{self.end - 1}"


def plan(
    registers: Iterable[Register],
    max_gap: int,
    max_registers: int = MAX_REGISTERS,
    max_bits: int = MAX_BITS,
) -> list[Request]:
    """Group registers by table and merge neighbours into reads within the limits.

    Two registers share a read when the unused addresses between them are at most
    ``max_gap`` and the read stays within ``max_registers`` registers (``max_bits`` bits for
    coils and discrete inputs); both default to the protocol's 125 and 2000, and a device
    may allow less. Requests come out in table, then address order.
    """
    by_table: dict[str, list[Register]] = {}
    for register in registers:
        by_table.setdefault(register.table, []).append(register)
    requests: list[Request] = []
    for table in sorted(by_table):
        limit = max_bits if table in BIT_TABLES else max_registers
        ordered = sorted(by_table[table], key=lambda r: (r.address, r.width))
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


#: Plans made, by register list: the devices of one profile share its list (campus_core.validated)
#: and so share one plan. Requests are immutable; a driver that adapts its plan replaces it.
_PLANS: dict[tuple[int, int, int, int], tuple[Sequence[Register], tuple[Request, ...]]] = {}
#: Plans kept at most; a reload brings new lists, and the old ones need not stay.
MAX_SHARED_PLANS = 256


def shared_plan(
    registers: Sequence[Register], max_gap: int, max_registers: int = MAX_REGISTERS, max_bits: int = MAX_BITS
) -> tuple[Request, ...]:
    """:func:`plan` for ``registers``, made once for every device reading this very list."""
    key = (id(registers), max_gap, max_registers, max_bits)
    hit = _PLANS.get(key)
    # The list is kept beside its plan, so that its id cannot be reused while cached.
    if hit is not None and hit[0] is registers:
        return hit[1]
    requests = tuple(plan(registers, max_gap, max_registers, max_bits))
    if len(_PLANS) >= MAX_SHARED_PLANS:
        _PLANS.clear()
    _PLANS[key] = (registers, requests)
    return requests


def sub_request(request: Request, first: int, stop: int) -> Request:
    """The request that reads only ``request.slots[first:stop]``, spanning just those values."""
    slots = request.slots[first:stop]
    if not slots:
        raise ValueError("a request needs at least one slot")
    start = min(slot.address for slot in slots)
    end = max(slot.address + slot.width for slot in slots)
    moved = tuple(
        Slot(s.field, s.address - start, s.width, s.decode, s.tag, s.text, s.address) for s in slots
    )
    return Request(request.table, start, end - start, moved)


def _request(table: str, start: int, end: int, group: Sequence[Register]) -> Request:
    slots = tuple(
        Slot(
            r.field,
            r.address - start,
            r.width,
            decoder_for(r) if r.field is not None else None,
            r.tag,
            text_for(r),
            r.address,
        )
        for r in group
    )
    whole = None if table in BIT_TABLES else whole_read(group, start, end - start)
    return Request(table, start, end - start, slots, whole)
