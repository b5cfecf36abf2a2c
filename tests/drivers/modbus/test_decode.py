"""Decoding register words: every type, every word order, scale and offset."""

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.modbus.config import Register
from drivers.modbus.decode import decoder_for, words_to_bytes
from drivers.modbus.planner import plan


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


# ---------------------------------------------------------------- every type, every order


from drivers.modbus.decode import decode_string, text_for  # noqa: E402

STRUCT = {
    "int16": "h",
    "uint16": "H",
    "int32": "i",
    "uint32": "I",
    "int64": "q",
    "uint64": "Q",
    "float32": "f",
    "float64": "d",
}
ORDERS_32 = ["ABCD", "CDAB", "BADC", "DCBA"]
ORDERS_64 = ["ABCDEFGH", "GHEFCDAB", "BADCFEHG", "HGFEDCBA"]


def wire(value: float, kind: str, order: str) -> list[int]:
    """Encode independently of the driver: struct gives big-endian bytes, the order letters
    say where each of them goes on the wire."""
    big = struct.pack(">" + STRUCT[kind], value)
    if len(big) == 8 and len(order) == 4:
        order = dict(zip(ORDERS_32, ORDERS_64, strict=True))[order]
    letters = order if len(big) > 2 else ("AB" if order[0] in "AC" else "BA")
    sent = bytes(big[ord(letter) - ord("A")] for letter in letters)
    return words(sent)


def values_of(kind: str) -> st.SearchStrategy[float]:
    if kind.startswith("float"):
        if kind == "float32":
            return st.floats(allow_nan=False, allow_infinity=False, width=32)
        return st.floats(allow_nan=False, allow_infinity=False)
    bits = {"int16": 16, "uint16": 16, "int32": 32, "uint32": 32, "int64": 64, "uint64": 64}[kind]
    if kind.startswith("u"):
        return st.integers(0, 2**bits - 1)
    return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


@pytest.mark.parametrize("kind", sorted(STRUCT))
@given(data=st.data())
def test_round_trip_every_type_in_every_order(kind: str, data: st.DataObject) -> None:
    orders = ORDERS_64 + ORDERS_32 if kind.endswith("64") else ORDERS_32
    order = data.draw(st.sampled_from(orders), label="order")
    value = data.draw(values_of(kind), label="value")
    decoded = decoder_for(reg(type=kind, order=order))(wire(value, kind, order))
    assert decoded == value


@pytest.mark.parametrize(("short", "long"), list(zip(ORDERS_32, ORDERS_64, strict=True)))
def test_four_letter_orders_stand_for_their_64_bit_forms(short: str, long: str) -> None:
    raw = wire(-1234567890123, "int64", long)
    assert decoder_for(reg(type="int64", order=short))(raw) == -1234567890123


def test_a_real_meter_float_with_the_low_word_first() -> None:
    # 230.5 V as a float32 is 0x43668000: a CDAB meter sends 0x8000 then 0x4366.
    assert decoder_for(reg(type="float32", order="CDAB"))([0x8000, 0x4366]) == 230.5


def test_eight_letter_orders_are_refused_on_32_bit_values() -> None:
    with pytest.raises(ValueError, match="64-bit"):
        reg(type="float32", order="GHEFCDAB")


def test_a_bit_of_a_register() -> None:
    register = Register.model_validate({"field": "door_open", "address": 1, "bit": 2})
    assert register.type == "bool"
    decode = decoder_for(register)
    assert decode([0b0100]) is True
    assert decode([0b1011]) is False


def test_strings_are_text_for_a_tag() -> None:
    register = Register.model_validate({"tag": "program", "address": 10, "type": "string", "length": 4})
    assert register.width == 4
    text = text_for(register)
    assert text is not None
    assert text(words(b"O1234\x00\x00\x00")) == "O1234"
    swapped = Register.model_validate(
        {"tag": "model", "address": 0, "type": "string", "length": 2, "order": "BADC"}
    )
    swapped_text = text_for(swapped)
    assert swapped_text is not None
    assert swapped_text(words(b"DS6M")) == "SDM6"
    assert decode_string([0x2020, 0x0000]) is None  # blank: no tag rather than an empty one


def test_an_enum_names_the_raw_value_and_keeps_the_number() -> None:
    register = Register.model_validate(
        {"field": "state_code", "tag": "state", "address": 0, "enum": {"0": "idle", "2": "running"}}
    )
    name = text_for(register)
    assert name is not None
    assert name([2]) == "running"
    assert name([7]) == "unknown-7"
    assert decoder_for(register)([2]) == 2


# One unpack for the whole read gives what the per-value decoders give, whatever the registers.
KINDS = ["int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "bool"]
WIDTH = {
    "int16": 1,
    "uint16": 1,
    "bool": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "int64": 4,
    "uint64": 4,
    "float64": 4,
}


@st.composite
def register_sets(draw: st.DrawFn) -> list[Register]:
    registers = []
    address = draw(st.integers(0, 5))
    for index in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(KINDS))
        registers.append(
            reg(
                field=f"f{index}",
                address=address,
                type=kind,
                bit=3 if kind == "bool" else None,
                order=draw(st.sampled_from(["ABCD", "ABCD", "CDAB", "BADC"])),
                scale=1.0 if kind == "bool" else draw(st.sampled_from([1.0, 1.0, 0.1, 0.01, 10.0])),
                offset=0.0 if kind == "bool" else draw(st.sampled_from([0.0, 0.0, -40.0])),
            )
        )
        address += WIDTH[kind] + draw(st.sampled_from([0, 0, 1, 3]))
    return registers


@given(registers=register_sets(), data=st.data())
def test_a_whole_read_decodes_as_each_value_alone(registers: list[Register], data: st.DataObject) -> None:
    (request,) = plan(registers, max_gap=100)
    answer = data.draw(st.lists(st.integers(0, 65535), min_size=request.count, max_size=request.count))
    alone = [
        (slot.field, slot.decode(answer[slot.offset : slot.offset + slot.width]))
        for slot in request.slots
        if slot.decode is not None
    ]
    if request.whole is None:  # a bit, a swapped order: decoded one by one, as before
        assert any(r.type == "bool" or r.order != "ABCD" for r in registers)
        return
    values = request.whole.values_of(answer)
    assert list(request.whole.names) == [name for name, _ in alone]
    for got, (_, want) in zip(values, alone, strict=True):
        assert got == want or (math.isnan(got) and math.isnan(want))
        assert type(got) is type(want)


def test_plain_meters_are_read_whole() -> None:
    registers = [reg(field=f"v{i}", address=2 * i, type="float32") for i in range(20)]
    (request,) = plan(registers, max_gap=100)
    assert request.whole is not None
    assert plan([reg(type="uint16", enum={1: "on"}, field=None, tag="state")], max_gap=100)[0].whole is None
