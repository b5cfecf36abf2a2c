"""Encoding of engineering values into Modbus registers (and back).

A register holds 16 bits.  Wider types span two consecutive registers; the
*word order* says which half comes first:

* ``ABCD`` - big-endian words, high word first (Eastron, most meters).
* ``CDAB`` - low word first ("word swapped", common on PLCs).

Bytes inside one register are always big-endian, as Modbus mandates.

Scale follows the profile convention used by the agent:
``value = raw * scale``, hence ``raw = round(value / scale)`` when encoding.
"""

from __future__ import annotations

import math
import struct
from typing import Final, Literal, get_args

RegType = Literal["int16", "uint16", "int32", "uint32", "float32", "bool"]
WordOrder = Literal["ABCD", "CDAB"]

REG_TYPES: Final[tuple[RegType, ...]] = get_args(RegType)
WORD_ORDERS: Final[tuple[WordOrder, ...]] = get_args(WordOrder)

# struct format character and register width of each numeric type.
_STRUCT: Final[dict[RegType, tuple[str, int]]] = {
    "int16": ("h", 1),
    "uint16": ("H", 1),
    "int32": ("i", 2),
    "uint32": ("I", 2),
    "float32": ("f", 2),
}

# Inclusive raw ranges of the integer types, used to saturate.
_INT_RANGE: Final[dict[RegType, tuple[int, int]]] = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}


def register_count(reg_type: RegType) -> int:
    """Return how many 16-bit registers (or bits, for ``bool``) a type occupies."""
    if reg_type == "bool":
        return 1
    return _STRUCT[reg_type][1]


def encode(
    value: float,
    reg_type: RegType,
    order: WordOrder = "ABCD",
    scale: float = 1.0,
) -> list[int]:
    """Encode an engineering value into raw 16-bit register words.

    Integer types saturate at their limits instead of wrapping: a simulated
    value slightly out of range must not show up as a wildly wrong reading.
    """
    if reg_type == "bool":
        raise ValueError("bool values are bits, not registers; use encode_bits")
    if scale == 0:
        raise ValueError("scale must not be 0")
    fmt, width = _STRUCT[reg_type]
    scaled = value / scale
    packed: bytes
    if reg_type == "float32":
        packed = struct.pack(">f", scaled)
    else:
        if not math.isfinite(scaled):
            raise ValueError(f"cannot encode {value!r} as {reg_type}")
        low, high = _INT_RANGE[reg_type]
        packed = struct.pack(f">{fmt}", min(high, max(low, round(scaled))))
    words = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, 2 * width, 2)]
    if order == "CDAB":
        words.reverse()
    return words


def decode(
    words: list[int],
    reg_type: RegType,
    order: WordOrder = "ABCD",
    scale: float = 1.0,
) -> float:
    """Decode raw register words back into an engineering value."""
    if reg_type == "bool":
        raise ValueError("bool values are bits, not registers")
    fmt, width = _STRUCT[reg_type]
    if len(words) != width:
        raise ValueError(f"{reg_type} needs {width} registers, got {len(words)}")
    ordered = list(reversed(words)) if order == "CDAB" else list(words)
    raw: float = struct.unpack(f">{fmt}", b"".join(w.to_bytes(2, "big") for w in ordered))[0]
    return raw * scale


def pack_bits(bits: list[bool]) -> list[int]:
    """Pack bits into 16-bit words, bit 0 in the least significant position.

    This is the layout pymodbus' simulator keeps coils/discrete inputs in.
    """
    words = [0] * ((len(bits) + 15) // 16)
    for index, bit in enumerate(bits):
        if bit:
            words[index // 16] |= 1 << (index % 16)
    return words
