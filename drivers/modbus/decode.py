"""Turning raw register words into values: types, byte/word orders, bits, strings, enums, scale.

Each register gets its decoders once, at config load, so that a poll only calls them.
Numbers become fields; text (a string register, an enum's name) becomes a tag, because
several InfluxDB-compatible stores keep only numbers in fields.
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from campus_core.readings import FieldValue

from .config import LONG_ORDERS, TYPE_WIDTH, Register

_FORMAT = {
    "int16": ">h",
    "uint16": ">H",
    "int32": ">i",
    "uint32": ">I",
    "int64": ">q",
    "uint64": ">Q",
    "float32": ">f",
    "float64": ">d",
}
_SHORT_TO_LONG = {short: long for long, short in LONG_ORDERS.items()}

Words = Sequence[int] | Sequence[bool]
Decoder = Callable[[Words], FieldValue]
"""Takes the words of one value (wire order) and returns the scaled value of its field."""
TextDecoder = Callable[[Words], str | None]
"""Takes the words of one value and returns the text of its tag (None: no tag this time)."""


def byte_order(order: str, size: int) -> tuple[int, ...]:
    """Where each byte of the big-endian (ABCD...) form of a ``size``-byte value sits on the wire.

    ``order`` names the bytes of the big-endian value in the order the device sends them:
    ``CDAB`` sends the low word first, ``BADC`` swaps the bytes of each word, ``DCBA`` both.
    For 64-bit values the 4-letter orders stand for their 8-letter forms (CDAB = GHEFCDAB).
    A 16-bit value only has its two bytes swapped or not (BA.. orders swap them).
    """
    if size == 2:
        return (0, 1) if order[0] in "AC" and order[1] in "BD" else (1, 0)
    if size == 8 and order in _SHORT_TO_LONG:
        order = _SHORT_TO_LONG[order]
    letters = order[:size]
    return tuple(letters.index(chr(ord("A") + k)) for k in range(size))


def words_to_bytes(words: Sequence[int], order: str) -> bytes:
    """Reorder the bytes of ``words`` from the wire ``order`` into big-endian (ABCD...) form."""
    raw = struct.pack(f">{len(words)}H", *words)
    return bytes(raw[i] for i in byte_order(order, len(raw)))


def raw_reader(register: Register) -> Callable[[Words], int | float | bool]:
    """The unscaled value of a register: an integer, a float, or a bit."""
    kind = register.type or "uint16"
    if kind == "bool":
        if register.bit is not None:
            bit = register.bit
            return lambda words: bool((int(words[0]) >> bit) & 1)
        return lambda words: bool(words[0])
    order = register.order
    if kind in ("int16", "uint16") and order in ("ABCD", "CDAB"):
        # The common case needs no byte juggling: a plain 16-bit word.
        if kind == "uint16":
            return lambda words: int(words[0])
        return lambda words: int(words[0]) - 65536 if words[0] >= 32768 else int(words[0])
    # Everything about the order is worked out here, once: a poll only packs and unpacks.
    unpack = struct.Struct(_FORMAT[kind]).unpack
    width = TYPE_WIDTH[kind]
    pack = struct.Struct(f">{width}H").pack
    wire = byte_order(order, 2 * width)
    if wire == tuple(range(2 * width)):

        def read(words: Words) -> int | float:
            value: int | float = unpack(pack(*words))[0]
            return value
    else:
        pick = operator.itemgetter(*wire)

        def read(words: Words) -> int | float:
            value: int | float = unpack(bytes(pick(pack(*words))))[0]
            return value

    return read


def decoder_for(register: Register) -> Decoder:
    """The field decoder of one register: raw value, then ``raw x scale + offset``."""
    raw = raw_reader(register)
    kind = register.type or "uint16"
    if kind == "bool":
        return raw
    scale, offset = register.scale, register.offset
    if scale == 1.0 and offset == 0.0:
        # Unscaled integers stay exact here (a 64-bit counter above 2**53 would not as a float).
        return raw
    if kind.startswith("float"):
        return lambda words: raw(words) * scale + offset
    # An integer times 0.1 should read 31.2, not 31.200000000000003: round integer types to
    # the decimals the scale and offset carry. Floats keep every digit the device sent.
    digits = _decimals(scale) + _decimals(offset)
    return lambda words: round(raw(words) * scale + offset, digits)


def text_for(register: Register) -> TextDecoder | None:
    """The tag decoder of a string or enum register; None for a plain number."""
    if register.type == "string":
        swap = register.order[0] in "BD"  # BADC/DCBA: the bytes of each register swapped
        return lambda words: decode_string([int(w) for w in words], swap)
    if register.enum is not None:
        raw = raw_reader(register)
        names = dict(register.enum)

        def name(words: Words) -> str:
            value = int(raw(words))
            # An unlisted code still says which one it was, so it can be added to the map.
            return names.get(value, f"unknown-{value}")

        return name
    return None


def decode_string(words: Sequence[int], swap: bool = False) -> str | None:
    """Text of a string register: two characters per register, up to the first NUL.

    Trailing blanks are dropped; characters that are not printable ASCII become ``?``.
    Returns None for an empty string (no tag rather than an empty one).
    """
    raw = b"".join(
        (w & 0xFF).to_bytes(1, "big") + (w >> 8).to_bytes(1, "big") if swap else w.to_bytes(2, "big")
        for w in words
    )
    raw = raw.split(b"\x00", 1)[0]
    text = "".join(chr(b) if 32 <= b < 127 else "?" for b in raw).strip()
    return text or None


@dataclass(frozen=True, slots=True)
class WholeRead:
    """Every field of one request decoded by one ``struct.unpack`` of a format made at plan time.

    For requests of plain numbers in big-endian order (most meters): the answer's words go
    back into bytes once, and one precompiled format reads every value, skipping the words
    between them; only scaled fields are touched one by one afterwards. The per-value
    decoders (:func:`decoder_for`) stay for everything else and give the same values.
    """

    names: tuple[str, ...]
    words: struct.Struct
    values: struct.Struct
    #: (index, scale, offset, decimals) of each scaled field; decimals None: a float type, unrounded.
    scaled: tuple[tuple[int, float, float, int | None], ...]

    def values_of(self, answer: Sequence[int]) -> tuple[FieldValue, ...]:
        """The field values of one answer (its words, in request order), in the order of :attr:`names`."""
        values: tuple[FieldValue, ...] = self.values.unpack(self.words.pack(*answer))
        if self.scaled:
            scaled = list(values)
            for index, scale, offset, digits in self.scaled:
                value = scaled[index] * scale + offset
                scaled[index] = value if digits is None else round(value, digits)
            values = tuple(scaled)
        return values


def whole_read(registers: Sequence[Register], start: int, count: int) -> WholeRead | None:
    """The :class:`WholeRead` of a request reading ``registers`` from ``start``; None when one of
    them needs its own decoder (a tag, a bit, a string, an enum, a swapped byte order, an overlap)."""
    codes = [">"]
    names: list[str] = []
    scaled: list[tuple[int, float, float, int | None]] = []
    position = start
    for register in registers:
        kind = register.type or "uint16"
        if (
            register.field is None
            or register.tag is not None
            or register.enum is not None
            or kind not in _FORMAT
            or register.address < position
        ):
            return None
        width = TYPE_WIDTH[kind]
        if byte_order(register.order, 2 * width) != tuple(range(2 * width)):
            return None
        if register.address > position:
            codes.append(f"{2 * (register.address - position)}x")
        codes.append(_FORMAT[kind][1])
        if register.scale != 1.0 or register.offset != 0.0:
            digits = (
                None if kind.startswith("float") else _decimals(register.scale) + _decimals(register.offset)
            )
            scaled.append((len(names), register.scale, register.offset, digits))
        names.append(register.field)
        position = register.address + width
    if position > start + count:
        return None
    codes.append(f"{2 * (start + count - position)}x")
    return WholeRead(tuple(names), struct.Struct(f">{count}H"), struct.Struct("".join(codes)), tuple(scaled))


def _decimals(number: float) -> int:
    exponent = Decimal(repr(number)).as_tuple().exponent
    return min(10, -exponent) if isinstance(exponent, int) and exponent < 0 else 0
