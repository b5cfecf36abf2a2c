"""Decoding register words: every type, every word order, scale and offset."""

import struct

import pytest

from drivers.modbus.config import Register
from drivers.modbus.decode import decoder_for, words_to_bytes


def words(data: bytes) -> list[int]:
    return list(struct.unpack(f">{len(data) // 2}H", data))


def reg(**kwargs: object) -> Register:
    return Register.model_validate({"field": "x", "address": 0, **kwargs})


# 0x41 0x20 0x00 0x00 is 10.0 as a big-endian float32 (bytes A B C D).
FLOAT_10 = {
    "ABCD": [0x4120, 0x0000],
    "CDAB": [0x0000, 0x4120],
    "BADC": [0x2041, 0x0000],
    "DCBA": [0x0000, 0x2041],
}


@pytest.mark.parametrize("order", sorted(FLOAT_10))
def test_float32_in_every_word_order(order: str) -> None:
    assert decoder_for(reg(type="float32", order=order))(FLOAT_10[order]) == 10.0


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [
        ("int16", [0xFFFF], -1),
        ("int16", [0x7FFF], 32767),
        ("uint16", [0xFFFF], 65535),
        ("int32", words(struct.pack(">i", -123456)), -123456),
        ("uint32", words(struct.pack(">I", 4_000_000_000)), 4_000_000_000),
    ],
)
def test_integer_types(kind: str, raw: list[int], value: int) -> None:
    assert decoder_for(reg(type=kind))(raw) == value


def test_uint32_low_word_first() -> None:
    assert decoder_for(reg(type="uint32", order="CDAB"))([0x0002, 0x0001]) == 0x0001_0002


def test_16_bit_byte_swap() -> None:
    assert decoder_for(reg(type="uint16", order="BADC"))([0x3412]) == 0x1234
    assert decoder_for(reg(type="int16", order="DCBA"))([0xFFFE]) == struct.unpack("<h", b"\xff\xfe")[0]


def test_scale_then_offset() -> None:
    assert decoder_for(reg(type="int16", scale=0.1, offset=-40))([650]) == pytest.approx(25.0)


def test_bits_are_booleans() -> None:
    decode = decoder_for(Register.model_validate({"field": "running", "table": "coil", "address": 3}))
    assert decode([True]) is True
    assert decode([False]) is False


def test_bytes_come_back_in_abcd() -> None:
    assert words_to_bytes([0x0102, 0x0304], "CDAB") == bytes([3, 4, 1, 2])
    assert words_to_bytes([0x0102, 0x0304], "DCBA") == bytes([4, 3, 2, 1])
