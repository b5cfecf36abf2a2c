"""Kepware's CSV tag export of a Modbus device: its columns, addresses, types and linear scaling.

Kepware (KEPServerEX, ThingWorx Kepware Server) exports the tags of a device or tag group as
CSV with the columns ``Tag Name, Address, Data Type, Respect Data Type, Client Access, Scan
Rate, Scaling, Raw Low, Raw High, Scaled Low, Scaled High, Scaled Data Type, Clamp Low, Clamp
High, Eng Units, Description, Negate Value``. Addresses are Modicon style with the table digit
first (``400001`` is holding register 0); the device's word order is a setting of the device in
Kepware, not of the tags, so it comes from ``--order``.
"""

from __future__ import annotations

import math
from pathlib import Path

from campus_core.names import is_snake_case

from . import cells
from .csvfile import read_csv
from .draft import Draft, Entry, Options
from .naming import NamingError, glossary, name_point, snake_case
from .problems import PointTableError, TableProblem
from .sheet import Row, column_key, locate

NAME = "kepware"
PROTOCOLS = frozenset({"modbus"})

COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("Tag Name",),
    "address": ("Address",),
    "type": ("Data Type",),
    "scaling": ("Scaling",),
    "raw_low": ("Raw Low",),
    "raw_high": ("Raw High",),
    "scaled_low": ("Scaled Low",),
    "scaled_high": ("Scaled High",),
    "unit": ("Eng Units", "Eng. Units"),
    "description": ("Description",),
    "negate": ("Negate Value",),
}
#: Kepware's data types -> the profile's. BCD and LBCD are not decoded by the Modbus driver.
TYPES = {
    "short": "int16",
    "word": "uint16",
    "long": "int32",
    "dword": "uint32",
    "float": "float32",
    "double": "float64",
    "llong": "int64",
    "qword": "uint64",
    "boolean": "bool",
    "string": "string",
}
WIDE = ("int32", "uint32", "float32", "int64", "uint64", "float64")


def sniff(head: str) -> bool:
    """Whether a CSV's first lines are a Kepware tag export (a header with Tag Name and Address)."""
    for line in head.splitlines()[:10]:
        keys = {column_key(c.strip().strip('"')) for c in line.replace(";", ",").split(",")}
        if {"tagname", "address"} <= keys:
            return True
    return False


def read(path: Path, options: Options) -> Draft:
    """The draft of a Kepware tag export."""
    sheet = read_csv(path, options.encoding)
    table = locate(sheet, COLUMNS, ("name", "address"))
    if table is None:
        raise PointTableError(
            [TableProblem(str(path), "has no Kepware header row (Tag Name, Address, Data Type, ...)")]
        )
    draft = Draft(table, NAME)
    for row in table.body:
        entry = _entry(draft, row, options)
        if entry is not None:
            draft.entries.append(entry)
    return draft


def _type(draft: Draft, row: Row) -> str | None:
    text = draft.table.cell(row, "type")
    if not text or text.casefold() == "default":
        return None
    kind = TYPES.get(text.casefold().replace(" ", ""))
    if kind is None:
        if "array" in text.casefold():
            reason = "arrays are not read; make one tag per value"
        elif text.casefold() in ("bcd", "lbcd"):
            reason = (
                "BCD values are not decoded by the Modbus driver; leave this tag out "
                "(read as a Word it would give wrong numbers)"
            )
        else:
            reason = f"unknown Kepware data type; known: {', '.join(t.title() for t in TYPES)}"
        raise ValueError(reason)
    return kind


def _entry(draft: Draft, row: Row, options: Options) -> Entry | None:
    entry = Entry(row)
    text = draft.table.cell(row, "address")
    try:
        address = cells.parse_kepware_address(text)
    except ValueError as exc:
        draft.problem(row, "address", str(exc))
        return None
    name = draft.table.cell(row, "name")
    entry.label = ", ".join(p for p in (name, text, draft.table.cell(row, "description")) if p)
    entry.keys.update(table=address.table, address=address.address)
    entry.columns.update(table="address", address="address", type="type", scale="scaling", offset="scaling")
    try:
        kind = _type(draft, row)
    except ValueError as exc:
        draft.problem(row, "type", str(exc))
        return None
    if address.characters is not None:
        kind = kind or "string"
        entry.keys["length"] = math.ceil(address.characters / 2)
        entry.columns["length"] = "address"
        if address.low_byte_first:
            entry.keys["order"] = "BADC"
    if address.bit is not None:
        entry.keys["bit"] = address.bit
        entry.columns["bit"] = "address"
    if kind is not None:
        entry.keys["type"] = kind
    if kind in WIDE:
        entry.keys["order"] = options.order
    _scaling(draft, entry)
    _outputs(draft, entry, name, kind == "string")
    return entry


def _scaling(draft: Draft, entry: Entry) -> None:
    """Linear scaling: raw low..high maps to scaled low..high, so scale and offset follow."""
    mode = draft.table.cell(entry.row, "scaling").casefold()
    if mode in ("", "none"):
        return
    if mode != "linear":
        draft.problem(entry, "scaling", "only Linear scaling (or none) can be turned into scale and offset")
        return
    values = {}
    for key in ("raw_low", "raw_high", "scaled_low", "scaled_high"):
        try:
            values[key] = cells.parse_number(draft.table.cell(entry.row, key), key)
        except ValueError as exc:
            draft.problem(entry, key, f"Linear scaling needs it: {exc}")
            return
    if values["raw_high"] == values["raw_low"]:
        draft.problem(entry, "raw_high", "Raw High equals Raw Low: the scaling divides by 0")
        return
    scale = (values["scaled_high"] - values["scaled_low"]) / (values["raw_high"] - values["raw_low"])
    offset = values["scaled_low"] - values["raw_low"] * scale
    if draft.table.cell(entry.row, "negate") in ("1", "true", "True", "TRUE"):
        scale, offset = -scale, -offset
    # Twelve digits: (100 - 0) / (1000 - 0) is 0.1, and a float's noise is not the table's.
    entry.keys["scale"] = float(f"{scale:.12g}")
    if offset:
        entry.keys["offset"] = float(f"{offset:.12g}")


def _outputs(draft: Draft, entry: Entry, name: str, text: bool) -> None:
    entry.columns.update(field="name", tag="name")
    if text:
        tag = glossary().stem(name) or snake_case(name)
        if is_snake_case(tag):
            entry.keys = {"tag": tag, **entry.keys}
        else:
            draft.problem(entry, "name", "a string becomes a tag; its tag name needs letters (e.g. Model)")
        return
    try:
        field = name_point(name, "", draft.table.cell(entry.row, "unit"), camel=True)
    except NamingError as exc:
        draft.problem(entry, exc.column, str(exc))
        return
    entry.keys = {"field": field, **entry.keys}
