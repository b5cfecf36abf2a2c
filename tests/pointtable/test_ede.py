"""A BACnet EDE file: the simulated controllers become profiles that poll as the hand-written ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bacpypes3.basetypes import ObjectType

from drivers.bacnet import BacnetDriver
from drivers.bacnet.config import BacnetDevice, ObjectSpec
from edge_agent.config import load
from edge_agent.pointtable import ede
from simulators.bacnet import BacnetSimDevice
from simulators.bacnet.models import AHU_MODES
from tests.drivers.bacnet.plant import AGENT, agent_port, sim

from .ede_tables import FIRST_ROW, HEAD, MODES, row, served, write_ede
from .tables import NO_DEADBAND, bundled, profile_data, run_import

#: A fixed moment on a weekday morning: the unit runs, and two polls read the same values.
MORNING = 1_757_403_000.0  # 2025-09-09 07:30 UTC


def objects(data: dict[str, Any]) -> list[ObjectSpec]:
    """The objects of a parsed profile as the driver sees them."""
    return [ObjectSpec.model_validate(o) for o in data["objects"]]


def read_the_same(data: dict[str, Any]) -> list[ObjectSpec]:
    """What the objects read and how, without the deadbands the bundled profiles add (EDE has none)."""
    return [o.model_copy(update=NO_DEADBAND) for o in objects(data)]


def imported(tmp_path: Path, capsys: pytest.CaptureFixture[str], device: BacnetSimDevice) -> Path:
    """The profile ``edge-agent import points`` writes of ``device``'s EDE file, in tmp/config/profiles."""
    table = write_ede(tmp_path, served(device))
    out = tmp_path / "config" / "profiles" / f"{device.kind}-ede.toml"
    code, stdout, err = run_import(
        capsys, table, "--protocol", "bacnet", "--measurement", "hvac", "--out", out
    )
    assert code == 0, err
    assert "left out 3 object(s) that hold no value to poll: 1 device, 1 schedule, 1 trend-log" in stdout
    return out


def test_the_ahu_s_ede_file_becomes_the_hand_written_profile_and_its_other_objects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ahu = sim("bacnet-ahu", "ahu-1", instance=2101)
    data = profile_data(imported(tmp_path, capsys, ahu))
    got = objects(data)
    # The fifteen objects of the bundled profile, as it writes them; then the rest of the unit.
    assert got[:15] == read_the_same(bundled("bacnet-ahu"))
    assert [o.field for o in got] == [p.key for p in ahu.points]
    assert (data["measurement"], data["tags"]) == ("hvac", {"kind": "bacnet-ahu-ede"})


def test_the_profile_says_where_each_object_came_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = imported(tmp_path, capsys, sim("bacnet-ahu", "ahu-1", instance=2101)).read_text(encoding="utf-8")
    table = tmp_path / "CampusA_EDE.csv"
    assert text.startswith(f"# bacnet-ahu-ede: imported from {table} (ede) by edge-agent import points.\n")
    assert "# EDE project 'Campus A plant room', layout 2.3\n" in text
    assert (
        "# objects of device 2101 'ahu-1': its [[devices.bacnet]] entry may say device_instance = 2101\n"
        in text
    )
    # The device object is the first row: the supply air temperature the second.
    assert (
        f"[[objects]]  # row {FIRST_ROW + 1}: SupplyAirTemp, SAT, supply air temp c, degrees-celsius\n"
        'object = "analog-input,1"\nfield = "supply_air_temp_c"\n'
    ) in text
    assert (
        f"[[objects]]  # row {FIRST_ROW + 15}: Mode, AHU-MODE, mode code, "
        "states 1 Off, 2 Heating, 3 Cooling, 4 Economizer, 5 Ventilation\n"
    ) in text


def test_a_vav_box_in_fahrenheit_and_cfm_gets_the_fields_the_driver_converts_into(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # unit-codes 64 (°F) and 84 (cfm): the driver writes them as °C and m³/h, so the names say so.
    vav = sim("bacnet-vav", "vav-2", instance=2002, imperial=True)
    assert objects(profile_data(imported(tmp_path, capsys, vav))) == read_the_same(bundled("bacnet-vav"))


def two_devices(tmp_path: Path, device: BacnetSimDevice, profile: str) -> list[BacnetDevice]:
    """The hand-written and the imported profile on one controller, loaded as ``edge-agent run`` would."""
    config = tmp_path / "config" / "agent.toml"
    config.write_text(
        '[agent]\nschool = "sh-031"\n'
        + "".join(
            f'[[devices.bacnet]]\nname = "{name}"\naddress = "{device.address}"\n'
            f'device_instance = {device.instance}\nprofile = "{use}"\nlocal_address = "{AGENT}"\n'
            f'port = {agent_port()}\ntimeout = "1s"\n'
            for name, use in (("by-hand", device.kind), ("imported", profile))
        ),
        encoding="utf-8",
    )
    return load(config).config.devices.bacnet


async def poll(device: BacnetDevice) -> tuple[dict[str, object], dict[str, str]]:
    """One poll: the fields and tags read."""
    driver = BacnetDriver(device)
    async with driver:
        (reading,) = await driver.poll()
    return dict(reading.fields), dict(reading.tags)


@pytest.mark.parametrize(("kind", "imperial"), [("bacnet-ahu", False), ("bacnet-vav", True)])
async def test_the_imported_profile_polls_the_controller_as_the_hand_written_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, imperial: bool
) -> None:
    device = sim(kind, kind.removeprefix("bacnet-"), instance=2101, imperial=imperial, clock=lambda: MORNING)
    profile = imported(tmp_path, capsys, device)
    by_hand, by_import = two_devices(tmp_path, device, profile.stem)
    async with device:
        hand_fields, hand_tags = await poll(by_hand)
        fields, tags = await poll(by_import)
    assert {name: fields[name] for name in hand_fields} == hand_fields
    assert tags == hand_tags
    truth = device.model.sample(MORNING)
    assert fields.keys() == truth.keys()  # every object the controller serves
    for name, value in truth.items():
        assert fields[name] == (value if isinstance(value, bool) else pytest.approx(value, abs=1e-3)), name
    if kind == "bacnet-ahu":
        assert tags == {"mode": AHU_MODES[int(truth["mode_code"]) - 1]}
        assert fields["fan_running"] is True  # the unit runs at 07:30 on a weekday


@pytest.mark.parametrize("number", sorted(ede.READ) + sorted(ede.OTHER) + [ede.DEVICE])
def test_each_object_type_number_is_bacpypes3_s(number: int) -> None:
    name = ede.READ.get(number) or ede.OTHER.get(number) or "device"
    assert str(ObjectType(number)) == name


def test_an_ede_file_is_found_by_its_header_and_read_without_its_state_texts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = write_ede(
        tmp_path,
        [row("Mode", 7, "AHU-MODE", 19, 1, state=1), row("Temperature", 7, "温度", 2, 3, unit=64)],
        "plant.csv",
        states=False,
    )
    assert ede.sniff(table.read_text(encoding="utf-8"))
    out = tmp_path / "plant.toml"
    code, stdout, err = run_import(
        capsys, table, "--protocol", "bacnet", "--measurement", "hvac", "--out", out
    )
    assert code == 0, err
    assert "wrote" in stdout and "(ede)" in stdout and "left out" not in stdout
    assert profile_data(out)["objects"] == [
        # The table names the states (a state-text-reference): their text is a tag too.
        {"object": "multi-state-value,1", "field": "mode_code", "state_tag": "mode"},
        # An object name the glossary knows names the field; °F is written as °C, converted.
        {"object": "analog-value,3", "field": "temperature_c"},
    ]


def test_a_multi_state_without_state_texts_is_its_number_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = write_ede(tmp_path, [row("FanSpeed", 7, "FCU-FAN", 19, 2), row("Fault", 7, "FCU-FLT", 3, 1)])
    out = tmp_path / "fcu.toml"
    assert run_import(capsys, table, "--protocol", "bacnet", "--measurement", "hvac", "--out", out)[0] == 0
    assert profile_data(out)["objects"] == [
        {"object": "multi-state-value,2", "field": "fan_speed_code"},
        {"object": "binary-input,1", "field": "fault"},
    ]


def test_a_file_of_several_devices_imports_the_one_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        row("AHU-1", 2101, "ahu-1", 8, 2101),
        row("SupplyAirTemp", 2101, "SAT", 0, 1, unit=62),
        row("VAV-1", 2001, "vav-1", 8, 2001),
        row("ZoneTemp", 2001, "ZN-T", 0, 1, unit=62),
    ]
    table = write_ede(tmp_path, rows)
    out = tmp_path / "vav.toml"
    code, _, err = run_import(capsys, table, "--protocol", "bacnet", "--measurement", "hvac", "--out", out)
    assert code == 1 and not out.exists()
    assert (
        f"{table}: lists the objects of 2 devices (2001 'vav-1', 2101 'ahu-1'); a profile is one "
        "device's: give --device INSTANCE"
    ) in err
    args = ("--protocol", "bacnet", "--measurement", "hvac", "--out", out)
    assert run_import(capsys, table, *args, "--device", "2001")[0] == 0
    assert profile_data(out)["objects"] == [{"object": "analog-input,1", "field": "zone_temp_c"}]
    code, _, err = run_import(capsys, table, *args, "--force", "--device", "3001")
    assert code == 1 and "has no device 3001; its devices: 2001 'vav-1', 2101 'ahu-1'" in err


def test_a_tool_s_own_layout_is_read_by_its_column_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Another column order, no '#' before the header, the layout with a decimal comma.
    table = tmp_path / "export.csv"
    table.write_text(
        "PROJECT_NAME;Plant\nVERSION_OF_LAYOUT;2,2\n"
        "keyname;device-obj-instance;object-name;object-type;object-instance;description;unit-code;"
        "object-tag-text;state-text-reference\n"
        "ZoneTemp;7;ZN-T;0;1;zone temperature;62;zone;\n"
        "Mode;7;MODE;19;2;fan coil mode;;mode;4\n",
        encoding="utf-8",
    )
    out = tmp_path / "fcu.toml"
    code, _, err = run_import(capsys, table, "--protocol", "bacnet", "--measurement", "hvac", "--out", out)
    assert code == 0, err
    assert profile_data(out)["objects"] == [
        {"object": "analog-input,1", "field": "zone_temp_c"},
        {"object": "multi-state-value,2", "field": "mode_code", "state_tag": "mode"},
    ]


def test_an_ede_file_in_windows_1252_is_read_as_the_technician_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # European BMS tools write EDE files in Windows-1252: ä is 0xE4, which GB18030 would take
    # as the first byte of a Chinese character, so the encoding is named, not guessed.
    rows = [
        row("Zuluft", 2101, "ZUL-T", 0, 1, "Zuluft Gebäude Süd", unit=62),
        row("Betrieb", 2101, "BA", 19, 1, "Betriebsart", state=MODES),
    ]
    table = tmp_path / "Halle_EDE.csv"
    table.write_bytes(("\r\n".join([*HEAD, *rows]) + "\r\n").encode("cp1252"))
    states = tmp_path / "Halle_StateTexts.csv"
    states.write_bytes(f"#State Text Reference\r\n{MODES};Aus;Heizen;Kühlen\r\n".encode("cp1252"))
    out = tmp_path / "halle.toml"
    args = ("--protocol", "bacnet", "--measurement", "hvac", "--out", out)

    code, _, err = run_import(capsys, table, *args, "--encoding", "cp1252")
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert "Zuluft Gebäude Süd" in text and "3 Kühlen" in text

    # Named wrongly, the file is refused with where it stopped; nothing is written.
    code, _, err = run_import(capsys, table, *args, "--force", "--encoding", "utf-8")
    assert code == 1 and "is not utf-8 text (byte 0xe4 at offset" in err and "nothing was written" in err
    # An encoding Python does not know is a usage error.
    code, _, err = run_import(capsys, table, *args, "--force", "--encoding", "latin-9000")
    assert code == 2 and "--encoding latin-9000: not an encoding Python knows" in err
