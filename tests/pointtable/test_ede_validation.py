"""An EDE file with a problem: nothing is written, each problem names file, row, column and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.pointtable import Options, PointTableError, TableProblem, import_points

from .ede_tables import FIRST_ROW, HEAD, row, write_ede
from .tables import run_import

GOOD = row("SupplyAirTemp", 2101, "SAT", 0, 1, "supply air temperature", unit=62)
#: The row under test is the second object row.
BAD_ROW = FIRST_ROW + 1


def problems(
    tmp_path: Path, *rows: str, device: int | None = None, states: bool = True
) -> list[TableProblem]:
    table = write_ede(tmp_path, list(rows), states=states)
    with pytest.raises(PointTableError) as caught:
        import_points(table, Options("bacnet", measurement="hvac", device=device), "ahu")
    return caught.value.problems


@pytest.mark.parametrize(
    ("bad", "column", "value", "words"),
    [
        (
            row("ReturnAirTemp", 2101, "RAT", "AI", 2, unit=62),
            "object-type",
            "AI",
            "object-type is BACnet's number of the type: 0 analog-input, 3 binary-input",
        ),
        (
            row("ReturnAirTemp", 2101, "RAT", 0, 4194303, unit=62),
            "object-instance",
            "4194303",
            "object-instance must be a whole number from 0 to 4194302",
        ),
        (
            row("ReturnAirTemp", "AHU-1", "RAT", 0, 2, unit=62),
            "device obj.-instance",
            "AHU-1",
            "device obj.-instance must be a whole number from 0 to 4194302",
        ),
        (
            row("ReturnAirTemp", 2101, "RAT", 0, 2),
            "unit-code",
            "",
            "a number needs its unit-code: its units decide the field's suffix",
        ),
        (
            row("ReturnAirTemp", 2101, "RAT", 0, 2, unit="°C"),
            "unit-code",
            "°C",
            "unit-code is the number of a BACnet engineering unit",
        ),
        (
            # kilograms-per-hour: BACnet has it, the schema has no suffix for it
            row("SteamFlow", 2101, "STM-FLOW", 0, 2, unit=44),
            "unit-code",
            "44",
            "unit-code 44 is not a unit the agent has a field suffix for",
        ),
        (
            row("ReturnAirTempPct", 2101, "RAT", 0, 2, unit=62),
            "unit-code",
            "62",
            "field 'return_air_temp_pct' ends in _pct (%) but the unit column says '°C' (_c)",
        ),
        (
            row("T2", 2101, "Temperature", 0, 2, unit=98),
            "unit-code",
            "98",
            "temperature is given in °C, not in '%'",
        ),
        (
            row("2101-AI-2", 2101, "AI-2", 0, 2, unit=62),
            "keyname",
            "2101-AI-2",
            "neither the object name 'AI-2' (not in the glossary) nor the keyname makes a field name",
        ),
        (
            row("SupplyAirTemp", 2101, "SAT-2", 0, 2, unit=62),
            "keyname",
            "SupplyAirTemp",
            "field 'supply_air_temp_c' is also made by row 9; each field once",
        ),
        (
            row("SupplyAirTemperature", 2101, "SAT", 0, 1, unit=62),
            "object-type",
            "0",
            "analog-input,1 is also read by row 9",
        ),
        (
            row("Mode", 2101, "AHU-MODE", 19, 1, state=7),
            "state-text-reference",
            "7",
            "state-text-reference 7 is not in the state texts file",
        ),
    ],
)
def test_each_bad_cell_is_named(tmp_path: Path, bad: str, column: str, value: str, words: str) -> None:
    [problem] = problems(tmp_path, GOOD, bad)
    assert (problem.row, problem.column, problem.value) == (BAD_ROW, column, value)
    assert words in problem.message
    assert str(problem).startswith(f"{tmp_path / 'CampusA_EDE.csv'}, row {BAD_ROW}, column {column!r}: ")


def test_a_state_tag_that_is_another_point_s_tag_is_named(tmp_path: Path) -> None:
    # The mode's text would be the tag "mode"; a text object makes that tag already.
    [problem] = problems(
        tmp_path, row("Mode", 2101, "MODE-TXT", 40, 1), row("Mode", 2101, "AHU-MODE", 19, 1, state=1)
    )
    assert (problem.row, problem.column) == (BAD_ROW, "state-text-reference")
    assert problem.message == "tag 'mode' is also made by row 9; each tag once"


def test_every_problem_is_listed_in_the_order_of_the_rows(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        GOOD,
        row("ReturnAirTemp", 2101, "RAT", 0, 2),
        row("AI-3", 2101, "AI-3", "x", 3, unit=62),
        row("Occupied", 2101, "OCC", 5, 1),
        row("ZoneTemp", 2101, "ZN-T", 0, 4, unit=999),
    )
    assert [(p.row, p.column) for p in found] == [
        (BAD_ROW, "unit-code"),
        (BAD_ROW + 1, "object-type"),
        (BAD_ROW + 3, "unit-code"),
    ]


def test_a_layout_other_than_2_is_refused_at_its_row(tmp_path: Path) -> None:
    table = tmp_path / "old_EDE.csv"
    text = "\n".join([*HEAD, GOOD]).replace("VERSION_OF_LAYOUT;2.3", "VERSION_OF_LAYOUT;1.0")
    table.write_text(text, encoding="utf-8")
    with pytest.raises(PointTableError) as caught:
        import_points(table, Options("bacnet", measurement="hvac"), "ahu")
    [problem] = caught.value.problems
    assert (problem.row, problem.value) == (6, "1.0")
    assert problem.message == "the agent reads EDE layout 2.x (2.2, 2.3); save the file as one"


def test_a_bad_row_of_the_state_texts_file_names_that_file(tmp_path: Path) -> None:
    table = write_ede(tmp_path, [GOOD])
    texts = tmp_path / "CampusA_StateTexts.csv"
    texts.write_text(texts.read_text(encoding="utf-8") + "three;a;b;c\r\n", encoding="utf-8")
    with pytest.raises(PointTableError) as caught:
        import_points(table, Options("bacnet", measurement="hvac"), "ahu")
    [problem] = caught.value.problems
    assert str(problem) == (
        f"{texts}, row 5, column 'Reference Number': a state text reference is a number (given: 'three')"
    )


def test_without_a_measurement_the_file_is_refused(tmp_path: Path) -> None:
    table = write_ede(tmp_path, [GOOD])
    with pytest.raises(PointTableError) as caught:
        import_points(table, Options("bacnet"), "ahu")
    [problem] = caught.value.problems
    assert (
        problem.row is None
        and "no measurement: give --measurement (e.g. classroom_env, energy_meter, hvac)" in (problem.message)
    )


def test_nothing_is_written_and_every_problem_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = write_ede(
        tmp_path, [GOOD, row("ReturnAirTemp", 2101, "RAT", 0, 2), row("X", 2101, "X", 0, "", unit=62)]
    )
    out = tmp_path / "ahu.toml"
    code, stdout, err = run_import(
        capsys, table, "--protocol", "bacnet", "--measurement", "hvac", "--out", out
    )
    assert code == 1 and stdout == "" and not out.exists()
    assert "2 problem(s) in the point table:" in err and err.rstrip().endswith("nothing was written")
    assert f"{table}, row {BAD_ROW}, column 'unit-code': a number needs its unit-code" in err
    assert (
        f"{table}, row {BAD_ROW + 1}, column 'object-instance': object-instance must be a whole number" in err
    )


def test_a_header_without_a_mandatory_column_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "short_EDE.csv"
    table.write_text(
        "PROJECT_NAME;x\n# keyname;device obj.-instance;object-name;object-type;description\n",
        encoding="utf-8",
    )
    with pytest.raises(PointTableError) as caught:
        import_points(table, Options("bacnet", measurement="hvac"), "ahu")
    [problem] = caught.value.problems
    assert (problem.row, problem.message) == (2, "the header has no object-instance column")


def test_device_is_for_ede_files(tmp_path: Path) -> None:
    table = tmp_path / "points.csv"
    table.write_text('measurement,hvac\nname,field,object\nSAT,supply_air_temp_c,"analog-input,1"\n')
    with pytest.raises(PointTableError) as caught:
        import_points(table, Options("bacnet", device=2101), "ahu")
    assert caught.value.problems[0].message == "--device picks a device of an EDE file; this is a csv file"
