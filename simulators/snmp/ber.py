"""A small BER codec for SNMPv1/v2c messages (RFC 1157, RFC 3416), enough for an agent.

Written for the simulators: it decodes requests and encodes responses, and it is fast
enough for hundreds of simulated devices in one process. It shares no code with the
agent's own codec (drivers/snmp/ber.py), which encodes requests and decodes responses:
the two were written apart, so a test that passes through both talks real SNMP, and
the driver's tests also check it against net-snmp's snmpd and pysnmp's encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

Oid = tuple[int, ...]

INTEGER, OCTET_STRING, NULL, OBJECT_ID, SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
IP_ADDRESS, COUNTER32, GAUGE32, TIMETICKS, OPAQUE, COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x44, 0x46
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW = 0x80, 0x81, 0x82
GET, GET_NEXT, RESPONSE, SET, GET_BULK = 0xA0, 0xA1, 0xA2, 0xA3, 0xA5
PDU_NAMES = {GET: "get", GET_NEXT: "getnext", SET: "set", GET_BULK: "getbulk"}

#: Error statuses (RFC 3416).
NO_ERROR, TOO_BIG, NO_SUCH_NAME, BAD_VALUE, READ_ONLY, GEN_ERR = 0, 1, 2, 3, 4, 5
NOT_WRITABLE = 17

Value = tuple[int, object]
"""A typed value: ``(tag, python value)``, e.g. ``(COUNTER32, 12345)``."""


class BerError(ValueError):
    """The bytes are not an SNMP message we can answer."""


@dataclass
class Request:
    """A decoded request."""

    version: int
    community: bytes
    pdu: int
    request_id: int
    non_repeaters: int
    max_repetitions: int
    oids: list[Oid]


def _length(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 4:
        raise BerError("unsupported length encoding")
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the element at ``pos``."""
    if pos >= len(data):
        raise BerError("truncated message")
    tag = data[pos]
    length, start = _length(data, pos + 1)
    end = start + length
    if end > len(data):
        raise BerError("truncated message")
    return tag, start, end


def _int(data: bytes) -> int:
    return int.from_bytes(data, "big", signed=True) if data else 0


def _oid(data: bytes) -> Oid:
    if not data:
        raise BerError("empty OID")
    parts: list[int] = []
    value = 0
    for byte in data:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    first = parts[0]
    head = (min(first // 40, 2), first - 40 * min(first // 40, 2))
    return head + tuple(parts[1:])


def decode_request(data: bytes) -> Request:
    """Decode a v1/v2c GET, GETNEXT, GETBULK or SET."""
    tag, start, _end = _tlv(data, 0)
    if tag != SEQUENCE:
        raise BerError("not an SNMP message")
    tag, s, e = _tlv(data, start)
    version = _int(data[s:e])
    tag, s, pos = _tlv(data, e)
    if tag != OCTET_STRING or version not in (0, 1):
        raise BerError(f"not an SNMPv1/v2c message (version {version})")
    community = data[s:pos]
    pdu, s, _pdu_end = _tlv(data, pos)
    if pdu not in PDU_NAMES:
        raise BerError(f"unsupported PDU 0x{pdu:02x}")
    fields = []
    pos = s
    for _ in range(3):
        _, s, pos = _tlv(data, pos)
        fields.append(_int(data[s:pos]))
    _, s, list_end = _tlv(data, pos)
    oids = []
    pos = s
    while pos < list_end:
        _, vb_start, vb_end = _tlv(data, pos)
        tag, s, e = _tlv(data, vb_start)
        if tag != OBJECT_ID:
            raise BerError("varbind without an OID")
        oids.append(_oid(data[s:e]))
        pos = vb_end
    return Request(version, community, pdu, fields[0], fields[1], fields[2], oids)


def _encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def tlv(tag: int, content: bytes) -> bytes:
    """One encoded element."""
    return bytes([tag]) + _encode_length(len(content)) + content


def _encode_int(value: int, signed: bool = True) -> bytes:
    if signed:
        return value.to_bytes(max(1, (value + (value < 0)).bit_length() // 8 + 1), "big", signed=True)
    # Unsigned application types still use two's complement content: a leading 0 when the top bit is set.
    return value.to_bytes(max(1, value.bit_length() // 8 + 1), "big")


def encode_oid(oid: Oid) -> bytes:
    """The content octets of an OBJECT IDENTIFIER."""
    out = bytearray()
    for part in (oid[0] * 40 + oid[1], *oid[2:]):
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def encode_value(value: Value) -> bytes:
    """One typed value."""
    tag, payload = value
    if tag == INTEGER:
        return tlv(tag, _encode_int(int(payload)))  # type: ignore[call-overload]
    if tag in (COUNTER32, GAUGE32, TIMETICKS, COUNTER64):
        return tlv(tag, _encode_int(int(payload), signed=False))  # type: ignore[call-overload]
    if tag in (OCTET_STRING, IP_ADDRESS, OPAQUE):
        return tlv(tag, bytes(payload))  # type: ignore[call-overload]
    if tag == OBJECT_ID:
        return tlv(tag, encode_oid(payload))  # type: ignore[arg-type]
    return tlv(tag, b"")  # NULL and the v2c exceptions


def encode_varbind(oid: Oid, value: Value) -> bytes:
    """One ``SEQUENCE { name, value }``."""
    return tlv(SEQUENCE, tlv(OBJECT_ID, encode_oid(oid)) + encode_value(value))


def encode_response(request: Request, varbinds: list[bytes], status: int = 0, index: int = 0) -> bytes:
    """A Response PDU to ``request`` carrying already encoded varbinds."""
    pdu = tlv(
        RESPONSE,
        tlv(INTEGER, _encode_int(request.request_id))
        + tlv(INTEGER, _encode_int(status))
        + tlv(INTEGER, _encode_int(index))
        + tlv(SEQUENCE, b"".join(varbinds)),
    )
    return tlv(
        SEQUENCE, tlv(INTEGER, _encode_int(request.version)) + tlv(OCTET_STRING, request.community) + pdu
    )
