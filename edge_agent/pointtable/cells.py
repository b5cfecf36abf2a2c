"""Reading the cells of a Modbus point table: register tables, addresses, data types, orders, scales.

Each parser takes the cell's text and returns the profile's value, or raises ValueError with
a sentence that says what the cell should hold.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from drivers.modbus.config import TYPE_WIDTH

#: The Modicon digit in front of an address and the table it names.
MODICON_TABLES = {"0": "coil", "1": "discrete", "3": "input", "4": "holding"}
MODICON_DIGIT = {table: digit for digit, table in MODICON_TABLES.items()}

TABLES = {
    "holding": "holding",
    "holdingregister": "holding",
    "holdingregisters": "holding",
    "hr": "holding",
    "4x": "holding",
    "03": "holding",
    "fc3": "holding",
    "保持寄存器": "holding",
    "input": "input",
    "inputregister": "input",
    "inputregisters": "input",
    "ir": "input",
    "3x": "input",
    "04": "input",
    "fc4": "input",
    "输入寄存器": "input",
    "coil": "coil",
    "coils": "coil",
    "co": "coil",
    "0x": "coil",
    "01": "coil",
    "fc1": "coil",
    "线圈": "coil",
    "线圈寄存器": "coil",
    "discrete": "discrete",
    "discreteinput": "discrete",
    "discreteinputs": "discrete",
    "di": "discrete",
    "1x": "discrete",
    "02": "discrete",
    "fc2": "discrete",
    "离散输入": "discrete",
    "离散量输入": "discrete",
    "输入状态": "discrete",
}

#: Data types as tables write them -> the profile's type. Kepware's names are here too.
TYPES = {
    **{name: name for name in TYPE_WIDTH},
    "string": "string",
    "int": "int16",
    "short": "int16",
    "uint": "uint16",
    "ushort": "uint16",
    "word": "uint16",
    "long": "int32",
    "dint": "int32",
    "dword": "uint32",
    "udint": "uint32",
    "ulong": "uint32",
    "float": "float32",
    "real": "float32",
    "single": "float32",
    "double": "float64",
    "lreal": "float64",
    "llong": "int64",
    "qword": "uint64",
    "boolean": "bool",
    "bit": "bool",
    "ascii": "string",
    "有符号整数": "int16",
    "16位有符号整数": "int16",
    "有符号16位整数": "int16",
    "无符号整数": "uint16",
    "16位无符号整数": "uint16",
    "无符号16位整数": "uint16",
    "32位有符号整数": "int32",
    "有符号32位整数": "int32",
    "32位无符号整数": "uint32",
    "无符号32位整数": "uint32",
    "浮点": "float32",
    "浮点数": "float32",
    "浮点型": "float32",
    "单精度浮点": "float32",
    "单精度浮点数": "float32",
    "32位浮点数": "float32",
    "双精度浮点": "float64",
    "双精度浮点数": "float64",
    "64位浮点数": "float64",
    "字符串": "string",
    "布尔": "bool",
    "位": "bool",
}

ORDERS = {
    **{
        o.casefold(): o
        for o in ("ABCD", "CDAB", "BADC", "DCBA", "ABCDEFGH", "GHEFCDAB", "BADCFEHG", "HGFEDCBA")
    },
    "bigendian": "ABCD",
    "大端": "ABCD",
    "高字在前": "ABCD",
    "wordswap": "CDAB",
    "wordswapped": "CDAB",
    "低字在前": "CDAB",
    "字交换": "CDAB",
    "byteswap": "BADC",
    "字节交换": "BADC",
    "littleendian": "DCBA",
    "小端": "DCBA",
}


def _key(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", text).casefold())


def _choices(table: dict[str, str]) -> str:
    return ", ".join(sorted(set(table.values())))


def parse_table(text: str) -> str:
    """``保持寄存器``, ``Holding Register``, ``03``, ``4x`` -> ``holding``."""
    table = TABLES.get(_key(text))
    if table is None:
        raise ValueError(
            "unknown register table; write holding, input, coil or discrete "
            "(保持寄存器, 输入寄存器, 线圈, 离散输入) or the function code 03, 04, 01, 02"
        )
    return table


def parse_type(text: str) -> str:
    """``Float``, ``uint16``, ``32位浮点数`` -> the profile's type."""
    kind = TYPES.get(_key(text))
    if kind is None:
        raise ValueError(f"unknown data type; write one of {_choices(TYPES)}")
    return kind


def parse_order(text: str) -> str:
    """``ABCD``, ``CDAB``, ``big-endian``, ``低字在前`` -> the profile's order."""
    order = ORDERS.get(_key(text))
    if order is None:
        raise ValueError(
            "unknown byte order; write ABCD (high word first), CDAB (low word first), BADC or DCBA"
        )
    return order


def parse_number(text: str, what: str) -> float:
    """A number as a table writes it: ``0.1``, ``x0.1``, ``×0.1``, ``/10``, ``÷10``, ``0.1倍``."""
    cleaned = unicodedata.normalize("NFKC", text).strip().replace("倍", "").replace(",", "")
    divide = cleaned[:1] in ("/", "÷")
    if cleaned[:1] in ("x", "X", "×", "*", "/", "÷"):
        cleaned = cleaned[1:].strip()
    elif cleaned.startswith("1/"):
        cleaned, divide = cleaned[2:], True
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{what} must be a number, e.g. 0.1 (or /10)") from None
    if divide:
        if value == 0:
            raise ValueError(f"{what} divides by 0")
        value = 1 / value
    return value


def parse_int(text: str, what: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value.is_integer() or not low <= value <= high:
        raise ValueError(f"{what} must be a whole number from {low} to {high}")
    return int(value)


def parse_pairs(text: str, what: str) -> dict[str, str]:
    """``a=x; b=y`` (also ``:``, ``,``, ``；``, ``，``) -> ``{"a": "x", "b": "y"}``."""
    pairs: dict[str, str] = {}
    for part in re.split(r"[;,；，\n]+", text):
        if part.strip():
            match = re.fullmatch(r"\s*(\S+?)\s*[=:：]\s*(.+?)\s*", part)
            if match is None:
                raise ValueError(f"{what} is written as pairs: {_EXAMPLES[what]}")
            pairs[match.group(1)] = match.group(2)
    if not pairs:
        raise ValueError(f"{what} is written as pairs: {_EXAMPLES[what]}")
    return pairs


_EXAMPLES = {"enum": '"0=off; 1=idle" (a whole number, =, a name)', "tags": '"vendor=eastron; phase=3"'}


def parse_enum(text: str) -> dict[int, str]:
    """``0=off; 1=idle`` -> ``{0: "off", 1: "idle"}``."""
    try:
        return {int(raw, 0): name for raw, name in parse_pairs(text, "enum").items()}
    except ValueError:
        raise ValueError(f"an enum is written {_EXAMPLES['enum']}") from None


@dataclass(frozen=True)
class Address:
    """Where a point lives: its table and PDU address, and a bit or a string's length if any."""

    table: str
    address: int
    bit: int | None = None
    characters: int | None = None
    low_byte_first: bool = False

    @property
    def modicon(self) -> str:
        """The six-digit Modicon form, for comments: holding 0 is ``400001``."""
        return f"{MODICON_DIGIT[self.table]}{self.address + 1:05d}"


_ADDRESS = re.compile(r"(0x[0-9a-f]+|\d+)(?:\.(\d+)([a-z])?)?", re.IGNORECASE)


def _suffix(address: Address, bit: str | None, letter: str | None) -> Address:
    if bit is None:
        return address
    if letter is None:
        number = int(bit)
        if not 0 <= number <= 15:
            raise ValueError(f"bit .{bit} is past the 16 bits of a register (0-15)")
        return Address(address.table, address.address, bit=number)
    if letter.upper() not in ("H", "L"):
        raise ValueError(
            f"string .{bit}{letter}: only H (high byte first) and L (low byte first) strings are read"
        )
    return Address(address.table, address.address, characters=int(bit), low_byte_first=letter.upper() == "L")


def parse_address(text: str, table: str | None) -> Address:
    """A template address: PDU (``6``, ``0x0006``) with ``table``, or Modicon (``40007``, ``400007``).

    A five- or six-digit decimal address is read as Modicon, whose first digit names the
    table (4 holding, 3 input, 0 coil, 1 discrete); it must then agree with ``table`` if one
    is given. ``.N`` picks bit N; ``.NH`` / ``.NL`` is a string of N characters.
    """
    match = _ADDRESS.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if match is None:
        raise ValueError("an address is a number: 6, 0x0006 or Modicon 40007 (optionally .N for bit N)")
    number, bit, letter = match.groups()
    digit = number[0]
    if number.lower().startswith("0x"):
        pdu = int(number, 16)
    elif len(number) in (5, 6) and digit in MODICON_TABLES:
        modicon_table = MODICON_TABLES[digit]
        if table is not None and table != modicon_table:
            raise ValueError(
                f"{number} is a Modicon {modicon_table} address but the table is {table}; "
                f"write a PDU address of 10000 or more in hex (0x{int(number):04X})"
            )
        item = int(number[1:])
        if not 1 <= item <= (9999 if len(number) == 5 else 65536):
            raise ValueError(f"Modicon address {number} is out of range ({digit}0001-{digit}65536)")
        return _suffix(Address(modicon_table, item - 1), bit, letter)
    else:
        pdu = int(number)
    if table is None:
        raise ValueError(
            f"{number} is a PDU address: say its table in the table column (holding, input, coil, "
            f"discrete), or write the Modicon address ({40001 + pdu if pdu < 9999 else 400001 + pdu})"
        )
    if pdu > 65535:
        raise ValueError("a PDU address runs from 0 to 65535 (0xFFFF)")
    return _suffix(Address(table, pdu), bit, letter)


def parse_kepware_address(text: str) -> Address:
    """A Kepware Modbus address: table digit and item, ``400001`` (= ``41``) is holding 0.

    Kepware pads the item to five digits, so ``41``, ``401``, ``40001`` and ``400001`` are
    the same register. ``400041.3`` is bit 3; ``400031.8H`` an 8-character string.
    """
    match = _ADDRESS.fullmatch(text.strip())
    if match is None or match.group(1).lower().startswith("0x") or match.group(1)[0] not in MODICON_TABLES:
        raise ValueError(
            "a Kepware Modbus address starts with its table digit (4 holding, 3 input, 0 coil, "
            "1 discrete), e.g. 400001, 300031, 400041.3, 400031.8H"
        )
    number, bit, letter = match.groups()
    item = int(number[1:] or "0")
    if not 1 <= item <= 65536:
        raise ValueError(f"address {number}: the register number after the table digit runs 1-65536")
    return _suffix(Address(MODICON_TABLES[number[0]], item - 1), bit, letter)
