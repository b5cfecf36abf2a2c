"""Loading agent.toml with drop-ins, profiles and environment overrides, and the errors it gives."""

from pathlib import Path

import pytest

from campus_core.devices import Listener
from edge_agent.cli import main
from edge_agent.config import ConfigError, load

BASE = """
[agent]
school = "sh-031"
campus = "main"
interval = "10s"
state_dir = "state"

[[devices.modbus]]
name = "lab-meter"
host = "127.0.0.1"
port = 5020
measurement = "power_meter"
tags = { building = "B", room = "lab2" }

  [[devices.modbus.registers]]
  field = "voltage_v"
  table = "input"
  address = 0
  type = "float32"
"""

PROFILE = """
measurement = "energy_meter"
tags = { kind = "energy-meter-3ph", building = "profile-default" }

[[registers]]
field = "voltage_l1_v"
table = "input"
address = 0
type = "float32"
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path)
    return [str(p) for p in caught.value.problems]


def test_a_valid_config_loads_with_defaults(tmp_path: Path) -> None:
    config = load(write(tmp_path / "agent.toml", BASE)).config
    device = config.devices.modbus[0]
    assert config.interval_of(device) == 10.0
    assert device.registers[0].order == "ABCD"
    assert config.agent.state_dir == tmp_path / "state"  # relative to the file
    assert config.buffer.max_disk == 2 * 2**30
    assert config.sinks.influxdb == []


def test_drop_ins_add_devices_and_override_scalars(tmp_path: Path) -> None:
    path = write(tmp_path / "agent.toml", BASE)
    write(
        tmp_path / "conf.d" / "10-more.toml",
        """
[agent]
interval = "5s"
[[devices.modbus]]
name = "second"
host = "127.0.0.1"
measurement = "m"
  [[devices.modbus.registers]]
  field = "a"
  address = 1
""",
    )
    loaded = load(path)
    assert [d.name for d in loaded.config.devices.modbus] == ["lab-meter", "second"]
    assert loaded.config.agent.interval == 5.0
    assert len(loaded.files) == 2
    assert all(len(sha) == 64 for sha in loaded.files.values())


def test_environment_overrides_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_AGENT_AGENT__INTERVAL", "2s")
    monkeypatch.setenv("EDGE_AGENT_BUFFER__MAX_DISK", "64MiB")
    config = load(write(tmp_path / "agent.toml", BASE)).config
    assert config.agent.interval == 2.0
    assert config.buffer.max_disk == 64 * 2**20


def test_a_bad_environment_value_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_AGENT_AGENT__INTERVAL", "soon")
    [problem] = problems_of(write(tmp_path / "agent.toml", BASE))
    assert problem.startswith("environment variable EDGE_AGENT_AGENT__INTERVAL: agent.interval:")


def test_a_variable_sets_one_key_and_leaves_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("edge_agent_agent__Campus", "east")  # any case
    monkeypatch.setenv("EDGE_AGENT_LOG", '{"level": "debug"}')  # JSON for a whole table
    monkeypatch.setenv("EDGE_AGENT_EVENT_LOOP", "asyncio")  # not a section: not config, no error
    config = load(write(tmp_path / "agent.toml", BASE)).config
    assert config.agent.campus == "east"
    assert config.agent.interval == 10.0  # from the file, beside the variable's key
    assert config.log.level == "debug"


def test_a_variable_naming_no_key_names_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_AGENT_BUFFER__MAX_DISCK", "1GiB")
    [problem] = problems_of(write(tmp_path / "agent.toml", BASE))
    assert problem.startswith("environment variable EDGE_AGENT_BUFFER__MAX_DISCK: buffer.max_disck:")


def test_a_variable_that_is_not_json_names_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_AGENT_LOG", '{"level": "debug"')  # the closing brace lost in a unit file
    [problem] = problems_of(write(tmp_path / "agent.toml", BASE))
    assert problem.startswith("environment variable EDGE_AGENT_LOG: log: not valid JSON"), problem
    assert '(given: \'{"level": "debug"\')' in problem


def test_a_table_set_by_a_variable_is_blamed_on_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGE_AGENT_LOG", '{"level": "loud"}')
    [problem] = problems_of(write(tmp_path / "agent.toml", BASE + '\n[log]\nlevel = "info"\n'))
    assert problem.startswith("environment variable EDGE_AGENT_LOG: log.level:"), problem


def test_devices_a_variable_adds_are_filled_from_their_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "elsewhere" / "meter.toml", PROFILE)
    monkeypatch.setenv("EDGE_AGENT_AGENT__PROFILES_DIR", str(tmp_path / "elsewhere"))
    devices = '{"modbus": [{"name": "m1", "host": "127.0.0.1", "profile": "meter"}]}'
    monkeypatch.setenv("EDGE_AGENT_DEVICES", devices)
    [device] = load(write(tmp_path / "agent.toml", BASE)).config.devices.modbus
    assert device.name == "m1" and device.measurement == "energy_meter"
    assert [r.field for r in device.registers] == ["voltage_l1_v"]


def test_a_profile_fills_the_device_and_the_device_wins(tmp_path: Path) -> None:
    write(tmp_path / "profiles" / "meter.toml", PROFILE)
    path = write(
        tmp_path / "agent.toml",
        """
[agent]
school = "sh-031"
[[devices.modbus]]
name = "m1"
host = "127.0.0.1"
profile = "meter"
tags = { building = "A" }
""",
    )
    device = load(path).config.devices.modbus[0]
    assert device.measurement == "energy_meter"
    assert device.tags == {"kind": "energy-meter-3ph", "building": "A"}
    assert device.registers[0].field == "voltage_l1_v"


def test_an_error_inside_a_profile_names_the_profile_file(tmp_path: Path) -> None:
    profile = write(tmp_path / "profiles" / "meter.toml", PROFILE.replace('"float32"', '"float33"'))
    path = write(
        tmp_path / "agent.toml",
        '[agent]\nschool = "x"\n[[devices.modbus]]\nname = "m1"\nhost = "h"\nprofile = "meter"\n',
    )
    [problem] = problems_of(path)
    assert problem.startswith(f"{profile}: devices.modbus[0].registers[0].type:")
    assert "'float33'" in problem


def test_devices_of_one_profile_share_its_validated_registers(tmp_path: Path) -> None:
    """A thousand meters of one model must not hold a thousand copies of its register map."""
    write(tmp_path / "profiles" / "meter.toml", PROFILE)
    devices = "".join(
        f'[[devices.modbus]]\nname = "m{i}"\nhost = "127.0.0.1"\nprofile = "meter"\n' for i in range(3)
    )
    own = (
        '[[devices.modbus]]\nname = "own"\nhost = "127.0.0.1"\nprofile = "meter"\n'
        '[[devices.modbus.registers]]\nfield = "voltage_l1_v"\ntable = "input"\naddress = 0\n'
        'type = "float32"\n'
    )
    config = load(write(tmp_path / "agent.toml", f'[agent]\nschool = "x"\n{devices}{own}')).config
    m0, m1, m2, mine = config.devices.modbus
    assert m0.registers is m1.registers is m2.registers
    # A device with registers of its own keeps them, equal in value but not shared.
    assert mine.registers == m0.registers and mine.registers is not m0.registers


def test_an_error_in_a_shared_profile_is_named_for_every_device(tmp_path: Path) -> None:
    profile = write(tmp_path / "profiles" / "meter.toml", PROFILE.replace('"float32"', '"float33"'))
    devices = "".join(f'[[devices.modbus]]\nname = "m{i}"\nhost = "h"\nprofile = "meter"\n' for i in range(2))
    problems = problems_of(write(tmp_path / "agent.toml", f'[agent]\nschool = "x"\n{devices}'))
    assert [p.split(":")[1].strip() for p in problems] == [
        "devices.modbus[0].registers[0].type",
        "devices.modbus[1].registers[0].type",
    ]
    assert all(p.startswith(str(profile)) for p in problems)


def test_an_unknown_profile_suggests_a_near_name(tmp_path: Path) -> None:
    write(tmp_path / "profiles" / "energy-meter-3ph.toml", PROFILE)
    path = write(
        tmp_path / "agent.toml",
        '[agent]\nschool = "x"\n[[devices.modbus]]\nname = "m1"\nhost = "h"\nprofile = "energy-meter"\n',
    )
    [problem] = problems_of(path)
    assert "no profile 'energy-meter'" in problem
    assert "did you mean 'energy-meter-3ph'?" in problem


def test_typo_wrong_type_and_missing_file_are_all_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path / "agent.toml",
        BASE.replace('interval = "10s"', 'intervall = "10s"').replace("port = 5020", 'port = "five"')
        + """
[[sinks.influxdb]]
url = "http://127.0.0.1:8428"
bucket = "campus"
token_file = "secrets/missing.token"
""",
    )
    problems = problems_of(path)
    assert len(problems) == 3
    text = "\n".join(problems)
    assert f"{path}: agent.intervall: unknown key 'intervall'; did you mean 'interval'?" in text
    assert f"{path}: devices.modbus[0].port: Input should be a valid integer" in text
    assert "(given: 'five')" in text
    missing = f"{tmp_path}/secrets/missing.token"
    assert f"{path}: sinks.influxdb[0].token_file: file '{missing}' does not exist" in text


def test_check_prints_every_problem_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path / "agent.toml",
        BASE.replace('table = "input"', 'table = "inputs"').replace(
            'school = "sh-031"', 'school = "sh-031"\nschol = "x"'
        ),
    )
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert (
        "devices.modbus[0].registers[0].table: Input should be 'holding', 'input', 'coil' or 'discrete'"
    ) in err
    assert "agent.schol: unknown key 'schol'; did you mean 'school'?" in err


def test_check_summarises_a_good_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(write(tmp_path / "agent.toml", BASE))]) == 0
    out = capsys.readouterr().out
    assert "config OK" in out
    assert "lab-meter" in out
    assert "1 fields in 1 request(s)" in out
    assert "none (readings stay in the local buffer)" in out


PUSHED = """
[[devices.snmp]]
name = "core-sw"
host = "127.0.0.1"
community = "public"
profile = "system"

[[devices.mqtt]]
name = "wireless-iaq"
broker = "mqtt://127.0.0.1:1883"
topic = "campus/{room}/iaq"
measurement = "classroom_env"

  [[devices.mqtt.fields]]
  field = "co2_ppm"
  path = "co2"
"""


def test_check_tells_pushed_devices_from_polled_ones_without_creating_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "agent.toml", BASE + PUSHED)
    devices = dict(load(path).config.devices.all())
    assert {protocol: device.pushed for protocol, device in devices.items()} == {
        "modbus": False,
        "snmp": False,
        "mqtt": True,
    }
    for device in devices.values():
        assert device.pushed == isinstance(device.create(), Listener)
    assert main(["check", str(path)]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    assert "every 10s" in lines["lab-meter"] and "every 10s" in lines["core-sw"]
    assert "every" not in lines["wireless-iaq"] and "pushed" in lines["wireless-iaq"]


def test_bad_toml_names_the_line(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path / "agent.toml", "[agent\nschool = 1\n"))
    assert "not valid TOML" in problem
    assert "line 1" in problem


def test_names_must_be_unique(tmp_path: Path) -> None:
    path = write(tmp_path / "agent.toml", BASE + BASE[BASE.index("[[devices.modbus]]") :])
    [problem] = problems_of(path)
    assert "device name 'lab-meter' is used twice" in problem


def test_inline_token_and_token_file_exclude_each_other(tmp_path: Path) -> None:
    secret = write(tmp_path / "token", "abc\n")
    path = write(
        tmp_path / "agent.toml",
        BASE
        + f"""
[[sinks.influxdb]]
url = "http://127.0.0.1:8428"
bucket = "campus"
token = "inline"
token_file = "{secret}"
""",
    )
    [problem] = problems_of(path)
    assert "set token or token_file, not both" in problem
    assert "inline" not in problem.split("given:")[-1] or "given" not in problem


def test_check_warns_about_secrets_others_can_read_or_written_inline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = write(tmp_path / "token", "s3cret-token\n")
    token.chmod(0o644)
    path = write(
        tmp_path / "agent.toml",
        BASE
        + f"""
[[sinks.influxdb]]
name = "city"
url = "http://127.0.0.1:8428"
bucket = "campus"
token_file = "{token}"
[[sinks.influxdb]]
name = "district"
url = "http://127.0.0.1:8429"
bucket = "campus"
token = "inline-s3cret"
""",
    )
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"warning: sinks city: token_file '{token}' is readable by group or others (mode 0644)" in out
    assert "warning: sinks district: token is written inline in the config" in out
    assert "s3cret" not in out
    token.chmod(0o600)
    assert main(["check", str(path)]) == 0
    assert "readable by group or others" not in capsys.readouterr().out


def test_patterns_and_choices_are_explained_in_words(tmp_path: Path) -> None:
    path = write(
        tmp_path / "agent.toml",
        BASE.replace('field = "voltage_v"', 'field = "Voltage"').replace(
            'table = "input"', 'table = "inptu"'
        ),
    )
    problems = "\n".join(problems_of(path))
    assert "registers[0].field: must be snake_case with its unit" in problems
    assert "did you mean 'input'?" in problems
    assert "should match pattern" not in problems
