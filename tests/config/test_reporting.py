"""Report-on-change settings in the config: what is accepted, and the error each bad one gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from campus_core.reporting import policy
from edge_agent.cli import main
from edge_agent.config import ConfigError, load
from edge_agent.config.reporting import heartbeat_warnings

AGENT = """
[agent]
school = "sh-031"
interval = "10s"
state_dir = "state"
"""

METER = """
[[devices.modbus]]
name = "m1"
host = "127.0.0.1"
measurement = "energy_meter"
{device}

[[devices.modbus.registers]]
field = "power_w"
address = 0
type = "float32"
{register}

[[devices.modbus.registers]]
field = "running"
address = 2
bit = 0
{flag}
"""


def write(tmp_path: Path, device: str = "", register: str = "", flag: str = "") -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(AGENT + METER.format(device=device, register=register, flag=flag))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path)
    return [str(p) for p in caught.value.problems]


def test_a_device_and_its_registers_set_how_they_report(tmp_path: Path) -> None:
    path = write(tmp_path, 'report = "on_change"\nheartbeat = "5m"\ndeadband_pct = 2.0', "deadband = 5")
    [device] = load(path).config.devices.modbus
    rules = policy(*device.reporting())
    assert rules is not None
    assert rules.rule("power_w").deadband == 5.0 and rules.rule("power_w").deadband_pct is None
    assert rules.rule("running").deadband_pct == 2.0  # the device's, for a field that sets none
    assert rules.default.heartbeat_ms == 300_000


def test_a_profile_sets_deadbands_and_a_device_turns_report_on_change_on(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(
        AGENT + '[[devices.modbus]]\nname = "c1"\nhost = "127.0.0.1"\nprofile = "classroom-iaq"\n'
        'report = "on_change"\n'
    )
    [device] = load(path).config.devices.modbus
    rules = policy(*device.reporting())
    assert rules is not None
    assert rules.rule("co2_ppm").deadband == 10.0 and rules.rule("temperature_c").deadband == 0.1


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        (
            {"register": "deadband = -1"},
            "devices.modbus[0].registers[0].deadband: Input should be greater than or equal to 0",
        ),
        ({"flag": "deadband = 1"}, "a deadband means nothing for a text or boolean value"),
        ({"register": "deadband = 1\ndeadband_pct = 2"}, "set deadband or deadband_pct, not both"),
        (
            {"device": 'report = "on_change"\nheartbeat = "5s"'},
            "devices.modbus[0].heartbeat: heartbeat 5s is shorter than the device's interval 10s",
        ),
        (
            {"device": 'report = "on_change"', "register": 'heartbeat = "2s"'},
            "field 'power_w': heartbeat 2s is shorter",
        ),
        (
            {"device": 'report = "sometimes"'},
            "devices.modbus[0].report: Input should be 'always' or 'on_change'",
        ),
    ],
)
def test_each_bad_setting_is_an_error_naming_the_file_and_key(
    tmp_path: Path, settings: dict[str, str], says: str
) -> None:
    [problem] = problems(write(tmp_path, **settings))
    assert problem.startswith(str(tmp_path / "agent.toml")), problem
    assert says in problem, problem


def test_a_heartbeat_past_the_store_s_lookback_is_a_warning_naming_the_query(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, 'report = "on_change"\nheartbeat = "15m"')
    [warning] = heartbeat_warnings(load(path).config)
    assert "last_over_time(<metric>[910s])" in warning
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "on change (heartbeat 15m)" in out and "warning: device m1 (modbus)" in out
