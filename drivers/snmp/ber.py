"""The BER codec of SNMPv1 and v2c messages as the driver sends and receives them (RFC 1157, RFC 3416).

Requests are encoded (GetRequest, GetNextRequest, GetBulkRequest with NULL values) and
Responses decoded straight into :class:`~drivers.snmp.convert.Raw` values. Decoding
answers is the agent's main CPU cost, which is why this exists at all: pysnmp/pyasn1
build several objects per element and took ~70 ms of CPU per 48-port switch poll. Here
the decoder is plain functions over bytes and integer positions; the only objects made
are the results.

The decoder is strict: whatever is not a well-formed Response (truncation, a wrong tag,
trailing bytes, an indefinite length, an integer too large for its type, an unknown
value type) raises :class:`BerError` with a short reason, and nothing else escapes on
any input. The simulators have their own, independent codec (simulators/snmp/ber.py),
so tests of one against the other cross-check both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from .convert import Raw, RawType
from .mibs import Oid

#: Message versions on the wire.
V1, V2C = 0, 1
#: PDU tags.
GET, GET_NEXT, RESPONSE, GET_BULK = 0xA0, 0xA1, 0xA2, 0xA5

#: Error-status names (RFC 3416, section 3), as pysnmp gives them; an index is the status.
ERROR_STATUS = (
    "noError",
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "genErr",
    "noAccess",
    "wrongType",
    "wrongLength",
    "wrongEncoding",
    "wrongValue",
    "noCreation",
    "inconsistentValue",
    "resourceUnavailable",
    "commitFailed",
    "undoFailed",
    "authorizationError",
    "notWritable",
    "inconsistentName",
)

_INTEGER, _OCTET_STRING, _NULL, _OID, _SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
_BIT_STRING = 0x03
_MAX32, _MAX64 = 2**32 - 1, 2**64 - 1
_INT32 = (-(2**31), 2**31 - 1)
#: RFC 2578, 3.5: at most 128 sub-identifiers, each at most 2^32-1.
_MAX_ARCS = 128
#: The first sub-identifier holds 40 * X + Y; with X = 2, Y may itself reach 2^32-1.
_MAX_FIRST = _MAX32 + 80
#: Content octets of an integer: 8 for a Counter64 plus the 0x00 that keeps it positive.
_MAX_INT_OCTETS = 9

#: Unsigned application types: their name and largest value (0x42 is Gauge32 and Unsigned32).
_UNSIGNED: dict[int, tuple[RawType, int]] = {
    0x41: ("counter32", _MAX32),
    0x42: ("gauge", _MAX32),
    0x43: ("timeticks", _MAX32),
    0x46: ("counter64", _MAX64),
}
_STRINGS: dict[int, RawType] = {_OCTET_STRING: "octets", 0x44: "opaque"}
#: Values without content. NULL becomes an empty string, as it did through pysnmp: agents
#: echo the request's NULLs in error answers, which callers ignore anyway.
_EMPTY: dict[int, Raw] = {
    _NULL: Raw("octets", b""),
    0x80: Raw("nosuchobject"),
    0x81: Raw("nosuchinstance"),
    0x82: Raw("endofmibview"),
}


class BerError(ValueError):
    """The bytes are not a well-formed SNMPv1/v2c message; the message says what is wrong."""


class Message(NamedTuple):
    """A decoded Response: header fields and the values as ``(oid, Raw)``."""

    version: int
    community: bytes
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, Raw]]


def status_name(status: int) -> str:
    """The RFC 3416 name of an error status (``"tooBig"``), or its number when it has none."""
    return ERROR_STATUS[status] if 0 <= status < len(ERROR_STATUS) else str(status)


# --- encoding -------------------------------------------------------------------------------


def encode_request(
    version: int,
    community: bytes,
    pdu: int,
    request_id: int,
    oids: Sequence[Oid],
    max_repetitions: int = 0,
) -> bytes:
    """A GetRequest, GetNextRequest or GetBulkRequest (non-repeaters 0) message for ``oids``."""
    if version not in (V1, V2C):
        raise BerError(f"version {version} is not SNMPv1 (0) or SNMPv2c (1)")
    if pdu not in (GET, GET_NEXT, GET_BULK):
        raise BerError(f"PDU 0x{pdu:02x} is not a read request")
    if pdu == GET_BULK and version == V1:
        raise BerError("SNMPv1 has no GetBulkRequest")
    if not _INT32[0] <= request_id <= _INT32[1]:
        raise BerError(f"request-id {request_id} does not fit in 32 bits")
    if not 0 <= max_repetitions <= _INT32[1]:
        raise BerError(f"max-repetitions {max_repetitions} out of range")
    # RFC 3416: the values of a request are NULL; a GETBULK puts non-repeaters (0) and
    # max-repetitions where the other PDUs have error-status and error-index.
    varbinds = b"".join(_tlv(_SEQUENCE, _tlv(_OID, encode_oid(oid)) + b"\x05\x00") for oid in oids)
    second = max_repetitions if pdu == GET_BULK else 0
    body = (
        _tlv(_INTEGER, _int(request_id))
        + b"\x02\x01\x00"
        + _tlv(_INTEGER, _int(second))
        + _tlv(_SEQUENCE, varbinds)
    )
    return _tlv(_SEQUENCE, _tlv(_INTEGER, _int(version)) + _tlv(_OCTET_STRING, community) + _tlv(pdu, body))


def encode_oid(oid: Oid) -> bytes:
    """The content octets of an OBJECT IDENTIFIER (the first two arcs share one sub-identifier)."""
    if len(oid) < 2 or len(oid) > _MAX_ARCS:
        raise BerError(f"OID {_dotted(oid)} needs 2 to {_MAX_ARCS} arcs")
    first, second = oid[0], oid[1]
    if not 0 <= first <= 2 or second < 0 or (first < 2 and second >= 40):
        raise BerError(f"OID {_dotted(oid)} has no valid first two arcs")
    out = bytearray()
    for arc in (first * 40 + second, *oid[2:]):
        if not 0 <= arc <= (_MAX_FIRST if not out else _MAX32):
            raise BerError(f"OID {_dotted(oid)} has an arc out of range")
        if arc < 0x80:
            out.append(arc)
            continue
        chunk = bytearray([arc & 0x7F])
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        chunk.reverse()
        out += chunk
    return bytes(out)


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets + content


def _int(value: int) -> bytes:
    """Two's complement content octets, minimal (one extra octet only to keep the sign)."""
    return value.to_bytes((value + (value < 0)).bit_length() // 8 + 1, "big", signed=True)


def _dotted(oid: Oid) -> str:
    return ".".join(map(str, oid))


# --- decoding -------------------------------------------------------------------------------


def decode_response(data: bytes | bytearray | memoryview) -> Message:
    """Decode one Response message; raise :class:`BerError` for anything else."""
    buffer = data if isinstance(data, bytes) else bytes(data)
    try:
        return _message(buffer)
    except IndexError:
        # Reading a header octet past the end: the bounds checks of lengths catch all else.
        raise BerError("truncated message") from None


def _message(data: bytes) -> Message:
    end = len(data)
    if not end or data[0] != _SEQUENCE:
        raise BerError("not an SNMP message (no SEQUENCE)")
    size, pos = _length(data, 1)
    if pos + size != end:
        raise BerError("message length does not match the datagram")
    version, pos = _integer(data, pos, end)
    if version not in (V1, V2C):
        raise BerError(f"not an SNMPv1/v2c message (version {version})")
    if data[pos] != _OCTET_STRING:
        raise BerError("community is not an OCTET STRING")
    size, start = _length(data, pos + 1)
    pos = start + size
    if pos > end:
        raise BerError("truncated community")
    community = data[start:pos]
    if data[pos] != RESPONSE:
        raise BerError(f"not a Response PDU (tag 0x{data[pos]:02x})")
    size, pos = _length(data, pos + 1)
    if pos + size != end:
        raise BerError("PDU length does not match the message")
    request_id, pos = _integer(data, pos, end)
    status, pos = _integer(data, pos, end)
    index, pos = _integer(data, pos, end)
    if not _INT32[0] <= request_id <= _INT32[1]:
        raise BerError("request-id out of range")
    if not 0 <= status <= _INT32[1] or not 0 <= index <= _INT32[1]:
        raise BerError("error-status or error-index out of range")
    if data[pos] != _SEQUENCE:
        raise BerError("variable-bindings is not a SEQUENCE")
    size, pos = _length(data, pos + 1)
    if pos + size != end:
        raise BerError("variable-bindings length does not match the PDU")
    return Message(version, community, request_id, status, index, _varbinds(data, pos, end))


def _varbinds(data: bytes, pos: int, end: int) -> list[tuple[Oid, Raw]]:
    """Every ``SEQUENCE { name, value }`` from ``pos`` to ``end``: the hot loop, kept flat.

    The three short-form lengths of a varbind (under 128 octets: nearly all) are read inline
    and only long forms call :func:`_length`; a call per header is a large share of a walk's
    decoding, which runs once per varbind of every table.
    """
    out: list[tuple[Oid, Raw]] = []
    append = out.append
    while pos < end:
        if data[pos] != _SEQUENCE:
            raise BerError("varbind is not a SEQUENCE")
        size = data[pos + 1]
        if size < 0x80:
            pos += 2
        else:
            size, pos = _length(data, pos + 1)
        stop = pos + size
        if stop > end:
            raise BerError("varbind runs past the end")
        if data[pos] != _OID:
            raise BerError("varbind name is not an OBJECT IDENTIFIER")
        size = data[pos + 1]
        if size < 0x80:
            start = pos + 2
        else:
            size, start = _length(data, pos + 1)
        pos = start + size
        if pos >= stop:
            raise BerError("varbind has no value")
        name = _oid(data[start:pos])
        tag = data[pos]
        size = data[pos + 1]
        if size < 0x80:
            start = pos + 2
        else:
            size, start = _length(data, pos + 1)
        pos = start + size
        if pos != stop:
            raise BerError("varbind length does not match its name and value")
        append((name, _value(tag, data, start, pos)))
    return out


def _value(tag: int, data: bytes, start: int, end: int) -> Raw:
    unsigned = _UNSIGNED.get(tag)
    if unsigned is not None:
        kind, top = unsigned
        value = _int_content(data, start, end)
        if not 0 <= value <= top:
            raise BerError(f"{kind} value {value} out of range")
        return Raw(kind, value)
    if tag == _INTEGER:
        value = _int_content(data, start, end)
        if not _INT32[0] <= value <= _INT32[1]:
            raise BerError(f"INTEGER value {value} does not fit in 32 bits")
        return Raw("integer", value)
    string = _STRINGS.get(tag)
    if string is not None:
        return Raw(string, data[start:end])
    if tag == _OID:
        return Raw("oid", _oid(data[start:end]))
    empty = _EMPTY.get(tag)
    if empty is not None:
        if end != start:
            raise BerError(f"value of type 0x{tag:02x} must be empty")
        return empty
    if tag == 0x40:
        if end - start != 4:
            raise BerError("IpAddress is not 4 octets")
        return Raw("ipaddress", data[start:end])
    if tag == _BIT_STRING:
        # SMIv1 agents may send BITS as a BIT STRING: its first octet counts unused bits.
        if end == start or data[start] > 7:
            raise BerError("malformed BIT STRING")
        return Raw("octets", data[start + 1 : end])
    raise BerError(f"unknown value type 0x{tag:02x}")


def _length(data: bytes, pos: int) -> tuple[int, int]:
    """The length at ``pos`` and where the content starts; definite forms only."""
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0:
        raise BerError("indefinite length")
    if count > 4:
        raise BerError("length of more than 4 octets")
    start = pos + 1 + count
    if start > len(data):
        raise BerError("truncated length")
    return int.from_bytes(data[pos + 1 : start], "big"), start


def _integer(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A header INTEGER at ``pos``: its value and the position after it."""
    if data[pos] != _INTEGER:
        raise BerError(f"expected an INTEGER, found tag 0x{data[pos]:02x}")
    size, start = _length(data, pos + 1)
    stop = start + size
    if stop > end:
        raise BerError("truncated INTEGER")
    return _int_content(data, start, stop), stop


def _int_content(data: bytes, start: int, end: int) -> int:
    size = end - start
    if size == 0:
        raise BerError("empty integer")
    if size > _MAX_INT_OCTETS:
        raise BerError(f"integer of {size} octets")
    return int.from_bytes(data[start:end], "big", signed=True)


def _oid(content: bytes) -> Oid:
    if not content:
        raise BerError("empty OBJECT IDENTIFIER")
    first = content[0]
    if content.isascii():
        # Every sub-identifier under 128 takes one octet: the common case, done in C.
        if len(content) >= _MAX_ARCS:
            raise BerError(f"OID of more than {_MAX_ARCS} arcs")
        return (first // 40, first % 40, *content[1:]) if first < 80 else (2, first - 80, *content[1:])
    arcs: list[int] = []
    value = 0
    fresh = True
    for octet in content:
        if fresh and octet == 0x80:
            raise BerError("OID sub-identifier with a leading 0x80")
        value = (value << 7) | (octet & 0x7F)
        if value > _MAX_FIRST:
            raise BerError("OID sub-identifier out of range")
        fresh = octet < 0x80
        if fresh:
            if arcs and value > _MAX32:
                raise BerError("OID sub-identifier out of range")
            arcs.append(value)
            value = 0
    if not fresh:
        raise BerError("OID ends inside a sub-identifier")
    if len(arcs) >= _MAX_ARCS:
        raise BerError(f"OID of more than {_MAX_ARCS} arcs")
    first = arcs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])
