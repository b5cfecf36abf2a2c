"""The driver's sample config and every bundled profile are valid as shipped."""

from pathlib import Path

import pytest

from drivers.modbus.planner import plan
from edge_agent.config import load
from edge_agent.config.loader import BUNDLED_PROFILES

SAMPLE = Path(__file__).resolve().parents[3] / "drivers" / "modbus" / "sample.toml"
#: The Modbus profiles (other protocols keep theirs in the same folder).
PROFILES = [
    "classroom-iaq",
    "energy-meter-3ph",
    "training-machine",
    "sdm630",
    "sdm120",
    "iaq-multisensor-rs485",
    "plc-status-block",
]


def test_the_sample_config_loads(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text('[agent]\nschool = "sh-031"\n' + SAMPLE.read_text())
    devices = load(config).config.devices.modbus
    assert [d.name for d in devices] == [
        "t-lab1-plc",
        "a301-iaq",
        "b-main-meter",
        "b201-iaq",
        "b202-iaq",
        "c-floor1-meter",
    ]
    assert devices[0].registers[0].type == "bool"
    assert devices[1].measurement == "classroom_env"
    assert len({d.link.key for d in devices[2:5]}) == 1
    assert devices[5].link.describe() == "rtu-over-tcp 10.31.4.9:4001"


@pytest.mark.parametrize("profile", PROFILES)
def test_every_bundled_profile_loads_and_says_where_it_comes_from(profile: str, tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\nschool = "sh-031"\n[[devices.modbus]]\nname = "d"\nhost = "10.0.0.1"\n'
        f'profile = "{profile}"\n'
    )
    [device] = load(config).config.devices.modbus
    assert device.tags["kind"] == profile
    assert (BUNDLED_PROFILES / f"{profile}.toml").read_text().startswith("# ")
    requests = plan(device.registers, device.gap, device.max_registers, device.max_bits)
    assert all(r.count <= device.max_registers for r in requests)


def test_the_sdm630_map_stays_within_the_meter_s_request_limit(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        '[agent]\nschool = "x"\n[[devices.modbus]]\nname = "m"\nhost = "h"\nprofile = "sdm630"\n'
    )
    [meter] = load(config).config.devices.modbus
    assert meter.max_registers == 80
    fields = {r.field: r.address for r in meter.registers}
    assert fields["voltage_l1_v"] == 0 and fields["power_total_w"] == 52
    assert fields["energy_import_kwh"] == 72 and fields["energy_total_kwh"] == 342
    assert all(r.type == "float32" and r.order == "ABCD" and r.table == "input" for r in meter.registers)
