"""Read Device Identification (function code 43, MEI type 14) on the wire: request and answer.

The Modbus application protocol (v1.1b3, section 6.21) lets a device state its identity as
numbered objects: the basic ones (0 VendorName, 1 ProductCode, 2 MajorMinorRevision), the
regular ones (3 VendorUrl, 4 ProductName, 5 ModelName, 6 UserApplicationName) and
vendor-specific extended ones (0x80-0xFF). A request names a read code (1 basic, 2
regular, 3 extended stream, 4 one object) and the object to start at; an answer that does
not fit in one frame says "more follows" and where to go on. It is a read: it changes
nothing on the device, so the links let it through beside the reads 1-4 (and no other
MEI type).
"""

from __future__ import annotations

from dataclasses import dataclass

FUNCTION = 0x2B
READ_DEVICE_ID = 0x0E
BASIC, REGULAR = 1, 2
#: The objects the register reads, by object id.
OBJECTS = {
    0: "VendorName",
    1: "ProductCode",
    2: "MajorMinorRevision",
    3: "VendorUrl",
    4: "ProductName",
    5: "ModelName",
    6: "UserApplicationName",
}
_MORE_FOLLOWS = {0x00: False, 0xFF: True}


class PageError(ValueError):
    """An answer to FC 43 that does not follow the protocol; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class IdPage:
    """One answer to Read Device Identification: the objects it carries and where to go on."""

    read_code: int
    conformity: int
    more: bool
    next_object: int
    objects: tuple[tuple[int, bytes], ...]


def request(read_code: int, object_id: int) -> bytes:
    """The request PDU: function code, MEI type, read code, first object id."""
    if read_code not in (1, 2, 3, 4) or not 0 <= object_id <= 0xFF:
        raise ValueError(f"read code {read_code} / object {object_id} is not a Read Device Identification")
    return bytes((FUNCTION, READ_DEVICE_ID, read_code, object_id))


def parse(pdu: bytes) -> IdPage:
    """The answer PDU (from its function code on) as a page; :class:`PageError` if it is not one."""
    if len(pdu) < 7:
        raise PageError(f"answer of {len(pdu)} bytes is shorter than its 7-byte header")
    if pdu[0] != FUNCTION or pdu[1] != READ_DEVICE_ID:
        raise PageError(f"answer carries function {pdu[0]} / MEI type {pdu[1]}, expected 43 / 14")
    more = _MORE_FOLLOWS.get(pdu[4])
    if more is None:
        raise PageError(f"'more follows' byte is {pdu[4]:#04x}, expected 0x00 or 0xff")
    count, offset = pdu[6], 7
    objects: list[tuple[int, bytes]] = []
    for _ in range(count):
        if offset + 2 > len(pdu):
            raise PageError(f"answer announces {count} objects but ends after {len(objects)}")
        object_id, length = pdu[offset], pdu[offset + 1]
        offset += 2
        if offset + length > len(pdu):
            raise PageError(f"object {object_id} claims {length} bytes, {len(pdu) - offset} are left")
        objects.append((object_id, pdu[offset : offset + length]))
        offset += length
    if offset != len(pdu):
        raise PageError(f"{len(pdu) - offset} bytes follow the {count} objects the answer announces")
    return IdPage(pdu[2], pdu[3], more, pdu[5], tuple(objects))
