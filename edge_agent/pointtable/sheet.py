"""A point table as read from its file: rows of text cells, and where its header row is.

Readers (CSV, XLSX) turn a file into a :class:`Sheet`; :func:`locate` finds the header row
by its column names within the first rows, below any title rows or merged cells, and keeps
the rows above it, which the template uses for the profile's settings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .problems import TableProblem

#: The header row is looked for in this many rows from the top.
HEADER_WITHIN = 10


@dataclass(frozen=True)
class Row:
    """One row as the spreadsheet numbers it (from 1), its cells as text."""

    number: int
    cells: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """Whether every cell is blank."""
        return not any(self.cells)


@dataclass(frozen=True)
class Sheet:
    """The rows of one CSV file or one worksheet."""

    file: str
    name: str | None
    rows: tuple[Row, ...]


def column_key(title: str) -> str:
    """How header names are compared: case-blind, full-width folded, no spaces, no ``(unit)`` note."""
    text = unicodedata.normalize("NFKC", title).casefold().strip()
    text = re.sub(r"\(.*?\)|\[.*?\]", "", text)
    return re.sub(r"[\s_.\-/]+", "", text)


@dataclass
class Table:
    """A sheet whose header row is known: cells are read by column key, problems name the column."""

    sheet: Sheet
    header: int
    columns: dict[str, int]
    titles: dict[str, str]
    above: list[Row] = field(default_factory=list)
    body: list[Row] = field(default_factory=list)

    def cell(self, row: Row, key: str) -> str:
        """The text in ``row`` under the column ``key`` ("" when the table has no such column)."""
        index = self.columns.get(key)
        if index is None or index >= len(row.cells):
            return ""
        return row.cells[index]

    def problem(
        self, row: Row | None, key: str | None, message: str, value: str | None = None
    ) -> TableProblem:
        """A problem at ``row`` in the column ``key``, with the cell's text as the value given."""
        column = self.titles.get(key) if key else None
        if value is None and row is not None and key is not None and key in self.columns:
            value = self.cell(row, key)
        return TableProblem(
            self.sheet.file,
            message,
            sheet=self.sheet.name,
            row=row.number if row is not None else None,
            column=column,
            value=value,
        )


def locate(sheet: Sheet, aliases: Mapping[str, Sequence[str]], required: Sequence[str]) -> Table | None:
    """The sheet with its header row found: the row among the first that names most known columns.

    ``aliases`` maps each column key to the names it is written as; a header needs at least
    two known names and every ``required`` key. None when no row qualifies.
    """
    by_name = {column_key(name): key for key, names in aliases.items() for name in (key, *names)}
    best: tuple[int, Row, dict[str, int], dict[str, str]] | None = None
    for row in sheet.rows[:HEADER_WITHIN]:
        columns: dict[str, int] = {}
        titles: dict[str, str] = {}
        for index, title in enumerate(row.cells):
            key = by_name.get(column_key(title)) if title else None
            if key is not None and key not in columns:
                columns[key] = index
                titles[key] = title
        enough = len(columns) >= 2 and all(k in columns for k in required)
        if enough and (best is None or len(columns) > best[0]):
            best = (len(columns), row, columns, titles)
    if best is None:
        return None
    _, header, columns, titles = best
    above = [r for r in sheet.rows if r.number < header.number and not r.empty]
    body = [r for r in sheet.rows if r.number > header.number and not r.empty]
    return Table(sheet, header.number, columns, titles, above, body)
