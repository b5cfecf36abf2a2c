"""The cells of a Modbus point table: tables, addresses, types, byte orders, scales, enums."""

from __future__ import annotations

import pytest

from edge_agent.pointtable import cells


@pytest.mark.parametrize(
    ("text", "table"),
    [
        ("holding", "holding"),
        ("Holding Register", "holding"),
        ("保持寄存器", "holding"),
        ("03", "holding"),
        ("4x", "holding"),
        ("输入寄存器", "input"),
        ("04", "input"),
        ("线圈", "coil"),
        ("离散输入", "discrete"),
        ("DI", "discrete"),
    ],
)
def test_register_tables_in_english_chinese_and_function_codes(text: str, table: str) -> None:
    assert cells.parse_table(text) == table


def test_an_unknown_table_lists_what_to_write() -> None:
    with pytest.raises(
        ValueError, match=r"holding, input, coil or discrete \(保持寄存器, 输入寄存器, 线圈, 离散输入\)"
    ):
        cells.parse_table("寄存器")


@pytest.mark.parametrize(
    ("text", "table", "where"),
    [
        ("6", "holding", ("holding", 6, None)),
        ("0x0006", "input", ("input", 6, None)),
        ("0x01F4", "holding", ("holding", 500, None)),
        ("40001", None, ("holding", 0, None)),
        ("400001", None, ("holding", 0, None)),
        ("30006", None, ("input", 5, None)),
        ("00001", None, ("coil", 0, None)),
        ("10002", None, ("discrete", 1, None)),
        ("40001", "holding", ("holding", 0, None)),  # Modicon agreeing with the table
        ("20000", "holding", ("holding", 20000, None)),  # no table digit: a PDU address
        ("40002.4", None, ("holding", 1, 4)),
    ],
)
def test_template_addresses(text: str, table: str | None, where: tuple[str, int, int | None]) -> None:
    address = cells.parse_address(text, table)
    assert (address.table, address.address, address.bit) == where


@pytest.mark.parametrize(
    ("text", "table", "words"),
    [
        ("6", None, "is a PDU address: say its table in the table column"),
        ("40001", "input", "40001 is a Modicon holding address but the table is input"),
        ("40000", None, r"Modicon address 40000 is out of range"),
        ("70000", "holding", "a PDU address runs from 0 to 65535"),
        ("4000A", "holding", "an address is a number"),
        ("40001.16", None, r"bit \.16 is past the 16 bits"),
    ],
)
def test_bad_template_addresses_say_how_to_write_one(text: str, table: str | None, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        cells.parse_address(text, table)


def test_the_modicon_form_of_an_address_for_comments() -> None:
    assert cells.parse_address("0x0000", "input").modicon == "300001"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("uint16", "uint16"),
        ("INT16", "int16"),
        ("Float", "float32"),
        ("DWord", "uint32"),
        ("16位有符号整数", "int16"),
        ("32位浮点数", "float32"),
        ("字符串", "string"),
        ("布尔", "bool"),
    ],
)
def test_data_types(text: str, kind: str) -> None:
    assert cells.parse_type(text) == kind


@pytest.mark.parametrize(
    ("text", "order"),
    [("ABCD", "ABCD"), ("cdab", "CDAB"), ("big-endian", "ABCD"), ("高字在前", "ABCD"), ("低字在前", "CDAB")],
)
def test_byte_orders(text: str, order: str) -> None:
    assert cells.parse_order(text) == order


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.1", 0.1), ("x0.01", 0.01), ("×10", 10.0), ("/10", 0.1), ("÷100", 0.01), ("0.1倍", 0.1)],
)
def test_scales_as_tables_write_them(text: str, value: float) -> None:
    assert cells.parse_number(text, "scale") == pytest.approx(value)


def test_a_scale_that_is_no_number_says_so() -> None:
    with pytest.raises(ValueError, match=r"scale must be a number, e.g. 0.1 \(or /10\)"):
        cells.parse_number("十分之一", "scale")


def test_enums_in_the_ways_tables_write_them() -> None:
    assert cells.parse_enum("0=off; 1=idle；2：running") == {0: "off", 1: "idle", 2: "running"}
    with pytest.raises(ValueError, match=r'an enum is written "0=off; 1=idle"'):
        cells.parse_enum("off, idle")
