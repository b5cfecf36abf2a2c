"""SNMP values into the schema: numbers as floats for fields, text for tags.

The session hands over :class:`Raw` values (the wire type and a plain Python value), so
nothing here depends on pysnmp. Which conversion a value gets is decided once, at config
load, from the MIB syntax and the ``convert`` key (:func:`choose`); the hot path only
calls the chosen function.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from .mibs import MibObject, Oid, format_oid, mibs

RawType = Literal[
    "integer",
    "gauge",
    "counter32",
    "counter64",
    "timeticks",
    "octets",
    "oid",
    "ipaddress",
    "opaque",
    "nosuchobject",
    "nosuchinstance",
    "endofmibview",
]
#: Wire types that carry no value: the agent has no such object or instance, or the walk ended.
EXCEPTIONS = frozenset({"nosuchobject", "nosuchinstance", "endofmibview"})
NUMBERS = frozenset({"integer", "gauge", "counter32", "counter64", "timeticks"})

Conversion = Literal["auto", "number", "text", "mac", "hex", "name", "seconds", "date"]

#: MIB syntaxes, grouped by how their values are best shown.
TEXT_SYNTAXES = frozenset({"DisplayString", "SnmpAdminString", "InternationalDisplayString", "OwnerString"})
MAC_SYNTAXES = frozenset({"PhysAddress", "MacAddress"})
OID_SYNTAXES = frozenset({"OBJECT IDENTIFIER", "AutonomousType", "ProductID"})
TICK_SYNTAXES = frozenset({"TimeTicks", "TimeStamp", "TimeInterval"})
COUNTER_SYNTAXES = {"Counter32": "counter32", "Counter64": "counter64"}


@dataclass(frozen=True, slots=True)
class Raw:
    """One value as the device sent it: its SNMP type and the plain value."""

    type: RawType
    value: int | bytes | Oid = 0

    @property
    def number(self) -> int | None:
        """The value of a numeric type (INTEGER, Gauge32, Counter32/64, TimeTicks), else None."""
        return self.value if isinstance(self.value, int) and self.type in NUMBERS else None

    @property
    def octets(self) -> bytes:
        """The bytes of an OCTET STRING (or IpAddress, Opaque); empty for other types."""
        return self.value if isinstance(self.value, bytes) else b""

    @property
    def oid(self) -> Oid:
        """The value of an OBJECT IDENTIFIER; empty for other types."""
        return self.value if isinstance(self.value, tuple) else ()

    @property
    def missing(self) -> bool:
        """noSuchObject, noSuchInstance or endOfMibView: no value."""
        return self.type in EXCEPTIONS


FieldConverter = Callable[[Raw], float | None]
TagConverter = Callable[[Raw], str | None]


def choose(obj: MibObject | None, convert: Conversion) -> Conversion:
    """The conversion a value gets: the one asked for, or the one its MIB syntax implies."""
    if convert != "auto" or obj is None:
        return convert
    syntax = obj.syntax or ""
    if obj.enum:
        return "name"
    if syntax in TEXT_SYNTAXES:
        return "text"
    if syntax in MAC_SYNTAXES:
        return "mac"
    if syntax in OID_SYNTAXES:
        return "name"
    if syntax in TICK_SYNTAXES:
        return "seconds"
    if syntax == "DateAndTime":
        return "date"
    return "auto"


def field_converter(conversion: Conversion, scale: float = 1.0) -> FieldConverter:
    """A function from a raw value to a float field (None when the value is not a number).

    An integer scaled by a decimal (``scale = 0.1``) is rounded to the scale's decimals, so
    a battery's 538 reads 53.8 and not 53.800000000000004.
    """
    digits = decimals(scale)
    if conversion == "date":
        return lambda raw: _date_seconds(raw, scale)
    ticks = conversion == "seconds"

    def number(raw: Raw) -> float | None:
        value = raw.number
        if value is not None:
            # TimeTicks are hundredths of a second, and a field has one unit: seconds.
            if ticks or raw.type == "timeticks":
                return round(value * scale / 100.0, digits + 2)
            return round(value * scale, digits) if digits else float(value) * scale
        if raw.type == "octets":
            # Some agents send numbers as strings (UCD laLoad "0.42").
            try:
                return float(raw.octets.decode("ascii").strip()) * scale
            except (UnicodeDecodeError, ValueError):
                return None
        return None

    return number


def decimals(scale: float) -> int:
    """Decimals a scale introduces: 0 for 1 or 1024, 1 for 0.1, 3 for 0.001."""
    text = repr(abs(scale))
    if "e" in text or "." not in text:
        return 0 if "e" not in text else 12
    fraction = text.split(".")[1].rstrip("0")
    return len(fraction)


def tag_converter(conversion: Conversion, enum: Mapping[int, str] | None = None) -> TagConverter:
    """A function from a raw value to a tag value (None when it has none)."""
    if conversion == "mac":
        return lambda raw: _colon_hex(raw) if raw.type == "octets" else _plain(raw)
    if conversion == "hex":
        return lambda raw: _colon_hex(raw) if raw.type == "octets" else _plain(raw)
    if conversion == "date":
        return _date_text
    if conversion == "name":
        names = enum or {}
        return lambda raw: _name(raw, names)
    if conversion == "seconds":
        return lambda raw: f"{raw.number / 100:g}" if raw.number is not None else _plain(raw)
    if conversion == "text":
        return _text
    return _plain


def _plain(raw: Raw) -> str | None:
    """Any value as text: numbers as integers, strings decoded, OIDs dotted or named."""
    if raw.missing:
        return None
    if raw.type == "octets":
        return _text(raw) if _printable(raw.octets) else _colon_hex(raw)
    if raw.type == "oid":
        return mibs().name_of(raw.oid)
    if raw.type == "ipaddress":
        return ".".join(str(b) for b in raw.octets)
    if isinstance(raw.value, int):
        return str(raw.value)
    return _colon_hex(raw)


def _text(raw: Raw) -> str | None:
    if raw.type != "octets":
        return _plain(raw)
    data = raw.octets.rstrip(b"\x00")
    text = data.decode("utf-8", errors="replace")
    # One line, no control characters: a tag must be something a dashboard can show. Most
    # texts have none, and the test for it runs in C; the loop is for those that do.
    if not text.isprintable():
        text = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(text.split())


def _printable(data: bytes) -> bool:
    try:
        text = data.rstrip(b"\x00").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.isprintable() or all(c.isprintable() or c in "\r\n\t" for c in text)


def _colon_hex(raw: Raw) -> str | None:
    if raw.missing:
        return None
    data = raw.octets
    return ":".join(f"{b:02x}" for b in data)


def _name(raw: Raw, names: Mapping[int, str]) -> str | None:
    if raw.type == "oid":
        return mibs().name_of(raw.oid).split("::")[-1]
    if raw.type == "integer" and isinstance(raw.value, int):
        return names.get(raw.value, str(raw.value))
    return _plain(raw)


def _date_parts(raw: Raw) -> datetime.datetime | None:
    """DateAndTime (SNMPv2-TC): 8 bytes local time, or 11 bytes with the offset from UTC."""
    if raw.type != "octets" or not isinstance(raw.value, bytes) or len(raw.value) not in (8, 11):
        return None
    data = raw.value
    zone = datetime.UTC
    if len(data) == 11:
        offset = datetime.timedelta(hours=data[9], minutes=data[10])
        zone = datetime.timezone(offset if data[8] == ord("+") else -offset)
    try:
        return datetime.datetime(
            int.from_bytes(data[0:2], "big"),
            data[2],
            data[3],
            data[4],
            data[5],
            min(data[6], 59),
            data[7] * 100_000,
            tzinfo=zone,
        )
    except ValueError:
        return None


def _date_seconds(raw: Raw, scale: float) -> float | None:
    moment = _date_parts(raw)
    return None if moment is None else moment.timestamp() * scale


def _date_text(raw: Raw) -> str | None:
    moment = _date_parts(raw)
    return _plain(raw) if moment is None else moment.isoformat()


def index_text(index: Oid) -> str:
    """A table row's index as a tag value: ``3`` or ``1.4.2``."""
    return format_oid(index)
