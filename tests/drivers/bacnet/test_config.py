"""The [[devices.bacnet]] config: the sample, the profiles, units, and the errors a technician can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from drivers.bacnet.config import BacnetDevice
from drivers.bacnet.units import check_field, conversion, suffix_of
from edge_agent.config import load

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "drivers" / "bacnet" / "sample.toml"
OBJECT = {"object": "analog-input,1", "field": "supply_air_temp_c"}


def device(**entry: Any) -> BacnetDevice:
    return BacnetDevice(
        **{"name": "ahu-1", "address": "10.31.20.10", "measurement": "hvac", "objects": [OBJECT], **entry}
    )


def error_of(**entry: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        device(**entry)
    return str(caught.value)


def load_config(tmp_path: Path, devices: str) -> Any:
    config = tmp_path / "agent.toml"
    config.write_text('[agent]\nschool = "sh-031"\n' + devices)
    return load(config).config


def test_the_sample_loads(tmp_path: Path) -> None:
    ahu, vav, fcu, chiller = load_config(tmp_path, SAMPLE.read_text()).devices.bacnet
    assert ahu.measurement == "hvac" and ahu.tags == {
        "kind": "bacnet-ahu",
        "building": "A",
        "room": "plant-1",
    }
    assert ahu.endpoint == ("10.31.20.10", 47808) and ahu.device_instance == 2101
    assert vav.mode == "cov" and vav.cov_lifetime == 600
    assert fcu.network == 2001 and fcu.mac == "12" and "network 2001 mac 12" in fcu.describe()
    assert chiller.bbmd == "10.31.20.2" and chiller.port == 47809
    assert "foreign device of 10.31.20.2" in chiller.describe()
    assert [o.property for o in chiller.objects][-1] == "high-limit"
    assert chiller.objects[1].name == "CH-1 kW" and chiller.objects[2].state_tag == "chiller_state"


@pytest.mark.parametrize("profile", ["bacnet-ahu", "bacnet-vav", "bacnet-fcu"])
def test_profiles_write_the_hvac_measurement_with_unit_suffixes(tmp_path: Path, profile: str) -> None:
    (entry,) = load_config(
        tmp_path, f'[[devices.bacnet]]\nname = "x-1"\naddress = "10.0.0.1"\nprofile = "{profile}"\n'
    ).devices.bacnet
    assert entry.measurement == "hvac" and entry.tags["kind"] == profile
    fields = {o.field for o in entry.objects}
    assert "alarm" in fields
    schema = (REPO / "docs" / "schema.md").read_text()
    for name in fields:
        assert f"`{name}`" in schema, f"{name} is not in docs/schema.md"


def test_bacnet_units_become_the_schemas_suffixes_with_conversions() -> None:
    assert conversion("degreesCelsius") == conversion("degrees-celsius")
    assert conversion("degrees-fahrenheit").apply(212.0) == pytest.approx(100.0)  # type: ignore[union-attr]
    assert conversion("cubic-feet-per-minute").apply(1000) == pytest.approx(1699.0108)  # type: ignore[union-attr]
    assert conversion("kilo-btus-per-hour").apply(12) == pytest.approx(3.5168528)  # type: ignore[union-attr]
    expected = {
        "percentRelativeHumidity": "pct",
        "partsPerMillion": "ppm",
        "kilowatts": "kw",
        "kilowattHours": "kwh",
        "pascals": "pa",
        "liters-per-second": "m3h",
    }
    for units, suffix in expected.items():
        assert conversion(units).suffix == suffix  # type: ignore[union-attr]
    assert conversion("no-units") is None and conversion("some-vendor-unit") is None
    assert suffix_of("energy_import_kwh") == "kwh" and suffix_of("fan_running") is None


def test_a_suffix_that_contradicts_the_units_says_the_name_to_use() -> None:
    assert check_field("zone_temp_c", "degrees-fahrenheit") is None
    why = check_field("zone_temp_pct", "degreesCelsius")
    assert why is not None and "zone_temp_c" in why and "degrees-celsius" in why
    why = check_field("zone_temp", "degrees-celsius")
    assert why is not None and "no unit suffix" in why and "zone_temp_c" in why
    assert check_field("fan_speed", "no-units") is None


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"address": "ahu-1.school.local"}, "is not an IPv4 address with an optional port"),
        ({"address": "10.31.20.10:0"}, "the port must be a number from 1 to 65535"),
        ({"network": 5}, "network and mac go together"),
        ({"network": 5, "mac": "not a mac"}, "write an MS/TP station as its number"),
        ({"bbmd": "bbmd.local"}, "is not an IPv4 address"),
        ({"bbmd_ttl": "1d"}, "bbmd_ttl: from 1s to 65535s"),
        ({"local_address": "eth0"}, "give the gateway's address on the BACnet network"),
        ({"port": 70000}, "less than or equal to 65535"),
        ({"mode": "cov", "cov_lifetime": "5s"}, "cov_lifetime: at least 10s"),
        ({"objects": []}, 'nothing to read: add profile = "bacnet-ahu"'),
        ({"objects": [{"object": "analog-input", "field": "a_c"}]}, 'is not "type,instance"'),
        ({"objects": [{"object": "schedule,1", "field": "a"}]}, "the agent reads"),
        ({"objects": [{"object": "analog-input,5000000", "field": "a_c"}]}, "the instance must be"),
        ({"objects": [{"field": "a_c"}]}, 'give object = "analog-input,1"'),
        ({"objects": [{"object": "analog-input,1", "name": "SAT", "field": "a_c"}]}, "exactly one"),
        ({"objects": [{"object": "analog-input,1"}]}, 'give field = "..."'),
        ({"objects": [{"object": "analog-input,1", "field": "Temp"}]}, "objects.0.field"),
        (
            {"objects": [{"object": "analog-input,1", "field": "a_c", "property": "Present Value"}]},
            "property",
        ),
        ({"objects": [{"object": "analog-input,1", "field": "a_c", "state_tag": "s"}]}, "multi-state"),
        ({"objects": [{"object": "device,5", "field": "s"}]}, "a device object has no present-value"),
        ({"objects": [OBJECT, OBJECT]}, "'supply_air_temp_c' is written twice"),
    ],
)
def test_bad_input_is_named_with_what_to_write(entry: dict[str, Any], words: str) -> None:
    assert words in error_of(**entry)


def test_a_bad_entry_is_reported_with_its_key_path_by_check(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        '[agent]\nschool = "sh-031"\n[[devices.bacnet]]\nname = "ahu-1"\naddress = "10.0.0.1"\n'
        'profile = "bacnet-ahu"\n'
        "[[devices.bacnet.objects]]\nobject = 'analog-input'\nfield = 'x_c'\n"
    )
    from edge_agent.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        load(config)
    assert "devices.bacnet[0].objects[0]" in str(caught.value) and "type,instance" in str(caught.value)


def test_a_gateway_without_bacnet_devices_never_loads_bacpypes3(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, edge_agent.config, edge_agent.cli, drivers.bacnet, drivers.bacnet.units; "
        "assert 'bacpypes3' not in sys.modules, 'bacpypes3 loaded'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert result.returncode == 0, result.stderr[-2000:]
