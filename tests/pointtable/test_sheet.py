"""Finding the header row of a table, and reading workbook cells as the technician sees them."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from edge_agent.pointtable import PointTableError
from edge_agent.pointtable.sheet import Row, Sheet, column_key, locate
from edge_agent.pointtable.template import COLUMNS
from edge_agent.pointtable.xlsx import cell_text, read_xlsx


def sheet(*rows: tuple[str, ...]) -> Sheet:
    return Sheet("t.csv", None, tuple(Row(n, cells) for n, cells in enumerate(rows, start=1)))


@pytest.mark.parametrize(
    ("title", "key"),
    [("Data Type", "datatype"), ("地址（十进制）", "地址"), ("Eng. Units", "engunits"), ("ＮＡＭＥ", "name")],
)
def test_header_names_are_compared_loosely(title: str, key: str) -> None:
    assert column_key(title) == key


def test_the_header_is_the_row_naming_most_columns_below_titles_and_settings() -> None:
    table = locate(
        sheet(
            ("教室传感器点表",),
            ("measurement", "classroom_env"),
            ("序号", "名称", "地址", "数据类型", "单位"),
            ("1", "温度", "30001", "int16", "℃"),
            (),
            ("2", "湿度", "30002", "uint16", "%RH"),
        ),
        COLUMNS,
        ("address",),
    )
    assert table is not None
    assert table.header == 3
    assert table.columns == {"name": 1, "address": 2, "type": 3, "unit": 4}
    assert [r.number for r in table.above] == [1, 2]
    assert [r.number for r in table.body] == [4, 6]  # the blank row is no point
    assert table.cell(table.body[1], "unit") == "%RH" and table.cell(table.body[1], "scale") == ""


def test_a_header_further_down_than_ten_rows_is_not_looked_for() -> None:
    rows = [("note",)] * 10 + [("name", "address")]
    assert locate(sheet(*rows), COLUMNS, ("address",)) is None


def test_a_header_needs_its_required_column() -> None:
    assert locate(sheet(("name", "type", "unit")), COLUMNS, ("address",)) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (40001, "40001"),
        (40001.0, "40001"),
        (0.1, "0.1"),
        (True, "true"),
        ("  温度 ", "温度"),
        (datetime.date(2025, 3, 1), "2025-03-01"),
    ],
)
def test_workbook_cells_read_as_shown(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_a_file_that_is_no_workbook_says_so(tmp_path: Path) -> None:
    fake = tmp_path / "points.xlsx"
    fake.write_text("name,address\n", encoding="utf-8")
    with pytest.raises(PointTableError, match=r"points.xlsx: cannot be read as an Excel workbook \(.xlsx\)"):
        read_xlsx(fake)
