"""What the point table tests share: running the import, loading profiles, polling a device with them."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from drivers.modbus import ModbusDriver
from drivers.modbus.config import ModbusDevice, Register
from edge_agent.cli import main
from edge_agent.config import load
from edge_agent.config.loader import BUNDLED_PROFILES

DATA = Path(__file__).resolve().parent / "data"


def run_import(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """``edge-agent import points ARGS``: exit code, stdout, stderr."""
    code = main(["import", "points", *(str(a) for a in args)])
    out, err = capsys.readouterr()
    return code, out, err


def profile_data(path: Path) -> dict[str, Any]:
    """A profile file, parsed."""
    return tomllib.loads(path.read_text(encoding="utf-8"))


def bundled(name: str) -> dict[str, Any]:
    """A bundled profile, parsed."""
    return profile_data(BUNDLED_PROFILES / f"{name}.toml")


def registers(data: dict[str, Any]) -> list[Register]:
    """The registers of a parsed profile as the driver sees them (defaults filled in)."""
    return [Register.model_validate(r) for r in data["registers"]]


def two_devices(
    tmp_path: Path, imported: Path, hand_written: str, host: str, port: int
) -> list[ModbusDevice]:
    """Two devices on one address, one with the hand-written profile, one with the imported one.

    Loaded by the agent's own config loader, as ``edge-agent run`` would.
    """
    profiles = tmp_path / "config" / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    (profiles / imported.name).write_text(imported.read_text(encoding="utf-8"), encoding="utf-8")
    config = tmp_path / "config" / "agent.toml"
    config.write_text(
        '[agent]\nschool = "sh-031"\n'
        + "".join(
            f'[[devices.modbus]]\nname = "{name}"\nhost = "{host}"\nport = {port}\nprofile = "{profile}"\n'
            for name, profile in (("hand", hand_written), ("imported", imported.stem))
        ),
        encoding="utf-8",
    )
    return load(config).config.devices.modbus


async def poll(device: ModbusDevice) -> dict[str, object]:
    """One poll of ``device``: its fields by name."""
    driver = ModbusDriver(device)
    async with driver:
        [reading] = await driver.poll()
    return dict(reading.fields)
