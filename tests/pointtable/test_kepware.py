"""Kepware's CSV tag export: the SDM630 meter's tags become the SDM630 profile, and poll the same."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from edge_agent.pointtable import Options, PointTableError, import_points
from edge_agent.pointtable.cells import parse_kepware_address
from simulators.profiled import ProfiledDevice
from tests.support.ports import LOOPBACK, free_port

from .tables import DATA, bundled, poll, profile_data, registers, run_import, two_devices

KEPWARE = DATA / "sdm630-kepware.csv"
HEADER = (
    "Tag Name,Address,Data Type,Respect Data Type,Client Access,Scan Rate,Scaling,Raw Low,Raw High,"
    "Scaled Low,Scaled High,Scaled Data Type,Clamp Low,Clamp High,Eng Units,Description,Negate Value\n"
)


def kepware(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "tags.csv"
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def imported_keys(tmp_path: Path, *rows: str, order: str = "ABCD") -> list[dict[str, object]]:
    text = import_points(kepware(tmp_path, *rows), Options("modbus", order=order, measurement="m"), "p").text
    return list(tomllib.loads(text)["registers"])


def test_the_sdm630_export_becomes_the_hand_written_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sdm630-kepware.toml"
    code, stdout, err = run_import(
        capsys, KEPWARE, "--protocol", "modbus", "--measurement", "energy_meter", "--out", out
    )
    assert code == 0, err
    assert "67 point(s)" in stdout and "(kepware)" in stdout
    assert registers(profile_data(out)) == registers(bundled("sdm630"))
    text = out.read_text(encoding="utf-8")
    assert text.startswith(f"# sdm630-kepware: imported from {KEPWARE} (kepware)")
    assert (
        '[[registers]]  # row 2: VoltageL1, 300001, Phase 1 line to neutral volts\nfield = "voltage_l1_v"'
        in text
    )


async def test_the_imported_profile_polls_the_meter_as_the_hand_written_one_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sdm630-kepware.toml"
    assert (
        run_import(capsys, KEPWARE, "--protocol", "modbus", "--measurement", "energy_meter", "--out", out)[0]
        == 0
    )
    port = free_port()
    async with ProfiledDevice(bundled("sdm630")["registers"], LOOPBACK, port) as meter:
        hand, imported = two_devices(tmp_path, out, "sdm630", LOOPBACK, port)
        by_hand, by_import = await poll(hand), await poll(imported)
    assert len(by_import) == 67
    assert by_import == by_hand
    assert by_import == {v.field: pytest.approx(v.value) for v in meter.values}


@pytest.mark.parametrize(
    ("address", "table", "pdu", "bit", "characters"),
    [
        ("400001", "holding", 0, None, None),
        ("41", "holding", 0, None, None),  # Kepware pads: 41 = 401 = 40001 = 400001
        ("40001", "holding", 0, None, None),
        ("300031", "input", 30, None, None),
        ("000017", "coil", 16, None, None),
        ("100002", "discrete", 1, None, None),
        ("465536", "holding", 65535, None, None),
        ("400041.3", "holding", 40, 3, None),
        ("400031.8H", "holding", 30, None, 8),
    ],
)
def test_kepware_addresses(
    address: str, table: str, pdu: int, bit: int | None, characters: int | None
) -> None:
    parsed = parse_kepware_address(address)
    assert (parsed.table, parsed.address, parsed.bit, parsed.characters) == (table, pdu, bit, characters)


@pytest.mark.parametrize("address", ["200001", "400000", "465537", "400001.16", "400031.8D", "H4000", "abc"])
def test_kepware_addresses_it_cannot_read_are_errors(address: str) -> None:
    with pytest.raises(ValueError, match=r"address|bit|string"):
        parse_kepware_address(address)


def test_a_bit_a_string_and_its_byte_order(tmp_path: Path) -> None:
    keys = imported_keys(
        tmp_path,
        "Running,400041.3,Boolean,1,RO,100,,,,,,,,,,,",
        "Model,400031.8H,String,1,RO,100,,,,,,,,,,,",
        "Program,400051.7L,String,1,RO,100,,,,,,,,,,,",
        "DoorOpen,000005,Boolean,1,RO,100,,,,,,,,,,,",
    )
    assert keys == [
        {"field": "running", "table": "holding", "address": 40, "type": "bool", "bit": 3},
        {"tag": "model", "table": "holding", "address": 30, "type": "string", "length": 4},
        {"tag": "program", "table": "holding", "address": 50, "type": "string", "order": "BADC", "length": 4},
        {"field": "door_open", "table": "coil", "address": 4, "type": "bool"},
    ]


@pytest.mark.parametrize(
    ("kind", "profile_type"),
    [
        ("Short", "int16"),
        ("Word", "uint16"),
        ("Long", "int32"),
        ("DWord", "uint32"),
        ("Float", "float32"),
        ("Double", "float64"),
        ("LLong", "int64"),
        ("QWord", "uint64"),
    ],
)
def test_kepware_types_and_the_word_order_of_wide_ones(tmp_path: Path, kind: str, profile_type: str) -> None:
    [keys] = imported_keys(tmp_path, f"Counter,400001,{kind},1,RO,100,,,,,,,,,,,", order="CDAB")
    assert keys["type"] == profile_type
    assert keys.get("order") == ("CDAB" if profile_type not in ("int16", "uint16") else None)


def test_linear_scaling_becomes_scale_and_offset(tmp_path: Path) -> None:
    keys = imported_keys(
        tmp_path,
        "SupplyTemp,300001,Short,1,RO,100,Linear,0,1000,0,100,Float,0,0,°C,,",
        "Pressure,300002,Word,1,RO,100,Linear,4000,20000,0,10,Float,0,0,bar,,",
        "Setpoint,300003,Word,1,RO,100,Linear,0,100,0,10,Float,0,0,%,,1",
    )
    assert (keys[0]["field"], keys[0]["scale"], keys[0].get("offset")) == ("supply_temp_c", 0.1, None)
    assert (keys[1]["field"], keys[1]["scale"], keys[1]["offset"]) == ("pressure_bar", 0.000625, -2.5)
    assert (keys[2]["scale"], keys[2].get("offset")) == (-0.1, None)  # Negate Value


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        ("Level,400001,BCD,1,RO,100,,,,,,,,,,,", "Data Type", "BCD values are not decoded"),
        ("Levels,400001,Word Array,1,RO,100,,,,,,,,,,,", "Data Type", "arrays are not read"),
        ("Level,400001,Char,1,RO,100,,,,,,,,,,,", "Data Type", "unknown Kepware data type"),
        ("Flow,400001,Word,1,RO,100,Square Root,0,1,0,1,Float,0,0,,,", "Scaling", "only Linear"),
        ("Flow,400001,Word,1,RO,100,Linear,5,5,0,1,Float,0,0,,,", "Raw High", "divides by 0"),
        ("Flow,900001,Word,1,RO,100,,,,,,,,,,,", "Address", "table digit"),
        (
            "VoltageL1,300001,Float,1,RO,100,,,,,,,,,A,,",
            "Eng Units",
            "voltage is given in V, kV, mV",
        ),
        ("EnergyC,300001,Float,1,RO,100,,,,,,,,,kWh,,", "Eng Units", "ends in _c"),
    ],
)
def test_rows_kepware_cannot_give_are_errors_naming_the_column(
    tmp_path: Path, row: str, column: str, words: str
) -> None:
    with pytest.raises(PointTableError) as caught:
        import_points(kepware(tmp_path, row), Options("modbus", measurement="m"), "p")
    [problem] = caught.value.problems
    assert (problem.row, problem.column) == (2, column)
    assert words in problem.message
