"""The commands as a technician types them: what they need, and what they refuse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.cli import COMMANDS

from .tables import run_import

REPO = Path(__file__).resolve().parents[2]


def test_import_and_export_are_commands() -> None:
    assert COMMANDS["import"] == "edge_agent.cli.import_points"
    assert COMMANDS["export"] == "edge_agent.cli.export_points"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["t.csv", "--protocol", "modbus"],
            "import points FILE --protocol modbus|opcua|bacnet --out PROFILE.toml",
        ),
        (["t.csv", "--out", "p.toml"], "import points FILE --protocol"),
        (["t.csv", "--template", "t.xlsx"], "give a FILE to import or --template FILE to write, not both"),
        (["t.csv", "--protocol", "modbus", "--out", "p.yaml"], "a profile is a .toml file"),
        (["--template", "t.ods"], "name a .csv or .xlsx file"),
    ],
)
def test_usage_errors_exit_2_and_say_what_to_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    code, _, err = run_import(capsys, *args)
    assert code == 2 and words in err


def test_an_ede_file_is_for_bacnet_devices(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    table = tmp_path / "ahu.csv"
    table.write_text("x", encoding="utf-8")
    code, _, err = run_import(
        capsys, table, "--protocol", "modbus", "--format", "ede", "--out", tmp_path / "p.toml"
    )
    assert code == 1 and "ede files describe bacnet devices, not modbus: give --protocol bacnet" in err
    code, _, err = run_import(
        capsys, table, "--protocol", "bacnet", "--format", "ede", "--out", tmp_path / "p.toml"
    )
    assert code == 1 and "has no EDE header row (# keyname;device obj.-instance;" in err
    assert not (tmp_path / "p.toml").exists()


def test_a_kepware_export_is_told_from_its_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "export.csv"
    table.write_text('"Tag Name";"Address";"Data Type"\n"Frequency";"300071";"Float"\n', encoding="utf-8")
    out = tmp_path / "p.toml"
    code, stdout, err = run_import(capsys, table, "--protocol", "modbus", "--measurement", "m", "--out", out)
    assert code == 0, err
    assert "(kepware)" in stdout and 'field = "frequency"' in out.read_text(encoding="utf-8")


def test_the_command_line_loads_no_openpyxl() -> None:
    # Workbooks are read only by import and export: the agent and --help stay as light as they were.
    code = "import sys, edge_agent.cli as c; c.parser(); assert 'openpyxl' not in sys.modules"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 0, result.stderr
