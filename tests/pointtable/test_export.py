"""A profile back into the template, and in again: the round trip gives the same profile."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from drivers.bacnet.config import ObjectSpec
from drivers.opcua.config import NodeSpec
from edge_agent.cli import main

from .tables import bundled, profile_data, registers, run_import

MODBUS = [
    "classroom-iaq",
    "energy-meter-3ph",
    "training-machine",
    "sdm630",
    "sdm120",
    "iaq-multisensor-rs485",
]
MODBUS += ["plc-status-block"]
OPCUA = ["opcua-plc-rig", "opcua-cnc-umati"]
BACNET = ["bacnet-ahu", "bacnet-vav", "bacnet-fcu"]
SETTINGS = (
    "measurement", "make", "model", "tags", "max_registers", "max_gap", "max_bits", "max_nodes_per_read",
    "max_objects_per_request",
)  # fmt: skip


def same_profile(got: dict[str, Any], want: dict[str, Any]) -> None:
    if "registers" in want:
        assert registers(got) == registers(want)
    elif "objects" in want:
        assert [ObjectSpec.model_validate(o) for o in got["objects"]] == [
            ObjectSpec.model_validate(o) for o in want["objects"]
        ]
    else:
        assert [NodeSpec.model_validate(n) for n in got["nodes"]] == [
            NodeSpec.model_validate(n) for n in want["nodes"]
        ]
    assert {k: got.get(k) for k in SETTINGS} == {k: want.get(k) for k in SETTINGS}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("format", ["csv", "xlsx"])
@pytest.mark.parametrize("profile", MODBUS + OPCUA + BACNET)
def test_every_bundled_profile_makes_the_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], profile: str, format: str, lang: str
) -> None:
    table = tmp_path / f"{profile}.{format}"
    assert main(["export", "points", profile, "--out", str(table), "--lang", lang]) == 0
    out = tmp_path / "again.toml"
    protocol = "opcua" if profile in OPCUA else "bacnet" if profile in BACNET else "modbus"
    code, _, err = run_import(capsys, table, "--protocol", protocol, "--out", out)
    assert code == 0, err
    same_profile(profile_data(out), bundled(profile))


def test_the_export_says_each_entry_s_comment_and_unit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "points", "sdm630"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[1:7] == [
        ["measurement", "energy_meter"],
        ["kind", "sdm630"],
        ["make", "Eastron"],  # what the asset register shows of a meter that says nothing itself
        ["model", "SDM630"],
        ["max_registers", "80"],
        ["max_gap", "16"],
    ]
    header = rows[7]
    first = dict(zip(header, rows[8], strict=True))
    assert first["field"] == "voltage_l1_v" and first["unit"] == "V" and first["address"] == "0"
    assert first["description"] == "30001 phase 1 line to neutral volts"


def test_a_workbook_export_has_a_title_row_above_the_header(tmp_path: Path) -> None:
    table = tmp_path / "iaq.xlsx"
    assert main(["export", "points", "classroom-iaq", "--out", str(table), "--lang", "zh"]) == 0
    sheet = load_workbook(table).active
    assert sheet is not None
    assert "A1:P1" in {str(r) for r in sheet.merged_cells.ranges}
    assert [c.value for c in sheet[4]][:4] == ["名称", "字段", "寄存器类型", "地址"]
    assert [c.value for c in sheet[5]][:6] == [None, "temperature_c", "输入寄存器", 0, "int16", None]


def test_an_address_of_five_digits_is_exported_in_hex(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "far.toml"
    profile.write_text(
        'measurement = "m"\n[[registers]]\nfield = "x_v"\ntable = "holding"\n'
        'address = 40001\ntype = "uint16"\n',
        encoding="utf-8",
    )
    assert main(["export", "points", str(profile)]) == 0
    assert "x_v,holding,0x9C41,uint16" in capsys.readouterr().out


def test_a_bacnet_profile_of_every_key_makes_the_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What the bundled profiles do not show: objects by name, another property, text, deadbands.
    profile = tmp_path / "chiller.toml"
    profile.write_text(
        'measurement = "hvac"\nmax_objects_per_request = 16\ntags = { kind = "chiller", vendor = "x" }\n'
        '[[objects]]\nobject = "analog-input,1"\nfield = "chw_supply_temp_c"\ndeadband = 0.2\n'
        '[[objects]]\nname = "CH-1 kW"\nfield = "chiller_power_kw"\ndeadband_pct = 2.0\n'
        '[[objects]]\nobject = "analog-value,3"\nproperty = "high-limit"\nfield = "chw_high_limit_c"\n'
        '[[objects]]\nobject = "characterstring-value,1"\ntag = "firmware"\n'
        '[[objects]]\nname = "CH-1 State"\nfield = "chiller_state_code"\nstate_tag = "chiller_state"\n',
        encoding="utf-8",
    )
    table = tmp_path / "chiller.xlsx"
    assert main(["export", "points", str(profile), "--out", str(table), "--lang", "zh"]) == 0
    out = tmp_path / "again.toml"
    code, _, err = run_import(capsys, table, "--protocol", "bacnet", "--out", out)
    assert code == 0, err
    same_profile(profile_data(out), profile_data(profile))


def test_what_is_no_point_table_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["export", "points", "if-mib"]) == 1
    assert "only Modbus, OPC UA and BACnet profiles are point tables" in capsys.readouterr().err
    assert main(["export", "points", "sdm631"]) == 1
    assert "no profile 'sdm631': give a file, or one of the bundled" in capsys.readouterr().err
    assert main(["export", "points", "sdm630", "--format", "xlsx"]) == 2
    assert "an XLSX workbook needs --out FILE.xlsx" in capsys.readouterr().err
    taken = tmp_path / "taken.csv"
    taken.write_text("mine", encoding="utf-8")
    assert main(["export", "points", "sdm630", "--out", str(taken)]) == 1
    assert taken.read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", ["points.csv", "points.xlsx"])
@pytest.mark.parametrize("protocol", ["modbus", "opcua", "bacnet"])
def test_the_blank_template_imports_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], protocol: str, name: str, lang: str
) -> None:
    template = tmp_path / name
    code, stdout, _ = run_import(capsys, "--template", template, "--protocol", protocol, "--lang", lang)
    assert code == 0 and f"wrote {template}" in stdout
    out = tmp_path / "example.toml"
    code, _, err = run_import(capsys, template, "--protocol", protocol, "--out", out)
    assert code == 0, err
    section, field = {
        "modbus": ("registers", "temperature_c"),
        "opcua": ("nodes", "spindle_rpm"),
        "bacnet": ("objects", "supply_air_temp_c"),
    }[protocol]
    assert profile_data(out)[section][0]["field"] == field


def test_the_csv_template_opens_in_excel_with_its_chinese_headers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "点表.csv"
    assert run_import(capsys, "--template", template, "--lang", "zh")[0] == 0
    raw = template.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with its BOM
    assert "名称,字段,寄存器类型,地址,数据类型,字节序,倍率,偏移,单位,说明,标签" in raw.decode("utf-8-sig")
