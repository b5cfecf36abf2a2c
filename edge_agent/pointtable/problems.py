"""What is wrong with a point table, said so that the technician finds the cell to fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TableProblem:
    """One problem: the file, the sheet, the row, the column and the value given, and what to do."""

    file: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.sheet:
            where.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        given = f" (given: {self.value!r})" if self.value is not None else ""
        return f"{', '.join(where)}: {self.message}{given}"


class PointTableError(Exception):
    """The table cannot become a profile; ``problems`` lists every reason found."""

    def __init__(self, problems: Sequence[TableProblem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the point table:\n{lines}")
