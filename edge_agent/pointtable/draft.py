"""A point table on its way to a profile: the entries a reader made of its rows, and its settings.

A reader (template, Kepware, BACnet EDE) turns each row into an :class:`Entry`, the keys of
one ``[[registers]]`` / ``[[nodes]]`` / ``[[objects]]`` entry, remembering which column each key
came from, so that whatever is found wrong later still names the cell to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .problems import TableProblem
from .sheet import Row, Table

#: Word orders ``--order`` may give for 32- and 64-bit values.
WORD_ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")


@dataclass(frozen=True)
class Options:
    """What the technician said on the command line."""

    protocol: str
    sheet: str | None = None
    order: str = "ABCD"
    measurement: str | None = None
    #: BACnet EDE: the device whose objects to import, when the file lists several.
    device: int | None = None
    #: A text table's encoding, when it is not found by itself (UTF-8 or GB18030): an EDE
    #: file from a European tool is often Windows-1252, which GB18030 would read as other text.
    encoding: str | None = None


@dataclass
class Entry:
    """One point: the keys of its profile entry, the columns they came from, and its source."""

    row: Row
    keys: dict[str, object] = field(default_factory=dict)
    #: Profile key -> the table's column key it was read from (for problems).
    columns: dict[str, str] = field(default_factory=dict)
    #: What the profile's comment says of the row: its name, address as given, description.
    label: str = ""
    #: A problem was found in the row already: it is not validated further (one cause, one message).
    failed: bool = False


@dataclass
class Draft:
    """What a reader made of a table: settings, entries, and the problems it found on the way."""

    table: Table
    format: str
    settings: dict[str, object] = field(default_factory=dict)
    #: Setting -> the row above the header that gave it.
    setting_rows: dict[str, Row] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    problems: list[TableProblem] = field(default_factory=list)
    #: Lines the profile's header comment adds about the source (an EDE file's project and device).
    notes: list[str] = field(default_factory=list)
    #: Rows the agent reads nothing of (an EDE file's device object, its schedules), by what they are.
    left_out: list[str] = field(default_factory=list)

    def problem(self, entry_or_row: Entry | Row | None, key: str | None, message: str) -> None:
        """Note a problem at a row; ``key`` is a profile key of the entry, or a column key of the table."""
        if isinstance(entry_or_row, Entry):
            entry_or_row.failed = True
            column = entry_or_row.columns.get(key or "", key)
            self.problems.append(self.table.problem(entry_or_row.row, column, message))
        else:
            self.problems.append(self.table.problem(entry_or_row, key, message))

    def sorted_problems(self) -> list[TableProblem]:
        """The problems in the order of the table's rows; those of the whole table first."""
        return sorted(self.problems, key=lambda p: p.row or 0)


class Reader(Protocol):
    """A format of point table. Each module of a format offers these (see formats.py).

    ``sniff`` tells from a CSV's first lines whether the file is of this format (for when
    ``--format`` is not given); ``read`` makes a :class:`Draft` of the file, its problems
    included, or raises PointTableError when the file cannot be read at all.
    """

    NAME: str
    PROTOCOLS: frozenset[str]

    def sniff(self, head: str) -> bool: ...

    def read(self, path: Path, options: Options) -> Draft: ...
