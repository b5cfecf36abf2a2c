"""Turning raw register words into values: types, byte/word orders, scale and offset."""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from decimal import Decimal

from drivers import FieldValue

from .config import Register

# Index of each byte of the big-endian (ABCD) form in the wire form of an order:
# "CDAB" sends the low word first, "BADC" swaps the bytes of each word, "DCBA" both.
_PERMUTATION: dict[str, tuple[int, int, int, int]] = {
    "ABCD": (0, 1, 2, 3),
    "CDAB": (2, 3, 0, 1),
    "BADC": (1, 0, 3, 2),
    "DCBA": (3, 2, 1, 0),
}
_FORMAT = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f"}

Decoder = Callable[[Sequence[int]], FieldValue]
"""Takes the words of one value (wire order) and returns the scaled value."""


def words_to_bytes(words: Sequence[int], order: str) -> bytes:
    """Reorder the big-endian bytes of ``words`` from the wire ``order`` into ABCD."""
    raw = struct.pack(f">{len(words)}H", *words)
    if len(words) == 1:
        return raw if order in ("ABCD", "CDAB") else raw[::-1]
    permutation = _PERMUTATION[order]
    return bytes(raw[i] for i in permutation)


def decoder_for(register: Register) -> Decoder:
    """Build the decoder of one register once, at config load, so a poll only calls it."""
    kind = register.type or "uint16"
    if kind == "bool":
        return lambda words: bool(words[0])
    unpack = struct.Struct(_FORMAT[kind]).unpack
    order = register.order
    scale, offset = register.scale, register.offset

    # An integer times 0.1 should read 31.2, not 31.200000000000003: round integer types to
    # the decimals the scale and offset carry. Floats keep every digit the device sent.
    digits = None if kind == "float32" else _decimals(scale) + _decimals(offset)

    if kind in ("int16", "uint16") and order in ("ABCD", "CDAB"):
        # The common case needs no byte juggling: a plain 16-bit word.
        if kind == "uint16":
            return lambda words: round(words[0] * scale + offset, digits)

        def int16(words: Sequence[int]) -> float:
            word = words[0]
            return round((word - 65536 if word >= 32768 else word) * scale + offset, digits)

        return int16

    def decode(words: Sequence[int]) -> float:
        value: float = unpack(words_to_bytes(words, order))[0]
        return round(value * scale + offset, digits) if digits is not None else value * scale + offset

    return decode


def _decimals(number: float) -> int:
    exponent = Decimal(repr(number)).as_tuple().exponent
    return min(10, -exponent) if isinstance(exponent, int) and exponent < 0 else 0
