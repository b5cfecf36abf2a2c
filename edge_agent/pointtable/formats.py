"""Which format a point table is in, and the reader of each.

``--format`` names one; without it an ``.xlsx`` file is a workbook of the template, and a
text file is whichever format its first lines show (a Kepware header, a BACnet EDE header),
else the template as CSV. A format of its own is a module with ``NAME``, ``PROTOCOLS``,
``sniff(head)`` and ``read(path, options) -> Draft``
(:class:`~edge_agent.pointtable.draft.Reader`), listed in :data:`TEXT_FORMATS`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import cast

from . import template
from .csvfile import decode, read_csv
from .draft import Draft, Options, Reader
from .problems import PointTableError, TableProblem
from .xlsx import read_xlsx, sheet_names

#: Formats with a reader module of their own, tried in this order on a text file.
TEXT_FORMATS = {"kepware": "edge_agent.pointtable.kepware", "ede": "edge_agent.pointtable.ede"}
FORMATS = ("csv", "xlsx", *TEXT_FORMATS)
#: What a template's header row needs besides a name, per protocol (for the message when none is found).
NEEDED = {
    "modbus": "address 地址",
    "opcua": "node 节点 or path 浏览路径",
    "bacnet": "object 对象 or object_name 对象名称",
}
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def reader(format: str) -> Reader:
    """The reader module of a text format."""
    return cast(Reader, importlib.import_module(TEXT_FORMATS[format]))


def detect(path: Path, encoding: str | None = None) -> str:
    """The format of the file at ``path``, from its name and first lines."""
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return "xlsx"
    try:
        head, _ = decode(path.read_bytes()[:8192], encoding)
    except (OSError, ValueError):
        return "csv"  # reading it properly says what is wrong
    for name in TEXT_FORMATS:
        if reader(name).sniff(head):
            return name
    return "csv"


def read(path: Path, options: Options, format: str | None) -> Draft:
    """The draft of the table at ``path``; PointTableError when no point table is found in it."""
    format = format or detect(path, options.encoding)
    if options.device is not None and format != "ede":
        raise PointTableError(
            [TableProblem(str(path), f"--device picks a device of an EDE file; this is a {format} file")]
        )
    if format in TEXT_FORMATS:
        module = reader(format)
        if options.protocol not in module.PROTOCOLS:
            raise PointTableError(
                [
                    TableProblem(
                        str(path),
                        f"{format} files describe {', '.join(sorted(module.PROTOCOLS))} devices, "
                        f"not {options.protocol}: give --protocol {min(module.PROTOCOLS)}",
                    )
                ]
            )
        return module.read(path, options)
    if options.encoding is not None and format == "xlsx":
        raise PointTableError(
            [TableProblem(str(path), "--encoding is for text tables (CSV, EDE); a workbook says its own")]
        )
    sheets = read_xlsx(path) if format == "xlsx" else [read_csv(path, options.encoding)]
    if options.sheet is not None:
        if format != "xlsx":
            raise PointTableError(
                [TableProblem(str(path), "--sheet is for workbooks (.xlsx); a CSV file has one sheet")]
            )
        chosen = [s for s in sheets if s.name == options.sheet]
        if not chosen:
            raise PointTableError(
                [
                    TableProblem(
                        str(path),
                        f"has no sheet {options.sheet!r}; its sheets: {', '.join(sheet_names(sheets))}",
                    )
                ]
            )
        sheets = chosen
    draft = template.read(sheets, options, format)
    if draft is None:
        where = "any sheet" if len(sheets) > 1 else "the sheet"
        columns = NEEDED[options.protocol]
        raise PointTableError(
            [
                TableProblem(
                    str(path),
                    f"no header row found in the first rows of {where}: "
                    f"it needs {columns} and at least one more column the template knows "
                    "(name 名称, field 字段, type 数据类型, unit 单位, ...); "
                    "edge-agent import points --template FILE writes one",
                    sheet=sheets[0].name if len(sheets) == 1 else None,
                )
            ]
        )
    return draft
