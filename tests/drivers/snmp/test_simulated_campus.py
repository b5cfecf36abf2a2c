"""``python -m simulators campus --switches N --ups N``: the SNMP devices beside the Modbus ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.config import load
from simulators.__main__ import main


def test_campus_prints_snmp_entries_the_agent_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "campus",
                "--classrooms",
                "1",
                "--meters",
                "0",
                "--machines",
                "0",
                "--switches",
                "2",
                "--ups",
                "1",
                "--snmp-port",
                "17100",
                "--print-config",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    config = tmp_path / "agent.toml"
    config.write_text('[agent]\nschool = "sh-031"\n\n' + printed)
    loaded = load(config).config
    assert [d.name for d in loaded.devices.modbus] == ["classroom-1"]
    assert [(d.name, d.port) for d in loaded.devices.snmp] == [
        ("switch-1", 17100),
        ("switch-2", 17101),
        ("ups-1", 17102),
    ]
    assert loaded.devices.snmp[2].measurements == ["network_device", "ups"]


def test_without_snmp_options_the_campus_has_no_snmp_devices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["campus", "--print-config"]) == 0
    assert "[[devices.snmp]]" not in capsys.readouterr().out


def test_snmp_devices_bind_loopback_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["campus", "--host", "10.0.0.1", "--switches", "1", "--print-config"]) == 2
    assert "loopback" in capsys.readouterr().err
