"""The driver's sample config is valid as shipped."""

from pathlib import Path

from edge_agent.config import load

SAMPLE = Path(__file__).resolve().parents[3] / "drivers" / "modbus" / "sample.toml"


def test_the_sample_config_loads(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text('[agent]\nschool = "sh-031"\n' + SAMPLE.read_text())
    devices = load(config).config.devices.modbus
    assert [d.name for d in devices] == ["t-lab1-plc", "a301-iaq"]
    assert devices[0].registers[0].type == "bool"
    assert devices[1].measurement == "classroom_env"
