"""XLSX point tables, read and written with openpyxl.

openpyxl is imported only here, and only when a workbook is read or written, so the agent
(and ``edge-agent --help``) does not load it.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from zipfile import BadZipFile

from .problems import PointTableError, TableProblem
from .sheet import Row, Sheet

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet


def cell_text(value: object) -> str:
    """A cell as the technician sees it: ``40001`` not ``40001.0``, ``0.1`` not ``0.1000000001``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value).strip()


def read_xlsx(path: Path) -> list[Sheet]:
    """Every worksheet of the workbook at ``path``, in order; PointTableError when it cannot be read."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # read_only streams the rows; merged cells read as their top-left value and blanks.
        book = load_workbook(path, read_only=True, data_only=True)
    except (OSError, InvalidFileException, BadZipFile, KeyError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise PointTableError(
            [TableProblem(str(path), f"cannot be read as an Excel workbook (.xlsx): {reason}")]
        ) from None
    try:
        sheets = []
        for sheet in book.worksheets:
            rows = [
                Row(number, tuple(cell_text(v) for v in values))
                for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
            ]
            sheets.append(Sheet(str(path), sheet.title, tuple(rows)))
        return sheets
    finally:
        book.close()


def write_xlsx(
    path: Path,
    sheet_name: str,
    title: str,
    above: Sequence[Sequence[str]],
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
) -> None:
    """A workbook of one sheet: a merged title row, the settings rows, the header, the points."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet: Worksheet = book.active  # type: ignore[assignment]
    sheet.title = sheet_name
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.cell(1, 1).font = Font(bold=True, size=13)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")
    for line in above:
        sheet.append(list(line))
    sheet.append(list(header))
    header_row = sheet.max_row
    for index in range(1, len(header) + 1):
        sheet.cell(header_row, index).font = Font(bold=True)
    for values in rows:
        sheet.append(list(values))
    sheet.freeze_panes = f"A{header_row + 1}"
    for index, name in enumerate(header, start=1):
        width = max([len(str(name))] + [len(str(r[index - 1])) for r in rows if index <= len(r)])
        sheet.column_dimensions[get_column_letter(index)].width = min(40, width + 4)
    book.save(path)


def sheet_names(sheets: Sequence[Sheet]) -> list[str]:
    """The names of ``sheets``, for a message."""
    return [s.name or "" for s in sheets]
