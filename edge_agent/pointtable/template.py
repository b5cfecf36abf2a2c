"""The project's own point table template: its columns in English and Chinese, and reading its rows.

One row per point; the columns (any order, any subset that says enough):

    name 名称, field 字段, table 寄存器类型, address 地址, type 数据类型, order 字节序,
    scale 倍率, offset 偏移, unit 单位, description 说明, tag 标签,
    and where needed length 长度, bit 位, enum 枚举; for OPC UA node 节点 and path 浏览路径;
    for BACnet object 对象 (analog-input,1) or object_name 对象名称, property 属性 and
    state_tag 状态标签.

Rows above the header may hold the profile's settings, a name in the first cell and its value
in the next: ``measurement`` (测量名称), ``kind`` (设备型号), ``tags``, ``max_registers``...
Other rows above it (a title, merged cells) are left alone.
"""

from __future__ import annotations

import math

from campus_core.names import is_snake_case

from . import cells
from .draft import Draft, Entry, Options
from .naming import NamingError, name_point
from .sheet import Row, Sheet, Table, column_key, locate

#: Column key -> its English and Chinese names (the key itself is accepted too).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("名称", "point", "point name", "点名", "点位名称", "测点名称", "参数名称", "变量名", "名字"),
    "field": ("字段", "字段名", "field name"),
    "table": ("寄存器类型", "register type", "function code", "功能码", "区域", "存储区"),
    "address": ("地址", "寄存器地址", "register address", "register"),
    "type": ("数据类型", "data type", "类型"),
    "order": ("字节序", "byte order", "word order", "字节顺序"),
    "scale": ("倍率", "multiplier", "factor", "系数", "比例", "乘数"),
    "offset": ("偏移", "偏移量"),
    "unit": ("单位", "units", "eng units"),
    "description": ("说明", "描述", "备注", "comment", "notes", "remark"),
    "tag": ("标签",),
    "length": ("长度", "registers"),
    "bit": ("位", "bit number", "位号"),
    "enum": ("枚举", "状态值", "values"),
    "deadband": ("死区", "变化阈值", "dead band"),
    "deadband_pct": ("死区百分比", "变化百分比", "deadband %"),
    "node": ("节点", "node id", "nodeid", "节点id"),
    "path": ("浏览路径", "browse path"),
    "object": ("对象", "object id", "object identifier", "对象标识"),
    "object_name": ("对象名称", "object name"),
    "property": ("属性", "bacnet property"),
    "state_tag": ("状态标签", "state tag"),
}
#: The columns the template is written with, in order, per protocol.
LAYOUT = {
    "modbus": (
        "name", "field", "table", "address", "type", "order", "scale", "offset", "unit",
        "description", "tag", "length", "bit", "enum", "deadband", "deadband_pct",
    ),
    "opcua": (
        "name", "field", "node", "path", "scale", "offset", "unit", "description", "tag",
        "deadband", "deadband_pct",
    ),
    "bacnet": (
        "name", "field", "object", "object_name", "property", "unit", "description", "tag", "state_tag",
        "deadband", "deadband_pct",
    ),
}  # fmt: skip
#: Each column's Chinese name in a template written with ``--lang zh``.
CHINESE = {key: names[0] for key, names in COLUMNS.items()}

#: Settings above the header -> their names; which a protocol takes is in SETTINGS_OF.
SETTINGS: dict[str, tuple[str, ...]] = {
    "measurement": ("测量名称", "测量"),
    "kind": ("设备型号", "设备类型", "型号"),
    "tags": ("附加标签",),
    "max_registers": ("单次最多寄存器",),
    "max_gap": (),
    "max_bits": (),
    "max_nodes_per_read": (),
    "max_objects_per_request": (),
    # The asset register's fallback for a device that does not say who it is.
    "make": ("制造商", "厂商", "品牌"),
    "model": ("产品型号", "规格型号"),
}
SETTINGS_OF = {
    "modbus": ("measurement", "kind", "make", "model", "tags", "max_registers", "max_gap", "max_bits"),
    "opcua": ("measurement", "kind", "make", "model", "tags", "max_nodes_per_read"),
    "bacnet": ("measurement", "kind", "make", "model", "tags", "max_objects_per_request"),
}
#: The settings that are whole numbers, and their range (as the device models allow).
INTEGER_SETTINGS = {
    "max_registers": (1, 125),
    "max_gap": (0, 124),
    "max_bits": (1, 2000),
    "max_nodes_per_read": (1, 100_000),
    "max_objects_per_request": (1, 1000),
}
#: The columns a protocol's header row needs one of, besides the others it names.
ADDRESSED_BY = {"modbus": {"address"}, "opcua": {"node", "path"}, "bacnet": {"object", "object_name"}}


def find(sheets: list[Sheet], protocol: str) -> Table | None:
    """The first sheet whose header names the template's columns for ``protocol``."""
    required = ("address",) if protocol == "modbus" else ()
    for sheet in sheets:
        table = locate(sheet, COLUMNS, required)
        if table is not None and ADDRESSED_BY[protocol] & table.columns.keys():
            return table
    return None


def read_table(table: Table, options: Options, format: str) -> Draft:
    """The draft of a located template table."""
    draft = Draft(table, format)
    _read_settings(draft, options.protocol)
    read_row = {"modbus": _modbus, "opcua": _opcua, "bacnet": _bacnet}[options.protocol]
    for row in table.body:
        entry = read_row(draft, row)
        if entry is not None:
            draft.entries.append(entry)
    return draft


def _read_settings(draft: Draft, protocol: str) -> None:
    names = {column_key(n): key for key, ns in SETTINGS.items() for n in (key, *ns)}
    for row in draft.table.above:
        filled = [c for c in row.cells if c]
        key = names.get(column_key(filled[0])) if filled else None
        if key is None or key not in SETTINGS_OF[protocol]:
            continue  # a title row, or notes above the table
        text = filled[1] if len(filled) > 1 else ""
        draft.setting_rows[key] = row
        try:
            draft.settings[key] = _setting(key, text)
        except ValueError as exc:
            draft.problems.append(draft.table.problem(row, None, f"{filled[0]}: {exc}", text))


def _setting(key: str, text: str) -> object:
    if key in INTEGER_SETTINGS:
        low, high = INTEGER_SETTINGS[key]
        return cells.parse_int(text, key, low, high)
    if key == "tags":
        return cells.parse_pairs(text, "tags")
    if not text:
        raise ValueError("has no value in the next cell")
    return text


def _cell(draft: Draft, entry: Entry, key: str) -> str:
    return draft.table.cell(entry.row, key)


def _label(draft: Draft, row: Row, where: str) -> str:
    parts = [draft.table.cell(row, "name"), where, draft.table.cell(row, "description")]
    return ", ".join(p for p in parts if p)


def _number(draft: Draft, entry: Entry, key: str) -> None:
    text = _cell(draft, entry, key)
    if text:
        entry.columns[key] = key
        try:
            entry.keys[key] = cells.parse_number(text, key)
        except ValueError as exc:
            draft.problem(entry, key, str(exc))


def _modbus(draft: Draft, row: Row) -> Entry | None:
    entry = Entry(row)
    table = None
    if text := draft.table.cell(row, "table"):
        try:
            table = cells.parse_table(text)
        except ValueError as exc:
            draft.problem(row, "table", str(exc))
            return None
    text = draft.table.cell(row, "address")
    if not text:
        draft.problem(row, "address", "every point needs an address (e.g. 40001, or 0x0000 with the table)")
        return None
    try:
        address = cells.parse_address(text, table)
    except ValueError as exc:
        draft.problem(row, "address", str(exc))
        return None
    entry.label = _label(draft, row, text if table is None else f"{address.table} {text}")
    for key in ("table", "address"):
        entry.columns[key] = "address" if table is None else key
    entry.keys.update(table=address.table, address=address.address)
    _modbus_cells(draft, entry, address)
    _modbus_outputs(draft, entry)
    return entry


def _modbus_cells(draft: Draft, entry: Entry, address: cells.Address) -> None:
    parsers = {"type": cells.parse_type, "order": cells.parse_order}
    for key, parse in parsers.items():
        if text := _cell(draft, entry, key):
            entry.columns[key] = key
            try:
                entry.keys[key] = parse(text)
            except ValueError as exc:
                draft.problem(entry, key, str(exc))
    if address.characters is not None:
        entry.keys.setdefault("type", "string")
        entry.keys["length"] = math.ceil(address.characters / 2)
        entry.columns["length"] = "address"
        if address.low_byte_first:
            entry.keys["order"] = "BADC"
    for key, (low, high) in {"length": (1, 125), "bit": (0, 15)}.items():
        if text := _cell(draft, entry, key):
            entry.columns[key] = key
            try:
                entry.keys[key] = cells.parse_int(text, key, low, high)
            except ValueError as exc:
                draft.problem(entry, key, str(exc))
    if address.bit is not None:
        entry.keys["bit"] = address.bit
        entry.columns["bit"] = "address"
    _number(draft, entry, "scale")
    _number(draft, entry, "offset")
    _number(draft, entry, "deadband")
    _number(draft, entry, "deadband_pct")
    if text := _cell(draft, entry, "enum"):
        entry.columns["enum"] = "enum"
        try:
            entry.keys["enum"] = cells.parse_enum(text)
        except ValueError as exc:
            draft.problem(entry, "enum", str(exc))


def _outputs(draft: Draft, entry: Entry, text_only: bool, optional_field: bool) -> None:
    """Field and tag: the tag column as given; the field from its column, the glossary and the unit."""
    tag = _cell(draft, entry, "tag")
    field = _cell(draft, entry, "field")
    if tag:
        entry.columns["tag"] = "tag"
        if is_snake_case(tag):
            entry.keys["tag"] = tag
        else:
            draft.problem(entry, "tag", "a tag key must be snake_case: lower-case letters, digits and _")
    if text_only:
        if not tag and field:
            # Text goes into a tag: a string point's name in the field column is its tag key.
            entry.columns["tag"] = "field"
            entry.keys["tag"] = field
        elif not tag:
            draft.problem(
                entry, "tag", "text goes into a tag: write the tag key in the tag column (e.g. model)"
            )
        return
    name = _cell(draft, entry, "name")
    entry.columns["field"] = "field" if field else "name"
    try:
        entry.keys["field"] = name_point(name, field, _cell(draft, entry, "unit"))
    except NamingError as exc:
        if optional_field and tag and not field:
            return  # an enum's tag alone is enough
        column = exc.column
        if column == "name" and "name" not in draft.table.columns:
            column = "field"
        draft.problem(entry, column, str(exc))


def _modbus_outputs(draft: Draft, entry: Entry) -> None:
    _outputs(draft, entry, text_only=entry.keys.get("type") == "string", optional_field="enum" in entry.keys)
    # The profile lists field and tag first; keep that order in what is written.
    entry.keys = {k: entry.keys[k] for k in ("field", "tag") if k in entry.keys} | {
        k: v for k, v in entry.keys.items() if k not in ("field", "tag")
    }


def _opcua(draft: Draft, row: Row) -> Entry | None:
    entry = Entry(row)
    node = draft.table.cell(row, "node")
    path = draft.table.cell(row, "path")
    if not node and not path:
        draft.problem(
            row,
            "node" if "node" in draft.table.columns else "path",
            "every point needs a node id or a browse path",
        )
        return None
    entry.label = _label(draft, row, node or path)
    # A node with a tag key is text; any other is a number or a boolean, a field.
    _outputs(draft, entry, text_only=bool(draft.table.cell(row, "tag")), optional_field=False)
    for key, text in (("node", node), ("path", path)):
        if text:
            entry.keys[key] = text
            entry.columns[key] = key
    _number(draft, entry, "scale")
    _number(draft, entry, "offset")
    _number(draft, entry, "deadband")
    _number(draft, entry, "deadband_pct")
    return entry


def _bacnet(draft: Draft, row: Row) -> Entry | None:
    entry = Entry(row)
    obj = draft.table.cell(row, "object")
    name = draft.table.cell(row, "object_name")
    if not obj and not name:
        draft.problem(
            row,
            "object" if "object" in draft.table.columns else "object_name",
            "every point needs an object (analog-input,1) or the object's name on the device",
        )
        return None
    entry.label = _label(draft, row, obj or name)
    # An object with a tag key is text (characterstring-value); any other a number or a state.
    _outputs(draft, entry, text_only=bool(draft.table.cell(row, "tag")), optional_field=False)
    for key, column in (("object", "object"), ("name", "object_name"), ("property", "property")):
        if text := draft.table.cell(row, column):
            entry.keys[key] = text
            entry.columns[key] = column
    if state_tag := _cell(draft, entry, "state_tag"):
        entry.columns["state_tag"] = "state_tag"
        if is_snake_case(state_tag):
            entry.keys["state_tag"] = state_tag
        else:
            draft.problem(entry, "state_tag", "a state tag must be snake_case: lower-case letters, digits, _")
    _number(draft, entry, "deadband")
    _number(draft, entry, "deadband_pct")
    return entry


def read(sheets: list[Sheet], options: Options, format: str) -> Draft | None:
    """The draft of the first sheet with the template's header, or None when no sheet has one."""
    table = find(sheets, options.protocol)
    return None if table is None else read_table(table, options, format)
