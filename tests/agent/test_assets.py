"""The asset register on the gateway, against simulated Modbus devices served on loopback.

Each device's identity is read when it first answers, again after it reconnects and at
each interval; a change is one event and one journal line; a device that is down when its
probe is due changes nothing; a restart of the agent is not a change; what a device states
can never break a line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from campus_core.identity import Identity
from campus_core.readings import DeviceError, Reading
from drivers.modbus.config import ModbusDevice
from drivers.modbus.driver import ModbusDriver
from edge_agent.assets import AssetRegister, ProbedDriver, probe
from edge_agent.assets.gateway import GATEWAY, app_specific_id, gateway_identity
from edge_agent.config.loader import BUNDLED_PROFILES
from edge_agent.normalise import PointEncoder, identity_tags
from simulators.campus import Campus
from tests.support.lineparser import Point, parse
from tests.support.ports import LOOPBACK, free_port_range


class Written:
    """The pipeline as the register sees it: readings encoded by each device's own encoder."""

    def __init__(self) -> None:
        self.encoders: dict[str, PointEncoder] = {}
        self.points: list[Point] = []

    def accept(self, readings: list[Reading]) -> None:
        for reading in readings:
            line = self.encoders[reading.device].encode(reading)
            assert line is not None and "\n" not in line
            self.points.append(parse(line))

    def assets(self, device: str) -> list[Point]:
        return [p for p in self.points if p.measurement == "asset" and p.tags["device"] == device]

    def changes(self) -> list[dict[str, str]]:
        return [p.tags for p in self.points if p.tags.get("event") == "asset_changed"]


@pytest.fixture
async def campus() -> AsyncIterator[Campus]:
    """Two classrooms, a meter and a machine, each its own Modbus TCP server."""
    async with Campus(seed=3, classrooms=2, meters=1, machines=1, base_port=free_port_range(4)) as served:
        yield served


def device_config(campus: Campus, name: str, **keys: object) -> ModbusDevice:
    """The device as a technician configures it, with its kind's bundled profile."""
    device = campus.device(name)
    profile = tomllib.loads((BUNDLED_PROFILES / f"{device.kind}.toml").read_text())
    return ModbusDevice.model_validate(
        {
            **profile,
            "name": name,
            "host": LOOPBACK,
            "port": device.port,
            "tags": {"room": device.tags["room"], "asset_id": f"A-{name}"},
            **keys,
        }
    )


def probed(
    campus: Campus, written: Written, register: AssetRegister, name: str, **keys: object
) -> ProbedDriver:
    return probed_driver(campus, written, register, name, **keys)[0]


def probed_driver(
    campus: Campus, written: Written, register: AssetRegister, name: str, **keys: object
) -> tuple[ProbedDriver, ModbusDriver]:
    """The device's driver with its probe, as the agent wraps it, and the driver inside."""
    config = device_config(campus, name, **keys)
    written.encoders[name] = PointEncoder(
        "probe_test", identity_tags("sh-031", "main", name, dict(config.tags))
    )
    driver = ModbusDriver(config)
    return ProbedDriver(driver, config, "modbus", register), driver


def register_in(path: Path, written: Written, interval: float = 3600.0) -> AssetRegister:
    return AssetRegister(path, written.encoders, written.accept, lambda: interval)


async def test_a_device_is_registered_with_what_it_states_and_where_it_is(
    tmp_path: Path, campus: Campus
) -> None:
    written = Written()
    register = register_in(tmp_path, written)
    meter = probed(campus, written, register, "meter-1")
    async with meter:
        await meter.poll()
    (point,) = written.assets("meter-1")
    stated = campus.runtimes["meter-1"].identity
    assert stated is not None
    assert point.tags["vendor"] == stated.vendor
    assert point.tags["model"] == stated.model_name
    assert point.tags["firmware"] == stated.revision
    assert point.tags["serial"] == stated.serial  # from the SunSpec common model at 40000
    assert point.tags["protocol"] == "modbus"
    assert point.tags["address"] == f"{LOOPBACK}:{campus.device('meter-1').port} unit 1"
    assert point.tags["room"] == "plant-1" and point.tags["asset_id"] == "A-meter-1"
    assert point.tags["school"] == "sh-031" and point.tags["source"] == "device"
    assert point.fields["info"] == 1.0
    assert point.fields["first_seen_s"] == point.fields["last_seen_s"]
    assert not written.changes()


async def test_a_firmware_upgrade_on_the_same_address_is_one_change(
    tmp_path: Path, campus: Campus, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The upgrade comes a second after the first probe here, not hours: let a reconnect that
    # soon ask again (the agent waits a minute, against a noisy line's resyncs).
    monkeypatch.setattr(probe, "RECONNECT_GAP", 0.0)
    written = Written()
    register = register_in(tmp_path, written)
    meter = probed(campus, written, register, "meter-1")
    runtime = campus.runtimes["meter-1"]
    assert runtime.identity is not None
    old = runtime.identity.revision
    async with meter:
        await meter.poll()
        runtime.identity = dataclasses.replace(runtime.identity, revision="9.9.9")
        # The technician flashes the meter: it restarts, the connection drops.
        await campus.stop_device("meter-1")
        await campus.start_device("meter-1")
        with capture_logs() as journal:
            for _ in range(3):
                with contextlib.suppress(DeviceError):  # the first poll meets the dropped connection
                    await meter.poll()
    assert written.changes() == [
        {
            "school": "sh-031",
            "campus": "main",
            "device": "meter-1",
            "room": "plant-1",
            "asset_id": "A-meter-1",
            "event": "asset_changed",
            "what": "firmware",
            "old": old,
            "new": "9.9.9",
        }
    ]
    assert [line["what"] for line in journal if line["event"] == "asset changed"] == ["firmware"]
    assert written.assets("meter-1")[-1].tags["firmware"] == "9.9.9"


async def test_a_device_that_refuses_fc43_is_asked_once_and_known_by_its_profile(
    tmp_path: Path, campus: Campus
) -> None:
    written = Written()
    register = register_in(tmp_path, written, interval=0.0)
    campus.runtimes["classroom-1"].identity = None  # answers FC 43 with exception 1
    sensor = probed(campus, written, register, "classroom-1", make="RenKe", model="RS-CO2-N01")
    async with sensor:
        for _ in range(4):
            await sensor.poll()  # interval 0: a probe after every poll
    assert campus.function_codes[43] == 1
    assert campus.function_codes[3] == 1  # SunSpec's base asked once too: nothing there
    last = written.assets("classroom-1")[-1]
    assert (last.tags["vendor"], last.tags["model"], last.tags["source"]) == ("RenKe", "RS-CO2-N01", "config")
    assert "firmware" not in last.tags
    assert sensor.stats.identity_probes == 4


async def test_a_device_down_when_its_probe_is_due_changes_nothing(tmp_path: Path, campus: Campus) -> None:
    written = Written()
    register = register_in(tmp_path, written, interval=0.0)
    machine = probed(campus, written, register, "machine-1")
    async with machine:
        await machine.poll()
        before = written.assets("machine-1")[-1]
        await campus.stop_device("machine-1")
        for _ in range(2):
            with pytest.raises(DeviceError):
                await machine.poll()
        during = written.assets("machine-1")[-1]
        await campus.start_device("machine-1")
        await machine.poll()
    assert during.tags == before.tags  # what was known, said again
    assert during.fields["last_seen_s"] == before.fields["last_seen_s"]
    assert not written.changes()
    asset = register.get("machine-1")
    assert asset is not None and asset.known("firmware") == before.tags["firmware"]


async def test_a_restart_is_not_a_change_and_a_change_across_it_is_one(
    tmp_path: Path, campus: Campus
) -> None:
    written = Written()
    register = register_in(tmp_path, written)
    meter = probed(campus, written, register, "meter-1")
    async with meter:
        await meter.poll()
    await register.save()
    first_seen = written.assets("meter-1")[0].fields["first_seen_s"]

    again = Written()
    restarted = register_in(tmp_path, again)
    await restarted.load()
    meter = probed(campus, again, restarted, "meter-1")
    async with meter:
        await meter.poll()
    assert not again.changes()
    assert again.assets("meter-1")[0].fields["first_seen_s"] == first_seen

    runtime = campus.runtimes["meter-1"]
    assert runtime.identity is not None
    runtime.identity = dataclasses.replace(runtime.identity, serial="EM3-SWAPPED")
    third = Written()
    swapped = register_in(tmp_path, third)
    await swapped.load()
    meter = probed(campus, third, swapped, "meter-1")
    async with meter:
        await meter.poll()
    assert [(c["what"], c["new"]) for c in third.changes()] == [("serial", "EM3-SWAPPED")]


async def test_garbage_control_characters_and_huge_strings_never_break_a_line(
    tmp_path: Path, campus: Campus
) -> None:
    written = Written()
    register = register_in(tmp_path, written)
    runtime = campus.runtimes["classroom-2"]
    assert runtime.identity is not None
    runtime.identity = dataclasses.replace(
        runtime.identity,
        vendor='Evil, "Vendor"=\x1b[2J\r\nnext line',
        model_name="M" * 240,
        revision="\x00\x01\x02\x03\x04\x05\x06\x07",
        product_name="a\\b c=d,e",
    )
    sensor = probed(campus, written, register, "classroom-2")
    async with sensor:
        await sensor.poll()
    point = written.assets("classroom-2")[-1]
    assert point.tags["vendor"] == 'Evil, "Vendor"=[2J next line'
    assert point.tags["model"] == "M" * 128
    assert "firmware" not in point.tags  # nothing printable: dropped
    assert point.tags["product_name"] == "a\\b c=d,e"
    assert sensor.stats.identity_cleaned == 2 and sensor.stats.identity_dropped == 1

    runtime.identity_raw = b"\x0e\x02\x82\x00\x00\x05\x00\xff"  # announces 5 objects, carries none
    garbled, driver = probed_driver(campus, written, register_in(tmp_path / "2", written), "classroom-2")
    async with garbled:
        await garbled.poll()
    assert driver.stats.identity["garbled"] == 1
    assert written.assets("classroom-2")[-1].tags["source"] == "config"


async def test_identity_false_asks_the_device_nothing(tmp_path: Path, campus: Campus) -> None:
    written = Written()
    register = register_in(tmp_path, written)
    meter = probed(campus, written, register, "meter-1", identity=False, make="Eastron", model="SDM630")
    async with meter:
        await meter.poll()
    assert campus.function_codes[43] == 0 and campus.function_codes[3] == 0
    tags = written.assets("meter-1")[-1].tags
    assert (tags["vendor"], tags["model"], tags["source"]) == ("Eastron", "SDM630", "config")


async def test_the_register_file_survives_a_cancelled_save_and_a_damaged_one_is_moved_aside(
    tmp_path: Path,
) -> None:
    written = Written()
    written.encoders["meter-1"] = PointEncoder("m", {"school": "sh-031", "device": "meter-1"})
    register = register_in(tmp_path, written)
    register.record("meter-1", "modbus", "x", Identity.stated({"firmware": "1.0"}), "device")
    await register.save()
    saved = json.loads((tmp_path / "assets.json").read_text())
    assert saved["assets"][0]["known"] == {"firmware": "1.0"}
    assert not (tmp_path / ".assets.json.tmp").exists()

    (tmp_path / "assets.json").write_text('{"version": 1, "assets": [{"device": 5')
    fresh = register_in(tmp_path, Written())
    await fresh.load()
    assert fresh.assets() == []
    assert len([p for p in os.listdir(tmp_path) if p.startswith("assets.json.damaged-")]) == 1


def test_the_gateway_states_its_os_kernel_agent_and_a_machine_id_that_is_not_the_machine_id() -> None:
    identity = gateway_identity().as_dict()
    assert identity["agent"] and identity["kernel"] and identity["host"]
    machine_id = Path("/etc/machine-id").read_text().strip()
    assert identity["serial"] == app_specific_id(machine_id)
    assert identity["serial"] != machine_id and len(identity["serial"]) == 32
    assert GATEWAY.startswith("@")


async def test_a_link_that_reconnects_again_and_again_is_asked_at_most_once_a_minute(
    tmp_path: Path, campus: Campus
) -> None:
    written = Written()
    register = register_in(tmp_path, written)
    sensor, driver = probed_driver(campus, written, register, "classroom-1")
    async with sensor:
        await sensor.poll()
        for _ in range(3):
            assert driver.link is not None
            driver.link.close()  # as after a garbled frame: the link opens a new connection
            await sensor.poll()
        assert driver.connects == 4
    assert campus.function_codes[43] == 1
    assert sensor.stats.identity_probes == 1


def test_a_value_not_stated_once_is_no_change_and_is_still_compared_with() -> None:
    written = Written()
    written.encoders["meter-1"] = PointEncoder("m", {"school": "sh-031", "device": "meter-1"})
    register = AssetRegister(Path("/nonexistent"), written.encoders, written.accept, lambda: 3600.0)

    def read(**values: str) -> list[str]:
        changes = register.record("meter-1", "modbus", "x", Identity.stated(values), "device")
        return [f"{c.what}: {c.old} -> {c.new}" for c in changes]

    assert read(vendor="ACME", firmware="1.0") == []
    assert read(vendor="ACME") == []  # a garbled answer left the firmware out: no change
    assert "firmware" not in written.assets("meter-1")[-1].tags  # the register shows what was read
    assert read(vendor="ACME", firmware="1.0") == []
    assert read(vendor="ACME") == []
    assert read(vendor="ACME", firmware="2.0") == ["firmware: 1.0 -> 2.0"]
    assert read(vendor="ACME", firmware="2.0", serial="S1") == []  # stated for the first time
