"""Nothing is written until every row is good: each problem names file, row, column and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.pointtable import Options, PointTableError, TableProblem, import_points

from .tables import run_import

HEADER = "name,field,table,address,type,order,scale,offset,unit,description,tag,length"
GOOD = "温度,,input,0,int16,,0.1,,℃,,,"


def table(tmp_path: Path, *rows: str, above: str = "measurement,classroom_env\n") -> Path:
    path = tmp_path / "points.csv"
    path.write_text(above + HEADER + "\n" + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def problems(tmp_path: Path, *rows: str) -> list[TableProblem]:
    with pytest.raises(PointTableError) as caught:
        import_points(table(tmp_path, *rows), Options("modbus"), "p")
    return caught.value.problems


@pytest.mark.parametrize(
    ("row", "column", "value", "words"),
    [
        ("t,temp_c,holding,0x1G,int16,,,,,,,", "address", "0x1G", "an address is a number"),
        ("t,temp_c,,12,int16,,,,,,,", "address", "12", "is a PDU address: say its table"),
        (
            "t,temp_c,input,40001,int16,,,,,,,",
            "address",
            "40001",
            "Modicon holding address but the table is input",
        ),
        ("t,temp_c,input,1,int17,,,,,,,", "type", "int17", "unknown data type"),
        ("t,temp_c,input,1,int16,ACBD,,,,,,", "order", "ACBD", "unknown byte order"),
        ("t,temp_c,input,1,int16,,ten,,,,,", "scale", "ten", "scale must be a number"),
        (
            "t,temperature_c,input,1,int16,,,,%RH,,,",
            "unit",
            "%RH",
            "ends in _c (°C) but the unit column says '%RH'",
        ),
        ("t,,input,1,string,,,,,,model,", "type", "string", "a string needs its length"),
        (
            "设备地址,,input,1,uint16,,,,,,,",
            "name",
            "设备地址",
            "is not in the glossary: write the field name",
        ),
        ("t,Temp,input,1,uint16,,,,,,,", "field", "Temp", "must be snake_case"),
        ("t,temp_c,input,1,bool,,,,,,,", "type", "bool", 'type "bool" on a input register needs bit'),
    ],
)
def test_each_bad_cell_is_named(tmp_path: Path, row: str, column: str, value: str, words: str) -> None:
    [problem] = problems(tmp_path, GOOD, row)
    assert (problem.row, problem.column, problem.value) == (4, column, value)
    assert words in problem.message
    assert str(problem).startswith(f"{tmp_path / 'points.csv'}, row 4, column {column!r}: ")


def test_a_field_made_twice_names_both_rows(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, GOOD, "室内温度,,input,1,int16,,0.1,,℃,,,")
    assert (problem.row, problem.column, problem.value) == (4, "name", "室内温度")
    assert problem.message == "field 'temperature_c' is also made by row 3; each field once"


def test_registers_that_overlap_name_both_rows(tmp_path: Path) -> None:
    [problem] = problems(
        tmp_path, "energy,energy_kwh,input,10,float32,,,,kWh,,,", "power,power_w,input,11,uint16,,,,W,,,"
    )
    assert (problem.row, problem.column, problem.value) == (4, "address", "11")
    assert problem.message == (
        "uint16 at input 11 overlaps float32 at input 10-11 of row 3; check the addresses and types of both"
    )


def test_bits_of_one_register_may_share_it_but_not_a_bit(tmp_path: Path) -> None:
    rows = (
        "status,status_code,holding,5,uint16,,,,,,,",
        "run,running,holding,5.0,,,,,,,,",
        "alarm,alarm,holding,5.0,,,,,,,,",
    )
    [problem] = problems(tmp_path, *rows)
    assert (problem.row, problem.message) == (5, "bit 0 of holding 5 is also read by row 4")


def test_every_problem_is_listed_in_the_order_of_the_rows(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "t,,input,0x1G,int16,,,,,,,",
        "设备地址,,input,1,uint16,,,,,,,",
        "t,x_v,input,2,int16,,,,A,,,",
    )
    assert [(p.row, p.column) for p in found] == [(3, "address"), (4, "name"), (5, "unit")]


def test_without_a_measurement_the_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PointTableError) as caught:
        import_points(table(tmp_path, GOOD, above=""), Options("modbus"), "p")
    [problem] = caught.value.problems
    assert problem.row is None and "no measurement: give --measurement" in problem.message


def test_what_only_the_whole_device_can_tell_is_found_by_the_config_loader(tmp_path: Path) -> None:
    # A tag every point has already: the register is fine alone; the device is not.
    with pytest.raises(PointTableError) as caught:
        import_points(table(tmp_path, GOOD, "楼宇,,input,8,string,,,,,,school,4"), Options("modbus"), "p")
    [problem] = caught.value.problems
    assert problem.row == 4
    assert problem.message.startswith("edge-agent check: devices.modbus[0]")
    assert (
        "tag 'school' of the register at input 8 clashes with a tag the device already has" in problem.message
    )


def test_a_bad_table_exits_1_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.toml"
    code, stdout, err = run_import(
        capsys, table(tmp_path, "t,,input,0x1G,int16,,,,,,,"), "--protocol", "modbus", "--out", out
    )
    assert code == 1 and stdout == ""
    assert "1 problem(s) in the point table" in err and err.rstrip().endswith("nothing was written")
    assert not out.exists()


def test_an_existing_profile_is_overwritten_only_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.toml"
    out.write_text("# the technician's own\n", encoding="utf-8")
    source = table(tmp_path, GOOD)
    code, _, err = run_import(capsys, source, "--protocol", "modbus", "--out", out)
    assert code == 1 and f"{out} exists; give --force to overwrite it" in err
    assert out.read_text(encoding="utf-8") == "# the technician's own\n"
    assert run_import(capsys, source, "--protocol", "modbus", "--out", out, "--force")[0] == 0
    assert 'field = "temperature_c"' in out.read_text(encoding="utf-8")
