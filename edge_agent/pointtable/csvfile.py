"""CSV point tables: UTF-8 (with or without a BOM), UTF-16 from Excel's "Unicode text", or GB18030.

Excel in China saves CSV in the ANSI code page, GBK, of which GB18030 is the superset; text
that is valid UTF-8 is taken as UTF-8 first, since a GBK file of Chinese text is almost never
valid UTF-8. The delimiter is the one of ``,``, ``;`` and tab that splits the first rows into
the most columns (Kepware and European Excel write ``;``).
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from .problems import PointTableError, TableProblem
from .sheet import HEADER_WITHIN, Row, Sheet

DELIMITERS = (",", ";", "\t")


def decode(raw: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was read as; ValueError if it is none of them.

    ``encoding``: the one the technician named (``--encoding``), the only one tried.
    """
    if encoding is not None:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"is not {encoding} text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                "give the encoding it was saved in, or leave --encoding out to have it found"
            ) from None
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ValueError(
        "is neither UTF-8 nor GB18030 (GBK) text; save it from Excel as CSV (UTF-8), "
        "or name its encoding with --encoding (e.g. cp1252)"
    )


def delimiter(text: str) -> str:
    """The delimiter that splits the first rows into the most columns; ``,`` on a tie."""
    head = "\n".join(text.splitlines()[: HEADER_WITHIN + 2])

    def widest(sep: str) -> int:
        return max((len(r) for r in csv.reader(io.StringIO(head), delimiter=sep)), default=0)

    return max(DELIMITERS, key=lambda sep: (widest(sep), -DELIMITERS.index(sep)))


def parse(text: str, file: str) -> Sheet:
    """The rows of CSV ``text``, numbered from 1 as a spreadsheet shows them."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text))
    rows = []
    for cells in reader:
        rows.append(Row(reader.line_num, tuple(cell.strip() for cell in cells)))
    return Sheet(file, None, tuple(_renumbered(rows)))


def _renumbered(rows: list[Row]) -> list[Row]:
    # line_num counts physical lines; a quoted cell spanning lines would shift the numbers a
    # spreadsheet shows, which count records.
    return [Row(index, row.cells) for index, row in enumerate(rows, start=1)]


def read_csv(path: Path, encoding: str | None = None) -> Sheet:
    """The CSV file at ``path`` as a sheet; PointTableError when it cannot be read.

    ``encoding``: read it as that, instead of finding UTF-8 (with or without a BOM),
    UTF-16 (with a BOM) or GB18030.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PointTableError([TableProblem(str(path), f"cannot be read: {exc.strerror}")]) from None
    try:
        text, _ = decode(raw, encoding)
    except ValueError as exc:
        raise PointTableError([TableProblem(str(path), str(exc))]) from None
    return parse(text, str(path))
