"""CSV point tables: saved by Excel in China (GBK), with a BOM, in UTF-16, with ``;``; and the
classroom sensor's GBK table polls the simulated classroom as the hand-written profile does."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from edge_agent.pointtable.csvfile import decode, delimiter, read_csv
from simulators import Campus
from tests.support.ports import LOOPBACK, free_port_range

from .tables import bundled, poll, profile_data, registers, run_import, two_devices

MONDAY_10H = 1741600800.0  # a lesson is on: every value is well inside its range
#: The simulated classroom sensor (configs/profiles/classroom-iaq.toml) as a Chinese table,
#: Modicon addresses (3xxxx: input registers), no table column.
GBK_TABLE = """教室环境传感器 点表
名称,地址,数据类型,倍率,单位,说明
温度,30001,int16,0.1,℃,室内温度
湿度,30002,uint16,0.1,%RH,相对湿度
二氧化碳,30003,uint16,1,ppm,
PM2.5,30004,uint16,1,μg/m3,
噪声,30005,uint16,0.1,dB(A),
光照度,30006,uint32,1,lx,"高字在前, 两个寄存器"
"""


def test_a_gbk_table_becomes_the_hand_written_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "教室传感器.csv"
    table.write_bytes(GBK_TABLE.encode("gbk"))
    out = tmp_path / "classroom-gbk.toml"
    code, _, err = run_import(
        capsys, table, "--protocol", "modbus", "--measurement", "classroom_env", "--out", out
    )
    assert code == 0, err
    assert registers(profile_data(out)) == registers(bundled("classroom-iaq"))
    assert "[[registers]]  # row 3: 温度, 30001, 室内温度" in out.read_text(encoding="utf-8")


async def test_the_gbk_table_polls_the_simulated_classroom_as_the_hand_written_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "points.csv"
    table.write_bytes(GBK_TABLE.encode("gbk"))
    out = tmp_path / "classroom-gbk.toml"
    assert (
        run_import(capsys, table, "--protocol", "modbus", "--measurement", "classroom_env", "--out", out)[0]
        == 0
    )
    # Time stands still, so that both polls read the same values.
    campus = Campus(
        seed=7,
        classrooms=1,
        meters=0,
        machines=0,
        base_port=free_port_range(1),
        host=LOOPBACK,
        clock=lambda: MONDAY_10H,
    )
    async with campus:
        port = campus.devices[0].port
        hand, imported = two_devices(tmp_path, out, "classroom-iaq", LOOPBACK, port)
        by_hand, by_import = await poll(hand), await poll(imported)
    assert by_import == by_hand
    assert set(by_import) == {
        "temperature_c",
        "humidity_pct",
        "co2_ppm",
        "pm25_ugm3",
        "noise_db",
        "light_lux",
    }
    assert 400 < float(str(by_import["co2_ppm"])) < 2000


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        ("名称,地址\n温度,30001\n".encode(), "utf-8"),
        (codecs.BOM_UTF8 + "名称,地址\n".encode(), "utf-8-sig"),
        ("名称,地址\n温度,30001\n".encode("gbk"), "gb18030"),
        ("名称\t地址\n".encode("utf-16"), "utf-16"),
    ],
)
def test_the_encodings_excel_saves_are_read(raw: bytes, encoding: str) -> None:
    text, found = decode(raw)
    assert text.startswith("名称") and found == encoding


def test_bytes_of_no_known_encoding_say_how_to_save_the_file() -> None:
    with pytest.raises(
        ValueError, match=r"neither UTF-8 nor GB18030 \(GBK\).*save it from Excel as CSV \(UTF-8\)"
    ):
        decode(b"\x81\x20\xff\xfe\x00")


@pytest.mark.parametrize(
    ("text", "sep"),
    [
        ("name,address,type\nt,40001,int16\n", ","),
        ("Tag Name;Address;Data Type\nt;400001;Word\n", ";"),
        ("名称\t地址\t倍率\n温度\t30001\t0,1\n", "\t"),
        ("点表\nname;address;description\nt;40001;a, b and c\n", ";"),
    ],
)
def test_the_delimiter_is_the_one_that_splits_most(text: str, sep: str) -> None:
    assert delimiter(text) == sep


def test_rows_are_numbered_as_the_spreadsheet_shows_them(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('title\n\nname,address,description\nt,40001,"two\nlines"\nh,40002,\n', encoding="utf-8")
    sheet = read_csv(path)
    assert [(r.number, r.cells[0] if r.cells else "") for r in sheet.rows] == [
        (1, "title"),
        (2, ""),
        (3, "name"),
        (4, "t"),
        (5, "h"),
    ]
