"""A Chinese classroom air-quality sensor's point table, as the integrator sends it: an XLSX workbook
with a merged title row, Chinese headers and point names the glossary knows, hex addresses."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from openpyxl import Workbook

from simulators.profiled import ProfiledDevice
from tests.support.ports import LOOPBACK, free_port

from .tables import bundled, poll, profile_data, read_the_same, registers, run_import, two_devices

#: The RenKe-style 7-in-1 sensor (configs/profiles/iaq-multisensor-rs485.toml) as its manual lists it.
POINTS = [
    (1, "湿度", "0x01F4", "保持寄存器", "16位无符号整数", "", 0.1, "%RH", "实际值放大10倍上传"),
    (2, "温度", "0x01F5", "保持寄存器", "16位有符号整数", "", 0.1, "℃", "负值以补码表示"),
    (3, "噪声", "0x01F6", "保持寄存器", "16位无符号整数", "", 0.1, "dB", ""),
    (4, "PM2.5", "0x01F7", "保持寄存器", "16位无符号整数", "", 1, "μg/m³", ""),
    (5, "PM10", "0x01F8", "保持寄存器", "16位无符号整数", "", 1, "μg/m³", ""),
    (6, "光照度", "0x01FA", "保持寄存器", "32位无符号整数", "高字在前", 1, "Lux", "两个寄存器"),
    (7, "二氧化碳", "0x01FF", "保持寄存器", "16位无符号整数", "", 1, "ppm", ""),
]
HEADER = ["序号", "名称", "寄存器地址", "寄存器类型", "数据类型", "字节序", "倍率", "单位", "说明"]


def workbook(path: Path, points: Sequence[Sequence[object]] = POINTS) -> Path:
    """The integrator's workbook: a revision sheet first, then the point table under two title rows."""
    book = Workbook()
    history = book.active
    assert history is not None
    history.title = "修订记录"
    history.append(["版本", "日期", "说明"])
    history.append(["V1.2", "2025-03-01", "增加二氧化碳"])
    sheet = book.create_sheet("点表")
    sheet.append(["RS-485 七合一室内空气质量变送器 Modbus-RTU 通信协议点表"])
    sheet.merge_cells("A1:I1")
    sheet.append(["通讯参数：4800bps 8N1，设备地址 1，功能码 03"])
    sheet.merge_cells("A2:I2")
    sheet.append([])
    sheet.append(HEADER)
    for point in points:
        sheet.append(list(point))
    book.save(path)
    return path


def test_the_workbook_becomes_the_hand_written_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = workbook(tmp_path / "七合一点表.xlsx")
    out = tmp_path / "iaq-renke.toml"
    code, _, err = run_import(
        capsys, table, "--protocol", "modbus", "--measurement", "classroom_env", "--out", out
    )
    assert code == 0, err
    assert registers(profile_data(out)) == read_the_same(bundled("iaq-multisensor-rs485"))
    text = out.read_text(encoding="utf-8")
    assert f'imported from {table}, sheet "点表" (xlsx)' in text.splitlines()[0]
    assert "[[registers]]  # row 5: 湿度, holding 0x01F4, 实际值放大10倍上传" in text


async def test_the_imported_profile_polls_the_sensor_as_the_hand_written_one_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "iaq-renke.toml"
    table = workbook(tmp_path / "points.xlsx")
    assert (
        run_import(capsys, table, "--protocol", "modbus", "--measurement", "classroom_env", "--out", out)[0]
        == 0
    )
    port = free_port()
    async with ProfiledDevice(bundled("iaq-multisensor-rs485")["registers"], LOOPBACK, port) as sensor:
        hand, imported = two_devices(tmp_path, out, "iaq-multisensor-rs485", LOOPBACK, port)
        by_hand, by_import = await poll(hand), await poll(imported)
    assert by_import == by_hand
    assert by_import == {v.field: pytest.approx(v.value) for v in sensor.values}
    assert set(by_import) == {
        "humidity_pct", "temperature_c", "noise_db", "pm25_ugm3", "pm10_ugm3", "light_lux", "co2_ppm",
    }  # fmt: skip


def test_a_sheet_named_that_is_not_there_lists_the_sheets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = workbook(tmp_path / "points.xlsx")
    code, _, err = run_import(
        capsys,
        table,
        "--protocol",
        "modbus",
        "--measurement",
        "m",
        "--sheet",
        "Sheet1",
        "--out",
        tmp_path / "p.toml",
    )
    assert code == 1
    assert "has no sheet 'Sheet1'; its sheets: 修订记录, 点表" in err
    assert not (tmp_path / "p.toml").exists()


def test_an_encoding_is_for_text_tables_not_workbooks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = workbook(tmp_path / "points.xlsx")
    args = (
        "--protocol",
        "modbus",
        "--measurement",
        "m",
        "--encoding",
        "gb18030",
        "--out",
        tmp_path / "p.toml",
    )
    code, _, err = run_import(capsys, table, *args)
    assert code == 1 and "--encoding is for text tables (CSV, EDE); a workbook says its own" in err
    assert not (tmp_path / "p.toml").exists()


def test_a_sheet_without_a_header_row_says_what_it_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = workbook(tmp_path / "points.xlsx")
    code, _, err = run_import(
        capsys,
        table,
        "--protocol",
        "modbus",
        "--measurement",
        "m",
        "--sheet",
        "修订记录",
        "--out",
        tmp_path / "p.toml",
    )
    assert code == 1
    assert (
        "sheet '修订记录': no header row found in the first rows of the sheet: it needs address 地址" in err
    )


def test_problems_name_the_sheet_row_column_and_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    points = list(POINTS)
    points[1] = (2, "温度", "0x01F5", "保持寄存器", "16位有符号整数", "", 0.1, "%RH", "")
    points[6] = (7, "二氧化碳", "0x01FF", "保持寄存器", "双字", "", 1, "ppm", "")
    table = workbook(tmp_path / "points.xlsx", points)
    code, _, err = run_import(
        capsys, table, "--protocol", "modbus", "--measurement", "m", "--out", tmp_path / "p.toml"
    )
    assert code == 1
    assert (
        f"{table}, sheet '点表', row 6, column '单位': temperature is given in °C, not in '%RH'; "
        "correct the unit (given: '%RH')"
    ) in err
    assert f"{table}, sheet '点表', row 11, column '数据类型': unknown data type" in err
    assert "nothing was written" in err and not (tmp_path / "p.toml").exists()
